/*
 * store.c - the SQLite store's core (see store.h for the schema and the contract): opening,
 * the schema and its migrations, transactions, the handle's statement and analyzer caches, and
 * the SQL helpers that the store's other files share through store_internal.h. Collections,
 * documents, chunks and the change log are in store_docs.c, search in store_search.c, vectors,
 * the answer cache, API keys and budgets in store_vectors.c, store_cache.c, store_keys.c and
 * store_budget.c.
 *
 * Opening: sqlite3_open_v2, then a read of sqlite_schema, which is where a file that is not a
 * database fails (FRUGAL_ECORRUPT). WAL, foreign keys and synchronous=NORMAL are set per
 * connection, our FTS5 tokenizer and ranking function are registered (fts.c), and the schema is
 * migrated forward: PRAGMA user_version names the schema, `migrations` lists the steps from each
 * version to the next, and they run in one IMMEDIATE transaction that re-reads the version after
 * taking the write lock (another process may have migrated meanwhile). A version newer than
 * ours is refused, never touched. PRAGMA application_id marks the file as frugal's so that
 * another program's SQLite database is refused instead of being written into. Every writable
 * open makes sure the "default" collection exists.
 *
 * Writes: every write function runs inside a transaction: the caller's (store_begin) or its own.
 * The first write of a transaction bumps meta.generation, so readers (and caches such as the
 * vector index) can tell that something changed by comparing one number. Each write function
 * also runs under a savepoint, so a failing call inside the caller's transaction leaves nothing
 * half done and the caller may still commit its other work.
 *
 * Caches: prepared statements live in slots of struct store (cached(): prepared once, reset on
 * each use, finalized by store_close); the INSERT into each collection's FTS table and each
 * collection's query analyzer are kept per collection id and forgotten when it is deleted.
 *
 * Threading: a struct store wraps one SQLite connection (opened SQLITE_OPEN_NOMUTEX) and caches
 * prepared statements and analyzers: one struct store per thread, never shared. Separate stores
 * on the same file (threads or processes) are safe: WAL lets readers run beside one writer, and
 * writers wait up to busy_timeout_ms for each other.
 */
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/fts.h"
#include "store/store_internal.h"
#include "text/analyzer.h"

#define STORE_APPLICATION_ID 0x66727567 /* "frug" */

/* ---- SQLite helpers ------------------------------------------------------------------------- */

frugal_status store_sql_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return FRUGAL_OK;
    case SQLITE_NOMEM: return FRUGAL_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return FRUGAL_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return FRUGAL_ECORRUPT;
    case SQLITE_TOOBIG: return FRUGAL_ETOOBIG;
    case SQLITE_RANGE:
    case SQLITE_MISUSE: return FRUGAL_EINTERNAL;
    default: return FRUGAL_EIO;
    }
}

/* Sets err from the connection's last error; returns the status. */
frugal_status store_sql_fail(struct store *st, int rc, const char *what, struct err *err)
{
    return err_set(err, status_of(rc), "store: %s: %s", what, sqlite3_errmsg(st->db));
}

frugal_status store_sql_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
                                const char *what, struct err *err)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
    return rc == SQLITE_OK ? FRUGAL_OK : db_fail(st, rc, what, err);
}

/* Prepares *slot once (persistent) and resets it for reuse. */
frugal_status store_sql_cached(struct store *st, sqlite3_stmt **slot, const char *sql,
                               const char *what, struct err *err)
{
    if (*slot != NULL) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return FRUGAL_OK;
    }
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    return rc == SQLITE_OK ? FRUGAL_OK : db_fail(st, rc, what, err);
}

/* Steps a statement that returns no rows to completion and resets it. */
frugal_status store_sql_run(struct store *st, sqlite3_stmt *stmt, const char *what,
                            struct err *err)
{
    int rc = sqlite3_step(stmt);
    frugal_status s = rc == SQLITE_DONE || rc == SQLITE_ROW ? FRUGAL_OK
                                                           : db_fail(st, rc, what, err);
    sqlite3_reset(stmt);
    return s;
}

static frugal_status run_cached(struct store *st, sqlite3_stmt **slot, const char *sql,
                                const char *what, struct err *err)
{
    frugal_status rc = cached(st, slot, sql, what, err);
    return rc == FRUGAL_OK ? run(st, *slot, what, err) : rc;
}

frugal_status store_sql_exec(struct store *st, const char *sql, const char *what,
                             struct err *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FRUGAL_OK : db_fail(st, rc, what, err);
}

