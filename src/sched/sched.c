/* sched.c: the scheduler's requests (allocate, validate, release, limits), its thread, and its
 * recovery from the ledger at start. */
#include "sched/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "store/ledger.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define TICK_MS      250 /* how often the thread looks at holders, the queue's deadlines */
#define TASK_TICK_MS 50  /* while tasks run: how soon one that ended frees its GPUs */
#define GIB          (1024.0 * 1024.0 * 1024.0)

int sched_refuse(int code, char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return code;
}

void sched_answer_release(struct sched_answer *ans)
{
    alloc_release(&ans->a);
    json_decref(ans->env);
    json_decref(ans->reasons);
    memset(ans, 0, sizeof(*ans));
}

/* Adds a to the open allocations (kept in id order: new ones have the highest id). */
/* Copies a into ans, with its environment when active and its place when queued. */
static void answer(struct sched *s, const struct allocation *a, struct sched_answer *ans)
{
    ans->a = *a;
    ans->a.dev = a->ndev ? malloc(a->ndev * sizeof(*a->dev)) : NULL;
    if (ans->a.dev)
        memcpy(ans->a.dev, a->dev, a->ndev * sizeof(*a->dev));
    else
        ans->a.ndev = 0;
    ans->env = a->state == ALLOC_ACTIVE ? sched_env(s, a) : NULL;
    ans->position = sched_position(s, a);
}

/* Why each allowed GPU does not fit r now, for an answer. */
static json_t *reasons(const struct sched_view *view, const struct sched_req *r)
{
    json_t *list = json_array();

    for (size_t i = 0; i < view->n; i++) {
        char why[256];
        if (view->v[i].allowed && !policy_fits(&view->v[i], r, why, sizeof(why)))
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "device", view->v[i].device, "reason", why));
    }
    return list;
}

/* The process holding an allocation: it must be running, and the caller's when the caller's uid
 * is known (releasing the allocation signals it); its start time names it. */
static int holder(struct sched *s, int pid, const struct sched_caller *c, uint64_t *start,
                  char *msg, size_t len)
{
    struct stat st;
    char name[16];
    int dir;

    *start = 0;
    if (pid <= 0)
        return 0;
    if (c->uid < 0)
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "pid needs the unix socket: over TCP the daemon cannot tell whose "
                            "process %d is",
                            pid);
    if (pid == 1)
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "pid 1 cannot hold an allocation: name "
                            "the process that uses the GPUs");
    *start = sched_pid_start(s, pid);
    if (!*start)
        return sched_refuse(GPUCTL_EINVAL, msg, len, "pid %d is not a running process here", pid);
    if (c->uid == 0)
        return 0;
    snprintf(name, sizeof(name), "%d", pid);
    dir = open(s->o.procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || fstatat(dir, name, &st, 0) != 0 || st.st_uid != (uid_t)c->uid) {
        if (dir >= 0)
            close(dir);
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "pid %d is not one of your processes: name your own (or none)", pid);
    }
    close(dir);
    return 0;
}

/* A new allocation for r by c, not yet written. */
static struct allocation *new_alloc(const struct sched_request *r, const struct sched_caller *c,
                                    int64_t task_id, uint64_t start)
{
    struct allocation *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->task_id = task_id;
    a->uid = c->uid;
    str_copy(a->owner, c->user, sizeof(a->owner));
    a->pid = r->pid;
    a->pid_start = start;
    a->state = ALLOC_QUEUED;
    a->req = *r;
    a->created_ms = clock_wall_ms();
    return a;
}

/* Places a now, on the view the last pass left (holds respected), or keeps it queued. */
static int place_new(struct sched *s, struct allocation *a, bool cpu, struct sched_answer *ans,
                     char *msg, size_t len)
{
    struct sched_req r = request_for_policy(&a->req, a->id);
    struct sched_topology topo = sched_topology(s);
    struct placement p;

    if (cpu)
        return sched_grant(s, a, NULL);
    if (policy_place(s->view.v, s->view.n, &r, s->o.policy, &topo, &p) == 0)
        return sched_grant(s, a, &p);
    if (a->req.wait_s != 0)
        return 0; /* queued; the thread's passes place it */
    if (a->req.fallback_cpu)
        return sched_grant(s, a, NULL);
    ans->reasons = reasons(&s->view, &r);
    snprintf(msg, len, "no GPU fits now and the request may not wait (give wait, or fallback cpu)");
    return GPUCTL_ENODEV;
}

