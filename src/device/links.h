/* links.h: the closeness of every two devices of the registry, asked once of their backends. */
#ifndef GPUCTL_DEVICE_LINKS_H
#define GPUCTL_DEVICE_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "device/backend.h"

/* An n×n matrix of GPUCTL_LINK_* levels, row-major: 0 on the diagonal, -1 elsewhere. NULL when
 * out of memory. Free with free(). */
int8_t *links_new(size_t n);

/* Asks be->link (when it has one) about every pair of the n slots that both belong to be, and
 * writes each answer into m both ways. state is be's. */
void links_fill(int8_t *m, const struct devslot *v, size_t n, const struct backend *be,
                void *state);

#endif
