/* trial.c: running one trial of `gpuctl tune` (trial.h): fork and exec in a process group,
 * read its output for the metric and out-of-memory messages, sample the GPU, time it out. */
#include "tune/trial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

#define KILL_GRACE_S 3.0 /* from SIGTERM to SIGKILL */
#define DRAIN_S      1.0 /* how long to read what is left once the command ended */
#define LINE_MAX_    4096

static const char *const outcome_names[] = {
    [TRIAL_OK] = "ok",
    [TRIAL_OOM] = "oom",
    [TRIAL_FAILED] = "failed",
    [TRIAL_TIMEOUT] = "timeout",
    [TRIAL_INTERRUPTED] = "interrupted",
};

const char *trial_outcome_name(enum trial_outcome o)
{
    return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o]
                                                                          : "failed";
}

/* One output stream, cut into lines. */
struct stream {
    int fd;
    bool is_stderr;
    size_t len;
    char line[LINE_MAX_];
};

/* What a running trial has learnt so far. */
struct progress {
    const struct trial_spec *spec;
    struct trial_result *r;
    char tail[2 * TRIAL_TAIL];
    size_t tail_len;
    struct trial_sample peak;
    double util_sum;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char **trial_argv(char *const *argv, unsigned batch)
{
    size_t n = 0;
    char num[16], **out;

    while (argv[n])
        n++;
    out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    snprintf(num, sizeof(num), "%u", batch);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(argv[i]) + 1, marks = 0;
        for (const char *p = argv[i]; (p = strstr(p, "{}")) != NULL; p += 2)
            marks++;
        char *a = malloc(len + marks * strlen(num));
        if (!a) {
            trial_argv_free(out);
            return NULL;
        }
        size_t k = 0;
        for (const char *p = argv[i]; *p;) {
            if (p[0] == '{' && p[1] == '}') {
                memcpy(a + k, num, strlen(num));
                k += strlen(num);
                p += 2;
            } else {
                a[k++] = *p++;
            }
        }
        a[k] = '\0';
        out[i] = a;
    }
    return out;
}

void trial_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Keeps the last TRIAL_TAIL bytes of stderr. */
static void keep_tail(struct progress *p, const char *line)
{
    size_t len = strlen(line);

    if (len >= TRIAL_TAIL) { /* a line longer than the tail: its end */
        line += len - (TRIAL_TAIL - 2);
        len = TRIAL_TAIL - 2;
    }
    if (p->tail_len + len + 1 > sizeof(p->tail)) {
        size_t drop = p->tail_len + len + 1 - TRIAL_TAIL;
        memmove(p->tail, p->tail + drop, p->tail_len - drop);
        p->tail_len -= drop;
    }
    memcpy(p->tail + p->tail_len, line, len);
    p->tail_len += len;
    p->tail[p->tail_len++] = '\n';
}

static void on_line(struct progress *p, const struct stream *s)
{
    char line[LINE_MAX_];

    memcpy(line, s->line, s->len);
    line[s->len] = '\0';
    metric_scan_line(p->spec->metric, line, p->spec->batch, &p->r->metric);
    oom_scan_line(line, &p->r->oom);
    if (s->is_stderr)
        keep_tail(p, line);
}

/* Reads what is there; returns false at end of file (the stream is then closed). */
static bool feed(struct progress *p, struct stream *s)
{
    char chunk[4096];
    ssize_t got = read(s->fd, chunk, sizeof(chunk));

    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (got <= 0) {
        if (s->len)
            on_line(p, s);
        s->len = 0;
        close(s->fd);
        s->fd = -1;
        return false;
    }
    for (ssize_t i = 0; i < got; i++) {
        if (chunk[i] == '\n' || chunk[i] == '\r') {
            if (s->len)
                on_line(p, s);
            s->len = 0;
        } else if (s->len < LINE_MAX_ - 1) {
            s->line[s->len++] = chunk[i];
        }
    }
    return true;
}

static void sample(struct progress *p)
{
    struct trial_sample now = {0};

    if (!p->spec->sample)
        return;
    p->spec->sample(p->spec->sample_ctx, &now);
    if (now.has_memory && (!p->r->has_peak_memory || now.memory_used > p->r->peak_memory)) {
        p->r->has_peak_memory = true;
        p->r->peak_memory = now.memory_used;
    }
    if (now.has_util) {
        p->util_sum += now.util;
        p->r->util_samples++;
    }
}

