/* drm_usage.c: one /proc/PID/fdinfo file read as a DRM client (drm-usage-stats.rst). */
#include "device/drm_usage.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/str.h"

/* Per driver: the engines whose busy time makes a GPU busy (graphics first, then compute),
 * whether it counts them in ns against wall time or in cycles against drm-total-cycles, and the
 * memory region that is device memory. */
static const struct driver_rule {
    const char *driver;
    const char *busy[2];
    bool cycles;
    const char *vram;
} rules[] = {
    {"amdgpu", {"gfx", "compute"}, false, "vram"},
    {"i915", {"render", "compute"}, false, "local0"},
    {"xe", {"rcs", "ccs"}, true, "vram0"},
};

#define RAW_MAX 16

/* No GPU has a pebibyte: a client's memory figure above this is garbage. The bound also keeps the
 * sum over a process's clients far from wrapping 64 bits. */
#define VRAM_MAX (UINT64_C(1) << 50)

/* Identical engines behind one name: more than this is garbage. */
#define CAPACITY_MAX 256

/* A name and a number from one fdinfo key ("drm-engine-gfx: 123 ns"). */
struct kv {
    char name[24];
    uint64_t v;
};

struct kv_list {
    size_t n;
    struct kv v[RAW_MAX];
};

/* Everything a fdinfo file says that gpuctl uses, before it is understood. */
struct raw_client {
    char driver[16];
    char pdev[32];
    bool has_id;
    uint64_t id;
    struct kv_list engine, capacity, cycles, total_cycles, resident, memory, total;
};

/* Reads "<n>", "<n> ns", "<n> KiB", "<n> MiB", "<n> GiB" as a number (bytes for sizes). */
static bool parse_amount(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {{"", 0}, {"ns", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return false; /* beyond 64 bits: garbage, not UINT64_MAX */
    while (*end == ' ' || *end == '\t')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > UINT64_MAX >> units[i].shift)
                return false; /* the unit would carry it past 64 bits */
            *out = (uint64_t)v << units[i].shift;
            return true;
        }
    }
    return false;
}

static void kv_add(struct kv_list *l, const char *name, const char *value)
{
    uint64_t v;

    if (l->n < RAW_MAX && parse_amount(value, &v)) {
        str_copy(l->v[l->n].name, name, sizeof(l->v[0].name));
        l->v[l->n++].v = v;
    }
}

static bool kv_find(const struct kv_list *l, const char *name, uint64_t *out)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) == 0) {
            *out = l->v[i].v;
            return true;
        }
    }
    return false;
}

#define PREFIX(p, member)                                                                          \
    {                                                                                              \
        p, sizeof(p) - 1, offsetof(struct raw_client, member)                                      \
    }

/* The keys that carry a name after a prefix ("drm-engine-gfx"), and where they go; longest
 * prefixes first ("drm-engine-capacity-" before "drm-engine-"). */
static const struct {
    const char *prefix;
    size_t len;
    size_t offset;
} lists[] = {
    PREFIX("drm-engine-capacity-", capacity),
    PREFIX("drm-engine-", engine),
    PREFIX("drm-total-cycles-", total_cycles),
    PREFIX("drm-cycles-", cycles),
    PREFIX("drm-resident-", resident),
    PREFIX("drm-memory-", memory),
    PREFIX("drm-total-", total),
};

/* Sorts one "drm-key: value" line into raw. */
static void parse_line(struct raw_client *r, const char *key, size_t klen, const char *value)
{
    if (klen == 10 && memcmp(key, "drm-driver", 10) == 0) {
        str_copy(r->driver, value, sizeof(r->driver));
        return;
    }
    if (klen == 8 && memcmp(key, "drm-pdev", 8) == 0) {
        str_copy(r->pdev, value, sizeof(r->pdev));
        return;
    }
    if (klen == 13 && memcmp(key, "drm-client-id", 13) == 0) {
        r->has_id = parse_amount(value, &r->id);
        return;
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (klen > lists[i].len && memcmp(key, lists[i].prefix, lists[i].len) == 0) {
            kv_add((struct kv_list *)((char *)r + lists[i].offset), key + lists[i].len, value);
            return;
        }
    }
}

/* Splits fdinfo text into keys and values ("key:\tvalue", amdgpu also writes "key: \tvalue");
 * only drm-* keys matter. */
static void parse_fdinfo(char *text, struct raw_client *r)
{
    r->driver[0] = r->pdev[0] = '\0';
    r->has_id = false;
    r->engine.n = r->capacity.n = r->cycles.n = r->total_cycles.n = 0;
    r->resident.n = r->memory.n = r->total.n = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n'), *colon, *value, *end;
        if (nl)
            *nl = '\0';
        colon = strncmp(line, "drm-", 4) == 0 ? strchr(line, ':') : NULL;
        if (colon) {
            *colon = '\0';
            for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
                ;
            for (end = value + strlen(value); end > value && isspace((unsigned char)end[-1]);)
                *--end = '\0';
            parse_line(r, line, (size_t)(colon - line), value);
        }
        line = nl ? nl + 1 : NULL;
    }
}

static const struct driver_rule *rule_for(const char *driver)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strcmp(rules[i].driver, driver) == 0)
            return &rules[i];
    return NULL;
}

/* Turns raw keys into a client; false when it is not a client gpuctl understands. */
static bool understand(const struct raw_client *r, int pid, struct drm_client *c)
{
    const struct driver_rule *rule = rule_for(r->driver);

    memset(c, 0, sizeof(*c));
    if (!rule || !r->has_id || pci_parse(r->pdev, &c->pdev) != 0)
        return false;
    c->pid = pid;
    c->cycles = rule->cycles;
    c->id = r->id;
    str_copy(c->driver, r->driver, sizeof(c->driver));
    c->has_vram = (kv_find(&r->resident, rule->vram, &c->vram_bytes) ||
                   kv_find(&r->memory, rule->vram, &c->vram_bytes) ||
                   kv_find(&r->total, rule->vram, &c->vram_bytes)) &&
                  c->vram_bytes <= VRAM_MAX;
    for (size_t e = 0; e < 2; e++) {
        uint64_t cap = 1;
        if (rule->cycles) {
            kv_find(&r->cycles, rule->busy[e], &c->busy[e]);
            kv_find(&r->total_cycles, rule->busy[e], &c->total[e]);
        } else {
            kv_find(&r->engine, rule->busy[e], &c->busy[e]);
        }
        c->capacity[e] =
            kv_find(&r->capacity, rule->busy[e], &cap) && cap > 1 && cap <= CAPACITY_MAX
                ? (unsigned)cap
                : 1;
        if (c->busy[e])
            c->uses |= e == 0 ? DRM_USES_GRAPHICS : DRM_USES_COMPUTE;
    }
    return true;
}

bool drm_usage_parse(char *text, int pid, struct drm_client *out)
{
    struct raw_client raw;

    parse_fdinfo(text, &raw);
    return understand(&raw, pid, out);
}
