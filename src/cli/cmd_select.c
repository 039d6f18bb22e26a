/* cmd_select.c: `gpuctl select`: the best GPUs for a job, as a CUDA_VISIBLE_DEVICES value. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_device.h"
#include "cli/cli.h"
#include "util/banned.h"
#include "util/size.h"
#include "util/str.h"

static const char usage[] =
    "usage: gpuctl select [-n COUNT] [--min-free-memory SIZE] [--max-utilization PERCENT]\n"
    "                     [--type MODEL] [--device auto|cuda|cuda:N|cpu|UUID]\n"
    "                     [--format auto|index|uuid] [--json]\n"
    "\n"
    "Prints the chosen GPUs as a comma list for CUDA_VISIBLE_DEVICES, best first:\n"
    "  CUDA_VISIBLE_DEVICES=$(gpuctl select -n 2 --min-free-memory 20G) python train.py\n"
    "GPUs rank by most free memory, then lowest utilization, then the higher index.\n"
    "Indices are PCI-order indices, as CUDA numbers GPUs under CUDA_DEVICE_ORDER=PCI_BUS_ID;\n"
    "where CUDA could number them otherwise (different models, another order) UUIDs are printed.\n"
    "\n"
    "  -n, --count COUNT          GPUs wanted (default 1)\n"
    "  --min-free-memory SIZE     at least this much free memory, e.g. 8G\n"
    "  --max-utilization PERCENT  at most this GPU utilization, 0-100\n"
    "  --type MODEL               model name contains MODEL, any case (A100, 4090)\n"
    "  --device DEVICE            auto (default: GPUs, else the CPU), cuda, cuda:N, cpu, UUID\n"
    "  --format auto|index|uuid   indices, or UUIDs where indices are ambiguous (auto, the\n"
    "                             default); always indices; always UUIDs\n"
    "  --json                     print the chosen devices as JSON\n"
    "exit status: 0 chosen, 2 bad option, 3 fewer GPUs fit than asked\n";

enum { OPT_MIN_FREE = OPT_FIRST_COMMAND, OPT_MAX_UTIL, OPT_TYPE, OPT_DEVICE, OPT_FORMAT };

enum select_format { FORMAT_AUTO, FORMAT_INDEX, FORMAT_UUID };
static const char *const formats[] = {"auto", "index", "uuid"};

struct select_args {
    struct gpuctl_select_request req;
    unsigned format; /* enum select_format */
};

/* Room for the longest value: GPUCTL_MAX_SELECT UUIDs and commas. */
#define VISIBLE_MAX (GPUCTL_MAX_SELECT * (sizeof(((struct gpuctl_device *)0)->uuid) + 1) + 1)

/* Parses a whole non-negative decimal number no larger than max; returns -1 otherwise. */
static long parse_number(const char *s, long max)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    return v;
}

static int parse_min_free(struct cli *c, struct select_args *a, const char *arg)
{
    int rc = size_parse(arg, &a->req.min_free_memory_bytes);

    if (rc == GPUCTL_ERANGE)
        return cli_fail(c, CLI_USAGE, "--min-free-memory '%s' is too large: at most 16383P", arg);
    if (rc)
        return cli_fail(c, CLI_USAGE, "--min-free-memory '%s' is not a size: use %s", arg,
                        size_syntax);
    return -2;
}

/* "50" or "50%". */
static int parse_max_util(struct cli *c, struct select_args *a, const char *arg)
{
    char buf[32];
    size_t n = str_copy(buf, arg, sizeof(buf));
    long v;

    if (n > 0 && n < sizeof(buf) && buf[n - 1] == '%')
        buf[n - 1] = '\0';
    v = parse_number(buf, 100);
    if (v < 0)
        return cli_fail(c, CLI_USAGE,
                        "--max-utilization needs a percentage from 0 to 100, got '%s'", arg);
    a->req.max_utilization_percent = (int)v;
    a->req.has_max_utilization = true;
    return -2;
}

