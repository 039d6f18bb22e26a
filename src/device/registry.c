/* registry.c: the device list: every backend's devices in PCI order, masked, then the CPU. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "device/backend.h"
#include "device/links.h"
#include "device/mask.h"
#include "device/proc.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

/* The inode of the initial PID namespace (PROC_PID_INIT_INO in the kernel's proc_ns.h). */
#define PROC_PID_INIT_INO "4026531836"

const struct backend *const backends[] = {
    &backend_nvml, &backend_amdgpu, &backend_intel, &backend_cpu, NULL,
};

/* Metrics that do not change while the machine runs; refresh keeps them. */
#define STATIC_METRICS                                                                             \
    ((UINT64_C(1) << GPUCTL_M_COMPUTE_CAPABILITY) | (UINT64_C(1) << GPUCTL_M_MEMORY_TOTAL) |       \
     (UINT64_C(1) << GPUCTL_M_CLOCK_SM_MAX) | (UINT64_C(1) << GPUCTL_M_CLOCK_MEM_MAX) |            \
     (UINT64_C(1) << GPUCTL_M_CPU_CORES) | (UINT64_C(1) << GPUCTL_M_CPU_THREADS) |                 \
     (UINT64_C(1) << GPUCTL_M_INTEGRATED))

struct opened {
    const struct backend *be;
    void *state;
    struct gpuctl_backend_status *st;
};

struct gpuctl {
    struct backend_env env;
    struct gpuctl_system sys;
    struct devlist devs;
    int8_t *links; /* devs.n × devs.n levels (gpuctl_link()); made by gpuctl_new(), never changed
                      after, so any thread may read it without a lock */
    struct fdinfo_scanner *fdinfo; /* when an open backend reads DRM clients */
    struct proc_names *names;      /* users and commands of GPU processes */
    bool host_pids;                /* gpuctl sees the host's PIDs, as NVML reports them */
    size_t gpu_count;
    size_t nopen;
    struct opened open[GPUCTL_MAX_BACKENDS];
    char sysfs_root[1024];
    char procfs_root[1024];
    char nvml_library[1024];
};

struct devslot *devlist_add(struct devlist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct devslot *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    return &l->v[l->n++];
}

struct gpuctl_process *devslot_process(struct gpuctl_device *d, int pid)
{
    struct gpuctl_process *grown;

    for (size_t k = 0; k < d->process_count; k++)
        if (d->processes[k].pid == pid)
            return &d->processes[k];
    grown = realloc(d->processes, (d->process_count + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    d->processes = grown;
    memset(&grown[d->process_count], 0, sizeof(grown[0]));
    grown[d->process_count].pid = pid;
    return &grown[d->process_count++];
}

static void devlist_release(struct devlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].dev.processes);
    free(l->v);
    *l = (struct devlist){0};
}

static void env_init(struct gpuctl *g, const struct gpuctl_options *opts)
{
    struct gpuctl_options none = {0};

    if (!opts)
        opts = &none;
    str_copy(g->sysfs_root, fs_root(opts->sysfs_root, "GPUCTL_SYSFS_ROOT", "/sys"),
             sizeof(g->sysfs_root));
    str_copy(g->procfs_root, fs_root(opts->procfs_root, "GPUCTL_PROCFS_ROOT", "/proc"),
             sizeof(g->procfs_root));
    str_copy(g->nvml_library,
             fs_root(opts->nvml_library, "GPUCTL_NVML_LIBRARY", "libnvidia-ml.so.1"),
             sizeof(g->nvml_library));
    g->env = (struct backend_env){g->sysfs_root, g->procfs_root, g->nvml_library, opts->flags};
}

/* The runtime's order (PCI order unless the backend says otherwise), then enumeration order. */
static int by_runtime_order(const void *a, const void *b)
{
    const struct devslot *x = a, *y = b;
    int c = x->be->compare ? x->be->compare(x, y) : pci_compare(&x->pci, &y->pci);

    if (c)
        return c;
    return (x->backend_pos > y->backend_pos) - (x->backend_pos < y->backend_pos);
}

