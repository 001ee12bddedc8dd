/*
 * cache.h - the answer cache: generated answers keyed on the normalized question within a
 * collection, stored in SQLite (store_cache.c, schema 5) so they survive restarts.
 *
 * Contract: cache_normalize lowercases ASCII, folds runs of whitespace to one space and drops
 * leading/trailing spaces and trailing '?', '.', '!'. cache_lookup fills a fresh answer (route
 * "cache") or returns FRUGAL_ENOTFOUND; entries older than ttl_s are misses (and deleted).
 * cache_store writes a generated answer with the documents it used and evicts least recently
 * used entries past max_entries. Invalidation on document change is the store's triggers.
 * Only exact hits on the normalized question for now: question_vector is reserved for
 * near-duplicate hits by embedding cosine.
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
    size_t max_entries;   /* per collection; default CACHE_DEFAULT_MAX_ENTRIES */
    int64_t now;          /* seconds since the epoch; 0 = time(NULL) (tests set it) */
};
void cache_default_opts(struct cache_opts *o);

/* Owned, or NULL when out of memory. */
char *cache_normalize(const char *question);

frugal_status cache_lookup(struct store *st, int64_t collection_id, const char *question,
                           const struct cache_opts *o, frugal_answer **out, struct err *err);
frugal_status cache_store(struct store *st, int64_t collection_id, const char *question,
                          const frugal_answer *a, const int64_t *document_ids,
                          size_t n_documents, const struct cache_opts *o, struct err *err);

#endif
