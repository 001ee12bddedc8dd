/*
 * hnsw_search.c - searching an HNSW index (hnsw.h; the design is in hnsw.c's opening comment):
 * query preparation, the scratch pool, the greedy descent, the best-first layer search shared
 * with insertion, filtered and exact fallback scans, and rescoring.
 *
 * How and why: see hnsw.c's opening comment (the search loop paragraph); this file holds the
 * code a query runs, kept apart from the write paths so that each stays under the house limit
 * and the hot loop can be read in one place.
 *
 * Threading: hnsw_search takes the index's rwlock shared; the helpers exported to hnsw_build.c
 * run under the caller's lock (exclusive, or inside a parallel batch with the stripes).
 */
#include "index/hnsw.h"
#include "index/hnsw_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* Exact float32 distance between a prepared query and a node's rescoring copy. */
static float dist_exact(const struct hnsw *h, const float *q, uint32_t node)
{
    const float *x = h->f32 + (size_t)node * h->p.dim;
    if (h->p.metric == VEC_METRIC_L2)
        return h->k->l2_f32(q, x, h->p.dim);
    return 1.0f - h->k->dot_f32(q, x, h->p.dim);
}

void hnsw_normalize(float *v, size_t dim)
{
    double ss = 0.0;
    for (size_t i = 0; i < dim; i++)
        ss += (double)v[i] * v[i];
    if (ss > 0.0) {
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t i = 0; i < dim; i++)
            v[i] *= inv;
    }
}

/* Prepares q (a float vector, borrowed unless transformed into p->qbuf). */
static void prep_query(const struct hnsw *h, struct prep *p, const float *q)
{
    size_t dim = h->p.dim;

    p->q = q;
    if (h->p.metric == VEC_METRIC_COS) {
        if (q != p->qbuf)
            memcpy(p->qbuf, q, dim * sizeof(float));
        hnsw_normalize(p->qbuf, dim);
        p->q = p->qbuf;
    }
    if (h->p.storage == VEC_STORE_I8) {
        float c = 0.0f;
        for (size_t i = 0; i < dim; i++) {
            p->r[i] = p->q[i] - h->lo[i];
            p->w[i] = p->q[i] * h->scale[i];
            c += p->q[i] * h->lo[i];
        }
        p->c = c;
    }
}

/* Decodes node into p->qbuf (or points at its float32 copy) and prepares it. */
void hnsw_prep_node(const struct hnsw *h, struct prep *p, uint32_t node)
{
    size_t dim = h->p.dim;
    const void *code = code_of(h, node);

    if (h->f32 != NULL) {
        p->q = h->f32 + (size_t)node * dim;
    } else if (h->p.storage == VEC_STORE_F32) {
        p->q = code;
    } else if (h->p.storage == VEC_STORE_F16) {
        const uint16_t *x = code;
        for (size_t i = 0; i < dim; i++)
            p->qbuf[i] = vec_f16_to_f32(x[i]);
        p->q = p->qbuf;
    } else {
        const uint8_t *x = code;
        for (size_t i = 0; i < dim; i++)
            p->qbuf[i] = h->lo[i] + h->scale[i] * (float)x[i];
        p->q = p->qbuf;
    }
    if (h->p.storage == VEC_STORE_I8) {
        float c = 0.0f;
        for (size_t i = 0; i < dim; i++) {
            p->r[i] = p->q[i] - h->lo[i];
            p->w[i] = p->q[i] * h->scale[i];
            c += p->q[i] * h->lo[i];
        }
        p->c = c;
    }
}


/* ---- scratch pool ------------------------------------------------------------------------- */

void hnsw_scratch_free(struct scratch *s)
{
    if (s == NULL)
        return;
    frugal_free(s->visited);
    frugal_free(s->cands);
    frugal_free(s->top);
    frugal_free(s->tmp);
    frugal_free(s->links);
    frugal_free(s->sels);
    frugal_free(s->fresh);
    frugal_free(s->dists);
    frugal_free(s->a.qbuf);
    frugal_free(s->b.qbuf);
    frugal_free(s->c.qbuf);
    frugal_free(s);
}

static bool grow_cands(struct cand **a, size_t *cap, size_t need)
{
    struct cand *na;
    size_t want;

    if (need <= *cap)
        return true;
    want = need < 64 ? 64 : need;
    if (want < *cap * 2)
        want = *cap * 2;
    na = frugal_reallocarray(*a, want, sizeof(**a));
    if (na == NULL)
        return false;
    *a = na;
    *cap = want;
    return true;
}

