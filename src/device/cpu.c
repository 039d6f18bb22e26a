/* cpu.c: the CPU device, always present: model, cores and memory from procfs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

struct cpu_state {
    const char *procfs_root;
};

/* cpuinfo keys that name the processor, by architecture, first found wins. */
static const char *const model_keys[] = {"model name", "Hardware", "Processor", "cpu model", "cpu"};

/* If line is "key<spaces>: value", returns value; else NULL. */
static const char *field(const char *line, const char *key)
{
    size_t n = strlen(key);

    if (strncmp(line, key, n) != 0)
        return NULL;
    line += n;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != ':')
        return NULL;
    line++;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

/* The line after line, or NULL at the end. */
static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');

    return nl && nl[1] ? nl + 1 : NULL;
}

/* Counts distinct (physical id, core id) pairs; returns 0 when cpuinfo does not say. */
static unsigned count_cores(const char *info)
{
    unsigned long seen[1024];
    unsigned n = 0;
    long phys = -1, core = -1;

    for (const char *line = info; line; line = next_line(line)) {
        const char *p = field(line, "physical id");
        const char *c = field(line, "core id");
        bool dup = false;

        if (p)
            phys = strtol(p, NULL, 10);
        if (c)
            core = strtol(c, NULL, 10);
        if (phys < 0 || core < 0)
            continue;
        for (unsigned i = 0; i < n && !dup; i++)
            dup = seen[i] == ((unsigned long)phys << 20 | (unsigned long)core);
        if (!dup && n < sizeof(seen) / sizeof(seen[0]))
            seen[n++] = (unsigned long)phys << 20 | (unsigned long)core;
        phys = core = -1;
    }
    return n;
}

/* Copies the rest of a line (up to its newline) into dst, trimmed. */
static void copy_value(char *dst, size_t len, const char *v)
{
    size_t n = strcspn(v, "\n");

    if (n >= len)
        n = len - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    str_trim(dst);
}

static void read_cpuinfo(const struct cpu_state *s, struct gpuctl_device *d)
{
    char *info = NULL;
    unsigned threads = 0, cores;
    size_t best = sizeof(model_keys) / sizeof(model_keys[0]);

    str_copy(d->name, "CPU", sizeof(d->name));
    if (fs_read_all(s->procfs_root, "cpuinfo", &info, NULL) != 0) {
        log_debug("cannot read %s/cpuinfo", s->procfs_root);
        return;
    }
    for (const char *line = info; line; line = next_line(line)) {
        if (field(line, "processor"))
            threads++;
        for (size_t k = 0; k < best; k++) {
            const char *v = field(line, model_keys[k]);
            if (v && *v && *v != '\n') {
                copy_value(d->name, sizeof(d->name), v);
                best = k;
            }
        }
    }
    cores = count_cores(info);
    free(info);
    if (threads)
        DEV_SET(d, cpu_threads, GPUCTL_M_CPU_THREADS, threads);
    if (cores || threads)
        DEV_SET(d, cpu_cores, GPUCTL_M_CPU_CORES, cores ? cores : threads);
}

static int cpu_open(const struct backend_env *env, struct gpuctl_system *sys, void **state,
                    struct gpuctl_backend_status *st)
{
    struct cpu_state *s = calloc(1, sizeof(*s));

    (void)sys;
    (void)st;
    if (!s)
        return GPUCTL_ENOMEM;
    s->procfs_root = env->procfs_root;
    *state = s;
    return 0;
}

static int cpu_enumerate(void *state, struct devlist *out)
{
    struct devslot *slot = devlist_add(out);

    if (!slot)
        return GPUCTL_ENOMEM;
    slot->dev.vendor = GPUCTL_VENDOR_CPU;
    read_cpuinfo(state, &slot->dev);
    return 0;
}

/* Reads "Key:   123 kB" from meminfo as bytes; returns true when found. */
static bool meminfo_bytes(const char *info, const char *key, uint64_t *out)
{
    for (const char *line = info; line; line = next_line(line)) {
        const char *v = field(line, key);
        unsigned long long kb;
        if (v && sscanf(v, "%llu", &kb) == 1 && kb <= UINT64_MAX / 1024u) {
            *out = (uint64_t)kb * 1024u;
            return true;
        }
    }
    return false;
}

static int cpu_refresh(void *state, struct devslot *const *slots, size_t n,
                       const struct drm_scan *scan)
{
    const struct cpu_state *s = state;
    char info[8192];
    uint64_t total, avail;

    (void)scan;
    if (n == 0)
        return 0;
    if (fs_read(s->procfs_root, "meminfo", info, sizeof(info)) != 0) {
        log_debug("cannot read %s/meminfo", s->procfs_root);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct gpuctl_device *d = &slots[i]->dev;
        if (!meminfo_bytes(info, "MemTotal", &total))
            continue;
        DEV_SET(d, memory_total_bytes, GPUCTL_M_MEMORY_TOTAL, total);
        if (meminfo_bytes(info, "MemAvailable", &avail) && avail <= total) {
            DEV_SET(d, memory_free_bytes, GPUCTL_M_MEMORY_FREE, avail);
            DEV_SET(d, memory_used_bytes, GPUCTL_M_MEMORY_USED, total - avail);
        }
    }
    return 0;
}

static void cpu_close(void *state)
{
    free(state);
}

const struct backend backend_cpu = {
    .name = "cpu",
    .vendor = GPUCTL_VENDOR_CPU,
    .device_prefix = NULL,
    .masks = NULL,
    .open = cpu_open,
    .enumerate = cpu_enumerate,
    .refresh = cpu_refresh,
    .close = cpu_close,
};