/* Reads one integer from a one-row query. */
static frugal_status query_int(struct store *st, const char *sql, int64_t *out, const char *what,
                               struct err *err)
{
    sqlite3_stmt *stmt = NULL;
    frugal_status s = prepare(st, sql, &stmt, what, err);
    if (s == FRUGAL_OK) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(stmt, 0);
        else
            s = db_fail(st, rc, what, err);
    }
    sqlite3_finalize(stmt);
    return s;
}

/* Copies column i (NULL stays NULL; embedded NULs are kept, the copy is NUL-terminated). */
frugal_status store_sql_dup_column(sqlite3_stmt *stmt, int i, char **out)
{
    *out = NULL;
    const unsigned char *p = sqlite3_column_text(stmt, i);
    if (p == NULL)
        return sqlite3_column_type(stmt, i) == SQLITE_NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    size_t n = (size_t)sqlite3_column_bytes(stmt, i);
    char *s = frugal_malloc(n + 1);
    if (s == NULL)
        return FRUGAL_ENOMEM;
    memcpy(s, p, n);
    s[n] = '\0';
    *out = s;
    return FRUGAL_OK;
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ---- Transactions --------------------------------------------------------------------------- */

frugal_status store_begin(struct store *st, struct err *err)
{
    if (st->in_txn)
        return err_set(err, FRUGAL_EINVAL, "store: begin: a transaction is already open");
    if (st->read_only)
        return err_set(err, FRUGAL_EINVAL, "store: begin: the database is open read-only");
    frugal_status rc = run_cached(st, &st->begin, "BEGIN IMMEDIATE", "begin", err);
    if (rc == FRUGAL_OK) {
        st->in_txn = true;
        st->bumped = false;
    }
    return rc;
}

frugal_status store_commit(struct store *st, struct err *err)
{
    if (!st->in_txn)
        return err_set(err, FRUGAL_EINVAL, "store: commit: no transaction is open");
    st->in_txn = false;
    st->bumped = false;
    if (sqlite3_get_autocommit(st->db))
        return err_set(err, FRUGAL_EIO,
                       "store: commit: the transaction was rolled back after an earlier error");
    frugal_status rc = run_cached(st, &st->commit, "COMMIT", "commit", err);
    if (rc != FRUGAL_OK && !sqlite3_get_autocommit(st->db))
        run_cached(st, &st->rollback, "ROLLBACK", "rollback", NULL);
    return rc;
}

void store_rollback(struct store *st)
{
    if (st == NULL)
        return;
    if (!sqlite3_get_autocommit(st->db))
        run_cached(st, &st->rollback, "ROLLBACK", "rollback", NULL);
    st->in_txn = false;
    st->bumped = false;
}

int64_t store_generation(struct store *st)
{
    int64_t g = -1;
    if (query_int(st, "SELECT value FROM meta WHERE key = 'generation'", &g, "generation",
                  NULL) != FRUGAL_OK)
        return -1;
    return g;
}

/* Starts a write: the caller's transaction or our own (*own), the generation bump (unless
 * quiet), and a savepoint. Pair with store_write_end (op_end). */
static frugal_status write_begin(struct store *st, bool *own, const char *what, bool quiet,
                                 struct err *err)
{
    *own = false;
    if (st->read_only)
        return err_set(err, FRUGAL_EINVAL, "store: %s: the database is open read-only", what);
    frugal_status rc = FRUGAL_OK;
    if (!st->in_txn) {
        rc = store_begin(st, err);
        if (rc != FRUGAL_OK)
            return rc;
        *own = true;
    }
    if (!st->bumped && !quiet) {
        rc = run_cached(st, &st->bump,
                        "UPDATE meta SET value = value + 1 WHERE key = 'generation'", what, err);
        if (rc == FRUGAL_OK)
            st->bumped = true;
    }
    if (rc == FRUGAL_OK)
        rc = run_cached(st, &st->sp_begin, "SAVEPOINT store_op", what, err);
    if (rc != FRUGAL_OK && *own) {
        store_rollback(st);
        *own = false;
    }
    return rc;
}

frugal_status store_write_begin(struct store *st, bool *own, const char *what, struct err *err)
{
    return write_begin(st, own, what, false, err);
}

frugal_status store_write_begin_quiet(struct store *st, bool *own, const char *what,
                                      struct err *err)
{
    return write_begin(st, own, what, true, err);
}

/* Ends a write started by op_begin with the outcome rc (whose message is already in err). */
frugal_status store_write_end(struct store *st, bool own, frugal_status rc, struct err *err)
{
    if (rc == FRUGAL_OK) {
        rc = run_cached(st, &st->sp_release, "RELEASE store_op", "release savepoint", err);
    } else if (!sqlite3_get_autocommit(st->db)) {
        run_cached(st, &st->sp_rollback, "ROLLBACK TO store_op", "rollback savepoint", NULL);
        run_cached(st, &st->sp_release, "RELEASE store_op", "release savepoint", NULL);
    }
    if (own) {
        if (rc == FRUGAL_OK)
            rc = store_commit(st, err);
        else
            store_rollback(st);
    }
    return rc;
}

/* ---- Caches --------------------------------------------------------------------------------- */

void store_forget_collection(struct store *st, int64_t collection_id)
{
    for (size_t i = 0; i < st->n_fts_inserts; i++) {
        if (st->fts_inserts[i].collection_id == collection_id) {
            sqlite3_finalize(st->fts_inserts[i].stmt);
            st->fts_inserts[i] = st->fts_inserts[--st->n_fts_inserts];
            break;
        }
    }
    for (size_t i = 0; i < st->n_analyzers; i++) {
        struct analyzer_slot *a = &st->analyzers[i];
        if (a->collection_id == collection_id) {
            analyzer_free(a->analyzer);
            frugal_free(a->language);
            frugal_free(a->stopwords);
            st->analyzers[i] = st->analyzers[--st->n_analyzers];
            break;
        }
    }
}

/* The query analyzer for coll, built on first use. */
frugal_status store_collection_analyzer(struct store *st, const struct collection_row *coll,
                                        struct analyzer **out, struct err *err)
{
    for (size_t i = 0; i < st->n_analyzers; i++) {
        struct analyzer_slot *a = &st->analyzers[i];
        if (a->collection_id == coll->id && str_eq(a->language, coll->language) &&
            str_eq(a->stopwords, coll->stopwords)) {
            *out = a->analyzer;
            return FRUGAL_OK;
        }
    }
    forget_collection(st, coll->id); /* a stale entry (same id, other settings) */
    struct analyzer_slot *grown =
        frugal_reallocarray(st->analyzers, st->n_analyzers + 1, sizeof *grown);
    if (grown == NULL)
        return err_set(err, FRUGAL_ENOMEM, "store: search: out of memory");
    st->analyzers = grown;
    struct analyzer_slot slot = {.collection_id = coll->id};
    struct analyzer_opts opts = {.language = coll->language, .stopwords = coll->stopwords};
    frugal_status rc = analyzer_new(&opts, &slot.analyzer, err);
    if (rc != FRUGAL_OK)
        return err_prefix(err, "store: analyzer for collection '%s'",
                          coll->name != NULL ? coll->name : "?");
    slot.language = frugal_strdup(coll->language);
    slot.stopwords = frugal_strdup(coll->stopwords);
    if ((coll->language != NULL && slot.language == NULL) ||
        (coll->stopwords != NULL && slot.stopwords == NULL)) {
        analyzer_free(slot.analyzer);
        frugal_free(slot.language);
        frugal_free(slot.stopwords);
        return err_set(err, FRUGAL_ENOMEM, "store: search: out of memory");
    }
    st->analyzers[st->n_analyzers++] = slot;
    *out = slot.analyzer;
    return FRUGAL_OK;
}

/* The cached INSERT INTO fts_<id> statement, reset. */
frugal_status store_fts_insert_stmt(struct store *st, int64_t collection_id, sqlite3_stmt **out,
                                    struct err *err)
{
    for (size_t i = 0; i < st->n_fts_inserts; i++) {
        if (st->fts_inserts[i].collection_id == collection_id) {
            *out = st->fts_inserts[i].stmt;
            sqlite3_reset(*out);
            sqlite3_clear_bindings(*out);
            return FRUGAL_OK;
        }
    }
    struct fts_insert_slot *grown =
        frugal_reallocarray(st->fts_inserts, st->n_fts_inserts + 1, sizeof *grown);
    if (grown == NULL)
        return err_set(err, FRUGAL_ENOMEM, "store: insert chunk: out of memory");
    st->fts_inserts = grown;
    char sql[128];
    snprintf(sql, sizeof sql,
             "INSERT INTO fts_%lld(rowid, title, heading, body) VALUES (?1, ?2, ?3, ?4)",
             (long long)collection_id);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, "insert chunk", err);
    st->fts_inserts[st->n_fts_inserts].collection_id = collection_id;
    st->fts_inserts[st->n_fts_inserts].stmt = stmt;
    st->n_fts_inserts++;
    *out = stmt;
    return FRUGAL_OK;
}

