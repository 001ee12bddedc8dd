/*
 * store.h - the embedded SQLite store: the source of truth for collections, documents and
 * chunks, with one FTS5 full-text index per collection.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION; migrations run forward on open; a newer
 * version is refused with FRUGAL_EVERSION; PRAGMA application_id = 0x66727567 "frug", and a
 * SQLite file that is someone else's is refused with FRUGAL_ECORRUPT):
 *   meta(key TEXT PRIMARY KEY, value)                  -- 'generation': bumped by every write
 *   collections(id, name UNIQUE, language, stopwords, k1, b, title_weight, heading_weight,
 *               body_weight, created_at)
 *   documents(id, collection_id -> collections ON DELETE CASCADE, source, ext_id, content_hash,
 *             size, mtime, title, metadata JSON, format, text, created_at, updated_at,
 *             UNIQUE(collection_id, source))
 *   chunks(id, document_id -> documents ON DELETE CASCADE, collection_id (a copy of the
 *          document's, for the trigger below), ordinal, text, heading_path, char_start,
 *          char_end, byte_start, byte_end, n_tokens)
 *   fts_<collection id>: FTS5(title, heading, body) with rowid = chunks.id and
 *          tokenize = 'frugal <language> [<stopwords>]' (our analyzer, text/analyzer.h,
 *          registered on every connection; no stopwords argument = the language default).
 *          Trigger fts_<id>_chunk_deleted removes the row when its chunk goes (also through
 *          ON DELETE CASCADE). Collection ids are AUTOINCREMENT, never reused.
 *   changes(generation, collection_id, chunk_id, op)  -- schema 2: one row per chunk inserted
 *          (op 1) or deleted (op 0), written by triggers on chunks in the writing transaction,
 *          with the generation that transaction commits; lets derived indexes (the BM25 index,
 *          src/query/keyword.c) catch up without a rebuild. meta 'changes_since' is the
 *          generation from which the log is complete, meta 'changes_floor:<collection id>' the
 *          generation up to which store_changes_prune dropped that collection's rows.
 *   schema 3: collections gain embedder (the spec the collection was configured with, e.g.
 *          "glove" or "model:/path"; NULL = no dense vectors), embedder_name and embedder_dim
 *          (what the embedder that wrote its vectors reported; NULL/0 until first resolved) and
 *          vector_type ('f32', 'f16', 'i8': how the derived vector index stores them);
 *          chunk_vectors(chunk_id -> chunks ON DELETE CASCADE, vector BLOB of embedder_dim
 *          float32 little-endian): the source of truth of the dense index (src/query/dense.c),
 *          written in the same transaction as the chunk (store_vectors.c).
 *   schema 4: api_keys(id AUTOINCREMENT, hash UNIQUE (hex SHA-256 of the key; the key itself
 *          is never stored), role 'reader'|'writer'|'admin', created_at, revoked_at NULL until
 *          revoked) and api_key_collections(key_id -> api_keys ON DELETE CASCADE, collection
 *          name): the collections a key is limited to (none = every collection). store_keys.c.
 *   schema 5: the answer cache (store_cache.c, src/answer/cache.c): answer_cache(id,
 *          collection_id -> collections ON DELETE CASCADE, question_norm, question_vector BLOB
 *          NULL (reserved for near-duplicate lookups), answer, span, reason, generator,
 *          confidence, prompt_tokens, completion_tokens, cost, created_at, last_used_at (seconds
 *          since the epoch), UNIQUE(collection_id, question_norm));
 *          answer_cache_citations(entry_id -> answer_cache ON DELETE CASCADE, n, the
 *          frugal_citation fields); answer_cache_documents(entry_id -> answer_cache ON DELETE
 *          CASCADE, document_id): every document whose chunks the answer used. Triggers drop an
 *          entry when a chunk of one of its documents is deleted (re-ingestion, deletion,
 *          cascades) or the document row is updated or deleted.
 *   schema 6: budgets(scope 'collection'|'key', target (the collection's name, or the key's id
 *          in decimal), amount (the limit, in the price table's currency), spent, period
 *          'lifetime'|'day'|'month', period_start (seconds since the epoch: the start of the
 *          window spent counts in; lifetime: when set or reset), created_at, updated_at,
 *          PRIMARY KEY (scope, target)) (store_budget.c). A daily or monthly budget whose
 *          window has passed reads (and is charged) as spent 0 from the new window's start;
 *          the row is rewritten by the next charge. Budget writes do not bump the generation.
 * Connections run in WAL mode with foreign keys on and synchronous=NORMAL. Every writable open
 * creates the "default" collection when it is missing. Writes on a read-only store: EINVAL.
 *
 * Ranking: frugal_bm25(), our FTS5 auxiliary function: BM25F over the three columns with
 * per-column weights w (tf = sum w_c tf_c, dl = sum w_c len_c), IDF as Lucene's
 * ln(1 + (N - df + 0.5) / (df + 0.5)), score = sum over query terms of
 * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)). Higher is better. N is the
 * number of chunks in the collection, df the number of chunks holding the term in any field,
 * len_c a field's length in terms, avgdl = sum w_c * (mean len_c over the collection). A term
 * repeated in the query counts once per occurrence (as Lucene does).
 *
 * Queries: the query text is run through the collection's analyzer by store_search itself; the
 * resulting terms (the first 1024) are passed to FTS5 as an OR of quoted terms marked as
 * pre-analyzed, so user text is never FTS5 syntax.
 *
 * Threading: one struct store per thread.
 */
