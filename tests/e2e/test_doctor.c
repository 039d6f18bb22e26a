/* test_doctor.c: `gpuctl doctor` on fake machines (fixture sysfs, procfs and /dev trees, the
 * fake NVML) with fake Python installs (tests/fakes/python): the real probe runs in the real
 * interpreter, importing fake frameworks that answer as the real ones would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

#define FAKES_PYTHON FAKES "/python"

/* Runs doctor --json (plus args) on machine `m` (its sysfs, procfs and dev trees), with NVML
 * fixture `nvml` and Python install `site`; extra env entries override. */
static json_t *doctor(struct run *r, const char *m, const char *nvml, const char *site,
                      const char *const *extra, const char *const *args)
{
    char sysfs[512], procfs[512], dev[512], path[512], fake_site[512], real[512];
    const char *env[24] = {sysfs, procfs, dev, path, fake_site, real};
    const char *argv[16] = {"doctor", "--json"};
    size_t n = 6, k = 2;

    snprintf(sysfs, sizeof(sysfs), "GPUCTL_SYSFS_ROOT=%s/sysfs/%s", FIXTURES, m);
    snprintf(procfs, sizeof(procfs), "GPUCTL_PROCFS_ROOT=%s/procfs/%s", FIXTURES, m);
    snprintf(dev, sizeof(dev), "GPUCTL_DEV_ROOT=%s/dev/%s", FIXTURES, m);
    snprintf(path, sizeof(path), "PATH=%s:/usr/bin:/bin", FAKES_PYTHON);
    snprintf(fake_site, sizeof(fake_site), "FAKE_PYTHON_SITE=%s/site/%s", FAKES_PYTHON, site);
    snprintf(real, sizeof(real), "FAKE_PYTHON_REAL=%s", PYTHON3);
    for (; extra && *extra && n < 23; extra++)
        env[n++] = *extra;
    env[n] = NULL;
    for (; args && *args && k < 15; args++)
        argv[k++] = *args;
    argv[k] = NULL;
    run_gpuctl(r, nvml, env, argv);
    return run_json(r);
}

/* The check with this id (the first), failing the test when there is none. */
static json_t *check(json_t *doc, const char *id)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(doc, "checks"), i, c)
    {
        const char *have = json_string_value(json_object_get(c, "id"));

        if (have && strcmp(have, id) == 0)
            return c;
    }
    fail_msg("no check '%s' in the report", id);
    return NULL;
}

static void expect(json_t *doc, const char *id, const char *status, const char *in_finding,
                   const char *in_fix)
{
    json_t *c = check(doc, id);
    const char *finding = json_string_value(json_object_get(c, "finding"));
    const char *fix = json_string_value(json_object_get(c, "fix"));

    assert_json_str(c, "status", status);
    if (in_finding && !strstr(finding, in_finding))
        fail_msg("%s: finding '%s' lacks '%s'", id, finding, in_finding);
    if (in_fix && (!fix || !strstr(fix, in_fix)))
        fail_msg("%s: fix '%s' lacks '%s'", id, fix ? fix : "(none)", in_fix);
}

/* Guide 002: an RTX 3050 4 GB laptop, driver 581.29 (CUDA 13.0), torch 2.5.1+cpu. */
static void guide_002_cpu_build_gets_the_cuda_wheel_command(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "laptop-3050", "laptop-3050", "cpu-2.5.1", NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_false(json_is_true(json_object_get(doc, "ok")));
    expect(doc, "pci", "ok", "NVIDIA GeForce RTX 3050 Laptop GPU [10de:25a2] at 0000:01:00.0",
           NULL);
    expect(doc, "driver.nvidia", "ok", "kernel module 581.29", NULL);
    expect(doc, "nvml", "ok", "driver 581.29, 1 GPU", NULL);
    expect(doc, "devices.nvidia", "ok", "/dev/nvidia-uvm", NULL);
    expect(doc, "cuda", "ok", "runs CUDA up to 13.0", NULL);
    expect(doc, "visibility", "ok", NULL, NULL);
    expect(doc, "python", "ok", "Python 3", NULL);
    expect(doc, "torch", "fail", "torch 2.5.1+cpu is a CPU-only build", NULL);
    expect(doc, "torch", "fail", NULL,
           "python3 -m pip uninstall -y torch torchvision torchaudio && ");
    expect(doc, "torch", "fail", NULL,
           "pip install torch torchvision torchaudio --index-url "
           "https://download.pytorch.org/whl/cu130");
    expect(doc, "torch", "fail", NULL, "torch.cuda.is_available()");
    expect(doc, "tensorflow", "skip", "not installed", NULL);
    expect(doc, "jax", "skip", "not installed", NULL);
    expect(doc, "memory", "warn", "4.00 GiB", "bf16");
    assert_json_int(doc, "failed", 1);
    json_decref(doc);
    run_release(&r);
}

