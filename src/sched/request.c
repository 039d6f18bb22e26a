/* request.c: requests for GPUs, from and to JSON. */
#include "sched/request.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/duration.h"
#include "util/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

const char request_fields[] =
    "gpu_count, gpu_type, memory_gb, gpu_memory_fraction, kind, priority, device, wait, "
    "fallback, framework, distributed_training, per_gpu, mixed_precision, visible_devices, pid";

static const struct {
    const char *name;
    enum framework f;
} frameworks[] = {{"torch", FRAMEWORK_TORCH},
                  {"pytorch", FRAMEWORK_TORCH},
                  {"tf", FRAMEWORK_TF},
                  {"tensorflow", FRAMEWORK_TF},
                  {"jax", FRAMEWORK_JAX}};

const char *framework_name(enum framework f)
{
    return f == FRAMEWORK_TORCH ? "torch"
           : f == FRAMEWORK_TF  ? "tf"
           : f == FRAMEWORK_JAX ? "jax"
                                : "";
}

int framework_parse(const char *s, enum framework *out)
{
    for (size_t i = 0; i < sizeof(frameworks) / sizeof(frameworks[0]); i++) {
        if (strcasecmp(s, frameworks[i].name) == 0) {
            *out = frameworks[i].f;
            return 0;
        }
    }
    return -1;
}

/* Reads one field into r; fails with a message that names it. */
typedef int (*field_fn)(const json_t *v, struct sched_request *r, char *msg, size_t len);

#define BAD(...) (snprintf(msg, len, __VA_ARGS__), GPUCTL_EINVAL)

static int f_count(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SCHED_MAX_GPUS)
        return BAD("gpu_count must be a whole number from 1 to %d", SCHED_MAX_GPUS);
    r->count = (unsigned)json_integer_value(v);
    return 0;
}

static int f_type(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_string(v) ||
        str_copy(r->gpu_type, json_string_value(v), sizeof(r->gpu_type)) >= sizeof(r->gpu_type))
        return BAD("gpu_type must be a model name such as \"A100\" (under %zu characters)",
                   sizeof(r->gpu_type));
    return 0;
}

static int f_memory(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    double gb = json_number_value(v);

    if (!json_is_number(v) || !isfinite(gb) || gb <= 0 || gb > 1e6)
        return BAD("memory_gb must be a number of GB (GiB) above 0, such as 16");
    r->memory = (uint64_t)(gb * GIB);
    return 0;
}

static int f_fraction(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    double f = json_number_value(v);

    if (!json_is_number(v) || !(f > 0 && f <= 1))
        return BAD("gpu_memory_fraction must be a number above 0 and at most 1, such as 0.5");
    r->fraction = f;
    return 0;
}

static int f_kind(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_string(v))
        return BAD("kind must be a text: training, inference or other");
    if (sched_kind_parse(json_string_value(v), &r->kind) != 0) {
        snprintf(msg, len, "unknown kind '%s': the kinds are training, inference and other",
                 json_string_value(v));
        return GPUCTL_EINVAL;
    }
    return 0;
}

static int f_priority(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_integer(v) || json_integer_value(v) < -1000 || json_integer_value(v) > 1000)
        return BAD("priority must be a whole number from -1000 to 1000 (higher goes first)");
    r->priority = (int)json_integer_value(v);
    return 0;
}

static int f_device(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_string(v) || !json_string_value(v)[0] ||
        str_copy(r->device, json_string_value(v), sizeof(r->device)) >= sizeof(r->device))
        return BAD("device must be auto, cuda, cuda:N, cpu or a GPU UUID");
    return 0;
}

static int f_wait(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    double s = json_number_value(v);

    if (json_is_string(v) && strcmp(json_string_value(v), "forever") == 0)
        s = -1;
    else if (json_is_string(v) && duration_parse(json_string_value(v), &s) != 0)
        return BAD("wait must be seconds, %s, or \"forever\"", duration_syntax);
    else if (!json_is_string(v) && (!json_is_number(v) || !isfinite(s) || s < 0))
        return BAD("wait must be seconds, %s, or \"forever\"", duration_syntax);
    r->wait_s = s;
    return 0;
}

static int f_fallback(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (json_is_null(v)) {
        r->fallback_cpu = false;
        return 0;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), "cpu") != 0)
        return BAD("fallback must be \"cpu\" (or null)");
    r->fallback_cpu = true;
    return 0;
}

static int f_framework(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_string(v) || framework_parse(json_string_value(v), &r->framework) != 0)
        return BAD("framework must be torch, tf or jax");
    return 0;
}

