/* sched_pass.c: the GPUs as the scheduler sees them, which GPUs a request may use, and the
 * queue pass. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/mask.h"
#include "device/proc.h"
#include "sched/sched_int.h"
#include "store/ledger.h"
#include "task/env.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/size.h"
#include "util/str.h"

#define MAX_ANCESTRY 32

static size_t gpu_count(const struct snapshot *snap)
{
    size_t n = 0;

    while (n < snap->n && n < SCHED_MAX_GPUS && snap->devs[n].vendor != GPUCTL_VENDOR_CPU)
        n++;
    return n;
}

uint64_t sched_pid_start(const struct sched *s, int pid)
{
    int dir = open(s->o.procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct proc_stat st;
    bool ok;

    if (dir < 0)
        return 0;
    ok = proc_stat_at(dir, pid, &st) && st.state != 'Z' && st.state != 'X';
    close(dir);
    return ok ? st.start : 0;
}

/* Whether pid is one of the ledger's holders or descends from one. */
static bool known_process(const struct sched *s, int dir, int pid)
{
    for (int depth = 0; pid > 1 && depth < MAX_ANCESTRY; depth++) {
        struct proc_stat st;
        for (size_t i = 0; i < s->nactive; i++)
            if (s->active[i]->pid == pid)
                return true;
        for (size_t i = 0; i < s->ntasks; i++)
            if (s->tasks[i]->t.state == TASK_RUNNING && s->tasks[i]->t.pid == pid)
                return true;
        if (!proc_stat_at(dir, pid, &st))
            return false;
        pid = st.ppid;
    }
    return false;
}

/* Counts, once per sample, the memory of each GPU's processes that the ledger does not know. */
static void count_unknown(struct sched *s, const struct snapshot *snap)
{
    int dir;

    if (snap->seq == s->unknown_seq)
        return;
    s->unknown_seq = snap->seq;
    memset(s->unknown, 0, sizeof(s->unknown));
    dir = open(s->o.procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < gpu_count(snap); i++) {
        const struct gpuctl_device *d = &snap->devs[i];
        for (size_t k = 0; k < d->process_count; k++) {
            const struct gpuctl_process *p = &d->processes[k];
            if (p->used_memory_valid && (dir < 0 || !known_process(s, dir, p->pid)))
                s->unknown[i] += p->used_memory_bytes;
        }
    }
    if (dir >= 0)
        close(dir);
}

/* The memory programs can have on d: its total, less what the driver keeps for itself. */
static uint64_t usable_memory(const struct gpuctl_device *d)
{
    uint64_t kept = gpuctl_device_has(d, GPUCTL_M_MEMORY_RESERVED) ? d->memory_reserved_bytes : 0;

    if (!gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) || d->memory_total_bytes < kept)
        return 0;
    return d->memory_total_bytes - kept;
}

/* The views of the GPUs from the sample and the ledger's active allocations. */
static void base_views(struct sched *s, const struct snapshot *snap, struct sched_view *out)
{
    out->n = gpu_count(snap);
    for (size_t i = 0; i < out->n; i++) {
        const struct gpuctl_device *d = &snap->devs[i];
        struct gpu_view *v = &out->v[i];
        memset(v, 0, sizeof(*v));
        str_copy(v->name, d->name, sizeof(v->name));
        str_copy(v->device, d->device, sizeof(v->device));
        v->usable = d->state == GPUCTL_STATE_OK && snap->health[i].state != HEALTH_UNHEALTHY;
        v->allowed = true;
        v->total = usable_memory(d);
        v->driver_free =
            gpuctl_device_has(d, GPUCTL_M_MEMORY_FREE) ? d->memory_free_bytes : SCHED_FREE_UNKNOWN;
        v->util = gpuctl_device_has(d, GPUCTL_M_UTIL_GPU) ? (int)d->utilization_gpu_percent : -1;
        v->unknown_used = s->unknown[i];
        memcpy(v->limit, s->limit[i], sizeof(v->limit));
    }
    for (size_t k = 0; k < s->nactive; k++) {
        const struct allocation *a = s->active[k];
        for (size_t j = 0; j < a->ndev; j++) {
            if (a->dev[j].pos >= out->n)
                continue;
            out->v[a->dev[j].pos].reserved += a->dev[j].memory;
            out->v[a->dev[j].pos].tasks[a->req.kind]++;
        }
    }
}

