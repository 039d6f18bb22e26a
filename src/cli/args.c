/* args.c: options, errors and output shared by all commands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/banned.h"
#include "util/log.h"

int cli_common_option(struct cli *c, int opt, const char *arg)
{
    enum log_level level;

    switch (opt) {
    case OPT_SYSFS_ROOT:
        c->open.sysfs_root = arg;
        return -2;
    case OPT_PROCFS_ROOT:
        c->open.procfs_root = arg;
        return -2;
    case OPT_JSON:
        c->json = true;
        return -2;
    case OPT_LOG_LEVEL:
        if (log_level_parse(arg, &level) != 0)
            return cli_fail(c, CLI_USAGE, "unknown log level '%s': use error, warn, info or debug",
                            arg);
        log_set_level(level);
        c->log_level_set = true;
        return -2;

    case 'h':
        fputs(c->usage, stdout);
        return CLI_OK;
    case '?': /* getopt_long has said what was wrong */
        fprintf(stderr, "%s", c->usage);
        return CLI_USAGE;
    default:
        return -1;
    }
}

static int vfail(const struct cli *c, int exit_code, json_t *extra, const char *fmt, va_list ap)
{
    static const char *const codes[] = {"ok", "failure", "usage", "unavailable"};
    char msg[10240]; /* room for a selection message (8 KiB) and its context */
    json_t *err;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "gpuctl %s: %s\n", c->command, msg);
    if (c->json) {
        err =
            json_pack("{s:{s:s, s:s}}", "error", "code",
                      exit_code >= 0 && exit_code <= CLI_UNAVAILABLE ? codes[exit_code] : "failure",
                      "message", msg);
        if (err && extra)
            json_object_update(err, extra);
        cli_print_json(err);
    }
    json_decref(extra);
    return exit_code;
}

int cli_fail(const struct cli *c, int exit_code, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(c, exit_code, NULL, fmt, ap);
    va_end(ap);
    return ret;
}

int cli_fail_json(const struct cli *c, int exit_code, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = vfail(c, exit_code, extra, fmt, ap);
    va_end(ap);
    return ret;
}

int cli_print_json(json_t *v)
{
    int rc;

    if (!v)
        return CLI_FAILURE;
    rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(v);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return CLI_FAILURE;
    return CLI_OK;
}

int cli_open(const struct cli *c, struct gpuctl **g)
{
    int rc = gpuctl_new(&c->open, g);

    if (rc)
        return cli_fail(c, CLI_FAILURE, "cannot read the devices: %s", gpuctl_strerror(rc));
    return CLI_OK;
}
