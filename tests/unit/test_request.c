/* test_request.c: requests for GPUs read from JSON, with every mistake named, and written back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "sched/request.h"

#define GiB (1ull << 30)

#define FIELDS                                                                                     \
    "gpu_count, gpu_type, memory_gb, gpu_memory_fraction, kind, priority, device, wait, "          \
    "fallback, framework, distributed_training, per_gpu, mixed_precision, visible_devices, pid"

/* Reads text (JSON) into r; returns request_from_json's result, its message in msg. */
static int parse(const char *text, const char *const *extra, struct sched_request *r, char *msg,
                 size_t len)
{
    json_error_t err;
    json_t *o = json_loads(text, JSON_DECODE_ANY, &err);
    int rc;

    if (!o)
        fail_msg("bad JSON in the test: %s (%s)", text, err.text);
    msg[0] = '\0';
    rc = request_from_json(o, extra, r, msg, len);
    json_decref(o);
    return rc;
}

/* Reads text, which must be a good request. */
static struct sched_request good(const char *text)
{
    struct sched_request r;
    char msg[512];

    if (parse(text, NULL, &r, msg, sizeof(msg)) != 0)
        fail_msg("%s was refused: %s", text, msg);
    return r;
}

/* Reads text, which must be refused; returns the message. */
static const char *refused(const char *text)
{
    static char msg[512];
    struct sched_request r;

    assert_int_equal(parse(text, NULL, &r, msg, sizeof(msg)), GPUCTL_EINVAL);
    return msg;
}

/* "{"name": "xxx...x"}" with n x's. */
static const char *long_string(const char *name, size_t n)
{
    static char text[1024];
    size_t at = (size_t)snprintf(text, sizeof(text), "{\"%s\": \"", name);

    assert_true(at + n + 3 < sizeof(text));
    memset(text + at, 'x', n);
    snprintf(text + at + n, sizeof(text) - at - n, "\"}");
    return text;
}

static void assert_same_request(const struct sched_request *a, const struct sched_request *b)
{
    assert_int_equal(a->count, b->count);
    assert_string_equal(a->gpu_type, b->gpu_type);
    assert_int_equal(a->memory, b->memory);
    assert_true(a->fraction == b->fraction);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->priority, b->priority);
    assert_string_equal(a->device, b->device);
    assert_true(a->wait_s == b->wait_s);
    assert_int_equal(a->fallback_cpu, b->fallback_cpu);
    assert_int_equal(a->framework, b->framework);
    assert_int_equal(a->distributed, b->distributed);
    assert_int_equal(a->per_gpu, b->per_gpu);
    assert_int_equal(a->mixed_precision, b->mixed_precision);
    assert_int_equal(a->has_visible, b->has_visible);
    assert_string_equal(a->visible, b->visible);
    assert_int_equal(a->pid, b->pid);
}

static void an_empty_request_asks_for_one_gpu_of_any_kind_now(void **state)
{
    struct sched_request r = good("{}");

    (void)state;
    assert_int_equal(r.count, 1);
    assert_string_equal(r.gpu_type, "");
    assert_int_equal(r.memory, 0);
    assert_true(r.fraction == 0);
    assert_int_equal(r.kind, KIND_OTHER);
    assert_int_equal(r.priority, 0);
    assert_string_equal(r.device, "auto");
    assert_true(r.wait_s == 0);
    assert_false(r.fallback_cpu);
    assert_int_equal(r.framework, FRAMEWORK_NONE);
    assert_false(r.distributed);
    assert_false(r.per_gpu);
    assert_false(r.mixed_precision);
    assert_false(r.has_visible);
    assert_int_equal(r.pid, 0);
}

