/* sched_rest.c: allocate + release pairs per second through gpuctl serve's REST API on its unix
 * socket, for bench/sched.sh.
 *
 *   bench_sched_rest SOCKET [THREADS] [SECONDS]   (default 8 threads, 10 s)
 * Each thread keeps one connection (a persistent curl handle) and loops: POST
 * /api/v1/gpu/allocate {"kind": "other", "memory_gb": 0.01, "wait": 0} (200 expected, its
 * allocation_id read), then POST /api/v1/gpu/release {"allocation_id": N} (200 expected). Prints
 * one line:
 *   threads=T seconds=S pairs=N errors=E pairs_per_s=.. p50_ms=.. p99_ms=.. max_ms=..
 * and the first few errors on stderr. Exits 1 when any pair failed.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 256
#define MAX_REPORTS 5 /* errors shown on stderr */

static const char allocate_body[] = "{\"kind\": \"other\", \"memory_gb\": 0.01, \"wait\": 0}";

struct worker {
    pthread_t thread;
    const char *socket;
    double deadline;
    double *lat_ms; /* one per completed pair */
    size_t n, cap;
    unsigned long errors;
};

static atomic_int reports;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct body {
    char data[8192];
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct body *b = ctx;
    size_t n = size * nmemb;

    if (n > sizeof(b->data) - 1 - b->len)
        n = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return size * nmemb;
}

static void report(const char *what, long status, const struct body *b, CURLcode rc)
{
    if (atomic_fetch_add(&reports, 1) < MAX_REPORTS)
        fprintf(stderr, "bench_sched_rest: %s: HTTP %ld, %s: %.300s\n", what, status,
                curl_easy_strerror(rc), b->data);
}

/* POSTs body to path on h; returns the HTTP status (0 when the request failed). */
static long post(CURL *h, const char *path, const char *json, struct body *b, CURLcode *rc)
{
    char url[256];
    long status = 0;

    snprintf(url, sizeof(url), "http://localhost%s", path);
    b->len = 0;
    b->data[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    *rc = curl_easy_perform(h);
    if (*rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* One allocate and its release. Returns 0, or -1 (counted as an error). */
static int pair(CURL *h)
{
    struct body b;
    json_t *reply, *id;
    json_int_t alloc_id = 0;
    char release_body[64];
    CURLcode rc;
    long status = post(h, "/api/v1/gpu/allocate", allocate_body, &b, &rc);

    if (status != 200) {
        report("allocate", status, &b, rc);
        return -1;
    }
    reply = json_loadb(b.data, b.len, 0, NULL);
    id = json_object_get(reply, "allocation_id");
    if (json_is_integer(id))
        alloc_id = json_integer_value(id);
    json_decref(reply);
    if (alloc_id <= 0) {
        report("allocate (no allocation_id)", status, &b, rc);
        return -1;
    }
    snprintf(release_body, sizeof(release_body), "{\"allocation_id\": %lld}", (long long)alloc_id);
    status = post(h, "/api/v1/gpu/release", release_body, &b, &rc);
    if (status != 200) {
        report("release", status, &b, rc);
        return -1;
    }
    return 0;
}

static int keep(struct worker *w, double ms)
{
    if (w->n == w->cap) {
        size_t c = w->cap ? w->cap * 2 : 4096;
        double *bigger = realloc(w->lat_ms, c * sizeof(*bigger));
        if (!bigger)
            return -1;
        w->lat_ms = bigger;
        w->cap = c;
    }
    w->lat_ms[w->n++] = ms;
    return 0;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = curl_easy_init();

    if (!h || !headers) {
        w->errors++;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, w->socket);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    for (;;) {
        double t0 = now_s();
        if (t0 >= w->deadline)
            break;
        if (pair(h) != 0)
            w->errors++;
        else if (keep(w, (now_s() - t0) * 1e3) != 0)
            w->errors++;
    }
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int nthreads = argc > 2 ? atoi(argv[2]) : 8;
    double secs = argc > 3 ? atof(argv[3]) : 10, t0, elapsed;
    struct worker w[MAX_THREADS] = {0};
    unsigned long errors = 0;
    size_t n = 0, k = 0;
    double *all;

    if (argc < 2 || nthreads < 1 || nthreads > MAX_THREADS || secs <= 0) {
        fprintf(stderr, "usage: bench_sched_rest SOCKET [THREADS] [SECONDS]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    t0 = now_s();
    for (int i = 0; i < nthreads; i++) {
        w[i].socket = argv[1];
        w[i].deadline = t0 + secs;
        if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0)
            return 1;
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].thread, NULL);
        n += w[i].n;
        errors += w[i].errors;
    }
    elapsed = now_s() - t0; /* the last pairs end after the deadline */
    all = malloc((n ? n : 1) * sizeof(*all));
    if (!all)
        return 1;
    for (int i = 0; i < nthreads; i++) {
        memcpy(all + k, w[i].lat_ms, w[i].n * sizeof(*all));
        k += w[i].n;
        free(w[i].lat_ms);
    }
    qsort(all, n, sizeof(*all), by_value);
    printf("threads=%d seconds=%.2f pairs=%zu errors=%lu pairs_per_s=%.1f p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f\n",
           nthreads, elapsed, n, errors, (double)n / elapsed, n ? all[n / 2] : 0.0,
           n ? all[n * 99 / 100] : 0.0, n ? all[n - 1] : 0.0);
    free(all);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
