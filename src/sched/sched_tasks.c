/* sched_tasks.c: the tasks the daemon runs: submitted, started once their allocation is active,
 * watched until they end, cancelled, and adopted again after a restart. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "store/ledger.h"
#include "task/spawn.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_ARGS 4096

static int keep_task(struct sched *s, struct task_run *r)
{
    if (s->ntasks == s->captasks) {
        size_t cap = s->captasks ? s->captasks * 2 : 32;
        struct task_run **v = realloc(s->tasks, cap * sizeof(*v));
        if (!v)
            return GPUCTL_ENOMEM;
        s->tasks = v;
        s->captasks = cap;
    }
    s->tasks[s->ntasks++] = r;
    return 0;
}

static void forget_task(struct sched *s, struct task_run *r)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        if (s->tasks[i] == r) {
            memmove(&s->tasks[i], &s->tasks[i + 1], (s->ntasks - i - 1) * sizeof(s->tasks[0]));
            s->ntasks--;
            break;
        }
    }
    task_release(&r->t);
    free(r);
}

/* Ends a task: its state and outcome in the ledger with its allocation's release, in one
 * transaction. */
static void finish(struct sched *s, struct task_run *r, enum task_state st, int status, int sig,
                   const char *message)
{
    struct allocation *a = sched_find_open(s, r->t.alloc_id);
    bool grouped = ledger_begin(s->o.store) == 0;
    char why[96];

    r->t.state = st;
    r->t.exit_status = status;
    r->t.signal = sig;
    r->t.ended_ms = clock_wall_ms();
    str_copy(r->t.message, message, sizeof(r->t.message));
    if (ledger_put_task(s->o.store, &r->t) != 0)
        log_error("task %lld: its end is not in the ledger", (long long)r->t.id);
    log_info("task %lld %s: %s", (long long)r->t.id, task_state_name(st), message);
    if (a) {
        snprintf(why, sizeof(why), "task %lld %s", (long long)r->t.id, task_state_name(st));
        sched_end(s, a, ALLOC_RELEASED, why);
    }
    if (grouped && ledger_end(s->o.store, true) != 0)
        log_error("task %lld: its end is not in the ledger", (long long)r->t.id);
    forget_task(s, r);
}

/* What a wait status says of how a task ended. */
static void ended(struct sched *s, struct task_run *r, int status)
{
    const char *cancelled = r->t.cancel_requested ? "cancelled: " : "";
    char what[128];

    if (WIFEXITED(status)) {
        snprintf(what, sizeof(what), "%sexited with status %d", cancelled, WEXITSTATUS(status));
        finish(s, r,
               r->t.cancel_requested      ? TASK_CANCELLED
               : WEXITSTATUS(status) == 0 ? TASK_SUCCEEDED
                                          : TASK_FAILED,
               WEXITSTATUS(status), 0, what);
    } else {
        snprintf(what, sizeof(what), "%skilled by signal %d (%s)", cancelled, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        finish(s, r, r->t.cancel_requested ? TASK_CANCELLED : TASK_FAILED, -1, WTERMSIG(status),
               what);
    }
}

/* A NULL-terminated array of the strings of a JSON list (or "NAME=value" of an object). */
static char **strings(const json_t *v, bool pairs)
{
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v), k = 0;
    char **out = calloc(n + 1, sizeof(*out));
    const char *key;
    json_t *item;
    size_t i;

    if (!out)
        return NULL;
    if (!pairs) {
        json_array_foreach(v, i, item) out[k++] = strdup(json_string_value(item));
    } else {
        json_object_foreach((json_t *)v, key, item)
        {
            if (!json_is_string(item))
                continue;
            if (asprintf(&out[k], "%s=%s", key, json_string_value(item)) >= 0)
                k++;
        }
    }
    return out;
}

