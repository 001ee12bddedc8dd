/*
 * keyword.c - keyword retrieval over frugal's BM25 index, kept in step with the store (see
 * keyword.h for the contract).
 *
 * How: an index is a base segment (the file, memory-mapped, or an image built in memory when
 * the file cannot be written) plus a delta segment and the ids of base chunks deleted since the
 * base's generation, both read from the store's change log (store_chunks_since) in one read
 * transaction together with the generation they reflect. Catching up rebuilds the delta from the
 * base generation each time the store's generation moves (simple, and bounded: past
 * max(KEYWORD_DELTA_MIN, base/8) chunks the base is rebuilt instead). A full build reads every
 * chunk of the collection in id order through the collection's analyzer (the one the FTS5
 * tokenizer uses), so the terms are identical to FTS5's. The file is replaced with
 * fs_write_atomic (temporary file, fsync, rename), so a reader or a kill -9 sees the old file or
 * the new one.
 *
 * group_by_document is exact by over-fetching: the first k distinct documents of the top k'
 * chunks are the top k documents (a document's best chunk ranks before its others), and k' grows
 * fourfold until k documents are found or the ranking is exhausted. Filters become a bitset over
 * chunk ids (store_filter_chunk_ids), tested inside the traversal.
 *
 * Why the store's log rather than hooks in the ingestion code: the log is written by triggers
 * in the same transaction as the chunks, so no writer (another process, a future server) can
 * forget it, and a crash can never leave the index believing in a write that rolled back.
 *
 * Threading: ki->lock is a rwlock. keyword_search takes it exclusively only to catch up (swap in
 * new segments), then shared for the ranking; so concurrent searches run in parallel while one
 * thread at a time refreshes. The store handles are per thread (store.h).
 */
#include "query/keyword.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/id_set.h"
#include "base/log.h"
#include "index/bm25.h"
#include "query/index_file.h"
#include "text/analyzer.h"

#define KEYWORD_MAX_QUERY_TERMS 1024

struct keyword_index {
    int64_t collection_id;
    char *path;                   /* owned; NULL: no file */
    bool writable;
    pthread_rwlock_t lock;
    struct bm25_segment *base;    /* owned */
    struct bm25_segment *delta;   /* owned, may be NULL */
    struct bm25_index *ix;        /* owned; NULL until the first search */
    int64_t generation;           /* the store generation ix reflects */
};

frugal_status keyword_index_path(const char *db_path, int64_t collection_id, char **out)
{
    return index_file_path(db_path, "bm25", collection_id, "idx", out);
}

frugal_status keyword_open(const char *db_path, bool writable, int64_t collection_id,
                           struct keyword_index **out, struct err *err)
{
    *out = NULL;
    struct keyword_index *ki = frugal_calloc(1, sizeof *ki);
    if (ki == NULL)
        return err_set(err, FRUGAL_ENOMEM, "keyword index: out of memory");
    ki->collection_id = collection_id;
    ki->writable = writable;
    ki->generation = -1;
    if (keyword_index_path(db_path, collection_id, &ki->path) != FRUGAL_OK) {
        frugal_free(ki);
        return err_set(err, FRUGAL_ENOMEM, "keyword index: out of memory");
    }
    if (pthread_rwlock_init(&ki->lock, NULL) != 0) {
        frugal_free(ki->path);
        frugal_free(ki);
        return err_set(err, FRUGAL_ENOMEM, "keyword index: cannot create its lock");
    }
    *out = ki;
    return FRUGAL_OK;
}

static void drop_segments(struct keyword_index *ki)
{
    bm25_index_free(ki->ix);
    bm25_segment_close(ki->delta);
    bm25_segment_close(ki->base);
    ki->ix = NULL;
    ki->delta = NULL;
    ki->base = NULL;
    ki->generation = -1;
}

void keyword_close(struct keyword_index *ki)
{
    if (ki == NULL)
        return;
    drop_segments(ki);
    pthread_rwlock_destroy(&ki->lock);
    frugal_free(ki->path);
    frugal_free(ki);
}

size_t keyword_file_size(const struct keyword_index *ki)
{
    return ki->base != NULL && ki->path != NULL ? bm25_segment_size(ki->base) : 0;
}

size_t keyword_delta_docs(const struct keyword_index *ki)
{
    return ki->delta != NULL ? bm25_segment_n_docs(ki->delta) : 0;
}

