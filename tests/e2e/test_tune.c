/* test_tune.c: `gpuctl tune` and `gpuctl advise` end to end: the built gpuctl (through its
 * gpuctl-client helper) against the fake NVML and a fake trainer (tests/fakes/trainer) whose
 * memory limit, throughput curve and failures are set by flags; alone, through a daemon's
 * scheduler, and interrupted. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/trainer/oom_messages.h"
#include "daemon.h"
#include "harness.h"

#define TUNE(...) ARGS("tune", "--json", __VA_ARGS__)

/* Runs gpuctl tune on the one-A100 machine, expecting exit status want; returns its JSON. */
static json_t *tune(struct run *r, int want, const char *const *args)
{
    json_t *doc;

    run_gpuctl(r, "gpu1", NULL, args);
    if (r->status != want)
        fail_msg("exit %d, not %d\nstdout:\n%s\nstderr:\n%s", r->status, want, r->out, r->err);
    doc = run_json(r);
    return doc;
}

static json_t *trial(json_t *doc, size_t i)
{
    json_t *t = json_array_get(json_object_get(doc, "trials"), i);

    assert_non_null(t);
    return t;
}

static size_t trials(json_t *doc)
{
    return json_array_size(json_object_get(doc, "trials"));
}

static void peak_at_128_is_found_in_at_most_12_trials(void **state)
{
    struct run r;
    json_t *doc = tune(&r, 0,
                       TUNE("--", FAKE_TRAINER, "--batch", "{}", "--fit", "300", "--peak", "128",
                            "--fall", "256"));
    json_int_t rec = json_integer_value(json_object_get(doc, "recommended"));

    (void)state;
    assert_in_range(rec, 120, 136);
    assert_true(trials(doc) <= 12);
    assert_json_str(doc, "signal", "metric");
    assert_json_str(doc, "unit", "samples/s");
    assert_json_str(doc, "stopped", "done");
    assert_json_null(doc, "allocation_id");
    assert_json_str(json_object_get(doc, "device"), "device", "cuda:0");
    assert_true(json_real_value(json_object_get(doc, "speedup")) > 10);
    /* the fixture's A100 has 1 GiB in use: that is the peak the sampler saw */
    assert_json_int(trial(doc, 0), "peak_memory_bytes", 1073741824);
    assert_json_int(trial(doc, 0), "batch_size", 1);
    assert_json_str(trial(doc, 0), "phase", "grow");
    assert_non_null(strstr(r.err, "no gpuctl daemon answers"));
    json_decref(doc);
    run_release(&r);

    /* The text report: the table and the recommendation. */
    run_gpuctl(&r, "gpu1", NULL,
               ARGS("tune", "--", FAKE_TRAINER, "--batch", "{}", "--fit", "300", "--peak", "128",
                    "--fall", "256"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "recommended batch size: 128 (1000.0 samples/s"));
    assert_non_null(strstr(r.out, "1.00 GiB"));
    run_release(&r);
}

static void never_recommends_more_than_fits(void **state)
{
    static const char *const peaks[] = {"4096", "100", "64", "16"};

    (void)state;
    for (size_t i = 0; i < sizeof(peaks) / sizeof(peaks[0]); i++) {
        struct run r;
        json_t *doc = tune(&r, 0,
                           TUNE("--", FAKE_TRAINER, "--batch", "{}", "--fit", "100", "--peak",
                                peaks[i], "--oom", "pytorch-old"));
        assert_true(json_integer_value(json_object_get(doc, "recommended")) <= 100);
        assert_true(json_integer_value(json_object_get(doc, "largest_fit")) <= 100);
        json_decref(doc);
        run_release(&r);
    }
}

static void another_failure_stops_with_its_error(void **state)
{
    struct run r;
    json_t *doc =
        tune(&r, 1, TUNE("--", FAKE_TRAINER, "--batch", "{}", "--fit", "300", "--fail-at", "16"));

    (void)state;
    /* 1, 2, then a leap to 8 (2 nearly doubled 1's throughput), then 32, which fails */
    assert_int_equal(trials(doc), 4);
    assert_json_str(trial(doc, 3), "outcome", "failed");
    assert_json_int(trial(doc, 3), "exit_code", 1);
    assert_json_str(doc, "stopped", "failed");
    assert_non_null(strstr(json_string_value(json_object_get(doc, "stderr_tail")),
                           "ValueError: Expected input batch_size (32)"));
    assert_json_str(json_object_get(doc, "error"), "code", "failure");
    assert_non_null(strstr(r.err, "failed (exit status 1) without running out of memory"));
    json_decref(doc);
    run_release(&r);

    /* The text report shows the tail of its stderr. */
    run_gpuctl(&r, "gpu1", NULL,
               ARGS("tune", "--", FAKE_TRAINER, "--batch", "{}", "--fail-at", "1"));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "the end of its stderr:\nTraceback"));
    run_release(&r);

    /* A command that does not exist fails its first trial with 127. */
    doc = tune(&r, 1, TUNE("--", "/nonexistent/train", "{}"));
    assert_json_int(trial(doc, 0), "exit_code", 127);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "stderr_tail")), "cannot run"));
    json_decref(doc);
    run_release(&r);
}