#ifndef FRUGAL_STORE_STORE_H
#define FRUGAL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define STORE_SCHEMA_VERSION 6
#define STORE_DEFAULT_K1 0.9
#define STORE_DEFAULT_B 0.4
#define STORE_MAX_K 10000 /* store_search caps k here */
#define STORE_BUDGET_TARGET_MAX 128

struct store;
struct sqlite3;
struct analyzer;

struct store_opts {
    bool read_only;      /* a missing database is then ENOTFOUND, an old schema EVERSION */
    int busy_timeout_ms; /* opts == NULL: 5000 */
};

struct collection_row {
    int64_t id;
    char *name;             /* owned */
    char *language;         /* owned */
    char *stopwords;        /* owned; NULL = language default */
    double k1, b, title_weight, heading_weight, body_weight;
    char *embedder;         /* owned; NULL = none (schema 3) */
    char *embedder_name;    /* owned; NULL until the embedder was first resolved */
    int64_t embedder_dim;   /* 0 until then */
    char *vector_type;      /* owned; "f32", "f16" or "i8" (NULL in inserts = "f32") */
};
void collection_row_release(struct collection_row *c);

struct document_row {
    int64_t id;             /* set by store_document_insert */
    int64_t collection_id;
    const char *source;     /* borrowed in inserts; owned (char *) when filled by the store */
    const char *ext_id;     /* may be NULL */
    const char *content_hash;
    int64_t size;
    int64_t mtime;
    const char *title;      /* may be NULL */
    const char *metadata_json; /* NULL = "{}"; must be a JSON object (checked: EINVAL) */
    const char *format;     /* "text", "markdown", ... */
    const char *text;       /* the full extracted text; may be NULL */
};
/* Frees the strings of a row filled by store_document_find (casts away const). */
void document_row_release(struct document_row *d);

struct chunk_row {
    int ordinal;
    const char *text;       /* borrowed */
    size_t text_len;
    const char *heading_path;
    int64_t char_start, char_end, byte_start, byte_end;
    int64_t n_tokens;
};

frugal_status store_open(const char *path, const struct store_opts *opts, struct store **out,
                         struct err *err);
void store_close(struct store *st);
struct sqlite3 *store_db(struct store *st);

