/* test_normalize.c - text_normalize (src/text/normalize.c). */
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "text/normalize.h"
#include "text/utf8.h"

static void check_norm(const char *in, size_t len, const char *want)
{
    struct buf out;
    buf_init(&out, 0);
    struct err e;
    err_clear(&e);
    assert_int_equal(text_normalize(in, len, &out, &e), FRUGAL_OK);
    assert_non_null(out.ptr);
    assert_string_equal(out.ptr, want);
    assert_int_equal(out.len, strlen(want));
    buf_release(&out);
}

#define CHECK(in, want) check_norm(in, sizeof(in) - 1, want)

static void test_nfc(void **state)
{
    (void)state;
    CHECK("Cafe\xCC\x81", "Caf\xC3\xA9");               /* e + combining acute -> é */
    CHECK("Caf\xC3\xA9", "Caf\xC3\xA9");                /* already NFC */
    CHECK("\xE2\x84\xAB", "\xC3\x85");                  /* ANGSTROM SIGN -> Å */
    CHECK("a\xCC\xA3\xCC\x87", "\xE1\xBA\xA1\xCC\x87"); /* reordered and composed: ạ̇ */
    CHECK("\xEA\xB0\x80", "\xEA\xB0\x80");              /* Hangul syllable stays */
    CHECK("\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80");  /* Jamo compose to 가 */
}

static void test_invalid_repaired(void **state)
{
    (void)state;
    CHECK("a\xFF" "b", "a\xEF\xBF\xBD" "b");
    CHECK("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK("x\xF0\x9F\x98", "x\xEF\xBF\xBD");
}

static void test_line_breaks(void **state)
{
    (void)state;
    CHECK("a\r\nb\rc\nd", "a\nb\nc\nd");
    CHECK("a\r\n\r\n\r\n\r\nb", "a\n\nb");
    CHECK("a\n\n\n\n\nb", "a\n\nb");
    CHECK("a\n  \n \t \nb", "a\n\nb");
    CHECK("page1\fpage2", "page1\npage2");
    CHECK("a\xE2\x80\xA8" "b\xE2\x80\xA9" "c", "a\nb\n\nc"); /* LS, PS */
}

static void test_controls_and_zero_width_dropped(void **state)
{
    (void)state;
    CHECK("a\x01\x02" "b\x7F" "c", "abc");
    CHECK("zero\xE2\x80\x8Bwidth", "zerowidth");      /* ZWSP */
    CHECK("\xEF\xBB\xBFhello", "hello");              /* BOM */
    CHECK("soft\xC2\xADhyphen", "softhyphen");        /* SHY */
    CHECK("j\xE2\x80\x8Doin\xE2\x81\xA0t", "joint");  /* ZWJ, WORD JOINER */
    CHECK("a\xC2\x80" "b", "ab");                      /* C1 control */
    CHECK("a\0b", "ab");
    /* dropping comes before NFC: what a dropped character separated composes */
    CHECK("e\0\xCC\x81", "\xC3\xA9");
    CHECK("e\xE2\x80\x8B\xCC\x81", "\xC3\xA9");
}

static void test_spaces(void **state)
{
    (void)state;
    CHECK("a  b\t\tc \t d", "a b c d");
    CHECK("a\xC2\xA0" "b", "a b");                    /* NBSP */
    CHECK("a\xE2\x80\x83\xE2\x80\x89" "b", "a b");    /* EM SPACE, THIN SPACE */
    CHECK("a\xE3\x80\x80" "b", "a b");                /* IDEOGRAPHIC SPACE */
    CHECK("line  \nnext\t\n", "line\nnext");
    CHECK("  \n\n  lead and trail \n\n ", "lead and trail");
    CHECK("a \xE2\x80\x8B b", "a b");                 /* a dropped char does not split runs */
}

static void test_empty(void **state)
{
    (void)state;
    CHECK("", "");
    CHECK(" \n\t\r\n \xE2\x80\x8B", "");
}

static void test_appends(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(buf_puts(&out, "x:"), FRUGAL_OK);
    assert_int_equal(text_normalize("  y  ", 5, &out, NULL), FRUGAL_OK);
    assert_string_equal(out.ptr, "x:y");
    buf_release(&out);
}

/* Long input cut into many pieces: results must not depend on where the cuts fall. */
static void test_long_input_pieces(void **state)
{
    (void)state;
    struct buf in;
    struct buf want;
    buf_init(&in, 0);
    buf_init(&want, 0);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(buf_puts(&in, "Cafe\xCC\x81\r\n  x\xE2\x80\x8B"), FRUGAL_OK);
        assert_int_equal(buf_puts(&want, "Caf\xC3\xA9\n x"), FRUGAL_OK);
    }
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(text_normalize(in.ptr, in.len, &out, NULL), FRUGAL_OK);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.ptr, want.ptr, want.len);
    assert_true(utf8_valid(out.ptr, out.len));
    buf_release(&in);
    buf_release(&want);
    buf_release(&out);
}

static void test_too_big(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 4);
    struct err e;
    err_clear(&e);
    assert_int_equal(text_normalize("hello world", 11, &out, &e), FRUGAL_ETOOBIG);
    assert_int_equal(e.code, FRUGAL_ETOOBIG);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    const char *in = "Cafe\xCC\x81 \xFF und  mehr";
    for (long n = 0;; n++) {
        struct buf out;
        buf_init(&out, 0);
        alloc_fail_after(n);
        frugal_status rc = text_normalize(in, strlen(in), &out, NULL);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_string_equal(out.ptr, "Caf\xC3\xA9 \xEF\xBF\xBD und mehr");
            buf_release(&out);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_int_equal(out.len, 0);
        buf_release(&out);
        assert_true(n < 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_invalid_repaired),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_controls_and_zero_width_dropped),
        cmocka_unit_test(test_spaces),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_long_input_pieces),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
