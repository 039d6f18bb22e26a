/* intel.c: the Intel backend: GPUs bound to i915 or xe, read from sysfs, hwmon energy counters
 * and DRM fdinfo; nothing from oneAPI is needed. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/backend.h"
#include "device/drm.h"
#include "device/sysfs.h"
#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

#define INTEL_VENDOR 0x8086

/* Names of common parts (pci.ids) and their GPU architecture. */
static const struct intel_part {
    unsigned device;
    const char *name;
    const char *arch;
} intel_parts[] = {
    {0x56a0, "Intel Arc A770 Graphics", "xe-hpg"},
    {0x56a1, "Intel Arc A750 Graphics", "xe-hpg"},
    {0x5690, "Intel Arc A770M Graphics", "xe-hpg"},
    {0x56a5, "Intel Arc A380 Graphics", "xe-hpg"},
    {0xe20b, "Intel Arc B580 Graphics", "xe2-hpg"},
    {0xe20c, "Intel Arc B570 Graphics", "xe2-hpg"},
    {0x0bd5, "Intel Data Center GPU Max 1550", "xe-hpc"},
    {0x0bda, "Intel Data Center GPU Max 1100", "xe-hpc"},
    {0x7d55, "Intel Arc Graphics (Meteor Lake)", "xe-lpg"},
    {0x64a0, "Intel Arc 140V GPU (Lunar Lake)", "xe2-lpg"},
    {0x6420, "Intel Arc 130V GPU (Lunar Lake)", "xe2-lpg"},
    {0xa780, "Intel UHD Graphics 770", "xe-lp"},
    {0x9a49, "Intel Iris Xe Graphics", "xe-lp"},
};

/* Where each driver keeps the GPU frequencies, relative to the card (i915, intel_gt_sysfs_pm.c)
 * or to its PCI device (xe: tile0/gt0/freq0, xe_gt_freq.c). The clock is the actual one (act);
 * cur is only what was requested. The maximum is the hardware's RP0; max is a soft limit that
 * users set and lower. */
static const struct freq_files {
    const char *driver;
    bool under_device;
    const char *dir, *cur, *max;
} freq_files[] = {
    {"i915", false, "", "gt_act_freq_mhz", "gt_RP0_freq_mhz"},
    {"xe", true, "tile0/gt0/freq0", "act_freq", "rp0_freq"},
};

/* What the backend keeps per card: which sensor files exist (learned once), and the last energy
 * sample, for the power between two refreshes. */
struct intel_dev {
    struct drm_card card;
    unsigned tiles;        /* Level Zero sub-devices, at least 1 */
    char freq_dir[160];    /* where the frequency files are */
    const char *freq_cur;  /* or NULL */
    const char *energy;    /* "energy1_input" (card), "energy2_input" (package) or NULL */
    const char *power_max; /* "power1_max", "power2_max" or NULL */
    char temp[16];         /* "temp1_input", or "" */
    bool has_fan;
    bool has_energy;
    uint64_t energy_uj;
    uint64_t energy_ns;
};