static void coll_weights(const struct collection_row *coll, double w[BM25_N_FIELDS])
{
    w[0] = coll->title_weight;
    w[1] = coll->heading_weight;
    w[2] = coll->body_weight;
}

/* ---- Building ---- */

struct build_ctx {
    struct bm25_builder *b;
    struct err *err;
    int64_t *removed; /* (n_removed) */
    size_t n_removed, cap_removed;
};

static frugal_status on_chunk(void *ctx, int64_t chunk_id, int64_t document_id,
                              const char *const text[3], const size_t len[3])
{
    struct build_ctx *c = ctx;
    return bm25_builder_add(c->b, chunk_id, document_id, text, len, c->err);
}

static frugal_status on_removed(void *ctx, int64_t chunk_id)
{
    struct build_ctx *c = ctx;
    if (c->n_removed == c->cap_removed) {
        size_t cap = c->cap_removed > 0 ? 2 * c->cap_removed : 64;
        int64_t *grown = frugal_reallocarray(c->removed, cap, sizeof *grown);
        if (grown == NULL)
            return err_set(c->err, FRUGAL_ENOMEM, "keyword index: out of memory");
        c->removed = grown;
        c->cap_removed = cap;
    }
    c->removed[c->n_removed++] = chunk_id;
    return FRUGAL_OK;
}

/* Builds a segment from the store: since < 0 every chunk (then removed stays empty), else the
 * chunks added after since (and the removed ids into ctx). *generation: what it reflects. */
static frugal_status build_segment(struct store *st, const struct collection_row *coll,
                                   int64_t since, struct build_ctx *ctx,
                                   struct bm25_segment **seg, uint8_t **image_out,
                                   size_t *len_out, int64_t *generation, struct err *err)
{
    *seg = NULL;
    struct analyzer *an = NULL;
    double w[BM25_N_FIELDS];
    coll_weights(coll, w);
    frugal_status rc = store_collection_analyzer(st, coll, &an, err);
    if (rc == FRUGAL_OK)
        rc = bm25_builder_new(an, w, &ctx->b, err);
    if (rc == FRUGAL_OK)
        rc = store_chunks_since(st, coll->id, since, on_chunk, on_removed, ctx, generation, err);
    uint8_t *image = NULL;
    size_t len = 0;
    if (rc == FRUGAL_OK)
        rc = bm25_builder_finish(ctx->b, *generation, coll->id, &image, &len, err);
    bm25_builder_free(ctx->b);
    ctx->b = NULL;
    if (rc == FRUGAL_OK && image_out != NULL) {
        /* the caller writes the image first; the segment then borrows a copy it owns */
        uint8_t *copy = frugal_malloc(len);
        if (copy == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "keyword index: out of memory");
        else
            memcpy(copy, image, len);
        *image_out = image;
        *len_out = len;
        image = copy;
    }
    if (rc == FRUGAL_OK)
        rc = bm25_segment_open_image(image, len, true, false, seg, err);
    else if (image_out == NULL || *image_out != image)
        frugal_free(image);
    return rc;
}

/* Full build of the base segment; written to path when write is set. */
static frugal_status build_base(struct store *st, const char *path, bool write,
                                const struct collection_row *coll, struct bm25_segment **seg,
                                int64_t *generation, struct err *err)
{
    struct build_ctx ctx = {.err = err};
    uint8_t *image = NULL;
    size_t len = 0;
    frugal_status rc = build_segment(st, coll, -1, &ctx, seg, write && path != NULL ? &image : NULL,
                                     &len, generation, err);
    frugal_free(ctx.removed);
    if (rc == FRUGAL_OK && image != NULL) {
        struct err werr;
        err_clear(&werr);
        frugal_status wrc = index_file_make_dir(path, &werr);
        if (wrc == FRUGAL_OK)
            wrc = fs_write_atomic(path, image, len, &werr);
        if (wrc != FRUGAL_OK)
            log_info("%s: cannot save the BM25 index (searching from memory): %s", path,
                     werr.msg);
    }
    frugal_free(image);
    return rc;
}

/* ---- Catching up ---- */

static bool weights_match(const struct bm25_segment *s, const struct collection_row *coll)
{
    double a[BM25_N_FIELDS];
    double b[BM25_N_FIELDS];
    bm25_segment_weights(s, a);
    coll_weights(coll, b);
    return memcmp(a, b, sizeof a) == 0;
}

