/* search.c: the batch-size search as a state machine over the outcomes it is given (search.h). */
#include "tune/search.h"

#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

static const char *const phase_names[] = {
    [TUNE_GROW] = "grow",
    [TUNE_BISECT] = "bisect",
    [TUNE_REFINE] = "refine",
    [TUNE_DONE] = "done",
};

const char *tune_phase_name(enum tune_phase p)
{
    return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "done";
}

unsigned tune_search_step(unsigned size)
{
    unsigned step = 1;

    if (size >= 64)
        return 8;
    while (step * 2 <= size / 8)
        step *= 2;
    return step;
}

static const struct tune_point *point_at(const struct tune_search *s, unsigned size)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->points[i].size == size)
            return &s->points[i];
    return NULL;
}

/* The point with the highest throughput (the smaller size on a tie), or NULL. */
static const struct tune_point *best_point(const struct tune_search *s)
{
    const struct tune_point *best = NULL;

    for (size_t i = 0; i < s->n; i++) {
        const struct tune_point *p = &s->points[i];
        if (p->fits && (!best || p->throughput > best->throughput ||
                        (p->throughput == best->throughput && p->size < best->size)))
            best = p;
    }
    return best;
}

/* The tried point nearest below (dir < 0) or above (dir > 0) size, or NULL. */
static const struct tune_point *neighbour(const struct tune_search *s, unsigned size, int dir)
{
    const struct tune_point *n = NULL;

    for (size_t i = 0; i < s->n; i++) {
        const struct tune_point *p = &s->points[i];
        if ((dir < 0 && p->size < size && (!n || p->size > n->size)) ||
            (dir > 0 && p->size > size && (!n || p->size < n->size)))
            n = p;
    }
    return n;
}

/* A size strictly between a and b (a < b) near their middle, on the step grid; 0 for none. */
static unsigned middle(unsigned a, unsigned b)
{
    unsigned m = a + (b - a) / 2, step = tune_search_step(m); /* the grid where m falls */

    m -= m % step;
    if (m <= a)
        m = (a / step + 1) * step;
    return m < b ? m : 0;
}

static void finish(struct tune_search *s)
{
    s->phase = TUNE_DONE;
    s->next = 0;
}

/* Refinement: probe between the best and a neighbour that ran more than TUNE_KEEP slower, only
 * once its larger neighbour did (the peak lies inside), the wider gap first. */
static void plan_refine(struct tune_search *s)
{
    const struct tune_point *best = best_point(s), *side[2];
    unsigned gap[2] = {0, 0}, m;
    double floor_;

    s->phase = TUNE_REFINE;
    if (!best || s->refines >= TUNE_REFINE_MAX) {
        finish(s);
        return;
    }
    floor_ = best->throughput * (1.0 - TUNE_KEEP);
    side[0] = neighbour(s, best->size, -1);
    side[1] = neighbour(s, best->size, +1);
    if (!side[1] || !side[1]->fits || side[1]->throughput >= floor_) {
        finish(s);
        return;
    }
    for (int k = 0; k < 2; k++)
        if (side[k] && side[k]->fits && side[k]->throughput < floor_)
            gap[k] = k ? side[k]->size - best->size : best->size - side[k]->size;
    /* The wider gap, the larger side on a tie; one worth a probe holds two steps. */
    int k = gap[1] >= gap[0] ? 1 : 0;
    /* After a probe, a smaller neighbour within TUNE_KEEP of the best and faster than the
     * larger marks the side the top leans to (a peak flat on top, as curve 17 of the bench). */
    if (s->refines > 0 && side[0] && side[0]->fits && side[0]->throughput >= floor_ &&
        side[0]->throughput > side[1]->throughput) {
        k = 0;
        gap[0] = best->size - side[0]->size;
    }
    m = k ? middle(best->size, side[1]->size) : middle(side[0]->size, best->size);
    if (gap[k] < 2 * tune_search_step(k ? best->size : side[0]->size) || m == 0 || point_at(s, m)) {
        finish(s);
        return;
    }
    s->next = m;
}

static void plan_bisect(struct tune_search *s)
{
    unsigned m;

    s->phase = TUNE_BISECT;
    if (s->hi - s->lo <= tune_search_step(s->lo) || (m = middle(s->lo, s->hi)) == 0) {
        plan_refine(s);
        return;
    }
    s->next = m;
}

