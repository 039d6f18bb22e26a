/* server.c: libmicrohttpd glue: listeners, admission, bodies, dispatch, counting, shutdown. */
#include "api/server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "api/cache.h"
#include "api/http.h"
#include "api/identity.h"
#include "api/metrics.h"
#include "api/render.h"
#include "api/sse.h"
#include "sched/sched.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_ROUTES       32
#define CONNECTION_LIMIT 1024
#define IDLE_TIMEOUT_S   60
#define DRAIN_MS         500

/* The statuses counted per route; anything else counts as the last. */
static const unsigned counted_codes[] = {200, 400, 401, 403, 404, 405, 409, 413, 500, 503, 0};
#define NCODES (sizeof(counted_codes) / sizeof(counted_codes[0]))

struct listener {
    struct server *srv;
    struct listen_socket sock;
    struct MHD_Daemon *mhd;
};

struct server {
    const struct config *cfg;
    struct monitor *monitor;
    struct sched *sched;
    struct identity_rules rules;
    struct sse_hub *hub;
    struct reply_cache *cache;
    int64_t started_ms;
    size_t nl;
    struct listener l[CONFIG_MAX_LISTEN];
    struct {
        pthread_mutex_t lock; /* a leaf lock */
        uint64_t seq;
        struct buf text; /* metrics_gpus() of snapshot seq */
    } gpu_metrics;
    atomic_uint_fast64_t counts[MAX_ROUTES + 1][NCODES]; /* the last row: unmatched paths */
    atomic_int in_flight;                                /* requests begun and not completed */
};

/*
 * A request between MHD's calls. At the first call (the headers are in) it is admitted or
 * refused: who asks, which route, whether they may, whether a declared body is too big, so
 * nothing is buffered for a request that will be refused. A refusal is queued then (MHD 0.9.75
 * closes the connection after it, which suits a refusal); an admitted request is answered at a
 * later call, which keeps keep-alive.
 */
struct pending {
    int route;       /* the route taken; -1 until admitted */
    int count_route; /* the route counted: the path's first pattern, whatever the method */
    struct identity who;
    bool too_big;
    struct buf body; /* only for ROUTE_BODY routes */
};

const char *server_version(const struct server *s)
{
    (void)s;
    return gpuctl_version();
}

int64_t server_started_ms(const struct server *s)
{
    return s->started_ms;
}

static void count(struct server *s, int route, unsigned status)
{
    size_t row = route < 0 ? route_count : (size_t)route, k = 0;

    while (counted_codes[k] && counted_codes[k] != status)
        k++;
    atomic_fetch_add_explicit(&s->counts[row][k], 1, memory_order_relaxed);
}

/* The requests counted so far, for /metrics. Returns how many rows. */
static size_t request_counts(struct server *s, struct metrics_requests *out)
{
    size_t n = 0;

    for (size_t r = 0; r <= route_count; r++) {
        for (size_t k = 0; k < NCODES; k++) {
            uint64_t v = atomic_load_explicit(&s->counts[r][k], memory_order_relaxed);
            if (v == 0 || !counted_codes[k])
                continue;
            out[n++] = (struct metrics_requests){r < route_count ? routes[r].pattern : "unmatched",
                                                 counted_codes[k], v};
        }
    }
    return n;
}

void server_metrics(struct server *s, const struct snapshot *snap, struct buf *out)
{
    struct metrics_requests req[(MAX_ROUTES + 1) * NCODES];
    struct metrics_daemon d = {.version = gpuctl_version(),
                               .started_ms = s->started_ms,
                               .now_ms = clock_wall_ms(),
                               .sse_clients = sse_hub_clients(s->hub),
                               .requests = req};

    d.n_requests = request_counts(s, req);
    monitor_counters(s->monitor, &d.sampler);
    pthread_mutex_lock(&s->gpu_metrics.lock); /* the GPUs' part changes once a sample */
    if (s->gpu_metrics.seq != snap->seq || s->gpu_metrics.text.oom) {
        buf_release(&s->gpu_metrics.text);
        metrics_gpus(&s->gpu_metrics.text, snap);
        s->gpu_metrics.seq = snap->seq;
    }
    buf_add(out, s->gpu_metrics.text.data ? s->gpu_metrics.text.data : "", s->gpu_metrics.text.len);
    pthread_mutex_unlock(&s->gpu_metrics.lock);
    metrics_daemon(out, &d, snap);
}

