/* config.c: the daemon's YAML configuration, read with libyaml into struct config. */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <gpuctl/gpuctl.h>

#include "util/addr.h"
#include "util/banned.h"
#include "util/duration.h"
#include "util/str.h"

/* What a key's parser needs: the document, where errors go, and where values go. */
struct ctx {
    const char *path;
    yaml_document_t *doc;
    char *msg;
    size_t len;
    void *base; /* struct config or struct health_config */
};

struct key_rule;
typedef int (*parse_fn)(struct ctx *c, const struct key_rule *k, yaml_node_t *v);

/* One known key: its parser, where its value goes, and its bounds. */
struct key_rule {
    const char *name;
    parse_fn parse;
    size_t offset;
    size_t size;
    double min, max;
};

static int fail(struct ctx *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->len, "%s:%zu: %s", c->path, at ? at->start_mark.line + 1 : 1, what);
    return GPUCTL_EINVAL;
}

/* A scalar's text, or NULL for a mapping or sequence. */
/* Whether v is YAML's null: ~, null, or nothing after the colon. */
static bool is_null(const yaml_node_t *v)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *s = (const char *)v->data.scalar.value;

    if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(s, nulls[i]) == 0)
            return true;
    return false;
}

/* A scalar's text; NULL for a mapping, a list or null. */
static const char *scalar(const yaml_node_t *v)
{
    return v->type == YAML_SCALAR_NODE && !is_null(v) ? (const char *)v->data.scalar.value : NULL;
}

static const char *shown(const yaml_node_t *v)
{
    if (scalar(v))
        return scalar(v);
    return v->type == YAML_MAPPING_NODE    ? "a mapping"
           : v->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "nothing";
}

/* Fails when the key of pair p appeared earlier in its mapping: YAML would let the last one
 * win, silently. */
static int check_unique(struct ctx *c, const yaml_node_t *map, const yaml_node_pair_t *p)
{
    yaml_node_t *key = yaml_document_get_node(c->doc, p->key);

    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *other = yaml_document_get_node(c->doc, q->key);
        if (scalar(key) && scalar(other) && strcmp(scalar(key), scalar(other)) == 0)
            return fail(c, key, "'%s' is given twice (first at line %zu); give it once",
                        scalar(key), other->start_mark.line + 1);
    }
    return 0;
}

static int parse_string(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);

    if (!s || !*s || strlen(s) >= k->size)
        return fail(c, v, "%s must be a text of 1 to %zu characters, got %s", k->name, k->size - 1,
                    s && *s ? "a longer one" : shown(v));
    str_copy((char *)c->base + k->offset, s, k->size);
    return 0;
}

static int parse_number(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);
    double d = 0;

    if (!s || !str_decimal(s, &d) || d < k->min || d > k->max)
        return fail(c, v, "%s must be a number from %g to %g, got '%s'", k->name, k->min, k->max,
                    shown(v));
    memcpy((char *)c->base + k->offset, &d, sizeof(d));
    return 0;
}

/* An absolute path. */
static int parse_path(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);

    if (!s || s[0] != '/' || strlen(s) >= k->size)
        return fail(c, v, "%s must be an absolute path (under %zu characters), got '%s'", k->name,
                    k->size, shown(v));
    str_copy((char *)c->base + k->offset, s, k->size);
    return 0;
}

static int parse_seconds(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);
    double d;

    if (!s || duration_parse(s, &d) != 0 || d < k->min || d > k->max)
        return fail(c, v, "%s must be %s, from %gs to %gs, got '%s'", k->name, duration_syntax,
                    k->min, k->max, shown(v));
    memcpy((char *)c->base + k->offset, &d, sizeof(d));
    return 0;
}

static int parse_count(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);
    char *end;
    long n;

    errno = 0;
    n = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || n < (long)k->min || n > (long)k->max)
        return fail(c, v, "%s must be a whole number from %g to %g, got '%s'", k->name, k->min,
                    k->max, shown(v));
    *(unsigned *)((char *)c->base + k->offset) = (unsigned)n;
    return 0;
}

