/* test_analyzer.c - BM25 term analysis (src/text/analyzer.c). */
#include "testutil.h"

#include <utf8proc.h>

#include "base/alloc.h"
#include "text/analyzer.h"

#define MAX_TERMS 64

struct term {
    char text[ANALYZER_MAX_TERM + 1];
    size_t start;
    size_t end;
};

struct terms {
    struct term t[MAX_TERMS];
    size_t n;
    size_t stop_after; /* 0 = never stop */
};

static int collect(void *ctx, const char *term, size_t term_len, size_t byte_start,
                   size_t byte_end)
{
    struct terms *ts = ctx;
    assert_true(term_len > 0 && term_len <= ANALYZER_MAX_TERM);
    assert_true(ts->n < MAX_TERMS);
    memcpy(ts->t[ts->n].text, term, term_len);
    ts->t[ts->n].text[term_len] = '\0';
    ts->t[ts->n].start = byte_start;
    ts->t[ts->n].end = byte_end;
    ts->n++;
    return ts->stop_after != 0 && ts->n >= ts->stop_after;
}

static struct analyzer *make(const char *language, const char *stopwords)
{
    struct analyzer_opts opts = {.language = language, .stopwords = stopwords};
    struct analyzer *a = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(analyzer_new(&opts, &a, &e), FRUGAL_OK);
    assert_non_null(a);
    return a;
}

/* Runs a over text and checks that offsets are in range and ordered. */
static void run(struct analyzer *a, const char *text, struct terms *ts)
{
    size_t len = strlen(text);
    ts->n = 0;
    assert_int_equal(analyzer_run(a, text, len, collect, ts), FRUGAL_OK);
    for (size_t i = 0; i < ts->n; i++) {
        assert_true(ts->t[i].start < ts->t[i].end);
        assert_true(ts->t[i].end <= len);
        if (i > 0)
            assert_true(ts->t[i].start >= ts->t[i - 1].start);
    }
}

/* Checks that a turns text into the space-separated terms in want. */
static void expect(struct analyzer *a, const char *text, const char *want)
{
    struct terms ts = {.n = 0};
    run(a, text, &ts);
    char got[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < ts.n; i++) {
        size_t n = strlen(ts.t[i].text);
        assert_true(used + n + 2 < sizeof got);
        if (i > 0)
            got[used++] = ' ';
        memcpy(got + used, ts.t[i].text, n);
        used += n;
        got[used] = '\0';
    }
    assert_string_equal(got, want);
}

static void test_folding(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    expect(a, "Café", "cafe");
    expect(a, "CAFÉ cafe\xCC\x81 CaFe", "cafe cafe cafe"); /* NFC, NFD and ASCII agree */
    expect(a, "Straße STRASSE", "strass strass");           /* full case folding */
    expect(a, "Ångström naïve", "angstrom naiv");
    expect(a, "ΣΟΦΊΑ", "σοφια");
    expect(a, "Ёлка", "елка");                               /* Cyrillic accents fold too */
    /* Devanagari vowel signs are letters' vowels, not accents: "कुल" (kula) and "कल" (kal)
     * stay two different terms */
    expect(a, "कुल कल", "कुल कल");
    expect(a, "नमस्ते", "नमस्ते");                             /* virama kept */
    analyzer_free(a);
}

static void test_stemming(void **state)
{
    (void)state;
    struct analyzer *a = make(NULL, NULL); /* english by default */
    expect(a, "running connections books", "run connect book");
    expect(a, "Generalizations", "general");
    /* stems come from a cache the second time: same answers */
    expect(a, "connections running connections running", "connect run connect run");
    analyzer_free(a);
    a = make("none", NULL);
    expect(a, "Running connections", "running connections");
    analyzer_free(a);
    a = make("french", NULL);
    expect(a, "nationales", "national");
    analyzer_free(a);
}

static void test_stopwords(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    expect(a, "The cat is on THE mat, and it was there", "cat mat");
    expect(a, "a an and are as at be but by for if in into is it no not of on or such that the "
              "their then there these they this to was will with",
           "");
    analyzer_free(a);
    a = make("english", "");
    expect(a, "the cat is on the mat", "the cat is on the mat");
    analyzer_free(a);
    a = make("english", "CAT,  mat Café\n");
    expect(a, "the cat is on the mat at the cafe", "the is on the at the");
    analyzer_free(a);
    a = make("french", NULL); /* no default list outside English */
    expect(a, "le the", "le the");
    analyzer_free(a);
}