/* ---- Schema and open ------------------------------------------------------------------------ */

/* migrations[i] takes the schema from version i to version i + 1. Append only. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES ('generation', 0);"
    "CREATE TABLE collections("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  language TEXT NOT NULL,"
    "  stopwords TEXT,"
    "  k1 REAL NOT NULL, b REAL NOT NULL,"
    "  title_weight REAL NOT NULL, heading_weight REAL NOT NULL, body_weight REAL NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE documents("
    "  id INTEGER PRIMARY KEY,"
    "  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    "  source TEXT NOT NULL,"
    "  ext_id TEXT,"
    "  content_hash TEXT,"
    "  size INTEGER,"
    "  mtime INTEGER,"
    "  title TEXT,"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  format TEXT,"
    "  text TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE(collection_id, source));"
    "CREATE TABLE chunks("
    "  id INTEGER PRIMARY KEY,"
    "  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    "  collection_id INTEGER NOT NULL," /* = documents.collection_id; for the FTS triggers */
    "  ordinal INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  heading_path TEXT,"
    "  char_start INTEGER, char_end INTEGER,"
    "  byte_start INTEGER, byte_end INTEGER,"
    "  n_tokens INTEGER);"
    "CREATE INDEX chunks_document ON chunks(document_id, ordinal);",
    /* 1 -> 2: the change log for derived indexes (store.h) */
    "CREATE TABLE changes("
    "  generation INTEGER NOT NULL,"
    "  collection_id INTEGER NOT NULL,"
    "  chunk_id INTEGER NOT NULL,"
    "  op INTEGER NOT NULL);" /* 1 inserted, 0 deleted */
    "CREATE INDEX changes_collection ON changes(collection_id, generation);"
    "CREATE TRIGGER changes_chunk_inserted AFTER INSERT ON chunks BEGIN "
    "  INSERT INTO changes VALUES ((SELECT value FROM meta WHERE key = 'generation'),"
    "  new.collection_id, new.id, 1); END;"
    "CREATE TRIGGER changes_chunk_deleted AFTER DELETE ON chunks BEGIN "
    "  INSERT INTO changes VALUES ((SELECT value FROM meta WHERE key = 'generation'),"
    "  old.collection_id, old.id, 0); END;"
    "INSERT INTO meta(key, value) "
    "  SELECT 'changes_since', value FROM meta WHERE key = 'generation';",
    /* 2 -> 3: dense vectors (store.h; rows written by store_vectors.c) */
    "ALTER TABLE collections ADD COLUMN embedder TEXT;"
    "ALTER TABLE collections ADD COLUMN embedder_name TEXT;"
    "ALTER TABLE collections ADD COLUMN embedder_dim INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE collections ADD COLUMN vector_type TEXT NOT NULL DEFAULT 'f32';"
    "CREATE TABLE chunk_vectors("
    "  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
    "  vector BLOB NOT NULL);",
    /* 3 -> 4: API keys for the HTTP server (store.h; rows written by store_keys.c) */
    "CREATE TABLE api_keys("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'admin')),"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE TABLE api_key_collections("
    "  key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,"
    "  collection TEXT NOT NULL,"
    "  PRIMARY KEY (key_id, collection)) WITHOUT ROWID;",
    /* 4 -> 5: the answer cache (store.h; rows written by store_cache.c) */
    "CREATE TABLE answer_cache("
    "  id INTEGER PRIMARY KEY,"
    "  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    "  question_norm TEXT NOT NULL,"
    "  question_vector BLOB,"
    "  answer TEXT NOT NULL, span TEXT, reason TEXT NOT NULL, generator TEXT,"
    "  confidence REAL NOT NULL,"
    "  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    "  cost REAL NOT NULL,"
    "  created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL,"
    "  UNIQUE(collection_id, question_norm));"
    "CREATE INDEX answer_cache_lru ON answer_cache(collection_id, last_used_at);"
    "CREATE TABLE answer_cache_citations("
    "  entry_id INTEGER NOT NULL REFERENCES answer_cache(id) ON DELETE CASCADE,"
    "  n INTEGER NOT NULL,"
    "  document_id INTEGER NOT NULL, chunk_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,"
    "  char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, score REAL NOT NULL,"
    "  source TEXT NOT NULL, ext_id TEXT, title TEXT, heading_path TEXT NOT NULL,"
    "  snippet TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, n)) WITHOUT ROWID;"
    "CREATE TABLE answer_cache_documents("
    "  entry_id INTEGER NOT NULL REFERENCES answer_cache(id) ON DELETE CASCADE,"
    "  document_id INTEGER NOT NULL,"
    "  PRIMARY KEY (entry_id, document_id)) WITHOUT ROWID;"
    "CREATE INDEX answer_cache_documents_doc ON answer_cache_documents(document_id);"
    "CREATE TRIGGER answer_cache_chunk_deleted AFTER DELETE ON chunks BEGIN "
    "  DELETE FROM answer_cache WHERE id IN (SELECT entry_id FROM answer_cache_documents "
    "  WHERE document_id = old.document_id); END;"
    "CREATE TRIGGER answer_cache_document_updated AFTER UPDATE ON documents BEGIN "
    "  DELETE FROM answer_cache WHERE id IN (SELECT entry_id FROM answer_cache_documents "
    "  WHERE document_id = old.id); END;"
    "CREATE TRIGGER answer_cache_document_deleted AFTER DELETE ON documents BEGIN "
    "  DELETE FROM answer_cache WHERE id IN (SELECT entry_id FROM answer_cache_documents "
    "  WHERE document_id = old.id); END;",
    /* 5 -> 6: persistent budgets (store.h; rows written by store_budget.c) */
    "CREATE TABLE budgets("
    "  scope TEXT NOT NULL CHECK (scope IN ('collection', 'key')),"
    "  target TEXT NOT NULL,"
    "  amount REAL NOT NULL CHECK (amount >= 0),"
    "  spent REAL NOT NULL DEFAULT 0,"
    "  period TEXT NOT NULL DEFAULT 'lifetime' CHECK (period IN ('lifetime', 'day', 'month')),"
    "  period_start INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, target)) WITHOUT ROWID;",
};
#define STORE_N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(STORE_N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

