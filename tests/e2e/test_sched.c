/* test_sched.c: the scheduler end to end: gpuctl serve on a fake two-GPU machine (an RTX 3090
 * and an RTX 3080), spoken to over its unix socket and through gpuctl run, submit, ps, logs,
 * cancel and limits. Processes are looked up in the real /proc: tasks and gpuctl run are real. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "harness.h"

#define ADMIN_TOKEN "sched-admin-token-0123456789"
#define ALICE_TOKEN "sched-alice-token-0123456789"
#define BOB_TOKEN   "sched-bob-token-0123456789"

static const char config[] = "scheduler:\n"
                             "  cancel_grace: 1s\n"
                             "tokens:\n"
                             "  - token: " ADMIN_TOKEN "\n"
                             "    user: ops\n"
                             "    admin: true\n"
                             "  - token: " ALICE_TOKEN "\n"
                             "    user: alice\n"
                             "  - token: " BOB_TOKEN "\n"
                             "    user: bob\n";

/* Processes are the real ones: gpuctl run's pid, the tasks'. */
static const char *const real_proc[] = {"--procfs-root=/proc", NULL};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void start(struct daemon *d)
{
    daemon_start(d, "gpu2", config, real_proc);
}

/* ---- requests ---- */

/*
 * One request over the unix socket (as this process's uid) or, with a token, over TCP ("": with
 * none, anonymous on loopback). Safe in any thread: it fails nothing, returning the status (-1
 * when there was no answer) and the JSON body in *out (may be NULL; the caller releases it).
 */
static long call(const struct daemon *d, const char *token, const char *method, const char *path,
                 const char *body, json_t **out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL;
    char url[512], auth[128], *text = NULL;
    size_t len = 0;
    FILE *sink = open_memstream(&text, &len);
    long status = -1;

    snprintf(url, sizeof(url), "http://%s%s", token ? d->tcp : "localhost", path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (!token)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    else if (token[0]) { /* "": on loopback TCP without a token */
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    fclose(sink);
    if (out)
        *out = json_loads(text ? text : "", 0, NULL);
    free(text);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

/* A request that must answer `want`; returns the JSON body (the caller releases it). */
static json_t *expect(const struct daemon *d, const char *token, const char *method,
                      const char *path, const char *body, long want)
{
    json_t *j = NULL;
    long got = call(d, token, method, path, body, &j);

    if (got != want) {
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fail_msg("%s %s %s: %ld, not %ld: %s", method, path, body ? body : "", got, want,
                 text ? text : "(no JSON)");
    }
    return j;
}

static const char *error_of(const json_t *j)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

    return m ? m : "(no message)";
}

/* Asserts the request is refused with status and a message containing `has`. */
static void refused(const struct daemon *d, const char *token, const char *method, const char *path,
                    const char *body, long status, const char *has)
{
    json_t *j = expect(d, token, method, path, body, status);

    if (!strstr(error_of(j), has))
        fail_msg("%s %s: '%s' does not say '%s'", path, body, error_of(j), has);
    json_decref(j);
}

static json_int_t allocate(const struct daemon *d, const char *token, const char *body, long want)
{
    json_t *j = expect(d, token, "POST", "/api/v1/gpu/allocate", body, want);
    json_int_t id = json_integer_value(json_object_get(j, "allocation_id"));

    json_decref(j);
    return id;
}

static void release(const struct daemon *d, json_int_t id)
{
    char body[64];

    snprintf(body, sizeof(body), "{\"allocation_id\": %lld}", (long long)id);
    json_decref(expect(d, NULL, "POST", "/api/v1/gpu/release", body, 200));
}

/* GET path's JSON (must be 200). */
static json_t *get(const struct daemon *d, const char *path)
{
    return expect(d, NULL, "GET", path, NULL, 200);
}

static json_t *allocation(const struct daemon *d, json_int_t id)
{
    char path[96];

    snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld", (long long)id);
    return get(d, path);
}

static const char *state_of(const json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));

    return s ? s : "(none)";
}

/* Waits up to timeout_s for allocation id to reach state. */
static bool alloc_reaches(const struct daemon *d, json_int_t id, const char *state,
                          double timeout_s)
{
    for (double end = now_s() + timeout_s;; sleep_ms(20)) {
        json_t *j = allocation(d, id);
        bool there = strcmp(state_of(j), state) == 0;
        json_decref(j);
        if (there)
            return true;
        if (now_s() > end)
            return false;
    }
}

static json_t *task(const struct daemon *d, json_int_t id)
{
    char path[96];

    snprintf(path, sizeof(path), "/api/v2/tasks/%lld", (long long)id);
    return get(d, path);
}

static bool task_reaches(const struct daemon *d, json_int_t id, const char *state, double timeout_s)
{
    for (double end = now_s() + timeout_s;; sleep_ms(20)) {
        json_t *j = task(d, id);
        bool there = strcmp(state_of(j), state) == 0;
        json_decref(j);
        if (there)
            return true;
        if (now_s() > end)
            return false;
    }
}

/* Submits a task (body fields after the command, e.g. "\"kind\": \"training\""). Returns its id. */
static json_int_t submit(const struct daemon *d, const char *command_json, const char *fields)
{
    char body[2048];
    json_t *j;
    json_int_t id;

    snprintf(body, sizeof(body),
             "{\"command\": %s, \"cwd\": \"/tmp\", \"env\": {\"PATH\": \"/usr/bin:/bin\"}, "
             "\"wait\": \"forever\"%s%s}",
             command_json, fields ? ", " : "", fields ? fields : "");
    j = expect(d, NULL, "POST", "/api/v2/tasks", body, 201);
    id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

/* The number in a file (a pid a task wrote), or -1 until it is there. */
static long number_in(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static long wait_number_in(const char *path, double timeout_s)
{
    long v;

    for (double end = now_s() + timeout_s; (v = number_in(path)) < 0 && now_s() < end;)
        sleep_ms(20);
    return v;
}

/* Whether process (group, with a negative id) pid exists and is not a zombie. */
static bool alive(pid_t pid)
{
    char path[64], text[512];
    FILE *f;
    bool live;

    if (pid < 0)
        return kill(pid, 0) == 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    live = fgets(text, sizeof(text), f) && !strstr(strrchr(text, ')') ?: text, ") Z ");
    fclose(f);
    return live;
}

static bool gone_within(pid_t pid, double timeout_s)
{
    for (double end = now_s() + timeout_s; alive(pid); sleep_ms(20))
        if (now_s() > end)
            return false;
    return true;
}

/* ---- admission, the answers' shapes, bad input ---- */

static json_t *open_allocations(const struct daemon *d)
{
    json_t *j = get(d, "/api/v1/gpu/allocations"), *list = json_object_get(j, "allocations");

    json_incref(list);
    json_decref(j);
    return list;
}

static void bad_requests_are_refused_and_change_nothing(void **state)
{
    struct daemon d;
    json_t *list;

    (void)state;
    start(&d);
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"device\": \"cuda:9\"}", 400,
            "device index 9 is out of range: this machine has 2 GPUs (cuda:0, cuda:1)");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": 0}", 400,
            "gpu_count must be a whole number from 1 to 64");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": 3}", 400,
            "gpu_count 3 is more than the 2 GPUs there are here");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"memory_gb\": 100}", 400,
            "the largest, cuda:0 (NVIDIA GeForce RTX 3090), has 23.67 GiB");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"kind\": \"batch\"}", 400,
            "unknown kind 'batch': the kinds are training, inference and other");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_type\": \"A100\"}", 400, "A100");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": 1, \"colour\": 1}", 400,
            "unknown field 'colour'");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": ", 400,
            "the body is not JSON");
    refused(&d, NULL, "POST", "/api/v2/tasks", "{\"command\": []}", 400,
            "command must be a non-empty list");
    refused(&d, NULL, "POST", "/api/v2/tasks", "{\"command\": \"\"}", 400,
            "command must be a non-empty list");
    refused(&d, NULL, "POST", "/api/v2/tasks", "{\"kind\": \"training\"}", 400,
            "command is required");
    refused(&d, NULL, "POST", "/api/v2/training/start",
            "{\"command\": [\"true\"], \"kind\": \"inference\"}", 400, "leave kind out");
    refused(&d, NULL, "POST", "/api/v2/tasks", "{\"command\": [\"no-such-program-here\"]}", 400,
            "not found");
    refused(&d, NULL, "POST", "/api/v2/tasks", "{\"command\": [\"true\"], \"cwd\": \"/nope\"}", 400,
            "cwd /nope is not a directory here");
    /* anyone on this machine may reach loopback TCP: without a token, no tasks */
    refused(&d, "", "POST", "/api/v2/tasks", "{\"command\": [\"true\"]}", 403, "anonymous caller");
    refused(&d, NULL, "POST", "/api/v1/gpu/release", "{\"allocation_id\": \"one\"}", 400,
            "allocation_id");
    refused(&d, NULL, "POST", "/api/v1/gpu/release", "{\"allocation_id\": 77}", 404,
            "allocation 77 is not open");
    refused(&d, NULL, "POST", "/api/v2/tasks/77/cancel", NULL, 404, "there is no task 77");
    refused(&d, NULL, "POST", "/api/v2/resources/config",
            "{\"max_concurrent\": {\"cuda:7\": {\"training\": 1}}}", 400, "no GPU is named cuda:7");
    refused(&d, NULL, "POST", "/api/v2/resources/config",
            "{\"max_concurrent\": {\"cuda:0\": {\"training\": -1}}}", 400,
            "whole number from 0 to 1000");

    list = open_allocations(&d);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    list = get(&d, "/api/v2/tasks?all=true");
    assert_int_equal(json_array_size(json_object_get(list, "tasks")), 0);
    json_decref(list);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static double resource(json_t *res, const char *section, const char *device, const char *key)
{
    json_t *v = json_object_get(json_object_get(json_object_get(res, section), device), key);

    assert_true(json_is_number(v) || json_is_null(v));
    return json_is_null(v) ? -1 : json_number_value(v);
}