static void driver_470_with_a_cu121_torch_is_too_old(void **state)
{
    struct run r;
    char lib[512];
    json_t *doc;

    (void)state;
    snprintf(lib, sizeof(lib), "LD_LIBRARY_PATH=%s/r470", FAKE_NVML_DIR);
    doc = doctor(&r, "t4-470", "t4-470", "cu121-on-470", ENV(lib), NULL);
    assert_int_equal(r.status, 1);
    expect(doc, "cuda", "warn", "runs CUDA up to 11.4", "580.65.06");
    expect(doc, "torch", "fail", "built for CUDA 12.1, but driver 470.256.02 runs CUDA up to 11.4",
           "upgrade the NVIDIA driver to at least 525.60.13");
    expect(doc, "torch", "fail", NULL,
           "'torch==2.7.*' --index-url https://download.pytorch.org/whl/cu118");
    json_decref(doc);
    run_release(&r);
}

static void a_gpu_without_a_driver_gets_the_driver_first(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "nvidia-unbound", "gpu1", "cpu-2.5.1",
                 ENV("GPUCTL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"), NULL);
    assert_int_equal(r.status, 1);
    expect(doc, "pci", "ok", "[10de:25a2] at 0000:01:00.0, no driver bound", NULL);
    expect(doc, "driver.nvidia", "fail", "0000:01:00.0 has no kernel driver bound",
           "install the NVIDIA driver, 580.65.06 or newer");
    expect(doc, "nvml", "fail", "not found", "libnvidia-ml.so.1");
    /* The wheel for the driver it recommends, once that works. */
    expect(doc, "torch", "warn", "CPU-only build", "once the driver works");
    expect(doc, "torch", "warn", NULL, "whl/cu130");
    json_decref(doc);
    run_release(&r);
}

static void an_empty_cuda_visible_devices_hides_every_gpu(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "a100-550", "gpu1", "healthy-a100", ENV("CUDA_VISIBLE_DEVICES="), NULL);
    assert_int_equal(r.status, 1);
    expect(doc, "visibility", "fail", "CUDA_VISIBLE_DEVICES=\"\" hides every NVIDIA GPU",
           "unset CUDA_VISIBLE_DEVICES");
    expect(doc, "torch", "fail", "is_available() is False", "unset CUDA_VISIBLE_DEVICES");
    expect(doc, "jax", "fail", "runs on cpu", "unset CUDA_VISIBLE_DEVICES");
    json_decref(doc);
    run_release(&r);
}

static void a_hung_import_is_killed_at_the_timeout(void **state)
{
    struct timespec t0, t1;
    struct run r;
    json_t *doc;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    doc = doctor(&r, "a100-550", "gpu1", "hang", NULL, ARGS("--timeout", "1s"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 1);
    expect(doc, "torch", "fail", "import torch hung: no answer within 1 s", "-X importtime");
    expect(doc, "tensorflow", "skip", "stopped earlier", NULL);
    /* Not the default 20 s: the limit given was kept (with room for a slow sanitized run). */
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    json_decref(doc);
    run_release(&r);
}

static void a_healthy_machine_passes_every_check(void **state)
{
    struct run r;
    json_t *doc, *c;
    size_t i;

    (void)state;
    doc = doctor(&r, "a100-550", "gpu1", "healthy-a100", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    json_array_foreach(json_object_get(doc, "checks"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "status")), "ok") != 0)
            fail_msg("%s: %s", json_string_value(json_object_get(c, "id")),
                     json_string_value(json_object_get(c, "finding")));
        assert_true(json_is_null(json_object_get(c, "fix")));
    }
    expect(doc, "torch", "ok", "torch 2.14.0+cu126: CUDA 12.6 build", NULL);
    expect(doc, "tensorflow", "ok", "sees 1 GPU", NULL);
    expect(doc, "jax", "ok", "runs on gpu", NULL);
    json_decref(doc);
    run_release(&r);
}

