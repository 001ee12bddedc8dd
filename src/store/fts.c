/*
 * fts.c - the "frugal" FTS5 tokenizer and the frugal_bm25() auxiliary function (see fts.h).
 *
 * Tokenizer: each FTS5 table gets its own tokenizer instance holding one struct analyzer built
 * from the table's `tokenize` arguments; xTokenize feeds the text through analyzer_run and hands
 * every term to FTS5 with its byte offsets (so snippet() and highlight() mark the source words).
 * Query strings that start with FTS_PRE_ANALYZED bypass the analyzer: store_search analyzes the
 * user's query once, in C, and passes the terms through FTS5 untouched. Analyzing them a second
 * time would stem stems ("generously" -> "generous" -> "gener") and break matching.
 *
 * Ranking: frugal_bm25() computes BM25F. What depends only on the query (the number of rows N,
 * the average column lengths, each phrase's IDF) is computed on the first row and cached with
 * xSetAuxdata for the rest of the query; each row then costs one pass over its phrase
 * instances (xInst) and three xColumnSize calls. df comes from xQueryPhrase, i.e. the number of
 * rows that contain the phrase, which for our one-term phrases is the term's document frequency.
 * FTS5's own bm25() is not used because it is BM25 (not BM25F: it weighs per-column scores, not
 * term frequencies), uses a different IDF, and returns negated scores.
 *
 * Threading: a tokenizer instance belongs to one FTS5 table of one connection, and a connection
 * is used by one thread at a time (store.h), so the analyzer inside needs no lock. Auxiliary
 * data lives for one query on one connection. Registration touches only the connection.
 */
#include "store/fts.h"

#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "text/analyzer.h"

#define FTS_N_COLUMNS 3

/* ---- Tokenizer ------------------------------------------------------------------------------ */

struct fts_tokenizer {
    struct analyzer *analyzer; /* owned */
};

static int tokenizer_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
    struct analyzer_opts opts = {.language = argc > 0 ? argv[0] : NULL,
                                 .stopwords = argc > 1 ? argv[1] : NULL};
    *out = NULL;
    if (argc > 2)
        return SQLITE_ERROR;
    struct fts_tokenizer *t = frugal_calloc(1, sizeof *t);
    if (t == NULL)
        return SQLITE_NOMEM;
    frugal_status rc = analyzer_new(&opts, &t->analyzer, NULL);
    if (rc != FRUGAL_OK) {
        frugal_free(t);
        return rc == FRUGAL_ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tokenizer_delete(Fts5Tokenizer *tok)
{
    struct fts_tokenizer *t = (struct fts_tokenizer *)tok;
    if (t == NULL)
        return;
    analyzer_free(t->analyzer);
    frugal_free(t);
}

typedef int (*fts_token_fn)(void *ctx, int tflags, const char *token, int n_token, int start,
                            int end);

struct emit_ctx {
    void *fts_ctx;
    fts_token_fn token;
    int rc; /* first non-OK return of token */
};

static int emit_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                     size_t byte_end)
{
    struct emit_ctx *e = ctx;
    int rc = e->token(e->fts_ctx, 0, term, (int)term_len, (int)byte_start, (int)byte_end);
    if (rc != SQLITE_OK) {
        e->rc = rc;
        return 1;
    }
    return 0;
}

static int tokenizer_tokenize(Fts5Tokenizer *tok, void *fts_ctx, int flags, const char *text,
                              int n_text, fts_token_fn token)
{
    struct fts_tokenizer *t = (struct fts_tokenizer *)tok;
    if (n_text <= 0)
        return SQLITE_OK;
    if ((flags & FTS5_TOKENIZE_QUERY) != 0 && text[0] == FTS_PRE_ANALYZED) {
        if (n_text == 1)
            return SQLITE_OK;
        return token(fts_ctx, 0, text + 1, n_text - 1, 0, n_text);
    }
    struct emit_ctx e = {.fts_ctx = fts_ctx, .token = token, .rc = SQLITE_OK};
    frugal_status rc = analyzer_run(t->analyzer, text, (size_t)n_text, emit_term, &e);
    if (e.rc != SQLITE_OK)
        return e.rc == SQLITE_DONE ? SQLITE_OK : e.rc;
    if (rc == FRUGAL_ENOMEM)
        return SQLITE_NOMEM;
    return rc == FRUGAL_OK ? SQLITE_OK : SQLITE_ERROR;
}

