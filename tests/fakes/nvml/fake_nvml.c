/* fake_nvml.c: a libnvidia-ml.so.1 with NVML's real ABI, answering from a JSON fixture.
 *
 * The fixture is the file named by $FAKE_NVML_FIXTURE, read at nvmlInit. It behaves as the real
 * library does where gpuctl can tell: reference-counted init, UNINITIALIZED before it, versioned
 * structs checked, the insufficient-size protocol for process lists, NOT_SUPPORTED for what a
 * device does not have (a field missing from the fixture), GPU_IS_LOST for a lost GPU. Built
 * with FAKE_NVML_R470 it lacks the entry points that drivers before R510 lack. The fixture
 * format is documented in tests/fakes/nvml/README.md. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nvml_types.h"

#define EXPORT __attribute__((visibility("default")))

struct nvmlDevice_st {
    _Atomic(json_t *) j; /* the device's fixture object; swapped by a live reload */
};

/* lock serializes init, shutdown and reloads. Device calls read fixture objects without it:
 * a reload swaps each device's object atomically and keeps the old fixture until the last
 * shutdown, so a call that raced with a reload still reads valid (old) values. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int init_count; /* nvmlInit calls not yet shut down */
static json_t *fixture;
static json_t *retired; /* fixtures replaced by reloads, freed at the last shutdown */
static struct nvmlDevice_st *devices;
static unsigned device_count; /* fixed at init: handles stay valid across reloads */
static struct timespec loaded_mtime;
static bool live; /* FAKE_NVML_LIVE=1: reload the fixture when its file changes */

static const struct {
    nvmlReturn_t code;
    const char *name;
    const char *text;
} returns[] = {
    {NVML_SUCCESS, "SUCCESS", "Success"},
    {NVML_ERROR_UNINITIALIZED, "UNINITIALIZED", "Uninitialized"},
    {NVML_ERROR_INVALID_ARGUMENT, "INVALID_ARGUMENT", "Invalid Argument"},
    {NVML_ERROR_NOT_SUPPORTED, "NOT_SUPPORTED", "Not Supported"},
    {NVML_ERROR_NO_PERMISSION, "NO_PERMISSION", "Insufficient Permissions"},
    {NVML_ERROR_ALREADY_INITIALIZED, "ALREADY_INITIALIZED", "Already Initialized"},
    {NVML_ERROR_NOT_FOUND, "NOT_FOUND", "Not Found"},
    {NVML_ERROR_INSUFFICIENT_SIZE, "INSUFFICIENT_SIZE", "Insufficient Size"},
    {NVML_ERROR_INSUFFICIENT_POWER, "INSUFFICIENT_POWER", "Insufficient External Power"},
    {NVML_ERROR_DRIVER_NOT_LOADED, "DRIVER_NOT_LOADED", "Driver Not Loaded"},
    {NVML_ERROR_TIMEOUT, "TIMEOUT", "Timeout"},
    {NVML_ERROR_IRQ_ISSUE, "IRQ_ISSUE", "Interrupt request issue"},
    {NVML_ERROR_LIBRARY_NOT_FOUND, "LIBRARY_NOT_FOUND", "NVML Shared Library Not Found"},
    {NVML_ERROR_FUNCTION_NOT_FOUND, "FUNCTION_NOT_FOUND", "Function Not Found"},
    {NVML_ERROR_CORRUPTED_INFOROM, "CORRUPTED_INFOROM", "Corrupted infoROM"},
    {NVML_ERROR_GPU_IS_LOST, "GPU_IS_LOST", "GPU is lost"},
    {NVML_ERROR_RESET_REQUIRED, "RESET_REQUIRED", "GPU requires restart"},
    {NVML_ERROR_OPERATING_SYSTEM, "OPERATING_SYSTEM",
     "The operating system has blocked the request."},
    {NVML_ERROR_LIB_RM_VERSION_MISMATCH, "LIB_RM_VERSION_MISMATCH",
     "RM has detected an NVML/RM version mismatch."},
    {NVML_ERROR_IN_USE, "IN_USE", "In use by another client"},
    {NVML_ERROR_MEMORY, "MEMORY", "Insufficient Memory"},
    {NVML_ERROR_NO_DATA, "NO_DATA", "No data"},
    {NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "ARGUMENT_VERSION_MISMATCH",
     "Argument version mismatch"},
    {NVML_ERROR_DEPRECATED, "DEPRECATED", "Deprecated"},
    {NVML_ERROR_NOT_READY, "NOT_READY", "Not Ready"},
    {NVML_ERROR_GPU_NOT_FOUND, "GPU_NOT_FOUND", "GPU not found"},
    {NVML_ERROR_INVALID_STATE, "INVALID_STATE", "Invalid state"},
    {NVML_ERROR_UNKNOWN, "UNKNOWN", "Unknown Error"},
};

