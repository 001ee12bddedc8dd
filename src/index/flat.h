/*
 * flat.h - the exact (brute-force) vector index: every search compares the query with every
 * stored vector. Same vocabulary as hnsw.h (metrics, vec_hit, vec_filter); float32 only.
 *
 * Contract: the ground truth for tests and benchmarks, and the right index for small collections
 * (where a scan beats walking a graph). Vectors are copied in; cosine normalizes them. Ids are
 * int64; adding an id twice fails with FRUGAL_EEXIST.
 *
 * Threading: flat_search may run in parallel with other searches; adds and deletes must not run
 * at the same time as anything else (the caller serializes them, e.g. with its own lock).
 */
#ifndef FRUGAL_INDEX_FLAT_H
#define FRUGAL_INDEX_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "index/vec_kernels.h"

struct flat;

frugal_status flat_new(uint32_t dim, enum vec_metric metric, struct flat **out, struct err *err);
void flat_free(struct flat *f);
/* Copies n vectors (row-major n x dim) under ids[i] (NULL: the current count + i). */
frugal_status flat_add_batch(struct flat *f, const int64_t *ids, const float *vectors, size_t n,
                             struct err *err);
frugal_status flat_add(struct flat *f, int64_t id, const float *vec, struct err *err);
frugal_status flat_delete(struct flat *f, int64_t id, struct err *err); /* ENOTFOUND if absent */
/* The k nearest ids to query (closest first; ties by smaller id) into out; *n_out found. */
frugal_status flat_search(const struct flat *f, const float *query, size_t k,
                          const struct vec_filter *filter, struct vec_hit *out, size_t *n_out,
                          struct err *err);
size_t flat_count(const struct flat *f);
size_t flat_memory_bytes(const struct flat *f);

#endif
