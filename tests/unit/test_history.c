/* test_history.c: the in-memory rings, the per-minute aggregates and their SQLite store, and
 * windows that span both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "monitor/history.h"
#include "monitor/minutes.h"
#include "store/store.h"

static struct hsample sample(int64_t t_ms, unsigned util, uint32_t mem_mib)
{
    return (struct hsample){.t_ms = t_ms,
                            .util = (uint8_t)util,
                            .mem_used_mib = mem_mib,
                            .temperature_c = 50,
                            .power_mw = 100000,
                            .flags = HS_UTIL | HS_MEMORY | HS_TEMPERATURE | HS_POWER};
}

static void samples_from_a_device(void **state)
{
    struct gpuctl_device d = {
        .utilization_gpu_percent = 87, .memory_used_bytes = 3ull << 30, .temperature_c = 64};
    struct hsample s;

    (void)state;
    d.valid =
        1ull << GPUCTL_M_UTIL_GPU | 1ull << GPUCTL_M_MEMORY_USED | 1ull << GPUCTL_M_TEMPERATURE;
    s = hsample_of(&d, 42);
    assert_int_equal(s.t_ms, 42);
    assert_int_equal(s.util, 87);
    assert_int_equal(s.mem_used_mib, 3072);
    assert_int_equal(s.temperature_c, 64);
    assert_int_equal(s.flags, HS_UTIL | HS_MEMORY | HS_TEMPERATURE); /* no power: not valid */
    assert_int_equal(sizeof(struct hsample), 24);
}

static void rings_keep_the_newest_and_window_over_them(void **state)
{
    struct history *h = history_new(2, 10);
    struct hstats st;

    (void)state;
    assert_non_null(h);
    for (int i = 0; i < 15; i++) {
        struct hsample s = sample(1000 * i, (unsigned)(i * 5), (uint32_t)(100 * i));
        history_add(h, 0, &s);
    }
    assert_int_equal(history_oldest_ms(h, 0), 5000); /* 15 added, 10 kept */
    assert_int_equal(history_oldest_ms(h, 1), 0);
    history_stats(h, 0, 0, &st);
    assert_int_equal(st.samples, 10);
    assert_int_equal(st.first_ms, 5000);
    assert_int_equal(st.last_ms, 14000);
    assert_true(st.util_avg == (25 + 70) / 2.0);
    assert_int_equal(st.util_peak, 70);
    assert_int_equal(st.memory_peak_mib, 1400);
    history_stats(h, 0, 12000, &st);
    assert_int_equal(st.samples, 3);
    assert_true(st.util_avg == 65);
    history_stats(h, 1, 0, &st);
    assert_int_equal(st.samples, 0);
    assert_int_equal(st.n_util, 0);
    assert_true(history_span(h, 2.0) == 20.0);
    history_free(h);
}

static void missing_values_stay_missing(void **state)
{
    struct history *h = history_new(1, 4);
    struct hsample s = {.t_ms = 1, .util = 50, .flags = HS_UTIL};
    struct hstats st;

    (void)state;
    history_add(h, 0, &s);
    history_stats(h, 0, 0, &st);
    assert_int_equal(st.n_util, 1);
    assert_int_equal(st.n_memory, 0);
    assert_int_equal(st.n_temperature, 0);
    assert_int_equal(st.n_power, 0);
    history_free(h);
}

static void minutes_sum_and_fold_into_windows(void **state)
{
    struct minute_acc acc = {0};
    struct minute_row row, again;
    struct hstats st = {0}, recent = {0};

    (void)state;
    for (int i = 0; i < 60; i++) {
        struct hsample s = sample(120000 + 1000 * i, i < 30 ? 20 : 80, 1024);
        minute_acc_add(&acc, &s);
    }
    assert_true(minute_acc_take(&acc, "GPU-x", &row));
    assert_false(minute_acc_take(&acc, "GPU-x", &again)); /* emptied */
    assert_string_equal(row.uuid, "GPU-x");
    assert_int_equal(row.minute, 120);
    assert_int_equal(row.samples, 60);
    assert_true(row.util_avg == 50);
    assert_int_equal(row.util_max, 80);
    assert_true(row.memory_used_avg == 1073741824.0);
    assert_true(row.power_avg_w == 100.0);
    /* A window of this minute (60 samples at 50%) and 20 recent samples at 90%. */
    hstats_add_minute(&st, &row);
    recent = (struct hstats){.samples = 20,
                             .first_ms = 300000,
                             .last_ms = 319000,
                             .n_util = 20,
                             .util_avg = 90,
                             .util_peak = 90};
    hstats_add_stats(&st, &recent);
    hstats_finish(&st);
    assert_int_equal(st.samples, 80);
    assert_true(st.util_avg == (60 * 50 + 20 * 90) / 80.0);
    assert_int_equal(st.util_peak, 90);
    assert_int_equal(st.first_ms, 120000);
    assert_int_equal(st.last_ms, 319000);
    assert_true(st.memory_avg_mib == 1024); /* only the minute had memory */
    assert_int_equal(minute_of(119999), 60);
}