static void a_container_without_gpus_says_how_to_start_it(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "docker-nogpu", "gpu1", "empty",
                 ENV("GPUCTL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"), NULL);
    assert_int_equal(r.status, 1);
    expect(doc, "devices.nvidia", "fail", "/dev/nvidiactl is missing",
           "see the fix under visibility");
    expect(doc, "visibility", "fail", "in a container (/ on overlayfs) without any GPU device",
           "docker run --gpus all");
    json_decref(doc);
    run_release(&r);
}

static void the_text_report_marks_each_check(void **state)
{
    char sysfs[512], procfs[512], dev[512], path[512], site[512], real[512];
    struct run r;

    (void)state;
    snprintf(sysfs, sizeof(sysfs), "GPUCTL_SYSFS_ROOT=%s/sysfs/laptop-3050", FIXTURES);
    snprintf(procfs, sizeof(procfs), "GPUCTL_PROCFS_ROOT=%s/procfs/laptop-3050", FIXTURES);
    snprintf(dev, sizeof(dev), "GPUCTL_DEV_ROOT=%s/dev/laptop-3050", FIXTURES);
    snprintf(path, sizeof(path), "PATH=%s:/usr/bin:/bin", FAKES_PYTHON);
    snprintf(site, sizeof(site), "FAKE_PYTHON_SITE=%s/site/empty", FAKES_PYTHON);
    snprintf(real, sizeof(real), "FAKE_PYTHON_REAL=%s", PYTHON3);
    run_gpuctl(&r, "laptop-3050", ENV(sysfs, procfs, dev, path, site, real), ARGS("doctor"));
    assert_int_equal(r.status, 0); /* warnings do not fail */
    assert_non_null(strstr(r.out, "✓ cuda "));
    assert_non_null(strstr(r.out, "- torch           not installed"));
    assert_non_null(strstr(r.out, "! memory "));
    assert_non_null(strstr(r.out, "  fix: start at batch size 8-16"));
    assert_non_null(strstr(r.out, "no check failed (see the advice above)."));
    run_release(&r);
}

static void a_gpu_missing_from_the_build_gets_the_wheel_that_has_it(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "rtx5090-575", "rtx5090-575", "cu124-on-5090", NULL, NULL);
    assert_int_equal(r.status, 1);
    /* No 2.14 wheel has both CUDA 12.x and sm_120: worth a driver upgrade. */
    expect(doc, "cuda", "warn", "the newest that does is PyTorch 2.11 (cu128)", "580.65.06");
    expect(doc, "torch", "fail", "has no code for the NVIDIA GeForce RTX 5090 (sm_120)", NULL);
    /* R575 runs CUDA 12.x: the newest release with a 12.x wheel that has sm_120 is 2.11's
     * cu128 (2.12 on ship only cu126 for 12.x, without Blackwell). */
    expect(doc, "torch", "fail", NULL,
           "'torch==2.11.*' --index-url https://download.pytorch.org/whl/cu128");
    json_decref(doc);
    run_release(&r);
}

static void what_an_import_prints_does_not_break_the_report(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "a100-550", "gpu1", "noisy", NULL, NULL);
    expect(doc, "torch", "ok", "torch 2.14.0+cu126: CUDA 12.6 build", NULL);
    expect(doc, "tensorflow", "skip", "not installed", NULL);
    assert_int_equal(r.status, 0);
    json_decref(doc);
    run_release(&r);
}

