/* test_vendors.c: AMD and Intel GPUs from sysfs, hwmon, KFD and fdinfo fixture trees: every
 * value, the broken and missing files, the masks of each runtime, and mixed machines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define MiB (1ll << 20)
#define GiB (1ll << 30)

/* Runs gpuctl on a sysfs/procfs machine; NVIDIA comes from nvml_machine's fake NVML, or is
 * absent when nvml_machine is NULL. extra: more NAME=VALUE entries (may be NULL). */
static void run_machine(struct run *r, const char *machine, const char *nvml_machine,
                        const char *const *extra, const char *const *args)
{
    static char sysfs[512], procfs[512];
    const char *env[16];
    size_t n = 0;

    snprintf(sysfs, sizeof(sysfs), "GPUCTL_SYSFS_ROOT=%s/sysfs/%s", FIXTURES, machine);
    snprintf(procfs, sizeof(procfs), "GPUCTL_PROCFS_ROOT=%s/procfs/%s", FIXTURES, machine);
    env[n++] = sysfs;
    env[n++] = procfs;
    if (!nvml_machine)
        env[n++] = "GPUCTL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1";
    for (; extra && *extra && n < 15; extra++)
        env[n++] = *extra;
    env[n] = NULL;
    run_gpuctl(r, nvml_machine ? nvml_machine : "gpu0", env, args);
}

static json_t *info(struct run *r, const char *machine, const char *nvml_machine,
                    const char *const *extra)
{
    run_machine(r, machine, nvml_machine, extra, ARGS("info", "--json"));
    if (r->status != 0)
        fail_msg("gpuctl info exited %d: %s", r->status, r->err);
    return run_json(r);
}

static size_t ndevices(json_t *i)
{
    return json_array_size(json_object_get(i, "devices"));
}

static json_t *process(json_t *dev, size_t k)
{
    json_t *p = json_array_get(json_object_get(dev, "processes"), k);

    assert_non_null(p);
    return p;
}

static void rx7900xtx_every_value(void **state)
{
    struct run r;
    json_t *i = info(&r, "rx7900xtx", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_int_equal(ndevices(i), 2);
    assert_json_str(d, "device", "cuda:0"); /* PyTorch on ROCm */
    assert_json_str(d, "vendor", "amd");
    assert_json_str(d, "name", "AMD Radeon RX 7900 XTX"); /* no FRU: from the PCI id table */
    assert_json_str(d, "architecture", "gfx1100");        /* from the KFD topology */
    assert_json_str(d, "uuid", "GPU-2B41A4E97C1A0D55");
    assert_json_str(d, "pci_bus_id", "0000:03:00.0");
    assert_json_null(d, "compute_capability");
    assert_json_int(d, "memory_total_bytes", 25753026560ll);
    assert_json_int(d, "memory_used_bytes", 1253945344ll);
    assert_json_int(d, "memory_free_bytes", 25753026560ll - 1253945344ll);
    assert_json_null(d, "memory_reserved_bytes");
    assert_json_int(d, "utilization_gpu_percent", 37);
    assert_json_int(d, "utilization_memory_percent", 12);
    assert_json_int(d, "temperature_c", 52);
    assert_json_int(d, "temperature_junction_c", 61);
    assert_float_equal(json_real_value(json_object_get(d, "power_draw_w")), 98.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(d, "power_limit_w")), 327.0, 1e-9);
    assert_json_int(d, "clock_sm_mhz", 1742);
    assert_json_int(d, "clock_sm_max_mhz", 2526);
    assert_json_int(d, "clock_memory_mhz", 1249);
    assert_json_int(d, "clock_memory_max_mhz", 1249);
    assert_json_int(d, "fan_speed_percent", 32); /* pwm 82 of 255 */
    assert_json_int(d, "fan_speed_rpm", 1150);
    assert_true(json_is_false(json_object_get(d, "integrated")));
    assert_json_str(d, "precision", "bf16-mixed");
    assert_json_str(info_device(i, 1), "device", "cpu");
    json_decref(i);
    run_release(&r);
}

