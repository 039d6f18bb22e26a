/* test_tune_parse.c: what gpuctl tune reads from a trial's output: every framework's
 * out-of-memory message (the fake trainer's table), and throughput in each printed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "../fakes/trainer/oom_messages.h"
#include "tune/metric.h"
#include "tune/oom.h"
#include "tune/trial.h"

/* Scans text line by line as the trial runner does. */
static bool scan_oom(const char *text, struct oom_match *m)
{
    char copy[4096], *save = NULL;
    bool any = false;

    snprintf(copy, sizeof(copy), "%s", text);
    memset(m, 0, sizeof(*m));
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        any = oom_scan_line(line, m) || any;
    return any;
}

static void every_framework_message_is_out_of_memory(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(oom_messages) / sizeof(oom_messages[0]); i++) {
        struct oom_match m;
        if (!scan_oom(oom_messages[i].text, &m))
            fail_msg("%s: not recognized", oom_messages[i].style);
        assert_string_equal(m.source, oom_messages[i].source);
        assert_int_equal(m.probable, oom_messages[i].probable);
    }
}

static void other_errors_are_not(void **state)
{
    static const char *const others[] = {
        "ValueError: Expected input batch_size (16) to match target batch_size (15).",
        "RuntimeError: CUDA error: device-side assert triggered",
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)",
        "ERROR: loss is nan",
        "torch.cuda.memory_allocated: 1.2 GiB",
    };
    struct oom_match m;

    (void)state;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_false(scan_oom(others[i], &m));
}

static void a_definite_message_wins_over_a_probable_one(void **state)
{
    struct oom_match m;

    (void)state;
    assert_true(scan_oom("RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.\n"
                         "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n",
                         &m));
    assert_false(m.probable);
    assert_string_equal(m.source, "PyTorch CUDA allocator");
}

static double scan_metric(const char *re, const char *const *lines, unsigned batch, bool *found)
{
    struct metric m;
    struct metric_value v = {0};
    char msg[256];

    assert_int_equal(metric_init(&m, re, msg, sizeof(msg)), 0);
    for (const char *const *l = lines; *l; l++)
        metric_scan_line(&m, *l, batch, &v);
    metric_release(&m);
    *found = v.found;
    return v.per_second;
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void builtin_forms(void **state)
{
    bool found;

    (void)state;
    assert_true(scan_metric(NULL, LINES("epoch 1: loss 2.3, 812.5 samples/s"), 64, &found) ==
                812.5);
    assert_true(scan_metric(NULL, LINES("throughput 1.5e3 img/s"), 64, &found) == 1500);
    assert_true(scan_metric(NULL, LINES("3000 images/sec"), 64, &found) == 3000);
    /* tqdm: it/s times the batch size; the last update wins */
    assert_true(scan_metric(NULL,
                            LINES(" 5/10 [00:01<00:01,  1.02it/s]", "10/10 [00:02, 4.00it/s]"), 32,
                            &found) == 128);
    assert_true(scan_metric(NULL, LINES("10/10 [00:20<00:00, 2.000s/it]"), 64, &found) == 32);
    assert_true(scan_metric(NULL,
                            LINES("{'train_runtime': 12.5, 'train_samples_per_second': "
                                  "245.1, 'epoch': 1.0}"),
                            8, &found) == 245.1);
    /* Hugging Face prints the evaluation figures after the training ones: not throughput */
    assert_true(scan_metric(NULL,
                            LINES("{'train_samples_per_second': 100.0, 'epoch': 1.0}",
                                  "{'eval_samples_per_second': 900.0, 'eval_loss': 0.2}"),
                            8, &found) == 100);
    /* samples/s printed once outranks tqdm's it/s printed after it */
    assert_true(scan_metric(NULL, LINES("400 samples/s", "10/10 [00:02, 9.00it/s]"), 64, &found) ==
                400);
    scan_metric(NULL, LINES("loss 0.25, lr 3e-4, step 100/s", "epoch 3"), 64, &found);
    assert_false(found);
}

static void custom_regex_takes_its_group_or_match(void **state)
{
    bool found;

    (void)state;
    assert_true(scan_metric("tokens: ([0-9.]+)", LINES("tokens: 1200.5 loss 2", "tokens: 1300"), 8,
                            &found) == 1300);
    assert_true(scan_metric("[0-9]+ tok/s", LINES("at 5000 tok/s"), 8, &found) == 5000);
    scan_metric("speed=([0-9]+)", LINES("no speed here"), 8, &found);
    assert_false(found);
    /* A pattern that can match nothing at the end of a line stops there (it used to read on
     * past the line's end into earlier, longer lines). */
    assert_true(scan_metric("([0-9]*)$", LINES("aaaaaaaaaaaaaa 999", "r 5", "zzzzz"), 8, &found) ==
                5);
}

static void a_bad_regex_says_why(void **state)
{
    struct metric m;
    char msg[256] = "";

    (void)state;
    assert_int_equal(metric_init(&m, "([0-9]+", msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_non_null(strstr(msg, "--metric-regex '([0-9]+'"));
}

static void braces_become_the_size(void **state)
{
    char a[][16] = {"python", "train.py", "--bs={}", "{}x{}", "plain"};
    char *const argv[] = {a[0], a[1], a[2], a[3], a[4], NULL};
    char **out = trial_argv(argv, 128);

    (void)state;
    assert_string_equal(out[2], "--bs=128");
    assert_string_equal(out[3], "128x128");
    assert_string_equal(out[4], "plain");
    assert_null(out[5]);
    trial_argv_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_framework_message_is_out_of_memory),
        cmocka_unit_test(other_errors_are_not),
        cmocka_unit_test(a_definite_message_wins_over_a_probable_one),
        cmocka_unit_test(builtin_forms),
        cmocka_unit_test(custom_regex_takes_its_group_or_match),
        cmocka_unit_test(a_bad_regex_says_why),
        cmocka_unit_test(braces_become_the_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
