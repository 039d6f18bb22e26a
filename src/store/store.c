/* store.c: the daemon's durable state in SQLite. */
#include "store/store.h"
#include "store/store_db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

/* Each step brings the schema from version i to i + 1; a new table is one more step. */
static const char *const migrations[] = {
    "CREATE TABLE samples_1m ("
    " uuid TEXT NOT NULL, minute INTEGER NOT NULL, samples INTEGER NOT NULL,"
    " util_avg REAL, util_max INTEGER, memory_used_avg REAL, memory_used_max INTEGER,"
    " temperature_avg REAL, temperature_max INTEGER, power_avg_w REAL, power_max_w REAL,"
    " PRIMARY KEY (uuid, minute)) WITHOUT ROWID;",
    /* 2: the scheduler's ledger (ledger.c) */
    "CREATE TABLE allocations ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, task_id INTEGER, uid INTEGER NOT NULL,"
    " owner TEXT NOT NULL, pid INTEGER NOT NULL, pid_start INTEGER NOT NULL,"
    " state TEXT NOT NULL, request TEXT NOT NULL, on_cpu INTEGER NOT NULL,"
    " devices TEXT NOT NULL, created INTEGER NOT NULL, started INTEGER, ended INTEGER,"
    " reason TEXT);"
    "CREATE INDEX allocations_open ON allocations (state) WHERE state IN ('queued', 'active');"
    "CREATE TABLE tasks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, alloc_id INTEGER, uid INTEGER NOT NULL,"
    " gid INTEGER NOT NULL, owner TEXT NOT NULL, kind TEXT NOT NULL, argv TEXT NOT NULL,"
    " env TEXT NOT NULL, cwd TEXT NOT NULL, state TEXT NOT NULL, exit_status INTEGER,"
    " signal INTEGER, message TEXT, stdout_path TEXT, stderr_path TEXT, pid INTEGER,"
    " pid_start INTEGER, cancel_requested INTEGER NOT NULL, created INTEGER NOT NULL,"
    " started INTEGER, ended INTEGER);"
    "CREATE INDEX tasks_open ON tasks (state) WHERE state IN ('queued', 'running');"
    "CREATE TABLE limits (uuid TEXT NOT NULL, kind TEXT NOT NULL, max INTEGER NOT NULL,"
    " PRIMARY KEY (uuid, kind)) WITHOUT ROWID;",
};

