/* health.h: whether each GPU may take work: conditions raised by XID and ECC events and by what
 * each sample shows, each held for a while after it was last seen, so that a GPU recovers by
 * itself once its conditions stay clear; an admin can clear them at once. Thread-safe. */
#ifndef GPUCTL_MONITOR_HEALTH_H
#define GPUCTL_MONITOR_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

#include "config/config.h"

enum health_state { HEALTH_HEALTHY, HEALTH_DEGRADED, HEALTH_UNHEALTHY };

/* "healthy", "degraded", "unhealthy". */
const char *health_state_name(enum health_state s);

#define HEALTH_MAX_CONDITIONS 8

struct health_condition {
    enum health_state severity;
    char key[16];   /* "xid:79", "lost", "ecc", "remap", "slowdown" */
    char what[192]; /* "XID 79: the GPU has fallen off the bus" */
    int64_t first_ms, last_ms;
};

/* One device's health as a snapshot shows it. */
struct device_health {
    enum health_state state;
    int64_t since_ms; /* when it entered that state */
    bool has_xid;
    int last_xid;
    int64_t last_xid_ms;
    uint64_t xid_events; /* XIDs counted (application XIDs are not) */
    size_t nconditions;
    struct health_condition conditions[HEALTH_MAX_CONDITIONS];
};

struct health;

/* Health for ndev devices, all healthy since now_ms; NULL when out of memory. cfg must outlive
 * it. */
struct health *health_new(const struct health_config *cfg, size_t ndev, int64_t now_ms);

/* health_free(NULL) does nothing. */
void health_free(struct health *h);

/* An XID of device dev: raises an unhealthy or degraded condition by the configured lists;
 * application XIDs are only logged; others are counted and logged. */
void health_xid(struct health *h, size_t dev, int xid, int64_t now_ms);

/* A double-bit ECC event: an unhealthy condition. */
void health_ecc_event(struct health *h, size_t dev, int64_t now_ms);

/* What a sample of device dev shows: a lost GPU or one the driver cannot use, volatile
 * double-bit errors (until a GPU reset clears them or an admin reset accepts them), a failed or
 * pending row remapping, a burst of hardware slowdowns. */
void health_observe(struct health *h, size_t dev, const struct gpuctl_device *d, int64_t now_ms);

/* Drops conditions clear for the recovery hold and sets each device's state from those left.
 * Copies every device's health to out (room for n), and sets changed[i] (may be NULL) when
 * device i changed state. Returns how many changed. */
size_t health_evaluate(struct health *h, int64_t now_ms, struct device_health *out, size_t n,
                       bool *changed);

/* Clears every condition of device dev and accepts its double-bit ECC count (an admin's
 * reset). Returns 0, or GPUCTL_ERANGE for a device that does not exist. */
int health_reset(struct health *h, size_t dev, int64_t now_ms);

#endif
