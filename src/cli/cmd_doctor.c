/* cmd_doctor.c: `gpuctl doctor`: why the GPU is not used, each check with what was found and
 * the exact fix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doctor/doctor.h"
#include "util/banned.h"
#include "util/duration.h"
#include "util/str.h"

static const char usage[] =
    "usage: gpuctl doctor [--json] [--python PATH]... [--timeout DURATION] [--dev-root DIR]\n"
    "\n"
    "Finds out why a GPU is not used and says how to fix it. Checks, in order: GPUs on the PCI\n"
    "bus; their kernel drivers, NVML and the device files; the highest CUDA the driver runs;\n"
    "variables or a container that hide GPUs; then what PyTorch, TensorFlow and JAX see in each\n"
    "Python interpreter (python3 on PATH, or each --python), with the exact pip command when a\n"
    "build does not fit this GPU or driver; and advice for GPUs of 6 GiB or less.\n"
    "\n"
    "  --json              print {\"ok\", \"checks\": [{id, status, finding, fix}]}\n"
    "  --python PATH       an interpreter to ask (repeatable, up to 8); default: python3 on PATH\n"
    "  --timeout DURATION  how long one interpreter may take (default 20s)\n"
    "  --dev-root DIR      where the device files are (default $GPUCTL_DEV_ROOT, else /dev)\n"
    "\n"
    "exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error\n";

enum { OPT_PYTHON = OPT_FIRST_COMMAND, OPT_TIMEOUT, OPT_DEV_ROOT };

static const char *const marks[] = {
    [DOCTOR_OK] = "✓",
    [DOCTOR_WARN] = "!",
    [DOCTOR_FAIL] = "✗",
    [DOCTOR_SKIP] = "-",
};

static int parse_option(struct cli *c, struct doctor_options *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_PYTHON:
        if (o->npythons == DOCTOR_MAX_PYTHONS)
            return cli_fail(c, CLI_USAGE, "--python may be given at most %d times",
                            DOCTOR_MAX_PYTHONS);
        if (!*arg)
            return cli_fail(c, CLI_USAGE, "--python needs the path of an interpreter, got ''");
        o->pythons[o->npythons++] = arg;
        return -2;
    case OPT_TIMEOUT:
        if (duration_parse(arg, &o->timeout_s) != 0 || o->timeout_s < 0.1 || o->timeout_s > 3600)
            return cli_fail(c, CLI_USAGE,
                            "--timeout needs a duration from 100ms to 1h (%s), got '%s'",
                            duration_syntax, arg);
        return -2;
    case OPT_DEV_ROOT:
        o->dev_root = arg;
        return -2;
    default:
        return cli_common_option(c, opt, arg);
    }
}

static int print_json(const struct cli *c, struct doctor_report *r, size_t failed)
{
    json_t *checks = json_array(), *doc;

    for (size_t i = 0; checks && i < r->n; i++) {
        struct doctor_check *k = &r->checks[i];
        json_t *o;

        str_utf8_scrub(k->finding);
        str_utf8_scrub(k->fix);
        str_utf8_scrub(k->python);
        o = json_pack("{s:s, s:s, s:s, s:s?}", "id", k->id, "status", doctor_status_name(k->status),
                      "finding", k->finding, "fix", k->fix[0] ? k->fix : NULL);
        if (o && k->python[0] && json_object_set_new(o, "python", json_string(k->python)) != 0) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(checks, o) != 0) {
            json_decref(checks);
            return cli_fail(c, CLI_FAILURE, "cannot write check '%s' as JSON", k->id);
        }
    }
    doc = json_pack("{s:b, s:I, s:o}", "ok", failed == 0, "failed", (json_int_t)failed, "checks",
                    checks);
    if (!doc)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    return cli_print_json(doc);
}

static void print_text(const struct doctor_report *r, size_t failed)
{
    size_t warned = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct doctor_check *k = &r->checks[i];

        warned += k->status == DOCTOR_WARN;
        bool interpreter = strcmp(k->id, "python") == 0; /* its frameworks follow it */

        printf("%s %-15s %s%s%s\n", marks[k->status], k->id, interpreter ? k->python : "",
               interpreter ? ": " : "", k->finding);
        if (k->fix[0])
            printf("  %-15s fix: %s\n", "", k->fix);
    }
    if (failed)
        printf("\n%zu check%s failed; the fixes are above, first things first.\n", failed,
               failed == 1 ? "" : "s");
    else
        printf("\nno check failed%s.\n", warned ? " (see the advice above)" : "");
}

int cmd_doctor(struct cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"python", required_argument, NULL, OPT_PYTHON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"dev-root", required_argument, NULL, OPT_DEV_ROOT},
        CLI_COMMON_OPTIONS,
    };
    struct doctor_options o = {.timeout_s = 20};
    struct doctor_report *r;
    size_t failed = 0;
    int opt, rc;

    c->usage = usage;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        rc = parse_option(c, &o, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s': doctor takes only options",
                        argv[optind]);
    o.open = c->open;
    r = calloc(1, sizeof(*r));
    if (!r || doctor_run(&o, r) != 0) {
        free(r);
        return cli_fail(c, CLI_FAILURE, "out of memory");
    }
    for (size_t i = 0; i < r->n; i++)
        failed += r->checks[i].status == DOCTOR_FAIL;
    rc = CLI_OK;
    if (c->json)
        rc = print_json(c, r, failed);
    else
        print_text(r, failed);
    free(r);
    return rc == CLI_FAILURE || failed ? CLI_FAILURE : CLI_OK;
}
