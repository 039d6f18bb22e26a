/* queue.c: the open allocations in the three orders the scheduler reads them: all by id (for
 * requests), the active ones (for the views of the GPUs), and the queue in its order with the
 * shapes of request in it (for the pass, which stops once no shape behind can start). */
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"
#include "util/banned.h"

/* Grows an array of pointers to hold one more. Returns 0 or GPUCTL_ENOMEM. */
static int grow(struct allocation ***v, size_t n, size_t *cap)
{
    struct allocation **bigger;
    size_t c;

    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 64;
    bigger = realloc(*v, c * sizeof(**v));
    if (!bigger)
        return GPUCTL_ENOMEM;
    *v = bigger;
    *cap = c;
    return 0;
}

static void remove_at(struct allocation **v, size_t *n, size_t i)
{
    memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
    (*n)--;
}

/* Whether a goes before b in the queue: higher priority, then older (a smaller id). */
static bool before(const struct allocation *a, const struct allocation *b)
{
    if (a->req.priority != b->req.priority)
        return a->req.priority > b->req.priority;
    return a->id < b->id;
}

/* Where a is, or would go, in the queue. */
static size_t queue_slot(const struct sched *s, const struct allocation *a)
{
    size_t lo = 0, hi = s->nqueue;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(s->queue[mid], a))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool sched_same_shape(const struct sched_request *a, const struct sched_request *b)
{
    return a->count == b->count && a->memory == b->memory && a->fraction == b->fraction &&
           a->kind == b->kind && a->has_visible == b->has_visible &&
           strcmp(a->gpu_type, b->gpu_type) == 0 && strcmp(a->device, b->device) == 0 &&
           (!a->has_visible || strcmp(a->visible, b->visible) == 0);
}

/* Counts a's shape in (or, with delta -1, out of) the queue's shapes. */
static int count_shape(struct sched *s, const struct allocation *a, int delta)
{
    for (size_t i = 0; i < s->nshapes; i++) {
        if (!sched_same_shape(&s->shapes[i].req, &a->req))
            continue;
        if (delta > 0)
            s->shapes[i].count++;
        else if (--s->shapes[i].count == 0)
            s->shapes[i] = s->shapes[--s->nshapes];
        return 0;
    }
    if (delta < 0)
        return 0;
    if (s->nshapes == s->capshapes) {
        size_t c = s->capshapes ? s->capshapes * 2 : 16;
        struct sched_shape *bigger = realloc(s->shapes, c * sizeof(*bigger));
        if (!bigger)
            return GPUCTL_ENOMEM;
        s->shapes = bigger;
        s->capshapes = c;
    }
    s->shapes[s->nshapes++] = (struct sched_shape){a->req, 1};
    return 0;
}

/* Adds queued a to the queue in its place. */
static int queue_add(struct sched *s, struct allocation *a)
{
    size_t at;
    int64_t deadline = sched_deadline(a);

    if (grow(&s->queue, s->nqueue, &s->capqueue) != 0 || count_shape(s, a, +1) != 0)
        return GPUCTL_ENOMEM;
    at = queue_slot(s, a);
    memmove(&s->queue[at + 1], &s->queue[at], (s->nqueue - at) * sizeof(*s->queue));
    s->queue[at] = a;
    s->nqueue++;
    if (deadline < s->next_deadline)
        s->next_deadline = deadline;
    return 0;
}

void sched_unqueue(struct sched *s, struct allocation *a)
{
    size_t at = queue_slot(s, a);

    if (at < s->nqueue && s->queue[at] == a) {
        remove_at(s->queue, &s->nqueue, at);
        count_shape(s, a, -1);
    }
}

int sched_room(struct sched *s)
{
    return grow(&s->active, s->nactive, &s->capactive);
}

int sched_activate(struct sched *s, struct allocation *a)
{
    if (sched_room(s) != 0)
        return GPUCTL_ENOMEM;
    sched_unqueue(s, a);
    s->active[s->nactive++] = a;
    return 0;
}

int sched_keep(struct sched *s, struct allocation *a)
{
    size_t at = s->nopen;

    if (grow(&s->open, s->nopen, &s->capopen) != 0)
        return GPUCTL_ENOMEM;
    while (at > 0 && s->open[at - 1]->id > a->id) /* ids come in order, but for recovery */
        at--;
    memmove(&s->open[at + 1], &s->open[at], (s->nopen - at) * sizeof(*s->open));
    s->open[at] = a;
    s->nopen++;
    if ((a->state == ALLOC_QUEUED && queue_add(s, a) != 0) ||
        (a->state == ALLOC_ACTIVE && sched_activate(s, a) != 0)) {
        remove_at(s->open, &s->nopen, at);
        return GPUCTL_ENOMEM;
    }
    return 0;
}

struct allocation *sched_find_open(struct sched *s, int64_t id)
{
    size_t lo = 0, hi = s->nopen;

    while (lo < hi) { /* open is sorted by id */
        size_t mid = (lo + hi) / 2;
        if (s->open[mid]->id == id)
            return s->open[mid];
        if (s->open[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void sched_forget(struct sched *s, struct allocation *a)
{
    sched_unqueue(s, a);
    for (size_t i = 0; i < s->nactive; i++) {
        if (s->active[i] == a) {
            s->active[i] = s->active[--s->nactive];
            break;
        }
    }
    for (size_t lo = 0, hi = s->nopen; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        if (s->open[mid] == a) {
            remove_at(s->open, &s->nopen, mid);
            break;
        }
        if (s->open[mid]->id < a->id)
            lo = mid + 1;
        else
            hi = mid;
    }
}

size_t sched_position(const struct sched *s, const struct allocation *a)
{
    size_t at = queue_slot(s, a);

    return at < s->nqueue && s->queue[at] == a ? at + 1 : 0;
}

int64_t sched_deadline(const struct allocation *a)
{
    if (a->req.wait_s < 0)
        return INT64_MAX;
    return a->created_ms + (int64_t)(a->req.wait_s * 1000.0);
}