struct intel_state {
    const char *sysfs;
    unsigned flags;
    struct intel_dev *devs;
    size_t n;
    bool tiles_are_devices; /* Level Zero's FLAT (or COMBINED) hierarchy */
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const struct intel_part *find_part(unsigned device)
{
    for (size_t i = 0; i < sizeof(intel_parts) / sizeof(intel_parts[0]); i++)
        if (intel_parts[i].device == device)
            return &intel_parts[i];
    return NULL;
}

/* An integrated GPU sits at 0000:00:02.0 on every Intel platform. */
static bool is_integrated(const struct pci_addr *a)
{
    return a->domain == 0 && a->bus == 0 && a->device == 2 && a->function == 0;
}

/* Learns which hwmon temperature is the GPU's: xe labels the package "pkg" (temp2) and the memory
 * "vram" (temp3; newer kernels "vram_ch_N" per channel), so "pkg", else the first one not of the
 * memory. i915's hwmon has none. */
static void find_temperature(const char *root, struct intel_dev *g)
{
    char name[24], label[24];

    for (int i = 1; i <= 8; i++) {
        snprintf(name, sizeof(name), "temp%d_label", i);
        if (!sysfs_str(root, g->card.hwmon, name, label, sizeof(label)))
            label[0] = '\0';
        snprintf(name, sizeof(name), "temp%d_input", i);
        if (str_starts_with(label, "vram") || !sysfs_exists(root, g->card.hwmon, name))
            continue;
        if (!g->temp[0] || strcmp(label, "pkg") == 0)
            str_copy(g->temp, name, sizeof(g->temp));
        if (strcmp(label, "pkg") == 0)
            return;
    }
}

/* Learns where the card's frequencies and sensors are: the driver's frequency files; hwmon's
 * energy counter, power limit, temperature (find_temperature()) and fan. Integrated GPUs have no
 * hwmon. */
static void find_sensors(const char *root, struct intel_dev *g, unsigned *max_mhz, bool *has_max)
{
    *has_max = false;
    for (size_t i = 0; i < sizeof(freq_files) / sizeof(freq_files[0]); i++) {
        const struct freq_files *f = &freq_files[i];
        if (strcmp(f->driver, g->card.driver) != 0)
            continue;
        snprintf(g->freq_dir, sizeof(g->freq_dir), "%.64s%s%.32s",
                 f->under_device ? g->card.device : g->card.card, f->dir[0] ? "/" : "", f->dir);
        g->freq_cur = f->cur;
        *has_max = sysfs_scaled(root, g->freq_dir, f->max, 1, max_mhz);
    }
    if (!g->card.hwmon[0])
        return;
    g->energy = sysfs_exists(root, g->card.hwmon, "energy1_input")   ? "energy1_input"
                : sysfs_exists(root, g->card.hwmon, "energy2_input") ? "energy2_input"
                                                                     : NULL;
    g->power_max = sysfs_exists(root, g->card.hwmon, "power1_max")   ? "power1_max"
                   : sysfs_exists(root, g->card.hwmon, "power2_max") ? "power2_max"
                                                                     : NULL;
    find_temperature(root, g);
    g->has_fan = sysfs_exists(root, g->card.hwmon, "fan1_input");
}

/* Device memory, where the kernel says: xe per tile, summed over the tiles; i915 only in Intel's
 * backports (lmem_total_bytes). */
static bool vram_total(const char *root, const struct intel_dev *g, uint64_t *out)
{
    char tile[96];
    uint64_t v;
    bool any = false;

    *out = 0;
    for (unsigned t = 0; t < g->tiles; t++) {
        snprintf(tile, sizeof(tile), "%.64s/tile%u", g->card.device, t);
        if (sysfs_u64(root, tile, "physical_vram_size_bytes", &v) && v <= UINT64_MAX - *out) {
            *out += v;
            any = true;
        }
    }
    return any || sysfs_u64(root, g->card.card, "lmem_total_bytes", out);
}

static void read_identity(const struct intel_state *s, struct intel_dev *g, struct gpuctl_device *d)
{
    const struct intel_part *part = find_part(g->card.device_id);
    uint64_t v;
    unsigned mhz;
    bool has_max;

    d->vendor = GPUCTL_VENDOR_INTEL;
    str_copy(d->pci_bus_id, g->card.slot, sizeof(d->pci_bus_id));
    str_copy(d->uuid, g->card.slot, sizeof(d->uuid)); /* sysfs gives Intel GPUs no UUID */
    if (part) {
        str_copy(d->name, part->name, sizeof(d->name));
        str_copy(d->arch, part->arch, sizeof(d->arch));
    } else {
        snprintf(d->name, sizeof(d->name), "Intel GPU 0x%04x", g->card.device_id);
    }
    DEV_SET(d, integrated, GPUCTL_M_INTEGRATED, is_integrated(&g->card.pci));
    find_sensors(s->sysfs, g, &mhz, &has_max);
    if (has_max)
        DEV_SET(d, clock_sm_max_mhz, GPUCTL_M_CLOCK_SM_MAX, mhz);
    if (vram_total(s->sysfs, g, &v))
        DEV_SET(d, memory_total_bytes, GPUCTL_M_MEMORY_TOTAL, v);
}

/* Level Zero's order, and so PyTorch's xpu:N: discrete GPUs first, then PCI order; PCI order
 * alone when ZE_ENABLE_PCI_ID_DEVICE_ORDER is a nonzero number (compute-runtime reads it with
 * atoll, so "1" sets it and "true" does not). */
static int intel_compare(const struct devslot *a, const struct devslot *b)
{
    const char *pci_order = getenv("ZE_ENABLE_PCI_ID_DEVICE_ORDER");
    bool ia = is_integrated(&a->pci), ib = is_integrated(&b->pci);

    if (ia != ib && !(pci_order && atoll(pci_order) != 0))
        return ia ? 1 : -1;
    return pci_compare(&a->pci, &b->pci);
}

/* Level Zero's tiles (sub-devices) of a card: xe lists them as tileN under the PCI device
 * (xe_tile_sysfs.c); i915 lists each GT as gt/gtN under the card (intel_gt_sysfs.c), one per tile
 * on a multi-tile GPU but also the media GT of Meteor Lake's integrated GPU, so an integrated GPU
 * (never multi-tile) has one. At least 1, at most 64. */
static unsigned count_tiles(const char *root, const struct drm_card *c)
{
    char gt[64];
    unsigned n = 1;

    if (strcmp(c->driver, "xe") == 0) {
        n = sysfs_count_numbered(root, c->device, "tile");
    } else if (!is_integrated(&c->pci)) {
        snprintf(gt, sizeof(gt), "%.48s/gt", c->card);
        n = sysfs_count_numbered(root, gt, "gt");
    }
    return n == 0 ? 1 : n > 64 ? 64 : n;
}

/* Whether Level Zero makes each tile a device: ZE_FLAT_DEVICE_HIERARCHY FLAT or COMBINED yes,
 * COMPOSITE no; unset (or another value), compute-runtime's default for the platform: FLAT on
 * Xe-HPC (Data Center GPU Max), COMPOSITE on the others. compute-runtime takes that default from
 * the first GPU it finds, gpuctl from any: machines do not mix Max GPUs with others. */
static bool tiles_are_devices(const struct intel_state *s)
{
    const char *v = getenv("ZE_FLAT_DEVICE_HIERARCHY");

    if (v && (strcmp(v, "FLAT") == 0 || strcmp(v, "COMBINED") == 0))
        return true;
    if (v && strcmp(v, "COMPOSITE") == 0)
        return false;
    for (size_t i = 0; i < s->n; i++) {
        const struct intel_part *part = find_part(s->devs[i].card.device_id);
        if (part && strcmp(part->arch, "xe-hpc") == 0)
            return true;
    }
    return false;
}

/* Counts every card's tiles and learns the hierarchy; says so in st where Level Zero then counts
 * devices otherwise than gpuctl does. */
static void learn_tiles(struct intel_state *s, struct gpuctl_backend_status *st)
{
    bool multi = false;

    for (size_t i = 0; i < s->n; i++) {
        s->devs[i].tiles = count_tiles(s->sysfs, &s->devs[i].card);
        multi |= s->devs[i].tiles > 1;
    }
    s->tiles_are_devices = tiles_are_devices(s);
    if (multi && s->tiles_are_devices)
        snprintf(st->message, sizeof(st->message),
                 "Level Zero counts each tile as a device here (FLAT hierarchy): "
                 "ZE_AFFINITY_MASK and PyTorch's xpu:N count tiles, gpuctl's xpu:N and select "
                 "whole GPUs; ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE makes them agree");
}

static int intel_open(const struct backend_env *env, struct gpuctl_system *sys, void **state,
                      struct gpuctl_backend_status *st)
{
    static const char *const drivers[] = {"i915", "xe", NULL};
    struct intel_state *s = calloc(1, sizeof(*s));
    struct drm_card *cards = NULL;
    size_t n = 0;
    int ret;

