/* mask.c: which GPUs a program sees, and in which order, under each runtime's device mask. */
#include "device/mask.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"
#include "util/str.h"

const struct mask_rules mask_cuda = {
    .index = INDEX_STRTOUL,
    .uuid = UUID_PREFIX,
    .duplicate = DUP_EMPTIES,
    .first_entry_decides = true,
};
const struct mask_rules mask_rocr = {
    .index = INDEX_STRTOL,
    .uuid = UUID_PREFIX_NOCASE,
    .duplicate = DUP_STOPS,
    .reads_n_entries = true,
};
const struct mask_rules mask_hip = {
    .index = INDEX_DIGITS,
    .uuid = UUID_SUBSTRING,
    .duplicate = DUP_SKIPPED,
    .empty_is_unset = true,
};
const struct mask_rules mask_ze = {
    .index = INDEX_DOTTED,
    .uuid = UUID_NONE,
    .duplicate = DUP_SKIPPED,
    .invalid_skips = true,
    .enumeration_order = true,
    .empty_is_unset = true,
    .default_is_unset = true,
};

/* One entry of the list: a slice of the value, not terminated. */
struct entry {
    const char *s;
    int len;
};

/* What a mask is being applied to, and where its message goes. */
struct mask_ctx {
    const char *var;
    const struct mask_rules *rules;
    const char *const *uuids;
    const unsigned *tiles; /* see struct mask_devices */
    size_t n;
    bool flat;      /* see struct mask_devices */
    bool uuid_list; /* first_entry_decides: the list holds UUIDs */
    char *msg;      /* the sentence for the caller, "; "-joined */
    size_t len;
    char why[256]; /* why the entry being resolved is invalid */
};

#define SHOWN(e) ((e).len > 64 ? 64 : (e).len), (e).s

static struct entry trimmed(struct entry e)
{
    while (e.len > 0 && isspace((unsigned char)e.s[0])) {
        e.s++;
        e.len--;
    }
    while (e.len > 0 && isspace((unsigned char)e.s[e.len - 1]))
        e.len--;
    return e;
}

/* Reads decimal digits from p up to end; *big when the value is beyond any GPU count. */
static unsigned long digits(const char **p, const char *end, bool *big)
{
    unsigned long v = 0;

    for (; *p < end && isdigit((unsigned char)**p); (*p)++) {
        *big |= v > 1000000;
        v = *big ? v : v * 10 + (unsigned long)(**p - '0');
    }
    return v;
}

/* CUDA: as strtoul reads it: leading space and '+' allowed, junk after the digits ignored. */
static bool parse_strtoul(struct entry e, unsigned long *v, bool *big)
{
    const char *p = e.s, *end = e.s + e.len;

    while (p < end && isspace((unsigned char)*p))
        p++;
    p += p < end && *p == '+';
    if (p == end || !isdigit((unsigned char)*p))
        return false;
    *v = digits(&p, end, big);
    return true;
}

/* ROCr: the whole trimmed entry as strtol reads it, base 0 (decimal, 0x-hex, 0-octal, a sign);
 * a negative index is out of range. */
static bool parse_strtol(struct entry e, unsigned long *v, bool *big)
{
    char buf[32], *stop;
    long x;

    e = trimmed(e);
    if (e.len == 0 || e.len >= (int)sizeof(buf))
        return false;
    memcpy(buf, e.s, (size_t)e.len);
    buf[e.len] = '\0';
    errno = 0;
    x = strtol(buf, &stop, 0);
    if (stop == buf || *stop != '\0')
        return false;
    *big = errno == ERANGE || x < 0 || x > 1000000;
    *v = x < 0 ? 0 : (unsigned long)x;
    return true;
}

/* HIP: the index as std::to_string writes it back: digits only, no leading zero. */
static bool parse_digits(struct entry e, unsigned long *v, bool *big)
{
    const char *p = e.s, *end = e.s + e.len;

    if (p == end || (*p == '0' && end - p > 1))
        return false;
    *v = digits(&p, end, big);
    return p == end;
}

/* Parses an index entry by the rules' syntax; returns false when it is not one. */
static bool parse_index(const struct mask_ctx *m, struct entry e, unsigned long *v, bool *big)
{
    switch (m->rules->index) {
    case INDEX_STRTOUL:
        return parse_strtoul(e, v, big);
    case INDEX_STRTOL:
        return parse_strtol(e, v, big);
    default:
        return parse_digits(e, v, big);
    }
}

