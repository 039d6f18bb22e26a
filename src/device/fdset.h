/* fdset.h: which fds of every process are DRM device fds, remembered between passes so that a
 * pass asks the kernel only about fds that are new, or were DRM fds, since the last one. */
#ifndef GPUCTL_DEVICE_FDSET_H
#define GPUCTL_DEVICE_FDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdset;

/* An empty memory; NULL when out of memory. */
struct fdset *fdset_new(void);

/* fdset_free(NULL) does nothing. */
void fdset_free(struct fdset *m);

/* Starts a pass. A full pass asks about every fd again: procfs cannot tell that an fd number
 * now names another file, so a file closed and a GPU opened under its number between two passes
 * is seen at the next full pass. */
void fdset_begin(struct fdset *m, bool full);

/*
 * Process pid, started at `start` (/proc/PID/stat field 22; 0 when unknown), has the fds
 * fds[0..n) (any order; sorted in place). Calls classify(ctx, fd) for each fd that must be asked
 * about: new since the last pass, a DRM fd then, or any fd in a full pass; every fd of a process
 * that is new, or new under a reused PID (another start time). classify returns 1 for a DRM fd,
 * 0 for another, or a negative error, which stops the visit and is returned. Returns 0 or an
 * error (GPUCTL_ENOMEM).
 */
int fdset_visit(struct fdset *m, int pid, uint64_t start, int *fds, size_t n,
                int (*classify)(void *ctx, int fd), void *ctx);

/* Ends a pass: processes not visited in it are forgotten. */
void fdset_end(struct fdset *m);

#endif
