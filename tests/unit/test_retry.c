/* test_retry.c - the retry policy (src/base/retry.c): backoff doubling up to the cap, the
 * number of retries granted, Retry-After replacing the backoff (capped at max_backoff_ms and at
 * a day), jitter staying in [b/2, b] and following its seed, which HTTP statuses are worth a
 * retry, and that a short sleep returns. No clock is asserted on. */
#include "testutil.h"

#include "base/retry.h"

static void test_backoff_doubles_to_cap(void **state)
{
    struct retry_policy p = {5, 500, 3000, false};
    struct retry_state r;
    const double expected[] = {500, 1000, 2000, 3000, 3000};
    double wait = -1;

    (void)state;
    retry_init(&r, &p, 1);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_true(retry_next(&r, -1, &wait));
        assert_true(wait == expected[i]);
    }
    /* five retries granted: the sixth attempt's failure is final */
    wait = -1;
    assert_false(retry_next(&r, -1, &wait));
    assert_true(wait == -1);
}

static void test_no_retries(void **state)
{
    struct retry_policy p = {0, 500, 10000, true};
    struct retry_state r;
    double wait = -1;

    (void)state;
    retry_init(&r, &p, 0);
    assert_false(retry_next(&r, -1, &wait));
    assert_false(retry_next(&r, 3, &wait));
}

static void test_odd_cap_and_first_wait_over_cap(void **state)
{
    struct retry_policy odd = {4, 2, 5, false};
    struct retry_policy over = {2, 800, 300, false};
    struct retry_state r;
    double wait = 0;

    (void)state;
    retry_init(&r, &odd, 7);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 2);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 4);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 5);
    retry_init(&r, &over, 7);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 300);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 300);
}

static void test_retry_after(void **state)
{
    struct retry_policy p = {4, 500, 30000, true};
    struct retry_state r;
    double wait = 0;

    (void)state;
    retry_init(&r, &p, 42);
    assert_true(retry_next(&r, 1, &wait));
    assert_true(wait == 1000); /* replaces the (jittered) backoff exactly */
    assert_true(retry_next(&r, 0, &wait));
    assert_true(wait == 0);
    assert_true(retry_next(&r, 120, &wait));
    assert_true(wait == 30000); /* capped like any wait */
    /* a day at most, then the cap: with a large cap the day shows */
    p.max_backoff_ms = 1L << 40;
    retry_init(&r, &p, 42);
    assert_true(retry_next(&r, (long long)1 << 50, &wait));
    assert_true(wait == (double)RETRY_AFTER_MAX_S * 1000.0);
}

static void test_retry_after_still_doubles_backoff(void **state)
{
    struct retry_policy p = {3, 100, 10000, false};
    struct retry_state r;
    double wait = 0;

    (void)state;
    retry_init(&r, &p, 3);
    assert_true(retry_next(&r, 2, &wait));
    assert_true(wait == 2000);
    assert_true(retry_next(&r, -1, &wait));
    assert_true(wait == 200);
}

static void test_jitter_range_and_seed(void **state)
{
    struct retry_policy p = {30, 1000, 1000000, true};
    struct retry_state a;
    struct retry_state b;
    double b_ms = 1000;
    int differs = 0;

    (void)state;
    retry_init(&a, &p, 12345);
    retry_init(&b, &p, 12345);
    for (int i = 0; i < 30; i++) {
        double wa;
        double wb;
        assert_true(retry_next(&a, -1, &wa));
        assert_true(retry_next(&b, -1, &wb));
        assert_true(wa == wb); /* same seed, same waits */
        assert_true(wa >= b_ms / 2 && wa <= b_ms);
        differs += wa != b_ms / 2;
        b_ms = b_ms * 2 > 1000000 ? 1000000 : b_ms * 2;
    }
    assert_true(differs > 0);
    /* a seed from the clock still gives waits in range */
    retry_init(&a, &p, 0);
    for (int i = 0; i < 5; i++) {
        double w;
        assert_true(retry_next(&a, -1, &w));
        assert_true(w > 0 && w <= 1000.0 * (1 << i));
    }
}

static void test_http_status(void **state)
{
    (void)state;
    assert_true(retry_http_status(429));
    assert_true(retry_http_status(500));
    assert_true(retry_http_status(502));
    assert_true(retry_http_status(503));
    assert_true(retry_http_status(599));
    assert_false(retry_http_status(200));
    assert_false(retry_http_status(400));
    assert_false(retry_http_status(401));
    assert_false(retry_http_status(404));
    assert_false(retry_http_status(0));
}

static void test_sleep(void **state)
{
    (void)state;
    retry_sleep_ms(-5);
    retry_sleep_ms(0);
    retry_sleep_ms(1.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_cap),
        cmocka_unit_test(test_no_retries),
        cmocka_unit_test(test_odd_cap_and_first_wait_over_cap),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_retry_after_still_doubles_backoff),
        cmocka_unit_test(test_jitter_range_and_seed),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