static frugal_status set_version_pragmas(struct store *st, int version, struct err *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d", version,
             STORE_APPLICATION_ID);
    return exec(st, sql, "migrate", err);
}

static frugal_status check_version(struct store *st, int64_t version, struct err *err)
{
    if (version > STORE_SCHEMA_VERSION)
        return err_set(err, FRUGAL_EVERSION,
                       "%s: database schema version %lld is newer than this frugal supports "
                       "(%d); upgrade frugal",
                       st->path, (long long)version, STORE_SCHEMA_VERSION);
    return FRUGAL_OK;
}

static frugal_status migrate(struct store *st, struct err *err)
{
    int64_t version = 0;
    int64_t app_id = 0;
    int64_t n_objects = 0;
    frugal_status rc = query_int(st, "PRAGMA user_version", &version, "read schema version", err);
    if (rc == FRUGAL_OK)
        rc = query_int(st, "PRAGMA application_id", &app_id, "read application id", err);
    if (rc == FRUGAL_OK)
        rc = query_int(st, "SELECT count(*) FROM sqlite_schema", &n_objects, "read schema", err);
    if (rc == FRUGAL_OK)
        rc = check_version(st, version, err);
    if (rc != FRUGAL_OK)
        return rc;
    if ((app_id != 0 && app_id != STORE_APPLICATION_ID) || (app_id == 0 && n_objects > 0))
        return err_set(err, FRUGAL_ECORRUPT,
                       "%s: this SQLite database was not made by frugal; refusing to use it",
                       st->path);
    if (version == STORE_SCHEMA_VERSION)
        return FRUGAL_OK;
    if (st->read_only)
        return err_set(err, FRUGAL_EVERSION,
                       "%s: database schema version %lld is older than this frugal's (%d); "
                       "open it once for writing to upgrade it",
                       st->path, (long long)version, STORE_SCHEMA_VERSION);

    rc = store_begin(st, err);
    if (rc != FRUGAL_OK)
        return rc;
    /* Another process may have migrated between our read and our lock. */
    rc = query_int(st, "PRAGMA user_version", &version, "read schema version", err);
    if (rc == FRUGAL_OK)
        rc = check_version(st, version, err);
    if (rc == FRUGAL_OK && version < STORE_SCHEMA_VERSION) {
        log_info("%s: migrating database schema from version %lld to %d", st->path,
                 (long long)version, STORE_SCHEMA_VERSION);
        for (int64_t v = version; rc == FRUGAL_OK && v < STORE_SCHEMA_VERSION; v++)
            rc = exec(st, migrations[v], "migrate", err);
        if (rc == FRUGAL_OK)
            rc = set_version_pragmas(st, STORE_SCHEMA_VERSION, err);
    }
    if (rc == FRUGAL_OK)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    return rc;
}

