/* curve.h: a synthetic batch-size curve: where memory runs out, and throughput rising to a
 * peak, flat to where it falls, then falling. Shared by the fake trainer and bench/tune_sim.c. */
#ifndef GPUCTL_TESTS_CURVE_H
#define GPUCTL_TESTS_CURVE_H

#include <stdbool.h>

struct curve {
    unsigned fit;  /* the largest batch size that fits in memory */
    unsigned peak; /* throughput reaches top here ... */
    unsigned fall; /* ... stays there up to here (>= peak), then falls as sqrt(fall / b) */
    double top;    /* samples/s at the peak */
};

/* Throughput at batch size b: below the peak, a fixed cost per step of peak / 8 samples' time
 * (samples/s = top * (b / (b + h)) / (peak / (peak + h)), h = peak / 8), as a GPU that a small
 * batch leaves idle between kernels. */
double curve_throughput(const struct curve *c, unsigned b);

/* Whether batch size b fits in memory. */
bool curve_fits(const struct curve *c, unsigned b);

#endif