static int parse_log_level(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO},   {"warning", LOG_WARN},
                 {"warn", LOG_WARN},   {"error", LOG_ERROR}, {"critical", LOG_ERROR}};
    const char *s = scalar(v);

    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *(enum log_level *)((char *)c->base + k->offset) = names[i].level;
            return 0;
        }
    }
    return fail(c, v, "%s must be DEBUG, INFO, WARNING or ERROR, got '%s'", k->name, shown(v));
}

/* Walks a mapping of scalars to scalars, calling put for each pair. */
static int each_pair(struct ctx *c, const struct key_rule *k, yaml_node_t *v,
                     int (*put)(struct ctx *c, const struct key_rule *k, yaml_node_t *key,
                                yaml_node_t *val))
{
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "%s must be a mapping (key: value lines), got %s", k->name, shown(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
        int ret =
            !scalar(key) ? fail(c, key, "%s: keys must be names", k->name) : check_unique(c, v, p);
        if (!ret)
            ret = put(c, k, key, val);
        if (ret)
            return ret;
    }
    return 0;
}

static int put_resource(struct ctx *c, const struct key_rule *k, yaml_node_t *key, yaml_node_t *val)
{
    struct config *cf = c->base;
    const char *s = scalar(val);
    size_t i;

    for (i = 0; i < cf->n_resources && strcmp(cf->gpu_resource[i].vendor, scalar(key)) != 0; i++)
        ;
    if (i == CONFIG_MAX_ENTRIES || strlen(scalar(key)) >= sizeof(cf->gpu_resource[0].vendor) ||
        !s || !*s || strlen(s) >= sizeof(cf->gpu_resource[0].resource))
        return fail(c, val, "%s.%s must be a resource name such as nvidia.com/gpu, got '%s'",
                    k->name, scalar(key), shown(val));
    str_copy(cf->gpu_resource[i].vendor, scalar(key), sizeof(cf->gpu_resource[0].vendor));
    str_copy(cf->gpu_resource[i].resource, s, sizeof(cf->gpu_resource[0].resource));
    cf->n_resources += i == cf->n_resources;
    return 0;
}

static int put_spec(struct ctx *c, const struct key_rule *k, yaml_node_t *key, yaml_node_t *val)
{
    struct config *cf = c->base;
    const char *s = scalar(val);
    double gb = 0;
    size_t i;

    for (i = 0; i < cf->n_specs && strcmp(cf->gpu_memory_specs[i].model, scalar(key)) != 0; i++)
        ;
    if (i == CONFIG_MAX_ENTRIES || strlen(scalar(key)) >= sizeof(cf->gpu_memory_specs[0].model) ||
        !s || !str_decimal(s, &gb) || gb <= 0 || gb > 100000)
        return fail(c, val, "%s.%s must be the model's memory in GB, a number such as 80, got '%s'",
                    k->name, scalar(key), shown(val));
    str_copy(cf->gpu_memory_specs[i].model, scalar(key), sizeof(cf->gpu_memory_specs[0].model));
    cf->gpu_memory_specs[i].memory_gb = gb;
    cf->n_specs += i == cf->n_specs;
    return 0;
}

static int parse_resources(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    ((struct config *)c->base)->n_resources = 0; /* the file's map replaces the default one */
    return each_pair(c, k, v, put_resource);
}

static int parse_specs(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    ((struct config *)c->base)->n_specs = 0;
    return each_pair(c, k, v, put_spec);
}