/* The fixture object of a device. */
#define J(dev) atomic_load(&(dev)->j)

static nvmlReturn_t return_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
        if (strcmp(returns[i].name, name) == 0)
            return returns[i].code;
    fprintf(stderr, "fake NVML: unknown return code name '%s' in fixture\n", name);
    return NVML_ERROR_UNKNOWN;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
        if (returns[i].code == result)
            return returns[i].text;
    return "Unknown Error";
}

static void release_fixture(void)
{
    json_decref(fixture);
    json_decref(retired);
    fixture = retired = NULL;
    free(devices);
    devices = NULL;
    device_count = 0;
}

/* The fixture file's modification time, or zero. */
static struct timespec fixture_mtime(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return (struct timespec){0, 0};
    return st.st_mtim;
}

/* In live mode, reloads the fixture when its file changed since it was read. Devices keep their
 * handles; a device the new file no longer has keeps its last values. */
static void reload_if_changed(void)
{
    const char *path = getenv("FAKE_NVML_FIXTURE");
    struct timespec now;
    json_t *next, *list;

    if (!live || !path)
        return;
    pthread_mutex_lock(&lock);
    now = fixture_mtime(path);
    if (now.tv_sec == loaded_mtime.tv_sec && now.tv_nsec == loaded_mtime.tv_nsec)
        goto out;
    next = json_load_file(path, 0, NULL);
    if (!next) /* caught mid-write: keep the old values, try again on the next call */
        goto out;
    loaded_mtime = now;
    list = json_object_get(next, "devices");
    for (unsigned i = 0; i < device_count && i < json_array_size(list); i++)
        atomic_store(&devices[i].j, json_array_get(list, i));
    json_array_append_new(retired, fixture);
    fixture = next;
out:
    pthread_mutex_unlock(&lock);
}

static nvmlReturn_t load_fixture(void)
{
    const char *path = getenv("FAKE_NVML_FIXTURE");
    json_error_t err;
    json_t *list, *init;

    if (!path) {
        fprintf(stderr, "fake NVML: FAKE_NVML_FIXTURE is not set\n");
        return NVML_ERROR_UNKNOWN;
    }
    live = getenv("FAKE_NVML_LIVE") && strcmp(getenv("FAKE_NVML_LIVE"), "1") == 0;
    loaded_mtime = fixture_mtime(path);
    retired = json_array();
    fixture = json_load_file(path, 0, &err);
    if (!fixture) {
        fprintf(stderr, "fake NVML: %s:%d: %s\n", path, err.line, err.text);
        return NVML_ERROR_UNKNOWN;
    }
    init = json_object_get(fixture, "init");
    if (json_is_string(init) && return_by_name(json_string_value(init)) != NVML_SUCCESS) {
        nvmlReturn_t rc = return_by_name(json_string_value(init));
        release_fixture();
        return rc;
    }
    list = json_object_get(fixture, "devices");
    device_count = (unsigned)json_array_size(list);
    devices = calloc(device_count + 1, sizeof(*devices));
    if (!devices) {
        release_fixture();
        return NVML_ERROR_MEMORY;
    }
    for (unsigned i = 0; i < device_count; i++)
        atomic_init(&devices[i].j, json_array_get(list, i));
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;

    pthread_mutex_lock(&lock);
    if (init_count == 0)
        rc = load_fixture();
    if (rc == NVML_SUCCESS)
        init_count++;
    pthread_mutex_unlock(&lock);
    return rc;
}

