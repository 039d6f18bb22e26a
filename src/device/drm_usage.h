/* drm_usage.h: one /proc/PID/fdinfo file read as a DRM client, in the kernel's DRM usage-stats
 * format (Documentation/gpu/drm-usage-stats.rst), for the drivers gpuctl knows. */
#ifndef GPUCTL_DEVICE_DRM_USAGE_H
#define GPUCTL_DEVICE_DRM_USAGE_H

#include <stdbool.h>

#include "device/fdinfo.h"

/*
 * Reads the fdinfo text (modified in place) of a file that process pid holds. Returns true and
 * fills *out (its counters, memory and the kinds of engine it kept busy; no utilization yet)
 * when it is a client of amdgpu, i915 or xe with a PCI device and a client id: amdgpu's and
 * i915's engine time in ns (gfx and compute; render and compute), xe's cycles against the GPU's
 * (rcs and ccs), each divided by its engine capacity; device memory from the resident, memory or
 * total figure of the device region (vram, local0, vram0).
 */
bool drm_usage_parse(char *text, int pid, struct drm_client *out);

#endif