/* "cuda:0, cuda:1" for the GPUs whose device names start with prefix. */
static void list_devices(const struct snapshot *snap, const char *prefix, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < gpu_count(snap); i++)
        if (str_starts_with(snap->devs[i].device, prefix))
            str_appendf(out, len, "%s%s", out[0] ? ", " : "", snap->devs[i].device);
}

/* Applies the caller's CUDA_VISIBLE_DEVICES: NVIDIA GPUs it does not show are not allowed, and
 * the order it gives is the one cuda:N counts in (written to order; *norder of them). */
static int apply_mask(const struct snapshot *snap, const struct sched_request *r,
                      struct gpu_view *v, size_t n, size_t *order, size_t *norder, char *msg,
                      size_t len)
{
    const char *uuids[SCHED_MAX_GPUS];
    size_t nvidia[SCHED_MAX_GPUS], nn = 0, shown[SCHED_MAX_GPUS], count = 0;
    struct mask_devices devs;
    char note[256];

    for (size_t i = 0; i < n; i++) {
        if (snap->devs[i].vendor == GPUCTL_VENDOR_NVIDIA) {
            uuids[nn] = snap->devs[i].uuid;
            nvidia[nn++] = i;
        }
    }
    devs = (struct mask_devices){uuids, NULL, nn, false};
    *norder = 0;
    if (!r->has_visible) {
        for (size_t i = 0; i < nn; i++)
            order[(*norder)++] = nvidia[i];
        return 0;
    }
    if (mask_apply("CUDA_VISIBLE_DEVICES", &mask_cuda, r->visible, &devs, shown, &count, note,
                   sizeof(note)) == MASK_MIG) {
        snprintf(msg, len, "visible_devices names a MIG instance, which gpuctl cannot place");
        return GPUCTL_EINVAL;
    }
    for (size_t i = 0; i < nn; i++)
        v[nvidia[i]].allowed = false;
    for (size_t k = 0; k < count; k++) {
        v[nvidia[shown[k]]].allowed = true;
        order[(*norder)++] = nvidia[shown[k]];
    }
    return 0;
}

/* The GPUs of a family ("cuda", "rocm", "xpu") the request may use, in the order its N counts:
 * NVIDIA's in the caller's mask order, the others in the daemon's. */
static size_t family(const struct snapshot *snap, const struct gpu_view *v, size_t n,
                     const char *name, const size_t *cuda_order, size_t ncuda, size_t *out)
{
    char prefix[16];
    size_t k = 0;

    snprintf(prefix, sizeof(prefix), "%s:", name);
    for (size_t i = 0; i < ncuda; i++)
        if (str_starts_with(snap->devs[cuda_order[i]].device, prefix))
            out[k++] = cuda_order[i];
    for (size_t i = 0; i < n; i++)
        if (v[i].allowed && snap->devs[i].vendor != GPUCTL_VENDOR_NVIDIA &&
            str_starts_with(snap->devs[i].device, prefix))
            out[k++] = i;
    return k;
}

