/* trial.h: one trial of `gpuctl tune`: the command run once at one batch size, in its own
 * process group, until it ends or its time runs out; what became of it (success, out of
 * memory, failure, timeout), its throughput, the tail of its stderr, and the GPU memory and
 * utilization sampled meanwhile. */
#ifndef GPUCTL_TUNE_TRIAL_H
#define GPUCTL_TUNE_TRIAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "tune/metric.h"
#include "tune/oom.h"

enum trial_outcome {
    TRIAL_OK,
    TRIAL_OOM,
    TRIAL_FAILED,      /* any other non-zero exit or signal; 127: the command cannot run */
    TRIAL_TIMEOUT,     /* killed after the trial timeout */
    TRIAL_INTERRUPTED, /* killed because *stop was set (Ctrl-C) */
};

/* "ok", "oom", "failed", "timeout", "interrupted". */
const char *trial_outcome_name(enum trial_outcome o);

/* One reading of the trial's GPU, taken by the caller's sampler. */
struct trial_sample {
    bool has_memory;
    uint64_t memory_used; /* bytes */
    bool has_util;
    unsigned util; /* percent */
};

struct trial_spec {
    char *const *argv; /* the command; "{}" in any argument becomes the batch size */
    unsigned batch;    /* also given as GPUCTL_BATCH_SIZE */
    double timeout_s;  /* > 0 */
    const struct metric *metric;
    double sample_every_s; /* how often to call sample; also once at the start and the end */
    void (*sample)(void *ctx, struct trial_sample *out); /* may be NULL */
    void *sample_ctx;
    volatile sig_atomic_t *stop; /* set from a signal handler to end the trial (may be NULL) */
};

#define TRIAL_TAIL 2048 /* bytes of stderr kept */

struct trial_result {
    enum trial_outcome outcome;
    int exit_code;  /* with WIFEXITED, else -1 */
    int signal;     /* the signal that ended it, else 0 */
    double seconds; /* wall time from start to exit */
    struct metric_value metric;
    struct oom_match oom; /* with TRIAL_OOM: what said so */
    bool has_peak_memory;
    uint64_t peak_memory;
    unsigned util_samples;
    double util_mean;
    char tail[TRIAL_TAIL]; /* the last lines of its stderr, terminated */
};

/*
 * Runs the trial to its end: stdin from /dev/null, stdout and stderr read line by line ("\n"
 * and tqdm's "\r" end a line) for the metric and out-of-memory messages. On timeout or *stop,
 * the group gets SIGTERM, then SIGKILL 3 s later; whatever the outcome, the whole group is
 * killed once the command ended, so that nothing of it holds GPU memory into the next trial.
 * Returns 0 with *r filled, or GPUCTL_ENOMEM / GPUCTL_EIO when it could not start the trial
 * (a command that does not exist is a TRIAL_FAILED with exit code 127).
 */
int trial_run(const struct trial_spec *spec, struct trial_result *r);

/* The command with "{}" replaced by batch, NULL-terminated; free with trial_argv_free(). NULL
 * when out of memory. */
char **trial_argv(char *const *argv, unsigned batch);
void trial_argv_free(char **argv);

#endif
