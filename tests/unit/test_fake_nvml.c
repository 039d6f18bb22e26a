/* test_fake_nvml.c: the fake libnvidia-ml.so.1 answers as the real library does, so tests
 * against it mean something. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/nvml/nvml_types.h"

static void *lib;

static void *sym(const char *name)
{
    void *p = dlsym(lib, name);

    if (!p)
        fail_msg("fake NVML lacks %s", name);
    return p;
}

/* Calls an entry point through a pointer of the right type. */
#define CALL(type, name, ...) ((type)sym(name))(__VA_ARGS__)
typedef nvmlReturn_t (*fn_void)(void);
typedef nvmlReturn_t (*fn_count)(unsigned *);
typedef nvmlReturn_t (*fn_handle)(unsigned, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_mem2)(nvmlDevice_t, nvmlMemory_v2_t *);
typedef nvmlReturn_t (*fn_mem)(nvmlDevice_t, nvmlMemory_t *);
typedef nvmlReturn_t (*fn_procs)(nvmlDevice_t, unsigned *, nvmlProcessInfo_t *);
typedef nvmlReturn_t (*fn_str)(nvmlDevice_t, char *, unsigned);
typedef nvmlReturn_t (*fn_uint)(nvmlDevice_t, unsigned *);

static void open_fake(const char *generation, const char *machine)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/nvml/%s.json", FIXTURES, machine);
    setenv("FAKE_NVML_FIXTURE", path, 1);
    snprintf(path, sizeof(path), "%s/%s/libnvidia-ml.so.1", FAKE_NVML_DIR, generation);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
}

static int close_fake(void **state)
{
    (void)state;
    if (lib)
        dlclose(lib);
    lib = NULL;
    return 0;
}

static nvmlDevice_t first_device(void)
{
    nvmlDevice_t d = NULL;

    assert_int_equal(CALL(fn_handle, "nvmlDeviceGetHandleByIndex_v2", 0, &d), NVML_SUCCESS);
    return d;
}

static void calls_before_init_are_uninitialized(void **state)
{
    unsigned n;

    (void)state;
    open_fake("current", "gpu1");
    assert_int_equal(CALL(fn_count, "nvmlDeviceGetCount_v2", &n), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(CALL(fn_void, "nvmlShutdown"), NVML_ERROR_UNINITIALIZED);
}

static void init_is_reference_counted(void **state)
{
    unsigned n = 0;

    (void)state;
    open_fake("current", "gpu2");
    assert_int_equal(CALL(fn_void, "nvmlInit_v2"), NVML_SUCCESS);
    assert_int_equal(CALL(fn_void, "nvmlInit_v2"), NVML_SUCCESS);
    assert_int_equal(CALL(fn_void, "nvmlShutdown"), NVML_SUCCESS);
    assert_int_equal(CALL(fn_count, "nvmlDeviceGetCount_v2", &n), NVML_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(CALL(fn_void, "nvmlShutdown"), NVML_SUCCESS);
    assert_int_equal(CALL(fn_count, "nvmlDeviceGetCount_v2", &n), NVML_ERROR_UNINITIALIZED);
}

static void a_wrong_struct_version_is_refused(void **state)
{
    nvmlMemory_v2_t m = {.version = 0x01000028};
    nvmlDevice_t d;

    (void)state;
    open_fake("current", "gpu1");
    assert_int_equal(CALL(fn_void, "nvmlInit_v2"), NVML_SUCCESS);
    d = first_device();
    assert_int_equal(CALL(fn_mem2, "nvmlDeviceGetMemoryInfo_v2", d, &m),
                     NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    m.version = 0x02000028;
    assert_int_equal(CALL(fn_mem2, "nvmlDeviceGetMemoryInfo_v2", d, &m), NVML_SUCCESS);
    assert_int_equal(m.total, 81920ull << 20);
    assert_int_equal(m.reserved, 529ull << 20);
    assert_int_equal(m.used, 1024ull << 20);
    assert_int_equal(m.free, m.total - m.reserved - m.used);
    CALL(fn_void, "nvmlShutdown");
}

static void v1_memory_counts_reserved_as_used(void **state)
{
    nvmlMemory_t m;

    (void)state;
    open_fake("current", "gpu1");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_mem, "nvmlDeviceGetMemoryInfo", first_device(), &m), NVML_SUCCESS);
    assert_int_equal(m.used, (1024ull + 529) << 20);
    CALL(fn_void, "nvmlShutdown");
}

static void process_lists_follow_the_size_protocol(void **state)
{
    nvmlProcessInfo_t p[4];
    unsigned count = 0;
    nvmlDevice_t d;

    (void)state;
    open_fake("current", "r535-stride");
    CALL(fn_void, "nvmlInit_v2");
    d = first_device();
    assert_int_equal(CALL(fn_procs, "nvmlDeviceGetComputeRunningProcesses_v2", d, &count, NULL),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(count, 2);
    count = 1;
    assert_int_equal(CALL(fn_procs, "nvmlDeviceGetComputeRunningProcesses_v2", d, &count, p),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(count, 2);
    count = 4;
    assert_int_equal(CALL(fn_procs, "nvmlDeviceGetComputeRunningProcesses_v2", d, &count, p),
                     NVML_SUCCESS);
    assert_int_equal(count, 2);
    assert_int_equal(p[1].pid, 4243);
    assert_int_equal(p[1].usedGpuMemory, 1024ull << 20);
    assert_int_equal(p[1].gpuInstanceId, 0xFFFFFFFFu);
    CALL(fn_void, "nvmlShutdown");
}

static void r535_v3_writes_32_byte_entries(void **state)
{
    nvmlProcessDetail_v1_t p[4];
    unsigned count = 4;

    (void)state;
    open_fake("current", "r535-stride");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_procs, "nvmlDeviceGetComputeRunningProcesses_v3", first_device(),
                          &count, (nvmlProcessInfo_t *)p),
                     NVML_SUCCESS);
    assert_int_equal(count, 2);
    assert_int_equal(p[1].pid, 4243); /* at offset 32, not 24 */
    CALL(fn_void, "nvmlShutdown");
}

static void short_buffers_get_insufficient_size(void **state)
{
    char name[8];

    (void)state;
    open_fake("current", "gpu1");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_str, "nvmlDeviceGetName", first_device(), name, sizeof(name)),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    CALL(fn_void, "nvmlShutdown");
}