static void every_field_is_read(void **state)
{
    struct sched_request r =
        good("{\"gpu_count\": 2, \"gpu_type\": \"A100\", \"memory_gb\": 1.5,"
             " \"gpu_memory_fraction\": 0.25, \"kind\": \"training\", \"priority\": -3,"
             " \"device\": \"cuda:1\", \"wait\": \"5m\", \"fallback\": \"cpu\","
             " \"framework\": \"jax\", \"distributed_training\": true, \"per_gpu\": true,"
             " \"mixed_precision\": true, \"visible_devices\": \"1,3\", \"pid\": 4242}");

    (void)state;
    assert_int_equal(r.count, 2);
    assert_string_equal(r.gpu_type, "A100");
    assert_int_equal(r.memory, 3 * GiB / 2);
    assert_true(r.fraction == 0.25);
    assert_int_equal(r.kind, KIND_TRAINING);
    assert_int_equal(r.priority, -3);
    assert_string_equal(r.device, "cuda:1");
    assert_true(r.wait_s == 300);
    assert_true(r.fallback_cpu);
    assert_int_equal(r.framework, FRAMEWORK_JAX);
    assert_true(r.distributed);
    assert_true(r.per_gpu);
    assert_true(r.mixed_precision);
    assert_true(r.has_visible);
    assert_string_equal(r.visible, "1,3");
    assert_int_equal(r.pid, 4242);
}

static void null_leaves_a_field_at_its_default(void **state)
{
    struct sched_request r = good("{\"gpu_count\": null, \"kind\": null, \"device\": null,"
                                  " \"wait\": null, \"fallback\": null, \"visible_devices\": null,"
                                  " \"memory_gb\": null, \"pid\": null}");
    struct sched_request d = good("{}");

    (void)state;
    assert_same_request(&r, &d);
}

static void counts_and_priorities_are_whole_numbers_in_range(void **state)
{
    static const char count[] = "gpu_count must be a whole number from 1 to 64";
    static const char priority[] =
        "priority must be a whole number from -1000 to 1000 (higher goes first)";

    (void)state;
    assert_int_equal(good("{\"gpu_count\": 1}").count, 1);
    assert_int_equal(good("{\"gpu_count\": 64}").count, 64);
    assert_string_equal(refused("{\"gpu_count\": 0}"), count);
    assert_string_equal(refused("{\"gpu_count\": 65}"), count);
    assert_string_equal(refused("{\"gpu_count\": 1.5}"), count);
    assert_string_equal(refused("{\"gpu_count\": \"2\"}"), count);
    assert_int_equal(good("{\"priority\": 1000}").priority, 1000);
    assert_int_equal(good("{\"priority\": -1000}").priority, -1000);
    assert_string_equal(refused("{\"priority\": 1001}"), priority);
    assert_string_equal(refused("{\"priority\": -1001}"), priority);
    assert_string_equal(refused("{\"priority\": 0.5}"), priority);
}

static void memory_is_gib_above_zero(void **state)
{
    static const char memory[] = "memory_gb must be a number of GB (GiB) above 0, such as 16";

    (void)state;
    assert_int_equal(good("{\"memory_gb\": 16}").memory, 16 * GiB);
    assert_int_equal(good("{\"memory_gb\": 0.5}").memory, GiB / 2);
    assert_int_equal(good("{\"memory_gb\": 1000000}").memory, 1000000 * GiB);
    assert_string_equal(refused("{\"memory_gb\": 0}"), memory);
    assert_string_equal(refused("{\"memory_gb\": -4}"), memory);
    assert_string_equal(refused("{\"memory_gb\": 1000001}"), memory);
    assert_string_equal(refused("{\"memory_gb\": \"16G\"}"), memory);
    assert_string_equal(refused("{\"memory_gb\": true}"), memory);
}

static void a_fraction_is_above_zero_and_at_most_one(void **state)
{
    static const char fraction[] =
        "gpu_memory_fraction must be a number above 0 and at most 1, such as 0.5";

    (void)state;
    assert_true(good("{\"gpu_memory_fraction\": 1}").fraction == 1);
    assert_true(good("{\"gpu_memory_fraction\": 0.01}").fraction == 0.01);
    assert_string_equal(refused("{\"gpu_memory_fraction\": 0}"), fraction);
    assert_string_equal(refused("{\"gpu_memory_fraction\": 1.01}"), fraction);
    assert_string_equal(refused("{\"gpu_memory_fraction\": -0.5}"), fraction);
    assert_string_equal(refused("{\"gpu_memory_fraction\": \"50%\"}"), fraction);
}