static void test_possessive_and_apostrophes(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    struct terms ts = {.n = 0};
    run(a, "John's book", &ts);
    assert_int_equal(ts.n, 2);
    assert_string_equal(ts.t[0].text, "john");
    assert_int_equal(ts.t[0].start, 0); /* the offsets cover the source word */
    assert_int_equal(ts.t[0].end, 6);
    expect(a, "JOHN'S", "john");
    expect(a, "don't DON\xE2\x80\x99T", "don't don't"); /* U+2019 is an apostrophe */
    expect(a, "'quoted' students' O'Neil", "quot student o'neil");
    expect(a, "it's", ""); /* "it" after the possessive is a stopword */
    analyzer_free(a);
}

static void test_numbers(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    expect(a, "pi is 3.14, or 3,14. Then 1,000,000 v1.2.3", "pi 3.14 3,14 1,000,000 v1.2.3");
    expect(a, "end.Next 3.x x.3 3. 4", "end next 3 x x 3 3 4");
    analyzer_free(a);
}

static void test_cjk_bigrams(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    struct terms ts = {.n = 0};
    const char *text = "数据库 我 the 한국어";
    run(a, text, &ts);
    assert_int_equal(ts.n, 5);
    assert_string_equal(ts.t[0].text, "数据");
    assert_int_equal(ts.t[0].start, 0);
    assert_int_equal(ts.t[0].end, 6);
    assert_string_equal(ts.t[1].text, "据库");
    assert_int_equal(ts.t[1].start, 3);
    assert_int_equal(ts.t[1].end, 9);
    assert_string_equal(ts.t[2].text, "我"); /* lone CJK character: unigram */
    assert_int_equal(ts.t[2].start, 10);
    assert_int_equal(ts.t[2].end, 13);
    assert_string_equal(ts.t[3].text, "한국");
    assert_string_equal(ts.t[4].text, "국어");
    for (size_t i = 0; i < ts.n; i++)
        assert_memory_equal(text + ts.t[i].start, ts.t[i].text, strlen(ts.t[i].text));
    /* CJK runs end at other scripts; kana of both kinds bigram together */
    expect(a, "用SQL查询数据", "用 sql 查询 询数 数据");
    expect(a, "ひらカタ。", "ひら らカ カタ");
    analyzer_free(a);
}

static void test_offsets_point_at_source(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    struct terms ts = {.n = 0};
    const char *text = "  Running,  (Cafés)\t\xC3\x89T\xC3\x89 x\xFFy";
    run(a, text, &ts);
    const char *words[] = {"Running", "Cafés", "\xC3\x89T\xC3\x89", "x", "y"};
    assert_int_equal(ts.n, 5);
    for (size_t i = 0; i < ts.n; i++) {
        assert_int_equal(ts.t[i].end - ts.t[i].start, strlen(words[i]));
        assert_memory_equal(text + ts.t[i].start, words[i], strlen(words[i]));
    }
    analyzer_free(a);
}

static void test_long_terms_dropped(void **state)
{
    (void)state;
    struct analyzer *a = make("none", "");
    char text[200];
    memset(text, 'x', 65);
    memcpy(text + 65, " ok ", 5);
    expect(a, text, "ok");
    memset(text, 'y', 64);
    text[64] = '\0';
    expect(a, text, text); /* exactly the limit is kept */
    analyzer_free(a);
}

static void test_early_stop(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    struct terms ts = {.n = 0, .stop_after = 2};
    assert_int_equal(analyzer_run(a, "one two three 数据库", 23, collect, &ts), FRUGAL_OK);
    assert_int_equal(ts.n, 2);
    ts.n = 0;
    ts.stop_after = 1;
    assert_int_equal(analyzer_run(a, "数据库", 9, collect, &ts), FRUGAL_OK);
    assert_int_equal(ts.n, 1);
    analyzer_free(a);
}