static void free_strings(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The task's environment: what its owner submitted, then its allocation's (null unsets). */
static json_t *task_env(struct sched *s, const struct task_run *r, const struct allocation *a)
{
    json_t *env = json_loads(r->t.env_json ? r->t.env_json : "{}", 0, NULL);
    json_t *alloc_env = sched_env(s, a);
    const char *key;
    json_t *v;
    char id[32];

    if (!env)
        env = json_object();
    json_object_foreach(alloc_env, key, v)
    {
        if (json_is_null(v))
            json_object_del(env, key);
        else
            json_object_set(env, key, v);
    }
    snprintf(id, sizeof(id), "%lld", (long long)r->t.id);
    json_object_set_new(env, "GPUCTL_TASK_ID", json_string(id));
    json_decref(alloc_env);
    return env;
}

/* Makes <state_dir>/tasks/ID/, owned by the task's user, and the paths of its logs. */
static int log_dir(struct sched *s, struct task_run *r, char *msg, size_t len)
{
    char dir[512];

    snprintf(dir, sizeof(dir), "%s/tasks", s->o.state_dir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/tasks/%lld", s->o.state_dir, (long long)r->t.id);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sched_refuse(GPUCTL_EIO, msg, len, "cannot make %s: %s", dir, strerror(errno));
    if (geteuid() == 0 && chown(dir, (uid_t)r->t.uid, (gid_t)r->t.gid) != 0)
        return sched_refuse(GPUCTL_EIO, msg, len, "cannot give %s to uid %d: %s", dir, r->t.uid,
                            strerror(errno));
    snprintf(r->t.stdout_path, sizeof(r->t.stdout_path), "%s/stdout.log", dir);
    snprintf(r->t.stderr_path, sizeof(r->t.stderr_path), "%s/stderr.log", dir);
    return 0;
}

/* The file `name` ("pid", "status") in the task's directory, beside its logs. */
static void task_file(const struct task *t, const char *name, char *out, size_t len)
{
    const char *slash = strrchr(t->stdout_path, '/');

    snprintf(out, len, "%.*s/%s", slash ? (int)(slash - t->stdout_path) : 0, t->stdout_path, name);
}

/* The groups of the task's user (into groups, room for max); 0 when they cannot be read. */
static size_t user_groups(const struct task *t, gid_t *groups, size_t max)
{
    struct passwd pw, *res = NULL;
    char scratch[2048];
    int n = (int)max;

    if (getpwuid_r((uid_t)t->uid, &pw, scratch, sizeof(scratch), &res) != 0 || !res ||
        getgrouplist(res->pw_name, (gid_t)t->gid, groups, &n) < 0)
        return 0;
    return (size_t)n;
}

/* The paths of the files the task's keeper writes (both of size len), none there yet. */
static void keeper_files(const struct task *t, char *pid_file, char *status_file, size_t len)
{
    task_file(t, "pid", pid_file, len);
    task_file(t, "status", status_file, len);
    unlink(pid_file);
    unlink(status_file);
}

/* Marks r running in the ledger, before its fork. */
static int mark_running(struct sched *s, struct task_run *r, char *msg, size_t len)
{
    r->t.state = TASK_RUNNING;
    r->t.pid = 0;
    r->t.pid_start = 0;
    r->t.started_ms = clock_wall_ms();
    if (ledger_put_task(s->o.store, &r->t) != 0)
        return sched_refuse(GPUCTL_EIO, msg, len, "the ledger cannot be written");
    return 0;
}

/* Forks the task once its allocation is active. It is running in the ledger before it is
 * forked: a daemon killed in between finds it again by its keeper's pid file, and never starts
 * it twice. */
static int start(struct sched *s, struct task_run *r, const struct allocation *a, char *msg,
                 size_t len)
{
    json_t *argv_json = json_loads(r->t.argv_json, 0, NULL), *env = task_env(s, r, a);
    char **argv = strings(argv_json, false), **envp = strings(env, true), path[1024];
    char pid_file[640], status_file[640];
    gid_t groups[256];
    struct spawn_spec sp = {.path = path,
                            .argv = argv,
                            .envp = envp,
                            .cwd = r->t.cwd,
                            .change_user = geteuid() == 0 && r->t.uid != 0,
                            .uid = (uid_t)r->t.uid,
                            .gid = (gid_t)r->t.gid,
                            .groups = groups,
                            .stdout_path = r->t.stdout_path,
                            .stderr_path = r->t.stderr_path,
                            .pid_path = pid_file,
                            .status_path = status_file};
    int rc = argv && envp && argv[0] ? log_dir(s, r, msg, len) : GPUCTL_ENOMEM;
    pid_t pid;

    if (!rc) {
        keeper_files(&r->t, pid_file, status_file, sizeof(pid_file));
        rc = spawn_resolve(argv[0], envp, path, sizeof(path), msg, len);
    }
    if (!rc && sp.change_user)
        sp.ngroups = user_groups(&r->t, groups, sizeof(groups) / sizeof(groups[0]));
    if (!rc)
        rc = mark_running(s, r, msg, len);
    if (!rc && (pid = spawn_task(&sp, msg, len)) > 0)
        r->t.pid = pid;
    else if (!rc)
        rc = GPUCTL_EIO;
    free_strings(argv);
    free_strings(envp);
    json_decref(argv_json);
    json_decref(env);
    return rc;
}

/* Starts the queued tasks whose allocations became active; fails those whose allocations
 * ended without them. */
static void start_ready(struct sched *s)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        struct task_run *r = s->tasks[i];
        struct allocation *a = sched_find_open(s, r->t.alloc_id), gone = {0};
        char msg[512];
        if (r->t.state != TASK_QUEUED || (a && a->state != ALLOC_ACTIVE))
            continue;
        if (!a) {
            ledger_alloc(s->o.store, r->t.alloc_id, &gone);
            snprintf(msg, sizeof(msg), "its allocation %s: %s", alloc_state_name(gone.state),
                     gone.reason[0] ? gone.reason : "without it");
            alloc_release(&gone);
            finish(s, r, TASK_FAILED, -1, 0, msg);
            i--;
            continue;
        }
        if (start(s, r, a, msg, sizeof(msg)) != 0) {
            finish(s, r, TASK_FAILED, 127, 0, msg);
            i--;
            continue;
        }
        r->t.pid_start = sched_pid_start(s, r->t.pid);
        if (ledger_put_task(s->o.store, &r->t) != 0)
            log_error("task %lld: its start is not in the ledger", (long long)r->t.id);
        log_info("task %lld started as pid %d", (long long)r->t.id, r->t.pid);
    }
}