/* ---- BM25F ---------------------------------------------------------------------------------- */

/* What frugal_bm25 computes once per query. */
struct bm25_query {
    int n_phrase;
    double avg_len[FTS_N_COLUMNS]; /* mean tokens per row, per column */
    double *idf;                   /* (n_phrase) */
    double *tf;                    /* (n_phrase) scratch for the current row */
};

static void bm25_query_free(void *p)
{
    struct bm25_query *q = p;
    if (q == NULL)
        return;
    frugal_free(q->idf);
    frugal_free(q->tf);
    frugal_free(q);
}

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *ctx)
{
    (*(int64_t *)ctx)++;
    return SQLITE_OK;
}

static int bm25_query_new(const Fts5ExtensionApi *api, Fts5Context *fts, struct bm25_query **out)
{
    *out = NULL;
    struct bm25_query *q = frugal_calloc(1, sizeof *q);
    if (q == NULL)
        return SQLITE_NOMEM;
    q->n_phrase = api->xPhraseCount(fts);
    size_t n = q->n_phrase > 0 ? (size_t)q->n_phrase : 1;
    q->idf = frugal_calloc(n, sizeof *q->idf);
    q->tf = frugal_calloc(n, sizeof *q->tf);
    if (q->idf == NULL || q->tf == NULL) {
        bm25_query_free(q);
        return SQLITE_NOMEM;
    }
    sqlite3_int64 n_rows = 0;
    int rc = api->xRowCount(fts, &n_rows);
    for (int c = 0; rc == SQLITE_OK && c < FTS_N_COLUMNS; c++) {
        sqlite3_int64 total = 0;
        rc = api->xColumnTotalSize(fts, c, &total);
        q->avg_len[c] = n_rows > 0 ? (double)total / (double)n_rows : 0.0;
    }
    for (int i = 0; rc == SQLITE_OK && i < q->n_phrase; i++) {
        int64_t df = 0;
        rc = api->xQueryPhrase(fts, i, &df, count_row);
        double nd = (double)n_rows;
        double dd = (double)df;
        q->idf[i] = log(1.0 + (nd - dd + 0.5) / (dd + 0.5));
    }
    if (rc != SQLITE_OK) {
        bm25_query_free(q);
        return rc;
    }
    *out = q;
    return SQLITE_OK;
}

static void bm25_function(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
                          int n_val, sqlite3_value **val)
{
    if (n_val != 5) {
        sqlite3_result_error(ctx,
                             "frugal_bm25: expected (fts_table, k1, b, w_title, w_heading, w_body)",
                             -1);
        return;
    }
    if (api->xColumnCount(fts) != FTS_N_COLUMNS) {
        sqlite3_result_error(ctx, "frugal_bm25: the table must have 3 columns", -1);
        return;
    }
    double k1 = sqlite3_value_double(val[0]);
    double b = sqlite3_value_double(val[1]);
    double w[FTS_N_COLUMNS] = {sqlite3_value_double(val[2]), sqlite3_value_double(val[3]),
                               sqlite3_value_double(val[4])};

    struct bm25_query *q = api->xGetAuxdata(fts, 0);
    int rc = SQLITE_OK;
    if (q == NULL) {
        rc = bm25_query_new(api, fts, &q);
        if (rc == SQLITE_OK)
            rc = api->xSetAuxdata(fts, q, bm25_query_free); /* frees q itself on failure */
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc);
            return;
        }
    }

    double dl = 0.0;
    double avgdl = 0.0;
    for (int c = 0; c < FTS_N_COLUMNS; c++) {
        int len = 0;
        rc = api->xColumnSize(fts, c, &len);
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc);
            return;
        }
        dl += w[c] * (double)len;
        avgdl += w[c] * q->avg_len[c];
    }
    for (int i = 0; i < q->n_phrase; i++)
        q->tf[i] = 0.0;
    int n_inst = 0;
    rc = api->xInstCount(fts, &n_inst);
    for (int i = 0; rc == SQLITE_OK && i < n_inst; i++) {
        int phrase = 0;
        int col = 0;
        int off = 0;
        rc = api->xInst(fts, i, &phrase, &col, &off);
        if (rc == SQLITE_OK && phrase >= 0 && phrase < q->n_phrase && col >= 0 &&
            col < FTS_N_COLUMNS)
            q->tf[phrase] += w[col];
    }
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double norm = k1 * (1.0 - b + (avgdl > 0.0 ? b * dl / avgdl : b));
    double score = 0.0;
    for (int i = 0; i < q->n_phrase; i++) {
        double tf = q->tf[i];
        if (tf > 0.0)
            score += q->idf[i] * tf * (k1 + 1.0) / (tf + norm);
    }
    sqlite3_result_double(ctx, score);
}

