/* curve.c: the synthetic batch-size curve (curve.h). */
#include "curve.h"

#include <math.h>

double curve_throughput(const struct curve *c, unsigned b)
{
    double h = c->peak / 8.0;

    if (b <= c->peak)
        return c->top * (b / (b + h)) / (c->peak / (c->peak + h));
    if (b <= c->fall)
        return c->top;
    return c->top * sqrt((double)c->fall / b);
}

bool curve_fits(const struct curve *c, unsigned b)
{
    return b <= c->fit;
}
