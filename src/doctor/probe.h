/* probe.h: asking Python interpreters what their frameworks see, each in one subprocess with a
 * time limit, all at once. The script is probe.py, built into gpuctl. */
#ifndef GPUCTL_DOCTOR_PROBE_H
#define GPUCTL_DOCTOR_PROBE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum probe_state {
    PROBE_DONE,    /* the script ran to its end */
    PROBE_MISSING, /* the interpreter does not exist or cannot be executed */
    PROBE_HUNG,    /* killed at the time limit */
    PROBE_CRASHED, /* ended before the end of the script (a signal, an exit, garbage) */
};

struct probe_result {
    char python[PATH_MAX]; /* as given or found on PATH */
    enum probe_state state;
    char message[512];   /* why it is not PROBE_DONE */
    char stopped_in[32]; /* the framework being imported when it hung or crashed; "" */
    char stderr_tail[512];
    double seconds;
    json_t *header;     /* {"python": "3.11.2", "executable", "prefix"}; NULL if never printed */
    json_t *frameworks; /* object: name -> the script's report; only those it reached */
};

/* The script, built from probe.py (probe_py.c, generated). */
extern const char probe_script[];

/* Finds `name` on PATH as the shell would. Writes its path and returns true, or false. */
bool probe_which(const char *name, char *out, size_t len);

/* Runs the script in every results[i].python at once, each for at most timeout_s seconds (its
 * whole process group is killed then), in this process's environment. Fills every result.
 * Returns 0, or GPUCTL_ENOMEM. */
int probe_run(struct probe_result *results, size_t n, double timeout_s);

/* Releases the JSON a result holds. */
void probe_release(struct probe_result *p);

#endif
