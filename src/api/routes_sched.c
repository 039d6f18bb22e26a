/* routes_sched.c: the scheduling routes: guide 001's allocate, validate, release and framework
 * setup; guide 003's resources, limits and tasks; gpuctl's allocations. */
#include "api/routes_sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "sched/sched.h"
#include "task/env.h"
#include "util/banned.h"
#include "util/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* The request's body as JSON (an empty body is {}); replies 400 naming where it is not JSON. */
static json_t *body_json(struct request *rq, struct reply *rp)
{
    json_error_t err;
    json_t *body;

    if (!rq->body || rq->body_len == 0)
        return json_object();
    body = json_loadb(rq->body, rq->body_len, 0, &err);
    if (!body)
        reply_error(rp, 400, "the body is not JSON: line %d, column %d: %s", err.line, err.column,
                    err.text);
    else if (!json_is_object(body)) {
        reply_error(rp, 400, "the body must be a JSON object");
        json_decref(body);
        body = NULL;
    }
    return body;
}

static struct sched_caller caller(const struct request *rq)
{
    struct sched_caller c = {rq->uid, rq->gid, rq->pid, "", rq->admin, rq->token};

    str_copy(c.user, rq->user, sizeof(c.user));
    return c;
}

/* Whether the daemon schedules; replies 503 when not. */
static bool scheduling(struct request *rq, struct reply *rp)
{
    if (rq->sched)
        return true;
    reply_error(rp, 503, "this daemon does not schedule (its ledger could not be opened)");
    return false;
}

/* Replies with a scheduler's error: 400, 403, 404, 409 (nothing fits now) or 500. */
static void sched_error(struct reply *rp, int rc, const char *msg, json_t *extra)
{
    json_t *doc;
    char *text;

    reply_gpuctl_error(rp, rc, "%s", msg);
    if (!extra)
        return;
    doc = json_loadb(rp->body.data, rp->body.len, 0, NULL); /* add the reasons to the error */
    json_object_set(doc, "reasons", extra);
    json_object_set_new(doc, "success", json_false());
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text) {
        buf_release(&rp->body);
        buf_printf(&rp->body, "%s\n", text);
    }
    free(text);
    json_decref(doc);
}

/* guide 001's gpu_config: what was asked. */
static json_t *gpu_config(const struct sched_request *r)
{
    return json_pack("{s:i, s:s?, s:o, s:b, s:b, s:o}", "gpu_count", (int)r->count, "gpu_type",
                     r->gpu_type[0] ? r->gpu_type : NULL, "memory_gb",
                     r->memory ? json_real((double)r->memory / GIB) : json_null(),
                     "distributed_training", r->distributed, "mixed_precision", r->mixed_precision,
                     "gpu_memory_fraction", r->fraction > 0 ? json_real(r->fraction) : json_null());
}

/* An allocation's answer in guide 001's shape (success, node_name, gpu_config) plus gpuctl's. */
static json_t *allocation_answer(struct request *rq, struct sched_answer *ans)
{
    json_t *o = sched_alloc_json(rq->sched, ans);

    json_object_set_new(o, "success", json_true());
    json_object_set_new(o, "node_name", json_string(rq->snap->sys.hostname));
    json_object_set_new(o, "gpu_config", gpu_config(&ans->a.req));
    return o;
}

/* Reads a request from the body; replies 400 on a mistake. */
static bool read_request(struct request *rq, struct reply *rp, const char *const *extra,
                         json_t **body, struct sched_request *r)
{
    char msg[512];

    *body = body_json(rq, rp);
    if (!*body)
        return false;
    if (request_from_json(*body, extra, r, msg, sizeof(msg)) != 0) {
        reply_error(rp, 400, "%s", msg);
        json_decref(*body);
        return false;
    }
    return true;
}

