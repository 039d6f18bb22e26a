/* test_info.c: `gpuctl info` on fake machines: every value, the text report, and the failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define MiB (1ll << 20)

/* Each GPU of gpu8-mixed.json, in PCI order (NVML lists them in another order). */
static const struct expect {
    const char *name, *uuid, *pci, *cc, *precision;
    long long total_mib, used_mib, reserved_mib;
    int util, temp;
    double power_w, limit_w;
} mixed[] = {
    {"NVIDIA H100 80GB HBM3", "GPU-9d3f6c1e-53a2-4c8b-9e0f-1a2b3c4d5e60", "0000:18:00.0", "9.0",
     "bf16-mixed", 81559, 20480, 529, 87, 64, 612.5, 700},
    {"NVIDIA A100-SXM4-40GB", "GPU-a1b2c3d4-0000-4000-8000-000000000001", "0000:2a:00.0", "8.0",
     "bf16-mixed", 40960, 2048, 496, 12, 38, 88.2, 400},
    {"Tesla V100-SXM2-32GB", "GPU-a1b2c3d4-0000-4000-8000-000000000002", "0000:3a:00.0", "7.0",
     "16-mixed", 32768, 0, 306, 0, 33, 41.0, 300},
    {"Tesla T4", "GPU-5e6f7a8b-1111-4222-8333-444455556666", "0000:5d:00.0", "7.5", "16-mixed",
     15360, 0, 257, 0, 29, 9.8, 70},
    {"NVIDIA GeForce RTX 3050 Laptop GPU", "GPU-3050aaaa-bbbb-4ccc-8ddd-eeeeffff0000",
     "0000:9a:00.0", "8.6", "bf16-mixed", 4096, 512, 79, 5, 47, 6.4, 60},
    {"NVIDIA L4", "GPU-14141414-aaaa-4bbb-8ccc-dddddddddddd", "0000:ab:00.0", "8.9", "bf16-mixed",
     23034, 12000, 418, 64, 58, 55.0, 72},
    {"NVIDIA A10", "GPU-a10a10a1-0000-4000-8000-00000000a10a", "0000:b8:00.0", "8.6", "bf16-mixed",
     23028, 0, 379, 0, 31, 21.5, 150},
    {"Tesla P100-PCIE-16GB", "GPU-p100p100-0000-4000-8000-000000000100", "0000:db:00.0", "6.0",
     "32-true", 16384, 0, 0, 0, 27, 25.3, 250},
};

static json_t *info_json(struct run *r, const char *machine, const char *const *env)
{
    run_gpuctl(r, machine, env, ARGS("info", "--json"));
    if (r->status != 0)
        fail_msg("gpuctl info --json exited %d: %s", r->status, r->err);
    return run_json(r);
}

static void eight_gpus_every_value_in_pci_order(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu8-mixed", NULL);

    (void)state;
    assert_json_str(info, "driver_version", "550.54.15");
    assert_json_str(info, "cuda_driver_version", "12.4");
    assert_json_str(info, "nvml_version", "12.550.54.15");
    assert_true(json_is_string(json_object_get(info, "hostname")));
    assert_int_equal(json_array_size(json_object_get(info, "devices")), 9);
    for (size_t i = 0; i < 8; i++) {
        const struct expect *e = &mixed[i];
        json_t *d = info_device(info, i);
        char name[16];

        snprintf(name, sizeof(name), "cuda:%zu", i);
        assert_json_int(d, "index", (long long)i);
        assert_json_int(d, "physical_index", (long long)i);
        assert_json_str(d, "device", name);
        assert_json_str(d, "vendor", "nvidia");
        assert_json_str(d, "name", e->name);
        assert_json_str(d, "uuid", e->uuid);
        assert_json_str(d, "pci_bus_id", e->pci);
        assert_json_str(d, "state", "ok");
        assert_json_str(d, "compute_capability", e->cc);
        assert_json_str(d, "precision", e->precision);
        assert_json_int(d, "memory_total_bytes", e->total_mib * MiB);
        assert_json_int(d, "memory_used_bytes", e->used_mib * MiB);
        assert_json_int(d, "memory_reserved_bytes", e->reserved_mib * MiB);
        assert_json_int(d, "memory_free_bytes",
                        (e->total_mib - e->used_mib - e->reserved_mib) * MiB);
        assert_json_int(d, "utilization_gpu_percent", e->util);
        assert_json_int(d, "temperature_c", e->temp);
        assert_float_equal(json_real_value(json_object_get(d, "power_draw_w")), e->power_w, 1e-9);
        assert_float_equal(json_real_value(json_object_get(d, "power_limit_w")), e->limit_w, 1e-9);
        assert_json_null(d, "fan_speed_percent"); /* passively cooled: NOT_SUPPORTED */
        assert_true(json_is_array(json_object_get(d, "processes")));
    }
    assert_true(json_is_true(json_object_get(info_device(info, 0), "tf32")));
    assert_true(json_is_false(json_object_get(info_device(info, 2), "tf32")));
    assert_json_int(info_device(info, 0), "clock_sm_mhz", 1980);
    assert_json_int(info_device(info, 0), "clock_memory_max_mhz", 2619);
    assert_true(json_is_false(json_object_get(info_device(info, 0), "mig_enabled")));
    assert_json_null(info_device(info, 2), "mig_enabled");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(info_device(info, 2), "throttle_reasons"), 0)),
                        "gpu_idle");
    json_decref(info);
    run_release(&r);
}

