/* fdinfo.c: the GPU clients of every process, from /proc/PID/fdinfo, in one pass for all
 * devices (Documentation/gpu/drm-usage-stats.rst). */
#include "device/fdinfo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "device/backend.h"
#include "device/drm_usage.h"
#include "device/fdset.h"
#include "device/proc.h"
#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

/* Every how many passes each fd is asked about again (see fdset_begin()). */
#define FULL_PASS_EVERY 10

/* The longest fdinfo read; real ones are 1-3 KiB. A longer one is not a client gpuctl
 * understands, and is left out rather than parsed from a cut (a number cut from its unit reads
 * as another number). */
#define FDINFO_MAX (64 * 1024)

struct fdinfo_scanner {
    char root[1024];
    struct drm_scan cur, prev;
    size_t cap_cur, cap_prev;
    uint64_t now_ns, prev_ns;
    bool scanned;
    unsigned passes;
    int proc_dir;      /* the procfs root, open during a pass */
    struct fdset *fds; /* which fds were DRM fds last pass */
    int *fdbuf;        /* one process's fd numbers */
    size_t nfd, capfd;
    char *text; /* one fdinfo file, grown as needed up to FDINFO_MAX */
    size_t cap_text;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int by_id(const void *a, const void *b)
{
    const struct drm_client *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return pci_compare(&x->pdev, &y->pdev);
}

/* Utilization from this pass's counters against the previous pass's. */
static void add_utilization(struct fdinfo_scanner *s, struct drm_client *c)
{
    const struct drm_client *p =
        s->prev.n ? bsearch(c, s->prev.v, s->prev.n, sizeof(*c), by_id) : NULL;
    uint64_t wall = s->now_ns - s->prev_ns;
    double busy = 0;

    if (!p || strcmp(p->driver, c->driver) != 0 || wall == 0)
        return;
    for (size_t e = 0; e < 2; e++) {
        uint64_t cap = c->capacity[e] ? c->capacity[e] : 1;
        uint64_t span = c->cycles ? c->total[e] - p->total[e] : wall;
        if (c->busy[e] < p->busy[e] || (c->cycles && c->total[e] < p->total[e]))
            return; /* a counter went back: not the same client after all */
        if (span > 0)
            busy += (double)(c->busy[e] - p->busy[e]) / ((double)span * (double)cap);
    }
    c->has_util = true;
    c->util_percent = busy >= 1.0 ? 100u : (unsigned)(busy * 100.0 + 0.5);
}

static bool seen(const struct drm_scan *scan, const struct drm_client *c)
{
    for (size_t i = 0; i < scan->n; i++)
        if (scan->v[i].id == c->id && pci_compare(&scan->v[i].pdev, &c->pdev) == 0 &&
            strcmp(scan->v[i].driver, c->driver) == 0)
            return true;
    return false;
}

static int append(struct fdinfo_scanner *s, const struct drm_client *c)
{
    if (s->cur.n == s->cap_cur) {
        size_t more = s->cap_cur ? s->cap_cur * 2 : 16;
        struct drm_client *grown = realloc(s->cur.v, more * sizeof(*grown));
        if (!grown)
            return GPUCTL_ENOMEM;
        s->cur.v = grown;
        s->cap_cur = more;
    }
    s->cur.v[s->cur.n++] = *c;
    return 0;
}

/* Whether an fd's link points at a DRM device node. */
static bool is_drm_fd(int fd_dir, const char *name)
{
    char target[64];
    ssize_t n = readlinkat(fd_dir, name, target, sizeof(target) - 1);

    if (n <= 0)
        return false;
    target[n] = '\0';
    return str_starts_with(target, "/dev/dri/");
}

/* Writes v in decimal at out; returns the end. */
static char *put_uint(char *out, unsigned v)
{
    char digits[12];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *out++ = digits[--n];
    return out;
}

/* Reads the open fdinfo file f to its end into s->text, terminated. Returns 0, GPUCTL_ENOMEM,
 * GPUCTL_EIO when it cannot be read, or GPUCTL_ERANGE when it is longer than FDINFO_MAX. */
static int read_fdinfo(struct fdinfo_scanner *s, int f)
{
    size_t len = 0;

    for (;;) {
        ssize_t n;
        if (len + 1 >= s->cap_text) {
            size_t more = s->cap_text ? s->cap_text * 2 : 8192;
            char *grown = realloc(s->text, more);
            if (!grown)
                return GPUCTL_ENOMEM;
            s->text = grown;
            s->cap_text = more;
        }
        n = read(f, s->text + len, s->cap_text - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->text[len] = '\0';
            return n < 0 || len == 0 ? GPUCTL_EIO : 0;
        }
        len += (size_t)n;
        if (len > FDINFO_MAX)
            return GPUCTL_ERANGE;
    }
}

/* Reads one fdinfo file and appends its client unless this pass has it already (dup'ed fds and
 * fds passed between processes share a client). */
static int scan_fd(struct fdinfo_scanner *s, int proc_dir, int pid, const char *fd)
{
    char rel[96];
    struct drm_client c;
    int f, ret;

    str_copy(put_uint(rel, (unsigned)pid), "/fdinfo/", 16);
    str_copy(rel + strlen(rel), fd, 16);
    f = openat(proc_dir, rel, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return 0;
    ret = read_fdinfo(s, f);
    close(f);
    if (ret == GPUCTL_ERANGE)
        log_debug("%s/%s is longer than %d KiB: its client is left out", s->root, rel,
                  FDINFO_MAX / 1024);
    if (ret)
        return ret == GPUCTL_ENOMEM ? ret : 0;
    if (!drm_usage_parse(s->text, pid, &c) || seen(&s->cur, &c))
        return 0;
    return append(s, &c);
}

/* Calls fn for each entry of the directory dir whose name is a number (PIDs, fds), with getdents
 * itself: a scan opens thousands of these, and DIR streams cost two more syscalls each. Stops at
 * the first nonzero return. */
static int each_numbered(int dir,
                         int (*fn)(struct fdinfo_scanner *s, int dir, const char *name, int arg),
                         struct fdinfo_scanner *s, int arg)
{
    _Alignas(struct dirent64) char buf[16384];

    for (;;) {
        ssize_t n = getdents64(dir, buf, sizeof(buf));
        if (n <= 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *e = (const struct dirent64 *)(buf + off);
            int ret = isdigit((unsigned char)e->d_name[0]) ? fn(s, dir, e->d_name, arg) : 0;
            if (ret)
                return ret;
            off += e->d_reclen;
        }
    }
}

/* Collects one fd number of the process being visited. */
static int collect_fd(struct fdinfo_scanner *s, int fd_dir, const char *fd, int pid)
{
    (void)fd_dir;
    (void)pid;
    if (s->nfd == s->capfd) {
        size_t more = s->capfd ? s->capfd * 2 : 256;
        int *grown = realloc(s->fdbuf, more * sizeof(*grown));
        if (!grown)
            return GPUCTL_ENOMEM;
        s->fdbuf = grown;
        s->capfd = more;
    }
    s->fdbuf[s->nfd++] = atoi(fd);
    return 0;
}

/* The process and fd directory an fdset_visit() classifies fds of. */
struct visit {
    struct fdinfo_scanner *s;
    int fd_dir;
    int pid;
};

/* 1 for a DRM fd (read as a client), 0 for another, or GPUCTL_ENOMEM. */
static int classify(void *ctx, int fd)
{
    struct visit *v = ctx;
    char name[16];
    int ret;

    *put_uint(name, (unsigned)fd) = '\0';

    if (!is_drm_fd(v->fd_dir, name))
        return 0;
    ret = scan_fd(v->s, v->s->proc_dir, v->pid, name);
    return ret < 0 ? ret : 1;
}

static int visit_process(struct fdinfo_scanner *s, int proc_dir, const char *name, int unused)
{
    struct visit v = {s, -1, atoi(name)};
    struct proc_stat st = {0};
    char rel[32];
    int ret;

    (void)unused;
    /* The start time tells a new process under a reused PID from the old one; without it
     * (procfs does not say) the PID alone is all there is. Kernel threads and zombies hold no
     * files: their fd directories are not opened, and without root they would count as another
     * user's processes whose clients stay unknown. */
    if (!proc_stat_at(proc_dir, v.pid, &st))
        st.start = 0;
    else if ((st.flags & PROC_PF_KTHREAD) || st.state == 'Z' || st.state == 'X')
        return 0;
    snprintf(rel, sizeof(rel), "%d/fd", v.pid);
    v.fd_dir = openat(proc_dir, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v.fd_dir < 0) {
        if (errno == EACCES || errno == EPERM)
            s->cur.unreadable++; /* another user's: its clients stay unknown */
        return 0;                /* or gone */
    }
    s->nfd = 0;
    ret = each_numbered(v.fd_dir, collect_fd, s, v.pid);
    if (!ret)
        ret = fdset_visit(s->fds, v.pid, st.start, s->fdbuf, s->nfd, classify, &v);
    close(v.fd_dir);
    return ret;
}

struct fdinfo_scanner *fdinfo_scanner_new(const char *procfs_root)
{
    struct fdinfo_scanner *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->fds = fdset_new();
    if (!s->fds) {
        free(s);
        return NULL;
    }
    str_copy(s->root, procfs_root, sizeof(s->root));
    return s;
}

int fdinfo_scan(struct fdinfo_scanner *s, const struct drm_scan **out)
{
    struct drm_scan swap = s->prev;
    size_t swap_cap = s->cap_prev;
    int ret;

    s->prev = s->cur;
    s->cap_prev = s->cap_cur;
    s->cur = (struct drm_scan){swap.v, 0, s->scanned, 0};
    s->cap_cur = swap_cap;
    s->prev_ns = s->now_ns;
    s->now_ns = monotonic_ns();
    s->scanned = true;
    *out = &s->cur;
    s->proc_dir = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->proc_dir < 0)
        return 0;
    fdset_begin(s->fds, s->passes++ % FULL_PASS_EVERY == 0);
    ret = each_numbered(s->proc_dir, visit_process, s, 0);
    fdset_end(s->fds);
    close(s->proc_dir);
    s->proc_dir = -1;
    for (size_t i = 0; i < s->cur.n && s->cur.has_deltas; i++)
        add_utilization(s, &s->cur.v[i]);
    if (s->cur.n > 1)
        qsort(s->cur.v, s->cur.n, sizeof(s->cur.v[0]), by_id);
    return ret;
}

void fdinfo_scanner_free(struct fdinfo_scanner *s)
{
    if (!s)
        return;
    free(s->cur.v);
    free(s->prev.v);
    free(s->fdbuf);
    free(s->text);
    fdset_free(s->fds);
    free(s);
}

bool fdinfo_device_processes(const struct drm_scan *scan, const struct pci_addr *pdev,
                             const char *driver, bool list, struct gpuctl_device *d, unsigned *util,
                             bool *oom)
{
    unsigned total = 0;

    *oom = false;
    for (size_t i = 0; scan && i < scan->n; i++) {
        const struct drm_client *c = &scan->v[i];
        struct gpuctl_process *p;

        if (strcmp(c->driver, driver) != 0 || pci_compare(&c->pdev, pdev) != 0)
            continue;
        if (c->has_util)
            total = total + c->util_percent > 100 ? 100 : total + c->util_percent;
        if (!list)
            continue;
        p = devslot_process(d, c->pid);
        if (!p) {
            *oom = true;
            return false;
        }
        p->type |= (c->uses & DRM_USES_GRAPHICS ? GPUCTL_PROC_GRAPHICS : 0) |
                   (c->uses & DRM_USES_COMPUTE ? GPUCTL_PROC_COMPUTE : 0);
        if (c->has_vram) {
            p->used_memory_valid = true;
            p->used_memory_bytes += c->vram_bytes;
        }
        if (c->has_util) {
            unsigned sum = p->utilization_percent + c->util_percent;
            p->utilization_valid = true;
            p->utilization_percent = sum > 100 ? 100 : sum;
        }
    }
    if (list && scan)
        d->valid |= UINT64_C(1) << GPUCTL_M_PROCESSES;
    *util = total;
    return scan && scan->has_deltas && scan->unreadable == 0;
}
