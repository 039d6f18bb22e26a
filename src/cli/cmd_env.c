/* cmd_env.c: `gpuctl env`: the environment a program gets for the best GPUs now, as export
 * lines for a shell: the same variables a task of the daemon gets, with nothing reserved. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "task/env.h"
#include "util/banned.h"
#include "util/size.h"

static const char usage[] =
    "usage: gpuctl env [--framework torch|tf|jax] [--device D] [-n N] [--mem SIZE] [--type MODEL]\n"
    "                  [--distributed] [--json]\n"
    "\n"
    "Prints export lines for the best GPUs now (as gpuctl select chooses them) with the settings\n"
    "gpuctl's tasks get: CUDA_VISIBLE_DEVICES and the AMD and Intel masks, CUDA_DEVICE_ORDER,\n"
    "the framework's memory settings and GPUCTL_PRECISION. Nothing is reserved: to keep other\n"
    "jobs off the GPUs, use gpuctl run. In a shell:\n"
    "  eval \"$(gpuctl env --framework torch)\"\n"
    "\n"
    "  --framework F      torch, tf or jax\n"
    "  --device D         auto (default), cuda, cuda:N, cpu, or a GPU UUID\n"
    "  -n, --count N      GPUs (default 1)\n"
    "  --mem SIZE         at least this much free memory on each; with jax, the share\n"
    "                     XLA_PYTHON_CLIENT_MEM_FRACTION gives it\n"
    "  --type MODEL       only GPUs of this model\n"
    "  --distributed      MASTER_ADDR, MASTER_PORT (a free port), WORLD_SIZE, LOCAL_WORLD_SIZE\n"
    "  --json             the variables as a JSON object (null: unset it)\n"
    "exit status: 0, 2 bad option, 3 no GPU fits (use --device cpu for the CPU)\n";

enum { OPT_FRAMEWORK = OPT_FIRST_COMMAND, OPT_DEVICE, OPT_MEM, OPT_TYPE, OPT_DISTRIBUTED };

struct env_args {
    struct gpuctl_select_request req;
    struct env_options o;
};

static int parse_option(struct cli *c, struct env_args *a, int opt, const char *arg)
{
    char *end;
    long n;

    switch (opt) {
    case 'n':
        errno = 0;
        n = strtol(arg, &end, 10);
        if (errno || *end || end == arg || n < 1 || n > GPUCTL_MAX_SELECT)
            return cli_fail(c, CLI_USAGE, "-n needs a number of GPUs from 1 to %d, got '%s'",
                            GPUCTL_MAX_SELECT, arg);
        a->req.count = (unsigned)n;
        return -2;
    case OPT_FRAMEWORK:
        if (framework_parse(arg, &a->o.framework) != 0)
            return cli_fail(c, CLI_USAGE, "--framework '%s': use torch, tf or jax", arg);
        return -2;
    case OPT_DEVICE:
        a->req.device = arg;
        return -2;
    case OPT_MEM:
        if (size_parse(arg, &a->req.min_free_memory_bytes) != 0)
            return cli_fail(c, CLI_USAGE, "--mem '%s' is not a size: use %s", arg, size_syntax);
        return -2;
    case OPT_TYPE:
        a->req.type = arg;
        return -2;
    case OPT_DISTRIBUTED:
        a->o.distributed = true;
        return -2;
    default:
        return cli_common_option(c, opt, arg);
    }
}

/* The environment for the selected devices. */
static json_t *compose(const struct gpuctl_selection *sel, struct env_args *a)
{
    struct env_gpu gpus[GPUCTL_MAX_SELECT];
    const struct gpuctl_device *devs[GPUCTL_MAX_SELECT];
    size_t n = 0;

    for (size_t i = 0; i < sel->count; i++) {
        const struct gpuctl_device *d = sel->devices[i];
        if (d->vendor == GPUCTL_VENDOR_CPU)
            continue;
        devs[n] = d;
        gpus[n] = (struct env_gpu){
            .vendor = d->vendor,
            .physical_index = d->physical_index,
            .total = gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) ? d->memory_total_bytes : 0,
            .memory = a->req.min_free_memory_bytes,
        };
        snprintf(gpus[n].uuid, sizeof(gpus[n].uuid), "%s", d->uuid);
        n++;
    }
    a->o.precision = env_precision(devs, n);
    return env_compose(gpus, n, &a->o);
}

static int run(struct cli *c, const struct gpuctl *g, struct env_args *a)
{
    struct gpuctl_selection *sel = malloc(sizeof(*sel));
    json_t *env;
    int rc;

    if (!sel)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    rc = gpuctl_select(g, &a->req, sel);
    if (rc) {
        rc = cli_fail(c,
                      rc == GPUCTL_EINVAL   ? CLI_USAGE
                      : rc == GPUCTL_ENODEV ? CLI_UNAVAILABLE
                                            : CLI_FAILURE,
                      "%s", sel->message);
        free(sel);
        return rc;
    }
    env = compose(sel, a);
    free(sel);
    if (!env)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    if (c->json)
        return cli_print_json(env);
    env_print_shell(env, stdout);
    json_decref(env);
    return CLI_OK;
}

int cmd_env(struct cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'n'},
        {"framework", required_argument, NULL, OPT_FRAMEWORK},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"mem", required_argument, NULL, OPT_MEM},
        {"type", required_argument, NULL, OPT_TYPE},
        {"distributed", no_argument, NULL, OPT_DISTRIBUTED},
        CLI_COMMON_OPTIONS,
    };
    struct env_args a = {.req = {.count = 1, .max_utilization_percent = GPUCTL_UTIL_ANY},
                         .o = {.rank = -1}};
    struct gpuctl *g = NULL;
    int opt, rc;

    c->usage = usage;
    while ((opt = getopt_long(argc, argv, "hn:", options, NULL)) != -1) {
        rc = parse_option(c, &a, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s': env takes only options",
                        argv[optind]);
    c->open.flags |= GPUCTL_OPEN_NO_PROCESSES;
    rc = cli_open(c, &g);
    if (rc)
        return rc;
    rc = run(c, g, &a);
    gpuctl_free(g);
    return rc;
}
