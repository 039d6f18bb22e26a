/* advise.c: guide 004's settings from the machine, each rule a table or a short function. */
#include "tune/advise.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* A starting batch size by the GPU's memory: guide 004's 24, 16, 12 and 8 GB rows (64, 48, 32,
 * 16), extended both ways. A card's label is a little above what the driver reports (an
 * "80GB" A100 reports 79.2 GiB), hence the 10% slack. gpuctl tune finds the best size. */
static const struct tier {
    double gib;
    unsigned batch;
} tiers[] = {
    {80, 256}, {40, 128}, {24, 64}, {16, 48}, {12, 32}, {8, 16}, {4, 8}, {0, 4},
};

/* torch.compile's Triton backend: NVIDIA from compute capability 7.0; AMD's CDNA2, CDNA3 and
 * RDNA3 (ROCm's Triton). */
static const struct compile_rule {
    enum gpuctl_vendor vendor;
    int min_cc;       /* NVIDIA: major * 10 + minor; -1 for any */
    const char *arch; /* AMD: an architecture prefix; NULL for any */
    bool compile;
    const char *why;
} compile_rules[] = {
    {GPUCTL_VENDOR_NVIDIA, 70, NULL, true,
     "PyTorch 2's torch.compile (Triton) runs on compute capability 7.0 and newer"},
    {GPUCTL_VENDOR_NVIDIA, -1, NULL, false,
     "torch.compile's Triton backend needs compute capability 7.0 or newer"},
    {GPUCTL_VENDOR_AMD, -1, "gfx90a", true, "ROCm's Triton compiles for CDNA2"},
    {GPUCTL_VENDOR_AMD, -1, "gfx94", true, "ROCm's Triton compiles for CDNA3"},
    {GPUCTL_VENDOR_AMD, -1, "gfx11", true, "ROCm's Triton compiles for RDNA3"},
    {GPUCTL_VENDOR_AMD, -1, NULL, false, "ROCm's Triton does not support this architecture"},
    {GPUCTL_VENDOR_INTEL, -1, NULL, false, "torch.compile on xpu is still a preview"},
};

#define MAX_WORKERS    16          /* past this, workers mostly wait on one another */
#define RAM_PER_WORKER (2.0 * GIB) /* each worker holds its own copy of the dataset object */

static struct advise_setting *add(struct advice *a, const char *key, enum advise_type type)
{
    struct advise_setting *s = &a->settings[a->n++];

    memset(s, 0, sizeof(*s));
    s->key = key;
    s->type = type;
    return s;
}

static void batch_size(const struct advise_machine *m, struct advice *a)
{
    struct advise_setting *s = add(a, "batch_size", ADVISE_INT);
    bool known = m->gpu && gpuctl_device_has(m->gpu, GPUCTL_M_MEMORY_TOTAL);
    double gib = known ? m->gpu->memory_total_bytes / GIB : 0;

    if (!m->gpu) {
        s->number = 32;
        snprintf(s->why, sizeof(s->why), "training on the CPU: larger batches gain little");
        return;
    }
    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
        if (known && gib < tiers[i].gib * 0.9)
            continue;
        s->number = tiers[i].batch;
        break;
    }
    if (!known) {
        s->number = 16;
        snprintf(s->why, sizeof(s->why), "the GPU reports no memory size; a modest start");
        return;
    }
    snprintf(s->why, sizeof(s->why),
             "a start for %.0f GiB of GPU memory; `gpuctl tune` finds the fastest size", gib);
}

static unsigned workers(const struct advise_machine *m, struct advice *a)
{
    struct advise_setting *s = add(a, "num_workers", ADVISE_INT);
    unsigned gpus = m->gpus ? m->gpus : 1, per_gpu = m->cpu_threads / gpus, n;
    unsigned by_ram = m->ram_bytes ? (unsigned)(m->ram_bytes / RAM_PER_WORKER / gpus) : MAX_WORKERS;

    if (!m->cpu_threads) {
        s->number = 2;
        snprintf(s->why, sizeof(s->why), "the CPU count is unknown; 2 loaders overlap loading");
        return 2;
    }
    /* One CPU stays with the training process itself. */
    n = per_gpu > 1 ? per_gpu - 1 : 1;
    n = n > MAX_WORKERS ? MAX_WORKERS : n;
    n = n > by_ram ? (by_ram ? by_ram : 1) : n;
    s->number = n;
    snprintf(s->why, sizeof(s->why),
             "%u CPUs for %u GPU%s, one kept for the training process%s (at most %u)",
             m->cpu_threads, gpus, gpus == 1 ? "" : "s",
             n == by_ram && by_ram < per_gpu - 1 ? "; 2 GiB of RAM per worker" : "", MAX_WORKERS);
    return n;
}

