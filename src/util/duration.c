/* duration.c: lengths of time as people write them. */
#include "util/duration.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

const char duration_syntax[] = "a number of seconds, or with a unit: 500ms, 30s, 5m, 1h, 1d";

int duration_parse(const char *s, double *seconds)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"", 1}, {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    char *end;
    double v;

    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s) && *s != '.')
        return GPUCTL_EINVAL;
    v = strtod(s, &end);
    /* Plain decimals only: strtod would also take "0x1p4" and "1e3". */
    if (end == s || end != s + strspn(s, "0123456789.") || !isfinite(v))
        return GPUCTL_EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *seconds = v * units[i].seconds;
            return 0;
        }
    }
    return GPUCTL_EINVAL;
}
