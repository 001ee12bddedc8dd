/*
 * hybrid.h - hybrid retrieval: fusion of a BM25 and a dense candidate list of one collection,
 * with optional MMR diversification.
 *
 * Contract:
 *  - Both candidate lists are sorted best first (as keyword_search / store_search and
 *    dense_search return them) and were fetched with the same filters, collection and grouping;
 *    hybrid_depth(k) says how many each side should fetch.
 *  - Fusion key: the chunk id; with by_document, the document id (each list then holds one
 *    entry per document, its best chunk, and the document's rank or score on each side is that
 *    chunk's). An entry missing from one list gets nothing from that side.
 *  - HYBRID_RRF: score = 1/(HYBRID_RRF_K + rank_bm25) + 1/(HYBRID_RRF_K + rank_dense), ranks
 *    from 1 (positions in the lists); in (0, 2/61].
 *  - HYBRID_CONVEX: score = (1 - alpha) * norm_bm25 + alpha * norm_dense, where norm is the
 *    side's score min-max normalized over its list ((s - min) / (max - min); 1 for every entry
 *    when max == min); in [0, 1].
 *  - Fused lists are sorted by score descending, ties by chunk id ascending. The chunk that
 *    represents a document (by_document) is the one of the side that contributes more to its
 *    fused score (ties: the BM25 side's).
 *  - Agreement of the two lists (a router input, hybrid_agreement): the share of the top
 *    HYBRID_AGREEMENT_DEPTH keys (chunk ids, or document ids when grouping) of the shorter list
 *    that are also in the top HYBRID_AGREEMENT_DEPTH of the other, i.e. |A ∩ B| / min(|A|, |B|)
 *    with A, B the top-5 key sets; in [0, 1]: 1 when both sides rank the same few first, 0 when
 *    they share none (or exactly one side found nothing); -1 when both are empty.
 *  - MMR (mmr_lambda in (0, 1]): from the fused list, picks greedily the entry maximizing
 *    lambda * rel - (1 - lambda) * max cosine to the entries picked so far, rel being the fused
 *    score min-max normalized over the list; the hits keep their fused scores, in MMR order.
 *
 * Threading: no shared state; every call uses only its arguments.
 */
#ifndef FRUGAL_QUERY_HYBRID_H
#define FRUGAL_QUERY_HYBRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define HYBRID_RRF_K 60.0
/* Candidates fetched from each side: max(k, HYBRID_MIN_DEPTH). */
#define HYBRID_MIN_DEPTH 100

enum hybrid_fusion {
    HYBRID_RRF = 0,    /* same numbers as frugal_fusion */
    HYBRID_CONVEX = 1,
};

/* One candidate or fused entry. */
struct hybrid_cand {
    int64_t chunk_id;
    int64_t document_id;
    double score;         /* the side's score on input; the fused score on output */
};

struct hybrid_opts {
    enum hybrid_fusion fusion;
    double alpha;         /* CONVEX: weight of the dense side, in [0, 1] */
    double mmr_lambda;    /* 0: no MMR; else in (0, 1], 1 = relevance only */
    bool by_document;     /* fuse on document ids (the lists hold best chunks per document) */
};

#define HYBRID_AGREEMENT_DEPTH 5

/* Candidates each side should fetch for k hits. */
size_t hybrid_depth(size_t k);

/* Fuses bm25[0..n_bm25) and dense[0..n_dense) (borrowed) into *out (owned, frugal_free; sorted
 * as the contract says), *n_out <= n_bm25 + n_dense entries. */
frugal_status hybrid_fuse(const struct hybrid_cand *bm25, size_t n_bm25,
                          const struct hybrid_cand *dense, size_t n_dense,
                          const struct hybrid_opts *opts, struct hybrid_cand **out,
                          size_t *n_out, struct err *err);

/* Agreement of the lists bm25[0..n_bm25) and dense[0..n_dense) (borrowed, best first), as the
 * contract says; by_document: compare document ids, else chunk ids. */
double hybrid_agreement(const struct hybrid_cand *bm25, size_t n_bm25,
                        const struct hybrid_cand *dense, size_t n_dense, bool by_document);

/* MMR over fused[0..n) (best first): writes into order[0..*n_order) the indexes picked, in
 * order, *n_order = min(k, n). vecs: (n, dim) row-major, row i the vector of fused[i] (a zero
 * row: similar to nothing). order is caller-sized (n entries). */
frugal_status hybrid_mmr(const struct hybrid_cand *fused, size_t n, const float *vecs,
                         size_t dim, double lambda, size_t k, size_t *order, size_t *n_order,
                         struct err *err);

/* The whole hybrid step after both sides ranked: fuses bm25_hits and dense_hits (taken: both
 * arrays and their rows are released here, on failure too; only their ids and scores are read,
 * so keyword_rank / dense_rank lists, unfilled, are what to pass), sets *agreement
 * (hybrid_agreement; may be NULL), applies MMR when asked (the vectors read from the store,
 * coll->embedder_dim floats each), keeps opts->k and fills only the kept hits' rows and
 * snippets (store_hits_fill with opts). *hits as store_search's. */
frugal_status hybrid_search(struct store *st, const struct collection_row *coll,
                            const char *query, const struct hybrid_opts *hopts,
                            const struct store_search_opts *opts, struct store_hit *bm25_hits,
                            size_t n_bm25, struct store_hit *dense_hits, size_t n_dense,
                            struct store_hit **hits, size_t *n_hits, double *agreement,
                            struct err *err);

#endif
