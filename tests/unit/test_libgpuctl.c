/* test_libgpuctl.c: libgpuctl.so through its public header only, as a C program would use it. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

static int use_workstation(void **state)
{
    (void)state;
    setenv("GPUCTL_NVML_LIBRARY", FAKE_NVML_DIR "/current/libnvidia-ml.so.1", 1);
    setenv("FAKE_NVML_FIXTURE", FIXTURES "/nvml/gpu2.json", 1);
    setenv("GPUCTL_PROCFS_ROOT", FIXTURES "/procfs/workstation", 1);
    setenv("GPUCTL_SYSFS_ROOT", FIXTURES "/sysfs/none", 1);
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

/* Rewrites the live fixture at path with edit() applied, and moves its mtime forward so the
 * fake notices even on a coarse clock. */
static void edit_fixture(const char *path, void (*edit)(json_t *devices))
{
    json_t *f = json_load_file(path, 0, NULL);
    struct timespec times[2];
    struct stat st;

    assert_non_null(f);
    edit(json_object_get(f, "devices"));
    assert_int_equal(json_dump_file(f, path, 0), 0);
    json_decref(f);
    assert_int_equal(stat(path, &st), 0);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    times[1].tv_sec += 1;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void second_sample(json_t *devices)
{
    json_t *d0 = json_array_get(devices, 0);

    json_object_del(d0, "temperature");
    json_object_set_new(json_object_get(d0, "memory"), "used", json_integer(4096ll << 20));
    json_array_append_new(
        json_object_get(d0, "compute_processes"),
        json_pack("{s:i, s:I}", "pid", 4243, "used_memory", (json_int_t)(3584ll << 20)));
    json_object_set_new(json_array_get(devices, 1), "lost", json_true());
}

static void recovered(json_t *devices)
{
    json_object_del(json_array_get(devices, 1), "lost");
}

static void refresh_rereads_what_changes(void **state)
{
    char path[] = "/tmp/gpuctl-live-XXXXXX";
    json_t *f = json_load_file(FIXTURES "/nvml/gpu2.json", 0, NULL);
    const struct gpuctl_device *d0, *d1;
    struct gpuctl *g = NULL;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0 && f);
    close(fd);
    assert_int_equal(json_dump_file(f, path, 0), 0);
    json_decref(f);
    setenv("FAKE_NVML_FIXTURE", path, 1);
    setenv("FAKE_NVML_LIVE", "1", 1);
    assert_int_equal(gpuctl_new(NULL, &g), 0);
    d0 = gpuctl_device_at(g, 0);
    d1 = gpuctl_device_at(g, 1);
    assert_true(gpuctl_device_has(d0, GPUCTL_M_TEMPERATURE));
    assert_int_equal(d0->process_count, 1);

    edit_fixture(path, second_sample);
    assert_int_equal(gpuctl_refresh(g), 0);
    assert_ptr_equal(gpuctl_device_at(g, 0), d0); /* devices stay where they were */
    assert_false(gpuctl_device_has(d0, GPUCTL_M_TEMPERATURE));
    assert_int_equal(d0->memory_used_bytes, 4096ull << 20);
    assert_int_equal(d0->process_count, 2);
    assert_int_equal(d0->processes[1].pid, 4243);
    assert_string_equal(d0->processes[1].user, "nobody");
    assert_true(gpuctl_device_has(d0, GPUCTL_M_COMPUTE_CAPABILITY)); /* static facts stay */
    assert_int_equal(d1->state, GPUCTL_STATE_LOST);
    assert_false(gpuctl_device_has(d1, GPUCTL_M_MEMORY_FREE));

    edit_fixture(path, recovered); /* reset: the GPU answers again */
    assert_int_equal(gpuctl_refresh(g), 0);
    assert_int_equal(d1->state, GPUCTL_STATE_OK);
    assert_true(gpuctl_device_has(d1, GPUCTL_M_MEMORY_FREE));
    assert_true(gpuctl_device_has(d1, GPUCTL_M_COMPUTE_CAPABILITY));
    gpuctl_free(g);
    unsetenv("FAKE_NVML_LIVE");
    unlink(path);
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
        cmocka_unit_test_setup(refresh_rereads_what_changes, use_workstation),
        cmocka_unit_test(exports_only_the_public_api),
        cmocka_unit_test(errors_have_names_and_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