/* current_tasks[kind] of device in GET /api/v2/resources/gpu (guide 003's list of GPUs). */
static json_int_t current_tasks(const struct daemon *d, const char *device, const char *kind)
{
    json_t *res = get(d, "/api/v2/resources/gpu"), *dev;
    json_int_t n = -1;
    size_t i;

    json_array_foreach(json_object_get(res, "devices"), i, dev)
    {
        if (strcmp(json_string_value(json_object_get(dev, "device_name")), device) == 0)
            n = json_integer_value(json_object_get(json_object_get(dev, "current_tasks"), kind));
    }
    json_decref(res);
    return n;
}

static void allocate_answers_as_guide_001_and_release_frees(void **state)
{
    struct daemon d;
    json_t *j, *env, *res;
    json_int_t id;

    (void)state;
    start(&d);
    j = expect(&d, NULL, "POST", "/api/v1/gpu/allocate",
               "{\"gpu_count\": 1, \"memory_gb\": 4, \"mixed_precision\": true, \"framework\": "
               "\"torch\"}",
               200);
    assert_true(json_is_true(json_object_get(j, "success")));
    assert_true(json_is_string(json_object_get(j, "node_name")));
    id = json_integer_value(json_object_get(j, "allocation_id"));
    assert_true(id > 0);
    assert_json_str(j, "state", "active");
    assert_json_str(j, "owner", "root");
    /* spread: the GPU with the most free memory, the 3090 */
    assert_json_str(json_array_get(json_object_get(j, "devices"), 0), "device", "cuda:0");
    assert_json_int(json_object_get(j, "gpu_config"), "gpu_count", 1);
    assert_true(json_is_true(json_object_get(json_object_get(j, "gpu_config"), "mixed_precision")));
    env = json_object_get(j, "env");
    assert_json_str(env, "CUDA_VISIBLE_DEVICES", "0");
    assert_json_str(env, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    assert_json_str(env, "PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True");
    assert_json_str(env, "GPUCTL_PRECISION", "bf16-mixed");
    json_decref(j);

    res = get(&d, "/api/v2/resources");
    assert_true(resource(res, "memory", "cuda:0", "reserved_gb") == 4.0);
    assert_true(resource(res, "device_usage", "cuda:0", "other") == 1);
    assert_true(resource(res, "limits", "cuda:0", "training") == 1);
    assert_true(resource(res, "limits", "cuda:0", "inference") == 3);
    assert_true(resource(res, "limits", "cuda:0", "other") == -1);
    json_decref(res);

    /* validate changes nothing and says why, per GPU */
    j = expect(&d, NULL, "POST", "/api/v1/gpu/validate", "{\"gpu_count\": 2, \"memory_gb\": 20}",
               200);
    assert_true(json_is_false(json_object_get(j, "valid")));
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(j, "reasons"), 1), "reason")),
                           "9.75 GiB in all"));
    json_decref(j);
    j = expect(&d, NULL, "POST", "/api/v1/gpu/setup-pytorch", "{\"gpu_count\": 1}", 200);
    assert_non_null(strstr(json_string_value(json_object_get(j, "code")), "import torch"));
    assert_json_str(json_object_get(j, "env"), "PYTORCH_CUDA_ALLOC_CONF",
                    "expandable_segments:True");
    json_decref(j);
    j = open_allocations(&d);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);

    release(&d, id);
    refused(&d, NULL, "DELETE", "/api/v1/gpu/allocations/1", NULL, 404, "not open");
    j = allocation(&d, id);
    assert_json_str(j, "state", "released");
    json_decref(j);
    res = get(&d, "/api/v2/resources");
    assert_true(resource(res, "memory", "cuda:0", "reserved_gb") == 0.0);
    json_decref(res);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void limits_cap_each_kind_per_gpu(void **state)
{
    struct daemon d;
    json_t *j, *reasons;
    json_int_t a, b, c;

    (void)state;
    start(&d);
    a = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 0}", 200);
    assert_int_equal(
        current_tasks(&d, "cuda:0", "training") + current_tasks(&d, "cuda:1", "training"), 1);
    b = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 0}", 200);
    /* the same sample as the answer just cached: a new allocation shows all the same */
    assert_int_equal(current_tasks(&d, "cuda:0", "training"), 1);
    assert_int_equal(current_tasks(&d, "cuda:1", "training"), 1);
    j = expect(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"kind\": \"training\", \"wait\": 0}",
               409);
    reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(reasons, 0), "reason")),
                           "limit of 1"));
    json_decref(j);

    /* only admins change limits; then the third fits */
    refused(&d, ALICE_TOKEN, "POST", "/api/v2/resources/config",
            "{\"max_concurrent\": {\"cuda:0\": {\"training\": 2}}}", 403, "admin");
    json_decref(expect(&d, ADMIN_TOKEN, "POST", "/api/v2/resources/config",
                       "{\"max_concurrent\": {\"cuda:0\": {\"training\": 2, \"inference\": 4}}}",
                       200));
    c = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 0}", 200);
    j = allocation(&d, c);
    assert_json_str(j, "device", "cuda:0");
    json_decref(j);
    j = get(&d, "/api/v2/resources");
    assert_true(resource(j, "limits", "cuda:0", "inference") == 4);
    assert_true(resource(j, "device_usage", "cuda:0", "training") == 2);
    json_decref(j);
    assert_int_equal(current_tasks(&d, "cuda:0", "training"), 2);
    assert_int_equal(current_tasks(&d, "cuda:1", "training"), 1);
    assert_int_equal(current_tasks(&d, "cuda:0", "inference"), 0);

    /* the limits are in the ledger: a restart keeps them */
    daemon_crash(&d);
    daemon_restart(&d, true, real_proc);
    j = get(&d, "/api/v2/resources");
    assert_true(resource(j, "limits", "cuda:0", "training") == 2);
    assert_true(resource(j, "limits", "cuda:1", "training") == 1);
    assert_true(resource(j, "device_usage", "cuda:0", "training") == 2);
    json_decref(j);
    release(&d, a);
    release(&d, b);
    release(&d, c);
    assert_int_equal(current_tasks(&d, "cuda:0", "training"), 0);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- the invariant test ---- */