EXPORT nvmlReturn_t nvmlInit(void)
{
    return nvmlInit_v2();
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;

    pthread_mutex_lock(&lock);
    if (init_count == 0)
        rc = NVML_ERROR_UNINITIALIZED;
    else if (--init_count == 0)
        release_fixture();
    pthread_mutex_unlock(&lock);
    return rc;
}

/* Copies a string into a caller's buffer as NVML does: INSUFFICIENT_SIZE when it does not fit. */
static nvmlReturn_t put_string(const char *s, char *buf, unsigned len)
{
    if (!buf)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (!s)
        return NVML_ERROR_NOT_SUPPORTED;
    if (strlen(s) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    return put_string(json_string_value(json_object_get(fixture, "driver_version")), version,
                      length);
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    return put_string(json_string_value(json_object_get(fixture, "nvml_version")), version, length);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    json_t *v;

    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!cudaDriverVersion)
        return NVML_ERROR_INVALID_ARGUMENT;
    v = json_object_get(fixture, "cuda_driver_version");
    if (!json_is_integer(v))
        return NVML_ERROR_NOT_SUPPORTED;
    *cudaDriverVersion = (int)json_integer_value(v);
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_R470
EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return nvmlSystemGetCudaDriverVersion(cudaDriverVersion);
}
#endif

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    *count = device_count;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count)
{
    return nvmlDeviceGetCount_v2(count);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    json_t *fail;

    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= device_count)
        return NVML_ERROR_INVALID_ARGUMENT;
    fail = json_object_get(J(&devices[index]), "handle_error");
    if (json_is_string(fail))
        return return_by_name(json_string_value(fail));
    *device = &devices[index];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/*
 * What every device call checks first, in the real library's order: initialized, a handle it
 * gave out, the GPU not lost; then the fixture's fault switches for this entry point: "delay_ms"
 * (a call that hangs) and "errors" (a forced return code). Returns SUCCESS to go on.
 */
static nvmlReturn_t enter(nvmlDevice_t d, const char *fn)
{
    json_t *delay, *forced;

    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!d || d < devices || d >= devices + device_count)
        return NVML_ERROR_INVALID_ARGUMENT;
    reload_if_changed();
    if (json_is_true(json_object_get(J(d), "lost")))
        return NVML_ERROR_GPU_IS_LOST;
    delay = json_object_get(json_object_get(J(d), "delay_ms"), fn);
    if (json_is_integer(delay))
        sleep_ms((long)json_integer_value(delay));
    forced = json_object_get(json_object_get(J(d), "errors"), fn);
    if (json_is_string(forced))
        return return_by_name(json_string_value(forced));
    return NVML_SUCCESS;
}

/* An unsigned field of the device, or of one of its objects when key2 is given. */
static nvmlReturn_t get_uint(nvmlDevice_t d, const char *key, const char *key2,
                             unsigned long long *out)
{
    json_t *v = json_object_get(J(d), key);

    if (key2)
        v = json_object_get(v, key2);
    if (!json_is_integer(v))
        return NVML_ERROR_NOT_SUPPORTED;
    *out = (unsigned long long)json_integer_value(v);
    return NVML_SUCCESS;
}

