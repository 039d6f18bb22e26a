/* size.h: byte sizes as people write them ("16G", "1.5GiB", "512M") and as we print them. */
#ifndef GPUCTL_UTIL_SIZE_H
#define GPUCTL_UTIL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* What size_parse() accepts, as a sentence for error messages. */
extern const char size_syntax[];

/*
 * Parses a size: a non-negative decimal number with an optional unit, spaces allowed between.
 * Units are case-insensitive: B, K, M, G, T, P, each also as KB/KiB, MB/MiB, ...; all are powers
 * of 1024, as GPU memory is labelled (an "80GB" H100 has 80 GiB). No unit means bytes.
 * Returns 0 and sets *out; GPUCTL_EINVAL for bad syntax or an unknown unit; GPUCTL_ERANGE when
 * the value does not fit in 64 bits.
 */
int size_parse(const char *s, uint64_t *out);

/* Formats bytes for people: "512 B", "1.50 KiB", "79.65 GiB". Returns buf. */
char *size_format(uint64_t bytes, char *buf, size_t len);

#endif
