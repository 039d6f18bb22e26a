/* policy.c: fitting and ranking GPUs for a request. */
#include "sched/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/size.h"
#include "util/str.h"

static const char *const kind_names[KIND_COUNT] = {"training", "inference", "other"};

const char *sched_kind_name(enum sched_kind k)
{
    return (unsigned)k < KIND_COUNT ? kind_names[k] : "other";
}

int sched_kind_parse(const char *s, enum sched_kind *out)
{
    for (int k = 0; k < KIND_COUNT; k++) {
        if (strcasecmp(s, kind_names[k]) == 0) {
            *out = (enum sched_kind)k;
            return 0;
        }
    }
    return -1;
}

uint64_t policy_free(const struct gpu_view *g)
{
    uint64_t taken = g->reserved + g->unknown_used;

    return g->total > taken ? g->total - taken : 0;
}

/* A GPU sold as 80 GB holds about 79.6 GiB, less what its driver keeps: asking for up to this
 * much more than a GPU holds asks for the whole GPU. */
#define WHOLE_GPU_SLACK 1.05

bool policy_within(uint64_t memory, uint64_t total)
{
    return (double)memory <= (double)total * WHOLE_GPU_SLACK;
}

uint64_t policy_wanted(const struct gpu_view *g, const struct sched_req *r)
{
    if (r->memory)
        return r->memory > g->total && policy_within(r->memory, g->total) ? g->total : r->memory;
    if (r->fraction > 0)
        return (uint64_t)(r->fraction * (double)g->total);
    return 0;
}

static unsigned all_tasks(const struct gpu_view *g)
{
    return g->tasks[KIND_TRAINING] + g->tasks[KIND_INFERENCE] + g->tasks[KIND_OTHER];
}

bool policy_could_fit(const struct gpu_view *g, const struct sched_req *r)
{
    return g->usable && g->allowed && (!r->gpu_type[0] || str_model_in(r->gpu_type, g->name)) &&
           (r->memory == 0 || policy_within(r->memory, g->total)) &&
           (r->fraction <= 0 || g->total > 0);
}

/* Appends one reason to why. */
static void because(char *why, size_t len, const char *fmt, const char *a, const char *b)
{
    if (why)
        str_appendf(why, len, fmt, why[0] ? "; " : "", a, b);
}

/* What could change (memory, limits, holds) for a GPU that could fit. */
struct now {
    uint64_t wanted;
    bool room, driver_room, under_limit, not_held;
};

/* Writes why a GPU does not fit now, as n says. */
static void explain_now(const struct gpu_view *g, const struct sched_req *r, const struct now *n,
                        char *why, size_t len)
{
    char want[32], have[32];

    size_format(n->wanted, want, sizeof(want));
    if (!n->room) {
        size_format(policy_free(g), have, sizeof(have));
        because(why, len, "%s%s wanted, %s free after reservations", want, have);
    }
    if (!n->driver_room) {
        size_format(g->driver_free, have, sizeof(have));
        because(why, len, "%s%s wanted, %s free on the GPU", want, have);
    }
    if (!n->under_limit) {
        snprintf(have, sizeof(have), "%u", g->limit[r->kind]);
        because(why, len, "%sat its limit of %s %s allocations", have, sched_kind_name(r->kind));
    }
    if (!n->not_held)
        because(why, len, "%s%s%s", "kept for the request at the head of the queue", "");
}

/* Whether a GPU that could fit fits now; why not into why (may be NULL: placement asks often,
 * and formats nothing then). */
static bool fits_now(const struct gpu_view *g, const struct sched_req *r, char *why, size_t len)
{
    struct now n = {.wanted = policy_wanted(g, r)};

    n.room = n.wanted <= policy_free(g);
    n.driver_room = !n.wanted || g->driver_free == SCHED_FREE_UNKNOWN || n.wanted <= g->driver_free;
    n.under_limit = g->limit[r->kind] == SCHED_NO_LIMIT || g->tasks[r->kind] < g->limit[r->kind];
    n.not_held = !g->held_for || g->held_for == r->id;
    if (why)
        explain_now(g, r, &n, why, len);
    return n.room && n.driver_room && n.under_limit && n.not_held;
}

bool policy_fits(const struct gpu_view *g, const struct sched_req *r, char *why, size_t len)
{
    char total[32] = "", want[32] = "";

    if (!why) /* placement: no words, as fast as it goes */
        return policy_could_fit(g, r) && fits_now(g, r, NULL, 0);
    why[0] = '\0';
    if (!g->usable)
        because(why, len, "%s%s%s", "not usable (lost, failing or unhealthy)", "");
    if (!g->allowed)
        because(why, len, "%s%s%s", "not among the GPUs the request may use", "");
    if (r->gpu_type[0] && !str_model_in(r->gpu_type, g->name))
        because(why, len, "%s%s is not a %s", g->name, r->gpu_type);
    if (r->memory && !policy_within(r->memory, g->total)) {
        size_format(g->total, total, sizeof(total));
        size_format(r->memory, want, sizeof(want));
        because(why, len, "%s%s in all, %s wanted", total, want);
    }
    if (r->fraction > 0 && g->total == 0)
        because(why, len, "%s%s%s", "its memory size is unknown", "");
    if (!policy_could_fit(g, r))
        return false;
    return fits_now(g, r, why, len);
}