void post_allocate(struct request *rq, struct reply *rp)
{
    struct sched_caller c = caller(rq);
    struct sched_request r;
    struct sched_answer ans;
    json_t *body;
    char msg[768];
    int rc;

    if (!scheduling(rq, rp) || !read_request(rq, rp, NULL, &body, &r))
        return;
    json_decref(body);
    rc = sched_allocate(rq->sched, &r, &c, 0, &ans, msg, sizeof(msg));
    if (rc)
        sched_error(rp, rc, msg, ans.reasons);
    else
        reply_json(rp, ans.a.state == ALLOC_QUEUED ? 202 : 200, allocation_answer(rq, &ans));
    sched_answer_release(&ans);
}

void post_validate(struct request *rq, struct reply *rp)
{
    struct sched_request r;
    struct sched_answer ans;
    json_t *body;
    char msg[768];
    int rc;

    if (!scheduling(rq, rp) || !read_request(rq, rp, NULL, &body, &r))
        return;
    json_decref(body);
    rc = sched_validate(rq->sched, &r, &ans, msg, sizeof(msg));
    if (rc)
        sched_error(rp, rc, msg, NULL);
    else
        reply_json(rp, 200,
                   json_pack("{s:b, s:s, s:o, s:o}", "valid", ans.reasons == NULL, "node_name",
                             rq->snap->sys.hostname, "gpu_config", gpu_config(&r), "reasons",
                             ans.reasons ? json_incref(ans.reasons) : json_array()));
    sched_answer_release(&ans);
}

/* Releases allocation id for the caller. */
static void release(struct request *rq, struct reply *rp, int64_t id)
{
    struct sched_caller c = caller(rq);
    char msg[256];
    int rc = sched_release(rq->sched, id, &c, msg, sizeof(msg));

    if (rc)
        sched_error(rp, rc, msg, NULL);
    else
        reply_json(rp, 200,
                   json_pack("{s:b, s:I, s:s}", "success", 1, "allocation_id", (json_int_t)id,
                             "state", "released"));
}

void post_release(struct request *rq, struct reply *rp)
{
    json_t *body, *id;

    if (!scheduling(rq, rp) || !(body = body_json(rq, rp)))
        return;
    id = json_object_get(body, "allocation_id");
    if (!json_is_integer(id) || json_object_size(body) != 1)
        reply_error(rp, 400, "the body must be {\"allocation_id\": N}, the id allocate gave");
    else
        release(rq, rp, json_integer_value(id));
    json_decref(body);
}

void delete_allocation(struct request *rq, struct reply *rp)
{
    if (!scheduling(rq, rp))
        return;
    if (rq->index < 0)
        reply_error(rp, 400, "the allocation id must be a number");
    else
        release(rq, rp, rq->index);
}

void get_allocations(struct request *rq, struct reply *rp)
{
    if (scheduling(rq, rp))
        reply_json(rp, 200, json_pack("{s:o}", "allocations", sched_allocations(rq->sched)));
}

void get_allocation(struct request *rq, struct reply *rp)
{
    struct sched_answer ans;

    if (!scheduling(rq, rp))
        return;
    if (rq->index < 0 || sched_get(rq->sched, rq->index, &ans) != 0) {
        reply_error(rp, 404, "there is no allocation %s",
                    rq->path + strlen("/api/v1/gpu/allocations/"));
        return;
    }
    reply_json(rp, 200, allocation_answer(rq, &ans));
    sched_answer_release(&ans);
}

/* The code a PyTorch program runs for the request (the environment does the rest). */
static void torch_snippet(const struct sched_request *r, const char *precision, struct buf *b)
{
    buf_printf(b, "import torch\n");
    if (r->distributed || r->count > 1)
        buf_printf(b, "import torch.distributed as dist\n"
                      "dist.init_process_group(\"nccl\")  # MASTER_ADDR, MASTER_PORT, "
                      "WORLD_SIZE from the environment\n"
                      "torch.cuda.set_device(int(__import__(\"os\").environ.get(\"LOCAL_RANK\", "
                      "0)))\n");
    if (r->fraction > 0)
        buf_printf(b, "torch.cuda.set_per_process_memory_fraction(%.2f)\n", r->fraction);
    if (strcmp(precision, "bf16-mixed") == 0)
        buf_printf(b, "autocast = torch.autocast(\"cuda\", dtype=torch.bfloat16)  # with "
                      "autocast: forward and loss\n");
    else if (strcmp(precision, "16-mixed") == 0)
        buf_printf(b, "autocast = torch.autocast(\"cuda\", dtype=torch.float16)\n"
                      "scaler = torch.amp.GradScaler(\"cuda\")  # scale the loss under fp16\n");
}