static bool uuid_matches(const struct mask_ctx *m, const char *uuid, struct entry e)
{
    size_t ulen = strlen(uuid);

    if (!uuid[0] || ulen < (size_t)e.len)
        return false;
    switch (m->rules->uuid) {
    case UUID_PREFIX:
        return strncmp(uuid, e.s, (size_t)e.len) == 0;
    case UUID_PREFIX_NOCASE:
        return strncasecmp(uuid, e.s, (size_t)e.len) == 0;
    case UUID_SUBSTRING:
        for (size_t i = 0; i + (size_t)e.len <= ulen; i++)
            if (strncmp(uuid + i, e.s, (size_t)e.len) == 0)
                return true;
        return false;
    default:
        return false;
    }
}

/* Resolves a UUID entry; returns the position, or -1 with the message set. */
static long resolve_uuid(struct mask_ctx *m, struct entry e)
{
    size_t matches = 0, found = 0;

    if (m->rules->uuid == UUID_PREFIX && (e.len < 4 || strncmp(e.s, "GPU-", 4) != 0)) {
        snprintf(m->why, sizeof(m->why),
                 "%s entry '%.*s' is not a GPU UUID, and a list that starts "
                 "with UUIDs may hold only UUIDs",
                 m->var, SHOWN(e));
        return -1;
    }
    if (m->rules->uuid == UUID_PREFIX_NOCASE && (e.len < 5 || e.len > 20)) {
        snprintf(m->why, sizeof(m->why),
                 "%s entry '%.*s' is not a GPU UUID: ROCr takes 5 to 20 characters", m->var,
                 SHOWN(e));
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (uuid_matches(m, m->uuids[i], e) && matches++ == 0)
            found = i;
    }
    if (matches == 1 || (matches > 1 && m->rules->uuid == UUID_SUBSTRING))
        return (long)found;
    snprintf(m->why, sizeof(m->why), "%s entry '%.*s' matches %s GPU", m->var, SHOWN(e),
             matches ? "more than one" : "no");
    return -1;
}

/* Whether e holds "GPU-" anywhere. */
static bool holds_gpu_dash(struct entry e)
{
    for (int i = 0; i + 4 <= e.len; i++)
        if (strncmp(e.s + i, "GPU-", 4) == 0)
            return true;
    return false;
}

/* Whether an entry names a GPU by UUID, by its runtime's rule: CUDA, when the list's first entry
 * does; ROCr, when it starts with G once trimmed (it upper-cases entries); HIP, when it holds
 * "GPU-" anywhere. Writes the part of the entry the runtime matches to *match. */
static bool uuid_entry(const struct mask_ctx *m, struct entry e, struct entry *match)
{
    struct entry t = trimmed(e);

    switch (m->rules->uuid) {
    case UUID_PREFIX:
        *match = e;
        return m->uuid_list;
    case UUID_PREFIX_NOCASE:
        *match = t;
        return t.len > 0 && (t.s[0] == 'G' || t.s[0] == 'g');
    case UUID_SUBSTRING:
        *match = e;
        return holds_gpu_dash(e);
    default:
        return false;
    }
}

/* The tiles of device i: 1 unless the caller said otherwise. */
static unsigned tiles_of(const struct mask_ctx *m, size_t i)
{
    return m->tiles && m->tiles[i] > 1 ? m->tiles[i] : 1;
}

/* How many devices Level Zero numbers: tiles when they are devices, else GPUs. */
static size_t ze_count(const struct mask_ctx *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n; i++)
        n += m->flat ? tiles_of(m, i) : 1;
    return n;
}

/* A number as compute-runtime reads it (std::stoul, base 0): leading space, a sign, 0x-hex or
 * 0-octal, junk after the digits ignored. False when no digit starts it; *big beyond any count. */
static bool ze_number(struct entry e, unsigned long *v, bool *big)
{
    char buf[32], *stop;

    if (e.len == 0 || e.len >= (int)sizeof(buf))
        return false;
    memcpy(buf, e.s, (size_t)e.len);
    buf[e.len] = '\0';
    errno = 0;
    *v = strtoul(buf, &stop, 0);
    *big = errno == ERANGE || *v > 1000000; /* "-1" too: stoul negates it into a huge number */
    return stop != buf;
}

/* Splits e at dots as compute-runtime's StringHelpers::split does (a trailing dot adds no part);
 * returns the number of parts and writes the first three. */
static int ze_parts(struct entry e, struct entry *part)
{
    int n = 0;

    for (int pos = 0; pos < e.len; n++) {
        const char *dot = memchr(e.s + pos, '.', (size_t)(e.len - pos));
        int end = dot ? (int)(dot - e.s) : e.len;
        if (n < 3)
            part[n] = (struct entry){e.s + pos, end - pos};
        pos = end + 1;
    }
    return n;
}