/* The policy's order of two GPUs: <0 when a is better. */
static int compare(const struct gpu_view *v, size_t a, size_t b, enum sched_policy p)
{
    uint64_t fa = policy_free(&v[a]), fb = policy_free(&v[b]);
    unsigned ta = all_tasks(&v[a]), tb = all_tasks(&v[b]);
    int ua = v[a].util < 0 ? 101 : v[a].util, ub = v[b].util < 0 ? 101 : v[b].util;

    if (p == SCHED_PACK) {
        if (ta != tb)
            return ta > tb ? -1 : 1;
        if (fa != fb)
            return fa < fb ? -1 : 1;
    } else {
        if (fa != fb)
            return fa > fb ? -1 : 1;
        if (ta != tb)
            return ta < tb ? -1 : 1;
        if (ua != ub)
            return ua < ub ? -1 : 1;
    }
    return a > b ? -1 : a < b ? 1 : 0; /* GPU 0, where stray work lands, last */
}

/* Sorts positions by the policy (insertion sort: at most SCHED_MAX_GPUS). */
static void rank(const struct gpu_view *v, size_t *pos, size_t n, enum sched_policy p)
{
    for (size_t i = 1; i < n; i++) {
        size_t x = pos[i], k = i;
        for (; k > 0 && compare(v, pos[k - 1], x, p) > 0; k--)
            pos[k] = pos[k - 1];
        pos[k] = x;
    }
}

static int distance(const struct sched_topology *t, size_t a, size_t b)
{
    return t && t->distance ? t->distance(t->ctx, a, b) : 0;
}

/* The set of count GPUs around anchor cand[a]: the closest others, ties by rank. Returns the
 * distance of its farthest pair. */
static int gather(const size_t *cand, size_t ncand, size_t a, unsigned count,
                  const struct sched_topology *t, size_t *set)
{
    bool used[SCHED_MAX_GPUS] = {false};
    int worst = 0;

    set[0] = cand[a];
    used[a] = true;
    for (unsigned k = 1; k < count; k++) {
        size_t best = ncand;
        for (size_t i = 0; i < ncand; i++)
            if (!used[i] &&
                (best == ncand || distance(t, cand[a], cand[i]) < distance(t, cand[a], cand[best])))
                best = i;
        used[best] = true;
        set[k] = cand[best];
        for (unsigned j = 0; j < k; j++)
            if (distance(t, set[j], set[k]) > worst)
                worst = distance(t, set[j], set[k]);
    }
    return worst;
}

int policy_place(const struct gpu_view *v, size_t n, const struct sched_req *r, enum sched_policy p,
                 const struct sched_topology *topo, struct placement *out)
{
    size_t cand[SCHED_MAX_GPUS], ncand = 0, set[SCHED_MAX_GPUS];
    int best = -1;

    out->n = 0;
    for (size_t i = 0; i < n && i < SCHED_MAX_GPUS; i++)
        if (policy_fits(&v[i], r, NULL, 0))
            cand[ncand++] = i;
    if (r->count == 0 || ncand < r->count)
        return GPUCTL_ENODEV;
    rank(v, cand, ncand, p);
    if (r->count == 1 || !topo || !topo->distance) {
        out->n = r->count;
        memcpy(out->gpu, cand, r->count * sizeof(cand[0]));
        return 0;
    }
    for (size_t a = 0; a < ncand; a++) {
        int worst = gather(cand, ncand, a, r->count, topo, set);
        if (best < 0 || worst < best) {
            best = worst;
            out->n = r->count;
            memcpy(out->gpu, set, r->count * sizeof(set[0]));
        }
    }
    return 0;
}

/* Orders GPUs by how close they are to taking more: most free memory, then fewest tasks. */
static int closeness(const struct gpu_view *v, size_t a, size_t b)
{
    return compare(v, a, b, SCHED_SPREAD);
}

size_t policy_hold(const struct gpu_view *v, size_t n, const struct sched_req *r,
                   struct placement *out)
{
    size_t cand[SCHED_MAX_GPUS], ncand = 0;

    for (size_t i = 0; i < n && i < SCHED_MAX_GPUS; i++)
        if (policy_could_fit(&v[i], r) && (!v[i].held_for || v[i].held_for == r->id))
            cand[ncand++] = i;
    for (size_t i = 1; i < ncand; i++) {
        size_t x = cand[i], k = i;
        for (; k > 0 && closeness(v, cand[k - 1], x) > 0; k--)
            cand[k] = cand[k - 1];
        cand[k] = x;
    }
    out->n = ncand < r->count ? ncand : r->count;
    memcpy(out->gpu, cand, out->n * sizeof(cand[0]));
    return out->n;
}
