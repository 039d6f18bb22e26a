/* test_precision.c: the precision table, named as PyTorch Lightning's `precision`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

static struct gpuctl_device nvidia(int major, int minor)
{
    struct gpuctl_device d;

    memset(&d, 0, sizeof(d));
    d.vendor = GPUCTL_VENDOR_NVIDIA;
    d.cc_major = major;
    d.cc_minor = minor;
    d.valid = 1u << GPUCTL_M_COMPUTE_CAPABILITY;
    return d;
}

static const char *advise(const struct gpuctl_device *d, bool *tf32)
{
    struct gpuctl_precision_advice a;

    gpuctl_precision_advise(d, &a);
    if (tf32)
        *tf32 = a.tf32;
    assert_non_null(a.reason);
    return a.precision == GPUCTL_PRECISION_UNKNOWN ? "unknown" : gpuctl_precision_name(a.precision);
}

static void ampere_and_newer_get_bf16_and_tf32(void **state)
{
    static const int ccs[][2] = {{8, 0}, {8, 6}, {8, 9}, {9, 0}, {10, 0}, {12, 0}};
    bool tf32 = false;

    (void)state;
    for (size_t i = 0; i < sizeof(ccs) / sizeof(ccs[0]); i++) {
        struct gpuctl_device d = nvidia(ccs[i][0], ccs[i][1]);
        assert_string_equal(advise(&d, &tf32), "bf16-mixed");
        assert_true(tf32);
    }
}

static void volta_and_turing_get_fp16(void **state)
{
    struct gpuctl_device v100 = nvidia(7, 0), t4 = nvidia(7, 5);
    bool tf32 = true;

    (void)state;
    assert_string_equal(advise(&v100, &tf32), "16-mixed");
    assert_false(tf32);
    assert_string_equal(advise(&t4, NULL), "16-mixed");
}

static void older_gpus_get_full_precision(void **state)
{
    struct gpuctl_device p100 = nvidia(6, 0), k80 = nvidia(3, 7);

    (void)state;
    assert_string_equal(advise(&p100, NULL), "32-true");
    assert_string_equal(advise(&k80, NULL), "32-true");
}

static void cpu_gets_full_precision(void **state)
{
    struct gpuctl_device cpu;

    (void)state;
    memset(&cpu, 0, sizeof(cpu));
    cpu.vendor = GPUCTL_VENDOR_CPU;
    assert_string_equal(advise(&cpu, NULL), "32-true");
}

static void unknown_capability_or_lost_gpu_gets_no_advice(void **state)
{
    struct gpuctl_device none = nvidia(9, 0), lost = nvidia(9, 0);

    (void)state;
    none.valid = 0;
    lost.state = GPUCTL_STATE_LOST;
    assert_string_equal(advise(&none, NULL), "unknown");
    assert_string_equal(advise(&lost, NULL), "unknown");
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(gpuctl_precision_name(GPUCTL_PRECISION_32_TRUE), "32-true");
    assert_string_equal(gpuctl_precision_name(GPUCTL_PRECISION_16_MIXED), "16-mixed");
    assert_string_equal(gpuctl_precision_name(GPUCTL_PRECISION_BF16_MIXED), "bf16-mixed");
    assert_null(gpuctl_precision_name(GPUCTL_PRECISION_UNKNOWN));
    assert_null(gpuctl_precision_name((enum gpuctl_precision)42));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ampere_and_newer_get_bf16_and_tf32),
        cmocka_unit_test(volta_and_turing_get_fp16),
        cmocka_unit_test(older_gpus_get_full_precision),
        cmocka_unit_test(cpu_gets_full_precision),
        cmocka_unit_test(unknown_capability_or_lost_gpu_gets_no_advice),
        cmocka_unit_test(names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
