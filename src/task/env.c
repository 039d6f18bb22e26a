/* env.c: a program's environment for the GPUs it was given. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "task/env.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/str.h"

/* The masks each runtime reads, and those that would narrow them further. */
static const struct {
    enum gpuctl_vendor vendor;
    const char *mask;
    const char *narrowing[2]; /* unset when this vendor's GPUs are given */
} masks[] = {
    {GPUCTL_VENDOR_NVIDIA, "CUDA_VISIBLE_DEVICES", {NULL, NULL}},
    {GPUCTL_VENDOR_AMD, "ROCR_VISIBLE_DEVICES", {"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}},
    {GPUCTL_VENDOR_INTEL, "ZE_AFFINITY_MASK", {NULL, NULL}},
};

/* The comma list of vendor's GPUs among gpus, as indices or UUIDs. */
static void list_of(const struct env_gpu *gpus, size_t n, enum gpuctl_vendor vendor, bool uuids,
                    struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (gpus[i].vendor != vendor)
            continue;
        if (out->len)
            buf_add(out, ",", 1);
        /* Intel GPUs, and AMD ones without a unique id, have their PCI slot for a UUID, which
         * no runtime's mask takes: those go by index. */
        if (uuids &&
            (str_starts_with(gpus[i].uuid, "GPU-") || str_starts_with(gpus[i].uuid, "MIG-")))
            buf_printf(out, "%s", gpus[i].uuid);
        else
            buf_printf(out, "%d", gpus[i].physical_index);
    }
}

/* Sets each runtime's mask: the GPUs given of its vendor, or none. */
static void set_masks(json_t *env, const struct env_gpu *gpus, size_t n, bool uuids)
{
    bool nvidia = false;

    for (size_t v = 0; v < sizeof(masks) / sizeof(masks[0]); v++) {
        struct buf list = BUF_INIT;
        list_of(gpus, n, masks[v].vendor, uuids, &list);
        /* An empty CUDA_VISIBLE_DEVICES or ROCR_VISIBLE_DEVICES hides every GPU; an empty
         * ZE_AFFINITY_MASK hides none, so Level Zero's is set only for Intel GPUs given. */
        if (list.len || masks[v].vendor != GPUCTL_VENDOR_INTEL)
            json_object_set_new(env, masks[v].mask, json_string(list.data ? list.data : ""));
        if (masks[v].vendor == GPUCTL_VENDOR_NVIDIA)
            nvidia = list.len > 0;
        for (size_t k = 0; list.len && k < 2; k++)
            if (masks[v].narrowing[k] &&
                !(nvidia && strcmp(masks[v].narrowing[k], "CUDA_VISIBLE_DEVICES") == 0))
                json_object_set_new(env, masks[v].narrowing[k], json_null());
        buf_release(&list);
    }
    json_object_set_new(env, "CUDA_DEVICE_ORDER", json_string("PCI_BUS_ID"));
}

/* The share of its GPU a JAX process may take: the reservation over the smallest GPU given. */
static double jax_fraction(const struct env_gpu *gpus, size_t n, double fraction)
{
    double share = fraction;

    for (size_t i = 0; fraction <= 0 && i < n; i++) {
        double f = gpus[i].total ? (double)gpus[i].memory / (double)gpus[i].total : 0;
        if (gpus[i].memory && (share <= 0 || f > share))
            share = f;
    }
    return share > 1 ? 1 : share;
}

static void set_framework(json_t *env, const struct env_gpu *gpus, size_t n,
                          const struct env_options *o)
{
    char text[32];
    double share;

    switch (o->framework) {
    case FRAMEWORK_TORCH:
        json_object_set_new(env, "PYTORCH_CUDA_ALLOC_CONF",
                            json_string("expandable_segments:True"));
        break;
    case FRAMEWORK_TF:
        json_object_set_new(env, "TF_FORCE_GPU_ALLOW_GROWTH", json_string("true"));
        break;
    case FRAMEWORK_JAX:
        json_object_set_new(env, "XLA_PYTHON_CLIENT_PREALLOCATE", json_string("false"));
        share = jax_fraction(gpus, n, o->fraction);
        if (share > 0) {
            snprintf(text, sizeof(text), "%.2f", share);
            json_object_set_new(env, "XLA_PYTHON_CLIENT_MEM_FRACTION", json_string(text));
        }
        break;
    case FRAMEWORK_NONE:
        break;
    }
}

static void set_distributed(json_t *env, size_t n, const struct env_options *o)
{
    char text[24];
    size_t world = n ? n : 1;

    if (!o->distributed && o->rank < 0)
        return;
    json_object_set_new(env, "MASTER_ADDR", json_string("127.0.0.1"));
    snprintf(text, sizeof(text), "%d", o->master_port ? o->master_port : env_free_port());
    json_object_set_new(env, "MASTER_PORT", json_string(text));
    snprintf(text, sizeof(text), "%zu", world);
    json_object_set_new(env, "WORLD_SIZE", json_string(text));
    json_object_set_new(env, "LOCAL_WORLD_SIZE", json_string(text));
    if (o->rank >= 0) {
        snprintf(text, sizeof(text), "%d", o->rank);
        json_object_set_new(env, "RANK", json_string(text));
        json_object_set_new(env, "LOCAL_RANK", json_string(text));
    }
}

json_t *env_compose(const struct env_gpu *gpus, size_t n, const struct env_options *o)
{
    json_t *env = json_object();
    struct buf ids = BUF_INIT;

    if (!env)
        return NULL;
    set_masks(env, gpus, n, o->use_uuids);
    for (size_t i = 0; i < n; i++)
        buf_printf(&ids, "%s%s", i ? "," : "", gpus[i].uuid);
    json_object_set_new(env, "GPUCTL_GPUS", json_string(ids.data ? ids.data : ""));
    buf_release(&ids);
    set_framework(env, gpus, n, o);
    if (o->precision)
        json_object_set_new(env, "GPUCTL_PRECISION", json_string(o->precision));
    set_distributed(env, n, o);
    return env;
}

const char *env_precision(const struct gpuctl_device *const *devs, size_t n)
{
    enum gpuctl_precision low = n ? GPUCTL_PRECISION_BF16_MIXED : GPUCTL_PRECISION_32_TRUE;

    for (size_t k = 0; k < n; k++) {
        struct gpuctl_precision_advice adv;
        gpuctl_precision_advise(devs[k], &adv);
        if (adv.precision == GPUCTL_PRECISION_UNKNOWN)
            adv.precision = GPUCTL_PRECISION_32_TRUE;
        if (adv.precision < low)
            low = adv.precision;
    }
    return gpuctl_precision_name(low);
}

int env_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = 29500;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Writes s single-quoted for a POSIX shell. */
static void quoted(const char *s, FILE *out)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

void env_print_shell(const json_t *env, FILE *out)
{
    const char *name;
    json_t *value;

    json_object_foreach((json_t *)env, name, value)
    {
        if (json_is_null(value)) {
            fprintf(out, "unset %s\n", name);
            continue;
        }
        fprintf(out, "export %s=", name);
        quoted(json_string_value(value), out);
        fputc('\n', out);
    }
}
