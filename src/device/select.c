/* select.c: finding a device by name and choosing the best GPUs for a request. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "device/pci.h"
#include "device/select.h"
#include "util/banned.h"
#include "util/size.h"
#include "util/str.h"

/* Writes "2 GPUs (cuda:0, cuda:1)", "1 GPU (cuda:0)" or "no GPUs". */
static void describe_gpus(const struct gpuctl *g, char *buf, size_t len)
{
    size_t n = gpuctl_gpu_count(g), shown = 0;

    buf[0] = '\0';
    if (n == 0) {
        str_appendf(buf, len, "no GPUs");
        return;
    }
    str_appendf(buf, len, "%zu GPU%s (", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (d->vendor == GPUCTL_VENDOR_CPU)
            continue;
        str_appendf(buf, len, "%s%s", shown++ ? ", " : "", d->device);
    }
    str_appendf(buf, len, ")");
}

/* Adds why the list is short or empty: a mask, or a vendor without a driver. */
static void explain_hidden(const struct gpuctl *g, char *buf, size_t len)
{
    const struct gpuctl_system *sys = gpuctl_system(g);

    for (size_t b = 0; b < sys->backend_count; b++)
        if (sys->backends[b].message[0])
            str_appendf(buf, len, "; %s", sys->backends[b].message);
}

/* The names that choose among GPUs rather than naming one: the device groups. */
static const char *const groups[] = {"cuda", "rocm", "xpu"};

static bool is_group(const char *spec)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(spec, groups[i]) == 0)
            return true;
    return false;
}

/* Whether a device's name is "<prefix>:N". */
static bool in_group(const struct gpuctl_device *d, const char *prefix, size_t len)
{
    return strncmp(d->device, prefix, len) == 0 && d->device[len] == ':';
}

/* Parses "N" made only of digits (saturating at LONG_MAX); returns -1 otherwise. */
static long parse_index(const char *s)
{
    long v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v > (LONG_MAX - 9) / 10 ? LONG_MAX : v * 10 + (*s - '0');
    }
    return v;
}

/* Finds "<group>:N". */
static int find_by_index(const struct gpuctl *g, const char *spec, const struct gpuctl_device **out,
                         char *msg, size_t len)
{
    size_t plen = (size_t)(strchr(spec, ':') - spec);
    long want = parse_index(spec + plen + 1);
    char have[512];

    if (want < 0) {
        snprintf(msg, len, "'%s' is not a device: after '%.*s:' comes a GPU index such as %.*s:0",
                 spec, (int)plen, spec, (int)plen, spec);
        return GPUCTL_EINVAL;
    }
    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (d->index == want && in_group(d, spec, plen)) {
            *out = d;
            return 0;
        }
    }
    describe_gpus(g, have, sizeof(have));
    snprintf(msg, len, "device index %ld is out of range: this machine has %s", want, have);
    explain_hidden(g, msg, len);
    return GPUCTL_ERANGE;
}

static int find_by_uuid(const struct gpuctl *g, const char *spec, const struct gpuctl_device **out,
                        char *msg, size_t len)
{
    const struct gpuctl_device *found = NULL;
    size_t matches = 0;

    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (d->uuid[0] && strncasecmp(d->uuid, spec, strlen(spec)) == 0) {
            found = d;
            matches++;
        }
    }
    if (matches == 1) {
        *out = found;
        return 0;
    }
    if (matches > 1) {
        snprintf(msg, len, "UUID prefix '%s' matches %zu GPUs: give more of the UUID", spec,
                 matches);
        return GPUCTL_EINVAL;
    }
    snprintf(msg, len, "no GPU has the UUID '%s' ('gpuctl info' lists them)", spec);
    return GPUCTL_ENOENT;
}

/* Finds a GPU by its PCI address ("0000:03:00.0" or "03:00.0"); false when none has it. */
static bool find_by_pci(const struct gpuctl *g, const char *spec, const struct gpuctl_device **out)
{
    struct pci_addr want, have;

    if (pci_parse(spec, &want) != 0)
        return false;
    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (pci_parse(d->pci_bus_id, &have) == 0 && pci_compare(&want, &have) == 0) {
            *out = d;
            return true;
        }
    }
    return false;
}

