/* test_mask.c: CUDA_VISIBLE_DEVICES rules, as the CUDA runtime applies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device/mask.h"

static const char *const uuids[] = {
    "GPU-aaaa1111-0000-4000-8000-000000000000",
    "GPU-aaaa2222-0000-4000-8000-000000000000",
    "GPU-bbbb3333-0000-4000-8000-000000000000",
};

struct outcome {
    size_t order[8];
    size_t count;
    enum mask_outcome result;
    char msg[256];
};

static struct outcome apply_to(const char *var, const struct mask_rules *rules, const char *value,
                               const struct mask_devices *devs)
{
    struct outcome o;

    memset(&o, 0xff, sizeof(o.order));
    o.result = mask_apply(var, rules, value, devs, o.order, &o.count, o.msg, sizeof(o.msg));
    return o;
}

static struct outcome apply_rules(const char *var, const struct mask_rules *rules,
                                  const char *value, size_t n)
{
    struct mask_devices devs = {uuids, NULL, n, false};

    return apply_to(var, rules, value, &devs);
}

static struct outcome apply(const char *value, size_t n)
{
    return apply_rules("CUDA_VISIBLE_DEVICES", &mask_cuda, value, n);
}

static struct outcome rocr(const char *value, size_t n)
{
    return apply_rules("ROCR_VISIBLE_DEVICES", &mask_rocr, value, n);
}

static struct outcome hip(const char *value)
{
    return apply_rules("HIP_VISIBLE_DEVICES", &mask_hip, value, 3);
}

#define assert_visible(o, ...)                                                                     \
    do {                                                                                           \
        const size_t want_[] = {__VA_ARGS__};                                                      \
        assert_int_equal((o).count, sizeof(want_) / sizeof(want_[0]));                             \
        for (size_t i_ = 0; i_ < (o).count; i_++)                                                  \
            assert_int_equal((o).order[i_], want_[i_]);                                            \
    } while (0)

static void unset_shows_all_in_order(void **state)
{
    struct outcome o = apply(NULL, 3);

    (void)state;
    assert_visible(o, 0, 1, 2);
    assert_string_equal(o.msg, "");
    assert_int_equal(o.result, MASK_OK);
}

static void empty_hides_all(void **state)
{
    struct outcome o = apply("", 3);

    (void)state;
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "empty"));
}

static void indices_reorder(void **state)
{
    struct outcome o = apply("2,0", 3);

    (void)state;
    assert_visible(o, 2, 0);
    assert_string_equal(o.msg, "");
}

static void invalid_entry_truncates(void **state)
{
    /* The CUDA documentation's own example: 0,2,-1,1 shows 0 and 2. */
    struct outcome o = apply("0,2,-1,1", 3);

    (void)state;
    assert_visible(o, 0, 2);
    assert_int_equal(o.result, MASK_DROPPED);
    assert_non_null(strstr(o.msg, "'-1'"));
}

static void out_of_range_truncates(void **state)
{
    struct outcome o = apply("1,7,0", 3);

    (void)state;
    assert_visible(o, 1);
    assert_non_null(strstr(o.msg, "out of range"));
}

static void empty_entry_truncates(void **state)
{
    struct outcome o = apply("0,,1", 3);

    (void)state;
    assert_visible(o, 0);
}

static void indices_parse_like_strtoul(void **state)
{
    (void)state;
    assert_visible(apply(" 1 ", 3), 1);
    assert_visible(apply("1abc", 3), 1);
    assert_visible(apply("+2", 3), 2);
    assert_visible(apply("01", 3), 1);
    assert_int_equal(apply("abc", 3).count, 0);
}

static void duplicate_empties(void **state)
{
    struct outcome o = apply("0,1,0", 3);

    (void)state;
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "twice"));
    assert_int_equal(apply("1,01", 3).count, 0); /* the same device, spelled twice */
}

static void duplicate_after_invalid_is_not_reached(void **state)
{
    (void)state;
    assert_visible(apply("0,x,0", 3), 0);
}

static void uuids_and_unique_prefixes(void **state)
{
    (void)state;
    assert_visible(apply("GPU-bbbb3333-0000-4000-8000-000000000000", 3), 2);
    assert_visible(apply("GPU-bbbb,GPU-aaaa2", 3), 2, 1);
}

static void ambiguous_or_unknown_prefix_truncates(void **state)
{
    struct outcome o = apply("GPU-bbbb,GPU-aaaa", 3);

    (void)state;
    assert_visible(o, 2);
    assert_non_null(strstr(o.msg, "more than one"));
    o = apply("GPU-cccc", 3);
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "no GPU"));
}

