/* test_doctor.c: gpuctl doctor's compatibility rules (driver floors, wheels, architectures) and
 * its reading of device file permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "doctor/compat.h"
#include "doctor/doctor.h"
#include "util/str.h"

static void versions_compare_as_numbers(void **state)
{
    (void)state;
    assert_true(compat_version_compare("581.29", "580.65.06") > 0);
    assert_true(compat_version_compare("580.65.06", "580.65.06") == 0);
    assert_true(compat_version_compare("470.256.02", "525.60.13") < 0);
    assert_true(compat_version_compare("570.26", "570.26.0") == 0);
    assert_true(compat_version_compare("99.1", "100") < 0);
}

static void cuda_versions_parse_and_format(void **state)
{
    char text[16];

    (void)state;
    assert_int_equal(compat_cuda_parse("12.1"), 12010);
    assert_int_equal(compat_cuda_parse("12.5.1"), 12050); /* TensorFlow's cuda_version */
    assert_int_equal(compat_cuda_parse("13"), 13000);
    assert_int_equal(compat_cuda_parse(NULL), 0);
    assert_int_equal(compat_cuda_parse("cu121"), 0);
    assert_int_equal(compat_cuda_parse("12.x"), 0);
    compat_cuda_format(13000, text, sizeof(text));
    assert_string_equal(text, "13.0");
    compat_cuda_format(12080, text, sizeof(text));
    assert_string_equal(text, "12.8");
}

static void drivers_have_floors_per_cuda_major(void **state)
{
    (void)state;
    assert_string_equal(compat_driver_floor(12010, false), "525.60.13");
    assert_string_equal(compat_driver_floor(13020, false), "580.65.06");
    assert_string_equal(compat_driver_floor(11080, true), "452.39");
    assert_string_equal(compat_driver_floor(12040, true), "528.33");
    assert_null(compat_driver_floor(10020, false));
    /* The highest CUDA a driver runs, when NVML cannot say. */
    assert_int_equal(compat_cuda_of_driver("470.256.02", false), 11040);
    assert_int_equal(compat_cuda_of_driver("550.54.15", false), 12040);
    assert_int_equal(compat_cuda_of_driver("581.29", false), 13000);
    assert_int_equal(compat_cuda_of_driver("581.29", true), 13000);
    assert_int_equal(compat_cuda_of_driver("390.157", false), 0);
}

static void a_driver_runs_older_majors_and_its_own(void **state)
{
    (void)state;
    assert_true(compat_driver_runs(13000, 12080));
    assert_true(compat_driver_runs(12040, 12080)); /* minor-version compatibility */
    assert_false(compat_driver_runs(11040, 12010));
    assert_false(compat_driver_runs(12080, 13000)); /* "found version 12080" */
    assert_false(compat_driver_runs(0, 11080));
}

static void architectures_run_forward_within_a_major_and_through_ptx(void **state)
{
    const char *cu124 = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90";

    (void)state;
    assert_true(compat_arch_runs(cu124, 8, 6));
    assert_true(compat_arch_runs(cu124, 8, 9));   /* sm_86 code runs on sm_89 */
    assert_false(compat_arch_runs(cu124, 12, 0)); /* RTX 50xx: no sm_120, no PTX */
    assert_true(compat_arch_runs("sm_80 sm_90 compute_90", 12, 0));
    assert_false(compat_arch_runs("sm_87", 8, 6)); /* not backwards */
    assert_true(compat_arch_runs("7.5 8.0 8.6 9.0 10.0 12.0+PTX", 12, 1));
    assert_true(compat_arch_runs("7.5 8.0 8.6 9.0 10.0 12.0+PTX", 10, 3));
    assert_false(compat_arch_runs("7.5 8.0 8.6 9.0 10.0 12.0+PTX", 11, 0));
    assert_false(compat_arch_runs("7.5 8.0 8.6 9.0 10.0 12.0+PTX", 6, 1)); /* Pascal dropped */
    assert_false(compat_arch_runs("", 8, 0));
    assert_true(compat_arch_runs("sm_90a", 9, 0)); /* arch-specific code: that GPU alone */
    assert_false(compat_arch_runs("sm_90a", 9, 1));
    assert_false(compat_arch_runs("sm_100a", 10, 3));
    assert_true(compat_arch_runs("sm_100 sm_120", 12, 0));
}

static void wheel_for(int driver_cuda, int major, int minor, const char *release, const char *tag)
{
    int cc = major * 10 + minor;
    const struct torch_wheel *w = compat_torch_pick(driver_cuda, &cc, 1);

    if (!release) {
        assert_null(w);
        return;
    }
    assert_non_null(w);
    assert_string_equal(w->release, release);
    assert_string_equal(w->tag, tag);
}

