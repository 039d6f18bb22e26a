/* sched_int.h: the scheduler's state, shared by sched.c (requests), sched_pass.c (the views of
 * the GPUs and the queue pass) and sched_tasks.c (running tasks). Not for other modules. */
#ifndef GPUCTL_SCHED_SCHED_INT_H
#define GPUCTL_SCHED_SCHED_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "monitor/snapshot.h"
#include "sched/policy.h"
#include "sched/sched.h"

/* A task the scheduler watches. */
struct task_run {
    struct task t;
    bool adopted;    /* started by an earlier daemon: not our child, watched by its start time */
    int64_t kill_at; /* after a cancel's SIGTERM: when SIGKILL follows (unix ms); 0 for none */
};

/* The GPUs as the last pass left them: the sample, the ledger's promises, the queue's holds. */
struct sched_view {
    struct snapshot *snap; /* referenced */
    size_t n;              /* GPUs */
    struct gpu_view v[SCHED_MAX_GPUS];
};

/* A shape of request in the queue: what decides where it fits, but for the memory (asking more
 * never fits where less did not). How many queued have it, and the least memory they ask. */
struct sched_shape {
    struct sched_request key;
    uint64_t hash;       /* of the key */
    size_t count;        /* 0: an empty slot, for the next new shape */
    uint64_t min_memory; /* no queued one of this shape asks less (a lower bound: exact after a
                            pass that saw the whole queue) */
};

struct sched {
    struct sched_options o;
    pthread_mutex_t lock; /* guards everything below; taken before the monitor's */
    pthread_cond_t wake;  /* the thread's: a change to act on */
    pthread_t thread;
    bool thread_started, stopping;

    struct allocation **open; /* queued and active allocations, by id */
    size_t nopen, capopen;
    size_t nholders;            /* of them, held by a process (gpuctl run): watched for its end */
    struct allocation **active; /* the active ones, in no order */
    size_t nactive, capactive;
    struct allocation **queue; /* the queued ones, in queue order (priority, then id) */
    size_t nqueue, capqueue;
    struct sched_shape *shapes; /* the shapes of request in the queue (allocation.shape) */
    size_t nshapes, capshapes;
    int64_t next_deadline;           /* no queued allocation times out before (unix ms) */
    _Atomic uint64_t active_changes; /* sched_active_changes(): also read without the lock */
    struct task_run **tasks;         /* queued and running tasks, by id */
    size_t ntasks, captasks;

    unsigned limit[SCHED_MAX_GPUS][KIND_COUNT];
    uint64_t unknown[SCHED_MAX_GPUS]; /* memory of processes the ledger does not know */
    uint64_t unknown_seq;             /* the snapshot it was counted from */
    struct sched_view view;           /* after the last pass */
};

/* How closely the GPUs are joined (gpuctl_link()), for policy_place(); all equally close when
 * the machine is not known. */
struct sched_topology sched_topology(const struct sched *s);

/* Writes a message to msg (size len) and returns code: for refusals. */
int sched_refuse(int code, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* sched_pass.c */

/* Runs the queue: grants what fits, in order (priority, then age), holding for the first that
 * does not fit the GPUs it waits for; times out what waited too long. Leaves s->view as the
 * GPUs stand after it. Returns whether anything changed. */
bool sched_pass(struct sched *s);

/*
 * Marks in v (n) the GPUs request r may use (v[i].allowed) and whether it asks for the CPU.
 * Returns 0, or GPUCTL_EINVAL with msg for a device spec or mask that names nothing here, or a
 * request the allowed GPUs could never satisfy (count, memory, model).
 */
int sched_allow(const struct snapshot *snap, const struct sched_request *r, struct gpu_view *v,
                size_t n, bool *cpu, char *msg, size_t len);

/* Grants a placed allocation the GPUs of p (reserving its memory), or the CPU when p is NULL,
 * and writes it to the ledger. Returns 0 or GPUCTL_EIO (a is left queued). */
int sched_grant(struct sched *s, struct allocation *a, const struct placement *p);

/* The environment of active allocation a. NULL when out of memory. */
json_t *sched_env(struct sched *s, const struct allocation *a);

/* queue.c */

/* Keeps new (or recovered) allocation a open: in the queue when queued, among the active ones
 * when active. Returns 0 or GPUCTL_ENOMEM (a is not kept). */
int sched_keep(struct sched *s, struct allocation *a);

/* Makes room for one more active allocation, so that sched_activate() cannot fail. Returns 0 or
 * GPUCTL_ENOMEM. */
int sched_room(struct sched *s);

/* Moves a from the queue to the active ones. Returns 0 or GPUCTL_ENOMEM (nothing moved). */
int sched_activate(struct sched *s, struct allocation *a);

/* Takes a out of the queue (nothing when it is not there). */
void sched_unqueue(struct sched *s, struct allocation *a);

/* Removes open allocation a from every list (the caller frees it). */
void sched_forget(struct sched *s, struct allocation *a);

/* a's 1-based place in the queue; 0 when it is not queued. */
size_t sched_position(const struct sched *s, const struct allocation *a);

/* When queued a times out (unix ms); INT64_MAX when it may wait for ever. */
int64_t sched_deadline(const struct allocation *a);

/* Whether two requests have the same shape: count, fraction, model, kind, device and mask, and
 * whether memory is asked (without it the fraction decides the reservation); the memory aside. */
bool sched_same_shape(const struct sched_request *a, const struct sched_request *b);

/* Ends allocation a: released or failed with reason, written to the ledger, forgotten, freed. */
void sched_end(struct sched *s, struct allocation *a, enum alloc_state st, const char *reason);

/* Start time of pid from procfs (0 when it is not running). */
uint64_t sched_pid_start(const struct sched *s, int pid);

/* sched.c: sched_allocate() after its pass, with the lock held: places r on s->view as the last
 * pass left it, or queues it, writing only the new allocation (sched_submit() does so inside its
 * transaction). */
int sched_admit(struct sched *s, const struct sched_request *r, const struct sched_caller *c,
                int64_t task_id, struct sched_answer *ans, char *msg, size_t len);

/* The open allocation id, or NULL. */
struct allocation *sched_find_open(struct sched *s, int64_t id);

/* Whether caller c may act on what uid (or, for a token's user, owner) owns. */
bool sched_may_act(const struct sched_caller *c, int uid, const char *owner);

/* sched_tasks.c */

/* Takes the tasks the ledger has open, at start: running ones are adopted if alive, else
 * failed ("lost while the daemon was down") with their allocations released. */
int sched_tasks_recover(struct sched *s);

/* Whether task id is queued or running. */
bool sched_task_open(struct sched *s, int64_t id);

/* Frees the tasks still watched (at close). */
void sched_tasks_free(struct sched *s);

/* The task thread's work once per tick: reap children, start tasks whose allocation is active,
 * end cancelled ones, check adopted ones. Called with the lock held. */
void sched_tasks_tick(struct sched *s);

#endif