/* The GPU that Level Zero's tile-device x belongs to, with the tile in *tile. */
static long tile_owner(const struct mask_ctx *m, size_t x, long *tile)
{
    size_t i = 0;

    while (x >= tiles_of(m, i))
        x -= tiles_of(m, i++);
    *tile = m->tiles && m->tiles[i] > 1 ? (long)x : -1;
    return (long)i;
}

/* Why a Level Zero entry is skipped, into m->why; returns -1. */
static long ze_skip(struct mask_ctx *m, struct entry e, const char *why)
{
    snprintf(m->why, sizeof(m->why), "%s entry '%.*s' %s", m->var, SHOWN(e), why);
    return -1;
}

/*
 * Resolves a Level Zero entry (compute-runtime's parseAffinityMask): while tiles are devices
 * (FLAT, COMBINED), X counts tiles across the GPUs and X.Y is ignored; otherwise (COMPOSITE) X is
 * GPU X and X.Y its tile Y, which must exist. Returns the GPU's position with its tile in *tile
 * (-1: the whole GPU), or -1 with m->why set.
 */
static long resolve_ze(struct mask_ctx *m, struct entry e, long *tile)
{
    struct entry part[3];
    int nparts = ze_parts(e, part);
    unsigned long x, y;
    bool big;

    *tile = -1;
    if (nparts == 0 || !ze_number(part[0], &x, &big))
        return ze_skip(m, e, "is neither X nor X.Y");
    if (big || x >= ze_count(m)) {
        if (m->flat)
            snprintf(m->why, sizeof(m->why),
                     "%s entry '%.*s' is out of range: Level Zero counts %zu devices here, one per "
                     "tile",
                     m->var, SHOWN(e), ze_count(m));
        else
            snprintf(m->why, sizeof(m->why),
                     "%s entry '%.*s' is out of range: this machine has %zu GPU%s", m->var,
                     SHOWN(e), m->n, m->n == 1 ? "" : "s");
        return -1;
    }
    if (m->flat && nparts > 1)
        return ze_skip(m, e,
                       "names a tile, which Level Zero ignores while tiles are devices "
                       "(ZE_FLAT_DEVICE_HIERARCHY FLAT or COMBINED)");
    if (m->flat)
        return tile_owner(m, x, tile);
    if (nparts == 1)
        return (long)x;
    if (nparts > 2 || !ze_number(part[1], &y, &big))
        return ze_skip(m, e, "is neither X nor X.Y");
    if (big || y >= tiles_of(m, x))
        return ze_skip(m, e, "names a tile its GPU does not have");
    *tile = m->tiles && m->tiles[x] > 1 ? (long)y : -1;
    return (long)x;
}

/* Resolves one entry to a device position, or -1 with the message set. */
static long resolve(struct mask_ctx *m, struct entry e)
{
    struct entry match;
    unsigned long v = 0;
    bool big = false;
    long tile;

    if (m->rules->index == INDEX_DOTTED)
        return resolve_ze(m, e, &tile);
    if (uuid_entry(m, e, &match))
        return resolve_uuid(m, match);
    if (!parse_index(m, e, &v, &big)) {
        snprintf(m->why, sizeof(m->why), "%s entry '%.*s' is neither a GPU index nor a GPU UUID",
                 m->var, SHOWN(e));
        return -1;
    }
    if (big || v >= m->n) {
        snprintf(m->why, sizeof(m->why),
                 "%s entry '%.*s' is out of range: this machine has %zu GPU%s", m->var, SHOWN(e),
                 m->n, m->n == 1 ? "" : "s");
        return -1;
    }
    return (long)v;
}

/* Whether order[0..count) already holds pos. */
static bool listed(const size_t *order, size_t count, size_t pos)
{
    for (size_t i = 0; i < count; i++)
        if (order[i] == pos)
            return true;
    return false;
}

