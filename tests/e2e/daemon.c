/* daemon.c: the background gpuctl serve of the end-to-end tests. */
#include "daemon.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_ARGS    32
#define MAX_RUNNING 8

/* The daemons started and not yet stopped, for daemon_cleanup_all(): copies, since a failed
 * test's struct daemon is gone with its stack frame by the time the teardown runs. */
static struct daemon running[MAX_RUNNING];

static void track(const struct daemon *d, bool on)
{
    for (size_t i = 0; i < MAX_RUNNING; i++) {
        if (on && running[i].pid == 0) {
            running[i] = *d;
            return;
        }
        if (!on && running[i].pid == d->pid)
            running[i].pid = 0;
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;

    if (!f)
        return strdup("");
    if (getdelim(&buf, &len, '\0', f) < 0) {
        free(buf);
        buf = strdup("");
    }
    fclose(f);
    return buf;
}

char *daemon_log(const struct daemon *d)
{
    return read_file(d->log);
}

static void copy_fixture(const char *name, const char *to)
{
    char from[512];
    json_t *j;

    if (name[0] == '/')
        snprintf(from, sizeof(from), "%s", name);
    else
        snprintf(from, sizeof(from), "%s/nvml/%s.json", FIXTURES, name);
    j = json_load_file(from, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_dump_file(j, to, JSON_INDENT(1)), 0);
    json_decref(j);
}

static void make_dir(struct daemon *d, const char *fixture, const char *config)
{
    char path[256];
    FILE *f;

    snprintf(d->dir, sizeof(d->dir), "/tmp/gpuctl-e2e-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->fixture, sizeof(d->fixture), "%s/fixture.json", d->dir);
    snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
    snprintf(d->socket, sizeof(d->socket), "%s/gpuctl.sock", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/stderr.log", d->dir);
    copy_fixture(fixture ? fixture : "gpu8-mixed", d->fixture);
    if (config) {
        snprintf(path, sizeof(path), "%s/config.yaml", d->dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(config, f);
        fclose(f);
    }
}

/* The daemon's environment: the fake machine, and the sanitizer options of this process. */
static size_t make_env(const struct daemon *d, char **env, size_t max)
{
    static const char *const passthrough[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                              "TSAN_OPTIONS", NULL};
    size_t n = 0;

    assert_true(asprintf(&env[n++], "LD_LIBRARY_PATH=%s/current", FAKE_NVML_DIR) > 0);
    assert_true(asprintf(&env[n++], "FAKE_NVML_FIXTURE=%s", d->fixture) > 0);
    assert_true(asprintf(&env[n++], "GPUCTL_PROCFS_ROOT=%s/procfs/workstation", FIXTURES) > 0);
    assert_true(asprintf(&env[n++], "GPUCTL_SYSFS_ROOT=%s/sysfs/none", FIXTURES) > 0);
    env[n++] = strdup("FAKE_NVML_LIVE=1");
    env[n++] = strdup("PATH=/usr/bin:/bin");
    for (size_t i = 0; passthrough[i] && n + 1 < max; i++)
        if (getenv(passthrough[i]))
            assert_true(asprintf(&env[n++], "%s=%s", passthrough[i], getenv(passthrough[i])) > 0);
    env[n] = NULL;
    return n;
}

/* Starts gpuctl serve in d's directory (its log appended to, after a restart); returns its
 * pid. */
static pid_t spawn_serve(struct daemon *d, bool config, const char *const *extra, bool append)
{
    char *env[16], *argv[MAX_ARGS], listen_unix[256], cfg[256];
    posix_spawn_file_actions_t fa;
    size_t n = make_env(d, env, sizeof(env) / sizeof(env[0])), argc = 0;
    pid_t pid;

    snprintf(listen_unix, sizeof(listen_unix), "unix:%s", d->socket);
    snprintf(cfg, sizeof(cfg), "%s/config.yaml", d->dir);
    argv[argc++] = (char *)GPUCTL_BIN;
    argv[argc++] = (char *)"serve";
    argv[argc++] = (char *)"--listen=127.0.0.1:0";
    argv[argc++] = (char *)"--listen";
    argv[argc++] = listen_unix;
    argv[argc++] = (char *)"--state-dir";
    argv[argc++] = d->state;
    if (config) {
        argv[argc++] = (char *)"--config";
        argv[argc++] = cfg;
    }
    for (size_t i = 0; extra && extra[i] && argc + 1 < MAX_ARGS; i++)
        argv[argc++] = (char *)extra[i];
    argv[argc] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, d->log,
                                     O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    assert_int_equal(posix_spawn(&pid, GPUCTL_BIN, &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < n; i++)
        free(env[i]);
    return pid;
}

/* Reads the TCP address from <state>/serve.json; false until it exists. */
static bool read_address(struct daemon *d)
{
    char path[256];
    json_t *j, *first;

    snprintf(path, sizeof(path), "%s/serve.json", d->state);
    j = json_load_file(path, 0, NULL);
    first = json_array_get(json_object_get(j, "listen"), 0);
    for (size_t i = 0; i < 4 && i < json_array_size(json_object_get(j, "listen")); i++)
        snprintf(d->listen[i], sizeof(d->listen[i]), "%s",
                 json_string_value(json_array_get(json_object_get(j, "listen"), i)));
    if (json_is_string(first))
        snprintf(d->tcp, sizeof(d->tcp), "%s", json_string_value(first));
    json_decref(j);
    return d->tcp[0] != '\0';
}

void daemon_start(struct daemon *d, const char *fixture, const char *config,
                  const char *const *extra)
{
    double deadline = now_s() + 20;
    int status;

    memset(d, 0, sizeof(*d));
    make_dir(d, fixture, config);
    d->pid = spawn_serve(d, config != NULL, extra, false);
    track(d, true);
    while (!read_address(d)) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid || now_s() > deadline) {
            char *log = daemon_log(d);
            fail_msg("gpuctl serve did not start:\n%s", log);
        }
        sleep_ms(20);
    }
}

void daemon_crash(struct daemon *d)
{
    track(d, false);
    kill(d->pid, SIGKILL);
    while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
}

void daemon_restart(struct daemon *d, bool config, const char *const *extra)
{
    double deadline = now_s() + 20;
    char path[256];
    int status;

    snprintf(path, sizeof(path), "%s/serve.json", d->state);
    unlink(path); /* the crashed daemon's */
    d->tcp[0] = '\0';
    d->pid = spawn_serve(d, config, extra, true);
    track(d, true);
    while (!read_address(d)) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid || now_s() > deadline) {
            char *log = daemon_log(d);
            size_t len = strlen(log);
            fail_msg("gpuctl serve did not start again (%s %d); its log ends:\n%s",
                     WIFSIGNALED(status) ? "killed by signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                     log + (len > 1500 ? len - 1500 : 0));
        }
        sleep_ms(20);
    }
}

int daemon_refused(const char *config, const char *const *extra, char *err, size_t len)
{
    struct daemon d;
    double deadline = now_s() + 20;
    int status = 0;
    char *log;

    memset(&d, 0, sizeof(d));
    make_dir(&d, NULL, config);
    d.pid = spawn_serve(&d, config != NULL, extra, false);
    while (waitpid(d.pid, &status, WNOHANG) != d.pid) {
        if (now_s() > deadline) {
            kill(d.pid, SIGKILL);
            fail_msg("gpuctl serve started although it should have refused");
        }
        sleep_ms(20);
    }
    log = daemon_log(&d);
    snprintf(err, len, "%s", log);
    free(log);
    d.pid = 0;
    daemon_stop(&d, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int daemon_stop(struct daemon *d, double *seconds)
{
    double t0 = now_s();
    int status = 0;

    track(d, false);
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (seconds)
        *seconds = now_s() - t0;
    nftw(d->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct grow {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
    struct grow *g = userdata;
    char *more = realloc(g->data, g->len + size * n + 1);

    assert_non_null(more);
    memcpy(more + g->len, ptr, size * n);
    g->data = more;
    g->len += size * n;
    g->data[g->len] = '\0';
    return size * n;
}

void http_request(const char *addr, const char *unix_path, const char *method, const char *path,
                  const char *body, const char *const *headers, struct response *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    struct grow out = {strdup(""), 0}, hdr = {strdup(""), 0};
    char url[512];

    assert_non_null(c);
    snprintf(url, sizeof(url), "http://%s%s", addr, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (unix_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) != CURLE_OK)
        fail_msg("%s %s: no answer", method, url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = out.data;
    r->headers = hdr.data;
    r->json = json_loads(r->body, 0, NULL);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
}

void daemon_request(struct daemon *d, bool unix_socket, const char *method, const char *path,
                    const char *body, const char *const *headers, struct response *r)
{
    http_request(unix_socket ? "localhost" : d->tcp, unix_socket ? d->socket : NULL, method, path,
                 body, headers, r);
}

json_t *daemon_get_json(struct daemon *d, const char *path, struct response *r)
{
    daemon_request(d, false, "GET", path, NULL, NULL, r);
    if (r->status != 200 || !r->json)
        fail_msg("GET %s: %ld %s", path, r->status, r->body);
    return r->json;
}

void response_release(struct response *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

void daemon_edit_fixture(struct daemon *d, void (*edit)(json_t *fixture, void *ctx), void *ctx)
{
    char tmp[256];
    json_t *j = json_load_file(d->fixture, 0, NULL);

    assert_non_null(j);
    edit(j, ctx);
    snprintf(tmp, sizeof(tmp), "%s.new", d->fixture);
    assert_int_equal(json_dump_file(j, tmp, JSON_INDENT(1)), 0);
    assert_int_equal(rename(tmp, d->fixture), 0);
    json_decref(j);
}

json_t *fixture_device(json_t *fixture, size_t i)
{
    json_t *dev = json_array_get(json_object_get(fixture, "devices"), i);

    assert_non_null(dev);
    return dev;
}

bool wait_until(double timeout_s, bool (*done)(void *ctx), void *ctx)
{
    double deadline = now_s() + timeout_s;

    while (!done(ctx)) {
        if (now_s() > deadline)
            return false;
        sleep_ms(50);
    }
    return true;
}

int daemon_cleanup_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_RUNNING; i++) {
        struct daemon *d = &running[i];
        if (d->pid <= 0)
            continue;
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
        nftw(d->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return 0;
}

size_t raw_request(const char *addr, const char *text, char *out, size_t len, int timeout_ms)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;

    assert_true(fd >= 0 && colon);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    assert_int_equal(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    while (got + 1 < len) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        n = read(fd, out + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    close(fd);
    return got;
}