static void bad_handles_and_indices_are_invalid_arguments(void **state)
{
    nvmlDevice_t d = NULL;
    unsigned v;

    (void)state;
    open_fake("current", "gpu1");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_handle, "nvmlDeviceGetHandleByIndex_v2", 1, &d),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(CALL(fn_uint, "nvmlDeviceGetPowerUsage", (nvmlDevice_t)&v, &v),
                     NVML_ERROR_INVALID_ARGUMENT);
    CALL(fn_void, "nvmlShutdown");
}

static void missing_fields_are_not_supported_and_lost_gpus_are_lost(void **state)
{
    nvmlDevice_t d = NULL;
    unsigned v;

    (void)state;
    open_fake("current", "lost");
    CALL(fn_void, "nvmlInit_v2");
    d = first_device();
    assert_int_equal(CALL(fn_uint, "nvmlDeviceGetFanSpeed", d, &v), NVML_SUCCESS);
    assert_int_equal(CALL(fn_handle, "nvmlDeviceGetHandleByIndex_v2", 1, &d), NVML_SUCCESS);
    assert_int_equal(CALL(fn_uint, "nvmlDeviceGetFanSpeed", d, &v), NVML_ERROR_GPU_IS_LOST);
    assert_int_equal(CALL(fn_handle, "nvmlDeviceGetHandleByIndex_v2", 2, &d), NVML_ERROR_UNKNOWN);
    CALL(fn_void, "nvmlShutdown");
    close_fake(NULL);
    open_fake("current", "gpu8-mixed");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_uint, "nvmlDeviceGetFanSpeed", first_device(), &v),
                     NVML_ERROR_NOT_SUPPORTED);
    CALL(fn_void, "nvmlShutdown");
}

typedef nvmlReturn_t (*fn_set)(nvmlEventSet_t *);
typedef nvmlReturn_t (*fn_free)(nvmlEventSet_t);
typedef nvmlReturn_t (*fn_register)(nvmlDevice_t, unsigned long long, nvmlEventSet_t);
typedef nvmlReturn_t (*fn_wait)(nvmlEventSet_t, nvmlEventData_t *, unsigned);
typedef nvmlReturn_t (*fn_ecc)(nvmlDevice_t, nvmlMemoryErrorType_t, nvmlEccCounterType_t,
                               unsigned long long *);

/* Copies a fixture to a temporary file the test may change (FAKE_NVML_LIVE=1). */
static void open_live(char *path, size_t len, const char *machine)
{
    char cmd[1024], lib_path[1024];

    snprintf(path, len, "/tmp/gpuctl-fake-XXXXXX");
    close(mkstemp(path));
    snprintf(cmd, sizeof(cmd), "cp %s/nvml/%s.json %s", FIXTURES, machine, path);
    assert_int_equal(system(cmd), 0);
    setenv("FAKE_NVML_FIXTURE", path, 1);
    setenv("FAKE_NVML_LIVE", "1", 1);
    snprintf(lib_path, sizeof(lib_path), "%s/current/libnvidia-ml.so.1", FAKE_NVML_DIR);
    lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
}