/* ---- Registration and quoting --------------------------------------------------------------- */

frugal_status fts_register(struct sqlite3 *db, struct err *err)
{
    fts5_api *api = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", NULL);
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_NOMEM)
        return err_set(err, FRUGAL_ENOMEM, "store: register FTS5 extensions: out of memory");
    if (rc != SQLITE_OK || api == NULL || api->iVersion < 2)
        return err_set(err, FRUGAL_EINTERNAL,
                       "store: this SQLite library has no FTS5 (version 2 API needed): %s",
                       sqlite3_errmsg(db));
    fts5_tokenizer tokenizer = {tokenizer_create, tokenizer_delete, tokenizer_tokenize};
    rc = api->xCreateTokenizer(api, "frugal", NULL, &tokenizer, NULL);
    if (rc == SQLITE_OK)
        rc = api->xCreateFunction(api, "frugal_bm25", NULL, bm25_function, NULL);
    if (rc != SQLITE_OK)
        return err_set(err, rc == SQLITE_NOMEM ? FRUGAL_ENOMEM : FRUGAL_EINTERNAL,
                       "store: register FTS5 extensions: %s", sqlite3_errstr(rc));
    return FRUGAL_OK;
}

bool fts_stopwords_ok(const char *stopwords)
{
    if (stopwords == NULL)
        return true;
    for (const unsigned char *p = (const unsigned char *)stopwords; *p != 0; p++) {
        unsigned char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c >= 0x80 || c == ' ' || c == ',' || c == '\'' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool language_ok(const char *language)
{
    if (language[0] == '\0')
        return false;
    for (const char *p = language; *p != 0; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Appends s as an SQL string literal: quoted with ', every ' doubled. */
static frugal_status append_literal(struct buf *out, const char *s)
{
    frugal_status rc = buf_putc(out, '\'');
    for (const char *p = s; rc == FRUGAL_OK && *p != 0; p++) {
        rc = buf_putc(out, *p);
        if (rc == FRUGAL_OK && *p == '\'')
            rc = buf_putc(out, '\'');
    }
    if (rc == FRUGAL_OK)
        rc = buf_putc(out, '\'');
    return rc;
}

frugal_status fts_tokenize_spec(const char *language, const char *stopwords, struct buf *out,
                                struct err *err)
{
    if (language == NULL)
        language = "english";
    if (!language_ok(language))
        return err_set(err, FRUGAL_EINVAL, "store: invalid language name '%s'", language);
    if (!fts_stopwords_ok(stopwords))
        return err_set(err, FRUGAL_EINVAL,
                       "store: stopwords may hold only letters, digits, spaces, commas, "
                       "apostrophes and hyphens");
    /* FTS5 splits the tokenize value into arguments itself, each a bareword or an SQL-style
     * literal; so the arguments are quoted once for FTS5, then the whole value once for SQL. */
    struct buf inner;
    buf_init(&inner, 0);
    frugal_status rc = buf_puts(&inner, "frugal ");
    if (rc == FRUGAL_OK)
        rc = append_literal(&inner, language);
    if (rc == FRUGAL_OK && stopwords != NULL) {
        rc = buf_putc(&inner, ' ');
        if (rc == FRUGAL_OK)
            rc = append_literal(&inner, stopwords);
    }
    if (rc == FRUGAL_OK)
        rc = append_literal(out, inner.ptr);
    buf_release(&inner);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "store: tokenizer arguments: %s", frugal_strerror(rc));
    return FRUGAL_OK;
}
