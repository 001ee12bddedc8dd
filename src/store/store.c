/*
 * store.c - the SQLite store (see store.h for the schema and the contract).
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
 * Full text: one FTS5 table fts_<collection id> per collection, created and dropped with it. Its
 * tokenizer arguments come from the collection's language and stopwords, which therefore cannot
 * change after creation. chunks.collection_id duplicates documents.collection_id so that the
 * per-collection trigger that deletes FTS rows can tell which table a deleted chunk belongs to
 * without looking at its document (which ON DELETE CASCADE may already have removed).
 * store_document_delete deletes the chunks explicitly before the document so that the triggers
 * fire in the plainest way; deleting a collection drops its trigger and FTS table first.
 * Collection ids are AUTOINCREMENT: an id is never reused, so fts_<id>, cached statements and
 * other connections' caches can never point at the wrong collection.
 *
 * Search runs in two phases: the first query ranks (rowid, score, document) in FTS5 with the
 * metadata filters applied, sorted by score; only the k winners are then read in full (text,
 * metadata) and given a snippet, so a common term matching 100k chunks sorts three numbers per
 * row, not their texts. Snippets come from snippet.c, which finds the query's terms in the text
 * just read with the collection's analyzer: the same excerpt FTS5's snippet() gives, without the
 * per-hit `MATCH ... AND rowid = ?` query that re-ran the whole query over the index for each
 * hit (~0.5 ms a hit on SciFact, most of a /v1/search request).
 *
 * Threading: a struct store wraps one SQLite connection (opened SQLITE_OPEN_NOMUTEX) and caches
 * prepared statements and analyzers: one struct store per thread, never shared. Separate stores
 * on the same file (threads or processes) are safe: WAL lets readers run beside one writer, and
 * writers wait up to busy_timeout_ms for each other.
 */
#include "store/store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/fts.h"
#include "store/snippet.h"
#include "text/analyzer.h"

#define STORE_APPLICATION_ID 0x66727567 /* "frug" */
#define STORE_MAX_NAME 128
#define STORE_MAX_QUERY_TERMS 1024
#define STORE_MAX_FILTER_VALUES 1000
#define STORE_EACH_BATCH 256
#define STORE_SNIPPET_TOKENS 24 /* terms per snippet, as FTS5 snippet()'s last argument was */

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
    struct fts_insert_slot *fts_inserts; /* (n_fts_inserts) */
    size_t n_fts_inserts;
    struct analyzer_slot *analyzers; /* (n_analyzers) */
    size_t n_analyzers;
};

/* ---- SQLite helpers ------------------------------------------------------------------------- */

static frugal_status status_of(int rc)
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
static frugal_status db_fail(struct store *st, int rc, const char *what, struct err *err)
{
    return err_set(err, status_of(rc), "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static frugal_status prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
                             const char *what, struct err *err)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
    return rc == SQLITE_OK ? FRUGAL_OK : db_fail(st, rc, what, err);
}

