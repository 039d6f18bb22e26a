/* test_drm_usage.c: fdinfo files as amdgpu, i915 and xe write them, and what is not a client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device/drm_usage.h"

static struct drm_client parse_ok(const char *text)
{
    char buf[4096];
    struct drm_client c;

    snprintf(buf, sizeof(buf), "%s", text);
    assert_true(drm_usage_parse(buf, 42, &c));
    assert_int_equal(c.pid, 42);
    return c;
}

static bool parse(const char *text)
{
    char buf[4096];
    struct drm_client c;

    snprintf(buf, sizeof(buf), "%s", text);
    return drm_usage_parse(buf, 42, &c);
}

static void amdgpu(void **state)
{
    /* amdgpu writes "drm-memory-gtt: \t" with a space before the tab. */
    struct drm_client c = parse_ok("pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1085\n"
                                   "drm-driver:\tamdgpu\ndrm-client-id:\t57\n"
                                   "drm-pdev:\t0000:03:00.0\npasid:\t32770\n"
                                   "drm-memory-vram:\t1048576 KiB\ndrm-memory-gtt: \t2048 KiB\n"
                                   "amd-evicted-vram:\t0 KiB\n"
                                   "drm-engine-gfx:\t8840012345 ns\n"
                                   "drm-engine-compute:\t1200345 ns\n");

    (void)state;
    assert_string_equal(c.driver, "amdgpu");
    assert_int_equal(c.id, 57);
    assert_int_equal(c.pdev.bus, 3);
    assert_true(c.has_vram);
    assert_int_equal(c.vram_bytes, 1ull << 30);
    assert_int_equal(c.busy[0], 8840012345ull);
    assert_int_equal(c.busy[1], 1200345);
    assert_int_equal(c.uses, DRM_USES_GRAPHICS | DRM_USES_COMPUTE);
    assert_false(c.cycles);
}

static void resident_before_memory_before_total(void **state)
{
    struct drm_client c =
        parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t1\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-total-vram:\t3 MiB\ndrm-memory-vram:\t2048 KiB\n"
                 "drm-resident-vram:\t1 MiB\n");

    (void)state;
    assert_int_equal(c.vram_bytes, 1 << 20);
}

static void i915_with_capacity(void **state)
{
    struct drm_client c = parse_ok("drm-driver:\ti915\ndrm-client-id:\t7\ndrm-pdev:\t0000:03:00.0\n"
                                   "drm-total-local0:\t256 MiB\ndrm-resident-local0:\t256 MiB\n"
                                   "drm-engine-render:\t9288864723 ns\n"
                                   "drm-engine-compute:\t0 ns\ndrm-engine-capacity-compute:\t4\n");

    (void)state;
    assert_int_equal(c.vram_bytes, 256ull << 20);
    assert_int_equal(c.busy[0], 9288864723ull);
    assert_int_equal(c.capacity[1], 4);
    assert_int_equal(c.uses, DRM_USES_GRAPHICS);
}

static void xe_cycles(void **state)
{
    struct drm_client c = parse_ok("drm-driver:\txe\ndrm-client-id:\t13\ndrm-pdev:\t0000:00:02.0\n"
                                   "drm-total-system:\t148 MiB\n"
                                   "drm-cycles-rcs:\t25\ndrm-total-cycles-rcs:\t1000\n"
                                   "drm-cycles-ccs:\t40\ndrm-total-cycles-ccs:\t1000\n"
                                   "drm-engine-capacity-ccs:\t4\n");

    (void)state;
    assert_true(c.cycles);
    assert_false(c.has_vram); /* an integrated GPU: no vram0 */
    assert_int_equal(c.busy[0], 25);
    assert_int_equal(c.total[1], 1000);
    assert_int_equal(c.capacity[1], 4);
}

static void not_clients(void **state)
{
    (void)state;
    assert_false(parse("pos:\t0\nflags:\t02\nmnt_id:\t25\nino:\t5\n")); /* a plain file */
    assert_false(parse("drm-driver:\tnouveau\ndrm-client-id:\t1\ndrm-pdev:\t0000:01:00.0\n"));
    assert_false(parse("drm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\n")); /* no client id */
    assert_false(parse("drm-driver:\tamdgpu\ndrm-client-id:\t1\ndrm-pdev:\tnowhere\n"));
    assert_false(parse("drm-driver:\tamdgpu\ndrm-client-id:\tmany\ndrm-pdev:\t0000:03:00.0\n"));
    assert_false(parse("garbage without colons\n\n\n"));
    assert_false(parse(""));
}

static void garbage_values_are_left_out(void **state)
{
    struct drm_client c =
        parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-memory-vram:\tlots\ndrm-engine-gfx:\t12 parsecs\n");

    (void)state;
    assert_false(c.has_vram);
    assert_int_equal(c.busy[0], 0);
    assert_int_equal(c.uses, 0);
}

/* Numbers past 64 bits, or carried past them by their unit, are garbage rather than wrapped;
 * so is a memory figure no GPU has, or an engine count no GPU has. */
static void out_of_range_values_are_left_out(void **state)
{
    struct drm_client c =
        parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-resident-vram:\t99999999999999999999999 KiB\n"
                 "drm-engine-gfx:\t18446744073709551616 ns\n"
                 "drm-engine-compute:\t7 ns\ndrm-engine-capacity-compute:\t4294967296\n");

    (void)state;
    assert_false(c.has_vram);
    assert_int_equal(c.busy[0], 0);
    assert_int_equal(c.busy[1], 7);
    assert_int_equal(c.capacity[1], 1);
    c = parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-resident-vram:\t17179869184 GiB\n"); /* 2^64 bytes */
    assert_false(c.has_vram);
    c = parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-resident-vram:\t2048 TiB\ndrm-memory-vram:\t2097152 GiB\n"); /* 2 PiB */
    assert_false(c.has_vram);
    c = parse_ok("drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:03:00.0\n"
                 "drm-resident-vram:\t8192 MiB\n");
    assert_true(c.has_vram);
    assert_int_equal(c.vram_bytes, 8ull << 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(amdgpu),
        cmocka_unit_test(resident_before_memory_before_total),
        cmocka_unit_test(i915_with_capacity),
        cmocka_unit_test(xe_cycles),
        cmocka_unit_test(not_clients),
        cmocka_unit_test(garbage_values_are_left_out),
        cmocka_unit_test(out_of_range_values_are_left_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
