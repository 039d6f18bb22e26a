/* frameworks.c: what one interpreter's frameworks see, against what the machine has: the
 * diagnoses, each with the exact command that fixes it. */
#include <stdio.h>
#include <string.h>

#include "doctor/compat.h"
#include "doctor/doctor.h"
#include "doctor/probe.h"
#include "util/banned.h"
#include "util/size.h"
#include "util/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* What a framework diagnosis needs. */
struct ctx {
    const struct doctor_machine *m;
    const struct probe_result *p;
    const char *py;                  /* the interpreter, for commands */
    const struct gpuctl_device *gpu; /* the oldest NVIDIA GPU; NULL when none answered */
    enum gpuctl_vendor target;       /* the vendor a GPU build is for; CPU: no GPU here */
};

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The vendor frameworks should use: NVIDIA over AMD over Intel; CPU when there is no GPU. */
static enum gpuctl_vendor target_vendor(const struct doctor_machine *m)
{
    for (int v = 0; v < GPUCTL_VENDOR_CPU; v++)
        if (m->gpu_works[v])
            return (enum gpuctl_vendor)v;
    for (size_t i = 0; i < m->npci; i++)
        if (m->pci[i].vendor == GPUCTL_VENDOR_NVIDIA)
            return GPUCTL_VENDOR_NVIDIA;
    return m->npci ? m->pci[0].vendor : GPUCTL_VENDOR_CPU;
}

static const struct gpuctl_device *oldest_gpu(const struct doctor_machine *m)
{
    const struct gpuctl_device *best = NULL;

    for (size_t i = 0; m->all && i < gpuctl_device_count(m->all); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(m->all, i);

        if (d->vendor == GPUCTL_VENDOR_NVIDIA &&
            gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) &&
            (!best || d->cc_major * 10 + d->cc_minor < best->cc_major * 10 + best->cc_minor))
            best = d;
    }
    return best;
}

/* The wheel to install for the NVIDIA GPUs: for the driver when it answers, else the newest. */
static const struct torch_wheel *nvidia_wheel(const struct ctx *x)
{
    int major = x->gpu ? x->gpu->cc_major : 7, minor = x->gpu ? x->gpu->cc_minor : 5;

    /* Without a driver, for the one doctor recommends: the oldest of the newest CUDA major. */
    return compat_torch_pick(
        x->m->driver_cuda ? x->m->driver_cuda : torch_wheels[0].cuda / 1000 * 1000, major, minor);
}

/* Writes the commands that replace the installed torch with `tag`'s build: an uninstall first,
 * since pip takes "2.5.1+cpu" as satisfying "torch". An older release is pinned, alone (its
 * torchvision would need pinning too). */
static void torch_install(const struct ctx *x, const json_t *rep, const char *release,
                          const char *tag, char *out, size_t len)
{
    bool newest = !release || strcmp(release, torch_wheels[0].release) == 0;
    char pkgs[128] = "torch";

    if (newest && jstr(rep, "torchvision"))
        str_appendf(pkgs, sizeof(pkgs), " torchvision");
    if (newest && jstr(rep, "torchaudio"))
        str_appendf(pkgs, sizeof(pkgs), " torchaudio");
    str_appendf(out, len, "%s -m pip uninstall -y %s && %s -m pip install ", x->py, pkgs, x->py);
    if (newest)
        str_appendf(out, len, "%s", pkgs);
    else
        str_appendf(out, len, "'torch==%s.*'", release);
    str_appendf(out, len, " --index-url %s%s", torch_index_url, tag);
}

static const char verify[] = "; then check: %s -c 'import torch; print(torch.version.cuda, "
                             "torch.cuda.is_available(), torch.cuda.get_device_capability(0))'";

/* The fix for a torch that is not built for this machine's GPU. */
static void torch_rebuild_fix(const struct ctx *x, const json_t *rep, char *out, size_t len)
{
    const struct torch_wheel *w;

    if (x->target != GPUCTL_VENDOR_NVIDIA) {
        torch_install(x, rep, NULL, torch_vendor_index[x->target], out, len);
        return;
    }
    w = nvidia_wheel(x);
    if (!w) {
        w = x->gpu ? compat_torch_newest(x->gpu->cc_major, x->gpu->cc_minor) : NULL;
        if (w)
            str_appendf(out, len, "upgrade the NVIDIA driver to %s or newer, then ",
                        compat_driver_floor(w->cuda, x->m->wsl));
    }
    if (!w) {
        str_appendf(out, len, "no PyTorch wheel gpuctl knows runs on this GPU");
        return;
    }
    if (!x->m->gpu_works[GPUCTL_VENDOR_NVIDIA])
        str_appendf(out, len, "once the driver works (see above): ");
    torch_install(x, rep, w->release, w->tag, out, len);
    str_appendf(out, len, verify, x->py);
}

