/*
 * test_squad.c - unit tests of src/eval/squad.c: the official SQuAD normalization and token F1 on
 * pairs whose values are worked out in comments, word-boundary containment, and the parser on
 * tests/data/squad/tiny.json and on malformed inputs.
 */
#include "testutil.h"

#include <math.h>

#include "base/buf.h"
#include "base/fs.h"
#include "eval/squad.h"

static void assert_norm(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(squad_normalize(in, strlen(in), &b), FRUGAL_OK);
    assert_string_equal(b.ptr, want);
    buf_release(&b);
}

static void test_normalize(void **state)
{
    (void)state;
    assert_norm("The Eiffel Tower!", "eiffel tower");
    assert_norm("  a   cat, an   owl and THE dog. ", "cat owl and dog");
    assert_norm("U.S. $12", "us 12");
    assert_norm("Théâtre", "théâtre");
    assert_norm("Ελλάδα", "ελλάδα"); /* Unicode lowercase */
    assert_norm("the", "");
    assert_norm("", "");
    assert_norm("theatre", "theatre"); /* articles only as whole words */
}

static void test_contains(void **state)
{
    (void)state;
    assert_true(squad_contains("built in 1889 for fair", "1889"));
    assert_true(squad_contains("gustave eiffel", "gustave eiffel"));
    assert_false(squad_contains("built in 18890", "1889"));
    assert_false(squad_contains("a1889", "1889"));
    assert_false(squad_contains("anything", ""));
    assert_true(squad_contains("x 1889 1889", "1889"));
}

static void test_f1(void **state)
{
    (void)state;
    /* identical after normalization */
    assert_true(fabs(squad_f1("The Eiffel Tower", "eiffel tower") - 1.0) < 1e-12);
    /* pred {in, 1889}, gold {1889}: p = 1/2, r = 1, f1 = 2/3 */
    assert_true(fabs(squad_f1("in 1889", "1889") - 2.0 / 3.0) < 1e-12);
    /* pred {330, metres, tall}, gold {330, metres}: p = 2/3, r = 1, f1 = 0.8 */
    assert_true(fabs(squad_f1("330 metres tall", "330 metres") - 0.8) < 1e-12);
    /* repeated words count as often as they occur in both: pred {x, x, y}, gold {x, z}:
     * common 1, p = 1/3, r = 1/2, f1 = 0.4 */
    assert_true(fabs(squad_f1("x x y", "x z") - 0.4) < 1e-12);
    assert_true(squad_f1("nothing shared", "else") == 0.0);
    assert_true(squad_f1("", "gold") == 0.0);
}

static void test_parse_tiny(void **state)
{
    (void)state;
    char path[512];
    struct buf data;
    struct err e;
    struct squad_set s;
    err_clear(&e);
    buf_init(&data, 0);
    snprintf(path, sizeof path, "%s/squad/tiny.json", test_data_dir());
    assert_int_equal(fs_read_file(path, 0, &data, &e), FRUGAL_OK);
    assert_int_equal(squad_parse(data.ptr, data.len, &s, &e), FRUGAL_OK);
    assert_int_equal(s.n_articles, 2);
    assert_string_equal(s.titles[0], "Eiffel Tower"); /* '_' read as ' ' */
    assert_int_equal(s.n_paragraphs, 3);
    assert_int_equal(s.n_questions, 6);
    assert_string_equal(s.questions[1].id, "q2");
    assert_int_equal(s.questions[1].n_answers, 2);
    assert_string_equal(s.questions[1].answers[0], "330 metres");
    assert_int_equal(s.questions[5].paragraph, 2);
    assert_int_equal(s.paragraphs[2].article, 1);
    squad_set_release(&s);
    buf_release(&data);
}

static void expect_corrupt(const char *json)
{
    struct squad_set s;
    struct err e;
    err_clear(&e);
    assert_int_equal(squad_parse(json, strlen(json), &s, &e), FRUGAL_ECORRUPT);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(s.n_questions, 0);
    squad_set_release(&s);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    expect_corrupt("not json");
    expect_corrupt("[]");
    expect_corrupt("{\"data\": 3}");
    expect_corrupt("{\"data\": [1]}");
    expect_corrupt("{\"data\": [{\"paragraphs\": [{\"context\": 1}]}]}");
    expect_corrupt("{\"data\": [{\"paragraphs\": [{\"context\": \"c\", \"qas\": [{\"id\": \"1\"}]}]}]}");
    expect_corrupt("{\"data\": [{\"paragraphs\": [{\"context\": \"c\", \"qas\": [{\"id\": \"1\", "
                   "\"question\": \"q\", \"answers\": [{\"text\": 5}]}]}]}]}");
    /* a question without answers is kept */
    struct squad_set s;
    struct err e;
    const char *ok = "{\"data\": [{\"paragraphs\": [{\"context\": \"c\", \"qas\": [{\"id\": \"1\", "
                     "\"question\": \"q\"}]}]}]}";
    err_clear(&e);
    assert_int_equal(squad_parse(ok, strlen(ok), &s, &e), FRUGAL_OK);
    assert_int_equal(s.n_questions, 1);
    assert_int_equal(s.questions[0].n_answers, 0);
    squad_set_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),     cmocka_unit_test(test_contains),
        cmocka_unit_test(test_f1),            cmocka_unit_test(test_parse_tiny),
        cmocka_unit_test(test_parse_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
