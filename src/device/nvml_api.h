/* nvml_api.h: the NVIDIA backend's loaded entry points and state, shared by its two files:
 * nvml.c (loading, devices, gauges) and nvml_procs.c (process lists). */
#ifndef GPUCTL_DEVICE_NVML_API_H
#define GPUCTL_DEVICE_NVML_API_H

#include <stdbool.h>

#include <gpuctl/gpuctl.h>

#include "device/backend.h"
#include "device/nvml_abi.h"

typedef int (*nvml_proc_fn)(struct nvml_device *, unsigned *, void *);

/* The entry points gpuctl uses; optional ones may stay NULL. */
struct nvml_api {
    int (*init)(void);
    int (*shutdown)(void);
    const char *(*error_string)(int);
    int (*system_driver_version)(char *, unsigned);
    int (*system_nvml_version)(char *, unsigned);
    int (*system_cuda_version)(int *);
    int (*device_count)(unsigned *);
    int (*handle_by_index)(unsigned, struct nvml_device **);
    int (*name)(struct nvml_device *, char *, unsigned);
    int (*uuid)(struct nvml_device *, char *, unsigned);
    int (*pci_info)(struct nvml_device *, struct nvml_pci_info *);
    int (*compute_capability)(struct nvml_device *, int *, int *);
    int (*memory_info)(struct nvml_device *, struct nvml_memory *);
    int (*memory_info_v2)(struct nvml_device *, struct nvml_memory_v2 *);
    int (*utilization)(struct nvml_device *, struct nvml_utilization *);
    int (*temperature_v)(struct nvml_device *, struct nvml_temperature *);
    int (*temperature)(struct nvml_device *, int, unsigned *);
    int (*power_usage)(struct nvml_device *, unsigned *);
    int (*enforced_power_limit)(struct nvml_device *, unsigned *);
    int (*power_management_limit)(struct nvml_device *, unsigned *);
    int (*clock_info)(struct nvml_device *, int, unsigned *);
    int (*max_clock_info)(struct nvml_device *, int, unsigned *);
    int (*fan_speed)(struct nvml_device *, unsigned *);
    int (*clock_event_reasons)(struct nvml_device *, unsigned long long *);
    int (*mig_mode)(struct nvml_device *, unsigned *, unsigned *);
    int (*total_ecc_errors)(struct nvml_device *, int, int, unsigned long long *);
    int (*remapped_rows)(struct nvml_device *, unsigned *, unsigned *, unsigned *, unsigned *);
    int (*event_set_create)(void **);
    int (*supported_event_types)(struct nvml_device *, unsigned long long *);
    int (*register_events)(struct nvml_device *, unsigned long long, void *);
    int (*event_set_wait)(void *, struct nvml_event_data *, unsigned);
    int (*event_set_free)(void *);
    int (*topology_common_ancestor)(struct nvml_device *, struct nvml_device *, int *);
    int (*p2p_status)(struct nvml_device *, struct nvml_device *, int, int *);
    int (*conf_compute_mem_size_info)(void);  /* presence only: R530+ */
    int (*running_process_detail_list)(void); /* presence only: R550+ */
    nvml_proc_fn compute_v3, compute_v2, compute_v1;
    nvml_proc_fn graphics_v3, graphics_v2, graphics_v1;
};

struct nvml_state {
    void *lib;
    unsigned flags; /* GPUCTL_OPEN_* */
    struct nvml_api api;
    /* Owned by the thread that waits for events (refresh never touches these): */
    void *events;   /* the event set, made at the first wait */
    bool no_events; /* this library or these GPUs cannot deliver any */
    size_t n_event_handles;
    struct nvml_device **event_handles; /* slot i's handle if it was registered, else NULL */
    bool events_partial;                /* some GPUs could not register (lost, ...) */
    int64_t events_built_ms;            /* when the set was made (CLOCK_MONOTONIC) */
};

/* NVML's message for a return code. */
const char *nvml_errstr(const struct nvml_state *s, int rc);

/* Checks a getter's result: true on success. GPU_IS_LOST marks the device lost (read nothing
 * more); other failures are logged at debug level, NOT_SUPPORTED silently. */
bool nvml_check(const struct nvml_state *s, struct gpuctl_device *d, const char *what, int rc);

/* Marks d lost when rc is GPU_IS_LOST; returns whether it did. */
bool nvml_device_failed(const struct nvml_state *s, struct gpuctl_device *d, int rc);

/* Reads d's compute and graphics processes (pid, type, memory) with the newest entry points the
 * library has, and sets GPUCTL_M_PROCESSES when a list was read. Returns 0 or GPUCTL_ENOMEM. */
int nvml_read_processes(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h);

/* Waits up to timeout_ms for an XID or ECC event of one of the n slots' GPUs (the backend's
 * wait_event). Returns 0 with ev filled (ev->device is the slot's position), GPUCTL_ENOENT on
 * timeout, GPUCTL_ENOLIB when NVML delivers no events here, GPUCTL_EIO when the wait failed
 * (the caller should pause before waiting again). */

int nvml_wait_event(void *state, struct devslot *const *slots, size_t n, unsigned timeout_ms,
                    struct gpuctl_event *ev);

/* How closely two of the backend's GPUs are joined (the backend's link): GPUCTL_LINK_BOARD,
 * GPUCTL_LINK_NVLINK when the NVLink P2P status is OK, else NVML's common-ancestor level; -1
 * when NVML cannot tell (entry point missing, an error, a lost GPU or one without a handle). */
int nvml_link(void *state, const struct devslot *a, const struct devslot *b);

/* Frees the event set, if one was made. */
void nvml_events_close(struct nvml_state *s);

#endif