/* Transactions (BEGIN IMMEDIATE; EBUSY when another writer holds the lock past the busy
 * timeout). Every write bumps meta.generation once per transaction. Write functions called
 * outside store_begin run in a transaction of their own; inside one, a failing call undoes
 * only itself (savepoint), so the caller may still commit. store_generation reads the
 * committed value (or this transaction's), -1 on error. */
frugal_status store_begin(struct store *st, struct err *err);
frugal_status store_commit(struct store *st, struct err *err);
void store_rollback(struct store *st);
int64_t store_generation(struct store *st);

/* Collections. _get fails with ENOTFOUND. _ensure creates `name` with defaults when missing.
 * _create: EINVAL for a bad name (1..128 of [A-Za-z0-9_.-]), an unknown language (NULL =
 * "english"), stopwords with characters other than letters, digits, spaces, commas,
 * apostrophes and hyphens, k1 < 0, b outside [0, 1] or a negative weight; EEXIST when taken.
 * _tune changes k1, b and the weights of collection in->name (same checks; ENOTFOUND). */
frugal_status store_collection_get(struct store *st, const char *name, struct collection_row *out,
                                   struct err *err);
frugal_status store_collection_create(struct store *st, const struct collection_row *in,
                                      int64_t *id_out, struct err *err);
frugal_status store_collection_ensure(struct store *st, const char *name,
                                      struct collection_row *out, struct err *err);
frugal_status store_collection_tune(struct store *st, const struct collection_row *in,
                                    struct err *err);
frugal_status store_collection_delete(struct store *st, const char *name, struct err *err);
/* Lists all collections with document and chunk counts; arrays owned by the caller. */
frugal_status store_collection_list(struct store *st, struct collection_row **out,
                                    int64_t **n_docs, int64_t **n_chunks, size_t *n_out,
                                    struct err *err);

/* Documents. _find fills out (owned strings, text included) or fails with ENOTFOUND (message
 * empty). _insert: EEXIST when the source is taken in the collection, ENOTFOUND when the
 * collection is missing, EINVAL when metadata_json is not a JSON object (stored minified). */
frugal_status store_document_find(struct store *st, int64_t collection_id, const char *source,
                                  struct document_row *out, struct err *err);
frugal_status store_document_insert(struct store *st, struct document_row *in, struct err *err);
/* The extracted text of document document_id into *text (owned, NUL-terminated) and *len
 * (bytes). ENOTFOUND when absent. */
frugal_status store_document_text(struct store *st, int64_t document_id, char **text,
                                  size_t *len, struct err *err);
/* Deletes the document, its chunks and their FTS rows. ENOTFOUND when absent. */
frugal_status store_document_delete(struct store *st, int64_t document_id, struct err *err);
/* Calls fn for every document of the collection whose source equals prefix or starts with
 * prefix followed by '/' or '#' (a prefix ending in '/' or '#': starts with prefix; NULL =
 * all), in id order, skipping `offset` and stopping after `limit` (0 = no limit). fn's row is
 * borrowed, has text == NULL, and fn may write (even delete that document): rows are read in
 * batches before fn sees them. A non-OK return from fn stops the walk and is returned. */
typedef frugal_status (*store_document_fn)(void *ctx, const struct document_row *doc,
                                           int64_t n_chunks);
frugal_status store_document_each(struct store *st, int64_t collection_id, const char *prefix,
                                  size_t offset, size_t limit, store_document_fn fn, void *ctx,
                                  struct err *err);

/* Chunks: inserts a chunk of document doc (whose collection and title are given) and its FTS
 * row. ENOTFOUND when the document is not in coll. chunk_id may be NULL. */
frugal_status store_chunk_insert(struct store *st, const struct collection_row *coll,
                                 int64_t document_id, const char *title,
                                 const struct chunk_row *chunk, int64_t *chunk_id,
                                 struct err *err);

/* Search. A filter matches a document whose metadata value at key (a top-level key, taken
 * literally: "a.b" is one key) equals one of the values as text: a string itself, an integer
 * in decimal ("2020"), a real as SQLite prints it ("1.5"), true/false as "true"/"false"; an
 * array matches when any element does. Filters AND together. EINVAL: a key holding '"' or a
 * control character, no values, more than 1000 values in all. */