/* Appends a sentence to a backend's message, "; "-separated. */
static void note(struct gpuctl_backend_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct gpuctl_backend_status *st, const char *fmt, ...)
{
    char line[sizeof(st->message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    str_appendf(st->message, sizeof(st->message), "%s%s", st->message[0] ? "; " : "", line);
}

/* Whether programs may number these GPUs otherwise than PCI order: the backend's order variable
 * is not PCI_BUS_ID and the models differ (CUDA's default order puts the fastest first). */
static bool order_differs(const struct backend *be, const struct devlist *found)
{
    const char *order = be->order_var ? getenv(be->order_var) : NULL;

    if (!be->order_var || (order && strcmp(order, "PCI_BUS_ID") == 0))
        return false;
    for (size_t i = 1; i < found->n; i++)
        if (strcmp(found->v[i].dev.name, found->v[0].dev.name) != 0)
            return true;
    return false;
}

/* Room for one mask's input and output, for found->n devices. */
struct mask_scratch {
    const char **uuids;
    unsigned *tiles;
    size_t *step;
};

/* Applies one mask variable to order[0..*count), noting in st what it did. */
static void apply_mask(const struct backend *be, const struct mask_var *mv, const char *var,
                       const char *value, const struct devlist *found,
                       struct gpuctl_backend_status *st, struct mask_scratch *x, size_t *order,
                       size_t *count)
{
    struct mask_devices devs = {x->uuids, x->tiles, *count, false};
    size_t *step = x->step;
    enum mask_outcome outcome;
    char msg[256];
    size_t n = 0;

    for (size_t i = 0; i < *count; i++) {
        x->uuids[i] = found->v[order[i]].dev.uuid;
        x->tiles[i] = found->v[order[i]].tiles;
        devs.flat |= found->v[order[i]].tiles_are_devices;
    }
    outcome = mask_apply(var, mv->rules, value, &devs, step, &n, msg, sizeof(msg));
    if (outcome == MASK_MIG)
        st->mask_unsupported = true;
    if (msg[0])
        note(st, "%s", msg);
    else if (n < *count)
        note(st, "%s=%.48s shows %zu of the %zu %s GPUs", var, value, n, *count, be->name);
    if (st->order_differs && value[0] && !str_starts_with(value, "GPU-"))
        note(st,
             "%s holds indices, which CUDA reads in %s order (not PCI_BUS_ID here, and these "
             "GPUs differ) while gpuctl numbers in PCI order: set %s=PCI_BUS_ID or use UUIDs",
             var, be->order_var, be->order_var);
    for (size_t i = 0; i < n; i++)
        step[i] = order[step[i]];
    memcpy(order, step, n * sizeof(*order));
    *count = n;
}

/* The variable a mask is read from: its own when set and not empty, else the fallback when that
 * is set (and not empty, for a runtime that reads empty as unset, as HIP does), else its own when
 * set (empty); NULL when neither is set. */
static const char *mask_source(const struct mask_var *mv)
{
    const char *own = getenv(mv->name);
    const char *fallback = mv->fallback ? getenv(mv->fallback) : NULL;

    if (own && *own)
        return mv->name;
    if (fallback && (*fallback || !mv->rules->empty_is_unset))
        return mv->fallback;
    return own ? mv->name : NULL;
}

/* Applies the backend's masks in turn: each one indexes the devices the previous one left.
 * Fills order (room for found->n) and *count. Returns 0 or GPUCTL_ENOMEM. */
static int apply_masks(const struct gpuctl *g, const struct backend *be,
                       struct gpuctl_backend_status *st, const struct devlist *found, size_t *order,
                       size_t *count)
{
    struct mask_scratch x = {calloc(found->n + 1, sizeof(*x.uuids)),
                             calloc(found->n + 1, sizeof(*x.tiles)),
                             calloc(found->n + 1, sizeof(*x.step))};
    int ret = 0;

    if (!x.uuids || !x.tiles || !x.step) {
        ret = GPUCTL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < found->n; i++)
        order[i] = i;
    *count = found->n;
    for (const struct mask_var *mv = be->masks; mv && mv->name; mv++) {
        const char *var = mask_source(mv);
        const char *value = (g->env.flags & GPUCTL_OPEN_NO_MASKS) || !var ? NULL : getenv(var);
        if (value)
            apply_mask(be, mv, var, value, found, st, &x, order, count);
    }
out:
    free(x.uuids);
    free(x.tiles);
    free(x.step);
    return ret;
}

/* Lists a backend's devices into found, in PCI order. Returns 0 or GPUCTL_ENOMEM. */
static int enumerate_sorted(const struct backend *be, void *state, struct devlist *found)
{
    int ret = be->enumerate(state, found);

    if (ret)
        return ret;
    for (size_t i = 0; i < found->n; i++) {
        struct devslot *s = &found->v[i];
        s->be = be;
        s->backend_pos = (unsigned)i;
        if (pci_parse(s->dev.pci_bus_id, &s->pci) == 0)
            pci_format(&s->pci, s->dev.pci_bus_id, sizeof(s->dev.pci_bus_id));
    }
    if (found->n > 1)
        qsort(found->v, found->n, sizeof(found->v[0]), by_runtime_order);
    return 0;
}

/* The prefix a backend's devices get: its own, unless an earlier backend that uses it found
 * devices (masked or not: names must not change with a mask). Backend statuses are in
 * backends[] order. */
static const char *prefix_for(const struct gpuctl *g, const struct backend *be)
{
    for (size_t k = 0; be->alt_prefix && backends[k] != be && k < g->sys.backend_count; k++)
        if (backends[k]->device_prefix && g->sys.backends[k].found > 0 &&
            strcmp(backends[k]->device_prefix, be->device_prefix) == 0)
            return be->alt_prefix;
    return be->device_prefix;
}

/* Moves the visible slots of found, in mask order, into g's list, naming them. */
static int append_visible(struct gpuctl *g, const struct backend *be, struct devlist *found,
                          const size_t *order, size_t count)
{
    const char *prefix = prefix_for(g, be);

    for (size_t i = 0; i < count; i++) {
        struct devslot *s = devlist_add(&g->devs);
        if (!s)
            return GPUCTL_ENOMEM;
        *s = found->v[order[i]];
        found->v[order[i]].dev.processes = NULL; /* moved */
        s->dev.physical_index = prefix ? (int)order[i] : -1;
        s->dev.index = prefix ? (int)i : -1;
        if (prefix)
            snprintf(s->dev.device, sizeof(s->dev.device), "%.16s:%u", prefix, (unsigned)i);
        else
            str_copy(s->dev.device, be->name, sizeof(s->dev.device));
        if (be->vendor != GPUCTL_VENDOR_CPU)
            g->gpu_count++;
    }
    return 0;
}

/* Opens one backend, lists its devices in PCI order, masks them and appends them to g. A vendor
 * that is not here is not an error. Returns 0 or GPUCTL_ENOMEM. */
static int add_backend(struct gpuctl *g, const struct backend *be)
{
    struct gpuctl_backend_status *st = &g->sys.backends[g->sys.backend_count++];
    struct devlist found = {0};
    size_t *order = NULL, count = 0;
    void *state = NULL;
    int ret = be->open(&g->env, &g->sys, &state, st);

    st->name = be->name;
    if (ret)
        return ret == GPUCTL_ENOMEM ? ret : 0; /* not here; st->message says why */
    st->available = true;
    g->open[g->nopen++] = (struct opened){be, state, st};
    if (be->uses_fdinfo && !g->fdinfo) {
        g->fdinfo = fdinfo_scanner_new(g->env.procfs_root);
        if (!g->fdinfo)
            return GPUCTL_ENOMEM;
    }
    ret = enumerate_sorted(be, state, &found);
    if (!ret) {
        st->found = (unsigned)found.n;
        st->order_differs = order_differs(be, &found);
        order = calloc(found.n + 1, sizeof(*order));
        ret = order ? apply_masks(g, be, st, &found, order, &count) : GPUCTL_ENOMEM;
    }
    if (!ret)
        ret = append_visible(g, be, &found, order, count);
    st->visible = (unsigned)count;
    free(order);
    devlist_release(&found);
    return ret;
}

/* Whether PIDs from the driver (host PIDs) mean the same processes under procfs_root: true in
 * the initial PID namespace, or when the root does not say (a fixture tree). */
static bool host_pid_namespace(const char *procfs_root)
{
    char path[1100], link[64];
    ssize_t n;

    if (fs_join(path, sizeof(path), procfs_root, "self/ns/pid") != 0)
        return true;
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0)
        return true;
    link[n] = '\0';
    return strcmp(link, "pid:[" PROC_PID_INIT_INO "]") == 0;
}

/* Fills in who runs each GPU process and what it runs, from procfs. Inside a container the
 * host PIDs NVML gives name other processes (or none) here, so they stay unknown. */
static void describe_processes(struct gpuctl *g)
{
    proc_names_begin(g->names);
    for (size_t i = 0; i < g->devs.n; i++) {
        struct gpuctl_device *d = &g->devs.v[i].dev;
        if (g->devs.v[i].be->host_pids && !g->host_pids)
            continue;
        for (size_t k = 0; k < d->process_count; k++) {
            struct gpuctl_process *p = &d->processes[k];
            proc_names_describe(g->names, p->pid, p->user, sizeof(p->user), p->command,
                                sizeof(p->command));
        }
    }
}

int gpuctl_refresh(struct gpuctl *g)
{
    struct devslot **mine = calloc(g->devs.n + 1, sizeof(*mine));
    const struct drm_scan *scan = NULL;
    int ret = 0;

    if (!mine)
        return GPUCTL_ENOMEM;
    if (g->fdinfo)
        ret = fdinfo_scan(g->fdinfo, &scan); /* once for every device of every DRM backend */
    for (size_t i = 0; i < g->devs.n; i++) {
        struct gpuctl_device *d = &g->devs.v[i].dev;
        free(d->processes);
        d->processes = NULL;
        d->process_count = 0;
        d->valid &= STATIC_METRICS;
    }
    for (size_t b = 0; b < g->nopen && !ret; b++) {
        size_t n = 0;
        if (g->open[b].be->uses_fdinfo && scan)
            g->open[b].st->processes_hidden = scan->unreadable > 0;
        for (size_t i = 0; i < g->devs.n; i++)
            if (g->devs.v[i].be == g->open[b].be)
                mine[n++] = &g->devs.v[i];
        if (n)
            ret = g->open[b].be->refresh(g->open[b].state, mine, n,
                                         g->open[b].be->uses_fdinfo ? scan : NULL);
    }
    free(mine);
    if (!ret && !(g->env.flags & GPUCTL_OPEN_NO_PROCESSES))
        describe_processes(g);
    return ret;
}

int gpuctl_wait_event(struct gpuctl *g, unsigned timeout_ms, struct gpuctl_event *ev)
{
    for (size_t b = 0; b < g->nopen; b++) {
        const struct backend *be = g->open[b].be;
        size_t first = SIZE_MAX, n = 0;
        int ret;

        if (!be->wait_event)
            continue;
        for (size_t i = 0; i < g->devs.n; i++) {
            if (g->devs.v[i].be != be)
                continue;
            if (first == SIZE_MAX)
                first = i;
            n++;
        }
        if (n == 0)
            continue;
        /* A backend's slots are consecutive in the list: hand them over as an array. */
        {
            struct devslot *slots[GPUCTL_MAX_SELECT * 4];
            size_t k = 0;
            for (size_t i = first; i < first + n && k < sizeof(slots) / sizeof(slots[0]); i++)
                slots[k++] = &g->devs.v[i];
            ret = be->wait_event(g->open[b].state, slots, k, timeout_ms, ev);
        }
        if (ret == 0 && ev->device != SIZE_MAX)
            ev->device += first;
        return ret;
    }
    return GPUCTL_ENOLIB;
}

/* Asks each backend once how closely its devices are joined, when g was opened to know
 * (GPUCTL_OPEN_LINKS). Returns 0 or GPUCTL_ENOMEM. */
static int make_links(struct gpuctl *g)
{
    g->links = links_new(g->devs.n);
    if (!g->links)
        return GPUCTL_ENOMEM;
    for (size_t b = 0; (g->env.flags & GPUCTL_OPEN_LINKS) && b < g->nopen; b++)
        links_fill(g->links, g->devs.v, g->devs.n, g->open[b].be, g->open[b].state);
    return 0;
}

int gpuctl_new(const struct gpuctl_options *opts, struct gpuctl **out)
{
    struct gpuctl *g = calloc(1, sizeof(*g));
    int ret = 0;

    if (!g)
        return GPUCTL_ENOMEM;
    env_init(g, opts);
    g->names = proc_names_new(g->env.procfs_root);
    if (!g->names) {
        free(g);
        return GPUCTL_ENOMEM;
    }
    g->host_pids = host_pid_namespace(g->env.procfs_root);
    if (!g->host_pids)
        log_debug("not in the host's PID namespace: NVIDIA processes' users and commands unknown");

    if (gethostname(g->sys.hostname, sizeof(g->sys.hostname)) != 0)
        g->sys.hostname[0] = '\0';
    g->sys.hostname[sizeof(g->sys.hostname) - 1] = '\0';
    for (size_t b = 0; backends[b] && b < GPUCTL_MAX_BACKENDS && !ret; b++)
        ret = add_backend(g, backends[b]);
    if (!ret)
        ret = make_links(g);
    if (!ret)
        ret = gpuctl_refresh(g);
    if (ret) {
        gpuctl_free(g);
        return ret;
    }
    *out = g;
    return 0;
}

void gpuctl_free(struct gpuctl *g)
{
    if (!g)
        return;
    devlist_release(&g->devs);
    free(g->links);
    for (size_t b = g->nopen; b-- > 0;)
        g->open[b].be->close(g->open[b].state);
    fdinfo_scanner_free(g->fdinfo);
    proc_names_free(g->names);

    free(g);
}

const struct gpuctl_system *gpuctl_system(const struct gpuctl *g)
{
    return &g->sys;
}

size_t gpuctl_device_count(const struct gpuctl *g)
{
    return g->devs.n;
}

size_t gpuctl_gpu_count(const struct gpuctl *g)
{
    return g->gpu_count;
}

const struct gpuctl_device *gpuctl_device_at(const struct gpuctl *g, size_t i)
{
    return i < g->devs.n ? &g->devs.v[i].dev : NULL;
}

int gpuctl_link(const struct gpuctl *g, size_t a, size_t b)
{
    size_t n = g->devs.n;

    return a < n && b < n ? g->links[a * n + b] : GPUCTL_LINK_UNKNOWN;
}

const char *gpuctl_vendor_name(enum gpuctl_vendor v)
{
    static const char *const names[] = {"nvidia", "amd", "intel", "cpu"};

    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

const char *gpuctl_state_name(enum gpuctl_device_state s)
{
    static const char *const names[] = {"ok", "lost", "inaccessible", "error"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