/* Prepares *slot once (persistent) and resets it for reuse. */
static frugal_status cached(struct store *st, sqlite3_stmt **slot, const char *sql,
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
static frugal_status run(struct store *st, sqlite3_stmt *stmt, const char *what, struct err *err)
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

static frugal_status exec(struct store *st, const char *sql, const char *what, struct err *err)
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
static frugal_status dup_column(sqlite3_stmt *stmt, int i, char **out)
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

/* Starts a write: the caller's transaction or our own (*own), the generation bump, and a
 * savepoint. Pair with op_end. */
static frugal_status op_begin(struct store *st, bool *own, const char *what, struct err *err)
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
    if (!st->bumped) {
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

/* Ends a write started by op_begin with the outcome rc (whose message is already in err). */
static frugal_status op_end(struct store *st, bool own, frugal_status rc, struct err *err)
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

frugal_status store_write_begin(struct store *st, bool *own, const char *what, struct err *err)
{
    return op_begin(st, own, what, err);
}

frugal_status store_write_end(struct store *st, bool own, frugal_status rc, struct err *err)
{
    return op_end(st, own, rc, err);
}

/* ---- Caches --------------------------------------------------------------------------------- */

static void forget_collection(struct store *st, int64_t collection_id)
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
static frugal_status collection_analyzer(struct store *st, const struct collection_row *coll,
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
static frugal_status fts_insert_stmt(struct store *st, int64_t collection_id, sqlite3_stmt **out,
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
                             st->check_json,  st->insert_chunk,    st->hit_details};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(stmts[i]);
    sqlite3_close_v2(st->db);
    frugal_free(st->path);
    frugal_free(st);
}

struct sqlite3 *store_db(struct store *st)
{
    return st->db;
}

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

/* ---- Search --------------------------------------------------------------------------------- */

void store_hit_release(struct store_hit *h)
{
    if (h == NULL)
        return;
    frugal_free(h->source);
    frugal_free(h->ext_id);
    frugal_free(h->title);
    frugal_free(h->heading_path);
    frugal_free(h->text);
    frugal_free(h->snippet);
    frugal_free(h->metadata_json);
    memset(h, 0, sizeof *h);
}

struct match_ctx {
    struct buf *match;
    size_t n_terms;
    frugal_status rc;
};

/* Appends `"\x01term"` (OR-joined) to the MATCH expression. */
static int add_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                    size_t byte_end)
{
    struct match_ctx *m = ctx;
    if (m->n_terms == STORE_MAX_QUERY_TERMS)
        return 1;
    frugal_status rc = FRUGAL_OK;
    if (m->n_terms > 0)
        rc = buf_puts(m->match, " OR ");
    if (rc == FRUGAL_OK)
        rc = buf_putc(m->match, '"');
    if (rc == FRUGAL_OK)
        rc = buf_putc(m->match, FTS_PRE_ANALYZED);
    for (size_t i = 0; rc == FRUGAL_OK && i < term_len; i++) {
        rc = buf_putc(m->match, term[i]);
        if (rc == FRUGAL_OK && term[i] == '"')
            rc = buf_putc(m->match, '"');
    }
    if (rc == FRUGAL_OK)
        rc = buf_putc(m->match, '"');
    m->n_terms++;
    m->rc = rc;
    return rc != FRUGAL_OK;
}

static frugal_status check_filters(const struct store_search_opts *opts, struct err *err)
{
    size_t n_values = 0;
    for (size_t i = 0; i < opts->n_filters; i++) {
        const struct store_filter *f = &opts->filters[i];
        if (f->key == NULL)
            return err_set(err, FRUGAL_EINVAL, "store: filter without a key");
        for (const unsigned char *p = (const unsigned char *)f->key; *p != 0; p++)
            if (*p == '"' || *p < 0x20 || *p == 0x7f)
                return err_set(err, FRUGAL_EINVAL,
                               "store: filter key '%.64s' holds a '\"' or a control character",
                               f->key);
        if (f->n_values == 0)
            return err_set(err, FRUGAL_EINVAL, "store: filter on '%.64s' has no values", f->key);
        for (size_t j = 0; j < f->n_values; j++)
            if (f->values[j] == NULL)
                return err_set(err, FRUGAL_EINVAL, "store: filter on '%.64s' has a NULL value",
                               f->key);
        n_values += f->n_values;
        if (n_values > STORE_MAX_FILTER_VALUES)
            return err_set(err, FRUGAL_EINVAL, "store: more than %d filter values",
                           STORE_MAX_FILTER_VALUES);
    }
    return FRUGAL_OK;
}

/* Appends " AND EXISTS (...)" per filter on documents d; parameters: per filter its path and
 * values (bind_filters). */
static frugal_status filter_sql(struct buf *sql, const struct store_filter *filters,
                                size_t n_filters)
{
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; rc == FRUGAL_OK && i < n_filters; i++) {
        rc = buf_puts(sql, " AND EXISTS (SELECT 1 FROM json_each(d.metadata, ?) WHERE"
                           " (CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
                           " ELSE CAST(value AS TEXT) END) IN (");
        for (size_t j = 0; rc == FRUGAL_OK && j < filters[i].n_values; j++)
            rc = buf_puts(sql, j == 0 ? "?" : ", ?");
        if (rc == FRUGAL_OK)
            rc = buf_puts(sql, "))");
    }
    return rc;
}

