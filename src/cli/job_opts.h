/* job_opts.h: the options `gpuctl run` and `gpuctl submit` share: what GPUs the command needs,
 * turned into the daemon's request (docs/api.md, POST /api/v1/gpu/allocate). */
#ifndef GPUCTL_CLI_JOB_OPTS_H
#define GPUCTL_CLI_JOB_OPTS_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"

enum {
    OPT_JOB_DEVICE = OPT_FIRST_COMMAND,
    OPT_JOB_MEM,
    OPT_JOB_TYPE,
    OPT_JOB_KIND,
    OPT_JOB_FRAMEWORK,
    OPT_JOB_FALLBACK,
    OPT_JOB_WAIT,
    OPT_JOB_PRIORITY,
    OPT_JOB_DISTRIBUTED,
    OPT_JOB_PER_GPU,
    OPT_JOB_DAEMON,
    OPT_JOB_FIRST_OWN /* a command's own options start here */
};

/* The long options of a job, to end with CLI_COMMON_OPTIONS. */
#define JOB_OPTIONS                                                                                \
    {"count", required_argument, NULL, 'n'}, {"device", required_argument, NULL, OPT_JOB_DEVICE},  \
        {"mem", required_argument, NULL, OPT_JOB_MEM},                                             \
        {"type", required_argument, NULL, OPT_JOB_TYPE},                                           \
        {"kind", required_argument, NULL, OPT_JOB_KIND},                                           \
        {"framework", required_argument, NULL, OPT_JOB_FRAMEWORK},                                 \
        {"fallback", required_argument, NULL, OPT_JOB_FALLBACK},                                   \
        {"wait", required_argument, NULL, OPT_JOB_WAIT},                                           \
        {"priority", required_argument, NULL, OPT_JOB_PRIORITY},                                   \
        {"distributed", no_argument, NULL, OPT_JOB_DISTRIBUTED},                                   \
        {"per-gpu", no_argument, NULL, OPT_JOB_PER_GPU},                                           \
    {                                                                                              \
        "daemon", required_argument, NULL, OPT_JOB_DAEMON                                          \
    }

/* The options' help lines. */
#define JOB_OPTIONS_HELP                                                                           \
    "  -n, --count N        GPUs (default 1)\n"                                                    \
    "  --device D           auto (default), cuda, cuda:N, rocm:N, xpu:N, cpu, or a GPU UUID\n"     \
    "  --mem SIZE           memory to reserve on each GPU, e.g. 16G\n"                             \
    "  --type MODEL         only GPUs of this model (A100, RTX3090)\n"                             \
    "  --kind K             training, inference or other (default): each GPU runs at most its\n"   \
    "                       limit of each kind (gpuctl limits)\n"                                  \
    "  --framework F        torch, tf or jax: their memory settings in the environment\n"          \
    "  --fallback cpu       take the CPU when no GPU can be had in time\n"                         \
    "  --wait T             how long to wait for GPUs: 30s, 10m, 0 (not at all), forever\n"        \
    "                       (default)\n"                                                           \
    "  --priority P         higher goes first (-1000 to 1000, default 0)\n"                        \
    "  --distributed        MASTER_ADDR, MASTER_PORT, WORLD_SIZE for torch.distributed\n"          \
    "  --per-gpu            one process per GPU, with RANK and LOCAL_RANK, as torchrun starts\n"   \
    "  --daemon ADDR        the daemon: unix:PATH or HOST:PORT (default: its unix socket)\n"

struct job_opts {
    json_t *request; /* the fields given, as the daemon reads them (NULL for none) */
    const char *daemon;
    bool per_gpu;
};

/* Parses a job's options (JOB_OPTIONS and CLI_COMMON_OPTIONS) up to its command. Returns -2 with
 * the command at argv[optind], or the exit code to stop with (release j->request). */
int job_parse(struct cli *c, struct job_opts *j, int argc, char **argv);

#endif