static void tf_snippet(const struct sched_request *r, const char *precision, struct buf *b)
{
    buf_printf(b, "import tensorflow as tf\n"
                  "for gpu in tf.config.list_physical_devices(\"GPU\"):\n"
                  "    tf.config.experimental.set_memory_growth(gpu, True)\n");
    if (strcmp(precision, "32-true") != 0)
        buf_printf(b, "tf.keras.mixed_precision.set_global_policy(\"%s\")\n",
                   strcmp(precision, "bf16-mixed") == 0 ? "mixed_bfloat16" : "mixed_float16");
    if (r->distributed || r->count > 1)
        buf_printf(b, "strategy = tf.distribute.MirroredStrategy()  # build the model in "
                      "strategy.scope()\n");
}

/* guide 001's setup-pytorch / setup-tensorflow: the GPUs that would be given now (nothing is
 * reserved: allocate does that), their environment for the framework, and the code to run. */
static void setup(struct request *rq, struct reply *rp, enum framework f)
{
    struct sched_request r;
    struct sched_answer ans;
    struct buf code = BUF_INIT;
    json_t *body, *answer;
    const char *precision;
    char msg[768];
    int rc;

    if (!scheduling(rq, rp) || !read_request(rq, rp, NULL, &body, &r))
        return;
    json_decref(body);
    r.framework = f;
    rc = sched_validate(rq->sched, &r, &ans, msg, sizeof(msg));
    if (!rc && ans.reasons) {
        sched_error(rp, GPUCTL_ENODEV, "no GPU fits the request now", ans.reasons);
        sched_answer_release(&ans);
        return;
    }
    if (rc) {
        sched_error(rp, rc, msg, NULL);
        return;
    }
    precision = json_string_value(json_object_get(ans.env, "GPUCTL_PRECISION"));
    (f == FRAMEWORK_TORCH ? torch_snippet : tf_snippet)(&r, precision ? precision : "32-true",
                                                        &code);
    answer = allocation_answer(rq, &ans);
    reply_json(rp, 200,
               json_pack("{s:b, s:s, s:s, s:o, s:O, s:o, s:s}", "success", 1, "framework",
                         framework_name(f), "node_name", rq->snap->sys.hostname, "gpu_config",
                         gpu_config(&r), "devices", json_object_get(answer, "devices"), "env",
                         ans.env ? json_incref(ans.env) : json_object(), "code",
                         code.data ? code.data : ""));
    json_decref(answer);
    buf_release(&code);
    sched_answer_release(&ans);
}

void post_setup_pytorch(struct request *rq, struct reply *rp)
{
    setup(rq, rp, FRAMEWORK_TORCH);
}

void post_setup_tensorflow(struct request *rq, struct reply *rp)
{
    setup(rq, rp, FRAMEWORK_TF);
}

void get_resources_v2(struct request *rq, struct reply *rp)
{
    if (scheduling(rq, rp))
        reply_json(rp, 200, sched_resources(rq->sched));
}

void post_resources_config(struct request *rq, struct reply *rp)
{
    struct sched_caller c = caller(rq);
    json_t *body, *max;
    char msg[512];
    int rc;

    if (!scheduling(rq, rp) || !(body = body_json(rq, rp)))
        return;
    max = json_object_get(body, "max_concurrent");
    if (!max || json_object_size(body) != 1) {
        reply_error(rp, 400,
                    "the body must be {\"max_concurrent\": {\"cuda:0\": {\"training\": 1, "
                    "\"inference\": 4}}}");
        json_decref(body);
        return;
    }
    rc = sched_set_limits(rq->sched, max, &c, msg, sizeof(msg));
    json_decref(body);
    if (rc)
        sched_error(rp, rc, msg, NULL);
    else
        reply_json(rp, 200, sched_resources(rq->sched));
}

