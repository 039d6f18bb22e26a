/* cmd_advise.c: `gpuctl advise`: guide 004's training settings for this machine's GPU, and a
 * copy of a YAML config with them applied (src/tune/advise.h, src/tune/yaml_edit.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tune/advise.h"
#include "tune/yaml_edit.h"
#include "util/banned.h"
#include "util/size.h"

static const char usage[] =
    "usage: gpuctl advise [--device D] [--config FILE [--out FILE]] [--json]\n"
    "\n"
    "Training settings for this machine, from the GPU's model and memory and the CPUs and RAM\n"
    "(guide 004): a starting batch_size by memory, num_workers, pin_memory,\n"
    "persistent_workers, prefetch_factor, use_mixed_precision and precision from the precision\n"
    "table, and compile_model. With --config, a copy of that YAML file with those keys set\n"
    "(wherever they appear; missing ones added at the end of the top level), each with a\n"
    "`# gpuctl advise:` comment saying why; everything else is kept byte for byte.\n"
    "\n"
    "  --device D     the GPU to train on: auto (default: the best now), cuda:N, a UUID, cpu\n"
    "  --config FILE  a YAML training config to apply the settings to\n"
    "  --out FILE     where the copy goes (default: standard output; with --json, in\n"
    "                 config.text)\n"
    "  --json         the settings (and what changed in the config) as JSON\n"
    "exit status: 0, 1 the config cannot be read or written, 2 bad usage or a config that is\n"
    "not YAML, 3 the device named does not exist\n";

enum { OPT_DEVICE = OPT_FIRST_COMMAND, OPT_CONFIG, OPT_OUT };

struct advise_args {
    const char *device, *config, *out;
};

static int parse(struct cli *c, struct advise_args *a, int argc, char **argv)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, OPT_DEVICE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"out", required_argument, NULL, OPT_OUT},
        CLI_COMMON_OPTIONS,
    };
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_DEVICE)
            a->device = optarg;
        else if (opt == OPT_CONFIG)
            a->config = optarg;
        else if (opt == OPT_OUT)
            a->out = optarg;
        else if ((rc = cli_common_option(c, opt, optarg)) != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s': advise takes only options",
                        argv[optind]);
    if (a->out && !a->config)
        return cli_fail(c, CLI_USAGE, "--out needs --config: the file to copy with the settings");
    return -2;
}

/* The machine as advise_compute() reads it. */
static int machine_of(struct cli *c, const struct gpuctl *g, const char *device,
                      struct advise_machine *m)
{
    const struct gpuctl_device *d = NULL;
    char msg[512];

    memset(m, 0, sizeof(*m));
    if (strcmp(device, "auto") == 0) {
        gpuctl_recommend(g, &d, NULL);
    } else {
        int rc = gpuctl_device_find(g, device, &d, msg, sizeof(msg));
        if (rc)
            return cli_fail(c, rc == GPUCTL_EINVAL ? CLI_USAGE : CLI_UNAVAILABLE, "--device %s: %s",
                            device, msg);
    }
    m->gpu = d->vendor == GPUCTL_VENDOR_CPU ? NULL : d;
    m->gpus = gpuctl_gpu_count(g) ? (unsigned)gpuctl_gpu_count(g) : 1;
    for (size_t i = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *cpu = gpuctl_device_at(g, i);
        if (cpu->vendor != GPUCTL_VENDOR_CPU)
            continue;
        if (gpuctl_device_has(cpu, GPUCTL_M_CPU_THREADS))
            m->cpu_threads = cpu->cpu_threads;
        if (gpuctl_device_has(cpu, GPUCTL_M_MEMORY_TOTAL))
            m->ram_bytes = cpu->memory_total_bytes;
    }
    return CLI_OK;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t cap = 0;

    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            char *more = realloc(text, cap = (*len + 4096 + 1) * 2);
            if (!more) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = more;
        }
        size_t got = fread(text + *len, 1, cap - *len - 1, f);
        *len += got;
        if (got == 0)
            break;
    }
    text[*len] = '\0';
    if (ferror(f)) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

