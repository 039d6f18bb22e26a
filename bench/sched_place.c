/* sched_place.c: the scheduler's placement decisions with 10,000 queued allocations on 64 fake
 * GPUs, in process, for bench/sched.sh.
 *
 *   bench_sched_place FAKE_NVML_LIBRARY DIR [RUNS] [DECISIONS] [PASSES] [QUEUED] [CASES]
 * writes a 64-GPU fixture to DIR and, for each run, opens a fresh ledger in a new directory under
 * DIR (so DIR's file system is the one that fsyncs). Per run and case it prints one line per
 * measurement, wall and thread CPU time of each call in microseconds:
 *   case=A run=1 what=pass n=.. queued=.. shapes=.. grants=.. wall_median_us=.. wall_p99_us=..
 *   wall_min_us=.. wall_max_us=.. cpu_median_us=.. cpu_p99_us=.. thread_cpu_us=..
 * what: pass (sched_pass under the lock, nothing placeable), decision (sched_release of an
 * active allocation, whose pass grants the head of the queue), grant (the pass alone after an
 * allocation ended, with the grant's commit), aftercommit (in its place every other time, one
 * ledger write alone), release (a release with an empty queue: one commit), commit (one ledger
 * write alone, after an idle moment). thread_cpu_us is what the scheduler's own thread spent per
 * call meanwhile (it runs a pass after each change). After the passes, a line what=parts gives
 * splits of a pass (see time_parts()). The cases: A one request over and over, B a mix of eight
 * (three shapes), C every request its own memory size; E the empty queue. CASES picks some
 * (default ABCE).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "config/config.h"
#include "monitor/monitor.h"
#include "sched/sched_int.h"
#include "store/ledger.h"
#include "store/store.h"
#include "util/size.h"

#include "../tests/fakes/nvml/identical.h"

#define NGPUS 64

static const struct sched_caller root = {.uid = 0, .gid = 0, .user = "root", .admin = true};

/* A case: the requests it queues, whether inference limits are filled too, and at most how many
 * passes and decisions it times (0: as many as asked). */
struct bench_case {
    const char *name;
    bool fill_inference;
    void (*shape)(unsigned i, char *json, size_t len);
    unsigned most;
};

struct series {
    double *wall, *cpu;
    size_t n;
    unsigned grants;
    double thread_us; /* the scheduler thread's CPU over the series */
};

static double wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void shape_one(unsigned i, char *json, size_t len)
{
    (void)i;
    snprintf(json, len, "{\"kind\": \"training\", \"memory_gb\": 4, \"wait\": \"forever\"}");
}

/* Half single-GPU training of four sizes, a fifth two-GPU training, the rest inference. */
static void shape_mix(unsigned i, char *json, size_t len)
{
    static const char *const shapes[] = {
        "\"kind\": \"training\", \"memory_gb\": 4",
        "\"kind\": \"training\", \"memory_gb\": 8",
        "\"kind\": \"training\", \"memory_gb\": 16",
        "\"kind\": \"training\", \"memory_gb\": 40",
        "\"kind\": \"training\", \"gpu_count\": 2, \"memory_gb\": 16",
        "\"kind\": \"training\", \"gpu_count\": 2, \"memory_gb\": 40",
        "\"kind\": \"inference\", \"memory_gb\": 2",
        "\"kind\": \"inference\", \"memory_gb\": 8",
    };
    static const unsigned weights[] = {20, 10, 10, 10, 10, 10, 15, 15}; /* of 100 */
    unsigned x = (i * 2654435761u) >> 8, pick = x % 100, k = 0;

    while (pick >= weights[k]) {
        pick -= weights[k];
        k++;
    }
    snprintf(json, len, "{%s, \"wait\": \"forever\"}", shapes[k]);
}

static void shape_distinct(unsigned i, char *json, size_t len)
{
    snprintf(json, len, "{\"kind\": \"training\", \"memory_gb\": %.4f, \"wait\": \"forever\"}",
             1.0 + i * 0.0005);
}

/* The empty-queue case's allocations: granted at once (other work has no per-GPU limit). */
static void shape_small(unsigned i, char *json, size_t len)
{
    (void)i;
    snprintf(json, len, "{\"kind\": \"other\", \"memory_gb\": 0.01}");
}

static const struct bench_case cases[] = {
    {"A", false, shape_one, 0},
    {"B", true, shape_mix, 0},
    {"C", false, shape_distinct, 20}, /* was 0.25 s a pass, when memory made a shape */
};

