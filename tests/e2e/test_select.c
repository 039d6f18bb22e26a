/* test_select.c: `gpuctl select` on fake machines: choices, constraints, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* env with CUDA_DEVICE_ORDER=PCI_BUS_ID first, as jobs started by gpuctl get it: select then
 * prints indices on machines whose GPUs differ. Entries of env override it. */
static const char *const *pci_order(const char *const *env)
{
    static const char *merged[16];
    size_t n = 0;

    merged[n++] = "CUDA_DEVICE_ORDER=PCI_BUS_ID";
    for (; env && *env && n < 15; env++)
        merged[n++] = *env;
    merged[n] = NULL;
    return merged;
}

/* Runs select and checks its exit status and stdout. */
static void expect_output(const char *machine, const char *const *env, const char *const *args,
                          int status, const char *out)
{
    struct run r;

    run_gpuctl(&r, machine, pci_order(env), args);
    if (r.status != status || strcmp(r.out, out) != 0)
        fail_msg("exit %d, stdout '%s', stderr '%s'; wanted exit %d, stdout '%s'", r.status, r.out,
                 r.err, status, out);
    run_release(&r);
}

/* Runs select, expects an exit status, and returns stderr (caller frees). */
static char *expect_error(const char *machine, const char *const *env, const char *const *args,
                          int status)
{
    struct run r;
    char *err;

    run_gpuctl(&r, machine, pci_order(env), args);
    if (r.status != status)
        fail_msg("exit %d (wanted %d), stdout '%s', stderr '%s'", r.status, status, r.out, r.err);
    err = r.err;
    r.err = NULL;
    run_release(&r);
    return err;
}

static void picks_the_most_free_memory(void **state)
{
    (void)state;
    expect_output("gpu8-mixed", NULL, ARGS("select"), 0, "0\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "-n", "2"), 0, "0,1\n");
    expect_output("gpu2", NULL, ARGS("select", "--count", "2"), 0, "0,1\n");
}

static void type_filter(void **state)
{
    (void)state;
    expect_output("gpu8-mixed", NULL, ARGS("select", "--type", "a100"), 0, "1\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "--type", "T4"), 0, "3\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "--type", "tesla", "-n", "3"), 0, "2,7,3\n");
}

static void utilization_and_memory_limits(void **state)
{
    (void)state;
    /* H100 (87%) and L4 (64%) are busy; the rest rank by free memory. */
    expect_output("gpu8-mixed", NULL, ARGS("select", "--max-utilization", "50", "-n", "3"), 0,
                  "1,2,6\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "--max-utilization", "50%"), 0, "1\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "--min-free-memory", "30G", "-n", "3"), 0,
                  "0,1,2\n");
}

static void too_few_fit_exits_3_naming_each_constraint(void **state)
{
    char *err =
        expect_error("gpu8-mixed", NULL, ARGS("select", "-n", "2", "--min-free-memory", "40G"), 3);

    (void)state;
    assert_non_null(strstr(err, "gpuctl select: 1 of the 2 GPUs asked for fit:\n"));
    assert_non_null(strstr(err, "  cuda:1 (NVIDIA A100-SXM4-40GB): free memory 37.52 GiB < "
                                "40.00 GiB required\n"));
    assert_non_null(strstr(err, "  cuda:7 (Tesla P100-PCIE-16GB): free memory 16.00 GiB < 40.00 "
                                "GiB required\n"));
    free(err);
    err = expect_error("gpu8-mixed", NULL,
                       ARGS("select", "--type", "H100", "--max-utilization", "20"), 3);
    assert_non_null(strstr(err, "cuda:0 (NVIDIA H100 80GB HBM3): utilization 87% > 20% allowed"));
    assert_non_null(strstr(err, "cuda:1 (NVIDIA A100-SXM4-40GB): model 'NVIDIA A100-SXM4-40GB' "
                                "does not match 'H100'"));
    free(err);
}