int sched_admit(struct sched *s, const struct sched_request *r, const struct sched_caller *c,
                int64_t task_id, struct sched_answer *ans, char *msg, size_t len)
{
    struct allocation *a = NULL;
    uint64_t start;
    bool cpu;
    int rc;

    memset(ans, 0, sizeof(*ans));
    rc = sched_allow(s->view.snap, r, s->view.v, s->view.n, &cpu, msg, len);
    if (!rc)
        rc = holder(s, r->pid, c, &start, msg, len);
    if (!rc && !(a = new_alloc(r, c, task_id, start)))
        rc = GPUCTL_ENOMEM;
    if (!rc) {
        rc = place_new(s, a, cpu, ans, msg, len);
        if (!rc && a->state == ALLOC_QUEUED && ledger_put_alloc(s->o.store, a) != 0)
            rc = GPUCTL_EIO;
        if (!rc)
            rc = sched_keep(s, a);
    }
    if (!rc)
        answer(s, a, ans);
    else if (a && a->state == ALLOC_ACTIVE)
        sched_end(s, a, ALLOC_FAILED, "could not be kept");
    else
        free(a);
    for (size_t i = 0; i < s->view.n; i++)
        s->view.v[i].allowed = true;
    pthread_cond_broadcast(&s->wake);
    return rc;
}

