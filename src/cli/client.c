/* client.c: requests to the daemon over its unix socket or TCP. */
#include "cli/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/str.h"

#define TIMEOUT_S 30

struct client {
    const struct cli *cli;
    CURL *curl;
    char socket[256]; /* "" for TCP */
    char base[300];   /* "http://HOST:PORT" or "http://localhost" */
    char auth[256];   /* "Authorization: Bearer ..." or "" */
    char where[300];  /* for messages */
    bool quiet;       /* say nothing when the daemon does not answer */
};

static size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
    buf_add(userdata, ptr, size * n);
    return size * n;
}

/* Whether GET /health answers at cl's address. */
static bool answers(struct client *cl)
{
    long status = 0;
    json_t *reply = NULL;
    bool ok = client_call(cl, "GET", "/health", NULL, &status, &reply) == CLI_OK && status == 200;

    json_decref(reply);
    return ok;
}

/* Points cl at addr: "unix:PATH", an absolute PATH, or "HOST:PORT". */
static void aim(struct client *cl, const char *addr)
{
    if (str_starts_with(addr, "unix:") || addr[0] == '/') {
        str_copy(cl->socket, addr[0] == '/' ? addr : addr + 5, sizeof(cl->socket));
        snprintf(cl->base, sizeof(cl->base), "http://localhost");
    } else {
        cl->socket[0] = '\0';
        snprintf(cl->base, sizeof(cl->base), "http://%s", addr);
    }
    snprintf(cl->where, sizeof(cl->where), "%s", addr);
}

/* client_open() without its messages (quiet) and with what it tried in `tried`. */
static int find_daemon(const struct cli *c, const char *daemon, struct client **out, char *tried,
                       size_t tried_len, bool quiet)
{
    struct client *cl = calloc(1, sizeof(*cl));
    const char *given = daemon ? daemon : getenv("GPUCTL_DAEMON"), *token = getenv("GPUCTL_TOKEN");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    char user_sock[300] = "";

    if (!cl || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(cl->curl = curl_easy_init())) {
        client_close(cl);
        return quiet ? CLI_FAILURE : cli_fail(c, CLI_FAILURE, "cannot start libcurl");
    }
    cl->cli = c;
    if (token && *token)
        snprintf(cl->auth, sizeof(cl->auth), "Authorization: Bearer %s", token);
    if (given && *given) {
        aim(cl, given);
        if (answers(cl)) {
            *out = cl;
            return CLI_OK;
        }
        snprintf(tried, tried_len, "%s", given);
    } else {
        if (geteuid() != 0 && runtime && runtime[0] == '/')
            snprintf(user_sock, sizeof(user_sock), "unix:%s/gpuctl.sock", runtime);
        const char *candidates[] = {user_sock, "unix:/run/gpuctl/gpuctl.sock"};
        for (size_t i = 0; i < 2; i++) {
            if (!candidates[i][0])
                continue;
            aim(cl, candidates[i]);
            if (answers(cl)) {
                *out = cl;
                return CLI_OK;
            }
            str_appendf(tried, tried_len, "%s%s", tried[0] ? " or " : "", candidates[i] + 5);
        }
    }
    client_close(cl);
    return CLI_UNAVAILABLE;
}

int client_open(const struct cli *c, const char *daemon, struct client **out)
{
    char tried[700] = "";
    int rc = find_daemon(c, daemon, out, tried, sizeof(tried), false);

    if (rc != CLI_UNAVAILABLE)
        return rc;
    return cli_fail(c, CLI_UNAVAILABLE,
                    "no gpuctl daemon answers at %s: start one with `gpuctl serve &` (or `sudo "
                    "systemctl start gpuctl`), or name its address with --daemon or GPUCTL_DAEMON",
                    tried);
}

int client_try(const struct cli *c, struct client **out)
{
    char tried[700] = "";

    return find_daemon(c, NULL, out, tried, sizeof(tried), true) == CLI_OK ? CLI_OK
                                                                           : CLI_UNAVAILABLE;
}

void client_quiet(struct client *cl, bool quiet)
{
    cl->quiet = quiet;
}

void client_close(struct client *cl)
{
    if (!cl)
        return;
    if (cl->curl)
        curl_easy_cleanup(cl->curl);
    free(cl);
}

int client_call(struct client *cl, const char *method, const char *path, const json_t *body,
                long *status, json_t **reply)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    char url[700], *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct buf out = BUF_INIT;
    CURLcode rc;

    *reply = NULL;
    *status = 0;
    if (cl->auth[0])
        headers = curl_slist_append(headers, cl->auth);
    snprintf(url, sizeof(url), "%s%s", cl->base, path);
    curl_easy_reset(cl->curl);
    curl_easy_setopt(cl->curl, CURLOPT_URL, url);
    if (cl->socket[0])
        curl_easy_setopt(cl->curl, CURLOPT_UNIX_SOCKET_PATH, cl->socket);
    curl_easy_setopt(cl->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
    curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(cl->curl);
    curl_slist_free_all(headers);
    free(text);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, status);
        *reply = out.data ? json_loads(out.data, 0, NULL) : NULL;
    }
    buf_release(&out);
    if (rc != CURLE_OK && strcmp(path, "/health") != 0 && !cl->quiet)
        fprintf(stderr, "gpuctl %s: the daemon at %s stopped answering: %s\n", cl->cli->command,
                cl->where, curl_easy_strerror(rc));
    return rc == CURLE_OK ? CLI_OK : CLI_UNAVAILABLE;
}

const char *client_error(const json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));

    return m ? m : "the daemon refused the request";
}

int client_exit_code(long status)
{
    if (status == 400 || status == 404)
        return CLI_USAGE;
    if (status == 409)
        return CLI_UNAVAILABLE;
    return CLI_FAILURE;
}

void client_apply_env(const json_t *env)
{
    const char *name;
    json_t *v;

    json_object_foreach((json_t *)env, name, v)
    {
        if (json_is_null(v))
            unsetenv(name);
        else
            setenv(name, json_string_value(v), 1);
    }
}
