/* mask.c: which GPUs a program sees, and in which order, under each runtime's device mask. */
#include "device/mask.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
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
    size_t n;
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

/* Level Zero: "X" or "X.Y", device X. */
static bool parse_dotted(struct entry e, unsigned long *v, bool *big)
{
    const char *p, *end;

    e = trimmed(e);
    p = e.s;
    end = e.s + e.len;
    if (p == end || !isdigit((unsigned char)*p))
        return false;
    *v = digits(&p, end, big);
    if (p < end && *p == '.' && p + 1 < end && isdigit((unsigned char)p[1])) {
        bool ignored = false;
        p++;
        digits(&p, end, &ignored);
    }
    return p == end;
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
    case INDEX_DOTTED:
        return parse_dotted(e, v, big);
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

/* Resolves one entry to a device position, or -1 with the message set. */
static long resolve(struct mask_ctx *m, struct entry e)
{
    struct entry match;
    unsigned long v = 0;
    bool big = false;

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

/* Resolves one entry and appends it to order. Returns MASK_OK to go on, else the outcome that
 * ends the list. *dropped is set when an entry was skipped. */
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

enum mask_outcome mask_apply(const char *var, const struct mask_rules *rules, const char *value,
                             const char *const *uuids, size_t n, size_t *order, size_t *count,
                             char *msg, size_t msg_len)
{
    struct mask_ctx m = {var, rules, uuids, n, false, msg, msg_len, ""};
    enum mask_outcome outcome = MASK_OK;
    bool dropped = false;
    size_t taken = 0;

    *count = 0;
    msg[0] = '\0';
    if (!value || (value[0] == '\0' && rules->empty_is_unset)) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        *count = n;
        return MASK_OK;
    }
    if (value[0] == '\0') {
        if (n == 0)
            return MASK_OK;
        str_appendf(msg, msg_len, "%s is set but empty, which hides every GPU", var);
        return MASK_DROPPED;
    }
    m.uuid_list = str_starts_with(value, "GPU-") || str_starts_with(value, "MIG-");
    for (const char *p = value; outcome == MASK_OK && (!rules->reads_n_entries || taken < n);
         taken++) {
        const char *comma = strchr(p, ',');
        struct entry e = {p, comma ? (int)(comma - p) : (int)strlen(p)};
        outcome = take(&m, e, order, count, &dropped);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (rules->enumeration_order && *count > 1)
        qsort(order, *count, sizeof(*order), ascending);
    if (outcome == MASK_OK && dropped)
        outcome = MASK_DROPPED;
    return outcome;
}