static void a_hanging_trial_is_killed_at_the_timeout(void **state)
{
    struct timespec t0, t1;
    struct run r;
    json_t *doc;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    doc =
        tune(&r, 1,
             TUNE("--trial-timeout", "1s", "--", FAKE_TRAINER, "--batch", "{}", "--hang-at", "4"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(trials(doc), 3);
    assert_json_str(trial(doc, 2), "outcome", "timeout");
    assert_json_int(trial(doc, 2), "signal", SIGTERM);
    assert_json_str(doc, "stopped", "timeout");
    assert_json_int(doc, "recommended", 2);
    assert_non_null(strstr(r.err, "ran past --trial-timeout (1 s)"));
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    json_decref(doc);
    run_release(&r);
}

static void every_framework_out_of_memory_is_recognized(void **state)
{
    (void)state;
    for (size_t i = 0; i <= sizeof(oom_messages) / sizeof(oom_messages[0]); i++) {
        bool killer = i == sizeof(oom_messages) / sizeof(oom_messages[0]);
        const char *style = killer ? "kill" : oom_messages[i].style;
        struct run r;
        json_t *doc = tune(&r, 0,
                           TUNE("--max", "64", "--", FAKE_TRAINER, "--batch", "{}", "--fit", "8",
                                "--peak", "4096", "--oom", style));
        json_t *oom = trial(doc, 3); /* 1, 2 and (a leap) 8 fit; 32 does not */
        assert_json_int(oom, "batch_size", 32);
        assert_json_str(oom, "outcome", "oom");
        if (killer) {
            assert_non_null(strstr(json_string_value(json_object_get(oom, "oom")), "SIGKILL"));
            assert_true(json_is_true(json_object_get(oom, "oom_probable")));
        } else {
            assert_json_str(oom, "oom", oom_messages[i].source);
        }
        assert_json_int(doc, "recommended", 8);
        json_decref(doc);
        run_release(&r);
    }
}

static void throughput_in_each_printed_form(void **state)
{
    static const char *const forms[] = {"samples", "itps", "sit", "hf"};
    struct run r;
    json_t *doc;

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        doc = tune(&r, 0,
                   TUNE("--", FAKE_TRAINER, "--batch", "{}", "--fit", "300", "--peak", "128",
                        "--fall", "256", "--report", forms[i]));
        assert_in_range(json_integer_value(json_object_get(doc, "recommended")), 120, 136);
        assert_true(fabs(json_real_value(json_object_get(doc, "throughput")) - 1000) < 5);
        json_decref(doc);
        run_release(&r);
    }
    /* The user's regex: its group, the last match. */
    doc = tune(&r, 0,
               TUNE("--metric-regex", "lr 3e-4, ([0-9.]+)", "--", FAKE_TRAINER, "--batch", "{}",
                    "--fit", "300", "--peak", "128", "--fall", "256"));
    assert_json_str(doc, "unit", "metric");
    assert_in_range(json_integer_value(json_object_get(doc, "recommended")), 120, 136);
    json_decref(doc);
    run_release(&r);
    /* --steps: size x steps / wall time, the trainer sleeping as long as its steps take */
    doc = tune(&r, 0,
               TUNE("--steps", "5", "--max", "256", "--", FAKE_TRAINER, "--batch", "{}", "--fit",
                    "256", "--peak", "16", "--fall", "16", "--top", "2000", "--steps", "5"));
    assert_json_str(doc, "signal", "steps");
    assert_true(json_integer_value(json_object_get(doc, "recommended")) <= 32);
    json_decref(doc);
    run_release(&r);
    /* Nothing printed and no --steps: the GPU's utilization, flagged weak */
    doc =
        tune(&r, 0, TUNE("--", FAKE_TRAINER, "--batch", "{}", "--report", "none", "--fit", "300"));
    assert_json_str(doc, "signal", "utilization");
    assert_true(json_is_true(json_object_get(doc, "weak_signal")));
    json_decref(doc);
    run_release(&r);
    /* A trial that prints none when the others did stops the search */
    doc = tune(&r, 1,
               TUNE("--metric-regex", "([0-9]+) samples/s", "--", "sh", "-c",
                    "[ {} -lt 4 ] && echo $(({} * 100)) samples/s; exit 0"));
    assert_json_str(doc, "stopped", "no_metric");
    assert_int_equal(trials(doc), 3);
    json_decref(doc);
    run_release(&r);
}

static void min_that_does_not_fit_fails(void **state)
{
    struct run r;
    json_t *doc =
        tune(&r, 1, TUNE("--min", "64", "--", FAKE_TRAINER, "--batch", "{}", "--fit", "32"));

    (void)state;
    assert_json_str(doc, "stopped", "nothing_fits");
    assert_json_null(doc, "recommended");
    assert_non_null(strstr(r.err, "batch size 64, the smallest allowed, runs out of memory"));
    json_decref(doc);
    run_release(&r);
}

static void bad_usage_says_what_is_right(void **state)
{
    const struct {
        const char *const *args;
        const char *message;
    } cases[] = {
        {ARGS("tune", "--min", "0", "--", "true"), "--min '0' must be a whole number from 1 to"},
        {ARGS("tune", "--max", "lots", "--", "true"), "--max 'lots' must be a whole number"},
        {ARGS("tune", "--min", "64", "--max", "8", "--", "true"), "--min 64 is above --max 8"},
        {ARGS("tune", "--steps", "-3", "--", "true"), "--steps '-3' must be a whole number"},
        {ARGS("tune", "--trial-timeout", "soon", "--", "true"), "--trial-timeout 'soon'"},
        {ARGS("tune", "--metric-regex", "([0-9]+", "--", "true"), "is not a POSIX extended"},
        {ARGS("tune", "--min", "4"), "no command: put it after the options"},
        {ARGS("tune", "--device", "cuda:7", "--", "true"), "cuda:7"},
        {ARGS("advise", "--out", "x.yaml"), "--out needs --config"},
        {ARGS("advise", "extra"), "unexpected argument 'extra'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_gpuctl(&r, "gpu1", NULL, cases[i].args);
        if (r.status != 2 || !strstr(r.err, cases[i].message))
            fail_msg("case %zu: exit %d, stderr: %s", i, r.status, r.err);
        run_release(&r);
    }
}

static void through_the_daemon_and_released(void **state)
{
    static const char *const real_proc[] = {"--procfs-root=/proc", NULL};
    struct daemon d;
    struct response resp;
    char env[256], path[96];
    struct run r;
    json_t *doc;

    (void)state;
    daemon_start(&d, "gpu2", NULL, real_proc);
    snprintf(env, sizeof(env), "GPUCTL_DAEMON=unix:%s", d.socket);
    run_gpuctl(&r, "gpu2", ENV(env),
               TUNE("--", FAKE_TRAINER, "--batch", "{}", "--fit", "40", "--peak", "4096"));
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    doc = run_json(&r);
    assert_true(json_integer_value(json_object_get(doc, "allocation_id")) > 0);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(doc, "device"), "device")), "cuda:"));
    assert_non_null(strstr(r.err, "allocation"));
    snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld",
             (long long)json_integer_value(json_object_get(doc, "allocation_id")));
    json_t *alloc = daemon_get_json(&d, path, &resp); /* the macro reads it more than once */
    assert_json_str(alloc, "state", "released");
    response_release(&resp);
    json_decref(doc);
    run_release(&r);

    /* A daemon named that does not answer is an error, not a silent fallback. */
    run_gpuctl(&r, "gpu2", ENV("GPUCTL_DAEMON=unix:/nonexistent/gpuctl.sock"),
               ARGS("tune", "--", FAKE_TRAINER, "--batch", "{}"));
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "no gpuctl daemon answers at unix:/nonexistent/gpuctl.sock"));
    run_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void ctrl_c_stops_the_trial_and_shows_what_is_known(void **state)
{
    char out_path[] = "/tmp/gpuctl-tune-XXXXXX", fixture[512], lib[512], procfs[512], sysfs[512];
    char *argv[] = {
        (char *)GPUCTL_BIN, (char *)"tune", (char *)"--json",    (char *)"--", (char *)FAKE_TRAINER,
        (char *)"--batch",  (char *)"{}",   (char *)"--hang-at", (char *)"8",  NULL};
    int fd = mkstemp(out_path), status;
    pid_t pid;
    json_t *doc;

    (void)state;
    assert_true(fd >= 0);
    snprintf(fixture, sizeof(fixture), "FAKE_NVML_FIXTURE=%s/nvml/gpu1.json", FIXTURES);
    snprintf(lib, sizeof(lib), "LD_LIBRARY_PATH=%s/current", FAKE_NVML_DIR);
    snprintf(procfs, sizeof(procfs), "GPUCTL_PROCFS_ROOT=%s/procfs/workstation", FIXTURES);
    snprintf(sysfs, sizeof(sysfs), "GPUCTL_SYSFS_ROOT=%s/sysfs/none", FIXTURES);
    pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        putenv(fixture);
        putenv(lib);
        putenv(procfs);
        putenv(sysfs);
        execv(GPUCTL_BIN, argv);
        _exit(127);
    }
    /* Wait until the trial at 8 hangs: two trials done, in well under its timeout. */
    struct timespec pause = {1, 500000000};
    nanosleep(&pause, NULL);
    kill(pid, SIGINT);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    {
        FILE *f = fopen(out_path, "r");
        json_error_t e;
        doc = json_loadf(f, 0, &e);
        fclose(f);
    }
    assert_non_null(doc);
    assert_json_str(doc, "stopped", "interrupted");
    assert_int_equal(trials(doc), 3); /* 1, 2, then 8 (a leap), which hangs */
    assert_json_str(trial(doc, 2), "outcome", "interrupted");
    assert_json_int(doc, "recommended", 2);
    json_decref(doc);
    close(fd);
    unlink(out_path);
}

