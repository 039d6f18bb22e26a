/* test_proc.c: /proc/PID/stat read as proc(5) writes it: state, flags, start time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "device/proc.h"

static void a_user_process(void **state)
{
    struct proc_stat st;

    (void)state;
    assert_true(proc_stat_parse("5001 (python) S 1 5001 5001 0 -1 4194560 91234 0 12 0 5123 611 0 "
                                "0 20 0 17 0 981234 8123456789 612345 18446744073709551615 1 1 0 "
                                "0 0 0 0 16781312 17922 0 0 0 17 3 0 0 0 0 0\n",
                                &st));
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.flags, 4194560);
    assert_int_equal(st.start, 981234);
    assert_false(st.flags & PROC_PF_KTHREAD);
}

static void a_command_with_spaces_and_parentheses(void **state)
{
    struct proc_stat st;

    (void)state;
    assert_true(proc_stat_parse("77 (a (b) c) R 1 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 42 "
                                "0 0\n",
                                &st));
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.start, 42);
}

static void a_kernel_thread(void **state)
{
    struct proc_stat st;

    (void)state;
    assert_true(proc_stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 4 0 0 "
                                "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 17 0 0 0 0 "
                                "0 0\n",
                                &st));
    assert_true(st.flags & PROC_PF_KTHREAD);
}

static void not_a_stat(void **state)
{
    struct proc_stat st;

    (void)state;
    assert_false(proc_stat_parse("", &st));
    assert_false(proc_stat_parse("12 (cut", &st));
    assert_false(proc_stat_parse("12 (short) S 1 2 3\n", &st));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_user_process),
        cmocka_unit_test(a_command_with_spaces_and_parentheses),
        cmocka_unit_test(a_kernel_thread),
        cmocka_unit_test(not_a_stat),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
