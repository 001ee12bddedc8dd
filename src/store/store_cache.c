/*
 * store_cache.c - the answer-cache part of the store (schema 5, see store.h): generated answers
 * keyed on (collection, normalized question), with their citations and the documents they used.
 *
 * How: plain SQL on the store's connection. An entry, its citations and its document links are
 * written in one transaction (store_write_begin/end), replacing any entry for the same key; the
 * least recently used entries past the bound are deleted in the same transaction. Invalidation
 * is not done here: triggers on chunks and documents (migration 4 -> 5) delete every entry that
 * used a document whose chunks are deleted or whose row changes, so no write path of the store
 * has to remember the cache. Reads bump last_used_at (a small write; skipped on a read-only
 * connection, where the LRU order simply does not move). Near-duplicate lookups
 * (store_cache_get_similar) scan the collection's question vectors (float32 blobs, the
 * embedding of the question by the collection's embedder) and keep the best cosine: no vector
 * index, because the LRU bound keeps the scan small (10,000 384-d vectors: see cache.h).
 *
 * Why a file of its own: store.c is past the size the house style wants; the cache is a
 * separate concern that only src/answer/cache.c uses.
 *
 * Threading: like store.c, one struct store per thread; nothing here is shared.
 */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "base/alloc.h"
#include "store/store.h"

static frugal_status sql_fail(sqlite3 *db, const char *what, struct err *err)
{
    int code = sqlite3_errcode(db) & 0xff;
    frugal_status rc = code == SQLITE_NOMEM                             ? FRUGAL_ENOMEM
                       : code == SQLITE_BUSY || code == SQLITE_LOCKED ? FRUGAL_EBUSY
                                                                        : FRUGAL_EIO;
    return err_set(err, rc, "store: %s: %s", what, sqlite3_errmsg(db));
}

/* A copy of column i as text, NULL for SQL NULL; *oom set when a copy failed. */
static char *col_text(sqlite3_stmt *stmt, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(stmt, i);
    if (t == NULL)
        return NULL;
    char *s = frugal_strdup((const char *)t);
    if (s == NULL)
        *oom = true;
    return s;
}

void store_cache_entry_release(struct store_cache_entry *e)
{
    if (e == NULL)
        return;
    frugal_free(e->answer);
    frugal_free(e->span);
    frugal_free(e->reason);
    frugal_free(e->generator);
    for (size_t i = 0; i < e->n_citations; i++) {
        frugal_citation *c = &e->citations[i];
        frugal_free(c->source);
        frugal_free(c->ext_id);
        frugal_free(c->title);
        frugal_free(c->heading_path);
        frugal_free(c->snippet);
    }
    frugal_free(e->citations);
    memset(e, 0, sizeof *e);
}

static frugal_status load_citations(sqlite3 *db, int64_t id, struct store_cache_entry *e,
                                    struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    size_t cap = 0;
    bool oom = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT document_id, chunk_id, ordinal, char_start, char_end, score, "
                           "source, ext_id, title, heading_path, snippet "
                           "FROM answer_cache_citations WHERE entry_id = ?1 ORDER BY n",
                           -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "read cache", err);
    sqlite3_bind_int64(stmt, 1, id);
    int step;
    while (rc == FRUGAL_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (e->n_citations == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            frugal_citation *grown = frugal_reallocarray(e->citations, ncap, sizeof *grown);
            if (grown == NULL) {
                rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
                break;
            }
            e->citations = grown;
            cap = ncap;
        }
        frugal_citation *c = &e->citations[e->n_citations++];
        memset(c, 0, sizeof *c);
        c->document_id = sqlite3_column_int64(stmt, 0);
        c->chunk_id = sqlite3_column_int64(stmt, 1);
        c->ordinal = sqlite3_column_int(stmt, 2);
        c->char_start = sqlite3_column_int64(stmt, 3);
        c->char_end = sqlite3_column_int64(stmt, 4);
        c->score = sqlite3_column_double(stmt, 5);
        c->source = col_text(stmt, 6, &oom);
        c->ext_id = col_text(stmt, 7, &oom);
        c->title = col_text(stmt, 8, &oom);
        c->heading_path = col_text(stmt, 9, &oom);
        c->snippet = col_text(stmt, 10, &oom);
        if (oom || c->source == NULL || c->heading_path == NULL || c->snippet == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (rc == FRUGAL_OK && step != SQLITE_DONE)
        rc = sql_fail(db, "read cache", err);
    sqlite3_finalize(stmt);
    return rc;
}

static frugal_status exec_id(sqlite3 *db, const char *sql, int64_t a, int64_t b,
                             const char *what, struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, what, err);
    sqlite3_bind_int64(stmt, 1, a);
    sqlite3_bind_int64(stmt, 2, b);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        rc = sql_fail(db, what, err);
    sqlite3_finalize(stmt);
    return rc;
}

