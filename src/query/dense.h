/*
 * dense.h - dense (vector) retrieval for one collection: frugal's HNSW index (index/hnsw.h), or
 * an exact flat scan (index/flat.h) for small collections, kept in step with the store's
 * chunk_vectors table, which stays the source of truth.
 *
 * Contract:
 *  - The index of collection <id> of database DB lives in DB.vec/<id>.hnsw (the vector file
 *    format, index/vecfile.h and docs/formats.md), cosine metric, storage from the collection's
 *    vector_type, the store generation it reflects in the file's header. Missing, unreadable,
 *    corrupt, of another version or dimension, metric or storage, or newer than the store:
 *    rebuilt from chunk_vectors with a log message (and written back when writable), never an
 *    error to the caller.
 *  - Before each search the index catches up with the store's generation: chunks deleted since
 *    its generation (the change log) leave the index, vectors of chunks inserted since join it,
 *    and the file is rewritten. Without log coverage, or with more tombstones than live vectors,
 *    it is rebuilt. Collections below dense_flat_max() vectors use an in-memory flat scan
 *    instead (no file); a flat index that grows past twice that is rebuilt as HNSW.
 *  - dense_search ranks by cosine similarity (score = 1 - cosine distance, higher is better,
 *    ties as the index gives them), applies filters as an allowed-id set during the search,
 *    supports group_by_document (best chunk per document, by over-fetching), then fills the hits
 *    with store_hits_fill (rows, and snippets of the query's terms where they occur, computed
 *    from each hit's text with the collection's analyzer by src/store/snippet.c).
 *
 * Threading: a dense_index may be shared by threads that each use their own struct store:
 * searches hold its lock shared, the catch-up step holds it exclusively.
 */
#ifndef FRUGAL_QUERY_DENSE_H
#define FRUGAL_QUERY_DENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Below this many vectors a flat scan (measured: HNSW search is 2x faster than a flat scan of
 * 384-d float32 vectors from about this size on; docs/ARCHITECTURE.md). */
#define DENSE_FLAT_MAX_DEFAULT 5000

struct dense_index;

/* The flat/HNSW threshold: $FRUGAL_DENSE_FLAT_MAX when set (0 = always HNSW), else the default. */
size_t dense_flat_max(void);

/* db_path: the database file (borrowed; NULL or ":memory:": no index file). writable: the file
 * may be (re)written. Built or loaded lazily by the first search. */
frugal_status dense_open(const char *db_path, bool writable, int64_t collection_id,
                         struct dense_index **out, struct err *err);
void dense_close(struct dense_index *di);

/* query: coll->embedder_dim floats (borrowed), the embedded query text; query_text is used for
 * snippets only. */
frugal_status dense_search(struct dense_index *di, struct store *st,
                           const struct collection_row *coll, const float *query,
                           const char *query_text, const struct store_search_opts *opts,
                           struct store_hit **hits, size_t *n_hits, struct err *err);
/* As dense_search, but the hits carry only chunk_id, document_id and score (no rows, no
 * snippets: store_hits_fill them when needed). For fusion, which keeps a few of many. */
frugal_status dense_rank(struct dense_index *di, struct store *st,
                         const struct collection_row *coll, const float *query,
                         const struct store_search_opts *opts, struct store_hit **hits,
                         size_t *n_hits, struct err *err);

/* DB.vec/<id>.hnsw into *out (owned), NULL when the database has no file (index_file.h).
 * FRUGAL_OK or FRUGAL_ENOMEM. */
frugal_status dense_index_path(const char *db_path, int64_t collection_id, char **out);

/* For tests: vectors in the index now (after the last search), and whether it is HNSW. */
size_t dense_count(struct dense_index *di);
bool dense_is_hnsw(const struct dense_index *di);

#endif
