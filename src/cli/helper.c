/* helper.c: commands that live in helper programs (gpuctl-serve), so that the light commands
 * do not load the daemon's libraries. The helper is found next to gpuctl (a build tree), in
 * <bindir>/GPUCTL_LIBEXEC_REL (an installation), or in $GPUCTL_EXEC_PATH, and is executed in
 * gpuctl's place with the global options passed on as environment variables. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/banned.h"
#include "util/log.h"

/* Writes the path of helper `name` to out; returns whether an executable one exists. */
static bool find_helper(const char *name, char *out, size_t len)
{
    const char *dir = getenv("GPUCTL_EXEC_PATH");
    char self[PATH_MAX];
    ssize_t n;
    char *slash;

    if (dir && *dir) {
        snprintf(out, len, "%s/%s", dir, name);
        return access(out, X_OK) == 0;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    snprintf(out, len, "%s/%s", self, name);
    if (access(out, X_OK) == 0)
        return true;
    snprintf(out, len, "%s/%s/%s", self, GPUCTL_LIBEXEC_REL, name);
    return access(out, X_OK) == 0;
}

int cli_run_helper(struct cli *c, const char *name, int argc, char **argv)
{
    char path[PATH_MAX + 64];

    (void)argc;
    if (!find_helper(name, path, sizeof(path)))
        return cli_fail(c, CLI_FAILURE,
                        "%s is not installed next to gpuctl or in %s (set GPUCTL_EXEC_PATH to "
                        "its directory)",
                        name, GPUCTL_LIBEXEC_REL);
    if (c->open.sysfs_root)
        setenv("GPUCTL_SYSFS_ROOT", c->open.sysfs_root, 1);
    if (c->open.procfs_root)
        setenv("GPUCTL_PROCFS_ROOT", c->open.procfs_root, 1);
    if (c->log_level_set)
        setenv("GPUCTL_LOG_LEVEL", log_level_name(log_get_level()), 1);
    fflush(stdout);
    {
        /* The helper gets the command's name first: gpuctl-client serves several. */
        char **args = calloc((size_t)argc + 2, sizeof(*args));
        if (!args)
            return cli_fail(c, CLI_FAILURE, "out of memory");
        args[0] = path;
        args[1] = (char *)c->command;
        for (int i = 1; i < argc; i++)
            args[i + 1] = argv[i];
        execv(path, args);
        free(args);
    }
    return cli_fail(c, CLI_FAILURE, "cannot run %s: %s", path, strerror(errno));
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
    return cli_run_helper(c, "gpuctl-serve", argc, argv);
}

/* The commands that talk to the daemon (libcurl) live in gpuctl-client. */
int cmd_client(struct cli *c, int argc, char **argv)
{
    return cli_run_helper(c, "gpuctl-client", argc, argv);
}
