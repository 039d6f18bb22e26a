/* harness.c: run the built gpuctl against a fake machine and capture what it says. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fakes/nvml/identical.h"

#define MAX_ENV 32

static char *xstrdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    assert_non_null(s);
    return s;
}

/* Adds or replaces NAME=VALUE in env. */
static void env_put(char **env, size_t *n, char *entry)
{
    size_t klen = strcspn(entry, "=");

    for (size_t i = 0; i < *n; i++) {
        if (strncmp(env[i], entry, klen + 1) == 0) {
            free(env[i]);
            env[i] = entry;
            return;
        }
    }
    assert_true(*n + 1 < MAX_ENV);
    env[(*n)++] = entry;
    env[*n] = NULL;
}

static void drain(int *fds, char **bufs)
{
    size_t lens[2] = {0, 0}, caps[2] = {0, 0};

    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno == EINTR)
            continue;
        for (int k = 0; k < 2; k++) {
            char chunk[4096];
            ssize_t got;
            if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(fds[k], chunk, sizeof(chunk));
            if (got <= 0) {
                close(fds[k]);
                fds[k] = -1;
                continue;
            }
            if (lens[k] + (size_t)got + 1 > caps[k]) {
                caps[k] = (lens[k] + (size_t)got + 1) * 2;
                bufs[k] = realloc(bufs[k], caps[k]);
                assert_non_null(bufs[k]);
            }
            memcpy(bufs[k] + lens[k], chunk, (size_t)got);
            lens[k] += (size_t)got;
            bufs[k][lens[k]] = '\0';
        }
    }
    for (int k = 0; k < 2; k++)
        if (!bufs[k])
            bufs[k] = calloc(1, 1);
}

static void spawn(struct run *r, const char *stdout_path, const char *machine,
                  const char *const *extra, const char *const *args)
{
    static const char *const passthrough[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                              "TSAN_OPTIONS", NULL};
    char *env[MAX_ENV] = {NULL}, *argv[64], *bufs[2] = {NULL, NULL};
    int out[2], err[2], fds[2], wstatus = 0;
    posix_spawn_file_actions_t fa;
    size_t n = 0, argc = 0;
    pid_t pid;

    env_put(env, &n, xstrdup_printf("PATH=/usr/bin:/bin"));
    for (const char *const *p = passthrough; *p; p++)
        if (getenv(*p))
            env_put(env, &n, xstrdup_printf("%s=%s", *p, getenv(*p)));
    env_put(env, &n, xstrdup_printf("LD_LIBRARY_PATH=%s/current", FAKE_NVML_DIR));
    if (machine[0] == '/')
        env_put(env, &n, xstrdup_printf("FAKE_NVML_FIXTURE=%s", machine));
    else
        env_put(env, &n, xstrdup_printf("FAKE_NVML_FIXTURE=%s/nvml/%s.json", FIXTURES, machine));
    env_put(env, &n, xstrdup_printf("GPUCTL_PROCFS_ROOT=%s/procfs/workstation", FIXTURES));
    /* A sysfs without GPUs, so the machine running the tests adds no AMD or Intel GPU. */
    env_put(env, &n, xstrdup_printf("GPUCTL_SYSFS_ROOT=%s/sysfs/none", FIXTURES));
    for (const char *const *e = extra; e && *e; e++)
        env_put(env, &n, xstrdup_printf("%s", *e));

    argv[argc++] = (char *)GPUCTL_BIN;
    for (const char *const *a = args; a && *a; a++)
        argv[argc++] = (char *)*a;
    argv[argc] = NULL;

    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    posix_spawn_file_actions_init(&fa);
    if (stdout_path)
        posix_spawn_file_actions_addopen(&fa, 1, stdout_path, O_WRONLY, 0);
    else
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    assert_int_equal(posix_spawn(&pid, GPUCTL_BIN, &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    fds[0] = out[0];
    fds[1] = err[0];
    drain(fds, bufs);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r->out = bufs[0];
    r->err = bufs[1];
    for (size_t i = 0; i < n; i++)
        free(env[i]);
}

void run_gpuctl(struct run *r, const char *machine, const char *const *env, const char *const *args)
{
    spawn(r, NULL, machine, env, args);
}

void run_gpuctl_to(struct run *r, const char *path, const char *machine, const char *const *env,
                   const char *const *args)
{
    spawn(r, path, machine, env, args);
}

void write_identical_gpus(const char *path, unsigned n)
{
    assert_int_equal(fake_nvml_write_identical(path, n), 0);
}

json_t *run_json(const struct run *r)
{
    json_error_t e;
    json_t *v = json_loads(r->out, 0, &e);

    if (!v)
        fail_msg("gpuctl printed no JSON (%s at line %d):\n%s\nstderr:\n%s", e.text, e.line, r->out,
                 r->err);
    return v;
}

void run_release(struct run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

json_t *info_device(json_t *info, size_t i)
{
    json_t *d = json_array_get(json_object_get(info, "devices"), i);

    assert_non_null(d);
    return d;
}
