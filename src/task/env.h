/* env.h: the environment a program gets for the GPUs it was given: the masks of its GPUs'
 * runtimes, settings per framework, the precision advice, and torchrun's variables for
 * distributed work. Shared by `gpuctl env` (no reservation) and the daemon. */
#ifndef GPUCTL_TASK_ENV_H
#define GPUCTL_TASK_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

#include "sched/request.h"

/* One GPU given to the program. */
struct env_gpu {
    enum gpuctl_vendor vendor;
    int physical_index; /* in its runtime's PCI order, before any mask */
    char uuid[96];
    uint64_t total;  /* its memory, bytes; 0 when unknown */
    uint64_t memory; /* reserved on it, bytes; 0 for none */
};

struct env_options {
    enum framework framework;
    const char *precision; /* "bf16-mixed" ...; NULL to leave out */
    bool use_uuids;        /* name GPUs by UUID (indices would be ambiguous to CUDA) */
    bool distributed;      /* MASTER_ADDR, MASTER_PORT, WORLD_SIZE, LOCAL_WORLD_SIZE */
    int master_port;       /* with distributed; 0 picks a free one */
    int rank;              /* >= 0: RANK and LOCAL_RANK of one process per GPU */
    double fraction;       /* the request's gpu_memory_fraction, 0 when none */
};

/*
 * The variables to set, as a JSON object of name -> value; a null value means "unset it" (a
 * mask the caller had that would hide the GPUs given). With no GPU (the CPU was given), every
 * GPU runtime's mask hides all GPUs. NULL when out of memory.
 */
json_t *env_compose(const struct env_gpu *gpus, size_t n, const struct env_options *o);

/* The precision every one of devs (n; none means the CPU) takes: bf16-mixed only if all take
 * it, then 16-mixed, else 32-true. */
const char *env_precision(const struct gpuctl_device *const *devs, size_t n);

/* A free TCP port on the loopback, for MASTER_PORT; 29500 (torchrun's) when none is found. */
int env_free_port(void);

/* Writes the variables as shell lines ("export NAME='value'", "unset NAME") to out. */
void env_print_shell(const json_t *env, FILE *out);

#endif
