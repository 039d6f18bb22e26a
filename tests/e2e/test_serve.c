/* test_serve.c: `gpuctl serve` end to end: the daemon on an ephemeral port and a unix socket,
 * with a temporary state directory and a live fake NVML the tests change under it. */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"

#define TOKEN      "e2e-admin-token-0123456789"
#define USER_TOKEN "e2e-user-token-0123456789"
#define AUTH_ADMIN "Authorization: Bearer " TOKEN

/* A config with tokens and a short recovery hold; the interval stays at the default 1 s. */
static const char health_config[] = "health:\n"
                                    "  recovery_hold: 2s\n"
                                    "tokens:\n"
                                    "  - token: " TOKEN "\n"
                                    "    user: ops\n"
                                    "    admin: true\n"
                                    "  - token: " USER_TOKEN "\n"
                                    "    user: alice\n";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *device_at(json_t *doc, size_t i)
{
    json_t *d = json_array_get(json_object_get(doc, "devices"), i);

    assert_non_null(d);
    return d;
}

static double number(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_number(v))
        fail_msg("%s is not a number", key);
    return json_number_value(v);
}

/* ---- the endpoints ---- */

static void health_says_what_guide_000_says(void **state)
{
    struct daemon d;
    struct response r;
    json_t *h;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    h = daemon_get_json(&d, "/health", &r);
    assert_string_equal(json_string_value(json_object_get(h, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(h, "device_type")), "cuda");
    assert_string_equal(json_string_value(json_object_get(h, "device")), "cuda:0");
    assert_string_equal(json_string_value(json_object_get(h, "device_name")),
                        "NVIDIA H100 80GB HBM3");
    assert_true(json_is_true(json_object_get(h, "gpu_available")));
    assert_true(json_is_true(json_object_get(h, "cuda_available")));
    assert_true(json_is_false(json_object_get(h, "mps_available")));
    assert_string_equal(json_string_value(json_object_get(h, "precision")), "bf16-mixed");
    assert_int_equal(json_integer_value(json_object_get(h, "device_count")), 8);
    assert_true(number(h, "uptime_seconds") >= 0);
    assert_non_null(json_string_value(json_object_get(h, "version")));
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* The fixture's utilizations, in gpuctl's order: the mean is what status reports. */
static void status_has_guide_001s_shape(void **state)
{
    static const unsigned util[8] = {87, 12, 0, 0, 5, 64, 0, 0};
    struct daemon d;
    struct response r;
    json_t *s, *node;
    double mean = 0;
    const char *ts;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    s = daemon_get_json(&d, "/api/v1/gpu/status", &r);
    for (int i = 0; i < 8; i++)
        mean += util[i] / 800.0;
    assert_true(fabs(number(json_object_get(s, "utilization"), "gpu_utilization") - mean) < 1e-9);
    assert_true(number(json_object_get(s, "utilization"), "gpu_memory_usage") > 0);
    assert_true(number(json_object_get(s, "utilization"), "gpu_memory_usage") < 1);
    assert_int_equal(json_integer_value(json_object_get(s, "total_nodes")), 1);
    assert_int_equal(json_array_size(json_object_get(s, "available_nodes")), 8);
    node = json_array_get(json_object_get(s, "available_nodes"), 0);
    assert_string_equal(json_string_value(json_object_get(node, "gpu_type")), "H100");
    assert_int_equal(json_integer_value(json_object_get(node, "available_gpus")), 1);
    assert_true(fabs(number(node, "memory_per_gpu") - 79.65) < 1e-9);
    assert_true(fabs(number(node, "utilization") - 0.87) < 1e-9);
    assert_non_null(json_string_value(json_object_get(node, "node_name")));
    ts = json_string_value(json_object_get(s, "timestamp"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-11-21T09:30:00.125Z */
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[23], 'Z');
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static size_t node_count(struct daemon *d, const char *query)
{
    struct response r;
    char path[256];
    size_t n;

    snprintf(path, sizeof(path), "/api/v1/gpu/nodes%s", query);
    n = json_array_size(json_object_get(daemon_get_json(d, path, &r), "nodes"));
    response_release(&r);
    return n;
}

static void expect_error(struct daemon *d, bool unix_socket, const char *method, const char *path,
                         const char *body, const char *const *headers, long status,
                         const char *code, const char *needle)
{
    struct response r;
    json_t *err;

    daemon_request(d, unix_socket, method, path, body, headers, &r);
    if (r.status != status)
        fail_msg("%s %s: %ld (want %ld): %s", method, path, r.status, status, r.body);
    err = json_object_get(r.json, "error");
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    if (!strstr(json_string_value(json_object_get(err, "message")), needle))
        fail_msg("%s %s: message '%s' lacks '%s'", method, path,
                 json_string_value(json_object_get(err, "message")), needle);
    response_release(&r);
}

static void nodes_filter_by_type_and_memory(void **state)
{
    struct daemon d;
    struct response r;
    json_t *v100;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    v100 = json_array_get(
        json_object_get(daemon_get_json(&d, "/api/v1/gpu/nodes?gpu_type=V100&min_memory_gb=16", &r),
                        "nodes"),
        0);
    assert_non_null(v100);
    assert_string_equal(json_string_value(json_object_get(v100, "gpu_type")), "V100");
    assert_true(fabs(number(v100, "memory_per_gpu") - 32.0) < 1e-9);
    response_release(&r);
    assert_int_equal(node_count(&d, "?gpu_type=V100&min_memory_gb=16"), 1);
    assert_int_equal(node_count(&d, "?gpu_type=h100"), 1);
    assert_int_equal(node_count(&d, "?min_memory_gb=32"), 3); /* H100, A100 40, V100 32 */
    assert_int_equal(node_count(&d, "?min_memory_gb=100"), 0);
    assert_int_equal(node_count(&d, ""), 8);
    expect_error(&d, false, "GET", "/api/v1/gpu/nodes?min_memory_gb=lots", NULL, NULL, 400,
                 "bad_request", "min_memory_gb");
    expect_error(&d, false, "GET", "/api/v1/gpu/nodes?min_memory_gb=-1", NULL, NULL, 400,
                 "bad_request", "min_memory_gb");
    expect_error(&d, false, "GET", "/api/v1/gpu/nodes?colour=red", NULL, NULL, 400, "bad_request",
                 "colour");
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void resources_have_guide_003s_shape(void **state)
{
    struct daemon d;
    struct response r;
    json_t *res, *h100, *tasks;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    res = daemon_get_json(&d, "/api/v2/resources/gpu", &r);
    assert_true(json_is_true(json_object_get(res, "available")));
    assert_int_equal(json_integer_value(json_object_get(res, "count")), 8);
    assert_string_equal(json_string_value(json_object_get(res, "cuda_version")), "12.4");
    h100 = device_at(res, 0);
    assert_int_equal(json_integer_value(json_object_get(h100, "id")), 0);
    assert_string_equal(json_string_value(json_object_get(h100, "device_name")), "cuda:0");
    assert_string_equal(json_string_value(json_object_get(h100, "name")), "NVIDIA H100 80GB HBM3");
    assert_string_equal(json_string_value(json_object_get(h100, "compute_capability")), "9.0");
    assert_true(fabs(number(h100, "total_memory_gb") - 79.65) < 1e-9);
    assert_true(fabs(number(h100, "cached_memory_gb") - 20.0) < 1e-9);
    assert_true(number(h100, "allocated_memory_gb") <= number(h100, "cached_memory_gb"));
    assert_true(fabs(number(h100, "free_memory_gb") - 59.13) < 1e-9);
    assert_true(fabs(number(h100, "utilization") - 87.0) < 1e-9);
    tasks = json_object_get(h100, "current_tasks");
    assert_int_equal(json_integer_value(json_object_get(tasks, "training")), 0);
    assert_int_equal(json_integer_value(json_object_get(tasks, "inference")), 0);
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void monitoring_gives_latest_and_window(void **state)
{
    struct daemon d;
    struct response r;
    json_t *m, *h100, *window;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    usleep(1200 * 1000); /* a second sample */
    m = daemon_get_json(&d, "/api/v1/gpu/monitoring?window=60s", &r);
    assert_true(fabs(number(m, "window_seconds") - 60) < 1e-9);
    assert_int_equal(json_array_size(json_object_get(m, "devices")), 8);
    h100 = device_at(m, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h100, "latest"),
                                                        "utilization_gpu_percent")),
                     87);
    window = json_object_get(h100, "window");
    assert_true(number(window, "samples") >= 2);
    assert_true(fabs(number(window, "utilization_avg") - 87) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(window, "memory_used_peak_bytes")),
                     21474836480LL);
    assert_true(fabs(number(window, "power_peak_w") - 612.5) < 1e-9);
    response_release(&r);
    expect_error(&d, false, "GET", "/api/v1/gpu/monitoring?window=soon", NULL, NULL, 400,
                 "bad_request", "window");
    expect_error(&d, false, "GET", "/api/v1/gpu/monitoring?window=30d", NULL, NULL, 400,
                 "bad_request", "at most");
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- Prometheus ---- */

static void metrics_pass_promtool(void **state)
{
    char path[256], cmd[512];
    struct daemon d;
    struct response r;
    FILE *f;

    (void)state;
    if (system("command -v promtool >/dev/null") != 0)
        fail_msg("promtool is missing: apt-get install --no-install-recommends prometheus");
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    daemon_request(&d, false, "GET", "/api/v2/resources/gpu", NULL, NULL, &r);
    response_release(&r);
    daemon_request(&d, false, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "gpuctl_gpu_memory_used_bytes{gpu=\"0\",device=\"cuda:0\","));
    assert_non_null(strstr(r.body, "model=\"NVIDIA H100 80GB HBM3\"} 21474836480\n"));
    assert_non_null(strstr(r.body, "gpuctl_gpu_utilization_ratio{gpu=\"0\""));
    assert_non_null(strstr(r.body, "gpuctl_http_requests_total{route=\"/api/v2/resources/gpu\","
                                   "code=\"200\"} 1\n"));
    assert_non_null(strstr(r.body, "gpuctl_uptime_seconds "));
    assert_non_null(strstr(r.body, "gpuctl_sampler_duration_seconds_count "));
    snprintf(path, sizeof(path), "%s/metrics.txt", d.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(r.body, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    assert_int_equal(system(cmd), 0);
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- health ---- */

/* Fixture edits: ctx names the fixture device (NVML order) and what to add. */
struct injection {
    size_t device;
    const char *type; /* an event type, or NULL */
    int data;
};

static void add_event(json_t *fixture, void *ctx)
{
    const struct injection *in = ctx;
    json_t *dev = fixture_device(fixture, in->device);
    json_t *events = json_object_get(dev, "events");

    if (!events) {
        events = json_array();
        json_object_set_new(dev, "events", events);
    }
    json_array_append_new(events, json_pack("{s:s, s:i}", "type", in->type, "data", in->data));
}

static void fail_remapping(json_t *fixture, void *ctx)
{
    const struct injection *in = ctx;

    json_object_set_new(fixture_device(fixture, in->device), "remapped_rows",
                        json_pack("{s:i, s:i, s:i, s:i}", "corrected", 0, "uncorrected", 3,
                                  "pending", 0, "failure", 1));
}

static void lose(json_t *fixture, void *ctx)
{
    const struct injection *in = ctx;

    json_object_set_new(fixture_device(fixture, in->device), "lost", json_true());
}

/* What a poll of the health route looks for: GPU gpu in state `want`. */
struct health_probe {
    struct daemon *d;
    size_t gpu;
    const char *want;
    json_t *seen; /* the GPU's health when it matched */
};

static bool health_is(void *ctx)
{
    struct health_probe *p = ctx;
    struct response r;
    json_t *gpu;
    bool match;

    daemon_request(p->d, false, "GET", "/api/v1/gpu/health", NULL, NULL, &r);
    gpu = json_array_get(json_object_get(r.json, "devices"), p->gpu);
    match = gpu && strcmp(json_string_value(json_object_get(gpu, "state")), p->want) == 0;
    if (match) {
        json_decref(p->seen);
        p->seen = json_incref(gpu);
    }
    response_release(&r);
    return match;
}

/* Injects a fault into fixture device `device` (gpuctl's GPU `gpu`) and asserts the GPU turns
 * `state` within two sample intervals (1 s each), with condition `condition`. */
static json_t *inject(struct daemon *d, void (*edit)(json_t *, void *), struct injection *in,
                      size_t gpu, const char *state, const char *condition)
{
    struct health_probe p = {d, gpu, state, NULL};
    double t0 = now_s(), took;
    json_t *c;

    daemon_edit_fixture(d, edit, in);
    assert_true(wait_until(5.0, health_is, &p));
    took = now_s() - t0;
    if (took > 2.0)
        fail_msg("GPU %zu became %s after %.2f s, more than two intervals", gpu, state, took);
    c = json_array_get(json_object_get(p.seen, "conditions"), 0);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "condition")), condition);
    return p.seen;
}

static bool metrics_contain(struct daemon *d, const char *needle)
{
    struct response r;
    bool found;

    daemon_request(d, false, "GET", "/metrics", NULL, NULL, &r);
    found = strstr(r.body, needle) != NULL;
    if (!found)
        print_message("/metrics lacks %s\n", needle);
    response_release(&r);
    return found;
}

#define H100_LABELS                                                                                \
    "gpu=\"0\",device=\"cuda:0\",uuid=\"GPU-9d3f6c1e-53a2-4c8b-9e0f-1a2b3c4d5e60\","               \
    "model=\"NVIDIA H100 80GB HBM3\""

/* The H100 is the fixture's device 1 and gpuctl's GPU 0 (PCI order). */
static void xid_79_makes_the_gpu_unhealthy_until_the_hold_passes(void **state)
{
    struct injection xid = {1, "xid", 79};
    struct health_probe healthy = {NULL, 0, "healthy", NULL};
    struct daemon d;
    struct response r;
    json_t *seen;
    double t0;

    (void)state;
    daemon_start(&d, "gpu8-mixed", health_config, NULL);
    seen = inject(&d, add_event, &xid, 0, "unhealthy", "xid:79");
    assert_int_equal(json_integer_value(json_object_get(seen, "last_xid")), 79);
    assert_int_equal(json_integer_value(json_object_get(seen, "xid_events")), 1);
    json_decref(seen);
    assert_true(metrics_contain(&d, "gpuctl_gpu_health{" H100_LABELS ",state=\"unhealthy\"} 1\n"));
    assert_true(metrics_contain(&d, "gpuctl_gpu_last_xid{" H100_LABELS "} 79\n"));
    assert_true(metrics_contain(&d, "gpuctl_gpu_xid_errors_total{" H100_LABELS "} 1\n"));
    daemon_request(&d, false, "GET", "/api/v1/gpu/health", NULL, NULL, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "unhealthy")), 1);
    response_release(&r);
    /* The node list no longer offers it. */
    daemon_get_json(&d, "/api/v1/gpu/status", &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "available_nodes")), 7);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(r.json, "available_nodes"), 0), "gpu_type")),
        "A100");
    response_release(&r);
    /* Clear for the 2 s hold, it recovers by itself. */
    t0 = now_s();
    healthy.d = &d;
    assert_true(wait_until(6.0, health_is, &healthy));
    assert_true(now_s() - t0 >= 1.0);
    json_decref(healthy.seen);
    assert_true(metrics_contain(&d, "gpuctl_gpu_health{" H100_LABELS ",state=\"healthy\"} 1\n"));
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void application_xids_are_not_counted(void **state)
{
    struct injection xid = {1, "xid", 13};
    struct injection real = {3, "xid", 48}; /* the V100 (GPU 2): shows the events got through */
    struct daemon d;
    json_t *seen;

    (void)state;
    daemon_start(&d, "gpu8-mixed", health_config, NULL);
    daemon_edit_fixture(&d, add_event, &xid);
    seen = inject(&d, add_event, &real, 2, "unhealthy", "xid:48");
    json_decref(seen);
    assert_true(metrics_contain(&d, "gpuctl_gpu_xid_errors_total{" H100_LABELS "} 0\n"));
    assert_true(metrics_contain(&d, "gpuctl_gpu_health{" H100_LABELS ",state=\"healthy\"} 1\n"));
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void memory_faults_and_lost_gpus_are_unhealthy(void **state)
{
    struct injection dbe = {1, "dbe", 0}, remap = {2, NULL, 0}, lost = {0, NULL, 0};
    struct daemon d;

    (void)state;
    daemon_start(&d, "gpu8-mixed", health_config, NULL);
    json_decref(inject(&d, add_event, &dbe, 0, "unhealthy", "ecc"));
    json_decref(inject(&d, fail_remapping, &remap, 1, "unhealthy", "remap"));
    json_decref(inject(&d, lose, &lost, 3, "unhealthy", "lost"));
    assert_true(metrics_contain(&d, "gpuctl_gpu_up{gpu=\"3\""));
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void an_admin_can_reset_health_and_others_cannot(void **state)
{
    struct injection xid = {1, "xid", 79};
    struct daemon d;
    struct response r;

    (void)state;
    daemon_start(&d, "gpu8-mixed",
                 "health:\n  recovery_hold: 1h\ntokens:\n  - token: " TOKEN
                 "\n    admin: true\n  - token: " USER_TOKEN "\n",
                 NULL);
    json_decref(inject(&d, add_event, &xid, 0, "unhealthy", "xid:79"));
    expect_error(&d, false, "POST", "/api/v1/gpu/health/0/reset", NULL, NULL, 403, "forbidden",
                 "admin");
    expect_error(&d, false, "POST", "/api/v1/gpu/health/0/reset", NULL,
                 (const char *const[]){"Authorization: Bearer " USER_TOKEN, NULL}, 403, "forbidden",
                 "admin");
    expect_error(&d, false, "POST", "/api/v1/gpu/health/8/reset", NULL,
                 (const char *const[]){AUTH_ADMIN, NULL}, 404, "not_found", "8 GPUs");
    expect_error(&d, false, "POST", "/api/v1/gpu/health/first/reset", NULL,
                 (const char *const[]){AUTH_ADMIN, NULL}, 400, "bad_request", "number");
    expect_error(&d, false, "POST", "/api/v1/gpu/health/0/reset", "{\"reason\": \"swapped\",",
                 (const char *const[]){AUTH_ADMIN, NULL}, 400, "bad_request", "line 1, column");
    expect_error(&d, false, "POST", "/api/v1/gpu/health/0/reset", "{\"why\": \"swapped\"}",
                 (const char *const[]){AUTH_ADMIN, NULL}, 400, "bad_request", "why");
    /* None of those changed anything. */
    assert_true(metrics_contain(&d, "gpuctl_gpu_health{" H100_LABELS ",state=\"unhealthy\"} 1\n"));
    daemon_request(&d, false, "POST", "/api/v1/gpu/health/0/reset",
                   "{\"reason\": \"reseated the card\"}", (const char *const[]){AUTH_ADMIN, NULL},
                   &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "healthy");
    response_release(&r);
    assert_true(metrics_contain(&d, "gpuctl_gpu_health{" H100_LABELS ",state=\"healthy\"} 1\n"));
    if (geteuid() == 0) { /* root on the unix socket is an admin without a token */
        daemon_request(&d, true, "POST", "/api/v1/gpu/health/0/reset", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        response_release(&r);
    }
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- the event stream ---- */

struct sse {
    struct daemon *d;
    pthread_t thread;
    pthread_mutex_t lock;
    char *text;
    size_t len;
    atomic_bool stop;
};

static size_t sse_write(char *ptr, size_t size, size_t n, void *userdata)
{
    struct sse *s = userdata;

    pthread_mutex_lock(&s->lock);
    s->text = realloc(s->text, s->len + size * n + 1);
    memcpy(s->text + s->len, ptr, size * n);
    s->len += size * n;
    s->text[s->len] = '\0';
    pthread_mutex_unlock(&s->lock);
    return size * n;
}

static int sse_progress(void *p, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&((struct sse *)p)->stop) ? 1 : 0;
}

static void *sse_main(void *arg)
{
    struct sse *s = arg;
    CURL *c = curl_easy_init();
    char url[128];

    snprintf(url, sizeof(url), "http://%s/api/v1/gpu/events", s->d->tcp);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static void sse_open(struct sse *s, struct daemon *d)
{
    memset(s, 0, sizeof(*s));
    s->d = d;
    pthread_mutex_init(&s->lock, NULL);
    assert_int_equal(pthread_create(&s->thread, NULL, sse_main, s), 0);
}

static void sse_close(struct sse *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    free(s->text);
}

/* What a poll of the stream looks for: an event of a GPU with a value. */
struct sse_probe {
    struct sse *s;
    const char *event;
    int index;
    const char *key;
    json_int_t value;
};

static bool sse_has(void *ctx)
{
    struct sse_probe *p = ctx;
    char event[32] = "";
    bool found = false;

    pthread_mutex_lock(&p->s->lock);
    for (char *line = p->s->text; line && *line && !found; line = strchr(line, '\n')) {
        json_t *data;
        line += *line == '\n';
        if (sscanf(line, "event: %31s", event) == 1 || strncmp(line, "data: ", 6) != 0)
            continue;
        data = json_loadb(line + 6, strcspn(line + 6, "\n"), 0, NULL);
        found = strcmp(event, p->event) == 0 &&
                json_integer_value(json_object_get(data, "index")) == p->index &&
                json_integer_value(json_object_get(data, p->key)) == p->value;
        json_decref(data);
    }
    pthread_mutex_unlock(&p->s->lock);
    return found;
}

static void set_utilization(json_t *fixture, void *ctx)
{
    json_object_set_new(json_object_get(fixture_device(fixture, 1), "utilization"), "gpu",
                        json_integer(*(int *)ctx));
}

static void sse_delivers_a_change_within_two_intervals(void **state)
{
    struct daemon d;
    struct sse s;
    struct sse_probe first = {&s, "sample", 0, "utilization_gpu_percent", 87};
    struct sse_probe moved = {&s, "sample", 0, "utilization_gpu_percent", 20};
    struct sse_probe small = {&s, "sample", 0, "utilization_gpu_percent", 22};
    int util = 20;
    double t0;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    sse_open(&s, &d);
    assert_true(wait_until(5.0, sse_has, &first)); /* the current state comes first */
    t0 = now_s();
    daemon_edit_fixture(&d, set_utilization, &util);
    assert_true(wait_until(5.0, sse_has, &moved));
    if (now_s() - t0 > 2.0)
        fail_msg("the change arrived after %.2f s, more than two intervals", now_s() - t0);
    /* A move under resource_change_threshold (5%) is not an event. */
    util = 22;
    daemon_edit_fixture(&d, set_utilization, &util);
    assert_false(wait_until(2.5, sse_has, &small));
    sse_close(&s);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

/* ---- access ---- */

static void non_loopback_listeners_need_a_token(void **state)
{
    static const char *const wide[] = {"--listen=0.0.0.0:0", NULL};
    struct daemon d;
    struct response r;
    char err[4096];

    (void)state;
    assert_int_equal(daemon_refused(NULL, wide, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "needs tokens"));
    daemon_start(&d, "gpu8-mixed", health_config, wide);
    assert_non_null(strstr(d.listen[2], "0.0.0.0:"));
    http_request(d.listen[2], NULL, "GET", "/api/v2/resources/gpu", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
        "unauthorized");
    response_release(&r);
    http_request(d.listen[2], NULL, "GET", "/api/v2/resources/gpu", NULL,
                 (const char *const[]){"Authorization: Bearer not-a-token-at-all", NULL}, &r);
    assert_int_equal(r.status, 401);
    response_release(&r);
    http_request(d.listen[2], NULL, "GET", "/api/v2/resources/gpu", NULL,
                 (const char *const[]){"Authorization: Bearer " USER_TOKEN, NULL}, &r);
    assert_int_equal(r.status, 200);
    response_release(&r);
    /* Loopback stays open without a token. */
    daemon_request(&d, false, "GET", "/api/v2/resources/gpu", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void bad_requests_get_json_errors(void **state)
{
    struct daemon d;
    struct response r;
    char *big = malloc(2 * 1024 * 1024 + 1);

    (void)state;
    memset(big, 'x', 2 * 1024 * 1024);
    big[2 * 1024 * 1024] = '\0';
    daemon_start(&d, "gpu8-mixed", health_config, NULL);
    expect_error(&d, false, "GET", "/api/v1/gpu/nowhere", NULL, NULL, 404, "not_found",
                 "/api/v1/gpu/nowhere");
    expect_error(&d, false, "DELETE", "/api/v1/gpu/status", NULL, NULL, 405, "method_not_allowed",
                 "GET");
    daemon_request(&d, false, "PUT", "/metrics", NULL, NULL, &r);
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
    response_release(&r);
    expect_error(&d, false, "POST", "/api/v1/gpu/health/0/reset", big,
                 (const char *const[]){AUTH_ADMIN, NULL}, 413, "payload_too_large", "1048576");
    expect_error(&d, true, "POST", "/api/v1/gpu/health/0/reset", big,
                 (const char *const[]){AUTH_ADMIN, NULL}, 413, "payload_too_large", "1048576");
    /* The daemon still answers. */
    daemon_request(&d, false, "GET", "/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    response_release(&r);
    free(big);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void refusals_come_before_the_body(void **state)
{
    static const char *const wide[] = {"--listen=0.0.0.0:0", NULL};
    static const char big_post[] = "POST /api/v1/gpu/health/0/reset HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 1000000\r\n\r\n";
    char out[4096];
    struct daemon d;
    struct response r;

    (void)state;
    daemon_start(&d, "gpu8-mixed", health_config, wide);
    /* The headers alone get the answer: no token, no admin, no route. Nothing is buffered. */
    raw_request(d.listen[2], big_post, out, sizeof(out), 3000);
    assert_true(strncmp(out, "HTTP/1.1 401", 12) == 0);
    raw_request(d.tcp, big_post, out, sizeof(out), 3000);
    assert_true(strncmp(out, "HTTP/1.1 403", 12) == 0);
    raw_request(d.tcp, "PUT /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", out,
                sizeof(out), 3000);
    assert_true(strncmp(out, "HTTP/1.1 404", 12) == 0);
    /* A body on a route that takes none is read and dropped. */
    daemon_request(&d, false, "GET", "/api/v2/resources/gpu", "ignored", NULL, &r);
    assert_int_equal(r.status, 200);
    response_release(&r);
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void unknown_and_repeated_parameters_are_refused(void **state)
{
    static const char *const paths[] = {"/health?x=1", "/api/v1/gpu/status?verbose",
                                        "/api/v1/gpu/health?all=1", "/api/v2/resources/gpu?a=b",
                                        "/metrics?format=json"};
    struct daemon d;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        expect_error(&d, false, "GET", paths[i], NULL, NULL, 400, "bad_request",
                     "takes no parameters");
    expect_error(&d, false, "GET", "/api/v1/gpu/nodes?gpu_type=V100&gpu_type=T4", NULL, NULL, 400,
                 "bad_request", "'gpu_type' is given twice");
    expect_error(&d, false, "GET", "/api/v1/gpu/nodes?min_memory_gb=0x10", NULL, NULL, 400,
                 "bad_request", "min_memory_gb");
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void events_keep_coming_while_another_gpu_is_lost(void **state)
{
    struct injection lost = {3, NULL, 0}, xid = {1, "xid", 79};
    struct daemon d;

    (void)state;
    daemon_start(&d, "gpu8-mixed", health_config, NULL);
    json_decref(inject(&d, lose, &lost, 2, "unhealthy", "lost")); /* the V100 */
    usleep(1500 * 1000); /* the event thread meets the lost GPU and makes its set again */
    json_decref(inject(&d, add_event, &xid, 0, "unhealthy", "xid:79"));
    assert_int_equal(daemon_stop(&d, NULL), 0);
}

static void hang(json_t *fixture, void *ctx)
{
    (void)ctx;
    json_object_set_new(fixture_device(fixture, 1), "delay_ms",
                        json_pack("{s:i}", "nvmlDeviceGetPowerUsage", 8000));
}

static void sigterm_does_not_wait_for_a_hung_driver(void **state)
{
    struct daemon d;
    struct response r;
    double took;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    daemon_edit_fixture(&d, hang, NULL);
    usleep(2000 * 1000); /* the sampler is now inside the 8 s call */
    daemon_request(&d, false, "GET", "/api/v2/resources/gpu", NULL, NULL, &r);
    assert_int_equal(r.status, 200); /* requests do not wait for it */
    response_release(&r);
    assert_int_equal(daemon_stop(&d, &took), 0);
    if (took > 1.0)
        fail_msg("gpuctl serve took %.2f s to stop with a hung driver call", took);
}

/* ---- configuration and operations ---- */

static void refused(const char *config, const char *want)
{
    char err[4096];

    assert_int_equal(daemon_refused(config, NULL, err, sizeof(err)), 2);
    if (!strstr(err, want))
        fail_msg("gpuctl serve said:\n%s\nnot: %s", err, want);
}

static void bad_configs_are_refused_with_key_and_line(void **state)
{
    (void)state;
    refused("monitor_update_interval: fast\n",
            "config.yaml:1: monitor_update_interval must be a number of seconds, or with a unit: "
            "500ms, 30s, 5m, 1h, 1d, from 0.05s to 3600s, got 'fast'");
    refused("log_level: INFO\n\ncolour: blue\n", "config.yaml:3: unknown key 'colour' in the "
                                                 "configuration; the keys are gpu_resource");
    refused("health:\n  unhealthy_xids: [48, seventy-nine]\n",
            "config.yaml:2: unhealthy_xids must hold up to 64 XID numbers");
    refused("resource_change_threshold: 1.5\n",
            "config.yaml:1: resource_change_threshold must be a number from 0 to 1");
    refused("tokens:\n  - token: short\n", "config.yaml:2: tokens:");
    refused("listen: [127.0.0.1:8000\n", "not YAML");
    refused("admin_group: no-such-group-here\n", "admin_group 'no-such-group-here'");
}

static void sigterm_stops_within_a_second(void **state)
{
    struct daemon d;
    struct sse s;
    struct sse_probe first = {&s, "sample", 0, "utilization_gpu_percent", 87};
    struct response r;
    char path[256];
    double took;

    (void)state;
    daemon_start(&d, "gpu8-mixed", NULL, NULL);
    sse_open(&s, &d);
    assert_true(wait_until(5.0, sse_has, &first));
    daemon_request(&d, true, "GET", "/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    response_release(&r);
    snprintf(path, sizeof(path), "%s", d.socket);
    assert_int_equal(daemon_stop(&d, &took), 0);
    if (took > 1.0)
        fail_msg("gpuctl serve took %.2f s to stop", took);
    assert_int_not_equal(access(path, F_OK), 0); /* the socket is gone */
    sse_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(health_says_what_guide_000_says, daemon_cleanup_all),
        cmocka_unit_test_teardown(status_has_guide_001s_shape, daemon_cleanup_all),
        cmocka_unit_test_teardown(nodes_filter_by_type_and_memory, daemon_cleanup_all),
        cmocka_unit_test_teardown(resources_have_guide_003s_shape, daemon_cleanup_all),
        cmocka_unit_test_teardown(monitoring_gives_latest_and_window, daemon_cleanup_all),
        cmocka_unit_test_teardown(metrics_pass_promtool, daemon_cleanup_all),
        cmocka_unit_test_teardown(xid_79_makes_the_gpu_unhealthy_until_the_hold_passes,
                                  daemon_cleanup_all),
        cmocka_unit_test_teardown(application_xids_are_not_counted, daemon_cleanup_all),
        cmocka_unit_test_teardown(memory_faults_and_lost_gpus_are_unhealthy, daemon_cleanup_all),
        cmocka_unit_test_teardown(an_admin_can_reset_health_and_others_cannot, daemon_cleanup_all),
        cmocka_unit_test_teardown(sse_delivers_a_change_within_two_intervals, daemon_cleanup_all),
        cmocka_unit_test_teardown(non_loopback_listeners_need_a_token, daemon_cleanup_all),
        cmocka_unit_test_teardown(bad_requests_get_json_errors, daemon_cleanup_all),
        cmocka_unit_test_teardown(bad_configs_are_refused_with_key_and_line, daemon_cleanup_all),
        cmocka_unit_test_teardown(sigterm_stops_within_a_second, daemon_cleanup_all),
        cmocka_unit_test_teardown(refusals_come_before_the_body, daemon_cleanup_all),
        cmocka_unit_test_teardown(unknown_and_repeated_parameters_are_refused, daemon_cleanup_all),
        cmocka_unit_test_teardown(events_keep_coming_while_another_gpu_is_lost, daemon_cleanup_all),
        cmocka_unit_test_teardown(sigterm_does_not_wait_for_a_hung_driver, daemon_cleanup_all),
    };

    curl_global_init(CURL_GLOBAL_ALL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
