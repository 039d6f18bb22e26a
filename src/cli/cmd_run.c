/* cmd_run.c: `gpuctl run`: wait for GPUs from the daemon, run a command on them in the
 * foreground with their environment, forward signals, release them when it ends. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/job_opts.h"
#include "util/banned.h"

static const char usage[] =
    "usage: gpuctl run [OPTIONS] [--] COMMAND [ARGS...]\n"
    "\n"
    "Waits its turn for GPUs from the daemon, runs COMMAND on them in the foreground with their\n"
    "environment (CUDA_VISIBLE_DEVICES, framework settings, GPUCTL_PRECISION), forwards signals\n"
    "to it, and releases the GPUs when it ends. When gpuctl run itself is killed, COMMAND gets\n"
    "SIGTERM and the daemon releases the GPUs.\n"
    "\n" JOB_OPTIONS_HELP
    "exit status: COMMAND's (128 + signal when killed); 2 bad request; 3 no GPU (in time) or no\n"
    "daemon; 127 COMMAND cannot run\n";

#define POLL_MS   200
#define RESTART_S 60 /* how long a queued run waits for a daemon that went away */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaddset(set, forwarded[i]);
}

/* Whether a forwarded signal is pending (taking it). */
static int pending_signal(const sigset_t *set, long wait_ms)
{
    struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);

    return sig > 0 ? sig : 0;
}

/* GETs the allocation at path, riding out a daemon that restarts (its ledger keeps the request)
 * for up to RESTART_S. Returns it, or NULL with *rc. */
static json_t *poll_allocation(const struct cli *c, struct client *cl, const char *path,
                               const sigset_t *set, int *rc)
{
    json_t *alloc = NULL;
    long status;

    client_quiet(cl, true);
    for (int tries = 0; tries < RESTART_S; tries++) {
        if (client_call(cl, "GET", path, NULL, &status, &alloc) == CLI_OK) {
            client_quiet(cl, false);
            if (status == 200)
                return alloc;
            *rc = cli_fail(c, CLI_UNAVAILABLE, "the daemon no longer has the request: %s",
                           client_error(alloc));
            json_decref(alloc);
            return NULL;
        }
        if (tries == 0)
            fprintf(stderr, "gpuctl run: the daemon does not answer; waiting for it to come "
                            "back (the queue survives a restart)\n");
        if (pending_signal(set, 1000)) {
            *rc = 130;
            return NULL;
        }
    }
    client_quiet(cl, false);
    fprintf(stderr, "gpuctl run: the daemon did not come back in %d s\n", RESTART_S);
    *rc = CLI_UNAVAILABLE;
    return NULL;
}

/* Waits while queued; returns the active allocation, or NULL after saying why not. */
static json_t *wait_turn(struct cli *c, struct client *cl, json_t *alloc, const sigset_t *set,
                         int *rc)
{
    json_int_t id = json_integer_value(json_object_get(alloc, "allocation_id"));
    json_int_t shown = -1;
    char path[96];

    snprintf(path, sizeof(path), "/api/v1/gpu/allocations/%lld", (long long)id);
    while (strcmp(json_string_value(json_object_get(alloc, "state")), "queued") == 0) {
        json_int_t pos = json_integer_value(json_object_get(alloc, "queue_position"));
        long status;
        if (pos != shown)
            fprintf(stderr, "gpuctl run: waiting for GPUs (place %lld in the queue)\n",
                    (long long)pos);
        shown = pos;
        int sig = pending_signal(set, POLL_MS);
        if (sig) { /* withdraw the request, and stop as the signal would have stopped us */
            json_t *ignored = NULL;
            client_call(cl, "DELETE", path, NULL, &status, &ignored);
            json_decref(ignored);
            json_decref(alloc);
            *rc = 128 + sig;
            return NULL;
        }
        json_decref(alloc);
        if ((alloc = poll_allocation(c, cl, path, set, rc)) == NULL)
            return NULL;
    }
    if (strcmp(json_string_value(json_object_get(alloc, "state")), "active") != 0) {
        const char *reason = json_string_value(json_object_get(alloc, "reason"));
        *rc = cli_fail(c, CLI_UNAVAILABLE, "no GPU: %s", reason ? reason : "the request failed");
        json_decref(alloc);
        return NULL;
    }
    return alloc;
}

/* Starts one process of the command in process group pgid (0: a new one, its own). It gets
 * SIGTERM if gpuctl run dies first: its GPUs are released then. */
