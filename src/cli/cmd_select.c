/* cmd_select.c: `gpuctl select`: the best GPUs for a job, as a CUDA_VISIBLE_DEVICES value. */
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
    "                     [--format index|uuid] [--json]\n"
    "\n"
    "Prints the chosen GPUs as a comma list for CUDA_VISIBLE_DEVICES, best first:\n"
    "  CUDA_VISIBLE_DEVICES=$(gpuctl select -n 2 --min-free-memory 20G) python train.py\n"
    "GPUs rank by most free memory, then lowest utilization, then the higher index.\n"
    "Indices are PCI-order indices (set CUDA_DEVICE_ORDER=PCI_BUS_ID, or use --format uuid).\n"
    "\n"
    "  -n, --count COUNT          GPUs wanted (default 1)\n"
    "  --min-free-memory SIZE     at least this much free memory, e.g. 8G\n"
    "  --max-utilization PERCENT  at most this GPU utilization, 0-100\n"
    "  --type MODEL               model name contains MODEL, any case (A100, 4090)\n"
    "  --device DEVICE            auto (default: GPUs, else the CPU), cuda, cuda:N, cpu, UUID\n"
    "  --format index|uuid        print PCI-order indices (default) or UUIDs\n"
    "  --json                     print the chosen devices as JSON\n"
    "exit status: 0 chosen, 2 bad option, 3 fewer GPUs fit than asked\n";

enum { OPT_MIN_FREE = OPT_FIRST_COMMAND, OPT_MAX_UTIL, OPT_TYPE, OPT_DEVICE, OPT_FORMAT };

struct select_args {
    struct gpuctl_select_request req;
    bool uuids;
};

/* Parses a whole non-negative decimal number no larger than max; returns -1 otherwise. */
static long parse_number(const char *s, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 0 || v > max || s[0] == '-' || s[0] == '+')
        return -1;
    return v;
}

static int parse_option(struct cli *c, struct select_args *a, int opt, const char *arg)
{
    long v;
    int rc;

    switch (opt) {
    case 'n':
        v = parse_number(arg, GPUCTL_MAX_SELECT);
        if (v < 1)
            return cli_fail(c, CLI_USAGE, "-n needs a number of GPUs from 1 to %d, got '%s'",
                            GPUCTL_MAX_SELECT, arg);
        a->req.count = (unsigned)v;
        return -2;
    case OPT_MIN_FREE:
        rc = size_parse(arg, &a->req.min_free_memory_bytes);
        if (rc)
            return cli_fail(c, CLI_USAGE, "--min-free-memory '%s' is not a size: use %s", arg,
                            size_syntax);
        return -2;
    case OPT_MAX_UTIL: {
        char buf[32];
        size_t n = str_copy(buf, arg, sizeof(buf));
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
    case OPT_TYPE:
        a->req.type = arg;
        return -2;
    case OPT_DEVICE:
        a->req.device = arg;
        return -2;
    case OPT_FORMAT:
        if (strcmp(arg, "index") != 0 && strcmp(arg, "uuid") != 0)
            return cli_fail(c, CLI_USAGE, "--format must be index or uuid, got '%s'", arg);
        a->uuids = strcmp(arg, "uuid") == 0;
        return -2;
    default:
        return cli_common_option(c, opt, arg);
    }
}

/* The CUDA_VISIBLE_DEVICES value for a selection: "" for the CPU. */
static void visible_value(const struct gpuctl_selection *sel, bool uuids, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < sel->count; i++) {
        const struct gpuctl_device *d = sel->devices[i];
        if (d->vendor == GPUCTL_VENDOR_CPU)
            continue;
        if (uuids)
            str_appendf(buf, len, "%s%s", buf[0] ? "," : "", d->uuid);
        else
            str_appendf(buf, len, "%s%d", buf[0] ? "," : "", d->physical_index);
    }
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
    return json_pack(
        "{s:o, s:s, s:o}", "devices", devices, "cuda_visible_devices", visible, "precision",
        gpuctl_precision_name(lowest) ? json_string(gpuctl_precision_name(lowest)) : json_null());
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

static int report(struct cli *c, const struct select_args *a, const struct gpuctl_selection *sel)
{
    char visible[2048];

    visible_value(sel, a->uuids, visible, sizeof(visible));
    if (c->json)
        return cli_print_json(selection_json(sel, visible));
    printf("%s\n", visible);
    return CLI_OK;
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
    struct gpuctl_selection *sel = NULL;
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
    sel = malloc(sizeof(*sel));
    if (!sel) {
        rc = cli_fail(c, CLI_FAILURE, "out of memory");
        goto out;
    }
    switch (gpuctl_select(g, &a.req, sel)) {
    case 0:
        rc = report(c, &a, sel);
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
out:
    free(sel);
    gpuctl_free(g);
    return rc;
}