#define ENTRY_COLUMNS                                                                        \
    "id, created_at, answer, span, reason, generator, confidence, prompt_tokens, "            \
    "completion_tokens, cost"

/* The entry's fields from a row of ENTRY_COLUMNS; false when a copy failed. */
static bool entry_from_row(sqlite3_stmt *stmt, struct store_cache_entry *out, bool *oom)
{
    out->created_at = sqlite3_column_int64(stmt, 1);
    out->answer = col_text(stmt, 2, oom);
    out->span = col_text(stmt, 3, oom);
    out->reason = col_text(stmt, 4, oom);
    out->generator = col_text(stmt, 5, oom);
    out->confidence = sqlite3_column_double(stmt, 6);
    out->prompt_tokens = sqlite3_column_int64(stmt, 7);
    out->completion_tokens = sqlite3_column_int64(stmt, 8);
    out->cost = sqlite3_column_double(stmt, 9);
    return !*oom && out->answer != NULL && out->reason != NULL;
}

/* A hit's citations, and its LRU touch when the connection may write. */
static frugal_status finish_hit(sqlite3 *db, int64_t id, int64_t now,
                                struct store_cache_entry *out, struct err *err)
{
    frugal_status rc = load_citations(db, id, out, err);
    if (rc == FRUGAL_OK && !sqlite3_db_readonly(db, "main"))
        rc = exec_id(db, "UPDATE answer_cache SET last_used_at = ?2 WHERE id = ?1", id, now,
                     "touch cache", err);
    if (rc != FRUGAL_OK)
        store_cache_entry_release(out);
    return rc;
}

frugal_status store_cache_get(struct store *st, int64_t collection_id, const char *question_norm,
                              int64_t min_created, int64_t now, struct store_cache_entry *out,
                              struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    bool oom = false;
    int64_t id = 0;
    int64_t created = 0;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT " ENTRY_COLUMNS " FROM answer_cache "
                           "WHERE collection_id = ?1 AND question_norm = ?2",
                           -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "read cache", err);
    sqlite3_bind_int64(stmt, 1, collection_id);
    sqlite3_bind_text(stmt, 2, question_norm, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        id = sqlite3_column_int64(stmt, 0);
        created = sqlite3_column_int64(stmt, 1);
        if (created >= min_created && !entry_from_row(stmt, out, &oom))
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    } else if (step != SQLITE_DONE) {
        rc = sql_fail(db, "read cache", err);
    }
    sqlite3_finalize(stmt);
    if (rc == FRUGAL_OK && id == 0)
        return FRUGAL_ENOTFOUND;
    if (rc == FRUGAL_OK && created < min_created) {
        /* stale: drop it when we may write; a miss either way */
        if (!sqlite3_db_readonly(db, "main"))
            (void)exec_id(db, "DELETE FROM answer_cache WHERE id = ?1 AND ?2 = 0", id, 0,
                          "expire cache", err);
        err->code = FRUGAL_OK;
        err->msg[0] = '\0';
        return FRUGAL_ENOTFOUND;
    }
    if (rc == FRUGAL_OK)
        return finish_hit(db, id, now, out, err);
    store_cache_entry_release(out);
    return rc;
}

/* Cosine of a (dim floats) with b, whose norm is b_norm (> 0). */
static double cosine_to(const float *a, const float *b, double b_norm, size_t dim)
{
    double dot = 0.0;
    double na = 0.0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
    }
    return na > 0.0 ? dot / (sqrt(na) * b_norm) : 0.0;
}

