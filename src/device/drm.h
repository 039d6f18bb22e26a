/* drm.h: finding the DRM cards (GPUs with a kernel driver) of one PCI vendor in sysfs. */
#ifndef GPUCTL_DEVICE_DRM_H
#define GPUCTL_DEVICE_DRM_H

#include <stdbool.h>
#include <stddef.h>

#include "device/pci.h"

/* One /sys/class/drm/cardN whose PCI device is bound to a wanted driver. Paths are relative to
 * the sysfs root. */
struct drm_card {
    char card[48];   /* "class/drm/card0" */
    char device[64]; /* "class/drm/card0/device": the PCI device */
    char hwmon[96];  /* "class/drm/card0/device/hwmon/hwmon3", or "" without one */
    char driver[16]; /* "amdgpu", "i915", "xe" */
    char slot[16];   /* "0000:03:00.0" */
    struct pci_addr pci;
    unsigned device_id; /* PCI device id, 0x744c */
    unsigned revision;
};

/*
 * Lists the cards under <sysfs_root>/class/drm named cardN (connectors such as card0-DP-1 and
 * render nodes are skipped) whose PCI vendor is `vendor` and whose bound driver is one of
 * `drivers` (NULL-terminated). Returns 0 and sets *out (malloc'd, the caller frees it) and *n;
 * a missing class/drm directory is 0 cards. GPUCTL_ENOMEM when out of memory.
 */
int drm_cards(const char *sysfs_root, unsigned vendor, const char *const *drivers,
              struct drm_card **out, size_t *n);

#endif