static void json_output(void **state)
{
    struct run r;
    json_t *v, *d;

    (void)state;
    run_gpuctl(&r, "gpu8-mixed", pci_order(NULL), ARGS("select", "-n", "2", "--json"));
    assert_int_equal(r.status, 0);
    v = run_json(&r);
    assert_json_str(v, "visible_devices", "0,1");
    assert_json_str(v, "variable", "CUDA_VISIBLE_DEVICES");
    assert_json_str(v, "precision", "bf16-mixed");
    d = json_array_get(json_object_get(v, "devices"), 1);
    assert_json_str(d, "device", "cuda:1");
    assert_json_str(d, "name", "NVIDIA A100-SXM4-40GB");
    json_decref(v);
    run_release(&r);

    run_gpuctl(&r, "gpu8-mixed", NULL, ARGS("select", "--type", "T4", "--type", "V100", "--json"));
    v = run_json(&r);
    assert_json_str(v, "precision", "16-mixed");
    json_decref(v);
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("select", "--min-free-memory", "64G", "--json"));
    assert_int_equal(r.status, 3);
    v = run_json(&r);
    assert_json_str(json_object_get(v, "error"), "code", "unavailable");
    assert_int_equal(json_array_size(json_object_get(v, "rejected")), 2);
    assert_json_str(json_array_get(json_object_get(v, "rejected"), 0), "device", "cuda:0");
    json_decref(v);
    run_release(&r);
}

static void uuid_output_and_uuid_devices(void **state)
{
    (void)state;
    expect_output("gpu2", NULL, ARGS("select", "-n", "2", "--format", "uuid"), 0,
                  "GPU-30903090-1111-4222-8333-444444443090,"
                  "GPU-30803080-1111-4222-8333-444444443080\n");
    expect_output("gpu2", NULL, ARGS("select", "--device", "GPU-3080"), 0, "1\n");
    expect_output("gpu8-mixed", NULL, ARGS("select", "--device", "cuda:6"), 0, "6\n");
}

static void indices_are_physical_under_a_mask(void **state)
{
    struct run r;
    json_t *v;

    (void)state;
    /* The caller sees only physical GPU 1, as cuda:0; the value to export is still "1". */
    expect_output("gpu2", ENV("CUDA_VISIBLE_DEVICES=1"), ARGS("select"), 0, "1\n");
    run_gpuctl(&r, "gpu2", pci_order(ENV("CUDA_VISIBLE_DEVICES=1")), ARGS("select", "--json"));
    v = run_json(&r);
    assert_json_str(json_array_get(json_object_get(v, "devices"), 0), "device", "cuda:0");
    assert_json_int(json_array_get(json_object_get(v, "devices"), 0), "physical_index", 1);
    json_decref(v);
    run_release(&r);
}

static void cpu_device(void **state)
{
    struct run r;
    json_t *v;

    (void)state;
    expect_output("gpu2", NULL, ARGS("select", "--device", "cpu"), 0, "\n");
    expect_output("no-driver", NULL, ARGS("select"), 0, "\n"); /* auto falls back to the CPU */
    run_gpuctl(&r, "no-driver", NULL, ARGS("select", "--json"));
    v = run_json(&r);
    assert_json_str(json_array_get(json_object_get(v, "devices"), 0), "device", "cpu");
    assert_json_str(v, "visible_devices", "");
    assert_json_str(v, "precision", "32-true");
    json_decref(v);
    run_release(&r);
}

static void no_gpu_for_a_gpu_request_exits_3(void **state)
{
    char *err = expect_error("no-driver", NULL, ARGS("select", "--type", "A100"), 3);

    (void)state;
    assert_non_null(strstr(err, "no GPU to choose from: this machine has no GPUs; no NVIDIA GPUs: "
                                "the NVIDIA kernel driver is not loaded"));
    free(err);
    err = expect_error("gpu2", ENV("CUDA_VISIBLE_DEVICES="), ARGS("select", "--device", "cuda"), 3);
    assert_non_null(strstr(err, "CUDA_VISIBLE_DEVICES is set but empty"));
    free(err);
}

static void lost_gpus_are_never_chosen(void **state)
{
    char *err;

    (void)state;
    expect_output("lost", NULL, ARGS("select"), 0, "0\n");
    err = expect_error("lost", NULL, ARGS("select", "-n", "2"), 3);
    assert_non_null(strstr(err, "cuda:1 (unknown): lost: the GPU is lost"));
    assert_non_null(strstr(err, "cuda:2 (unknown): error: NVML device 2: cannot open it"));
    free(err);
}

