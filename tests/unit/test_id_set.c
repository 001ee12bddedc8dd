/*
 * test_id_set.c - unit tests of src/base/id_set.c: every id is new once and then known (zero,
 * negative and colliding ids included), the set filled to the room it was given, out of memory
 * on init, and release of a zeroed set.
 */
#include "testutil.h"

#include "base/alloc.h"
#include "base/id_set.h"

static void test_add_once(void **state)
{
    (void)state;
    struct id_set s = {0};
    const size_t n = 1000;
    assert_int_equal(id_set_init(&s, n), FRUGAL_OK);
    /* ids 16 apart share their low bits: the hash must still spread them */
    for (size_t i = 0; i < n; i++)
        assert_true(id_set_add(&s, (int64_t)i * 16 - 500));
    for (size_t i = 0; i < n; i++)
        assert_false(id_set_add(&s, (int64_t)i * 16 - 500));
    assert_true(s.mask + 1 >= 2 * n);
    id_set_release(&s);
    assert_null(s.ids);
    id_set_release(&s); /* twice, and a zeroed set: nothing to free */
    struct id_set z = {0};
    id_set_release(&z);
}

static void test_small_and_extreme(void **state)
{
    (void)state;
    struct id_set s = {0};
    assert_int_equal(id_set_init(&s, 0), FRUGAL_OK);
    assert_true(id_set_add(&s, INT64_MIN));
    assert_true(id_set_add(&s, INT64_MAX));
    assert_true(id_set_add(&s, 0));
    assert_false(id_set_add(&s, 0));
    assert_false(id_set_add(&s, INT64_MIN));
    id_set_release(&s);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    for (long k = 0; k < 2; k++) {
        struct id_set s = {0};
        alloc_fail_after(k);
        frugal_status rc = id_set_init(&s, 10);
        alloc_fail_after(-1);
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_null(s.ids);
        assert_null(s.used);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_once),
        cmocka_unit_test(test_small_and_extreme),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
