/* test_watch.c: `gpuctl watch` on fake machines: its lines, its summary, its verdicts, and bad
 * input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* Counts the lines of text that begin with prefix. */
static size_t lines_starting(const char *text, const char *prefix)
{
    size_t n = 0;

    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        line += *line == '\n';
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    }
    return n;
}

static void prints_a_line_per_sample_then_a_summary(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu8-mixed", NULL,
               ARGS("watch", "--interval", "100ms", "--duration", "0.35", "--device", "cuda:0",
                    "--device", "cuda:3"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "GPU0  util 87% | mem 25% (20.0 GB) | 64 C | 612 W\n"));
    assert_non_null(strstr(r.out, "GPU3  util 0% | mem 0% (0.0 GB) | 29 C | 10 W\n"));
    /* 0, 0.1, 0.2, 0.3 s: four samples, give or take one on a loaded machine */
    assert_in_range(lines_starting(r.out, "GPU0  util"), 3, 5);
    assert_non_null(strstr(r.out, "GPU0 NVIDIA H100 80GB HBM3: "));
    assert_non_null(strstr(r.out, "  average utilization  87%\n"));
    assert_non_null(strstr(r.out, "  average memory       25.1% (20.0 GB)\n"));
    assert_non_null(strstr(r.out, "  peak memory          25.1% (20.0 GB)\n"));
    assert_non_null(strstr(r.out, "  verdict: utilization good\n"));
    assert_non_null(strstr(r.out, "GPU3 Tesla T4: "));
    assert_non_null(strstr(r.out, "  verdict: idle: nothing ran on this GPU"));
    run_release(&r);
}

static void verdict_names_the_bottleneck(void **state)
{
    struct run r;

    (void)state;
    /* The A100 at 12% with 5% of its memory: too small a batch, or a slow loader. */
    run_gpuctl(&r, "gpu8-mixed", NULL,
               ARGS("watch", "--interval", "0.1", "--duration", "0.15", "--device", "cuda:1"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "verdict: utilization under 50% with memory to spare"));
    run_release(&r);
    /* The L4 at 64%: fair. */
    run_gpuctl(&r, "gpu8-mixed", NULL,
               ARGS("watch", "--interval", "0.1", "--duration", "0.15", "--device", "cuda:5"));
    assert_non_null(strstr(r.out, "verdict: utilization fair"));
    run_release(&r);
}

static void json_gives_a_line_per_sample_and_a_summary(void **state)
{
    struct run r;
    char *summary;
    json_t *line, *s, *gpu;

    (void)state;
    run_gpuctl(
        &r, "gpu8-mixed", NULL,
        ARGS("watch", "--interval", "0.1", "--duration", "0.15", "--device", "cuda:0", "--json"));
    assert_int_equal(r.status, 0);
    line = json_loadb(r.out, strcspn(r.out, "\n"), 0, NULL);
    assert_non_null(line);
    assert_int_equal(json_integer_value(json_object_get(line, "gpu")), 0);
    assert_int_equal(json_integer_value(json_object_get(line, "utilization_gpu_percent")), 87);
    assert_non_null(json_string_value(json_object_get(line, "timestamp")));
    json_decref(line);
    summary = strstr(r.out, "{\n");
    assert_non_null(summary);
    s = json_loads(summary, 0, NULL);
    gpu = json_array_get(json_object_get(json_object_get(s, "summary"), "gpus"), 0);
    assert_int_equal(json_integer_value(json_object_get(gpu, "memory_used_peak_bytes")),
                     21474836480LL);
    assert_string_equal(json_string_value(json_object_get(gpu, "verdict")), "utilization good");
    json_decref(s);
    run_release(&r);
}

static void bad_input_is_refused(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu8-mixed", NULL, ARGS("watch", "--interval", "soon"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--interval 'soon' must be"));
    run_release(&r);
    run_gpuctl(&r, "gpu8-mixed", NULL, ARGS("watch", "--interval", "0.01"));
    assert_int_equal(r.status, 2);
    run_release(&r);
    run_gpuctl(&r, "gpu8-mixed", NULL, ARGS("watch", "--device", "cuda:9", "--duration", "1"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "out of range"));
    run_release(&r);
    run_gpuctl(&r, "no-driver", NULL, ARGS("watch", "--duration", "1"));
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "no GPU to watch"));
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prints_a_line_per_sample_then_a_summary),
        cmocka_unit_test(verdict_names_the_bottleneck),
        cmocka_unit_test(json_gives_a_line_per_sample_and_a_summary),
        cmocka_unit_test(bad_input_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
