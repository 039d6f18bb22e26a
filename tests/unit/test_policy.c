/* test_policy.c: which GPUs fit a request and why the others do not, spread and pack, the closest
 * set for several GPUs, holds for the head of the queue, and per-kind limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "sched/policy.h"

#define GiB (1ull << 30)

/* A healthy, allowed, idle GPU with nothing promised on it and no limits. */
static struct gpu_view gpu(const char *name, uint64_t total)
{
    struct gpu_view g;

    memset(&g, 0, sizeof(g));
    snprintf(g.name, sizeof(g.name), "%s", name);
    g.usable = true;
    g.allowed = true;
    g.total = total;
    g.driver_free = SCHED_FREE_UNKNOWN;
    for (int k = 0; k < KIND_COUNT; k++)
        g.limit[k] = SCHED_NO_LIMIT;
    g.util = 0;
    return g;
}

/* Request 1 for count GPUs with memory bytes on each. */
static struct sched_req req(unsigned count, uint64_t memory)
{
    struct sched_req r;

    memset(&r, 0, sizeof(r));
    r.id = 1;
    r.count = count;
    r.memory = memory;
    r.kind = KIND_OTHER;
    return r;
}

/* The positions in a placement as "i,j,k". */
static const char *positions(const struct placement *p)
{
    static char out[128];

    out[0] = '\0';
    for (size_t i = 0; i < p->n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%zu", i ? "," : "", p->gpu[i]);
    return out;
}

/* Where r goes on v, as "i,j"; "ENODEV" when it does not. */
static const char *placed(const struct gpu_view *v, size_t n, const struct sched_req *r,
                          enum sched_policy p, const struct sched_topology *topo)
{
    struct placement out;
    int rc = policy_place(v, n, r, p, topo, &out);

    if (rc == GPUCTL_ENODEV) {
        assert_int_equal(out.n, 0);
        return "ENODEV";
    }
    assert_int_equal(rc, 0);
    assert_int_equal(out.n, r->count);
    return positions(&out);
}

/* Why g does not fit r; fails the test when it does. */
static const char *refusal(const struct gpu_view *g, const struct sched_req *r)
{
    static char why[256];

    assert_false(policy_fits(g, r, why, sizeof(why)));
    return why;
}

static void free_memory_is_what_is_neither_promised_nor_used_by_strangers(void **state)
{
    struct gpu_view g = gpu("H100", 80 * GiB);

    (void)state;
    assert_int_equal(policy_free(&g), 80 * GiB);
    g.reserved = 30 * GiB;
    g.unknown_used = 10 * GiB;
    assert_int_equal(policy_free(&g), 40 * GiB);
    g.unknown_used = 60 * GiB; /* more than is left: none, not a wrapped number */
    assert_int_equal(policy_free(&g), 0);
    g = gpu("?", 0);
    g.reserved = 1;
    assert_int_equal(policy_free(&g), 0);
}

static void asking_up_to_five_percent_more_than_a_gpu_holds_is_within_it(void **state)
{
    (void)state;
    assert_true(policy_within(100, 100));
    assert_true(policy_within(105, 100));
    assert_false(policy_within(106, 100));
    /* An "80 GB" H100 whose programs can have 79.2 GiB. */
    assert_true(policy_within(80 * GiB, 792 * GiB / 10));
    assert_true(policy_within(84 * GiB, 80 * GiB));
    assert_false(policy_within(85 * GiB, 80 * GiB));
    assert_true(policy_within(0, 0));
    assert_false(policy_within(1, 0)); /* unknown size: nothing can be promised */
}

static void wanted_is_the_bytes_the_whole_gpu_or_a_fraction(void **state)
{
    struct gpu_view g = gpu("H100", 80 * GiB);
    struct sched_req r = req(1, 16 * GiB);

    (void)state;
    assert_int_equal(policy_wanted(&g, &r), 16 * GiB);
    g.total = 792 * GiB / 10; /* 80 GiB on a GPU holding a little less: all of it */
    r.memory = 80 * GiB;
    assert_int_equal(policy_wanted(&g, &r), g.total);
    g.total = 40 * GiB; /* far more than it holds: as asked (and it will not fit) */
    assert_int_equal(policy_wanted(&g, &r), 80 * GiB);
    g.total = 80 * GiB;
    r.memory = 0;
    r.fraction = 0.25;
    assert_int_equal(policy_wanted(&g, &r), 20 * GiB);
    r.memory = 8 * GiB; /* bytes win over the fraction */
    assert_int_equal(policy_wanted(&g, &r), 8 * GiB);
    r.memory = 0;
    r.fraction = 0;
    assert_int_equal(policy_wanted(&g, &r), 0);
}

static void a_free_gpu_fits_with_an_empty_reason(void **state)
{
    struct gpu_view g = gpu("NVIDIA H100 80GB HBM3", 80 * GiB);
    struct sched_req r = req(1, 80 * GiB);
    char why[256] = "left over from before";

    (void)state;
    assert_true(policy_fits(&g, &r, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_true(policy_fits(&g, &r, NULL, 0));
}

static void every_lasting_reason_is_named(void **state)
{
    struct gpu_view g = gpu("NVIDIA T4", 15 * GiB);
    struct sched_req r = req(1, 40 * GiB);

    (void)state;
    g.usable = false;
    g.allowed = false;
    snprintf(r.gpu_type, sizeof(r.gpu_type), "A100");
    assert_string_equal(refusal(&g, &r), "not usable (lost, failing or unhealthy); "
                                         "not among the GPUs the request may use; "
                                         "NVIDIA T4 is not a A100; "
                                         "15.00 GiB in all, 40.00 GiB wanted");
    assert_false(policy_fits(&g, &r, NULL, 0));
}

static void memory_promised_or_held_by_the_driver_is_not_free(void **state)
{
    struct gpu_view g = gpu("A100", 40 * GiB);
    struct sched_req r = req(1, 16 * GiB);

    (void)state;
    g.reserved = 30 * GiB;
    assert_string_equal(refusal(&g, &r), "16.00 GiB wanted, 10.00 GiB free after reservations");
    g.reserved = 0;
    g.unknown_used = 30 * GiB;
    assert_string_equal(refusal(&g, &r), "16.00 GiB wanted, 10.00 GiB free after reservations");
    g.unknown_used = 0;
    g.driver_free = 8 * GiB;
    assert_string_equal(refusal(&g, &r), "16.00 GiB wanted, 8.00 GiB free on the GPU");
    g.reserved = 30 * GiB;
    assert_string_equal(refusal(&g, &r), "16.00 GiB wanted, 10.00 GiB free after reservations; "
                                         "16.00 GiB wanted, 8.00 GiB free on the GPU");
    g.reserved = 24 * GiB; /* exactly enough on both counts */
    g.driver_free = 16 * GiB;
    assert_true(policy_fits(&g, &r, NULL, 0));
}

static void unknown_driver_free_memory_leaves_the_ledger_to_decide(void **state)
{
    struct gpu_view g = gpu("A100", 40 * GiB);
    struct sched_req r = req(1, 40 * GiB);

    (void)state;
    g.driver_free = SCHED_FREE_UNKNOWN;
    assert_true(policy_fits(&g, &r, NULL, 0));
    g.driver_free = 0; /* a full driver refuses only requests that want memory */
    assert_false(policy_fits(&g, &r, NULL, 0));
    r.memory = 0;
    assert_true(policy_fits(&g, &r, NULL, 0));
}

static void a_whole_gpu_request_needs_nothing_else_on_it(void **state)
{
    struct gpu_view g = gpu("H100", 792 * GiB / 10);
    struct sched_req r = req(1, 80 * GiB);

    (void)state;
    assert_true(policy_fits(&g, &r, NULL, 0));
    g.reserved = 1 * GiB;
    assert_false(policy_fits(&g, &r, NULL, 0));
    assert_true(policy_could_fit(&g, &r));
}

static void limits_count_each_kind_on_its_own(void **state)
{
    struct gpu_view g = gpu("A100", 40 * GiB);
    struct sched_req r = req(1, 0);

    (void)state;
    g.limit[KIND_TRAINING] = 1;
    g.tasks[KIND_TRAINING] = 1;
    g.tasks[KIND_INFERENCE] = 5;
    r.kind = KIND_TRAINING;
    assert_string_equal(refusal(&g, &r), "at its limit of 1 training allocations");
    assert_true(policy_could_fit(&g, &r)); /* it will have room once the other ends */
    r.kind = KIND_INFERENCE;
    assert_true(policy_fits(&g, &r, NULL, 0)); /* SCHED_NO_LIMIT for inference */
    g.limit[KIND_INFERENCE] = 6;
    assert_true(policy_fits(&g, &r, NULL, 0));
    g.limit[KIND_INFERENCE] = 5;
    assert_string_equal(refusal(&g, &r), "at its limit of 5 inference allocations");
    g.limit[KIND_OTHER] = 0;
    r.kind = KIND_OTHER;
    assert_string_equal(refusal(&g, &r), "at its limit of 0 other allocations");
}

static void a_held_gpu_is_kept_for_the_request_it_is_held_for(void **state)
{
    struct gpu_view g = gpu("A100", 40 * GiB);
    struct sched_req r = req(1, 8 * GiB);

    (void)state;
    g.held_for = 7;
    r.id = 8;
    assert_string_equal(refusal(&g, &r), "kept for the request at the head of the queue");
    assert_true(policy_could_fit(&g, &r));
    r.id = 7;
    assert_true(policy_fits(&g, &r, NULL, 0));
}

static void gpu_type_matches_the_model_in_any_case(void **state)
{
    struct gpu_view a100 = gpu("NVIDIA A100-SXM4-80GB", 80 * GiB);
    struct gpu_view a4000 = gpu("NVIDIA RTX A4000", 16 * GiB);
    struct gpu_view rtx = gpu("NVIDIA GeForce RTX 3090", 24 * GiB);
    struct sched_req r = req(1, 0);

    (void)state;
    assert_true(policy_fits(&a100, &r, NULL, 0)); /* no type: any model */
    snprintf(r.gpu_type, sizeof(r.gpu_type), "a100");
    assert_true(policy_fits(&a100, &r, NULL, 0));
    assert_true(policy_could_fit(&a100, &r));
    snprintf(r.gpu_type, sizeof(r.gpu_type), "A40");
    assert_string_equal(refusal(&a4000, &r), "NVIDIA RTX A4000 is not a A40");
    assert_false(policy_could_fit(&a4000, &r));
    snprintf(r.gpu_type, sizeof(r.gpu_type), "RTX3090");
    assert_true(policy_fits(&rtx, &r, NULL, 0));
}

static void a_fraction_is_of_each_gpus_own_memory(void **state)
{
    struct gpu_view big = gpu("H100", 80 * GiB), small = gpu("T4", 16 * GiB);
    struct sched_req r = req(1, 0);

    (void)state;
    r.fraction = 0.5;
    big.reserved = 30 * GiB; /* 40 wanted, 50 free */
    assert_true(policy_fits(&big, &r, NULL, 0));
    big.reserved = 50 * GiB;
    assert_string_equal(refusal(&big, &r), "40.00 GiB wanted, 30.00 GiB free after reservations");
    small.reserved = 8 * GiB; /* 8 wanted, 8 free */
    assert_true(policy_fits(&small, &r, NULL, 0));
}

static void a_fraction_of_unknown_memory_never_fits_and_says_why(void **state)
{
    struct gpu_view g = gpu("A100", 0);
    struct sched_req r = req(1, 0);
    char why[256];

    (void)state;
    r.fraction = 0.5;
    assert_false(policy_could_fit(&g, &r));
    assert_false(policy_fits(&g, &r, why, sizeof(why)));
    assert_string_equal(why, "its memory size is unknown");
    r.fraction = 0; /* any memory: it still fits */
    assert_true(policy_fits(&g, &r, NULL, 0));
}

static void could_fit_ignores_what_changes(void **state)
{
    struct gpu_view g = gpu("A100", 40 * GiB);
    struct sched_req r = req(1, 42 * GiB);

    (void)state;
    g.reserved = 40 * GiB;
    g.driver_free = 0;
    g.held_for = 9;
    g.limit[KIND_OTHER] = 0;
    assert_true(policy_could_fit(&g, &r));
    assert_false(policy_fits(&g, &r, NULL, 0));
    r.memory = 43 * GiB; /* more than 5% over */
    assert_false(policy_could_fit(&g, &r));
    r.memory = 1;
    g.usable = false;
    assert_false(policy_could_fit(&g, &r));
    g.usable = true;
    g.allowed = false;
    assert_false(policy_could_fit(&g, &r));
}

static void spread_takes_the_most_free_memory_first(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB)};
    struct sched_req r = req(1, 1 * GiB);

    (void)state;
    v[0].reserved = 30 * GiB;
    v[2].reserved = 20 * GiB;
    v[1].tasks[KIND_TRAINING] = 3; /* more tasks, but the most free memory */
    v[1].util = 90;
    assert_string_equal(placed(v, 3, &r, SCHED_SPREAD, NULL), "1");
    r.count = 3;
    assert_string_equal(placed(v, 3, &r, SCHED_SPREAD, NULL), "1,2,0");
}

static void spread_then_takes_the_fewest_tasks(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB)};
    struct sched_req r = req(3, 0);

    (void)state;
    v[0].tasks[KIND_INFERENCE] = 2;
    v[2].tasks[KIND_OTHER] = 1;
    v[1].util = 99; /* fewer tasks count before utilization */
    assert_string_equal(placed(v, 3, &r, SCHED_SPREAD, NULL), "1,2,0");
}