/* Reads a task from the body: its command, env and cwd, and the request for its GPUs. */
static int task_from_body(json_t *body, enum sched_kind kind, bool kind_fixed,
                          struct task_spec *spec, struct sched_request *r, char *msg, size_t len)
{
    static const char *const extra[] = {"command", "env", "cwd", NULL};
    json_t *command = json_object_get(body, "command");
    const char *cwd = json_string_value(json_object_get(body, "cwd"));
    int rc;

    if (kind_fixed && json_object_get(body, "kind")) {
        snprintf(msg, len, "this route sets the kind (%s): leave kind out", sched_kind_name(kind));
        return GPUCTL_EINVAL;
    }
    rc = request_from_json(body, extra, r, msg, len);
    if (rc)
        return rc;
    if (kind_fixed || !json_object_get(body, "kind"))
        r->kind = kind;
    if (!command) {
        snprintf(msg, len, "command is required: a list such as [\"python\", \"train.py\"]");
        return GPUCTL_EINVAL;
    }
    if (json_object_get(body, "cwd") && !cwd) {
        snprintf(msg, len, "cwd must be an absolute directory");
        return GPUCTL_EINVAL;
    }
    *spec = (struct task_spec){command, json_object_get(body, "env"), cwd};
    return 0;
}

static void start_task(struct request *rq, struct reply *rp, enum sched_kind kind, bool fixed)
{
    struct sched_caller c = caller(rq);
    struct sched_request r;
    struct task_spec spec;
    json_t *body;
    char msg[768];
    int64_t id = 0;
    int rc;

    if (!scheduling(rq, rp) || !(body = body_json(rq, rp)))
        return;
    rc = task_from_body(body, kind, fixed, &spec, &r, msg, sizeof(msg));
    if (!rc)
        rc = sched_submit(rq->sched, &spec, &r, &c, &id, msg, sizeof(msg));
    json_decref(body);
    if (rc) {
        sched_error(rp, rc, msg, NULL);
        return;
    }
    reply_json(rp, 201, sched_task(rq->sched, id));
}

void post_tasks(struct request *rq, struct reply *rp)
{
    start_task(rq, rp, KIND_OTHER, false);
}

void post_training_start(struct request *rq, struct reply *rp)
{
    start_task(rq, rp, KIND_TRAINING, true);
}

void post_inference_start(struct request *rq, struct reply *rp)
{
    start_task(rq, rp, KIND_INFERENCE, true);
}

void get_tasks(struct request *rq, struct reply *rp)
{
    const char *all = request_arg(rq, "all");
    json_t *list;

    if (!scheduling(rq, rp))
        return;
    if (all && strcmp(all, "1") != 0 && strcmp(all, "true") != 0 && strcmp(all, "0") != 0 &&
        strcmp(all, "false") != 0) {
        reply_error(rp, 400, "all must be true or false");
        return;
    }
    list = sched_tasks(rq->sched, all && (strcmp(all, "1") == 0 || strcmp(all, "true") == 0));
    if (!list)
        reply_error(rp, 500, "the ledger could not be read");
    else
        reply_json(rp, 200, json_pack("{s:o}", "tasks", list));
}

void get_task(struct request *rq, struct reply *rp)
{
    json_t *t;

    if (!scheduling(rq, rp))
        return;
    t = rq->index >= 0 ? sched_task(rq->sched, rq->index) : NULL;
    if (!t)
        reply_error(rp, 404, "there is no task %s", rq->path + strlen("/api/v2/tasks/"));
    else
        reply_json(rp, 200, t);
}

void post_task_cancel(struct request *rq, struct reply *rp)
{
    struct sched_caller c = caller(rq);
    char msg[256];
    int rc;

    if (!scheduling(rq, rp))
        return;
    rc = rq->index >= 0 ? sched_cancel(rq->sched, rq->index, &c, msg, sizeof(msg)) : GPUCTL_EINVAL;
    if (rq->index < 0)
        snprintf(msg, sizeof(msg), "the task id must be a number");
    if (rc)
        sched_error(rp, rc, msg, NULL);
    else
        reply_json(rp, 200, sched_task(rq->sched, rq->index));
}