static frugal_status configure(struct store *st, int busy_timeout_ms, struct err *err)
{
    sqlite3_busy_timeout(st->db, busy_timeout_ms);
    /* The first read of the file: where a non-database fails. */
    int64_t n = 0;
    frugal_status rc = query_int(st, "SELECT count(*) FROM sqlite_schema", &n, "open", err);
    if (rc == FRUGAL_ECORRUPT)
        return err_set(err, FRUGAL_ECORRUPT, "%s: not a SQLite database (or it is damaged): %s",
                       st->path, sqlite3_errmsg(st->db));
    if (rc != FRUGAL_OK)
        return err_prefix(err, "%s", st->path);
    if (!st->read_only) {
        rc = exec(st, "PRAGMA journal_mode = WAL", "enable WAL", err);
        if (rc == FRUGAL_OK)
            rc = exec(st, "PRAGMA synchronous = NORMAL", "set synchronous", err);
    }
    if (rc == FRUGAL_OK)
        rc = exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys", err);
    if (rc == FRUGAL_OK)
        rc = fts_register(st->db, err);
    return rc;
}

frugal_status store_open(const char *path, const struct store_opts *opts, struct store **out,
                         struct err *err)
{
    *out = NULL;
    bool read_only = opts != NULL && opts->read_only;
    int busy_timeout_ms = opts != NULL ? opts->busy_timeout_ms : 5000;
    if (busy_timeout_ms < 0)
        busy_timeout_ms = 0;
    if (path == NULL || path[0] == '\0')
        return err_set(err, FRUGAL_EINVAL, "store: open: no database path");
    if (read_only && access(path, F_OK) != 0)
        return err_set(err, FRUGAL_ENOTFOUND, "%s: no such database", path);

