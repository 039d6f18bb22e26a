/*
 * policy.h: where a request for GPUs goes. Pure functions of a view of the GPUs (what the
 * sampler saw plus what the ledger has promised) and of the request, so that they are tested
 * and timed without a daemon: which GPUs fit, why the others do not, and which to take.
 */
#ifndef GPUCTL_SCHED_POLICY_H
#define GPUCTL_SCHED_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_MAX_GPUS     64
#define SCHED_NO_LIMIT     0xFFFFFFFFu
#define SCHED_FREE_UNKNOWN UINT64_MAX

/* What a task does; guide 003 limits training and inference per GPU. */
enum sched_kind { KIND_TRAINING, KIND_INFERENCE, KIND_OTHER, KIND_COUNT };

/* "training", "inference", "other". */
const char *sched_kind_name(enum sched_kind k);

/* Parses a kind name. Returns 0, or -1 for an unknown one. */
int sched_kind_parse(const char *s, enum sched_kind *out);

/* spread (guide 003's "least loaded") or pack (fill partly used GPUs first, keeping whole GPUs
 * free for multi-GPU work). */
enum sched_policy { SCHED_SPREAD, SCHED_PACK };

/* What the scheduler knows of one GPU. */
struct gpu_view {
    char name[96];         /* the model's name, for gpu_type */
    char device[32];       /* "cuda:0" */
    bool usable;           /* the driver can use it and it is not unhealthy */
    bool allowed;          /* the request may use it (its caller's mask, its device choice) */
    uint64_t total;        /* memory programs can have, bytes (less what the driver keeps); 0 when
                              unknown */
    uint64_t reserved;     /* what the ledger has promised on it */
    uint64_t unknown_used; /* memory held by processes the ledger does not know */
    uint64_t driver_free;  /* the driver's free memory; SCHED_FREE_UNKNOWN when it does not say */
    unsigned tasks[KIND_COUNT]; /* allocations of each kind on it */
    unsigned limit[KIND_COUNT]; /* at most so many of each kind; SCHED_NO_LIMIT */
    int util;                   /* percent; -1 when unknown */
    int64_t held_for;           /* a queued allocation it is kept for (0: none) */
};

/* A request as the policy sees it. */
struct sched_req {
    int64_t id;        /* the allocation asking (matches gpu_view.held_for) */
    unsigned count;    /* GPUs wanted */
    char gpu_type[48]; /* "" for any model */
    uint64_t memory;   /* bytes wanted on each GPU; 0: fraction decides, or any */
    double fraction;   /* of each GPU's memory, when memory is 0; 0: any */
    enum sched_kind kind;
};

/* Closeness of two GPUs (NVML's topology levels: 0 the same board ... 60 across CPUs);
 * NULL distance means all are equally close. */
struct sched_topology {
    int (*distance)(void *ctx, size_t a, size_t b);
    void *ctx;
};

struct placement {
    size_t n;
    size_t gpu[SCHED_MAX_GPUS]; /* positions in the view, best first */
};

/* Memory a GPU can still promise: total - reserved - unknown_used, never below 0. */
uint64_t policy_free(const struct gpu_view *g);

/* The memory r wants on GPU g: its bytes (the whole GPU when they are at most 5% more than it
 * holds: a GPU sold as 80 GB holds less than 80 GiB), or its fraction of g's total. */
uint64_t policy_wanted(const struct gpu_view *g, const struct sched_req *r);

/* Whether memory can be had on a GPU holding total (at most 5% more asks for all of it). */
bool policy_within(uint64_t memory, uint64_t total);

/* Whether GPU g fits r as things stand; if not, why (every failed constraint, "; "-separated,
 * into why, size len; may be NULL). */
bool policy_fits(const struct gpu_view *g, const struct sched_req *r, char *why, size_t len);

/* Whether GPU g could ever fit r: usable, allowed, the right model, enough memory in all. */
bool policy_could_fit(const struct gpu_view *g, const struct sched_req *r);

/*
 * Chooses r->count GPUs among the n of v that fit r now. spread ranks by most free memory, then
 * fewest tasks, then lowest utilization, then the higher index (GPU 0 last); pack by most tasks,
 * then least free memory, then the higher index. For several GPUs, the set whose farthest pair is
 * closest wins (topo may be NULL), ties going to the better ranked. Returns 0 with out filled,
 * or GPUCTL_ENODEV when fewer than r->count fit.
 */
int policy_place(const struct gpu_view *v, size_t n, const struct sched_req *r, enum sched_policy p,
                 const struct sched_topology *topo, struct placement *out);

/*
 * The GPUs a queued request that cannot start is waiting for: among those that could ever fit
 * it, the r->count closest to fitting (most free memory, fewest tasks). Later requests may not
 * take them, so the head of the queue cannot starve. Returns how many (into out).
 */
size_t policy_hold(const struct gpu_view *v, size_t n, const struct sched_req *r,
                   struct placement *out);

#endif
