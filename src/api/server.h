/*
 * server.h: the daemon's HTTP side (libmicrohttpd): one server per listening address, each with
 * a small pool of epoll threads, answering the routes of http.h from the monitor's snapshots.
 * Non-loopback listeners require a bearer token; unix sockets know their peer's user.
 */
#ifndef GPUCTL_API_SERVER_H
#define GPUCTL_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/listen.h"
#include "config/config.h"
#include "monitor/feed.h"
#include "monitor/monitor.h"
#include "sched/sched.h"
#include "util/buf.h"

struct server;

struct server_options {
    const struct config *cfg; /* listen addresses, tokens, admin group */
    struct monitor *monitor;
    struct sched *sched; /* NULL: the scheduling routes answer 503 */
    struct feed *feed;   /* the monitor's changes, for /api/v1/gpu/events */
    bool has_admin_gid;
    gid_t admin_gid;  /* members of this group are admins on the unix socket */
    unsigned threads; /* per listener; 0 picks the number of CPUs (at most 4) */
};

/*
 * Opens every listener of cfg->listen and starts serving. A non-loopback listener without any
 * token in cfg is refused. Returns 0 and sets *out; GPUCTL_EINVAL (a bad address, no tokens) or
 * GPUCTL_EIO (cannot listen) with msg saying which and why.
 */
int server_start(const struct server_options *opts, struct server **out, char *msg, size_t len);

/* The listeners, in cfg->listen order, their ports resolved. */
const struct listen_socket *server_listener(const struct server *s, size_t i);
size_t server_listener_count(const struct server *s);

/* Stops accepting, lets requests in flight finish (event streams end), then closes everything
 * within about a second. NULL does nothing. */
void server_stop(struct server *s);

/* For handlers: the version served and when the daemon started (unix ms). */
const char *server_version(const struct server *s);
int64_t server_started_ms(const struct server *s);

/* Appends the /metrics exposition for snapshot snap to out. */
void server_metrics(struct server *s, const struct snapshot *snap, struct buf *out);

#endif
