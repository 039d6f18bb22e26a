/* test_health.c: GPU health from XIDs, ECC, row remapping, lost GPUs and slowdown bursts, with
 * a recovery hold; times are given, so the hold is tested without waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "config/config.h"
#include "monitor/health.h"

#define T0   1000000 /* ms */
#define S(x) ((int64_t)(x)*1000)

struct fixture {
    struct config cfg;
    struct health *h;
    struct device_health out[2];
    bool changed[2];
};

static int setup(void **state)
{
    static struct fixture f;

    config_defaults(&f.cfg);
    f.cfg.health.recovery_hold = 300;
    f.h = health_new(&f.cfg.health, 2, T0);
    *state = &f;
    return f.h ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    health_free(f->h);
    return 0;
}

static enum health_state state_at(struct fixture *f, size_t dev, int64_t t)
{
    health_evaluate(f->h, t, f->out, 2, f->changed);
    return f->out[dev].state;
}

static void unhealthy_xid_holds_then_recovers(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(state_at(f, 0, T0), HEALTH_HEALTHY);
    health_xid(f->h, 0, 79, T0 + S(1));
    assert_int_equal(state_at(f, 0, T0 + S(1)), HEALTH_UNHEALTHY);
    assert_true(f->changed[0]);
    assert_false(f->changed[1]);
    assert_int_equal(f->out[1].state, HEALTH_HEALTHY);
    assert_true(f->out[0].has_xid);
    assert_int_equal(f->out[0].last_xid, 79);
    assert_int_equal(f->out[0].xid_events, 1);
    assert_int_equal(f->out[0].nconditions, 1);
    assert_string_equal(f->out[0].conditions[0].key, "xid:79");
    assert_non_null(strstr(f->out[0].conditions[0].what, "fallen off the bus"));
    /* Still held just before the hold ends, clear just after. */
    assert_int_equal(state_at(f, 0, T0 + S(1) + S(300)), HEALTH_UNHEALTHY);
    assert_int_equal(state_at(f, 0, T0 + S(1) + S(300) + 1), HEALTH_HEALTHY);
    assert_true(f->changed[0]);
    assert_int_equal(f->out[0].since_ms, T0 + S(301) + 1);
    assert_int_equal(f->out[0].nconditions, 0);
    assert_int_equal(f->out[0].last_xid, 79); /* history stays */
}

static void a_repeat_restarts_the_hold(void **state)
{
    struct fixture *f = *state;

    health_xid(f->h, 1, 48, T0);
    health_xid(f->h, 1, 48, T0 + S(200));
    assert_int_equal(state_at(f, 1, T0 + S(400)), HEALTH_UNHEALTHY);
    assert_int_equal(f->out[1].xid_events, 2);
    assert_int_equal(f->out[1].conditions[0].first_ms, T0);
    assert_int_equal(f->out[1].conditions[0].last_ms, T0 + S(200));
    assert_int_equal(state_at(f, 1, T0 + S(501)), HEALTH_HEALTHY);
}

static void degraded_and_ignored_xids(void **state)
{
    struct fixture *f = *state;

    health_xid(f->h, 0, 13, T0); /* an application's fault */
    assert_int_equal(state_at(f, 0, T0), HEALTH_HEALTHY);
    assert_false(f->out[0].has_xid);
    assert_int_equal(f->out[0].xid_events, 0);
    health_xid(f->h, 0, 94, T0);
    assert_int_equal(state_at(f, 0, T0), HEALTH_DEGRADED);
    health_xid(f->h, 0, 62, T0); /* in no list: counted, raises nothing */
    assert_int_equal(state_at(f, 0, T0), HEALTH_DEGRADED);
    assert_int_equal(f->out[0].xid_events, 2);
    health_xid(f->h, 0, 79, T0);
    assert_int_equal(state_at(f, 0, T0), HEALTH_UNHEALTHY); /* the worst wins */
    assert_int_equal(f->out[0].nconditions, 2);
}

static void reset_clears_at_once(void **state)
{
    struct fixture *f = *state;

    health_xid(f->h, 0, 79, T0);
    assert_int_equal(state_at(f, 0, T0), HEALTH_UNHEALTHY);
    assert_int_equal(health_reset(f->h, 0, T0 + 5), 0);
    assert_int_equal(state_at(f, 0, T0 + 6), HEALTH_HEALTHY);
    assert_int_equal(f->out[0].since_ms, T0 + 5);
    assert_int_equal(health_reset(f->h, 2, T0), GPUCTL_ERANGE);
}