/* How a task whose keeper is gone ended: from the status file the keeper left, or as `lost`. */
static void ended_unseen(struct sched *s, struct task_run *r, const char *lost)
{
    char path[640];
    int status;

    task_file(&r->t, "status", path, sizeof(path));
    if (spawn_read_number(path, &status) == 0)
        ended(s, r, status);
    else
        finish(s, r, r->t.cancel_requested ? TASK_CANCELLED : TASK_FAILED, -1, 0, lost);
}

/* Whether pid is a keeper (spawn.c names it so) running as the task's user, uid. */
static bool is_keeper(const struct sched *s, int pid, int uid)
{
    char path[64], comm[32] = "";
    int dir = open(s->o.procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
    ssize_t n = -1;
    struct stat st;

    snprintf(path, sizeof(path), "%d", pid);
    if (dir >= 0 && (fstatat(dir, path, &st, 0) != 0 || (int)st.st_uid != uid)) {
        close(dir); /* not the task's user's: whatever its name, not this task's keeper */
        return false;
    }
    snprintf(path, sizeof(path), "%d/comm", pid);
    fd = dir >= 0 ? openat(dir, path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        n = read(fd, comm, sizeof(comm) - 1);
        close(fd);
    }
    if (dir >= 0)
        close(dir);
    return n > 0 && strncmp(comm, "gpuctl-keeper\n", (size_t)n) == 0;
}

/* Whether running task r's keeper is alive: by its pid and start time, or, when the daemon died
 * before writing those, by the pid the keeper wrote (filled in then). */
static bool keeper_alive(struct sched *s, struct task_run *r)
{
    char path[640];
    int pid;

    if (r->t.pid > 0 && r->t.pid_start)
        return sched_pid_start(s, r->t.pid) == r->t.pid_start;
    task_file(&r->t, "pid", path, sizeof(path));
    if (spawn_read_number(path, &pid) != 0 || pid <= 1 || !is_keeper(s, pid, r->t.uid))
        return false;
    r->t.pid = pid;
    r->t.pid_start = sched_pid_start(s, pid);
    return r->t.pid_start != 0;
}

/* Whether a task the ledger has running was never forked: the daemon died between writing that
 * and fork(), so there is no pid and its keeper left no file. (A keeper writes its pid file
 * before it starts the command, long before a restarted daemon looks.) */
static bool never_forked(const struct task *t)
{
    char path[640];
    struct stat st;

    if (t->pid > 0)
        return false;
    task_file(t, "pid", path, sizeof(path));
    if (stat(path, &st) == 0)
        return false;
    task_file(t, "status", path, sizeof(path));
    return stat(path, &st) != 0;
}

/* Whether child pid has ended, leaving it a zombie: its pid, and so its process group's id,
 * cannot be taken by another process until it is waited for. */
static bool ended_unwaited(pid_t pid)
{
    siginfo_t info = {0};

    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

/* Collects the tasks that ended: children by waitpid, adopted ones by their start time. What is
 * left of a cancelled task's group once its command ended gets SIGKILL at once: a process that
 * ignored the SIGTERM must not keep the GPUs the release gives to others. */
static void reap(struct sched *s)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        struct task_run *r = s->tasks[i];
        int status;
        if (r->t.state != TASK_RUNNING)
            continue;
        if (!r->adopted && r->t.cancel_requested && ended_unwaited(r->t.pid))
            spawn_signal_group(r->t.pid, SIGKILL);
        if (!r->adopted && waitpid(r->t.pid, &status, WNOHANG) == r->t.pid) {
            ended(s, r, status);
            i--;
        } else if (r->adopted && sched_pid_start(s, r->t.pid) != r->t.pid_start) {
            ended_unseen(s, r, "ended while the daemon was down; its exit status is unknown");
            i--;
        }
    }
}

