/* events.c: monitor changes published as SSE messages. */
#include "api/events.h"

#include <stdlib.h>

#include "api/render.h"
#include "util/banned.h"

void events_changed(void *ctx, const struct snapshot *s, size_t dev, enum monitor_change what)
{
    struct events_ctx *e = ctx;
    json_t *o;
    char *text;

    if (dev >= render_gpu_count(s)) /* the CPU has no events */
        return;
    o = what == MONITOR_SAMPLE ? render_sample_event(s, dev) : render_health_event(s, e->cfg, dev);
    text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    if (text)
        feed_publish(e->feed, what == MONITOR_SAMPLE ? "sample" : "health", text);
    free(text);
    json_decref(o);
}
