/* test_fdset.c: a pass asks only about new fds and DRM fds; a full pass asks about all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "device/fdset.h"

/* A fake kernel: fds 5 and up are DRM fds; it records what it was asked. */
struct asked {
    int fd[64];
    size_t n;
    int drm_from;
};

static int classify(void *ctx, int fd)
{
    struct asked *a = ctx;

    a->fd[a->n++] = fd;
    return fd >= a->drm_from;
}

/* Visits process pid, started at 1000 + pid unless started_at() said otherwise. */
static uint64_t start_for_next_visit;

static void started_at(uint64_t start)
{
    start_for_next_visit = start;
}

static void visit(struct fdset *m, int pid, const int *fds, size_t n, struct asked *a)
{
    uint64_t start = start_for_next_visit ? start_for_next_visit : 1000u + (unsigned)pid;
    int copy[64];

    start_for_next_visit = 0;
    memcpy(copy, fds, n * sizeof(*fds));
    assert_int_equal(fdset_visit(m, pid, start, copy, n, classify, a), 0);
}

#define ASKED(a, ...)                                                                              \
    do {                                                                                           \
        const int want_[] = {__VA_ARGS__};                                                         \
        assert_int_equal((a).n, sizeof(want_) / sizeof(want_[0]));                                 \
        for (size_t i_ = 0; i_ < (a).n; i_++)                                                      \
            assert_int_equal((a).fd[i_], want_[i_]);                                               \
        (a).n = 0;                                                                                 \
    } while (0)

static void asks_about_new_and_drm_fds_only(void **state)
{
    struct fdset *m = fdset_new();
    struct asked a = {.drm_from = 5};
    const int first[] = {2, 0, 1, 5}, second[] = {0, 1, 2, 5, 7};

    (void)state;
    fdset_begin(m, true);
    visit(m, 100, first, 4, &a);
    fdset_end(m);
    ASKED(a, 0, 1, 2, 5); /* a full pass, in fd order */

    fdset_begin(m, false);
    visit(m, 100, second, 5, &a);
    fdset_end(m);
    ASKED(a, 5, 7); /* the DRM fd again, and the new one */

    fdset_begin(m, true);
    visit(m, 100, second, 5, &a);
    fdset_end(m);
    ASKED(a, 0, 1, 2, 5, 7);
    fdset_free(m);
}

static void forgets_processes_not_seen(void **state)
{
    struct fdset *m = fdset_new();
    struct asked a = {.drm_from = 5};
    const int fds[] = {0, 1};

    (void)state;
    fdset_begin(m, true);
    visit(m, 100, fds, 2, &a);
    visit(m, 200, fds, 2, &a);
    fdset_end(m);
    a.n = 0;
    fdset_begin(m, false); /* 100 is gone */
    visit(m, 200, fds, 2, &a);
    fdset_end(m);
    assert_int_equal(a.n, 0); /* nothing new */

    fdset_begin(m, false); /* a new process under the old PID is asked about in full */
    visit(m, 100, fds, 2, &a);
    fdset_end(m);
    ASKED(a, 0, 1);
    fdset_free(m);
}

/* A PID reused by a new process (another start time) between two passes: the new process's
 * fds are all asked about, though the old one had the same numbers and none was a DRM fd. */
static void a_reused_pid_is_asked_about_in_full(void **state)
{
    struct fdset *m = fdset_new();
    struct asked a = {.drm_from = 5};
    const int fds[] = {0, 1, 2, 3};

    (void)state;
    fdset_begin(m, true);
    visit(m, 100, fds, 4, &a);
    fdset_end(m);
    a.n = 0;
    fdset_begin(m, false); /* the same process: nothing to ask */
    visit(m, 100, fds, 4, &a);
    fdset_end(m);
    assert_int_equal(a.n, 0);
    fdset_begin(m, false);
    started_at(5000);
    visit(m, 100, fds, 4, &a);
    fdset_end(m);
    ASKED(a, 0, 1, 2, 3);
    fdset_free(m);
}

static int refuse(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return -2;
}

static void an_error_stops_the_visit(void **state)
{
    struct fdset *m = fdset_new();
    int fds[] = {3, 4};

    (void)state;
    fdset_begin(m, true);
    assert_int_equal(fdset_visit(m, 1, 1001, fds, 2, refuse, NULL), -2);
    fdset_end(m);
    fdset_free(m);
    fdset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asks_about_new_and_drm_fds_only),
        cmocka_unit_test(forgets_processes_not_seen),
        cmocka_unit_test(a_reused_pid_is_asked_about_in_full),
        cmocka_unit_test(an_error_stops_the_visit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