struct store_filter {
    const char *key;
    const char *const *values;
    size_t n_values;
};

struct store_search_opts {
    size_t k;                  /* capped at STORE_MAX_K; 0 gives no hits */
    const struct store_filter *filters;
    size_t n_filters;
    bool group_by_document;    /* one hit per document: its best chunk (ties: lowest id) */
    bool snippets;             /* the body's excerpt as FTS5's snippet() gives it, 24 terms,
                                  '…' at cuts (computed in C: store/snippet.h); the start of
                                  the text when only the title or heading matched */
    const char *hl_open;       /* NULL = "<b>" */
    const char *hl_close;      /* NULL = "</b>" */
};

struct store_hit {
    int64_t chunk_id, document_id;
    double score;
    int ordinal;
    char *source, *ext_id, *title, *heading_path, *text, *snippet, *metadata_json; /* owned */
    int64_t char_start, char_end;
};
void store_hit_release(struct store_hit *h);

/* Ranks the chunks of collection coll against query. *hits (owned, release each then
 * frugal_free) is sorted by score descending, ties by chunk id ascending. A query with no
 * terms after analysis gives zero hits, not an error. */
frugal_status store_search(struct store *st, const struct collection_row *coll, const char *query,
                           const struct store_search_opts *opts, struct store_hit **hits,
                           size_t *n_hits, struct err *err);

/* For store_vectors.c: a write in the caller's transaction or one of its own, with the
 * generation bump and a savepoint (see store.c); pair begin with end. _begin_quiet does not
 * bump the generation: for writes that change no data a derived index reflects (budgets). */
frugal_status store_write_begin(struct store *st, bool *own, const char *what, struct err *err);
frugal_status store_write_begin_quiet(struct store *st, bool *own, const char *what,
                                      struct err *err);
frugal_status store_write_end(struct store *st, bool own, frugal_status rc, struct err *err);

/* ---- For derived indexes (src/query/keyword.c) ---- */

/* One chunk as the FTS5 row holds it: title (the document's), heading path, body. Borrowed. */
typedef frugal_status (*store_chunk_fn)(void *ctx, int64_t chunk_id, int64_t document_id,
                                        const char *const text[3], const size_t len[3]);
typedef frugal_status (*store_removed_fn)(void *ctx, int64_t chunk_id);

/* Reads, in one read transaction (or the caller's open one), *generation = meta.generation and:
 * since < 0: every chunk of the collection, in id order, to added; since >= 0: to removed the
 * ids of the collection's chunks deleted after generation `since` (an id may repeat), then to
 * added the chunks inserted after it that still exist, in id order. ENOTFOUND (no message) when
 * the change log does not reach back to `since`. A non-OK return of a callback stops the walk
 * and is returned. */
frugal_status store_chunks_since(struct store *st, int64_t collection_id, int64_t since,
                                 store_chunk_fn added, store_removed_fn removed, void *ctx,
                                 int64_t *generation, struct err *err);

/* Drops the collection's change-log rows up to generation upto (a derived index that reflects
 * upto no longer needs them) and records the floor. A write: bumps the generation. */
frugal_status store_changes_prune(struct store *st, int64_t collection_id, int64_t upto,
                                  struct err *err);

/* The ids (ascending; owned, frugal_free) of the collection's chunks whose documents match every
 * filter (as store_search filters). Same EINVAL cases as store_search. */
frugal_status store_filter_chunk_ids(struct store *st, int64_t collection_id,
                                     const struct store_filter *filters, size_t n_filters,
                                     int64_t **ids, size_t *n_ids, struct err *err);

/* Fills hits[0..n) (chunk_id and score already set) as store_search does: rows, document
 * fields and, with opts->snippets, the snippet for the analyzed query (store/snippet.h). */