/* Gives the fixture's first device (the T4) the events in `event`, a JSON list body. */
static void append_event(const char *path, const char *event)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "sed -i '0,/\"name\": \"Tesla T4\",/s//\"name\": \"Tesla T4\", \"events\": [%s],/' %s",
             event, path);
    assert_int_equal(system(cmd), 0);
}

static void events_come_after_registration_once(void **state)
{
    nvmlEventSet_t set = NULL;
    nvmlEventData_t e;
    unsigned long long n = 99;
    char path[64];

    (void)state;
    open_live(path, sizeof(path), "gpu8-mixed");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(CALL(fn_set, "nvmlEventSetCreate", &set), NVML_SUCCESS);
    assert_int_equal(CALL(fn_register, "nvmlDeviceRegisterEvents", first_device(),
                          nvmlEventTypeXidCriticalError, set),
                     NVML_SUCCESS);
    assert_int_equal(CALL(fn_wait, "nvmlEventSetWait_v2", set, &e, 20), NVML_ERROR_TIMEOUT);
    append_event(path, "{\"type\": \"dbe\"}, {\"type\": \"xid\", \"data\": 79}");
    /* Only the XID: the set was not registered for double-bit errors. */
    assert_int_equal(CALL(fn_wait, "nvmlEventSetWait_v2", set, &e, 1000), NVML_SUCCESS);
    assert_ptr_equal(e.device, first_device());
    assert_int_equal(e.eventType, nvmlEventTypeXidCriticalError);
    assert_int_equal(e.eventData, 79);
    assert_int_equal(CALL(fn_wait, "nvmlEventSetWait_v2", set, &e, 20), NVML_ERROR_TIMEOUT);
    assert_int_equal(CALL(fn_free, "nvmlEventSetFree", set), NVML_SUCCESS);
    /* ECC counts: NOT_SUPPORTED where the fixture has none. */
    assert_int_equal(CALL(fn_ecc, "nvmlDeviceGetTotalEccErrors", first_device(),
                          NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &n),
                     NVML_ERROR_NOT_SUPPORTED);
    CALL(fn_void, "nvmlShutdown");
    unsetenv("FAKE_NVML_LIVE");
    unlink(path);
}

typedef nvmlReturn_t (*fn_ancestor)(nvmlDevice_t, nvmlDevice_t, nvmlGpuTopologyLevel_t *);
typedef nvmlReturn_t (*fn_p2p)(nvmlDevice_t, nvmlDevice_t, nvmlGpuP2PCapsIndex_t,
                               nvmlGpuP2PStatus_t *);

static nvmlDevice_t device(unsigned i)
{
    nvmlDevice_t d = NULL;

    assert_int_equal(CALL(fn_handle, "nvmlDeviceGetHandleByIndex_v2", i, &d), NVML_SUCCESS);
    return d;
}

/* The common ancestor of devices i and j, or -(the return code). */
static int ancestor(unsigned i, unsigned j)
{
    nvmlGpuTopologyLevel_t level = NVML_TOPOLOGY_SYSTEM;
    nvmlReturn_t rc =
        CALL(fn_ancestor, "nvmlDeviceGetTopologyCommonAncestor", device(i), device(j), &level);

    return rc == NVML_SUCCESS ? (int)level : -(int)rc;
}

/* The P2P status of devices i and j for one capability, or -(the return code). */
static int p2p(unsigned i, unsigned j, nvmlGpuP2PCapsIndex_t index)
{
    nvmlGpuP2PStatus_t status = NVML_P2P_STATUS_UNKNOWN;
    nvmlReturn_t rc = CALL(fn_p2p, "nvmlDeviceGetP2PStatus", device(i), device(j), index, &status);

    return rc == NVML_SUCCESS ? (int)status : -(int)rc;
}

