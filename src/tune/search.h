/* search.h: which batch size to try next, and which to recommend, from the outcomes so far.
 * Pure: it runs nothing, so unit tests and bench/tune_sim.c drive it with synthetic curves.
 *
 * The search (docs/tune.md has the reasons):
 *   grow    from min, doubling (then max itself), until a size runs out of memory, reaches max,
 *           or does not improve the best throughput so far by more than TUNE_GROW_GAIN; a step
 *           that gained TUNE_LEAP_GAIN or more (far below saturation, where throughput grows
 *           almost with the size) is followed by x4 instead of x2; when a leap gains too
 *           little, the doubling it skipped is tried before refining;
 *   bisect  after an out-of-memory, between the last size that fitted and the first that did
 *           not, down to a gap of tune_search_step() (8 from 64 up), stopping early when a size
 *           that fits improves the best by no more than TUNE_BISECT_GAIN (concave curves gain
 *           less still above it);
 *   refine  when the best size's larger neighbour ran slower by more than TUNE_KEEP (the peak
 *           lies between them), up to TUNE_REFINE_MAX probes in the middle of the wider gap
 *           beside the best whose neighbour is that much slower; after a probe, when the smaller
 *           neighbour is within TUNE_KEEP of the best and faster than the larger, in that gap;
 *   result  the smallest size within TUNE_KEEP of the best throughput seen. */
#ifndef GPUCTL_TUNE_SEARCH_H
#define GPUCTL_TUNE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#define TUNE_GROW_GAIN   0.05
#define TUNE_LEAP_GAIN   0.6 /* a step that gained this much leaps x4 next, not x2 */
#define TUNE_BISECT_GAIN 0.01
#define TUNE_KEEP        0.02
#define TUNE_REFINE_MAX  2
#define TUNE_MAX_SIZE    1048576u
#define TUNE_MAX_POINTS  64 /* more than any search takes: 21 doublings, 17 halvings, 2 probes */

enum tune_phase { TUNE_GROW, TUNE_BISECT, TUNE_REFINE, TUNE_DONE };

/* One trial's outcome as the search sees it. */
struct tune_point {
    unsigned size;
    bool fits;         /* false: out of memory */
    double throughput; /* > 0 when fits */
    enum tune_phase phase;
};

struct tune_search {
    unsigned min, max;
    enum tune_phase phase;
    unsigned next; /* the size to try next; 0 when done */
    unsigned lo;   /* bisect: the largest size that fitted */
    unsigned hi;   /* the smallest size that did not fit; 0 for none yet */
    unsigned refines;
    unsigned skipped; /* grow: the doubling the last x4 leap skipped; 0 for none */
    bool backfill;    /* grow: trying it */
    size_t n;
    struct tune_point points[TUNE_MAX_POINTS]; /* in the order tried */
};

/* What the search knows: its recommendation and the bounds it found. */
struct tune_result {
    bool found;              /* some size fitted */
    unsigned recommended;    /* the smallest within TUNE_KEEP of the best */
    double throughput;       /* the recommended size's */
    unsigned best;           /* the size with the highest throughput */
    double best_throughput;  /* its throughput */
    unsigned largest_fit;    /* the largest size that fitted */
    unsigned smallest_oom;   /* the smallest that did not; 0 when none */
    double first_throughput; /* min's, 0 when min did not fit or was not tried */
};

/* Starts a search over [min, max], 1 <= min <= max <= TUNE_MAX_SIZE. Returns 0 or GPUCTL_EINVAL
 * (then s is not usable). */
int tune_search_init(struct tune_search *s, unsigned min, unsigned max);

/* The size to try next: true with *size, or false when the search is over. */
bool tune_search_next(const struct tune_search *s, unsigned *size);

/* Records the outcome of the trial at size, which must be the one tune_search_next() gave:
 * fits with its throughput (> 0), or out of memory. Returns 0, or GPUCTL_EINVAL when size is
 * not the one asked for, throughput is not positive, or the search is over. */
int tune_search_record(struct tune_search *s, unsigned size, bool fits, double throughput);

/* The result from the trials so far (a search stopped early gives what it knows). */
void tune_search_result(const struct tune_search *s, struct tune_result *r);

/* The resolution of the search near size: 8 from 64 up (tensor-core friendly multiples); below
 * 64, the largest power of two at most size / 8 (at least 1). */
unsigned tune_search_step(unsigned size);

/* "grow", "bisect", "refine", "done". */
const char *tune_phase_name(enum tune_phase p);

#endif