/* Leaves allowed only the GPU with a UUID starting with spec. */
static int by_uuid(const struct snapshot *snap, const char *spec, struct gpu_view *v, size_t n,
                   char *msg, size_t len)
{
    size_t hit = n, hits = 0;

    for (size_t i = 0; i < n; i++) {
        if (v[i].allowed && snap->devs[i].uuid[0] && str_starts_with(snap->devs[i].uuid, spec)) {
            hit = i;
            hits++;
        }
    }
    if (hits != 1) {
        snprintf(msg, len,
                 hits ? "the UUID prefix '%s' names several GPUs; give more of it"
                      : "no GPU here has the UUID '%s' (gpuctl info lists them)",
                 spec);
        return GPUCTL_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        v[i].allowed = i == hit;
    return 0;
}

/* Leaves allowed only what device spec names: auto, cpu, a family, family:N, a UUID. */
static int apply_device(const struct snapshot *snap, const char *spec, struct gpu_view *v, size_t n,
                        const size_t *cuda_order, size_t ncuda, bool *cpu, char *msg, size_t len)
{
    static const char *const families[] = {"cuda", "rocm", "xpu"};
    size_t members[SCHED_MAX_GPUS], nm;
    char names[512];

    if (!spec[0] || strcmp(spec, "auto") == 0)
        return 0;
    if (strcmp(spec, "cpu") == 0) {
        *cpu = true;
        return 0;
    }
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        size_t flen = strlen(families[f]);
        char *end;
        unsigned long idx;
        if (strncmp(spec, families[f], flen) != 0 || (spec[flen] && spec[flen] != ':'))
            continue;
        nm = family(snap, v, n, families[f], cuda_order, ncuda, members);
        idx = spec[flen] ? strtoul(spec + flen + 1, &end, 10) : 0;
        if (spec[flen] && (end == spec + flen + 1 || *end || idx >= nm)) {
            list_devices(snap, families[f], names, sizeof(names));
            snprintf(msg, len, "device index %s is out of range: this machine has %zu GPUs%s%s%s",
                     spec + flen + 1, nm, nm ? " (" : "", names, nm ? ")" : "");
            return GPUCTL_EINVAL;
        }
        for (size_t i = 0; i < n; i++)
            v[i].allowed = false;
        for (size_t k = 0; k < nm; k++)
            v[members[k]].allowed = !spec[flen] || k == idx;
        return 0;
    }
    if (strlen(spec) >= 4)
        return by_uuid(snap, spec, v, n, msg, len);
    snprintf(msg, len,
             "device must be auto, cpu, cuda, cuda:N, rocm:N, xpu:N or a GPU UUID; got '%s'", spec);
    return GPUCTL_EINVAL;
}

/* Marks the GPUs r may use, without judging whether they could satisfy it. */
static int resolve(const struct snapshot *snap, const struct sched_request *r, struct gpu_view *v,
                   size_t n, bool *cpu, char *msg, size_t len)
{
    size_t order[SCHED_MAX_GPUS], norder = 0;
    int rc;

    *cpu = false;
    for (size_t i = 0; i < n; i++)
        v[i].allowed = true;
    rc = apply_mask(snap, r, v, n, order, &norder, msg, len);
    if (!rc)
        rc = apply_device(snap, r->device, v, n, order, norder, cpu, msg, len);
    return rc;
}

/* The largest GPU among the allowed ones of the request's model; n when none. */
static size_t largest(const struct snapshot *snap, const struct sched_request *r,
                      const struct gpu_view *v, size_t n, size_t *matching)
{
    size_t best = n;

    *matching = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].allowed || (r->gpu_type[0] && !str_model_in(r->gpu_type, snap->devs[i].name)))
            continue;
        (*matching)++;
        if (best == n || v[i].total > v[best].total)
            best = i;
    }
    return best;
}

/* Whether the allowed GPUs could ever satisfy r: enough of them, of its model, big enough. */
static int could_satisfy(const struct snapshot *snap, const struct sched_request *r,
                         const struct gpu_view *v, size_t n, char *msg, size_t len)
{
    size_t allowed = 0, matching, big;
    char have[32], models[512] = "";

    for (size_t i = 0; i < n; i++)
        allowed += v[i].allowed;
    big = largest(snap, r, v, n, &matching);
    if (allowed == 0)
        return sched_refuse(GPUCTL_EINVAL, msg, len, "no GPU is left to use here (%s)",
                            r->has_visible ? "visible_devices shows none"
                                           : "this machine has none");
    if (matching == 0) {
        for (size_t i = 0; i < n; i++)
            if (v[i].allowed && !strstr(models, snap->devs[i].name))
                str_appendf(models, sizeof(models), "%s%s", models[0] ? ", " : "",
                            snap->devs[i].name);
        return sched_refuse(GPUCTL_EINVAL, msg, len, "no GPU here is a %s: the models are %s",
                            r->gpu_type, models);
    }
    if (r->count > matching)
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "gpu_count %u is more than the %zu GPUs %s here", r->count, matching,
                            r->gpu_type[0] || allowed < n ? "that fit the request" : "there are");
    if (r->memory && !policy_within(r->memory, v[big].total)) {
        size_format(v[big].total, have, sizeof(have));
        return sched_refuse(GPUCTL_EINVAL, msg, len,
                            "memory_gb %.1f is more than any GPU here has: the largest, %s (%s), "
                            "has %s",
                            (double)r->memory / (1024.0 * 1024.0 * 1024.0), snap->devs[big].device,
                            snap->devs[big].name, have);
    }
    return 0;
}