static void arch_names(const json_t *list, char *out, size_t len)
{
    size_t i;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(list, i, v) if (json_is_string(v))
        str_appendf(out, len, "%s%s", *out ? " " : "", json_string_value(v));
}

/* A CUDA build: the driver it needs, the architectures it has, whether CUDA answered. */
static void torch_cuda_build(const struct ctx *x, const json_t *rep, struct doctor_check *c)
{
    const char *version = jstr(rep, "version"), *cuda_text = jstr(rep, "cuda");
    int cuda = compat_cuda_parse(cuda_text);
    const struct doctor_machine *m = x->m;
    const struct torch_wheel *row = compat_torch_installed(version, cuda);
    char archs[256], have[16];

    arch_names(json_object_get(rep, "arch_list"), archs, sizeof(archs));
    if (!archs[0] && row)
        str_copy(archs, row->archs, sizeof(archs));
    if (m->driver_cuda && cuda && !compat_driver_runs(m->driver_cuda, cuda)) {
        const struct torch_wheel *w = nvidia_wheel(x);

        compat_cuda_format(m->driver_cuda, have, sizeof(have));
        c->status = DOCTOR_FAIL;
        snprintf(c->finding, sizeof(c->finding),
                 "torch %s is built for CUDA %s, but driver %s runs CUDA up to %s: "
                 "torch.cuda.is_available() is False",
                 version, cuda_text, m->nvidia_driver, have);
        snprintf(c->fix, sizeof(c->fix),
                 "upgrade the NVIDIA driver to at least %s (CUDA %d.x; %s or newer runs every "
                 "current wheel)",
                 compat_driver_floor(cuda, m->wsl), cuda / 1000,
                 compat_driver_floor(torch_wheels[0].cuda, m->wsl));
        if (w) {
            str_appendf(c->fix, sizeof(c->fix), ", or install a wheel this driver runs: ");
            torch_install(x, rep, w->release, w->tag, c->fix, sizeof(c->fix));
        }
        return;
    }
    for (size_t i = 0; archs[0] && m->all && i < gpuctl_device_count(m->all); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(m->all, i);

        if (d->vendor != GPUCTL_VENDOR_NVIDIA ||
            !gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) ||
            compat_arch_runs(archs, d->cc_major, d->cc_minor))
            continue;
        c->status = DOCTOR_FAIL;
        snprintf(c->finding, sizeof(c->finding),
                 "torch %s has no code for the %s (sm_%d%d): it is built for %s", version, d->name,
                 d->cc_major, d->cc_minor, archs);
        torch_rebuild_fix(x, rep, c->fix, sizeof(c->fix));
        return;
    }
    if (json_is_true(json_object_get(rep, "available"))) {
        c->status = DOCTOR_OK;
        snprintf(c->finding, sizeof(c->finding),
                 "torch %s: CUDA %s build, torch.cuda.is_available() is True, %lld GPU%s", version,
                 cuda_text, (long long)json_integer_value(json_object_get(rep, "device_count")),
                 json_integer_value(json_object_get(rep, "device_count")) == 1 ? "" : "s");
        if (archs[0])
            str_appendf(c->finding, sizeof(c->finding), "; built for %s", archs);
        return;
    }
    c->status = DOCTOR_FAIL;
    snprintf(c->finding, sizeof(c->finding),
             "torch %s (CUDA %s build): torch.cuda.is_available() "
             "is False",
             version, cuda_text);
    if (m->hidden[GPUCTL_VENDOR_NVIDIA]) {
        str_appendf(c->finding, sizeof(c->finding), ": %s hides every GPU",
                    m->hidden_by[GPUCTL_VENDOR_NVIDIA]);
        snprintf(c->fix, sizeof(c->fix), "unset CUDA_VISIBLE_DEVICES (see visibility)");
        return;
    }
    if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA]) {
        c->status = DOCTOR_WARN;
        snprintf(c->fix, sizeof(c->fix), "fix the driver first (see the checks above)");
        return;
    }
    if (json_array_size(json_object_get(rep, "warnings")))
        str_appendf(c->finding, sizeof(c->finding), "; torch says: %s",
                    json_string_value(json_array_get(json_object_get(rep, "warnings"), 0)));
    snprintf(c->fix, sizeof(c->fix),
             "see CUDA's own error: %s -c 'import torch; torch.cuda.init()'", x->py);
}

