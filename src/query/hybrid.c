/*
 * hybrid.c - fusion of BM25 and dense candidate lists, and MMR diversification (see hybrid.h
 * for the contract and the exact formulas).
 *
 * How: both lists become one array of contributions tagged with their side and key (chunk id,
 * or document id when grouping); sorted by key, each run of equal keys merges into one fused
 * entry (a side that lists a key twice counts once, with its better contribution). The fused
 * array is sorted by score, ties by chunk id. MMR is the plain greedy O(k n dim) loop with a
 * running "max similarity to the picked set" per candidate, which is cheap at the candidate
 * depth used (hybrid_depth: max(k, 100) per side, at most 2x that fused). The candidate lists
 * arrive as ids and scores only (keyword_rank, dense_rank); rows and snippets are read for the
 * k hits kept, after fusion: reading them for all 2 x 100 candidates was 3/4 of a hybrid query's
 * time on SciFact (6.7 ms p50 before, 1.4 ms after; BENCHMARKS.md, hybrid).
 *
 * Why fusion at the document level when grouping: each side's grouped list already ranks
 * documents by their best chunk, so fusing those ranks is fusing document rankings, which is
 * what grouped results (and BEIR's document-level judgements) are about; fusing chunks first
 * and grouping afterwards would let a document's second-best chunk on one side pair with a
 * different chunk on the other. Why min-max normalization per list for the convex combination:
 * BM25 scores are unbounded and query-dependent, cosine similarities are not; min-max puts both
 * on [0, 1] per query with no fitted constants.
 *
 * Threading: no shared state; every function works on its arguments only.
 */
#include "query/hybrid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

size_t hybrid_depth(size_t k)
{
    size_t depth = k > HYBRID_MIN_DEPTH ? k : HYBRID_MIN_DEPTH;
    return depth > STORE_MAX_K ? STORE_MAX_K : depth;
}

/* One side's contribution to a key. */
struct contrib {
    int64_t key;
    int64_t chunk_id;
    int64_t document_id;
    double value;   /* RRF term, or the weighted normalized score */
    int side;       /* 0 BM25, 1 dense */
};

static int contrib_by_key(const void *pa, const void *pb)
{
    const struct contrib *a = pa;
    const struct contrib *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (a->side != b->side)
        return a->side - b->side;
    if (a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return 0;
}

static int cand_by_score(const void *pa, const void *pb)
{
    const struct hybrid_cand *a = pa;
    const struct hybrid_cand *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->chunk_id != b->chunk_id)
        return a->chunk_id < b->chunk_id ? -1 : 1;
    return 0;
}

/* Appends the contributions of one side into c. */
static void side_contribs(const struct hybrid_cand *list, size_t n, int side,
                          const struct hybrid_opts *opts, struct contrib *c)
{
    double lo = 0.0;
    double hi = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || list[i].score < lo)
            lo = list[i].score;
        if (i == 0 || list[i].score > hi)
            hi = list[i].score;
    }
    double weight = side == 1 ? opts->alpha : 1.0 - opts->alpha;
    for (size_t i = 0; i < n; i++) {
        c[i].key = opts->by_document ? list[i].document_id : list[i].chunk_id;
        c[i].chunk_id = list[i].chunk_id;
        c[i].document_id = list[i].document_id;
        c[i].side = side;
        if (opts->fusion == HYBRID_RRF)
            c[i].value = 1.0 / (HYBRID_RRF_K + (double)(i + 1));
        else
            c[i].value = weight * (hi > lo ? (list[i].score - lo) / (hi - lo) : 1.0);
    }
}

frugal_status hybrid_fuse(const struct hybrid_cand *bm25, size_t n_bm25,
                          const struct hybrid_cand *dense, size_t n_dense,
                          const struct hybrid_opts *opts, struct hybrid_cand **out,
                          size_t *n_out, struct err *err)
{
    *out = NULL;
    *n_out = 0;
    size_t n = n_bm25 + n_dense;
    if (n == 0)
        return FRUGAL_OK;
    struct contrib *c = frugal_calloc(n, sizeof *c);
    struct hybrid_cand *fused = frugal_calloc(n, sizeof *fused);
    if (c == NULL || fused == NULL) {
        frugal_free(c);
        frugal_free(fused);
        return err_set(err, FRUGAL_ENOMEM, "hybrid: out of memory");
    }
    side_contribs(bm25, n_bm25, 0, opts, c);
    side_contribs(dense, n_dense, 1, opts, c + n_bm25);
    qsort(c, n, sizeof *c, contrib_by_key);
    size_t n_fused = 0;
    for (size_t i = 0; i < n;) {
        /* a run of one key: sorted by side, then best contribution first */
        const struct contrib *best[2] = {NULL, NULL};
        size_t j = i;
        for (; j < n && c[j].key == c[i].key; j++) {
            if (best[c[j].side] == NULL)
                best[c[j].side] = &c[j];
        }
        double v0 = best[0] != NULL ? best[0]->value : 0.0;
        double v1 = best[1] != NULL ? best[1]->value : 0.0;
        const struct contrib *rep = best[0] != NULL && (best[1] == NULL || v0 >= v1) ? best[0]
                                                                                     : best[1];
        fused[n_fused].chunk_id = rep->chunk_id;
        fused[n_fused].document_id = rep->document_id;
        fused[n_fused].score = v0 + v1;
        n_fused++;
        i = j;
    }
    frugal_free(c);
    qsort(fused, n_fused, sizeof *fused, cand_by_score);
    *out = fused;
    *n_out = n_fused;
    return FRUGAL_OK;
}

