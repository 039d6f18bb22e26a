/* advise.h: guide 004's training settings for a machine: a starting batch size by GPU memory,
 * data-loader workers from the CPU cores per GPU, pinned memory, mixed precision from the
 * precision table and torch.compile, each with the reason. Pure: the caller reads the machine. */
#ifndef GPUCTL_TUNE_ADVISE_H
#define GPUCTL_TUNE_ADVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

/* What the advice is computed from. */
struct advise_machine {
    const struct gpuctl_device *gpu; /* the GPU to train on; NULL for the CPU */
    unsigned gpus;                   /* GPUs sharing the CPU (at least 1 counted) */
    unsigned cpu_threads;            /* logical CPUs; 0 when unknown */
    uint64_t ram_bytes;              /* 0 when unknown */
};

enum advise_type { ADVISE_INT, ADVISE_BOOL, ADVISE_STRING };

/* One setting, named as guide 004's configs name it. */
struct advise_setting {
    const char *key; /* "batch_size" */
    enum advise_type type;
    long number;      /* ADVISE_INT */
    bool flag;        /* ADVISE_BOOL */
    const char *text; /* ADVISE_STRING (static) */
    char why[200];
};

#define ADVISE_SETTINGS 8

struct advice {
    size_t n;
    struct advise_setting settings[ADVISE_SETTINGS];
};

/* Fills *a for machine m, settings in a fixed order: batch_size, num_workers, pin_memory,
 * persistent_workers, prefetch_factor, use_mixed_precision, precision, compile_model. */
void advise_compute(const struct advise_machine *m, struct advice *a);

/* The setting's value as YAML writes it ("64", "true", "bf16-mixed") into buf. Returns buf. */
const char *advise_value(const struct advise_setting *s, char *buf, size_t len);

/* The setting named key, or NULL. */
const struct advise_setting *advise_find(const struct advice *a, const char *key);

#endif
