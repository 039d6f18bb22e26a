/* amdgpu.c: the AMD backend: GPUs bound to amdgpu, read from sysfs, hwmon, the KFD topology and
 * DRM fdinfo; nothing from ROCm is needed (Documentation/gpu/amdgpu/). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/drm.h"
#include "device/sysfs.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

#define AMD_VENDOR 0x1002

/* Names and architectures of common parts, for cards without a product_name file (consumer
 * boards have no FRU EEPROM) and kernels without a KFD topology. From libdrm's amdgpu.ids. */
static const struct amd_part {
    unsigned device;
    const char *name;
    const char *arch;
} amd_parts[] = {
    {0x744c, "AMD Radeon RX 7900 XTX", "gfx1100"},
    {0x7448, "AMD Radeon PRO W7900", "gfx1100"},
    {0x7480, "AMD Radeon RX 7600", "gfx1102"},
    {0x73bf, "AMD Radeon RX 6900 XT", "gfx1030"},
    {0x73df, "AMD Radeon RX 6700 XT", "gfx1031"},
    {0x7408, "AMD Instinct MI250X", "gfx90a"},
    {0x740c, "AMD Instinct MI250X / MI250", "gfx90a"},
    {0x740f, "AMD Instinct MI210", "gfx90a"},
    {0x738c, "AMD Instinct MI100", "gfx908"},
    {0x66a1, "AMD Instinct MI60 / MI50", "gfx906"},
    {0x74a1, "AMD Instinct MI300X", "gfx942"},
    {0x74a0, "AMD Instinct MI300A", "gfx942"},
    {0x74a5, "AMD Instinct MI325X", "gfx942"},
    {0x15bf, "AMD Radeon 780M / 760M / 740M Graphics", "gfx1103"},
    {0x1900, "AMD Radeon 780M / 760M Graphics", "gfx1103"},
    {0x150e, "AMD Radeon 890M Graphics", "gfx1150"},
};

/* What the backend keeps per card: the card, and which of its sensor files exist, learned once
 * so that a refresh reads only values. */
struct amd_dev {
    struct drm_card card;
    char temp_edge[16], temp_junction[16]; /* "temp1_input", or "" without that sensor */
    const char *power;                     /* "power1_average", "power1_input" or NULL */
    bool has_fan, has_pwm;
    unsigned pwm_max; /* 1-255 when has_pwm */
};

struct amd_state {
    const char *sysfs;
    unsigned flags;
    struct amd_dev *devs;
    size_t n;
    bool board_info_kernel; /* the kernel is 6.7 or later: amdgpu has board_info */
};

static const struct amd_part *find_part(unsigned device)
{
    for (size_t i = 0; i < sizeof(amd_parts) / sizeof(amd_parts[0]); i++)
        if (amd_parts[i].device == device)
            return &amd_parts[i];
    return NULL;
}

/* gfx_target_version (major * 10000 + minor * 100 + stepping) as the target name: 90010 is
 * gfx90a, 110000 gfx1100 (kfd_device.c). */
static void gfx_name(unsigned long v, char *buf, size_t len)
{
    snprintf(buf, len, "gfx%u%x%x", (unsigned)(v / 10000 % 100), (unsigned)(v / 100 % 100),
             (unsigned)(v % 100));
}