static int request(const char *json, struct sched_request *r)
{
    json_t *o = json_loads(json, 0, NULL);
    char msg[256];
    int rc = request_from_json(o, NULL, r, msg, sizeof(msg));

    if (rc)
        fprintf(stderr, "bench_sched_place: %s: %s\n", json, msg);
    json_decref(o);
    return rc;
}

/* Allocates count of json now (wait 0): each must be granted. */
static int fill(struct sched *s, const char *json, unsigned count)
{
    struct sched_request r;
    char msg[768];

    if (request(json, &r) != 0)
        return -1;
    for (unsigned i = 0; i < count; i++) {
        struct sched_answer ans;
        int rc = sched_allocate(s, &r, &root, 0, &ans, msg, sizeof(msg));
        bool active = rc == 0 && ans.a.state == ALLOC_ACTIVE;
        sched_answer_release(&ans);
        if (!active) {
            fprintf(stderr, "bench_sched_place: fill %u of %s: %s\n", i, json, rc ? msg : "queued");
            return -1;
        }
    }
    return 0;
}

/* Admits n requests in one transaction under the lock, as sched_submit() does: each must end
 * as want (queued ones wait for ever; active ones are the empty-queue case's). */
static int admit(struct sched *s, const struct bench_case *c, unsigned n, enum alloc_state want)
{
    char json[256], msg[768];
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    rc = ledger_begin(s->o.store);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        struct sched_request r;
        struct sched_answer ans;
        c->shape(i, json, sizeof(json));
        rc = request(json, &r);
        if (rc == 0)
            rc = sched_admit(s, &r, &root, 0, &ans, msg, sizeof(msg));
        if (rc == 0 && ans.a.state != want)
            rc = -1;
        if (rc)
            fprintf(stderr, "bench_sched_place: admit %u (%s): %s\n", i, json, msg);
        sched_answer_release(&ans);
    }
    if (ledger_end(s->o.store, rc == 0) != 0)
        rc = -1;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* CPU nanoseconds of this process's gpuctl-sched thread (the one sched open). */
static double sched_thread_us(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    double us = 0;

    while (d && (e = readdir(d))) {
        char path[300], comm[32] = "";
        unsigned long long ns = 0;
        FILE *f;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (!fgets(comm, sizeof(comm), f) || strncmp(comm, "gpuctl-sched", 12) != 0) {
            fclose(f);
            continue;
        }
        fclose(f);
        snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%llu", &ns) == 1)
                us += (double)ns / 1e3;
            fclose(f);
        }
    }
    if (d)
        closedir(d);
    return us;
}

/* Waits until the scheduler's thread has done the pass a change woke it for. Every timed call
 * comes after it, so that each finds the caches as a request after an idle moment does. */
static void settle(struct sched *s)
{
    sleep_ms(2);
    pthread_mutex_lock(&s->lock);
    pthread_mutex_unlock(&s->lock);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *name, int run, const char *what, struct sched *s, struct series *t)
{
    size_t n = t->n;

    qsort(t->wall, n, sizeof(double), by_value);
    qsort(t->cpu, n, sizeof(double), by_value);
    printf("case=%s run=%d what=%s n=%zu queued=%zu shapes=%zu active=%zu grants=%u "
           "wall_median_us=%.1f wall_p99_us=%.1f wall_min_us=%.1f wall_max_us=%.1f "
           "cpu_median_us=%.1f cpu_p99_us=%.1f thread_cpu_us=%.1f\n",
           name, run, what, n, s->nqueue, s->nshapes, s->nactive, t->grants, t->wall[n / 2],
           t->wall[n * 99 / 100], t->wall[0], t->wall[n - 1], t->cpu[n / 2], t->cpu[n * 99 / 100],
           t->thread_us / (double)n);
    fflush(stdout);
    t->n = 0;
    t->grants = 0;
}

/* (i) The pass every request and every tick pays, when nothing can be placed. */
static int time_passes(struct sched *s, unsigned n, struct series *t)
{
    double th = sched_thread_us();

    for (unsigned i = 0; i < n; i++) {
        double w0, c0;
        bool changed;
        settle(s);
        w0 = wall_us();
        c0 = cpu_us();
        pthread_mutex_lock(&s->lock);
        changed = sched_pass(s);
        pthread_mutex_unlock(&s->lock);
        t->wall[t->n] = wall_us() - w0;
        t->cpu[t->n++] = cpu_us() - c0;
        if (changed) {
            fprintf(stderr, "bench_sched_place: a steady pass changed something\n");
            return -1;
        }
    }
    t->thread_us = sched_thread_us() - th;
    return 0;
}

