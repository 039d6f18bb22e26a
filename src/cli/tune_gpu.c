/* tune_gpu.c: the GPU `gpuctl tune` runs its trials on: allocated by the daemon's scheduler
 * when one answers, so that the trials do not collide with other work, else chosen straight
 * from the device layer as `gpuctl env` chooses it; and its memory and utilization sampled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/tune.h"
#include "task/env.h"
#include "util/banned.h"
#include "util/str.h"

#define POLL_S 0.5

static void describe(struct tune_gpu *t, const struct gpuctl_device *d)
{
    t->dev = d;
    str_copy(t->device, d->device, sizeof(t->device));
    str_copy(t->name, d->name, sizeof(t->name));
    str_copy(t->uuid, d->uuid, sizeof(t->uuid));
}

/* No daemon: the best device as gpuctl select ranks them, with gpuctl env's variables. */
static int take_directly(struct cli *c, const char *device, struct tune_gpu *t)
{
    struct gpuctl_select_request req = {
        .count = 1, .device = device, .max_utilization_percent = GPUCTL_UTIL_ANY};
    struct gpuctl_selection *sel = malloc(sizeof(*sel));
    struct env_options o = {.rank = -1};
    struct env_gpu gpu = {0};
    const struct gpuctl_device *d;
    size_t n = 0; /* GPUs given: none for the CPU */
    json_t *env;
    int rc;

    if (!sel)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    rc = gpuctl_select(t->g, &req, sel);
    if (rc) {
        rc = cli_fail(c, rc == GPUCTL_EINVAL ? CLI_USAGE : CLI_UNAVAILABLE, "--device %s: %s",
                      device, sel->message);
        free(sel);
        return rc;
    }
    d = sel->devices[0];
    free(sel);
    describe(t, d);
    if (d->vendor != GPUCTL_VENDOR_CPU) {
        gpu = (struct env_gpu){.vendor = d->vendor, .physical_index = d->physical_index};
        str_copy(gpu.uuid, d->uuid, sizeof(gpu.uuid));
        n = 1;
    }
    o.precision = env_precision(&d, n);
    env = env_compose(&gpu, n, &o);
    if (!env)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    client_apply_env(env);
    json_decref(env);
    fprintf(stderr,
            "gpuctl tune: no gpuctl daemon answers; running on %s (%s) without a "
            "reservation\n",
            t->device, t->name);
    return CLI_OK;
}

static void pause_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

/* Waits while the allocation is queued. Returns it active, or NULL with *rc. */
static json_t *wait_turn(struct cli *c, struct tune_gpu *t, json_t *alloc,
                         volatile sig_atomic_t *stop, int *rc)
{
    char path[96];
    long status;
    bool said = false;

    snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld", t->allocation);
    while (alloc && strcmp(json_string_value(json_object_get(alloc, "state")), "queued") == 0) {
        if (!said)
            fprintf(stderr,
                    "gpuctl tune: waiting for a GPU from the daemon (place %lld in the "
                    "queue)\n",
                    (long long)json_integer_value(json_object_get(alloc, "queue_position")));
        said = true;
        json_decref(alloc);
        alloc = NULL;
        pause_s(POLL_S);
        if (*stop) {
            *rc = 128 + SIGINT;
            return NULL;
        }
        if (client_call(t->cl, "GET", path, NULL, &status, &alloc) != CLI_OK || status != 200) {
            *rc = cli_fail(c, CLI_UNAVAILABLE, "the daemon lost the request: %s",
                           client_error(alloc));
            json_decref(alloc);
            return NULL;
        }
    }
    if (!alloc || strcmp(json_string_value(json_object_get(alloc, "state")), "active") != 0) {
        const char *why = json_string_value(json_object_get(alloc, "reason"));
        *rc = cli_fail(c, CLI_UNAVAILABLE, "no GPU: %s", why ? why : "the request failed");
        json_decref(alloc);
        return NULL;
    }
    return alloc;
}

