/* request.h: what a client asks the scheduler for (guide 001's allocate body plus gpuctl's
 * fields), read from JSON with every mistake named, and written back for the ledger. */
#ifndef GPUCTL_SCHED_REQUEST_H
#define GPUCTL_SCHED_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/policy.h"

/* The frameworks whose environment a task gets (task/env.h). */
enum framework { FRAMEWORK_NONE, FRAMEWORK_TORCH, FRAMEWORK_TF, FRAMEWORK_JAX };

/* "torch", "tf", "jax"; "" for none. */
const char *framework_name(enum framework f);

/* Parses "torch" (or "pytorch"), "tf" (or "tensorflow"), "jax". Returns 0 or -1. */
int framework_parse(const char *s, enum framework *out);

struct sched_request {
    unsigned count;    /* gpu_count, default 1 */
    char gpu_type[48]; /* "" for any model */
    uint64_t memory;   /* memory_gb as bytes (GiB), per GPU; 0 for any */
    double fraction;   /* gpu_memory_fraction (0, 1]: how much of each GPU the framework may use
                          (and the reservation, without memory_gb); 0 when not given */
    enum sched_kind kind;
    int priority;      /* higher first; default 0 */
    char device[96];   /* "auto", "cuda", "cuda:N", "rocm:N", "xpu:N", "cpu", a UUID */
    double wait_s;     /* how long it may queue: 0 not at all, < 0 for ever */
    bool fallback_cpu; /* take the CPU when no GPU can be had in time */
    enum framework framework;
    bool distributed;     /* distributed_training: MASTER_ADDR and friends */
    bool per_gpu;         /* one process per GPU, as torchrun does */
    bool mixed_precision; /* guide 001's flag, echoed in gpu_config */
    char visible[512];    /* the caller's CUDA_VISIBLE_DEVICES: only those GPUs are eligible */
    bool has_visible;
    int pid; /* the process holding it; 0 for none (released by request) */
};

/* The fields a request may hold, as a sentence for messages. */
extern const char request_fields[];

/* Reads a request from a JSON object. Returns 0, or GPUCTL_EINVAL with msg naming the field and
 * what is allowed. Unknown fields are refused, except those of extra (a NULL-terminated list of
 * names the caller reads itself). */
int request_from_json(const json_t *o, const char *const *extra, struct sched_request *r, char *msg,
                      size_t len);

/* The request as JSON (for the ledger and for answers); NULL when out of memory. */
json_t *request_to_json(const struct sched_request *r);

/* The policy's view of the request for allocation id. */
struct sched_req request_for_policy(const struct sched_request *r, int64_t id);

#endif