/* Binds the filters' parameters from index *p on; ENOMEM. */
static frugal_status bind_filters(sqlite3_stmt *stmt, int *p, const struct store_filter *filters,
                                  size_t n_filters)
{
    struct buf path;
    buf_init(&path, 0);
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; rc == FRUGAL_OK && i < n_filters; i++) {
        const struct store_filter *f = &filters[i];
        buf_reset(&path);
        rc = buf_printf(&path, "$.\"%s\"", f->key);
        if (rc == FRUGAL_OK)
            sqlite3_bind_text(stmt, (*p)++, path.ptr, (int)path.len, SQLITE_TRANSIENT);
        for (size_t j = 0; j < f->n_values; j++)
            sqlite3_bind_text(stmt, (*p)++, f->values[j], -1, SQLITE_STATIC);
    }
    buf_release(&path);
    return rc;
}

/* The ranking query (phase 1). Parameters: ?1..?5 k1, b, weights; ?6 MATCH; then per filter
 * its path and values; then LIMIT (without grouping). */
static frugal_status ranking_sql(int64_t cid, const struct store_search_opts *opts,
                                 struct buf *sql)
{
    long long id = (long long)cid;
    /* The join to chunks costs about a third of the time of a broad query: only when needed. */
    bool join = opts->group_by_document || opts->n_filters > 0;
    frugal_status rc = buf_printf(sql,
                                  "SELECT fts_%lld.rowid, frugal_bm25(fts_%lld, ?1, ?2, ?3, ?4, ?5)"
                                  " AS score, %s FROM fts_%lld",
                                  id, id, join ? "ch.document_id" : "0", id);
    if (rc == FRUGAL_OK && join)
        rc = buf_printf(sql, " JOIN chunks ch ON ch.id = fts_%lld.rowid", id);
    if (rc == FRUGAL_OK && opts->n_filters > 0)
        rc = buf_puts(sql, " JOIN documents d ON d.id = ch.document_id");
    if (rc == FRUGAL_OK)
        rc = buf_printf(sql, " WHERE fts_%lld MATCH ?6", id);
    if (rc == FRUGAL_OK)
        rc = filter_sql(sql, opts->filters, opts->n_filters);
    if (rc == FRUGAL_OK)
        rc = buf_printf(sql, " ORDER BY score DESC, fts_%lld.rowid ASC", id);
    if (rc == FRUGAL_OK && !opts->group_by_document)
        rc = buf_puts(sql, " LIMIT ?");
    return rc;
}

/* A set of document ids (open addressing), for group_by_document. */
struct id_set {
    int64_t *ids;
    bool *used;
    size_t mask;
};

static bool id_set_add(struct id_set *s, int64_t id)
{
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & s->mask;
    while (s->used[h]) {
        if (s->ids[h] == id)
            return false;
        h = (h + 1) & s->mask;
    }
    s->used[h] = true;
    s->ids[h] = id;
    return true;
}

