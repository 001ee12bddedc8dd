/*
 * dense.c - dense retrieval over frugal's vector indexes, kept in step with the store (see
 * dense.h for the contract).
 *
 * How: an index is either an HNSW graph (loaded from DB.vec/<id>.hnsw, or built from every row
 * of chunk_vectors and saved there) or a flat array for small collections, plus the store
 * generation it reflects. Catching up reads the change log since that generation
 * (store_vectors_since): deleted chunk ids leave the index, vectors of inserted chunks that still
 * exist enter it (an id deleted and reused by a new chunk leaves, then comes back with its new
 * vector). An HNSW index that changed is saved again (hnsw_save: temporary file, fsync, rename,
 * so a reader or a kill -9 sees the old file or the new one). A full build adds every vector
 * with hnsw_add_batch on several threads.
 *
 * Why the same shape as keyword.c: the store's change log is written by triggers in the
 * transaction that writes the chunks, so every writer is covered and a rolled-back write is
 * never believed; the index is a cache that can always be thrown away.
 *
 * group_by_document over-fetches: k' = 2k chunks, mapped to their documents
 * (store_chunk_documents), the first k distinct documents kept; k' grows fourfold until k
 * documents are found or the index is exhausted. Filters: store_filter_chunk_ids gives the
 * sorted allowed ids, tested by binary search inside the index's search (the HNSW switches to an
 * exact scan of the matching ids when they are few).
 *
 * Threading: di->lock is a rwlock: exclusive to catch up, shared to search (hnsw_search and
 * flat_search may run in parallel). The store handles are per thread.
 */
#include "query/dense.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include "base/alloc.h"
#include "base/log.h"
#include "index/flat.h"
#include "index/hnsw.h"
#include "query/index_file.h"

struct dense_index {
    int64_t collection_id;
    char *path;          /* owned; NULL: no file */
    bool writable;
    pthread_rwlock_t lock;
    struct hnsw *h;      /* owned; one of h and f, or neither before the first search */
    struct flat *f;      /* owned */
    uint32_t dim;
    enum vec_storage storage;
    int64_t generation;  /* the store generation the index reflects; -1 none */
};

size_t dense_flat_max(void)
{
    const char *e = getenv("FRUGAL_DENSE_FLAT_MAX");
    if (e != NULL && e[0] != '\0') {
        char *end = NULL;
        unsigned long long v = strtoull(e, &end, 10);
        if (end != NULL && *end == '\0')
            return (size_t)v;
    }
    return DENSE_FLAT_MAX_DEFAULT;
}

frugal_status dense_index_path(const char *db_path, int64_t collection_id, char **out)
{
    return index_file_path(db_path, "vec", collection_id, "hnsw", out);
}

frugal_status dense_open(const char *db_path, bool writable, int64_t collection_id,
                         struct dense_index **out, struct err *err)
{
    *out = NULL;
    struct dense_index *di = frugal_calloc(1, sizeof *di);
    if (di == NULL)
        return err_set(err, FRUGAL_ENOMEM, "dense index: out of memory");
    di->collection_id = collection_id;
    di->writable = writable;
    di->generation = -1;
    if (dense_index_path(db_path, collection_id, &di->path) != FRUGAL_OK) {
        frugal_free(di);
        return err_set(err, FRUGAL_ENOMEM, "dense index: out of memory");
    }
    if (pthread_rwlock_init(&di->lock, NULL) != 0) {
        frugal_free(di->path);
        frugal_free(di);
        return err_set(err, FRUGAL_ENOMEM, "dense index: cannot create its lock");
    }
    *out = di;
    return FRUGAL_OK;
}

static void drop_index(struct dense_index *di)
{
    hnsw_free(di->h);
    flat_free(di->f);
    di->h = NULL;
    di->f = NULL;
    di->generation = -1;
}

void dense_close(struct dense_index *di)
{
    if (di == NULL)
        return;
    drop_index(di);
    pthread_rwlock_destroy(&di->lock);
    frugal_free(di->path);
    frugal_free(di);
}

size_t dense_count(struct dense_index *di)
{
    if (di->h != NULL)
        return hnsw_count(di->h);
    return di->f != NULL ? flat_count(di->f) : 0;
}

bool dense_is_hnsw(const struct dense_index *di)
{
    return di->h != NULL;
}

static enum vec_storage storage_of(const struct collection_row *coll)
{
    if (coll->vector_type != NULL && strcmp(coll->vector_type, "f16") == 0)
        return VEC_STORE_F16;
    if (coll->vector_type != NULL && strcmp(coll->vector_type, "i8") == 0)
        return VEC_STORE_I8;
    return VEC_STORE_F32;
}