/* Splits of a pass, each a hot loop's mean: policy_place() of the head's request over the view
 * the last pass left (nothing fits), sched_allow() (the pass's resolve() and the could-ever
 * checks), one size_format() (what a reason costs, per size, when validate asks for reasons),
 * one sched_same_shape() of two requests (finding a request's shape, after its hash matched);
 * and, after a 2 ms pause each time,
 * one walk over the open allocations reading their pid, as reap_holders() does at every wake of
 * the scheduler's thread. */
static void time_parts(struct sched *s, const char *name, int run)
{
    enum { N = 1000 };
    struct sched_request req;
    struct sched_req r;
    struct placement p;
    char buf[32], msg[256];
    double t0, place, allow, format, same, walk = 0;
    unsigned sink = 0;
    bool cpu;

    settle(s);
    pthread_mutex_lock(&s->lock);
    req = s->queue[0]->req;
    r = request_for_policy(&req, s->queue[0]->id);
    t0 = wall_us();
    for (int i = 0; i < N; i++)
        sink += policy_place(s->view.v, s->view.n, &r, s->o.policy, NULL, &p) == 0;
    place = (wall_us() - t0) / N;
    t0 = wall_us();
    for (int i = 0; i < N; i++)
        sink += sched_allow(s->view.snap, &req, s->view.v, s->view.n, &cpu, msg, sizeof(msg)) == 0;
    allow = (wall_us() - t0) / N;
    for (size_t i = 0; i < s->view.n; i++)
        s->view.v[i].allowed = true;
    t0 = wall_us();
    for (int i = 0; i < N * 10; i++)
        sink += size_format(s->view.v[i % s->view.n].total - (uint64_t)i, buf, sizeof(buf))[0];
    format = (wall_us() - t0) / (N * 10) * 1e3;
    t0 = wall_us();
    for (int i = 0; i < N * 100; i++)
        sink += sched_same_shape(&s->queue[0]->req, &s->queue[1 + i % 100]->req);
    same = (wall_us() - t0) / (N * 100) * 1e3;
    pthread_mutex_unlock(&s->lock);
    for (int k = 0; k < 10; k++) {
        settle(s);
        pthread_mutex_lock(&s->lock);
        t0 = wall_us();
        for (size_t i = 0; i < s->nopen; i++)
            sink += s->open[i]->pid > 0;
        walk += (wall_us() - t0) / 10;
        pthread_mutex_unlock(&s->lock);
    }
    printf("case=%s run=%d what=parts place_us=%.2f allow_us=%.2f size_format_ns=%.1f "
           "same_shape_ns=%.2f walk_open_us=%.1f open=%zu sink=%u\n",
           name, run, place, allow, format, same, walk, s->nopen, sink);
}

/* (ii) and (iii): releases n active allocations, one at a time, timing each. */
static int time_releases(struct sched *s, unsigned n, struct series *t)
{
    double th = 0;

    for (unsigned i = 0; i < n; i++) {
        size_t queued;
        int64_t id;
        char msg[256];
        double w0, c0, th0;
        settle(s);
        pthread_mutex_lock(&s->lock);
        if (s->nactive == 0) {
            pthread_mutex_unlock(&s->lock);
            fprintf(stderr, "bench_sched_place: nothing active to release\n");
            return -1;
        }
        id = s->active[i % s->nactive]->id;
        queued = s->nqueue;
        pthread_mutex_unlock(&s->lock);
        th0 = sched_thread_us();
        w0 = wall_us();
        c0 = cpu_us();
        if (sched_release(s, id, &root, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "bench_sched_place: release %lld: %s\n", (long long)id, msg);
            return -1;
        }
        t->wall[t->n] = wall_us() - w0;
        t->cpu[t->n++] = cpu_us() - c0;
        settle(s);
        th += sched_thread_us() - th0;
        pthread_mutex_lock(&s->lock);
        t->grants += (unsigned)(queued - s->nqueue);
        pthread_mutex_unlock(&s->lock);
    }
    t->thread_us = th;
    return 0;
}