static void check_torch(const struct ctx *x, const json_t *rep, struct doctor_check *c)
{
    const char *version = jstr(rep, "version") ? jstr(rep, "version") : "?";
    bool cpu_build = (!jstr(rep, "cuda") && !jstr(rep, "hip") && !strstr(version, "+xpu")) ||
                     strstr(version, "+cpu");
    const char *gpu = x->target == GPUCTL_VENDOR_CPU      ? NULL
                      : x->target == GPUCTL_VENDOR_NVIDIA ? "NVIDIA"
                      : x->target == GPUCTL_VENDOR_AMD    ? "AMD"
                                                          : "Intel";

    if (x->target == GPUCTL_VENDOR_INTEL && json_is_true(json_object_get(rep, "xpu_available"))) {
        snprintf(c->finding, sizeof(c->finding), "torch %s: torch.xpu.is_available() is True",
                 version);
        return;
    }
    if (cpu_build || (jstr(rep, "hip") && x->target == GPUCTL_VENDOR_NVIDIA) ||
        (jstr(rep, "cuda") && x->target == GPUCTL_VENDOR_AMD)) {
        snprintf(c->finding, sizeof(c->finding), "torch %s is %s", version,
                 cpu_build          ? "a CPU-only build (torch.version.cuda is None)"
                 : jstr(rep, "hip") ? "a ROCm build"
                                    : "a CUDA build");
        if (!gpu) {
            str_appendf(c->finding, sizeof(c->finding), "; this machine has no GPU for it");
            return;
        }
        c->status = x->m->gpu_works[x->target] ? DOCTOR_FAIL : DOCTOR_WARN;
        str_appendf(c->finding, sizeof(c->finding), ": it cannot use the %s GPU", gpu);
        torch_rebuild_fix(x, rep, c->fix, sizeof(c->fix));
        return;
    }
    if (x->target == GPUCTL_VENDOR_NVIDIA) {
        torch_cuda_build(x, rep, c);
        return;
    }
    c->status = json_is_true(json_object_get(rep, "available")) || !gpu ? DOCTOR_OK : DOCTOR_FAIL;
    snprintf(c->finding, sizeof(c->finding), "torch %s: torch.cuda.is_available() is %s", version,
             json_is_true(json_object_get(rep, "available")) ? "True" : "False");
    if (c->status == DOCTOR_FAIL)
        snprintf(c->fix, sizeof(c->fix),
                 "see the checks above; then %s -c 'import torch; "
                 "torch.cuda.init()' shows the runtime's own error",
                 x->py);
}

static void check_tensorflow(const struct ctx *x, const json_t *rep, struct doctor_check *c)
{
    const char *version = jstr(rep, "version") ? jstr(rep, "version") : "?";
    const char *cuda_text = jstr(rep, "cuda");
    size_t gpus = json_array_size(json_object_get(rep, "gpus"));
    int cuda = compat_cuda_parse(cuda_text);
    const struct doctor_machine *m = x->m;
    const char *wheel = compat_framework_gpu_wheel("tensorflow", m->driver_cuda);

    snprintf(c->finding, sizeof(c->finding), "tensorflow %s sees %zu GPU%s", version, gpus,
             gpus == 1 ? "" : "s");
    if (cuda_text)
        str_appendf(c->finding, sizeof(c->finding), " (built for CUDA %s)", cuda_text);
    if (gpus || x->target == GPUCTL_VENDOR_CPU)
        return;
    c->status = m->gpu_works[x->target] ? DOCTOR_FAIL : DOCTOR_WARN;
    if (x->target != GPUCTL_VENDOR_NVIDIA) {
        snprintf(c->fix, sizeof(c->fix), "TensorFlow uses %s GPUs through a vendor build: %s",
                 x->target == GPUCTL_VENDOR_AMD ? "AMD" : "Intel",
                 x->target == GPUCTL_VENDOR_AMD
                     ? "pip install tensorflow-rocm"
                     : "pip install intel-extension-for-tensorflow[xpu]");
    } else if (m->hidden[GPUCTL_VENDOR_NVIDIA]) {
        snprintf(c->fix, sizeof(c->fix), "unset CUDA_VISIBLE_DEVICES (see visibility)");
    } else if (cuda && m->driver_cuda && !compat_driver_runs(m->driver_cuda, cuda)) {
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA %d.x)",
                 compat_driver_floor(cuda, m->wsl), cuda / 1000);
    } else if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA]) {
        snprintf(c->fix, sizeof(c->fix), "fix the driver first (see the checks above)");
    } else if (wheel) {
        snprintf(c->fix, sizeof(c->fix),
                 "%s -m pip install '%s' (the CUDA libraries TensorFlow loads come as pip "
                 "packages; Linux, TensorFlow 2.14 or newer)",
                 x->py, wheel);
    } else {
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA 12.x)",
                 compat_driver_floor(12000, m->wsl));
    }
}