int sched_allow(const struct snapshot *snap, const struct sched_request *r, struct gpu_view *v,
                size_t n, bool *cpu, char *msg, size_t len)
{
    int rc = resolve(snap, r, v, n, cpu, msg, len);

    if (rc || *cpu)
        return rc;
    if (r->count > 1 && strchr(r->device, ':'))
        return sched_refuse(GPUCTL_EINVAL, msg, len, "device %s names one GPU; gpu_count is %u",
                            r->device, r->count);
    rc = could_satisfy(snap, r, v, n, msg, len);
    if (rc == GPUCTL_EINVAL && n == 0 && r->fallback_cpu) {
        *cpu = true; /* no GPU at all: guide 001's degrade path */
        return 0;
    }
    return rc;
}

int sched_grant(struct sched *s, struct allocation *a, const struct placement *p)
{
    const struct snapshot *snap = s->view.snap;
    struct alloc_device *dev = p && p->n ? calloc(p->n, sizeof(*dev)) : NULL;
    struct sched_req req = request_for_policy(&a->req, a->id);
    bool kept = a->id && sched_find_open(s, a->id) == a; /* else sched_keep() files it */

    if ((p && p->n && !dev) || sched_room(s) != 0) {
        free(dev);
        return GPUCTL_ENOMEM;
    }
    for (size_t k = 0; p && k < p->n; k++) {
        const struct gpuctl_device *d = &snap->devs[p->gpu[k]];
        str_copy(dev[k].uuid, d->uuid[0] ? d->uuid : d->pci_bus_id, sizeof(dev[k].uuid));
        dev[k].pos = p->gpu[k];
        dev[k].memory = policy_wanted(&s->view.v[p->gpu[k]], &req);
    }
    a->dev = dev;
    a->ndev = p ? p->n : 0;
    a->on_cpu = !p;
    a->state = ALLOC_ACTIVE;
    a->started_ms = clock_wall_ms();
    if (ledger_put_alloc(s->o.store, a) != 0) {
        alloc_release(a);
        a->state = ALLOC_QUEUED;
        a->started_ms = 0;
        a->on_cpu = false;
        return GPUCTL_EIO;
    }
    for (size_t k = 0; k < a->ndev; k++) {
        s->view.v[a->dev[k].pos].reserved += a->dev[k].memory;
        s->view.v[a->dev[k].pos].tasks[a->req.kind]++;
    }
    if (kept)
        sched_activate(s, a); /* room was made above */
    pthread_cond_broadcast(&s->wake);
    return 0;
}

void sched_end(struct sched *s, struct allocation *a, enum alloc_state st, const char *reason)
{
    a->state = st;
    a->ended_ms = clock_wall_ms();
    str_copy(a->reason, reason, sizeof(a->reason));
    if (ledger_put_alloc(s->o.store, a) != 0)
        log_error("allocation %lld: its end (%s) is not in the ledger", (long long)a->id, reason);
    sched_forget(s, a);
    alloc_release(a);
    free(a);
    pthread_cond_broadcast(&s->wake);
}

