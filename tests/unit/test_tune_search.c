/* test_tune_search.c: the batch-size search on synthetic curves (tests/fakes/trainer/curve.h):
 * what it recommends, how many trials it takes, and that it never leaves what fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "../fakes/trainer/curve.h"
#include "tune/search.h"

/* Runs the search to its end against c; returns the number of trials. */
static size_t run_curve(const struct curve *c, unsigned min, unsigned max, struct tune_result *r)
{
    struct tune_search s;
    unsigned size;

    assert_int_equal(tune_search_init(&s, min, max), 0);
    while (tune_search_next(&s, &size)) {
        assert_true(size >= min && size <= max);
        bool fits = curve_fits(c, size);
        assert_int_equal(tune_search_record(&s, size, fits, fits ? curve_throughput(c, size) : 0),
                         0);
    }
    tune_search_result(&s, r);
    return s.n;
}

/* The best throughput of any size on the search's grid (multiples of 8 from 64 up) up to max
 * that fits. */
static double true_best(const struct curve *c, unsigned max)
{
    double best = 0;

    for (unsigned b = 1; b <= max && curve_fits(c, b); b++)
        if ((b < 64 || b % 8 == 0) && curve_throughput(c, b) > best)
            best = curve_throughput(c, b);
    return best;
}

static void peak_128_in_at_most_12_trials(void **state)
{
    struct curve c = {300, 128, 256, 1000};
    struct tune_result r;
    size_t n = run_curve(&c, 1, 4096, &r);

    (void)state;
    assert_true(r.found);
    assert_in_range(r.recommended, 120, 136);
    assert_true(n <= 12);
    assert_true(r.throughput >= 0.98 * true_best(&c, 4096));
    assert_int_equal(r.first_throughput > 0, 1);
}

static void never_recommends_what_does_not_fit(void **state)
{
    static const struct curve curves[] = {
        {100, 4096, 4096, 500}, {100, 64, 64, 500},  {100, 100, 100, 500}, {100, 8, 8, 500},
        {100, 99, 2000, 500},   {7, 4096, 4096, 10}, {1, 64, 64, 10},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        struct tune_result r;
        run_curve(&curves[i], 1, 4096, &r);
        assert_true(r.found);
        assert_true(r.recommended <= curves[i].fit);
        assert_true(r.largest_fit <= curves[i].fit);
    }
}

static void memory_bound_finds_the_fit_boundary(void **state)
{
    struct curve c = {100, 4096, 4096, 500};
    struct tune_result r;
    size_t n = run_curve(&c, 1, 4096, &r);

    (void)state;
    /* Grows (leaping x4 while throughput nearly doubles) until a size runs out; bisects to the
     * limit in steps of 8 from 64, 4 below. */
    assert_in_range(r.recommended, 96, 100);
    assert_int_equal(r.smallest_oom > 100, 1);
    assert_true(n <= 13);
}

static void a_sharp_peak_between_powers_of_two_is_refined(void **state)
{
    struct curve c = {2000, 380, 380, 1000};
    struct tune_result r;
    size_t n = run_curve(&c, 1, 4096, &r);

    (void)state;
    /* 256 and 512 are 5% and 14% below the peak; the probes between them find it. */
    assert_true(r.throughput >= 0.98 * true_best(&c, 4096));
    assert_true(n <= 12);
}

static void min_that_does_not_fit_ends_the_search(void **state)
{
    struct curve c = {16, 64, 64, 100};
    struct tune_result r;
    size_t n = run_curve(&c, 32, 4096, &r);

    (void)state;
    assert_false(r.found);
    assert_int_equal(n, 1);
    assert_int_equal(r.smallest_oom, 32);
}

static void max_bounds_the_search_and_is_tried(void **state)
{
    struct curve c = {100000, 100000, 100000, 100};
    struct tune_result r;

    (void)state;
    run_curve(&c, 1, 100, &r);
    assert_int_equal(r.recommended, 100); /* 1..64, then 100 itself */
    assert_int_equal(r.largest_fit, 100);
    run_curve(&c, 8, 8, &r);
    assert_int_equal(r.recommended, 8);
}