static void spread_then_takes_the_lowest_utilization_unknown_last(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB),
                           gpu("D", 40 * GiB)};
    struct sched_req r = req(4, 0);

    (void)state;
    v[0].util = 50;
    v[1].util = 10;
    v[2].util = 100;
    v[3].util = -1;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, NULL), "1,0,2,3");
}

static void spread_then_takes_the_higher_index_so_gpu0_goes_last(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB)};
    struct sched_req r = req(1, 0);

    (void)state;
    assert_string_equal(placed(v, 3, &r, SCHED_SPREAD, NULL), "2");
    r.count = 3;
    assert_string_equal(placed(v, 3, &r, SCHED_SPREAD, NULL), "2,1,0");
}

static void pack_fills_the_busiest_gpu_then_the_least_free(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB),
                           gpu("D", 40 * GiB)};
    struct sched_req r = req(1, 4 * GiB);

    (void)state;
    v[1].tasks[KIND_TRAINING] = 2;
    v[1].reserved = 10 * GiB;
    v[2].tasks[KIND_INFERENCE] = 2;
    v[2].reserved = 20 * GiB; /* as busy as 1, with less free memory */
    v[3].tasks[KIND_OTHER] = 1;
    assert_string_equal(placed(v, 4, &r, SCHED_PACK, NULL), "2");
    r.count = 4;
    assert_string_equal(placed(v, 4, &r, SCHED_PACK, NULL), "2,1,3,0");
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, NULL), "0,3,1,2");
}