/* The first route whose pattern matches path, whatever its method; -1 for none. */
static int pattern_of(const char *path)
{
    long index;

    for (size_t i = 0; i < route_count; i++)
        if (route_match(routes[i].pattern, path, &index))
            return (int)i;
    return -1;
}

/* Finds the route for method and path. Returns its index; -1 with a 404 or 405 reply. */
static int find_route(const char *path, const char *method, struct reply *rp, char *allow,
                      size_t allow_len)
{
    bool head = strcmp(method, "HEAD") == 0;
    long index;

    allow[0] = '\0';
    for (size_t i = 0; i < route_count; i++) {
        if (!route_match(routes[i].pattern, path, &index))
            continue;
        if (strcmp(routes[i].method, method) == 0 || (head && strcmp(routes[i].method, "GET") == 0))
            return (int)i;
        str_appendf(allow, allow_len, "%s%s%s", allow[0] ? ", " : "", routes[i].method,
                    strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
    if (allow[0])
        reply_error(rp, 405, "%s does not take %s; it takes %s", path, method, allow);
    else
        reply_error(rp, 404, "no such route: %s (see docs/api.md)", path);
    return -1;
}

/* The response for rp; rp's body passes to it (MHD frees it). */
static struct MHD_Response *make_response(struct reply *rp, const char *allow)
{
    struct MHD_Response *resp;

    if (rp->body.data && !rp->body.oom) {
        resp = MHD_create_response_from_buffer(rp->body.len, rp->body.data, MHD_RESPMEM_MUST_FREE);
        if (resp)
            rp->body = (struct buf)BUF_INIT;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        rp->status = 503;
    }
    if (!resp)
        return NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rp->content_type ? rp->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rp->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"gpuctl\"");
    if (rp->status == 405 && allow && allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return resp;
}

/* Sends rp for a request counted under route r; keeps it in the cache when cache_seq is not
 * 0. */
static enum MHD_Result send_reply(struct server *s, struct MHD_Connection *conn, int r,
                                  struct reply *rp, const char *allow, uint64_t cache_seq)
{
    struct MHD_Response *resp = make_response(rp, allow);
    enum MHD_Result ret;

    buf_release(&rp->body);
    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(conn, rp->status, resp);
    count(s, r, rp->status);
    if (cache_seq && rp->status == 200)
        reply_cache_store(s->cache, (size_t)r, cache_seq, rp->status, resp);
    else
        MHD_destroy_response(resp);
    return ret;
}

/* The event stream's first message: every GPU's current sample and health. */
static void first_events(void *ctx, struct buf *out)
{
    struct server *s = ctx;
    struct snapshot *snap = monitor_snapshot(s->monitor); /* taken after subscribing */

    buf_add(out, "retry: 3000\n\n", 13);
    for (size_t i = 0; i < render_gpu_count(snap); i++) {
        json_t *sample = render_sample_event(snap, i);
        json_t *health = render_health_event(snap, s->cfg, i);
        char *a = json_dumps(sample, JSON_COMPACT | JSON_REAL_PRECISION(12));
        char *b = json_dumps(health, JSON_COMPACT | JSON_REAL_PRECISION(12));
        buf_printf(out, "event: sample\ndata: %s\n\nevent: health\ndata: %s\n\n", a ? a : "{}",
                   b ? b : "{}");
        free(a);
        free(b);
        json_decref(sample);
        json_decref(health);
    }
    snapshot_unref(snap);
}

static enum MHD_Result send_stream(struct server *s, struct MHD_Connection *conn, int r)
{
    struct MHD_Response *resp = sse_hub_response(s->hub, conn, first_events, s);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    count(s, r, 200);
    return ret;
}

/* Whether the request declares a body over the limit. */
static bool declared_too_big(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

    return cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY;
}

/* Admits a request whose headers are in, or fills rp with why not (401, 404, 405, 403, 413).
 * Returns whether it was admitted. */
static bool admit(struct listener *l, struct MHD_Connection *conn, const char *method,
                  const char *url, struct pending *p, struct reply *rp, char *allow, size_t len)
{
    const struct route *route;

    p->count_route = pattern_of(url);
    if (identity_of(&l->srv->rules, l->sock.loopback, conn, &p->who, rp) != 0)
        return false;
    p->route = find_route(url, method, rp, allow, len);
    if (p->route < 0)
        return false;
    route = &routes[p->route];
    if ((route->flags & ROUTE_ADMIN) && !p->who.admin) {
        reply_error(rp, 403,
                    "%s %s is for admins: root or the admin_group on the unix socket, or an "
                    "admin token",
                    method, route->pattern);
        return false;
    }
    if (declared_too_big(conn)) {
        reply_error(rp, 413, "the body is over %d bytes", HTTP_MAX_BODY);
        return false;
    }
    return true;
}

/* Answers an admitted request whose body (if any) has arrived. */
static enum MHD_Result answer(struct server *s, struct MHD_Connection *conn, const char *method,
                              const char *url, struct pending *p)
{
    const struct route *route = &routes[p->route];
    struct request rq = {.srv = s,
                         .conn = conn,
                         .cfg = s->cfg,
                         .monitor = s->monitor,
                         .method = method,
                         .path = url,
                         .sched = s->sched,
                         .user = p->who.user,
                         .admin = p->who.admin,
                         .uid = p->who.uid,
                         .gid = p->who.gid,
                         .pid = p->who.pid,
                         .token = p->who.token};
    struct reply rp = {.status = 200};
    bool cacheable = (route->flags & ROUTE_CACHE) && !request_has_args(&rq);
    uint64_t seq;
    unsigned status;

    route_match(route->pattern, url, &rq.index);
    rq.snap = monitor_snapshot(s->monitor);
    /* the answer's version: both only grow, so their sum grows with any change of either */
    seq = rq.snap->seq + (s->sched ? sched_active_changes(s->sched) : 0);
    log_debug("%s %s %s", p->who.user, method, url);
    if (cacheable && reply_cache_queue(s->cache, (size_t)p->route, seq, conn, &status)) {
        count(s, p->route, status);
        snapshot_unref(rq.snap);
        return MHD_YES;
    }
    if (p->too_big)
        reply_error(&rp, 413, "the body is over %d bytes", HTTP_MAX_BODY);
    else if (request_args_known(&rq, route->params, &rp)) {
        rq.body = p->body.len ? p->body.data : NULL;
        rq.body_len = p->body.len;
        route->handle(&rq, &rp);
    }
    snapshot_unref(rq.snap);
    if (rp.stream && rp.status == 200)
        return send_stream(s, conn, p->route);
    return send_reply(s, conn, p->route, &rp, NULL, cacheable ? seq : 0);
}

/* MHD's access handler: admission at the first call, the body at the next ones (kept only for
 * routes that take one), the answer at the last. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct listener *l = cls;
    struct pending *p = *req_cls;

    (void)version;
    if (!p) {
        struct reply rp = {0};
        char allow[64];
        p = calloc(1, sizeof(*p));
        if (!p)
            return MHD_NO;
        *req_cls = p;
        atomic_fetch_add(&l->srv->in_flight, 1);
        if (admit(l, conn, method, url, p, &rp, allow, sizeof(allow)))
            return MHD_YES;
        log_debug("%s %s %s -> %u", p->who.user ? p->who.user : "?", method, url, rp.status);
        return send_reply(l->srv, conn, p->count_route, &rp, allow, 0);
    }
    if (*upload_size) {
        if (!(routes[p->route].flags & ROUTE_BODY))
            ; /* a body where none is taken: read and dropped */
        else if (p->body.len + *upload_size > HTTP_MAX_BODY)
            p->too_big = true; /* a chunked body that grew too big */
        else
            buf_add(&p->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(l->srv, conn, method, url, p);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct listener *l = cls;
    struct pending *p = *req_cls;

    (void)conn;
    (void)code;
    if (p) {
        buf_release(&p->body);
        free(p);
        *req_cls = NULL;
        atomic_fetch_sub(&l->srv->in_flight, 1);
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct listener *l = cls;

    if (l->sock.is_unix)
        identity_on_connection(&l->srv->rules, conn, socket_context, code);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("http: %s", line);
}

static int start_listener(struct listener *l, unsigned threads, char *msg, size_t len)
{
    /* The logger comes first so that MHD reports everything through it; a pool of one thread
     * is no pool (MHD warns), so one thread is asked for as zero. */
    l->mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, l, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
        l->sock.fd, MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
        MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, l, MHD_OPTION_END);
    if (!l->mhd) {
        snprintf(msg, len, "cannot serve on %s (libmicrohttpd refused to start)", l->sock.shown);
        return GPUCTL_EIO;
    }
    log_info("listening on %s%s", l->sock.shown,
             l->sock.loopback ? "" : " (bearer tokens required)");
    return 0;
}

static unsigned pick_threads(unsigned asked)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (asked)
        return asked;
    return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
}

static struct server *server_alloc(const struct server_options *o)
{
    struct server *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->cfg = o->cfg;
    s->monitor = o->monitor;
    s->sched = o->sched;
    s->rules = (struct identity_rules){o->cfg, o->has_admin_gid, o->admin_gid};
    s->started_ms = clock_wall_ms();
    pthread_mutex_init(&s->gpu_metrics.lock, NULL);
    s->cache = reply_cache_new(route_count);
    s->hub = sse_hub_new(o->feed);
    if (!s->hub || !s->cache) {
        server_stop(s);
        return NULL;
    }
    return s;
}

/* Opens listener i of the config and starts serving on it. */
static int open_listener(struct server *s, const struct server_options *o, size_t i, char *msg,
                         size_t len)
{
    struct listener *l = &s->l[s->nl];
    int ret;

    l->srv = s;
    ret = listen_open(o->cfg->listen[i], &l->sock, msg, len);
    if (ret)
        return ret;
    s->nl++;
    if (!l->sock.loopback && o->cfg->n_tokens == 0) {
        snprintf(msg, len,
                 "%s is reachable from other machines, so it needs tokens: add a tokens list to "
                 "the config (docs/config.md), or listen on 127.0.0.1",
                 l->sock.shown);
        return GPUCTL_EINVAL;
    }
    return start_listener(l, l->sock.is_unix ? 1 : pick_threads(o->threads), msg, len);
}

int server_start(const struct server_options *o, struct server **out, char *msg, size_t len)
{
    struct server *s;
    int ret = 0;

    if (route_count > MAX_ROUTES) {
        snprintf(msg, len, "%zu routes, more than the %d the counters have room for", route_count,
                 MAX_ROUTES);
        return GPUCTL_EINVAL;
    }
    s = server_alloc(o);
    if (!s)
        return GPUCTL_ENOMEM;
    for (size_t i = 0; i < o->cfg->n_listen && !ret; i++)
        ret = open_listener(s, o, i, msg, len);
    if (ret) {
        server_stop(s);
        return ret;
    }
    *out = s;
    return 0;
}

const struct listen_socket *server_listener(const struct server *s, size_t i)
{
    return i < s->nl ? &s->l[i].sock : NULL;
}

size_t server_listener_count(const struct server *s)
{
    return s->nl;
}

/*
 * Stops in the order libmicrohttpd 0.9.75 needs: no stream may still be parked when a daemon
 * stops (it aborts), and MHD_quiesce_daemon races its epoll workers, so it is not used. Requests
 * in flight get up to DRAIN_MS to finish; MHD_stop_daemon then closes every connection.
 */
void server_stop(struct server *s)
{
    int64_t deadline = clock_mono_ms() + DRAIN_MS;

    if (!s)
        return;
    if (s->hub)
        sse_hub_close(s->hub); /* streams end; none parks again */
    while (atomic_load(&s->in_flight) > 0 && clock_mono_ms() < deadline)
        usleep(5000);
    for (size_t i = 0; i < s->nl; i++) {
        if (s->l[i].mhd) {
            MHD_stop_daemon(s->l[i].mhd);
            s->l[i].sock.fd = -1; /* MHD closed it */
        }
        listen_close(&s->l[i].sock);
    }
    sse_hub_free(s->hub);
    reply_cache_free(s->cache);
    buf_release(&s->gpu_metrics.text);
    pthread_mutex_destroy(&s->gpu_metrics.lock);
    free(s);
}
