/* nvml.c: the NVIDIA backend: NVML loaded at run time with dlopen, no toolkit at build time. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/nvml_api.h"
#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

#define API(member) offsetof(struct nvml_api, member)

/* Symbols to resolve, each under its names newest first (nvml.h maps the unversioned names to
 * versioned symbols with macros, so dlsym must ask for the versioned ones). */
static const struct nvml_sym {
    size_t offset;
    bool required;
    const char *names[3];
} nvml_syms[] = {
    {API(init), true, {"nvmlInit_v2", "nvmlInit"}},
    {API(shutdown), true, {"nvmlShutdown"}},
    {API(error_string), false, {"nvmlErrorString"}},
    {API(system_driver_version), false, {"nvmlSystemGetDriverVersion"}},
    {API(system_nvml_version), false, {"nvmlSystemGetNVMLVersion"}},
    {API(system_cuda_version),
     false,
     {"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"}},
    {API(device_count), true, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"}},
    {API(handle_by_index), true, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"}},
    {API(name), false, {"nvmlDeviceGetName"}},
    {API(uuid), false, {"nvmlDeviceGetUUID"}},
    {API(pci_info),
     false,
     {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo"}},
    {API(compute_capability), false, {"nvmlDeviceGetCudaComputeCapability"}},
    {API(memory_info), false, {"nvmlDeviceGetMemoryInfo"}},
    {API(memory_info_v2), false, {"nvmlDeviceGetMemoryInfo_v2"}},
    {API(utilization), false, {"nvmlDeviceGetUtilizationRates"}},
    {API(temperature_v), false, {"nvmlDeviceGetTemperatureV"}},
    {API(temperature), false, {"nvmlDeviceGetTemperature"}},
    {API(power_usage), false, {"nvmlDeviceGetPowerUsage"}},
    {API(enforced_power_limit), false, {"nvmlDeviceGetEnforcedPowerLimit"}},
    {API(power_management_limit), false, {"nvmlDeviceGetPowerManagementLimit"}},
    {API(clock_info), false, {"nvmlDeviceGetClockInfo"}},
    {API(max_clock_info), false, {"nvmlDeviceGetMaxClockInfo"}},
    {API(fan_speed), false, {"nvmlDeviceGetFanSpeed"}},
    {API(clock_event_reasons),
     false,
     {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"}},
    {API(mig_mode), false, {"nvmlDeviceGetMigMode"}},
    {API(total_ecc_errors), false, {"nvmlDeviceGetTotalEccErrors"}},
    {API(remapped_rows), false, {"nvmlDeviceGetRemappedRows"}},
    {API(event_set_create), false, {"nvmlEventSetCreate"}},
    {API(supported_event_types), false, {"nvmlDeviceGetSupportedEventTypes"}},
    {API(register_events), false, {"nvmlDeviceRegisterEvents"}},
    {API(event_set_wait), false, {"nvmlEventSetWait_v2", "nvmlEventSetWait"}},
    {API(event_set_free), false, {"nvmlEventSetFree"}},
    {API(topology_common_ancestor), false, {"nvmlDeviceGetTopologyCommonAncestor"}},
    {API(p2p_status), false, {"nvmlDeviceGetP2PStatus"}},
    {API(conf_compute_mem_size_info), false, {"nvmlDeviceGetConfComputeMemSizeInfo"}},
    {API(running_process_detail_list), false, {"nvmlDeviceGetRunningProcessDetailList"}},
    {API(compute_v3), false, {"nvmlDeviceGetComputeRunningProcesses_v3"}},
    {API(compute_v2), false, {"nvmlDeviceGetComputeRunningProcesses_v2"}},
    {API(compute_v1), false, {"nvmlDeviceGetComputeRunningProcesses"}},
    {API(graphics_v3), false, {"nvmlDeviceGetGraphicsRunningProcesses_v3"}},
    {API(graphics_v2), false, {"nvmlDeviceGetGraphicsRunningProcesses_v2"}},
    {API(graphics_v1), false, {"nvmlDeviceGetGraphicsRunningProcesses"}},
};

const char *nvml_errstr(const struct nvml_state *s, int rc)
{
    const char *msg = s->api.error_string ? s->api.error_string(rc) : NULL;

    return msg ? msg : "unknown NVML error";
}

/* Resolves every symbol; returns the name of a missing required one, or NULL. */
static const char *load_symbols(struct nvml_state *s)
{
    for (size_t i = 0; i < sizeof(nvml_syms) / sizeof(nvml_syms[0]); i++) {
        const struct nvml_sym *sym = &nvml_syms[i];
        void *addr = NULL;

        for (size_t k = 0; k < 3 && sym->names[k] && !addr; k++)
            addr = dlsym(s->lib, sym->names[k]);
        if (!addr && sym->required)
            return sym->names[0];
        /* POSIX guarantees that a data pointer from dlsym can hold a function's address. */
        memcpy((char *)&s->api + sym->offset, &addr, sizeof(addr));
    }
    return NULL;
}

/* Explains an nvmlInit failure in one line, with the fix where there is one. */
static void explain_init_failure(const struct nvml_state *s, int rc, char *msg, size_t len)
{
    switch (rc) {
    case NVML_ERROR_DRIVER_NOT_LOADED:
        snprintf(msg, len,
                 "no NVIDIA GPUs: the NVIDIA kernel driver is not loaded "
                 "(NVML: %s); load it with 'modprobe nvidia' or install the driver",
                 nvml_errstr(s, rc));
        break;
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        snprintf(msg, len,
                 "NVIDIA GPUs unavailable: the NVML library and the loaded kernel driver "
                 "differ in version (upgraded without a reboot?); reboot or reload the "
                 "nvidia module");
        break;
    case NVML_ERROR_NO_PERMISSION:
        snprintf(msg, len,
                 "NVIDIA GPUs unavailable: this user may not open the NVIDIA devices "
                 "(NVML: %s)",
                 nvml_errstr(s, rc));
        break;
    default:
        snprintf(msg, len, "NVIDIA GPUs unavailable: NVML failed to initialize: %s (code %d)",
                 nvml_errstr(s, rc), rc);
    }
}

static void read_system(struct nvml_state *s, struct gpuctl_system *sys)
{
    int cuda = 0;

    if (s->api.system_driver_version &&
        s->api.system_driver_version(sys->driver_version, sizeof(sys->driver_version)) != 0)
        sys->driver_version[0] = '\0';
    if (s->api.system_nvml_version &&
        s->api.system_nvml_version(sys->nvml_version, sizeof(sys->nvml_version)) != 0)
        sys->nvml_version[0] = '\0';
    if (s->api.system_cuda_version && s->api.system_cuda_version(&cuda) == 0 && cuda > 0)
        sys->cuda_driver_version = cuda;
}

static int nvml_open(const struct backend_env *env, struct gpuctl_system *sys, void **state,
                     struct gpuctl_backend_status *st)
{
    struct nvml_state *s = calloc(1, sizeof(*s));
    const char *missing;
    int rc, ret = GPUCTL_ENOLIB;

    if (!s)
        return GPUCTL_ENOMEM;
    s->lib = dlopen(env->nvml_library, RTLD_NOW | RTLD_LOCAL);
    if (!s->lib) {
        const char *why = dlerror();
        if (why && strstr(why, "No such file"))
            snprintf(st->message, sizeof(st->message),
                     "no NVIDIA GPUs: %s not found (no NVIDIA driver installed)",
                     env->nvml_library);
        else
            snprintf(st->message, sizeof(st->message), "no NVIDIA GPUs: cannot load %s: %s",
                     env->nvml_library, why ? why : "unknown error");
        goto out;
    }
    missing = load_symbols(s);
    if (missing) {
        snprintf(st->message, sizeof(st->message),
                 "no NVIDIA GPUs: %s has no %s (not an NVML library?)", env->nvml_library, missing);
        goto out;
    }
    rc = s->api.init();
    if (rc != NVML_SUCCESS) {
        explain_init_failure(s, rc, st->message, sizeof(st->message));
        goto out;
    }
    read_system(s, sys);
    s->flags = env->flags;
    *state = s;
    s = NULL;
    ret = 0;
out:
    if (s && s->lib)
        dlclose(s->lib);
    free(s);
    return ret;
}

static void nvml_close(void *state)
{
    struct nvml_state *s = state;

    if (!s)
        return;
    nvml_events_close(s);
    s->api.shutdown();
    dlclose(s->lib);
    free(s);
}

bool nvml_device_failed(const struct nvml_state *s, struct gpuctl_device *d, int rc)
{
    if (rc == NVML_ERROR_GPU_IS_LOST) {
        d->state = GPUCTL_STATE_LOST;
        snprintf(d->state_message, sizeof(d->state_message),
                 "the GPU is lost (fell off the bus; see XID 79 in the kernel log): NVML: %s",
                 nvml_errstr(s, rc));
        d->valid = 0;
        return true;
    }
    return false;
}

/* Logs a failed optional read; NOT_SUPPORTED is expected and stays quiet. */
static void note_failure(const struct nvml_state *s, const struct gpuctl_device *d,
                         const char *what, int rc)
{
    if (rc != NVML_ERROR_NOT_SUPPORTED)
        log_debug("%s: %s: NVML: %s (code %d)", d->pci_bus_id, what, nvml_errstr(s, rc), rc);
}

bool nvml_check(const struct nvml_state *s, struct gpuctl_device *d, const char *what, int rc)
{
    if (rc == NVML_SUCCESS)
        return true;
    if (!nvml_device_failed(s, d, rc))
        note_failure(s, d, what, rc);
    return false;
}

static void read_pci(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h)
{
    struct nvml_pci_info pci;

    memset(&pci, 0, sizeof(pci));
    if (!s->api.pci_info || !nvml_check(s, d, "PCI info", s->api.pci_info(h, &pci)))
        return;
    pci.bus_id[sizeof(pci.bus_id) - 1] = '\0';
    pci.bus_id_legacy[sizeof(pci.bus_id_legacy) - 1] = '\0';
    if (pci.bus_id[0])
        str_copy(d->pci_bus_id, pci.bus_id, sizeof(d->pci_bus_id));
    else if (pci.bus_id_legacy[0])
        str_copy(d->pci_bus_id, pci.bus_id_legacy, sizeof(d->pci_bus_id));
    else
        snprintf(d->pci_bus_id, sizeof(d->pci_bus_id), "%04x:%02x:%02x.0", pci.domain, pci.bus,
                 pci.device);
}

/* Reads total, used, free and reserved memory: _v2 with its version, else v1 (where used
 * includes what the driver reserves). */
static void read_memory(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h)
{
    int rc = NVML_ERROR_FUNCTION_NOT_FOUND;

    if (s->api.memory_info_v2) {
        struct nvml_memory_v2 m2 = {.version = NVML_MEMORY_V2_VERSION};
        rc = s->api.memory_info_v2(h, &m2);
        if (rc == NVML_SUCCESS) {
            DEV_SET(d, memory_total_bytes, GPUCTL_M_MEMORY_TOTAL, m2.total);
            DEV_SET(d, memory_used_bytes, GPUCTL_M_MEMORY_USED, m2.used);
            DEV_SET(d, memory_free_bytes, GPUCTL_M_MEMORY_FREE, m2.free);
            DEV_SET(d, memory_reserved_bytes, GPUCTL_M_MEMORY_RESERVED, m2.reserved);
            return;
        }
        if (nvml_device_failed(s, d, rc))
            return;
        log_debug("%s: nvmlDeviceGetMemoryInfo_v2: %s; trying v1", d->pci_bus_id,
                  nvml_errstr(s, rc));
    }
    if (s->api.memory_info) {
        struct nvml_memory m = {0};
        if (nvml_check(s, d, "memory info", s->api.memory_info(h, &m))) {
            DEV_SET(d, memory_total_bytes, GPUCTL_M_MEMORY_TOTAL, m.total);
            DEV_SET(d, memory_used_bytes, GPUCTL_M_MEMORY_USED, m.used);
            DEV_SET(d, memory_free_bytes, GPUCTL_M_MEMORY_FREE, m.free);
        }
    }
}

static void read_static(const struct nvml_state *s, struct devslot *slot)
{
    struct gpuctl_device *d = &slot->dev;
    struct nvml_device *h = slot->handle;
    unsigned v = 0;
    int major = 0, minor = 0;

    read_pci(s, d, h); /* first: log lines name the device by its bus id */
    if (d->state == GPUCTL_STATE_OK && s->api.uuid &&
        !nvml_check(s, d, "UUID", s->api.uuid(h, d->uuid, sizeof(d->uuid))))
        d->uuid[0] = '\0';
    if (d->state == GPUCTL_STATE_OK && s->api.name &&
        !nvml_check(s, d, "name", s->api.name(h, d->name, sizeof(d->name))))
        d->name[0] = '\0';
    if (d->state == GPUCTL_STATE_OK && s->api.compute_capability &&
        nvml_check(s, d, "compute capability", s->api.compute_capability(h, &major, &minor))) {
        d->cc_major = major;
        DEV_SET(d, cc_minor, GPUCTL_M_COMPUTE_CAPABILITY, minor);
        snprintf(d->arch, sizeof(d->arch), "sm_%d%d", major, minor);
    }
    if (d->state == GPUCTL_STATE_OK && s->api.max_clock_info &&
        nvml_check(s, d, "max SM clock", s->api.max_clock_info(h, NVML_CLOCK_SM, &v)))
        DEV_SET(d, clock_sm_max_mhz, GPUCTL_M_CLOCK_SM_MAX, v);
    if (d->state == GPUCTL_STATE_OK && s->api.max_clock_info &&
        nvml_check(s, d, "max memory clock", s->api.max_clock_info(h, NVML_CLOCK_MEM, &v)))
        DEV_SET(d, clock_mem_max_mhz, GPUCTL_M_CLOCK_MEM_MAX, v);
}

/* Records a device whose handle NVML refused. */
static void handle_failed(const struct nvml_state *s, struct gpuctl_device *d, unsigned i, int rc)
{
    if (rc == NVML_ERROR_NO_PERMISSION) {
        d->state = GPUCTL_STATE_INACCESSIBLE;
        snprintf(d->state_message, sizeof(d->state_message),
                 "NVML device %u: this user may not open it (NVML: %s)", i, nvml_errstr(s, rc));
    } else if (!nvml_device_failed(s, d, rc)) {
        d->state = GPUCTL_STATE_ERROR;
        snprintf(d->state_message, sizeof(d->state_message),
                 "NVML device %u: cannot open it: %s (code %d)%s", i, nvml_errstr(s, rc), rc,
                 rc == NVML_ERROR_UNKNOWN ? "; after XID 79 this means it fell off the bus" : "");
    }
}

static int nvml_enumerate(void *state, struct devlist *out)
{
    struct nvml_state *s = state;
    unsigned count = 0;
    int rc = s->api.device_count(&count);

    if (rc != NVML_SUCCESS) {
        log_warn("NVML cannot count GPUs: %s (code %d)", nvml_errstr(s, rc), rc);
        return 0;
    }
    for (unsigned i = 0; i < count; i++) {
        struct devslot *slot = devlist_add(out);
        struct nvml_device *h = NULL;

        if (!slot)
            return GPUCTL_ENOMEM;
        slot->dev.vendor = GPUCTL_VENDOR_NVIDIA;
        rc = s->api.handle_by_index(i, &h);
        if (rc != NVML_SUCCESS) {
            handle_failed(s, &slot->dev, i, rc);
            continue;
        }
        slot->handle = h;
        read_static(s, slot);
    }
    return 0;
}

static void read_temperature(const struct nvml_state *s, struct gpuctl_device *d,
                             struct nvml_device *h)
{
    unsigned v = 0;

    if (s->api.temperature_v) {
        struct nvml_temperature t = {.version = NVML_TEMPERATURE_V1_VERSION,
                                     .sensor_type = NVML_TEMPERATURE_GPU};
        int rc = s->api.temperature_v(h, &t);
        if (rc == NVML_SUCCESS) {
            DEV_SET(d, temperature_c, GPUCTL_M_TEMPERATURE, t.temperature);
            return;
        }
        if (nvml_device_failed(s, d, rc) || !s->api.temperature) {
            note_failure(s, d, "temperature", rc);
            return;
        }
    }
    if (s->api.temperature &&
        nvml_check(s, d, "temperature", s->api.temperature(h, NVML_TEMPERATURE_GPU, &v)))
        DEV_SET(d, temperature_c, GPUCTL_M_TEMPERATURE, (int)v);
}

/* Power draw and the limit in force (the enforced limit, else the management limit). */
static void read_power(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h)
{
    unsigned v = 0;
    int rc = NVML_ERROR_FUNCTION_NOT_FOUND;

    if (s->api.power_usage && nvml_check(s, d, "power draw", s->api.power_usage(h, &v)))
        DEV_SET(d, power_draw_mw, GPUCTL_M_POWER_DRAW, v);
    if (d->state != GPUCTL_STATE_OK)
        return;
    if (s->api.enforced_power_limit)
        rc = s->api.enforced_power_limit(h, &v);
    if (rc != NVML_SUCCESS && !nvml_device_failed(s, d, rc) && s->api.power_management_limit)
        rc = s->api.power_management_limit(h, &v);
    if (rc == NVML_SUCCESS)
        DEV_SET(d, power_limit_mw, GPUCTL_M_POWER_LIMIT, v);
    else if (!nvml_device_failed(s, d, rc))
        note_failure(s, d, "power limit", rc);
}

/* Utilization, clocks, fan, throttle reasons and MIG mode: each a single getter. */
static void read_gauges(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h)
{
    struct nvml_utilization u = {0};
    unsigned long long reasons = 0;
    unsigned v = 0, pending = 0;

    if (s->api.utilization && nvml_check(s, d, "utilization", s->api.utilization(h, &u))) {
        if (u.gpu <= 100 && u.memory <= 100) {
            DEV_SET(d, utilization_gpu_percent, GPUCTL_M_UTIL_GPU, u.gpu);
            DEV_SET(d, utilization_memory_percent, GPUCTL_M_UTIL_MEMORY, u.memory);
        } else {
            log_debug("%s: utilization %u%%/%u%% is not a percentage", d->pci_bus_id, u.gpu,
                      u.memory);
        }
    }
    if (d->state == GPUCTL_STATE_OK && s->api.clock_info &&
        nvml_check(s, d, "SM clock", s->api.clock_info(h, NVML_CLOCK_SM, &v)))
        DEV_SET(d, clock_sm_mhz, GPUCTL_M_CLOCK_SM, v);
    if (d->state == GPUCTL_STATE_OK && s->api.clock_info &&
        nvml_check(s, d, "memory clock", s->api.clock_info(h, NVML_CLOCK_MEM, &v)))
        DEV_SET(d, clock_mem_mhz, GPUCTL_M_CLOCK_MEM, v);
    if (d->state == GPUCTL_STATE_OK && s->api.fan_speed &&
        nvml_check(s, d, "fan speed", s->api.fan_speed(h, &v)))
        DEV_SET(d, fan_percent, GPUCTL_M_FAN, v);
    if (d->state == GPUCTL_STATE_OK && s->api.clock_event_reasons &&
        nvml_check(s, d, "clock event reasons", s->api.clock_event_reasons(h, &reasons)))
        DEV_SET(d, throttle_reasons, GPUCTL_M_THROTTLE, reasons);
    if (d->state == GPUCTL_STATE_OK && s->api.mig_mode &&
        nvml_check(s, d, "MIG mode", s->api.mig_mode(h, &v, &pending)))
        DEV_SET(d, mig_enabled, GPUCTL_M_MIG, v == 1);
}

/* Volatile ECC counts and row remapping, which the daemon's health rules watch. NOT_SUPPORTED on
 * GPUs without ECC (GeForce) and, for remapping, before Ampere and under MIG. */
static void read_memory_errors(const struct nvml_state *s, struct gpuctl_device *d,
                               struct nvml_device *h)
{
    unsigned long long corrected = 0, uncorrected = 0;
    unsigned corr_rows = 0, unc_rows = 0, pending = 0, failed = 0;

    if (s->api.total_ecc_errors &&
        nvml_check(s, d, "ECC errors",
                   s->api.total_ecc_errors(h, NVML_MEMORY_ERROR_CORRECTED, NVML_VOLATILE_ECC,
                                           &corrected)) &&
        nvml_check(s, d, "ECC errors",
                   s->api.total_ecc_errors(h, NVML_MEMORY_ERROR_UNCORRECTED, NVML_VOLATILE_ECC,
                                           &uncorrected))) {
        d->ecc_corrected = corrected;
        DEV_SET(d, ecc_uncorrected, GPUCTL_M_ECC, uncorrected);
    }
    if (d->state == GPUCTL_STATE_OK && s->api.remapped_rows &&
        nvml_check(s, d, "remapped rows",
                   s->api.remapped_rows(h, &corr_rows, &unc_rows, &pending, &failed))) {
        d->remap_pending = pending != 0;
        DEV_SET(d, remap_failed, GPUCTL_M_REMAP, failed != 0);
    }
}

static int nvml_refresh(void *state, struct devslot *const *slots, size_t n,
                        const struct drm_scan *scan)
{
    struct nvml_state *s = state;

    (void)scan;
    for (size_t i = 0; i < n; i++) {
        struct gpuctl_device *d = &slots[i]->dev;
        struct nvml_device *h = slots[i]->handle;
        bool was_lost = d->state == GPUCTL_STATE_LOST;
        int err;

        if (!h)
            continue;
        /* A lost GPU is asked again each time: after a reset its handle answers again. */
        d->state = GPUCTL_STATE_OK;
        d->state_message[0] = '\0';
        if (was_lost)
            read_static(s, slots[i]); /* the loss wiped what it knew */
        read_memory(s, d, h);
        if (d->state == GPUCTL_STATE_OK)
            read_gauges(s, d, h);
        if (d->state == GPUCTL_STATE_OK)
            read_temperature(s, d, h);
        if (d->state == GPUCTL_STATE_OK)
            read_power(s, d, h);
        if (d->state == GPUCTL_STATE_OK)
            read_memory_errors(s, d, h);
        if (d->state == GPUCTL_STATE_OK && !(s->flags & GPUCTL_OPEN_NO_PROCESSES)) {
            err = nvml_read_processes(s, d, h);
            if (err)
                return err;
        }
    }
    return 0;
}

static const struct mask_var nvml_masks[] = {
    {"CUDA_VISIBLE_DEVICES", NULL, &mask_cuda},
    {NULL, NULL, NULL},
};

const struct backend backend_nvml = {
    .name = "nvidia",
    .vendor = GPUCTL_VENDOR_NVIDIA,
    .device_prefix = "cuda",
    .masks = nvml_masks,
    .order_var = "CUDA_DEVICE_ORDER",
    .host_pids = true,
    .open = nvml_open,
    .enumerate = nvml_enumerate,
    .refresh = nvml_refresh,
    .wait_event = nvml_wait_event,
    .link = nvml_link,
    .close = nvml_close,
};
