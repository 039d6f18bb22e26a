/* job_opts.c: a job's GPU request from the command line. */
#include "cli/job_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/policy.h"
#include "sched/request.h"
#include "util/banned.h"
#include "util/duration.h"
#include "util/size.h"

static int set(struct job_opts *j, const char *key, json_t *v)
{
    if (!j->request)
        j->request = json_object();
    json_object_set_new(j->request, key, v);
    return -2;
}

static int count(struct cli *c, struct job_opts *j, const char *arg)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(arg, &end, 10);
    if (errno || *end || end == arg || n < 1 || n > SCHED_MAX_GPUS)
        return cli_fail(c, CLI_USAGE, "-n '%s' must be a number of GPUs from 1 to %d", arg,
                        SCHED_MAX_GPUS);
    return set(j, "gpu_count", json_integer(n));
}

static int memory(struct cli *c, struct job_opts *j, const char *arg)
{
    uint64_t bytes;

    if (size_parse(arg, &bytes) != 0 || bytes == 0)
        return cli_fail(c, CLI_USAGE, "--mem '%s' must be a size above 0: %s", arg, size_syntax);
    return set(j, "memory_gb", json_real((double)bytes / (1024.0 * 1024.0 * 1024.0)));
}

static int wait_for(struct cli *c, struct job_opts *j, const char *arg)
{
    double s;

    if (strcmp(arg, "forever") == 0)
        return set(j, "wait", json_string("forever"));
    if (duration_parse(arg, &s) != 0)
        return cli_fail(c, CLI_USAGE, "--wait '%s' must be %s, or forever", arg, duration_syntax);
    return set(j, "wait", json_real(s));
}

static int kind_or_framework(struct cli *c, struct job_opts *j, int opt, const char *arg)
{
    enum sched_kind k;
    enum framework f;

    if (opt == OPT_JOB_KIND && sched_kind_parse(arg, &k) != 0)
        return cli_fail(c, CLI_USAGE, "--kind '%s': the kinds are training, inference and other",
                        arg);
    if (opt == OPT_JOB_FRAMEWORK && framework_parse(arg, &f) != 0)
        return cli_fail(c, CLI_USAGE, "--framework '%s': use torch, tf or jax", arg);
    return set(j, opt == OPT_JOB_KIND ? "kind" : "framework", json_string(arg));
}

static int priority(struct cli *c, struct job_opts *j, const char *arg)
{
    char *end;
    long p;

    errno = 0;
    p = strtol(arg, &end, 10);
    if (errno || *end || end == arg || p < -1000 || p > 1000)
        return cli_fail(c, CLI_USAGE, "--priority '%s' must be a number from -1000 to 1000", arg);
    return set(j, "priority", json_integer(p));
}

static int job_option(struct cli *c, struct job_opts *j, int opt, const char *arg)
{
    switch (opt) {
    case 'n':
        return count(c, j, arg);
    case OPT_JOB_DEVICE:
        return set(j, "device", json_string(arg));
    case OPT_JOB_MEM:
        return memory(c, j, arg);
    case OPT_JOB_TYPE:
        return set(j, "gpu_type", json_string(arg));
    case OPT_JOB_KIND:
    case OPT_JOB_FRAMEWORK:
        return kind_or_framework(c, j, opt, arg);
    case OPT_JOB_FALLBACK:
        if (strcmp(arg, "cpu") != 0)
            return cli_fail(c, CLI_USAGE, "--fallback '%s': the fallback is cpu", arg);
        return set(j, "fallback", json_string("cpu"));
    case OPT_JOB_WAIT:
        return wait_for(c, j, arg);
    case OPT_JOB_PRIORITY:
        return priority(c, j, arg);
    case OPT_JOB_DISTRIBUTED:
        return set(j, "distributed_training", json_true());
    case OPT_JOB_PER_GPU:
        j->per_gpu = true;
        return set(j, "per_gpu", json_true());
    case OPT_JOB_DAEMON:
        j->daemon = arg;
        return -2;
    default:
        return -1;
    }
}

int job_parse(struct cli *c, struct job_opts *j, int argc, char **argv)
{
    static const struct option options[] = {JOB_OPTIONS, CLI_COMMON_OPTIONS};
    int opt, rc;

    /* "+": the options end at the command, whose own options are its business. */
    while ((opt = getopt_long(argc, argv, "+hn:", options, NULL)) != -1) {
        rc = job_option(c, j, opt, optarg);
        if (rc == -1)
            rc = cli_common_option(c, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind >= argc)
        return cli_fail(c, CLI_USAGE,
                        "no command: put it after the options, as in `gpuctl %s "
                        "-n 1 -- python train.py`",
                        c->command);
    return -2;
}
