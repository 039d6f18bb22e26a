/* alloc.c: names of the ledger's states, and freeing its records. */
#include "sched/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *const alloc_states[] = {"queued", "active", "released", "failed"};
static const char *const task_states[] = {"queued", "running", "succeeded", "failed", "cancelled"};

static int find(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *alloc_state_name(enum alloc_state s)
{
    return (unsigned)s < 4 ? alloc_states[s] : "failed";
}

int alloc_state_parse(const char *s, enum alloc_state *out)
{
    int i = find(alloc_states, 4, s);

    if (i < 0)
        return -1;
    *out = (enum alloc_state)i;
    return 0;
}

const char *task_state_name(enum task_state s)
{
    return (unsigned)s < 5 ? task_states[s] : "failed";
}

int task_state_parse(const char *s, enum task_state *out)
{
    int i = find(task_states, 5, s);

    if (i < 0)
        return -1;
    *out = (enum task_state)i;
    return 0;
}

void alloc_release(struct allocation *a)
{
    free(a->dev);
    a->dev = NULL;
    a->ndev = 0;
}

void task_release(struct task *t)
{
    free(t->argv_json);
    free(t->env_json);
    t->argv_json = t->env_json = NULL;
}
