/* str.h: bounded string helpers used instead of the banned libc ones. */
#ifndef GPUCTL_UTIL_STR_H
#define GPUCTL_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Copies src into dst (size len > 0), truncating; dst is always terminated. Returns strlen(src),
 * so a result >= len means truncation (strlcpy). */
size_t str_copy(char *dst, const char *src, size_t len);

/* Appends a formatted string to the terminated string in buf (size len), truncating. */
void str_appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Removes leading and trailing whitespace in place; returns s. */
char *str_trim(char *s);

/* Whether needle occurs in haystack, ignoring ASCII case. An empty needle matches. */
bool str_contains_nocase(const char *haystack, const char *needle);

/* Whether s begins with prefix (case-sensitive). */
bool str_starts_with(const char *s, const char *prefix);

/* Parses a plain decimal number ("12", "-0.5", "1.5e3"): what people write, not strtod's hex,
 * infinities or NaNs. Returns whether all of s was one, with the value in *out. */
bool str_decimal(const char *s, double *out);

/* Whether text names the GPU model `model`, ignoring case, spaces and dashes inside the model:
 * "RTX3090" is in "NVIDIA GeForce RTX 3090", "A40" is not in "NVIDIA RTX A4000". */
bool str_model_in(const char *model, const char *text);

/* Replaces, in place, every byte that does not begin or continue a valid UTF-8 sequence with
 * '?': text cut to fit, or a program's output, must be UTF-8 before it becomes a JSON string. */
void str_utf8_scrub(char *s);

#endif
