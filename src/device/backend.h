/* backend.h: what a vendor backend gives the registry: a const table of functions. */
#ifndef GPUCTL_DEVICE_BACKEND_H
#define GPUCTL_DEVICE_BACKEND_H

#include <gpuctl/gpuctl.h>

#include "device/fdinfo.h"
#include "device/mask.h"
#include "device/pci.h"

/* Sets a metric and its validity bit together. */
#define DEV_SET(d, field, metric, value)                                                           \
    do {                                                                                           \
        (d)->field = (value);                                                                      \
        (d)->valid |= UINT64_C(1) << (metric);                                                     \
    } while (0)

/* A device as the registry keeps it: the public part first, so the two convert freely. */
struct devslot {
    struct gpuctl_device dev;
    const struct backend *be;
    void *handle;           /* the backend's own per-device handle */
    struct pci_addr pci;    /* parsed pci_bus_id; pci.known false when the bus id is unknown */
    unsigned backend_pos;   /* position in the backend's own enumeration (tie-break for sorting) */
    unsigned tiles;         /* Level Zero sub-devices (tiles) of an Intel GPU; 0 or 1: one */
    bool tiles_are_devices; /* Level Zero's FLAT hierarchy: its mask's indices count tiles */
};

/* A growable array of slots. */
struct devlist {
    struct devslot *v;
    size_t n, cap;
};

/* Appends a zeroed slot and returns it, or NULL when out of memory. */
struct devslot *devlist_add(struct devlist *l);

/* What every backend may read. */
struct backend_env {
    const char *sysfs_root;
    const char *procfs_root;
    const char *nvml_library;
    unsigned flags; /* GPUCTL_OPEN_* */
};

/* A mask variable of a backend, read by its runtime's rules; when it is unset (or set but
 * empty), `fallback` is read instead (HIP reads CUDA_VISIBLE_DEVICES then, and takes an empty
 * value of either as unset). */
struct mask_var {
    const char *name;
    const char *fallback;
    const struct mask_rules *rules;
};

struct backend {
    const char *name; /* "nvidia" */
    enum gpuctl_vendor vendor;
    const char *device_prefix;    /* "cuda" gives "cuda:N"; NULL: the device is named `name` */
    const char *alt_prefix;       /* used instead when an earlier backend's devices already have
                                     device_prefix (AMD beside NVIDIA: "rocm:N") */
    const struct mask_var *masks; /* applied in order, each to what the last left; {NULL} ends */
    const char *order_var;        /* the variable that, set to "PCI_BUS_ID", makes programs number
                                     GPUs in PCI order (CUDA_DEVICE_ORDER); NULL: they always do */

    bool host_pids;   /* its processes carry the host's PIDs (NVML): unknown in another PID
                         namespace */
    bool uses_fdinfo; /* refresh wants the pass over /proc/PID/fdinfo */

    /* Orders two of its devices as its runtime numbers them; NULL: PCI order. */
    int (*compare)(const struct devslot *a, const struct devslot *b);

    /* Opens the vendor's library or files. Returns 0 and sets *state; GPUCTL_ENOMEM; any other
     * error means "this vendor is not here", with st->message saying why in one line. May fill
     * sys. */
    int (*open)(const struct backend_env *env, struct gpuctl_system *sys, void **state,
                struct gpuctl_backend_status *st);

    /* Appends every device found, with its static facts (name, UUID, PCI id, limits), to out.
     * Returns 0 or GPUCTL_ENOMEM. */
    int (*enumerate)(void *state, struct devlist *out);

    /* Re-reads the dynamic metrics of n slots of this backend; the registry has cleared them, so
     * a field it cannot read stays invalid. Processes get pid, type, memory and utilization; the
     * registry fills in user and command. scan is this pass over /proc/PID/fdinfo when
     * uses_fdinfo, else NULL. Returns 0 or GPUCTL_ENOMEM. */
    int (*refresh)(void *state, struct devslot *const *slots, size_t n,
                   const struct drm_scan *scan);

    /* Optional: waits up to timeout_ms for a hardware event of one of the n slots (this
     * backend's); sets ev->device to the slot's position. Returns 0, GPUCTL_ENOENT on timeout,
     * or GPUCTL_ENOLIB when these devices deliver none. Runs beside refresh in another thread. */
    int (*wait_event)(void *state, struct devslot *const *slots, size_t n, unsigned timeout_ms,
                      struct gpuctl_event *ev);

    /* Optional: how closely two of its devices are joined, a GPUCTL_LINK_* level (0 the same
     * board, 5 NVLink, 10-50 the PCIe/CPU path), or -1 when it cannot tell. Called by
     * gpuctl_new() only, for each pair once, before any refresh. NULL: always unknown. */
    int (*link)(void *state, const struct devslot *a, const struct devslot *b);

    /* Releases state. */
    void (*close)(void *state);
};

extern const struct backend backend_nvml;
extern const struct backend backend_amdgpu;
extern const struct backend backend_intel;
extern const struct backend backend_cpu;

/* Adds a process to d's list (growing it), or returns the entry d already has for pid. NULL
 * when out of memory. */
struct gpuctl_process *devslot_process(struct gpuctl_device *d, int pid);

/* Every backend, in the order devices are listed: GPUs by vendor, then the CPU. */
extern const struct backend *const backends[];

#endif