static void topology_comes_from_either_side_of_a_pair(void **state)
{
    nvmlGpuTopologyLevel_t level;
    nvmlDevice_t d;

    (void)state;
    open_fake("current", "gpu4-nvlink");
    CALL(fn_void, "nvmlInit_v2");
    d = first_device();
    assert_int_equal(ancestor(0, 0), NVML_TOPOLOGY_INTERNAL);
    assert_int_equal(ancestor(0, 1), NVML_TOPOLOGY_SINGLE);
    assert_int_equal(ancestor(3, 2), NVML_TOPOLOGY_SINGLE);
    assert_int_equal(ancestor(1, 2), NVML_TOPOLOGY_SYSTEM);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_NVLINK), NVML_P2P_STATUS_OK);
    assert_int_equal(p2p(3, 2, NVML_P2P_CAPS_INDEX_NVLINK), NVML_P2P_STATUS_OK);
    assert_int_equal(p2p(0, 2, NVML_P2P_CAPS_INDEX_NVLINK), NVML_P2P_STATUS_NOT_SUPPORTED);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_READ), NVML_P2P_STATUS_OK);
    assert_int_equal(p2p(1, 3, NVML_P2P_CAPS_INDEX_PCI), NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED);
    /* NVML's argument checks: handles first, then the out pointer, then the index. */
    assert_int_equal(CALL(fn_ancestor, "nvmlDeviceGetTopologyCommonAncestor", d, d, NULL),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(
        CALL(fn_ancestor, "nvmlDeviceGetTopologyCommonAncestor", d, (nvmlDevice_t)&level, &level),
        NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(
        CALL(fn_p2p, "nvmlDeviceGetP2PStatus", d, device(1), NVML_P2P_CAPS_INDEX_NVLINK, NULL),
        NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_UNKNOWN), -NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(p2p(0, 1, (nvmlGpuP2PCapsIndex_t)-1), -NVML_ERROR_INVALID_ARGUMENT);
    CALL(fn_void, "nvmlShutdown");
    assert_int_equal(CALL(fn_ancestor, "nvmlDeviceGetTopologyCommonAncestor", d, d, NULL),
                     NVML_ERROR_UNINITIALIZED);
}

static void topology_unknown_is_not_supported_and_lost_is_lost(void **state)
{
    (void)state;
    open_fake("current", "gpu2");
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(ancestor(0, 1), -NVML_ERROR_NOT_SUPPORTED);
    assert_int_equal(ancestor(1, 1), NVML_TOPOLOGY_INTERNAL);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_NVLINK), NVML_P2P_STATUS_NOT_SUPPORTED);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_WRITE), NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED);
    CALL(fn_void, "nvmlShutdown");
    close_fake(NULL);
    open_fake("current", "lost"); /* device 1 is lost */
    CALL(fn_void, "nvmlInit_v2");
    assert_int_equal(ancestor(0, 1), -NVML_ERROR_GPU_IS_LOST);
    assert_int_equal(ancestor(1, 0), -NVML_ERROR_GPU_IS_LOST);
    assert_int_equal(p2p(0, 1, NVML_P2P_CAPS_INDEX_NVLINK), -NVML_ERROR_GPU_IS_LOST);
    CALL(fn_void, "nvmlShutdown");
}

static void driver_not_loaded(void **state)
{
    (void)state;
    open_fake("current", "no-driver");
    assert_int_equal(CALL(fn_void, "nvmlInit_v2"), NVML_ERROR_DRIVER_NOT_LOADED);
}

static void r470_lacks_newer_entry_points(void **state)
{
    (void)state;
    open_fake("r470", "gpu2");
    assert_null(dlsym(lib, "nvmlDeviceGetMemoryInfo_v2"));
    assert_null(dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v3"));
    assert_null(dlsym(lib, "nvmlDeviceGetCurrentClocksEventReasons"));
    assert_non_null(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    assert_non_null(dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v2"));
    assert_non_null(dlsym(lib, "nvmlDeviceGetTopologyCommonAncestor")); /* older than R470 */
    assert_non_null(dlsym(lib, "nvmlDeviceGetP2PStatus"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(calls_before_init_are_uninitialized, close_fake),
        cmocka_unit_test_teardown(init_is_reference_counted, close_fake),
        cmocka_unit_test_teardown(a_wrong_struct_version_is_refused, close_fake),
        cmocka_unit_test_teardown(v1_memory_counts_reserved_as_used, close_fake),
        cmocka_unit_test_teardown(process_lists_follow_the_size_protocol, close_fake),
        cmocka_unit_test_teardown(r535_v3_writes_32_byte_entries, close_fake),
        cmocka_unit_test_teardown(short_buffers_get_insufficient_size, close_fake),
        cmocka_unit_test_teardown(bad_handles_and_indices_are_invalid_arguments, close_fake),
        cmocka_unit_test_teardown(missing_fields_are_not_supported_and_lost_gpus_are_lost,
                                  close_fake),
        cmocka_unit_test_teardown(topology_comes_from_either_side_of_a_pair, close_fake),
        cmocka_unit_test_teardown(topology_unknown_is_not_supported_and_lost_is_lost, close_fake),
        cmocka_unit_test_teardown(driver_not_loaded, close_fake),
        cmocka_unit_test_teardown(events_come_after_registration_once, close_fake),
        cmocka_unit_test_teardown(r470_lacks_newer_entry_points, close_fake),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
