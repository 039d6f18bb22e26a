/* mask.c: CUDA_VISIBLE_DEVICES semantics: which GPUs a program sees, and in which order. */
#include "device/mask.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "util/banned.h"
#include "util/str.h"

/* Resolves one index entry as strtoul would; returns the position or -1 with msg set. */
static long resolve_index(const char *var, const char *entry, size_t n, char *msg, size_t len)
{
    const char *p = entry;
    unsigned long v = 0;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+')
        p++;
    if (!isdigit((unsigned char)*p)) {
        str_appendf(msg, len, "%s entry '%s' is neither a GPU index nor a GPU UUID", var, entry);
        return -1;
    }
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 1000000)
            break;
    }
    if (v >= n) {
        str_appendf(msg, len, "%s entry '%s' is out of range: this machine has %zu GPU%s", var,
                    entry, n, n == 1 ? "" : "s");
        return -1;
    }
    return (long)v;
}

/* Resolves one UUID entry (a unique prefix); returns the position or -1 with msg set. */
static long resolve_uuid(const char *var, const char *entry, const char *const *uuids, size_t n,
                         char *msg, size_t len)
{
    size_t matches = 0, found = 0;

    if (str_starts_with(entry, "MIG-")) {
        str_appendf(msg, len, "%s entry '%s' names a MIG instance; gpuctl lists whole GPUs", var,
                    entry);
        return -1;
    }
    if (!str_starts_with(entry, "GPU-")) {
        str_appendf(msg, len,
                    "%s entry '%s' is not a GPU UUID, and a list that starts with "
                    "UUIDs may hold only UUIDs",
                    var, entry);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (uuids[i][0] && str_starts_with(uuids[i], entry)) {
            matches++;
            found = i;
        }
    }
    if (matches != 1) {
        str_appendf(msg, len, "%s entry '%s' matches %s GPU", var, entry,
                    matches ? "more than one" : "no");
        return -1;
    }
    return (long)found;
}

void mask_apply(const char *var, const char *value, const char *const *uuids, size_t n,
                size_t *order, size_t *count, char *msg, size_t msg_len)
{
    bool uuid_mode;
    const char *p;

    *count = 0;
    msg[0] = '\0';
    if (!value) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        *count = n;
        return;
    }
    if (value[0] == '\0') {
        if (n > 0)
            str_appendf(msg, msg_len, "%s is set but empty, which hides every GPU", var);
        return;
    }
    uuid_mode = str_starts_with(value, "GPU-") || str_starts_with(value, "MIG-");
    for (p = value;; p++) {
        const char *end = strchr(p, ',');
        size_t elen = end ? (size_t)(end - p) : strlen(p);
        char entry[128];
        long pos;

        if (elen >= sizeof(entry))
            elen = sizeof(entry) - 1;
        memcpy(entry, p, elen);
        entry[elen] = '\0';
        pos = uuid_mode ? resolve_uuid(var, entry, uuids, n, msg, msg_len)
                        : resolve_index(var, entry, n, msg, msg_len);
        if (pos < 0) {
            str_appendf(msg, msg_len, ", so CUDA ignores it and every entry after it");
            return;
        }
        for (size_t i = 0; i < *count; i++) {
            if (order[i] == (size_t)pos) {
                *count = 0;
                msg[0] = '\0';
                str_appendf(msg, msg_len,
                            "%s lists GPU %ld twice, which CUDA treats as no GPU "
                            "at all",
                            var, pos);
                return;
            }
        }
        order[(*count)++] = (size_t)pos;
        if (!end)
            return;
        p = end;
    }
}
