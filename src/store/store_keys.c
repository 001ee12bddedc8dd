/*
 * store_keys.c - the API-key part of the store (schema 4, see store.h): hashed keys with a role
 * and the collections they are limited to, for the HTTP server's authentication.
 *
 * How: plain SQL on the store's connection. A key is stored as the hex SHA-256 of its text, so
 * a copy of the database never yields a usable key; lookups go by that hash (UNIQUE index).
 * Collections a key is limited to live in api_key_collections, one row per name, written in
 * the same transaction as the key (store_write_begin/end), so a key is never visible without
 * its limits. Revoking keeps the row (revoked_at set) for the audit trail of `keys list`.
 *
 * store_key_find runs on every authenticated HTTP request, so its two statements (the key by
 * hash, its collections) are prepared once per handle into the slots store_internal.h reserves
 * for this file (key_stmts, finalized by store_close) and reset after each use, so that no
 * statement keeps a read transaction open between requests. Creating, listing and revoking
 * keys are rare and prepare their statements each time.
 *
 * Why a file of its own: store.c is past the size the house style wants; keys are a separate
 * concern that only src/frugal_keys.c uses.
 *
 * Threading: like store.c, one struct store per thread; nothing here is shared.
 */
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "store/store.h"
#include "store/store_internal.h"

/* Slots of struct store's key_stmts. */
enum { KEY_STMT_FIND, KEY_STMT_COLLECTIONS, KEY_STMT_COUNT };
_Static_assert(KEY_STMT_COUNT <= STORE_KEY_STMTS, "store_internal.h reserves too few key slots");

static const char *const role_names[] = {"reader", "writer", "admin"};

static frugal_status sql_fail(sqlite3 *db, const char *what, struct err *err)
{
    int code = sqlite3_errcode(db) & 0xff;
    frugal_status rc = code == SQLITE_NOMEM                             ? FRUGAL_ENOMEM
                       : code == SQLITE_BUSY || code == SQLITE_LOCKED ? FRUGAL_EBUSY
                       : code == SQLITE_CONSTRAINT                      ? FRUGAL_EEXIST
                                                                        : FRUGAL_EIO;
    return err_set(err, rc, "store: %s: %s", what, sqlite3_errmsg(db));
}

static int role_of(const unsigned char *text)
{
    for (int i = 0; i < 3; i++) {
        if (text != NULL && strcmp((const char *)text, role_names[i]) == 0)
            return i;
    }
    return 0; /* the CHECK constraint allows nothing else; the least privilege otherwise */
}

void store_key_row_release(struct store_key_row *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n_collections; i++)
        frugal_free(k->collections[i]);
    frugal_free(k->collections);
    k->collections = NULL;
    k->n_collections = 0;
}

frugal_status store_key_insert(struct store *st, const char *hash_hex, int role,
                               const char *const *collections, size_t n_collections,
                               int64_t *id_out, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    bool own = false;
    int64_t id = 0;
    if (role < 0 || role > 2)
        return err_set(err, FRUGAL_EINVAL, "unknown key role %d", role);
    frugal_status rc = store_write_begin(st, &own, "create key", err);
    if (rc != FRUGAL_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO api_keys(hash, role, created_at) VALUES (?1, ?2, ?3)",
                           -1, &stmt, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "create key", err);
    } else {
        sqlite3_bind_text(stmt, 1, hash_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, role_names[role], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, (int64_t)time(NULL));
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "create key", err);
        else
            id = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == FRUGAL_OK && n_collections > 0 &&
        sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO api_key_collections(key_id, collection) "
                           "VALUES (?1, ?2)",
                           -1, &stmt, NULL) != SQLITE_OK)
        rc = sql_fail(db, "create key", err);
    for (size_t i = 0; rc == FRUGAL_OK && i < n_collections; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_text(stmt, 2, collections[i], -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "create key", err);
    }
    sqlite3_finalize(stmt);
    rc = store_write_end(st, own, rc, err);
    if (rc == FRUGAL_OK && id_out != NULL)
        *id_out = id;
    return rc;
}