    struct store *st = frugal_calloc(1, sizeof *st);
    if (st == NULL)
        return err_set(err, FRUGAL_ENOMEM, "store: open: out of memory");
    st->read_only = read_only;
    st->path = frugal_strdup(path);
    if (st->path == NULL) {
        frugal_free(st);
        return err_set(err, FRUGAL_ENOMEM, "store: open: out of memory");
    }
    int flags = SQLITE_OPEN_NOMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    frugal_status rc = FRUGAL_OK;
    int src = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (src != SQLITE_OK) {
        if (st->db == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "store: open: out of memory");
        else
            rc = err_set(err, status_of(src), "%s: cannot open database: %s", path,
                         sqlite3_errmsg(st->db));
    }
    if (rc == FRUGAL_OK)
        rc = configure(st, busy_timeout_ms, err);
    if (rc == FRUGAL_OK)
        rc = migrate(st, err);
    if (rc == FRUGAL_OK && !read_only) {
        struct collection_row def = {0};
        rc = store_collection_ensure(st, "default", &def, err);
        collection_row_release(&def);
    }
    if (rc != FRUGAL_OK) {
        store_close(st);
        return rc;
    }
    *out = st;
    return FRUGAL_OK;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    if (st->db != NULL && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    while (st->n_fts_inserts > 0)
        forget_collection(st, st->fts_inserts[0].collection_id);
    while (st->n_analyzers > 0)
        forget_collection(st, st->analyzers[0].collection_id);
    frugal_free(st->fts_inserts);
    frugal_free(st->analyzers);
    sqlite3_stmt *stmts[] = {st->begin,       st->commit,          st->rollback,
                             st->sp_begin,    st->sp_release,      st->sp_rollback,
                             st->bump,        st->find_document,   st->insert_document,
                             st->check_json,  st->insert_chunk,    st->hit_details,
                             st->budget_get,  st->budget_charge};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(stmts[i]);
    for (size_t i = 0; i < STORE_KEY_STMTS; i++)
        sqlite3_finalize(st->key_stmts[i]);
    sqlite3_close_v2(st->db);
    frugal_free(st->path);
    frugal_free(st);
}

struct sqlite3 *store_db(struct store *st)
{
    return st->db;
}
