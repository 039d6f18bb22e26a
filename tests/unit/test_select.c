/* test_select.c: which GPU fits a request, and which of those ranks first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device/select.h"

#define GiB (1ull << 30)

static struct gpuctl_device gpu(int index, const char *name, uint64_t free_bytes, int util)
{
    struct gpuctl_device d;

    memset(&d, 0, sizeof(d));
    d.vendor = GPUCTL_VENDOR_NVIDIA;
    d.index = index;
    snprintf(d.device, sizeof(d.device), "cuda:%d", index);
    snprintf(d.name, sizeof(d.name), "%s", name);
    d.memory_free_bytes = free_bytes;
    d.valid |= 1u << GPUCTL_M_MEMORY_FREE;
    if (util >= 0) {
        d.utilization_gpu_percent = (unsigned)util;
        d.valid |= 1u << GPUCTL_M_UTIL_GPU;
    }
    return d;
}

static int cmp(const void *a, const void *b)
{
    return select_compare(*(const struct gpuctl_device *const *)a,
                          *(const struct gpuctl_device *const *)b);
}

/* Sorts and returns the indices, best first, as "i,j,k". */
static const char *ranked(struct gpuctl_device *devs, size_t n)
{
    static char out[64];
    const struct gpuctl_device *p[8];

    for (size_t i = 0; i < n; i++)
        p[i] = &devs[i];
    qsort(p, n, sizeof(p[0]), cmp);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", i ? "," : "", p[i]->index);
    return out;
}

static void most_free_memory_first(void **state)
{
    struct gpuctl_device d[] = {gpu(0, "A", 10 * GiB, 0), gpu(1, "B", 30 * GiB, 90),
                                gpu(2, "C", 20 * GiB, 0)};

    (void)state;
    assert_string_equal(ranked(d, 3), "1,2,0");
}

static void then_lowest_utilization(void **state)
{
    struct gpuctl_device d[] = {gpu(0, "A", 8 * GiB, 50), gpu(1, "B", 8 * GiB, 10),
                                gpu(2, "C", 8 * GiB, 30)};

    (void)state;
    assert_string_equal(ranked(d, 3), "1,2,0");
}

static void then_higher_index_keeping_gpu0_free(void **state)
{
    struct gpuctl_device d[] = {gpu(0, "A", 8 * GiB, 0), gpu(1, "B", 8 * GiB, 0),
                                gpu(2, "C", 8 * GiB, 0)};

    (void)state;
    assert_string_equal(ranked(d, 3), "2,1,0");
}

static void unknown_values_rank_last(void **state)
{
    struct gpuctl_device d[] = {gpu(0, "A", 1 * GiB, 0), gpu(1, "B", 8 * GiB, -1),
                                gpu(2, "C", 8 * GiB, 99), gpu(3, "D", 0, 0)};

    (void)state;
    d[3].valid &= ~(1u << GPUCTL_M_MEMORY_FREE);
    assert_string_equal(ranked(d, 4), "2,1,0,3");
}

static void type_matches_a_substring_in_any_case(void **state)
{
    struct gpuctl_device a100 = gpu(0, "NVIDIA A100-SXM4-40GB", 30 * GiB, 0);
    struct gpuctl_select_request req = {.type = "a100"};
    char why[224];

    (void)state;
    assert_true(select_fits(&a100, &req, why, sizeof(why)));
    req.type = "H100";
    assert_false(select_fits(&a100, &req, why, sizeof(why)));
    assert_string_equal(why, "model 'NVIDIA A100-SXM4-40GB' does not match 'H100'");
}

static void free_memory_and_utilization_limits(void **state)
{
    struct gpuctl_device d = gpu(1, "T4", 4 * GiB, 87);
    struct gpuctl_select_request req = {.min_free_memory_bytes = 8 * GiB,
                                        .max_utilization_percent = 50,
                                        .has_max_utilization = true};
    char why[224];

    (void)state;
    assert_false(select_fits(&d, &req, why, sizeof(why)));
    assert_string_equal(why, "free memory 4.00 GiB < 8.00 GiB required; "
                             "utilization 87% > 50% allowed");
    req.min_free_memory_bytes = 4 * GiB; /* equal is enough */
    req.max_utilization_percent = 87;
    assert_true(select_fits(&d, &req, why, sizeof(why)));
    assert_string_equal(why, "");
}

static void unknown_values_fail_a_limit(void **state)
{
    struct gpuctl_device d = gpu(0, "X", 0, -1);
    struct gpuctl_select_request req = {
        .min_free_memory_bytes = 1, .max_utilization_percent = 50, .has_max_utilization = true};
    char why[224];

    (void)state;
    d.valid = 0;
    assert_false(select_fits(&d, &req, why, sizeof(why)));
    assert_non_null(strstr(why, "free memory unknown"));
    assert_non_null(strstr(why, "utilization unknown"));
}

static void a_lost_gpu_never_fits(void **state)
{
    struct gpuctl_device d = gpu(0, "H100", 80 * GiB, 0);
    struct gpuctl_select_request req = {0};
    char why[224];

    (void)state;
    d.state = GPUCTL_STATE_LOST;
    snprintf(d.state_message, sizeof(d.state_message), "fell off the bus");
    assert_false(select_fits(&d, &req, why, sizeof(why)));
    assert_string_equal(why, "lost: fell off the bus");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(most_free_memory_first),
        cmocka_unit_test(then_lowest_utilization),
        cmocka_unit_test(then_higher_index_keeping_gpu0_free),
        cmocka_unit_test(unknown_values_rank_last),
        cmocka_unit_test(type_matches_a_substring_in_any_case),
        cmocka_unit_test(free_memory_and_utilization_limits),
        cmocka_unit_test(unknown_values_fail_a_limit),
        cmocka_unit_test(a_lost_gpu_never_fits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
