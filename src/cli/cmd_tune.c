/* cmd_tune.c: `gpuctl tune`: run a training command at one batch size after another on one GPU
 * and recommend the size with the best throughput (the search: src/tune/search.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tune.h"
#include "util/banned.h"
#include "util/duration.h"
#include "util/size.h"

static const char usage[] =
    "usage: gpuctl tune [--min N] [--max N] [--metric-regex RE] [--steps N]\n"
    "                   [--trial-timeout T] [--device D] [--daemon ADDR] [--json] -- CMD ...{}...\n"
    "\n"
    "Runs CMD once per candidate batch size, {} in its arguments (and GPUCTL_BATCH_SIZE) being\n"
    "the size, one trial at a time on one GPU: taken through the daemon's scheduler when one\n"
    "answers, else the best GPU now. Doubles from --min until a size runs out of memory or stops\n"
    "improving throughput by more than 5%, narrows down to the memory limit (multiples of 8\n"
    "from 64 up), and recommends the smallest size within 2% of the best throughput seen.\n"
    "\n"
    "  --min N            the first size (default 1)\n"
    "  --max N            the largest size to try (default 4096)\n"
    "  --metric-regex RE  throughput is the last number RE matches in CMD's output (its first\n"
    "                     group, if it has one); by default gpuctl reads samples/s, img/s,\n"
    "                     it/s (times the size), s/it and train_samples_per_second\n"
    "  --steps N          CMD runs N steps: throughput is size x N / its wall time, when it\n"
    "                     prints none\n"
    "  --trial-timeout T  a trial running longer is killed and the search stops (default 300s)\n"
    "  --device D         auto (default), cuda:N, a GPU UUID, or cpu\n"
    "  --daemon ADDR      the daemon that must give the GPU: unix:PATH or HOST:PORT\n"
    "  --json             the trials and the result as JSON\n"
    "Without a throughput in the output and without --steps, the mean GPU utilization during a\n"
    "trial stands in for it: a weak signal (a GPU can be busy and slow).\n"
    "exit status: 0 a size recommended; 1 a trial failed or timed out, or --min does not fit;\n"
    "2 bad usage; 3 no GPU or no daemon at --daemon; 130 interrupted (what is known is shown)\n";

enum {
    OPT_MIN = OPT_FIRST_COMMAND,
    OPT_MAX,
    OPT_REGEX,
    OPT_STEPS,
    OPT_TIMEOUT,
    OPT_DEVICE,
    OPT_DAEMON
};

struct tune_args {
    unsigned min, max, steps;
    const char *regex, *device, *daemon;
    double timeout_s;
};

/* Set by the signal handler: the one piece of state a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    stop_requested = sig;
}

static int whole(const struct cli *c, const char *opt, const char *arg, unsigned lo, unsigned hi,
                 unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno || *end || end == arg || arg[0] == '-' || v < lo || v > hi)
        return cli_fail(c, CLI_USAGE, "%s '%s' must be a whole number from %u to %u", opt, arg, lo,
                        hi);
    *out = (unsigned)v;
    return -2;
}

static int parse_option(struct cli *c, struct tune_args *a, int opt, const char *arg)
{
    switch (opt) {
    case OPT_MIN:
        return whole(c, "--min", arg, 1, TUNE_MAX_SIZE, &a->min);
    case OPT_MAX:
        return whole(c, "--max", arg, 1, TUNE_MAX_SIZE, &a->max);
    case OPT_STEPS:
        return whole(c, "--steps", arg, 1, 1000000000u, &a->steps);
    case OPT_REGEX:
        a->regex = arg;
        return -2;
    case OPT_TIMEOUT:
        if (duration_parse(arg, &a->timeout_s) != 0 || !(a->timeout_s > 0))
            return cli_fail(c, CLI_USAGE, "--trial-timeout '%s' must be a time above 0: %s", arg,
                            duration_syntax);
        return -2;
    case OPT_DEVICE:
        a->device = arg;
        return -2;
    case OPT_DAEMON:
        a->daemon = arg;
        return -2;
    default:
        return cli_common_option(c, opt, arg);
    }
}

static int parse(struct cli *c, struct tune_args *a, int argc, char **argv)
{
    static const struct option options[] = {
        {"min", required_argument, NULL, OPT_MIN},
        {"max", required_argument, NULL, OPT_MAX},
        {"metric-regex", required_argument, NULL, OPT_REGEX},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"trial-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"daemon", required_argument, NULL, OPT_DAEMON},
        CLI_COMMON_OPTIONS,
    };
    int opt, rc;

    /* "+": the options end at the command, whose own options are its business. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        rc = parse_option(c, a, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind >= argc)
        return cli_fail(c, CLI_USAGE,
                        "no command: put it after the options, with {} where the "
                        "batch size goes, as in `gpuctl tune -- python train.py "
                        "--batch-size {}`");
    if (a->min > a->max)
        return cli_fail(c, CLI_USAGE,
                        "--min %u is above --max %u: the search runs from --min up "
                        "to --max",
                        a->min, a->max);
    return -2;
}

/* The throughput of a trial that fitted, by the run's signal (fixed by the first such trial).
 * Returns false when the trial lacks the signal the others had. */