static void check_jax(const struct ctx *x, const json_t *rep, struct doctor_check *c)
{
    const char *version = jstr(rep, "version") ? jstr(rep, "version") : "?";
    const char *backend = jstr(rep, "backend") ? jstr(rep, "backend") : "?";
    const struct doctor_machine *m = x->m;
    const char *wheel = compat_framework_gpu_wheel("jax", m->driver_cuda);

    snprintf(c->finding, sizeof(c->finding), "jax %s runs on %s (%zu device%s)", version, backend,
             json_array_size(json_object_get(rep, "devices")),
             json_array_size(json_object_get(rep, "devices")) == 1 ? "" : "s");
    if (strcmp(backend, "cpu") != 0 || x->target == GPUCTL_VENDOR_CPU)
        return;
    c->status = m->gpu_works[x->target] ? DOCTOR_FAIL : DOCTOR_WARN;
    if (x->target == GPUCTL_VENDOR_AMD)
        snprintf(c->fix, sizeof(c->fix), "%s -m pip install -U 'jax[rocm]'", x->py);
    else if (x->target != GPUCTL_VENDOR_NVIDIA)
        snprintf(c->fix, sizeof(c->fix), "JAX has no Intel GPU build on PyPI; it runs on the CPU");
    else if (m->hidden[GPUCTL_VENDOR_NVIDIA])
        snprintf(c->fix, sizeof(c->fix), "unset CUDA_VISIBLE_DEVICES (see visibility)");
    else if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA])
        snprintf(c->fix, sizeof(c->fix), "fix the driver first (see the checks above)");
    else if (wheel)
        snprintf(c->fix, sizeof(c->fix), "%s -m pip install -U '%s'", x->py, wheel);
    else
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA 12.x)",
                 compat_driver_floor(12000, m->wsl));
}

static const struct framework {
    const char *name;
    void (*check)(const struct ctx *x, const json_t *rep, struct doctor_check *c);
} frameworks[] = {
    {"torch", check_torch},
    {"tensorflow", check_tensorflow},
    {"jax", check_jax},
};

static struct doctor_check *add_for(struct doctor_report *r, const struct ctx *x, const char *id,
                                    enum doctor_status st)
{
    struct doctor_check *c = doctor_add(r, id, st);

    str_copy(c->python, x->py, sizeof(c->python));
    return c;
}

/* A framework the script did not report on: where the interpreter stopped. */
static void check_unreported(const struct ctx *x, const char *name, struct doctor_report *r)
{
    const struct probe_result *p = x->p;
    struct doctor_check *c;

    if (strcmp(p->stopped_in, name) != 0) {
        c = add_for(r, x, name, DOCTOR_SKIP);
        snprintf(c->finding, sizeof(c->finding), "not checked: the interpreter stopped earlier");
        return;
    }
    c = add_for(r, x, name, DOCTOR_FAIL);
    if (p->state == PROBE_HUNG) {
        snprintf(c->finding, sizeof(c->finding), "import %s hung: no answer within %.0f s (killed)",
                 name, p->seconds);
        snprintf(c->fix, sizeof(c->fix),
                 "see where it stops: %s -X importtime -c 'import %s' (a slow network file "
                 "system, a CUDA library waiting on the driver, a lock); or allow more time with "
                 "--timeout",
                 x->py, name);
        return;
    }
    str_appendf(c->finding, sizeof(c->finding), "import %s crashed the interpreter: %s%s%s", name,
                p->message, p->stderr_tail[0] ? "; stderr ends: " : "", p->stderr_tail);
    snprintf(c->fix, sizeof(c->fix), "reinstall it: %s -m pip install --force-reinstall %s", x->py,
             name);
}