static bool prep_alloc(struct prep *p, size_t dim)
{
    p->qbuf = frugal_reallocarray(NULL, 3 * dim, sizeof(float));
    if (p->qbuf == NULL)
        return false; /* (no arithmetic on NULL: UBSan) */
    p->r = p->qbuf + dim;
    p->w = p->qbuf + 2 * dim;
    return true;
}

/* A scratch sized for the index as it is now and for ef; NULL when out of memory. Callers hold
 * the rwlock (shared or exclusive), so h->cap does not change under them. */
struct scratch *hnsw_scratch_get(struct hnsw *h, size_t ef)
{
    struct scratch *s;

    pthread_mutex_lock(&h->pool_lock);
    s = h->pool;
    if (s != NULL)
        h->pool = s->next;
    pthread_mutex_unlock(&h->pool_lock);
    if (s == NULL) {
        s = frugal_calloc(1, sizeof(*s));
        if (s == NULL)
            return NULL;
        s->exclude = NO_NODE;
        s->links = frugal_reallocarray(NULL, h->m0 + 1, sizeof(uint32_t));
        s->sels = frugal_reallocarray(NULL, (MAX_LEVEL + 1) * (1 + (size_t)h->p.m),
                                      sizeof(uint32_t));
        s->fresh = frugal_reallocarray(NULL, h->m0 + 4, sizeof(uint32_t));
        s->dists = frugal_reallocarray(NULL, h->m0 + 4, sizeof(float));
        if (s->links == NULL || s->sels == NULL || s->fresh == NULL || s->dists == NULL ||
            !prep_alloc(&s->a, h->p.dim) || !prep_alloc(&s->b, h->p.dim) ||
            !prep_alloc(&s->c, h->p.dim)) {
            hnsw_scratch_free(s);
            return NULL;
        }
    }
    if (s->visited_cap < h->cap) {
        uint16_t *v = frugal_reallocarray(s->visited, h->cap, sizeof(uint16_t));
        if (v == NULL)
            goto out_fail;
        memset(v, 0, h->cap * sizeof(uint16_t));
        s->visited = v;
        s->visited_cap = h->cap;
        s->epoch = 0;
    }
    if (!grow_cands(&s->top, &s->top_cap, ef + 1) ||
        !grow_cands(&s->cands, &s->cands_cap, ef + h->m0 + 1) ||
        !grow_cands(&s->tmp, &s->tmp_cap, (ef > h->m0 ? ef : h->m0) + 1))
        goto out_fail;
    return s;
out_fail:
    pthread_mutex_lock(&h->pool_lock);
    s->next = h->pool;
    h->pool = s;
    pthread_mutex_unlock(&h->pool_lock);
    return NULL;
}

void hnsw_scratch_put(struct hnsw *h, struct scratch *s)
{
    pthread_mutex_lock(&h->pool_lock);
    s->next = h->pool;
    h->pool = s;
    pthread_mutex_unlock(&h->pool_lock);
}

/* ---- graph search ------------------------------------------------------------------------- */


/* The link list of node at level; under a parallel build a consistent copy in s->links, and
 * the decoded copy there when the lists are packed. */
static const uint32_t *read_links(struct hnsw *h, struct scratch *s, uint32_t node, int level)
{
    const uint32_t *l;

    if (!h->parallel && h->packed0 != NULL) {
        s->links[0] = ef_decode(h, packed_at(h, node, level), s->links + 1);
        return s->links;
    }
    if (!h->parallel)
        return links_at(h, node, level);
    pthread_mutex_lock(stripe(h, node));
    l = hnsw_links_get(h, node, level, s->links);
    if (l != s->links)
        memcpy(s->links, l, (1 + (size_t)l[0]) * sizeof(uint32_t));
    pthread_mutex_unlock(stripe(h, node));
    return s->links;
}

/* Distances from q to nodes[0..n) into out[0..n), four at a time: the group kernels share
 * each query load and keep eight FMA chains busy. nodes and out need room for n rounded up to
 * 4: a short last group is padded in place with copies of the last node. */