#define ENTER(d, out)                                                                              \
    do {                                                                                           \
        nvmlReturn_t entered_ = enter((d), __func__);                                              \
        if (entered_ != NVML_SUCCESS)                                                              \
            return entered_;                                                                       \
        if (!(out))                                                                                \
            return NVML_ERROR_INVALID_ARGUMENT;                                                    \
    } while (0)

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    ENTER(device, name);
    return put_string(json_string_value(json_object_get(J(device), "name")), name, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    ENTER(device, uuid);
    return put_string(json_string_value(json_object_get(J(device), "uuid")), uuid, length);
}

static nvmlReturn_t fill_pci(nvmlDevice_t device, nvmlPciInfo_t *pci, int version)
{
    const char *bus = json_string_value(json_object_get(J(device), "pci_bus_id"));
    unsigned long long id = 0;
    unsigned dom = 0, b = 0, dev = 0, fn = 0;

    if (!bus || sscanf(bus, "%x:%x:%x.%x", &dom, &b, &dev, &fn) != 4)
        return NVML_ERROR_NOT_SUPPORTED;
    memset(pci, 0, version >= 2 ? sizeof(*pci) : offsetof(nvmlPciInfo_t, busId));
    snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.0", dom, b, dev);
    if (version >= 2)
        snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.0", dom, b, dev);
    pci->domain = dom;
    pci->bus = b;
    pci->device = dev;
    if (get_uint(device, "pci_device_id", NULL, &id) == NVML_SUCCESS)
        pci->pciDeviceId = (unsigned)id;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    ENTER(device, pci);
    return fill_pci(device, pci, 3);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    ENTER(device, pci);
    return fill_pci(device, pci, 2);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    ENTER(device, pci);
    return fill_pci(device, pci, 1);
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    json_t *cc;

    ENTER(device, major && minor);
    cc = json_object_get(J(device), "compute_capability");
    if (json_array_size(cc) != 2)
        return NVML_ERROR_NOT_SUPPORTED;
    *major = (int)json_integer_value(json_array_get(cc, 0));
    *minor = (int)json_integer_value(json_array_get(cc, 1));
    return NVML_SUCCESS;
}