/* Writes text to path through a temporary file renamed into place. */
static int write_file(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;
    int ok;

    snprintf(tmp, sizeof(tmp), "%s.gpuctl-tmp", path);
    if (!(f = fopen(tmp, "w")))
        return -1;
    ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static json_t *settings_json(const struct advice *adv)
{
    json_t *o = json_object();

    for (size_t i = 0; i < adv->n; i++) {
        const struct advise_setting *s = &adv->settings[i];
        json_t *v = s->type == ADVISE_INT    ? json_integer(s->number)
                    : s->type == ADVISE_BOOL ? json_boolean(s->flag)
                                             : json_string(s->text);
        json_object_set_new(o, s->key, json_pack("{s:o, s:s}", "value", v, "why", s->why));
    }
    return o;
}

/* Applies the advice to the config; the copy goes to --out, or stdout. */
static int apply(struct cli *c, const struct advise_args *a, const struct advice *adv, json_t *doc)
{
    struct yaml_edit edits[ADVISE_SETTINGS];
    char values[ADVISE_SETTINGS][64], comments[ADVISE_SETTINGS][240], msg[256];
    char *in, *out = NULL;
    size_t len;
    int rc;
    json_t *changed;

    if (!(in = read_file(a->config, &len)))
        return cli_fail(c, CLI_FAILURE, "cannot read --config %s: %s", a->config, strerror(errno));
    for (size_t i = 0; i < adv->n; i++) {
        const struct advise_setting *s = &adv->settings[i];
        snprintf(comments[i], sizeof(comments[i]), "gpuctl advise: %s", s->why);
        edits[i] = (struct yaml_edit){.key = s->key,
                                      .value = advise_value(s, values[i], sizeof(values[i])),
                                      .comment = comments[i]};
    }
    rc = yaml_edit_apply(in, len, edits, adv->n, &out, msg, sizeof(msg));
    free(in);
    if (rc == GPUCTL_EINVAL)
        return cli_fail(c, CLI_USAGE, "--config %s is not YAML: %s", a->config, msg);
    if (rc)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    changed = json_array();
    for (size_t i = 0; i < adv->n; i++)
        json_array_append_new(changed, json_pack("{s:s, s:s?, s:s, s:b}", "key", edits[i].key,
                                                 "old", edits[i].found ? edits[i].old : NULL, "new",
                                                 edits[i].value, "added", edits[i].added));
    json_object_set_new(
        doc, "config",
        json_pack("{s:s, s:s?, s:o}", "in", a->config, "out", a->out, "settings", changed));
    if (!a->out) { /* the copy is the output: on stdout, or in the JSON document */
        if (c->json)
            json_object_set_new(json_object_get(doc, "config"), "text", json_string(out));
        else
            fputs(out, stdout);
        free(out);
        return CLI_OK;
    }
    rc = write_file(a->out, out);
    free(out);
    if (rc)
        return cli_fail(c, CLI_FAILURE, "cannot write --out %s: %s", a->out, strerror(errno));
    return CLI_OK;
}

static void print_text(const struct advise_machine *m, const struct advice *adv, const json_t *doc)
{
    char mem[32] = "-", ram[32] = "-", v[64];
    const json_t *cfg = json_object_get(doc, "config");

    if (m->gpu && gpuctl_device_has(m->gpu, GPUCTL_M_MEMORY_TOTAL))
        size_format(m->gpu->memory_total_bytes, mem, sizeof(mem));
    if (m->ram_bytes)
        size_format(m->ram_bytes, ram, sizeof(ram));
    printf("settings for %s%s%s%s, %s GPU memory; %u CPUs, %s RAM, %u GPU%s\n\n",
           m->gpu ? m->gpu->device : "cpu", m->gpu ? " (" : "", m->gpu ? m->gpu->name : "",
           m->gpu ? ")" : "", mem, m->cpu_threads, ram, m->gpus, m->gpus == 1 ? "" : "s");
    for (size_t i = 0; i < adv->n; i++)
        printf("  %-20s %-11s %s\n", adv->settings[i].key,
               advise_value(&adv->settings[i], v, sizeof(v)), adv->settings[i].why);
    if (!cfg)
        return;
    printf("\nwrote %s from %s:\n", json_string_value(json_object_get(cfg, "out")),
           json_string_value(json_object_get(cfg, "in")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cfg, "settings"), i, e)
    {
        const char *old = json_string_value(json_object_get(e, "old"));
        printf("  %-20s %s -> %s\n", json_string_value(json_object_get(e, "key")),
               old                                         ? old
               : json_is_true(json_object_get(e, "added")) ? "(added)"
                                                           : "(not set)",
               json_string_value(json_object_get(e, "new")));
    }
}

int cmd_advise(struct cli *c, int argc, char **argv)
{
    struct advise_args a = {.device = "auto"};
    struct advise_machine m;
    struct gpuctl *g = NULL;
    struct advice adv;
    json_t *doc = NULL;
    int rc;

    c->usage = usage;
    rc = parse(c, &a, argc, argv);
    if (rc != -2)
        return rc;
    c->open.flags |= GPUCTL_OPEN_NO_PROCESSES;
    if ((rc = cli_open(c, &g)) != CLI_OK)
        return rc;
    if ((rc = machine_of(c, g, a.device, &m)) != CLI_OK)
        goto out;
    advise_compute(&m, &adv);
    doc = json_pack("{s:s?, s:s?, s:i, s:i, s:o}", "device", m.gpu ? m.gpu->device : "cpu", "name",
                    m.gpu ? m.gpu->name : NULL, "gpus", (int)m.gpus, "cpu_threads",
                    (int)m.cpu_threads, "settings", settings_json(&adv));
    json_object_set_new(doc, "ram_bytes",
                        m.ram_bytes ? json_integer((json_int_t)m.ram_bytes) : json_null());
    if (a.config && (rc = apply(c, &a, &adv, doc)) != CLI_OK)
        goto out;
    if (a.config && !a.out && !c->json) /* the copy went to stdout: nothing else goes there */
        goto out;
    if (c->json) {
        rc = cli_print_json(doc);
        doc = NULL;
        goto out;
    }
    print_text(&m, &adv, doc);
out:
    json_decref(doc);
    gpuctl_free(g);
    return rc;
}