static int add_listen(struct ctx *c, const struct key_rule *k, yaml_node_t *a)
{
    struct config *cf = c->base;
    struct addr parsed;
    char why[512];

    if (!scalar(a) || !*scalar(a) || strlen(scalar(a)) >= sizeof(cf->listen[0]) ||
        cf->n_listen == CONFIG_MAX_LISTEN)
        return fail(c, a,
                    "%s takes up to %d addresses such as 127.0.0.1:8000 or "
                    "unix:/run/gpuctl/gpuctl.sock, got %s",
                    k->name, CONFIG_MAX_LISTEN, shown(a));
    if (addr_parse(scalar(a), &parsed, why, sizeof(why)) != 0)
        return fail(c, a, "%s: %s", k->name, why);
    str_copy(cf->listen[cf->n_listen++], scalar(a), sizeof(cf->listen[0]));
    return 0;
}

/* A list of addresses ("unix:/run/gpuctl.sock", "127.0.0.1:8000"), or one. */
static int parse_listen(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    ((struct config *)c->base)->n_listen = 0;
    if (scalar(v))
        return add_listen(c, k, v);
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "%s must be an address or a list of them", k->name);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        int ret = add_listen(c, k, yaml_document_get_node(c->doc, *it));
        if (ret)
            return ret;
    }
    return 0;
}

static bool truth(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};

    for (size_t i = 0; s && i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* One token entry: {token: "...", user: "...", admin: true}. */
static int parse_token(struct ctx *c, yaml_node_t *v, struct config_token *t)
{
    memset(t, 0, sizeof(*t));
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "tokens: each entry must be a mapping with token, user and admin");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key = scalar(yaml_document_get_node(c->doc, p->key));
        yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
        const char *s = scalar(val);
        if (check_unique(c, v, p))
            return GPUCTL_EINVAL;
        if (key && strcmp(key, "token") == 0 && s && strlen(s) >= 16 &&
            strlen(s) < sizeof(t->token))
            str_copy(t->token, s, sizeof(t->token));
        else if (key && strcmp(key, "user") == 0 && s && *s && strlen(s) < sizeof(t->user))
            str_copy(t->user, s, sizeof(t->user));
        else if (!(key && strcmp(key, "admin") == 0 && truth(s, &t->admin)))
            return fail(c, val,
                        "tokens: '%s' must be token (16 to 127 characters), user (a name) "
                        "or admin (true or false), got '%s'",
                        key ? key : "?", shown(val));
    }
    if (!t->token[0])
        return fail(c, v, "tokens: an entry has no token");
    if (!t->user[0])
        str_copy(t->user, "token", sizeof(t->user));
    return 0;
}

static int parse_tokens(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    struct config *cf = c->base;

    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "%s must be a list of {token, user, admin} entries", k->name);
    cf->n_tokens = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        int ret;
        if (cf->n_tokens == CONFIG_MAX_TOKENS)
            return fail(c, v, "%s takes at most %d entries", k->name, CONFIG_MAX_TOKENS);
        ret = parse_token(c, yaml_document_get_node(c->doc, *it), &cf->tokens[cf->n_tokens++]);
        if (ret)
            return ret;
    }
    return 0;
}

static int parse_xids(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    struct xid_list *l = (struct xid_list *)((char *)c->base + k->offset);

    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "%s must be a list of XID numbers such as [48, 79]", k->name);
    l->n = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *x = yaml_document_get_node(c->doc, *it);
        const char *s = scalar(x);
        char *end;
        long n = s ? strtol(s, &end, 10) : 0;
        if (!s || end == s || *end || n < 1 || n > 999 || l->n == CONFIG_MAX_XIDS)
            return fail(c, x, "%s must hold up to %d XID numbers from 1 to 999, got '%s'", k->name,
                        CONFIG_MAX_XIDS, shown(x));
        l->v[l->n++] = (int)n;
    }
    return 0;
}

static int parse_mapping(struct ctx *c, const struct key_rule *rules, size_t nrules,
                         const char *where, yaml_node_t *v);

#define CF(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define HC(field) offsetof(struct health_config, field), sizeof(((struct health_config *)0)->field)

