/*
 * keyword.h - keyword (BM25) retrieval for one collection: frugal's own inverted index
 * (index/bm25.h) kept in step with the store, which stays the source of truth.
 *
 * Contract:
 *  - The index of collection <id> of database DB lives in DB.bm25/<id>.idx (format in
 *    docs/formats.md), memory-mapped on open. Missing, unreadable, corrupt, of another version,
 *    of another collection, newer than the store, or built with other field weights: rebuilt from
 *    the store with a log message (written back when the database is writable), never an error
 *    to the caller.
 *  - Before each search the index catches up with the store's generation: chunks written since
 *    the file's generation (the store's change log) form an in-memory delta segment, chunks
 *    deleted since then a deletion bitmap; without log coverage, or when the delta outgrows
 *    max(KEYWORD_DELTA_MIN, 1/8 of the file), the file is rebuilt. keyword_optimize rebuilds and
 *    replaces the file atomically (fs_write_atomic: a kill -9 leaves the old or the new file) and
 *    prunes the log.
 *  - keyword_search ranks exactly as store_search with FTS5 and frugal_bm25 (same scores, ties by
 *    chunk id; group_by_document: best chunk per document, exactly), then fills the hits with
 *    store_hits_fill (rows, and snippets computed from each hit's text by src/store/snippet.c).
 *
 * Threading: a keyword_index may be shared by threads that each use their own struct store:
 * searches hold its lock shared, the catch-up step (the only writer) holds it exclusively.
 */
#ifndef FRUGAL_QUERY_KEYWORD_H
#define FRUGAL_QUERY_KEYWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define KEYWORD_DELTA_MIN 5000

struct keyword_index;

/* db_path: the database file (borrowed; NULL or ":memory:": no index file). writable: the file
 * may be (re)written. The index is loaded or built lazily by the first search. */
frugal_status keyword_open(const char *db_path, bool writable, int64_t collection_id,
                           struct keyword_index **out, struct err *err);
void keyword_close(struct keyword_index *ki);

frugal_status keyword_search(struct keyword_index *ki, struct store *st,
                             const struct collection_row *coll, const char *query,
                             const struct store_search_opts *opts, struct store_hit **hits,
                             size_t *n_hits, struct err *err);
/* As keyword_search, but the hits carry only chunk_id, document_id and score (no rows, no
 * snippets: store_hits_fill them when needed). For fusion, which keeps a few of many. */
frugal_status keyword_rank(struct keyword_index *ki, struct store *st,
                           const struct collection_row *coll, const char *query,
                           const struct store_search_opts *opts, struct store_hit **hits,
                           size_t *n_hits, struct err *err);

/* Rebuilds collection coll's index file from the store and prunes the change log. */
frugal_status keyword_optimize(struct store *st, const char *db_path,
                               const struct collection_row *coll, struct err *err);

/* The index file of collection_id: DB.bm25/<id>.idx into *out (owned), NULL when the database
 * has no file (index_file.h). FRUGAL_OK or FRUGAL_ENOMEM. */
frugal_status keyword_index_path(const char *db_path, int64_t collection_id, char **out);

/* For tests and benchmarks: the file size (0 without a file), documents in the delta segment. */
size_t keyword_file_size(const struct keyword_index *ki);
size_t keyword_delta_docs(const struct keyword_index *ki);

#endif