/* Whether key is among the first n keys of list. */
static bool in_top(const struct hybrid_cand *list, size_t n, int64_t key, bool by_document)
{
    for (size_t i = 0; i < n; i++)
        if ((by_document ? list[i].document_id : list[i].chunk_id) == key)
            return true;
    return false;
}

double hybrid_agreement(const struct hybrid_cand *bm25, size_t n_bm25,
                        const struct hybrid_cand *dense, size_t n_dense, bool by_document)
{
    if (n_bm25 == 0 && n_dense == 0)
        return -1.0;
    size_t na = n_bm25 < HYBRID_AGREEMENT_DEPTH ? n_bm25 : HYBRID_AGREEMENT_DEPTH;
    size_t nb = n_dense < HYBRID_AGREEMENT_DEPTH ? n_dense : HYBRID_AGREEMENT_DEPTH;
    if (na == 0 || nb == 0)
        return 0.0;
    /* count distinct keys of the shorter top list found in the other's top */
    const struct hybrid_cand *shorter = na <= nb ? bm25 : dense;
    const struct hybrid_cand *other = na <= nb ? dense : bm25;
    size_t n_short = na <= nb ? na : nb;
    size_t n_other = na <= nb ? nb : na;
    size_t shared = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n_short; i++) {
        int64_t key = by_document ? shorter[i].document_id : shorter[i].chunk_id;
        if (in_top(shorter, i, key, by_document))
            continue; /* a key listed twice counts once */
        distinct++;
        shared += in_top(other, n_other, key, by_document);
    }
    return distinct > 0 ? (double)shared / (double)distinct : 0.0;
}

static double cosine(const float *a, const float *b, size_t dim)
{
    double dot = 0.0;
    double na = 0.0;
    double nb = 0.0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    if (na <= 0.0 || nb <= 0.0)
        return 0.0;
    return dot / (sqrt(na) * sqrt(nb));
}

frugal_status hybrid_mmr(const struct hybrid_cand *fused, size_t n, const float *vecs,
                         size_t dim, double lambda, size_t k, size_t *order, size_t *n_order,
                         struct err *err)
{
    *n_order = 0;
    if (n == 0 || k == 0)
        return FRUGAL_OK;
    double *max_sim = frugal_calloc(n, sizeof *max_sim);
    bool *picked = frugal_calloc(n, sizeof *picked);
    if (max_sim == NULL || picked == NULL) {
        frugal_free(max_sim);
        frugal_free(picked);
        return err_set(err, FRUGAL_ENOMEM, "hybrid: out of memory");
    }
    double lo = fused[0].score;
    double hi = fused[0].score;
    for (size_t i = 1; i < n; i++) {
        lo = fused[i].score < lo ? fused[i].score : lo;
        hi = fused[i].score > hi ? fused[i].score : hi;
    }
    size_t want = k < n ? k : n;
    for (size_t step = 0; step < want; step++) {
        size_t best = n;
        double best_value = 0.0;
        for (size_t i = 0; i < n; i++) {
            if (picked[i])
                continue;
            double rel = hi > lo ? (fused[i].score - lo) / (hi - lo) : 1.0;
            double value = lambda * rel - (1.0 - lambda) * (step > 0 ? max_sim[i] : 0.0);
            /* strictly better only: ties keep the earlier (better fused) entry */
            if (best == n || value > best_value) {
                best = i;
                best_value = value;
            }
        }
        picked[best] = true;
        order[step] = best;
        const float *vb = vecs + best * dim;
        for (size_t i = 0; i < n; i++) {
            if (picked[i])
                continue;
            double s = cosine(vecs + i * dim, vb, dim);
            if (step == 0 || s > max_sim[i])
                max_sim[i] = s;
        }
    }
    *n_order = want;
    frugal_free(max_sim);
    frugal_free(picked);
    return FRUGAL_OK;
}

/* Copies the (chunk, document, score) triples of hits into a candidate array (owned). */
static frugal_status hits_to_cands(const struct store_hit *hits, size_t n,
                                   struct hybrid_cand **out, struct err *err)
{
    *out = NULL;
    if (n == 0)
        return FRUGAL_OK;
    *out = frugal_calloc(n, sizeof **out);
    if (*out == NULL)
        return err_set(err, FRUGAL_ENOMEM, "hybrid: out of memory");
    for (size_t i = 0; i < n; i++) {
        (*out)[i].chunk_id = hits[i].chunk_id;
        (*out)[i].document_id = hits[i].document_id;
        (*out)[i].score = hits[i].score;
    }
    return FRUGAL_OK;
}