static void bad_input_exits_2_naming_what_exists(void **state)
{
    char *err;

    (void)state;
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "cuda:7"), 2);
    assert_string_equal(err, "gpuctl select: device index 7 is out of range: this machine has "
                             "2 GPUs (cuda:0, cuda:1)\n");
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--min-free-memory", "12Q"), 2);
    assert_string_equal(err, "gpuctl select: --min-free-memory '12Q' is not a size: use a number "
                             "with an optional unit B, K, M, G, T or P (also written KB or KiB, "
                             "MB or MiB, ...; all powers of 1024), for example 16G or 1.5GiB\n");
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "-n", "3"), 2);
    assert_string_equal(err, "gpuctl select: asked for 3 GPUs: this machine has 2 GPUs "
                             "(cuda:0, cuda:1)\n");
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "-n", "0"), 2);
    assert_non_null(strstr(err, "-n needs a number of GPUs from 1 to 64, got '0'"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--max-utilization", "101"), 2);
    assert_non_null(strstr(err, "--max-utilization needs a percentage from 0 to 100, got '101'"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "tpu:0"), 2);
    assert_non_null(strstr(err, "unknown device 'tpu:0': use auto, cuda, cuda:N, rocm:N, xpu:N, "
                                "cpu, a GPU UUID or a PCI address"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "cuda:1", "-n", "2"), 2);
    assert_non_null(strstr(err, "cuda:1 is one device but 2 were asked for"));
    free(err);
    err = expect_error("gpu8-mixed", NULL, ARGS("select", "--device", "GPU-a1b2"), 2);
    assert_non_null(strstr(err, "UUID prefix 'GPU-a1b2' matches 2 GPUs"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "GPU-ffff"), 2);
    assert_non_null(strstr(err, "no GPU has the UUID 'GPU-ffff'"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--format", "csv"), 2);
    assert_non_null(strstr(err, "--format must be auto, index or uuid, got 'csv'"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--min-free-memory", "99999999999P"), 2);
    assert_non_null(strstr(err, "--min-free-memory '99999999999P' is too large"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "cuda:99999999999999999999"), 2);
    assert_non_null(strstr(err, "device index 9223372036854775807 is out of range: this machine "
                                "has 2 GPUs"));
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "-n", " 2"), 2);
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "-n", "+2"), 2);
    free(err);
    err = expect_error("gpu2", NULL, ARGS("select", "--device", "cpu", "--type", "A100"), 2);
    assert_non_null(strstr(err, "the CPU has no GPU model, GPU memory or GPU utilization"));
    free(err);
    err =
        expect_error("gpu2", NULL, ARGS("select", "--device", "cpu", "--min-free-memory", "1P"), 2);
    free(err);
}

static void indices_only_where_they_are_unambiguous(void **state)
{
    struct run r;

    (void)state;
    /* Two models and CUDA's default (fastest-first) order: indices could name the wrong GPU. */
    run_gpuctl(&r, "gpu2", NULL, ARGS("select", "-n", "2"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "GPU-30903090-1111-4222-8333-444444443090,"
                               "GPU-30803080-1111-4222-8333-444444443080\n");
    assert_non_null(strstr(r.err, "printing UUIDs: CUDA_DEVICE_ORDER is not PCI_BUS_ID"));
    run_release(&r);
    run_gpuctl(&r, "gpu2", ENV("CUDA_DEVICE_ORDER=FASTEST_FIRST"), ARGS("select"));
    assert_string_equal(r.out, "GPU-30903090-1111-4222-8333-444444443090\n");
    run_release(&r);
    run_gpuctl(&r, "gpu2", NULL, ARGS("select", "--format", "index"));
    assert_string_equal(r.out, "0\n");
    assert_string_equal(r.err, "");
    run_release(&r);
    /* One model: every order agrees. */
    run_gpuctl(&r, "gpu1", NULL, ARGS("select"));
    assert_string_equal(r.out, "0\n");
    assert_string_equal(r.err, "");
    run_release(&r);
}

static void a_gpu_without_uuid_cannot_be_printed_as_one(void **state)
{
    char *err =
        expect_error("quirks", NULL,
                     ARGS("select", "--type", "A100", "--format", "uuid", "--device", "cuda:1"), 1);

    (void)state;
    assert_non_null(strstr(err, "cuda:1 has no UUID its runtime's mask takes"));
    free(err);
}

static void a_mig_mask_never_falls_back_to_the_cpu(void **state)
{
    char *err = expect_error("gpu2", ENV("CUDA_VISIBLE_DEVICES=MIG-5c8b2f2e"), ARGS("select"), 3);

    (void)state;
    assert_non_null(strstr(err, "cannot choose: CUDA_VISIBLE_DEVICES entry 'MIG-5c8b2f2e' names "
                                "a MIG instance"));
    free(err);
}

static void masked_count_is_explained(void **state)
{
    char *err = expect_error("gpu2", ENV("CUDA_VISIBLE_DEVICES=1"), ARGS("select", "-n", "2"), 2);

    (void)state;
    assert_string_equal(err, "gpuctl select: asked for 2 GPUs: this machine has 1 GPU (cuda:0); "
                             "CUDA_VISIBLE_DEVICES=1 shows 1 of the 2 nvidia GPUs\n");
    free(err);
}

static void cpu_fallback_says_why(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "no-driver", NULL, ARGS("select"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "\n");
    assert_non_null(strstr(r.err, "gpuctl select: choosing the CPU: no NVIDIA GPUs: the NVIDIA "
                                  "kernel driver is not loaded"));
    run_release(&r);
}

static void many_gpus(void **state)
{
    char path[] = "/tmp/gpuctl-test-XXXXXX";
    char fixture[64], *err;
    struct run r;
    json_t *v;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    snprintf(fixture, sizeof(fixture), "%s", path);
    write_identical_gpus(fixture, 100);
    /* All equal: the 64 highest indices, highest first; GPU 0 is never among them. */
    run_gpuctl(&r, fixture, NULL, ARGS("select", "-n", "64", "--json"));
    assert_int_equal(r.status, 0);
    v = run_json(&r);
    assert_int_equal(json_array_size(json_object_get(v, "devices")), 64);
    assert_json_int(json_array_get(json_object_get(v, "devices"), 0), "index", 99);
    assert_json_int(json_array_get(json_object_get(v, "devices"), 63), "index", 36);
    json_decref(v);
    run_release(&r);
    run_gpuctl(&r, fixture, NULL, ARGS("select", "-n", "64", "--format", "uuid"));
    assert_int_equal(r.status, 0);
    assert_int_equal(strlen(r.out), 64 * 40 + 63 + 1); /* every UUID whole */
    run_release(&r);
    err = expect_error(fixture, NULL, ARGS("select", "-n", "65"), 2);
    assert_non_null(strstr(err, "-n needs a number of GPUs from 1 to 64, got '65'"));
    free(err);
    err = expect_error(fixture, NULL, ARGS("select", "-n", "2", "--type", "H100"), 3);
    assert_non_null(strstr(err, "0 of the 2 GPUs asked for fit:"));
    assert_non_null(strstr(err, "\n  and 36 more\n"));
    free(err);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_the_most_free_memory),
        cmocka_unit_test(type_filter),
        cmocka_unit_test(utilization_and_memory_limits),
        cmocka_unit_test(too_few_fit_exits_3_naming_each_constraint),
        cmocka_unit_test(json_output),
        cmocka_unit_test(uuid_output_and_uuid_devices),
        cmocka_unit_test(indices_are_physical_under_a_mask),
        cmocka_unit_test(cpu_device),
        cmocka_unit_test(no_gpu_for_a_gpu_request_exits_3),
        cmocka_unit_test(lost_gpus_are_never_chosen),
        cmocka_unit_test(bad_input_exits_2_naming_what_exists),
        cmocka_unit_test(indices_only_where_they_are_unambiguous),
        cmocka_unit_test(a_gpu_without_uuid_cannot_be_printed_as_one),
        cmocka_unit_test(a_mig_mask_never_falls_back_to_the_cpu),
        cmocka_unit_test(masked_count_is_explained),
        cmocka_unit_test(cpu_fallback_says_why),
        cmocka_unit_test(many_gpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