static void pack_ignores_utilization_and_leaves_gpu0_last(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB)};
    struct sched_req r = req(3, 0);

    (void)state;
    v[0].util = 0;
    v[2].util = 99;
    assert_string_equal(placed(v, 3, &r, SCHED_PACK, NULL), "2,1,0");
}

static void placement_skips_every_gpu_that_does_not_fit(void **state)
{
    struct gpu_view v[] = {gpu("NVIDIA A100", 80 * GiB), gpu("NVIDIA A100", 80 * GiB),
                           gpu("NVIDIA T4", 80 * GiB),   gpu("NVIDIA A100", 80 * GiB),
                           gpu("NVIDIA A100", 80 * GiB), gpu("NVIDIA A100", 80 * GiB),
                           gpu("NVIDIA A100", 20 * GiB)};
    struct sched_req r = req(1, 40 * GiB);

    (void)state;
    snprintf(r.gpu_type, sizeof(r.gpu_type), "A100");
    r.kind = KIND_TRAINING;
    v[0].reserved = 10 * GiB; /* fits, the only one */
    v[1].usable = false;
    /* v[2] is a T4 */
    v[3].allowed = false;
    v[4].held_for = 2;
    v[5].limit[KIND_TRAINING] = 0;
    /* v[6] is too small */
    assert_string_equal(placed(v, 7, &r, SCHED_SPREAD, NULL), "0");
    assert_string_equal(placed(v, 7, &r, SCHED_PACK, NULL), "0");
    r.count = 2;
    assert_string_equal(placed(v, 7, &r, SCHED_SPREAD, NULL), "ENODEV");
}

