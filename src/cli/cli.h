/* cli.h: what every gpuctl command shares: exit codes, common options, output and errors.
 *
 * Adding a command: write cmd_<name>.c with `int cmd_<name>(struct cli *c, int argc, char **argv)`,
 * declare it below, and add one row to the commands[] table in main.c. */
#ifndef GPUCTL_CLI_CLI_H
#define GPUCTL_CLI_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include <gpuctl/gpuctl.h>

/* Exit codes, the same for every command. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAILURE = 1,     /* something went wrong */
    CLI_USAGE = 2,       /* the command line was wrong */
    CLI_UNAVAILABLE = 3, /* nothing fits, or the daemon is unreachable */
};

struct cli {
    const char *command; /* "select" */
    const char *usage;   /* the command's usage text */
    struct gpuctl_options open;
    bool json;
    bool log_level_set; /* --log-level was given: it wins over a config file's */
};

/* Long options every command takes; end a command's option table with CLI_COMMON_OPTIONS. */
enum { OPT_SYSFS_ROOT = 0x100, OPT_PROCFS_ROOT, OPT_LOG_LEVEL, OPT_JSON, OPT_FIRST_COMMAND };
#define CLI_COMMON_OPTIONS                                                                         \
    {"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},                                       \
        {"procfs-root", required_argument, NULL, OPT_PROCFS_ROOT},                                 \
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},                                     \
        {"json", no_argument, NULL, OPT_JSON}, {"help", no_argument, NULL, 'h'},                   \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

/* Handles an option shared by all commands (also '?' and 'h'). Returns -1 when opt is not one
 * of them, else the exit code to stop with (CLI_OK after --help, CLI_USAGE after a bad value),
 * or -2 to go on parsing. */
int cli_common_option(struct cli *c, int opt, const char *arg);

/* Reports an error: "gpuctl <command>: <message>" on stderr and, with --json, an error object
 * {"error": {"code", "message"}} on stdout. Returns exit_code. */
int cli_fail(const struct cli *c, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cli_fail(), adding `extra`'s members to the JSON object (extra is released). */
int cli_fail_json(const struct cli *c, int exit_code, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints v as indented JSON on stdout and releases it. Returns CLI_OK or CLI_FAILURE. */
int cli_print_json(json_t *v);

/* Reads the machine with c's options. Returns CLI_OK with *g set, or an exit code after
 * reporting why. */
int cli_open(const struct cli *c, struct gpuctl **g);

int cmd_info(struct cli *c, int argc, char **argv);
int cmd_select(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);  /* runs the helper gpuctl-serve */
int cmd_client(struct cli *c, int argc, char **argv); /* runs gpuctl-client (run, submit ...) */
int cmd_env(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);

/* gpuctl-client's commands (cmd_run.c, cmd_jobs.c): clients of the daemon. */
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_submit(struct cli *c, int argc, char **argv);
int cmd_ps(struct cli *c, int argc, char **argv);
int cmd_logs(struct cli *c, int argc, char **argv);
int cmd_cancel(struct cli *c, int argc, char **argv);
int cmd_limits(struct cli *c, int argc, char **argv);
int cmd_tune(struct cli *c, int argc, char **argv);   /* cmd_tune.c */
int cmd_advise(struct cli *c, int argc, char **argv); /* cmd_advise.c */

/* gpuctl-serve's command: the daemon itself (cmd_serve.c). */
int cmd_serve_daemon(struct cli *c, int argc, char **argv);

/* Runs helper `name` (next to gpuctl or in its libexec directory) in gpuctl's place with the
 * command's name and then argv[1..], passing the global options in the environment. Returns
 * only when it cannot, with the exit code after saying why. */
int cli_run_helper(struct cli *c, const char *name, int argc, char **argv);
int cmd_watch(struct cli *c, int argc, char **argv);

#endif
