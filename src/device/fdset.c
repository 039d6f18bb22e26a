/* fdset.c: which fds of every process are DRM device fds, remembered between passes. */
#include "device/fdset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

/* One process's fds in a table: fd[off .. off + n), sorted. */
struct span {
    int pid;
    uint64_t start; /* with pid, names the process */
    size_t off, n;
};

struct table {
    int *fd;
    unsigned char *drm; /* 1 when fd[i] was a DRM fd */
    size_t n, cap;
    struct span *span;
    size_t nspan, capspan;
};

struct fdset {
    struct table cur, prev;
    bool full;
};

static int by_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static int by_pid(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

struct fdset *fdset_new(void)
{
    return calloc(1, sizeof(struct fdset));
}

static void table_release(struct table *t)
{
    free(t->fd);
    free(t->drm);
    free(t->span);
}

void fdset_free(struct fdset *m)
{
    if (!m)
        return;
    table_release(&m->cur);
    table_release(&m->prev);
    free(m);
}

void fdset_begin(struct fdset *m, bool full)
{
    struct table swap = m->prev;

    m->prev = m->cur;
    m->cur = swap;
    m->cur.n = m->cur.nspan = 0;
    m->full = full;
}

void fdset_end(struct fdset *m)
{
    bool sorted = true;

    for (size_t i = 1; i < m->cur.nspan && sorted; i++) /* procfs lists PIDs in order */
        sorted = m->cur.span[i - 1].pid < m->cur.span[i].pid;
    if (!sorted)
        qsort(m->cur.span, m->cur.nspan, sizeof(m->cur.span[0]), by_pid);
}

/* Room for n more fds and one more span. */
static int reserve(struct table *t, size_t n)
{
    if (t->n + n > t->cap) {
        size_t cap = (t->n + n) * 2 + 64;
        int *fd = realloc(t->fd, cap * sizeof(*fd));
        unsigned char *drm = fd ? realloc(t->drm, cap) : NULL;
        if (fd)
            t->fd = fd;
        if (!fd || !drm)
            return GPUCTL_ENOMEM;
        t->drm = drm;
        t->cap = cap;
    }
    if (t->nspan == t->capspan) {
        size_t cap = t->capspan ? t->capspan * 2 : 64;
        struct span *span = realloc(t->span, cap * sizeof(*span));
        if (!span)
            return GPUCTL_ENOMEM;
        t->span = span;
        t->capspan = cap;
    }
    return 0;
}

/* What the last pass said of pid's fd: 1 DRM, 0 not, -1 unknown (new fd, or new process). */
static int known(const struct table *t, const struct span *was, int fd)
{
    const int *hit;

    if (!was)
        return -1;
    hit = bsearch(&fd, t->fd + was->off, was->n, sizeof(fd), by_int);
    return hit ? t->drm[hit - t->fd] : -1;
}

int fdset_visit(struct fdset *m, int pid, uint64_t start, int *fds, size_t n,
                int (*classify)(void *ctx, int fd), void *ctx)
{
    struct span key = {pid, start, 0, 0};
    const struct span *was =
        m->prev.nspan ? bsearch(&key, m->prev.span, m->prev.nspan, sizeof(key), by_pid) : NULL;
    struct span *now;
    int ret = reserve(&m->cur, n);

    if (ret)
        return ret;
    if (was && was->start != start)
        was = NULL; /* a new process under a reused PID: what the old one had says nothing */
    for (size_t i = 1; i < n; i++) { /* procfs lists fds in order: sort only if not */
        if (fds[i - 1] > fds[i]) {
            qsort(fds, n, sizeof(*fds), by_int);
            break;
        }
    }

    now = &m->cur.span[m->cur.nspan++];
    *now = (struct span){pid, start, m->cur.n, 0};
    for (size_t i = 0; i < n; i++) {
        int drm = m->full ? -1 : known(&m->prev, was, fds[i]);
        if (drm != 0) /* new, or a DRM fd last time: ask */
            drm = classify(ctx, fds[i]);
        if (drm < 0)
            return drm;
        m->cur.fd[m->cur.n] = fds[i];
        m->cur.drm[m->cur.n++] = (unsigned char)drm;
        now->n++;
    }
    return 0;
}