json_t *sched_env(struct sched *s, const struct allocation *a)
{
    const struct snapshot *snap = s->view.snap;
    const struct gpuctl_device *devs[SCHED_MAX_GPUS];
    struct env_gpu gpus[SCHED_MAX_GPUS];
    struct env_options o = {.framework = a->req.framework,
                            .distributed = a->req.distributed || a->req.per_gpu,
                            .rank = -1,
                            .fraction = a->req.fraction};
    char id[32];
    json_t *env;

    for (size_t k = 0; k < a->ndev && k < SCHED_MAX_GPUS; k++)
        devs[k] = &snap->devs[a->dev[k].pos];
    o.precision = env_precision(devs, a->on_cpu ? 0 : a->ndev);
    for (size_t k = 0; k < a->ndev && k < SCHED_MAX_GPUS; k++) {
        const struct gpuctl_device *d = devs[k];
        gpus[k] = (struct env_gpu){
            d->vendor, d->physical_index, "",
            gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) ? d->memory_total_bytes : 0,
            a->dev[k].memory};
        str_copy(gpus[k].uuid, a->dev[k].uuid, sizeof(gpus[k].uuid));
    }
    env = env_compose(gpus, a->ndev, &o);
    snprintf(id, sizeof(id), "%lld", (long long)a->id);
    if (env && a->id) /* validate's and setup's would-be allocations have none */
        json_object_set_new(env, "GPUCTL_ALLOCATION_ID", json_string(id));
    return env;
}

/* Why no GPU fits r now, as one line ("cuda:0: ...; cuda:1: ..."). */
static void why_not(const struct sched_view *view, const struct sched_req *r, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < view->n; i++) {
        char why[256];
        if (view->v[i].allowed && !policy_fits(&view->v[i], r, why, sizeof(why)))
            str_appendf(out, len, "%s%s: %s", out[0] ? "; " : "", view->v[i].device, why);
    }
}

/* What the pass does with one queued allocation; `hopeless` when one of its shape already
 * found no room in this pass (room only shrinks during a pass), so only its time is checked.
 * Returns whether it changed anything. */
static bool settle(struct sched *s, struct allocation *a, int64_t now, bool hopeless, bool *held)
{
    struct sched_view *view = &s->view;
    struct sched_req r;
    struct sched_topology topo = sched_topology(s);
    struct placement p;
    char msg[768];
    bool cpu;

    if (hopeless && now < sched_deadline(a))
        return false;
    r = request_for_policy(&a->req, a->id);
    if (resolve(view->snap, &a->req, view->v, view->n, &cpu, msg, sizeof(msg)) != 0) {
        sched_end(s, a, ALLOC_FAILED, msg); /* its GPU is gone */
        return true;
    }
    if (cpu)
        return sched_grant(s, a, NULL) == 0;
    if (!hopeless && policy_place(view->v, view->n, &r, s->o.policy, &topo, &p) == 0)
        return sched_grant(s, a, &p) == 0;
    if (now >= sched_deadline(a)) {
        if (a->req.fallback_cpu)
            return sched_grant(s, a, NULL) == 0;
        why_not(view, &r, msg, sizeof(msg));
        sched_end(s, a, ALLOC_FAILED, msg[0] ? msg : "no GPU fit in the time it could wait");
        return true;
    }
    if (!*held && policy_hold(view->v, view->n, &r, &p)) {
        for (size_t k = 0; k < p.n; k++)
            view->v[p.gpu[k]].held_for = a->id;
        *held = true; /* only the head holds GPUs: later ones may backfill the rest */
    }
    return false;
}

/* gpuctl_link() as a distance: an unknown link is farther than any known one. GPU views are at
 * the machine's positions (the daemon opens it without masks; GPUs come before the CPU). */
static int link_distance(void *ctx, size_t a, size_t b)
{
    int level = gpuctl_link(ctx, a, b);

    return level == GPUCTL_LINK_UNKNOWN ? GPUCTL_LINK_SYSTEM + 10 : level;
}

struct sched_topology sched_topology(const struct sched *s)
{
    return (struct sched_topology){s->o.machine ? link_distance : NULL, (void *)s->o.machine};
}

/* What a pass has learned of each shape in the queue: room only shrinks during a pass (grants
 * reserve, the head holds), so once a request finds none, later ones of its shape asking as much
 * memory or more find none either. A shape is settled once that covers every request of it. */
struct learned {
    size_t n, unsettled;
    struct {
        uint64_t failed_at; /* the least memory that found no room; UINT64_MAX: none failed */
        uint64_t seen_min;  /* the least memory asked by one still queued, seen so far */
        bool settled;
    } * shape; /* n of them, by slot in sched.shapes */
};

