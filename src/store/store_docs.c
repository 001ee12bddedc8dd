/*
 * store_docs.c - collections, documents, chunks and the change log of the SQLite store (see
 * store.h for the schema and the contract; store.c for opening, transactions and the helpers
 * shared through store_internal.h).
 *
 * Collections: a row in `collections` plus one FTS5 table fts_<collection id> and the trigger
 * that deletes its rows, created and dropped with it. Its tokenizer arguments come from the
 * collection's language and stopwords, which therefore cannot change after creation.
 * chunks.collection_id duplicates documents.collection_id so that the per-collection trigger
 * that deletes FTS rows can tell which table a deleted chunk belongs to without looking at its
 * document (which ON DELETE CASCADE may already have removed). store_document_delete deletes
 * the chunks explicitly before the document so that the triggers fire in the plainest way;
 * deleting a collection drops its trigger and FTS table first. Collection ids are
 * AUTOINCREMENT: an id is never reused, so fts_<id>, cached statements and other connections'
 * caches can never point at the wrong collection.
 *
 * Documents are listed in batches keyed on id (store_document_each), so the callback may write.
 * The change log (`changes`, written by triggers) is read by derived indexes through
 * store_chunks_since and pruned by store_changes_prune.
 *
 * Why a file of its own: store.c had grown past the size the house style wants (1,955 lines);
 * this is the data-writing half of it, moved unchanged.
 *
 * Threading: like store.c, one struct store per thread; nothing here is shared.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "store/fts.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "text/analyzer.h"

#define STORE_EACH_BATCH 256

/* ---- Collections ---------------------------------------------------------------------------- */

void collection_row_release(struct collection_row *c)
{
    if (c == NULL)
        return;
    frugal_free(c->name);
    frugal_free(c->language);
    frugal_free(c->stopwords);
    frugal_free(c->embedder);
    frugal_free(c->embedder_name);
    frugal_free(c->vector_type);
    memset(c, 0, sizeof *c);
}