static void mig_instances_in_the_mask_are_not_a_mistake(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "a100-550", "gpu1", "healthy-a100",
                 ENV("CUDA_VISIBLE_DEVICES=MIG-4f5e9c1a-8d5b-5c1e-9a7d-2b6c1f0e3a11"), NULL);
    expect(doc, "visibility", "ok", "names devices gpuctl cannot list (MIG instances)", NULL);
    assert_true(json_is_null(json_object_get(check(doc, "visibility"), "fix")));
    expect(doc, "torch", "ok", NULL, NULL);
    assert_int_equal(r.status, 0);
    json_decref(doc);
    run_release(&r);
}

static void an_amd_gpu_is_checked_with_rocm_in_mind(void **state)
{
    const char *no_nvml = "GPUCTL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1";
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "rx7900xtx", "gpu1", "rocm-6.4", ENV(no_nvml), NULL);
    assert_int_equal(r.status, 0);
    expect(doc, "pci", "ok", "AMD Radeon RX 7900 XTX", NULL);
    expect(doc, "driver.amd", "ok", "amdgpu drives 1 of 1 AMD GPU", NULL);
    expect(doc, "devices.amd", "ok", "/dev/kfd, /dev/dri/renderD128 open for this user", NULL);
    expect(doc, "torch", "ok",
           "torch 2.9.0+rocm6.4 (a ROCm build): torch.cuda.is_available() is True", NULL);
    /* No NVIDIA GPU and no NVML: nothing to say about either. */
    assert_null(strstr(r.out, "\"nvml\""));
    json_decref(doc);
    run_release(&r);

    /* A CPU build there gets the ROCm wheel. */
    doc = doctor(&r, "rx7900xtx", "gpu1", "cpu-2.5.1", ENV(no_nvml), NULL);
    assert_int_equal(r.status, 1);
    expect(doc, "torch", "fail", "cannot use the AMD GPU",
           "--index-url https://download.pytorch.org/whl/rocm6.4");
    json_decref(doc);
    run_release(&r);
}

static void bad_options_change_nothing_and_say_why(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu1", NULL, ARGS("doctor", "--timeout", "soon"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--timeout needs a duration from 100ms to 1h"));
    run_release(&r);
    run_gpuctl(&r, "gpu1", NULL, ARGS("doctor", "extra"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unexpected argument 'extra'"));
    run_release(&r);
}

static void a_missing_interpreter_is_reported(void **state)
{
    struct run r;
    json_t *doc;

    (void)state;
    doc = doctor(&r, "a100-550", "gpu1", "empty", NULL, ARGS("--python", "/nonexistent/python3"));
    assert_int_equal(r.status, 1);
    expect(doc, "python", "fail", "cannot be executed", "--python");
    json_decref(doc);
    run_release(&r);
    /* A name without a slash is looked up on PATH, as the shell would. */
    doc = doctor(&r, "a100-550", "gpu1", "empty", NULL, ARGS("--python", "python3"));
    expect(doc, "python", "ok", "Python 3", NULL);
    assert_string_equal(json_string_value(json_object_get(check(doc, "python"), "python")),
                        FAKES_PYTHON "/python3");
    json_decref(doc);
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guide_002_cpu_build_gets_the_cuda_wheel_command),
        cmocka_unit_test(driver_470_with_a_cu121_torch_is_too_old),
        cmocka_unit_test(a_gpu_without_a_driver_gets_the_driver_first),
        cmocka_unit_test(an_empty_cuda_visible_devices_hides_every_gpu),
        cmocka_unit_test(a_hung_import_is_killed_at_the_timeout),
        cmocka_unit_test(a_healthy_machine_passes_every_check),
        cmocka_unit_test(a_container_without_gpus_says_how_to_start_it),
        cmocka_unit_test(the_text_report_marks_each_check),
        cmocka_unit_test(a_gpu_missing_from_the_build_gets_the_wheel_that_has_it),
        cmocka_unit_test(what_an_import_prints_does_not_break_the_report),
        cmocka_unit_test(mig_instances_in_the_mask_are_not_a_mistake),
        cmocka_unit_test(an_amd_gpu_is_checked_with_rocm_in_mind),
        cmocka_unit_test(bad_options_change_nothing_and_say_why),
        cmocka_unit_test(a_missing_interpreter_is_reported),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