static const struct key_rule health_keys[] = {
    {"unhealthy_xids", parse_xids, HC(unhealthy), 0, 0},
    {"degraded_xids", parse_xids, HC(degraded), 0, 0},
    {"ignored_xids", parse_xids, HC(ignored), 0, 0},
    {"recovery_hold", parse_seconds, HC(recovery_hold), 0, 86400 * 30},
    {"slowdown_events", parse_count, HC(slowdown_events), 1, CONFIG_MAX_SLOWDOWN_EVENTS},
    {"slowdown_window", parse_seconds, HC(slowdown_window), 1, 86400},
};

static int parse_health(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    struct ctx sub = *c;

    sub.base = &((struct config *)c->base)->health;
    return parse_mapping(&sub, health_keys, sizeof(health_keys) / sizeof(health_keys[0]), k->name,
                         v);
}

static int parse_policy(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    const char *s = scalar(v);
    bool *pack = (bool *)((char *)c->base + k->offset);

    if (s && strcmp(s, "spread") == 0)
        *pack = false;
    else if (s && strcmp(s, "pack") == 0)
        *pack = true;
    else
        return fail(c, v,
                    "%s must be spread (the least loaded GPU first) or pack (partly used "
                    "GPUs first), got '%s'",
                    k->name, shown(v));
    return 0;
}

#define SC(field) offsetof(struct sched_config, field), sizeof(((struct sched_config *)0)->field)

static const struct key_rule scheduler_keys[] = {
    {"policy", parse_policy, SC(pack), 0, 0},
    {"cancel_grace", parse_seconds, SC(cancel_grace), 0, 3600},
};

static int parse_scheduler(struct ctx *c, const struct key_rule *k, yaml_node_t *v)
{
    struct ctx sub = *c;

    sub.base = &((struct config *)c->base)->scheduler;
    return parse_mapping(&sub, scheduler_keys, sizeof(scheduler_keys) / sizeof(scheduler_keys[0]),
                         k->name, v);
}

static const struct key_rule top_keys[] = {
    {"gpu_resource", parse_resources, 0, 0, 0, 0},
    {"default_gpu_resource_name", parse_string, CF(default_gpu_resource_name), 0, 0},
    {"gpu_memory_specs", parse_specs, 0, 0, 0, 0},
    {"monitor_update_interval", parse_seconds, CF(monitor_update_interval), 0.05, 3600},
    {"resource_change_threshold", parse_number, CF(resource_change_threshold), 0, 1},
    {"log_level", parse_log_level, CF(log_level), 0, 0},
    {"listen", parse_listen, 0, 0, 0, 0},
    {"state_dir", parse_path, CF(state_dir), 0, 0},
    {"tokens", parse_tokens, 0, 0, 0, 0},
    {"admin_group", parse_string, CF(admin_group), 0, 0},
    {"history", parse_seconds, CF(history), 1, 86400},
    {"health", parse_health, 0, 0, 0, 0},
    {"scheduler", parse_scheduler, 0, 0, 0, 0},
};

/* Walks a mapping against a key table; an unknown key lists the known ones. */
static int parse_mapping(struct ctx *c, const struct key_rule *rules, size_t nrules,
                         const char *where, yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "%s must be a mapping of keys to values", where);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
        const char *name = scalar(key);
        const struct key_rule *k = NULL;
        char known[512] = "";
        int ret;

        for (size_t i = 0; name && i < nrules && !k; i++)
            if (strcmp(rules[i].name, name) == 0)
                k = &rules[i];
        if (k && check_unique(c, v, p))
            return GPUCTL_EINVAL;
        if (!k) {
            for (size_t i = 0; i < nrules; i++)
                str_appendf(known, sizeof(known), "%s%s", i ? ", " : "", rules[i].name);
            return fail(c, key, "unknown key '%s' in %s; the keys are %s", name ? name : "?", where,
                        known);
        }
        ret = k->parse(c, k, yaml_document_get_node(c->doc, p->value));
        if (ret)
            return ret;
    }
    return 0;
}

