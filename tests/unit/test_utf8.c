/* test_utf8.c - decoding, validation and maximal-subpart repair (src/text/utf8.c). */
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "text/utf8.h"

/* Repairs in[0..len) and checks the result and the replacement count. */
static void check_repair(const char *in, size_t len, const char *want, size_t want_replaced)
{
    struct buf out;
    buf_init(&out, 0);
    size_t n_replaced = 999;
    assert_int_equal(utf8_repair(in, len, &out, &n_replaced), FRUGAL_OK);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.ptr, want, out.len);
    assert_int_equal(n_replaced, want_replaced);
    assert_true(utf8_valid(out.ptr, out.len));
    buf_release(&out);
}

#define FFFD "\xEF\xBF\xBD"

static void test_decode_valid(void **state)
{
    (void)state;
    size_t adv;
    assert_int_equal(utf8_decode("A", 1, &adv), 'A');
    assert_int_equal(adv, 1);
    assert_int_equal(utf8_decode("\xC3\xA9", 2, &adv), 0xE9);
    assert_int_equal(adv, 2);
    assert_int_equal(utf8_decode("\xE2\x82\xAC", 3, &adv), 0x20AC);
    assert_int_equal(adv, 3);
    assert_int_equal(utf8_decode("\xF0\x9F\x98\x80", 4, &adv), 0x1F600);
    assert_int_equal(adv, 4);
    assert_int_equal(utf8_decode("\xF4\x8F\xBF\xBF", 4, &adv), 0x10FFFF);
    assert_int_equal(adv, 4);
}

static void test_decode_invalid_subparts(void **state)
{
    (void)state;
    size_t adv;
    /* overlong "/" (C0 AF): C0 can never start a sequence */
    assert_int_equal(utf8_decode("\xC0\xAF", 2, &adv), -1);
    assert_int_equal(adv, 1);
    /* overlong 3-byte: E0 80 is already invalid at the second byte */
    assert_int_equal(utf8_decode("\xE0\x80\xAF", 3, &adv), -1);
    assert_int_equal(adv, 1);
    /* surrogate D800 (ED A0 80) */
    assert_int_equal(utf8_decode("\xED\xA0\x80", 3, &adv), -1);
    assert_int_equal(adv, 1);
    /* past U+10FFFF (F4 90 80 80) */
    assert_int_equal(utf8_decode("\xF4\x90\x80\x80", 4, &adv), -1);
    assert_int_equal(adv, 1);
    /* truncated 4-byte sequence: F0 9F 98 is one maximal subpart */
    assert_int_equal(utf8_decode("\xF0\x9F\x98", 3, &adv), -1);
    assert_int_equal(adv, 3);
    /* broken by an ASCII byte */
    assert_int_equal(utf8_decode("\xE2\x82" "A", 3, &adv), -1);
    assert_int_equal(adv, 2);
    /* stray continuation, F5 */
    assert_int_equal(utf8_decode("\x80", 1, &adv), -1);
    assert_int_equal(adv, 1);
    assert_int_equal(utf8_decode("\xF5\x80\x80\x80", 4, &adv), -1);
    assert_int_equal(adv, 1);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    const int32_t cps[] = {0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0x10000,
                           0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char enc[4];
        size_t n = utf8_encode(cps[i], enc);
        size_t adv;
        assert_int_equal(utf8_decode(enc, n, &adv), cps[i]);
        assert_int_equal(adv, n);
    }
}

static void test_valid_and_count(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("Caf\xC3\xA9 \xE6\x95\xB0", 9));
    assert_false(utf8_valid("Caf\xC3", 4));
    assert_false(utf8_valid("\xED\xBF\xBF", 3));
    assert_int_equal(utf8_count("Caf\xC3\xA9", 5), 4);
    assert_int_equal(utf8_count("\xF0\x9F\x98\x80x", 5), 2);
    /* invalid subparts count one each: C0, AF, then F0 9F 98 */
    assert_int_equal(utf8_count("\xC0\xAF\xF0\x9F\x98", 5), 3);
}

static void test_repair_maximal_subparts(void **state)
{
    (void)state;
    check_repair("plain", 5, "plain", 0);
    check_repair("", 0, "", 0);
    /* The Unicode standard's example (section 3.9, table 3-8):
     * 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d */
    check_repair("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 13,
                 "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", 6);
    /* overlong 2-byte "/" is two replacements (C0 and AF are each invalid) */
    check_repair("x\xC0\xAFy", 4, "x" FFFD FFFD "y", 2);
    /* surrogate U+D800 encoded: ED, A0, 80 are each invalid */
    check_repair("\xED\xA0\x80", 3, FFFD FFFD FFFD, 3);
    /* past U+10FFFF */
    check_repair("\xF4\x90\x80\x80!", 5, FFFD FFFD FFFD FFFD "!", 4);
    /* truncated at the end: one maximal subpart */
    check_repair("ok\xE6\x95", 4, "ok" FFFD, 1);
    check_repair("\xF0\x9F\x98", 3, FFFD, 1);
    /* valid multibyte kept as is */
    check_repair("\xE6\x95\xB0\xE6\x8D\xAE", 6, "\xE6\x95\xB0\xE6\x8D\xAE", 0);
}

static void test_repair_appends(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(buf_puts(&out, "pre:"), FRUGAL_OK);
    assert_int_equal(utf8_repair("\xFFz", 2, &out, NULL), FRUGAL_OK);
    assert_string_equal(out.ptr, "pre:" FFFD "z");
    buf_release(&out);
}

static void test_repair_too_big_leaves_buffer(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 8);
    assert_int_equal(buf_puts(&out, "abc"), FRUGAL_OK);
    assert_int_equal(utf8_repair("\xFF\xFF\xFF", 3, &out, NULL), FRUGAL_ETOOBIG);
    assert_int_equal(out.len, 3);
    assert_string_equal(out.ptr, "abc");
    buf_release(&out);
}

static void test_repair_enomem(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    alloc_fail_after(0);
    frugal_status rc = utf8_repair("a\xFF", 2, &out, NULL);
    alloc_fail_after(-1);
    assert_int_equal(rc, FRUGAL_ENOMEM);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_valid),
        cmocka_unit_test(test_decode_invalid_subparts),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_valid_and_count),
        cmocka_unit_test(test_repair_maximal_subparts),
        cmocka_unit_test(test_repair_appends),
        cmocka_unit_test(test_repair_too_big_leaves_buffer),
        cmocka_unit_test(test_repair_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