static void rx7900xtx_processes_from_fdinfo(void **state)
{
    struct run r;
    json_t *i = info(&r, "rx7900xtx", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_int_equal(json_array_size(json_object_get(d, "processes")), 2);
    assert_json_int(process(d, 0), "pid", 1888);
    assert_json_str(process(d, 0), "type", "graphics");
    assert_json_int(process(d, 0), "used_memory_bytes", 196 * MiB);
    assert_json_str(process(d, 0), "command", "/usr/lib/xorg/Xorg vt2 -displayfd 3");
    /* Two fds on client 57 (a dup) count once; client 58 adds its memory and compute. */
    assert_json_int(process(d, 1), "pid", 5001);
    assert_json_int(process(d, 1), "used_memory_bytes", (8192 + 1024) * MiB);
    assert_json_str(process(d, 1), "type", "compute+graphics");
    assert_json_str(process(d, 1), "user", "root");
    assert_json_null(process(d, 1), "utilization_percent"); /* one sample: no rate yet */
    json_decref(i);
    run_release(&r);
}

static void mi250x_two_dies(void **state)
{
    struct run r;
    json_t *i = info(&r, "mi250x", NULL, NULL), *d0 = info_device(i, 0), *d1 = info_device(i, 1);

    (void)state;
    assert_int_equal(ndevices(i), 3);
    assert_json_str(d0, "name", "AMD Instinct MI250X"); /* from the FRU's product_name */
    assert_json_str(d0, "architecture", "gfx90a");
    assert_json_str(d0, "uuid", "GPU-99A3C5E7F0B2D468");
    assert_json_str(d1, "uuid", "GPU-99A3C5E7F0B2D469");
    assert_json_str(d1, "pci_bus_id", "0000:c6:00.0");
    assert_json_int(d0, "memory_total_bytes", 64 * GiB);
    assert_float_equal(json_real_value(json_object_get(d0, "power_draw_w")), 210.0, 1e-9);
    /* The second die owns no power sensor: 0 W and a 0 W cap read as unknown. */
    assert_json_null(d1, "power_draw_w");
    assert_json_null(d1, "power_limit_w");
    assert_json_null(d0, "fan_speed_percent"); /* no fan on MI250X */
    assert_json_null(d0, "fan_speed_rpm");
    assert_json_int(d1, "utilization_gpu_percent", 0);
    assert_json_int(d0, "clock_sm_mhz", 1700);
    assert_json_int(d0, "clock_memory_mhz", 1600);
    assert_json_str(d0, "precision", "bf16-mixed");
    assert_true(json_is_false(json_object_get(d1, "integrated"))); /* board_info: discrete */
    assert_json_int(process(d0, 0), "used_memory_bytes", 53248 * MiB);
    assert_json_str(process(d0, 0), "type", "compute");
    /* An fdinfo over 8 KiB is read whole: its memory keeps its unit, its engines are seen. */
    assert_json_int(process(d0, 1), "pid", 5102);
    assert_json_int(process(d0, 1), "used_memory_bytes", 8192 * MiB);
    assert_json_str(process(d0, 1), "type", "compute");
    assert_int_equal(json_array_size(json_object_get(d1, "processes")), 0);
    /* The idle die has more free memory: it is the one to use. */
    assert_json_str(json_object_get(i, "recommended"), "device", "cuda:1");
    json_decref(i);
    run_release(&r);
}

/* A Radeon 780M. Since 6.5 KFD gives an APU's GPU a node of its own with no CPU cores, so only
 * amdgpu's board_info (6.7 and later, hidden on APUs) tells: absent there, an APU. */
static void apu_is_integrated(void **state)
{
    struct run r;
    json_t *i = info(&r, "apu-780m", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_json_str(d, "name", "AMD Radeon 780M / 760M / 740M Graphics");
    assert_json_str(d, "architecture", "gfx1103");
    assert_true(json_is_true(json_object_get(d, "integrated")));
    assert_json_int(d, "memory_total_bytes", 512 * MiB); /* the carve-out */
    assert_json_null(d, "utilization_memory_percent");
    assert_json_null(d, "fan_speed_rpm");
    json_decref(i);
    run_release(&r);
    /* 6.5 and 6.6 give no sign: unknown, not a wrong "discrete". */
    i = info(&r, "apu-780m", NULL, ENV("GPUCTL_PROCFS_ROOT=" FIXTURES "/procfs/apu-780m-k6.5"));
    assert_json_null(info_device(i, 0), "integrated");
    json_decref(i);
    run_release(&r);
    /* Before 6.5 the ACPI CRAT made one KFD node of CPU and GPU. */
    i = info(&r, "apu-780m", NULL,
             ENV("GPUCTL_SYSFS_ROOT=" FIXTURES "/sysfs/apu-780m-crat",
                 "GPUCTL_PROCFS_ROOT=" FIXTURES "/procfs/apu-780m-k6.5"));
    assert_true(json_is_true(json_object_get(info_device(i, 0), "integrated")));
    json_decref(i);
    run_release(&r);
    run_machine(&r, "apu-780m", NULL, NULL, ARGS("info"));
    assert_non_null(
        strstr(r.out, "GPU 0 (cuda:0)  AMD Radeon 780M / 760M / 740M Graphics (integrated)\n"));
    run_release(&r);
}

static void arc_a770_on_i915(void **state)
{
    struct run r;
    json_t *i = info(&r, "arc-a770", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_json_str(d, "device", "xpu:0");
    assert_json_str(d, "vendor", "intel");
    assert_json_str(d, "name", "Intel Arc A770 Graphics");
    assert_json_str(d, "architecture", "xe-hpg");
    assert_json_str(d, "uuid", "0000:03:00.0"); /* sysfs has no UUID for Intel GPUs */
    assert_true(json_is_false(json_object_get(d, "integrated")));
    assert_json_int(d, "clock_sm_mhz", 2350);     /* gt_act_freq_mhz, not the 2400 requested */
    assert_json_int(d, "clock_sm_max_mhz", 2400); /* gt_RP0_freq_mhz, not the 2000 soft limit */
    assert_json_null(d, "temperature_c");         /* i915's hwmon has no temperature channel */
    assert_json_int(d, "fan_speed_rpm", 1300);
    assert_float_equal(json_real_value(json_object_get(d, "power_limit_w")), 190.0, 1e-9);
    assert_json_null(d, "power_draw_w");            /* an energy counter needs two samples */
    assert_json_null(d, "utilization_gpu_percent"); /* so do its clients' engine times */
    assert_json_null(d, "memory_total_bytes");      /* mainline i915 does not say */
    assert_json_str(d, "precision", "bf16-mixed");
    assert_json_int(process(d, 0), "pid", 6001);
    assert_json_int(process(d, 0), "used_memory_bytes", 6 * GiB);
    assert_json_str(process(d, 0), "type", "compute+graphics");
    json_decref(i);
    run_release(&r);
}

/* An Arc A750 on xe: hwmon has only the package channel (energy2_input, power2_max) and a
 * package and a memory temperature, labelled "pkg" and "vram". */
static void xe_discrete(void **state)
{
    struct run r;
    json_t *i = info(&r, "xe-dgpu", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_json_str(d, "device", "xpu:0");
    assert_json_str(d, "name", "Intel Arc A750 Graphics");
    assert_true(json_is_false(json_object_get(d, "integrated")));
    assert_json_int(d, "memory_total_bytes", 8 * GiB);
    assert_json_int(d, "temperature_c", 51); /* "pkg", not "vram" */
    assert_json_null(d, "temperature_junction_c");
    assert_float_equal(json_real_value(json_object_get(d, "power_limit_w")), 190.0, 1e-9);
    assert_json_null(d, "power_draw_w"); /* energy2_input needs two samples */
    assert_json_null(d, "fan_speed_rpm");
    assert_json_int(d, "clock_sm_mhz", 2350);
    assert_json_int(d, "clock_sm_max_mhz", 2400);
    assert_json_int(process(d, 0), "pid", 6201);
    assert_json_int(process(d, 0), "used_memory_bytes", 3072 * MiB); /* drm-resident-vram0 */
    assert_json_str(process(d, 0), "type", "compute");               /* ccs cycles only */
    json_decref(i);
    run_release(&r);
}

static void xe_integrated(void **state)
{
    struct run r;
    json_t *i = info(&r, "xe-igpu", NULL, NULL), *d = info_device(i, 0);

    (void)state;
    assert_json_str(d, "name", "Intel Arc 140V GPU (Lunar Lake)");
    assert_true(json_is_true(json_object_get(d, "integrated")));
    assert_json_int(d, "clock_sm_mhz", 1800);     /* act_freq, not cur_freq (requested) */
    assert_json_int(d, "clock_sm_max_mhz", 2050); /* rp0_freq, not max_freq (a soft limit) */
    assert_json_null(d, "temperature_c");         /* no hwmon on integrated GPUs */
    assert_json_null(d, "power_limit_w");
    assert_int_equal(json_array_size(json_object_get(d, "processes")), 2);
    assert_json_str(process(d, 0), "type", "graphics");   /* gnome-shell: rcs cycles */
    assert_json_str(process(d, 1), "type", "compute");    /* inference: ccs cycles */
    assert_json_null(process(d, 0), "used_memory_bytes"); /* no vram region */
    json_decref(i);
    run_release(&r);

    run_machine(&r, "xe-igpu", NULL, NULL, ARGS("info"));
    assert_non_null(strstr(r.out, "GPU 0 (xpu:0)  Intel Arc 140V GPU (Lunar Lake) (integrated)\n"
                                  "├─ architecture        xe2-lpg (bf16-mixed)\n"));
    run_release(&r);
}

static void mixed_machine_order_and_names(void **state)
{
    static const char *const want[][3] = {
        {"cuda:0", "nvidia", "NVIDIA A100 80GB PCIe"},
        {"rocm:0", "amd", "AMD Radeon RX 7900 XTX"},
        {"xpu:0", "intel", "Intel Arc A770 Graphics"}, /* discrete first, as Level Zero */
        {"xpu:1", "intel", "Intel UHD Graphics 770"},
        {"cpu", "cpu", "13th Gen Intel(R) Core(TM) i9-13900K"},
    };
    struct run r;
    json_t *i = info(&r, "mixed", "gpu1", NULL);

    (void)state;
    assert_int_equal(ndevices(i), 5); /* the NVIDIA card in sysfs is NVML's, counted once */
    for (size_t k = 0; k < 5; k++) {
        assert_json_str(info_device(i, k), "device", want[k][0]);
        assert_json_str(info_device(i, k), "vendor", want[k][1]);
        assert_json_str(info_device(i, k), "name", want[k][2]);
    }
    assert_json_int(info_device(i, 3), "physical_index", 1);
    assert_json_int(process(info_device(i, 0), 0), "pid", 4243);
    assert_json_int(process(info_device(i, 1), 0), "pid", 5001);
    assert_json_int(process(info_device(i, 2), 0), "pid", 6001);
    assert_json_str(process(info_device(i, 2), 0), "user", "nobody");
    assert_json_int(process(info_device(i, 3), 0), "pid", 1888);
    assert_json_null(process(info_device(i, 3), 0), "used_memory_bytes");
    assert_json_str(json_object_get(i, "recommended"), "device", "cuda:0");
    json_decref(i);
    run_release(&r);

    run_machine(&r, "mixed", "gpu1", NULL, ARGS("info"));
    assert_non_null(strstr(r.out, "GPU 1 (rocm:0)  AMD Radeon RX 7900 XTX\n"));
    assert_non_null(strstr(r.out, "GPU 3 (xpu:1)  Intel UHD Graphics 770 (integrated)\n"));
    run_release(&r);
}

static void broken_files_read_as_null(void **state)
{
    static const char *const nulls[] = {"memory_total_bytes",
                                        "memory_used_bytes",
                                        "utilization_gpu_percent",
                                        "utilization_memory_percent",
                                        "temperature_c",
                                        "temperature_junction_c",
                                        "power_draw_w",
                                        "power_limit_w",
                                        "clock_sm_mhz",
                                        "clock_sm_max_mhz",
                                        "clock_memory_mhz",
                                        "clock_memory_max_mhz",
                                        "fan_speed_percent",
                                        "fan_speed_rpm",
                                        "architecture",
                                        "integrated"};
    struct run r;
    json_t *i = info(&r, "amd-broken", NULL, ENV("GPUCTL_LOG_LEVEL=debug")), *d;

    (void)state;
    d = info_device(i, 0);
    assert_json_str(d, "name", "AMD GPU 0x7fff"); /* neither product_name nor a known id */
    assert_json_str(d, "uuid", "0000:03:00.0");   /* unique_id unreadable */
    assert_json_str(d, "state", "ok");
    for (size_t k = 0; k < sizeof(nulls) / sizeof(nulls[0]); k++)
        if (!json_is_null(json_object_get(d, nulls[k])))
            fail_msg("%s should be null", nulls[k]);
    assert_json_str(d, "precision", "16-mixed"); /* an unknown AMD architecture */
    /* Of four fdinfo files two are clients; one's memory is beyond 64 bits, so only the other's
     * counts, rather than a sum that wrapped. */
    assert_int_equal(json_array_size(json_object_get(d, "processes")), 1);
    assert_json_int(process(d, 0), "used_memory_bytes", 64 * MiB);
    /* One debug line per garbage value, nothing for a missing file. */
    assert_non_null(strstr(r.err, "mem_info_vram_total: 'lots' is not a number"));
    assert_non_null(strstr(r.err, "gpu_busy_percent: '-5' is not a number"));
    assert_non_null(strstr(r.err, "mem_busy_percent: 250% is not a percentage"));
    assert_non_null(strstr(r.err, "temp1_input: 9223372036854775807 m°C is no temperature"));
    assert_non_null(strstr(r.err, "temp2_input: -300000 m°C is no temperature"));
    assert_non_null(strstr(r.err, "power1_average: 18446744073709551615 is out of range"));
    assert_non_null(strstr(r.err, "fan1_input: 99999999999 is out of range"));
    assert_non_null(strstr(r.err, "pp_dpm_mclk: '1: 4294967297Mhz *' is no clock"));
    assert_null(strstr(r.err, "product_name"));
    json_decref(i);
    run_release(&r);
}

/* The physical indices of the visible GPUs of a machine under a mask, as "1,0". */
static const char *visible(const char *machine, const char *nvml, const char *const *env)
{
    static char out[64];
    struct run r;
    json_t *i = info(&r, machine, nvml, env);

    out[0] = '\0';
    for (size_t k = 0; k < ndevices(i); k++) {
        json_t *d = info_device(i, k);
        if (json_is_integer(json_object_get(d, "physical_index")))
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s%lld", out[0] ? "," : "",
                     json_string_value(json_object_get(d, "device")),
                     (long long)json_integer_value(json_object_get(d, "physical_index")));
    }
    json_decref(i);
    run_release(&r);
    return out;
}

static void rocm_masks(void **state)
{
    (void)state;
    assert_string_equal(visible("mi250x", NULL, NULL), "cuda:00,cuda:11");
    assert_string_equal(visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=1")), "cuda:01");
    /* ROCr matches UUID prefixes in any case, and reads 0x-hex indices. */
    assert_string_equal(visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=gpu-99a3c5e7f0b2d469")),
                        "cuda:01");
    assert_string_equal(visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=0x1")), "cuda:01");
    /* ROCr: a duplicate ends the list; HIP: a duplicate is skipped. */
    assert_string_equal(visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=1,1,0")), "cuda:01");
    assert_string_equal(visible("mi250x", NULL, ENV("HIP_VISIBLE_DEVICES=1,1,0")),
                        "cuda:01,cuda:10");
    /* HIP reads CUDA_VISIBLE_DEVICES when HIP_VISIBLE_DEVICES is not set, and wins when it is. */
    assert_string_equal(visible("mi250x", NULL, ENV("CUDA_VISIBLE_DEVICES=1")), "cuda:01");
    assert_string_equal(
        visible("mi250x", NULL, ENV("HIP_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=1")), "cuda:00");
    /* HIP takes an empty value, its own or CUDA's, as unset, and reads CUDA's when its own is
     * empty; it rejects indices with leading zeros. */
    assert_string_equal(visible("mi250x", NULL, ENV("HIP_VISIBLE_DEVICES=")), "cuda:00,cuda:11");
    assert_string_equal(visible("mi250x", NULL, ENV("CUDA_VISIBLE_DEVICES=")), "cuda:00,cuda:11");
    assert_string_equal(
        visible("mi250x", NULL, ENV("HIP_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES=1")), "cuda:01");
    assert_string_equal(visible("mi250x", NULL, ENV("HIP_VISIBLE_DEVICES=01")), "");
    /* HIP indexes what ROCr left. */
    assert_string_equal(
        visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=1", "HIP_VISIBLE_DEVICES=0")), "cuda:01");
    assert_string_equal(visible("mi250x", NULL, ENV("ROCR_VISIBLE_DEVICES=")), "");
}

static void level_zero_mask(void **state)
{
    struct run r;

    (void)state;
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=1")),
                        "cuda:00,rocm:00,xpu:01");
    /* The mask selects; devices keep Level Zero's order. */
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=1,0")),
                        "cuda:00,rocm:00,xpu:00,xpu:11");
    /* Out-of-range entries are skipped; "0.1" names tile 1 of GPU 0, which the A770 (one tile)
     * does not have: compute-runtime selects nothing for it. */
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=7,0.1")), "cuda:00,rocm:00");
    /* These GPUs' default hierarchy is COMPOSITE, where "0.0" is GPU 0's only tile; in FLAT
     * (or COMBINED) an X.Y entry is ignored. */
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=0.0")),
                        "cuda:00,rocm:00,xpu:00");
    assert_string_equal(
        visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=0.0", "ZE_FLAT_DEVICE_HIERARCHY=FLAT")),
        "cuda:00,rocm:00");
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=")),
                        "cuda:00,rocm:00,xpu:00,xpu:11");
    assert_string_equal(visible("mixed", "gpu1", ENV("ZE_AFFINITY_MASK=default")),
                        "cuda:00,rocm:00,xpu:00,xpu:11");
    run_machine(&r, "mixed", "gpu1", ENV("ZE_AFFINITY_MASK=7,0"), ARGS("info"));
    assert_non_null(strstr(r.out, "note: ZE_AFFINITY_MASK entry '7' is out of range: this "
                                  "machine has 2 GPUs, so it is skipped\n"));
    run_release(&r);
    /* Names do not change with a mask: hidden NVIDIA GPUs still make AMD's rocm:N. */
    assert_string_equal(
        visible("mixed", "gpu1", ENV("CUDA_VISIBLE_DEVICES=", "HIP_VISIBLE_DEVICES=0")),
        "rocm:00,xpu:00,xpu:11");
}

/* ZE_ENABLE_PCI_ID_DEVICE_ORDER=1 drops Level Zero's "discrete first": PCI order alone. */
static void level_zero_pci_order(void **state)
{
    struct run r;
    json_t *i = info(&r, "mixed", "gpu1", ENV("ZE_ENABLE_PCI_ID_DEVICE_ORDER=1"));

    (void)state;
    assert_json_str(info_device(i, 2), "device", "xpu:0");
    assert_json_str(info_device(i, 2), "name", "Intel UHD Graphics 770"); /* 0000:00:02.0 */
    assert_json_str(info_device(i, 3), "name", "Intel Arc A770 Graphics");
    json_decref(i);
    run_release(&r);
    i = info(&r, "mixed", "gpu1", ENV("ZE_ENABLE_PCI_ID_DEVICE_ORDER=0"));
    assert_json_str(info_device(i, 2), "name", "Intel Arc A770 Graphics");
    json_decref(i);
    run_release(&r);
}

/* Two Max 1550 of two tiles each: Level Zero's default on them is FLAT, where each tile is a
 * device and indices count tiles; COMPOSITE makes X a GPU and X.Y its tile. */
static void level_zero_tiles(void **state)
{
    struct run r;
    json_t *i = info(&r, "max1550", NULL, NULL);

    (void)state;
    assert_int_equal(ndevices(i), 3);
    assert_json_str(info_device(i, 0), "name", "Intel Data Center GPU Max 1550");
    assert_json_int(info_device(i, 0), "memory_total_bytes", 128 * GiB); /* both tiles' */
    assert_json_int(info_device(i, 0), "clock_sm_mhz", 1550);
    assert_json_int(info_device(i, 0), "clock_sm_max_mhz", 1600);
    json_decref(i);
    run_release(&r);
    assert_string_equal(visible("max1550", NULL, ENV("ZE_AFFINITY_MASK=3,2")), "xpu:01");
    assert_string_equal(visible("max1550", NULL, ENV("ZE_AFFINITY_MASK=1")), "xpu:00");
    assert_string_equal(visible("max1550", NULL, ENV("ZE_AFFINITY_MASK=0.1")), "");
    run_machine(&r, "max1550", NULL, ENV("ZE_AFFINITY_MASK=1"), ARGS("info"));
    assert_non_null(strstr(r.out, "note: Level Zero counts each tile as a device here (FLAT "
                                  "hierarchy): ZE_AFFINITY_MASK and PyTorch's xpu:N count tiles, "
                                  "gpuctl's xpu:N and select whole GPUs; "
                                  "ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE makes them agree; "
                                  "ZE_AFFINITY_MASK shows 1 of the 2 tiles of GPU 0 (gpuctl lists "
                                  "it whole)\n"));
    run_release(&r);
    assert_string_equal(
        visible("max1550", NULL, ENV("ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE", "ZE_AFFINITY_MASK=1")),
        "xpu:01");
    assert_string_equal(
        visible("max1550", NULL, ENV("ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE", "ZE_AFFINITY_MASK=0.1")),
        "xpu:00");
    run_machine(&r, "max1550", NULL, ENV("ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE"), ARGS("info"));
    assert_null(strstr(r.out, "FLAT hierarchy"));
    run_release(&r);
}

static void select_across_vendors(void **state)
{
    struct run r;
    json_t *v;

    (void)state;
    run_machine(&r, "mixed", "gpu1", NULL, ARGS("select", "--device", "rocm"));
    assert_string_equal(r.out, "0\n");
    run_release(&r);
    /* Two GPUs for one job come from one runtime: only Intel has two. */
    run_machine(&r, "mixed", "gpu1", NULL, ARGS("select", "-n", "2", "--json"));
    assert_int_equal(r.status, 0);
    v = run_json(&r);
    assert_json_str(v, "visible_devices", "1,0"); /* equal: the higher index first */
    assert_json_str(v, "variable", "ZE_AFFINITY_MASK");

    assert_json_str(json_array_get(json_object_get(v, "devices"), 0), "vendor", "intel");
    json_decref(v);
    run_release(&r);
    run_machine(&r, "mixed", "gpu1", NULL, ARGS("select", "--device", "xpu:1"));
    assert_string_equal(r.out, "1\n");
    run_release(&r);
    run_machine(&r, "mixed", "gpu1", NULL, ARGS("select", "--device", "0000:03:00.0", "--json"));
    v = run_json(&r);
    assert_json_str(v, "variable", "ROCR_VISIBLE_DEVICES");
    json_decref(v);
    run_release(&r);
    /* Intel GPUs have no UUID a runtime takes. */
    run_machine(&r, "mixed", "gpu1", NULL, ARGS("select", "--device", "xpu", "--format", "uuid"));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "xpu:1 has no UUID its runtime's mask takes"));
    run_release(&r);
    run_machine(&r, "rx7900xtx", NULL, NULL, ARGS("select", "--format", "uuid"));
    assert_string_equal(r.out, "GPU-2B41A4E97C1A0D55\n");
    run_release(&r);
    run_machine(&r, "rx7900xtx", NULL, NULL, ARGS("select", "--device", "xpu"));
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "no xpu GPU to choose from: this machine has 1 GPU (cuda:0)"));
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rx7900xtx_every_value),
        cmocka_unit_test(rx7900xtx_processes_from_fdinfo),
        cmocka_unit_test(mi250x_two_dies),
        cmocka_unit_test(apu_is_integrated),
        cmocka_unit_test(arc_a770_on_i915),
        cmocka_unit_test(xe_discrete),
        cmocka_unit_test(xe_integrated),
        cmocka_unit_test(mixed_machine_order_and_names),
        cmocka_unit_test(broken_files_read_as_null),
        cmocka_unit_test(rocm_masks),
        cmocka_unit_test(level_zero_mask),
        cmocka_unit_test(level_zero_pci_order),
        cmocka_unit_test(level_zero_tiles),
        cmocka_unit_test(select_across_vendors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