    (void)sys; /* no Intel GPU is nothing to explain: st stays empty then */
    if (!s)
        return GPUCTL_ENOMEM;
    ret = drm_cards(env->sysfs_root, INTEL_VENDOR, drivers, &cards, &n);
    s->devs = n ? calloc(n, sizeof(*s->devs)) : NULL;
    if (ret || n == 0 || !s->devs) {
        free(cards);
        free(s->devs);
        free(s);
        return ret ? ret : n ? GPUCTL_ENOMEM : GPUCTL_ENODEV;
    }
    s->sysfs = env->sysfs_root;
    s->flags = env->flags;
    s->n = n;
    for (size_t i = 0; i < n; i++)
        s->devs[i].card = cards[i];
    free(cards);
    learn_tiles(s, st);
    *state = s;
    return 0;
}

static int intel_enumerate(void *state, struct devlist *out)
{
    struct intel_state *s = state;

    for (size_t i = 0; i < s->n; i++) {
        struct devslot *slot = devlist_add(out);
        if (!slot)
            return GPUCTL_ENOMEM;
        slot->handle = &s->devs[i];
        slot->tiles = s->devs[i].tiles;
        slot->tiles_are_devices = s->tiles_are_devices;
        read_identity(s, &s->devs[i], &slot->dev);
    }
    return 0;
}

/* Power from the energy counter (card, else package: xe on DG2 has only the latter) between
 * this refresh and the last. */
static void read_power(const char *root, struct intel_dev *g, struct gpuctl_device *d)
{
    uint64_t uj = 0, now = monotonic_ns();
    bool has = g->energy && sysfs_u64(root, g->card.hwmon, g->energy, &uj);
    unsigned limit;

    /* µJ over ns, in mW; in double, since µJ times 10^6 leaves 64 bits past 18 MJ. */
    if (has && g->has_energy && uj >= g->energy_uj && now > g->energy_ns) {
        double mw = (double)(uj - g->energy_uj) * 1e6 / (double)(now - g->energy_ns);
        if (mw <= UINT_MAX)
            DEV_SET(d, power_draw_mw, GPUCTL_M_POWER_DRAW, (unsigned)mw);
        else
            log_debug("%s/%s: %.0f mW is no power; reading it as unknown", g->card.hwmon, g->energy,
                      mw);
    }
    g->has_energy = has;
    g->energy_uj = uj;
    g->energy_ns = now;
    if (g->power_max && sysfs_scaled(root, g->card.hwmon, g->power_max, 1000, &limit))
        DEV_SET(d, power_limit_mw, GPUCTL_M_POWER_LIMIT, limit);
}

static void read_hwmon(const char *root, struct intel_dev *g, struct gpuctl_device *d)
{
    unsigned rpm;
    int c;

    if (!g->card.hwmon[0])
        return;
    if (g->temp[0] && sysfs_celsius(root, g->card.hwmon, g->temp, &c))
        DEV_SET(d, temperature_c, GPUCTL_M_TEMPERATURE, c);
    if (g->has_fan && sysfs_scaled(root, g->card.hwmon, "fan1_input", 1, &rpm))
        DEV_SET(d, fan_rpm, GPUCTL_M_FAN_RPM, rpm);
    read_power(root, g, d);
}

static int intel_refresh(void *state, struct devslot *const *slots, size_t n,
                         const struct drm_scan *scan)
{
    const struct intel_state *s = state;

    for (size_t i = 0; i < n; i++) {
        struct intel_dev *g = slots[i]->handle;
        struct gpuctl_device *d = &slots[i]->dev;
        unsigned util, mhz;
        bool oom;

        if (g->freq_cur && sysfs_scaled(s->sysfs, g->freq_dir, g->freq_cur, 1, &mhz))
            DEV_SET(d, clock_sm_mhz, GPUCTL_M_CLOCK_SM, mhz);

        read_hwmon(s->sysfs, g, d);
        /* No busy counter for the whole GPU: its clients' engine time is the utilization. */
        if (fdinfo_device_processes(scan, &g->card.pci, g->card.driver,
                                    !(s->flags & GPUCTL_OPEN_NO_PROCESSES), d, &util, &oom))
            DEV_SET(d, utilization_gpu_percent, GPUCTL_M_UTIL_GPU, util);
        if (oom)
            return GPUCTL_ENOMEM;
    }
    return 0;
}

static void intel_close(void *state)
{
    struct intel_state *s = state;

    if (!s)
        return;
    free(s->devs);
    free(s);
}

static const struct mask_var intel_masks[] = {
    {"ZE_AFFINITY_MASK", NULL, &mask_ze},
    {NULL, NULL, NULL},
};

const struct backend backend_intel = {
    .name = "intel",
    .vendor = GPUCTL_VENDOR_INTEL,
    .device_prefix = "xpu",
    .masks = intel_masks,
    .uses_fdinfo = true,
    .compare = intel_compare,
    .open = intel_open,
    .enumerate = intel_enumerate,
    .refresh = intel_refresh,
    .close = intel_close,
};