/* ---- Building ---- */

struct gather {
    int64_t *ids;   /* (n) */
    float *vecs;    /* (n, dim) */
    size_t n, cap, dim;
    struct err *err;
};

static frugal_status gather_add(void *ctx, int64_t chunk_id, const float *vec)
{
    struct gather *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap > 0 ? 2 * g->cap : 256;
        int64_t *ids = frugal_reallocarray(g->ids, cap, sizeof *ids);
        if (ids != NULL)
            g->ids = ids;
        float *vecs = ids != NULL ? frugal_reallocarray(g->vecs, cap * g->dim, sizeof *vecs)
                                  : NULL;
        if (vecs == NULL)
            return err_set(g->err, FRUGAL_ENOMEM, "dense index: out of memory");
        g->vecs = vecs;
        g->cap = cap;
    }
    g->ids[g->n] = chunk_id;
    memcpy(g->vecs + g->n * g->dim, vec, g->dim * sizeof *vec);
    g->n++;
    return FRUGAL_OK;
}

static frugal_status ignore_removed(void *ctx, int64_t chunk_id)
{
    (void)ctx;
    (void)chunk_id;
    return FRUGAL_OK;
}

/* Saves the HNSW index when it has a writable file; a failure only logs. */
static void save(struct dense_index *di)
{
    if (di->h == NULL || di->path == NULL || !di->writable)
        return;
    struct err e;
    err_clear(&e);
    hnsw_set_generation(di->h, (uint64_t)di->generation);
    frugal_status rc = index_file_make_dir(di->path, &e);
    if (rc == FRUGAL_OK)
        rc = hnsw_save(di->h, di->path, &e);
    if (rc != FRUGAL_OK)
        log_info("%s: cannot save the vector index (searching from memory): %s", di->path,
                 e.msg);
}

static unsigned build_threads(size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 10000 || cpus <= 1)
        return 1;
    return cpus > 8 ? 8 : (unsigned)cpus;
}

/* Full build from every stored vector of the collection. */
static frugal_status build(struct dense_index *di, struct store *st,
                           const struct collection_row *coll, struct err *err)
{
    drop_index(di);
    struct gather g = {.dim = di->dim, .err = err};
    int64_t gen = -1;
    frugal_status rc = store_vectors_since(st, coll->id, di->dim, -1, gather_add, ignore_removed,
                                           &g, &gen, err);
    if (rc == FRUGAL_OK && g.n < dense_flat_max()) {
        rc = flat_new(di->dim, VEC_METRIC_COS, &di->f, err);
        if (rc == FRUGAL_OK && g.n > 0)
            rc = flat_add_batch(di->f, g.ids, g.vecs, g.n, err);
    } else if (rc == FRUGAL_OK) {
        struct hnsw_params p;
        hnsw_default_params(&p, di->dim);
        p.metric = VEC_METRIC_COS;
        p.storage = di->storage;
        rc = hnsw_new(&p, &di->h, err);
        if (rc == FRUGAL_OK)
            rc = hnsw_add_batch(di->h, g.ids, g.vecs, g.n, build_threads(g.n), err);
    }
    frugal_free(g.ids);
    frugal_free(g.vecs);
    if (rc != FRUGAL_OK) {
        drop_index(di);
        return rc;
    }
    di->generation = gen;
    save(di);
    return FRUGAL_OK;
}

/* ---- Catching up ---- */

struct apply {
    struct dense_index *di;
    struct err *err;
    size_t n_changes;
};

static frugal_status apply_removed(void *ctx, int64_t chunk_id)
{
    struct apply *a = ctx;
    frugal_status rc = FRUGAL_OK;
    if (a->di->h != NULL && hnsw_contains(a->di->h, chunk_id))
        rc = hnsw_delete(a->di->h, chunk_id, a->err);
    else if (a->di->f != NULL)
        rc = flat_delete(a->di->f, chunk_id, NULL);
    if (rc == FRUGAL_ENOTFOUND)
        rc = FRUGAL_OK;
    a->n_changes++;
    return rc;
}

static frugal_status apply_added(void *ctx, int64_t chunk_id, const float *vec)
{
    struct apply *a = ctx;
    a->n_changes++;
    if (a->di->h != NULL)
        return hnsw_update(a->di->h, chunk_id, vec, a->err);
    flat_delete(a->di->f, chunk_id, NULL);
    return flat_add(a->di->f, chunk_id, vec, a->err);
}

