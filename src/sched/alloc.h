/* alloc.h: the ledger's records. An allocation is GPUs (and memory on each) promised to an owner
 * for a kind of work; a task is a command the daemon runs on an allocation. */
#ifndef GPUCTL_SCHED_ALLOC_H
#define GPUCTL_SCHED_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/request.h"

enum alloc_state { ALLOC_QUEUED, ALLOC_ACTIVE, ALLOC_RELEASED, ALLOC_FAILED };

/* "queued", "active", "released", "failed". */
const char *alloc_state_name(enum alloc_state s);
int alloc_state_parse(const char *s, enum alloc_state *out);

struct alloc_device {
    char uuid[96];   /* which GPU, across restarts */
    size_t pos;      /* its position in the daemon's device list */
    uint64_t memory; /* reserved on it, bytes */
};

struct allocation {
    int64_t id;
    int64_t task_id; /* the task it runs, or 0 */
    int uid;         /* the owner's uid; -1 when known only by a token's user */
    char owner[64];
    int pid;            /* the process holding it (gpuctl run); 0 for none */
    uint64_t pid_start; /* with pid, names the process */
    enum alloc_state state;
    size_t shape; /* while queued: its shape's slot in sched.shapes (sched/queue.c) */
    struct sched_request req;
    bool on_cpu; /* granted the CPU (fallback) */
    size_t ndev;
    struct alloc_device *dev;                 /* ndev of them (malloc'd); NULL while queued */
    int64_t created_ms, started_ms, ended_ms; /* unix ms; 0 until then */
    char reason[256];                         /* why it failed or was released */
};

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_SUCCEEDED, TASK_FAILED, TASK_CANCELLED };

/* "queued", "running", "succeeded", "failed", "cancelled". */
const char *task_state_name(enum task_state s);
int task_state_parse(const char *s, enum task_state *out);

struct task {
    int64_t id;
    int64_t alloc_id;
    int uid, gid;
    char owner[64];
    enum sched_kind kind;
    char *argv_json; /* the command and its arguments, a JSON list (malloc'd) */
    char *env_json;  /* extra environment, a JSON object (malloc'd) */
    char cwd[512];
    enum task_state state;
    int exit_status; /* with TASK_SUCCEEDED / TASK_FAILED; -1 when unknown */
    int signal;      /* the signal that ended it, or 0 */
    char message[256];
    char stdout_path[600], stderr_path[600];
    int pid;
    uint64_t pid_start;
    bool cancel_requested;
    int64_t created_ms, started_ms, ended_ms;
};

/* Frees what an allocation and a task own (not themselves). */
void alloc_release(struct allocation *a);
void task_release(struct task *t);

#endif