int tune_search_init(struct tune_search *s, unsigned min, unsigned max)
{
    if (min < 1 || min > max || max > TUNE_MAX_SIZE)
        return GPUCTL_EINVAL;
    memset(s, 0, sizeof(*s));
    s->min = min;
    s->max = max;
    s->phase = TUNE_GROW;
    s->next = min;
    return 0;
}

bool tune_search_next(const struct tune_search *s, unsigned *size)
{
    if (s->phase == TUNE_DONE || s->next == 0)
        return false;
    *size = s->next;
    return true;
}

static bool tried(const struct tune_search *s, unsigned size)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->points[i].size == size)
            return true;
    return false;
}

static void after_grow(struct tune_search *s, const struct tune_point *p, double before)
{
    unsigned factor;

    if (!p->fits) {
        if (s->lo == 0) { /* min itself does not fit: nothing to search */
            finish(s);
            return;
        }
        s->hi = p->size;
        plan_bisect(s);
        return;
    }
    if (s->backfill) { /* the doubling a leap skipped: the peak is near it or below */
        if (p->throughput > before)
            s->lo = p->size;
        plan_refine(s);
        return;
    }
    if (before > 0 && p->throughput <= before * (1.0 + TUNE_GROW_GAIN)) {
        if (s->skipped && !tried(s, s->skipped)) { /* the doubling a leap skipped may be as
                                                       fast as the sizes around it */
            s->backfill = true;
            s->next = s->skipped;
            return;
        }
        plan_refine(s);
        return;
    }
    s->lo = p->size;
    if (p->size >= s->max) {
        plan_refine(s);
        return;
    }
    /* Far below where throughput saturates it nearly doubles with the size: leap x4 there, and
     * spend the trials saved near the memory limit and the peak instead. */
    factor = before > 0 && p->throughput >= before * (1.0 + TUNE_LEAP_GAIN) ? 4 : 2;
    s->next = p->size > s->max / factor ? s->max : p->size * factor;
    if (factor == 4)
        s->skipped = p->size * 2;
}

static void after_bisect(struct tune_search *s, const struct tune_point *p, double before)
{
    if (!p->fits) {
        s->hi = p->size;
    } else if (p->throughput > before * (1.0 + TUNE_BISECT_GAIN)) {
        s->lo = p->size;
    } else {
        plan_refine(s);
        return;
    }
    plan_bisect(s);
}

int tune_search_record(struct tune_search *s, unsigned size, bool fits, double throughput)
{
    const struct tune_point *best = best_point(s);
    double before = best ? best->throughput : 0;
    struct tune_point *p;

    if (s->phase == TUNE_DONE || size != s->next || (fits && !(throughput > 0)) ||
        s->n >= TUNE_MAX_POINTS)
        return GPUCTL_EINVAL;
    p = &s->points[s->n++];
    *p = (struct tune_point){size, fits, fits ? throughput : 0, s->phase};
    if (!fits && (s->hi == 0 || size < s->hi))
        s->hi = size;
    switch (s->phase) {
    case TUNE_GROW:
        after_grow(s, p, before);
        break;
    case TUNE_BISECT:
        after_bisect(s, p, before);
        break;
    case TUNE_REFINE:
        s->refines++;
        plan_refine(s);
        break;
    case TUNE_DONE:
        break;
    }
    return 0;
}

void tune_search_result(const struct tune_search *s, struct tune_result *r)
{
    const struct tune_point *best = best_point(s);

    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < s->n; i++) {
        const struct tune_point *p = &s->points[i];
        if (p->fits && p->size > r->largest_fit)
            r->largest_fit = p->size;
        if (!p->fits && (r->smallest_oom == 0 || p->size < r->smallest_oom))
            r->smallest_oom = p->size;
        if (p->fits && p->size == s->min)
            r->first_throughput = p->throughput;
    }
    if (!best)
        return;
    r->found = true;
    r->best = best->size;
    r->best_throughput = best->throughput;
    r->recommended = best->size;
    r->throughput = best->throughput;
    for (size_t i = 0; i < s->n; i++) {
        const struct tune_point *p = &s->points[i];
        if (p->fits && p->throughput >= best->throughput * (1.0 - TUNE_KEEP) &&
            p->size < r->recommended) {
            r->recommended = p->size;
            r->throughput = p->throughput;
        }
    }
}
