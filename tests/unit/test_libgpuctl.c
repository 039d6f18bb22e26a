/* test_libgpuctl.c: libgpuctl.so through its public header only, as a C program would use it. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

static int use_workstation(void **state)
{
    (void)state;
    setenv("GPUCTL_NVML_LIBRARY", FAKE_NVML_DIR "/current/libnvidia-ml.so.1", 1);
    setenv("FAKE_NVML_FIXTURE", FIXTURES "/nvml/gpu2.json", 1);
    setenv("GPUCTL_PROCFS_ROOT", FIXTURES "/procfs/workstation", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    return 0;
}

static void lists_gpus_then_the_cpu(void **state)
{
    struct gpuctl *g = NULL;

    (void)state;
    assert_int_equal(gpuctl_new(NULL, &g), 0);
    assert_int_equal(gpuctl_device_count(g), 3);
    assert_int_equal(gpuctl_gpu_count(g), 2);
    assert_string_equal(gpuctl_device_at(g, 0)->device, "cuda:0");
    assert_string_equal(gpuctl_device_at(g, 0)->name, "NVIDIA GeForce RTX 3090");
    assert_string_equal(gpuctl_device_at(g, 2)->device, "cpu");
    assert_null(gpuctl_device_at(g, 3));
    assert_string_equal(gpuctl_system(g)->driver_version, "550.54.15");
    assert_int_equal(gpuctl_system(g)->cuda_driver_version, 12040);
    assert_int_equal(gpuctl_refresh(g), 0);
    assert_true(gpuctl_device_has(gpuctl_device_at(g, 0), GPUCTL_M_MEMORY_FREE));
    gpuctl_free(g);
}

static void selects_recommends_and_finds(void **state)
{
    struct gpuctl_select_request req = {.count = 1, .min_free_memory_bytes = 12ull << 30};
    struct gpuctl_precision_advice adv;
    const struct gpuctl_device *d = NULL;
    struct gpuctl_selection sel;
    struct gpuctl *g = NULL;
    char msg[256];

    (void)state;
    assert_int_equal(gpuctl_new(NULL, &g), 0);
    assert_int_equal(gpuctl_select(g, &req, &sel), 0);
    assert_string_equal(sel.devices[0]->device, "cuda:0");
    gpuctl_recommend(g, &d, &adv);
    assert_string_equal(d->device, "cuda:0");
    assert_int_equal(adv.precision, GPUCTL_PRECISION_BF16_MIXED);
    assert_int_equal(gpuctl_device_find(g, "GPU-3080", &d, msg, sizeof(msg)), 0);
    assert_string_equal(d->device, "cuda:1");
    assert_int_equal(gpuctl_device_find(g, "cuda:2", &d, msg, sizeof(msg)), GPUCTL_ERANGE);
    assert_string_equal(msg, "device index 2 is out of range: this machine has 2 GPUs "
                             "(cuda:0, cuda:1)");
    gpuctl_free(g);
    gpuctl_free(NULL);
}

static void exports_only_the_public_api(void **state)
{
    void *self = dlopen(NULL, RTLD_NOW);

    (void)state;
    assert_non_null(dlsym(self, "gpuctl_new"));
    assert_non_null(dlsym(self, "gpuctl_select"));
    assert_null(dlsym(self, "mask_apply"));
    assert_null(dlsym(self, "size_parse"));
    assert_null(dlsym(self, "backend_nvml"));
    dlclose(self);
}

static void errors_have_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(gpuctl_err_name(GPUCTL_ENODEV), "ENODEV");
    assert_string_equal(gpuctl_strerror(GPUCTL_ENOMEM), "out of memory");
    assert_string_equal(gpuctl_strerror(-1000), "unknown error");
    assert_string_equal(gpuctl_version(), GPUCTL_TEST_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lists_gpus_then_the_cpu, use_workstation),
        cmocka_unit_test_setup(selects_recommends_and_finds, use_workstation),
        cmocka_unit_test(exports_only_the_public_api),
        cmocka_unit_test(errors_have_names_and_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