#define CLIENTS    16
#define PER_CLIENT 32 /* 512 calls */

struct client {
    const struct daemon *d;
    unsigned seed;
    atomic_int *violations;
    char first[512]; /* the first violation seen */
    int calls, granted;
};

/* Checks the promises against the limits and the memory; returns a violation, or NULL. */
static const char *check_promises(json_t *res, char *why, size_t len)
{
    static const char *const kinds[] = {"training", "inference", "other"};
    const char *device;
    json_t *mem;

    if (!res)
        return "no resources";
    json_object_foreach(json_object_get(res, "memory"), device, mem)
    {
        double reserved = json_number_value(json_object_get(mem, "reserved_gb"));
        double usable = json_number_value(json_object_get(mem, "usable_gb"));
        double unknown = json_number_value(json_object_get(mem, "unknown_gb"));
        if (reserved + unknown > usable + 1e-9) {
            snprintf(why, len, "%s: %.2f GiB promised and %.2f used by others of %.2f", device,
                     reserved, unknown, usable);
            return why;
        }
        for (int k = 0; k < 3; k++) {
            json_t *lim =
                json_object_get(json_object_get(json_object_get(res, "limits"), device), kinds[k]);
            json_int_t used = json_integer_value(json_object_get(
                json_object_get(json_object_get(res, "device_usage"), device), kinds[k]));
            if (json_is_integer(lim) && used > json_integer_value(lim)) {
                snprintf(why, len, "%s runs %lld %s, over its limit %lld", device, (long long)used,
                         kinds[k], (long long)json_integer_value(lim));
                return why;
            }
        }
    }
    return NULL;
}

static void *client_main(void *arg)
{
    static const char *const kinds[] = {"training", "inference", "other"};
    struct client *c = arg;
    json_int_t held[PER_CLIENT];
    size_t nheld = 0;

    for (int i = 0; i < PER_CLIENT; i++) {
        char body[160], why[256];
        json_t *j = NULL, *res = NULL;
        const char *bad;
        long st;
        if (nheld > 0 && (rand_r(&c->seed) % 3 == 0 || nheld > 3)) {
            size_t k = rand_r(&c->seed) % nheld;
            snprintf(body, sizeof(body), "{\"allocation_id\": %lld}", (long long)held[k]);
            st = call(c->d, NULL, "POST", "/api/v1/gpu/release", body, &j);
            if (st == 200)
                held[k] = held[--nheld];
        } else {
            snprintf(body, sizeof(body), "{\"kind\": \"%s\", \"memory_gb\": %u, \"wait\": 0}",
                     kinds[rand_r(&c->seed) % 3], 1 + rand_r(&c->seed) % 9);
            st = call(c->d, NULL, "POST", "/api/v1/gpu/allocate", body, &j);
            if (st == 200) {
                held[nheld++] = json_integer_value(json_object_get(j, "allocation_id"));
                c->granted++;
            }
        }
        c->calls++;
        if (st != 200 && st != 409)
            snprintf(why, sizeof(why), "%s answered %ld", body, st), bad = why;
        else
            bad = check_promises((call(c->d, NULL, "GET", "/api/v2/resources", NULL, &res), res),
                                 why, sizeof(why));
        if (bad && atomic_fetch_add(c->violations, 1) == 0)
            snprintf(c->first, sizeof(c->first), "%s", bad);
        json_decref(j);
        json_decref(res);
    }
    for (size_t k = 0; k < nheld; k++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"allocation_id\": %lld}", (long long)held[k]);
        call(c->d, NULL, "POST", "/api/v1/gpu/release", body, NULL);
    }
    return NULL;
}

static void concurrent_calls_never_exceed_limits_or_memory(void **state)
{
    struct daemon d;
    struct client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    atomic_int violations = 0;
    int calls = 0, granted = 0;
    json_t *res;

    (void)state;
    start(&d);
    json_decref(expect(&d, ADMIN_TOKEN, "POST", "/api/v2/resources/config",
                       "{\"max_concurrent\": {\"cuda:0\": {\"training\": 1, \"inference\": 2, "
                       "\"other\": 3}, \"cuda:1\": {\"training\": 1, \"inference\": 2, \"other\": "
                       "2}}}",
                       200));
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] =
            (struct client){.d = &d, .seed = 7u * (unsigned)i + 1, .violations = &violations};
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        calls += clients[i].calls;
        granted += clients[i].granted;
        if (clients[i].first[0])
            print_error("client %d: %s\n", i, clients[i].first);
    }
    assert_int_equal(atomic_load(&violations), 0);
    assert_true(calls >= 500);
    assert_true(granted >= 50); /* the test did contend */
    res = get(&d, "/api/v2/resources");
    assert_true(resource(res, "memory", "cuda:0", "reserved_gb") == 0.0);
    assert_true(resource(res, "memory", "cuda:1", "reserved_gb") == 0.0);
    json_decref(res);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* The devices of an allocation answer, as "cuda:2,cuda:3" in index order. */
static void devices_of(const json_t *j, char *out, size_t len)
{
    int idx[8], n = 0;
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(j, "devices"), i, d) if (n < 8) idx[n++] =
        (int)json_integer_value(json_object_get(d, "index"));
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && idx[b] < idx[b - 1]; b--) {
            int t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    out[0] = '\0';
    for (int k = 0; k < n; k++)
        snprintf(out + strlen(out), len - strlen(out), "%scuda:%d", k ? "," : "", idx[k]);
}