/* The child: its own process group, killed with gpuctl, stdin from /dev/null. */
static void child(char **argv, pid_t parent, int out, int err)
{
    sigset_t none;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(128 + SIGKILL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (null >= 0)
        dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    close_range(3, ~0u, 0); /* gpuctl's sockets to the daemon are not the trainer's */
    execvp(argv[0], argv);
    fprintf(stderr, "gpuctl tune: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static enum trial_outcome judge(struct trial_result *r, int status, enum trial_outcome killed)
{
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (killed != TRIAL_OK)
        return killed;
    if (r->exit_code == 0)
        return TRIAL_OK;
    if (r->oom.source)
        return TRIAL_OOM;
    /* The host's OOM killer sends SIGKILL; a shell in between reports it as 137. */
    if (r->signal == SIGKILL || r->exit_code == 128 + SIGKILL) {
        r->oom = oom_host_killer;
        return TRIAL_OOM;
    }
    return TRIAL_FAILED;
}

/* Signals the group for a timeout or a stop, SIGKILL once the grace is over. */
static void enforce(const struct trial_spec *spec, pid_t pid, double now, double deadline,
                    enum trial_outcome *killed, double *kill_at)
{
    if (*killed == TRIAL_OK) {
        if (spec->stop && *spec->stop)
            *killed = TRIAL_INTERRUPTED;
        else if (now >= deadline)
            *killed = TRIAL_TIMEOUT;
        if (*killed != TRIAL_OK) {
            kill(-pid, SIGTERM);
            *kill_at = now + KILL_GRACE_S;
        }
    } else if (*kill_at > 0 && now >= *kill_at) {
        kill(-pid, SIGKILL);
        *kill_at = 0;
    }
}

/* Reads, samples and enforces until the command ended; then kills what is left of its group,
 * reaps it and reads the rest of its output. */
static void supervise(struct progress *p, pid_t pid, struct stream *s, double start)
{
    const struct trial_spec *spec = p->spec;
    double deadline = start + spec->timeout_s, next_sample = start, kill_at = 0, drain_end = 0;
    enum trial_outcome killed = TRIAL_OK;
    int status = 0;
    bool ended = false;

    while (s[0].fd >= 0 || s[1].fd >= 0 || !ended) {
        struct pollfd fds[2] = {{s[0].fd, POLLIN, 0}, {s[1].fd, POLLIN, 0}};
        double now = now_s();
        if (!ended && now >= next_sample) {
            sample(p);
            next_sample = now + spec->sample_every_s;
        }
        if (!ended)
            enforce(spec, pid, now, deadline, &killed, &kill_at);
        if (ended && now >= drain_end)
            break;
        poll(fds, 2, 50);
        for (int k = 0; k < 2; k++)
            if (s[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                feed(p, &s[k]);
        siginfo_t info = {0};
        if (!ended && waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
            p->r->seconds = now_s() - start;
            sample(p);
            kill(-pid, SIGKILL); /* stragglers; the unreaped leader keeps the group's id */
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            /* Until they are gone they may hold GPU memory the next trial would miss. */
            for (double until = now_s() + KILL_GRACE_S; kill(-pid, 0) == 0 && now_s() < until;)
                poll(NULL, 0, 10);
            ended = true;
            drain_end = now_s() + DRAIN_S;
        }
    }
    for (int k = 0; k < 2; k++)
        if (s[k].fd >= 0) {
            close(s[k].fd);
            s[k].fd = -1;
        }
    p->r->outcome = judge(p->r, status, killed);
}

int trial_run(const struct trial_spec *spec, struct trial_result *r)
{
    struct progress *p = calloc(1, sizeof(*p));
    struct stream *s = calloc(2, sizeof(*s));
    char **argv = trial_argv(spec->argv, spec->batch);
    int out[2] = {-1, -1}, err[2] = {-1, -1}, rc = 0;
    pid_t parent = getpid(), pid;
    char num[16];
    double start;

    memset(r, 0, sizeof(*r));
    if (!p || !s || !argv) {
        rc = GPUCTL_ENOMEM;
        goto out;
    }
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        rc = GPUCTL_EIO;
        goto out;
    }
    p->spec = spec;
    p->r = r;
    snprintf(num, sizeof(num), "%u", spec->batch);
    setenv("GPUCTL_BATCH_SIZE", num, 1); /* here: the child makes only system calls */
    signal(SIGCHLD, SIG_DFL);            /* ignored, children would be reaped unseen */
    fflush(NULL);
    start = now_s();
    pid = fork();
    if (pid < 0) {
        rc = GPUCTL_EIO;
        goto out;
    }
    if (pid == 0)
        child(argv, parent, out[1], err[1]);
    setpgid(pid, pid); /* both sides: whichever runs first */
    close(out[1]);
    close(err[1]);
    out[1] = err[1] = -1;
    s[0] = (struct stream){.fd = out[0], .is_stderr = false};
    s[1] = (struct stream){.fd = err[0], .is_stderr = true};
    out[0] = err[0] = -1;
    supervise(p, pid, s, start);
    r->util_mean = r->util_samples ? p->util_sum / r->util_samples : 0;
    {
        /* The tail from a line's start. */
        size_t from = 0;
        if (p->tail_len >= TRIAL_TAIL) {
            from = p->tail_len - (TRIAL_TAIL - 1);
            while (from < p->tail_len && p->tail[from - 1] != '\n')
                from++;
        }
        memcpy(r->tail, p->tail + from, p->tail_len - from);
        r->tail[p->tail_len - from] = '\0';
    }
out:
    for (int k = 0; k < 2; k++) {
        if (out[k] >= 0)
            close(out[k]);
        if (err[k] >= 0)
            close(err[k]);
    }
    trial_argv_free(argv);
    free(s);
    free(p);
    return rc;
}
