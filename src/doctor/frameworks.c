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
    char py[300];              /* the interpreter, quoted for a shell when it needs it */
    enum gpuctl_vendor target; /* the vendor a GPU build is for; CPU: no GPU here */
};

/* Writes s as one shell word: as is when it is made of safe characters, else single-quoted. */
static void shell_quote(const char *s, char *out, size_t len)
{
    if (*s &&
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-=:,@%") ==
            strlen(s)) {
        str_copy(out, s, len);
        return;
    }
    str_copy(out, "'", len);
    for (; *s; s++)
        str_appendf(out, len, *s == '\'' ? "'\\''" : "%c", *s);
    str_appendf(out, len, "'");
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The vendor frameworks should use: NVIDIA over AMD over Intel, discrete GPUs over integrated
 * ones; CPU when there is no GPU to build for. */
static enum gpuctl_vendor target_vendor(const struct doctor_machine *m)
{
    for (int v = 0; v < GPUCTL_VENDOR_CPU; v++)
        if (m->gpu_works[v] && !doctor_only_integrated(m, (enum gpuctl_vendor)v))
            return (enum gpuctl_vendor)v;
    for (size_t i = 0; i < m->npci; i++)
        if (m->pci[i].vendor == GPUCTL_VENDOR_NVIDIA)
            return GPUCTL_VENDOR_NVIDIA;
    for (size_t i = 0; i < m->npci; i++)
        if (m->pci[i].vendor == GPUCTL_VENDOR_AMD && !doctor_only_integrated(m, GPUCTL_VENDOR_AMD))
            return GPUCTL_VENDOR_AMD;
    return GPUCTL_VENDOR_CPU;
}

/* The highest CUDA the NVIDIA driver runs: NVML's answer, else the kernel module's version read
 * against the table; 0 when neither says. */
static int known_driver_cuda(const struct doctor_machine *m)
{
    if (m->driver_cuda || !m->module_version[0])
        return m->driver_cuda;
    return compat_cuda_of_driver(m->module_version, m->wsl);
}

/* The same, else that of the driver doctor recommends (the newest CUDA major's floor). */
static int driver_cuda(const struct doctor_machine *m)
{
    int cuda = known_driver_cuda(m);

    return cuda ? cuda : torch_wheels[0].cuda / 1000 * 1000;
}

static const struct torch_wheel *nvidia_wheel(const struct ctx *x)
{
    static const int turing = 75; /* when no GPU answered: what every current wheel has */
    const struct doctor_machine *m = x->m;

    return m->nccs ? compat_torch_pick(driver_cuda(m), m->ccs, m->nccs)
                   : compat_torch_pick(driver_cuda(m), &turing, 1);
}

static const char *floor_of(const struct ctx *x, int cuda)
{
    const char *floor = compat_driver_floor(cuda, x->m->wsl);

    return floor ? floor : "the newest";
}

/* Writes the commands that replace the installed torch with `tag`'s build: an uninstall first,
 * since pip takes "2.5.1+cpu" as satisfying "torch". An older release is pinned, alone (its
 * torchvision would need a matching pin). */
static void torch_install(const struct ctx *x, const json_t *rep, const char *release,
                          const char *tag, char *out, size_t len)
{
    bool newest = !release || strcmp(release, torch_wheels[0].release) == 0;
    char pkgs[128] = "torch";

    if (jstr(rep, "torchvision"))
        str_appendf(pkgs, sizeof(pkgs), " torchvision");
    if (jstr(rep, "torchaudio"))
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

/* The fix for a torch that is not built for this machine's GPUs. */
static void torch_rebuild_fix(const struct ctx *x, const json_t *rep, char *out, size_t len)
{
    const struct doctor_machine *m = x->m;
    const struct torch_wheel *w;
    char archs[128];

    if (x->target != GPUCTL_VENDOR_NVIDIA) {
        torch_install(x, rep, NULL, torch_vendor_index[x->target], out, len);
        return;
    }
    w = nvidia_wheel(x);
    if (!w && m->nccs) {
        w = compat_torch_newest(m->ccs, m->nccs);
        if (w)
            str_appendf(out, len, "upgrade the NVIDIA driver to %s or newer, then ",
                        floor_of(x, w->cuda));
    }
    if (!w) {
        doctor_ccs_text(m, archs, sizeof(archs));
        str_appendf(out, len,
                    "no PyTorch wheel has all of %s: give each program GPUs of one generation "
                    "(CUDA_VISIBLE_DEVICES), or use one Python environment per generation",
                    archs);
        return;
    }
    if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA])
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
    int drv = known_driver_cuda(m);
    const char *drv_name = m->nvidia_driver ? m->nvidia_driver : m->module_version;
    const struct gpuctl *gpus = m->seen && gpuctl_gpu_count(m->seen) ? m->seen : m->all;
    char archs[256], have[16];

    arch_names(json_object_get(rep, "arch_list"), archs, sizeof(archs));
    if (!archs[0] && row)
        str_copy(archs, row->archs, sizeof(archs));
    if (drv && cuda && !compat_driver_runs(drv, cuda)) {
        const struct torch_wheel *w = nvidia_wheel(x);

        compat_cuda_format(drv, have, sizeof(have));
        c->status = DOCTOR_FAIL;
        snprintf(c->finding, sizeof(c->finding),
                 "torch %s is built for CUDA %s, but driver %s runs CUDA up to %s: "
                 "torch.cuda.is_available() is False",
                 version, cuda_text, drv_name, have);
        snprintf(c->fix, sizeof(c->fix),
                 "upgrade the NVIDIA driver to at least %s (CUDA %d.x; %s or newer runs every "
                 "current wheel)",
                 floor_of(x, cuda), cuda / 1000, floor_of(x, torch_wheels[0].cuda));
        if (w) {
            str_appendf(c->fix, sizeof(c->fix), ", or install a wheel this driver runs: ");
            torch_install(x, rep, w->release, w->tag, c->fix, sizeof(c->fix));
        }
        return;
    }
    for (size_t i = 0; archs[0] && gpus && i < gpuctl_device_count(gpus); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(gpus, i);

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

/* What a torch wheel is built for, from torch.version and the version's local label. */
enum torch_build { BUILD_CPU, BUILD_CUDA, BUILD_ROCM, BUILD_XPU };

static const struct {
    enum gpuctl_vendor vendor;
    const char *what;
} builds[] = {
    [BUILD_CPU] = {GPUCTL_VENDOR_CPU, "a CPU-only build (torch.version.cuda is None)"},
    [BUILD_CUDA] = {GPUCTL_VENDOR_NVIDIA, "a CUDA build"},
    [BUILD_ROCM] = {GPUCTL_VENDOR_AMD, "a ROCm build"},
    [BUILD_XPU] = {GPUCTL_VENDOR_INTEL, "an XPU (Intel GPU) build"},
};

static const char *const vendor_words[] = {"NVIDIA", "AMD", "Intel", NULL};

static enum torch_build torch_build_of(const json_t *rep, const char *version)
{
    if (strstr(version, "+cpu"))
        return BUILD_CPU;
    if (strstr(version, "+xpu"))
        return BUILD_XPU;
    if (jstr(rep, "hip"))
        return BUILD_ROCM;
    return jstr(rep, "cuda") ? BUILD_CUDA : BUILD_CPU;
}

/* A ROCm or XPU build on its own vendor's GPU: does it see one? */
static void torch_vendor_build(const struct ctx *x, const json_t *rep, enum torch_build b,
                               const char *version, struct doctor_check *c)
{
    const char *api = b == BUILD_XPU ? "torch.xpu.is_available()" : "torch.cuda.is_available()";
    bool yes = json_is_true(json_object_get(rep, b == BUILD_XPU ? "xpu_available" : "available"));

    snprintf(c->finding, sizeof(c->finding), "torch %s (%s): %s is %s", version, builds[b].what,
             api, yes ? "True" : "False");
    if (yes)
        return;
    c->status = x->m->gpu_works[builds[b].vendor] ? DOCTOR_FAIL : DOCTOR_WARN;
    snprintf(c->fix, sizeof(c->fix),
             "see the checks above; then %s -c 'import torch; print(%s)' with the runtime's "
             "own logging (AMD_LOG_LEVEL=3, ZE_DEBUG=1) shows why",
             x->py, api);
}

static void check_torch(const struct ctx *x, const json_t *rep, struct doctor_check *c)
{
    const char *version = jstr(rep, "version") ? jstr(rep, "version") : "?";
    enum torch_build b = torch_build_of(rep, version);
    enum gpuctl_vendor mine = builds[b].vendor;

    if (b == BUILD_CUDA && (mine == x->target || x->m->gpu_works[mine])) {
        torch_cuda_build(x, rep, c);
        return;
    }
    if (b != BUILD_CPU && (mine == x->target || x->m->gpu_works[mine])) {
        torch_vendor_build(x, rep, b, version, c);
        return;
    }
    snprintf(c->finding, sizeof(c->finding), "torch %s is %s", version, builds[b].what);
    if (x->target == GPUCTL_VENDOR_CPU) {
        str_appendf(c->finding, sizeof(c->finding), "; this machine has no GPU for it");
        return;
    }
    c->status = x->m->gpu_works[x->target] ? DOCTOR_FAIL : DOCTOR_WARN;
    str_appendf(c->finding, sizeof(c->finding), ": it cannot use the %s GPU",
                vendor_words[x->target]);
    torch_rebuild_fix(x, rep, c->fix, sizeof(c->fix));
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
        c->status = DOCTOR_WARN; /* vendor builds are separate projects: advice, not a fault */
        snprintf(c->fix, sizeof(c->fix), "TensorFlow uses %s GPUs through a vendor build: %s",
                 vendor_words[x->target],
                 x->target == GPUCTL_VENDOR_AMD
                     ? "see AMD's ROCm TensorFlow containers"
                     : "pip install 'intel-extension-for-tensorflow[xpu]'");
    } else if (m->hidden[GPUCTL_VENDOR_NVIDIA]) {
        snprintf(c->fix, sizeof(c->fix), "unset CUDA_VISIBLE_DEVICES (see visibility)");
    } else if (cuda && m->driver_cuda && !compat_driver_runs(m->driver_cuda, cuda)) {
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA %d.x)",
                 floor_of(x, cuda), cuda / 1000);
    } else if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA]) {
        snprintf(c->fix, sizeof(c->fix), "fix the driver first (see the checks above)");
    } else if (wheel) {
        snprintf(c->fix, sizeof(c->fix),
                 "%s -m pip install '%s' (the CUDA libraries TensorFlow loads come as pip "
                 "packages; Linux, TensorFlow 2.14 or newer)",
                 x->py, wheel);
    } else {
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA 12.x)",
                 floor_of(x, 12000));
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
        c->status = DOCTOR_WARN; /* JAX has no Intel GPU build on PyPI: nothing to fix */
    else if (m->hidden[GPUCTL_VENDOR_NVIDIA])
        snprintf(c->fix, sizeof(c->fix), "unset CUDA_VISIBLE_DEVICES (see visibility)");
    else if (!m->gpu_works[GPUCTL_VENDOR_NVIDIA])
        snprintf(c->fix, sizeof(c->fix), "fix the driver first (see the checks above)");
    else if (wheel)
        snprintf(c->fix, sizeof(c->fix), "%s -m pip install -U '%s'", x->py, wheel);
    else
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to at least %s (CUDA 12.x)",
                 floor_of(x, 12000));
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

    str_copy(c->python, x->p->python, sizeof(c->python));
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
    struct ctx x = {m, p, "", target_vendor(m)};
    struct doctor_check *c;

    shell_quote(p->python, x.py, sizeof(x.py));
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
        } else if (jstr(rep, "error") && !json_is_true(json_object_get(rep, "imported"))) {
            c = add_for(r, &x, frameworks[i].name, DOCTOR_FAIL);
            snprintf(c->finding, sizeof(c->finding), "import %s fails: %s", frameworks[i].name,
                     jstr(rep, "error"));
            snprintf(c->fix, sizeof(c->fix), "reinstall it: %s -m pip install --force-reinstall %s",
                     x.py, frameworks[i].name);
        } else if (jstr(rep, "error")) { /* imported, then asking for its devices failed */
            c = add_for(r, &x, frameworks[i].name, DOCTOR_FAIL);
            snprintf(c->finding, sizeof(c->finding),
                     "%s imports, but asking for its GPUs fails: %s", frameworks[i].name,
                     jstr(rep, "error"));
            snprintf(c->fix, sizeof(c->fix),
                     "see the checks above; the error is the GPU runtime's (out of memory: other "
                     "jobs hold the GPU)");
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
        const char *dev = d->vendor == GPUCTL_VENDOR_INTEL ? "xpu" : "cuda";
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
        /* bf16 where the GPU has it, else fp16: half the activation memory either way, which
         * on a small GPU matters more than fp16's speed (none without tensor cores). */
        if (adv.precision == GPUCTL_PRECISION_BF16_MIXED)
            str_appendf(c->fix, sizeof(c->fix),
                        "train in bf16, which halves activation memory (torch.autocast('%s', "
                        "dtype=torch.bfloat16), Lightning precision='bf16-mixed'; %s%s)",
                        dev, cc, adv.reason);
        else
            str_appendf(c->fix, sizeof(c->fix),
                        "train in fp16 with a GradScaler, which halves activation memory "
                        "(torch.autocast('%s', dtype=torch.float16) with torch.amp.GradScaler, "
                        "Lightning precision='16-mixed'; %s%s)",
                        dev, cc, adv.reason);
        str_appendf(c->fix, sizeof(c->fix),
                    "; accumulate gradients for a larger effective batch, and turn on gradient "
                    "checkpointing for large models");
    }
}