static void uuid_prefix_is_case_sensitive(void **state)
{
    (void)state;
    assert_int_equal(apply("GPU-BBBB", 3).count, 0);
    assert_int_equal(apply("gpu-bbbb", 3).count, 0); /* not a UUID list: an invalid index */
}

static void mixing_kinds_truncates(void **state)
{
    (void)state;
    assert_visible(apply("GPU-bbbb,0", 3), 2);
    assert_visible(apply("1,GPU-bbbb", 3), 1);
}

static void mig_entries_stop_the_list(void **state)
{
    struct outcome o = apply("MIG-aaaa1111", 3);

    (void)state;
    assert_int_equal(o.count, 0);
    assert_int_equal(o.result, MASK_MIG);
    assert_non_null(strstr(o.msg, "MIG"));
}

static void long_entries_are_read_whole(void **state)
{
    char value[400];

    (void)state;
    memset(value, '0', 300);
    snprintf(value + 300, sizeof(value) - 300, "1,2");
    assert_visible(apply(value, 3), 1, 2); /* 300 zeros then 1 is 1, as strtoul reads it */
    memset(value, '9', 300);
    value[300] = '\0';
    assert_int_equal(apply(value, 3).count, 0);
    assert_non_null(strstr(apply(value, 3).msg, "out of range"));
}

/* ROCr (amd_filter_device.cpp) trims and upper-cases each entry, reads an index with strtol and
 * a UUID prefix of 5 to 20 characters, and reads no more entries than there are GPUs. */
static void rocr_indices_are_read_by_strtol(void **state)
{
    (void)state;
    assert_visible(rocr("+1", 3), 1);
    assert_visible(rocr(" 0x2 ,0", 3), 2, 0);
    assert_visible(rocr("-0", 3), 0);
    assert_int_equal(rocr("-1", 3).count, 0);
    assert_visible(rocr("1,2x", 3), 1);
    assert_visible(rocr("1,1,0", 3), 1); /* a duplicate ends the list */
}

static void rocr_uuids_take_5_to_20_characters(void **state)
{
    static const char *const amd[] = {"GPU-99A3C5E7F0B2D468", "GPU-99A3C5E7F0B2D469"};
    const struct mask_devices devs = {amd, NULL, 2, false};
    struct outcome o;

    (void)state;
    assert_visible(apply_to("ROCR_VISIBLE_DEVICES", &mask_rocr, "gpu-99a3c5e7f0b2d469", &devs), 1);
    o = apply_to("ROCR_VISIBLE_DEVICES", &mask_rocr, "GPU-9", &devs);
    assert_int_equal(o.count, 0); /* a prefix of both */
    o = apply_to("ROCR_VISIBLE_DEVICES", &mask_rocr, "GPU-", &devs);
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "5 to 20 characters"));
    o = apply_to("ROCR_VISIBLE_DEVICES", &mask_rocr, "GPU-99A3C5E7F0B2D4690", &devs);
    assert_int_equal(o.count, 0); /* 21 characters */
}

static void rocr_reads_as_many_entries_as_gpus(void **state)
{
    struct outcome o = rocr("1,0,junk", 2);

    (void)state;
    assert_visible(o, 1, 0);
    assert_int_equal(o.result, MASK_OK);
    assert_string_equal(o.msg, "");
}

/* HIP (ROCm/clr rocdevice.cpp) masks only when the value is not empty, and reads an index back
 * with std::to_string: anything else is invalid and ends the list. */
static void hip_empty_masks_nothing(void **state)
{
    (void)state;
    assert_visible(hip(""), 0, 1, 2);
    assert_string_equal(hip("").msg, "");
}

static void hip_indices_are_plain_decimal(void **state)
{
    (void)state;
    assert_visible(hip("2,0"), 2, 0);
    assert_int_equal(hip("01").count, 0);
    assert_visible(hip("1,01,0"), 1);
    assert_int_equal(hip("+1").count, 0);
    assert_int_equal(hip(" 1").count, 0);
    assert_visible(hip("0,0,2"), 0, 2); /* a duplicate is skipped */
}

static void hip_uuids_are_substrings_holding_gpu_dash(void **state)
{
    (void)state;
    assert_visible(hip("GPU-bbbb"), 2);
    assert_visible(hip("GPU-aaaa"), 0);         /* the first GPU that holds it */
    assert_int_equal(hip("bbbb3333").count, 0); /* no "GPU-": read as an index */
    assert_int_equal(hip("gpu-bbbb").count, 0); /* case matters */
    assert_visible(hip("1,GPU-bbbb"), 1, 2);    /* indices and UUIDs mix */
    assert_non_null(strstr(hip("GPU-cccc").msg, "no GPU"));
}