static void hits_free(struct store_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_hit_release(&hits[i]);
    frugal_free(hits);
}

/* Reorders fused[0..n) so that its first *n_keep entries are the MMR picks for k. */
static frugal_status apply_mmr(struct store *st, const struct collection_row *coll,
                               const struct hybrid_opts *hopts, size_t k,
                               struct hybrid_cand *fused, size_t n, size_t *n_keep,
                               struct err *err)
{
    size_t dim = coll->embedder_dim > 0 ? (size_t)coll->embedder_dim : 0;
    if (dim == 0 || n == 0) {
        *n_keep = n < k ? n : k;
        return FRUGAL_OK;
    }
    int64_t *ids = frugal_calloc(n, sizeof *ids);
    float *vecs = frugal_calloc(n, dim * sizeof *vecs);
    size_t *order = frugal_calloc(n, sizeof *order);
    struct hybrid_cand *picked = frugal_calloc(n, sizeof *picked);
    frugal_status rc = FRUGAL_OK;
    if (ids == NULL || vecs == NULL || order == NULL || picked == NULL)
        rc = err_set(err, FRUGAL_ENOMEM, "hybrid: out of memory");
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++)
        ids[i] = fused[i].chunk_id;
    if (rc == FRUGAL_OK)
        rc = store_vectors_get(st, ids, n, dim, vecs, err);
    size_t n_order = 0;
    if (rc == FRUGAL_OK)
        rc = hybrid_mmr(fused, n, vecs, dim, hopts->mmr_lambda, k, order, &n_order, err);
    if (rc == FRUGAL_OK) {
        for (size_t i = 0; i < n_order; i++)
            picked[i] = fused[order[i]];
        memcpy(fused, picked, n_order * sizeof *fused);
        *n_keep = n_order;
    }
    frugal_free(ids);
    frugal_free(vecs);
    frugal_free(order);
    frugal_free(picked);
    return rc;
}

frugal_status hybrid_search(struct store *st, const struct collection_row *coll,
                            const char *query, const struct hybrid_opts *hopts,
                            const struct store_search_opts *opts, struct store_hit *bm25_hits,
                            size_t n_bm25, struct store_hit *dense_hits, size_t n_dense,
                            struct store_hit **hits, size_t *n_hits, double *agreement,
                            struct err *err)
{
    *hits = NULL;
    *n_hits = 0;
    if (agreement != NULL)
        *agreement = -1.0;
    struct hybrid_cand *a = NULL;
    struct hybrid_cand *b = NULL;
    struct hybrid_cand *fused = NULL;
    size_t n_fused = 0;
    frugal_status rc = hits_to_cands(bm25_hits, n_bm25, &a, err);
    if (rc == FRUGAL_OK)
        rc = hits_to_cands(dense_hits, n_dense, &b, err);
    hits_free(bm25_hits, n_bm25);
    hits_free(dense_hits, n_dense);
    if (rc == FRUGAL_OK && agreement != NULL)
        *agreement = hybrid_agreement(a, n_bm25, b, n_dense, hopts->by_document);
    if (rc == FRUGAL_OK)
        rc = hybrid_fuse(a, n_bm25, b, n_dense, hopts, &fused, &n_fused, err);
    frugal_free(a);
    frugal_free(b);
    size_t k = opts->k < STORE_MAX_K ? opts->k : STORE_MAX_K;
    size_t n_keep = n_fused < k ? n_fused : k;
    if (rc == FRUGAL_OK && hopts->mmr_lambda > 0.0 && n_fused > 0) {
        /* MMR picks among the fused candidates down to the depth each side was asked for */
        size_t pool = hybrid_depth(k);
        rc = apply_mmr(st, coll, hopts, k, fused, n_fused < pool ? n_fused : pool, &n_keep, err);
    }
    struct store_hit *out = NULL;
    if (rc == FRUGAL_OK && n_keep > 0) {
        out = frugal_calloc(n_keep, sizeof *out);
        if (out == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "hybrid: out of memory");
    }
    for (size_t i = 0; rc == FRUGAL_OK && i < n_keep; i++) {
        out[i].chunk_id = fused[i].chunk_id;
        out[i].document_id = fused[i].document_id;
        out[i].score = fused[i].score;
    }
    frugal_free(fused);
    if (rc == FRUGAL_OK && n_keep > 0)
        rc = store_hits_fill(st, coll, query, opts, out, n_keep, err);
    if (rc != FRUGAL_OK) {
        if (out != NULL)
            hits_free(out, n_keep);
        return rc;
    }
    *hits = out;
    *n_hits = n_keep;
    return FRUGAL_OK;
}