frugal_status store_cache_get_similar(struct store *st, int64_t collection_id, const float *vec,
                                      size_t dim, double min_cosine, int64_t min_created,
                                      int64_t now, struct store_cache_entry *out,
                                      double *cosine, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    memset(out, 0, sizeof *out);
    *cosine = 0.0;
    double norm = 0.0;
    for (size_t i = 0; i < dim; i++)
        norm += (double)vec[i] * vec[i];
    if (dim == 0 || norm <= 0.0)
        return FRUGAL_ENOTFOUND;
    norm = sqrt(norm);
    float *row = frugal_calloc(dim, sizeof *row);
    if (row == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(db,
                           "SELECT id, question_vector FROM answer_cache WHERE collection_id = ?1"
                           " AND created_at >= ?2 AND length(question_vector) = ?3",
                           -1, &stmt, NULL) != SQLITE_OK) {
        frugal_free(row);
        return sql_fail(db, "read cache", err);
    }
    sqlite3_bind_int64(stmt, 1, collection_id);
    sqlite3_bind_int64(stmt, 2, min_created);
    sqlite3_bind_int64(stmt, 3, (int64_t)(dim * sizeof(float)));
    int64_t best = 0;
    double best_cos = -2.0;
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(stmt, 1);
        if (blob == NULL || (size_t)sqlite3_column_bytes(stmt, 1) != dim * sizeof(float))
            continue;
        memcpy(row, blob, dim * sizeof *row); /* a blob need not be aligned for floats */
        double c = cosine_to(row, vec, norm, dim);
        if (c > best_cos) {
            best_cos = c;
            best = sqlite3_column_int64(stmt, 0);
        }
    }
    frugal_status rc = step == SQLITE_DONE ? FRUGAL_OK : sql_fail(db, "read cache", err);
    sqlite3_finalize(stmt);
    frugal_free(row);
    if (rc != FRUGAL_OK)
        return rc;
    if (best == 0 || best_cos < min_cosine)
        return FRUGAL_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT " ENTRY_COLUMNS " FROM answer_cache WHERE id = ?1", -1,
                           &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "read cache", err);
    sqlite3_bind_int64(stmt, 1, best);
    bool oom = false;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW && !entry_from_row(stmt, out, &oom))
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    else if (step == SQLITE_DONE)
        rc = FRUGAL_ENOTFOUND;
    else if (step != SQLITE_ROW)
        rc = sql_fail(db, "read cache", err);
    sqlite3_finalize(stmt);
    if (rc != FRUGAL_OK) {
        store_cache_entry_release(out);
        return rc;
    }
    *cosine = best_cos;
    return finish_hit(db, best, now, out, err);
}