static void multi_gpu_work_goes_to_gpus_joined_by_nvlink(void **state)
{
    struct daemon d;
    char got[64];
    json_t *j;

    (void)state;
    /* 4 A100s: 0-1 and 2-3 joined by NVLink, the pairs on different CPUs */
    daemon_start(&d, "gpu4-nvlink", config, real_proc);
    json_decref(expect(&d, NULL, "POST", "/api/v1/gpu/allocate",
                       "{\"device\": \"cuda:0\", \"memory_gb\": 4}", 200));
    /* Ranked alone (most free memory, fewest allocations, lowest utilization, higher index),
     * the best two are cuda:3 and cuda:1 (cuda:2 is at 3%), across CPUs. The closest sets are
     * the NVLink pairs; of those, the one around the best ranked GPU, cuda:3, wins. */
    j = expect(&d, NULL, "POST", "/api/v1/gpu/validate", "{\"gpu_count\": 2}", 200);
    assert_true(json_is_true(json_object_get(j, "valid")));
    json_decref(j);
    j = expect(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": 2}", 200);
    devices_of(j, got, sizeof(got));
    assert_string_equal(got, "cuda:2,cuda:3");
    json_decref(j);
    /* 37 GiB each: cuda:0 (4 GiB promised) cannot; of cuda:1-3 only 2-3 are joined closely */
    j = expect(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"gpu_count\": 2, \"memory_gb\": 37}",
               200);
    devices_of(j, got, sizeof(got));
    assert_string_equal(got, "cuda:2,cuda:3");
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- the queue ---- */

/* A thread that keeps POSTing body to path every pause_ms until stopped (or full), noting the
 * `key` of every answer that came with status `want`. */
struct poster {
    const struct daemon *d;
    const char *path, *body, *key;
    long want;
    int pause_ms;
    atomic_bool stop;
    json_int_t ids[4096];
    atomic_int n;
};

static void *keep_posting(void *arg)
{
    struct poster *p = arg;

    while (!atomic_load(&p->stop) && atomic_load(&p->n) < 4096) {
        json_t *j = NULL;
        if (call(p->d, NULL, "POST", p->path, p->body, &j) == p->want) {
            p->ids[atomic_load(&p->n)] = json_integer_value(json_object_get(j, p->key));
            atomic_fetch_add(&p->n, 1);
        }
        json_decref(j);
        sleep_ms(p->pause_ms);
    }
    return NULL;
}

static void the_head_of_the_queue_does_not_starve(void **state)
{
    struct daemon d;
    /* later one-GPU requests, one every 50 ms, waiting as long as it takes */
    struct poster arr = {.path = "/api/v1/gpu/allocate",
                         .body = "{\"kind\": \"training\", \"wait\": \"forever\"}",
                         .key = "allocation_id",
                         .want = 202,
                         .pause_ms = 50};
    pthread_t thread;
    json_int_t a, b, head;
    double freed;
    json_t *j;

    (void)state;
    start(&d);
    arr.d = &d;
    a = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    b = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    head = allocate(&d, NULL, "{\"kind\": \"training\", \"gpu_count\": 2, \"wait\": \"forever\"}",
                    202);
    assert_int_equal(pthread_create(&thread, NULL, keep_posting, &arr), 0);
    sleep_ms(300);
    release(&d, a); /* one GPU frees: the head waits for it; no later job may take it */
    sleep_ms(600);
    for (int i = 0; i < atomic_load(&arr.n); i++) {
        j = allocation(&d, arr.ids[i]);
        assert_string_equal(state_of(j), "queued");
        json_decref(j);
    }
    j = allocation(&d, head);
    assert_json_int(j, "queue_position", 1);
    json_decref(j);
    release(&d, b);
    freed = now_s();
    assert_true(alloc_reaches(&d, head, "active", 2.0));
    print_message("the 2-GPU head started %.0f ms after its second GPU freed, %d later "
                  "1-GPU requests waiting\n",
                  (now_s() - freed) * 1000, atomic_load(&arr.n));
    for (int i = 0; i < atomic_load(&arr.n); i++) {
        j = allocation(&d, arr.ids[i]);
        assert_string_equal(state_of(j), "queued");
        json_decref(j);
    }
    atomic_store(&arr.stop, true);
    pthread_join(thread, NULL);
    assert_true(atomic_load(&arr.n) >= 10);
    /* then the later ones, in their order */
    release(&d, head);
    assert_true(alloc_reaches(&d, arr.ids[0], "active", 2.0));
    assert_true(alloc_reaches(&d, arr.ids[1], "active", 2.0));
    j = allocation(&d, arr.ids[2]);
    assert_json_int(j, "queue_position", 1);
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void smaller_requests_backfill_where_the_head_cannot_go(void **state)
{
    struct daemon d;
    json_int_t big, small, bigger;
    json_t *j;

    (void)state;
    start(&d);
    /* cuda:0 (23.67 GiB usable) keeps 8.67 free, cuda:1 (9.75) keeps 7.75 free */
    allocate(&d, NULL, "{\"device\": \"cuda:0\", \"memory_gb\": 15}", 200);
    allocate(&d, NULL, "{\"device\": \"cuda:1\", \"memory_gb\": 2}", 200);
    /* 20 GiB fits only cuda:0, later: the head holds it */
    big = allocate(&d, NULL, "{\"memory_gb\": 20, \"wait\": \"forever\"}", 202);
    /* the same shape asking more waits too; asking less starts at once on cuda:1 */
    bigger = allocate(&d, NULL, "{\"memory_gb\": 21, \"wait\": \"forever\"}", 202);
    small = allocate(&d, NULL, "{\"memory_gb\": 5, \"wait\": \"forever\"}", 200);
    j = allocation(&d, small);
    assert_json_str(j, "device", "cuda:1");
    json_decref(j);
    j = allocation(&d, big);
    assert_json_int(j, "queue_position", 1);
    json_decref(j);
    j = allocation(&d, bigger);
    assert_json_int(j, "queue_position", 2);
    json_decref(j);
    /* once cuda:0 frees, the head goes first */
    release(&d, 1);
    assert_true(alloc_reaches(&d, big, "active", 2.0));
    j = allocation(&d, bigger);
    assert_json_str(j, "state", "queued");
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* Without memory_gb a fraction decides the reservation: such a request is not of the shape of
 * one that names its memory, so its failing does not keep a smaller one waiting. */
static void a_fraction_alone_does_not_hold_back_a_named_memory(void **state)
{
    struct daemon d;
    json_int_t p1, a, b;
    json_t *j;

    (void)state;
    start(&d);
    allocate(&d, NULL, "{\"device\": \"cuda:0\", \"memory_gb\": 13.67}", 200); /* 10 GiB free */
    p1 = allocate(&d, NULL, "{\"device\": \"cuda:1\", \"memory_gb\": 7}", 200);
    allocate(&d, NULL, "{\"device\": \"cuda:1\", \"memory_gb\": 2}", 200); /* 0.75 free */
    /* 0.9 of a GPU fits neither; the head holds cuda:0, which has the most free */
    a = allocate(&d, NULL, "{\"gpu_memory_fraction\": 0.9, \"wait\": \"forever\"}", 202);
    b = allocate(&d, NULL,
                 "{\"gpu_memory_fraction\": 0.9, \"memory_gb\": 5, \"wait\": \"forever\"}", 202);
    release(&d, p1); /* cuda:1 has 7.75 GiB free: b fits there, a (8.8 GiB) still nowhere */
    assert_true(alloc_reaches(&d, b, "active", 2.0));
    j = allocation(&d, a);
    assert_json_str(j, "state", "queued");
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* A wait too long to count in milliseconds is for ever, not an overflow into the past. */
static void a_huge_wait_is_for_ever(void **state)
{
    struct daemon d;
    json_int_t late;
    json_t *j;

    (void)state;
    start(&d);
    allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    late = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 1e17}", 202);
    sleep_ms(600); /* more than two of the scheduler's ticks */
    j = allocation(&d, late);
    assert_json_str(j, "state", "queued");
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void a_queued_request_times_out_or_falls_back_to_the_cpu(void **state)
{
    struct daemon d;
    json_int_t a, b, late, cpu;
    json_t *j;

    (void)state;
    start(&d);
    a = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    b = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    late = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 0.5}", 202);
    cpu = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": 0.5, \"fallback\": \"cpu\"}", 202);
    assert_true(alloc_reaches(&d, late, "failed", 3.0));
    j = allocation(&d, late);
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "limit of 1"));
    json_decref(j);
    assert_true(alloc_reaches(&d, cpu, "active", 3.0));
    j = allocation(&d, cpu);
    assert_json_str(j, "device", "cpu");
    assert_json_str(json_object_get(j, "env"), "CUDA_VISIBLE_DEVICES", "");
    assert_json_str(json_object_get(j, "env"), "GPUCTL_PRECISION", "32-true");
    json_decref(j);
    /* a queued request withdrawn leaves the queue */
    late = allocate(&d, NULL, "{\"kind\": \"training\", \"wait\": \"forever\"}", 202);
    json_decref(expect(&d, NULL, "DELETE", "/api/v1/gpu/allocations/5", NULL, 200));
    assert_int_equal(late, 5);
    j = allocation(&d, late);
    assert_json_str(j, "state", "released");
    json_decref(j);
    release(&d, a);
    release(&d, b);
    release(&d, cpu);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- tasks ---- */

static void cancel_kills_the_whole_process_group(void **state)
{
    struct daemon d;
    char file[256], cmd[512], path[64];
    json_int_t id;
    json_t *j;
    pid_t group;
    double t0;

    (void)state;
    start(&d);
    snprintf(file, sizeof(file), "%s/sh.pid", d.dir);
    snprintf(cmd, sizeof(cmd), "[\"sh\", \"-c\", \"sleep 300 & sleep 300 & echo $$ > %s; wait\"]",
             file);
    id = submit(&d, cmd, "\"kind\": \"training\"");
    assert_true(task_reaches(&d, id, "running", 5.0));
    assert_true(wait_number_in(file, 5.0) > 0);
    j = task(&d, id);
    group = (pid_t)json_integer_value(json_object_get(j, "pid"));
    /* its allocation is not released from under it: the task would keep using the GPU */
    snprintf(cmd, sizeof(cmd), "{\"allocation_id\": %lld}",
             (long long)json_integer_value(json_object_get(j, "allocation_id")));
    json_decref(j);
    refused(&d, NULL, "POST", "/api/v1/gpu/release", cmd, 409, "cancel the task instead");
    assert_true(group > 1 && alive(-group));
    j = expect(&d, NULL, "POST", "/api/v2/tasks/1/cancel", NULL, 200);
    assert_true(json_is_true(json_object_get(j, "cancelling")));
    json_decref(j);
    assert_true(task_reaches(&d, id, "cancelled", 5.0));
    assert_true(gone_within(-group, 2.0)); /* the shell and both sleeps */
    refused(&d, NULL, "POST", "/api/v2/tasks/1/cancel", NULL, 400, "already cancelled");

    /* the shell obeys SIGTERM, a child ignoring it does not: once the command has ended, what
     * is left of the group is killed, not left holding the GPU */
    unlink(file);
    snprintf(cmd, sizeof(cmd),
             "[\"sh\", \"-c\", \"(trap '' TERM; sleep 300) & echo $! > %s; wait\"]", file);
    id = submit(&d, cmd, "\"kind\": \"training\"");
    assert_true(task_reaches(&d, id, "running", 5.0));
    assert_true(wait_number_in(file, 5.0) > 0);
    j = task(&d, id);
    group = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v2/tasks/%lld/cancel", (long long)id);
    json_decref(expect(&d, NULL, "POST", path, NULL, 200));
    assert_true(task_reaches(&d, id, "cancelled", 5.0));
    assert_true(gone_within(-group, 2.0));

    /* one that ignores SIGTERM gets SIGKILL after the grace period (1 s here) */
    unlink(file);
    snprintf(cmd, sizeof(cmd), "[\"sh\", \"-c\", \"trap '' TERM; echo $$ > %s; sleep 300\"]", file);
    id = submit(&d, cmd, NULL);
    assert_true(task_reaches(&d, id, "running", 5.0));
    assert_true(wait_number_in(file, 5.0) > 0);
    j = task(&d, id);
    group = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    t0 = now_s();
    snprintf(path, sizeof(path), "/api/v2/tasks/%lld/cancel", (long long)id);
    json_decref(expect(&d, NULL, "POST", path, NULL, 200));
    sleep_ms(500);
    assert_true(alive(-group)); /* still in its grace period */
    assert_true(task_reaches(&d, id, "cancelled", 5.0));
    assert_true(gone_within(-group, 2.0));
    assert_true(now_s() - t0 >= 0.9);
    j = task(&d, id);
    assert_json_int(j, "signal", 9);
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void a_task_runs_as_submitted_with_its_logs(void **state)
{
    struct daemon d;
    json_int_t id;
    json_t *j;
    char *out;
    FILE *f;

    (void)state;
    start(&d);
    id = submit(&d,
                "[\"sh\", \"-c\", \"echo $CUDA_VISIBLE_DEVICES $GPUCTL_TASK_ID $(pwd); echo oops "
                ">&2; exit 3\"]",
                "\"framework\": \"jax\", \"memory_gb\": 8");
    assert_true(task_reaches(&d, id, "failed", 5.0));
    j = task(&d, id);
    assert_json_int(j, "exit_status", 3);
    assert_json_str(j, "message", "exited with status 3");
    f = fopen(json_string_value(json_object_get(j, "stdout")), "r");
    assert_non_null(f);
    out = calloc(1, 256);
    assert_non_null(fgets(out, 256, f));
    fclose(f);
    assert_string_equal(out, "0 1 /tmp\n");
    f = fopen(json_string_value(json_object_get(j, "stderr")), "r");
    assert_non_null(f);
    assert_non_null(fgets(out, 256, f));
    fclose(f);
    assert_string_equal(out, "oops\n");
    free(out);
    json_decref(j);
    j = open_allocations(&d);
    assert_int_equal(json_array_size(j), 0); /* its allocation ended with it */
    json_decref(j);

    /* without an environment, a login's basics */
    j = expect(&d, NULL, "POST", "/api/v2/tasks",
               "{\"command\": [\"sh\", \"-c\", \"echo $USER $HOME $PATH\"]}", 201);
    id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(task_reaches(&d, id, "succeeded", 5.0));
    j = task(&d, id);
    {
        struct passwd *pw = getpwuid(geteuid());
        char want[512], got[512] = "";
        f = fopen(json_string_value(json_object_get(j, "stdout")), "r");
        assert_non_null(f);
        assert_non_null(fgets(got, sizeof(got), f));
        fclose(f);
        snprintf(want, sizeof(want), "%s %s /usr/local/bin:/usr/bin:/bin\n", pw->pw_name,
                 pw->pw_dir);
        assert_string_equal(got, want);
        assert_json_str(j, "cwd", pw->pw_dir);
    }
    json_decref(j);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- crashes ---- */

/* A process that sleeps until killed, for an allocation to name as its holder. */
static pid_t sleeper(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        execl("/bin/sleep", "sleep", "300", (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

static void a_restart_keeps_the_queue_and_adopts_running_tasks(void **state)
{
    struct daemon d;
    char body[128], file[256], cmd[512];
    json_int_t lng, quick, q[3], held;
    pid_t holder = sleeper(), keeper;
    json_t *j;

    (void)state;
    start(&d);
    snprintf(file, sizeof(file), "%s/long.pid", d.dir);
    snprintf(cmd, sizeof(cmd), "[\"sh\", \"-c\", \"echo $$ > %s; exec sleep 300\"]", file);
    lng = submit(&d, cmd, "\"kind\": \"training\", \"device\": \"cuda:0\"");
    quick = submit(&d, "[\"sh\", \"-c\", \"sleep 1; exit 4\"]",
                   "\"kind\": \"training\", \"device\": \"cuda:1\"");
    for (int i = 0; i < 3; i++)
        q[i] = submit(&d, "[\"true\"]", "\"kind\": \"training\", \"device\": \"cuda:0\"");
    snprintf(body, sizeof(body), "{\"pid\": %d, \"kind\": \"inference\"}", (int)holder);
    held = allocate(&d, NULL, body, 200);
    assert_true(task_reaches(&d, lng, "running", 5.0));
    assert_true(task_reaches(&d, quick, "running", 5.0));
    assert_true(wait_number_in(file, 5.0) > 0);
    j = task(&d, lng);
    keeper = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);

    daemon_crash(&d);
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    sleep_ms(1500); /* quick ends while the daemon is down */
    daemon_restart(&d, true, real_proc);

    j = task(&d, lng);
    assert_json_str(j, "state", "running");
    assert_json_int(j, "pid", keeper);
    json_decref(j);
    j = task(&d, quick);
    assert_json_str(j, "state", "failed");
    assert_json_int(j, "exit_status", 4); /* its keeper recorded it */
    json_decref(j);
    for (int i = 0; i < 3; i++) {
        json_int_t alloc_id;
        j = task(&d, q[i]);
        assert_json_str(j, "state", "queued");
        alloc_id = json_integer_value(json_object_get(j, "allocation_id"));
        json_decref(j);
        j = allocation(&d, alloc_id);
        assert_json_int(j, "queue_position", i + 1);
        json_decref(j);
    }
    j = allocation(&d, held);
    assert_json_str(j, "state", "released"); /* its process died meanwhile */
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "while the daemon"));
    json_decref(j);

    /* the adopted task can still be cancelled, and the queue then moves on */
    json_decref(expect(&d, NULL, "POST", "/api/v2/tasks/1/cancel", NULL, 200));
    assert_true(task_reaches(&d, lng, "cancelled", 5.0));
    assert_true(gone_within(-keeper, 2.0));
    for (int i = 0; i < 3; i++)
        assert_true(task_reaches(&d, q[i], "succeeded", 5.0));
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* Whether allocation a (active) has a live holder: its task, running. */
static bool held(const struct daemon *d, const json_t *a)
{
    json_t *tid = json_object_get(a, "task_id"), *t;
    bool live;

    if (!json_is_integer(tid))
        return false;
    t = task(d, json_integer_value(tid));
    live = strcmp(state_of(t), "running") == 0 &&
           alive((pid_t)json_integer_value(json_object_get(t, "pid")));
    json_decref(t);
    return live;
}

/* No active allocation stays without a live holder: one whose task just ended is released
 * within a tick or two (the daemon reaps every 250 ms). */
static void assert_no_orphans(const struct daemon *d)
{
    json_t *list = open_allocations(d), *a;
    size_t i;

    json_array_foreach(list, i, a)
    {
        json_int_t id = json_integer_value(json_object_get(a, "allocation_id"));
        if (strcmp(state_of(a), "active") == 0 && !held(d, a) &&
            !alloc_reaches(d, id, "released", 2.0)) {
            json_t *t = task(d, json_integer_value(json_object_get(a, "task_id")));
            char *text = json_dumps(t, JSON_COMPACT), *log = daemon_log(d);
            fail_msg("allocation %lld is active without a live holder: %s\n%s", (long long)id, text,
                     log);
        }
    }
    json_decref(list);
}

static void kill_9_under_load_loses_nothing(void **state)
{
    /* short training tasks, one every 5 ms; the acknowledged ones noted */
    static struct poster l = {.path = "/api/v2/tasks",
                              .body = "{\"command\": [\"true\"], \"cwd\": \"/tmp\", \"env\": "
                                      "{\"PATH\": \"/usr/bin:/bin\"}, \"kind\": \"training\", "
                                      "\"wait\": \"forever\"}",
                              .key = "id",
                              .want = 201,
                              .pause_ms = 5};
    struct daemon d;
    pthread_t thread;
    unsigned seed = 42;
    int lost = 0, failed = 0;

    (void)state;
    start(&d);
    l.d = &d;
    for (int round = 0; round < 20; round++) {
        atomic_store(&l.stop, false);
        assert_int_equal(pthread_create(&thread, NULL, keep_posting, &l), 0);
        sleep_ms(50 + rand_r(&seed) % 250);
        daemon_crash(&d);
        atomic_store(&l.stop, true);
        pthread_join(thread, NULL);
        daemon_restart(&d, true, real_proc);
        assert_no_orphans(&d);
        for (int i = 0; i < atomic_load(&l.n); i++) {
            json_t *t = NULL;
            char path[64];
            snprintf(path, sizeof(path), "/api/v2/tasks/%lld", (long long)l.ids[i]);
            if (call(&d, NULL, "GET", path, NULL, &t) != 200)
                lost++;
            json_decref(t);
        }
        assert_int_equal(lost, 0);
    }
    print_message("%d tasks acknowledged over 20 kill -9s\n", atomic_load(&l.n));
    assert_true(atomic_load(&l.n) >= 40);
    /* every acknowledged task runs in the end; none is lost on the way */
    for (int i = 0; i < atomic_load(&l.n); i++) {
        json_t *t;
        for (double end = now_s() + 60;; sleep_ms(50)) {
            t = task(&d, l.ids[i]);
            if (strcmp(state_of(t), "queued") != 0 && strcmp(state_of(t), "running") != 0)
                break;
            assert_true(now_s() < end);
            json_decref(t);
        }
        if (strcmp(state_of(t), "succeeded") != 0) {
            print_message("task %lld: %s: %s\n", (long long)l.ids[i], state_of(t),
                          json_string_value(json_object_get(t, "message")));
            failed++;
        }
        json_decref(t);
    }
    assert_int_equal(failed, 0);
    assert_no_orphans(&d);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- permissions ---- */

/* Runs call() in a child process as uid (over the unix socket): returns the status, and the
 * body's JSON in *out. */
static long call_as(const struct daemon *d, uid_t uid, const char *method, const char *path,
                    const char *body, json_t **out)
{
    int fds[2];
    pid_t pid;
    char text[8192] = "";
    ssize_t n, got = 0;
    long status = -1;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
        json_t *j = NULL;
        long st;
        char *dump;
        close(fds[0]);
        if (setgid(uid) != 0 || setuid(uid) != 0)
            _exit(1);
        st = call(d, NULL, method, path, body, &j);
        dump = j ? json_dumps(j, JSON_COMPACT) : NULL;
        dprintf(fds[1], "%ld %s", st, dump ? dump : "null");
        _exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], text + got, sizeof(text) - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    text[got] = '\0';
    sscanf(text, "%ld", &status);
    if (out)
        *out = strchr(text, ' ') ? json_loads(strchr(text, ' ') + 1, 0, NULL) : NULL;
    return status;
}

#define NOBODY   65534
#define STRANGER 65533

static void only_owners_and_admins_release_or_cancel(void **state)
{
    struct daemon d;
    json_t *j;
    json_int_t id, tid;
    char path[96], body[64];

    (void)state;
    if (geteuid() != 0)
        skip(); /* needs two users: CI runs it as root */
    start(&d);
    assert_int_equal(chmod(d.dir, 0711), 0); /* let the users reach the socket */

    assert_int_equal(call_as(&d, NOBODY, "POST", "/api/v1/gpu/allocate", "{\"wait\": 0}", &j), 200);
    assert_json_int(j, "uid", NOBODY);
    id = json_integer_value(json_object_get(j, "allocation_id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld", (long long)id);
    assert_int_equal(call_as(&d, STRANGER, "DELETE", path, NULL, &j), 403);
    assert_non_null(strstr(error_of(j), "only they or an admin"));
    json_decref(j);
    assert_int_equal(call_as(&d, NOBODY, "DELETE", path, NULL, NULL), 200);
    id = allocate(&d, NULL, "{}", 200);
    (void)id;
    assert_int_equal(call_as(&d, NOBODY, "POST", "/api/v1/gpu/allocate", "{}", &j), 200);
    id = json_integer_value(json_object_get(j, "allocation_id"));
    json_decref(j);
    release(&d, id); /* root is an admin */

    /* a task runs as its submitter; others may not cancel it */
    assert_int_equal(call_as(&d, NOBODY, "POST", "/api/v2/tasks",
                             "{\"command\": [\"sh\", \"-c\", \"id -u; exec sleep 300\"], \"cwd\": "
                             "\"/\", \"env\": {\"PATH\": \"/usr/bin:/bin\"}}",
                             &j),
                     201);
    tid = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(task_reaches(&d, tid, "running", 5.0));
    snprintf(path, sizeof(path), "/api/v2/tasks/%lld/cancel", (long long)tid);
    assert_int_equal(call_as(&d, STRANGER, "POST", path, NULL, NULL), 403);
    j = task(&d, tid);
    assert_json_int(j, "uid", NOBODY);
    for (double end = now_s() + 5; number_in(json_string_value(json_object_get(j, "stdout"))) < 0;
         sleep_ms(20))
        assert_true(now_s() < end);
    assert_int_equal(number_in(json_string_value(json_object_get(j, "stdout"))), NOBODY);
    json_decref(j);
    assert_int_equal(call_as(&d, NOBODY, "POST", path, NULL, NULL), 200);
    assert_true(task_reaches(&d, tid, "cancelled", 5.0));

    /* token users: alice's allocation is hers; bob may not release it; tasks need a uid */
    id = allocate(&d, ALICE_TOKEN, "{}", 200);
    snprintf(body, sizeof(body), "{\"allocation_id\": %lld}", (long long)id);
    refused(&d, BOB_TOKEN, "POST", "/api/v1/gpu/release", body, 403, "alice's");
    json_decref(expect(&d, ALICE_TOKEN, "POST", "/api/v1/gpu/release", body, 200));
    refused(&d, ALICE_TOKEN, "POST", "/api/v2/tasks", "{\"command\": [\"true\"]}", 403,
            "unix socket");
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- the CLI ---- */

/* Runs gpuctl with the daemon at d's socket. */
static void cli(struct run *r, const struct daemon *d, const char *const *env,
                const char *const *args)
{
    char daemon_env[256];
    const char *all[16];
    size_t n = 0;

    snprintf(daemon_env, sizeof(daemon_env), "GPUCTL_DAEMON=unix:%s", d->socket);
    all[n++] = daemon_env;
    for (size_t i = 0; env && env[i] && n + 1 < 16; i++)
        all[n++] = env[i];
    all[n] = NULL;
    run_gpuctl(r, "gpu2", all, args);
}

/* The value of NAME in `env` output ("" when absent). */
static const char *var(const char *out, const char *name, char *buf, size_t len)
{
    char key[128];
    const char *p;

    snprintf(key, sizeof(key), "\n%s=", name);
    buf[0] = '\0';
    p = strstr(out, key);
    if (!p && strncmp(out, key + 1, strlen(key + 1)) == 0)
        p = out - 1;
    if (p)
        snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(key), "\n"), p + strlen(key));
    return buf;
}

static void a_release_stops_the_holder_unless_it_is_the_releaser(void **state)
{
    struct daemon d;
    char body[96];
    json_int_t id;
    pid_t holder = sleeper();

    (void)state;
    start(&d);
    /* this process holds it and gives it back itself: no signal (the test would die) */
    snprintf(body, sizeof(body), "{\"pid\": %d}", (int)getpid());
    release(&d, allocate(&d, NULL, body, 200));
    /* another process holds it and an admin releases it: the holder is told to stop */
    snprintf(body, sizeof(body), "{\"pid\": %d}", (int)holder);
    id = allocate(&d, NULL, body, 200);
    snprintf(body, sizeof(body), "{\"allocation_id\": %lld}", (long long)id);
    json_decref(expect(&d, ADMIN_TOKEN, "POST", "/api/v1/gpu/release", body, 200));
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    /* a pid whose owner the daemon cannot check, or init, is refused */
    refused(&d, ALICE_TOKEN, "POST", "/api/v1/gpu/allocate", "{\"pid\": 1}", 400,
            "pid needs the unix socket");
    refused(&d, NULL, "POST", "/api/v1/gpu/allocate", "{\"pid\": 1}", 400,
            "pid 1 cannot hold an allocation");
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void run_gives_each_framework_its_environment(void **state)
{
    struct daemon d;
    struct run r;
    char v[256];

    (void)state;
    start(&d);
    cli(&r, &d, NULL, ARGS("run", "--framework", "torch", "--", "env"));
    assert_int_equal(r.status, 0);
    assert_string_equal(var(r.out, "CUDA_VISIBLE_DEVICES", v, sizeof(v)), "0");
    assert_string_equal(var(r.out, "CUDA_DEVICE_ORDER", v, sizeof(v)), "PCI_BUS_ID");
    assert_string_equal(var(r.out, "PYTORCH_CUDA_ALLOC_CONF", v, sizeof(v)),
                        "expandable_segments:True");
    assert_string_equal(var(r.out, "GPUCTL_PRECISION", v, sizeof(v)), "bf16-mixed");
    assert_string_equal(var(r.out, "ROCR_VISIBLE_DEVICES", v, sizeof(v)), "");
    assert_null(strstr(r.out, "MASTER_PORT="));
    run_release(&r);

    cli(&r, &d, NULL, ARGS("run", "--framework", "tf", "--", "env"));
    assert_string_equal(var(r.out, "TF_FORCE_GPU_ALLOW_GROWTH", v, sizeof(v)), "true");
    run_release(&r);

    cli(&r, &d, NULL, ARGS("run", "--framework", "jax", "--mem", "12G", "--", "env"));
    assert_string_equal(var(r.out, "XLA_PYTHON_CLIENT_PREALLOCATE", v, sizeof(v)), "false");
    assert_string_equal(var(r.out, "XLA_PYTHON_CLIENT_MEM_FRACTION", v, sizeof(v)), "0.50");
    run_release(&r);

    /* the caller's mask: only GPU 1 may be used */
    cli(&r, &d, ENV("CUDA_VISIBLE_DEVICES=1"), ARGS("run", "--", "env"));
    assert_string_equal(var(r.out, "CUDA_VISIBLE_DEVICES", v, sizeof(v)), "1");
    run_release(&r);

    /* distributed, one process per GPU, as torchrun starts them */
    cli(&r, &d, NULL,
        ARGS("run", "-n", "2", "--per-gpu", "--", "sh", "-c",
             "echo rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK master=$MASTER_ADDR:$MASTER_PORT "
             "gpus=$CUDA_VISIBLE_DEVICES"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "rank=0/2 local=0 master=127.0.0.1:"));
    assert_non_null(strstr(r.out, "rank=1/2 local=1 master=127.0.0.1:"));
    assert_non_null(strstr(r.out, "gpus=0,1"));
    run_release(&r);
    /* with one GPU too: torch.distributed wants RANK even in a world of one */
    cli(&r, &d, NULL,
        ARGS("run", "--per-gpu", "--", "sh", "-c",
             "echo rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "rank=0/1 local=0"));
    run_release(&r);

    /* the command's exit status is run's; the GPUs are released after */
    cli(&r, &d, NULL, ARGS("run", "--", "sh", "-c", "exit 7"));
    assert_int_equal(r.status, 7);
    run_release(&r);
    cli(&r, &d, NULL, ARGS("run", "--device", "cuda:9", "--", "true"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "device index 9 is out of range"));
    run_release(&r);
    {
        json_t *list = open_allocations(&d);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
    }
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* Starts `gpuctl run ARGS` in the background against d; returns its pid. */
static pid_t run_in_background(const struct daemon *d, char *const *args)
{
    char daemon_env[256], ld[256];
    char *env[] = {daemon_env, ld, (char *)"PATH=/usr/bin:/bin", NULL};
    char *argv[16] = {(char *)GPUCTL_BIN, (char *)"run"};
    size_t n = 2;
    pid_t pid;

    snprintf(daemon_env, sizeof(daemon_env), "GPUCTL_DAEMON=unix:%s", d->socket);
    snprintf(ld, sizeof(ld), "LD_LIBRARY_PATH=%s/current", FAKE_NVML_DIR);
    for (size_t i = 0; args[i] && n + 1 < 16; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    assert_int_equal(posix_spawn(&pid, GPUCTL_BIN, NULL, NULL, argv, env), 0);
    return pid;
}

/* The open allocation held by pid, or NULL (the caller releases it). */
static json_t *held_by(const struct daemon *d, pid_t pid)
{
    json_t *list = open_allocations(d), *a, *found = NULL;
    size_t i;

    json_array_foreach(list, i, a) if (json_integer_value(json_object_get(a, "pid")) == pid) found =
        json_incref(a);
    json_decref(list);
    return found;
}

static void a_queued_run_rides_out_a_daemon_restart(void **state)
{
    struct daemon d;
    char file[256], cmd[300];
    char *args[] = {
        (char *)"--kind", (char *)"training", (char *)"--", (char *)"sh", (char *)"-c", cmd, NULL};
    json_int_t a, b;
    json_t *mine = NULL;
    pid_t run;
    int status;

    (void)state;
    start(&d);
    a = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    b = allocate(&d, NULL, "{\"kind\": \"training\"}", 200);
    snprintf(file, sizeof(file), "%s/ran", d.dir);
    snprintf(cmd, sizeof(cmd), "echo $CUDA_VISIBLE_DEVICES > %s", file);
    run = run_in_background(&d, args);
    for (double end = now_s() + 5; !(mine = held_by(&d, run)); sleep_ms(20))
        assert_true(now_s() < end);
    assert_json_str(mine, "state", "queued");
    json_decref(mine);

    daemon_crash(&d);
    sleep_ms(300);
    daemon_restart(&d, true, real_proc);
    release(&d, b);
    assert_int_equal(waitpid(run, &status, 0), run);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(wait_number_in(file, 1.0) >= 0); /* it ran, on the GPU b gave back */
    release(&d, a);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void run_is_released_when_killed(void **state)
{
    struct daemon d;
    char file[256], cmd[300];
    char *args[] = {(char *)"--", (char *)"sh", (char *)"-c", cmd, NULL};
    pid_t run, child;
    json_t *list;

    (void)state;
    start(&d);
    snprintf(file, sizeof(file), "%s/child.pid", d.dir);
    snprintf(cmd, sizeof(cmd), "echo $$ > %s; exec sleep 300", file);
    run = run_in_background(&d, args);
    child = (pid_t)wait_number_in(file, 10.0);
    assert_true(child > 0);
    list = open_allocations(&d);
    assert_int_equal(json_array_size(list), 1);
    assert_json_int(json_array_get(list, 0), "pid", run);
    json_decref(list);

    kill(run, SIGKILL);
    waitpid(run, NULL, 0);
    assert_true(gone_within(child, 3.0)); /* SIGTERM as run died */
    for (double end = now_s() + 3;; sleep_ms(50)) {
        list = open_allocations(&d);
        size_t n = json_array_size(list);
        json_decref(list);
        if (n == 0)
            break;
        assert_true(now_s() < end);
    }
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void submit_ps_logs_cancel_and_limits_from_the_cli(void **state)
{
    struct daemon d;
    struct run r;
    char id[16];

    (void)state;
    start(&d);
    cli(&r, &d, NULL, ARGS("submit", "--kind", "training", "--", "sh", "-c", "echo hi; sleep 300"));
    assert_int_equal(r.status, 0);
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(r.out, "\n"), r.out);
    assert_string_equal(id, "1");
    run_release(&r);
    assert_true(task_reaches(&d, 1, "running", 5.0));

    cli(&r, &d, NULL, ARGS("ps"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "running"));
    assert_non_null(strstr(r.out, "sh -c echo hi; sleep 300"));
    assert_non_null(strstr(r.out, "cuda:0"));
    run_release(&r);
    for (double end = now_s() + 5;; sleep_ms(50)) {
        cli(&r, &d, NULL, ARGS("logs", "1"));
        bool said = strcmp(r.out, "hi\n") == 0;
        run_release(&r);
        if (said)
            break;
        assert_true(now_s() < end);
    }

    cli(&r, &d, NULL, ARGS("limits"));
    assert_non_null(strstr(r.out, "cuda:0     1/1        0/3        0/-"));
    run_release(&r);
    cli(&r, &d, NULL, ARGS("limits", "set", "cuda:1", "training=2", "inference=none"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "cuda:1     0/2        0/-        0/-"));
    run_release(&r);
    cli(&r, &d, NULL, ARGS("limits", "set", "training=2"));
    assert_int_equal(r.status, 2);
    run_release(&r);

    cli(&r, &d, NULL, ARGS("cancel", "1"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "1 stopping"));
    run_release(&r);
    assert_true(task_reaches(&d, 1, "cancelled", 5.0));
    cli(&r, &d, NULL, ARGS("cancel", "1", "x"));
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "already cancelled"));
    run_release(&r);
    cli(&r, &d, NULL, ARGS("ps", "--all", "--json"));
    assert_int_equal(r.status, 0);
    {
        json_t *j = run_json(&r);
        assert_json_str(json_array_get(json_object_get(j, "tasks"), 0), "state", "cancelled");
        json_decref(j);
    }
    run_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void without_a_daemon_commands_say_how_to_start_one(void **state)
{
    struct run r;

    (void)state;
    run_gpuctl(&r, "gpu2", ENV("GPUCTL_DAEMON=unix:/nonexistent/gpuctl.sock"),
               ARGS("run", "--", "true"));
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "no gpuctl daemon answers at unix:/nonexistent/gpuctl.sock"));
    assert_non_null(strstr(r.err, "gpuctl serve"));
    run_release(&r);
    run_gpuctl(&r, "gpu2", NULL, ARGS("env", "--framework", "jax", "--mem", "6G"));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "export CUDA_VISIBLE_DEVICES='0'\n"));
    assert_non_null(strstr(r.out, "export XLA_PYTHON_CLIENT_PREALLOCATE='false'\n"));
    assert_non_null(strstr(r.out, "export GPUCTL_PRECISION='bf16-mixed'\n"));
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(bad_requests_are_refused_and_change_nothing, daemon_cleanup_all),
        cmocka_unit_test_teardown(allocate_answers_as_guide_001_and_release_frees,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(limits_cap_each_kind_per_gpu, daemon_cleanup_all),
        cmocka_unit_test_teardown(concurrent_calls_never_exceed_limits_or_memory,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(multi_gpu_work_goes_to_gpus_joined_by_nvlink, daemon_cleanup_all),
        cmocka_unit_test_teardown(the_head_of_the_queue_does_not_starve, daemon_cleanup_all),
        cmocka_unit_test_teardown(smaller_requests_backfill_where_the_head_cannot_go,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(a_fraction_alone_does_not_hold_back_a_named_memory,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(a_huge_wait_is_for_ever, daemon_cleanup_all),
        cmocka_unit_test_teardown(a_queued_request_times_out_or_falls_back_to_the_cpu,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(cancel_kills_the_whole_process_group, daemon_cleanup_all),
        cmocka_unit_test_teardown(a_task_runs_as_submitted_with_its_logs, daemon_cleanup_all),
        cmocka_unit_test_teardown(a_restart_keeps_the_queue_and_adopts_running_tasks,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(kill_9_under_load_loses_nothing, daemon_cleanup_all),
        cmocka_unit_test_teardown(only_owners_and_admins_release_or_cancel, daemon_cleanup_all),
        cmocka_unit_test_teardown(a_release_stops_the_holder_unless_it_is_the_releaser,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(run_gives_each_framework_its_environment, daemon_cleanup_all),
        cmocka_unit_test_teardown(run_is_released_when_killed, daemon_cleanup_all),
        cmocka_unit_test_teardown(a_queued_run_rides_out_a_daemon_restart, daemon_cleanup_all),
        cmocka_unit_test_teardown(submit_ps_logs_cancel_and_limits_from_the_cli,
                                  daemon_cleanup_all),
        cmocka_unit_test(without_a_daemon_commands_say_how_to_start_one),
    };

    signal(SIGPIPE, SIG_IGN);
    if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='kill_9*' while working on one */
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