/* Fills k->collections from api_key_collections (the handle's cached statement). */
static frugal_status load_collections(struct store *st, struct store_key_row *k, struct err *err)
{
    sqlite3 *db = store_db(st);
    frugal_status rc = cached(st, &st->key_stmts[KEY_STMT_COLLECTIONS],
                              "SELECT collection FROM api_key_collections WHERE key_id = ?1 "
                              "ORDER BY collection",
                              "read key", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = st->key_stmts[KEY_STMT_COLLECTIONS];
    sqlite3_bind_int64(stmt, 1, k->id);
    int step;
    while (rc == FRUGAL_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        char **grown = frugal_reallocarray(k->collections, k->n_collections + 1, sizeof *grown);
        if (grown == NULL) {
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
            break;
        }
        k->collections = grown;
        grown[k->n_collections] = frugal_strdup((const char *)sqlite3_column_text(stmt, 0));
        if (grown[k->n_collections] == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        else
            k->n_collections++;
    }
    if (rc == FRUGAL_OK && step != SQLITE_DONE)
        rc = sql_fail(db, "read key", err);
    sqlite3_reset(stmt);
    return rc;
}

static void row_from_stmt(sqlite3_stmt *stmt, struct store_key_row *k)
{
    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(stmt, 0);
    k->role = role_of(sqlite3_column_text(stmt, 1));
    k->created_at = sqlite3_column_int64(stmt, 2);
    k->revoked_at = sqlite3_column_int64(stmt, 3);
}

frugal_status store_key_list(struct store *st, struct store_key_row **out, size_t *n_out,
                             struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    struct store_key_row *v = NULL;
    size_t n = 0;
    frugal_status rc = FRUGAL_OK;
    *out = NULL;
    *n_out = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, role, created_at, coalesce(revoked_at, 0) FROM api_keys "
                           "ORDER BY id",
                           -1, &stmt, NULL) != SQLITE_OK)
        return sql_fail(db, "list keys", err);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_key_row *grown = frugal_reallocarray(v, n + 1, sizeof *grown);
        if (grown == NULL) {
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
            break;
        }
        v = grown;
        row_from_stmt(stmt, &v[n++]);
    }
    if (rc == FRUGAL_OK && step != SQLITE_DONE)
        rc = sql_fail(db, "list keys", err);
    sqlite3_finalize(stmt);
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++)
        rc = load_collections(st, &v[i], err);
    if (rc != FRUGAL_OK) {
        for (size_t i = 0; i < n; i++)
            store_key_row_release(&v[i]);
        frugal_free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return FRUGAL_OK;
}

frugal_status store_key_revoke(struct store *st, int64_t id, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *stmt = NULL;
    bool own = false;
    frugal_status rc = store_write_begin(st, &own, "revoke key", err);
    if (rc != FRUGAL_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND "
                           "revoked_at IS NULL",
                           -1, &stmt, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "revoke key", err);
    } else {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, (int64_t)time(NULL));
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = sql_fail(db, "revoke key", err);
        else if (sqlite3_changes(db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND, "no valid key with id %lld", (long long)id);
    }
    sqlite3_finalize(stmt);
    return store_write_end(st, own, rc, err);
}

frugal_status store_key_find(struct store *st, const char *hash_hex, struct store_key_row *out,
                             struct err *err)
{
    sqlite3 *db = store_db(st);
    memset(out, 0, sizeof *out);
    frugal_status rc = cached(st, &st->key_stmts[KEY_STMT_FIND],
                              "SELECT id, role, created_at, 0 FROM api_keys WHERE hash = ?1 AND "
                              "revoked_at IS NULL",
                              "check key", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = st->key_stmts[KEY_STMT_FIND];
    sqlite3_bind_text(stmt, 1, hash_hex, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        row_from_stmt(stmt, out);
    else if (step == SQLITE_DONE)
        rc = FRUGAL_ENOTFOUND;
    else
        rc = sql_fail(db, "check key", err);
    sqlite3_reset(stmt); /* ends the read: nothing stays open between requests */
    if (rc == FRUGAL_OK)
        rc = load_collections(st, out, err);
    if (rc != FRUGAL_OK)
        store_key_row_release(out);
    return rc;
}