static bool throughput_of(struct tune_run *run, const struct tune_args *a, struct tune_trial *t)
{
    const struct trial_result *r = &t->r;

    if (run->signal == TUNE_SIGNAL_NONE) {
        run->signal = r->metric.found   ? TUNE_SIGNAL_METRIC
                      : a->steps        ? TUNE_SIGNAL_STEPS
                      : r->util_samples ? TUNE_SIGNAL_UTIL
                                        : TUNE_SIGNAL_FIT;
        run->unit = run->signal == TUNE_SIGNAL_METRIC  ? (a->regex ? "metric" : "samples/s")
                    : run->signal == TUNE_SIGNAL_STEPS ? "samples/s"
                    : run->signal == TUNE_SIGNAL_UTIL  ? "% GPU busy"
                                                       : "fit only";
    }
    switch (run->signal) {
    case TUNE_SIGNAL_METRIC:
        t->throughput = r->metric.per_second;
        return r->metric.found && r->metric.per_second > 0;
    case TUNE_SIGNAL_STEPS:
        t->throughput = t->batch * (double)a->steps / (r->seconds > 1e-6 ? r->seconds : 1e-6);
        return true;
    case TUNE_SIGNAL_UTIL:
        /* An idle GPU still ranks: the search needs a positive number. */
        t->throughput = r->util_mean > 0.01 ? r->util_mean : 0.01;
        return r->util_samples > 0;
    default:
        t->throughput = t->batch;
        return true;
    }
}

static void progress(const struct tune_run *run, const struct tune_trial *t, bool done)
{
    bool tty = isatty(2);
    char mem[32] = "-";

    if (!done) {
        if (tty)
            fprintf(stderr, "\rgpuctl tune: trial %zu: batch size %u (%s) ...", run->n + 1,
                    t->batch, tune_phase_name(t->phase));
        return;
    }
    if (t->r.has_peak_memory)
        size_format(t->r.peak_memory, mem, sizeof(mem));
    fprintf(stderr, "%sgpuctl tune: trial %zu: batch size %u: %s", tty ? "\r\033[K" : "", run->n,
            t->batch, trial_outcome_name(t->r.outcome));
    if (t->r.outcome == TRIAL_OK)
        fprintf(stderr, ", %.1f %s", t->throughput, run->unit);
    fprintf(stderr, ", peak memory %s, %.1f s\n", mem, t->r.seconds);
}