frugal_status store_hits_fill(struct store *st, const struct collection_row *coll,
                              const char *query, const struct store_search_opts *opts,
                              struct store_hit *hits, size_t n, struct err *err);

/* The query analyzer of the collection (cached on st, borrowed until the collection's settings
 * change or st closes). */
frugal_status store_collection_analyzer(struct store *st, const struct collection_row *coll,
                                        struct analyzer **out, struct err *err);

/* ---- Dense vectors (store_vectors.c) ---- */

/* Sets collection coll_id's embedder spec, name, dim and vector type (a write). With
 * require_empty, fails with EINVAL when the collection already holds chunks. */
frugal_status store_collection_set_embedder(struct store *st, int64_t coll_id, const char *spec,
                                            const char *name, int64_t dim,
                                            const char *vector_type, bool require_empty,
                                            struct err *err);
/* Stores the vector (dim float32, borrowed) of chunk_id, replacing any (a write; normally inside
 * the transaction that inserted the chunk). */
frugal_status store_vector_put(struct store *st, int64_t chunk_id, const float *vec, size_t dim,
                               struct err *err);
/* One stored vector (borrowed for the call), dim floats. */
typedef frugal_status (*store_vector_fn)(void *ctx, int64_t chunk_id, const float *vec);
/* As store_chunks_since, for vectors: *generation = meta.generation; since < 0: every vector of
 * the collection to added (chunk id order); since >= 0: removed gets the ids of the chunks
 * deleted after `since`, then added the vectors of chunks inserted after it that still exist.
 * ENOTFOUND (no message) without log coverage. A blob of other than dim floats is ECORRUPT. */
frugal_status store_vectors_since(struct store *st, int64_t collection_id, size_t dim,
                                  int64_t since, store_vector_fn added, store_removed_fn removed,
                                  void *ctx, int64_t *generation, struct err *err);
/* The vectors of chunk_ids[0..n) into out, (n, dim) row-major (caller-sized); a chunk without
 * a vector gets a zero row. A blob of other than dim floats is ECORRUPT. */
frugal_status store_vectors_get(struct store *st, const int64_t *chunk_ids, size_t n, size_t dim,
                                float *out, struct err *err);
/* The document id of each chunk id (0 for a chunk that is gone), into doc_ids[0..n). */
frugal_status store_chunk_documents(struct store *st, const int64_t *chunk_ids, size_t n,
                                    int64_t *doc_ids, struct err *err);

/* ---- Answer cache (store_cache.c, schema 5) ---- */

struct store_cache_entry {
    char *answer;            /* owned in entries filled by the store; borrowed in puts */
    char *span;              /* may be NULL */
    char *reason;
    char *generator;         /* may be NULL */
    double confidence;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    double cost;
    int64_t created_at;      /* seconds since the epoch */
    frugal_citation *citations; /* (n_citations); owned when filled by the store */
    size_t n_citations;
    const float *question_vector; /* puts only (borrowed, question_dim floats); NULL: none */
    size_t question_dim;
};
void store_cache_entry_release(struct store_cache_entry *e); /* for entries the store filled */

/* Near-duplicate lookup: among the collection's entries created at or after min_created whose
 * question vector has dim floats, the one with the highest cosine to vec (dim floats,
 * borrowed); when that cosine is >= min_cosine, fills *out as store_cache_get does (and marks
 * it used at `now`) and sets *cosine. ENOTFOUND (no message) otherwise. A linear scan of the
 * collection's vectors (at most the LRU bound). */
frugal_status store_cache_get_similar(struct store *st, int64_t collection_id, const float *vec,
                                      size_t dim, double min_cosine, int64_t min_created,
                                      int64_t now, struct store_cache_entry *out,
                                      double *cosine, struct err *err);

/* The entry for (collection_id, question_norm) created at or after min_created (TTL); marks it
 * used at `now`. ENOTFOUND (no message) when there is none fresh. A stale entry is deleted. */
