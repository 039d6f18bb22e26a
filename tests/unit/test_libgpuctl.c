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
#include <pthread.h>
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

/* The closeness of every pair of positions below n, row by row. */
/* The daemon's options: links are learned only when asked for. */
static const struct gpuctl_options with_links = {.flags = GPUCTL_OPEN_LINKS};

static void assert_links(const struct gpuctl *g, size_t n, const int *want)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            if (gpuctl_link(g, a, b) != want[a * n + b])
                fail_msg("gpuctl_link(%zu, %zu) is %d, not %d", a, b, gpuctl_link(g, a, b),
                         want[a * n + b]);
}

/* Four A100s, 0-1 and 2-3 on one PCIe switch and NVLink each, the pairs across CPUs; then the
 * CPU. */
static const int nvlink_pairs[] = {
    0,  5,  50, 50, -1, /* cuda:0 */
    5,  0,  50, 50, -1, /* cuda:1 */
    50, 50, 0,  5,  -1, /* cuda:2 */
    50, 50, 5,  0,  -1, /* cuda:3 */
    -1, -1, -1, -1, 0,  /* cpu */
};

static int use_nvlink_machine(void **state)
{
    use_workstation(state);
    setenv("FAKE_NVML_FIXTURE", FIXTURES "/nvml/gpu4-nvlink.json", 1);
    return 0;
}

static void links_follow_nvlink_then_pcie(void **state)
{
    struct gpuctl *g = NULL;

    (void)state;
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_int_equal(gpuctl_device_count(g), 5);
    assert_links(g, 5, nvlink_pairs);
    assert_int_equal(gpuctl_link(g, 0, 5), GPUCTL_LINK_UNKNOWN); /* out of range */
    assert_int_equal(gpuctl_link(g, 5, 5), GPUCTL_LINK_UNKNOWN);
    assert_int_equal(gpuctl_link(g, SIZE_MAX, 0), GPUCTL_LINK_UNKNOWN);
    assert_int_equal(gpuctl_refresh(g), 0);
    assert_links(g, 5, nvlink_pairs); /* made once, kept */
    gpuctl_free(g);

    /* not asked for: nothing is known, and the driver is not asked */
    assert_int_equal(gpuctl_new(NULL, &g), 0);
    assert_int_equal(gpuctl_link(g, 0, 1), GPUCTL_LINK_UNKNOWN);
    assert_int_equal(gpuctl_link(g, 1, 1), GPUCTL_LINK_BOARD);
    gpuctl_free(g);
}

static void links_from_a_driver_older_than_r510(void **state)
{
    struct gpuctl *g = NULL;

    (void)state;
    setenv("GPUCTL_NVML_LIBRARY", FAKE_NVML_DIR "/r470/libnvidia-ml.so.1", 1);
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_links(g, 5, nvlink_pairs);
    gpuctl_free(g);
}

static void links_follow_masks(void **state)
{
    static const int want[] = {
        0,  50, 50, -1, /* cuda:0, the fourth A100 */
        50, 0,  5,  -1, /* cuda:1, the first */
        50, 5,  0,  -1, /* cuda:2, the second */
        -1, -1, -1, 0,  /* cpu */
    };
    struct gpuctl *g = NULL;

    (void)state;
    setenv("CUDA_VISIBLE_DEVICES", "3,0,1", 1);
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_string_equal(gpuctl_device_at(g, 0)->uuid, "GPU-a100a100-0000-4000-8000-00000000a003");
    assert_links(g, 4, want);
    gpuctl_free(g);
    unsetenv("CUDA_VISIBLE_DEVICES");
}

/* Writes a copy of gpu4-nvlink.json with edit() applied to a temporary file it names. */
static void nvlink_machine_edited(char *path, void (*edit)(json_t *devices))
{
    json_t *f = json_load_file(FIXTURES "/nvml/gpu4-nvlink.json", 0, NULL);
    int fd = mkstemp(path);

    assert_true(fd >= 0 && f);
    close(fd);
    edit(json_object_get(f, "devices"));
    assert_int_equal(json_dump_file(f, path, 0), 0);
    json_decref(f);
    setenv("FAKE_NVML_FIXTURE", path, 1);
}

/* No NVLink; 0-1 one switch, 0-2 several, 0-3 the host bridge, 1-2 a board, 1-3 one CPU, 2-3
 * unknown to the driver. Each level is given on one side of its pair only. */
static void pcie_only(json_t *devices)
{
    static const int ancestors[4][4] = {
        {-1, 10, 20, 30}, {-1, -1, 0, 40}, {-1, -1, -1, -1}, {-1, -1, -1, -1}};
    json_t *d;
    size_t i;

    json_array_foreach(devices, i, d)
    {
        json_t *levels = json_object();
        json_object_del(d, "nvlink_peers");
        for (size_t j = 0; j < 4; j++) {
            const char *other =
                json_string_value(json_object_get(json_array_get(devices, j), "uuid"));
            if (ancestors[i][j] >= 0)
                json_object_set_new(levels, other, json_integer(ancestors[i][j]));
        }
        json_object_set_new(d, "common_ancestor", levels);
    }
}

