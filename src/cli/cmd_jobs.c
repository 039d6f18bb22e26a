/* cmd_jobs.c: the daemon's queue from the command line: submit, ps, logs, cancel, limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/job_opts.h"
#include "util/banned.h"
#include "util/str.h"

extern char **environ;

#define FOLLOW_MS 250

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* One request that must succeed: CLI_OK with *reply, or the exit code after saying why. */
static int call(const struct cli *c, struct client *cl, const char *method, const char *path,
                const json_t *body, json_t **reply)
{
    long status;
    int rc = client_call(cl, method, path, body, &status, reply);

    if (rc != CLI_OK)
        return rc;
    if (status >= 200 && status < 300)
        return CLI_OK;
    rc = cli_fail(c, client_exit_code(status), "%s", client_error(*reply));
    json_decref(*reply);
    *reply = NULL;
    return rc;
}

/* Parses the options of a command that takes only the common ones and --daemon (and, with
 * own_opts, its own, handled by own()). Returns -2 to go on, or an exit code. */
typedef int (*own_fn)(void *ctx, int opt);

static int parse(struct cli *c, int argc, char **argv, const char *shortopts,
                 const struct option *own_opts, own_fn own, void *ctx, const char **daemon)
{
    struct option options[16];
    static const struct option common[] = {
        {"daemon", required_argument, NULL, OPT_JOB_DAEMON},
        CLI_COMMON_OPTIONS,
    };
    size_t n = 0;
    int opt, rc;

    for (; own_opts && own_opts[n].name; n++)
        options[n] = own_opts[n];
    memcpy(options + n, common, sizeof(common));
    while ((opt = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        if (opt == OPT_JOB_DAEMON) {
            *daemon = optarg;
            continue;
        }
        rc = own ? own(ctx, opt) : -1;
        if (rc == -1)
            rc = cli_common_option(c, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    return -2;
}

/* ---- submit ---- */

static const char submit_usage[] =
    "usage: gpuctl submit [OPTIONS] [--] COMMAND [ARGS...]\n"
    "\n"
    "Hands COMMAND to the daemon, which runs it when its GPUs are free, detached, as you, in this\n"
    "directory with this environment; its output goes to log files (gpuctl logs ID). Prints the\n"
    "task's id.\n"
    "\n" JOB_OPTIONS_HELP "  --json               print the task as JSON\n"
    "exit status: 0 queued or started; 2 bad request; 3 no GPU fits and it may not wait, or no\n"
    "daemon\n";

/* The environment as a JSON object. */
static json_t *environment(void)
{
    json_t *env = json_object();

    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char name[256];
        if (!eq || eq == *e || (size_t)(eq - *e) >= sizeof(name))
            continue;
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = '\0';
        json_object_set_new(env, name, json_string(eq + 1));
    }
    return env;
}

/* Whether JSON can carry text (valid UTF-8). */
static bool utf8(const char *text)
{
    json_t *s = json_string(text);

    json_decref(s);
    return s != NULL;
}

/* Fails unless the command, the directory and the environment are all UTF-8, which JSON (and so
 * the daemon) can carry; dropping what is not would change what runs. Returns CLI_OK or fails. */
static int carriable(struct cli *c, char **command, int n, const char *cwd)
{
    for (int i = 0; i < n; i++)
        if (!utf8(command[i]))
            return cli_fail(c, CLI_USAGE,
                            "word %d of the command is not UTF-8 text: the daemon "
                            "takes commands as JSON, which cannot carry it",
                            i + 1);
    if (!utf8(cwd))
        return cli_fail(c, CLI_USAGE,
                        "the working directory's name is not UTF-8 text: cd to a "
                        "directory whose path is, then submit");
    for (char **e = environ; e && *e; e++)
        if (!utf8(*e))
            return cli_fail(c, CLI_USAGE,
                            "the environment variable %.*s is not UTF-8 text: unset "
                            "it or re-encode it, then submit",
                            (int)strcspn(*e, "="), *e);
    return CLI_OK;
}

/* The task as the daemon takes it: the options' request (stolen; may be NULL), the command, this
 * environment and directory, the caller's mask, and waiting for ever unless told otherwise. */
static json_t *task_body(json_t *request, char **command, int n, const char *cwd)
{
    json_t *body = request ? request : json_object(), *words = json_array();
    const char *mask = getenv("CUDA_VISIBLE_DEVICES");

    for (int i = 0; i < n; i++)
        json_array_append_new(words, json_string(command[i]));
    json_object_set_new(body, "command", words);
    json_object_set_new(body, "env", environment());
    json_object_set_new(body, "cwd", json_string(cwd));
    if (mask)
        json_object_set_new(body, "visible_devices", json_string(mask));
    if (!json_object_get(body, "wait"))
        json_object_set_new(body, "wait", json_string("forever"));
    return body;
}

int cmd_submit(struct cli *c, int argc, char **argv)
{
    struct job_opts j = {0};
    struct client *cl = NULL;
    json_t *body, *task = NULL;
    char cwd[4096];
    int rc;

    c->usage = submit_usage;
    rc = job_parse(c, &j, argc, argv);
    if (rc != -2) {
        json_decref(j.request);
        return rc;
    }
    if (!getcwd(cwd, sizeof(cwd))) {
        json_decref(j.request);
        return cli_fail(c, CLI_FAILURE, "cannot read the working directory: %s", strerror(errno));
    }
    rc = carriable(c, argv + optind, argc - optind, cwd);
    if (rc != CLI_OK) {
        json_decref(j.request);
        return rc;
    }
    body = task_body(j.request, argv + optind, argc - optind, cwd);
    rc = client_open(c, j.daemon, &cl);
    if (rc == CLI_OK)
        rc = call(c, cl, "POST", "/api/v2/tasks", body, &task);
    json_decref(body);
    client_close(cl);
    if (rc != CLI_OK)
        return rc;
    if (c->json)
        return cli_print_json(task);
    printf("%lld\n", (long long)json_integer_value(json_object_get(task, "id")));
    json_decref(task);
    return CLI_OK;
}

/* ---- ps ---- */

static const char ps_usage[] =
    "usage: gpuctl ps [--all] [--json] [--daemon ADDR]\n"
    "\n"
    "Lists the daemon's tasks (queued and running; with --all also the last 1000 that ended)\n"
    "and the GPUs held by gpuctl run and API clients (ids aN: gpuctl cancel aN releases one).\n"
    "TIME is how long a task has run, or waited while queued.\n";

/* Unix seconds of an ISO 8601 UTC time ("2026-11-21T09:30:00.125Z"); 0 for null. */
static time_t iso_time(const json_t *v)
{
    const char *s = json_string_value(v);
    struct tm tm = {0};

    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

/* "5s", "3m07s", "2h05m", "3d04h". */
static void span(long s, char *out, size_t len)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, len, "%lds", s);
    else if (s < 3600)
        snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, len, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

/* An allocation's GPUs ("cuda:0,cuda:1"), or its place in the queue. */
static void gpus_of(const json_t *alloc, char *out, size_t len)
{
    const json_t *pos = json_object_get(alloc, "queue_position"), *d;
    size_t i;

    out[0] = '\0';
    if (!alloc) {
        snprintf(out, len, "-");
        return;
    }
    if (json_is_integer(pos)) {
        snprintf(out, len, "queued #%lld", (long long)json_integer_value(pos));
        return;
    }
    if (strcmp(json_string_value(json_object_get(alloc, "device")) ?: "", "cpu") == 0) {
        snprintf(out, len, "cpu");
        return;
    }
    json_array_foreach(json_object_get(alloc, "devices"), i, d) str_appendf(
        out, len, "%s%s", i ? "," : "", json_string_value(json_object_get(d, "device")) ?: "?");
}

static const json_t *alloc_by_id(const json_t *allocs, json_int_t id)
{
    size_t i;
    json_t *a;

    json_array_foreach(allocs, i, a) if (json_integer_value(json_object_get(a, "allocation_id")) ==
                                         id) return a;
    return NULL;
}

static void print_task(const json_t *t, const json_t *allocs, time_t now)
{
    const char *state = json_string_value(json_object_get(t, "state"));
    time_t created = iso_time(json_object_get(t, "created")),
           started = iso_time(json_object_get(t, "started")),
           ended = iso_time(json_object_get(t, "ended"));
    char id[24], gpus[256], time_s[24], command[512] = "";
    size_t i;
    json_t *arg;

    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(t, "id")));
    gpus_of(alloc_by_id(allocs, json_integer_value(json_object_get(t, "allocation_id"))), gpus,
            sizeof(gpus));
    span(started ? (ended ? ended : now) - started : (ended ? ended : now) - created, time_s,
         sizeof(time_s));
    json_array_foreach(json_object_get(t, "command"), i, arg)
        str_appendf(command, sizeof(command), "%s%s", i ? " " : "", json_string_value(arg));
    if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0)
        str_appendf(command, sizeof(command), "  (%s)",
                    json_string_value(json_object_get(t, "message")));
    printf("%-6s %-10s %-10s %-10s %-16s %-8s %s\n", id, state,
           json_string_value(json_object_get(t, "kind")),
           json_string_value(json_object_get(t, "owner")), gpus, time_s, command);
}