/* (iv) The decision alone: an active allocation ends (written, not timed), then the pass that
 * places the head of the queue on the GPU it freed is timed (into t); it writes the grant, one
 * commit timed with it. Every other time, what that commit costs in the same place: right after
 * the end's commit, one ledger write alone (into commit; the scheduler's thread grants then). */
static int time_grants(struct sched *s, unsigned n, struct series *t, struct series *commit)
{
    for (unsigned i = 0; i < n; i++) {
        size_t queued;
        double w0, c0;
        int rc = 0;
        struct series *into = i % 2 ? t : commit;
        settle(s);
        pthread_mutex_lock(&s->lock);
        if (s->nactive < 2) {
            pthread_mutex_unlock(&s->lock);
            return -1;
        }
        sched_end(s, s->active[i % s->nactive], ALLOC_RELEASED, "bench");
        queued = s->nqueue;
        w0 = wall_us();
        c0 = cpu_us();
        if (into == t)
            sched_pass(s);
        else
            rc = ledger_put_alloc(s->o.store, s->active[0]);
        into->wall[into->n] = wall_us() - w0;
        into->cpu[into->n++] = cpu_us() - c0;
        t->grants += (unsigned)(queued - s->nqueue);
        pthread_mutex_unlock(&s->lock);
        if (rc)
            return -1;
    }
    t->thread_us = commit->thread_us = 0;
    return 0;
}

/* (iii) One ledger write alone: an active allocation written again, unchanged. */
static int time_commits(struct sched *s, unsigned n, struct series *t)
{
    for (unsigned i = 0; i < n; i++) {
        double w0, c0;
        int rc;
        settle(s);
        pthread_mutex_lock(&s->lock);
        w0 = wall_us();
        c0 = cpu_us();
        rc = ledger_put_alloc(s->o.store, s->active[i % s->nactive]);
        t->wall[t->n] = wall_us() - w0;
        t->cpu[t->n++] = cpu_us() - c0;
        pthread_mutex_unlock(&s->lock);
        if (rc)
            return -1;
    }
    t->thread_us = 0;
    return 0;
}

struct bench {
    struct config cfg;
    struct gpuctl *g;
    struct monitor *monitor;
    const char *dir;
    unsigned decisions, passes, queued;
    struct series t, u;
};

static int open_sched(struct bench *b, char *ledger, struct store **store, struct sched **s)
{
    struct sched_options o = {.cfg = &b->cfg,
                              .monitor = b->monitor,
                              .machine = b->g,
                              .procfs_root = "/proc",
                              .state_dir = ledger,
                              .policy = SCHED_SPREAD,
                              .grace_ms = 10000};
    char msg[512];

    if (!mkdtemp(ledger) || store_open(ledger, store, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "bench_sched_place: cannot open a ledger in %s\n", ledger);
        return -1;
    }
    o.store = *store;
    if (sched_open(&o, s, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "bench_sched_place: %s\n", msg);
        return -1;
    }
    return 0;
}

