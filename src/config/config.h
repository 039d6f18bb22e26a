/* config.h: the daemon's configuration: guide 001's YAML keys plus gpuctl's own, checked at load
 * so that a bad file stops the daemon with the key, the line and what is allowed. */
#ifndef GPUCTL_CONFIG_CONFIG_H
#define GPUCTL_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

#define CONFIG_MAX_LISTEN          8
#define CONFIG_MAX_TOKENS          32
#define CONFIG_MAX_XIDS            64
#define CONFIG_MAX_ENTRIES         64
#define CONFIG_MAX_SLOWDOWN_EVENTS 256   /* the most slowdown_events a burst may need */
#define CONFIG_MAX_HISTORY_SAMPLES 86400 /* history / monitor_update_interval, per GPU */

struct config_token {
    char token[128];
    char user[64];
    bool admin;
};

/* An XID list and its length. */
struct xid_list {
    int v[CONFIG_MAX_XIDS];
    size_t n;
};

struct health_config {
    struct xid_list unhealthy, degraded, ignored;
    double recovery_hold;     /* seconds a condition must stay clear before the GPU recovers */
    unsigned slowdown_events; /* hardware-slowdown samples that make a burst ... */
    double slowdown_window;   /* ... within this many seconds */
};

struct sched_config {
    bool pack;           /* policy: pack (true) or spread (false, the default) */
    double cancel_grace; /* seconds between a cancel's SIGTERM and its SIGKILL */
};

struct config {
    /* guide 001 */
    size_t n_resources;
    struct {
        char vendor[32];
        char resource[96];
    } gpu_resource[CONFIG_MAX_ENTRIES];
    char default_gpu_resource_name[96];
    size_t n_specs;
    struct {
        char model[48];
        double memory_gb;
    } gpu_memory_specs[CONFIG_MAX_ENTRIES];
    double monitor_update_interval;   /* seconds between samples */
    double resource_change_threshold; /* a change this large (0..1) is an event */
    enum log_level log_level;
    /* gpuctl */
    size_t n_listen;
    char listen[CONFIG_MAX_LISTEN][128]; /* "unix:/path", "127.0.0.1:8000", "[::1]:8000" */
    char state_dir[512];
    size_t n_tokens;
    struct config_token tokens[CONFIG_MAX_TOKENS];
    char admin_group[64]; /* members may act on all work and reset health; root always may */
    double history;       /* seconds of samples kept in memory */
    struct health_config health;
    struct sched_config scheduler;
};

/* Fills c with the defaults: a 1 s interval, 1 h of history, guide 001's memory specs, the
 * Kubernetes device plugins' resource names, the XID lists of docs/config.md, a 300 s recovery
 * hold. The listen list and state_dir stay empty (the daemon picks them by user). */
void config_defaults(struct config *c);

/*
 * Reads the YAML file at path over c (which holds the defaults). Returns 0; GPUCTL_ENOENT when
 * the file cannot be read; GPUCTL_EINVAL for a file that is not YAML or holds more than one
 * document, an unknown key, a key given twice, a null or bad value, or a history too long for
 * the interval. On failure msg gets one line: "FILE:LINE: what is wrong; what is allowed". c may
 * be partly changed then: throw it away.
 */
int config_load(struct config *c, const char *path, char *msg, size_t msg_len);

/* Whether xid is in the list. */
bool xid_listed(const struct xid_list *l, int xid);

#endif