static void test_unknown_language(void **state)
{
    (void)state;
    struct analyzer_opts opts = {.language = "klingon"};
    struct analyzer *a = (struct analyzer *)&opts; /* must be reset to NULL */
    struct err e;
    err_clear(&e);
    assert_int_equal(analyzer_new(&opts, &a, &e), FRUGAL_EINVAL);
    assert_null(a);
    assert_non_null(strstr(e.msg, "klingon"));
    assert_false(analyzer_language_ok("klingon"));
    assert_false(analyzer_language_ok(NULL));
    assert_true(analyzer_language_ok("english"));
    assert_true(analyzer_language_ok("none"));
    analyzer_free(NULL);
}

/* The ASCII fast path must give exactly what utf8proc gives. */
static void test_ascii_path_matches_utf8proc(void **state)
{
    (void)state;
    struct analyzer *a = make("none", "");
    for (int c = 0x21; c < 0x7F; c++) {
        /* "<c>q" alone (ASCII path) and followed by U+0301, which STRIPMARK removes
         * (utf8proc path), must give the same terms. */
        char plain[8];
        char marked[8];
        plain[0] = (char)c;
        plain[1] = 'q';
        plain[2] = '\0';
        memcpy(marked, plain, 2);
        memcpy(marked + 2, "\xCC\x81", 3);
        struct terms t1 = {.n = 0};
        struct terms t2 = {.n = 0};
        run(a, plain, &t1);
        run(a, marked, &t2);
        assert_int_equal(t1.n, t2.n);
        for (size_t i = 0; i < t1.n; i++)
            assert_string_equal(t1.t[i].text, t2.t[i].text);
    }
    const char *word = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    utf8proc_uint8_t *ref = NULL;
    utf8proc_map((const utf8proc_uint8_t *)word, 0, &ref,
                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                     UTF8PROC_STRIPMARK);
    assert_non_null(ref);
    expect(a, word, (const char *)ref);
    free(ref);
    /* and a non-ASCII word matches utf8proc_map directly */
    const char *word2 = "ÉCOLE\xE2\x84\xAB\xC5\x92uvre";
    ref = NULL;
    utf8proc_map((const utf8proc_uint8_t *)word2, 0, &ref,
                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                     UTF8PROC_STRIPMARK);
    assert_non_null(ref);
    expect(a, word2, (const char *)ref);
    free(ref);
    analyzer_free(a);
}

static void test_new_alloc_failure(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        struct analyzer_opts opts = {.language = "english", .stopwords = "foo, bar, café"};
        struct analyzer *a = NULL;
        struct err e;
        err_clear(&e);
        alloc_fail_after(n);
        frugal_status rc = analyzer_new(&opts, &a, &e);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_true(n > 0);
            expect(a, "foo cafe bar bars running", "bar run"); /* stopped before stemming */
            analyzer_free(a);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_null(a);
        assert_int_equal(e.code, FRUGAL_ENOMEM);
        assert_true(n < 100);
    }
}

static void test_run_alloc_failure(void **state)
{
    (void)state;
    struct analyzer *a = make("english", NULL);
    /* 300 decomposable letters need more code point room than the analyzer starts with */
    char text[700];
    size_t len = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(text + len, "\xC3\xA9", 2);
        len += 2;
    }
    struct terms ts = {.n = 0};
    alloc_fail_after(0);
    frugal_status rc = analyzer_run(a, text, len, collect, &ts);
    alloc_fail_after(-1);
    assert_int_equal(rc, FRUGAL_ENOMEM);
    assert_int_equal(analyzer_run(a, text, len, collect, &ts), FRUGAL_OK);
    assert_int_equal(ts.n, 0); /* folded to 300 bytes: over the term limit */
    analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_stemming),
        cmocka_unit_test(test_stopwords),
        cmocka_unit_test(test_possessive_and_apostrophes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_cjk_bigrams),
        cmocka_unit_test(test_offsets_point_at_source),
        cmocka_unit_test(test_long_terms_dropped),
        cmocka_unit_test(test_early_stop),
        cmocka_unit_test(test_unknown_language),
        cmocka_unit_test(test_ascii_path_matches_utf8proc),
        cmocka_unit_test(test_new_alloc_failure),
        cmocka_unit_test(test_run_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