/* Phase 1: runs the ranking query, filling hits[i].chunk_id, document_id, score. */
static frugal_status rank(struct store *st, const struct collection_row *coll, const char *match,
                          const struct store_search_opts *opts, size_t k, struct store_hit *hits,
                          size_t *n_hits, struct err *err)
{
    struct buf sql;
    buf_init(&sql, 0);
    sqlite3_stmt *stmt = NULL;
    struct id_set seen = {0};
    frugal_status rc = ranking_sql(coll->id, opts, &sql);
    if (rc != FRUGAL_OK)
        rc = err_set(err, rc, "store: search: out of memory");
    if (rc == FRUGAL_OK && opts->group_by_document) {
        size_t cap = 16;
        while (cap < 2 * k)
            cap *= 2;
        seen.ids = frugal_calloc(cap, sizeof *seen.ids);
        seen.used = frugal_calloc(cap, sizeof *seen.used);
        seen.mask = cap - 1;
        if (seen.ids == NULL || seen.used == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "store: search: out of memory");
    }
    if (rc == FRUGAL_OK)
        rc = prepare(st, sql.ptr, &stmt, "search", err);
    if (rc == FRUGAL_OK) {
        int p = 1;
        sqlite3_bind_double(stmt, p++, coll->k1);
        sqlite3_bind_double(stmt, p++, coll->b);
        sqlite3_bind_double(stmt, p++, coll->title_weight);
        sqlite3_bind_double(stmt, p++, coll->heading_weight);
        sqlite3_bind_double(stmt, p++, coll->body_weight);
        sqlite3_bind_text(stmt, p++, match, -1, SQLITE_STATIC);
        rc = bind_filters(stmt, &p, opts->filters, opts->n_filters);
        if (rc != FRUGAL_OK)
            err_set(err, rc, "store: search: out of memory");
        if (!opts->group_by_document)
            sqlite3_bind_int64(stmt, p, (int64_t)k);
    }
    size_t n = 0;
    while (rc == FRUGAL_OK && n < k) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st, src, "search", err);
            break;
        }
        int64_t doc = sqlite3_column_int64(stmt, 2);
        if (opts->group_by_document && !id_set_add(&seen, doc))
            continue;
        hits[n].chunk_id = sqlite3_column_int64(stmt, 0);
        hits[n].score = sqlite3_column_double(stmt, 1);
        hits[n].document_id = doc;
        n++;
    }
    *n_hits = n;
    sqlite3_finalize(stmt);
    frugal_free(seen.ids);
    frugal_free(seen.used);
    buf_release(&sql);
    return rc;
}

/* Phase 2: reads the winners' rows and, with sq (NULL: none), their snippets (snippet.h). */
static frugal_status fill_hits(struct store *st, struct store_snippet_query *sq,
                               const struct store_search_opts *opts, struct store_hit *hits,
                               size_t n_hits, struct err *err)
{
    frugal_status rc = cached(st, &st->hit_details,
                              "SELECT ch.ordinal, ch.char_start, ch.char_end, d.source, d.ext_id,"
                              " d.title, ch.heading_path, ch.text, d.metadata, ch.document_id"
                              " FROM chunks ch JOIN documents d ON d.id = ch.document_id"
                              " WHERE ch.id = ?1",
                              "search", err);
    const struct store_snippet_style style = {
        .open = opts->hl_open != NULL ? opts->hl_open : "<b>",
        .close = opts->hl_close != NULL ? opts->hl_close : "</b>",
        .ellipsis = "\xe2\x80\xa6", /* U+2026 */
        .n_tokens = STORE_SNIPPET_TOKENS,
    };
    struct buf snip;
    buf_init(&snip, 0);
    sqlite3_stmt *d = st->hit_details;
    for (size_t i = 0; rc == FRUGAL_OK && i < n_hits; i++) {
        struct store_hit *h = &hits[i];
        sqlite3_reset(d);
        sqlite3_bind_int64(d, 1, h->chunk_id);
        int src = sqlite3_step(d);
        if (src != SQLITE_ROW) {
            rc = src == SQLITE_DONE ? err_set(err, FRUGAL_EINTERNAL,
                                              "store: search: chunk %lld vanished",
                                              (long long)h->chunk_id)
                                    : db_fail(st, src, "search", err);
            break;
        }
        h->ordinal = sqlite3_column_int(d, 0);
        h->char_start = sqlite3_column_int64(d, 1);
        h->char_end = sqlite3_column_int64(d, 2);
        h->document_id = sqlite3_column_int64(d, 9);
        char **dst[6] = {&h->source, &h->ext_id, &h->title, &h->heading_path, &h->text,
                         &h->metadata_json};
        for (int c = 0; rc == FRUGAL_OK && c < 6; c++)
            rc = dup_column(d, 3 + c, dst[c]);
        if (rc == FRUGAL_OK && sq != NULL) {
            /* the FTS row's columns: the document's title, the heading path, the body */
            const char *text[3] = {h->title, h->heading_path, h->text};
            size_t len[3];
            for (int c = 0; c < 3; c++)
                len[c] = text[c] != NULL ? strlen(text[c]) : 0;
            bool found = false;
            rc = store_snippet_make(sq, text, len, &style, &snip, &found);
            if (rc == FRUGAL_OK && found) {
                h->snippet = buf_detach(&snip);
                if (h->snippet == NULL)
                    rc = FRUGAL_ENOMEM;
            }
        }
        if (rc == FRUGAL_ENOMEM)
            err_set(err, rc, "store: search: out of memory");
    }
    sqlite3_reset(d);
    buf_release(&snip);
    return rc;
}