static bool collection_name_ok(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > STORE_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static frugal_status check_name(const char *name, struct err *err)
{
    if (collection_name_ok(name))
        return FRUGAL_OK;
    return err_set(err, FRUGAL_EINVAL,
                   "store: invalid collection name '%.*s': use 1 to %d letters, digits, '_', "
                   "'-' or '.'",
                   STORE_MAX_NAME, name != NULL ? name : "", STORE_MAX_NAME);
}

static frugal_status check_tuning(const struct collection_row *in, struct err *err)
{
    const double w[3] = {in->title_weight, in->heading_weight, in->body_weight};
    if (!isfinite(in->k1) || in->k1 < 0.0)
        return err_set(err, FRUGAL_EINVAL, "store: k1 must be a finite number >= 0 (got %g)",
                       in->k1);
    if (!isfinite(in->b) || in->b < 0.0 || in->b > 1.0)
        return err_set(err, FRUGAL_EINVAL, "store: b must be between 0 and 1 (got %g)", in->b);
    for (int i = 0; i < 3; i++)
        if (!isfinite(w[i]) || w[i] < 0.0)
            return err_set(err, FRUGAL_EINVAL,
                           "store: field weights must be finite numbers >= 0 (got %g)", w[i]);
    return FRUGAL_OK;
}

#define COLLECTION_COLUMNS                                                                      \
    "id, name, language, stopwords, k1, b, title_weight, heading_weight, body_weight, embedder, " \
    "embedder_name, embedder_dim, vector_type"

static frugal_status collection_from_row(sqlite3_stmt *stmt, struct collection_row *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(stmt, 0);
    frugal_status rc = dup_column(stmt, 1, &out->name);
    if (rc == FRUGAL_OK)
        rc = dup_column(stmt, 2, &out->language);
    if (rc == FRUGAL_OK)
        rc = dup_column(stmt, 3, &out->stopwords);
    out->k1 = sqlite3_column_double(stmt, 4);
    out->b = sqlite3_column_double(stmt, 5);
    out->title_weight = sqlite3_column_double(stmt, 6);
    out->heading_weight = sqlite3_column_double(stmt, 7);
    out->body_weight = sqlite3_column_double(stmt, 8);
    if (rc == FRUGAL_OK)
        rc = dup_column(stmt, 9, &out->embedder);
    if (rc == FRUGAL_OK)
        rc = dup_column(stmt, 10, &out->embedder_name);
    out->embedder_dim = sqlite3_column_int64(stmt, 11);
    if (rc == FRUGAL_OK)
        rc = dup_column(stmt, 12, &out->vector_type);
    if (rc != FRUGAL_OK)
        collection_row_release(out);
    return rc;
}

frugal_status store_collection_get(struct store *st, const char *name, struct collection_row *out,
                                   struct err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = prepare(st, "SELECT " COLLECTION_COLUMNS " FROM collections WHERE name = ?1",
                               &stmt, "get collection", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, name != NULL ? name : "", -1, SQLITE_STATIC);
        int src = sqlite3_step(stmt);
        if (src == SQLITE_ROW) {
            rc = collection_from_row(stmt, out);
            if (rc != FRUGAL_OK)
                err_set(err, rc, "store: get collection: out of memory");
        } else if (src == SQLITE_DONE) {
            rc = err_set(err, FRUGAL_ENOTFOUND, "store: no collection named '%.*s'",
                         STORE_MAX_NAME, name != NULL ? name : "");
        } else {
            rc = db_fail(st, src, "get collection", err);
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Creates the FTS table and its delete trigger for collection id. */
static frugal_status create_fts(struct store *st, int64_t id, const char *language,
                                const char *stopwords, struct err *err)
{
    long long n = (long long)id;
    struct buf sql;
    buf_init(&sql, 0);
    frugal_status rc = buf_printf(
        &sql, "CREATE VIRTUAL TABLE fts_%lld USING fts5(title, heading, body, tokenize = ", n);
    if (rc == FRUGAL_OK)
        rc = fts_tokenize_spec(language, stopwords, &sql, err);
    else
        err_set(err, rc, "store: create collection: out of memory");
    if (rc == FRUGAL_OK) {
        rc = buf_printf(&sql,
                        ");\nCREATE TRIGGER fts_%lld_chunk_deleted AFTER DELETE ON chunks "
                        "WHEN old.collection_id = %lld BEGIN "
                        "DELETE FROM fts_%lld WHERE rowid = old.id; END;",
                        n, n, n);
        if (rc != FRUGAL_OK)
            err_set(err, rc, "store: create collection: out of memory");
    }
    if (rc == FRUGAL_OK)
        rc = exec(st, sql.ptr, "create full-text index", err);
    buf_release(&sql);
    return rc;
}

static frugal_status collection_create_locked(struct store *st, const struct collection_row *in,
                                              const char *language, int64_t *id_out,
                                              struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = prepare(st,
                               "INSERT INTO collections(name, language, stopwords, k1, b, "
                               "title_weight, heading_weight, body_weight, created_at, "
                               "embedder, embedder_name, embedder_dim, vector_type) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                               "CAST(strftime('%s', 'now') AS INTEGER), ?9, ?10, ?11, ?12)",
                               &stmt, "create collection", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, in->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, language, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, in->stopwords, -1, SQLITE_STATIC);
        sqlite3_bind_double(stmt, 4, in->k1);
        sqlite3_bind_double(stmt, 5, in->b);
        sqlite3_bind_double(stmt, 6, in->title_weight);
        sqlite3_bind_double(stmt, 7, in->heading_weight);
        sqlite3_bind_double(stmt, 8, in->body_weight);
        sqlite3_bind_text(stmt, 9, in->embedder, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 10, in->embedder_name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 11, in->embedder_dim);
        sqlite3_bind_text(stmt, 12, in->vector_type != NULL ? in->vector_type : "f32", -1,
                          SQLITE_STATIC);
        int src = sqlite3_step(stmt);
        if (src == SQLITE_CONSTRAINT)
            rc = err_set(err, FRUGAL_EEXIST, "store: collection '%s' already exists", in->name);
        else if (src != SQLITE_DONE)
            rc = db_fail(st, src, "create collection", err);
    }
    sqlite3_finalize(stmt);
    int64_t id = sqlite3_last_insert_rowid(st->db);
    if (rc == FRUGAL_OK)
        rc = create_fts(st, id, language, in->stopwords, err);
    if (rc == FRUGAL_OK && id_out != NULL)
        *id_out = id;
    return rc;
}

frugal_status store_collection_create(struct store *st, const struct collection_row *in,
                                      int64_t *id_out, struct err *err)
{
    const char *language = in->language != NULL ? in->language : "english";
    frugal_status rc = check_name(in->name, err);
    if (rc == FRUGAL_OK && !analyzer_language_ok(language))
        rc = err_set(err, FRUGAL_EINVAL, "store: unknown language '%.64s'", language);
    if (rc == FRUGAL_OK && !fts_stopwords_ok(in->stopwords))
        rc = err_set(err, FRUGAL_EINVAL,
                     "store: stopwords may hold only letters, digits, spaces, commas, "
                     "apostrophes and hyphens");
    if (rc == FRUGAL_OK)
        rc = check_tuning(in, err);
    if (rc != FRUGAL_OK)
        return rc;
    bool own = false;
    rc = op_begin(st, &own, "create collection", err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = collection_create_locked(st, in, language, id_out, err);
    return op_end(st, own, rc, err);
}

frugal_status store_collection_ensure(struct store *st, const char *name,
                                      struct collection_row *out, struct err *err)
{
    frugal_status rc = store_collection_get(st, name, out, err);
    if (rc != FRUGAL_ENOTFOUND)
        return rc;
    err_clear(err);
    struct collection_row def = {.name = (char *)name,
                                 .language = "english",
                                 .stopwords = NULL,
                                 .k1 = STORE_DEFAULT_K1,
                                 .b = STORE_DEFAULT_B,
                                 .title_weight = 1.0,
                                 .heading_weight = 1.0,
                                 .body_weight = 1.0};
    rc = store_collection_create(st, &def, NULL, err);
    if (rc != FRUGAL_OK && rc != FRUGAL_EEXIST) /* EEXIST: another connection was quicker */
        return rc;
    return store_collection_get(st, name, out, err);
}

frugal_status store_collection_tune(struct store *st, const struct collection_row *in,
                                    struct err *err)
{
    frugal_status rc = check_tuning(in, err);
    if (rc != FRUGAL_OK)
        return rc;
    bool own = false;
    rc = op_begin(st, &own, "tune collection", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    rc = prepare(st,
                 "UPDATE collections SET k1 = ?1, b = ?2, title_weight = ?3, heading_weight = ?4, "
                 "body_weight = ?5 WHERE name = ?6",
                 &stmt, "tune collection", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_double(stmt, 1, in->k1);
        sqlite3_bind_double(stmt, 2, in->b);
        sqlite3_bind_double(stmt, 3, in->title_weight);
        sqlite3_bind_double(stmt, 4, in->heading_weight);
        sqlite3_bind_double(stmt, 5, in->body_weight);
        sqlite3_bind_text(stmt, 6, in->name != NULL ? in->name : "", -1, SQLITE_STATIC);
        rc = run(st, stmt, "tune collection", err);
        if (rc == FRUGAL_OK && sqlite3_changes(st->db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND, "store: no collection named '%.*s'",
                         STORE_MAX_NAME, in->name != NULL ? in->name : "");
    }
    sqlite3_finalize(stmt);
    return op_end(st, own, rc, err);
}

frugal_status store_collection_delete(struct store *st, const char *name, struct err *err)
{
    struct collection_row c;
    frugal_status rc = store_collection_get(st, name, &c, err);
    if (rc != FRUGAL_OK)
        return rc;
    int64_t id = c.id;
    collection_row_release(&c);
    bool own = false;
    rc = op_begin(st, &own, "delete collection", err);
    if (rc != FRUGAL_OK)
        return rc;
    forget_collection(st, id); /* cached statements on fts_<id> would block DROP TABLE */
    char sql[384];
    snprintf(sql, sizeof sql,
             "DROP TRIGGER IF EXISTS fts_%lld_chunk_deleted; DROP TABLE IF EXISTS fts_%lld; "
             "DELETE FROM collections WHERE id = %lld; DELETE FROM changes WHERE "
             "collection_id = %lld; DELETE FROM meta WHERE key = 'changes_floor:%lld';",
             (long long)id, (long long)id, (long long)id, (long long)id, (long long)id);
    rc = exec(st, sql, "delete collection", err);
    return op_end(st, own, rc, err);
}

frugal_status store_collection_list(struct store *st, struct collection_row **out,
                                    int64_t **n_docs, int64_t **n_chunks, size_t *n_out,
                                    struct err *err)
{
    *out = NULL;
    *n_docs = NULL;
    *n_chunks = NULL;
    *n_out = 0;
    struct collection_row *rows = NULL;
    int64_t *docs = NULL;
    int64_t *chunks = NULL;
    size_t count = 0;
    size_t cap = 0;
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = prepare(st,
                               "SELECT " COLLECTION_COLUMNS ","
                               " (SELECT count(*) FROM documents d WHERE d.collection_id = c.id),"
                               " (SELECT count(*) FROM documents d"
                               "   JOIN chunks ch ON ch.document_id = d.id"
                               "   WHERE d.collection_id = c.id)"
                               " FROM collections c ORDER BY name",
                               &stmt, "list collections", err);
    while (rc == FRUGAL_OK) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st, src, "list collections", err);
            break;
        }
        if (count == cap) {
            cap = cap == 0 ? 8 : 2 * cap;
            struct collection_row *r = frugal_reallocarray(rows, cap, sizeof *rows);
            if (r != NULL)
                rows = r;
            int64_t *d = frugal_reallocarray(docs, cap, sizeof *docs);
            if (d != NULL)
                docs = d;
            int64_t *c = frugal_reallocarray(chunks, cap, sizeof *chunks);
            if (c != NULL)
                chunks = c;
            if (r == NULL || d == NULL || c == NULL)
                rc = FRUGAL_ENOMEM;
        }
        if (rc == FRUGAL_OK)
            rc = collection_from_row(stmt, &rows[count]);
        if (rc != FRUGAL_OK) {
            err_set(err, rc, "store: list collections: out of memory");
            break;
        }
        docs[count] = sqlite3_column_int64(stmt, 13);
        chunks[count] = sqlite3_column_int64(stmt, 14);
        count++;
    }
    sqlite3_finalize(stmt);
    if (rc != FRUGAL_OK) {
        for (size_t i = 0; i < count; i++)
            collection_row_release(&rows[i]);
        frugal_free(rows);
        frugal_free(docs);
        frugal_free(chunks);
        return rc;
    }
    *out = rows;
    *n_docs = docs;
    *n_chunks = chunks;
    *n_out = count;
    return FRUGAL_OK;
}

/* ---- Documents ------------------------------------------------------------------------------ */

void document_row_release(struct document_row *d)
{
    if (d == NULL)
        return;
    frugal_free((char *)d->source);
    frugal_free((char *)d->ext_id);
    frugal_free((char *)d->content_hash);
    frugal_free((char *)d->title);
    frugal_free((char *)d->metadata_json);
    frugal_free((char *)d->format);
    frugal_free((char *)d->text);
    memset(d, 0, sizeof *d);
}

#define DOCUMENT_COLUMNS \
    "id, collection_id, source, ext_id, content_hash, size, mtime, title, metadata, format"

/* Fills out from a row of DOCUMENT_COLUMNS (+ text at column 10 when with_text). */
static frugal_status document_from_row(sqlite3_stmt *stmt, bool with_text,
                                       struct document_row *out)
{
    memset(out, 0, sizeof *out);
    char *s[7] = {NULL};
    const int cols[7] = {2, 3, 4, 7, 8, 9, 10};
    frugal_status rc = FRUGAL_OK;
    for (int i = 0; rc == FRUGAL_OK && i < (with_text ? 7 : 6); i++)
        rc = dup_column(stmt, cols[i], &s[i]);
    out->id = sqlite3_column_int64(stmt, 0);
    out->collection_id = sqlite3_column_int64(stmt, 1);
    out->size = sqlite3_column_int64(stmt, 5);
    out->mtime = sqlite3_column_int64(stmt, 6);
    out->source = s[0];
    out->ext_id = s[1];
    out->content_hash = s[2];
    out->title = s[3];
    out->metadata_json = s[4];
    out->format = s[5];
    out->text = s[6];
    if (rc != FRUGAL_OK)
        document_row_release(out);
    return rc;
}

frugal_status store_document_find(struct store *st, int64_t collection_id, const char *source,
                                  struct document_row *out, struct err *err)
{
    memset(out, 0, sizeof *out);
    frugal_status rc = cached(st, &st->find_document,
                              "SELECT " DOCUMENT_COLUMNS ", text FROM documents "
                              "WHERE collection_id = ?1 AND source = ?2",
                              "find document", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = st->find_document;
    sqlite3_bind_int64(stmt, 1, collection_id);
    sqlite3_bind_text(stmt, 2, source != NULL ? source : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        rc = document_from_row(stmt, true, out);
        if (rc != FRUGAL_OK)
            err_set(err, rc, "store: find document: out of memory");
    } else if (src == SQLITE_DONE) {
        rc = err_set(err, FRUGAL_ENOTFOUND, "%s", "");
    } else {
        rc = db_fail(st, src, "find document", err);
    }
    sqlite3_reset(stmt);
    return rc;
}

frugal_status store_document_text(struct store *st, int64_t document_id, char **text,
                                  size_t *len, struct err *err)
{
    *text = NULL;
    *len = 0;
    sqlite3_stmt *stmt = NULL;
    frugal_status rc =
        prepare(st, "SELECT text FROM documents WHERE id = ?", &stmt, "document text", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_bind_int64(stmt, 1, document_id);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(stmt, 0);
        size_t n = t != NULL ? (size_t)sqlite3_column_bytes(stmt, 0) : 0;
        *text = frugal_strndup(t != NULL ? t : "", n);
        if (*text == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "store: document text: out of memory");
        else
            *len = n;
    } else if (src == SQLITE_DONE) {
        rc = err_set(err, FRUGAL_ENOTFOUND, "no document with id %lld", (long long)document_id);
    } else {
        rc = db_fail(st, src, "document text", err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static frugal_status check_metadata(struct store *st, const char *json, struct err *err)
{
    frugal_status rc = cached(st, &st->check_json,
                              "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' "
                              "ELSE 0 END",
                              "insert document", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_bind_text(st->check_json, 1, json, -1, SQLITE_STATIC);
    int src = sqlite3_step(st->check_json);
    if (src != SQLITE_ROW)
        rc = db_fail(st, src, "insert document", err);
    else if (sqlite3_column_int(st->check_json, 0) == 0)
        rc = err_set(err, FRUGAL_EINVAL, "store: document metadata must be a JSON object");
    sqlite3_reset(st->check_json);
    return rc;
}

frugal_status store_document_insert(struct store *st, struct document_row *in, struct err *err)
{
    if (in->source == NULL)
        return err_set(err, FRUGAL_EINVAL, "store: insert document: no source");
    const char *metadata = in->metadata_json != NULL ? in->metadata_json : "{}";
    frugal_status rc = check_metadata(st, metadata, err);
    if (rc != FRUGAL_OK)
        return rc;
    bool own = false;
    rc = op_begin(st, &own, "insert document", err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = cached(st, &st->insert_document,
                "INSERT INTO documents(collection_id, source, ext_id, content_hash, size, mtime, "
                "title, metadata, format, text, created_at, updated_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, json(?8), ?9, ?10, "
                "CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER))",
                "insert document", err);
    if (rc == FRUGAL_OK) {
        sqlite3_stmt *stmt = st->insert_document;
        sqlite3_bind_int64(stmt, 1, in->collection_id);
        sqlite3_bind_text(stmt, 2, in->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, in->ext_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, in->content_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, in->size);
        sqlite3_bind_int64(stmt, 6, in->mtime);
        sqlite3_bind_text(stmt, 7, in->title, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 8, metadata, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 9, in->format, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 10, in->text, -1, SQLITE_STATIC);
        int src = sqlite3_step(stmt);
        int ext = sqlite3_extended_errcode(st->db);
        if (src == SQLITE_DONE)
            in->id = sqlite3_last_insert_rowid(st->db);
        else if (ext == SQLITE_CONSTRAINT_UNIQUE)
            rc = err_set(err, FRUGAL_EEXIST, "store: document '%s' already exists in this "
                         "collection", in->source);
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = err_set(err, FRUGAL_ENOTFOUND, "store: insert document: no collection with id "
                         "%lld", (long long)in->collection_id);
        else
            rc = db_fail(st, src, "insert document", err);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
    return op_end(st, own, rc, err);
}

frugal_status store_document_delete(struct store *st, int64_t document_id, struct err *err)
{
    bool own = false;
    frugal_status rc = op_begin(st, &own, "delete document", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    rc = prepare(st, "DELETE FROM chunks WHERE document_id = ?1", &stmt, "delete document", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, document_id);
        rc = run(st, stmt, "delete document chunks", err);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == FRUGAL_OK)
        rc = prepare(st, "DELETE FROM documents WHERE id = ?1", &stmt, "delete document", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, document_id);
        rc = run(st, stmt, "delete document", err);
        if (rc == FRUGAL_OK && sqlite3_changes(st->db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND, "store: no document with id %lld",
                         (long long)document_id);
    }
    sqlite3_finalize(stmt);
    return op_end(st, own, rc, err);
}

/* Binds [lo, hi): the sources that start with prefix + last (last replaces nothing: appended). */
static frugal_status prefix_range(const char *prefix, size_t len, char last, struct buf *lo,
                                  struct buf *hi)
{
    frugal_status rc = buf_append(lo, prefix, len);
    if (rc == FRUGAL_OK)
        rc = buf_putc(lo, last);
    if (rc == FRUGAL_OK)
        rc = buf_append(hi, prefix, len);
    if (rc == FRUGAL_OK)
        rc = buf_putc(hi, (char)(last + 1));
    return rc;
}

frugal_status store_document_each(struct store *st, int64_t collection_id, const char *prefix,
                                  size_t offset, size_t limit, store_document_fn fn, void *ctx,
                                  struct err *err)
{
    /* Rows are read in batches, keyed on id, and handed to fn only after the batch's statement
     * is reset: fn may then write (e.g. delete the document it is shown). */
    struct buf range[6];
    for (int i = 0; i < 6; i++)
        buf_init(&range[i], 0);
    frugal_status rc = FRUGAL_OK;
    if (prefix != NULL) {
        size_t len = strlen(prefix);
        rc = prefix_range(prefix, len, '/', &range[0], &range[1]);
        if (rc == FRUGAL_OK)
            rc = prefix_range(prefix, len, '#', &range[2], &range[3]);
        /* A prefix that already ends in '/' or '#' matches what starts with it. */
        if (rc == FRUGAL_OK && len > 0 && (prefix[len - 1] == '/' || prefix[len - 1] == '#'))
            rc = prefix_range(prefix, len - 1, prefix[len - 1], &range[4], &range[5]);
        if (rc != FRUGAL_OK)
            err_set(err, rc, "store: list documents: out of memory");
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == FRUGAL_OK)
        rc = prepare(st,
                     "SELECT " DOCUMENT_COLUMNS ", NULL,"
                     " (SELECT count(*) FROM chunks ch WHERE ch.document_id = d.id)"
                     " FROM documents d WHERE collection_id = ?1 AND id > ?2 AND (?3 IS NULL"
                     "  OR source = ?3 OR (source >= ?4 AND source < ?5)"
                     "  OR (source >= ?6 AND source < ?7) OR (source >= ?8 AND source < ?9))"
                     " ORDER BY id LIMIT ?10 OFFSET ?11",
                     &stmt, "list documents", err);
    struct document_row *batch = NULL;
    int64_t *batch_chunks = NULL;
    if (rc == FRUGAL_OK) {
        batch = frugal_calloc(STORE_EACH_BATCH, sizeof *batch);
        batch_chunks = frugal_calloc(STORE_EACH_BATCH, sizeof *batch_chunks);
        if (batch == NULL || batch_chunks == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "store: list documents: out of memory");
    }
    int64_t last_id = INT64_MIN;
    size_t left = limit == 0 ? SIZE_MAX : limit;
    bool first = true;
    while (rc == FRUGAL_OK && left > 0) {
        size_t want = left < STORE_EACH_BATCH ? left : STORE_EACH_BATCH;
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, collection_id);
        sqlite3_bind_int64(stmt, 2, last_id);
        sqlite3_bind_text(stmt, 3, prefix, -1, SQLITE_STATIC);
        for (int i = 0; i < 6; i++)
            sqlite3_bind_text(stmt, 4 + i, range[i].ptr, (int)range[i].len, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 10, (int64_t)want);
        sqlite3_bind_int64(stmt, 11, first ? (int64_t)(offset > INT64_MAX ? INT64_MAX : offset)
                                           : 0);
        first = false;
        size_t n = 0;
        while (rc == FRUGAL_OK && n < want) {
            int src = sqlite3_step(stmt);
            if (src == SQLITE_DONE)
                break;
            if (src != SQLITE_ROW) {
                rc = db_fail(st, src, "list documents", err);
                break;
            }
            rc = document_from_row(stmt, false, &batch[n]);
            if (rc != FRUGAL_OK) {
                err_set(err, rc, "store: list documents: out of memory");
                break;
            }
            batch_chunks[n] = sqlite3_column_int64(stmt, 11);
            last_id = batch[n].id;
            n++;
        }
        sqlite3_reset(stmt);
        for (size_t i = 0; i < n; i++) {
            if (rc == FRUGAL_OK)
                rc = fn(ctx, &batch[i], batch_chunks[i]);
            document_row_release(&batch[i]);
        }
        left -= n;
        if (n < want)
            break;
    }
    frugal_free(batch);
    frugal_free(batch_chunks);
    sqlite3_finalize(stmt);
    for (int i = 0; i < 6; i++)
        buf_release(&range[i]);
    return rc;
}

/* ---- Chunks --------------------------------------------------------------------------------- */

frugal_status store_chunk_insert(struct store *st, const struct collection_row *coll,
                                 int64_t document_id, const char *title,
                                 const struct chunk_row *chunk, int64_t *chunk_id,
                                 struct err *err)
{
    if (chunk->text == NULL || chunk->text_len > (size_t)INT32_MAX)
        return err_set(err, chunk->text == NULL ? FRUGAL_EINVAL : FRUGAL_ETOOBIG,
                       "store: insert chunk: %s", chunk->text == NULL ? "no text" : "too long");
    bool own = false;
    frugal_status rc = op_begin(st, &own, "insert chunk", err);
    if (rc != FRUGAL_OK)
        return rc;
    /* The SELECT checks that the document exists and is in coll, and copies its collection id
     * into the chunk (the FTS triggers key on it). */
    rc = cached(st, &st->insert_chunk,
                "INSERT INTO chunks(document_id, collection_id, ordinal, text, heading_path, "
                "char_start, char_end, byte_start, byte_end, n_tokens) "
                "SELECT id, collection_id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM documents "
                "WHERE id = ?1 AND collection_id = ?2",
                "insert chunk", err);
    int64_t id = 0;
    if (rc == FRUGAL_OK) {
        sqlite3_stmt *stmt = st->insert_chunk;
        sqlite3_bind_int64(stmt, 1, document_id);
        sqlite3_bind_int64(stmt, 2, coll->id);
        sqlite3_bind_int(stmt, 3, chunk->ordinal);
        sqlite3_bind_text(stmt, 4, chunk->text, (int)chunk->text_len, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, chunk->heading_path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, chunk->char_start);
        sqlite3_bind_int64(stmt, 7, chunk->char_end);
        sqlite3_bind_int64(stmt, 8, chunk->byte_start);
        sqlite3_bind_int64(stmt, 9, chunk->byte_end);
        sqlite3_bind_int64(stmt, 10, chunk->n_tokens);
        rc = run(st, stmt, "insert chunk", err);
        if (rc == FRUGAL_OK && sqlite3_changes(st->db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND,
                         "store: insert chunk: no document %lld in collection '%s'",
                         (long long)document_id, coll->name != NULL ? coll->name : "?");
        id = sqlite3_last_insert_rowid(st->db);
        sqlite3_clear_bindings(stmt);
    }
    sqlite3_stmt *fts = NULL;
    if (rc == FRUGAL_OK)
        rc = fts_insert_stmt(st, coll->id, &fts, err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(fts, 1, id);
        sqlite3_bind_text(fts, 2, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(fts, 3, chunk->heading_path, -1, SQLITE_STATIC);
        sqlite3_bind_text(fts, 4, chunk->text, (int)chunk->text_len, SQLITE_STATIC);
        rc = run(st, fts, "insert chunk into the full-text index", err);
        sqlite3_clear_bindings(fts);
    }
    if (rc == FRUGAL_OK && chunk_id != NULL)
        *chunk_id = id;
    return op_end(st, own, rc, err);
}

/* ---- The change log ----------------------------------------------------------------------- */

/* Reads meta key into *out; *out unchanged when the key is missing. */
static frugal_status meta_int(struct store *st, const char *key, int64_t *out, struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = prepare(st, "SELECT value FROM meta WHERE key = ?1", &stmt, "read meta", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        int src = sqlite3_step(stmt);
        if (src == SQLITE_ROW)
            *out = sqlite3_column_int64(stmt, 0);
        else if (src != SQLITE_DONE)
            rc = db_fail(st, src, "read meta", err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static frugal_status each_chunk_row(struct store *st, sqlite3_stmt *stmt, store_chunk_fn fn,
                                    void *ctx, struct err *err)
{
    frugal_status rc = FRUGAL_OK;
    while (rc == FRUGAL_OK) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW)
            return db_fail(st, src, "read chunks", err);
        const char *text[3];
        size_t len[3];
        for (int c = 0; c < 3; c++) {
            text[c] = (const char *)sqlite3_column_text(stmt, 2 + c);
            len[c] = (size_t)sqlite3_column_bytes(stmt, 2 + c);
        }
        rc = fn(ctx, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1), text, len);
    }
    return rc;
}

frugal_status store_chunks_since(struct store *st, int64_t collection_id, int64_t since,
                                 store_chunk_fn added, store_removed_fn removed, void *ctx,
                                 int64_t *generation, struct err *err)
{
    bool own = !st->in_txn && sqlite3_get_autocommit(st->db);
    frugal_status rc = FRUGAL_OK;
    if (own)
        rc = exec(st, "BEGIN", "read chunks", err);
    if (rc != FRUGAL_OK)
        return rc;
    int64_t g = -1;
    rc = meta_int(st, "generation", &g, err);
    *generation = g;
    if (rc == FRUGAL_OK && since >= 0) {
        int64_t floor = INT64_MAX;
        rc = meta_int(st, "changes_since", &floor, err);
        char key[64];
        snprintf(key, sizeof key, "changes_floor:%lld", (long long)collection_id);
        if (rc == FRUGAL_OK)
            rc = meta_int(st, key, &floor, err);
        if (rc == FRUGAL_OK && since < floor)
            rc = FRUGAL_ENOTFOUND;
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == FRUGAL_OK && since >= 0) {
        rc = prepare(st,
                     "SELECT chunk_id FROM changes WHERE collection_id = ?1 AND generation > ?2"
                     " AND op = 0",
                     &stmt, "read changes", err);
        if (rc == FRUGAL_OK) {
            sqlite3_bind_int64(stmt, 1, collection_id);
            sqlite3_bind_int64(stmt, 2, since);
        }
        while (rc == FRUGAL_OK) {
            int src = sqlite3_step(stmt);
            if (src == SQLITE_DONE)
                break;
            if (src != SQLITE_ROW)
                rc = db_fail(st, src, "read changes", err);
            else
                rc = removed(ctx, sqlite3_column_int64(stmt, 0));
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
    if (rc == FRUGAL_OK)
        rc = prepare(st,
                     since < 0
                         ? "SELECT c.id, c.document_id, d.title, c.heading_path, c.text"
                           " FROM chunks c JOIN documents d ON d.id = c.document_id"
                           " WHERE c.collection_id = ?1 ORDER BY c.id"
                         : "SELECT c.id, c.document_id, d.title, c.heading_path, c.text"
                           " FROM chunks c JOIN documents d ON d.id = c.document_id"
                           " WHERE c.collection_id = ?1 AND c.id IN (SELECT chunk_id FROM"
                           " changes WHERE collection_id = ?1 AND generation > ?2 AND op = 1)"
                           " ORDER BY c.id",
                     &stmt, "read chunks", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, collection_id);
        if (since >= 0)
            sqlite3_bind_int64(stmt, 2, since);
        rc = each_chunk_row(st, stmt, added, ctx, err);
    }
    sqlite3_finalize(stmt);
    if (own)
        exec(st, rc == FRUGAL_OK ? "COMMIT" : "ROLLBACK", "read chunks", NULL);
    return rc;
}

frugal_status store_changes_prune(struct store *st, int64_t collection_id, int64_t upto,
                                  struct err *err)
{
    bool own = false;
    frugal_status rc = op_begin(st, &own, "prune changes", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    rc = prepare(st, "DELETE FROM changes WHERE collection_id = ?1 AND generation <= ?2", &stmt,
                 "prune changes", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, collection_id);
        sqlite3_bind_int64(stmt, 2, upto);
        rc = run(st, stmt, "prune changes", err);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == FRUGAL_OK)
        rc = prepare(st,
                     "INSERT INTO meta(key, value) VALUES ('changes_floor:' || ?1, ?2)"
                     " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                     &stmt, "prune changes", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, collection_id);
        sqlite3_bind_int64(stmt, 2, upto);
        rc = run(st, stmt, "prune changes", err);
    }
    sqlite3_finalize(stmt);
    return op_end(st, own, rc, err);
}