static void cpu_comes_last(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu8-mixed", NULL);
    json_t *cpu = info_device(info, 8);

    (void)state;
    assert_json_str(cpu, "device", "cpu");
    assert_json_str(cpu, "vendor", "cpu");
    assert_json_null(cpu, "index");
    assert_json_str(cpu, "name", "Intel(R) Xeon(R) W-2245 CPU @ 3.90GHz");
    assert_json_int(cpu, "cpu_cores", 8);
    assert_json_int(cpu, "cpu_threads", 16);
    assert_json_int(cpu, "memory_total_bytes", 65544112ll * 1024);
    assert_json_int(cpu, "memory_free_bytes", 51234560ll * 1024);
    assert_json_null(cpu, "utilization_gpu_percent");
    assert_json_null(cpu, "temperature_c");
    assert_json_str(cpu, "precision", "32-true");
    json_decref(info);
    run_release(&r);
}

static void processes_with_user_and_command(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu8-mixed", NULL);
    json_t *h100 = json_object_get(info_device(info, 0), "processes");
    json_t *rtx = json_object_get(info_device(info, 4), "processes");
    json_t *l4 = json_object_get(info_device(info, 5), "processes");
    json_t *p;

    (void)state;
    assert_int_equal(json_array_size(h100), 1);
    p = json_array_get(h100, 0);
    assert_json_int(p, "pid", 4242);
    assert_json_str(p, "type", "compute");
    assert_json_int(p, "used_memory_bytes", 20480 * MiB);
    assert_json_str(p, "user", "root");
    assert_json_str(p, "command", "python train.py --epochs 10");
    /* Xorg is in both lists; a graphics process that left /proc has no user or command. */
    assert_int_equal(json_array_size(rtx), 2);
    assert_json_str(json_array_get(rtx, 0), "type", "compute+graphics");
    assert_json_str(json_array_get(rtx, 0), "command", "/usr/lib/xorg/Xorg vt2 -displayfd 3");
    assert_json_int(json_array_get(rtx, 1), "pid", 2301);
    assert_json_str(json_array_get(rtx, 1), "type", "graphics");
    assert_json_null(json_array_get(rtx, 1), "used_memory_bytes");
    assert_json_null(json_array_get(rtx, 1), "user");
    assert_json_null(json_array_get(rtx, 1), "command");
    assert_json_str(json_array_get(l4, 0), "user", "4321"); /* a uid without a name */
    json_decref(info);
    run_release(&r);
}

static void recommends_the_best_gpu_and_its_precision(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu8-mixed", NULL);
    json_t *rec = json_object_get(info, "recommended");

    (void)state;
    assert_json_str(rec, "device", "cuda:0");
    assert_json_str(rec, "name", "NVIDIA H100 80GB HBM3");
    assert_json_str(rec, "precision", "bf16-mixed");
    assert_true(json_is_true(json_object_get(rec, "tf32")));
    json_decref(info);
    run_release(&r);
}