static void texts_have_room_for_one_less_than_their_buffer(void **state)
{
    static const char type[] =
        "gpu_type must be a model name such as \"A100\" (under 48 characters)";
    static const char device[] = "device must be auto, cuda, cuda:N, cpu or a GPU UUID";
    static const char visible[] = "visible_devices must be a CUDA_VISIBLE_DEVICES value (a text)";

    (void)state;
    assert_int_equal(strlen(good(long_string("gpu_type", 47)).gpu_type), 47);
    assert_string_equal(refused(long_string("gpu_type", 48)), type);
    assert_string_equal(refused("{\"gpu_type\": 100}"), type);
    assert_int_equal(strlen(good(long_string("device", 95)).device), 95);
    assert_string_equal(refused(long_string("device", 96)), device);
    assert_string_equal(refused("{\"device\": \"\"}"), device);
    assert_string_equal(refused("{\"device\": 0}"), device);
    assert_int_equal(strlen(good(long_string("visible_devices", 511)).visible), 511);
    assert_string_equal(refused(long_string("visible_devices", 512)), visible);
    assert_string_equal(refused("{\"visible_devices\": 0}"), visible);
}

static void an_empty_visible_list_is_given_and_hides_every_gpu(void **state)
{
    struct sched_request r = good("{\"visible_devices\": \"\"}");

    (void)state;
    assert_true(r.has_visible);
    assert_string_equal(r.visible, "");
}

static void kinds_and_frameworks_are_named_in_any_case(void **state)
{
    static const char framework[] = "framework must be torch, tf or jax";

    (void)state;
    assert_int_equal(good("{\"kind\": \"Training\"}").kind, KIND_TRAINING);
    assert_int_equal(good("{\"kind\": \"inference\"}").kind, KIND_INFERENCE);
    assert_int_equal(good("{\"kind\": \"OTHER\"}").kind, KIND_OTHER);
    assert_string_equal(refused("{\"kind\": \"batch\"}"),
                        "unknown kind 'batch': the kinds are training, inference and other");
    assert_string_equal(refused("{\"kind\": 1}"),
                        "kind must be a text: training, inference or other");
    assert_int_equal(good("{\"framework\": \"torch\"}").framework, FRAMEWORK_TORCH);
    assert_int_equal(good("{\"framework\": \"PyTorch\"}").framework, FRAMEWORK_TORCH);
    assert_int_equal(good("{\"framework\": \"tf\"}").framework, FRAMEWORK_TF);
    assert_int_equal(good("{\"framework\": \"tensorflow\"}").framework, FRAMEWORK_TF);
    assert_int_equal(good("{\"framework\": \"JAX\"}").framework, FRAMEWORK_JAX);
    assert_string_equal(refused("{\"framework\": \"mxnet\"}"), framework);
    assert_string_equal(refused("{\"framework\": \"\"}"), framework);
    assert_string_equal(refused("{\"framework\": true}"), framework);
    assert_string_equal(framework_name(FRAMEWORK_TORCH), "torch");
    assert_string_equal(framework_name(FRAMEWORK_TF), "tf");
    assert_string_equal(framework_name(FRAMEWORK_JAX), "jax");
    assert_string_equal(framework_name(FRAMEWORK_NONE), "");
}

static void wait_is_seconds_a_duration_or_forever(void **state)
{
    static const char wait[] = "wait must be seconds, a number of seconds, or with a unit: 500ms, "
                               "30s, 5m, 1h, 1d, or \"forever\"";

    (void)state;
    assert_true(good("{\"wait\": 0}").wait_s == 0);
    assert_true(good("{\"wait\": 30}").wait_s == 30);
    assert_true(good("{\"wait\": 2.5}").wait_s == 2.5);
    assert_true(good("{\"wait\": \"500ms\"}").wait_s == 0.5);
    assert_true(good("{\"wait\": \"1h\"}").wait_s == 3600);
    assert_true(good("{\"wait\": \"90\"}").wait_s == 90);
    assert_true(good("{\"wait\": \"forever\"}").wait_s < 0);
    assert_string_equal(refused("{\"wait\": -1}"), wait);
    assert_string_equal(refused("{\"wait\": \"soon\"}"), wait);
    assert_string_equal(refused("{\"wait\": \"Forever\"}"), wait);
    assert_string_equal(refused("{\"wait\": \"-5s\"}"), wait);
    assert_string_equal(refused("{\"wait\": true}"), wait);
    assert_string_equal(refused("{\"wait\": [30]}"), wait);
}

