/* sysfs.h: reading one value from a kernel attribute file, where a missing file and a file with
 * garbage both mean "this device does not say" (the field stays null). */
#ifndef GPUCTL_DEVICE_SYSFS_H
#define GPUCTL_DEVICE_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads <root>/<dir>/<name> as one unsigned number, decimal or 0x-hex, surrounded by white space
 * at most. Returns true and sets *out; false when the file is missing, unreadable or holds
 * anything else (garbage is logged once at debug level). */
bool sysfs_u64(const char *root, const char *dir, const char *name, uint64_t *out);

/* As sysfs_u64(), for a percentage: a number above 100 is garbage too. */
bool sysfs_percent(const char *root, const char *dir, const char *name, unsigned *out);

/* As sysfs_u64(), for a signed decimal number (temperatures). */
bool sysfs_s64(const char *root, const char *dir, const char *name, int64_t *out);

/* As sysfs_u64(), divided by divisor (1000 turns µW into mW; 1 keeps it): a quotient that does
 * not fit an unsigned is garbage too, rather than a number cut to 32 bits. */
bool sysfs_scaled(const char *root, const char *dir, const char *name, unsigned divisor,
                  unsigned *out);

/* A hwmon temperature (millidegrees) in whole degrees Celsius; one below absolute zero or above
 * 1000 °C is garbage too. */
bool sysfs_celsius(const char *root, const char *dir, const char *name, int *out);

/* Reads <root>/<dir>/<name> into buf (size len), white space trimmed. Returns true when the file
 * was read and is not empty. */
bool sysfs_str(const char *root, const char *dir, const char *name, char *buf, size_t len);

/* Finds the value of KEY in a uevent-style file ("KEY=value" lines) at <root>/<dir>/<name>.
 * Returns true and fills buf. */
bool sysfs_uevent(const char *root, const char *dir, const char *name, const char *key, char *buf,
                  size_t len);

/* How many entries of the directory <root>/<dir> are named prefix followed by digits only
 * ("tile0", "gt1"); 0 when there is no such directory. */
unsigned sysfs_count_numbered(const char *root, const char *dir, const char *prefix);

/* Whether <root>/<dir>/<name> exists. */
bool sysfs_exists(const char *root, const char *dir, const char *name);

/* Writes "<dir>/<name>" into out (size len); false when it does not fit. */

bool sysfs_path(char *out, size_t len, const char *dir, const char *name);

#endif