int gpuctl_device_find(const struct gpuctl *g, const char *spec, const struct gpuctl_device **out,
                       char *msg, size_t msg_len)
{
    char scratch[512];

    if (!msg) {
        msg = scratch;
        msg_len = sizeof(scratch);
    }
    msg[0] = '\0';
    if (strcmp(spec, "cpu") == 0) {
        for (size_t i = 0; i < gpuctl_device_count(g); i++) {
            if (gpuctl_device_at(g, i)->vendor == GPUCTL_VENDOR_CPU) {
                *out = gpuctl_device_at(g, i);
                return 0;
            }
        }
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (str_starts_with(spec, groups[i]) && spec[strlen(groups[i])] == ':')
            return find_by_index(g, spec, out, msg, msg_len);
    if (str_starts_with(spec, "GPU-") || str_starts_with(spec, "gpu-"))
        return find_by_uuid(g, spec, out, msg, msg_len);
    if (find_by_pci(g, spec, out))
        return 0;
    if (is_group(spec) || strcmp(spec, "auto") == 0)
        snprintf(msg, msg_len, "'%s' chooses among GPUs rather than naming one: give %s:N", spec,
                 strcmp(spec, "auto") == 0 ? "cuda" : spec);
    else
        snprintf(msg, msg_len,
                 "unknown device '%s': use auto, cuda, cuda:N, rocm:N, xpu:N, cpu, a "
                 "GPU UUID or a PCI address",
                 spec);
    return GPUCTL_EINVAL;
}

bool select_fits(const struct gpuctl_device *d, const struct gpuctl_select_request *req,
                 char *reason, size_t len)
{
    char have[32], want[32];

    reason[0] = '\0';
    if (d->state != GPUCTL_STATE_OK) {
        str_appendf(reason, len, "%s: %s", gpuctl_state_name(d->state), d->state_message);
        return false;
    }
    if (req->type && *req->type && !str_contains_nocase(d->name, req->type))
        str_appendf(reason, len, "%smodel '%s' does not match '%s'", reason[0] ? "; " : "",
                    d->name[0] ? d->name : "unknown", req->type);
    if (req->min_free_memory_bytes > 0) {
        size_format(req->min_free_memory_bytes, want, sizeof(want));
        if (!gpuctl_device_has(d, GPUCTL_M_MEMORY_FREE))
            str_appendf(reason, len, "%sfree memory unknown, %s required", reason[0] ? "; " : "",
                        want);
        else if (d->memory_free_bytes < req->min_free_memory_bytes)
            str_appendf(reason, len, "%sfree memory %s < %s required", reason[0] ? "; " : "",
                        size_format(d->memory_free_bytes, have, sizeof(have)), want);
    }
    if (req->has_max_utilization && req->max_utilization_percent >= 0) {
        if (!gpuctl_device_has(d, GPUCTL_M_UTIL_GPU))
            str_appendf(reason, len, "%sutilization unknown, at most %d%% allowed",
                        reason[0] ? "; " : "", req->max_utilization_percent);
        else if (d->utilization_gpu_percent > (unsigned)req->max_utilization_percent)
            str_appendf(reason, len, "%sutilization %u%% > %d%% allowed", reason[0] ? "; " : "",
                        d->utilization_gpu_percent, req->max_utilization_percent);
    }
    return reason[0] == '\0';
}

int select_compare(const struct gpuctl_device *x, const struct gpuctl_device *y)
{
    bool xf = gpuctl_device_has(x, GPUCTL_M_MEMORY_FREE),
         yf = gpuctl_device_has(y, GPUCTL_M_MEMORY_FREE);
    bool xu = gpuctl_device_has(x, GPUCTL_M_UTIL_GPU), yu = gpuctl_device_has(y, GPUCTL_M_UTIL_GPU);

    if (xf != yf)
        return xf ? -1 : 1;
    if (xf && x->memory_free_bytes != y->memory_free_bytes)
        return x->memory_free_bytes > y->memory_free_bytes ? -1 : 1;
    if (xu != yu)
        return xu ? -1 : 1;
    if (xu && x->utilization_gpu_percent != y->utilization_gpu_percent)
        return x->utilization_gpu_percent < y->utilization_gpu_percent ? -1 : 1;
    return (x->index < y->index) - (x->index > y->index);
}

static int rank(const void *a, const void *b)
{
    return select_compare(*(const struct gpuctl_device *const *)a,
                          *(const struct gpuctl_device *const *)b);
}

static bool has_constraints(const struct gpuctl_select_request *req)
{
    return (req->type && *req->type) || req->min_free_memory_bytes > 0 ||
           (req->has_max_utilization && req->max_utilization_percent >= 0);
}

/* Whether a mask names devices gpuctl cannot list; writes why into msg. */
static bool mask_unsupported(const struct gpuctl *g, char *msg, size_t len)
{
    const struct gpuctl_system *sys = gpuctl_system(g);

    for (size_t b = 0; b < sys->backend_count; b++) {
        if (sys->backends[b].mask_unsupported) {
            snprintf(msg, len, "cannot choose: %s", sys->backends[b].message);
            return true;
        }
    }
    return false;
}

/* Candidates for "auto" and "cuda": every GPU (cand has room for all devices). */
static int all_gpus(const struct gpuctl *g, const struct gpuctl_select_request *req,
                    const char *spec, unsigned count, struct gpuctl_selection *sel,
                    const struct gpuctl_device **cand, size_t *ncand)
{
    bool any = strcmp(spec, "auto") == 0;
    char have[512];

    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (d->vendor != GPUCTL_VENDOR_CPU && (any || in_group(d, spec, strlen(spec))))
            cand[(*ncand)++] = d;
    }
    if (*ncand == 0 && mask_unsupported(g, sel->message, sizeof(sel->message)))
        return GPUCTL_ENODEV;
    if (*ncand == 0 && strcmp(spec, "auto") == 0 && count == 1 && !has_constraints(req))
        return gpuctl_device_find(g, "cpu", &cand[(*ncand)++], sel->message, sizeof(sel->message));
    if (*ncand == 0) {
        describe_gpus(g, have, sizeof(have));
        if (any || gpuctl_gpu_count(g) == 0)
            snprintf(sel->message, sizeof(sel->message),
                     "no GPU to choose from: this machine has no GPUs");
        else
            snprintf(sel->message, sizeof(sel->message),
                     "no %s GPU to choose from: this machine has %s", spec, have);
        explain_hidden(g, sel->message, sizeof(sel->message));
        return GPUCTL_ENODEV;
    }
    if (count > *ncand) {
        describe_gpus(g, have, sizeof(have));
        snprintf(sel->message, sizeof(sel->message), "asked for %u GPUs: this machine has %s",
                 count, have);
        explain_hidden(g, sel->message, sizeof(sel->message));
        return GPUCTL_EINVAL;
    }
    return 0;
}