static void too_few_gpus_or_none_asked_is_no_device(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB)};
    struct sched_req r = req(3, 0);

    (void)state;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "ENODEV");
    r.count = 0;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "ENODEV");
    r.count = 1;
    assert_string_equal(placed(v, 0, &r, SCHED_SPREAD, NULL), "ENODEV");
}

static void a_held_gpu_goes_only_to_its_request(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 80 * GiB)};
    struct sched_req r = req(1, 8 * GiB);

    (void)state;
    v[1].held_for = 7; /* the better GPU, kept for request 7 */
    r.id = 8;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "0");
    r.count = 2;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "ENODEV");
    r.id = 7;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "1,0");
    r.count = 1;
    assert_string_equal(placed(v, 2, &r, SCHED_SPREAD, NULL), "1");
}

/* Two boards of two GPUs: 10 on a board, 40 across, 0 to itself. */
static int two_boards(void *ctx, size_t a, size_t b)
{
    (void)ctx;
    return a == b ? 0 : a / 2 == b / 2 ? 10 : 40;
}

/* Distances from a 4 x 4 matrix. */
static int from_matrix(void *ctx, size_t a, size_t b)
{
    const int(*d)[4] = ctx;

    return d[a][b];
}

static void several_gpus_go_to_the_closest_set(void **state)
{
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB),
                           gpu("D", 40 * GiB)};
    struct sched_topology topo = {two_boards, NULL};
    struct sched_req r = req(2, 0);

    (void)state;
    /* Ranked 3, 1, 0, 2: the two best are on different boards. */
    v[0].reserved = 2 * GiB;
    v[2].reserved = 3 * GiB;
    v[1].reserved = 1 * GiB;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, NULL), "3,1");
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "3,2");
    /* A board whose other GPU is taken cannot hold both. */
    v[2].usable = false;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "1,0");
    /* No distance: all are equally close, the ranking decides. */
    v[2].usable = true;
    topo.distance = NULL;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "3,1");
    /* One GPU: the best ranked, wherever it is. */
    topo.distance = two_boards;
    r.count = 1;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "3");
}