static void advise_settings_for_the_a100(void **state)
{
    struct run r;
    json_t *doc, *s;

    (void)state;
    run_gpuctl(&r, "gpu1", NULL, ARGS("advise", "--json"));
    assert_int_equal(r.status, 0);
    doc = run_json(&r);
    s = json_object_get(doc, "settings");
    assert_json_str(doc, "device", "cuda:0");
    assert_json_int(doc, "cpu_threads", 16); /* the workstation's procfs */
    assert_json_int(json_object_get(s, "batch_size"), "value", 256);
    assert_json_int(json_object_get(s, "num_workers"), "value", 15);
    assert_json_str(json_object_get(s, "precision"), "value", "bf16-mixed");
    assert_true(json_is_true(json_object_get(json_object_get(s, "pin_memory"), "value")));
    assert_true(json_is_true(json_object_get(json_object_get(s, "compile_model"), "value")));
    json_decref(doc);
    run_release(&r);

    /* The laptop's 4 GiB RTX 3050 starts smaller. */
    run_gpuctl(&r, "laptop-3050", NULL, ARGS("advise"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "batch_size           8 "));
    run_release(&r);
}

static void advise_rewrites_a_config(void **state)
{
    char dir[] = "/tmp/gpuctl-advise-XXXXXX", in[128], out[128], bad[128];
    const char *text = "# lightweight\nbatch_size: 16  # small\nbase_channels: 32\nnum_workers: 0\n"
                       "use_mixed_precision: false\n";
    struct run r;
    FILE *f;
    char got[2048] = "";

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(in, sizeof(in), "%s/config.yaml", dir);
    snprintf(out, sizeof(out), "%s/optimized.yaml", dir);
    snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
    f = fopen(in, "w");
    fputs(text, f);
    fclose(f);
    run_gpuctl(&r, "gpu1", NULL, ARGS("advise", "--config", in, "--out", out));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "batch_size           16 -> 256"));
    run_release(&r);
    f = fopen(out, "r");
    assert_non_null(f);
    got[fread(got, 1, sizeof(got) - 1, f)] = '\0';
    fclose(f);
    assert_non_null(strstr(got, "# lightweight\nbatch_size: 256  # gpuctl advise: a start for 80 "
                                "GiB of GPU memory"));
    assert_non_null(strstr(got, "  # small\nbase_channels: 32\nnum_workers: 15  # gpuctl advise"));
    assert_non_null(strstr(got, "\nuse_mixed_precision: true  # gpuctl advise"));
    assert_non_null(strstr(got, "\ncompile_model: true  # gpuctl advise"));

    /* Without --out the copy goes to stdout; a file that is not YAML is refused with its line */
    run_gpuctl(&r, "gpu1", NULL, ARGS("advise", "--config", in));
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "# lightweight\nbatch_size: 256", 29) == 0);
    run_release(&r);
    f = fopen(bad, "w");
    fputs("batch_size: [1, 2\nx: 1\n", f);
    fclose(f);
    run_gpuctl(&r, "gpu1", NULL, ARGS("advise", "--config", bad, "--json"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "is not YAML: line"));
    run_release(&r);
    unlink(in);
    unlink(out);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peak_at_128_is_found_in_at_most_12_trials),
        cmocka_unit_test(never_recommends_more_than_fits),
        cmocka_unit_test(another_failure_stops_with_its_error),
        cmocka_unit_test(a_hanging_trial_is_killed_at_the_timeout),
        cmocka_unit_test(every_framework_out_of_memory_is_recognized),
        cmocka_unit_test(throughput_in_each_printed_form),
        cmocka_unit_test(min_that_does_not_fit_fails),
        cmocka_unit_test(bad_usage_says_what_is_right),
        cmocka_unit_test_teardown(through_the_daemon_and_released, daemon_cleanup_all),
        cmocka_unit_test(ctrl_c_stops_the_trial_and_shows_what_is_known),
        cmocka_unit_test(advise_settings_for_the_a100),
        cmocka_unit_test(advise_rewrites_a_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