/* The snippet terms of query for coll (snippet.h); *out NULL when the query has no terms. */
static frugal_status snippet_terms(struct store *st, const struct collection_row *coll,
                                   const char *query, struct store_snippet_query **out,
                                   struct err *err)
{
    *out = NULL;
    struct analyzer *an = NULL;
    frugal_status rc = collection_analyzer(st, coll, &an, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct store_snippet_query *sq = NULL;
    rc = store_snippet_query_new(an, query, strlen(query), STORE_MAX_QUERY_TERMS, &sq);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "store: search: analyze query: %s", frugal_strerror(rc));
    if (store_snippet_query_n_terms(sq) == 0)
        store_snippet_query_free(sq);
    else
        *out = sq;
    return FRUGAL_OK;
}

/* The FTS5 MATCH expression of the analyzed query (*n_terms 0: no terms). */
static frugal_status match_expression(struct store *st, const struct collection_row *coll,
                                      const char *query, struct buf *match, size_t *n_terms,
                                      struct err *err)
{
    *n_terms = 0;
    struct analyzer *an = NULL;
    frugal_status rc = collection_analyzer(st, coll, &an, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct match_ctx m = {.match = match, .n_terms = 0, .rc = FRUGAL_OK};
    rc = analyzer_run(an, query, strlen(query), add_term, &m);
    if (rc == FRUGAL_OK)
        rc = m.rc;
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "store: search: analyze query: %s", frugal_strerror(rc));
    if (m.n_terms == STORE_MAX_QUERY_TERMS)
        log_debug("store: search: query cut to its first %d terms", STORE_MAX_QUERY_TERMS);
    *n_terms = m.n_terms;
    return FRUGAL_OK;
}

frugal_status store_hits_fill(struct store *st, const struct collection_row *coll,
                              const char *query, const struct store_search_opts *opts,
                              struct store_hit *hits, size_t n, struct err *err)
{
    struct store_snippet_query *sq = NULL;
    frugal_status rc = FRUGAL_OK;
    if (opts->snippets && query != NULL)
        rc = snippet_terms(st, coll, query, &sq, err);
    if (rc == FRUGAL_OK)
        rc = fill_hits(st, sq, opts, hits, n, err);
    store_snippet_query_free(sq);
    return rc;
}

frugal_status store_collection_analyzer(struct store *st, const struct collection_row *coll,
                                        struct analyzer **out, struct err *err)
{
    return collection_analyzer(st, coll, out, err);
}