int sched_allocate(struct sched *s, const struct sched_request *r, const struct sched_caller *c,
                   int64_t task_id, struct sched_answer *ans, char *msg, size_t len)
{
    int rc;

    pthread_mutex_lock(&s->lock);
    sched_pass(s); /* the GPUs as they stand */
    rc = sched_admit(s, r, c, task_id, ans, msg, len);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* What placing r as p would give: an allocation not kept, with its environment. */
static void would_give(struct sched *s, const struct sched_request *r, const struct placement *p,
                       struct sched_answer *ans)
{
    struct sched_req pr = request_for_policy(r, -1);

    ans->a = (struct allocation){.state = ALLOC_ACTIVE, .req = *r, .uid = -1, .on_cpu = !p};
    ans->a.dev = p && p->n ? calloc(p->n, sizeof(*ans->a.dev)) : NULL;
    for (size_t k = 0; ans->a.dev && k < p->n; k++) {
        const struct gpuctl_device *d = &s->view.snap->devs[p->gpu[k]];
        str_copy(ans->a.dev[k].uuid, d->uuid[0] ? d->uuid : d->pci_bus_id,
                 sizeof(ans->a.dev[k].uuid));
        ans->a.dev[k].pos = p->gpu[k];
        ans->a.dev[k].memory = policy_wanted(&s->view.v[p->gpu[k]], &pr);
        ans->a.ndev++;
    }
    ans->env = sched_env(s, &ans->a);
}

int sched_validate(struct sched *s, const struct sched_request *r, struct sched_answer *ans,
                   char *msg, size_t len)
{
    struct sched_req pr = request_for_policy(r, -1);
    struct sched_topology topo = sched_topology(s);
    struct placement p;
    bool cpu;
    int rc;

    memset(ans, 0, sizeof(*ans));
    pthread_mutex_lock(&s->lock);
    sched_pass(s);
    rc = sched_allow(s->view.snap, r, s->view.v, s->view.n, &cpu, msg, len);
    if (!rc && cpu)
        would_give(s, r, NULL, ans);
    else if (!rc && policy_place(s->view.v, s->view.n, &pr, s->o.policy, &topo, &p) == 0)
        would_give(s, r, &p, ans);
    else if (!rc)
        ans->reasons = reasons(&s->view, &pr);
    for (size_t i = 0; i < s->view.n; i++)
        s->view.v[i].allowed = true;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

bool sched_may_act(const struct sched_caller *c, int uid, const char *owner)
{
    return c->admin || (c->uid >= 0 && c->uid == uid) ||
           (c->uid < 0 && strcmp(c->user, owner) == 0);
}

int sched_release(struct sched *s, int64_t id, const struct sched_caller *c, char *msg, size_t len)
{
    struct allocation *a;
    char why[128];
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    a = sched_find_open(s, id);
    if (!a) {
        snprintf(msg, len, "allocation %lld is not open (released, failed or never made)",
                 (long long)id);
        rc = GPUCTL_ENOENT;
    } else if (!sched_may_act(c, a->uid, a->owner)) {
        snprintf(msg, len, "allocation %lld is %s's; only they or an admin may release it",
                 (long long)id, a->owner);
        rc = GPUCTL_EPERM;
    } else if (a->task_id) { /* released under it, the task would go on using its GPUs */
        snprintf(msg, len, "allocation %lld is task %lld's: cancel the task instead", (long long)id,
                 (long long)a->task_id);
        rc = GPUCTL_ENODEV; /* 409 */
    } else {
        snprintf(why, sizeof(why), "%s by %s", a->state == ALLOC_QUEUED ? "withdrawn" : "released",
                 c->user);
        /* Its GPUs are no longer promised to the process holding it: tell it to stop, unless
         * it is the one giving them back. */
        if (a->state == ALLOC_ACTIVE && a->pid > 0 && a->pid != c->pid &&
            sched_pid_start(s, a->pid) == a->pid_start)
            kill(a->pid, SIGTERM);
        sched_end(s, a, ALLOC_RELEASED, why);
        sched_pass(s);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sched_get(struct sched *s, int64_t id, struct sched_answer *ans)
{
    struct allocation *a;
    int rc = 0;

    memset(ans, 0, sizeof(*ans));
    pthread_mutex_lock(&s->lock);
    a = sched_find_open(s, id);
    if (a)
        answer(s, a, ans);
    else
        rc = ledger_alloc(s->o.store, id, &ans->a);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A GPU's view by its device name ("cuda:0"); NULL when there is none. */
static const struct gpu_view *view_named(const struct sched *s, const char *device, size_t *pos)
{
    for (size_t i = 0; i < s->view.n; i++) {
        if (strcmp(s->view.v[i].device, device) == 0) {
            *pos = i;
            return &s->view.v[i];
        }
    }
    return NULL;
}

static json_t *kind_counts(const unsigned *v)
{
    json_t *o = json_object();

    for (int k = 0; k < KIND_COUNT; k++)
        json_object_set_new(o, sched_kind_name((enum sched_kind)k),
                            v[k] == SCHED_NO_LIMIT ? json_null() : json_integer(v[k]));
    return o;
}

json_t *sched_resources(struct sched *s)
{
    json_t *usage = json_object(), *active = json_object(), *limits = json_object(),
           *memory = json_object();

    pthread_mutex_lock(&s->lock);
    sched_pass(s);
    for (size_t i = 0; i < s->view.n; i++) {
        const struct gpu_view *g = &s->view.v[i];
        json_object_set_new(usage, g->device, kind_counts(g->tasks));
        json_object_set_new(limits, g->device, kind_counts(g->limit));
        json_object_set_new(active, g->device, json_array());
        json_object_set_new(memory, g->device,
                            json_pack("{s:f, s:f, s:f, s:f}", "usable_gb", g->total / GIB,
                                      "reserved_gb", g->reserved / GIB, "unknown_gb",
                                      g->unknown_used / GIB, "free_gb", policy_free(g) / GIB));
    }
    for (size_t k = 0; k < s->nactive; k++) {
        const struct allocation *a = s->active[k];
        for (size_t j = 0; j < a->ndev; j++) {
            json_t *list;
            char id[32];
            if (a->dev[j].pos >= s->view.n)
                continue;
            list = json_object_get(active, s->view.v[a->dev[j].pos].device);
            snprintf(id, sizeof(id), "%lld", (long long)(a->task_id ? a->task_id : a->id));
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "id", id, "type",
                                                  sched_kind_name(a->req.kind), "owner", a->owner,
                                                  "allocation_id", (json_int_t)a->id));
        }
    }
    pthread_mutex_unlock(&s->lock);
    return json_pack("{s:o, s:o, s:o, s:o}", "device_usage", usage, "active_tasks", active,
                     "limits", limits, "memory", memory);
}

uint64_t sched_active_changes(struct sched *s)
{
    return atomic_load(&s->active_changes);
}

json_t *sched_usage(struct sched *s)
{
    json_t *usage = json_object();
    unsigned tasks[SCHED_MAX_GPUS][KIND_COUNT] = {{0}};

    pthread_mutex_lock(&s->lock);
    for (size_t k = 0; k < s->nactive; k++)
        for (size_t j = 0; j < s->active[k]->ndev; j++)
            if (s->active[k]->dev[j].pos < s->view.n)
                tasks[s->active[k]->dev[j].pos][s->active[k]->req.kind]++;
    for (size_t i = 0; i < s->view.n; i++)
        json_object_set_new(usage, s->view.v[i].device, kind_counts(tasks[i]));
    pthread_mutex_unlock(&s->lock);
    return usage;
}

/* The JSON of an answer; the caller holds the lock (the view's snapshot names the devices). */
static json_t *alloc_json(struct sched *s, const struct sched_answer *ans)
{
    const struct allocation *a = &ans->a;
    json_t *devs = json_array(), *req = request_to_json(&a->req);
    const struct snapshot *snap = s->view.snap;

    for (size_t k = 0; k < a->ndev; k++) {
        const struct gpuctl_device *d =
            snap && a->dev[k].pos < snap->n ? &snap->devs[a->dev[k].pos] : NULL;
        json_array_append_new(devs,
                              json_pack("{s:i, s:s?, s:s?, s:s, s:f}", "index", (int)a->dev[k].pos,
                                        "device", d ? d->device : NULL, "name", d ? d->name : NULL,
                                        "uuid", a->dev[k].uuid, "memory_gb",
                                        (double)a->dev[k].memory / (1024.0 * 1024.0 * 1024.0)));
    }
    return json_pack(
        "{s:I, s:s, s:s, s:i, s:s, s:i, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:s?}", "allocation_id",
        (json_int_t)a->id, "state", alloc_state_name(a->state), "owner", a->owner, "uid", a->uid,
        "kind", sched_kind_name(a->req.kind), "priority", a->req.priority, "devices", devs,
        "device",
        a->on_cpu ? "cpu"
        : a->ndev ? (a->dev[0].pos < s->view.n ? s->view.v[a->dev[0].pos].device : a->dev[0].uuid)
                  : "",
        "request", req, "queue_position",
        ans->position ? json_integer((json_int_t)ans->position) : json_null(), "task_id",
        a->task_id ? json_integer(a->task_id) : json_null(), "env",
        ans->env ? json_incref(ans->env) : json_null(), "pid",
        a->pid ? json_integer(a->pid) : json_null(), "reason", a->reason[0] ? a->reason : NULL);
}

json_t *sched_allocations(struct sched *s)
{
    json_t *list = json_array();

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nopen; i++) {
        struct sched_answer ans = {0};
        answer(s, s->open[i], &ans);
        json_array_append_new(list, alloc_json(s, &ans));
        sched_answer_release(&ans);
    }
    pthread_mutex_unlock(&s->lock);
    return list;
}

json_t *sched_alloc_json(struct sched *s, const struct sched_answer *ans)
{
    json_t *o;

    pthread_mutex_lock(&s->lock);
    o = alloc_json(s, ans);
    pthread_mutex_unlock(&s->lock);
    return o;
}

/* Reads {"training": N, "inference": N, "other": N} for GPU pos into lim. */
static int read_limits(const json_t *o, const char *device, unsigned *lim, char *msg, size_t len)
{
    const char *key;
    json_t *v;

    if (!json_is_object(o))
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "max_concurrent.%s must be an object such as {\"training\": 1, "
                            "\"inference\": 4}",
                            device);
    json_object_foreach((json_t *)o, key, v)
    {
        enum sched_kind k;
        if (sched_kind_parse(key, &k) != 0)
            return sched_refuse(GPUCTL_EINVAL, msg, len,
                                "max_concurrent.%s: unknown kind '%s'; the kinds are "
                                "training, inference and other",
                                device, key);
        if (json_is_null(v)) {
            lim[k] = SCHED_NO_LIMIT;
            continue;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
            return sched_refuse(GPUCTL_EINVAL, msg, len,
                                "max_concurrent.%s.%s must be a whole number from 0 to 1000, or "
                                "null for no limit",
                                device, key);
        lim[k] = (unsigned)json_integer_value(v);
    }
    return 0;
}

/* Writes the limits of GPU pos that change to the ledger. */
static int write_limits(struct sched *s, size_t pos, const unsigned *lim)
{
    const struct gpuctl_device *d = &s->view.snap->devs[pos];
    const char *uuid = d->uuid[0] ? d->uuid : d->pci_bus_id;

    for (int k = 0; k < KIND_COUNT; k++)
        if (lim[k] != s->limit[pos][k] &&
            ledger_set_limit(s->o.store, uuid, (enum sched_kind)k, lim[k]) != 0)
            return GPUCTL_EIO;
    return 0;
}

int sched_set_limits(struct sched *s, const json_t *max_concurrent, const struct sched_caller *c,
                     char *msg, size_t len)
{
    unsigned lim[SCHED_MAX_GPUS][KIND_COUNT];
    const char *device;
    json_t *v;
    int rc = 0;

    if (!c->admin)
        return sched_refuse(GPUCTL_EPERM, msg, len, "changing limits is for admins");
    if (!json_is_object(max_concurrent))
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "max_concurrent must be an object of device names, such as "
                            "{\"cuda:0\": {\"training\": 1, \"inference\": 4}}");
    pthread_mutex_lock(&s->lock);
    sched_pass(s);
    memcpy(lim, s->limit, sizeof(lim));
    json_object_foreach((json_t *)max_concurrent, device, v)
    {
        size_t pos = 0;
        if (!rc && !view_named(s, device, &pos))
            rc = sched_refuse(GPUCTL_EINVAL, msg, len, "max_concurrent: no GPU is named %s here",
                              device);
        if (!rc)
            rc = read_limits(v, device, lim[pos], msg, len);
    }
    if (!rc && ledger_begin(s->o.store) != 0)
        rc = sched_refuse(GPUCTL_EIO, msg, len, "the limits could not be written");
    else if (!rc) {
        for (size_t i = 0; !rc && i < s->view.n; i++)
            rc = write_limits(s, i, lim[i]);
        if (ledger_end(s->o.store, rc == 0) != 0 || rc)
            rc = sched_refuse(GPUCTL_EIO, msg, len, "the limits could not be written");
        else
            memcpy(s->limit, lim, sizeof(lim)); /* applied once committed */
        sched_pass(s);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Releases the allocations whose holding process (gpuctl run) has ended. */
static void reap_holders(struct sched *s, const char *when)
{
    for (size_t i = 0; s->nholders && i < s->nopen; i++) {
        struct allocation *a = s->open[i];
        char why[128];
        if (a->pid <= 0 || sched_pid_start(s, a->pid) == a->pid_start)
            continue;
        snprintf(why, sizeof(why), "its process (pid %d) ended%s", a->pid, when);
        sched_end(s, a, a->state == ALLOC_QUEUED ? ALLOC_FAILED : ALLOC_RELEASED, why);
        i--;
    }
}

static void *sched_main(void *arg)
{
    struct sched *s = arg;

    pthread_setname_np(pthread_self(), "gpuctl-sched");
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until = clock_mono_after(s->ntasks ? TASK_TICK_MS : TICK_MS);
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        if (s->stopping)
            break;
        reap_holders(s, "");
        sched_tasks_tick(s);
        if (sched_pass(s))
            sched_tasks_tick(s); /* start what the pass granted */
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ledger_open_allocs()'s callback: keeps an open allocation, its GPUs found by UUID. */
static void recover_alloc(void *ctx, struct allocation *a)
{
    struct sched *s = ctx;
    struct allocation *copy = malloc(sizeof(*copy));
    const struct snapshot *snap = s->view.snap;

    for (size_t k = 0; k < a->ndev; k++) {
        a->dev[k].pos = SIZE_MAX;
        for (size_t i = 0; i < snap->n; i++)
            if (strcmp(snap->devs[i].uuid[0] ? snap->devs[i].uuid : snap->devs[i].pci_bus_id,
                       a->dev[k].uuid) == 0)
                a->dev[k].pos = i;
    }
    if (copy)
        *copy = *a;
    if (!copy || sched_keep(s, copy) != 0) {
        alloc_release(a);
        free(copy);
    }
}

/* After a restart: queued allocations wait again in their order; those whose GPU or process is
 * gone end. */
static void recover(struct sched *s)
{
    for (size_t i = 0; i < s->nopen; i++) {
        struct allocation *a = s->open[i];
        bool gone = false;
        for (size_t k = 0; k < a->ndev; k++)
            gone = gone || a->dev[k].pos == SIZE_MAX;
        if (gone) {
            sched_end(s, a, ALLOC_RELEASED, "its GPU is no longer in this machine");
            i--;
        } else if (a->task_id && !sched_task_open(s, a->task_id)) {
            sched_end(s, a, ALLOC_RELEASED, "its task ended"); /* as the daemon died */
            i--;
        }
    }
    reap_holders(s, " while the daemon was down");
}

/* Limits: guide 003's defaults (training 1, inference 3 per GPU), then the ledger's. */
static void set_limit(void *ctx, const char *uuid, enum sched_kind kind, unsigned max)
{
    struct sched *s = ctx;
    const struct snapshot *snap = s->view.snap;

    for (size_t i = 0; i < snap->n && i < SCHED_MAX_GPUS; i++)
        if (strcmp(snap->devs[i].uuid[0] ? snap->devs[i].uuid : snap->devs[i].pci_bus_id, uuid) ==
            0)
            s->limit[i][kind] = max;
}

static int load(struct sched *s, char *msg, size_t len)
{
    for (size_t i = 0; i < SCHED_MAX_GPUS; i++) {
        s->limit[i][KIND_TRAINING] = 1;
        s->limit[i][KIND_INFERENCE] = 3;
        s->limit[i][KIND_OTHER] = SCHED_NO_LIMIT;
    }
    s->view.snap = monitor_snapshot(s->o.monitor);
    if (ledger_limits(s->o.store, set_limit, s) != 0 ||
        ledger_open_allocs(s->o.store, recover_alloc, s) != 0 || sched_tasks_recover(s) != 0)
        return sched_refuse(GPUCTL_EIO, msg, len, "cannot read the scheduler's ledger");
    recover(s);
    sched_pass(s);
    sched_tasks_tick(s);
    log_info("scheduler: %zu allocations and %zu tasks open", s->nopen, s->ntasks);
    return 0;
}

int sched_open(const struct sched_options *o, struct sched **out, char *msg, size_t len)
{
    struct sched *s = calloc(1, sizeof(*s));
    pthread_condattr_t attr;
    int rc;

    if (!s)
        return GPUCTL_ENOMEM;
    s->o = *o;
    s->next_deadline = INT64_MAX;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&s->lock);
    rc = load(s, msg, len);
    pthread_mutex_unlock(&s->lock);
    if (!rc && pthread_create(&s->thread, NULL, sched_main, s) != 0)
        rc = sched_refuse(GPUCTL_EIO, msg, len, "cannot start the scheduler's thread");
    s->thread_started = rc == 0;
    if (rc) {
        sched_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sched_close(struct sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->nopen; i++) {
        alloc_release(s->open[i]);
        free(s->open[i]);
    }
    free(s->open);
    free(s->active);
    free(s->queue);
    free(s->shapes);
    sched_tasks_free(s);
    snapshot_unref(s->view.snap);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
