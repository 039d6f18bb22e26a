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
    return a->count == b->count && a->fraction == b->fraction && a->kind == b->kind &&
           (a->memory == 0) == (b->memory == 0) && a->has_visible == b->has_visible &&
           strcmp(a->gpu_type, b->gpu_type) == 0 && strcmp(a->device, b->device) == 0 &&
           (!a->has_visible || strcmp(a->visible, b->visible) == 0);
}

/* FNV-1a over what sched_same_shape() compares, so that most comparisons are of one number. */
static uint64_t shape_hash(const struct sched_request *r)
{
    uint64_t h = 14695981039346656037ull;
    const char *texts[] = {r->gpu_type, r->device, r->has_visible ? r->visible : ""};
    unsigned nums[] = {r->count, (unsigned)r->kind, (unsigned)r->has_visible,
                       (unsigned)(r->fraction * 1e6), (unsigned)(r->memory == 0)};

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        h = (h ^ nums[i]) * 1099511628211ull;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        for (const char *c = texts[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return h;
}

/* Counts queued a under its shape, which keeps the least memory asked under it. A shape keeps
 * its slot while any queued allocation has it; an empty slot is taken by the next new shape. */
static int add_shape(struct sched *s, struct allocation *a)
{
    uint64_t hash = shape_hash(&a->req);
    size_t i, empty = SIZE_MAX;

    for (i = 0; i < s->nshapes; i++) {
        if (s->shapes[i].count == 0 && empty == SIZE_MAX)
            empty = i;
        if (s->shapes[i].count && s->shapes[i].hash == hash &&
            sched_same_shape(&s->shapes[i].key, &a->req))
            break;
    }
    if (i < s->nshapes) {
        s->shapes[i].count++;
        if (a->req.memory < s->shapes[i].min_memory)
            s->shapes[i].min_memory = a->req.memory;
        a->shape = i;
        return 0;
    }
    if (empty == SIZE_MAX && s->nshapes == s->capshapes) {
        size_t c = s->capshapes ? s->capshapes * 2 : 16;
        struct sched_shape *bigger = realloc(s->shapes, c * sizeof(*bigger));
        if (!bigger)
            return GPUCTL_ENOMEM;
        s->shapes = bigger;
        s->capshapes = c;
    }
    a->shape = empty != SIZE_MAX ? empty : s->nshapes++;
    s->shapes[a->shape] = (struct sched_shape){a->req, hash, 1, a->req.memory};
    return 0;
}

/* Uncounts a, which leaves the queue; trailing empty slots go. */
static void drop_shape(struct sched *s, const struct allocation *a)
{
    s->shapes[a->shape].count--;
    while (s->nshapes > 0 && s->shapes[s->nshapes - 1].count == 0)
        s->nshapes--;
}

/* Adds queued a to the queue in its place. */
static int queue_add(struct sched *s, struct allocation *a)
{
    size_t at;
    int64_t deadline = sched_deadline(a);

    if (grow(&s->queue, s->nqueue, &s->capqueue) != 0 || add_shape(s, a) != 0)
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
        drop_shape(s, a);
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
    atomic_fetch_add(&s->active_changes, 1);
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
    s->nholders += a->pid > 0;
    if ((a->state == ALLOC_QUEUED && queue_add(s, a) != 0) ||
        (a->state == ALLOC_ACTIVE && sched_activate(s, a) != 0)) {
        remove_at(s->open, &s->nopen, at);
        s->nholders -= a->pid > 0;
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
            atomic_fetch_add(&s->active_changes, 1);
            break;
        }
    }
    for (size_t lo = 0, hi = s->nopen; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        if (s->open[mid] == a) {
            remove_at(s->open, &s->nopen, mid);
            s->nholders -= a->pid > 0;
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
    double wait_ms = a->req.wait_s * 1000.0;

    if (a->req.wait_s < 0 || wait_ms >= (double)(INT64_MAX - a->created_ms))
        return INT64_MAX; /* for ever, or as good as */
    return a->created_ms + (int64_t)wait_ms;
}
