/* test_sentences.c - sentence boundaries (src/text/sentences.c). */
#include "testutil.h"

#include "base/alloc.h"
#include "text/sentences.h"

/* Splits text and checks the sentences against want, separated by '|'. */
static void expect(const char *text, const char *want)
{
    struct span *spans = NULL;
    size_t n = 0;
    size_t len = strlen(text);
    assert_int_equal(sentences_split(text, len, &spans, &n), FRUGAL_OK);
    char got[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(spans[i].start < spans[i].end);
        assert_true(spans[i].end <= len);
        if (i > 0)
            assert_true(spans[i].start >= spans[i - 1].end);
        size_t k = spans[i].end - spans[i].start;
        assert_true(used + k + 2 < sizeof got);
        if (i > 0)
            got[used++] = '|';
        memcpy(got + used, text + spans[i].start, k);
        used += k;
        got[used] = '\0';
    }
    assert_string_equal(got, want);
    if (n == 0)
        assert_null(spans);
    frugal_free(spans);
}

static void test_basic(void **state)
{
    (void)state;
    expect("One. Two! Three? Four", "One.|Two!|Three?|Four");
    expect("  Leading and trailing space.  \n ", "Leading and trailing space.");
    expect("Really?! Yes.", "Really?!|Yes.");
    expect("lower. case does not split", "lower. case does not split");
    expect("Numbers. 42 is an answer.", "Numbers.|42 is an answer.");
}

static void test_abbreviations(void **state)
{
    (void)state;
    expect("Use a tool, e.g. Python. It works.", "Use a tool, e.g. Python.|It works.");
    expect("Some, i.e., most. Fine.", "Some, i.e., most.|Fine.");
    expect("We met Dr. Smith and Mr. Jones. They left.",
           "We met Dr. Smith and Mr. Jones.|They left.");
    expect("See Fig. 3 and Eq. 2 in the text. Done.", "See Fig. 3 and Eq. 2 in the text.|Done.");
    expect("(Fig. 4) shows it. Next.", "(Fig. 4) shows it.|Next.");
    expect("Item No. 5 is here. He said no. Then he left.",
           "Item No. 5 is here.|He said no.|Then he left.");
    expect("Apples, pears, etc. They are fruit.", "Apples, pears, etc.|They are fruit.");
    expect("It was Smith et al. 2020 who wrote it.", "It was Smith et al. 2020 who wrote it.");
    expect("Born in the U.S. Army base.", "Born in the U.S. Army base.");
}

static void test_decimals_and_initials(void **state)
{
    (void)state;
    expect("Pi is 3.14 roughly. Yes.", "Pi is 3.14 roughly.|Yes.");
    expect("It cost $1,000.50 today. Ok.", "It cost $1,000.50 today.|Ok.");
    expect("J. R. R. Tolkien wrote it. He was British.",
           "J. R. R. Tolkien wrote it.|He was British.");
    expect("Wait... what happened? Nothing.", "Wait... what happened?|Nothing.");
    expect("See example.com for more. Thanks.", "See example.com for more.|Thanks.");
}

static void test_quotes_and_brackets(void **state)
{
    (void)state;
    expect("He said \"Stop.\" Then he left.", "He said \"Stop.\"|Then he left.");
    expect("\"Stop!\" he said. \"Why?\" she asked.", "\"Stop!\" he said.|\"Why?\" she asked.");
    expect("It ended (finally.) Then more.", "It ended (finally.)|Then more.");
    expect("First. \"Quoted start.\" Last.", "First.|\"Quoted start.\"|Last.");
    expect("He wrote \xE2\x80\x9CGo.\xE2\x80\x9D Then slept.",
           "He wrote \xE2\x80\x9CGo.\xE2\x80\x9D|Then slept.");
}

static void test_cjk(void **state)
{
    (void)state;
    expect("今天天气很好。我们去公园吧！你去吗？好",
           "今天天气很好。|我们去公园吧！|你去吗？|好");
    expect("他说：「好。」然后走了。", "他说：「好。」|然后走了。");
}

static void test_blank_lines(void **state)
{
    (void)state;
    expect("A heading\n\nThe body text here", "A heading|The body text here");
    expect("no stop\n  \nnext para", "no stop|next para");
    expect("one line\ncontinues here. End", "one line\ncontinues here.|End");
}

static void test_other_scripts(void **state)
{
    (void)state;
    expect("Это тест. Второе предложение.", "Это тест.|Второе предложение.");
    expect("Café. Élan vital.", "Café.|Élan vital.");
}

static void test_empty_and_invalid(void **state)
{
    (void)state;
    expect("", "");
    expect(" \n\t\n ", "");
    expect(".", ".");
    expect("a\xFF. B\xC0", "a\xFF.|B\xC0");
}

static void test_alloc_failure(void **state)
{
    (void)state;
    const char *text = "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten. Eleven. "
                       "Twelve. Thirteen. Fourteen. Fifteen. Sixteen. Seventeen. Eighteen.";
    for (long n = 0;; n++) {
        struct span *spans = (struct span *)&n;
        size_t count = 99;
        alloc_fail_after(n);
        frugal_status rc = sentences_split(text, strlen(text), &spans, &count);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_int_equal(count, 18);
            frugal_free(spans);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_null(spans);
        assert_int_equal(count, 0);
        assert_true(n < 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_abbreviations),
        cmocka_unit_test(test_decimals_and_initials),
        cmocka_unit_test(test_quotes_and_brackets),
        cmocka_unit_test(test_cjk),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_other_scripts),
        cmocka_unit_test(test_empty_and_invalid),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