/* Handles one option; returns -2 to go on, or the exit code to stop with. */
static int parse_option(struct cli *c, struct select_args *a, int opt, const char *arg)
{
    long v;

    switch (opt) {
    case 'n':
        v = parse_number(arg, GPUCTL_MAX_SELECT);
        if (v < 1)
            return cli_fail(c, CLI_USAGE, "-n needs a number of GPUs from 1 to %d, got '%s'",
                            GPUCTL_MAX_SELECT, arg);
        a->req.count = (unsigned)v;
        return -2;
    case OPT_MIN_FREE:
        return parse_min_free(c, a, arg);
    case OPT_MAX_UTIL:
        return parse_max_util(c, a, arg);
    case OPT_TYPE:
        a->req.type = arg;
        return -2;
    case OPT_DEVICE:
        a->req.device = arg;
        return -2;
    case OPT_FORMAT:
        for (a->format = 0; a->format < sizeof(formats) / sizeof(formats[0]); a->format++)
            if (strcmp(arg, formats[a->format]) == 0)
                return -2;
        return cli_fail(c, CLI_USAGE, "--format must be auto, index or uuid, got '%s'", arg);
    default:
        return cli_common_option(c, opt, arg);
    }
}

/* Whether indices would be ambiguous for any chosen GPU: programs may number its vendor's GPUs
 * otherwise than gpuctl does. */
static bool indices_ambiguous(const struct gpuctl *g, const struct gpuctl_selection *sel)
{
    const struct gpuctl_system *sys = gpuctl_system(g);

    for (size_t i = 0; i < sel->count; i++)
        for (size_t b = 0; b < sys->backend_count; b++)
            if (sys->backends[b].order_differs &&
                strcmp(sys->backends[b].name, gpuctl_vendor_name(sel->devices[i]->vendor)) == 0)
                return true;
    return false;
}

/* Writes the CUDA_VISIBLE_DEVICES value for a selection ("" for the CPU) into buf (room for
 * VISIBLE_MAX). Returns the device without a UUID that makes UUID output impossible, or NULL. */
static const struct gpuctl_device *visible_value(const struct gpuctl_selection *sel, bool uuids,
                                                 char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < sel->count; i++) {
        const struct gpuctl_device *d = sel->devices[i];
        if (d->vendor == GPUCTL_VENDOR_CPU)
            continue;
        if (uuids && !str_starts_with(d->uuid, "GPU-"))
            return d; /* no UUID, or only a PCI address, which no runtime's mask takes */
        if (uuids)
            str_appendf(buf, len, "%s%s", buf[0] ? "," : "", d->uuid);
        else
            str_appendf(buf, len, "%s%d", buf[0] ? "," : "", d->physical_index);
    }
    return NULL;
}

/* The variable a runtime reads the chosen devices' mask from. */
static const char *mask_variable(const struct gpuctl_selection *sel)
{
    static const char *const vars[] = {
        [GPUCTL_VENDOR_NVIDIA] = "CUDA_VISIBLE_DEVICES",
        [GPUCTL_VENDOR_AMD] = "ROCR_VISIBLE_DEVICES",
        [GPUCTL_VENDOR_INTEL] = "ZE_AFFINITY_MASK",
        [GPUCTL_VENDOR_CPU] = "CUDA_VISIBLE_DEVICES",
    };

    return sel->count ? vars[sel->devices[0]->vendor] : vars[GPUCTL_VENDOR_CPU];
}

static json_t *selection_json(const struct gpuctl_selection *sel, const char *visible)
{
    enum gpuctl_precision lowest = GPUCTL_PRECISION_BF16_MIXED;
    json_t *devices = json_array();

    for (size_t i = 0; i < sel->count; i++) {
        struct gpuctl_precision_advice adv;
        gpuctl_precision_advise(sel->devices[i], &adv);
        if (adv.precision < lowest)
            lowest = adv.precision;
        json_array_append_new(devices, json_device(sel->devices[i]));
    }
    return json_pack("{s:o, s:s, s:s, s:o}", "devices", devices, "visible_devices", visible,
                     "variable", mask_variable(sel), "precision",
                     gpuctl_precision_name(lowest) ? json_string(gpuctl_precision_name(lowest))
                                                   : json_null());
}