frugal_status store_filter_chunk_ids(struct store *st, int64_t collection_id,
                                     const struct store_filter *filters, size_t n_filters,
                                     int64_t **ids, size_t *n_ids, struct err *err)
{
    *ids = NULL;
    *n_ids = 0;
    struct store_search_opts o = {.filters = filters, .n_filters = n_filters};
    frugal_status rc = check_filters(&o, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct buf sql;
    buf_init(&sql, 0);
    rc = buf_puts(&sql, "SELECT ch.id FROM chunks ch JOIN documents d ON d.id = ch.document_id"
                        " WHERE ch.collection_id = ?");
    if (rc == FRUGAL_OK)
        rc = filter_sql(&sql, filters, n_filters);
    if (rc == FRUGAL_OK)
        rc = buf_puts(&sql, " ORDER BY ch.id");
    sqlite3_stmt *stmt = NULL;
    if (rc != FRUGAL_OK)
        rc = err_set(err, rc, "store: filter: out of memory");
    if (rc == FRUGAL_OK)
        rc = prepare(st, sql.ptr, &stmt, "filter", err);
    int p = 1;
    if (rc == FRUGAL_OK) {
        sqlite3_bind_int64(stmt, p++, collection_id);
        rc = bind_filters(stmt, &p, filters, n_filters);
        if (rc != FRUGAL_OK)
            err_set(err, rc, "store: filter: out of memory");
    }
    int64_t *out = NULL;
    size_t n = 0;
    size_t cap = 0;
    while (rc == FRUGAL_OK) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st, src, "filter", err);
            break;
        }
        if (n == cap) {
            size_t c = cap > 0 ? 2 * cap : 256;
            int64_t *grown = frugal_reallocarray(out, c, sizeof *out);
            if (grown == NULL) {
                rc = err_set(err, FRUGAL_ENOMEM, "store: filter: out of memory");
                break;
            }
            out = grown;
            cap = c;
        }
        out[n++] = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    buf_release(&sql);
    if (rc != FRUGAL_OK) {
        frugal_free(out);
        return rc;
    }
    *ids = out;
    *n_ids = n;
    return FRUGAL_OK;
}

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

frugal_status store_search(struct store *st, const struct collection_row *coll, const char *query,
                           const struct store_search_opts *opts, struct store_hit **hits,
                           size_t *n_hits, struct err *err)
{
    *hits = NULL;
    *n_hits = 0;
    struct store_search_opts defaults = {.k = 10};
    if (opts == NULL)
        opts = &defaults;
    size_t k = opts->k < STORE_MAX_K ? opts->k : STORE_MAX_K;
    frugal_status rc = check_filters(opts, err);
    if (rc != FRUGAL_OK || k == 0 || query == NULL)
        return rc;
    struct buf match;
    buf_init(&match, 0);
    size_t n_terms = 0;
    rc = match_expression(st, coll, query, &match, &n_terms, err);
    if (rc != FRUGAL_OK || n_terms == 0) {
        buf_release(&match);
        return rc;
    }
    struct store_hit *out = frugal_calloc(k, sizeof *out);
    size_t n = 0;
    if (out == NULL)
        rc = err_set(err, FRUGAL_ENOMEM, "store: search: out of memory");
    if (rc == FRUGAL_OK)
        rc = rank(st, coll, match.ptr, opts, k, out, &n, err);
    struct store_snippet_query *sq = NULL;
    if (rc == FRUGAL_OK && opts->snippets)
        rc = snippet_terms(st, coll, query, &sq, err);
    if (rc == FRUGAL_OK)
        rc = fill_hits(st, sq, opts, out, n, err);
    store_snippet_query_free(sq);
    buf_release(&match);
    if (rc != FRUGAL_OK) {
        for (size_t i = 0; i < n; i++)
            store_hit_release(&out[i]);
        frugal_free(out);
        return rc;
    }
    if (n == 0) {
        frugal_free(out);
        out = NULL;
    }
    *hits = out;
    *n_hits = n;
    return FRUGAL_OK;
}