static void dist_many(const struct hnsw *h, const struct prep *q, uint32_t *nodes, size_t n,
                      float *out)
{
    size_t dim = h->p.dim;
    size_t stride = h->code_stride;
    const char *codes = h->codes;

    if (h->p.storage == VEC_STORE_F16) {
        for (size_t i = 0; i < n; i++)
            out[i] = dist_prep(h, q, nodes[i]);
        return;
    }
    for (size_t i = n; (i & 3) != 0; i++)
        nodes[i] = nodes[n - 1];
#define GROUP(T, i)                                                                                \
    {                                                                                              \
        (const T *)(const void *)(codes + (size_t)nodes[(i)] * stride),                            \
            (const T *)(const void *)(codes + (size_t)nodes[(i) + 1] * stride),                    \
            (const T *)(const void *)(codes + (size_t)nodes[(i) + 2] * stride),                    \
            (const T *)(const void *)(codes + (size_t)nodes[(i) + 3] * stride),                    \
    }
    if (h->p.storage == VEC_STORE_F32 && h->p.metric == VEC_METRIC_L2) {
        for (size_t i = 0; i < n; i += 4) {
            const float *x[4] = GROUP(float, i);
            h->k->l2_f32_x4(q->q, x, dim, out + i);
        }
    } else if (h->p.storage == VEC_STORE_F32) {
        for (size_t i = 0; i < n; i += 4) {
            const float *x[4] = GROUP(float, i);
            h->k->dot_f32_x4(q->q, x, dim, out + i);
            for (size_t j = i; j < i + 4; j++)
                out[j] = 1.0f - out[j];
        }
    } else if (h->p.metric == VEC_METRIC_L2) {
        for (size_t i = 0; i < n; i += 4) {
            const uint8_t *x[4] = GROUP(uint8_t, i);
            h->k->l2_u8_x4(q->r, h->scale, x, dim, out + i);
        }
    } else {
        for (size_t i = 0; i < n; i += 4) {
            const uint8_t *x[4] = GROUP(uint8_t, i);
            h->k->dot_u8_x4(q->w, x, dim, out + i);
            for (size_t j = i; j < i + 4; j++)
                out[j] = 1.0f - (out[j] + q->c);
        }
    }
#undef GROUP
}

/* Greedy walk on one upper level: the closest node reachable from *ep. */
void hnsw_greedy(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t *ep,
                   float *ep_dist, int level)
{
    bool changed = true;
    while (changed) {
        const uint32_t *l = read_links(h, s, *ep, level);
        uint32_t cnt = l[0];
        changed = false;
        memcpy(s->fresh, l + 1, cnt * sizeof(uint32_t)); /* l may be s->links, reused below */
        dist_many(h, q, s->fresh, cnt, s->dists);
        for (uint32_t i = 0; i < cnt; i++) {
            if (s->dists[i] < *ep_dist && s->fresh[i] != s->exclude) {
                *ep_dist = s->dists[i];
                *ep = s->fresh[i];
                changed = true;
            }
        }
    }
}


/* Best-first search on one level from ep: s->top (max-heap, *n_top entries) gets up to ef
 * acceptable nodes. false when out of memory.
 *
 * Per expanded node: its unvisited neighbours are gathered first (their vectors prefetched as
 * they are found), scored in groups of four, then offered to the two heaps; the next node to
 * expand (the frontier's new minimum) has its link list prefetched while this one is scored. */
bool hnsw_search_layer(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t ep,
                         float ep_dist, int level, size_t ef, const struct vec_filter *f,
                         size_t *n_top)
{
    size_t n_cands = 0;
    size_t nt = 0;
    float bound = INFINITY;
    bool every_node_ok = f == NULL && h->n_deleted == 0;
    const char *codes = h->codes; /* (locals: the gather loop's stores would make the compiler */
    size_t stride = h->code_stride; /* reload them from h for every neighbour) */
    uint32_t *fresh = s->fresh;
    uint16_t *visited;
    uint16_t epoch;

    new_epoch(s);
    visited = s->visited;
    epoch = s->epoch;
    visited[ep] = epoch;
    if (s->exclude != NO_NODE)
        visited[s->exclude] = epoch;
    if (acceptable(h, ep, f)) {
        maxheap_push(s->top, &nt, (struct cand){ep_dist, ep});
        bound = ep_dist;
    }
    minheap_push(s->cands, &n_cands, (struct cand){ep_dist, ep});
    while (n_cands > 0) {
        struct cand c = minheap_pop(s->cands, &n_cands);
        const uint32_t *l;
        uint32_t cnt;
        size_t n_fresh = 0;

        if (c.dist > bound && nt >= ef)
            break;
        if (n_cands > 0 && level == 0 && h->packed0 != NULL) {
            const uint8_t *next = packed_of(h, s->cands[0].node);
            __builtin_prefetch(next); /* a list may straddle two cache lines */
            __builtin_prefetch(next + h->link_stride - 1);
        } else if (n_cands > 0 && level == 0)
            __builtin_prefetch(links0(h, s->cands[0].node));
        l = read_links(h, s, c.node, level);
        cnt = l[0];
        for (uint32_t i = 1; i <= cnt; i++) {
            uint32_t nb = l[i];
            if (visited[nb] == epoch)
                continue;
            visited[nb] = epoch;
            __builtin_prefetch(codes + (size_t)nb * stride); /* the first line: the rest streams */
            fresh[n_fresh++] = nb;
        }
        dist_many(h, q, fresh, n_fresh, s->dists);
        for (size_t i = 0; i < n_fresh; i++) {
            uint32_t nb = s->fresh[i];
            float d = s->dists[i];

            if (nt >= ef && d >= bound)
                continue;
            if (n_cands + 1 > s->cands_cap && !grow_cands(&s->cands, &s->cands_cap, n_cands + 1))
                return false;
            minheap_push(s->cands, &n_cands, (struct cand){d, nb});
            if (every_node_ok || acceptable(h, nb, f)) {
                maxheap_offer(s->top, &nt, ef, (struct cand){d, nb});
                bound = s->top[0].dist;
            }
        }
    }
    *n_top = nt;
    return true;
}