static void text_report(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu2", NULL, ARGS("info"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "NVIDIA driver 550.54.15, CUDA 12.4"));
    assert_non_null(strstr(r.out, "GPU 0 (cuda:0)  NVIDIA GeForce RTX 3090\n"));
    assert_non_null(strstr(r.out, "├─ compute capability  8.6 (bf16-mixed, TF32)\n"));
    assert_non_null(strstr(r.out, "├─ memory              512.00 MiB / 24.00 GiB used (2.1%), "
                                  "23.17 GiB free, 343.00 MiB reserved\n"));
    assert_non_null(strstr(r.out, "├─ temperature         52 C\n"));
    assert_non_null(strstr(r.out, "├─ power               120.4 / 350.0 W\n"));
    assert_non_null(strstr(r.out, "├─ utilization         35% (memory 20%)\n"));
    assert_non_null(strstr(r.out, "└─ processes           1\n"));
    assert_non_null(
        strstr(r.out, "   └─ 4242    root       512.00 MiB  python train.py --epochs 10\n"));
    assert_non_null(strstr(r.out, "GPU 1 (cuda:1)  NVIDIA GeForce RTX 3080\n"));
    assert_non_null(strstr(r.out, "CPU (cpu)  Intel(R) Xeon(R) W-2245 CPU @ 3.90GHz\n"
                                  "├─ cores               8 (16 threads)\n"));
    assert_non_null(strstr(r.out, "recommended: cuda:0 (NVIDIA GeForce RTX 3090), "
                                  "precision bf16-mixed with TF32\n"));
    run_release(&r);
}

static void no_nvml_library_is_not_an_error(void **state)
{
    struct run r;
    json_t *info;

    (void)state;
    run_gpuctl(&r, "gpu2", ENV("GPUCTL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"), ARGS("info"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "note: no NVIDIA GPUs: /nonexistent/libnvidia-ml.so.1 not found "
                                  "(no NVIDIA driver installed)\n"));
    assert_non_null(strstr(r.out, "recommended: cpu"));
    run_release(&r);

    info = info_json(&r, "gpu2", ENV("LD_LIBRARY_PATH=/nonexistent"));
    assert_int_equal(json_array_size(json_object_get(info, "devices")), 1);
    assert_json_str(info_device(info, 0), "device", "cpu");
    assert_json_null(info, "driver_version");
    assert_json_str(json_object_get(info, "recommended"), "device", "cpu");
    assert_json_str(json_object_get(info, "recommended"), "precision", "32-true");
    assert_true(json_is_false(
        json_object_get(json_array_get(json_object_get(info, "backends"), 0), "available")));
    json_decref(info);
    run_release(&r);
}

static void driver_not_loaded_says_why_in_one_line(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "no-driver", NULL, ARGS("info"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "note: no NVIDIA GPUs: the NVIDIA kernel driver is not loaded "
                                  "(NVML: Driver Not Loaded)"));
    assert_null(strstr(r.out, "GPU 0"));
    run_release(&r);
}

static void zero_gpus(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu0", NULL);
    json_t *nvidia = json_array_get(json_object_get(info, "backends"), 0);

    (void)state;
    assert_int_equal(json_array_size(json_object_get(info, "devices")), 1);
    assert_true(json_is_true(json_object_get(nvidia, "available")));
    assert_json_int(nvidia, "found", 0);
    assert_json_str(info, "driver_version", "550.54.15");
    json_decref(info);
    run_release(&r);
}

static void unsupported_fields_are_null_never_zero(void **state)
{
    static const char *const nulls[] = {"utilization_gpu_percent",
                                        "utilization_memory_percent",
                                        "temperature_c",
                                        "power_draw_w",
                                        "power_limit_w",
                                        "clock_sm_mhz",
                                        "clock_memory_mhz",
                                        "fan_speed_percent",
                                        "throttle_reasons",
                                        "mig_enabled",
                                        "processes"};
    struct run r;
    json_t *info = info_json(&r, "not-supported", NULL);
    json_t *k80 = info_device(info, 0);

    (void)state;
    assert_json_str(k80, "name", "Tesla K80");
    assert_json_str(k80, "compute_capability", "3.7");
    assert_json_str(k80, "precision", "32-true");
    assert_json_int(k80, "memory_total_bytes", 11441 * MiB);
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (!json_is_null(json_object_get(k80, nulls[i])))
            fail_msg("%s should be null", nulls[i]);
    json_decref(info);
    run_release(&r);

    run_gpuctl(&r, "not-supported", NULL, ARGS("info"));
    assert_non_null(strstr(r.out, "├─ temperature         -\n"));
    assert_non_null(strstr(r.out, "├─ power               -\n"));
    assert_non_null(strstr(r.out, "└─ processes           -\n"));
    run_release(&r);
}

