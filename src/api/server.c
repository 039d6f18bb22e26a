/* server.c: libmicrohttpd glue: listeners, who is asking, bodies, routing, caching, counting. */
#include "api/server.h"

#include <grp.h>
#include <microhttpd.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "api/http.h"
#include "api/metrics.h"
#include "api/render.h"
#include "api/sse.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_ROUTES       16
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

/* A reply reused for every request until the snapshot changes. */
struct cached {
    pthread_mutex_t lock; /* a leaf lock: held only to queue or swap resp */
    uint64_t seq;
    unsigned status;
    struct MHD_Response *resp;
};

struct server {
    const struct config *cfg;
    struct monitor *monitor;
    struct sse_hub *hub;
    bool has_admin_gid;
    gid_t admin_gid;
    int64_t started_ms;
    size_t nl;
    struct listener l[CONFIG_MAX_LISTEN];
    struct cached cache[MAX_ROUTES];
    struct {
        pthread_mutex_t lock; /* a leaf lock */
        uint64_t seq;
        struct buf text; /* metrics_gpus() of snapshot seq */
    } gpu_metrics;
    atomic_uint_fast64_t counts[MAX_ROUTES + 1][NCODES]; /* the last row: unmatched paths */
    atomic_int in_flight;                                /* requests begun and not completed */
};

/* Who is at the other end of a unix socket (SO_PEERCRED), kept for the connection's life. */
struct peer {
    char user[64];
    bool admin;
};

/* A request between MHD's calls: its body so far. Every request gets one at MHD's first call
 * and is answered at a later one: libmicrohttpd 0.9.75 closes the connection after a reply
 * queued at the first call, which would cost keep-alive. */
