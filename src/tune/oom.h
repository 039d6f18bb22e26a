/* oom.h: whether a failed trial ran out of memory, from what its framework wrote (the exact
 * messages of PyTorch, cuBLAS, cuDNN, TensorFlow, JAX/XLA and MPS) or how it died. */
#ifndef GPUCTL_TUNE_OOM_H
#define GPUCTL_TUNE_OOM_H

#include <stdbool.h>

/* A message that means out of memory. */
struct oom_match {
    const char *source; /* "PyTorch CUDA allocator", "cuDNN" ... (static) */
    bool probable;      /* the message is often, not always, memory (cuDNN's NOT_SUPPORTED) */
};

/* Looks for an out-of-memory message in one line of output. Returns whether there is one, with
 * *m filled (a definite message wins over a probable one already in *m: call it on every line
 * and keep *m). */
bool oom_scan_line(const char *line, struct oom_match *m);

/* The source and probability given to a trial killed by SIGKILL that gpuctl did not send:
 * the host's out-of-memory killer, most likely. */
extern const struct oom_match oom_host_killer;

#endif