/* The fixture's memory: total, reserved, used (by allocations). */
static nvmlReturn_t memory(nvmlDevice_t device, unsigned long long *total,
                           unsigned long long *reserved, unsigned long long *used)
{
    *reserved = 0;
    if (get_uint(device, "memory", "total", total) != NVML_SUCCESS ||
        get_uint(device, "memory", "used", used) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    get_uint(device, "memory", "reserved", reserved);
    if (*used + *reserved > *total)
        return NVML_ERROR_UNKNOWN;
    return NVML_SUCCESS;
}

/* v1: used includes what the driver reserves. */
EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *m)
{
    unsigned long long total, reserved, used;
    nvmlReturn_t rc;

    ENTER(device, m);
    rc = memory(device, &total, &reserved, &used);
    if (rc != NVML_SUCCESS)
        return rc;
    m->total = total;
    m->used = used + reserved;
    m->free = total - used - reserved;
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_R470
EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *m)
{
    unsigned long long total, reserved, used;
    nvmlReturn_t rc;

    ENTER(device, m);
    if (m->version != nvmlMemory_v2)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    rc = memory(device, &total, &reserved, &used);
    if (rc != NVML_SUCCESS)
        return rc;
    m->total = total;
    m->reserved = reserved;
    m->used = used;
    m->free = total - used - reserved;
    return NVML_SUCCESS;
}
#endif

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *u)
{
    unsigned long long gpu, mem;

    ENTER(device, u);
    if (get_uint(device, "utilization", "gpu", &gpu) != NVML_SUCCESS ||
        get_uint(device, "utilization", "memory", &mem) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    u->gpu = (unsigned)gpu;
    u->memory = (unsigned)mem;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor,
                                             unsigned int *temp)
{
    unsigned long long v;

    ENTER(device, temp);
    if (sensor != NVML_TEMPERATURE_GPU)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (get_uint(device, "temperature", NULL, &v) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    *temp = (unsigned)v;
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_R470
EXPORT nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t device, nvmlTemperature_v1_t *t)
{
    unsigned long long v;

    ENTER(device, t);
    if (t->version != nvmlTemperature_v1)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (t->sensorType != NVML_TEMPERATURE_GPU)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (get_uint(device, "temperature", NULL, &v) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    t->temperature = (int)v;
    return NVML_SUCCESS;
}
#endif

static nvmlReturn_t uint_getter(nvmlDevice_t device, const char *key, const char *key2,
                                unsigned int *out)
{
    unsigned long long v;

    if (get_uint(device, key, key2, &v) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    *out = (unsigned)v;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    ENTER(device, power);
    return uint_getter(device, "power_usage_mw", NULL, power);
}

EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
    ENTER(device, limit);
    return uint_getter(device, "enforced_power_limit_mw", NULL, limit);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    ENTER(device, limit);
    return uint_getter(device, "power_management_limit_mw", NULL, limit);
}

static const char *clock_key(nvmlClockType_t type)
{
    return type == NVML_CLOCK_SM ? "sm" : type == NVML_CLOCK_MEM ? "mem" : NULL;
}

/* Current ("clocks") or maximum ("max_clocks") clock of one type. */
static nvmlReturn_t clock_getter(nvmlDevice_t device, const char *which, nvmlClockType_t type,
                                 unsigned int *clock)
{
    if (!clock_key(type))
        return type == NVML_CLOCK_GRAPHICS || type == NVML_CLOCK_VIDEO
                   ? NVML_ERROR_NOT_SUPPORTED
                   : NVML_ERROR_INVALID_ARGUMENT;
    return uint_getter(device, which, clock_key(type), clock);
}

EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type,
                                           unsigned int *clock)
{
    ENTER(device, clock);
    return clock_getter(device, "clocks", type, clock);
}

EXPORT nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, nvmlClockType_t type,
                                              unsigned int *clock)
{
    ENTER(device, clock);
    return clock_getter(device, "max_clocks", type, clock);
}

EXPORT nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int *speed)
{
    ENTER(device, speed);
    return uint_getter(device, "fan_speed", NULL, speed);
}

EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                              unsigned long long *reasons)
{
    ENTER(device, reasons);
    return get_uint(device, "clocks_event_reasons", NULL, reasons);
}

#ifndef FAKE_NVML_R470
EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device,
                                                           unsigned long long *reasons)
{
    ENTER(device, reasons);
    return get_uint(device, "clocks_event_reasons", NULL, reasons);
}
#endif

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current,
                                         unsigned int *pending)
{
    nvmlReturn_t rc;

    ENTER(device, current && pending);
    rc = uint_getter(device, "mig_mode", "current", current);
    if (rc == NVML_SUCCESS)
        rc = uint_getter(device, "mig_mode", "pending", pending);
    return rc;
}

/*
 * The process-list protocol of every Get*RunningProcesses entry point: with *count too small
 * (0 and a NULL buffer to ask), INSUFFICIENT_SIZE and the count needed, or SUCCESS with 0 when
 * there are none; otherwise the entries, `stride` bytes apart. A fixture's
 * "process_v3_stride": 32 makes _v3 write 32-byte entries, as some R530/R535 drivers did.
 */