/* An allocation no task holds: gpuctl run's, or an API client's. */
static void print_alloc(const json_t *a)
{
    json_t *pid = json_object_get(a, "pid");
    char id[24], gpus[256], holder[64];

    snprintf(id, sizeof(id), "a%lld",
             (long long)json_integer_value(json_object_get(a, "allocation_id")));
    gpus_of(a, gpus, sizeof(gpus));
    if (json_is_integer(pid))
        snprintf(holder, sizeof(holder), "(held by pid %lld)", (long long)json_integer_value(pid));
    else
        snprintf(holder, sizeof(holder), "(held until released)");
    printf("%-6s %-10s %-10s %-10s %-16s %-8s %s\n", id,
           json_string_value(json_object_get(a, "state")),
           json_string_value(json_object_get(a, "kind")),
           json_string_value(json_object_get(a, "owner")), gpus, "-", holder);
}

static int ps_own(void *ctx, int opt)
{
    if (opt != 'a')
        return -1;
    *(bool *)ctx = true;
    return -2;
}

int cmd_ps(struct cli *c, int argc, char **argv)
{
    static const struct option own[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    const char *daemon = NULL;
    bool all = false;
    struct client *cl = NULL;
    json_t *tasks = NULL, *allocs = NULL, *t;
    time_t now = time(NULL);
    size_t i;
    int rc;

    c->usage = ps_usage;
    rc = parse(c, argc, argv, "ha", own, ps_own, &all, &daemon);
    if (rc != -2)
        return rc;
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected '%s': ps takes only options", argv[optind]);
    rc = client_open(c, daemon, &cl);
    if (rc == CLI_OK)
        rc = call(c, cl, "GET", all ? "/api/v2/tasks?all=true" : "/api/v2/tasks", NULL, &tasks);
    if (rc == CLI_OK)
        rc = call(c, cl, "GET", "/api/v1/gpu/allocations", NULL, &allocs);
    client_close(cl);
    if (rc == CLI_OK && c->json) {
        json_object_update(tasks, allocs);
        rc = cli_print_json(json_incref(tasks));
    } else if (rc == CLI_OK) {
        json_t *list = json_object_get(allocs, "allocations");
        printf("%-6s %-10s %-10s %-10s %-16s %-8s %s\n", "ID", "STATE", "KIND", "OWNER", "GPUS",
               "TIME", "COMMAND");
        json_array_foreach(json_object_get(tasks, "tasks"), i, t) print_task(t, list, now);
        json_array_foreach(list, i, t) if (json_is_null(json_object_get(t, "task_id")))
            print_alloc(t);
    }
    json_decref(tasks);
    json_decref(allocs);
    return rc;
}

/* ---- logs ---- */

static const char logs_usage[] =
    "usage: gpuctl logs [-f] [--stderr] [--daemon ADDR] ID\n"
    "\n"
    "Prints task ID's output (its standard output; --stderr for its standard error). The log\n"
    "files live on the daemon's machine and are readable by the task's owner.\n"
    "\n"
    "  -f, --follow   keep printing as it writes, until the task ends\n"
    "  --stderr       the standard error instead\n";

struct logs_args {
    bool follow, err;
};

static int logs_own(void *ctx, int opt)
{
    struct logs_args *a = ctx;

    if (opt == 'f')
        a->follow = true;
    else if (opt == 'e')
        a->err = true;
    else
        return -1;
    return -2;
}

/* Parses a task id. Returns 0, or -1 when it is not one. */
static int task_id(const char *s, long long *id)
{
    char *end;

    errno = 0;
    *id = strtoll(s, &end, 10);
    return errno || *end || end == s || *id < 1 ? -1 : 0;
}

/* Copies what fd holds past *off to stdout. Returns whether anything was. */
static bool drain(int fd, off_t *off)
{
    char data[65536];
    ssize_t n;
    bool any = false;

    while ((n = pread(fd, data, sizeof(data), *off)) > 0) {
        fwrite(data, 1, (size_t)n, stdout);
        *off += n;
        any = true;
    }
    fflush(stdout);
    return any;
}

static bool ended(const json_t *task)
{
    const char *st = json_string_value(json_object_get(task, "state"));

    return st && strcmp(st, "queued") != 0 && strcmp(st, "running") != 0;
}

/* Prints the log at path (following while the task runs); *task is refreshed as it goes. */
static int print_log(const struct cli *c, struct client *cl, const char *api, json_t **task,
                     const struct logs_args *a)
{
    const char *key = a->err ? "stderr" : "stdout";
    int fd = -1;
    off_t off = 0;

    for (;;) {
        const char *path = json_string_value(json_object_get(*task, key));
        bool done = ended(*task);
        if (fd < 0 && path && path[0]) {
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 && errno != ENOENT)
                return cli_fail(c, CLI_FAILURE, "cannot read %s: %s%s", path, strerror(errno),
                                errno == EACCES ? " (a task's logs are its owner's)" : "");
        }
        if (fd >= 0)
            drain(fd, &off);
        if (!a->follow || done)
            break;
        sleep_ms(FOLLOW_MS);
        json_decref(*task);
        *task = NULL;
        int rc = call(c, cl, "GET", api, NULL, task);
        if (rc != CLI_OK) {
            if (fd >= 0)
                close(fd);
            return rc;
        }
    }
    if (fd >= 0) {
        drain(fd, &off);
        close(fd);
    }
    return CLI_OK;
}

