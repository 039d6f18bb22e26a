/* test_advise.c: guide 004's settings by GPU, CPU and RAM, and the YAML copy that changes only
 * the values it knows, byte for byte elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <yaml.h>

#include "tune/advise.h"
#include "tune/yaml_edit.h"

#define GIB (1024ull * 1024 * 1024)

static struct gpuctl_device nvidia(int major, int minor, double gib)
{
    struct gpuctl_device d;

    memset(&d, 0, sizeof(d));
    d.vendor = GPUCTL_VENDOR_NVIDIA;
    d.cc_major = major;
    d.cc_minor = minor;
    d.memory_total_bytes = (uint64_t)(gib * GIB);
    d.valid = (1u << GPUCTL_M_COMPUTE_CAPABILITY) | (1u << GPUCTL_M_MEMORY_TOTAL);
    return d;
}

static const struct advise_setting *get(const struct advice *a, const char *key)
{
    const struct advise_setting *s = advise_find(a, key);

    assert_non_null(s);
    assert_true(s->why[0] != '\0');
    return s;
}

static void batch_size_by_memory_tier(void **state)
{
    static const struct {
        double gib;
        long batch;
    } cases[] = {{79.2, 256}, {39.4, 128}, {23.6, 64}, {15.7, 48},
                 {11.7, 32},  {7.9, 16},   {3.8, 8},   {2.0, 4}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gpuctl_device d = nvidia(8, 9, cases[i].gib);
        struct advise_machine m = {&d, 1, 16, 64 * GIB};
        struct advice a;
        advise_compute(&m, &a);
        assert_int_equal(get(&a, "batch_size")->number, cases[i].batch);
    }
}

static void workers_per_gpu_capped_by_cores_and_ram(void **state)
{
    struct gpuctl_device d = nvidia(8, 0, 80);
    struct advice a;

    (void)state;
    advise_compute(&(struct advise_machine){&d, 1, 16, 64 * GIB}, &a);
    assert_int_equal(get(&a, "num_workers")->number, 15);
    advise_compute(&(struct advise_machine){&d, 8, 64, 512 * GIB}, &a);
    assert_int_equal(get(&a, "num_workers")->number, 7);
    advise_compute(&(struct advise_machine){&d, 1, 128, 1024 * GIB}, &a);
    assert_int_equal(get(&a, "num_workers")->number, 16);
    advise_compute(&(struct advise_machine){&d, 1, 32, 8 * GIB}, &a);
    assert_int_equal(get(&a, "num_workers")->number, 4); /* 2 GiB each */
    assert_int_equal(get(&a, "prefetch_factor")->number, 2);
    advise_compute(&(struct advise_machine){&d, 1, 1, 8 * GIB}, &a);
    assert_int_equal(get(&a, "num_workers")->number, 1);
    assert_true(get(&a, "persistent_workers")->flag);
}

static void precision_pinning_and_compile_follow_the_gpu(void **state)
{
    struct gpuctl_device a100 = nvidia(8, 0, 80), t4 = nvidia(7, 5, 16), p100 = nvidia(6, 0, 16);
    struct advice a;

    (void)state;
    advise_compute(&(struct advise_machine){&a100, 1, 16, 64 * GIB}, &a);
    assert_string_equal(get(&a, "precision")->text, "bf16-mixed");
    assert_true(get(&a, "use_mixed_precision")->flag);
    assert_true(get(&a, "compile_model")->flag);
    assert_true(get(&a, "pin_memory")->flag);
    assert_int_equal(get(&a, "prefetch_factor")->number, 4);
    advise_compute(&(struct advise_machine){&t4, 1, 16, 64 * GIB}, &a);
    assert_string_equal(get(&a, "precision")->text, "16-mixed");
    assert_true(get(&a, "compile_model")->flag);
    advise_compute(&(struct advise_machine){&p100, 1, 16, 64 * GIB}, &a);
    assert_string_equal(get(&a, "precision")->text, "32-true");
    assert_false(get(&a, "use_mixed_precision")->flag);
    assert_false(get(&a, "compile_model")->flag);
    advise_compute(&(struct advise_machine){NULL, 1, 16, 64 * GIB}, &a);
    assert_false(get(&a, "pin_memory")->flag);
    assert_false(get(&a, "compile_model")->flag);
    assert_string_equal(get(&a, "precision")->text, "32-true");
}

static char *edit(const char *in, struct yaml_edit *e, size_t n)
{
    char *out = NULL, msg[256];

    assert_int_equal(yaml_edit_apply(in, strlen(in), e, n, &out, msg, sizeof(msg)), 0);
    return out;
}

/* Whether text parses as YAML. */
static bool is_yaml(const char *text)
{
    yaml_parser_t p;
    yaml_document_t doc;
    bool ok;

    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    ok = yaml_parser_load(&p, &doc) != 0;
    if (ok)
        yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return ok;
}