static nvmlReturn_t processes(nvmlDevice_t device, const char *fn, const char *kind,
                              unsigned int *count, void *infos, size_t stride)
{
    json_t *list, *p;
    size_t i;
    nvmlReturn_t rc = enter(device, fn);

    if (rc != NVML_SUCCESS)
        return rc;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    list = json_object_get(J(device), kind);
    if (!json_is_array(list))
        return NVML_ERROR_NOT_SUPPORTED;
    if (*count < json_array_size(list)) {
        *count = (unsigned)json_array_size(list);
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (!infos && json_array_size(list) > 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (infos && json_is_true(json_object_get(J(device), "process_zero_fill")))
        memset(infos, 0, (size_t)*count * stride); /* a driver that clears what it is given */
    json_array_foreach(list, i, p)
    {
        nvmlProcessDetail_v1_t e = {0};
        json_t *mem = json_object_get(p, "used_memory");
        e.pid = (unsigned)json_integer_value(json_object_get(p, "pid"));
        e.usedGpuMemory = json_is_integer(mem) ? (unsigned long long)json_integer_value(mem)
                                               : NVML_VALUE_NOT_AVAILABLE;
        e.gpuInstanceId = 0xFFFFFFFFu;
        e.computeInstanceId = 0xFFFFFFFFu;
        memcpy((char *)infos + i * stride, &e, stride);
    }
    *count = (unsigned)json_array_size(list);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *count,
                                                         nvmlProcessInfo_v1_t *infos)
{
    return processes(device, __func__, "compute_processes", count, infos,
                     sizeof(nvmlProcessInfo_v1_t));
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *count,
                                                          nvmlProcessInfo_v1_t *infos)
{
    return processes(device, __func__, "graphics_processes", count, infos,
                     sizeof(nvmlProcessInfo_v1_t));
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device,
                                                            unsigned int *count,
                                                            nvmlProcessInfo_t *infos)
{
    return processes(device, __func__, "compute_processes", count, infos, sizeof(*infos));
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device,
                                                             unsigned int *count,
                                                             nvmlProcessInfo_t *infos)
{
    return processes(device, __func__, "graphics_processes", count, infos, sizeof(*infos));
}

#ifndef FAKE_NVML_R470
static size_t v3_stride(nvmlDevice_t device)
{
    unsigned long long stride = sizeof(nvmlProcessInfo_t);

    if (device >= devices && device < devices + device_count)
        get_uint(device, "process_v3_stride", NULL, &stride);
    return stride == sizeof(nvmlProcessDetail_v1_t) ? stride : sizeof(nvmlProcessInfo_t);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                            unsigned int *count,
                                                            nvmlProcessInfo_t *infos)
{
    return processes(device, __func__, "compute_processes", count, infos, v3_stride(device));
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device,
                                                             unsigned int *count,
                                                             nvmlProcessInfo_t *infos)
{
    return processes(device, __func__, "graphics_processes", count, infos, v3_stride(device));
}
#endif

/* Volatile ECC counts: the fixture's "ecc": {"corrected": N, "uncorrected": M}. */
EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device,
                                                nvmlMemoryErrorType_t errorType,
                                                nvmlEccCounterType_t counterType,
                                                unsigned long long *eccCounts)
{
    ENTER(device, eccCounts);
    if (counterType != NVML_VOLATILE_ECC && counterType != NVML_AGGREGATE_ECC)
        return NVML_ERROR_INVALID_ARGUMENT;
    return get_uint(device, "ecc",
                    errorType == NVML_MEMORY_ERROR_TYPE_UNCORRECTED ? "uncorrected" : "corrected",
                    eccCounts);
}

/* Row remapping: the fixture's "remapped_rows": {corrected, uncorrected, pending, failure}. */
EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows,
                                              unsigned int *uncRows, unsigned int *isPending,
                                              unsigned int *failureOccurred)
{
    static const char *const keys[] = {"corrected", "uncorrected", "pending", "failure"};
    unsigned int *out[] = {corrRows, uncRows, isPending, failureOccurred};

    ENTER(device, corrRows && uncRows && isPending && failureOccurred);
    for (size_t i = 0; i < 4; i++)
        if (uint_getter(device, "remapped_rows", keys[i], out[i]) != NVML_SUCCESS)
            return NVML_ERROR_NOT_SUPPORTED;
    return NVML_SUCCESS;
}