/* Creates dir and its parents. */
static int make_dirs(const char *dir)
{
    char path[1024];

    if (str_copy(path, dir, sizeof(path)) >= sizeof(path))
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int migrate(sqlite3 *db, char *msg, size_t len)
{
    sqlite3_stmt *st;
    int version = 0;
    char *err = NULL;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    for (int v = version; v < (int)(sizeof(migrations) / sizeof(migrations[0])); v++) {
        char sql[4096];
        snprintf(sql, sizeof(sql), "BEGIN; %s PRAGMA user_version = %d; COMMIT;", migrations[v],
                 v + 1);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
            snprintf(msg, len, "cannot update the database schema to version %d: %s", v + 1,
                     err ? err : "unknown error");
            sqlite3_free(err);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

int store_open(const char *dir, struct store **out, char *msg, size_t msg_len)
{
    struct store *s = calloc(1, sizeof(*s));
    char path[1100];

    if (!s)
        return GPUCTL_ENOMEM;
    snprintf(path, sizeof(path), "%s/gpuctl.db", dir);
    if (make_dirs(dir) != 0) {
        snprintf(msg, msg_len, "cannot create the state directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(msg, msg_len, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        snprintf(msg, msg_len, "cannot use %s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    if (migrate(s->db, msg, msg_len) != 0)
        goto fail;
    if (sqlite3_open_v2(path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(msg, msg_len, "cannot open %s to read: %s", path,
                 s->ro ? sqlite3_errmsg(s->ro) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->ro, 1000);
    if (sqlite3_open_v2(path, &s->lg, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        /* The ledger's commits reach the disk before they are answered: FULL syncs the WAL at
         * each commit, so an allocation or task acknowledged survives a power cut too. */
        sqlite3_exec(s->lg, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(msg, msg_len, "cannot open %s for the ledger: %s", path,
                 s->lg ? sqlite3_errmsg(s->lg) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->lg, 5000);
    *out = s;
    return 0;
fail:
    store_close(s);
    return GPUCTL_EIO;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->put_alloc);
    sqlite3_finalize(s->put_task);
    sqlite3_close(s->lg);
    sqlite3_close(s->ro);
    sqlite3_close(s->db);
    free(s);
}

static void bind_optional(sqlite3_stmt *st, int col, bool has, double v)
{
    if (has)
        sqlite3_bind_double(st, col, v);
    else
        sqlite3_bind_null(st, col);
}

static void bind_optional_int(sqlite3_stmt *st, int col, bool has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(st, col, v);
    else
        sqlite3_bind_null(st, col);
}

/* Inserts a minute; one already there (a restart within it) is merged, not replaced: counts
 * add up, averages weigh by them (either may be missing), peaks take the larger. In DO UPDATE a
 * bare column is the row already there. */
// clang-format off
static const char put_minute_sql[] =
    "INSERT INTO samples_1m VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT (uuid, minute) DO UPDATE SET samples = samples + excluded.samples"
    ", util_avg = CASE"
    "   WHEN excluded.util_avg IS NULL THEN util_avg"
    "   WHEN util_avg IS NULL THEN excluded.util_avg"
    "   ELSE (util_avg * samples + excluded.util_avg * excluded.samples)"
    "        / (samples + excluded.samples) END"
    ", memory_used_avg = CASE"
    "   WHEN excluded.memory_used_avg IS NULL THEN memory_used_avg"
    "   WHEN memory_used_avg IS NULL THEN excluded.memory_used_avg"
    "   ELSE (memory_used_avg * samples + excluded.memory_used_avg * excluded.samples)"
    "        / (samples + excluded.samples) END"
    ", temperature_avg = CASE"
    "   WHEN excluded.temperature_avg IS NULL THEN temperature_avg"
    "   WHEN temperature_avg IS NULL THEN excluded.temperature_avg"
    "   ELSE (temperature_avg * samples + excluded.temperature_avg * excluded.samples)"
    "        / (samples + excluded.samples) END"
    ", power_avg_w = CASE"
    "   WHEN excluded.power_avg_w IS NULL THEN power_avg_w"
    "   WHEN power_avg_w IS NULL THEN excluded.power_avg_w"
    "   ELSE (power_avg_w * samples + excluded.power_avg_w * excluded.samples)"
    "        / (samples + excluded.samples) END"
    ", util_max = MAX(COALESCE(util_max, excluded.util_max),"
    "            COALESCE(excluded.util_max, util_max))"
    ", memory_used_max = MAX(COALESCE(memory_used_max, excluded.memory_used_max),"
    "            COALESCE(excluded.memory_used_max, memory_used_max))"
    ", temperature_max = MAX(COALESCE(temperature_max, excluded.temperature_max),"
    "            COALESCE(excluded.temperature_max, temperature_max))"
    ", power_max_w = MAX(COALESCE(power_max_w, excluded.power_max_w),"
    "            COALESCE(excluded.power_max_w, power_max_w))";
// clang-format on

int store_put_minutes(struct store *s, const struct minute_row *rows, size_t n)
{
    sqlite3_stmt *st = NULL;
    int ret = GPUCTL_EIO;

    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return GPUCTL_EIO;
    if (sqlite3_prepare_v2(s->db, put_minute_sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct minute_row *r = &rows[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->minute);
        sqlite3_bind_int(st, 3, (int)r->samples);
        bind_optional(st, 4, r->has_util, r->util_avg);
        bind_optional_int(st, 5, r->has_util, r->util_max);
        bind_optional(st, 6, r->has_memory, r->memory_used_avg);
        bind_optional_int(st, 7, r->has_memory, (int64_t)r->memory_used_max);
        bind_optional(st, 8, r->has_temperature, r->temperature_avg);
        bind_optional_int(st, 9, r->has_temperature, r->temperature_max);
        bind_optional(st, 10, r->has_power, r->power_avg_w);
        bind_optional(st, 11, r->has_power, r->power_max_w);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    if (ret == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    log_warn("cannot store minute aggregates: %s", sqlite3_errmsg(s->db));
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return GPUCTL_EIO;
}

int store_prune(struct store *s, int64_t before)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, "DELETE FROM samples_1m WHERE minute < ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return GPUCTL_EIO;
    sqlite3_bind_int64(st, 1, before);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : GPUCTL_EIO;
}

int store_minutes(struct store *s, const char *uuid, int64_t since,
                  int (*fn)(void *ctx, const struct minute_row *row), void *ctx)
{
    static const char sql[] = "SELECT minute, samples, util_avg, util_max, memory_used_avg, "
                              "memory_used_max, temperature_avg, temperature_max, power_avg_w, "
                              "power_max_w "
                              "FROM samples_1m WHERE uuid = ?1 AND minute >= ?2 ORDER BY minute";
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL) != SQLITE_OK)
        return GPUCTL_EIO;
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct minute_row r = {.minute = sqlite3_column_int64(st, 0),
                               .samples = (unsigned)sqlite3_column_int(st, 1)};
        str_copy(r.uuid, uuid, sizeof(r.uuid));
        r.has_util = sqlite3_column_type(st, 2) != SQLITE_NULL;
        r.util_avg = sqlite3_column_double(st, 2);
        r.util_max = (unsigned)sqlite3_column_int(st, 3);
        r.has_memory = sqlite3_column_type(st, 4) != SQLITE_NULL;
        r.memory_used_avg = sqlite3_column_double(st, 4);
        r.memory_used_max = (uint64_t)sqlite3_column_int64(st, 5);
        r.has_temperature = sqlite3_column_type(st, 6) != SQLITE_NULL;
        r.temperature_avg = sqlite3_column_double(st, 6);
        r.temperature_max = sqlite3_column_int(st, 7);
        r.has_power = sqlite3_column_type(st, 8) != SQLITE_NULL;
        r.power_avg_w = sqlite3_column_double(st, 8);
        r.power_max_w = sqlite3_column_double(st, 9);

        if (fn(ctx, &r))
            break;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : GPUCTL_EIO;
}
