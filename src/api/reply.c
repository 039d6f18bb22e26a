/* reply.c: JSON replies, errors as {"error": {"code", "message"}}, and query parameters. */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "api/http.h"
#include "util/banned.h"
#include "util/str.h"

/* The one table from gpuctl errors to HTTP statuses. */
static const struct {
    int err;
    unsigned status;
} err_status[] = {
    {GPUCTL_EINVAL, 400}, {GPUCTL_ENOENT, 404}, {GPUCTL_ERANGE, 404}, {GPUCTL_ENODEV, 409},
    {GPUCTL_ENOMEM, 503}, {GPUCTL_ENOLIB, 503}, {GPUCTL_EIO, 500},    {GPUCTL_EPERM, 403},
};

/* The machine-readable name of an error status. */
static const char *status_code(unsigned status)
{
    static const struct {
        unsigned status;
        const char *code;
    } names[] = {
        {400, "bad_request"},       {401, "unauthorized"},       {403, "forbidden"},
        {404, "not_found"},         {405, "method_not_allowed"}, {409, "conflict"},
        {413, "payload_too_large"}, {500, "internal_error"},     {503, "unavailable"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].status == status)
            return names[i].code;
    return "error";
}

void reply_json(struct reply *rp, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

    json_decref(body);
    buf_release(&rp->body);
    if (!text) {
        reply_error(rp, 503, "out of memory building the answer");
        return;
    }
    rp->status = status;
    rp->content_type = "application/json";
    buf_add(&rp->body, text, strlen(text));
    buf_add(&rp->body, "\n", 1);
    free(text);
}

static void verror(struct reply *rp, unsigned status, const char *fmt, va_list ap)
{
    char message[1024];
    json_t *o;
    char *text;

    vsnprintf(message, sizeof(message), fmt, ap);
    o = json_pack("{s:{s:s, s:s}}", "error", "code", status_code(status), "message", message);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    buf_release(&rp->body);
    rp->status = status;
    rp->content_type = "application/json";
    if (text)
        buf_printf(&rp->body, "%s\n", text);
    free(text);
}

void reply_error(struct reply *rp, unsigned status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verror(rp, status, fmt, ap);
    va_end(ap);
}

void reply_gpuctl_error(struct reply *rp, int err, const char *fmt, ...)
{
    unsigned status = 500;
    va_list ap;

    for (size_t i = 0; i < sizeof(err_status) / sizeof(err_status[0]); i++)
        if (err_status[i].err == err)
            status = err_status[i].status;
    va_start(ap, fmt);
    verror(rp, status, fmt, ap);
    va_end(ap);
}

const char *request_arg(const struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool request_has_args(const struct request *rq)
{
    return MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0;
}

struct arg_check {
    const char *const *allowed;
    const char *seen[16];
    size_t nseen;
    const char *stranger;
    bool repeated;
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct arg_check *c = cls;
    bool known = false;

    (void)kind;
    (void)value;
    for (size_t i = 0; c->allowed && c->allowed[i] && !known; i++)
        known = strcmp(c->allowed[i], key) == 0;
    for (size_t i = 0; i < c->nseen && known && !c->repeated; i++)
        c->repeated = strcmp(c->seen[i], key) == 0;
    if (!known || c->repeated) {
        c->stranger = key;
        return MHD_NO;
    }
    if (c->nseen < sizeof(c->seen) / sizeof(c->seen[0]))
        c->seen[c->nseen++] = key;
    return MHD_YES;
}

bool request_args_known(const struct request *rq, const char *const *allowed, struct reply *rp)
{
    struct arg_check c = {.allowed = allowed};
    char list[256] = "";

    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
    if (!c.stranger)
        return true;
    for (size_t i = 0; allowed && allowed[i]; i++)
        str_appendf(list, sizeof(list), "%s%s", i ? ", " : "", allowed[i]);
    if (c.repeated)
        reply_error(rp, 400, "parameter '%s' is given twice; give it once", c.stranger);
    else
        reply_error(rp, 400, "unknown parameter '%s'; %s takes %s", c.stranger, rq->path,
                    list[0] ? list : "no parameters");
    return false;
}
