/*
 * store_internal.h - what the files of the store (store.c, store_docs.c, store_search.c,
 * store_budget.c and any other store_*.c that wants them) share beyond store.h: the handle's
 * layout and the SQLite helpers. Not for use outside src/store.
 *
 * Contract: the helpers are defined once in store.c under store_sql_* names (the library's
 * symbol check allows the store_ prefix only) and reached here through static inline functions
 * with the short names the store's code has always used (cached, prepare, run, exec, ...), so
 * that moving code between the store's files changes no line of it.
 *   - db_fail sets err from the connection's last error ("store: WHAT: sqlite message") and
 *     returns the status it maps to (status_of: BUSY/LOCKED -> EBUSY, NOMEM -> ENOMEM,
 *     CORRUPT/NOTADB -> ECORRUPT, TOOBIG -> ETOOBIG, else EIO).
 *   - prepare: a one-off statement (the caller finalizes it).
 *   - cached(st, &slot, sql, what, err): prepares *slot once (SQLITE_PREPARE_PERSISTENT) on
 *     the handle and resets it and clears its bindings on every later call; store_close
 *     finalizes every slot of struct store (add new slots there and to store_close's list).
 *   - run steps a statement that returns no rows and resets it; exec runs SQL text.
 *   - op_begin/op_end: store_write_begin/end (a write in the caller's transaction or its own,
 *     the generation bump, a savepoint).
 *
 * Threading: as store.h, one struct store per thread.
 */
#ifndef FRUGAL_STORE_STORE_INTERNAL_H
#define FRUGAL_STORE_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_MAX_NAME 128
#define STORE_KEY_STMTS 4 /* statement slots reserved for store_keys.c */

struct fts_insert_slot {
    int64_t collection_id;
    sqlite3_stmt *stmt; /* INSERT INTO fts_<id> */
};

struct analyzer_slot {
    int64_t collection_id;
    char *language;  /* owned; what the analyzer was built from */
    char *stopwords; /* owned; NULL = default */
    struct analyzer *analyzer;
};

struct store {
    sqlite3 *db;
    char *path; /* owned, for messages */
    bool read_only;
    bool in_txn; /* inside store_begin or a write function's own transaction */
    bool bumped; /* meta.generation already bumped in this transaction */
    /* cached statements (NULL until first used) */
    sqlite3_stmt *begin, *commit, *rollback, *sp_begin, *sp_release, *sp_rollback, *bump;
    sqlite3_stmt *find_document, *insert_document, *check_json, *insert_chunk, *hit_details;
    sqlite3_stmt *budget_get, *budget_charge; /* store_budget.c */
    sqlite3_stmt *key_stmts[STORE_KEY_STMTS]; /* free for store_keys.c to use with cached() */
    struct fts_insert_slot *fts_inserts; /* (n_fts_inserts) */
    size_t n_fts_inserts;
    struct analyzer_slot *analyzers; /* (n_analyzers) */
    size_t n_analyzers;
};

/* Defined in store.c; use the short names below. */
frugal_status store_sql_status(int rc);
frugal_status store_sql_fail(struct store *st, int rc, const char *what, struct err *err);
frugal_status store_sql_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
                                const char *what, struct err *err);
frugal_status store_sql_cached(struct store *st, sqlite3_stmt **slot, const char *sql,
                               const char *what, struct err *err);
frugal_status store_sql_run(struct store *st, sqlite3_stmt *stmt, const char *what,
                            struct err *err);
frugal_status store_sql_exec(struct store *st, const char *sql, const char *what,
                             struct err *err);
/* Copies column i (NULL stays NULL; embedded NULs are kept, the copy is NUL-terminated). */
frugal_status store_sql_dup_column(sqlite3_stmt *stmt, int i, char **out);
/* Drops the handle's cached FTS insert statement and analyzer of a collection. */
void store_forget_collection(struct store *st, int64_t collection_id);
/* The cached INSERT INTO fts_<id> statement, reset. */
frugal_status store_fts_insert_stmt(struct store *st, int64_t collection_id, sqlite3_stmt **out,
                                    struct err *err);

static inline frugal_status status_of(int rc)
{
    return store_sql_status(rc);
}

static inline frugal_status db_fail(struct store *st, int rc, const char *what, struct err *err)
{
    return store_sql_fail(st, rc, what, err);
}

static inline frugal_status prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
                                    const char *what, struct err *err)
{
    return store_sql_prepare(st, sql, stmt, what, err);
}

static inline frugal_status cached(struct store *st, sqlite3_stmt **slot, const char *sql,
                                   const char *what, struct err *err)
{
    return store_sql_cached(st, slot, sql, what, err);
}

static inline frugal_status run(struct store *st, sqlite3_stmt *stmt, const char *what,
                                struct err *err)
{
    return store_sql_run(st, stmt, what, err);
}

static inline frugal_status exec(struct store *st, const char *sql, const char *what,
                                 struct err *err)
{
    return store_sql_exec(st, sql, what, err);
}

static inline frugal_status dup_column(sqlite3_stmt *stmt, int i, char **out)
{
    return store_sql_dup_column(stmt, i, out);
}

static inline frugal_status op_begin(struct store *st, bool *own, const char *what,
                                     struct err *err)
{
    return store_write_begin(st, own, what, err);
}

static inline frugal_status op_end(struct store *st, bool own, frugal_status rc,
                                   struct err *err)
{
    return store_write_end(st, own, rc, err);
}

static inline void forget_collection(struct store *st, int64_t collection_id)
{
    store_forget_collection(st, collection_id);
}

static inline frugal_status fts_insert_stmt(struct store *st, int64_t collection_id,
                                            sqlite3_stmt **out, struct err *err)
{
    return store_fts_insert_stmt(st, collection_id, out, err);
}

static inline frugal_status collection_analyzer(struct store *st,
                                                const struct collection_row *coll,
                                                struct analyzer **out, struct err *err)
{
    return store_collection_analyzer(st, coll, out, err);
}

#endif
