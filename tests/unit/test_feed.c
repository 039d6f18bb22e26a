/* test_feed.c: the event feed: every subscriber gets every message, SSE-framed; a slow one loses
 * its oldest and is told; closing wakes everyone. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/feed.h"

static void every_subscriber_gets_every_message(void **state)
{
    struct feed *f = feed_new();
    struct feed_sub *a = feed_subscribe(f), *b = feed_subscribe(f);
    char buf[256];

    (void)state;
    assert_int_equal(feed_subscribers(f), 2);
    assert_false(feed_pending(a));
    feed_publish(f, "sample", "{\"index\":0}");
    assert_true(feed_pending(a));
    assert_int_equal(feed_next(a, 0, buf, sizeof(buf)), 33);
    assert_string_equal(buf, "event: sample\ndata: {\"index\":0}\n\n");
    assert_true(feed_next(b, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "event: sample\ndata: {\"index\":0}\n\n");
    assert_int_equal(feed_next(a, 10, buf, sizeof(buf)), 0); /* nothing more: timed out */
    feed_unsubscribe(b);
    assert_int_equal(feed_subscribers(f), 1);
    feed_close(f);
    assert_int_equal(feed_next(a, 1000, buf, sizeof(buf)), -1);
    feed_unsubscribe(a); /* the last one frees the feed */
}

static void a_slow_subscriber_loses_the_oldest(void **state)
{
    struct feed *f = feed_new();
    struct feed_sub *s = feed_subscribe(f);
    char buf[256], data[16];

    (void)state;
    for (int i = 0; i < 70; i++) {
        snprintf(data, sizeof(data), "%d", i);
        feed_publish(f, "sample", data);
    }
    assert_true(feed_next(s, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, ": 6 events were dropped for this slow client\n\n");
    assert_true(feed_next(s, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "event: sample\ndata: 6\n\n");
    feed_unsubscribe(s);
    feed_close(f);
}

static void *publish_later(void *arg)
{
    struct timespec ts = {0, 50 * 1000000L};

    nanosleep(&ts, NULL);
    feed_publish(arg, "health", "{}");
    return NULL;
}

static void waiters_wake_on_publish_and_poke(void **state)
{
    struct feed *f = feed_new();
    struct feed_sub *s = feed_subscribe(f);
    uint64_t seen = 0;
    pthread_t t;
    char buf[64];

    (void)state;
    pthread_create(&t, NULL, publish_later, f);
    assert_int_equal(feed_next(s, 5000, buf, sizeof(buf)),
                     (int)strlen("event: health\ndata: {}\n\n"));
    pthread_join(t, NULL);
    assert_true(feed_wait(f, &seen, 0));
    assert_int_equal(seen, 1);
    feed_poke(f);
    assert_true(feed_wait(f, &seen, 5000));
    assert_int_equal(seen, 2);
    feed_close(f);
    assert_false(feed_wait(f, &seen, 5000));
    feed_unsubscribe(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_subscriber_gets_every_message),
        cmocka_unit_test(a_slow_subscriber_loses_the_oldest),
        cmocka_unit_test(waiters_wake_on_publish_and_poke),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