static void the_closest_set_need_not_hold_the_best_gpu(void **state)
{
    /* 0 and 1 share a board; everything else is across CPUs. */
    static const int d[4][4] = {{0, 10, 60, 60}, {10, 0, 60, 60}, {60, 60, 0, 60}, {60, 60, 60, 0}};
    struct gpu_view v[] = {gpu("A", 40 * GiB), gpu("B", 40 * GiB), gpu("C", 40 * GiB),
                           gpu("D", 40 * GiB)};
    struct sched_topology topo = {from_matrix, (void *)d};
    struct sched_req r = req(2, 0);

    (void)state;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "1,0");
    assert_string_equal(placed(v, 4, &r, SCHED_PACK, &topo), "1,0");
    /* Three: no set is closer than 60, so the best ranked leads, its closest after. */
    r.count = 3;
    assert_string_equal(placed(v, 4, &r, SCHED_SPREAD, &topo), "3,2,1");
}

static void the_queue_head_holds_the_gpus_closest_to_fitting(void **state)
{
    struct gpu_view v[] = {gpu("A100", 40 * GiB), gpu("A100", 40 * GiB), gpu("A100", 40 * GiB),
                           gpu("A100", 40 * GiB)};
    struct sched_req r = req(2, 40 * GiB);
    struct placement out;

    (void)state;
    v[0].reserved = 10 * GiB;
    v[1].reserved = 30 * GiB;
    v[2].reserved = 10 * GiB;
    v[2].tasks[KIND_TRAINING] = 1; /* as free as 0, but busier */
    v[3].reserved = 20 * GiB;
    assert_int_equal(policy_hold(v, 4, &r, &out), 2);
    assert_string_equal(positions(&out), "0,2");
    r.count = 1;
    assert_int_equal(policy_hold(v, 4, &r, &out), 1);
    assert_string_equal(positions(&out), "0");
}