static void the_wheel_is_the_newest_this_driver_and_gpu_run(void **state)
{
    (void)state;
    wheel_for(13000, 8, 6, "2.14", "cu130"); /* guide 002: not cu124, not cu132 */
    wheel_for(13020, 9, 0, "2.14", "cu132");
    wheel_for(12040, 8, 0, "2.14", "cu126");  /* through minor-version compatibility */
    wheel_for(11040, 7, 5, "2.7", "cu118");   /* driver 470 */
    wheel_for(13000, 6, 1, "2.14", "cu126");  /* Pascal is only in cu126 */
    wheel_for(12080, 12, 0, "2.11", "cu128"); /* RTX 5090 on R570: cu126 lacks sm_120 */
    wheel_for(11040, 12, 0, NULL, NULL);      /* no CUDA 11 wheel knows Blackwell */
    assert_string_equal(compat_torch_newest((const int[]){120}, 1)->tag, "cu132");
    /* Every GPU of the machine must run: Pascal and Blackwell share no current wheel. */
    assert_null(compat_torch_pick(13000, (const int[]){61, 120}, 2));
    assert_null(compat_torch_newest((const int[]){61, 120}, 2));
    assert_string_equal(compat_torch_pick(13000, (const int[]){75, 120}, 2)->tag, "cu130");
}

static void an_installed_torch_is_found_in_the_table(void **state)
{
    const struct torch_wheel *w;

    (void)state;
    w = compat_torch_installed("2.5.1+cu121", 12010);
    assert_non_null(w);
    assert_string_equal(w->tag, "cu121");
    assert_non_null(compat_torch_installed("2.10.0+cu128", 12080));
    assert_null(compat_torch_installed("2.1.0+cu121", 12010));  /* older than the table */
    assert_null(compat_torch_installed("2.14.0+cu121", 12010)); /* no such variant */
    assert_string_equal(compat_torch_installed("2.1.0+cu128", 12080) ? "found" : "none", "none");
    assert_string_equal(compat_framework_gpu_wheel("jax", 13000), "jax[cuda13]");
    assert_string_equal(compat_framework_gpu_wheel("jax", 12040), "jax[cuda12]");
    assert_null(compat_framework_gpu_wheel("jax", 11040));
}

static void device_permissions_name_the_missing_group(void **state)
{
    const unsigned mine[] = {1000, 27};
    const unsigned with_render[] = {1000, 109};
    char why[512];

    (void)state;
    doctor_explain_access(020660, 0, 109, "render", 1000, mine, 2, why, sizeof(why));
    assert_non_null(strstr(why, "not in group 'render' (gid 109)"));
    assert_non_null(strstr(why, "usermod -aG render"));
    doctor_explain_access(020660, 0, 109, "render", 1000, with_render, 2, why, sizeof(why));
    assert_string_equal(why, "");
    doctor_explain_access(020666, 0, 195, "nvidia", 1000, mine, 2, why, sizeof(why));
    assert_string_equal(why, "");
    doctor_explain_access(020600, 0, 0, "root", 1000, mine, 2, why, sizeof(why));
    assert_non_null(strstr(why, "only its owner"));
    doctor_explain_access(020600, 0, 0, "root", 0, NULL, 0, why, sizeof(why));
    assert_string_equal(why, "");
}

static void json_text_is_scrubbed_to_utf8(void **state)
{
    char cut[] = "tail \xe2\x96\x88\xe2\x96 z \xff\xc0\x80 ok \xf0\x9f\x98\x80";

    (void)state;
    /* A stderr tail cut mid-character, stray bytes and an overlong form become '?'; whole
     * characters stay. */
    str_utf8_scrub(cut);
    assert_string_equal(cut, "tail \xe2\x96\x88?? z ??? ok \xf0\x9f\x98\x80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_compare_as_numbers),
        cmocka_unit_test(cuda_versions_parse_and_format),
        cmocka_unit_test(drivers_have_floors_per_cuda_major),
        cmocka_unit_test(a_driver_runs_older_majors_and_its_own),
        cmocka_unit_test(architectures_run_forward_within_a_major_and_through_ptx),
        cmocka_unit_test(the_wheel_is_the_newest_this_driver_and_gpu_run),
        cmocka_unit_test(an_installed_torch_is_found_in_the_table),
        cmocka_unit_test(device_permissions_name_the_missing_group),
        cmocka_unit_test(json_text_is_scrubbed_to_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