static void close_sched(struct sched *s, struct store *store, const char *ledger)
{
    char path[700];

    sched_close(s);
    store_close(store);
    for (size_t i = 0; i < 3; i++) {
        static const char *const files[] = {"gpuctl.db", "gpuctl.db-wal", "gpuctl.db-shm"};
        snprintf(path, sizeof(path), "%s/%s", ledger, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/tasks", ledger);
    rmdir(path);
    rmdir(ledger);
}

/* One run of case c: every GPU full, the queue filled, then passes and decisions. */
static int run_case(struct bench *b, const struct bench_case *c, int run)
{
    char ledger[600];
    struct store *store = NULL;
    struct sched *s = NULL;
    unsigned passes = c->most && c->most < b->passes ? c->most : b->passes;
    unsigned decisions = c->most && c->most < b->decisions ? c->most : b->decisions;
    int rc;

    snprintf(ledger, sizeof(ledger), "%s/ledger-XXXXXX", b->dir);
    rc = open_sched(b, ledger, &store, &s);
    if (!rc)
        rc = fill(s, "{\"kind\": \"training\", \"memory_gb\": 8}", NGPUS);
    if (!rc && c->fill_inference)
        rc = fill(s, "{\"kind\": \"inference\", \"memory_gb\": 4}", 3 * NGPUS);
    if (!rc)
        rc = admit(s, c, b->queued, ALLOC_QUEUED);
    if (!rc)
        rc = time_passes(s, passes, &b->t);
    if (!rc) {
        report(c->name, run, "pass", s, &b->t);
        time_parts(s, c->name, run);
    }
    if (!rc)
        rc = time_releases(s, decisions, &b->t);
    if (!rc)
        report(c->name, run, "decision", s, &b->t);
    if (!rc)
        rc = time_grants(s, decisions, &b->t, &b->u);
    if (!rc)
        report(c->name, run, "grant", s, &b->t);
    if (!rc)
        report(c->name, run, "aftercommit", s, &b->u);
    close_sched(s, store, ledger);
    return rc;
}

/* One run with an empty queue: what a release and a ledger write cost without a decision. */
static int run_empty(struct bench *b, int run)
{
    static const struct bench_case c = {"empty", false, shape_small, 0};
    char ledger[600];
    struct store *store = NULL;
    struct sched *s = NULL;
    int rc;

    snprintf(ledger, sizeof(ledger), "%s/ledger-XXXXXX", b->dir);
    rc = open_sched(b, ledger, &store, &s);
    if (!rc)
        rc = fill(s, "{\"kind\": \"training\", \"memory_gb\": 8}", NGPUS);
    if (!rc)
        rc = admit(s, &c, b->decisions, ALLOC_ACTIVE);
    if (!rc)
        rc = time_commits(s, b->decisions, &b->t);
    if (!rc)
        report("empty", run, "commit", s, &b->t);
    if (!rc)
        rc = time_releases(s, b->decisions, &b->t);
    if (!rc)
        report("empty", run, "release", s, &b->t);
    close_sched(s, store, ledger);
    return rc;
}

int main(int argc, char **argv)
{
    /* as the daemon opens it: every GPU, and how they are joined */
    struct gpuctl_options opts = {NULL, "/proc", NULL, GPUCTL_OPEN_NO_MASKS | GPUCTL_OPEN_LINKS};
    struct bench b = {.passes = 200, .decisions = 200, .queued = 10000};
    int runs = argc > 3 ? atoi(argv[3]) : 5, rc = 0;
    const char *only = argc > 7 ? argv[7] : "ABCE";
    struct gpuctl *g = NULL;
    char fixture[600];
    size_t most;

    if (argc < 3 || runs < 1) {
        fprintf(stderr, "usage: bench_sched_place FAKE_NVML_LIBRARY DIR [RUNS] [DECISIONS] "
                        "[PASSES] [QUEUED] [CASES]\n");
        return 2;
    }
    if (argc > 4)
        b.decisions = (unsigned)atoi(argv[4]);
    if (argc > 5)
        b.passes = (unsigned)atoi(argv[5]);
    if (argc > 6)
        b.queued = (unsigned)atoi(argv[6]);
    most = b.decisions > b.passes ? b.decisions : b.passes;
    b.t.wall = calloc(most, sizeof(double));
    b.t.cpu = calloc(most, sizeof(double));
    b.u.wall = calloc(most, sizeof(double));
    b.u.cpu = calloc(most, sizeof(double));
    b.dir = argv[2];
    opts.nvml_library = argv[1];
    snprintf(fixture, sizeof(fixture), "%s/gpu64.json", b.dir);
    if (!b.t.wall || !b.t.cpu || !b.u.wall || !b.u.cpu ||
        fake_nvml_write_identical(fixture, NGPUS) != 0)
        return 1;
    setenv("FAKE_NVML_FIXTURE", fixture, 1);
    config_defaults(&b.cfg);
    if (gpuctl_new(&opts, &g) != 0 || gpuctl_gpu_count(g) != NGPUS) {
        fprintf(stderr, "bench_sched_place: the fake NVML shows %zu GPUs, not %d\n",
                g ? gpuctl_gpu_count(g) : 0, NGPUS);
        return 1;
    }
    b.g = g;
    if (monitor_start(&b.cfg, g, NULL, NULL, &b.monitor) != 0) /* takes the first sample */
        return 1;
    for (int run = 1; rc == 0 && run <= runs; run++) {
        for (size_t k = 0; rc == 0 && k < sizeof(cases) / sizeof(cases[0]); k++)
            if (strchr(only, cases[k].name[0]))
                rc = run_case(&b, &cases[k], run);
        if (rc == 0 && strchr(only, 'E'))
            rc = run_empty(&b, run);
    }
    monitor_stop(b.monitor, 1000);
    gpuctl_free(g);
    free(b.t.wall);
    free(b.t.cpu);
    free(b.u.wall);
    free(b.u.cpu);
    return rc ? 1 : 0;
}
