/* yaml_edit.c: splicing new values into a YAML text at the offsets libyaml reports. */
#include "tune/yaml_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/buf.h"

#define MAX_SPLICES 64
#define MAX_DEPTH   64

/* One replacement: bytes [start, end) of the input become edit's value. */
struct splice {
    size_t start, end;
    const struct yaml_edit *edit;
    bool comment; /* block context: a comment may follow on the line */
};

/* Where the parser is: for each open collection, whether it is a mapping, in flow style, and
 * (mappings) whether the next scalar is a key. */
struct level {
    bool mapping, flow, expect_key;
};

struct scan {
    struct splice splices[MAX_SPLICES];
    size_t n;
    struct level stack[MAX_DEPTH];
    int depth;
    struct yaml_edit *pending; /* the key just read is one of ours: its value comes next */
    bool root_block_mapping;   /* the document is a block mapping at column 0: keys may be
                                  appended at its end */
    bool explicit_end;         /* the document ends with "...": nothing may follow it */
    bool too_deep;             /* nested deeper than MAX_DEPTH: refused */
    int documents;
};

static struct yaml_edit *edit_for(struct yaml_edit *edits, size_t n, const yaml_event_t *ev)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(edits[i].key) == ev->data.scalar.length &&
            memcmp(edits[i].key, ev->data.scalar.value, ev->data.scalar.length) == 0)
            return &edits[i];
    return NULL;
}

/* A node of the innermost collection is complete: in a mapping, keys and values alternate
 * (whatever they are: scalars, aliases, collections as complex keys). */
static void node_done(struct scan *s)
{
    if (s->depth > 0 && s->depth <= MAX_DEPTH && s->stack[s->depth - 1].mapping)
        s->stack[s->depth - 1].expect_key = !s->stack[s->depth - 1].expect_key;
}

static struct level *top_level(struct scan *s)
{
    return s->depth > 0 && s->depth <= MAX_DEPTH ? &s->stack[s->depth - 1] : NULL;
}

static void on_scalar(struct scan *s, const yaml_event_t *ev, const char *in,
                      struct yaml_edit *edits, size_t n)
{
    struct level *top = top_level(s);
    struct yaml_edit *e = s->pending;

    s->pending = NULL;
    if (top && top->mapping && top->expect_key) {
        s->pending = edit_for(edits, n, ev);
        node_done(s);
        return;
    }
    node_done(s);
    if (!e)
        return;
    /* Only a one-line scalar without an anchor or a tag is replaced: libyaml's marks of an
     * anchored value include "&name", which later aliases need. */
    if (s->n == MAX_SPLICES || ev->data.scalar.anchor || ev->data.scalar.tag ||
        (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
         ev->data.scalar.style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
         ev->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE) ||
        ev->start_mark.line != ev->end_mark.line ||
        ev->end_mark.index == ev->start_mark.index) { /* "key:" has no text to replace */
        e->skipped++;
        return;
    }
    if (!e->found)
        snprintf(e->old, sizeof(e->old), "%.*s", (int)(ev->end_mark.index - ev->start_mark.index),
                 in + ev->start_mark.index);
    e->found++;
    s->splices[s->n++] =
        (struct splice){ev->start_mark.index, ev->end_mark.index, e, !(top && top->flow)};
}

static void on_alias(struct scan *s)
{
    struct level *top = top_level(s);

    if (s->pending && !(top && top->mapping && top->expect_key))
        s->pending->skipped++; /* "batch_size: *b": not ours to change, nor to add again */
    s->pending = NULL;
    node_done(s);
}

static void on_start(struct scan *s, const yaml_event_t *ev, bool mapping, bool flow)
{
    if (s->depth == 0 && s->documents == 1)
        s->root_block_mapping = mapping && !flow && ev->start_mark.column == 0;
    if (s->pending) /* a key whose value is a collection: not ours to change */
        s->pending->skipped++;
    s->pending = NULL;
    if (s->depth == MAX_DEPTH) {
        s->too_deep = true;
        return;
    }
    s->stack[s->depth++] = (struct level){mapping, flow, mapping};
}