/* Collects the candidate devices a request's device spec allows into cand (room for every
 * device). Returns 0 or an error with sel->message set. */
static int candidates(const struct gpuctl *g, const struct gpuctl_select_request *req,
                      unsigned count, struct gpuctl_selection *sel,
                      const struct gpuctl_device **cand, size_t *ncand)
{
    const char *spec = req->device && *req->device ? req->device : "auto";
    const struct gpuctl_device *one = NULL;
    int ret;

    *ncand = 0;
    if (strcmp(spec, "auto") == 0 || is_group(spec))
        return all_gpus(g, req, spec, count, sel, cand, ncand);
    ret = gpuctl_device_find(g, spec, &one, sel->message, sizeof(sel->message));
    if (ret)
        return GPUCTL_EINVAL;
    if (count > 1) {
        snprintf(sel->message, sizeof(sel->message),
                 "%s is one device but %u were asked for; "
                 "use --device auto to choose %u",
                 one->device, count, count);
        return GPUCTL_EINVAL;
    }
    if (one->vendor == GPUCTL_VENDOR_CPU && has_constraints(req)) {
        snprintf(sel->message, sizeof(sel->message),
                 "the CPU has no GPU model, GPU memory or "
                 "GPU utilization: drop --type, --min-free-memory and --max-utilization, or "
                 "choose a GPU");
        return GPUCTL_EINVAL;
    }
    cand[(*ncand)++] = one;
    return 0;
}

/* A job's GPUs come from one runtime: keeps, of the ranked fits, those of the first group (by
 * its best GPU) that has count of them; else those of the group with the most. */
static void keep_one_group(const struct gpuctl_device **fit, size_t *nfit, unsigned count)
{
    size_t best = 0, best_n = 0;

    for (size_t i = 0; i < *nfit; i++) {
        size_t len = (size_t)(strchr(fit[i]->device, ':') - fit[i]->device), n = 0;
        for (size_t k = 0; k < *nfit; k++)
            n += in_group(fit[k], fit[i]->device, len);
        if (n > best_n) {
            best = i;
            best_n = n;
        }
        if (n >= count)
            break;
    }
    if (best_n == *nfit)
        return;
    {
        const char *group = fit[best]->device;
        size_t len = (size_t)(strchr(group, ':') - group), kept = 0;
        for (size_t k = 0; k < *nfit; k++)
            if (in_group(fit[k], group, len))
                fit[kept++] = fit[k];
        *nfit = kept;
    }
}