frugal_status store_cache_get(struct store *st, int64_t collection_id, const char *question_norm,
                              int64_t min_created, int64_t now, struct store_cache_entry *out,
                              struct err *err);
/* Inserts or replaces the entry with the documents it used (document_ids, duplicates allowed),
 * then evicts the least recently used entries of the collection past max_entries (a write). */
frugal_status store_cache_put(struct store *st, int64_t collection_id, const char *question_norm,
                              const struct store_cache_entry *e, const int64_t *document_ids,
                              size_t n_documents, int64_t now, size_t max_entries,
                              struct err *err);
/* Entries of the collection (for tests and stats). */
frugal_status store_cache_count(struct store *st, int64_t collection_id, int64_t *out,
                                struct err *err);

/* ---- Budgets (store_budget.c, schema 6) ---- */

struct store_budget_row {
    frugal_budget_scope scope;
    char target[STORE_BUDGET_TARGET_MAX + 1]; /* collection name, or key id in decimal */
    frugal_budget_period period;
    double amount;          /* the limit */
    double spent;           /* in the window that holds `now` (0 once a window has passed) */
    int64_t period_start;   /* that window's start (lifetime: when set or reset) */
    int64_t created_at;
    int64_t updated_at;
};
/* Inserts or updates the budget of (scope, target) (a write that does not bump the
 * generation). An existing row keeps spent and its window unless reset_spent or the period
 * changes. EINVAL: amount negative or not finite, target empty or too long. */
frugal_status store_budget_set(struct store *st, frugal_budget_scope scope, const char *target,
                               double amount, frugal_budget_period period, bool reset_spent,
                               int64_t now, struct err *err);
/* Deletes it; ENOTFOUND (with a message) when there is none. */
frugal_status store_budget_clear(struct store *st, frugal_budget_scope scope, const char *target,
                                 struct err *err);
/* The budget as of `now`; ENOTFOUND (no message) when there is none. */
frugal_status store_budget_get(struct store *st, frugal_budget_scope scope, const char *target,
                               int64_t now, struct store_budget_row *out, struct err *err);
/* Adds cost to what the budget spent in the window holding `now` (one UPDATE: atomic against
 * every other connection); no budget: nothing, FRUGAL_OK. On a read-only store it writes
 * through a short-lived writable connection of its own. */
frugal_status store_budget_charge(struct store *st, frugal_budget_scope scope, const char *target,
                                  double cost, int64_t now, struct err *err);
/* Every budget as of `now`, collections by name then keys by id; *out owned (frugal_free). */
frugal_status store_budget_list(struct store *st, int64_t now, struct store_budget_row **out,
                                size_t *n_out, struct err *err);

/* ---- API keys (store_keys.c, schema 4) ---- */

struct store_key_row {
    int64_t id;
    int role;               /* 0 reader, 1 writer, 2 admin (frugal_key_role) */
    char **collections;     /* (n_collections) owned names; none = every collection */
    size_t n_collections;
    int64_t created_at;     /* seconds since the epoch */
    int64_t revoked_at;     /* 0 while valid */
};
void store_key_row_release(struct store_key_row *k);
/* Inserts a key by the hex SHA-256 of its text (a write). EEXIST when the hash is taken. */
frugal_status store_key_insert(struct store *st, const char *hash_hex, int role,
                               const char *const *collections, size_t n_collections,
                               int64_t *id_out, struct err *err);
/* Every key (revoked ones too) in id order; release each, then frugal_free. */
frugal_status store_key_list(struct store *st, struct store_key_row **out, size_t *n_out,
                             struct err *err);
/* Marks the key revoked (a write). ENOTFOUND when no such key or already revoked. */
frugal_status store_key_revoke(struct store *st, int64_t id, struct err *err);
/* The valid (not revoked) key with this hash; ENOTFOUND (no message) otherwise. */
frugal_status store_key_find(struct store *st, const char *hash_hex, struct store_key_row *out,
                             struct err *err);

#endif