static void lost_gpus_are_listed_and_never_recommended(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "lost", NULL);
    json_t *lost = info_device(info, 1), *broken = info_device(info, 2);

    (void)state;
    assert_json_str(info_device(info, 0), "state", "ok");
    assert_json_str(lost, "state", "lost");
    assert_non_null(
        strstr(json_string_value(json_object_get(lost, "state_message")), "GPU is lost"));
    assert_json_null(lost, "memory_total_bytes");
    assert_json_null(lost, "name");
    assert_json_null(lost, "precision");
    assert_json_str(broken, "state", "error");
    assert_non_null(
        strstr(json_string_value(json_object_get(broken, "state_message")), "Unknown Error"));
    assert_json_str(json_object_get(info, "recommended"), "device", "cuda:0");
    json_decref(info);
    run_release(&r);

    run_gpuctl(&r, "lost", NULL, ARGS("info"));
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "GPU 1 (cuda:1)  -\n└─ state               lost: the GPU is lost"));
    run_release(&r);
}

static void r535_32_byte_process_entries_are_read_right(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "r535-stride", NULL);
    json_t *procs = json_object_get(info_device(info, 0), "processes");

    (void)state;
    assert_int_equal(json_array_size(procs), 2);
    assert_json_int(json_array_get(procs, 0), "pid", 4242);
    assert_json_int(json_array_get(procs, 0), "used_memory_bytes", 30000 * MiB);
    assert_json_int(json_array_get(procs, 1), "pid", 4243);
    assert_json_int(json_array_get(procs, 1), "used_memory_bytes", 1024 * MiB);
    json_decref(info);
    run_release(&r);
}

static void r470_driver_falls_back_to_older_entry_points(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu2", ENV("LD_LIBRARY_PATH=" FAKE_NVML_DIR "/r470"));
    json_t *d = info_device(info, 0);

    (void)state;
    /* v1 memory: used includes the reserved part, which is not reported on its own. */
    assert_json_int(d, "memory_used_bytes", (512 + 343) * MiB);
    assert_json_null(d, "memory_reserved_bytes");
    assert_json_int(d, "memory_free_bytes", (24576 - 512 - 343) * MiB);
    assert_json_int(d, "temperature_c", 52);
    assert_json_int(d, "fan_speed_percent", 41);
    assert_true(json_is_array(json_object_get(d, "throttle_reasons")));
    assert_json_int(json_array_get(json_object_get(d, "processes"), 0), "pid", 4242);
    json_decref(info);
    run_release(&r);
}

