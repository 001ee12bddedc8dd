/*
 * store_vectors.c - the dense-vector part of the store (schema 3, see store.h): a collection's
 * embedder settings and the chunk_vectors table, the source of truth of the vector index.
 *
 * How: plain SQL on the store's connection (store_db). Writes go through store_write_begin /
 * store_write_end, so they join the caller's transaction: the ingestion pipeline inserts a
 * chunk and its vector in the same transaction, and a kill -9 leaves both or neither. Vectors
 * are float32 blobs in the machine's byte order (little-endian on every platform frugal builds
 * for), exactly embedder_dim of them; a blob of another length is reported as corrupt, never
 * read past. Deletes need no code here: chunk_vectors references chunks ON DELETE CASCADE, and
 * the changes log (schema 2) already records which chunks went, which is what the vector index
 * reads to catch up (store_vectors_since mirrors store_chunks_since).
 *
 * Why a file of its own: store.c is past the size the house style wants, and vectors are a
 * separate concern that only the pipeline and src/query/dense.c use.
 *
 * Threading: like store.c, one struct store per thread; nothing here is shared.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/store.h"

static frugal_status sql_fail(sqlite3 *db, const char *what, struct err *err)
{
    int code = sqlite3_errcode(db) & 0xff;
    frugal_status rc = code == SQLITE_NOMEM                             ? FRUGAL_ENOMEM
                       : code == SQLITE_BUSY || code == SQLITE_LOCKED ? FRUGAL_EBUSY
                       : code == SQLITE_CORRUPT                         ? FRUGAL_ECORRUPT
                                                                        : FRUGAL_EIO;
    return err_set(err, rc, "store: %s: %s", what, sqlite3_errmsg(db));
}

frugal_status store_collection_set_embedder(struct store *st, int64_t coll_id, const char *spec,
                                            const char *name, int64_t dim,
                                            const char *vector_type, bool require_empty,
                                            struct err *err)
{
    sqlite3 *db = store_db(st);
    bool own = false;
    frugal_status rc = store_write_begin(st, &own, "set embedder", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    if (require_empty) {
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM chunks WHERE collection_id = ?1", -1,
                               &stmt, NULL) != SQLITE_OK) {
            rc = sql_fail(db, "set embedder", err);
        } else {
            sqlite3_bind_int64(stmt, 1, coll_id);
            if (sqlite3_step(stmt) != SQLITE_ROW)
                rc = sql_fail(db, "set embedder", err);
            else if (sqlite3_column_int64(stmt, 0) > 0)
                rc = err_set(err, FRUGAL_EINVAL,
                             "the collection already holds %lld chunks without vectors; create "
                             "a new collection with an embedder and ingest into it (or delete "
                             "its documents first)",
                             (long long)sqlite3_column_int64(stmt, 0));
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
    if (rc == FRUGAL_OK &&
        sqlite3_prepare_v2(db,
                           "UPDATE collections SET embedder = ?1, embedder_name = ?2, "
                           "embedder_dim = ?3, vector_type = ?4 WHERE id = ?5",
                           -1, &stmt, NULL) != SQLITE_OK)
        rc = sql_fail(db, "set embedder", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, spec, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, dim);
        sqlite3_bind_text(stmt, 4, vector_type != NULL ? vector_type : "f32", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, coll_id);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "set embedder", err);
        else if (sqlite3_changes(db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND, "store: no collection with id %lld",
                         (long long)coll_id);
    }
    sqlite3_finalize(stmt);
    return store_write_end(st, own, rc, err);
}

frugal_status store_vector_put(struct store *st, int64_t chunk_id, const float *vec, size_t dim,
                               struct err *err)
{
    sqlite3 *db = store_db(st);
    bool own = false;
    frugal_status rc = store_write_begin(st, &own, "store vector", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO chunk_vectors(chunk_id, vector) "
                               "VALUES (?1, ?2)",
                           -1, &stmt, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "store vector", err);
    } else {
        sqlite3_bind_int64(stmt, 1, chunk_id);
        sqlite3_bind_blob(stmt, 2, vec, (int)(dim * sizeof *vec), SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "store vector", err);
    }
    sqlite3_finalize(stmt);
    return store_write_end(st, own, rc, err);
}

static frugal_status meta_value(sqlite3 *db, const char *key, int64_t *out, struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &stmt, NULL) !=
        SQLITE_OK)
        return sql_fail(db, "read meta", err);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    frugal_status rc = FRUGAL_OK;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else if (s != SQLITE_DONE)
        rc = sql_fail(db, "read meta", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* Feeds the (chunk_id, vector) rows of stmt to fn, checking each blob's length. */
static frugal_status each_vector(sqlite3 *db, sqlite3_stmt *stmt, size_t dim, float *scratch,
                                 store_vector_fn fn, void *ctx, struct err *err)
{
    frugal_status rc = FRUGAL_OK;
    while (rc == FRUGAL_OK) {
        int s = sqlite3_step(stmt);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW)
            return sql_fail(db, "read vectors", err);
        int64_t id = sqlite3_column_int64(stmt, 0);
        const void *blob = sqlite3_column_blob(stmt, 1);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
        if (len != dim * sizeof(float) || blob == NULL)
            return err_set(err, FRUGAL_ECORRUPT,
                           "store: the vector of chunk %lld has %zu bytes, expected %zu (%zu "
                           "floats)",
                           (long long)id, len, dim * sizeof(float), dim);
        memcpy(scratch, blob, len); /* the blob may be unaligned */
        rc = fn(ctx, id, scratch);
    }
    return rc;
}