/*
 * Topology: a device's "common_ancestor": {"<other UUID>": 10, ...} gives the
 * nvmlGpuTopologyLevel_t of a pair and "nvlink_peers": ["<UUID>", ...] the GPUs it shares NVLink
 * with; either side of a pair may say it. Both handles pass the checks (and the fault switches)
 * of every device call.
 */
#define ENTER2(d1, d2, out)                                                                        \
    do {                                                                                           \
        nvmlReturn_t entered_ = enter((d1), __func__);                                             \
        if (entered_ == NVML_SUCCESS)                                                              \
            entered_ = enter((d2), __func__);                                                      \
        if (entered_ != NVML_SUCCESS)                                                              \
            return entered_;                                                                       \
        if (!(out))                                                                                \
            return NVML_ERROR_INVALID_ARGUMENT;                                                    \
    } while (0)

static const char *uuid_of(nvmlDevice_t d)
{
    return json_string_value(json_object_get(J(d), "uuid"));
}

/* The level of a pair: INTERNAL for one device with itself, else what either side's
 * "common_ancestor" says; NOT_SUPPORTED when neither says. */
static nvmlReturn_t common_ancestor(nvmlDevice_t d1, nvmlDevice_t d2, unsigned long long *level)
{
    if (d1 == d2) {
        *level = NVML_TOPOLOGY_INTERNAL;
        return NVML_SUCCESS;
    }
    if (uuid_of(d2) && get_uint(d1, "common_ancestor", uuid_of(d2), level) == NVML_SUCCESS)
        return NVML_SUCCESS;
    if (uuid_of(d1) && get_uint(d2, "common_ancestor", uuid_of(d1), level) == NVML_SUCCESS)
        return NVML_SUCCESS;
    return NVML_ERROR_NOT_SUPPORTED;
}

/* Whether d's "nvlink_peers" lists peer. */
static bool lists_peer(nvmlDevice_t d, nvmlDevice_t peer)
{
    const char *uuid = uuid_of(peer);
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(J(d), "nvlink_peers"), i, p)
    {
        if (uuid && json_is_string(p) && strcmp(json_string_value(p), uuid) == 0)
            return true;
    }
    return false;
}

EXPORT nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t device1, nvmlDevice_t device2,
                                                        nvmlGpuTopologyLevel_t *pathInfo)
{
    unsigned long long level;

    ENTER2(device1, device2, pathInfo);
    if (common_ancestor(device1, device2, &level) != NVML_SUCCESS)
        return NVML_ERROR_NOT_SUPPORTED;
    *pathInfo = (nvmlGpuTopologyLevel_t)level;
    return NVML_SUCCESS;
}

/* NVLINK: OK when either lists the other as an NVLink peer, else NOT_SUPPORTED. The other
 * indices: OK when the pair's common ancestor is known and no farther than the host bridge,
 * else CHIPSET_NOT_SUPPORTED. The answer is a status; the return is SUCCESS. */
EXPORT nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t device1, nvmlDevice_t device2,
                                           nvmlGpuP2PCapsIndex_t p2pIndex,
                                           nvmlGpuP2PStatus_t *p2pStatus)
{
    unsigned long long level = 0;

    ENTER2(device1, device2, p2pStatus);
    if ((unsigned)p2pIndex >= NVML_P2P_CAPS_INDEX_UNKNOWN)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (p2pIndex == NVML_P2P_CAPS_INDEX_NVLINK)
        *p2pStatus = lists_peer(device1, device2) || lists_peer(device2, device1)
                         ? NVML_P2P_STATUS_OK
                         : NVML_P2P_STATUS_NOT_SUPPORTED;
    else
        *p2pStatus = common_ancestor(device1, device2, &level) == NVML_SUCCESS &&
                             level <= NVML_TOPOLOGY_HOSTBRIDGE
                         ? NVML_P2P_STATUS_OK
                         : NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED;
    return NVML_SUCCESS;
}