static void loading(const struct advise_machine *m, struct advice *a, unsigned nworkers)
{
    struct advise_setting *s = add(a, "pin_memory", ADVISE_BOOL);
    bool cuda =
        m->gpu && (m->gpu->vendor == GPUCTL_VENDOR_NVIDIA || m->gpu->vendor == GPUCTL_VENDOR_AMD);
    bool tight = m->ram_bytes && m->ram_bytes < 16 * GIB;

    s->flag = cuda;
    snprintf(s->why, sizeof(s->why), "%s",
             cuda ? "page-locked batches copy to the GPU asynchronously and faster"
                  : "pinned memory helps only copies to a CUDA or ROCm GPU");
    s = add(a, "persistent_workers", ADVISE_BOOL);
    s->flag = nworkers > 0;
    snprintf(s->why, sizeof(s->why),
             "keeps the %u workers between epochs instead of forking them "
             "again",
             nworkers);
    s = add(a, "prefetch_factor", ADVISE_INT);
    s->number = tight ? 2 : 4;
    snprintf(s->why, sizeof(s->why), "%s",
             tight ? "batches each worker loads ahead; PyTorch's 2, as RAM is under 16 GiB"
                   : "batches each worker loads ahead (PyTorch's default is 2)");
}

static void precision(const struct advise_machine *m, struct advice *a)
{
    struct gpuctl_precision_advice p = {GPUCTL_PRECISION_32_TRUE, false,
                                        "CPUs train in full "
                                        "precision"};
    struct advise_setting *s;
    const char *name;

    if (m->gpu)
        gpuctl_precision_advise(m->gpu, &p);
    name = gpuctl_precision_name(p.precision) ? gpuctl_precision_name(p.precision) : "32-true";
    s = add(a, "use_mixed_precision", ADVISE_BOOL);
    s->flag = strcmp(name, "32-true") != 0;
    snprintf(s->why, sizeof(s->why), "%s", p.reason);
    s = add(a, "precision", ADVISE_STRING);
    s->text = name;
    snprintf(s->why, sizeof(s->why), "%s%s", p.reason,
             p.tf32 ? "; also set torch.backends.cuda.matmul.allow_tf32" : "");
}

static void compile(const struct advise_machine *m, struct advice *a)
{
    struct advise_setting *s = add(a, "compile_model", ADVISE_BOOL);
    const struct gpuctl_device *d = m->gpu;
    int cc = d && gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) ? d->cc_major * 10 + d->cc_minor
                                                                    : -1;

    snprintf(s->why, sizeof(s->why), "torch.compile gains little on the CPU for training");
    for (size_t i = 0; d && i < sizeof(compile_rules) / sizeof(compile_rules[0]); i++) {
        const struct compile_rule *r = &compile_rules[i];
        if (r->vendor != d->vendor || (r->min_cc >= 0 && cc < r->min_cc) ||
            (r->arch && strncmp(d->arch, r->arch, strlen(r->arch)) != 0))
            continue;
        s->flag = r->compile;
        snprintf(s->why, sizeof(s->why), "%s", r->why);
        break;
    }
}

void advise_compute(const struct advise_machine *m, struct advice *a)
{
    unsigned n;

    memset(a, 0, sizeof(*a));
    batch_size(m, a);
    n = workers(m, a);
    loading(m, a, n);
    precision(m, a);
    compile(m, a);
}

const char *advise_value(const struct advise_setting *s, char *buf, size_t len)
{
    if (s->type == ADVISE_INT)
        snprintf(buf, len, "%ld", s->number);
    else if (s->type == ADVISE_BOOL)
        snprintf(buf, len, "%s", s->flag ? "true" : "false");
    else
        snprintf(buf, len, "%s", s->text);
    return buf;
}

const struct advise_setting *advise_find(const struct advice *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->settings[i].key, key) == 0)
            return &a->settings[i];
    return NULL;
}