static void plateau_keeps_the_smallest_within_2_percent(void **state)
{
    struct curve c = {100000, 64, 100000, 100};
    struct tune_result r;
    size_t n = run_curve(&c, 1, 4096, &r);

    (void)state;
    /* 1, 2, leaps to 8 and 32, then 128 and 256 (no faster): the 64 the leap skipped is as
     * fast as 128, and smaller */
    assert_int_equal(r.recommended, 64);
    assert_int_equal(n, 7);
}

static void record_refuses_what_was_not_asked(void **state)
{
    struct tune_search s;
    unsigned size;

    (void)state;
    assert_int_equal(tune_search_init(&s, 0, 10), GPUCTL_EINVAL);
    assert_int_equal(tune_search_init(&s, 20, 10), GPUCTL_EINVAL);
    assert_int_equal(tune_search_init(&s, 1, TUNE_MAX_SIZE + 1), GPUCTL_EINVAL);
    assert_int_equal(tune_search_init(&s, 4, 64), 0);
    assert_true(tune_search_next(&s, &size));
    assert_int_equal(size, 4);
    assert_int_equal(tune_search_record(&s, 5, true, 1.0), GPUCTL_EINVAL);
    assert_int_equal(tune_search_record(&s, 4, true, 0.0), GPUCTL_EINVAL);
    assert_int_equal(tune_search_record(&s, 4, true, 1.0), 0);
    assert_true(tune_search_next(&s, &size));
    assert_int_equal(size, 8);
}

static void a_stopped_search_reports_what_it_knows(void **state)
{
    struct tune_search s;
    struct tune_result r;

    (void)state;
    tune_search_init(&s, 1, 4096);
    tune_search_record(&s, 1, true, 10);
    tune_search_record(&s, 2, true, 19);
    tune_search_result(&s, &r);
    assert_true(r.found);
    assert_int_equal(r.recommended, 2);
    assert_int_equal(r.largest_fit, 2);
    assert_int_equal(r.smallest_oom, 0);
    assert_true(r.first_throughput == 10);
}

static void steps_follow_the_grid(void **state)
{
    (void)state;
    assert_int_equal(tune_search_step(1), 1);
    assert_int_equal(tune_search_step(15), 1);
    assert_int_equal(tune_search_step(16), 2);
    assert_int_equal(tune_search_step(32), 4);
    assert_int_equal(tune_search_step(63), 4);
    assert_int_equal(tune_search_step(64), 8);
    assert_int_equal(tune_search_step(4096), 8);
    assert_string_equal(tune_phase_name(TUNE_BISECT), "bisect");
}

/* A spread of curves: within 2% of the best that fits on the grid, never beyond what fits. */
static void sweep_of_curves_loses_little(void **state)
{
    static const unsigned fits[] = {8, 24, 100, 300, 777, 1500, 4096};
    static const unsigned peaks[] = {4, 16, 50, 128, 200, 380, 1000, 3000, 8192};

    (void)state;
    for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++) {
        for (size_t j = 0; j < sizeof(peaks) / sizeof(peaks[0]); j++) {
            struct curve c = {fits[i], peaks[j], peaks[j] * 3 / 2, 1000};
            struct tune_result r;
            run_curve(&c, 1, 4096, &r);
            assert_true(r.recommended <= fits[i]);
            if (r.throughput < 0.98 * true_best(&c, 4096))
                fail_msg("fit %u peak %u: %u gives %.1f, the best %.1f", fits[i], peaks[j],
                         r.recommended, r.throughput, true_best(&c, 4096));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peak_128_in_at_most_12_trials),
        cmocka_unit_test(never_recommends_what_does_not_fit),
        cmocka_unit_test(memory_bound_finds_the_fit_boundary),
        cmocka_unit_test(a_sharp_peak_between_powers_of_two_is_refined),
        cmocka_unit_test(min_that_does_not_fit_ends_the_search),
        cmocka_unit_test(max_bounds_the_search_and_is_tried),
        cmocka_unit_test(plateau_keeps_the_smallest_within_2_percent),
        cmocka_unit_test(record_refuses_what_was_not_asked),
        cmocka_unit_test(a_stopped_search_reports_what_it_knows),
        cmocka_unit_test(steps_follow_the_grid),
        cmocka_unit_test(sweep_of_curves_loses_little),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