/* ---- searching ---------------------------------------------------------------------------- */

/* Whether fewer than filter_flat_fraction of the live slots match, judged on a sample. */
static bool filter_is_selective(const struct hnsw *h, const struct vec_filter *f)
{
    size_t n_sample = h->n < FILTER_SAMPLE ? h->n : FILTER_SAMPLE;
    size_t live = 0;
    size_t match = 0;

    for (size_t j = 0; j < n_sample; j++) {
        uint32_t i = (uint32_t)(j * h->n / n_sample);
        if (node_deleted(h, i))
            continue;
        live++;
        match += f->accept(label_of(h, i), f->ctx) ? 1 : 0;
    }
    return live == 0 || (double)match < h->p.filter_flat_fraction * (double)live;
}

/* Exact scan of every acceptable slot into s->top (ef best). */
static size_t flat_scan(struct hnsw *h, struct scratch *s, const struct vec_filter *f, size_t ef)
{
    size_t nt = 0;

    for (uint32_t i = 0; i < h->n; i++) {
        float d;
        if (!acceptable(h, i, f))
            continue;
        d = dist_prep(h, &s->a, i);
        maxheap_offer(s->top, &nt, ef, (struct cand){d, i});
    }
    return nt;
}

frugal_status hnsw_search(struct hnsw *h, const float *query, size_t k, uint32_t ef,
                          const struct vec_filter *filter, struct vec_hit *out, size_t *n_out,
                          struct err *err)
{
    struct scratch *s;
    size_t nt = 0;
    size_t n = 0;
    size_t want = ef != 0 ? ef : h->p.ef_search;
    frugal_status rc = FRUGAL_OK;

    *n_out = 0;
    if (k == 0)
        return FRUGAL_OK;
    if (want < k)
        want = k;
    pthread_rwlock_rdlock(&h->lock);
    if (h->n == h->n_deleted)
        goto out_unlock;
    s = hnsw_scratch_get(h, want);
    if (s == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory for search scratch");
        goto out_unlock;
    }
    prep_query(h, &s->a, query);
    if (filter != NULL && filter->accept == NULL)
        filter = NULL;
    if (filter != NULL && filter_is_selective(h, filter)) {
        nt = flat_scan(h, s, filter, want);
    } else {
        uint32_t ep = h->entry;
        float d = dist_prep(h, &s->a, ep);
        for (int lev = h->max_level; lev > 0; lev--)
            hnsw_greedy(h, s, &s->a, &ep, &d, lev);
        if (!hnsw_search_layer(h, s, &s->a, ep, d, 0, want, filter, &nt)) {
            hnsw_scratch_put(h, s);
            rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory for search scratch");
            goto out_unlock;
        }
    }
    n = nt;
    while (nt > 0) {
        struct cand c = maxheap_pop(s->top, &nt);
        s->tmp[nt] = c; /* fills tmp from the back: increasing order */
    }
    if (h->f32 != NULL && n > 0) {
        size_t r = h->p.rescore != 0 && h->p.rescore < n ? h->p.rescore : n;
        for (size_t i = 0; i < r; i++)
            s->tmp[i].dist = dist_exact(h, s->a.q, s->tmp[i].node);
        qsort(s->tmp, r, sizeof(*s->tmp), cmp_cand);
    }
    if (n > k)
        n = k;
    for (size_t i = 0; i < n; i++) {
        out[i].id = label_of(h, s->tmp[i].node);
        out[i].distance = s->tmp[i].dist;
    }
    *n_out = n;
    hnsw_scratch_put(h, s);
out_unlock:
    pthread_rwlock_unlock(&h->lock);
    return rc;
}
