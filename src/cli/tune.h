/* tune.h: the parts of `gpuctl tune` (cmd_tune.c): where its trials run (tune_gpu.c) and what
 * it prints (tune_report.c). */
#ifndef GPUCTL_CLI_TUNE_H
#define GPUCTL_CLI_TUNE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "tune/search.h"
#include "tune/trial.h"

struct client;

/* The GPU the trials run on, and how it was had. */
struct tune_gpu {
    struct gpuctl *g;                /* the machine, read again for each sample */
    const struct gpuctl_device *dev; /* in g; NULL when the daemon's GPU is not in g */
    char device[32];                 /* "cuda:0", "cpu" */
    char name[96];
    char uuid[96];
    struct client *cl;    /* the daemon that gave it, or NULL */
    long long allocation; /* its allocation id; 0 without a daemon */
};

/*
 * Takes the GPU `device` names ("auto" for the best): through the daemon's scheduler when one
 * answers (waiting its turn; `daemon` or $GPUCTL_DAEMON names one that must answer), else
 * straight from the device layer. Sets the trials' environment (CUDA_VISIBLE_DEVICES and the
 * others) in this process's. Returns CLI_OK, or the exit code after saying why (130 when *stop
 * was set while queued). Release with tune_gpu_release() either way.
 */
int tune_gpu_take(struct cli *c, const char *device, const char *daemon,
                  volatile sig_atomic_t *stop, struct tune_gpu *t);

/* A trial_spec sampler: the memory used and utilization of t's GPU now. */
void tune_gpu_sample(void *t, struct trial_sample *out);

/* Gives the GPU back to the daemon and frees t's contents. */
void tune_gpu_release(struct tune_gpu *t);

/* Where a trial's throughput comes from, fixed by the first trial that fits. */
enum tune_signal {
    TUNE_SIGNAL_NONE,   /* no trial fitted yet */
    TUNE_SIGNAL_METRIC, /* the program printed it */
    TUNE_SIGNAL_STEPS,  /* batch x --steps / wall time */
    TUNE_SIGNAL_UTIL,   /* mean GPU utilization: a weak signal */
    TUNE_SIGNAL_FIT,    /* nothing to measure: larger is better, as Lightning's search */
};

/* How the search ended. */
enum tune_stop {
    TUNE_STOP_DONE,
    TUNE_STOP_NOTHING_FITS, /* --min ran out of memory */
    TUNE_STOP_FAILED,       /* a trial failed otherwise */
    TUNE_STOP_TIMEOUT,      /* a trial ran past --trial-timeout */
    TUNE_STOP_NO_METRIC,    /* a trial that fitted printed no throughput when others did */
    TUNE_STOP_INTERRUPTED,  /* Ctrl-C */
};

struct tune_trial {
    unsigned batch;
    enum tune_phase phase;
    double throughput; /* with outcome ok */
    struct trial_result r;
};

/* Everything `gpuctl tune` learnt, for the report. */
struct tune_run {
    const struct tune_gpu *gpu;
    char *const *command;
    enum tune_signal signal;
    const char *unit; /* "samples/s", "metric", "% GPU busy" ... */
    size_t n;
    struct tune_trial trials[TUNE_MAX_POINTS];
    struct tune_search search;
    enum tune_stop stop;
    char message[512]; /* why it stopped, when not done */
};

/* "done", "nothing_fits", "failed", "timeout", "no_metric", "interrupted". */
const char *tune_stop_name(enum tune_stop s);

/* Prints the trials, the recommendation and why it stopped: a table, or with json one
 * document (docs/tune.md). Returns the exit code: 0 done, 1 failure, 130 interrupted. */
int tune_report(const struct cli *c, struct tune_run *run);

#endif
