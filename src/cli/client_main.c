/* client_main.c: gpuctl-client, the helper that gpuctl runs for the commands that talk to the
 * daemon (run, submit, ps, logs, cancel, limits), so that gpuctl itself does not load libcurl.
 * gpuctl passes the command's name first, then its arguments (see helper.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/banned.h"

static const struct {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
} commands[] = {
    {"run", cmd_run},       {"submit", cmd_submit}, {"ps", cmd_ps},     {"logs", cmd_logs},
    {"cancel", cmd_cancel}, {"limits", cmd_limits}, {"tune", cmd_tune}, {"advise", cmd_advise},
};

int main(int argc, char **argv)
{
    struct cli c = {.command = "", .usage = ""};
    int rc = -1;

    for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        c.command = commands[i].name;
        argv[1] = argv[0];
        rc = commands[i].fn(&c, argc - 1, argv + 1);
        break;
    }
    if (rc < 0) {
        fprintf(stderr, "gpuctl-client: run it as gpuctl COMMAND (run, submit, ps, logs, cancel, "
                        "limits, tune, advise)\n");
        return CLI_USAGE;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gpuctl %s: cannot write the output: %s\n", c.command, strerror(errno));
        return rc ? rc : CLI_FAILURE;
    }
    return rc;
}
