/*
 * hnsw.h - an HNSW approximate nearest-neighbour index (Malkov & Yashunin, 2016) over float
 * vectors keyed by int64 ids (the store's chunk ids).
 *
 * Contract:
 *  - Create with hnsw_new (fill params with hnsw_default_params first), fill with hnsw_add /
 *    hnsw_add_batch (the batch builds with several threads), search with hnsw_search, remove
 *    with hnsw_delete (tombstone + repair of the neighbours' links), replace with hnsw_update.
 *    hnsw_add and hnsw_update reuse a tombstone's slot when there is one (an update replaces
 *    the node in place), so churn does not grow the index; hnsw_add_batch appends. Ids that
 *    follow the slots (base, base + 1, ...: a first batch of consecutive ids) cost no memory
 *    until an id breaks the pattern; after that each slot keeps its id in a table. (So while
 *    they do, an add of the next id in order appends rather than reuse a tombstone, until the
 *    tombstones would outweigh that table.)
 *  - Metrics: VEC_METRIC_L2 (squared), VEC_METRIC_IP (1 - dot), VEC_METRIC_COS (vectors are
 *    normalized on the way in, then as IP). Storage: float32, float16, or int8 per-dimension
 *    scalar quantization; int8/float16 may keep a float32 copy (params.keep_f32) used to rescore
 *    the best candidates, so that quantization costs memory only, not recall.
 *  - An int8 index needs its per-dimension ranges: hnsw_train, or hnsw_add_batch on an untrained
 *    index trains on the batch. Values outside the trained range are clamped.
 *  - Filtered search takes a struct vec_filter; when the filter looks selective (estimated
 *    fraction of matching ids below params.filter_flat_fraction, from a sample) the search scans
 *    the matching ids exactly instead of walking the graph.
 *  - Persistence (hnsw_file.c): hnsw_save writes the vecfile format (vecfile.h, docs/formats.md)
 *    atomically; hnsw_load maps a file, checks checksums and every graph invariant, and copies
 *    it in; hnsw_load_ex can leave the float32 rescoring copy in the mapped file instead. A
 *    generation counter travels with the file so the owner can tell a stale index.
 *
 * Threading: see the paragraph at the top of hnsw.c. In short: any number of hnsw_search calls
 * in parallel; hnsw_add / hnsw_delete / hnsw_update / hnsw_add_batch / hnsw_train take the
 * index exclusively (one rwlock), and hnsw_add_batch runs its own worker threads inside.
 */
#ifndef FRUGAL_INDEX_HNSW_H
#define FRUGAL_INDEX_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "index/vec_kernels.h"

struct hnsw_params {
    uint32_t dim;                /* vector length, 1..65536 */
    enum vec_metric metric;      /* default L2 */
    enum vec_storage storage;    /* default F32 */
    uint32_t m;                  /* links per node on upper levels (2*m on level 0); default 16 */
    uint32_t ef_construction;    /* candidate list size while building; default 200 */
    uint32_t ef_search;          /* default candidate list size of a search; default 64 */
    bool keep_f32;               /* f16/i8: keep float32 vectors to rescore; default true for i8 */
    uint32_t rescore;            /* candidates rescored with float32 (0 = all ef); default 0 */
    double filter_flat_fraction; /* exact scan below this matching fraction; default 0.05 */
    uint64_t seed;               /* level generator seed; default 42 */
    bool compact_links;          /* int8 only: keep the links (level 0 and upper) Elias-Fano
                                    coded (~2 + log2(slots / links) bits a link, hnsw_links.c)
                                    through every add, update and delete. Default true; the
                                    loader sets it for int8 files */
};

struct hnsw;

/* Defaults for vectors of length dim. */
void hnsw_default_params(struct hnsw_params *p, uint32_t dim);

/* A new empty index; *out owned by the caller (hnsw_free). */
frugal_status hnsw_new(const struct hnsw_params *p, struct hnsw **out, struct err *err);
void hnsw_free(struct hnsw *h);

/* int8 only: sets the per-dimension ranges from n vectors (row-major n x dim, borrowed). Only
 * allowed on an empty index. A no-op for other storage types. */
frugal_status hnsw_train(struct hnsw *h, const float *vectors, size_t n, struct err *err);

/* Adds vector `vec` (dim floats, copied) under `id`. FRUGAL_EEXIST when id is present. */
frugal_status hnsw_add(struct hnsw *h, int64_t id, const float *vec, struct err *err);
/* Adds n vectors (row-major n x dim, copied) under ids[i] (ids NULL: 0..n-1), linking them with
 * n_threads workers (0 or 1: this thread). On a failure before linking nothing
 * was added; out of memory while linking drops (tombstones) the vectors not linked. */
