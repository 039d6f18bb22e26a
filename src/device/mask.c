/* mask.c: CUDA_VISIBLE_DEVICES semantics: which GPUs a program sees, and in which order. */
#include "device/mask.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "util/banned.h"
#include "util/str.h"

/* One entry of the list: a slice of the value, not terminated. */
struct entry {
    const char *s;
    int len;
};

/* Resolves an index entry as strtoul would read it; returns the position, or -1 with msg set. */
static long resolve_index(const char *var, struct entry e, size_t n, char *msg, size_t len)
{
    const char *p = e.s, *end = e.s + e.len;
    unsigned long v = 0;
    bool big = false;

    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p < end && *p == '+')
        p++;
    if (p == end || !isdigit((unsigned char)*p)) {
        str_appendf(msg, len, "%s entry '%.*s' is neither a GPU index nor a GPU UUID", var,
                    e.len > 64 ? 64 : e.len, e.s);
        return -1;
    }
    for (; p < end && isdigit((unsigned char)*p); p++) {
        big |= v > 1000000;
        v = big ? v : v * 10 + (unsigned long)(*p - '0');
    }
    if (big || v >= n) {
        str_appendf(msg, len, "%s entry '%.*s' is out of range: this machine has %zu GPU%s", var,
                    e.len > 64 ? 64 : e.len, e.s, n, n == 1 ? "" : "s");
        return -1;
    }
    return (long)v;
}

/* Resolves a UUID entry (a unique prefix); returns the position, or -1 with msg set. */
static long resolve_uuid(const char *var, struct entry e, const char *const *uuids, size_t n,
                         char *msg, size_t len)
{
    size_t matches = 0, found = 0;
    int shown = e.len > 64 ? 64 : e.len;

    if (e.len < 4 || strncmp(e.s, "GPU-", 4) != 0) {
        str_appendf(msg, len,
                    "%s entry '%.*s' is not a GPU UUID, and a list that starts with "
                    "UUIDs may hold only UUIDs",
                    var, shown, e.s);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (uuids[i][0] && strlen(uuids[i]) >= (size_t)e.len &&
            strncmp(uuids[i], e.s, (size_t)e.len) == 0) {
            matches++;
            found = i;
        }
    }
    if (matches != 1) {
        str_appendf(msg, len, "%s entry '%.*s' matches %s GPU", var, shown, e.s,
                    matches ? "more than one" : "no");
        return -1;
    }
    return (long)found;
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
 * ends the list, with msg set. */
static enum mask_outcome take(const char *var, struct entry e, bool uuid_mode,
                              const char *const *uuids, size_t n, size_t *order, size_t *count,
                              char *msg, size_t len)
{
    long pos;

    if (uuid_mode && e.len >= 4 && strncmp(e.s, "MIG-", 4) == 0) {
        str_appendf(msg, len,
                    "%s entry '%.*s' names a MIG instance, which gpuctl cannot list "
                    "yet: CUDA programs would use that instance, gpuctl shows no GPU for it",
                    var, e.len > 64 ? 64 : e.len, e.s);
        return MASK_MIG;
    }
    pos = uuid_mode ? resolve_uuid(var, e, uuids, n, msg, len) : resolve_index(var, e, n, msg, len);
    if (pos < 0) {
        str_appendf(msg, len, ", so CUDA ignores it and every entry after it");
        return MASK_DROPPED;
    }
    if (listed(order, *count, (size_t)pos)) {
        *count = 0;
        msg[0] = '\0';
        str_appendf(msg, len, "%s lists GPU %ld twice, which CUDA treats as no GPU at all", var,
                    pos);
        return MASK_DROPPED;
    }
    order[(*count)++] = (size_t)pos;
    return MASK_OK;
}

enum mask_outcome mask_apply(const char *var, const char *value, const char *const *uuids, size_t n,
                             size_t *order, size_t *count, char *msg, size_t msg_len)
{
    bool uuid_mode = value && (str_starts_with(value, "GPU-") || str_starts_with(value, "MIG-"));

    *count = 0;
    msg[0] = '\0';
    if (!value) {
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
    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        struct entry e = {p, comma ? (int)(comma - p) : (int)strlen(p)};
        enum mask_outcome outcome = take(var, e, uuid_mode, uuids, n, order, count, msg, msg_len);

        if (outcome != MASK_OK || !comma)
            return outcome;
        p = comma + 1;
    }
}
