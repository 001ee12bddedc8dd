/*
 * flat.c - exact nearest-neighbour search by scanning every vector (see flat.h).
 *
 * How: vectors live in one row-major float32 array with a parallel id array; a delete moves the
 * last row into the hole. A search computes every distance with the dispatched kernels and keeps
 * the k best in a bounded max-heap (k entries, allocated per search: k is small and the scan is
 * the cost). Distances are those of hnsw.h: squared L2, or 1 - dot for IP and cosine.
 *
 * Why: the ground truth of the HNSW tests and benchmarks, the fallback for small collections,
 * and simple enough to trust.
 *
 * Threading: searches only read, so they may run in parallel; adds and deletes need the caller
 * to exclude everything else.
 */
#include "index/flat.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"

struct flat {
    uint32_t dim;
    enum vec_metric metric;
    const struct vec_kernels *k;
    float *vectors; /* (cap, dim) row-major */
    int64_t *ids;   /* cap */
    size_t n, cap;
};

frugal_status flat_new(uint32_t dim, enum vec_metric metric, struct flat **out, struct err *err)
{
    struct flat *f;

    *out = NULL;
    if (dim == 0 || dim > 65536 || (unsigned)metric > VEC_METRIC_COS)
        return err_set(err, FRUGAL_EINVAL, "flat: bad dim %u or metric", dim);
    f = frugal_calloc(1, sizeof(*f));
    if (f == NULL)
        return err_set(err, FRUGAL_ENOMEM, "flat: out of memory");
    f->dim = dim;
    f->metric = metric;
    f->k = vec_kernels_best();
    *out = f;
    return FRUGAL_OK;
}

void flat_free(struct flat *f)
{
    if (f == NULL)
        return;
    frugal_free(f->vectors);
    frugal_free(f->ids);
    frugal_free(f);
}

static frugal_status reserve(struct flat *f, size_t want)
{
    size_t cap = f->cap == 0 ? 64 : f->cap;
    float *v;
    int64_t *ids;

    if (want <= f->cap)
        return FRUGAL_OK;
    while (cap < want)
        cap *= 2;
    v = frugal_reallocarray(f->vectors, cap, (size_t)f->dim * sizeof(float));
    if (v == NULL)
        return FRUGAL_ENOMEM;
    f->vectors = v;
    ids = frugal_reallocarray(f->ids, cap, sizeof(int64_t));
    if (ids == NULL)
        return FRUGAL_ENOMEM;
    f->ids = ids;
    f->cap = cap;
    return FRUGAL_OK;
}

static bool has_id(const struct flat *f, int64_t id, size_t *at)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->ids[i] == id) {
            if (at != NULL)
                *at = i;
            return true;
        }
    }
    return false;
}

frugal_status flat_add_batch(struct flat *f, const int64_t *ids, const float *vectors, size_t n,
                             struct err *err)
{
    size_t base = f->n;

    if (reserve(f, f->n + n) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "flat: out of memory for %zu vectors", n);
    for (size_t i = 0; i < n; i++) {
        int64_t id = ids != NULL ? ids[i] : (int64_t)(base + i);
        float *row = f->vectors + f->n * f->dim;

        if (ids != NULL && has_id(f, id, NULL)) {
            f->n = base;
            return err_set(err, FRUGAL_EEXIST, "flat: id %lld is already in the index",
                           (long long)id);
        }
        memcpy(row, vectors + i * f->dim, f->dim * sizeof(float));
        if (f->metric == VEC_METRIC_COS) {
            double ss = 0.0;
            for (uint32_t d = 0; d < f->dim; d++)
                ss += (double)row[d] * row[d];
            for (uint32_t d = 0; ss > 0.0 && d < f->dim; d++)
                row[d] = (float)(row[d] / sqrt(ss));
        }
        f->ids[f->n++] = id;
    }
    return FRUGAL_OK;
}

frugal_status flat_add(struct flat *f, int64_t id, const float *vec, struct err *err)
{
    return flat_add_batch(f, &id, vec, 1, err);
}

frugal_status flat_delete(struct flat *f, int64_t id, struct err *err)
{
    size_t at;

    if (!has_id(f, id, &at))
        return err_set(err, FRUGAL_ENOTFOUND, "flat: id %lld is not in the index", (long long)id);
    f->n--;
    if (at != f->n) {
        memcpy(f->vectors + at * f->dim, f->vectors + f->n * f->dim, f->dim * sizeof(float));
        f->ids[at] = f->ids[f->n];
    }
    return FRUGAL_OK;
}

/* a worse than b: larger distance, or the same distance and a larger id */
static bool worse(const struct vec_hit *a, const struct vec_hit *b)
{
    return a->distance > b->distance || (a->distance == b->distance && a->id > b->id);
}

static void sift_down(struct vec_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t w = i;
        if (l < n && worse(&h[l], &h[w]))
            w = l;
        if (l + 1 < n && worse(&h[l + 1], &h[w]))
            w = l + 1;
        if (w == i)
            return;
        struct vec_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

frugal_status flat_search(const struct flat *f, const float *query, size_t k,
                          const struct vec_filter *filter, struct vec_hit *out, size_t *n_out,
                          struct err *err)
{
    float *q = NULL;
    size_t n = 0;

    *n_out = 0;
    if (k == 0)
        return FRUGAL_OK;
    if (f->metric == VEC_METRIC_COS) {
        double ss = 0.0;
        q = frugal_reallocarray(NULL, f->dim, sizeof(float));
        if (q == NULL)
            return err_set(err, FRUGAL_ENOMEM, "flat: out of memory");
        for (uint32_t d = 0; d < f->dim; d++)
            ss += (double)query[d] * query[d];
        for (uint32_t d = 0; d < f->dim; d++)
            q[d] = ss > 0.0 ? (float)(query[d] / sqrt(ss)) : query[d];
        query = q;
    }
    /* out[0..n) is a max-heap of the best so far */
    for (size_t i = 0; i < f->n; i++) {
        const float *row = f->vectors + i * f->dim;
        struct vec_hit hit;

        if (filter != NULL && filter->accept != NULL && !filter->accept(f->ids[i], filter->ctx))
            continue;
        hit.id = f->ids[i];
        hit.distance = f->metric == VEC_METRIC_L2 ? f->k->l2_f32(query, row, f->dim)
                                                  : 1.0f - f->k->dot_f32(query, row, f->dim);
        if (n < k) {
            size_t j = n++;
            out[j] = hit;
            while (j > 0 && worse(&out[j], &out[(j - 1) / 2])) {
                struct vec_hit t = out[j];
                out[j] = out[(j - 1) / 2];
                out[(j - 1) / 2] = t;
                j = (j - 1) / 2;
            }
        } else if (worse(&out[0], &hit)) {
            out[0] = hit;
            sift_down(out, n, 0);
        }
    }
    /* heap sort in place: closest first */
    for (size_t m = n; m > 1; m--) {
        struct vec_hit t = out[0];
        out[0] = out[m - 1];
        out[m - 1] = t;
        sift_down(out, m - 1, 0);
    }
    *n_out = n;
    frugal_free(q);
    return FRUGAL_OK;
}

size_t flat_count(const struct flat *f)
{
    return f->n;
}

size_t flat_memory_bytes(const struct flat *f)
{
    return f->n * ((size_t)f->dim * sizeof(float) + sizeof(int64_t));
}