/* Loads the base from the file when there is none; NULL base when unusable (logged). */
static void load_base(struct keyword_index *ki, int64_t store_gen,
                      const struct collection_row *coll)
{
    if (ki->base != NULL || ki->path == NULL)
        return;
    struct err e;
    err_clear(&e);
    struct bm25_segment *s = NULL;
    frugal_status rc = bm25_segment_open_file(ki->path, &s, &e);
    if (rc == FRUGAL_ENOTFOUND) {
        log_info("%s: no BM25 index yet; building it", ki->path);
        return;
    }
    if (rc != FRUGAL_OK) {
        log_warn("%s; rebuilding the BM25 index from the database", e.msg);
        return;
    }
    const char *why = NULL;
    if (bm25_segment_collection(s) != ki->collection_id)
        why = "it belongs to another collection";
    else if (bm25_segment_generation(s) > store_gen)
        why = "it is newer than the database";
    else if (!weights_match(s, coll))
        why = "the collection's field weights changed";
    if (why != NULL) {
        log_info("%s: %s; rebuilding the BM25 index", ki->path, why);
        bm25_segment_close(s);
        return;
    }
    ki->base = s;
}

static frugal_status catch_up(struct keyword_index *ki, struct store *st,
                              const struct collection_row *coll, struct err *err)
{
    int64_t store_gen = store_generation(st);
    if (store_gen < 0)
        return err_set(err, FRUGAL_EIO, "keyword index: cannot read the database generation");
    if (ki->ix != NULL && ki->generation == store_gen && weights_match(ki->base, coll))
        return FRUGAL_OK;
    if (ki->base != NULL && !weights_match(ki->base, coll))
        drop_segments(ki);
    load_base(ki, store_gen, coll);
    frugal_status rc = FRUGAL_OK;
    struct build_ctx ctx = {.err = err};
    struct bm25_segment *delta = NULL;
    int64_t gen = -1;
    if (ki->base != NULL) {
        int64_t base_gen = bm25_segment_generation(ki->base);
        rc = build_segment(st, coll, base_gen, &ctx, &delta, NULL, NULL, &gen, err);
        size_t n_base = bm25_segment_n_docs(ki->base);
        size_t limit = n_base / 8 > KEYWORD_DELTA_MIN ? n_base / 8 : KEYWORD_DELTA_MIN;
        size_t churn = ctx.n_removed + (delta != NULL ? bm25_segment_n_docs(delta) : 0);
        if (rc == FRUGAL_ENOTFOUND || (rc == FRUGAL_OK && churn > limit && ki->writable)) {
            log_info("%s: %s; rebuilding the BM25 index", ki->path != NULL ? ki->path : "index",
                     rc == FRUGAL_ENOTFOUND ? "the change log does not reach back to it"
                                            : "many changes since it was written");
            err_clear(err);
            rc = FRUGAL_OK;
            bm25_segment_close(delta);
            delta = NULL;
            drop_segments(ki);
        }
    }
    if (rc == FRUGAL_OK && ki->base == NULL) {
        ctx.n_removed = 0;
        rc = build_base(st, ki->path, ki->writable, coll, &ki->base, &gen, err);
    }
    struct bm25_index *ix = NULL;
    if (rc == FRUGAL_OK)
        rc = bm25_index_new(ki->base, delta, ctx.removed, ctx.n_removed, &ix, err);
    frugal_free(ctx.removed);
    if (rc != FRUGAL_OK) {
        bm25_segment_close(delta);
        return rc;
    }
    bm25_index_free(ki->ix);
    bm25_segment_close(ki->delta);
    ki->ix = ix;
    ki->delta = delta;
    ki->generation = gen;
    return FRUGAL_OK;
}

/* ---- Search ---- */

struct terms_ctx {
    struct buf bytes;
    size_t *off;   /* (n) into bytes */
    size_t *len;
    size_t n, cap;
    frugal_status rc;
};