static void on_end(struct scan *s)
{
    if (s->depth > 0)
        s->depth--;
    node_done(s); /* the collection was a node of its parent */
}

/* Walks the events, collecting the values to replace. */
static int scan_events(const char *in, size_t len, struct yaml_edit *edits, size_t n,
                       struct scan *s, char *msg, size_t msg_len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0;
    bool done = false;

    if (!yaml_parser_initialize(&parser))
        return GPUCTL_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)in, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(msg, msg_len, "line %zu, column %zu: %s", parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad YAML");
            rc = GPUCTL_EINVAL;
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            s->documents++;
            break;
        case YAML_DOCUMENT_END_EVENT:
            s->explicit_end |= !ev.data.document_end.implicit;
            break;
        case YAML_SCALAR_EVENT:
            on_scalar(s, &ev, in, edits, n);
            break;
        case YAML_ALIAS_EVENT:
            on_alias(s);
            break;
        case YAML_MAPPING_START_EVENT:
            on_start(s, &ev, true, ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE);
            break;
        case YAML_SEQUENCE_START_EVENT:
            on_start(s, &ev, false, ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            on_end(s);
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (s->too_deep) {
            snprintf(msg, msg_len, "nested deeper than %d levels: not a configuration file",
                     MAX_DEPTH);
            rc = GPUCTL_EINVAL;
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* The end of the line holding offset at. */
static size_t line_end(const char *in, size_t len, size_t at)
{
    while (at < len && in[at] != '\n')
        at++;
    return at;
}

static void splice_all(const char *in, size_t len, const struct scan *s, struct buf *b)
{
    size_t at = 0;

    /* The parser reports values in text order, so splices are sorted. */
    for (size_t i = 0; i < s->n; i++) {
        const struct splice *sp = &s->splices[i];
        buf_add(b, in + at, sp->start - at);
        buf_add(b, sp->edit->value, strlen(sp->edit->value));
        at = sp->end;
        if (sp->comment && sp->edit->comment) {
            size_t eol = line_end(in, len, at);
            /* What followed the value on its line (spaces, a comment) stays after ours. */
            buf_printf(b, "  # %s", sp->edit->comment);
            buf_add(b, in + at, eol - at);
            at = eol;
        }
    }
    buf_add(b, in + at, len - at);
}

static void append_missing(const struct scan *s, struct yaml_edit *edits, size_t n, struct buf *b)
{
    if (!s->root_block_mapping || s->documents != 1 || s->explicit_end)
        return;
    for (size_t i = 0; i < n; i++) {
        if (edits[i].found || edits[i].skipped)
            continue;
        if (b->len > 0 && b->data[b->len - 1] != '\n')
            buf_add(b, "\n", 1);
        buf_printf(b, "%s: %s", edits[i].key, edits[i].value);
        if (edits[i].comment)
            buf_printf(b, "  # %s", edits[i].comment);
        buf_add(b, "\n", 1);
        edits[i].added = true;
    }
}

int yaml_edit_apply(const char *in, size_t len, struct yaml_edit *edits, size_t n, char **out,
                    char *msg, size_t msg_len)
{
    struct scan *s = calloc(1, sizeof(*s));
    struct buf b = BUF_INIT;
    int rc;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        edits[i].found = edits[i].skipped = 0;
        edits[i].old[0] = '\0';
        edits[i].added = false;
    }
    if (!s)
        return GPUCTL_ENOMEM;
    rc = scan_events(in, len, edits, n, s, msg, msg_len);
    if (rc)
        goto out;
    splice_all(in, len, s, &b);
    append_missing(s, edits, n, &b);
    if (b.oom) {
        rc = GPUCTL_ENOMEM;
        goto out;
    }
    *out = b.data ? b.data : calloc(1, 1);
    b.data = NULL;
    rc = *out ? 0 : GPUCTL_ENOMEM;
out:
    buf_release(&b);
    free(s);
    return rc;
}
