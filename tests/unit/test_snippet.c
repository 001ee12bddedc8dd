/* test_snippet.c - snippets computed in C (store/snippet.c) against FTS5's own snippet() over the
 * frugal tokenizer: the same excerpt for random texts and queries, and no excerpt exactly where
 * FTS5's MATCH finds no row. */
#include "testutil.h"

#include <sqlite3.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "store/fts.h"
#include "store/snippet.h"
#include "text/analyzer.h"

#define ELLIPSIS "\xe2\x80\xa6"

struct fx {
    sqlite3 *db;
    struct analyzer *an;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct err err = {0};
    if (sqlite3_open(":memory:", &f->db) != SQLITE_OK || fts_register(f->db, &err) != FRUGAL_OK)
        return -1;
    struct buf spec;
    buf_init(&spec, 0);
    if (fts_tokenize_spec("english", NULL, &spec, &err) != FRUGAL_OK)
        return -1;
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE VIRTUAL TABLE t USING fts5(title, heading, body, tokenize = %s)", spec.ptr);
    buf_release(&spec);
    if (sqlite3_exec(f->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    if (analyzer_new(NULL, &f->an, &err) != FRUGAL_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    analyzer_free(f->an);
    sqlite3_close(f->db);
    free(f);
    return 0;
}

/* ---- Random texts ---------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Words that stem together, stopwords, numbers, accents, possessives. No CJK: its bigrams
 * overlap, where FTS5 3.40's snippet() copies the rest of the text (see test_cases). */
static const char *const words[] = {
    "fox",  "foxes",   "Fox",   "running", "runs",   "run",     "the",    "and",  "of",
    "cell", "cells",   "cancer", "tumour", "gene",   "genetic", "3.14",   "2020", "café",
    "cafe", "John's",  "don't", "protein", "level",   "levels", "a",    "is",
    "T",    "hypoxia", "DNA",   "dna",    "mice",   "mouse",   "risk",   "x",    "über",
};
static const char *const seps[] = {" ", " ", " ", " ", ", ", ". ", ": ", ".\n", "\n\n",
                                   " - ", " (", ") ", "; ", ".", ":", "  ", "\t", " \"", "\" "};

static void random_text(struct buf *b, unsigned max_words)
{
    buf_reset(b);
    unsigned n = rnd(max_words + 1);
    if (rnd(4) == 0)
        assert_int_equal(buf_puts(b, seps[rnd(sizeof seps / sizeof *seps)]), FRUGAL_OK);
    for (unsigned i = 0; i < n; i++) {
        if (i > 0)
            assert_int_equal(buf_puts(b, seps[rnd(sizeof seps / sizeof *seps)]), FRUGAL_OK);
        assert_int_equal(buf_puts(b, words[rnd(sizeof words / sizeof *words)]), FRUGAL_OK);
    }
    if (rnd(3) == 0)
        assert_int_equal(buf_puts(b, seps[rnd(sizeof seps / sizeof *seps)]), FRUGAL_OK);
    if (b->ptr == NULL)
        assert_int_equal(buf_puts(b, ""), FRUGAL_OK);
}

/* The MATCH expression store.c builds: each analyzed term a pre-analyzed phrase, OR-joined. */
struct match_ctx {
    struct buf *match;
    size_t n;
};

static int add_phrase(void *ctx, const char *term, size_t term_len, size_t s, size_t e)
{
    struct match_ctx *m = ctx;
    if (m->n++ > 0)
        assert_int_equal(buf_puts(m->match, " OR "), FRUGAL_OK);
    assert_int_equal(buf_putc(m->match, '"'), FRUGAL_OK);
    assert_int_equal(buf_putc(m->match, FTS_PRE_ANALYZED), FRUGAL_OK);
    for (size_t i = 0; i < term_len; i++) {
        assert_int_equal(buf_putc(m->match, term[i]), FRUGAL_OK);
        if (term[i] == '"')
            assert_int_equal(buf_putc(m->match, '"'), FRUGAL_OK);
    }
    assert_int_equal(buf_putc(m->match, '"'), FRUGAL_OK);
    return 0;
}

static const char *col_or_null(sqlite3_stmt *s, int c)
{
    return (const char *)sqlite3_column_text(s, c);
}

/* Compares every row of t for one query: FTS5's snippet where MATCH finds the row, none
 * elsewhere. Returns the number of rows FTS5 matched. */
static int compare_query(struct fx *f, const char *query, int n_tokens)
{
    struct buf match;
    buf_init(&match, 0);
    struct match_ctx m = {.match = &match};
    assert_int_equal(analyzer_run(f->an, query, strlen(query), add_phrase, &m), FRUGAL_OK);
    struct store_snippet_query *q = NULL;
    assert_int_equal(store_snippet_query_new(f->an, query, strlen(query), 1024, &q), FRUGAL_OK);
    assert_int_equal(store_snippet_query_n_terms(q), m.n);
    int n_matched = 0;
    if (m.n == 0) {
        store_snippet_query_free(q);
        buf_release(&match);
        return 0;
    }
    sqlite3_stmt *all = NULL;
    sqlite3_stmt *one = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT rowid, title, heading, body FROM t", -1,
                                        &all, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT snippet(t, 2, '[', ']', '" ELLIPSIS "', ?1) FROM t"
                                        " WHERE t MATCH ?2 AND rowid = ?3",
                                        -1, &one, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(one, 1, n_tokens);
    sqlite3_bind_text(one, 2, match.ptr, -1, SQLITE_STATIC);
    struct store_snippet_style style = {.open = "[", .close = "]", .ellipsis = ELLIPSIS,
                                        .n_tokens = n_tokens};
    struct buf out;
    buf_init(&out, 0);
    while (sqlite3_step(all) == SQLITE_ROW) {
        const char *text[3];
        size_t len[3];
        for (int c = 0; c < 3; c++) {
            text[c] = col_or_null(all, 1 + c);
            len[c] = (size_t)sqlite3_column_bytes(all, 1 + c);
        }
        buf_reset(&out);
        bool found = true;
        assert_int_equal(store_snippet_make(q, text, len, &style, &out, &found), FRUGAL_OK);
        sqlite3_reset(one);
        sqlite3_bind_int64(one, 3, sqlite3_column_int64(all, 0));
        int rc = sqlite3_step(one);
        if (rc == SQLITE_DONE) {
            if (found)
                fail_msg("query '%s', body '%s': FTS5 has no row, we made '%s'", query,
                         text[2] != NULL ? text[2] : "(null)", out.ptr);
            continue;
        }
        assert_int_equal(rc, SQLITE_ROW);
        n_matched++;
        const char *want = col_or_null(one, 0);
        if (!found || strcmp(want != NULL ? want : "", out.ptr != NULL ? out.ptr : "") != 0)
            fail_msg("query '%s' (%d tokens), body '%s':\n  fts5: '%s'\n  ours: '%s'", query,
                     n_tokens, text[2] != NULL ? text[2] : "(null)", want,
                     found ? out.ptr : "(none)");
    }
    buf_release(&out);
    sqlite3_finalize(all);
    sqlite3_finalize(one);
    store_snippet_query_free(q);
    buf_release(&match);
    return n_matched;
}

static void insert_row(struct fx *f, const char *title, const char *heading, const char *body)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "INSERT INTO t(title, heading, body) VALUES (?, ?, ?)", -1,
                                        &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, heading, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, body, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

/* ---- Tests ----------------------------------------------------------------------------------- */

static void test_same_as_fts5_random(void **state)
{
    struct fx *f = *state;
    struct buf title;
    struct buf heading;
    struct buf body;
    buf_init(&title, 0);
    buf_init(&heading, 0);
    buf_init(&body, 0);
    for (int i = 0; i < 300; i++) {
        random_text(&title, 4);
        random_text(&heading, 3);
        random_text(&body, i % 4 == 0 ? 12 : 150);
        insert_row(f, rnd(5) == 0 ? NULL : title.ptr, heading.ptr, body.ptr);
    }
    int n_matched = 0;
    struct buf query;
    buf_init(&query, 0);
    static const int sizes[] = {24, 24, 10, 5, 3};
    for (int i = 0; i < 80; i++) {
        random_text(&query, 6);
        n_matched += compare_query(f, query.ptr, sizes[i % 5]);
    }
    /* the comparison is only worth something when FTS5 matched plenty of rows */
    assert_true(n_matched > 10000);
    buf_release(&query);
    buf_release(&title);
    buf_release(&heading);
    buf_release(&body);
}

static void test_cases(void **state)
{
    struct fx *f = *state;
    insert_row(f, "Zebra facts", "Animals > Mammals",
               "The quick brown fox jumps over the lazy dog. Foxes are clever animals.");
    insert_row(f, NULL, "",
               "one two three four five six seven eight nine ten eleven twelve thirteen "
               "fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone "
               "twentytwo twentythree twentyfour twentyfive twentysix fox twentyeight");
    /* query duplicates count as separate phrases, as in FTS5 */
    assert_int_equal(compare_query(f, "fox fox clever", 24), 2);
    assert_int_equal(compare_query(f, "fox", 5), 2);
    assert_int_equal(compare_query(f, "zebra", 24), 1);   /* title only */
    assert_int_equal(compare_query(f, "mammals", 24), 1); /* heading only */
    assert_int_equal(compare_query(f, "platypus", 24), 0);
    assert_int_equal(compare_query(f, "the and", 24), 0); /* stopwords only: no terms */

    struct store_snippet_query *q = NULL;
    assert_int_equal(store_snippet_query_new(f->an, "foxes", 5, 1024, &q), FRUGAL_OK);
    struct store_snippet_style style = {.open = "<<", .close = ">>", .ellipsis = "...",
                                        .n_tokens = 5};
    const char *text[3] = {NULL, NULL, "alpha beta gamma delta epsilon zeta fox eta theta iota "
                                       "kappa lambda"};
    size_t len[3] = {0, 0, strlen(text[2])};
    struct buf out;
    buf_init(&out, 0);
    bool found = false;
    assert_int_equal(store_snippet_make(q, text, len, &style, &out, &found), FRUGAL_OK);
    assert_true(found);
    assert_string_equal(out.ptr, "...epsilon zeta <<fox>> eta theta...");
    /* no match anywhere: nothing appended */
    buf_reset(&out);
    text[2] = "nothing here";
    len[2] = strlen(text[2]);
    assert_int_equal(store_snippet_make(q, text, len, &style, &out, &found), FRUGAL_OK);
    assert_false(found);
    assert_int_equal(out.len, 0);
    store_snippet_query_free(q);

    /* overlapping CJK bigrams ("数据", "据库") make one highlight */
    const char *cjk = "数据库";
    assert_int_equal(store_snippet_query_new(f->an, cjk, strlen(cjk), 1024, &q), FRUGAL_OK);
    text[2] = "关于数据库的书";
    len[2] = strlen(text[2]);
    buf_reset(&out);
    assert_int_equal(store_snippet_make(q, text, len, &style, &out, &found), FRUGAL_OK);
    assert_true(found);
    assert_string_equal(out.ptr, "关于<<数据库>>的...");
    buf_release(&out);
    store_snippet_query_free(q);
}

/* Every allocation that can fail is allowed to, one after another: ENOMEM and nothing leaks
 * (the ASan tier checks the leaks), then success once nothing fails. */
static void test_alloc_failure(void **state)
{
    struct fx *f = *state;
    const char *query = "fox runs, foxes run; the cells";
    const char *body = "The fox runs. Cells run: foxes and cells, many cells, more text after it";
    const char *text[3] = {"Fox title", "Heading", body};
    size_t len[3] = {strlen(text[0]), strlen(text[1]), strlen(text[2])};
    struct store_snippet_style style = {.open = "[", .close = "]", .ellipsis = "...",
                                        .n_tokens = 6};
    bool succeeded = false;
    for (long n = 0; n < 100 && !succeeded; n++) {
        struct store_snippet_query *q = NULL;
        struct buf out;
        buf_init(&out, 0);
        bool found = false;
        alloc_fail_after(n);
        frugal_status rc = store_snippet_query_new(f->an, query, strlen(query), 1024, &q);
        if (rc == FRUGAL_OK)
            rc = store_snippet_make(q, text, len, &style, &out, &found);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_true(found);
            assert_string_equal(out.ptr, "The [fox] [runs]. [Cells] [run]: [foxes] and [cells]...");
            succeeded = true;
        } else {
            assert_int_equal(rc, FRUGAL_ENOMEM);
            assert_false(found);
        }
        store_snippet_query_free(q);
        buf_release(&out);
    }
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_as_fts5_random, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