static int f_bool(const json_t *v, bool *out, const char *name, char *msg, size_t len)
{
    if (!json_is_boolean(v))
        return BAD("%s must be true or false", name);
    *out = json_is_true(v);
    return 0;
}

static int f_distributed(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    return f_bool(v, &r->distributed, "distributed_training", msg, len);
}

static int f_per_gpu(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    return f_bool(v, &r->per_gpu, "per_gpu", msg, len);
}

static int f_mixed(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    return f_bool(v, &r->mixed_precision, "mixed_precision", msg, len);
}

static int f_visible(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_string(v) ||
        str_copy(r->visible, json_string_value(v), sizeof(r->visible)) >= sizeof(r->visible))
        return BAD("visible_devices must be a CUDA_VISIBLE_DEVICES value (a text)");
    r->has_visible = true;
    return 0;
}

static int f_pid(const json_t *v, struct sched_request *r, char *msg, size_t len)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0x7fffffff)
        return BAD("pid must be a process id");
    r->pid = (int)json_integer_value(v);
    return 0;
}

static const struct {
    const char *name;
    field_fn read;
} fields[] = {
    {"gpu_count", f_count},
    {"gpu_type", f_type},
    {"memory_gb", f_memory},
    {"gpu_memory_fraction", f_fraction},
    {"kind", f_kind},
    {"priority", f_priority},
    {"device", f_device},
    {"wait", f_wait},
    {"fallback", f_fallback},
    {"framework", f_framework},
    {"distributed_training", f_distributed},
    {"per_gpu", f_per_gpu},
    {"mixed_precision", f_mixed},
    {"visible_devices", f_visible},
    {"pid", f_pid},
};

static bool listed(const char *key, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], key) == 0)
            return true;
    return false;
}

int request_from_json(const json_t *o, const char *const *extra, struct sched_request *r, char *msg,
                      size_t len)
{
    const char *key;
    json_t *v;

    *r = (struct sched_request){.count = 1, .kind = KIND_OTHER};
    str_copy(r->device, "auto", sizeof(r->device));
    if (!json_is_object(o))
        return BAD("the request must be a JSON object with %s", request_fields);
    json_object_foreach((json_t *)o, key, v)
    {
        size_t i = 0;
        while (i < sizeof(fields) / sizeof(fields[0]) && strcmp(fields[i].name, key) != 0)
            i++;
        if (i < sizeof(fields) / sizeof(fields[0])) {
            if (!json_is_null(v) || fields[i].read == f_fallback) {
                int rc = fields[i].read(v, r, msg, len);
                if (rc)
                    return rc;
            }
        } else if (!listed(key, extra)) {
            return BAD("unknown field '%s'; a request takes %s", key, request_fields);
        }
    }
    return 0;
}

json_t *request_to_json(const struct sched_request *r)
{
    /* What was not given stays out, so that the JSON reads back as the same request. */
    json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:b, s:b, s:b}", "gpu_count", (int)r->count, "kind",
                          sched_kind_name(r->kind), "priority", r->priority, "device", r->device,
                          "distributed_training", r->distributed, "per_gpu", r->per_gpu,
                          "mixed_precision", r->mixed_precision);

    if (!o)
        return NULL;
    if (r->gpu_type[0])
        json_object_set_new(o, "gpu_type", json_string(r->gpu_type));
    if (r->memory)
        json_object_set_new(o, "memory_gb", json_real((double)r->memory / GIB));
    if (r->fraction > 0)
        json_object_set_new(o, "gpu_memory_fraction", json_real(r->fraction));
    if (r->wait_s != 0)
        json_object_set_new(o, "wait",
                            r->wait_s < 0 ? json_string("forever") : json_real(r->wait_s));
    if (r->fallback_cpu)
        json_object_set_new(o, "fallback", json_string("cpu"));
    if (r->framework != FRAMEWORK_NONE)
        json_object_set_new(o, "framework", json_string(framework_name(r->framework)));
    if (r->has_visible)
        json_object_set_new(o, "visible_devices", json_string(r->visible));
    if (r->pid)
        json_object_set_new(o, "pid", json_integer(r->pid));
    return o;
}

struct sched_req request_for_policy(const struct sched_request *r, int64_t id)
{
    struct sched_req p = {
        .id = id, .count = r->count, .memory = r->memory, .fraction = r->fraction, .kind = r->kind};

    str_copy(p.gpu_type, r->gpu_type, sizeof(p.gpu_type));
    return p;
}