static void links_name_every_pcie_level(void **state)
{
    static const int want[] = {
        0,  10, 20, 30, /* cuda:0 */
        10, 0,  0,  40, /* cuda:1 */
        20, 0,  0,  -1, /* cuda:2 */
        30, 40, -1, 0,  /* cuda:3 */
    };
    char path[] = "/tmp/gpuctl-topo-XXXXXX";
    struct gpuctl *g = NULL;

    (void)state;
    nvlink_machine_edited(path, pcie_only);
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_links(g, 4, want);
    gpuctl_free(g);
    unlink(path);
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_BOARD), "board");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_NVLINK), "nvlink");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_PCIE_SWITCH), "pcie-switch");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_PCIE_SWITCHES), "pcie-switches");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_HOST_BRIDGE), "host-bridge");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_NUMA_NODE), "numa-node");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_SYSTEM), "system");
    assert_string_equal(gpuctl_link_name(GPUCTL_LINK_UNKNOWN), "unknown");
    assert_string_equal(gpuctl_link_name(7), "unknown");
}

/* GPU 2 is lost; GPU 3 cannot be opened. */
static void lost_and_unopened(json_t *devices)
{
    json_object_set_new(json_array_get(devices, 2), "lost", json_true());
    json_object_set_new(json_array_get(devices, 3), "handle_error", json_string("UNKNOWN"));
}

static void links_of_lost_gpus_are_unknown(void **state)
{
    static const int want[] = {
        0,  5,  -1, -1, -1, /* cuda:0 */
        5,  0,  -1, -1, -1, /* cuda:1 */
        -1, -1, 0,  -1, -1, /* cuda:2, lost */
        -1, -1, -1, 0,  -1, /* cuda:3, no handle */
        -1, -1, -1, -1, 0,  /* cpu */
    };
    char path[] = "/tmp/gpuctl-topo-XXXXXX";
    struct gpuctl *g = NULL;

    (void)state;
    nvlink_machine_edited(path, lost_and_unopened);
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_int_equal(gpuctl_device_at(g, 2)->state, GPUCTL_STATE_LOST);
    assert_links(g, 5, want);
    gpuctl_free(g);
    unlink(path);
}

static void links_without_topology_or_across_vendors_are_unknown(void **state)
{
    static const int two_gpus[] = {
        0,  -1, -1, /* cuda:0 */
        -1, 0,  -1, /* cuda:1 */
        -1, -1, 0,  /* cpu */
    };
    struct gpuctl *g = NULL;
    size_t n;

    (void)state;
    setenv("FAKE_NVML_FIXTURE", FIXTURES "/nvml/gpu2.json", 1); /* no topology in the fixture */
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    assert_links(g, 3, two_gpus);
    gpuctl_free(g);

    /* The four A100s beside an AMD and two Intel GPUs. */
    setenv("FAKE_NVML_FIXTURE", FIXTURES "/nvml/gpu4-nvlink.json", 1);
    setenv("GPUCTL_SYSFS_ROOT", FIXTURES "/sysfs/mixed", 1);
    setenv("GPUCTL_PROCFS_ROOT", FIXTURES "/procfs/mixed", 1);
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    n = gpuctl_device_count(g);
    assert_int_equal(n, 8);
    for (size_t a = 0; a < n; a++) {
        for (size_t b = 0; b < n; b++) {
            const struct gpuctl_device *x = gpuctl_device_at(g, a), *y = gpuctl_device_at(g, b);
            if (a == b)
                assert_int_equal(gpuctl_link(g, a, b), GPUCTL_LINK_BOARD);
            else if (x->vendor != GPUCTL_VENDOR_NVIDIA || y->vendor != GPUCTL_VENDOR_NVIDIA)
                assert_int_equal(gpuctl_link(g, a, b), GPUCTL_LINK_UNKNOWN);
            else
                assert_int_equal(gpuctl_link(g, a, b), nvlink_pairs[a * 5 + b]);
        }
    }
    gpuctl_free(g);
}

struct reader {
    const struct gpuctl *g;
    int failures;
};

static void *read_links(void *arg)
{
    struct reader *r = arg;

    for (int round = 0; round < 2000; round++)
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++)
                r->failures += gpuctl_link(r->g, a, b) != nvlink_pairs[a * 5 + b];
    return NULL;
}

static void links_are_read_while_another_thread_refreshes(void **state)
{
    struct gpuctl *g = NULL;
    struct reader r;
    pthread_t t;

    (void)state;
    assert_int_equal(gpuctl_new(&with_links, &g), 0);
    r = (struct reader){g, 0};
    assert_int_equal(pthread_create(&t, NULL, read_links, &r), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(gpuctl_refresh(g), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.failures, 0);
    gpuctl_free(g);
}

static void exports_only_the_public_api(void **state)
{
    void *self = dlopen(NULL, RTLD_NOW);

    (void)state;
    assert_non_null(dlsym(self, "gpuctl_new"));
    assert_non_null(dlsym(self, "gpuctl_select"));
    assert_non_null(dlsym(self, "gpuctl_link"));
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
        cmocka_unit_test_setup(links_follow_nvlink_then_pcie, use_nvlink_machine),
        cmocka_unit_test_setup(links_from_a_driver_older_than_r510, use_nvlink_machine),
        cmocka_unit_test_setup(links_follow_masks, use_nvlink_machine),
        cmocka_unit_test_setup(links_name_every_pcie_level, use_nvlink_machine),
        cmocka_unit_test_setup(links_of_lost_gpus_are_unknown, use_nvlink_machine),
        cmocka_unit_test_setup(links_without_topology_or_across_vendors_are_unknown,
                               use_workstation),
        cmocka_unit_test_setup(links_are_read_while_another_thread_refreshes, use_nvlink_machine),
        cmocka_unit_test(exports_only_the_public_api),
        cmocka_unit_test(errors_have_names_and_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
