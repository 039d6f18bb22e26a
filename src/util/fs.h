/* fs.h: reading small kernel files (procfs, sysfs) under a configurable root. */
#ifndef GPUCTL_UTIL_FS_H
#define GPUCTL_UTIL_FS_H

#include <stddef.h>

/* The root to read hardware files under: `given` (a command-line option) when set, else the
 * environment variable env_name when set and not empty, else fallback ("/sys"). */
const char *fs_root(const char *given, const char *env_name, const char *fallback);

/* Writes "<root>/<rel>" to out. Returns 0, or GPUCTL_ERANGE when it does not fit. */
int fs_join(char *out, size_t len, const char *root, const char *rel);

/* Reads the file <root>/<rel> into buf (size len >= 1), terminated; a longer file is cut at
 * len - 1 bytes. Only for files the kernel writes in one piece (sysfs attributes, single-record
 * procfs files such as status and meminfo): a short read is taken as the end. Returns 0,
 * GPUCTL_ENOENT when it does not exist, GPUCTL_EIO on any other failure (no permission
 * included). */
int fs_read(const char *root, const char *rel, char *buf, size_t len);

/* Reads the whole file <root>/<rel>, until a read returns 0 (multi-record procfs files such as
 * cpuinfo give about a page per read), into *out (malloc'd, terminated; the caller frees it) and
 * its length into *out_len (may be NULL). Returns as fs_read(), or GPUCTL_ENOMEM. */
int fs_read_all(const char *root, const char *rel, char **out, size_t *out_len);

#endif
