/*
 * sched.h: the scheduler: GPUs promised to owners (allocations), with memory reservations and
 * per-GPU limits per kind of work, a queue that never loses what it holds, and the tasks the
 * daemon runs on what it promised. Decisions come from the monitor's snapshots plus the ledger;
 * the ledger is the truth, the driver's free memory the second check. Every change is committed
 * to SQLite before it is answered.
 *
 * Thread-safe: one lock serializes every change (requests and the scheduler's own thread).
 * Locks: the scheduler's, then the monitor's (it reads snapshots), then SQLite's.
 */
#ifndef GPUCTL_SCHED_SCHED_H
#define GPUCTL_SCHED_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "monitor/monitor.h"
#include "sched/alloc.h"
#include "store/store.h"

struct sched;

struct sched_options {
    const struct config *cfg;
    struct store *store;
    struct monitor *monitor;
    const struct gpuctl *machine; /* the monitor's, opened with GPUCTL_OPEN_LINKS: how GPUs are
                                     joined, for multi-GPU placement (may be NULL) */
    const char *procfs_root; /* where processes are looked up (their liveness, their parents) */
    const char *state_dir;   /* task logs go under <state_dir>/tasks/ID/ */
    enum sched_policy policy;
    unsigned grace_ms; /* between a cancel's SIGTERM and its SIGKILL */
};

/* Who asks: a unix socket's peer (uid known) or a token's user (uid -1). */
struct sched_caller {
    int uid, gid; /* -1 when unknown */
    int pid;      /* the unix peer's process; 0 when unknown */
    char user[64];
    bool admin;
    bool token; /* a bearer token named user (uid is then -1) */
};

/* What an allocation request got. */
struct sched_answer {
    struct allocation a; /* a copy; release it with sched_answer_release() */
    json_t *env;         /* the environment for its GPUs, once active (NULL otherwise) */
    json_t *reasons;     /* why no GPU fits now: [{"device", "reason"}] (NULL when placed) */
    size_t position;     /* 1-based place in the queue while queued */
};

void sched_answer_release(struct sched_answer *ans);

/* Opens the scheduler over the store's ledger: queued allocations come back in their order,
 * running tasks are adopted if alive or marked failed, allocations whose process is gone are
 * released. Starts its thread. Returns 0, or an error with msg. */
int sched_open(const struct sched_options *o, struct sched **out, char *msg, size_t len);

/* Stops the thread (tasks keep running; the next daemon adopts them) and frees s. */
void sched_close(struct sched *s);

/*
 * Asks for GPUs. Returns 0 with the allocation active (or on the CPU, by fallback) or queued
 * (when the request may wait); GPUCTL_EINVAL with msg for a request that cannot make sense here
 * (an index out of range, more GPUs or memory than the machine has, a model it lacks);
 * GPUCTL_ENODEV with msg and ans->reasons when nothing fits now and it may not wait; GPUCTL_EIO
 * when the ledger cannot be written. task_id links a task's allocation (0 for none).
 */
int sched_allocate(struct sched *s, const struct sched_request *r, const struct sched_caller *c,
                   int64_t task_id, struct sched_answer *ans, char *msg, size_t len);

/* Whether r could be granted now, changing nothing: 0 with ans filled: what would be given (its
 * devices and environment, not kept) or, when nothing fits, the reasons per GPU; GPUCTL_EINVAL
 * with msg for a request that cannot make sense here. */
int sched_validate(struct sched *s, const struct sched_request *r, struct sched_answer *ans,
                   char *msg, size_t len);

/* Releases (or withdraws, when queued) allocation id. Only its owner or an admin may. Returns
 * 0, GPUCTL_ENOENT, GPUCTL_EPERM (with msg) or GPUCTL_EIO. */
int sched_release(struct sched *s, int64_t id, const struct sched_caller *c, char *msg, size_t len);

/* The allocation id as it stands (any state). Returns 0 or GPUCTL_ENOENT. */
int sched_get(struct sched *s, int64_t id, struct sched_answer *ans);

/* GET /api/v2/resources: device_usage, active_tasks and limits per device (guide 003). */
json_t *sched_resources(struct sched *s);

/* How many times the set of active allocations has changed (without the lock): answers that show
 * them are current while it and the snapshot they were made from are. */
uint64_t sched_active_changes(struct sched *s);

/* {"cuda:0": {"training": N, "inference": N, "other": N}, ...}: the active allocations of each
 * kind per GPU (named as of the last pass; no pass is run). */
json_t *sched_usage(struct sched *s);

/* The open allocations (queued and active), for listing. */
json_t *sched_allocations(struct sched *s);

/* Sets limits from guide 003's {"cuda:0": {"training": 1, "inference": 4}}. Admins only.
 * Returns 0, or GPUCTL_EINVAL with msg (nothing changed). */
int sched_set_limits(struct sched *s, const json_t *max_concurrent, const struct sched_caller *c,
                     char *msg, size_t len);

/* The JSON of an allocation, with its devices named from the latest snapshot. */
json_t *sched_alloc_json(struct sched *s, const struct sched_answer *ans);

/* A command to run as a task. */
struct task_spec {
    const json_t *argv; /* a non-empty list of strings */
    const json_t *env;  /* an object of strings, or NULL: the task's environment (the client's) */
    const char *cwd;    /* an absolute directory, or NULL for the owner's home */
};

/*
 * Queues a task: its allocation (from r) first, the task once that is active, run as caller c
 * with its output in <state_dir>/tasks/ID/. Returns 0 with *id; GPUCTL_EINVAL with msg for a bad
 * command or request; GPUCTL_EPERM when this daemon cannot run tasks as c; GPUCTL_ENODEV when
 * nothing fits and r may not wait; GPUCTL_EIO.
 */
int sched_submit(struct sched *s, const struct task_spec *spec, const struct sched_request *r,
                 const struct sched_caller *c, int64_t *id, char *msg, size_t len);

/* Cancels task id: withdrawn while queued; SIGTERM to its process group, SIGKILL after the grace
 * period, while running. Only its owner or an admin may. Returns 0, GPUCTL_ENOENT, GPUCTL_EPERM
 * or GPUCTL_EINVAL (already ended), with msg. */
int sched_cancel(struct sched *s, int64_t id, const struct sched_caller *c, char *msg, size_t len);

/* Task id as JSON, or NULL when there is none. */
json_t *sched_task(struct sched *s, int64_t id);

/* The tasks, newest first: the unfinished ones, or the last 1000 with all. */
json_t *sched_tasks(struct sched *s, bool all);

/* Codes that sched functions return besides gpuctl's, mapped by the API: */
#define SCHED_EPERM (-100) /* not the owner and not an admin */

#endif
