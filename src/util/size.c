/* size.c: parsing and printing byte sizes. */
#include "util/size.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

const char size_syntax[] = "a number with an optional unit B, K, M, G, T or P (also written KB or "
                           "KiB, MB or MiB, ...; all powers of 1024), for example 16G or 1.5GiB";

static const struct unit {
    char letter;
    unsigned shift;
} units[] = {{'B', 0}, {'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}, {'P', 50}};

/* Matches a unit suffix ("", "B", "G", "GB", "GiB", any case); returns its shift or -1. */
static int unit_shift(const char *u)
{
    char letter = (char)toupper((unsigned char)u[0]);
    const char *rest;

    if (*u == '\0')
        return 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].letter != letter)
            continue;
        rest = u + 1;
        if (letter == 'B')
            return *rest == '\0' ? 0 : -1;
        if (*rest == '\0' || strcasecmp(rest, "B") == 0 || strcasecmp(rest, "iB") == 0)
            return (int)units[i].shift;
        return -1;
    }
    return -1;
}

/* A number as written: whole + frac / scale. */
struct decimal {
    uint64_t whole, frac, scale;
};

/* Reads digits[.digits] at *p, advancing it. Returns 0, GPUCTL_EINVAL or GPUCTL_ERANGE. */
static int read_decimal(const char **p, struct decimal *v)
{
    *v = (struct decimal){0, 0, 1};
    if (!isdigit((unsigned char)**p))
        return GPUCTL_EINVAL;
    for (; isdigit((unsigned char)**p); (*p)++) {
        uint64_t digit = (uint64_t)(**p - '0');
        if (v->whole > (UINT64_MAX - digit) / 10)
            return GPUCTL_ERANGE;
        v->whole = v->whole * 10 + digit;
    }
    if (**p != '.')
        return 0;
    (*p)++;
    if (!isdigit((unsigned char)**p))
        return GPUCTL_EINVAL;
    for (; isdigit((unsigned char)**p); (*p)++) {
        if (v->scale < 1000000000u) { /* nine digits are plenty */
            v->frac = v->frac * 10 + (uint64_t)(**p - '0');
            v->scale *= 10;
        }
    }
    return 0;
}

/* Reads the unit word at p, which must end the string; returns its shift or -1. */
static int read_unit(const char *p)
{
    char unit[8];
    size_t n = 0;

    while (*p && !isspace((unsigned char)*p) && n < sizeof(unit) - 1)
        unit[n++] = *p++;
    unit[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    return *p == '\0' ? unit_shift(unit) : -1;
}

int size_parse(const char *s, uint64_t *out)
{
    struct decimal v;
    uint64_t base, part;
    int shift, rc;

    while (isspace((unsigned char)*s))
        s++;
    rc = read_decimal(&s, &v);
    if (rc)
        return rc;
    while (isspace((unsigned char)*s))
        s++;
    shift = read_unit(s);
    if (shift < 0)
        return GPUCTL_EINVAL;
    if (shift > 0 && v.whole > (UINT64_MAX >> shift))
        return GPUCTL_ERANGE;
    /* The fraction of one unit, in bytes; a fraction of a byte is dropped. */
    part = (uint64_t)((double)v.frac / (double)v.scale * (double)(1ull << shift));
    base = v.whole << shift;
    if (part > UINT64_MAX - base)
        return GPUCTL_ERANGE;
    *out = base + part;
    return 0;
}

char *size_format(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t i = 0;

    while (v >= 1024.0 && i + 1 < sizeof(names) / sizeof(names[0])) {
        v /= 1024.0;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.2f %s", v, names[i]);
    return buf;
}