/* The daemon's scheduler: one GPU of kind training, held by this process. */
static int take_from_daemon(struct cli *c, const char *device, volatile sig_atomic_t *stop,
                            struct tune_gpu *t)
{
    json_t *req = json_pack("{s:i, s:s, s:s, s:i, s:s}", "gpu_count", 1, "device", device, "kind",
                            "training", "pid", (int)getpid(), "wait", "forever");
    json_t *alloc = NULL, *first;
    const char *mask = getenv("CUDA_VISIBLE_DEVICES"), *uuid;
    const struct gpuctl_device *d = NULL;
    long status;
    int rc;

    if (mask)
        json_object_set_new(req, "visible_devices", json_string(mask));
    rc = client_call(t->cl, "POST", "/api/v1/gpu/allocate", req, &status, &alloc);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    if (status != 200 && status != 202) {
        rc = cli_fail(c, client_exit_code(status), "%s", client_error(alloc));
        json_decref(alloc);
        return rc;
    }
    t->allocation = json_integer_value(json_object_get(alloc, "allocation_id"));
    if (!(alloc = wait_turn(c, t, alloc, stop, &rc)))
        return rc;
    first = json_array_get(json_object_get(alloc, "devices"), 0);
    uuid = json_string_value(json_object_get(first, "uuid"));
    if (uuid && gpuctl_device_find(t->g, uuid, &d, NULL, 0) == 0) {
        describe(t, d);
    } else { /* a GPU this process cannot see (a mask of its own) */
        const char *name = json_string_value(json_object_get(alloc, "device"));
        str_copy(t->device, name ? name : "?", sizeof(t->device));
    }
    client_apply_env(json_object_get(alloc, "env"));
    fprintf(stderr, "gpuctl tune: running on %s (%s), allocation %lld of the daemon\n", t->device,
            t->name, t->allocation);
    json_decref(alloc);
    return CLI_OK;
}

int tune_gpu_take(struct cli *c, const char *device, const char *daemon,
                  volatile sig_atomic_t *stop, struct tune_gpu *t)
{
    const char *named = daemon ? daemon : getenv("GPUCTL_DAEMON");
    int rc;

    memset(t, 0, sizeof(*t));
    c->open.flags |= GPUCTL_OPEN_NO_PROCESSES;
    rc = cli_open(c, &t->g);
    if (rc)
        return rc;
    if (named && *named)
        rc = client_open(c, daemon, &t->cl);
    else
        rc = client_try(c, &t->cl) == CLI_OK ? CLI_OK : -1;
    if (rc == -1)
        return take_directly(c, device, t);
    if (rc != CLI_OK)
        return rc;
    return take_from_daemon(c, device, stop, t);
}

void tune_gpu_sample(void *ctx, struct trial_sample *out)
{
    struct tune_gpu *t = ctx;
    const struct gpuctl_device *d = t->dev;

    if (!d || d->vendor == GPUCTL_VENDOR_CPU || gpuctl_refresh(t->g) != 0)
        return;
    if ((out->has_memory = gpuctl_device_has(d, GPUCTL_M_MEMORY_USED)))
        out->memory_used = d->memory_used_bytes;
    if ((out->has_util = gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)))
        out->util = d->utilization_gpu_percent;
}

void tune_gpu_release(struct tune_gpu *t)
{
    if (t->cl && t->allocation) {
        json_t *body = json_pack("{s:I}", "allocation_id", (json_int_t)t->allocation);
        json_t *reply = NULL;
        long status;
        if (client_call(t->cl, "POST", "/api/v1/gpu/release", body, &status, &reply) == CLI_OK &&
            status != 200)
            fprintf(stderr, "gpuctl tune: releasing allocation %lld: %s\n", t->allocation,
                    client_error(reply));
        json_decref(body);
        json_decref(reply);
    }
    client_close(t->cl);
    gpuctl_free(t->g);
    memset(t, 0, sizeof(*t));
}
