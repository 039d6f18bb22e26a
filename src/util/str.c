/* str.c: bounded string helpers. */
#include "util/str.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

size_t str_copy(char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);

    if (len > 0) {
        size_t k = n < len - 1 ? n : len - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return n;
}

void str_appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strnlen(buf, len);
    va_list ap;

    if (used + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

char *str_trim(char *s)
{
    char *start = s;
    size_t n;

    while (isspace((unsigned char)*start))
        start++;
    n = strlen(start);
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    return s;
}

bool str_contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);

    for (; *haystack; haystack++)
        if (strncasecmp(haystack, needle, n) == 0)
            return true;
    return n == 0;
}

bool str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_decimal(const char *s, double *out)
{
    const char *p = s;
    char *end;

    p += *p == '-' || *p == '+';
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return false;
    p += strspn(p, "0123456789");
    if (*p == '.')
        p += 1 + strspn(p + 1, "0123456789");
    if ((*p == 'e' || *p == 'E') &&
        (isdigit((unsigned char)p[1]) ||
         ((p[1] == '-' || p[1] == '+') && isdigit((unsigned char)p[2]))))
        p += 2 + strspn(p + 2, "0123456789");
    if (*p)
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end == p && isfinite(*out);
}

/* Whether model matches text from position t on, skipping spaces and dashes in text, and ends
 * where a name's token ends. */
static bool model_at(const char *model, const char *t)
{
    for (const char *m = model; *m; m++) {
        while (*t == ' ' || *t == '-')
            t++;
        if (tolower((unsigned char)*m) != tolower((unsigned char)*t))
            return false;
        t++;
    }
    return !isalnum((unsigned char)*t);
}

bool str_model_in(const char *model, const char *text)
{
    if (!*model)
        return false;
    for (const char *t = text; *t; t++) {
        bool token_start = t == text || t[-1] == ' ' || t[-1] == '-' || t[-1] == '_';
        if (token_start && model_at(model, t))
            return true;
    }
    return false;
}

void str_utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xe0) == 0xc0 ? 2
                   : (*p & 0xf0) == 0xe0 ? 3
                   : (*p & 0xf8) == 0xf0 ? 4
                                         : 0;
        size_t k = 1;

        while (n && k < n && (p[k] & 0xc0) == 0x80)
            k++;
        if (!n || k < n || (n == 2 && *p < 0xc2)) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}