void config_defaults(struct config *c)
{
    static const struct {
        const char *model;
        double gb;
    } specs[] = {{"T4", 16},      {"V100", 32},    {"A100", 80},  {"H100", 80},
                 {"RTX3090", 24}, {"RTX4090", 24}, {"A6000", 48}, {"A40", 48}};
    static const char *const resources[][2] = {{"gpu", "nvidia.com/gpu"},
                                               {"nvidia", "nvidia.com/gpu"},
                                               {"amd", "amd.com/gpu"},
                                               {"intel", "gpu.intel.com/i915"}};
    static const struct xid_list unhealthy = {{48, 74, 79, 95, 119, 120, 140}, 7};
    static const struct xid_list degraded = {{94}, 1};
    static const struct xid_list ignored = {{13, 31, 43, 45, 68, 109}, 6};

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        str_copy(c->gpu_resource[i].vendor, resources[i][0], sizeof(c->gpu_resource[i].vendor));
        str_copy(c->gpu_resource[i].resource, resources[i][1], sizeof(c->gpu_resource[i].resource));
    }
    c->n_resources = sizeof(resources) / sizeof(resources[0]);
    str_copy(c->default_gpu_resource_name, "nvidia.com/gpu", sizeof(c->default_gpu_resource_name));
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        str_copy(c->gpu_memory_specs[i].model, specs[i].model,
                 sizeof(c->gpu_memory_specs[i].model));
        c->gpu_memory_specs[i].memory_gb = specs[i].gb;
    }
    c->n_specs = sizeof(specs) / sizeof(specs[0]);
    c->monitor_update_interval = 1;
    c->resource_change_threshold = 0.05;
    c->log_level = LOG_INFO;
    c->history = 3600;
    c->health = (struct health_config){unhealthy, degraded, ignored, 300, 6, 600};
    c->scheduler = (struct sched_config){false, 10};
}

/* What only the whole file can say: one document, and a history ring of bounded size. */
static int check_whole(struct ctx *c, yaml_parser_t *parser, yaml_node_t *root)
{
    const struct config *cf = c->base;
    yaml_document_t next;
    bool more;

    if (!yaml_parser_load(parser, &next))
        return fail(c, NULL, "not YAML after the first document");
    more = yaml_document_get_root_node(&next) != NULL;
    yaml_document_delete(&next);
    if (more)
        return fail(c, root, "the file holds more than one YAML document (---); give one");
    if (cf->history / cf->monitor_update_interval > CONFIG_MAX_HISTORY_SAMPLES)
        return fail(c, root,
                    "history (%gs) over monitor_update_interval (%gs) is %.0f samples per GPU; "
                    "at most %d are kept: shorten history or lengthen the interval",
                    cf->history, cf->monitor_update_interval,
                    cf->history / cf->monitor_update_interval, CONFIG_MAX_HISTORY_SAMPLES);
    return 0;
}

int config_load(struct config *c, const char *path, char *msg, size_t msg_len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct ctx ctx = {path, &doc, msg, msg_len, c};
    yaml_node_t *root;
    FILE *f = fopen(path, "r");
    int ret = 0;

    if (!f) {
        snprintf(msg, msg_len, "%s: cannot read the configuration: %s", path, strerror(errno));
        return GPUCTL_ENOENT;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(msg, msg_len, "%s:%zu: not YAML: %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "cannot parse");
        ret = GPUCTL_EINVAL;
        goto out;
    }
    root = yaml_document_get_root_node(&doc);
    if (root) /* an empty file keeps every default */
        ret = parse_mapping(&ctx, top_keys, sizeof(top_keys) / sizeof(top_keys[0]),
                            "the configuration", root);
    if (!ret)
        ret = check_whole(&ctx, &parser, root);
    yaml_document_delete(&doc);
out:
    yaml_parser_delete(&parser);
    fclose(f);
    return ret;
}

bool xid_listed(const struct xid_list *l, int xid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == xid)
            return true;
    return false;
}