struct pending {
    struct buf body;
    bool too_big;
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

void server_metrics(struct server *s, const struct snapshot *snap, struct buf *out)
{
    struct metrics_requests req[(MAX_ROUTES + 1) * NCODES];
    struct metrics_daemon d = {.version = gpuctl_version(),
                               .started_ms = s->started_ms,
                               .now_ms = clock_wall_ms(),
                               .sse_clients = sse_hub_clients(s->hub),
                               .requests = req};

    for (size_t r = 0; r <= route_count; r++) {
        for (size_t k = 0; k < NCODES; k++) {
            uint64_t n = atomic_load_explicit(&s->counts[r][k], memory_order_relaxed);
            if (n == 0 || !counted_codes[k])
                continue;
            req[d.n_requests++] = (struct metrics_requests){
                r < route_count ? routes[r].pattern : "unmatched", counted_codes[k], n};
        }
    }
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

/* Whether uid is root or a member of the admin group. */
static bool uid_is_admin(const struct server *s, uid_t uid, gid_t gid, const char *user)
{
    gid_t groups[256];
    int n = sizeof(groups) / sizeof(groups[0]);

    if (uid == 0)
        return true;
    if (!s->has_admin_gid)
        return false;
    if (gid == s->admin_gid)
        return true;
    if (!*user || getgrouplist(user, gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == s->admin_gid)
            return true;
    return false;
}

/* MHD_OPTION_NOTIFY_CONNECTION: learns a unix peer's user once per connection. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct listener *l = cls;
    const union MHD_ConnectionInfo *info;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct peer *p;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
        return;
    }
    if (!l->sock.is_unix)
        return;
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    p = calloc(1, sizeof(*p));
    if (!p || !info || getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        free(p);
        return;
    }
    {
        struct passwd pw, *res = NULL;
        char scratch[1024];
        if (getpwuid_r(cred.uid, &pw, scratch, sizeof(scratch), &res) == 0 && res)
            str_copy(p->user, pw.pw_name, sizeof(p->user));
        else
            snprintf(p->user, sizeof(p->user), "uid %u", (unsigned)cred.uid);
        p->admin = uid_is_admin(l->srv, cred.uid, cred.gid, res ? p->user : "");
    }
    *socket_context = p;
}

/* Compares in time that does not depend on where the strings differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

/*
 * Who asks. A bearer token, when given, must be valid anywhere; a non-loopback listener demands
 * one. Returns 0, or 401 with rp filled.
 */
static unsigned identify(struct listener *l, struct MHD_Connection *conn, struct request *rq,
                         struct reply *rp)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct peer *p = info ? info->socket_context : NULL;

    rq->user = p ? p->user : "anonymous";
    rq->admin = p && p->admin;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        const struct config *cfg = l->srv->cfg;
        for (size_t i = 0; i < cfg->n_tokens; i++) {
            if (same_secret(auth + 7, cfg->tokens[i].token)) {
                rq->user = cfg->tokens[i].user;
                rq->admin = cfg->tokens[i].admin;
                return 0;
            }
        }
        reply_error(rp, 401, "the bearer token is not one of this daemon's tokens");
        return 401;
    }
    if (l->sock.loopback)
        return 0;
    reply_error(rp, 401, "%s",
                auth ? "only bearer tokens are accepted (Authorization: Bearer ...)"
                     : "this address requires a token: send Authorization: "
                       "Bearer <token> with a token from the daemon's config");
    return 401;
}

/* Finds the route for method and path. Returns its index; -1 with a 404 or 405 reply. */
static int find_route(const struct request *rq, const char *method, struct reply *rp, char *allow,
                      size_t allow_len)
{
    bool head = strcmp(method, "HEAD") == 0;
    long index;

    allow[0] = '\0';
    for (size_t i = 0; i < route_count; i++) {
        if (!route_match(routes[i].pattern, rq->path, &index))
            continue;
        if (strcmp(routes[i].method, method) == 0 || (head && strcmp(routes[i].method, "GET") == 0))
            return (int)i;
        str_appendf(allow, allow_len, "%s%s%s", allow[0] ? ", " : "", routes[i].method,
                    strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
    if (allow[0])
        reply_error(rp, 405, "%s does not take %s; it takes %s", rq->path, method, allow);
    else
        reply_error(rp, 404, "no such route: %s (see docs/api.md)", rq->path);
    return -1;
}

static bool has_query(struct MHD_Connection *conn)
{
    return MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0;
}

/* Queues the cached reply of route r when it was made from snapshot seq. */
static bool queue_cached(struct server *s, int r, uint64_t seq, struct MHD_Connection *conn)
{
    struct cached *c = &s->cache[r];
    bool hit = false;

    pthread_mutex_lock(&c->lock);
    if (c->resp && c->seq == seq) {
        hit = MHD_queue_response(conn, c->status, c->resp) == MHD_YES;
        if (hit)
            count(s, r, c->status);
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

static void store_cached(struct server *s, int r, uint64_t seq, unsigned status,
                         struct MHD_Response *resp)
{
    struct cached *c = &s->cache[r];
    struct MHD_Response *old = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->seq <= seq) {
        old = c->resp;
        c->resp = resp;
        c->seq = seq;
        c->status = status;
        resp = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (old)
        MHD_destroy_response(old);
    if (resp) /* a newer one is already there */
        MHD_destroy_response(resp);
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
    if (rp->status == 405 && allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return resp;
}

/* Sends rp; caches it for route r when the route allows. */
static enum MHD_Result send_reply(struct server *s, struct MHD_Connection *conn, int r,
                                  const struct request *rq, struct reply *rp, const char *allow)
{
    struct MHD_Response *resp = make_response(rp, allow);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(conn, rp->status, resp);
    count(s, r, rp->status);
    log_debug("%s %s %s -> %u", rq->user ? rq->user : "?", rq->method, rq->path, rp->status);
    if (r >= 0 && (routes[r].flags & ROUTE_CACHE) && rp->status == 200 && !has_query(conn))
        store_cached(s, r, rq->snap->seq, rp->status, resp);
    else
        MHD_destroy_response(resp);
    return ret;
}

/* Starts the event stream: the current state of every GPU first, then the feed. */
static enum MHD_Result send_stream(struct server *s, struct MHD_Connection *conn, int r,
                                   const struct request *rq)
{
    struct MHD_Response *resp;
    struct buf first = BUF_INIT;
    enum MHD_Result ret;

    buf_add(&first, "retry: 3000\n\n", 13);
    for (size_t i = 0; i < render_gpu_count(rq->snap); i++) {
        json_t *sample = render_sample_event(rq->snap, i);
        json_t *health = render_health_event(rq->snap, s->cfg, i);
        char *a = json_dumps(sample, JSON_COMPACT | JSON_REAL_PRECISION(12));
        char *b = json_dumps(health, JSON_COMPACT | JSON_REAL_PRECISION(12));
        buf_printf(&first, "event: sample\ndata: %s\n\nevent: health\ndata: %s\n\n", a ? a : "{}",
                   b ? b : "{}");
        free(a);
        free(b);
        json_decref(sample);
        json_decref(health);
    }
    resp = sse_hub_response(s->hub, conn, &first);
    buf_release(&first);
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

/* Refuses a routed request whose body is too big (413) or which needs an admin (403): returns
 * true with rp filled. Sets rq->index from the path. */
static bool refused(struct request *rq, const struct route *route, const struct pending *p,
                    struct reply *rp)
{
    route_match(route->pattern, rq->path, &rq->index);
    if (p && p->too_big) {
        reply_error(rp, 413, "the body is over %d bytes", HTTP_MAX_BODY);
        return true;
    }
    if ((route->flags & ROUTE_ADMIN) && !rq->admin) {
        reply_error(rp, 403,
                    "%s %s is for admins: root or the admin_group on the unix socket, or an "
                    "admin token",
                    rq->method, route->pattern);
        return true;
    }
    return false;
}

/* Checks, routes and answers a request whose body (if any) has arrived. */
static enum MHD_Result answer(struct listener *l, struct MHD_Connection *conn, const char *method,
                              const char *url, struct pending *p)
{
    struct server *s = l->srv;
    struct request rq = {.srv = s,
                         .conn = conn,
                         .cfg = s->cfg,
                         .monitor = s->monitor,
                         .method = method,
                         .path = url,
                         .index = -1};
    struct reply rp = {.status = 200};
    char allow[64] = "";
    enum MHD_Result ret;
    int r = -1;

    rq.snap = monitor_snapshot(s->monitor);
    if (identify(l, conn, &rq, &rp) == 0 &&
        (r = find_route(&rq, method, &rp, allow, sizeof(allow))) >= 0 &&
        !refused(&rq, &routes[r], p, &rp)) {
        if ((routes[r].flags & ROUTE_CACHE) && !has_query(conn) &&
            queue_cached(s, r, rq.snap->seq, conn)) {
            snapshot_unref(rq.snap);
            return MHD_YES;
        }
        rq.body = p && p->body.len ? p->body.data : NULL;
        rq.body_len = p ? p->body.len : 0;
        routes[r].handle(&rq, &rp);
    }
    ret = rp.stream && rp.body.len == 0 ? send_stream(s, conn, r, &rq)
                                        : send_reply(s, conn, r, &rq, &rp, allow);
    buf_release(&rp.body);
    snapshot_unref(rq.snap);
    return ret;
}

/* Whether the request declares a body over the limit. */
static bool declared_too_big(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

    return cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct listener *l = cls;
    struct pending *p = *req_cls;

    (void)version;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return MHD_NO;
        *req_cls = p;
        atomic_fetch_add(&l->srv->in_flight, 1);
        p->too_big = declared_too_big(conn);
        if (p->too_big) /* refused unread; MHD closes the connection after */
            return answer(l, conn, method, url, p);
        return MHD_YES;
    }
    if (*upload_size) {
        if (p->body.len + *upload_size > HTTP_MAX_BODY)
            p->too_big = true;
        else
            buf_add(&p->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(cls, conn, method, url, p);
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
    s->has_admin_gid = o->has_admin_gid;
    s->admin_gid = o->admin_gid;
    s->started_ms = clock_wall_ms();
    for (size_t r = 0; r < MAX_ROUTES; r++)
        pthread_mutex_init(&s->cache[r].lock, NULL);
    pthread_mutex_init(&s->gpu_metrics.lock, NULL);
    s->hub = sse_hub_new(o->feed);
    if (!s->hub) {
        free(s);
        return NULL;
    }
    return s;
}

int server_start(const struct server_options *o, struct server **out, char *msg, size_t len)
{
    struct server *s = server_alloc(o);
    int ret = 0;

    if (!s)
        return GPUCTL_ENOMEM;
    for (size_t i = 0; i < o->cfg->n_listen && !ret; i++) {
        struct listener *l = &s->l[s->nl];
        l->srv = s;
        ret = listen_open(o->cfg->listen[i], &l->sock, msg, len);
        if (ret)
            break;
        s->nl++;
        if (!l->sock.loopback && o->cfg->n_tokens == 0) {
            snprintf(msg, len,
                     "%s is reachable from other machines, so it needs tokens: add a tokens "
                     "list to the config (docs/config.md), or listen on 127.0.0.1",
                     l->sock.shown);
            ret = GPUCTL_EINVAL;
            break;
        }
        ret = start_listener(l, l->sock.is_unix ? 1 : pick_threads(o->threads), msg, len);
    }
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
    for (size_t r = 0; r < MAX_ROUTES; r++) {
        if (s->cache[r].resp)
            MHD_destroy_response(s->cache[r].resp);
        pthread_mutex_destroy(&s->cache[r].lock);
    }
    buf_release(&s->gpu_metrics.text);
    pthread_mutex_destroy(&s->gpu_metrics.lock);
    free(s);
}
