/* main.c: gpuctl's entry point: global options, then one command from the table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/banned.h"

struct command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"info", cmd_info, "list the GPUs and the CPU, and the device and precision to use"},
    {"select", cmd_select, "choose the best GPUs for a job; prints a CUDA_VISIBLE_DEVICES value"},
    {"watch", cmd_watch, "follow utilization, memory, temperature and power; then a verdict"},
    {"env", cmd_env, "export lines for the best GPUs now, with the framework's settings"},
    {"doctor", cmd_doctor, "why the GPU is not used (driver, CUDA, frameworks), with the fix"},
    {"run", cmd_client, "wait for GPUs from the daemon and run a command on them"},
    {"submit", cmd_client, "queue a command with the daemon; it runs detached, logs kept"},
    {"ps", cmd_client, "the daemon's tasks and held GPUs"},
    {"logs", cmd_client, "a task's output (-f to follow)"},
    {"cancel", cmd_client, "cancel tasks, or release GPUs held"},
    {"limits", cmd_client, "tasks of each kind per GPU: shown, or set (admins)"},
    {"tune", cmd_client, "find the batch size with the best throughput in a few trial runs"},
    {"advise", cmd_client, "training settings for this GPU; or a YAML config with them applied"},
    {"serve", cmd_serve, "run the daemon: REST API, event stream, Prometheus metrics, health"},
};

static const char global_usage[] =
    "usage: gpuctl [--sysfs-root DIR] [--procfs-root DIR] [--log-level LEVEL] COMMAND [ARGS]\n"
    "       gpuctl COMMAND --help | gpuctl --version\n";

static void print_help(FILE *out)
{
    fputs(global_usage, out);
    fputs("\ncommands:\n", out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit status: 0 ok, 1 failure, 2 usage error, 3 nothing fits or not available\n"
          "environment: CUDA_VISIBLE_DEVICES, GPUCTL_SYSFS_ROOT, GPUCTL_PROCFS_ROOT, "
          "GPUCTL_NVML_LIBRARY, GPUCTL_LOG_LEVEL\n",
          out);
}

/* Flushes stdout and reports a failed write (a full disk, a closed pipe) as a failure: a script
 * must not take a truncated answer for a whole one (git's close_stdout). */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(errno));
        return rc ? rc : CLI_FAILURE;
    }
    return rc;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Parses the options before the command. Returns -2 to go on, or the exit code to stop with. */
static int parse_globals(struct cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"version", no_argument, NULL, 'V'},
        CLI_COMMON_OPTIONS,
    };
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
        if (opt == 'V') {
            printf("gpuctl %s\n", gpuctl_version());
            return CLI_OK;
        }
        if (opt == 'h') {
            print_help(stdout);
            return CLI_OK;
        }
        rc = cli_common_option(c, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    return -2;
}

/* `gpuctl help [COMMAND]`: argv[0] is "help". */
static int help(struct cli *c, int argc, char **argv)
{
    const struct command *cmd = argc > 1 ? find_command(argv[1]) : NULL;
    char *help_argv[] = {NULL, (char *)"--help", NULL};

    if (!cmd) {
        print_help(stdout);
        return CLI_OK;
    }
    help_argv[0] = argv[1];
    c->command = cmd->name;
    optind = 0;
    return cmd->fn(c, 2, help_argv);
}

int main(int argc, char **argv)
{
    struct cli c = {.command = "", .usage = global_usage};
    const struct command *cmd;
    int rc = parse_globals(&c, argc, argv);

    if (rc != -2)
        return finish(rc);
    if (optind >= argc) {
        print_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0)
        return finish(help(&c, argc - optind, argv + optind));
    cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "gpuctl: unknown command '%s'\n\n", argv[optind]);
        print_help(stderr);
        return CLI_USAGE;
    }
    c.command = cmd->name;
    argc -= optind;
    argv += optind;
    optind = 0; /* each command parses its own options from argv[1] on */
    return finish(cmd->fn(&c, argc, argv));
}