static void yaml_values_change_and_nothing_else(void **state)
{
    const char *in = "# lightweight config\n"
                     "model:\n"
                     "  base_channels: 32   # width\n"
                     "  num_blocks: 4\n"
                     "data:\n"
                     "  batch_size: 16 # too small\n"
                     "  num_workers: '0'\n"
                     "  augment: [flip, crop]\n"
                     "lr: 3.0e-4\n";
    struct yaml_edit e[] = {
        {.key = "batch_size", .value = "64", .comment = "gpuctl advise: 24 GiB"},
        {.key = "num_workers", .value = "15", .comment = "gpuctl advise: cores"},
        {.key = "compile_model", .value = "true", .comment = "gpuctl advise: cc 8.6"}};
    char *out = edit(in, e, 3);

    (void)state;
    assert_string_equal(out, "# lightweight config\n"
                             "model:\n"
                             "  base_channels: 32   # width\n"
                             "  num_blocks: 4\n"
                             "data:\n"
                             "  batch_size: 64  # gpuctl advise: 24 GiB # too small\n"
                             "  num_workers: 15  # gpuctl advise: cores\n"
                             "  augment: [flip, crop]\n"
                             "lr: 3.0e-4\n"
                             "compile_model: true  # gpuctl advise: cc 8.6\n");
    assert_int_equal(e[0].found, 1);
    assert_string_equal(e[0].old, "16");
    assert_string_equal(e[1].old, "'0'");
    assert_true(e[2].added);
    assert_true(is_yaml(out));
    free(out);
}

static void flow_mappings_get_no_comment(void **state)
{
    const char *in = "data: {batch_size: 8, shuffle: true}\nname: x";
    struct yaml_edit e[] = {{.key = "batch_size", .value = "32", .comment = "why"}};
    char *out = edit(in, e, 1);

    (void)state;
    assert_string_equal(out, "data: {batch_size: 32, shuffle: true}\nname: x");
    assert_true(is_yaml(out));
    free(out);
}

static void values_that_are_keys_or_collections_stay(void **state)
{
    const char *in = "batch_size:\n  train: 16\n  eval: 64\nnote: batch_size\n";
    struct yaml_edit e[] = {{.key = "batch_size", .value = "32", .comment = "why"}};
    char *out = edit(in, e, 1);

    (void)state;
    /* batch_size holds a mapping: not a value to set, and not added again either */
    assert_string_equal(out, in);
    free(out);
}

static void anchors_aliases_and_complex_keys_stay_whole(void **state)
{
    const char *in = "base: &bs 32\n"
                     "batch_size: *bs\n"
                     "precision: &p 16\n"
                     "*p : 0.1\n"
                     "? [a, b]\n"
                     ": 1\n"
                     "num_workers: 2\n";
    struct yaml_edit e[] = {{.key = "batch_size", .value = "256", .comment = "why"},
                            {.key = "precision", .value = "bf16-mixed", .comment = "why"},
                            {.key = "num_workers", .value = "15", .comment = "why"}};
    char *out = edit(in, e, 3);

    (void)state;
    /* An anchored value keeps its anchor's text; an alias is not replaced nor added again; a key
     * that is an alias or a collection does not shift keys and values after it. */
    assert_string_equal(out, "base: &bs 32\n"
                             "batch_size: *bs\n"
                             "precision: &p 16\n"
                             "*p : 0.1\n"
                             "? [a, b]\n"
                             ": 1\n"
                             "num_workers: 15  # why\n");
    assert_false(e[0].added);
    assert_false(e[1].added);
    free(out);
}

static void deep_nesting_and_explicit_ends_are_handled(void **state)
{
    struct yaml_edit e[] = {{.key = "batch_size", .value = "32", .comment = "why"}};
    char *out = NULL, msg[256] = "", deep[1024] = "a: ";

    (void)state;
    memset(deep + 3, '[', 300);
    assert_int_equal(yaml_edit_apply(deep, strlen(deep), e, 1, &out, msg, sizeof(msg)),
                     GPUCTL_EINVAL);
    assert_non_null(strstr(msg, "nested deeper than"));
    /* After "...", nothing may follow: a missing key is not appended there. */
    out = edit("lr: 1\n...\n", e, 1);
    assert_string_equal(out, "lr: 1\n...\n");
    assert_false(e[0].added);
    free(out);
}

static void not_yaml_is_refused_with_its_place(void **state)
{
    struct yaml_edit e[] = {{.key = "batch_size", .value = "32", .comment = "why"}};
    char *out = NULL, msg[256] = "";

    (void)state;
    assert_int_equal(yaml_edit_apply("a: [1, 2\nb: 3\n", 13, e, 1, &out, msg, sizeof(msg)),
                     GPUCTL_EINVAL);
    assert_null(out);
    assert_non_null(strstr(msg, "line "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_size_by_memory_tier),
        cmocka_unit_test(workers_per_gpu_capped_by_cores_and_ram),
        cmocka_unit_test(precision_pinning_and_compile_follow_the_gpu),
        cmocka_unit_test(yaml_values_change_and_nothing_else),
        cmocka_unit_test(flow_mappings_get_no_comment),
        cmocka_unit_test(values_that_are_keys_or_collections_stay),
        cmocka_unit_test(anchors_aliases_and_complex_keys_stay_whole),
        cmocka_unit_test(deep_nesting_and_explicit_ends_are_handled),
        cmocka_unit_test(not_yaml_is_refused_with_its_place),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