struct collected {
    struct minute_row rows[8];
    size_t n;
};

static int collect(void *ctx, const struct minute_row *r)
{
    struct collected *c = ctx;

    c->rows[c->n++] = *r;
    return c->n == 8;
}

static void the_store_keeps_minutes_across_opens(void **state)
{
    char dir[] = "/tmp/gpuctl-store-XXXXXX", msg[256], cmd[128];
    struct minute_row rows[3] = {
        {.uuid = "GPU-a",
         .minute = 60,
         .samples = 60,
         .has_util = true,
         .util_avg = 40,
         .util_max = 90,
         .has_temperature = true,
         .temperature_avg = 55.5,
         .temperature_max = 60},
        {.uuid = "GPU-a", .minute = 120, .samples = 30},
        {.uuid = "GPU-b",
         .minute = 60,
         .samples = 60,
         .has_memory = true,
         .memory_used_avg = 5e9,
         .memory_used_max = 6000000000ull},
    };
    struct collected c = {0};
    struct store *s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_open(dir, &s, msg, sizeof(msg)), 0);
    assert_int_equal(store_put_minutes(s, rows, 3), 0);
    store_close(s);
    assert_int_equal(store_open(dir, &s, msg, sizeof(msg)), 0); /* schema already there */
    assert_int_equal(store_minutes(s, "GPU-a", 0, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_true(c.rows[0].has_util);
    assert_true(c.rows[0].util_avg == 40);
    assert_int_equal(c.rows[0].util_max, 90);
    assert_true(c.rows[0].temperature_avg == 55.5);
    assert_false(c.rows[1].has_util); /* NULL stays missing */
    c.n = 0;
    assert_int_equal(store_minutes(s, "GPU-b", 0, collect, &c), 0);
    assert_int_equal(c.rows[0].memory_used_max, 6000000000ull);
    /* The same minute again (a restart within it) merges. */
    {
        struct minute_row again = {.uuid = "GPU-a",
                                   .minute = 60,
                                   .samples = 20,
                                   .has_util = true,
                                   .util_avg = 80,
                                   .util_max = 95};
        struct collected one = {0};
        assert_int_equal(store_put_minutes(s, &again, 1), 0);
        assert_int_equal(store_minutes(s, "GPU-a", 60, collect, &one), 0);
        assert_int_equal(one.rows[0].samples, 80);
        assert_true(one.rows[0].util_avg == (40.0 * 60 + 80.0 * 20) / 80);
        assert_int_equal(one.rows[0].util_max, 95);
        assert_true(one.rows[0].has_temperature); /* kept where the new row had none */
        assert_true(one.rows[0].temperature_avg == 55.5);
    }
    assert_int_equal(store_prune(s, 100), 0);
    c.n = 0;
    assert_int_equal(store_minutes(s, "GPU-a", 0, collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.rows[0].minute, 120);
    store_close(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* A directory that cannot be made says so. */
    assert_int_equal(store_open("/proc/gpuctl/state", &s, msg, sizeof(msg)), GPUCTL_EIO);
    assert_non_null(strstr(msg, "/proc/gpuctl/state"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(samples_from_a_device),
        cmocka_unit_test(rings_keep_the_newest_and_window_over_them),
        cmocka_unit_test(missing_values_stay_missing),
        cmocka_unit_test(minutes_sum_and_fold_into_windows),
        cmocka_unit_test(the_store_keeps_minutes_across_opens),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