static int on_query_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                         size_t byte_end)
{
    struct terms_ctx *t = ctx;
    if (t->n == KEYWORD_MAX_QUERY_TERMS)
        return 1;
    if (t->n == t->cap) {
        size_t cap = t->cap > 0 ? 2 * t->cap : 16;
        size_t *off = frugal_reallocarray(t->off, cap, sizeof *off);
        if (off != NULL)
            t->off = off;
        size_t *len = off != NULL ? frugal_reallocarray(t->len, cap, sizeof *len) : NULL;
        if (len == NULL) {
            t->rc = FRUGAL_ENOMEM;
            return 1;
        }
        t->len = len;
        t->cap = cap;
    }
    t->off[t->n] = t->bytes.len;
    t->len[t->n] = term_len;
    t->rc = buf_append(&t->bytes, term, term_len);
    if (t->rc != FRUGAL_OK)
        return 1;
    t->n++;
    return 0;
}

/* Ranks into hits (chunk_id, document_id, score), at most k. */
static frugal_status rank(struct keyword_index *ki, const struct collection_row *coll,
                          const struct bm25_term *terms, size_t n_terms,
                          const struct bm25_search_opts *base_opts, bool group, size_t k,
                          struct store_hit *out, size_t *n_out, struct err *err)
{
    struct bm25_params params = {.k1 = coll->k1, .b = coll->b};
    coll_weights(coll, params.w);
    size_t live = bm25_index_n_docs(ki->ix);
    size_t kk = group ? 2 * k : k;
    if (kk > live)
        kk = live > 0 ? live : 1;
    frugal_status rc = FRUGAL_OK;
    *n_out = 0;
    for (;;) {
        struct bm25_hit *hits = frugal_calloc(kk, sizeof *hits);
        struct id_set seen = {0};
        if (hits == NULL || (group && id_set_init(&seen, kk) != FRUGAL_OK))
            rc = err_set(err, FRUGAL_ENOMEM, "keyword search: out of memory");
        size_t n_hits = 0;
        struct bm25_search_opts o = *base_opts;
        o.k = kk;
        if (rc == FRUGAL_OK)
            rc = bm25_search(ki->ix, &params, terms, n_terms, &o, hits, &n_hits, err);
        size_t n = 0;
        for (size_t i = 0; rc == FRUGAL_OK && i < n_hits && n < k; i++) {
            if (group && !id_set_add(&seen, hits[i].document_id))
                continue;
            out[n].chunk_id = hits[i].chunk_id;
            out[n].document_id = hits[i].document_id;
            out[n].score = hits[i].score;
            n++;
        }
        frugal_free(hits);
        id_set_release(&seen);
        if (rc != FRUGAL_OK)
            return rc;
        *n_out = n;
        if (!group || n == k || n_hits < kk || kk >= live)
            return FRUGAL_OK;
        kk = kk * 4 < live ? kk * 4 : live;
    }
}