static void fallback_is_cpu_or_null(void **state)
{
    static const char fallback[] = "fallback must be \"cpu\" (or null)";

    (void)state;
    assert_true(good("{\"fallback\": \"cpu\"}").fallback_cpu);
    assert_false(good("{\"fallback\": null}").fallback_cpu);
    assert_string_equal(refused("{\"fallback\": \"gpu\"}"), fallback);
    assert_string_equal(refused("{\"fallback\": \"CPU\"}"), fallback);
    assert_string_equal(refused("{\"fallback\": true}"), fallback);
}

static void flags_are_true_or_false(void **state)
{
    (void)state;
    assert_false(good("{\"distributed_training\": false}").distributed);
    assert_true(good("{\"per_gpu\": true}").per_gpu);
    assert_string_equal(refused("{\"distributed_training\": \"yes\"}"),
                        "distributed_training must be true or false");
    assert_string_equal(refused("{\"per_gpu\": 1}"), "per_gpu must be true or false");
    assert_string_equal(refused("{\"mixed_precision\": \"true\"}"),
                        "mixed_precision must be true or false");
}

static void a_pid_is_a_process_id_or_zero_for_none(void **state)
{
    static const char pid[] = "pid must be a process id";

    (void)state;
    assert_int_equal(good("{\"pid\": 0}").pid, 0);
    assert_int_equal(good("{\"pid\": 2147483647}").pid, 2147483647);
    assert_string_equal(refused("{\"pid\": -1}"), pid);
    assert_string_equal(refused("{\"pid\": 2147483648}"), pid);
    assert_string_equal(refused("{\"pid\": \"123\"}"), pid);
    assert_string_equal(refused("{\"pid\": 12.5}"), pid);
}

static void unknown_fields_and_non_objects_are_refused_with_the_fields_listed(void **state)
{
    (void)state;
    assert_string_equal(refused("{\"gpu_count\": 1, \"gpus\": 2}"),
                        "unknown field 'gpus'; a request takes " FIELDS);
    assert_string_equal(refused("{\"Gpu_Count\": 1}"),
                        "unknown field 'Gpu_Count'; a request takes " FIELDS);
    assert_string_equal(refused("[1]"), "the request must be a JSON object with " FIELDS);
    assert_string_equal(refused("null"), "the request must be a JSON object with " FIELDS);
    assert_string_equal(request_fields, FIELDS);
}