frugal_status hnsw_add_batch(struct hnsw *h, const int64_t *ids, const float *vectors, size_t n,
                             unsigned n_threads, struct err *err);
/* Removes id (FRUGAL_ENOTFOUND when absent): a tombstone that searches still walk through but
 * never return, and the deleted node's neighbours get new links among its other neighbours. */
frugal_status hnsw_delete(struct hnsw *h, int64_t id, struct err *err);
/* Replaces the vector of id (adds it when absent). */
frugal_status hnsw_update(struct hnsw *h, int64_t id, const float *vec, struct err *err);
bool hnsw_contains(struct hnsw *h, int64_t id);

/* The k nearest live ids to `query` (dim floats, borrowed), closest first, into out[0..k);
 * *n_out = how many were found (< k when fewer match). ef = 0 uses params.ef_search; it is
 * raised to k. filter may be NULL. Thread-safe with other searches. */
frugal_status hnsw_search(struct hnsw *h, const float *query, size_t k, uint32_t ef,
                          const struct vec_filter *filter, struct vec_hit *out, size_t *n_out,
                          struct err *err);

size_t hnsw_count(struct hnsw *h);          /* live vectors */
size_t hnsw_deleted_count(struct hnsw *h);  /* tombstones */
const struct hnsw_params *hnsw_get_params(const struct hnsw *h);
/* What the index holds in memory, in bytes: slot arrays at the slots in use (spare capacity is
 * never written, hence not resident), the id hash table at its capacity. */
struct hnsw_memory {
    size_t codes;           /* stored vectors (float32 / float16 / int8 codes, with padding) */
    size_t links;           /* level-0 lists and the upper-level pool (u32 counts and slots, or
                               Elias-Fano coded) */
    size_t ids;             /* the caller's int64 ids per slot, and the id -> slot hash table */
    size_t node_meta;       /* per slot: the level and tombstone byte; per node with upper levels:
                               its slot and pool offset (u32 each); the free-slot stack; the
                               int8 ranges; the index's own struct */
    size_t rescore;         /* float32 rescoring copy in memory (0 when on disk or absent) */
    size_t rescore_on_disk; /* the same copy left in the mapped index file (hnsw_load_ex) */
    size_t rescore_cached;  /* of that, bytes in the page cache now (mincore): what rescoring
                               has read so far, evictable by the kernel, not process memory */
    size_t scratch;         /* search working memory pooled for reuse, per search thread that
                               ran: visited epochs (2 bytes a slot of capacity), heaps, the
                               prepared query. Not part of the index; hnswlib keeps the same */
};
void hnsw_memory(struct hnsw *h, struct hnsw_memory *m);
/* codes + links + ids + node_meta: what the index keeps in memory to search. *rescore_bytes
 * (may be NULL) gets hnsw_memory's rescore, not included in the result (nor is scratch). */
size_t hnsw_memory_bytes(struct hnsw *h, size_t *rescore_bytes);
uint64_t hnsw_generation(struct hnsw *h);
void hnsw_set_generation(struct hnsw *h, uint64_t generation);

/* Writes the index to path atomically (temporary file, fsync, rename). */
frugal_status hnsw_save(struct hnsw *h, const char *path, struct err *err);
/* Loads an index written by hnsw_save. FRUGAL_ECORRUPT for a truncated or damaged file,
 * FRUGAL_EVERSION for another format version, FRUGAL_ENOTFOUND when missing; the message names
 * the file and the problem. */
frugal_status hnsw_load(const char *path, struct hnsw **out, struct err *err);
/* Where hnsw_load_ex leaves the float32 rescoring copy of an f16/i8 index. On disk: the file
 * stays mapped and rescoring reads the final candidates' vectors from it (page faults on first
 * touch, then the page cache); the first add or update copies it into memory. */
enum hnsw_rescore_place { HNSW_RESCORE_IN_MEMORY = 0, HNSW_RESCORE_ON_DISK = 1 };
/* hnsw_load with the choice above; hnsw_load is hnsw_load_ex(..., HNSW_RESCORE_IN_MEMORY). */
frugal_status hnsw_load_ex(const char *path, enum hnsw_rescore_place rescore, struct hnsw **out,
                           struct err *err);
/* The same from bytes in memory (borrowed); verify_crc = false skips checksums (the fuzzer uses
 * it to reach the structural checks). */
frugal_status hnsw_load_mem(const void *data, size_t len, bool verify_crc, struct hnsw **out,
                            struct err *err);

#endif