/* keyword_search and keyword_rank: fill says whether the hits get their rows. */
static frugal_status search(struct keyword_index *ki, struct store *st,
                            const struct collection_row *coll, const char *query,
                            const struct store_search_opts *opts, bool fill,
                            struct store_hit **hits, size_t *n_hits, struct err *err)
{
    *hits = NULL;
    *n_hits = 0;
    size_t k = opts->k < STORE_MAX_K ? opts->k : STORE_MAX_K;
    if (k == 0 || query == NULL)
        return FRUGAL_OK;
    struct analyzer *an = NULL;
    frugal_status rc = store_collection_analyzer(st, coll, &an, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct terms_ctx t = {.rc = FRUGAL_OK};
    buf_init(&t.bytes, 0);
    rc = analyzer_run(an, query, strlen(query), on_query_term, &t);
    if (rc == FRUGAL_OK)
        rc = t.rc;
    struct bm25_term *terms = NULL;
    if (rc == FRUGAL_OK && t.n > 0) {
        terms = frugal_calloc(t.n, sizeof *terms);
        if (terms == NULL)
            rc = FRUGAL_ENOMEM;
        for (size_t i = 0; terms != NULL && i < t.n; i++) {
            terms[i].term = t.bytes.ptr + t.off[i];
            terms[i].len = t.len[i];
        }
    }
    if (rc != FRUGAL_OK)
        rc = err_set(err, rc, "keyword search: analyze query: %s", frugal_strerror(rc));
    uint64_t *allow = NULL;
    int64_t allow_bits = 0;
    if (rc == FRUGAL_OK && t.n > 0 && opts->n_filters > 0) {
        int64_t *ids = NULL;
        size_t n_ids = 0;
        rc = store_filter_chunk_ids(st, coll->id, opts->filters, opts->n_filters, &ids, &n_ids,
                                    err);
        if (rc == FRUGAL_OK) {
            allow_bits = n_ids > 0 ? ids[n_ids - 1] + 1 : 0;
            allow = frugal_calloc((size_t)(allow_bits + 63) / 64 + 1, sizeof *allow);
            if (allow == NULL)
                rc = err_set(err, FRUGAL_ENOMEM, "keyword search: out of memory");
            for (size_t i = 0; allow != NULL && i < n_ids; i++)
                if (ids[i] >= 0)
                    allow[(uint64_t)ids[i] / 64] |= (uint64_t)1 << ((uint64_t)ids[i] % 64);
        }
        frugal_free(ids);
    }
    struct store_hit *out = NULL;
    size_t n = 0;
    if (rc == FRUGAL_OK && t.n > 0) {
        out = frugal_calloc(k, sizeof *out);
        if (out == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "keyword search: out of memory");
    }
    if (rc == FRUGAL_OK && t.n > 0) {
        pthread_rwlock_wrlock(&ki->lock);
        rc = catch_up(ki, st, coll, err);
        pthread_rwlock_unlock(&ki->lock);
    }
    if (rc == FRUGAL_OK && t.n > 0) {
        struct bm25_search_opts so = {.allow = allow, .allow_bits = allow_bits};
        pthread_rwlock_rdlock(&ki->lock);
        rc = rank(ki, coll, terms, t.n, &so, opts->group_by_document, k, out, &n, err);
        pthread_rwlock_unlock(&ki->lock);
        if (rc == FRUGAL_ECORRUPT) {
            /* a block failed its check: next time the file is rebuilt */
            log_warn("%s; rebuilding the BM25 index", err->msg);
            pthread_rwlock_wrlock(&ki->lock);
            drop_segments(ki);
            if (ki->path != NULL)
                remove(ki->path);
            pthread_rwlock_unlock(&ki->lock);
        }
    }
    if (rc == FRUGAL_OK && n > 0 && fill)
        rc = store_hits_fill(st, coll, query, opts, out, n, err);
    frugal_free(allow);
    frugal_free(terms);
    frugal_free(t.off);
    frugal_free(t.len);
    buf_release(&t.bytes);
    if (rc != FRUGAL_OK || n == 0) {
        for (size_t i = 0; i < n; i++)
            store_hit_release(&out[i]);
        frugal_free(out);
        return rc;
    }
    *hits = out;
    *n_hits = n;
    return FRUGAL_OK;
}

frugal_status keyword_search(struct keyword_index *ki, struct store *st,
                             const struct collection_row *coll, const char *query,
                             const struct store_search_opts *opts, struct store_hit **hits,
                             size_t *n_hits, struct err *err)
{
    return search(ki, st, coll, query, opts, true, hits, n_hits, err);
}

frugal_status keyword_rank(struct keyword_index *ki, struct store *st,
                           const struct collection_row *coll, const char *query,
                           const struct store_search_opts *opts, struct store_hit **hits,
                           size_t *n_hits, struct err *err)
{
    return search(ki, st, coll, query, opts, false, hits, n_hits, err);
}

frugal_status keyword_optimize(struct store *st, const char *db_path,
                               const struct collection_row *coll, struct err *err)
{
    char *path = NULL;
    if (keyword_index_path(db_path, coll->id, &path) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "optimize: out of memory");
    if (path == NULL)
        return err_set(err, FRUGAL_EINVAL, "optimize: the database has no file to write beside");
    struct build_ctx ctx = {.err = err};
    struct bm25_segment *seg = NULL;
    uint8_t *image = NULL;
    size_t len = 0;
    int64_t gen = -1;
    frugal_status rc = build_segment(st, coll, -1, &ctx, &seg, &image, &len, &gen, err);
    frugal_free(ctx.removed);
    bm25_segment_close(seg);
    if (rc == FRUGAL_OK)
        rc = index_file_make_dir(path, err);
    if (rc == FRUGAL_OK)
        rc = fs_write_atomic(path, image, len, err);
    if (rc == FRUGAL_OK)
        rc = store_changes_prune(st, coll->id, gen, err);
    frugal_free(image);
    frugal_free(path);
    return rc;
}
