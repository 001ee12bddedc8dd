/*
 * cache.h - the answer cache: generated answers keyed on the normalized question within a
 * collection, stored in SQLite (store_cache.c, schema 5) so they survive restarts.
 *
 * Contract: cache_normalize lowercases ASCII, folds runs of whitespace to one space and drops
 * leading/trailing spaces and trailing '?', '.', '!'. cache_lookup fills a fresh answer (route
 * "cache") or returns FRUGAL_ENOTFOUND; entries older than ttl_s are misses (and deleted).
 * cache_store writes a generated answer with the documents it used and evicts least recently
 * used entries past max_entries. Invalidation on document change is the store's triggers.
 *
 * Near-duplicate hits: when the collection has an embedder, cache_store keeps the question's
 * vector with the entry, and cache_lookup, on an exact miss, returns the entry of the same
 * collection whose question vector has the highest cosine with this question's, when it is
 * >= min_cosine (reason "near-duplicate cache hit (cosine 0.97) ..."). Same TTL, LRU touch and
 * invalidation as exact hits (it is the same row). Default threshold 0.95
 * (FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY): sentence-embedding models put paraphrases of one
 * question around 0.9-0.98 and different questions on one topic lower; averaged word vectors
 * (GloVe) put questions that differ in one entity ("capital of France" / "of Spain") above
 * 0.95 too, so with a static embedder raise it or turn it off (> 1). The lookup is a linear
 * scan of the collection's vectors; at the LRU bound (10,000 entries of 384 floats) it took
 * 26 ms (median of 5) on the 2-core development machine, about a third reading the blobs
 * and a quarter the cosines: small next to the generation a hit saves, large next to an
 * exact hit (well under 1 ms), hence exact first.
 *
 * Threading: as the store (one per thread).
 */
#ifndef FRUGAL_ANSWER_CACHE_H
#define FRUGAL_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "frugal.h"

struct store;

#define CACHE_DEFAULT_TTL_S (7 * 24 * 3600)
#define CACHE_DEFAULT_MAX_ENTRIES 10000

struct cache_opts {
    int64_t ttl_s;        /* default CACHE_DEFAULT_TTL_S */
    double min_cosine;    /* near-duplicate hits at or above this cosine; > 1: none (default
                             FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY) */
    size_t max_entries;   /* per collection; default CACHE_DEFAULT_MAX_ENTRIES */
    int64_t now;          /* seconds since the epoch; 0 = time(NULL) (tests set it) */
};
void cache_default_opts(struct cache_opts *o);

/* Owned, or NULL when out of memory. */
char *cache_normalize(const char *question);

/* vec: the question's embedding (dim floats, borrowed), or NULL for exact hits only. */
frugal_status cache_lookup(struct store *st, int64_t collection_id, const char *question,
                           const float *vec, size_t dim, const struct cache_opts *o,
                           frugal_answer **out, struct err *err);
/* vec: stored with the entry for near-duplicate lookups (NULL: none). */
frugal_status cache_store(struct store *st, int64_t collection_id, const char *question,
                          const float *vec, size_t dim, const frugal_answer *a,
                          const int64_t *document_ids, size_t n_documents,
                          const struct cache_opts *o, struct err *err);

#endif