void sched_tasks_tick(struct sched *s)
{
    int64_t now = clock_wall_ms();

    reap(s);
    start_ready(s);
    for (size_t i = 0; i < s->ntasks; i++) {
        struct task_run *r = s->tasks[i];
        if (r->kill_at && now >= r->kill_at && r->t.state == TASK_RUNNING) {
            log_info("task %lld: still running after the grace period: SIGKILL",
                     (long long)r->t.id);
            spawn_signal_group(r->t.pid, SIGKILL);
            r->kill_at = 0;
        }
    }
}

/* Checks a task's command, environment and directory. */
static int check_spec(const struct task_spec *spec, char *msg, size_t len)
{
    const char *key;
    struct stat st;
    json_t *v;
    size_t i;

    if (!json_is_array(spec->argv) || json_array_size(spec->argv) == 0)
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "command must be a non-empty list such as [\"python\", \"train.py\"]");
    if (json_array_size(spec->argv) > MAX_ARGS)
        return sched_refuse(GPUCTL_EINVAL, msg, len, "command has more than %d words", MAX_ARGS);
    json_array_foreach(spec->argv, i, v)
    {
        if (!json_is_string(v) || (i == 0 && !json_string_value(v)[0]))
            return sched_refuse(GPUCTL_EINVAL, msg, len,
                                "command must be a list of texts; its word %zu is not one", i);
    }
    if (spec->env && !json_is_object(spec->env))
        return sched_refuse(GPUCTL_EINVAL, msg, len, "env must be an object of NAME: value");
    json_object_foreach((json_t *)spec->env, key, v)
    {
        if (!json_is_string(v) || !key[0] || strchr(key, '='))
            return sched_refuse(GPUCTL_EINVAL, msg, len, "env.%s must be a text", key);
    }
    if (spec->cwd && (spec->cwd[0] != '/' || strlen(spec->cwd) >= sizeof(((struct task *)0)->cwd)))
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "cwd must be an absolute directory, shorter than %zu characters",
                            sizeof(((struct task *)0)->cwd));
    if (spec->cwd && (stat(spec->cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
        return sched_refuse(GPUCTL_EINVAL, msg, len, "cwd %s is not a directory here", spec->cwd);
    return 0;
}

/* The user a task runs as: the caller, if this daemon may run tasks as them. */
static int task_user(const struct sched_caller *c, struct task *t, char *msg, size_t len)
{
    uid_t me = geteuid();
    struct passwd pw, *res = NULL;
    char scratch[2048];

    if (c->uid < 0 && !c->token) /* loopback TCP without a token: anyone on this machine */
        return sched_refuse(GPUCTL_EPERM, msg, len,
                            "an anonymous caller cannot run tasks: submit over the unix socket, "
                            "or send a bearer token");
    if (c->uid < 0 && me == 0)
        return sched_refuse(
            GPUCTL_EPERM, msg, len,
            "a token names no user to run the task as: submit over the unix socket");
    t->uid = c->uid < 0 ? (int)me : c->uid;
    if (me != 0 && (uid_t)t->uid != me)
        return sched_refuse(GPUCTL_EPERM, msg, len,
                            "this daemon runs as uid %u and can run tasks only as that user",
                            (unsigned)me);
    if (getpwuid_r((uid_t)t->uid, &pw, scratch, sizeof(scratch), &res) != 0 || !res)
        return sched_refuse(GPUCTL_EINVAL, msg, len, "uid %d has no account here", t->uid);
    t->gid = c->gid >= 0 && c->uid >= 0 ? c->gid : (int)res->pw_gid;
    if (!t->cwd[0])
        str_copy(t->cwd, res->pw_dir, sizeof(t->cwd));
    if (strcmp(t->env_json, "{}") == 0) { /* none given: a login's basics */
        json_t *basics = json_pack("{s:s, s:s, s:s, s:s, s:s}", "HOME", res->pw_dir, "USER",
                                   res->pw_name, "LOGNAME", res->pw_name, "SHELL", res->pw_shell,
                                   "PATH", "/usr/local/bin:/usr/bin:/bin");
        char *env = basics ? json_dumps(basics, JSON_COMPACT) : NULL;
        json_decref(basics);
        if (env) {
            free(t->env_json);
            t->env_json = env;
        }
    }
    return 0;
}

static struct task_run *new_task(const struct task_spec *spec, const struct sched_request *r,
                                 const struct sched_caller *c)
{
    struct task_run *run = calloc(1, sizeof(*run));

    if (!run)
        return NULL;
    run->t.kind = r->kind;
    str_copy(run->t.owner, c->user, sizeof(run->t.owner));
    str_copy(run->t.cwd, spec->cwd ? spec->cwd : "", sizeof(run->t.cwd));
    run->t.argv_json = json_dumps(spec->argv, JSON_COMPACT);
    run->t.env_json = spec->env ? json_dumps(spec->env, JSON_COMPACT) : strdup("{}");
    run->t.state = TASK_QUEUED;
    run->t.exit_status = -1;
    run->t.created_ms = clock_wall_ms();
    return run;
}

/* Whether the task's program can be found now (on its PATH, or from its directory), so that a
 * typo is a 400 rather than a task that fails later. */
static int check_program(const struct task *t, char *msg, size_t len)
{
    json_t *argv = json_loads(t->argv_json, 0, NULL), *env = json_loads(t->env_json, 0, NULL);
    char **envp = strings(env, true), path[1024];
    const char *file = json_string_value(json_array_get(argv, 0));
    int rc;

    if (!file || !envp)
        rc = GPUCTL_ENOMEM;
    else if (!strchr(file, '/'))
        rc = spawn_resolve(file, envp, path, sizeof(path), msg, len) ? GPUCTL_EINVAL : 0;
    else {
        snprintf(path, sizeof(path), "%s%s%s", file[0] == '/' ? "" : t->cwd,
                 file[0] == '/' ? "" : "/", file);
        rc = access(path, X_OK) == 0 ? 0
                                     : sched_refuse(GPUCTL_EINVAL, msg, len, "%s cannot be run: %s",
                                                    path, strerror(errno));
    }
    free_strings(envp);
    json_decref(argv);
    json_decref(env);
    return rc;
}

/* Writes the task and its allocation (admitted now: granted or queued) in one transaction.
 * Returns 0, or an error with nothing written and the allocation forgotten. Lock held. */
static int file_task(struct sched *s, struct task_run *run, const struct sched_request *req,
                     const struct sched_caller *c, char *msg, size_t len)
{
    struct sched_answer ans;
    int rc = ledger_begin(s->o.store) != 0 ? GPUCTL_EIO : 0;

    if (rc)
        return rc;
    rc = ledger_put_task(s->o.store, &run->t); /* its id first: the allocation names it */
    if (!rc)
        rc = sched_admit(s, req, c, run->t.id, &ans, msg, len);
    if (!rc) {
        run->t.alloc_id = ans.a.id;
        sched_answer_release(&ans);
        rc = ledger_put_task(s->o.store, &run->t);
    }
    if (ledger_end(s->o.store, rc == 0) != 0 && !rc)
        rc = GPUCTL_EIO;
    if (rc && run->t.alloc_id) { /* rolled back: the allocation was never made */
        struct allocation *a = sched_find_open(s, run->t.alloc_id);
        if (a) {
            sched_forget(s, a);
            alloc_release(a);
            free(a);
        }
    }
    return rc;
}

int sched_submit(struct sched *s, const struct task_spec *spec, const struct sched_request *r,
                 const struct sched_caller *c, int64_t *id, char *msg, size_t len)
{
    struct sched_request req = *r;
    struct task_run *run;
    int rc = check_spec(spec, msg, len);

    if (rc)
        return rc;
    req.pid = 0; /* the task, not a client, holds it */
    run = new_task(spec, &req, c);
    if (!run || !run->t.argv_json || !run->t.env_json)
        rc = GPUCTL_ENOMEM;
    if (!rc)
        rc = task_user(c, &run->t, msg, len);
    if (!rc)
        rc = check_program(&run->t, msg, len);
    pthread_mutex_lock(&s->lock);
    sched_pass(s); /* outside the transaction: what it changes stands whatever becomes of this */
    if (!rc)
        rc = file_task(s, run, &req, c, msg, len);
    if (!rc && (rc = keep_task(s, run)) == 0) {
        *id = run->t.id;
        run = NULL;
        sched_tasks_tick(s); /* start it now if it can */
    }
    pthread_mutex_unlock(&s->lock);
    if (run) {
        task_release(&run->t);
        free(run);
    }
    return rc;
}

static struct task_run *find_task(struct sched *s, int64_t id)
{
    for (size_t i = 0; i < s->ntasks; i++)
        if (s->tasks[i]->t.id == id)
            return s->tasks[i];
    return NULL;
}

int sched_cancel(struct sched *s, int64_t id, const struct sched_caller *c, char *msg, size_t len)
{
    struct task_run *r;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    r = find_task(s, id);
    if (!r) {
        struct task t = {0};
        rc = ledger_task(s->o.store, id, &t) == 0
                 ? sched_refuse(GPUCTL_EINVAL, msg, len, "task %lld has already %s", (long long)id,
                                task_state_name(t.state))
                 : sched_refuse(GPUCTL_ENOENT, msg, len, "there is no task %lld", (long long)id);
        task_release(&t);
    } else if (!sched_may_act(c, r->t.uid, r->t.owner)) {
        rc = sched_refuse(GPUCTL_EPERM, msg, len,
                          "task %lld is %s's; only they or an admin may "
                          "cancel it",
                          (long long)id, r->t.owner);
    } else if (r->t.state == TASK_QUEUED) {
        r->t.cancel_requested = true;
        finish(s, r, TASK_CANCELLED, -1, 0, "cancelled while queued");
    } else {
        r->t.cancel_requested = true;
        if (ledger_put_task(s->o.store, &r->t) != 0)
            log_error("task %lld: its cancel is not in the ledger", (long long)id);
        spawn_signal_group(r->t.pid, SIGTERM);
        r->kill_at = clock_wall_ms() + s->o.grace_ms;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static json_t *time_or_null(int64_t ms)
{
    char iso[40];

    if (!ms)
        return json_null();
    clock_iso8601(ms, iso, sizeof(iso));
    return json_string(iso);
}

static json_t *task_json(const struct task *t)
{
    json_t *argv = json_loads(t->argv_json ? t->argv_json : "[]", 0, NULL);
    bool ended = t->state != TASK_QUEUED && t->state != TASK_RUNNING;

    return json_pack("{s:I, s:s, s:b, s:s, s:i, s:s, s:o, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:o, "
                     "s:o, s:o, s:o}",
                     "id", (json_int_t)t->id, "state", task_state_name(t->state), "cancelling",
                     t->cancel_requested && !ended, "owner", t->owner, "uid", t->uid, "kind",
                     sched_kind_name(t->kind), "command", argv ? argv : json_array(), "cwd", t->cwd,
                     "allocation_id", (json_int_t)t->alloc_id, "exit_status",
                     ended && t->exit_status >= 0 ? json_integer(t->exit_status) : json_null(),
                     "signal", t->signal ? json_integer(t->signal) : json_null(), "message",
                     t->message, "stdout", t->stdout_path, "stderr", t->stderr_path, "pid",
                     t->pid ? json_integer(t->pid) : json_null(), "created",
                     time_or_null(t->created_ms), "started", time_or_null(t->started_ms), "ended",
                     time_or_null(t->ended_ms));
}

json_t *sched_task(struct sched *s, int64_t id)
{
    struct task_run *r;
    struct task t = {0};
    json_t *o = NULL;

    pthread_mutex_lock(&s->lock);
    r = find_task(s, id);
    if (r)
        o = task_json(&r->t);
    else if (ledger_task(s->o.store, id, &t) == 0)
        o = task_json(&t);
    pthread_mutex_unlock(&s->lock);
    task_release(&t);
    return o;
}

static void list_one(void *ctx, struct task *t)
{
    json_array_append_new(ctx, task_json(t));
    task_release(t);
}

json_t *sched_tasks(struct sched *s, bool all)
{
    json_t *list = json_array();

    pthread_mutex_lock(&s->lock);
    if (ledger_tasks(s->o.store, all, 1000, list_one, list) != 0) {
        json_decref(list);
        list = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    return list;
}

/* ledger_open_tasks()'s callback: keeps an open task (judged once the query is done). */
static void recover_one(void *ctx, struct task *t)
{
    struct sched *s = ctx;
    struct task_run *r = calloc(1, sizeof(*r));

    if (r)
        r->t = *t;
    if (!r || keep_task(s, r) != 0) {
        task_release(t);
        free(r);
    }
}

int sched_tasks_recover(struct sched *s)
{
    int rc = ledger_open_tasks(s->o.store, recover_one, s);

    for (size_t i = 0; !rc && i < s->ntasks; i++) {
        struct task_run *r = s->tasks[i];
        if (r->t.state != TASK_RUNNING)
            continue;
        if (keeper_alive(s, r)) {
            r->adopted = true;
            if (ledger_put_task(s->o.store, &r->t) != 0)
                log_error("task %lld: its pid is not in the ledger", (long long)r->t.id);
            log_info("task %lld: still running as pid %d: adopted", (long long)r->t.id, r->t.pid);
            continue;
        }
        if (never_forked(&r->t)) {
            r->t.state = TASK_QUEUED; /* its allocation is still active: it starts at once */
            r->t.started_ms = 0;
            if (ledger_put_task(s->o.store, &r->t) != 0)
                log_error("task %lld: its return to the queue is not in the ledger",
                          (long long)r->t.id);
            log_info("task %lld: the daemon died as it started it: starting it again",
                     (long long)r->t.id);
            continue;
        }
        ended_unseen(s, r, "lost while the daemon was down"); /* or it ended meanwhile */
        i--;
    }
    return rc;
}

void sched_tasks_free(struct sched *s)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        task_release(&s->tasks[i]->t);
        free(s->tasks[i]);
    }
    free(s->tasks);
    s->tasks = NULL;
    s->ntasks = 0;
}

bool sched_task_open(struct sched *s, int64_t id)
{
    return find_task(s, id) != NULL;
}
