/* nvml_events.c: NVIDIA's XID and ECC events, from an NVML event set waited on in its own
 * thread (nvmlEventSetWait_v2). That thread owns the set and a copy of the handles it was made
 * for, so it never reads the slots that a refresh in another thread may rewrite. */
#include <stdint.h>
#include <stdlib.h>

#include "device/nvml_api.h"
#include "util/banned.h"
#include "util/log.h"

#define WANTED (NVML_EVENT_XID_CRITICAL | NVML_EVENT_DOUBLE_BIT_ECC | NVML_EVENT_SINGLE_BIT_ECC)

/* Registers one GPU for the events it supports. Returns whether it was registered. */
static bool register_gpu(struct nvml_state *s, struct nvml_device *h, const char *bus_id)
{
    unsigned long long supported = WANTED;

    if (s->api.supported_event_types && s->api.supported_event_types(h, &supported) != NVML_SUCCESS)
        supported = 0;
    if ((supported & WANTED) &&
        s->api.register_events(h, supported & WANTED, s->events) == NVML_SUCCESS)
        return true;
    log_debug("%s: registers for no NVML events", bus_id);
    return false;
}

/* Makes the event set and registers every GPU for the events it supports (a GPU that supports
 * none, or refuses, is left out). Returns 0, or GPUCTL_ENOLIB when no GPU can deliver any. */
static int make_event_set(struct nvml_state *s, struct devslot *const *slots, size_t n)
{
    unsigned registered = 0;

    s->no_events = true;
    if (!s->api.event_set_create || !s->api.register_events || !s->api.event_set_wait)
        return GPUCTL_ENOLIB;
    s->event_handles = calloc(n ? n : 1, sizeof(*s->event_handles));
    if (!s->event_handles || s->api.event_set_create(&s->events) != NVML_SUCCESS) {
        nvml_events_close(s);
        return GPUCTL_ENOLIB;
    }
    s->n_event_handles = n;
    for (size_t i = 0; i < n; i++) {
        s->event_handles[i] = slots[i]->handle;
        if (s->event_handles[i] && register_gpu(s, s->event_handles[i], slots[i]->dev.pci_bus_id))
            registered++;
    }
    if (registered == 0) {
        nvml_events_close(s);
        return GPUCTL_ENOLIB;
    }
    s->no_events = false;
    return 0;
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
        if (s->event_handles[i] == data->device)
            ev->device = i;
    if (data->event_type & NVML_EVENT_DOUBLE_BIT_ECC)
        ev->type = GPUCTL_EVENT_ECC_DBE;
    else if (data->event_type & NVML_EVENT_SINGLE_BIT_ECC)
        ev->type = GPUCTL_EVENT_ECC_SBE;
}

int nvml_wait_event(void *state, struct devslot *const *slots, size_t n, unsigned timeout_ms,
                    struct gpuctl_event *ev)
{
    struct nvml_state *s = state;
    struct nvml_event_data data = {0};
    int rc;

    if (s->no_events || (!s->events && make_event_set(s, slots, n) != 0))
        return GPUCTL_ENOLIB;
    rc = s->api.event_set_wait(s->events, &data, timeout_ms);
    if (rc == NVML_ERROR_TIMEOUT)
        return GPUCTL_ENOENT;
    if (rc == NVML_ERROR_GPU_IS_LOST) {
        /* The wait cannot say which GPU; the next refresh will. */
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