/*
 * Events: each device's fixture may hold "events": [{"type": "xid", "data": 79},
 * {"type": "dbe"}, {"type": "sbe"}]; a test appends to it (FAKE_NVML_LIVE=1). As with the real
 * library, a set delivers only events that came after the device was registered, each once, and
 * only of the types it was registered for; "supported_events" (default all three) is what
 * nvmlDeviceGetSupportedEventTypes says.
 */
struct nvmlEventSet_st {
    unsigned long long *mask; /* per device; 0: not registered */
    size_t *delivered;        /* per device: events already seen */
};

#define ALL_EVENTS                                                                                 \
    (nvmlEventTypeXidCriticalError | nvmlEventTypeDoubleBitEccError |                              \
     nvmlEventTypeSingleBitEccError)

EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    nvmlEventSet_t s;

    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!set)
        return NVML_ERROR_INVALID_ARGUMENT;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NVML_ERROR_MEMORY;
    s->mask = calloc(device_count + 1, sizeof(*s->mask));
    s->delivered = calloc(device_count + 1, sizeof(*s->delivered));
    if (!s->mask || !s->delivered) {
        free(s->mask);
        free(s->delivered);
        free(s);
        return NVML_ERROR_MEMORY;
    }
    *set = s;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device,
                                                     unsigned long long *eventTypes)
{
    ENTER(device, eventTypes);
    if (get_uint(device, "supported_events", NULL, eventTypes) != NVML_SUCCESS)
        *eventTypes = ALL_EVENTS;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes,
                                             nvmlEventSet_t set)
{
    unsigned long long supported = ALL_EVENTS;

    ENTER(device, set);
    get_uint(device, "supported_events", NULL, &supported);
    if (eventTypes & ~supported)
        return NVML_ERROR_NOT_SUPPORTED;
    set->mask[device - devices] |= eventTypes;
    set->delivered[device - devices] = json_array_size(json_object_get(J(device), "events"));
    return NVML_SUCCESS;
}

static unsigned long long event_type(const char *name)
{
    if (name && strcmp(name, "dbe") == 0)
        return nvmlEventTypeDoubleBitEccError;
    if (name && strcmp(name, "sbe") == 0)
        return nvmlEventTypeSingleBitEccError;
    return nvmlEventTypeXidCriticalError;
}

/* The next undelivered event of a registered device, or false. */
static bool next_event(nvmlEventSet_t set, nvmlEventData_t *data)
{
    for (unsigned i = 0; i < device_count; i++) {
        json_t *events = json_object_get(J(&devices[i]), "events");
        while (set->mask[i] && set->delivered[i] < json_array_size(events)) {
            json_t *e = json_array_get(events, set->delivered[i]++);
            unsigned long long type = event_type(json_string_value(json_object_get(e, "type")));
            if (!(type & set->mask[i]))
                continue;
            *data = (nvmlEventData_t){
                &devices[i], type,
                (unsigned long long)json_integer_value(json_object_get(e, "data")), 0xFFFFFFFFu,
                0xFFFFFFFFu};
            return true;
        }
    }
    return false;
}

EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data,
                                        unsigned int timeoutms)
{
    long waited = 0;

    if (!init_count)
        return NVML_ERROR_UNINITIALIZED;
    if (!set || !data)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (;;) {
        reload_if_changed();
        for (unsigned i = 0; i < device_count; i++)
            if (set->mask[i] && json_is_true(json_object_get(J(&devices[i]), "lost")))
                return NVML_ERROR_GPU_IS_LOST;
        if (next_event(set, data))
            return NVML_SUCCESS;
        if (waited >= (long)timeoutms)
            return NVML_ERROR_TIMEOUT;
        sleep_ms(10);
        waited += 10;
    }
}

EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    if (!set)
        return NVML_ERROR_INVALID_ARGUMENT;
    free(set->mask);
    free(set->delivered);
    free(set);
    return NVML_SUCCESS;
}
