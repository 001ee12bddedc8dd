/*
 * bm25.h - frugal's BM25F inverted index: immutable segments (built in memory, saved to and
 * memory-mapped from a file) and a top-k search with MaxScore (or block-max WAND, with the
 * environment variable FRUGAL_BM25_WAND=1, for benchmarks) over a disk segment, an in-memory
 * delta segment and a bitmap of deleted documents.
 *
 * Contract:
 *  - A segment holds documents (chunks) numbered 0..n_docs-1 in increasing chunk id order, each
 *    with three fields (title, heading, body) analyzed by the analyzer given to the builder
 *    (text/analyzer.h: the very terms the FTS5 tokenizer produces). Build one with bm25_builder,
 *    adding chunks in increasing chunk id order.
 *  - Scores are BM25F exactly as store.h documents frugal_bm25(): tf = sum w_c tf_c,
 *    dl = sum w_c len_c, avgdl = sum w_c * (total len_c / N), IDF ln(1 + (N - df + 0.5) /
 *    (df + 0.5)), a query term repeated counts once per occurrence, contributions are summed in
 *    query order; N, df and the totals are those of the live documents of all segments
 *    together (deleted ones excluded). Ties: chunk id ascending.
 *  - The file image (docs/formats.md "BM25 index"): a 128-byte header (magic "FRBM25\0\0",
 *    version, generation, collection id, counts, field totals, the field weights the block
 *    bounds were computed with, section offsets, CRC-32 of the header and of the body), then
 *    the document table, the sorted term table, the term bytes, the block table and the packed
 *    postings. Little-endian; x86-64 only, like the rest of the SIMD code.
 *
 * Threading: a struct bm25_segment and a struct bm25_index are immutable once made; any number
 * of threads may search them at once (bm25_search keeps its state in the caller's stack and in
 * memory it allocates per call). Replacing the segments a collection is searched with is the
 * caller's business (src/query/keyword.c builds a new index and swaps it under its lock).
 */
#ifndef FRUGAL_INDEX_BM25_H
#define FRUGAL_INDEX_BM25_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define BM25_MAGIC "FRBM25\0\0"
#define BM25_VERSION 1
#define BM25_N_FIELDS 3 /* title, heading, body */

struct analyzer;
struct bm25_builder;
struct bm25_segment;

struct bm25_params {
    double k1, b;
    double w[BM25_N_FIELDS]; /* title, heading, body weights */
};

/* ---- Building ---- */

/* an is borrowed for the builder's life (one thread). w: the field weights the block bounds are
 * computed with (searching with other weights is refused: EINVAL). */
frugal_status bm25_builder_new(struct analyzer *an, const double w[BM25_N_FIELDS],
                               struct bm25_builder **out, struct err *err);
void bm25_builder_free(struct bm25_builder *b);
/* Adds one chunk; fields are borrowed, may be NULL (empty). chunk_id must exceed the previous
 * one (EINVAL otherwise). */
frugal_status bm25_builder_add(struct bm25_builder *b, int64_t chunk_id, int64_t document_id,
                               const char *const text[BM25_N_FIELDS],
                               const size_t len[BM25_N_FIELDS], struct err *err);
size_t bm25_builder_n_docs(const struct bm25_builder *b);
/* Writes the file image of everything added into *image (owned by the caller, frugal_free) of
 * *len bytes. The builder may then be freed (or reused: it is emptied). */
frugal_status bm25_builder_finish(struct bm25_builder *b, int64_t generation,
                                  int64_t collection_id, uint8_t **image, size_t *len,
                                  struct err *err);

/* ---- Segments ---- */

/* Opens an image: checks magic, version, both CRCs (unless check_crc is false: the fuzzer) and
 * every offset, count and bound, so that a search over it never reads outside it.
 * ECORRUPT (message says what) or EVERSION. With take_ownership the segment frees image (with
 * frugal_free) when closed, also on failure; else image must outlive the segment. */
frugal_status bm25_segment_open_image(uint8_t *image, size_t len, bool take_ownership,
                                      bool check_crc, struct bm25_segment **out, struct err *err);
/* Memory-maps the file at path and opens it as above. ENOTFOUND when missing. */
frugal_status bm25_segment_open_file(const char *path, struct bm25_segment **out,
                                     struct err *err);
void bm25_segment_close(struct bm25_segment *s);
int64_t bm25_segment_generation(const struct bm25_segment *s);
int64_t bm25_segment_collection(const struct bm25_segment *s);
size_t bm25_segment_n_docs(const struct bm25_segment *s);
size_t bm25_segment_n_terms(const struct bm25_segment *s);
size_t bm25_segment_size(const struct bm25_segment *s);
void bm25_segment_weights(const struct bm25_segment *s, double w[BM25_N_FIELDS]);
/* Chunk id of document i (< n_docs). */
int64_t bm25_segment_chunk_id(const struct bm25_segment *s, size_t i);
/* Term i of the sorted dictionary (borrowed), for tests and the fuzzer. */
const char *bm25_segment_term(const struct bm25_segment *s, size_t i, size_t *len);

/* ---- Index: what one collection is searched with ---- */

struct bm25_index;
/* base (may be NULL) and delta (may be NULL) are borrowed and must outlive the index;
 * deleted_chunk_ids[0..n_deleted) (any order, copied) are documents of base that no longer
 * exist. EINVAL when both segments have weights that differ. */
frugal_status bm25_index_new(const struct bm25_segment *base, const struct bm25_segment *delta,
                             const int64_t *deleted_chunk_ids, size_t n_deleted,
                             struct bm25_index **out, struct err *err);
void bm25_index_free(struct bm25_index *ix);
/* Live documents (chunks). */
size_t bm25_index_n_docs(const struct bm25_index *ix);

struct bm25_term {
    const char *term; /* borrowed, analyzed */
    size_t len;
};

struct bm25_hit {
    int64_t chunk_id;
    int64_t document_id;
    double score;
};

struct bm25_search_opts {
    size_t k;
    const uint64_t *allow;    /* bitset over chunk ids (bit id set = may be returned); NULL = all */
    int64_t allow_bits;       /* ids >= allow_bits are not allowed */
    bool exhaustive;          /* score every matching document (no skipping): the reference */
};

/* Top opts->k hits (hits: caller's array of k) for the analyzed query terms (in query order,
 * duplicates allowed), best first, ties by chunk id. EINVAL when params' weights differ from the
 * index's, ECORRUPT when a block does not decode as its table says, ENOMEM. */
frugal_status bm25_search(const struct bm25_index *ix, const struct bm25_params *params,
                          const struct bm25_term *terms, size_t n_terms,
                          const struct bm25_search_opts *opts, struct bm25_hit *hits,
                          size_t *n_hits, struct err *err);

#endif