/* Loads the file when there is no index in memory; leaves none when it is unusable (logged). */
static void load(struct dense_index *di, int64_t store_gen)
{
    if (di->h != NULL || di->f != NULL || di->path == NULL)
        return;
    struct err e;
    err_clear(&e);
    struct hnsw *h = NULL;
    frugal_status rc = hnsw_load(di->path, &h, &e);
    if (rc == FRUGAL_ENOTFOUND) {
        log_info("%s: no vector index yet; building it", di->path);
        return;
    }
    if (rc != FRUGAL_OK) {
        log_warn("%s; rebuilding the vector index from the database", e.msg);
        return;
    }
    const struct hnsw_params *p = hnsw_get_params(h);
    const char *why = NULL;
    if (p->dim != di->dim)
        why = "it holds vectors of another dimension";
    else if (p->metric != VEC_METRIC_COS)
        why = "it uses another metric";
    else if (p->storage != di->storage)
        why = "the collection's vector type changed";
    else if ((int64_t)hnsw_generation(h) > store_gen)
        why = "it is newer than the database";
    if (why != NULL) {
        log_info("%s: %s; rebuilding the vector index", di->path, why);
        hnsw_free(h);
        return;
    }
    di->h = h;
    di->generation = (int64_t)hnsw_generation(h);
}

static frugal_status catch_up(struct dense_index *di, struct store *st,
                              const struct collection_row *coll, struct err *err)
{
    int64_t store_gen = store_generation(st);
    if (store_gen < 0)
        return err_set(err, FRUGAL_EIO, "dense index: cannot read the database generation");
    uint32_t dim = (uint32_t)coll->embedder_dim;
    enum vec_storage storage = storage_of(coll);
    if (di->dim != dim || di->storage != storage) {
        drop_index(di);
        di->dim = dim;
        di->storage = storage;
    }
    if ((di->h != NULL || di->f != NULL) && di->generation == store_gen)
        return FRUGAL_OK;
    load(di, store_gen);
    if (di->h == NULL && di->f == NULL)
        return build(di, st, coll, err);
    struct apply a = {.di = di, .err = err};
    int64_t gen = -1;
    frugal_status rc = store_vectors_since(st, coll->id, dim, di->generation, apply_added,
                                           apply_removed, &a, &gen, err);
    const char *why = NULL;
    if (rc == FRUGAL_ENOTFOUND)
        why = "the change log does not reach back to it";
    else if (rc != FRUGAL_OK)
        why = err->msg;
    else if (di->h != NULL && hnsw_deleted_count(di->h) > hnsw_count(di->h) + 1000)
        why = "more deleted vectors than live ones";
    else if (di->f != NULL && flat_count(di->f) > 2 * dense_flat_max())
        why = "it grew past the flat-scan size";
    if (why != NULL) {
        log_info("%s: %s; rebuilding the vector index", di->path != NULL ? di->path : "index",
                 why);
        err_clear(err);
        return build(di, st, coll, err);
    }
    di->generation = gen;
    if (a.n_changes > 0)
        save(di);
    return FRUGAL_OK;
}

/* ---- Search ---- */

struct allowed {
    const int64_t *ids; /* sorted */
    size_t n;
};

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool accept_allowed(int64_t id, void *ctx)
{
    const struct allowed *al = ctx;
    return bsearch(&id, al->ids, al->n, sizeof *al->ids, cmp_id) != NULL;
}

static frugal_status index_search(struct dense_index *di, const float *q, size_t k,
                                  const struct vec_filter *filter, struct vec_hit *out,
                                  size_t *n_out, struct err *err)
{
    if (di->h != NULL) {
        uint32_t ef = k > 64 ? (uint32_t)k : 64;
        return hnsw_search(di->h, q, k, ef, filter, out, n_out, err);
    }
    return flat_search(di->f, q, k, filter, out, n_out, err);
}

