/* fdinfo.h: the GPU clients of every process, read from /proc/PID/fdinfo (the kernel's DRM usage
 * stats) in one pass for all devices, with their busy time turned into utilization between two
 * passes. */
#ifndef GPUCTL_DEVICE_FDINFO_H
#define GPUCTL_DEVICE_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/pci.h"

/* Bits of struct drm_client.uses: which kinds of engine the client has kept busy. */
#define DRM_USES_GRAPHICS 0x1u
#define DRM_USES_COMPUTE  0x2u

/* One open DRM file (a client), counted once however many fds share it. */
struct drm_client {
    int pid;
    struct pci_addr pdev;
    char driver[16];
    uint64_t id; /* drm-client-id */
    bool has_vram;
    uint64_t vram_bytes;   /* resident in device memory; at most 2^50, so sums do not wrap */
    bool has_util;         /* known from the second pass on */
    unsigned util_percent; /* busy engines' time over wall time (or cycles), capped at 100 */
    unsigned uses;         /* DRM_USES_* */
    /* the counters the next pass compares with, graphics then compute engine */
    uint64_t busy[2];     /* ns, or cycles */
    uint64_t total[2];    /* drm-total-cycles-* where the driver counts cycles */
    unsigned capacity[2]; /* identical engines behind one name (drm-engine-capacity-*) */
    bool cycles;          /* the counters are cycles against total (xe), not ns against time */
};

/* One pass over /proc. */
struct drm_scan {
    struct drm_client *v;
    size_t n;
    bool has_deltas;   /* a previous pass exists, so clients have utilization */
    size_t unreadable; /* processes whose fds this user may not read (other users' without
                          root): their clients are missing */
};

struct fdinfo_scanner;

/* A scanner of the procfs tree at procfs_root; NULL when out of memory. */
struct fdinfo_scanner *fdinfo_scanner_new(const char *procfs_root);

/*
 * Reads every process's DRM clients of the drivers gpuctl knows (amdgpu, i915, xe): the fds that
 * point into /dev/dri/ and whose fdinfo names a driver, a PCI device and a client id. Clients
 * seen in the previous pass get their utilization. The result stays valid until the next pass
 * or fdinfo_scanner_free(). Returns 0 or GPUCTL_ENOMEM; unreadable processes are skipped.
 */
int fdinfo_scan(struct fdinfo_scanner *s, const struct drm_scan **out);

struct gpuctl_device;

/*
 * Gathers the clients of scan that belong to the device at pdev (of driver `driver`). With
 * `list`, adds them to d's process list, one entry per process: device memory summed,
 * utilization summed and capped at 100 (known from the second pass on), graphics or compute from
 * the engines it kept busy. Sets *util to the clients' total utilization, capped at 100, and
 * returns true when that is known (a second pass that could read every process). Sets *oom when
 * out of memory.
 */
bool fdinfo_device_processes(const struct drm_scan *scan, const struct pci_addr *pdev,
                             const char *driver, bool list, struct gpuctl_device *d, unsigned *util,
                             bool *oom);

/* fdinfo_scanner_free(NULL) does nothing. */
void fdinfo_scanner_free(struct fdinfo_scanner *s);

#endif
