/* nvml_events.c: NVIDIA's XID and ECC events, from an NVML event set waited on in its own
 * thread (nvmlEventSetWait_v2). That thread owns the set and a copy of the handles it was made
 * for, so it never reads the slots that a refresh in another thread may rewrite.
 *
 * While a registered GPU is lost, every wait fails at once with GPU_IS_LOST, which would silence
 * the others: the set is then dropped and made again without the GPUs that refuse to register,
 * and a set that left GPUs out is made again after REBUILD_MS in case they came back. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "device/nvml_api.h"
#include "util/banned.h"
#include "util/log.h"

#define WANTED     (NVML_EVENT_XID_CRITICAL | NVML_EVENT_DOUBLE_BIT_ECC | NVML_EVENT_SINGLE_BIT_ECC)
#define REBUILD_MS 60000

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Registers one GPU for the events it supports. Returns NVML_SUCCESS, NVML_ERROR_NOT_SUPPORTED
 * when it supports none, or NVML's error (GPU_IS_LOST, ...). */
static int register_gpu(struct nvml_state *s, struct nvml_device *h, const char *bus_id)
{
    unsigned long long supported = WANTED;
    int rc = NVML_SUCCESS;

    if (s->api.supported_event_types)
        rc = s->api.supported_event_types(h, &supported);
    if (rc == NVML_SUCCESS && !(supported & WANTED))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        rc = s->api.register_events(h, supported & WANTED, s->events);
    if (rc != NVML_SUCCESS)
        log_debug("%s: registers for no NVML events: %s", bus_id, nvml_errstr(s, rc));
    return rc;
}

/* Makes the event set and registers every GPU that can deliver events. Returns 0; GPUCTL_ENOLIB
 * when no GPU ever can (the library lacks event sets, or no GPU supports the events); GPUCTL_EIO
 * when none can now (all lost, say): try again later. */
static int make_event_set(struct nvml_state *s, struct devslot *const *slots, size_t n)
{
    unsigned registered = 0, transient = 0;

    if (!s->api.event_set_create || !s->api.register_events || !s->api.event_set_wait)
        return GPUCTL_ENOLIB;
    s->event_handles = calloc(n ? n : 1, sizeof(*s->event_handles));
    if (!s->event_handles || s->api.event_set_create(&s->events) != NVML_SUCCESS) {
        nvml_events_close(s);
        return GPUCTL_EIO;
    }
    s->n_event_handles = n;
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (!slots[i]->handle)
            continue;
        rc = register_gpu(s, slots[i]->handle, slots[i]->dev.pci_bus_id);
        if (rc == NVML_SUCCESS)
            s->event_handles[i] = slots[i]->handle;
        registered += rc == NVML_SUCCESS;
        transient += rc != NVML_SUCCESS && rc != NVML_ERROR_NOT_SUPPORTED;
    }
    s->events_partial = transient > 0;
    s->events_built_ms = mono_ms();
    if (registered == 0)
        nvml_events_close(s);
    return registered ? 0 : transient ? GPUCTL_EIO : GPUCTL_ENOLIB;
}

void nvml_events_close(struct nvml_state *s)
{
    if (s->events && s->api.event_set_free)
        s->api.event_set_free(s->events);
    s->events = NULL;
    free(s->event_handles);
    s->event_handles = NULL;
    s->n_event_handles = 0;
}

/* What NVML's event means to gpuctl. */
static void translate(const struct nvml_state *s, const struct nvml_event_data *data,
                      struct gpuctl_event *ev)
{
    *ev = (struct gpuctl_event){GPUCTL_EVENT_XID, SIZE_MAX, data->event_data};
    for (size_t i = 0; i < s->n_event_handles; i++)
        if (s->event_handles[i] && s->event_handles[i] == data->device)
            ev->device = i;
    if (data->event_type & NVML_EVENT_DOUBLE_BIT_ECC)
        ev->type = GPUCTL_EVENT_ECC_DBE;
    else if (data->event_type & NVML_EVENT_SINGLE_BIT_ECC)
        ev->type = GPUCTL_EVENT_ECC_SBE;
}

/* Makes the event set when there is none, or again when it left GPUs out a while ago. */
static int ensure_event_set(struct nvml_state *s, struct devslot *const *slots, size_t n)
{
    int rc;

    if (s->events && s->events_partial && mono_ms() - s->events_built_ms >= REBUILD_MS)
        nvml_events_close(s);
    if (s->events)
        return 0;
    rc = make_event_set(s, slots, n);
    if (rc == GPUCTL_ENOLIB)
        s->no_events = true;
    return rc;
}

int nvml_wait_event(void *state, struct devslot *const *slots, size_t n, unsigned timeout_ms,
                    struct gpuctl_event *ev)
{
    struct nvml_state *s = state;
    struct nvml_event_data data = {0};
    int rc;

    if (s->no_events)
        return GPUCTL_ENOLIB;
    rc = ensure_event_set(s, slots, n);
    if (rc)
        return rc;
    rc = s->api.event_set_wait(s->events, &data, timeout_ms);
    if (rc == NVML_ERROR_TIMEOUT)
        return GPUCTL_ENOENT;
    if (rc == NVML_ERROR_GPU_IS_LOST) {
        /* The wait cannot say which GPU; the next set leaves it out, the sampler names it. */
        nvml_events_close(s);
        *ev = (struct gpuctl_event){GPUCTL_EVENT_GPUS_LOST, SIZE_MAX, 0};
        return 0;
    }
    if (rc != NVML_SUCCESS) {
        log_warn("NVML event wait failed: %s (code %d)", nvml_errstr(s, rc), rc);
        return GPUCTL_EIO;
    }
    translate(s, &data, ev);
    return 0;
}