/* Nothing learned yet: every shape with a queued request unsettled, empty slots settled. */
static bool learned_init(struct learned *l, const struct sched *s)
{
    *l = (struct learned){s->nshapes, 0, malloc((s->nshapes + 1) * sizeof(*l->shape))};
    for (size_t k = 0; l->shape && k < l->n; k++) {
        l->shape[k].failed_at = l->shape[k].seen_min = UINT64_MAX;
        l->shape[k].settled = s->shapes[k].count == 0;
        l->unsettled += !l->shape[k].settled;
    }
    if (!l->shape)
        l->n = 0;
    return l->shape != NULL;
}

static void settle_shape(struct learned *l, size_t k)
{
    if (!l->shape[k].settled) {
        l->shape[k].settled = true;
        l->unsettled--;
    }
}

/* Notes that one of shape k still queued asks memory. */
static void seen(struct learned *l, size_t k, uint64_t memory)
{
    if (memory < l->shape[k].seen_min)
        l->shape[k].seen_min = memory;
}

/* Queued a found no room: the least memory its shape cannot have now. If not even the least any
 * queued one of its shape asks (min) fits anywhere (the head's holds count), none of them does:
 * one more placement settles the whole shape. Uses the GPUs resolve() allowed for a. */
static uint64_t smallest_failing(struct sched *s, const struct allocation *a, uint64_t min)
{
    struct sched_req r = request_for_policy(&a->req, -1); /* not the head: its holds bind */
    struct placement p;

    if (min >= a->req.memory)
        return a->req.memory;
    r.memory = min;
    return policy_place(s->view.v, s->view.n, &r, s->o.policy, NULL, &p) == 0 ? a->req.memory : min;
}

/*
 * The queue in its order, stopping as soon as nothing behind can start (every shape settled)
 * and no queued request may time out now. A decision costs a few placements per shape in the
 * queue, and a glance at each request before the last of them to settle; each shape's least
 * memory is learned afresh when the pass sees the queue whole.
 */
static bool run_queue(struct sched *s, int64_t now)
{
    bool changed = false, held = false, timeouts = now >= s->next_deadline, exact = true;
    struct learned l;
    int64_t next = INT64_MAX;
    size_t i = 0;
    bool learn = learned_init(&l, s);

    timeouts |= !learn; /* out of memory: no shortcuts, the whole queue */
    while (i < s->nqueue && (timeouts || l.unsettled > 0)) {
        struct allocation *a = s->queue[i];
        size_t k = a->shape;
        bool hopeless = learn && a->req.memory >= l.shape[k].failed_at;
        if (hopeless && !timeouts) { /* nothing times out now: its deadline need not be read */
            seen(&l, k, a->req.memory);
            exact = false;
            i++;
            continue;
        }
        changed |= settle(s, a, now, hopeless, &held);
        if (i >= s->nqueue || s->queue[i] != a) { /* granted or ended: the next moved up */
            if (learn && s->shapes[k].count == 0)
                settle_shape(&l, k);
            continue;
        }
        next = sched_deadline(a) < next ? sched_deadline(a) : next;
        if (learn) {
            seen(&l, k, a->req.memory);
            if (!hopeless)
                l.shape[k].failed_at = smallest_failing(s, a, s->shapes[k].min_memory);
            if (l.shape[k].failed_at <= s->shapes[k].min_memory)
                settle_shape(&l, k);
        }
        i++;
    }
    if (i >= s->nqueue) { /* seen whole: the least memories are exact, the deadlines if read */
        if (exact)
            s->next_deadline = next;
        for (size_t k = 0; k < l.n; k++)
            if (s->shapes[k].count)
                s->shapes[k].min_memory = l.shape[k].seen_min;
    }
    free(l.shape);
    return changed;
}

bool sched_pass(struct sched *s)
{
    struct snapshot *snap = monitor_snapshot(s->o.monitor);
    bool changed;

    snapshot_unref(s->view.snap);
    s->view.snap = snap;
    count_unknown(s, snap);
    base_views(s, snap, &s->view);
    changed = run_queue(s, clock_wall_ms());
    for (size_t i = 0; i < s->view.n; i++)
        s->view.v[i].allowed = true;
    return changed;
}