/* Ranks into out (chunk_id, document_id, score), at most k. */
static frugal_status rank(struct dense_index *di, struct store *st, const float *q, bool group,
                          size_t k, const struct vec_filter *filter, struct store_hit *out,
                          size_t *n_out, struct err *err)
{
    size_t live = dense_count(di);
    *n_out = 0;
    if (live == 0)
        return FRUGAL_OK;
    size_t kk = group ? 2 * k : k;
    if (kk > live)
        kk = live;
    for (;;) {
        struct vec_hit *hits = frugal_calloc(kk, sizeof *hits);
        int64_t *ids = frugal_calloc(kk, sizeof *ids);
        int64_t *docs = frugal_calloc(kk, sizeof *docs);
        frugal_status rc = FRUGAL_OK;
        if (hits == NULL || ids == NULL || docs == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "dense search: out of memory");
        size_t n_hits = 0;
        if (rc == FRUGAL_OK)
            rc = index_search(di, q, kk, filter, hits, &n_hits, err);
        for (size_t i = 0; rc == FRUGAL_OK && i < n_hits; i++)
            ids[i] = hits[i].id;
        if (rc == FRUGAL_OK)
            rc = store_chunk_documents(st, ids, n_hits, docs, err);
        size_t n = 0;
        for (size_t i = 0; rc == FRUGAL_OK && i < n_hits && n < k; i++) {
            if (docs[i] == 0)
                continue; /* deleted after the catch-up by another writer */
            bool dup = false;
            for (size_t j = 0; group && j < n && !dup; j++)
                dup = out[j].document_id == docs[i];
            if (dup)
                continue;
            out[n].chunk_id = hits[i].id;
            out[n].document_id = docs[i];
            out[n].score = 1.0 - (double)hits[i].distance;
            n++;
        }
        frugal_free(hits);
        frugal_free(ids);
        frugal_free(docs);
        if (rc != FRUGAL_OK)
            return rc;
        *n_out = n;
        if (!group || n == k || n_hits < kk || kk >= live)
            return FRUGAL_OK;
        kk = kk * 4 < live ? kk * 4 : live;
    }
}

/* dense_search and dense_rank: fill says whether the hits get their rows. */
static frugal_status search(struct dense_index *di, struct store *st,
                            const struct collection_row *coll, const float *query,
                            const char *query_text, const struct store_search_opts *opts,
                            bool fill, struct store_hit **hits, size_t *n_hits, struct err *err)
{
    *hits = NULL;
    *n_hits = 0;
    size_t k = opts->k < STORE_MAX_K ? opts->k : STORE_MAX_K;
    if (k == 0)
        return FRUGAL_OK;
    if (coll->embedder_dim <= 0)
        return err_set(err, FRUGAL_EINVAL, "collection '%s' has no embedder: dense search needs "
                                           "one (frugal init --embedder SPEC)",
                       coll->name);
    int64_t *allowed_ids = NULL;
    size_t n_allowed = 0;
    frugal_status rc = FRUGAL_OK;
    if (opts->n_filters > 0)
        rc = store_filter_chunk_ids(st, coll->id, opts->filters, opts->n_filters, &allowed_ids,
                                    &n_allowed, err);
    struct allowed al = {.ids = allowed_ids, .n = n_allowed};
    struct vec_filter filter = {.accept = accept_allowed, .ctx = &al};
    struct store_hit *out = NULL;
    if (rc == FRUGAL_OK) {
        out = frugal_calloc(k, sizeof *out);
        if (out == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "dense search: out of memory");
    }
    if (rc == FRUGAL_OK) {
        pthread_rwlock_wrlock(&di->lock);
        rc = catch_up(di, st, coll, err);
        pthread_rwlock_unlock(&di->lock);
    }
    size_t n = 0;
    if (rc == FRUGAL_OK && !(opts->n_filters > 0 && n_allowed == 0)) {
        pthread_rwlock_rdlock(&di->lock);
        rc = rank(di, st, query, opts->group_by_document, k,
                  opts->n_filters > 0 ? &filter : NULL, out, &n, err);
        pthread_rwlock_unlock(&di->lock);
    }
    if (rc == FRUGAL_OK && n > 0 && fill)
        rc = store_hits_fill(st, coll, query_text != NULL ? query_text : "", opts, out, n, err);
    frugal_free(allowed_ids);
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

frugal_status dense_search(struct dense_index *di, struct store *st,
                           const struct collection_row *coll, const float *query,
                           const char *query_text, const struct store_search_opts *opts,
                           struct store_hit **hits, size_t *n_hits, struct err *err)
{
    return search(di, st, coll, query, query_text, opts, true, hits, n_hits, err);
}

frugal_status dense_rank(struct dense_index *di, struct store *st,
                         const struct collection_row *coll, const float *query,
                         const struct store_search_opts *opts, struct store_hit **hits,
                         size_t *n_hits, struct err *err)
{
    return search(di, st, coll, query, NULL, opts, false, hits, n_hits, err);
}