/* Why a trial that did not fit or succeed ends the search; sets run->stop and message. */
static bool stops(struct tune_run *run, const struct tune_trial *t, const struct tune_args *a)
{
    const struct trial_result *r = &t->r;

    switch (r->outcome) {
    case TRIAL_FAILED:
        run->stop = TUNE_STOP_FAILED;
        if (r->exit_code >= 0)
            snprintf(run->message, sizeof(run->message),
                     "the trial at batch size %u failed (exit status %d) without running out of "
                     "memory",
                     t->batch, r->exit_code);
        else
            snprintf(run->message, sizeof(run->message),
                     "the trial at batch size %u was killed by signal %d (%s)", t->batch, r->signal,
                     strsignal(r->signal));
        return true;
    case TRIAL_TIMEOUT:
        run->stop = TUNE_STOP_TIMEOUT;
        snprintf(run->message, sizeof(run->message),
                 "the trial at batch size %u ran past --trial-timeout (%.0f s) and was killed; "
                 "give it more time, or fewer steps",
                 t->batch, a->timeout_s);
        return true;
    case TRIAL_INTERRUPTED:
        run->stop = TUNE_STOP_INTERRUPTED;
        snprintf(run->message, sizeof(run->message),
                 "interrupted during the trial at batch size %u", t->batch);
        return true;
    default:
        return false;
    }
}

/* Runs trials until the search is over or one ends it. */
static int search(struct tune_run *run, const struct tune_args *a, const struct metric *m,
                  struct tune_gpu *gpu)
{
    unsigned size;

    while (!stop_requested && tune_search_next(&run->search, &size)) {
        struct tune_trial *t = &run->trials[run->n];
        struct trial_spec spec = {run->command,    size, a->timeout_s,   m, 0.25,
                                  tune_gpu_sample, gpu,  &stop_requested};
        t->batch = size;
        t->phase = run->search.phase;
        progress(run, t, false);
        int rc = trial_run(&spec, &t->r);
        if (rc != 0) {
            run->stop = TUNE_STOP_FAILED;
            snprintf(run->message, sizeof(run->message), "cannot start a trial: %s",
                     gpuctl_strerror(rc));
            return 0;
        }
        run->n++;
        bool fits = t->r.outcome == TRIAL_OK;
        if (fits && !throughput_of(run, a, t)) {
            run->stop = TUNE_STOP_NO_METRIC;
            snprintf(run->message, sizeof(run->message),
                     "the trial at batch size %u printed no throughput that --metric-regex or the "
                     "built-in patterns match, although earlier trials did",
                     size);
            progress(run, t, true);
            return 0;
        }
        progress(run, t, true);
        if (stops(run, t, a))
            return 0;
        tune_search_record(&run->search, size, fits, t->throughput);
    }
    if (stop_requested && run->stop == TUNE_STOP_DONE) {
        run->stop = TUNE_STOP_INTERRUPTED;
        snprintf(run->message, sizeof(run->message), "interrupted");
    }
    return 0;
}

int cmd_tune(struct cli *c, int argc, char **argv)
{
    struct tune_args a = {.min = 1, .max = 4096, .device = "auto", .timeout_s = 300};
    struct sigaction sa = {.sa_handler = on_signal};
    struct tune_run *run = NULL;
    struct tune_gpu gpu = {0};
    struct metric m;
    char msg[512];
    int rc;

    c->usage = usage;
    rc = parse(c, &a, argc, argv);
    if (rc != -2)
        return rc;
    if (metric_init(&m, a.regex, msg, sizeof(msg)) != 0)
        return cli_fail(c, CLI_USAGE, "%s", msg);
    run = calloc(1, sizeof(*run));
    if (!run) {
        rc = cli_fail(c, CLI_FAILURE, "out of memory");
        goto out;
    }
    run->command = argv + optind;
    tune_search_init(&run->search, a.min, a.max);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    rc = tune_gpu_take(c, a.device, a.daemon, &stop_requested, &gpu);
    if (rc != CLI_OK)
        goto out;
    run->gpu = &gpu;
    bool marked = false;
    for (char *const *p = run->command; *p; p++)
        marked = marked || strstr(*p, "{}");
    if (!marked)
        fprintf(stderr, "gpuctl tune: no {} in the command: it gets the batch size only as "
                        "GPUCTL_BATCH_SIZE\n");
    search(run, &a, &m, &gpu);
    rc = tune_report(c, run);
out:
    tune_gpu_release(&gpu);
    metric_release(&m);
    free(run);
    return rc;
}
