/* spawn.c: fork, become the task's owner, exec. */
#include "task/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/str.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_path(char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        if (str_starts_with(envp[i], "PATH="))
            return envp[i] + 5;
    return DEFAULT_PATH;
}

int spawn_resolve(const char *file, char *const *envp, char *out, size_t len, char *msg,
                  size_t msg_len)
{
    const char *path = env_path(envp);

    if (strchr(file, '/')) {
        str_copy(out, file, len);
        return 0;
    }
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", file);
        if (access(out, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    snprintf(msg, msg_len, "'%s' is not found on the task's PATH (%s)", file, env_path(envp));
    return GPUCTL_ENOENT;
}

/* Writes a message and ends the child: only async-signal-safe calls after fork(). */
static void child_fail(const char *what)
{
    const char *err = strerror(errno); /* read-only table on glibc */
    ssize_t rc;

    rc = write(2, "gpuctl: ", 8);
    rc = write(2, what, strlen(what));
    rc = write(2, ": ", 2);
    rc = write(2, err, strlen(err));
    rc = write(2, "\n", 1);
    (void)rc;
    _exit(127);
}

/* Writes a number and a newline to a new file at path (async-signal-safe). */
static void write_number(const char *path, int value)
{
    char text[16];
    size_t i = sizeof(text);
    unsigned v = (unsigned)value;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return;
    text[--i] = '\n';
    do
        text[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    if (write(fd, text + i, sizeof(text) - i) < 0)
        text[0] = '\0';
    close(fd);
}

/*
 * The keeper: the task's first process writes its pid to sp->pid_path (so that a daemon killed
 * between fork() and its ledger write finds the task again), forks the command, and stays, its
 * process group's leader, to write the command's wait status to sp->status_path when it ends;
 * then it ends the same way. A daemon that restarted and adopted the task reads the status
 * there. The keeper ignores the signals a cancel sends (the command gets them, in the same
 * group), but not SIGKILL. Returns in the command's process.
 */
static void keep(const struct spawn_spec *sp)
{
    static const int ignored[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    int status;
    pid_t pid;

    if (!sp->status_path)
        return;
    write_number(sp->pid_path, getpid());
    pid = fork();
    if (pid < 0)
        child_fail("cannot start the task");
    if (pid == 0)
        return;
    prctl(PR_SET_NAME, "gpuctl-keeper"); /* not the daemon, for ps and pkill */
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        signal(ignored[i], SIG_IGN);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            _exit(127);
    write_number(sp->status_path, status);
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    signal(WTERMSIG(status), SIG_DFL);
    kill(getpid(), WTERMSIG(status));
    _exit(128 + WTERMSIG(status));
}

static void child(const struct spawn_spec *sp)
{
    int out, err, in;

    /* First, let go of the daemon's descriptors: a listening socket held here would make a
     * daemon restarted after a crash believe another one still answers. */
    closefrom(3);
    setsid();
    if (sp->change_user &&
        (setgroups(sp->ngroups, sp->groups) != 0 || setgid(sp->gid) != 0 || setuid(sp->uid) != 0))
        child_fail("cannot become the task's user");
    in = open("/dev/null", O_RDONLY);
    out = open(sp->stdout_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    err = open(sp->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || err < 0)
        child_fail("cannot open the task's logs");
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    closefrom(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks some; the task must not */
    signal(SIGPIPE, SIG_DFL);
    if (chdir(sp->cwd) != 0)
        child_fail("cannot enter the task's directory");
    keep(sp);
    execve(sp->path, sp->argv, sp->envp);
    child_fail(sp->path);
}

pid_t spawn_task(const struct spawn_spec *sp, char *msg, size_t len)
{
    pid_t pid = fork();

    if (pid == 0)
        child(sp);
    if (pid < 0)
        snprintf(msg, len, "cannot start the task: %s", strerror(errno));
    return pid;
}

void spawn_signal_group(pid_t pid, int sig)
{
    if (pid > 1)
        kill(-pid, sig);
}

int spawn_read_number(const char *path, int *value)
{
    char text[24];
    struct stat st;
    ssize_t n = -1;
    /* the task's user owns the directory: no links followed, no FIFO waited on */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, text, sizeof(text) - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return sscanf(text, "%d", value) == 1 ? 0 : -1;
}
