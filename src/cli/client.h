/* client.h: the CLI as a client of the daemon (libcurl): finding it, and one JSON request. */
#ifndef GPUCTL_CLI_CLIENT_H
#define GPUCTL_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"

struct client;

/*
 * Finds the daemon: `daemon` (a --daemon value) or $GPUCTL_DAEMON ("unix:PATH", "HOST:PORT"),
 * else the unix sockets where gpuctl serve listens by default ($XDG_RUNTIME_DIR/gpuctl.sock for
 * a user, then /run/gpuctl/gpuctl.sock); $GPUCTL_TOKEN is sent as a bearer token. Returns CLI_OK
 * with *out, or CLI_UNAVAILABLE after saying exactly how to start one.
 */
int client_open(const struct cli *c, const char *daemon, struct client **out);

/* As client_open(), but says nothing and tries only the default sockets when neither `daemon`
 * nor $GPUCTL_DAEMON names one: for commands that run without a daemon when none answers.
 * Returns CLI_OK with *out, or CLI_UNAVAILABLE. */
int client_try(const struct cli *c, struct client **out);

void client_close(struct client *cl);

/* With quiet, client_call() says nothing when the daemon does not answer (the caller retries). */
void client_quiet(struct client *cl, bool quiet);

/*
 * Sends method path with body (may be NULL; not stolen) and reads the JSON answer into *reply
 * (NULL when there is none; the caller releases it) and its status into *status. Returns CLI_OK,
 * or CLI_UNAVAILABLE when the daemon stopped answering (said on stderr).
 */
int client_call(struct client *cl, const char *method, const char *path, const json_t *body,
                long *status, json_t **reply);

/* The message of an error answer ({"error": {"message"}}), or a default. */
const char *client_error(const json_t *reply);

/* The CLI's exit code for an HTTP status: 400 and 404 are usage, 409 unavailable, others
 * failures. */
int client_exit_code(long status);

/* Sets an allocation's environment ({"NAME": "value" or null to unset}) in this process's, for
 * the commands it starts to inherit. */
void client_apply_env(const json_t *env);

#endif
