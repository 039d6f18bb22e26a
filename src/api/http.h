/* http.h: what a route handler sees (the request, the snapshot) and fills (the reply), and the
 * route table. Handlers run on the HTTP server's threads and must not block: they read only the
 * snapshot they are given and the monitor's history. */
#ifndef GPUCTL_API_HTTP_H
#define GPUCTL_API_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "monitor/monitor.h"
#include "sched/sched.h"
#include "util/buf.h"

struct MHD_Connection;
struct server;

struct request {
    struct server *srv;
    struct MHD_Connection *conn;
    const struct config *cfg;
    struct monitor *monitor;
    struct sched *sched;   /* NULL when the daemon schedules nothing */
    struct snapshot *snap; /* the latest, referenced for the request's life */
    const char *method, *path;
    long index;       /* the {index} or {id} in the path; -1 when none or not a number */
    const char *body; /* the request body, terminated; NULL without one */
    size_t body_len;
    const char *user; /* who asks: a token's user, a unix peer's name, or "anonymous" */
    bool admin;
    int uid, gid; /* a unix peer's; -1 otherwise */
    int pid;      /* a unix peer's process (as it connected); 0 otherwise */
    bool token;   /* a bearer token named user */
};

struct reply {
    unsigned status;
    const char *content_type; /* static */
    struct buf body;
    bool stream; /* answer with the event stream instead of body */
};

/* Replies with status and the JSON value body (stolen; NULL means out of memory: 503). */
void reply_json(struct reply *rp, unsigned status, json_t *body);

/* Replies {"error": {"code": ..., "message": ...}} with status; the code is the status's name
 * ("bad_request", "not_found", ...). */
void reply_error(struct reply *rp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replies with the HTTP status that a gpuctl error means (one table: EINVAL 400, ENOENT and
 * ERANGE 404, ENOMEM and ENOLIB 503, others 500). */
void reply_gpuctl_error(struct reply *rp, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A query parameter's value, or NULL. */
const char *request_arg(const struct request *rq, const char *name);

/* Whether the request has query parameters. */
bool request_has_args(const struct request *rq);

/* Whether every query parameter is one of allowed (NULL-terminated; NULL for none) and given
 * once; if not, replies 400 naming the stranger (or the repeated one) and the allowed ones. */
bool request_args_known(const struct request *rq, const char *const *allowed, struct reply *rp);

/* Route flags. */
#define ROUTE_ADMIN 0x1u /* only an admin may call it (403 otherwise) */
#define ROUTE_CACHE                                                                                \
    0x2u                /* the answer depends only on the snapshot and the scheduler's active      \
                           allocations: reuse it until either changes */
#define ROUTE_BODY 0x4u /* takes a request body (up to 1 MiB) */

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/gpu/health/{index}/reset" */
    void (*handle)(struct request *rq, struct reply *rp);
    unsigned flags;
    const char *const *params; /* the query parameters it takes (NULL-terminated), or NULL */
};

extern const struct route routes[];
extern const size_t route_count;

/* The largest request body accepted. */
#define HTTP_MAX_BODY (1024 * 1024)

/* Matches path against pattern; a {name} segment ({index}, {id}) takes any segment, and its
 * value goes to *index (-1 when it is not a decimal number). */
bool route_match(const char *pattern, const char *path, long *index);

#endif