static pid_t start_one(char **argv, int rank, pid_t pgid, const sigset_t *set)
{
    pid_t parent = getpid(), pid;
    char text[16];

    if (rank >= 0) {
        snprintf(text, sizeof(text), "%d", rank);
        setenv("RANK", text, 1);
        setenv("LOCAL_RANK", text, 1);
    }
    pid = fork();
    if (pid == 0) {
        setpgid(0, pgid);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(128 + SIGTERM);
        signal(SIGTTOU, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, set, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, "gpuctl run: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid > 0)
        setpgid(pid, pgid ? pgid : pid); /* both sides: whichever runs first */
    return pid;
}

/* A process of the command stopped (Ctrl-Z): stop gpuctl run too, so that the shell sees its
 * job stopped, and continue the command when the shell continues us. */
static void follow_stop(pid_t pgid, bool tty)
{
    if (tty)
        tcsetpgrp(0, getpgrp());
    raise(SIGSTOP);
    if (tty)
        tcsetpgrp(0, pgid);
    kill(-pgid, SIGCONT);
}

/* Runs the command (n processes, one group; each given its RANK when ranked), forwarding
 * signals, until every process ended. Returns the exit code: the first failing process's status,
 * 128 + signal when killed. */
static int supervise(char **argv, int n, bool ranked, const sigset_t *set)
{
    bool tty = isatty(0) && tcgetpgrp(0) == getpgrp();
    pid_t pgid = 0;
    int live = 0, code = 0;

    signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from the background */
    for (int r = 0; r < n; r++) {
        pid_t pid = start_one(argv, ranked ? r : -1, pgid, set);
        if (pid < 0) {
            code = code ? code : 127;
            continue;
        }
        pgid = pgid ? pgid : pid;
        live++;
    }
    if (tty && pgid)
        tcsetpgrp(0, pgid); /* Ctrl-C and Ctrl-Z go to the command */
    while (live > 0) {
        int sig = pending_signal(set, POLL_MS), status;
        pid_t pid;
        if (sig)
            kill(-pgid, sig);
        while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
            if (WIFSTOPPED(status)) {
                follow_stop(pgid, tty);
                continue;
            }
            live--;
            if (!code && (!WIFEXITED(status) || WEXITSTATUS(status)))
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    if (tty)
        tcsetpgrp(0, getpgrp());
    return code;
}

/* The request: the options' fields, this process as the holder, the caller's mask, and waiting
 * for ever unless told otherwise. */
static json_t *request_of(struct job_opts *j)
{
    json_t *req = j->request ? j->request : json_object();
    const char *mask = getenv("CUDA_VISIBLE_DEVICES");

    j->request = NULL;
    json_object_set_new(req, "pid", json_integer(getpid()));
    if (mask)
        json_object_set_new(req, "visible_devices", json_string(mask));
    if (!json_object_get(req, "wait"))
        json_object_set_new(req, "wait", json_string("forever"));
    return req;
}

/* Asks for the GPUs and waits for them. Returns the active allocation, or NULL with *rc. */
static json_t *obtain(struct cli *c, struct client *cl, json_t *req, const sigset_t *set, int *rc)
{
    json_t *alloc = NULL;
    long status;

    *rc = client_call(cl, "POST", "/api/v1/gpu/allocate", req, &status, &alloc);
    if (*rc != CLI_OK)
        return NULL;
    if (status != 200 && status != 202) {
        *rc = cli_fail(c, client_exit_code(status), "%s", client_error(alloc));
        json_decref(alloc);
        return NULL;
    }
    return wait_turn(c, cl, alloc, set, rc);
}

static void release(struct client *cl, json_int_t id)
{
    json_t *body = json_pack("{s:I}", "allocation_id", id), *reply = NULL;
    long status;

    if (client_call(cl, "POST", "/api/v1/gpu/release", body, &status, &reply) == CLI_OK &&
        status != 200)
        fprintf(stderr, "gpuctl run: releasing allocation %lld: %s\n", (long long)id,
                client_error(reply));
    json_decref(body);
    json_decref(reply);
}

int cmd_run(struct cli *c, int argc, char **argv)
{
    struct job_opts j = {0};
    struct client *cl = NULL;
    json_t *req, *alloc;
    sigset_t set;
    int rc, n = 1;

    c->usage = usage;
    rc = job_parse(c, &j, argc, argv);
    if (rc != -2) {
        json_decref(j.request);
        return rc;
    }
    req = request_of(&j);
    /* Signals wait in the mask until we take them: while queued they withdraw the request,
     * while running they go to the command. */
    signal_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    rc = client_open(c, j.daemon, &cl);
    alloc = rc == CLI_OK ? obtain(c, cl, req, &set, &rc) : NULL;
    json_decref(req);
    if (alloc) {
        bool ranked = j.per_gpu && json_array_size(json_object_get(alloc, "devices")) > 0;
        if (ranked)
            n = (int)json_array_size(json_object_get(alloc, "devices"));
        client_apply_env(json_object_get(alloc, "env"));
        rc = supervise(argv + optind, n, ranked, &set);
        release(cl, json_integer_value(json_object_get(alloc, "allocation_id")));
        json_decref(alloc);
    }
    client_close(cl);
    return rc;
}
