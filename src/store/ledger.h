/* ledger.h: the scheduler's ledger in SQLite: allocations, tasks and per-GPU limits. Every write
 * is committed before it returns (WAL), so what the daemon acknowledged survives a kill -9. The
 * scheduler serializes the calls (one writer, under its lock). */
#ifndef GPUCTL_STORE_LEDGER_H
#define GPUCTL_STORE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/alloc.h"
#include "store/store.h"

/* Writes a: inserts it when a->id is 0 (setting a->id), else updates it. Returns 0 or
 * GPUCTL_EIO. */
int ledger_put_alloc(struct store *s, struct allocation *a);

/* Writes t the same way. */
int ledger_put_task(struct store *s, struct task *t);

/* Groups writes into one transaction: ledger_begin, the puts, ledger_end(s, ok) commits when ok,
 * else rolls back. */
int ledger_begin(struct store *s);
int ledger_end(struct store *s, bool ok);

/* Calls fn with every queued and active allocation, oldest first; fn owns a's devices (it must
 * alloc_release what it does not keep). Returns 0 or GPUCTL_EIO. */
int ledger_open_allocs(struct store *s, void (*fn)(void *ctx, struct allocation *a), void *ctx);

/* Calls fn with every queued and running task, oldest first; fn owns its strings. */
int ledger_open_tasks(struct store *s, void (*fn)(void *ctx, struct task *t), void *ctx);

/* Calls fn with the most recent tasks (at most limit), newest first, only unfinished ones unless
 * all; fn owns their strings. */
int ledger_tasks(struct store *s, bool all, unsigned limit, void (*fn)(void *ctx, struct task *t),
                 void *ctx);

/* Reads task id into *t (the caller releases it). Returns 0, GPUCTL_ENOENT or GPUCTL_EIO. */
int ledger_task(struct store *s, int64_t id, struct task *t);

/* Reads allocation id into *a (the caller releases it). Returns 0, GPUCTL_ENOENT or
 * GPUCTL_EIO. */
int ledger_alloc(struct store *s, int64_t id, struct allocation *a);

/* Sets the limit of a kind of task on GPU uuid. Returns 0 or GPUCTL_EIO. */
int ledger_set_limit(struct store *s, const char *uuid, enum sched_kind kind, unsigned max);

/* Calls fn with every limit set. */
int ledger_limits(struct store *s,
                  void (*fn)(void *ctx, const char *uuid, enum sched_kind kind, unsigned max),
                  void *ctx);

#endif