/* Sorts the fitting candidates best first into sel and lists the others with their reasons. */
static void rank_into(const struct gpuctl_select_request *req, const struct gpuctl_device **cand,
                      size_t ncand, unsigned count, struct gpuctl_selection *sel, size_t *nfit)
{
    char reason[sizeof(sel->rejected[0].reason)];

    *nfit = 0;
    for (size_t i = 0; i < ncand; i++) {
        if (cand[i]->vendor == GPUCTL_VENDOR_CPU ||
            select_fits(cand[i], req, reason, sizeof(reason))) {
            cand[(*nfit)++] = cand[i];
            continue;
        }
        sel->rejected_total++;
        if (sel->rejected_count < GPUCTL_MAX_SELECT) {
            sel->rejected[sel->rejected_count].device = cand[i];
            str_copy(sel->rejected[sel->rejected_count++].reason, reason, sizeof(reason));
        }
    }
    qsort(cand, *nfit, sizeof(cand[0]), rank);
    if (count > 1)
        keep_one_group(cand, nfit, count);
    sel->count = *nfit < count ? *nfit : count;
    memcpy(sel->devices, cand, sel->count * sizeof(cand[0]));
}

/* Says in sel->message that only nfit of count GPUs fit, and why the others did not. */
static void explain_short(struct gpuctl_selection *sel, size_t nfit, unsigned count)
{
    snprintf(sel->message, sizeof(sel->message), "%zu of the %u GPU%s asked for fit%s", nfit, count,
             count == 1 ? "" : "s", sel->rejected_count ? ":" : "");
    for (size_t i = 0; i < sel->rejected_count; i++)
        str_appendf(sel->message, sizeof(sel->message), "\n  %s (%s): %s",
                    sel->rejected[i].device->device,
                    sel->rejected[i].device->name[0] ? sel->rejected[i].device->name : "unknown",
                    sel->rejected[i].reason);
    if (sel->rejected_total > sel->rejected_count)
        str_appendf(sel->message, sizeof(sel->message), "\n  and %zu more",
                    sel->rejected_total - sel->rejected_count);
}

int gpuctl_select(const struct gpuctl *g, const struct gpuctl_select_request *req,
                  struct gpuctl_selection *sel)
{
    const struct gpuctl_device **cand = calloc(gpuctl_device_count(g) + 1, sizeof(*cand));
    unsigned count = req->count ? req->count : 1;
    size_t ncand = 0, nfit = 0;
    int ret;

    memset(sel, 0, sizeof(*sel));
    if (!cand) {
        snprintf(sel->message, sizeof(sel->message), "out of memory");
        return GPUCTL_ENOMEM;
    }
    if (count > GPUCTL_MAX_SELECT) {
        snprintf(sel->message, sizeof(sel->message),
                 "asked for %u GPUs: at most %d can be "
                 "selected at once",
                 count, GPUCTL_MAX_SELECT);
        ret = GPUCTL_EINVAL;
        goto out;
    }
    ret = candidates(g, req, count, sel, cand, &ncand);
    if (ret)
        goto out;
    rank_into(req, cand, ncand, count, sel, &nfit);
    if (nfit >= count)
        goto out;
    ret = GPUCTL_ENODEV;
    explain_short(sel, nfit, count);
out:
    free(cand);
    return ret;
}

void gpuctl_recommend(const struct gpuctl *g, const struct gpuctl_device **out,
                      struct gpuctl_precision_advice *advice)
{
    struct gpuctl_select_request req = {.count = 1};
    struct gpuctl_selection *sel = malloc(sizeof(*sel));

    *out = NULL;
    if (sel && gpuctl_select(g, &req, sel) == 0)
        *out = sel->devices[0];
    free(sel);
    for (size_t i = 0; !*out && i < gpuctl_device_count(g); i++)
        if (gpuctl_device_at(g, i)->vendor == GPUCTL_VENDOR_CPU)
            *out = gpuctl_device_at(g, i);
    if (advice)
        gpuctl_precision_advise(*out, advice);
}