/* Appends a sentence to the caller's message, "; "-separated. */
static void say(struct mask_ctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct mask_ctx *m, const char *fmt, ...)
{
    char line[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    str_appendf(m->msg, m->len, "%s%s", m->msg[0] ? "; " : "", line);
}

/* Resolves one entry and appends it to order. Returns MASK_OK to go on, else the outcome that
 * ends the list. *dropped is set when an entry was skipped. */
static enum mask_outcome take(struct mask_ctx *m, struct entry e, size_t *order, size_t *count,
                              bool *dropped)
{
    long pos;

    if (m->rules->first_entry_decides && m->uuid_list && e.len >= 4 &&
        strncmp(e.s, "MIG-", 4) == 0) {
        say(m,
            "%s entry '%.*s' names a MIG instance, which gpuctl cannot list yet: CUDA programs "
            "would use that instance, gpuctl shows no GPU for it",
            m->var, SHOWN(e));
        return MASK_MIG;
    }
    m->why[0] = '\0';
    pos = resolve(m, e);
    if (pos >= 0 && listed(order, *count, (size_t)pos)) {
        if (m->rules->duplicate == DUP_SKIPPED)
            return MASK_OK;
        if (m->rules->duplicate == DUP_EMPTIES)
            *count = 0;
        m->msg[0] = '\0';
        say(m, "%s lists GPU %ld twice, which %s", m->var, pos,
            m->rules->duplicate == DUP_EMPTIES ? "CUDA treats as no GPU at all"
                                               : "ends the list there");
        return MASK_DROPPED;
    }
    if (pos < 0 && m->rules->invalid_skips) {
        say(m, "%s, so it is skipped", m->why);
        *dropped = true;
        return MASK_OK;
    }
    if (pos < 0) {
        say(m, "%s, so it and every entry after it are ignored", m->why);
        return MASK_DROPPED;
    }
    order[(*count)++] = (size_t)pos;
    return MASK_OK;
}

static int ascending(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x > y) - (x < y);
}

/* The entry at *p, up to the next comma; moves *p past the comma, or to NULL after the last. */
static struct entry next_entry(const char **p)
{
    const char *comma = strchr(*p, ',');
    struct entry e = {*p, comma ? (int)(comma - *p) : (int)strlen(*p)};

    *p = comma ? comma + 1 : NULL;
    return e;
}

/* Notes the GPUs of which a Level Zero mask shows only some tiles: programs see those tiles
 * alone, gpuctl lists whole GPUs. */
static void note_partial_gpus(struct mask_ctx *m, const char *value, const size_t *order,
                              size_t count)
{
    for (size_t i = 0; i < count; i++) {
        unsigned want = tiles_of(m, order[i]), shown = 0;
        uint64_t bits = 0;
        long tile;
        if (want < 2)
            continue;
        for (const char *p = value; p;)
            if (resolve_ze(m, next_entry(&p), &tile) == (long)order[i])
                bits |= tile < 0 ? UINT64_MAX : UINT64_C(1) << tile;
        for (unsigned t = 0; t < want && t < 64; t++)
            shown += (unsigned)(bits >> t & 1u);
        if (shown < want)
            say(m, "%s shows %u of the %u tiles of GPU %zu (gpuctl lists it whole)", m->var, shown,
                want, order[i]);
    }
}

/* Whether value masks nothing: unset, or set to what the runtime reads as unset. */
static bool masks_nothing(const struct mask_rules *rules, const char *value)
{
    return !value || (rules->empty_is_unset && value[0] == '\0') ||
           (rules->default_is_unset && strcmp(value, "default") == 0);
}

enum mask_outcome mask_apply(const char *var, const struct mask_rules *rules, const char *value,
                             const struct mask_devices *devs, size_t *order, size_t *count,
                             char *msg, size_t msg_len)
{
    struct mask_ctx m = {var,        rules, devs->uuids, devs->tiles, devs->n,
                         devs->flat, false, msg,         msg_len,     ""};
    enum mask_outcome outcome = MASK_OK;
    bool dropped = false;
    size_t taken = 0;

    *count = 0;
    msg[0] = '\0';
    if (masks_nothing(rules, value)) {
        for (size_t i = 0; i < devs->n; i++)
            order[i] = i;
        *count = devs->n;
        return MASK_OK;
    }
    if (value[0] == '\0') {
        if (devs->n == 0)
            return MASK_OK;
        str_appendf(msg, msg_len, "%s is set but empty, which hides every GPU", var);
        return MASK_DROPPED;
    }
    m.uuid_list = str_starts_with(value, "GPU-") || str_starts_with(value, "MIG-");
    for (const char *p = value; p && outcome == MASK_OK; taken++) {
        if (rules->reads_n_entries && taken == devs->n)
            break; /* ROCr reads as many entries as there are GPUs, and no more */
        outcome = take(&m, next_entry(&p), order, count, &dropped);
    }
    if (rules->enumeration_order && *count > 1)
        qsort(order, *count, sizeof(*order), ascending);
    if (rules->index == INDEX_DOTTED)
        note_partial_gpus(&m, value, order, *count);
    if (outcome == MASK_OK && dropped)
        outcome = MASK_DROPPED;
    return outcome;
}
