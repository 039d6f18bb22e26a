/* json_device.h: devices and the machine as JSON (jansson), one shape for the CLI and the API. */
#ifndef GPUCTL_API_JSON_DEVICE_H
#define GPUCTL_API_JSON_DEVICE_H

#include <jansson.h>
#include <stddef.h>

#include <gpuctl/gpuctl.h>

/* Writes a CUDA driver version (12040) as "12.4", or "" for 0. */
void json_device_cuda_version(int version, char *buf, size_t len);

/* "compute", "graphics", "compute+graphics" for GPUCTL_PROC_* bits; NULL when unknown. */
const char *json_device_process_type(unsigned type);

/* A new object for one device; metrics the device cannot report are null. NULL when out of
 * memory. */
json_t *json_device(const struct gpuctl_device *d);

/* A new object for `gpuctl info --json`: hostname, versions, backends, devices, recommended. */
json_t *json_info(const struct gpuctl *g);

#endif