static void extra_fields_are_left_to_the_caller(void **state)
{
    static const char *const extra[] = {"command", "cwd", NULL};
    static const char *const count[] = {"gpu_count", NULL};
    struct sched_request r;
    char msg[512];

    (void)state;
    assert_int_equal(parse("{\"command\": [\"python\"], \"cwd\": \"/tmp\", \"gpu_count\": 2}",
                           extra, &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.count, 2);
    assert_int_equal(parse("{\"command\": 3, \"env\": {}}", extra, &r, msg, sizeof(msg)),
                     GPUCTL_EINVAL);
    assert_string_equal(msg, "unknown field 'env'; a request takes " FIELDS);
    /* Naming a field of the request as extra does not skip its check. */
    assert_int_equal(parse("{\"gpu_count\": 0}", count, &r, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_string_equal(msg, "gpu_count must be a whole number from 1 to 64");
}

static void a_long_message_is_cut_to_its_buffer(void **state)
{
    struct sched_request r;
    char msg[16];

    (void)state;
    assert_int_equal(parse("{\"gpus\": 2}", NULL, &r, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_string_equal(msg, "unknown field '");
}

/* to_json then from_json gives r back. */
static void assert_round_trip(const struct sched_request *r)
{
    json_t *o = request_to_json(r);
    struct sched_request back;
    char msg[512] = "";

    assert_non_null(o);
    if (request_from_json(o, NULL, &back, msg, sizeof(msg)) != 0)
        fail_msg("request_to_json wrote what request_from_json refuses: %s", msg);
    json_decref(o);
    assert_same_request(&back, r);
}

static void a_request_reads_back_from_its_json(void **state)
{
    struct sched_request r =
        good("{\"gpu_count\": 4, \"gpu_type\": \"H100\", \"memory_gb\": 1.1,"
             " \"gpu_memory_fraction\": 0.3, \"kind\": \"inference\", \"priority\": 7,"
             " \"device\": \"GPU-5d7b\", \"wait\": 2.5, \"fallback\": \"cpu\","
             " \"framework\": \"tensorflow\", \"distributed_training\": true, \"per_gpu\": false,"
             " \"mixed_precision\": true, \"visible_devices\": \"\", \"pid\": 99}");

    (void)state;
    assert_round_trip(&r);
    r = good("{\"wait\": \"forever\", \"framework\": \"pytorch\"}");
    assert_round_trip(&r);
    r = good("{}");
    assert_round_trip(&r);
}

static void the_json_holds_only_what_was_given(void **state)
{
    struct sched_request r = good("{}");
    json_t *o = request_to_json(&r);
    char *text;

    (void)state;
    assert_non_null(o);
    text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"device\":\"auto\",\"distributed_training\":false,"
                              "\"gpu_count\":1,\"kind\":\"other\",\"mixed_precision\":false,"
                              "\"per_gpu\":false,\"priority\":0}");
    free(text);
    json_decref(o);

    r = good("{\"wait\": \"forever\", \"framework\": \"pytorch\", \"fallback\": \"cpu\","
             " \"memory_gb\": 8, \"visible_devices\": \"0\", \"pid\": 12}");
    o = request_to_json(&r);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "wait")), "forever");
    assert_string_equal(json_string_value(json_object_get(o, "framework")), "torch");
    assert_string_equal(json_string_value(json_object_get(o, "fallback")), "cpu");
    assert_true(json_number_value(json_object_get(o, "memory_gb")) == 8);
    assert_string_equal(json_string_value(json_object_get(o, "visible_devices")), "0");
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), 12);
    json_decref(o);
}

static void the_policy_sees_count_memory_fraction_kind_and_model(void **state)
{
    struct sched_request r =
        good("{\"gpu_count\": 3, \"gpu_type\": \"A100\", \"memory_gb\": 20,"
             " \"gpu_memory_fraction\": 0.5, \"kind\": \"training\", \"priority\": 9}");
    struct sched_req p = request_for_policy(&r, 42);

    (void)state;
    assert_int_equal(p.id, 42);
    assert_int_equal(p.count, 3);
    assert_string_equal(p.gpu_type, "A100");
    assert_int_equal(p.memory, 20 * GiB);
    assert_true(p.fraction == 0.5);
    assert_int_equal(p.kind, KIND_TRAINING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_request_asks_for_one_gpu_of_any_kind_now),
        cmocka_unit_test(every_field_is_read),
        cmocka_unit_test(null_leaves_a_field_at_its_default),
        cmocka_unit_test(counts_and_priorities_are_whole_numbers_in_range),
        cmocka_unit_test(memory_is_gib_above_zero),
        cmocka_unit_test(a_fraction_is_above_zero_and_at_most_one),
        cmocka_unit_test(texts_have_room_for_one_less_than_their_buffer),
        cmocka_unit_test(an_empty_visible_list_is_given_and_hides_every_gpu),
        cmocka_unit_test(kinds_and_frameworks_are_named_in_any_case),
        cmocka_unit_test(wait_is_seconds_a_duration_or_forever),
        cmocka_unit_test(fallback_is_cpu_or_null),
        cmocka_unit_test(flags_are_true_or_false),
        cmocka_unit_test(a_pid_is_a_process_id_or_zero_for_none),
        cmocka_unit_test(unknown_fields_and_non_objects_are_refused_with_the_fields_listed),
        cmocka_unit_test(extra_fields_are_left_to_the_caller),
        cmocka_unit_test(a_long_message_is_cut_to_its_buffer),
        cmocka_unit_test(a_request_reads_back_from_its_json),
        cmocka_unit_test(the_json_holds_only_what_was_given),
        cmocka_unit_test(the_policy_sees_count_memory_fraction_kind_and_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