static json_t *rejections_json(const struct gpuctl_selection *sel)
{
    json_t *list = json_array();

    for (size_t i = 0; i < sel->rejected_count; i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:s}", "device", sel->rejected[i].device->device,
                                        "reason", sel->rejected[i].reason));
    return json_pack("{s:o}", "rejected", list);
}

/* Says on stderr why the CPU was chosen when a GPU vendor is there but gave no GPU. */
static void note_cpu_fallback(const struct gpuctl *g, const struct gpuctl_selection *sel)
{
    const struct gpuctl_system *sys = gpuctl_system(g);

    if (sel->count != 1 || sel->devices[0]->vendor != GPUCTL_VENDOR_CPU)
        return;
    for (size_t b = 0; b < sys->backend_count; b++)
        if (sys->backends[b].message[0])
            fprintf(stderr, "gpuctl select: choosing the CPU: %s\n", sys->backends[b].message);
}

static int report(struct cli *c, const struct gpuctl *g, const struct select_args *a,
                  const struct gpuctl_selection *sel)
{
    char visible[VISIBLE_MAX];
    bool uuids = a->format == FORMAT_UUID;
    const struct gpuctl_device *no_uuid;

    if (a->format == FORMAT_AUTO && indices_ambiguous(g, sel)) {
        uuids = true;
        fprintf(stderr, "gpuctl select: printing UUIDs: CUDA_DEVICE_ORDER is not PCI_BUS_ID and "
                        "these GPUs differ, so CUDA may number them otherwise than gpuctl\n");
    }
    no_uuid = visible_value(sel, uuids, visible, sizeof(visible));
    if (no_uuid)
        return cli_fail(c, CLI_FAILURE,
                        "%s has no UUID its runtime's mask takes; use --format index",
                        no_uuid->device);
    note_cpu_fallback(g, sel);
    if (c->json)
        return cli_print_json(selection_json(sel, visible));
    printf("%s\n", visible);
    return CLI_OK;
}

/* Selects and reports; returns the exit code. */
static int run(struct cli *c, const struct gpuctl *g, const struct select_args *a)
{
    struct gpuctl_selection *sel = malloc(sizeof(*sel));
    int rc;

    if (!sel)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    switch (gpuctl_select(g, &a->req, sel)) {
    case 0:
        rc = report(c, g, a, sel);
        break;
    case GPUCTL_EINVAL:
        rc = cli_fail(c, CLI_USAGE, "%s", sel->message);
        break;
    case GPUCTL_ENODEV:
        rc = cli_fail_json(c, CLI_UNAVAILABLE, rejections_json(sel), "%s", sel->message);
        break;
    default:
        rc = cli_fail(c, CLI_FAILURE, "%s", sel->message);
    }
    free(sel);
    return rc;
}

int cmd_select(struct cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'n'},
        {"min-free-memory", required_argument, NULL, OPT_MIN_FREE},
        {"max-utilization", required_argument, NULL, OPT_MAX_UTIL},
        {"type", required_argument, NULL, OPT_TYPE},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"format", required_argument, NULL, OPT_FORMAT},
        CLI_COMMON_OPTIONS,
    };
    struct select_args a = {.req = {.count = 1, .max_utilization_percent = GPUCTL_UTIL_ANY}};
    struct gpuctl *g = NULL;
    int opt, rc;

    c->usage = usage;
    while ((opt = getopt_long(argc, argv, "hn:", options, NULL)) != -1) {
        rc = parse_option(c, &a, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s': select takes only options",
                        argv[optind]);
    c->open.flags |= GPUCTL_OPEN_NO_PROCESSES;
    rc = cli_open(c, &g);
    if (rc)
        return rc;
    rc = run(c, g, &a);
    gpuctl_free(g);
    return rc;
}