int cmd_logs(struct cli *c, int argc, char **argv)
{
    static const struct option own[] = {
        {"follow", no_argument, NULL, 'f'}, {"stderr", no_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
    struct logs_args a = {0};
    const char *daemon = NULL;
    struct client *cl = NULL;
    json_t *task = NULL;
    char api[64];
    long long id;
    int rc;

    c->usage = logs_usage;
    rc = parse(c, argc, argv, "hf", own, logs_own, &a, &daemon);
    if (rc != -2)
        return rc;
    if (optind != argc - 1 || task_id(argv[optind], &id) != 0)
        return cli_fail(c, CLI_USAGE, "give one task id (gpuctl ps lists them)");
    snprintf(api, sizeof(api), "/api/v2/tasks/%lld", id);
    rc = client_open(c, daemon, &cl);
    if (rc == CLI_OK)
        rc = call(c, cl, "GET", api, NULL, &task);
    if (rc == CLI_OK)
        rc = print_log(c, cl, api, &task, &a);
    if (rc == CLI_OK && !a.follow && !ended(task) &&
        strcmp(json_string_value(json_object_get(task, "state")), "queued") == 0)
        fprintf(stderr, "gpuctl logs: task %lld is still queued: no output yet\n", id);
    json_decref(task);
    client_close(cl);
    return rc;
}

/* ---- cancel ---- */

static const char cancel_usage[] =
    "usage: gpuctl cancel [--daemon ADDR] ID...\n"
    "\n"
    "Cancels tasks: a queued one leaves the queue; a running one's process group gets SIGTERM,\n"
    "then SIGKILL after the grace period (scheduler.cancel_grace). An id aN (gpuctl ps) releases\n"
    "the GPUs held by gpuctl run or an API client; their holder gets SIGTERM. Only the owner or\n"
    "an admin may.\n";

static int cancel_one(const struct cli *c, struct client *cl, const char *arg)
{
    bool alloc = arg[0] == 'a';
    json_t *reply = NULL;
    char path[96];
    long long id;
    int rc;

    if (task_id(arg + alloc, &id) != 0)
        return cli_fail(c, CLI_USAGE, "'%s' is not a task id (a number) or an allocation id (aN)",
                        arg);
    if (alloc)
        snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld", id);
    else
        snprintf(path, sizeof(path), "/api/v2/tasks/%lld/cancel", id);
    rc = call(c, cl, alloc ? "DELETE" : "POST", path, NULL, &reply);
    if (rc == CLI_OK && json_is_true(json_object_get(reply, "cancelling")))
        printf("%s stopping: SIGTERM sent to its processes, SIGKILL after the grace period\n", arg);
    else if (rc == CLI_OK)
        printf("%s %s\n", arg,
               alloc ? "released" : json_string_value(json_object_get(reply, "state")));
    json_decref(reply);
    return rc;
}

int cmd_cancel(struct cli *c, int argc, char **argv)
{
    const char *daemon = NULL;
    struct client *cl = NULL;
    int rc, worst = CLI_OK;

    c->usage = cancel_usage;
    rc = parse(c, argc, argv, "h", NULL, NULL, NULL, &daemon);
    if (rc != -2)
        return rc;
    if (optind >= argc)
        return cli_fail(c, CLI_USAGE, "give the ids to cancel (gpuctl ps lists them)");
    rc = client_open(c, daemon, &cl);
    if (rc != CLI_OK)
        return rc;
    for (int i = optind; i < argc; i++) {
        rc = cancel_one(c, cl, argv[i]);
        worst = worst ? worst : rc;
    }
    client_close(cl);
    return worst;
}

/* ---- limits ---- */

static const char limits_usage[] =
    "usage: gpuctl limits [--json] [--daemon ADDR]\n"
    "       gpuctl limits set DEVICE KIND=N [KIND=N...] [DEVICE KIND=N...]\n"
    "\n"
    "Shows how many allocations of each kind each GPU runs and may run (used/limit), or sets\n"
    "limits (admins): N from 0 to 1000, or none for no limit. The kinds are training (default\n"
    "limit 1), inference (3) and other (none). Example:\n"
    "  gpuctl limits set cuda:0 training=1 inference=4\n";

static void print_limits(const json_t *res)
{
    const json_t *usage = json_object_get(res, "device_usage"),
                 *limits = json_object_get(res, "limits");
    static const char *const kinds[] = {"training", "inference", "other"};
    const char *device;
    json_t *lim;

    printf("%-10s %-10s %-10s %-10s\n", "DEVICE", "TRAINING", "INFERENCE", "OTHER");
    json_object_foreach((json_t *)limits, device, lim)
    {
        printf("%-10s", device);
        for (int k = 0; k < 3; k++) {
            json_t *max = json_object_get(lim, kinds[k]);
            char cell[32];
            long long used =
                json_integer_value(json_object_get(json_object_get(usage, device), kinds[k]));
            if (json_is_integer(max))
                snprintf(cell, sizeof(cell), "%lld/%lld", used, (long long)json_integer_value(max));
            else
                snprintf(cell, sizeof(cell), "%lld/-", used);
            printf(" %-10s", cell);
        }
        printf("\n");
    }
}

/* A limit as written, "4" or "none", as JSON (null for none); NULL when it is neither. */
static json_t *limit_value(const char *s)
{
    char *end;
    long n;

    if (strcmp(s, "none") == 0)
        return json_null();
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || end == s || n < 0 || n > 1000)
        return NULL;
    return json_integer(n);
}

/* Reads `set DEVICE KIND=N ...` into {"cuda:0": {"training": 1}}. */
static int limits_body(const struct cli *c, int argc, char **argv, json_t **out)
{
    json_t *max = json_object(), *dev = NULL;

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        char kind[32];
        json_t *limit;
        if (!eq) {
            dev = json_object();
            json_object_set_new(max, argv[i], dev);
            continue;
        }
        if (!dev || (size_t)(eq - argv[i]) >= sizeof(kind)) {
            json_decref(max);
            return cli_fail(c, CLI_USAGE,
                            "'%s': name the device first, as in `gpuctl limits set "
                            "cuda:0 training=1 inference=4`",
                            argv[i]);
        }
        memcpy(kind, argv[i], (size_t)(eq - argv[i]));
        kind[eq - argv[i]] = '\0';
        if (!(limit = limit_value(eq + 1))) {
            json_decref(max);
            return cli_fail(c, CLI_USAGE, "'%s': a limit is a whole number from 0 to 1000, or none",
                            argv[i]);
        }
        json_object_set_new(dev, kind, limit);
    }
    if (!dev || json_object_size(dev) == 0) {
        json_decref(max);
        return cli_fail(c, CLI_USAGE,
                        "give a device and its limits, as in `gpuctl limits set "
                        "cuda:0 training=1 inference=4`");
    }
    *out = json_pack("{s:o}", "max_concurrent", max);
    return CLI_OK;
}

int cmd_limits(struct cli *c, int argc, char **argv)
{
    const char *daemon = NULL;
    struct client *cl = NULL;
    json_t *body = NULL, *res = NULL;
    bool set;
    int rc;

    c->usage = limits_usage;
    rc = parse(c, argc, argv, "+h", NULL, NULL, NULL, &daemon);
    if (rc != -2)
        return rc;
    set = optind < argc && strcmp(argv[optind], "set") == 0;
    if (optind < argc && !set)
        return cli_fail(c, CLI_USAGE, "unknown '%s': use `gpuctl limits` or `gpuctl limits set`",
                        argv[optind]);
    if (set && (rc = limits_body(c, argc - optind - 1, argv + optind + 1, &body)) != CLI_OK)
        return rc;
    rc = client_open(c, daemon, &cl);
    if (rc == CLI_OK)
        rc = set ? call(c, cl, "POST", "/api/v2/resources/config", body, &res)
                 : call(c, cl, "GET", "/api/v2/resources", NULL, &res);
    client_close(cl);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    if (c->json)
        return cli_print_json(res);
    print_limits(res);
    json_decref(res);
    return CLI_OK;
}
