/* test_size.c: sizes as people write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "util/size.h"

static uint64_t parse_ok(const char *s)
{
    uint64_t v = 12345;

    assert_int_equal(size_parse(s, &v), 0);
    return v;
}

static void units_are_powers_of_1024(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("16G"), 16ull << 30);
    assert_int_equal(parse_ok("16GB"), 16ull << 30);
    assert_int_equal(parse_ok("16GiB"), 16ull << 30);
    assert_int_equal(parse_ok("16g"), 16ull << 30);
    assert_int_equal(parse_ok("512M"), 512ull << 20);
    assert_int_equal(parse_ok("4k"), 4096);
    assert_int_equal(parse_ok("2T"), 2ull << 40);
    assert_int_equal(parse_ok("1P"), 1ull << 50);
}

static void bare_numbers_are_bytes(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("4096"), 4096);
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("7B"), 7);
}

static void fractions_and_spaces(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1.5G"), 3ull << 29);
    assert_int_equal(parse_ok(" 8 GiB "), 8ull << 30);
    assert_int_equal(parse_ok("0.5K"), 512);
}

static void bad_sizes_are_refused(void **state)
{
    static const char *const bad[] = {"12Q",    "",    " ",   "G",      "-1",  "1.2.3",
                                      "16 G B", "1.G", ".5G", "16GiBs", "1e9", "0x10"};
    uint64_t v = 99;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(size_parse(bad[i], &v), GPUCTL_EINVAL);
        assert_int_equal(v, 99); /* unchanged */
    }
}

static void overflow_is_refused(void **state)
{
    uint64_t v;

    (void)state;
    assert_int_equal(size_parse("16384P", &v), GPUCTL_ERANGE);
    assert_int_equal(size_parse("99999999999999999999", &v), GPUCTL_ERANGE);
    assert_int_equal(size_parse("18446744073709551615", &v), 0);
    assert_int_equal(v, UINT64_MAX);
}

static void formatting(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(size_format(512, buf, sizeof(buf)), "512 B");
    assert_string_equal(size_format(1536, buf, sizeof(buf)), "1.50 KiB");
    assert_string_equal(size_format(85520809984ull, buf, sizeof(buf)), "79.65 GiB");
    assert_string_equal(size_format(2ull << 40, buf, sizeof(buf)), "2.00 TiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units_are_powers_of_1024), cmocka_unit_test(bare_numbers_are_bytes),
        cmocka_unit_test(fractions_and_spaces),     cmocka_unit_test(bad_sizes_are_refused),
        cmocka_unit_test(overflow_is_refused),      cmocka_unit_test(formatting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
