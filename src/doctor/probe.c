/* probe.c: runs probe.py in Python interpreters, all at once, each with a time limit, and reads
 * the JSON lines it prints. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "doctor/probe.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"

#define OUT_MAX (1 << 20) /* the script prints a few KB; more is garbage */
#define POLL_MS 20

extern char **environ;

bool probe_which(const char *name, char *out, size_t len)
{
    const char *path = getenv("PATH");

    if (strchr(name, '/')) {
        str_copy(out, name, len);
        return access(out, X_OK) == 0;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");

        snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", name);
        if (access(out, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* Sets p->message (long paths are cut rather than refused). */
static void message(struct probe_result *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void message(struct probe_result *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

/* One interpreter while it runs. */
struct child {
    pid_t pid;
    int out, err; /* -1 once at end of file */
    bool reaped;
    int status;
    int64_t ended_ms;
    struct buf text;
};

/* Starts the script in p->python with its output on two pipes, in a process group of its own so
 * that a hung import's helpers die with it. Returns 0, or -1 with p->message. */
static int child_start(struct probe_result *p, struct child *c)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};

    if (access(p->python, X_OK) != 0) {
        message(p, "%s cannot be executed: %s", p->python, strerror(errno));
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        goto fail;
    c->pid = fork();
    if (c->pid < 0)
        goto fail;
    if (c->pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* gpuctl killed or interrupted: no orphan left */
        if (getppid() == 1)
            _exit(127);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        execle(p->python, p->python, "-c", probe_script, (char *)NULL, environ);
        _exit(127);
    }
    setpgid(c->pid, c->pid); /* also here: a kill at the deadline must not miss the group */
    close(out[1]);
    close(err[1]);
    c->out = out[0];
    c->err = err[0];
    return 0;
fail:
    message(p, "cannot start %s: %s", p->python, strerror(errno));
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return -1;
}

/* Keeps the last bytes of stderr, where Python's traceback ends. */
static void tail_add(struct probe_result *p, const char *data, size_t n)
{
    size_t have = strlen(p->stderr_tail), room = sizeof(p->stderr_tail) - 1;

    if (n >= room) {
        memcpy(p->stderr_tail, data + n - room, room);
        p->stderr_tail[room] = '\0';
        return;
    }
    if (have + n > room) {
        memmove(p->stderr_tail, p->stderr_tail + (have + n - room), room - n);
        have = room - n;
    }
    memcpy(p->stderr_tail + have, data, n);
    p->stderr_tail[have + n] = '\0';
}

/* Reads what fd has; closes it at end of file. */
static void drain(struct probe_result *p, struct child *c, int *fd)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (fd == &c->err)
        tail_add(p, chunk, (size_t)n);
    else if (c->text.len + (size_t)n <= OUT_MAX)
        buf_add(&c->text, chunk, (size_t)n);
}

static bool child_running(const struct child *c)
{
    return c->pid > 0 && !c->reaped;
}

/* Waits for output or ends until every child is reaped or the deadline passes. */
static void wait_all(struct probe_result *results, struct child *kids, size_t n, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd[2 * 8];
        int *owner[2 * 8];
        size_t npfd = 0, running = 0;
        int64_t left = deadline - clock_mono_ms();

        for (size_t i = 0; i < n; i++) {
            struct child *c = &kids[i];

            if (child_running(c) && c->out < 0 && c->err < 0 &&
                waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
                c->reaped = true;
                c->ended_ms = clock_mono_ms();
            }
            running += child_running(c);
            for (int *fd = &c->out; fd <= &c->err; fd++)
                if (*fd >= 0 && npfd < 16) {
                    pfd[npfd] = (struct pollfd){.fd = *fd, .events = POLLIN};
                    owner[npfd++] = fd;
                }
        }
        if (!running || left <= 0)
            return;
        if (poll(pfd, npfd, npfd ? (int)(left < 1000 ? left : 1000) : POLL_MS) < 0 &&
            errno != EINTR)
            return;
        for (size_t k = 0; k < npfd; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            for (size_t i = 0; i < n; i++)
                if (owner[k] == &kids[i].out || owner[k] == &kids[i].err)
                    drain(&results[i], &kids[i], owner[k]);
        }
    }
}

/* Reads the script's lines: its header, each framework's report, where it stopped. Returns
 * whether the script reached its end. */
static bool parse_lines(struct probe_result *p, char *text)
{
    bool end = false;

    for (char *line = text, *next; line && *line; line = next) {
        json_t *obj;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        obj = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(obj)) {
            json_decref(obj);
            continue; /* something else printed to stdout while importing */
        }
        if (json_is_string(json_object_get(obj, "python"))) {
            json_decref(p->header);
            p->header = json_incref(obj);
        } else if (json_is_string(json_object_get(obj, "begin"))) {
            str_copy(p->stopped_in, json_string_value(json_object_get(obj, "begin")),
                     sizeof(p->stopped_in));
        } else if (json_is_string(json_object_get(obj, "framework"))) {
            json_object_set(p->frameworks, json_string_value(json_object_get(obj, "framework")),
                            obj);
            p->stopped_in[0] = '\0';
        } else if (json_is_true(json_object_get(obj, "end"))) {
            end = true;
        }
        json_decref(obj);
    }
    return end;
}

static void finish(struct probe_result *p, struct child *c, bool killed)
{
    bool end = c->text.data && !c->text.oom && parse_lines(p, c->text.data);

    if (end) {
        p->state = PROBE_DONE; /* a helper it left behind held the pipe: not the script's fault */
    } else if (killed) {
        p->state = PROBE_HUNG;
        message(p, "no answer within the time limit (killed)");
    } else if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 127 && !p->header) {
        p->state = PROBE_MISSING;
        message(p, "%s could not be run (exit status 127)", p->python);
    } else {
        p->state = PROBE_CRASHED;
        if (WIFSIGNALED(c->status))
            message(p, "killed by signal %d (%s)", WTERMSIG(c->status),
                    strsignal(WTERMSIG(c->status)));
        else
            message(p, "ended with exit status %d before its end", WEXITSTATUS(c->status));
    }
}

int probe_run(struct probe_result *results, size_t n, double timeout_s)
{
    struct child kids[8];
    int64_t start = clock_mono_ms(), deadline = start + (int64_t)(timeout_s * 1000);

    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        struct probe_result *p = &results[i];

        kids[i] = (struct child){.pid = -1, .out = -1, .err = -1, .text = BUF_INIT};
        p->header = NULL;
        p->frameworks = json_object();
        p->stopped_in[0] = p->stderr_tail[0] = p->message[0] = '\0';
        if (!p->frameworks)
            return GPUCTL_ENOMEM;
        if (child_start(p, &kids[i]) != 0)
            p->state = PROBE_MISSING;
    }
    wait_all(results, kids, n, deadline);
    for (size_t i = 0; i < n; i++) {
        struct child *c = &kids[i];
        bool killed = child_running(c);

        if (c->pid < 0)
            continue;
        if (killed) {
            kill(-c->pid, SIGKILL);
            while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
                ;
            c->ended_ms = clock_mono_ms();
        }
        for (int *fd = &c->out; fd <= &c->err; fd++)
            if (*fd >= 0)
                close(*fd);
        finish(&results[i], c, killed);
        results[i].seconds = (double)(c->ended_ms - start) / 1000.0;
        buf_release(&c->text);
    }
    return 0;
}

void probe_release(struct probe_result *p)
{
    json_decref(p->header);
    json_decref(p->frameworks);
    p->header = p->frameworks = NULL;
}
