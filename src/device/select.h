/* select.h: the two rules behind gpuctl_select(): does a GPU fit, and which GPU is better. */
#ifndef GPUCTL_DEVICE_SELECT_H
#define GPUCTL_DEVICE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include <gpuctl/gpuctl.h>

/* Whether d is usable and meets the request's type, free memory and utilization constraints.
 * When not, reason (size len) lists every constraint it failed, "; "-separated. */
bool select_fits(const struct gpuctl_device *d, const struct gpuctl_select_request *req,
                 char *reason, size_t len);

/* Orders GPUs best first: most free memory, then lowest utilization, then the higher index
 * (GPU 0, where desktops and stray jobs land, is taken last). Unknown values rank after known
 * ones. Returns <0 when x is better, >0 when y is. */
int select_compare(const struct gpuctl_device *x, const struct gpuctl_device *y);

#endif