static void samples_show_ecc_remapping_and_loss(void **state)
{
    struct fixture *f = *state;
    struct gpuctl_device d = {.state = GPUCTL_STATE_OK};

    d.valid = 1ull << GPUCTL_M_ECC | 1ull << GPUCTL_M_REMAP;
    health_observe(f->h, 0, &d, T0);
    assert_int_equal(state_at(f, 0, T0), HEALTH_HEALTHY);
    d.ecc_uncorrected = 2; /* double-bit errors: they stay until the GPU is reset */
    health_observe(f->h, 0, &d, T0 + S(1));
    assert_int_equal(state_at(f, 0, T0 + S(1)), HEALTH_UNHEALTHY);
    assert_string_equal(f->out[0].conditions[0].key, "ecc");
    health_observe(f->h, 0, &d, T0 + S(400));
    assert_int_equal(state_at(f, 0, T0 + S(400)), HEALTH_UNHEALTHY);
    /* An admin's reset accepts the count; only new errors count again. */
    assert_int_equal(health_reset(f->h, 0, T0 + S(400)), 0);
    health_observe(f->h, 0, &d, T0 + S(401));
    assert_int_equal(state_at(f, 0, T0 + S(401)), HEALTH_HEALTHY);
    d.ecc_uncorrected = 3;
    health_observe(f->h, 0, &d, T0 + S(402));
    assert_int_equal(state_at(f, 0, T0 + S(402)), HEALTH_UNHEALTHY);
    /* A GPU reset (or driver reload) clears the volatile count: it recovers after the hold. */
    d.ecc_uncorrected = 0;
    health_observe(f->h, 0, &d, T0 + S(403));
    assert_int_equal(state_at(f, 0, T0 + S(703)), HEALTH_HEALTHY);
    d.remap_pending = true;
    health_observe(f->h, 0, &d, T0 + S(704));
    assert_int_equal(state_at(f, 0, T0 + S(704)), HEALTH_DEGRADED);
    d.remap_failed = true;
    health_observe(f->h, 0, &d, T0 + S(705));
    assert_int_equal(state_at(f, 0, T0 + S(705)), HEALTH_UNHEALTHY);
    /* A lost GPU stays unhealthy while it is lost. */
    d = (struct gpuctl_device){.state = GPUCTL_STATE_LOST};
    health_observe(f->h, 1, &d, T0);
    health_observe(f->h, 1, &d, T0 + S(1000));
    assert_int_equal(state_at(f, 1, T0 + S(1000)), HEALTH_UNHEALTHY);
    assert_string_equal(f->out[1].conditions[0].key, "lost");
    /* So is one the driver cannot use at all. */
    d = (struct gpuctl_device){.state = GPUCTL_STATE_ERROR, .state_message = "Unknown Error"};
    health_observe(f->h, 0, &d, T0 + S(2000));
    assert_int_equal(state_at(f, 0, T0 + S(2000)), HEALTH_UNHEALTHY);
    assert_non_null(strstr(f->out[0].conditions[f->out[0].nconditions - 1].what, "Unknown Error"));
}

static void ecc_present_at_start_counts(void **state)
{
    struct fixture *f = *state;
    struct gpuctl_device d = {.state = GPUCTL_STATE_OK, .ecc_uncorrected = 1};

    d.valid = 1ull << GPUCTL_M_ECC;
    health_observe(f->h, 0, &d, T0);
    assert_int_equal(state_at(f, 0, T0), HEALTH_UNHEALTHY);
    health_ecc_event(f->h, 1, T0);
    assert_int_equal(state_at(f, 1, T0), HEALTH_UNHEALTHY);
}

static void slowdown_bursts_degrade(void **state)
{
    struct fixture *f = *state;
    struct gpuctl_device d = {.state = GPUCTL_STATE_OK,
                              .throttle_reasons = GPUCTL_THROTTLE_HW_SLOWDOWN};

    d.valid = 1ull << GPUCTL_M_THROTTLE;
    /* 6 in 600 s make a burst (the default); 5 spread out do not. */
    for (int i = 0; i < 5; i++)
        health_observe(f->h, 0, &d, T0 + S(i * 200));
    assert_int_equal(state_at(f, 0, T0 + S(800)), HEALTH_HEALTHY);
    for (int i = 0; i < 6; i++)
        health_observe(f->h, 1, &d, T0 + S(i));
    assert_int_equal(state_at(f, 1, T0 + S(5)), HEALTH_DEGRADED);
    assert_string_equal(f->out[1].conditions[0].key, "slowdown");
    /* A software power cap is not a hardware slowdown. */
    d.throttle_reasons = GPUCTL_THROTTLE_SW_POWER_CAP;
    for (int i = 0; i < 10; i++)
        health_observe(f->h, 0, &d, T0 + S(900 + i));
    assert_int_equal(state_at(f, 0, T0 + S(910)), HEALTH_HEALTHY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unhealthy_xid_holds_then_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_repeat_restarts_the_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(degraded_and_ignored_xids, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_clears_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(samples_show_ecc_remapping_and_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(ecc_present_at_start_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(slowdown_bursts_degrade, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
