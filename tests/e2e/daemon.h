/* daemon.h: run `gpuctl serve` in the background against a private copy of a fake machine, talk
 * to it over HTTP (libcurl), change the machine while it runs, and stop it. */
#ifndef GPUCTL_TESTS_DAEMON_H
#define GPUCTL_TESTS_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct daemon {
    pid_t pid;
    char dir[128];      /* a private temporary directory */
    char fixture[192];  /* <dir>/fixture.json, which the fake rereads when it changes */
    char state[192];    /* <dir>/state */
    char socket[192];   /* <dir>/gpuctl.sock */
    char tcp[64];       /* "127.0.0.1:PORT", the port the daemon picked */
    char listen[4][64]; /* every address serve.json names, in order */
    char log[192];      /* <dir>/stderr.log */
};

struct response {
    long status;
    char *body;
    char *headers;
    json_t *json; /* the body parsed, or NULL when it is not JSON */
};

/*
 * Starts gpuctl serve on 127.0.0.1:0 and <dir>/gpuctl.sock with its state in <dir>/state,
 * FAKE_NVML_LIVE=1 and a copy of fixture (a name under fixtures/nvml, or an absolute path).
 * config (may be NULL) is written to <dir>/config.yaml and passed with --config; extra
 * arguments follow. Waits for serve.json; fails the test if the daemon exits first.
 */
void daemon_start(struct daemon *d, const char *fixture, const char *config,
                  const char *const *extra);

/* kill -9: the daemon dies at once, leaving its state (and its tasks) as they are. */
void daemon_crash(struct daemon *d);

/* Starts gpuctl serve again in d's directory, as daemon_start() did (config: whether it had
 * one), appending to its log; waits until it listens. */
void daemon_restart(struct daemon *d, bool config, const char *const *extra);

/* Runs gpuctl serve to completion, expecting it to refuse to start: returns its exit status
 * and copies its stderr to err (size len). */
int daemon_refused(const char *config, const char *const *extra, char *err, size_t len);

/* SIGTERM, then waits. Returns the exit status and sets *seconds to how long exiting took. Removes
 * the directory. */
int daemon_stop(struct daemon *d, double *seconds);

/* A request over TCP (unix_socket false) or the unix socket; body and headers (a NULL-terminated
 * list of "Name: value") may be NULL. */
void daemon_request(struct daemon *d, bool unix_socket, const char *method, const char *path,
                    const char *body, const char *const *headers, struct response *r);

/* A request to http://addr (over the unix socket unix_path when not NULL). */
void http_request(const char *addr, const char *unix_path, const char *method, const char *path,
                  const char *body, const char *const *headers, struct response *r);

/* GET over TCP, asserting a 200 and a JSON body; returns the JSON (owned by r). */
json_t *daemon_get_json(struct daemon *d, const char *path, struct response *r);

void response_release(struct response *r);

/* Applies edit to the running daemon's fixture and replaces the file at once, so the fake
 * rereads it on its next call. */
void daemon_edit_fixture(struct daemon *d, void (*edit)(json_t *fixture, void *ctx), void *ctx);

/* The fixture's device i (in the fixture's order, which is NVML's, not gpuctl's PCI order). */
json_t *fixture_device(json_t *fixture, size_t i);

/* Waits up to timeout_s for done(ctx) to hold, checking every 50 ms. Returns whether it did. */
bool wait_until(double timeout_s, bool (*done)(void *ctx), void *ctx);

/* The daemon's stderr so far (malloc'd). */
char *daemon_log(const struct daemon *d);

/* Sends text as is over TCP to addr ("HOST:PORT") and reads the answer until the daemon closes
 * the connection or timeout_ms pass, into out (size len, terminated). Returns the bytes read. */
size_t raw_request(const char *addr, const char *text, char *out, size_t len, int timeout_ms);

/* Kills every daemon a failed test left running and removes its directory: a cmocka teardown. */
int daemon_cleanup_all(void **state);

#endif