void doctor_check_python(const struct doctor_machine *m, const struct probe_result *p,
                         struct doctor_report *r)
{
    struct ctx x = {m, p, p->python, oldest_gpu(m), target_vendor(m)};
    struct doctor_check *c;

    if (!p->header) {
        c = add_for(r, &x, "python", DOCTOR_FAIL);
        str_appendf(c->finding, sizeof(c->finding), "%s%s%s",
                    p->message[0] ? p->message : "it printed nothing gpuctl understands",
                    p->stderr_tail[0] ? "; stderr ends: " : "", p->stderr_tail);
        snprintf(c->fix, sizeof(c->fix), "name a working interpreter with --python PATH");
        return;
    }
    c = add_for(r, &x, "python", DOCTOR_OK);
    str_appendf(c->finding, sizeof(c->finding), "Python %s (%s, prefix %s)",
                jstr(p->header, "python"),
                jstr(p->header, "executable") ? jstr(p->header, "executable") : p->python,
                jstr(p->header, "prefix") ? jstr(p->header, "prefix") : "?");
    for (size_t i = 0; i < sizeof(frameworks) / sizeof(frameworks[0]); i++) {
        const json_t *rep = json_object_get(p->frameworks, frameworks[i].name);

        if (!rep) {
            check_unreported(&x, frameworks[i].name, r);
        } else if (!json_is_true(json_object_get(rep, "installed"))) {
            c = add_for(r, &x, frameworks[i].name, DOCTOR_SKIP);
            str_copy(c->finding, "not installed", sizeof(c->finding));
        } else if (jstr(rep, "error")) {
            c = add_for(r, &x, frameworks[i].name, DOCTOR_FAIL);
            snprintf(c->finding, sizeof(c->finding), "import %s fails: %s", frameworks[i].name,
                     jstr(rep, "error"));
            snprintf(c->fix, sizeof(c->fix), "reinstall it: %s -m pip install --force-reinstall %s",
                     x.py, frameworks[i].name);
        } else {
            frameworks[i].check(&x, rep, add_for(r, &x, frameworks[i].name, DOCTOR_OK));
        }
    }
}

void doctor_check_memory(const struct doctor_machine *m, struct doctor_report *r)
{
    for (size_t i = 0; m->all && i < gpuctl_device_count(m->all); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(m->all, i);
        struct gpuctl_precision_advice adv;
        struct doctor_check *c;
        char size[32], cc[40] = "";
        double gib;

        if (d->vendor == GPUCTL_VENDOR_CPU || d->integrated ||
            !gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) ||
            d->memory_total_bytes > 6 * (uint64_t)GIB)
            continue;
        gib = (double)d->memory_total_bytes / GIB;
        gpuctl_precision_advise(d, &adv);
        c = doctor_add(r, "memory", DOCTOR_WARN);
        snprintf(c->finding, sizeof(c->finding), "%s %s has %s: a small GPU for training",
                 d->device, d->name, size_format(d->memory_total_bytes, size, sizeof(size)));
        snprintf(c->fix, sizeof(c->fix),
                 "start at batch size %s and let 'gpuctl tune' find the "
                 "largest that fits; ",
                 gib <= 4.5 ? "8-16" : "16-32");
        if (gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY))
            snprintf(cc, sizeof(cc), "compute capability %d.%d: ", d->cc_major, d->cc_minor);
        if (adv.precision == GPUCTL_PRECISION_BF16_MIXED)
            str_appendf(c->fix, sizeof(c->fix),
                        "train in bf16, which halves activation memory (torch.autocast('cuda', "
                        "dtype=torch.bfloat16), Lightning precision='bf16-mixed'; %s%s)",
                        cc, adv.reason);
        else if (adv.precision == GPUCTL_PRECISION_16_MIXED)
            str_appendf(c->fix, sizeof(c->fix),
                        "train in fp16 with a GradScaler, which halves activation memory "
                        "(torch.autocast('cuda', dtype=torch.float16) with torch.amp.GradScaler, "
                        "Lightning precision='16-mixed'; %s%s)",
                        cc, adv.reason);
        else
            str_appendf(c->fix, sizeof(c->fix), "keep fp32: %s", adv.reason);
        str_appendf(c->fix, sizeof(c->fix),
                    "; accumulate gradients for a larger effective batch, and turn on gradient "
                    "checkpointing for large models");
    }
}
