/* ledger.c: allocations, tasks and limits in SQLite. */
#include "store/ledger.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "store/store_db.h"
#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

#define ALLOC_COLUMNS                                                                              \
    "id, task_id, uid, owner, pid, pid_start, state, request, on_cpu, devices, created, "          \
    "started, ended, reason"
#define TASK_COLUMNS                                                                               \
    "id, alloc_id, uid, gid, owner, kind, argv, env, cwd, state, exit_status, signal, message, "   \
    "stdout_path, stderr_path, pid, pid_start, cancel_requested, created, started, ended"

static int failed(struct store *s, const char *what)
{
    log_error("ledger: cannot %s: %s", what, sqlite3_errmsg(s->lg));
    return GPUCTL_EIO;
}

int ledger_begin(struct store *s)
{
    return sqlite3_exec(s->lg, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : failed(s, "begin a transaction");
}

int ledger_end(struct store *s, bool ok)
{
    if (ok && sqlite3_exec(s->lg, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    sqlite3_exec(s->lg, "ROLLBACK", NULL, NULL, NULL);
    return ok ? failed(s, "commit") : 0;
}

/* Prepares *st once; later calls reuse it. */
static sqlite3_stmt *prepared(struct store *s, sqlite3_stmt **st, const char *sql)
{
    if (!*st &&
        sqlite3_prepare_v3(s->lg, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return *st;
}

static char *devices_json(const struct allocation *a)
{
    json_t *list = json_array();
    char *text;

    for (size_t i = 0; i < a->ndev; i++)
        json_array_append_new(list, json_pack("{s:s, s:i, s:I}", "uuid", a->dev[i].uuid, "pos",
                                              (int)a->dev[i].pos, "memory",
                                              (json_int_t)a->dev[i].memory));
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text;
}

static void bind_time(sqlite3_stmt *st, int col, int64_t ms)
{
    if (ms)
        sqlite3_bind_int64(st, col, ms);
    else
        sqlite3_bind_null(st, col);
}

static void bind_alloc(sqlite3_stmt *st, const struct allocation *a, char *request, char *devices)
{
    if (a->id)
        sqlite3_bind_int64(st, 1, a->id);
    if (a->task_id)
        sqlite3_bind_int64(st, 2, a->task_id);
    sqlite3_bind_int(st, 3, a->uid);
    sqlite3_bind_text(st, 4, a->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, a->pid);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)a->pid_start);
    sqlite3_bind_text(st, 7, alloc_state_name(a->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, request, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, a->on_cpu);
    sqlite3_bind_text(st, 10, devices, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, a->created_ms);
    bind_time(st, 12, a->started_ms);
    bind_time(st, 13, a->ended_ms);
    sqlite3_bind_text(st, 14, a->reason, -1, SQLITE_STATIC);
}

int ledger_put_alloc(struct store *s, struct allocation *a)
{
    sqlite3_stmt *st = prepared(s, &s->put_alloc,
                                "INSERT OR REPLACE INTO allocations (" ALLOC_COLUMNS ") VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    json_t *req = request_to_json(&a->req);
    char *request = req ? json_dumps(req, JSON_COMPACT) : NULL;
    char *devices = devices_json(a);
    int ret = 0;

    json_decref(req);
    if (!st || !request || !devices)
        ret = st ? GPUCTL_ENOMEM : failed(s, "prepare the allocation statement");
    if (!ret) {
        bind_alloc(st, a, request, devices);
        if (sqlite3_step(st) != SQLITE_DONE)
            ret = failed(s, "write an allocation");
        else if (!a->id)
            a->id = sqlite3_last_insert_rowid(s->lg);
        sqlite3_reset(st);
    }
    free(request);
    free(devices);
    return ret;
}

static void bind_task(sqlite3_stmt *st, const struct task *t)
{
    if (t->id)
        sqlite3_bind_int64(st, 1, t->id);
    if (t->alloc_id)
        sqlite3_bind_int64(st, 2, t->alloc_id);
    sqlite3_bind_int(st, 3, t->uid);
    sqlite3_bind_int(st, 4, t->gid);
    sqlite3_bind_text(st, 5, t->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, sched_kind_name(t->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, t->argv_json ? t->argv_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, t->env_json ? t->env_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, t->cwd, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, task_state_name(t->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, t->exit_status);
    sqlite3_bind_int(st, 12, t->signal);
    sqlite3_bind_text(st, 13, t->message, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, t->stdout_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, t->stderr_path, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 16, t->pid);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)t->pid_start);
    sqlite3_bind_int(st, 18, t->cancel_requested);
    sqlite3_bind_int64(st, 19, t->created_ms);
    bind_time(st, 20, t->started_ms);
    bind_time(st, 21, t->ended_ms);
}

int ledger_put_task(struct store *s, struct task *t)
{
    sqlite3_stmt *st = prepared(s, &s->put_task,
                                "INSERT OR REPLACE INTO tasks (" TASK_COLUMNS ") VALUES (?1, ?2, "
                                "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                                "?17, ?18, ?19, ?20, ?21)");
    int ret = 0;

    if (!st)
        return failed(s, "prepare the task statement");
    bind_task(st, t);
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = failed(s, "write a task");
    else if (!t->id)
        t->id = sqlite3_last_insert_rowid(s->lg);
    sqlite3_reset(st);
    return ret;
}

static const char *text_at(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? (const char *)t : "";
}

/* Reads the devices list of a row into a. */
static void read_devices(const char *text, struct allocation *a)
{
    json_t *list = json_loads(text, 0, NULL);
    size_t n = json_array_size(list);

    a->ndev = 0;
    a->dev = n ? calloc(n, sizeof(*a->dev)) : NULL;
    for (size_t i = 0; a->dev && i < n; i++) {
        json_t *d = json_array_get(list, i);
        const char *uuid = json_string_value(json_object_get(d, "uuid"));
        str_copy(a->dev[i].uuid, uuid ? uuid : "", sizeof(a->dev[i].uuid));
        a->dev[i].pos = (size_t)json_integer_value(json_object_get(d, "pos"));
        a->dev[i].memory = (uint64_t)json_integer_value(json_object_get(d, "memory"));
        a->ndev++;
    }
    json_decref(list);
}

static void read_alloc(sqlite3_stmt *st, struct allocation *a)
{
    json_t *req = json_loads(text_at(st, 7), 0, NULL);
    char msg[256];

    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    a->task_id = sqlite3_column_int64(st, 1);
    a->uid = sqlite3_column_int(st, 2);
    str_copy(a->owner, text_at(st, 3), sizeof(a->owner));
    a->pid = sqlite3_column_int(st, 4);
    a->pid_start = (uint64_t)sqlite3_column_int64(st, 5);
    alloc_state_parse(text_at(st, 6), &a->state);
    if (request_from_json(req, NULL, &a->req, msg, sizeof(msg)) != 0)
        log_warn("ledger: allocation %lld: %s", (long long)a->id, msg);
    json_decref(req);
    a->on_cpu = sqlite3_column_int(st, 8) != 0;
    read_devices(text_at(st, 9), a);
    a->created_ms = sqlite3_column_int64(st, 10);
    a->started_ms = sqlite3_column_int64(st, 11);
    a->ended_ms = sqlite3_column_int64(st, 12);
    str_copy(a->reason, text_at(st, 13), sizeof(a->reason));
}

static void read_task(sqlite3_stmt *st, struct task *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    t->alloc_id = sqlite3_column_int64(st, 1);
    t->uid = sqlite3_column_int(st, 2);
    t->gid = sqlite3_column_int(st, 3);
    str_copy(t->owner, text_at(st, 4), sizeof(t->owner));
    sched_kind_parse(text_at(st, 5), &t->kind);
    t->argv_json = strdup(text_at(st, 6));
    t->env_json = strdup(text_at(st, 7));
    str_copy(t->cwd, text_at(st, 8), sizeof(t->cwd));
    task_state_parse(text_at(st, 9), &t->state);
    t->exit_status = sqlite3_column_int(st, 10);
    t->signal = sqlite3_column_int(st, 11);
    str_copy(t->message, text_at(st, 12), sizeof(t->message));
    str_copy(t->stdout_path, text_at(st, 13), sizeof(t->stdout_path));
    str_copy(t->stderr_path, text_at(st, 14), sizeof(t->stderr_path));
    t->pid = sqlite3_column_int(st, 15);
    t->pid_start = (uint64_t)sqlite3_column_int64(st, 16);
    t->cancel_requested = sqlite3_column_int(st, 17) != 0;
    t->created_ms = sqlite3_column_int64(st, 18);
    t->started_ms = sqlite3_column_int64(st, 19);
    t->ended_ms = sqlite3_column_int64(st, 20);
}

/* Runs a query and calls row for each result. */
static int each_row(struct store *s, const char *sql, int64_t arg,
                    void (*row)(sqlite3_stmt *, void *), void *ctx)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->lg, sql, -1, &st, NULL) != SQLITE_OK)
        return failed(s, "prepare a query");
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        row(st, ctx);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : failed(s, "read the ledger");
}

struct alloc_visit {
    void (*fn)(void *ctx, struct allocation *a);
    void *ctx;
};

static void alloc_row(sqlite3_stmt *st, void *ctx)
{
    struct alloc_visit *v = ctx;
    struct allocation a;

    read_alloc(st, &a);
    v->fn(v->ctx, &a);
}

int ledger_open_allocs(struct store *s, void (*fn)(void *ctx, struct allocation *a), void *ctx)
{
    struct alloc_visit v = {fn, ctx};

    return each_row(s,
                    "SELECT " ALLOC_COLUMNS " FROM allocations WHERE state IN ('queued', "
                    "'active') ORDER BY id",
                    0, alloc_row, &v);
}

struct task_visit {
    void (*fn)(void *ctx, struct task *t);
    void *ctx;
};

static void task_row(sqlite3_stmt *st, void *ctx)
{
    struct task_visit *v = ctx;
    struct task t;

    read_task(st, &t);
    v->fn(v->ctx, &t);
}

int ledger_open_tasks(struct store *s, void (*fn)(void *ctx, struct task *t), void *ctx)
{
    struct task_visit v = {fn, ctx};

    return each_row(s,
                    "SELECT " TASK_COLUMNS " FROM tasks WHERE state IN ('queued', 'running') "
                    "ORDER BY id",
                    0, task_row, &v);
}

int ledger_tasks(struct store *s, bool all, unsigned limit, void (*fn)(void *ctx, struct task *t),
                 void *ctx)
{
    struct task_visit v = {fn, ctx};

    return each_row(s,
                    all ? "SELECT " TASK_COLUMNS " FROM tasks ORDER BY id DESC LIMIT ?1"
                        : "SELECT " TASK_COLUMNS " FROM tasks WHERE state IN ('queued', "
                          "'running') ORDER BY id DESC LIMIT ?1",
                    limit, task_row, &v);
}

struct one_task {
    struct task *t;
    bool found;
};

static void take_task(void *ctx, struct task *t)
{
    struct one_task *o = ctx;

    *o->t = *t;
    o->found = true;
}

int ledger_task(struct store *s, int64_t id, struct task *t)
{
    struct one_task o = {t, false};
    struct task_visit v = {take_task, &o};
    int rc = each_row(s, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1", id, task_row, &v);

    return rc ? rc : o.found ? 0 : GPUCTL_ENOENT;
}

struct one_alloc {
    struct allocation *a;
    bool found;
};

static void take_alloc(void *ctx, struct allocation *a)
{
    struct one_alloc *o = ctx;

    *o->a = *a;
    o->found = true;
}

int ledger_alloc(struct store *s, int64_t id, struct allocation *a)
{
    struct one_alloc o = {a, false};
    struct alloc_visit v = {take_alloc, &o};
    int rc =
        each_row(s, "SELECT " ALLOC_COLUMNS " FROM allocations WHERE id = ?1", id, alloc_row, &v);

    return rc ? rc : o.found ? 0 : GPUCTL_ENOENT;
}

int ledger_set_limit(struct store *s, const char *uuid, enum sched_kind kind, unsigned max)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->lg, "INSERT OR REPLACE INTO limits VALUES (?1, ?2, ?3)", -1, &st,
                           NULL) != SQLITE_OK)
        return failed(s, "prepare the limit statement");
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sched_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, max);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : failed(s, "write a limit");
}

struct limit_visit {
    void (*fn)(void *ctx, const char *uuid, enum sched_kind kind, unsigned max);
    void *ctx;
};

static void limit_row(sqlite3_stmt *st, void *ctx)
{
    struct limit_visit *v = ctx;
    enum sched_kind kind;

    if (sched_kind_parse(text_at(st, 1), &kind) == 0)
        v->fn(v->ctx, text_at(st, 0), kind, (unsigned)sqlite3_column_int64(st, 2));
}

int ledger_limits(struct store *s,
                  void (*fn)(void *ctx, const char *uuid, enum sched_kind kind, unsigned max),
                  void *ctx)
{
    struct limit_visit v = {fn, ctx};

    return each_row(s, "SELECT uuid, kind, max FROM limits", 0, limit_row, &v);
}