/* Reads "key value" from a KFD properties text. */
static bool kfd_property(const char *props, const char *key, unsigned long *out)
{
    size_t klen = strlen(key);

    for (const char *line = props; line && *line;) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return sscanf(line + klen + 1, "%lu", out) == 1;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

/* Finds the card's KFD node (domain and location_id = bus << 8 | devfn) and takes its gfx
 * target; *apu is set when the node has CPU cores and SIMDs both, as the ACPI CRAT describes an
 * APU on kernels before 6.5. */
static void read_kfd(const char *root, struct gpuctl_device *d, const struct pci_addr *pci,
                     bool *apu)
{
    char path[1100], rel[160], props[4096];
    unsigned long domain, location, gfx, cpus, simds;
    struct dirent *e;
    DIR *dir;

    if (fs_join(path, sizeof(path), root, "class/kfd/kfd/topology/nodes") != 0)
        return;
    dir = opendir(path);
    if (!dir)
        return;
    while ((e = readdir(dir))) {
        snprintf(rel, sizeof(rel), "class/kfd/kfd/topology/nodes/%.32s", e->d_name);
        if (e->d_name[0] == '.' || !sysfs_str(root, rel, "properties", props, sizeof(props)) ||
            !kfd_property(props, "domain", &domain) ||
            !kfd_property(props, "location_id", &location) || domain != pci->domain ||
            (location & 0xffff) != (pci->bus << 8 | pci->device << 3 | pci->function))
            continue;
        if (kfd_property(props, "gfx_target_version", &gfx) && gfx)
            gfx_name(gfx, d->arch, sizeof(d->arch));
        *apu = kfd_property(props, "cpu_cores_count", &cpus) &&
               kfd_property(props, "simd_count", &simds) && cpus > 0 && simds > 0;
        break;
    }
    closedir(dir);
}

/* Parses a pp_dpm_* table ("0: 500Mhz", "1: 1700Mhz *", "S: 19Mhz *"): the level marked '*' is
 * the current clock, the highest the maximum. Returns false when no line parses. */
static bool dpm_clocks(const char *root, const char *dir, const char *file, unsigned *cur,
                       unsigned *max, bool *has_cur)
{
    char text[1024];
    bool any = false;

    *has_cur = false;
    *max = 0;
    if (!sysfs_str(root, dir, file, text, sizeof(text)))
        return false;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n'), *colon = strchr(line, ':'), *end;
        unsigned long mhz;
        if (nl)
            *nl = '\0';
        errno = 0;
        mhz = colon ? strtoul(colon + 1, &end, 10) : 0;
        if (colon && end != colon + 1 && (errno == ERANGE || mhz > UINT_MAX)) {
            log_debug("%s/%s: '%.40s' is no clock; reading the table as unknown", dir, file, line);
            return false;
        }
        if (colon && end != colon + 1 && strncasecmp(end, "Mhz", 3) == 0) {
            any = true;
            *max = mhz > *max ? (unsigned)mhz : *max;
            if (strchr(end, '*')) {
                *cur = (unsigned)mhz;
                *has_cur = true;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return any;
}

/* Finds the card's sensors by their labels (edge, junction, mem) and files. */
static void find_sensors(const char *root, struct amd_dev *a)
{
    char name[24], label[24];
    uint64_t pwm_max = 0;

    if (!a->card.hwmon[0])
        return; /* some laptops and the MI250 have no hwmon */
    for (int i = 1; i <= 4; i++) {
        snprintf(name, sizeof(name), "temp%d_label", i);
        if (!sysfs_str(root, a->card.hwmon, name, label, sizeof(label)))
            str_copy(label, i == 1 ? "edge" : "", sizeof(label));
        snprintf(name, sizeof(name), "temp%d_input", i);
        if (strcmp(label, "edge") == 0 && sysfs_exists(root, a->card.hwmon, name))
            str_copy(a->temp_edge, name, sizeof(a->temp_edge));
        else if (strcmp(label, "junction") == 0 && sysfs_exists(root, a->card.hwmon, name))
            str_copy(a->temp_junction, name, sizeof(a->temp_junction));
    }
    a->power = sysfs_exists(root, a->card.hwmon, "power1_average") ? "power1_average"
               : sysfs_exists(root, a->card.hwmon, "power1_input") ? "power1_input"
                                                                   : NULL;
    a->has_fan = sysfs_exists(root, a->card.hwmon, "fan1_input");
    /* hwmon's pwm runs 0-255; another maximum is garbage and would overflow the percentage. */
    a->has_pwm = sysfs_u64(root, a->card.hwmon, "pwm1_max", &pwm_max) && pwm_max > 0 &&
                 pwm_max <= 255 && sysfs_exists(root, a->card.hwmon, "pwm1");
    a->pwm_max = (unsigned)pwm_max;
}

/*
 * Whether the GPU is an APU, from the signals that cannot mislead: a KFD node with CPU cores and
 * SIMDs (kernels before 6.5; since the IOMMUv2 path went, KFD gives an APU's GPU a node of its
 * own, with no CPU cores); board_info, which amdgpu (6.7 and later) hides on APUs and only there
 * (AMD_IS_APU, the flag ROCr reads as "Integrated" through AMDGPU_IDS_FLAGS_FUSION), so present it
 * means discrete and absent on such a kernel an APU. Else unknown: 6.5 and 6.6 give no sign.
 */
static void read_integrated(const struct amd_state *s, const struct amd_dev *a, bool kfd_apu,
                            struct gpuctl_device *d)
{
    if (kfd_apu)
        DEV_SET(d, integrated, GPUCTL_M_INTEGRATED, true);
    else if (sysfs_exists(s->sysfs, a->card.device, "board_info"))
        DEV_SET(d, integrated, GPUCTL_M_INTEGRATED, false);
    else if (s->board_info_kernel)
        DEV_SET(d, integrated, GPUCTL_M_INTEGRATED, true);
}

/* Whether the running kernel (<procfs>/sys/kernel/osrelease, "6.8.0-45-generic") is major.minor
 * or later; false when it does not say. */
static bool kernel_at_least(const char *procfs, unsigned major, unsigned minor)
{
    char release[128];
    unsigned ma, mi;

    if (fs_read(procfs, "sys/kernel/osrelease", release, sizeof(release)) != 0 ||
        sscanf(release, "%u.%u", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static void read_identity(const struct amd_state *s, struct amd_dev *a, struct gpuctl_device *d)
{
    uint64_t total;
    const struct amd_part *part = find_part(a->card.device_id);
    char id[40];
    unsigned cur, max;
    bool has_cur, kfd_apu = false;

    d->vendor = GPUCTL_VENDOR_AMD;
    str_copy(d->pci_bus_id, a->card.slot, sizeof(d->pci_bus_id));
    if (!sysfs_str(s->sysfs, a->card.device, "product_name", d->name, sizeof(d->name))) {
        if (part)
            str_copy(d->name, part->name, sizeof(d->name));
        else
            snprintf(d->name, sizeof(d->name), "AMD GPU 0x%04x", a->card.device_id);
    }
    /* ROCm names a GPU "GPU-" and its unique_id in capitals; without one, the PCI address. */
    if (sysfs_str(s->sysfs, a->card.device, "unique_id", id, sizeof(id))) {
        snprintf(d->uuid, sizeof(d->uuid), "GPU-%s", id);
        for (char *p = d->uuid + 4; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    } else {
        str_copy(d->uuid, a->card.slot, sizeof(d->uuid));
    }
    read_kfd(s->sysfs, d, &a->card.pci, &kfd_apu);
    read_integrated(s, a, kfd_apu, d);
    if (!d->arch[0] && part)
        str_copy(d->arch, part->arch, sizeof(d->arch));
    if (dpm_clocks(s->sysfs, a->card.device, "pp_dpm_sclk", &cur, &max, &has_cur))
        DEV_SET(d, clock_sm_max_mhz, GPUCTL_M_CLOCK_SM_MAX, max);
    if (dpm_clocks(s->sysfs, a->card.device, "pp_dpm_mclk", &cur, &max, &has_cur))
        DEV_SET(d, clock_mem_max_mhz, GPUCTL_M_CLOCK_MEM_MAX, max);
    if (sysfs_u64(s->sysfs, a->card.device, "mem_info_vram_total", &total))
        DEV_SET(d, memory_total_bytes, GPUCTL_M_MEMORY_TOTAL, total);
    find_sensors(s->sysfs, a);
}

static int amd_open(const struct backend_env *env, struct gpuctl_system *sys, void **state,
                    struct gpuctl_backend_status *st)
{
    static const char *const drivers[] = {"amdgpu", NULL};
    struct amd_state *s = calloc(1, sizeof(*s));
    struct drm_card *cards = NULL;
    size_t n = 0;
    int ret;

    (void)sys;
    if (!s)
        return GPUCTL_ENOMEM;
    ret = drm_cards(env->sysfs_root, AMD_VENDOR, drivers, &cards, &n);
    (void)st; /* no AMD GPU is nothing to explain */
    if (ret || n == 0) {
        free(s);
        free(cards);
        return ret ? ret : GPUCTL_ENODEV;
    }
    s->sysfs = env->sysfs_root;
    s->flags = env->flags;
    s->n = n;
    s->board_info_kernel = kernel_at_least(env->procfs_root, 6, 7);
    s->devs = calloc(n, sizeof(*s->devs));
    if (!s->devs) {
        free(cards);
        free(s);
        return GPUCTL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        s->devs[i].card = cards[i];
    free(cards);
    *state = s;
    return 0;
}

static int amd_enumerate(void *state, struct devlist *out)
{
    struct amd_state *s = state;

    for (size_t i = 0; i < s->n; i++) {
        struct devslot *slot = devlist_add(out);
        if (!slot)
            return GPUCTL_ENOMEM;
        slot->handle = &s->devs[i];
        read_identity(s, &s->devs[i], &slot->dev);
    }
    return 0;
}

/* Millidegrees from the edge and junction sensors. */
static void read_temperatures(const char *root, const struct amd_dev *a, struct gpuctl_device *d)
{
    int c;

    if (a->temp_edge[0] && sysfs_celsius(root, a->card.hwmon, a->temp_edge, &c))
        DEV_SET(d, temperature_c, GPUCTL_M_TEMPERATURE, c);
    if (a->temp_junction[0] && sysfs_celsius(root, a->card.hwmon, a->temp_junction, &c))
        DEV_SET(d, temperature_junction_c, GPUCTL_M_TEMPERATURE_JUNCTION, c);
    if (!gpuctl_device_has(d, GPUCTL_M_TEMPERATURE) &&
        gpuctl_device_has(d, GPUCTL_M_TEMPERATURE_JUNCTION)) /* MI300 hides edge */
        DEV_SET(d, temperature_c, GPUCTL_M_TEMPERATURE, d->temperature_junction_c);
}

/* Power (power1_average, else power1_input) and its cap, in µW; fan duty and speed. */
static void read_power_and_fan(const char *root, const struct amd_dev *a, struct gpuctl_device *d)
{
    const char *hwmon = a->card.hwmon;
    unsigned cap_uw = 0, mw, pwm, rpm;
    bool has_cap;

    if (!hwmon[0])
        return;
    has_cap = sysfs_scaled(root, hwmon, "power1_cap", 1, &cap_uw);
    /* A 0 W cap (the second die of an MI250X) says the die does not own the power sensor: what
     * it reads is no power of its own. Without a cap file (APUs hide it), a reading stands. */
    if (has_cap && cap_uw > 0)
        DEV_SET(d, power_limit_mw, GPUCTL_M_POWER_LIMIT, cap_uw / 1000);
    if ((!has_cap || cap_uw > 0) && a->power && sysfs_scaled(root, hwmon, a->power, 1000, &mw))
        DEV_SET(d, power_draw_mw, GPUCTL_M_POWER_DRAW, mw);
    if (a->has_pwm && sysfs_scaled(root, hwmon, "pwm1", 1, &pwm) && pwm <= a->pwm_max)
        DEV_SET(d, fan_percent, GPUCTL_M_FAN, (pwm * 100 + a->pwm_max / 2) / a->pwm_max);
    if (a->has_fan && sysfs_scaled(root, hwmon, "fan1_input", 1, &rpm))
        DEV_SET(d, fan_rpm, GPUCTL_M_FAN_RPM, rpm);
}

static void read_memory_and_load(const char *root, const char *dev, struct gpuctl_device *d)
{
    uint64_t used;
    unsigned busy, mem_busy;
    unsigned cur, max;
    bool has_cur;

    if (gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) &&
        sysfs_u64(root, dev, "mem_info_vram_used", &used) && used <= d->memory_total_bytes) {
        DEV_SET(d, memory_used_bytes, GPUCTL_M_MEMORY_USED, used);
        DEV_SET(d, memory_free_bytes, GPUCTL_M_MEMORY_FREE, d->memory_total_bytes - used);
    }
    if (sysfs_percent(root, dev, "gpu_busy_percent", &busy))
        DEV_SET(d, utilization_gpu_percent, GPUCTL_M_UTIL_GPU, busy);
    if (sysfs_percent(root, dev, "mem_busy_percent", &mem_busy))
        DEV_SET(d, utilization_memory_percent, GPUCTL_M_UTIL_MEMORY, mem_busy);
    if (dpm_clocks(root, dev, "pp_dpm_sclk", &cur, &max, &has_cur) && has_cur)
        DEV_SET(d, clock_sm_mhz, GPUCTL_M_CLOCK_SM, cur);
    if (dpm_clocks(root, dev, "pp_dpm_mclk", &cur, &max, &has_cur) && has_cur)
        DEV_SET(d, clock_mem_mhz, GPUCTL_M_CLOCK_MEM, cur);
}

static int amd_refresh(void *state, struct devslot *const *slots, size_t n,
                       const struct drm_scan *scan)
{
    const struct amd_state *s = state;

    for (size_t i = 0; i < n; i++) {
        const struct amd_dev *a = slots[i]->handle;
        struct gpuctl_device *d = &slots[i]->dev;
        unsigned util;
        bool oom;

        read_memory_and_load(s->sysfs, a->card.device, d);
        read_temperatures(s->sysfs, a, d);
        read_power_and_fan(s->sysfs, a, d);

        fdinfo_device_processes(scan, &a->card.pci, "amdgpu",
                                !(s->flags & GPUCTL_OPEN_NO_PROCESSES), d, &util, &oom);
        if (oom)
            return GPUCTL_ENOMEM;
    }
    return 0;
}

static void amd_close(void *state)
{
    struct amd_state *s = state;

    if (!s)
        return;
    free(s->devs);
    free(s);
}

/* ROCr masks first; HIP then indexes what is left, reading CUDA_VISIBLE_DEVICES when
 * HIP_VISIBLE_DEVICES is unset or empty, and masking nothing when that is empty too (ROCm/clr
 * rocdevice.cpp: HIP_VISIBLE_DEVICES[0] != '\0' ? HIP : CUDA, then only if ordinals[0]). */
static const struct mask_var amd_masks[] = {
    {"ROCR_VISIBLE_DEVICES", NULL, &mask_rocr},
    {"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", &mask_hip},
    {NULL, NULL, NULL},
};

const struct backend backend_amdgpu = {
    .name = "amd",
    .vendor = GPUCTL_VENDOR_AMD,
    .device_prefix = "cuda", /* PyTorch on ROCm */
    .alt_prefix = "rocm",
    .masks = amd_masks,
    .uses_fdinfo = true,
    .open = amd_open,
    .enumerate = amd_enumerate,
    .refresh = amd_refresh,
    .close = amd_close,
};