static void cuda_visible_devices_masks_and_renumbers(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=1,0"));

    (void)state;
    assert_json_str(info_device(info, 0), "name", "NVIDIA GeForce RTX 3080");
    assert_json_str(info_device(info, 0), "device", "cuda:0");
    assert_json_int(info_device(info, 0), "physical_index", 1);
    assert_json_str(info_device(info, 1), "name", "NVIDIA GeForce RTX 3090");
    json_decref(info);
    run_release(&r);

    info = info_json(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=GPU-3080"));
    assert_int_equal(json_array_size(json_object_get(info, "devices")), 2);
    assert_json_str(info_device(info, 0), "name", "NVIDIA GeForce RTX 3080");
    json_decref(info);
    run_release(&r);

    info = info_json(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=0,0"));
    assert_int_equal(json_array_size(json_object_get(info, "devices")), 1);
    json_decref(info);
    run_release(&r);

    run_gpuctl(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES="), ARGS("info"));
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "note: CUDA_VISIBLE_DEVICES is set but empty, which hides every GPU"));
    assert_null(strstr(r.out, "GPU 0"));
    run_release(&r);

    run_gpuctl(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=1,7,0"), ARGS("info"));
    assert_non_null(strstr(r.out, "note: CUDA_VISIBLE_DEVICES entry '7' is out of range"));
    assert_non_null(strstr(r.out, "GPU 0 (cuda:0)  NVIDIA GeForce RTX 3080"));
    assert_null(strstr(r.out, "GPU 1 "));
    run_release(&r);
}

static void options(void **state)
{
    struct run r;
    json_t *info;

    (void)state;
    info = info_json(&r, "gpu2", NULL);
    json_decref(info);
    run_release(&r);
    run_gpuctl(&r, "gpu2", NULL, ARGS("info", "--json", "--no-processes"));
    info = run_json(&r);
    assert_json_null(info_device(info, 0), "processes");
    json_decref(info);
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("--procfs-root", "/nonexistent", "info", "--json"));
    info = run_json(&r);
    assert_json_str(info_device(info, 2), "name", "CPU");
    assert_json_null(json_array_get(json_object_get(info_device(info, 0), "processes"), 0),
                     "command");
    json_decref(info);
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("info", "--bogus"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: gpuctl info"));
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("info", "extra"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unexpected argument 'extra'"));
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("frobnicate"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    run_release(&r);

    run_gpuctl(&r, "gpu2", NULL, ARGS("--version"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "gpuctl "));
    run_release(&r);
}

static void quirks_each_read_the_right_way(void **state)
{
    struct run r;
    json_t *info = info_json(&r, "quirks", NULL);
    /* NVML's device 0 refuses a handle: its bus id is unknown, so it sorts last. */
    json_t *mig = info_device(info, 0), *odd = info_device(info, 1), *denied = info_device(info, 2);
    json_t *procs = json_object_get(odd, "processes");

    (void)state;
    assert_json_str(denied, "state", "inaccessible");
    assert_non_null(strstr(json_string_value(json_object_get(denied, "state_message")),
                           "this user may not open it"));
    assert_json_null(denied, "pci_bus_id");
    assert_true(json_is_true(json_object_get(mig, "mig_enabled")));
    assert_json_int(mig, "temperature_c", 55); /* TemperatureV unsupported: the old call */
    assert_float_equal(json_real_value(json_object_get(mig, "power_limit_w")), 250.0, 1e-9);
    assert_json_null(mig, "processes"); /* compute list denied: unknown, not "none" */
    assert_json_null(odd, "uuid");
    assert_json_null(odd, "utilization_gpu_percent"); /* 4294967295% is not a percentage */
    /* The driver cleared its whole buffer; the 24-byte entries are still read right. */
    assert_int_equal(json_array_size(procs), 2);
    assert_json_int(json_array_get(procs, 1), "pid", 4243);
    assert_json_int(json_array_get(procs, 1), "used_memory_bytes", 1000 * MiB);
    json_decref(info);
    run_release(&r);
}

static void mask_notes(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=1"), ARGS("info"));
    assert_non_null(strstr(r.out, "note: CUDA_VISIBLE_DEVICES=1 shows 1 of the 2 nvidia GPUs; "
                                  "CUDA_VISIBLE_DEVICES holds indices, which CUDA reads in "
                                  "CUDA_DEVICE_ORDER order"));
    run_release(&r);
    run_gpuctl(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=1", "CUDA_DEVICE_ORDER=PCI_BUS_ID"),
               ARGS("info"));
    assert_non_null(strstr(r.out, "note: CUDA_VISIBLE_DEVICES=1 shows 1 of the 2 nvidia GPUs\n"));
    run_release(&r);
    run_gpuctl(&r, "gpu2", ENV("CUDA_VISIBLE_DEVICES=MIG-5c8b2f2e-1111-4222-8333-444444440000"),
               ARGS("info"));
    assert_non_null(strstr(r.out, "names a MIG instance, which gpuctl cannot list yet: CUDA "
                                  "programs would use that instance, gpuctl shows no GPU for it"));
    assert_null(strstr(r.out, "GPU 0 "));
    run_release(&r);
}

static void a_failed_write_is_a_failure(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl_to(&r, "/dev/full", "gpu8-mixed", NULL, ARGS("info", "--json"));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot write the output"));
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_gpus_every_value_in_pci_order),
        cmocka_unit_test(cpu_comes_last),
        cmocka_unit_test(processes_with_user_and_command),
        cmocka_unit_test(recommends_the_best_gpu_and_its_precision),
        cmocka_unit_test(text_report),
        cmocka_unit_test(no_nvml_library_is_not_an_error),
        cmocka_unit_test(driver_not_loaded_says_why_in_one_line),
        cmocka_unit_test(zero_gpus),
        cmocka_unit_test(unsupported_fields_are_null_never_zero),
        cmocka_unit_test(lost_gpus_are_listed_and_never_recommended),
        cmocka_unit_test(r535_32_byte_process_entries_are_read_right),
        cmocka_unit_test(r470_driver_falls_back_to_older_entry_points),
        cmocka_unit_test(cuda_visible_devices_masks_and_renumbers),
        cmocka_unit_test(options),
        cmocka_unit_test(quirks_each_read_the_right_way),
        cmocka_unit_test(mask_notes),
        cmocka_unit_test(a_failed_write_is_a_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