/* Level Zero (compute-runtime's parseAffinityMask) over GPUs of `tiles` tiles each. */
static struct outcome ze(const char *value, unsigned tiles, bool flat)
{
    static const char *const none[] = {"", ""};
    const unsigned each[] = {tiles, tiles};
    const struct mask_devices devs = {none, each, 2, flat};

    return apply_to("ZE_AFFINITY_MASK", &mask_ze, value, &devs);
}

static void ze_default_and_empty_mask_nothing(void **state)
{
    (void)state;
    assert_visible(ze("default", 1, false), 0, 1);
    assert_visible(ze("", 2, true), 0, 1);
    assert_string_equal(ze("default", 1, false).msg, "");
}

/* COMPOSITE: X is GPU X, X.Y its tile Y, which must exist; devices keep their order. */
static void ze_composite_names_gpus_and_their_tiles(void **state)
{
    (void)state;
    assert_int_equal(ze("0.1", 1, false).count, 0); /* a one-tile GPU has no tile 1 */
    assert_non_null(strstr(ze("0.1", 1, false).msg, "names a tile its GPU does not have"));
    assert_visible(ze("1,0.0", 1, false), 0, 1);
    assert_visible(ze("1.1", 2, false), 1);
    assert_non_null(strstr(ze("1.1", 2, false).msg, "shows 1 of the 2 tiles of GPU 1"));
    assert_string_equal(ze("0", 1, false).msg, "");
    assert_string_equal(ze("0.0,0.1", 2, false).msg, "");
    assert_int_equal(ze("1.2", 2, false).count, 0);
    assert_int_equal(ze("0.0.0", 2, false).count, 0);
}

/* FLAT and COMBINED: indices count tiles across the GPUs, and X.Y entries are ignored. */
static void ze_flat_counts_tiles(void **state)
{
    struct outcome o = ze("1", 2, true);

    (void)state;
    assert_visible(o, 0); /* tile 1 of GPU 0 */
    assert_non_null(strstr(o.msg, "shows 1 of the 2 tiles of GPU 0"));
    o = ze("3,2", 2, true);
    assert_visible(o, 1);
    assert_string_equal(o.msg, "");
    o = ze("0.1", 2, true);
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "names a tile, which Level Zero ignores"));
    o = ze("4", 2, true);
    assert_int_equal(o.count, 0);
    assert_non_null(strstr(o.msg, "counts 4 devices here, one per tile"));
    assert_int_equal(ze("0.0", 1, true).count, 0);
}

/* Numbers as std::stoul reads them, base 0. */
static void ze_numbers_are_read_by_stoul(void **state)
{
    (void)state;
    assert_visible(ze("0x1", 1, false), 1);
    assert_visible(ze(" 1", 1, false), 1);
    assert_visible(ze("1abc", 1, false), 1);
    assert_int_equal(ze("-1", 1, false).count, 0);
    assert_int_equal(ze("010", 1, false).count, 0); /* octal 8 */
    assert_int_equal(ze("x", 1, false).count, 0);
}

static void no_devices(void **state)
{
    (void)state;
    assert_int_equal(apply("0", 0).count, 0);
    assert_int_equal(apply(NULL, 0).count, 0);
    assert_string_equal(apply("", 0).msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unset_shows_all_in_order),
        cmocka_unit_test(empty_hides_all),
        cmocka_unit_test(indices_reorder),
        cmocka_unit_test(invalid_entry_truncates),
        cmocka_unit_test(out_of_range_truncates),
        cmocka_unit_test(empty_entry_truncates),
        cmocka_unit_test(indices_parse_like_strtoul),
        cmocka_unit_test(duplicate_empties),
        cmocka_unit_test(duplicate_after_invalid_is_not_reached),
        cmocka_unit_test(uuids_and_unique_prefixes),
        cmocka_unit_test(ambiguous_or_unknown_prefix_truncates),
        cmocka_unit_test(uuid_prefix_is_case_sensitive),
        cmocka_unit_test(mixing_kinds_truncates),
        cmocka_unit_test(mig_entries_stop_the_list),
        cmocka_unit_test(long_entries_are_read_whole),
        cmocka_unit_test(no_devices),
        cmocka_unit_test(rocr_indices_are_read_by_strtol),
        cmocka_unit_test(rocr_uuids_take_5_to_20_characters),
        cmocka_unit_test(rocr_reads_as_many_entries_as_gpus),
        cmocka_unit_test(ze_default_and_empty_mask_nothing),
        cmocka_unit_test(ze_composite_names_gpus_and_their_tiles),
        cmocka_unit_test(ze_flat_counts_tiles),
        cmocka_unit_test(ze_numbers_are_read_by_stoul),
        cmocka_unit_test(hip_empty_masks_nothing),

        cmocka_unit_test(hip_indices_are_plain_decimal),
        cmocka_unit_test(hip_uuids_are_substrings_holding_gpu_dash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