static void a_hold_skips_gpus_that_could_never_fit_or_are_held_for_another(void **state)
{
    struct gpu_view v[] = {gpu("A100", 40 * GiB), gpu("A100", 20 * GiB), gpu("T4", 40 * GiB),
                           gpu("A100", 40 * GiB), gpu("A100", 40 * GiB), gpu("A100", 40 * GiB)};
    struct sched_req r = req(4, 32 * GiB);
    struct placement out;

    (void)state;
    snprintf(r.gpu_type, sizeof(r.gpu_type), "A100");
    r.id = 5;
    v[0].reserved = 39 * GiB; /* busy, but could fit later */
    v[0].limit[KIND_OTHER] = 0;
    /* v[1] is too small, v[2] the wrong model */
    v[3].usable = false;
    v[4].held_for = 4;
    v[5].held_for = 5; /* its own */
    assert_int_equal(policy_hold(v, 6, &r, &out), 2);
    assert_string_equal(positions(&out), "5,0");
    v[0].allowed = false;
    assert_int_equal(policy_hold(v, 6, &r, &out), 1);
    assert_string_equal(positions(&out), "5");
    v[5].held_for = 4;
    assert_int_equal(policy_hold(v, 6, &r, &out), 0);
    assert_int_equal(out.n, 0);
}

static void kinds_have_names_and_parse_in_any_case(void **state)
{
    enum sched_kind k = KIND_OTHER;

    (void)state;
    assert_string_equal(sched_kind_name(KIND_TRAINING), "training");
    assert_string_equal(sched_kind_name(KIND_INFERENCE), "inference");
    assert_string_equal(sched_kind_name(KIND_OTHER), "other");
    assert_int_equal(sched_kind_parse("Training", &k), 0);
    assert_int_equal(k, KIND_TRAINING);
    assert_int_equal(sched_kind_parse("INFERENCE", &k), 0);
    assert_int_equal(k, KIND_INFERENCE);
    assert_int_equal(sched_kind_parse("batch", &k), -1);
    assert_int_equal(k, KIND_INFERENCE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_memory_is_what_is_neither_promised_nor_used_by_strangers),
        cmocka_unit_test(asking_up_to_five_percent_more_than_a_gpu_holds_is_within_it),
        cmocka_unit_test(wanted_is_the_bytes_the_whole_gpu_or_a_fraction),
        cmocka_unit_test(a_free_gpu_fits_with_an_empty_reason),
        cmocka_unit_test(every_lasting_reason_is_named),
        cmocka_unit_test(memory_promised_or_held_by_the_driver_is_not_free),
        cmocka_unit_test(unknown_driver_free_memory_leaves_the_ledger_to_decide),
        cmocka_unit_test(a_whole_gpu_request_needs_nothing_else_on_it),
        cmocka_unit_test(limits_count_each_kind_on_its_own),
        cmocka_unit_test(a_held_gpu_is_kept_for_the_request_it_is_held_for),
        cmocka_unit_test(gpu_type_matches_the_model_in_any_case),
        cmocka_unit_test(a_fraction_is_of_each_gpus_own_memory),
        cmocka_unit_test(a_fraction_of_unknown_memory_never_fits_and_says_why),
        cmocka_unit_test(could_fit_ignores_what_changes),
        cmocka_unit_test(spread_takes_the_most_free_memory_first),
        cmocka_unit_test(spread_then_takes_the_fewest_tasks),
        cmocka_unit_test(spread_then_takes_the_lowest_utilization_unknown_last),
        cmocka_unit_test(spread_then_takes_the_higher_index_so_gpu0_goes_last),
        cmocka_unit_test(pack_fills_the_busiest_gpu_then_the_least_free),
        cmocka_unit_test(pack_ignores_utilization_and_leaves_gpu0_last),
        cmocka_unit_test(placement_skips_every_gpu_that_does_not_fit),
        cmocka_unit_test(too_few_gpus_or_none_asked_is_no_device),
        cmocka_unit_test(a_held_gpu_goes_only_to_its_request),
        cmocka_unit_test(several_gpus_go_to_the_closest_set),
        cmocka_unit_test(the_closest_set_need_not_hold_the_best_gpu),
        cmocka_unit_test(the_queue_head_holds_the_gpus_closest_to_fitting),
        cmocka_unit_test(a_hold_skips_gpus_that_could_never_fit_or_are_held_for_another),
        cmocka_unit_test(kinds_have_names_and_parse_in_any_case),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