static void bind_text_or_null(sqlite3_stmt *stmt, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(stmt, i);
    else
        sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

static frugal_status put_citations(sqlite3 *db, int64_t id, const struct store_cache_entry *e,
                                   struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    if (e->n_citations == 0)
        return FRUGAL_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO answer_cache_citations(entry_id, n, document_id, "
                           "chunk_id, ordinal, char_start, char_end, score, source, ext_id, "
                           "title, heading_path, snippet) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "write cache", err);
    for (size_t i = 0; rc == FRUGAL_OK && i < e->n_citations; i++) {
        const frugal_citation *c = &e->citations[i];
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, (int64_t)i);
        sqlite3_bind_int64(stmt, 3, c->document_id);
        sqlite3_bind_int64(stmt, 4, c->chunk_id);
        sqlite3_bind_int(stmt, 5, c->ordinal);
        sqlite3_bind_int64(stmt, 6, c->char_start);
        sqlite3_bind_int64(stmt, 7, c->char_end);
        sqlite3_bind_double(stmt, 8, c->score);
        sqlite3_bind_text(stmt, 9, c->source != NULL ? c->source : "", -1, SQLITE_STATIC);
        bind_text_or_null(stmt, 10, c->ext_id);
        bind_text_or_null(stmt, 11, c->title);
        sqlite3_bind_text(stmt, 12, c->heading_path != NULL ? c->heading_path : "", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(stmt, 13, c->snippet != NULL ? c->snippet : "", -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "write cache", err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static frugal_status put_entry(sqlite3 *db, int64_t collection_id, const char *question_norm,
                               const struct store_cache_entry *e, int64_t now, int64_t *id,
                               struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO answer_cache(collection_id, question_norm, "
                           "answer, span, reason, generator, confidence, prompt_tokens, "
                           "completion_tokens, cost, created_at, last_used_at, "
                           "question_vector) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "write cache", err);
    sqlite3_bind_int64(stmt, 1, collection_id);
    sqlite3_bind_text(stmt, 2, question_norm, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, e->answer != NULL ? e->answer : "", -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 4, e->span);
    sqlite3_bind_text(stmt, 5, e->reason != NULL ? e->reason : "", -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 6, e->generator);
    sqlite3_bind_double(stmt, 7, e->confidence);
    sqlite3_bind_int64(stmt, 8, e->prompt_tokens);
    sqlite3_bind_int64(stmt, 9, e->completion_tokens);
    sqlite3_bind_double(stmt, 10, e->cost);
    sqlite3_bind_int64(stmt, 11, now);
    if (e->question_vector != NULL && e->question_dim > 0)
        sqlite3_bind_blob(stmt, 12, e->question_vector,
                          (int)(e->question_dim * sizeof *e->question_vector), SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 12);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        rc = sql_fail(db, "write cache", err);
    else
        *id = sqlite3_last_insert_rowid(db);
    sqlite3_finalize(stmt);
    return rc;
}

frugal_status store_cache_put(struct store *st, int64_t collection_id, const char *question_norm,
                              const struct store_cache_entry *e, const int64_t *document_ids,
                              size_t n_documents, int64_t now, size_t max_entries,
                              struct err *err)
{
    sqlite3 *db = store_db(st);
    bool own = false;
    int64_t id = 0;
    frugal_status rc = store_write_begin(st, &own, "write cache", err);
    if (rc != FRUGAL_OK)
        return rc;
    /* an explicit DELETE first: a REPLACE conflict would not run the ON DELETE CASCADE of
     * the old entry's citation and document rows in every SQLite configuration */
    {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db,
                               "DELETE FROM answer_cache WHERE collection_id = ?1 AND "
                               "question_norm = ?2",
                               -1, &stmt, NULL) != SQLITE_OK) {
            rc = sql_fail(db, "write cache", err);
        } else {
            sqlite3_bind_int64(stmt, 1, collection_id);
            sqlite3_bind_text(stmt, 2, question_norm, -1, SQLITE_STATIC);
            if (sqlite3_step(stmt) != SQLITE_DONE)
                rc = sql_fail(db, "write cache", err);
        }
        sqlite3_finalize(stmt);
    }
    if (rc == FRUGAL_OK)
        rc = put_entry(db, collection_id, question_norm, e, now, &id, err);
    if (rc == FRUGAL_OK)
        rc = put_citations(db, id, e, err);
    for (size_t i = 0; rc == FRUGAL_OK && i < n_documents; i++)
        rc = exec_id(db,
                     "INSERT OR IGNORE INTO answer_cache_documents(entry_id, document_id) "
                     "VALUES (?1, ?2)",
                     id, document_ids[i], "write cache", err);
    if (rc == FRUGAL_OK && max_entries > 0)
        rc = exec_id(db,
                     "DELETE FROM answer_cache WHERE id IN (SELECT id FROM answer_cache "
                     "WHERE collection_id = ?1 ORDER BY last_used_at DESC, id DESC "
                     "LIMIT -1 OFFSET ?2)",
                     collection_id, (int64_t)max_entries, "evict cache", err);
    return store_write_end(st, own, rc, err);
}

frugal_status store_cache_count(struct store *st, int64_t collection_id, int64_t *out,
                                struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    *out = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM answer_cache WHERE collection_id = ?1", -1,
                           &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "count cache", err);
    sqlite3_bind_int64(stmt, 1, collection_id);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = sql_fail(db, "count cache", err);
    sqlite3_finalize(stmt);
    return rc;
}