frugal_status store_vectors_since(struct store *st, int64_t collection_id, size_t dim,
                                  int64_t since, store_vector_fn added, store_removed_fn removed,
                                  void *ctx, int64_t *generation, struct err *err)
{
    sqlite3 *db = store_db(st);
    bool own = sqlite3_get_autocommit(db) != 0;
    float *scratch = frugal_calloc(dim > 0 ? dim : 1, sizeof *scratch);
    if (scratch == NULL)
        return err_set(err, FRUGAL_ENOMEM, "store: read vectors: out of memory");
    frugal_status rc = FRUGAL_OK;
    if (own && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(db, "read vectors", err);
    int64_t g = -1;
    if (rc == FRUGAL_OK)
        rc = meta_value(db, "generation", &g, err);
    *generation = g;
    if (rc == FRUGAL_OK && since >= 0) {
        int64_t floor = INT64_MAX;
        char key[64];
        snprintf(key, sizeof key, "changes_floor:%lld", (long long)collection_id);
        rc = meta_value(db, "changes_since", &floor, err);
        if (rc == FRUGAL_OK)
            rc = meta_value(db, key, &floor, err);
        if (rc == FRUGAL_OK && since < floor)
            rc = FRUGAL_ENOTFOUND;
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == FRUGAL_OK && since >= 0) {
        if (sqlite3_prepare_v2(db,
                               "SELECT chunk_id FROM changes WHERE collection_id = ?1 AND "
                               "generation > ?2 AND op = 0",
                               -1, &stmt, NULL) != SQLITE_OK)
            rc = sql_fail(db, "read changes", err);
        if (rc == FRUGAL_OK) {
            sqlite3_bind_int64(stmt, 1, collection_id);
            sqlite3_bind_int64(stmt, 2, since);
        }
        while (rc == FRUGAL_OK) {
            int s = sqlite3_step(stmt);
            if (s == SQLITE_DONE)
                break;
            if (s != SQLITE_ROW)
                rc = sql_fail(db, "read changes", err);
            else
                rc = removed(ctx, sqlite3_column_int64(stmt, 0));
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
    if (rc == FRUGAL_OK &&
        sqlite3_prepare_v2(db,
                           since < 0 ? "SELECT v.chunk_id, v.vector FROM chunk_vectors v"
                                       " JOIN chunks c ON c.id = v.chunk_id"
                                       " WHERE c.collection_id = ?1 ORDER BY v.chunk_id"
                                     : "SELECT v.chunk_id, v.vector FROM chunk_vectors v"
                                       " JOIN chunks c ON c.id = v.chunk_id"
                                       " WHERE c.collection_id = ?1 AND v.chunk_id IN"
                                       " (SELECT chunk_id FROM changes WHERE collection_id = ?1"
                                       " AND generation > ?2 AND op = 1) ORDER BY v.chunk_id",
                           -1, &stmt, NULL) != SQLITE_OK)
        rc = sql_fail(db, "read vectors", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, 1, collection_id);
        if (since >= 0)
            sqlite3_bind_int64(stmt, 2, since);
        rc = each_vector(db, stmt, dim, scratch, added, ctx, err);
    }
    sqlite3_finalize(stmt);
    if (own)
        sqlite3_exec(db, rc == FRUGAL_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    frugal_free(scratch);
    return rc;
}

frugal_status store_chunk_documents(struct store *st, const int64_t *chunk_ids, size_t n,
                                    int64_t *doc_ids, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT document_id FROM chunks WHERE id = ?1", -1, &stmt, NULL) !=
        SQLITE_OK)
        return sql_fail(db, "read chunks", err);
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, chunk_ids[i]);
        int s = sqlite3_step(stmt);
        if (s == SQLITE_ROW)
            doc_ids[i] = sqlite3_column_int64(stmt, 0);
        else if (s == SQLITE_DONE)
            doc_ids[i] = 0;
        else
            rc = sql_fail(db, "read chunks", err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

frugal_status store_vectors_get(struct store *st, const int64_t *chunk_ids, size_t n, size_t dim,
                                float *out, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT vector FROM chunk_vectors WHERE chunk_id = ?1", -1, &stmt,
                           NULL) != SQLITE_OK)
        return sql_fail(db, "read vectors", err);
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        float *row = out + i * dim;
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, chunk_ids[i]);
        int s = sqlite3_step(stmt);
        if (s == SQLITE_DONE) {
            memset(row, 0, dim * sizeof *row);
        } else if (s != SQLITE_ROW) {
            rc = sql_fail(db, "read vectors", err);
        } else {
            const void *blob = sqlite3_column_blob(stmt, 0);
            size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
            if (len != dim * sizeof(float) || blob == NULL)
                rc = err_set(err, FRUGAL_ECORRUPT,
                             "store: the vector of chunk %lld has %zu bytes, expected %zu",
                             (long long)chunk_ids[i], len, dim * sizeof(float));
            else
                memcpy(row, blob, len); /* the blob may be unaligned */
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}
