/* serve_main.c: gpuctl-serve, the helper that `gpuctl serve` runs (see helper.c): the daemon and
 * the libraries only it needs. gpuctl has already read the global options and passed them on in
 * the environment (GPUCTL_SYSFS_ROOT, GPUCTL_PROCFS_ROOT, GPUCTL_LOG_LEVEL). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/banned.h"

int main(int argc, char **argv)
{
    struct cli c = {.command = "serve", .usage = ""};
    int rc;

    if (argc > 1 && strcmp(argv[1], "serve") == 0) { /* gpuctl names the command first */
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    rc = cmd_serve_daemon(&c, argc, argv);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gpuctl serve: cannot write the output: %s\n", strerror(errno));
        return rc ? rc : CLI_FAILURE;
    }
    return rc;
}
