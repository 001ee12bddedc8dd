/*
 * hnsw.c - Hierarchical Navigable Small World graphs (Malkov & Yashunin, 2016, arXiv:1603.09320)
 * for frugal's dense retrieval.
 *
 * How: every vector is a node with a random level (geometric, 1/ln M). Level 0 is two flat
 * arrays indexed by slot: link lists, [count u32][2M links u32], and vector codes, 64-byte
 * aligned with a stride of whole 32-byte units for float32/float16 (a 128-dim float32 vector is
 * exactly 8 cache lines, and no 32-byte load splits a line; a record that held both, as hnswlib
 * has, put every vector across 9 lines and measured ~10% slower here). Levels above 0 are small
 * per-node arrays of [count][M links] per level. Insertion descends greedily from the entry point, then on each of
 * the node's levels runs a best-first search with ef_construction candidates and keeps M links
 * chosen by the paper's heuristic (a candidate is kept only if it is closer to the new node than
 * to every link already kept), adding reverse links and re-pruning neighbours that overflow.
 * Search does the same descent, then a best-first search on level 0 with ef candidates. Distances
 * come from vec_kernels (AVX2 when the CPU has it) against the stored code: float32, float16, or
 * uint8 per-dimension scalar quantization, where the query is "prepared" once (vec_kernels.h) so
 * that no vector is ever decoded in the hot loop. With a float32 copy kept, the final ef
 * candidates are rescored exactly, from memory or from the mapped index file (hnsw_load_ex). Ids
 * are the caller's int64s, mapped to dense slots by an open-addressing table of slot numbers.
 *
 * The search loop (search_layer), where the time goes: pop the closest frontier node, prefetch
 * the link list of the next one, gather the node's unvisited neighbours (16-bit visited epochs)
 * while prefetching their codes, score them four at a time with the *_x4 kernels (one query load
 * for four vectors, eight FMA chains), then offer them to the frontier (min-heap) and the result
 * list (max-heap, replace-top when full), with the tombstone/filter test skipped when there are
 * neither. On SIFT10K this took ~20% off a query against a one-at-a-time loop (callgrind and
 * best-of-300 timings, see BENCHMARKS.md).
 *
 * Deletes: the slot becomes a tombstone that searches walk through but never return (so the graph
 * stays connected) and the deleted node's out-neighbours are repaired: each one that linked to it
 * gets a new link list chosen by the heuristic among its old links and the deleted node's links.
 * Recall after deleting 30% of the points is tested in tests/unit/test_hnsw.c. Slots of deleted
 * nodes are not reused; a rebuild (or save + load of a compacted copy, not written yet) reclaims
 * them.
 *
 * Filters: a caller predicate over ids. The search first estimates the matching fraction on a
 * sample of up to 256 slots; below params.filter_flat_fraction it scans every slot exactly (cheap
 * when few match, and exact), otherwise it walks the graph, traversing non-matching nodes but
 * collecting only matching ones, and does not stop until ef matches were found or the frontier is
 * empty (as hnswlib does with filters and deletions).
 *
 * Memory: search scratch (visited epochs, heaps, prepared query) lives in a pool of per-thread
 * scratch objects reused across searches; a search allocates only when the pool is empty or a
 * heap must grow past its high-water mark, never per visited node. The visited list uses 16-bit
 * epoch counters, so it is cleared only once every 65535 searches.
 *
 * Threading: one pthread rwlock per index. hnsw_search takes it shared: any number of searches
 * run in parallel, each with its own scratch from the pool (pool guarded by a mutex). hnsw_add,
 * hnsw_delete, hnsw_update, hnsw_train and hnsw_add_batch take it exclusively (hnsw_save, in
 * hnsw_file.c, takes it shared), so writers are serialized and never overlap a search. Inside hnsw_add_batch, worker threads insert
 * in parallel with fine-grained locks: a node's link lists are read and written under one of 1024
 * striped mutexes (never two held at once), and the entry point / top level under ep_lock (held
 * for the whole insertion of a node that raises the top level). Vector codes, levels and upper
 * arrays are written before the workers start and are immutable while they run. An index whose
 * rescoring copy is mapped from its file only reads it; the first writer (hnsw_reserve, under the
 * exclusive lock) copies it into memory first.
 */
#include "index/hnsw.h"
#include "index/hnsw_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/alloc.h"

/* ---- id map ------------------------------------------------------------------------------ */

/* Open addressing with linear probing over slot numbers only: a slot's id is labels[slot], so
 * the table costs 4 bytes an entry instead of 12 (the extra read of labels is paid on adds,
 * deletes and contains, never by a search). Load factor at most 3/4. */

static size_t id_hash(int64_t id, size_t cap)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

uint32_t hnsw_idmap_get(const struct hnsw *h, int64_t id)
{
    const struct idmap *m = &h->map;

    if (m->cap == 0)
        return NO_NODE;
    for (size_t i = id_hash(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
        uint32_t slot = m->slots[i];
        if (slot == NO_NODE || h->labels[slot] == id)
            return slot;
    }
}

/* Inserts (or repoints) the id of `slot`, labels[slot]; the table has room. */
static void idmap_put_in(struct idmap *m, const int64_t *labels, uint32_t slot)
{
    int64_t id = labels[slot];
    size_t i = id_hash(id, m->cap);

    while (m->slots[i] != NO_NODE && labels[m->slots[i]] != id)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i] == NO_NODE)
        m->n++;
    m->slots[i] = slot;
}

void hnsw_idmap_put(struct hnsw *h, uint32_t slot)
{
    idmap_put_in(&h->map, h->labels, slot);
}

/* Makes room for `extra` more ids at load <= 3/4. */
frugal_status hnsw_idmap_reserve(struct hnsw *h, size_t extra)
{
    struct idmap *m = &h->map;
    size_t want = m->cap == 0 ? 64 : m->cap;
    struct idmap nm;

    while ((m->n + extra) * 4 > want * 3)
        want *= 2;
    if (want == m->cap)
        return FRUGAL_OK;
    nm.slots = frugal_reallocarray(NULL, want, sizeof(*nm.slots));
    if (nm.slots == NULL)
        return FRUGAL_ENOMEM;
    memset(nm.slots, 0xff, want * sizeof(*nm.slots));
    nm.cap = want;
    nm.n = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i] != NO_NODE)
            idmap_put_in(&nm, h->labels, m->slots[i]);
    }
    frugal_free(m->slots);
    *m = nm;
    return FRUGAL_OK;
}

/* Removes id (backward-shift deletion keeps probe chains intact). */
static void idmap_del(struct hnsw *h, int64_t id)
{
    struct idmap *m = &h->map;
    size_t mask = m->cap - 1;
    size_t i;

    if (m->cap == 0)
        return;
    for (i = id_hash(id, m->cap); m->slots[i] != NO_NODE; i = (i + 1) & mask) {
        if (h->labels[m->slots[i]] == id)
            break;
    }
    if (m->slots[i] == NO_NODE)
        return;
    for (size_t j = (i + 1) & mask; m->slots[j] != NO_NODE; j = (j + 1) & mask) {
        size_t home = id_hash(h->labels[m->slots[j]], m->cap);
        /* move j back to i when i lies cyclically in [home, j) */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = NO_NODE;
    m->n--;
}

static inline float dist_prep(const struct hnsw *h, const struct prep *q, uint32_t node)
{
    const void *code = code_of(h, node);
    size_t dim = h->p.dim;

    switch (h->p.storage) {
    case VEC_STORE_F16:
        if (h->p.metric == VEC_METRIC_L2)
            return h->k->l2_f16(q->q, code, dim);
        return 1.0f - h->k->dot_f16(q->q, code, dim);
    case VEC_STORE_I8:
        if (h->p.metric == VEC_METRIC_L2)
            return h->k->l2_u8(q->r, h->scale, code, dim);
        return 1.0f - (h->k->dot_u8(q->w, code, dim) + q->c);
    default:
        if (h->p.metric == VEC_METRIC_L2)
            return h->k->l2_f32(q->q, code, dim);
        return 1.0f - h->k->dot_f32(q->q, code, dim);
    }
}

/* Exact float32 distance between a prepared query and a node's rescoring copy. */
static float dist_exact(const struct hnsw *h, const float *q, uint32_t node)
{
    const float *x = h->f32 + (size_t)node * h->p.dim;
    if (h->p.metric == VEC_METRIC_L2)
        return h->k->l2_f32(q, x, h->p.dim);
    return 1.0f - h->k->dot_f32(q, x, h->p.dim);
}

static void normalize(float *v, size_t dim)
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
        normalize(p->qbuf, dim);
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
static void prep_node(const struct hnsw *h, struct prep *p, uint32_t node)
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

/* Writes vec (dim floats, already normalized for cosine) into node's code (and f32 copy). */
static void encode(struct hnsw *h, uint32_t node, const float *vec)
{
    size_t dim = h->p.dim;
    void *code = h->codes + (size_t)node * h->code_stride;

    if (h->f32 != NULL)
        memcpy(h->f32 + (size_t)node * dim, vec, dim * sizeof(float));
    if (h->p.storage == VEC_STORE_F32) {
        memcpy(code, vec, dim * sizeof(float));
    } else if (h->p.storage == VEC_STORE_F16) {
        uint16_t *x = code;
        for (size_t i = 0; i < dim; i++)
            x[i] = vec_f32_to_f16(vec[i]);
    } else {
        uint8_t *x = code;
        for (size_t i = 0; i < dim; i++) {
            float v = h->scale[i] > 0.0f ? (vec[i] - h->lo[i]) / h->scale[i] : 0.0f;
            v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
            x[i] = (uint8_t)lrintf(v);
        }
    }
}

/* ---- heaps -------------------------------------------------------------------------------- */

/* Binary heaps of (distance, node) pairs, one function per direction so that the comparisons
 * are constants: the frontier is a min-heap, the best-so-far list a max-heap. */
static inline void minheap_push(struct cand *a, size_t *n, struct cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (a[parent].dist <= c.dist)
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = c;
}

static inline struct cand minheap_pop(struct cand *a, size_t *n)
{
    struct cand root = a[0];
    struct cand last = a[--(*n)];
    size_t len = *n;
    size_t i = 0;

    if (len == 0)
        return root;
    for (;;) {
        size_t l = 2 * i + 1;
        size_t best;
        if (l >= len)
            break;
        best = l + 1 < len && a[l + 1].dist < a[l].dist ? l + 1 : l;
        if (a[best].dist >= last.dist)
            break;
        a[i] = a[best];
        i = best;
    }
    a[i] = last;
    return root;
}

static inline void maxheap_push(struct cand *a, size_t *n, struct cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (a[parent].dist >= c.dist)
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = c;
}

/* Replaces the root (the largest) with c and restores the heap: a pop and a push in one pass. */
static inline void maxheap_replace_top(struct cand *a, size_t len, struct cand c)
{
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        size_t best;
        if (l >= len)
            break;
        best = l + 1 < len && a[l + 1].dist > a[l].dist ? l + 1 : l;
        if (a[best].dist <= c.dist)
            break;
        a[i] = a[best];
        i = best;
    }
    a[i] = c;
}

static inline struct cand maxheap_pop(struct cand *a, size_t *n)
{
    struct cand root = a[0];
    struct cand last = a[--(*n)];

    if (*n > 0)
        maxheap_replace_top(a, *n, last);
    return root;
}

/* Adds c to the max-heap of at most `cap` best, dropping the worst when full. */
static inline void maxheap_offer(struct cand *a, size_t *n, size_t cap, struct cand c)
{
    if (*n < cap)
        maxheap_push(a, n, c);
    else if (c.dist < a[0].dist)
        maxheap_replace_top(a, *n, c);
}

static int cmp_cand(const void *x, const void *y)
{
    const struct cand *a = x;
    const struct cand *b = y;
    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return a->node < b->node ? -1 : (a->node > b->node);
}

/* ---- scratch pool ------------------------------------------------------------------------- */

static void scratch_free(struct scratch *s)
{
    if (s == NULL)
        return;
    frugal_free(s->visited);
    frugal_free(s->cands);
    frugal_free(s->top);
    frugal_free(s->tmp);
    frugal_free(s->links);
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
static struct scratch *scratch_get(struct hnsw *h, size_t ef)
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
        s->links = frugal_reallocarray(NULL, h->m0 + 1, sizeof(uint32_t));
        s->fresh = frugal_reallocarray(NULL, h->m0 + 4, sizeof(uint32_t));
        s->dists = frugal_reallocarray(NULL, h->m0 + 4, sizeof(float));
        if (s->links == NULL || s->fresh == NULL || s->dists == NULL || !prep_alloc(&s->a, h->p.dim) || !prep_alloc(&s->b, h->p.dim) ||
            !prep_alloc(&s->c, h->p.dim)) {
            scratch_free(s);
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

static void scratch_put(struct hnsw *h, struct scratch *s)
{
    pthread_mutex_lock(&h->pool_lock);
    s->next = h->pool;
    h->pool = s;
    pthread_mutex_unlock(&h->pool_lock);
}

static void new_epoch(struct scratch *s)
{
    if (++s->epoch == 0) {
        memset(s->visited, 0, s->visited_cap * sizeof(uint16_t));
        s->epoch = 1;
    }
}

/* ---- graph search ------------------------------------------------------------------------- */

static inline pthread_mutex_t *stripe(struct hnsw *h, uint32_t node)
{
    return &h->stripes[node & (N_STRIPES - 1)];
}

/* The link list of node at level; under a parallel build a consistent copy in s->links, and
 * the decoded copy there when level 0 is packed (never during a build). */
static const uint32_t *read_links(struct hnsw *h, struct scratch *s, uint32_t node, int level)
{
    const uint32_t *l;

    if (level == 0 && h->packed0 != NULL) {
        s->links[0] = links0_unpack(h, node, s->links + 1);
        return s->links;
    }
    l = links_at(h, node, level);
    if (!h->parallel)
        return l;
    pthread_mutex_lock(stripe(h, node));
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
static void greedy(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t *ep,
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
            if (s->dists[i] < *ep_dist) {
                *ep_dist = s->dists[i];
                *ep = s->fresh[i];
                changed = true;
            }
        }
    }
}

static inline bool acceptable(const struct hnsw *h, uint32_t node, const struct vec_filter *f)
{
    if (h->deleted[node])
        return false;
    return f == NULL || f->accept(h->labels[node], f->ctx);
}

/* Best-first search on one level from ep: s->top (max-heap, *n_top entries) gets up to ef
 * acceptable nodes. false when out of memory.
 *
 * Per expanded node: its unvisited neighbours are gathered first (their vectors prefetched as
 * they are found), scored in groups of four, then offered to the two heaps; the next node to
 * expand (the frontier's new minimum) has its link list prefetched while this one is scored. */
static bool search_layer(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t ep,
                         float ep_dist, int level, size_t ef, const struct vec_filter *f,
                         size_t *n_top)
{
    size_t n_cands = 0;
    size_t nt = 0;
    float bound = INFINITY;
    bool every_node_ok = f == NULL && h->n_deleted == 0;
    uint16_t *visited;
    uint16_t epoch;

    new_epoch(s);
    visited = s->visited;
    epoch = s->epoch;
    visited[ep] = epoch;
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
        if (n_cands > 0 && level == 0 && h->packed0 != NULL)
            __builtin_prefetch(h->packed0 + (size_t)s->cands[0].node * h->link_stride);
        else if (n_cands > 0 && level == 0)
            __builtin_prefetch(links0(h, s->cands[0].node));
        l = read_links(h, s, c.node, level);
        cnt = l[0];
        for (uint32_t i = 1; i <= cnt; i++) {
            uint32_t nb = l[i];
            if (visited[nb] == epoch)
                continue;
            visited[nb] = epoch;
            __builtin_prefetch(code_of(h, nb)); /* the first line: the rest streams after it */
            s->fresh[n_fresh++] = nb;
        }
        dist_many(h, q, s->fresh, n_fresh, s->dists);
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

/* The paper's neighbour selection heuristic over cands[0..n) sorted by distance to the base:
 * keeps a candidate only when it is closer to the base than to every one already kept. Writes
 * at most max_out nodes into out; returns how many. */
static uint32_t select_heuristic(struct hnsw *h, struct scratch *s, const struct cand *cands,
                                 size_t n, uint32_t max_out, uint32_t *out)
{
    uint32_t kept = 0;

    if (n <= max_out) {
        for (size_t i = 0; i < n; i++)
            out[i] = cands[i].node;
        return (uint32_t)n;
    }
    for (size_t i = 0; i < n && kept < max_out; i++) {
        bool good = true;
        prep_node(h, &s->b, cands[i].node);
        for (uint32_t j = 0; j < kept; j++) {
            if (dist_prep(h, &s->b, out[j]) < cands[i].dist) {
                good = false;
                break;
            }
        }
        if (good)
            out[kept++] = cands[i].node;
    }
    return kept;
}

/* Adds link node -> nb at level, re-pruning nb's list when full. Caller holds nothing. */
static void add_reverse_link(struct hnsw *h, struct scratch *s, uint32_t nb, uint32_t node,
                             int level)
{
    uint32_t maxl = max_links(h, level);
    uint32_t *l;

    if (h->parallel)
        pthread_mutex_lock(stripe(h, nb));
    l = links_at(h, nb, level);
    for (uint32_t i = 1; i <= l[0]; i++) {
        if (l[i] == node)
            goto out_unlock;
    }
    if (l[0] < maxl) {
        l[++l[0]] = node;
    } else {
        size_t n = 0;
        prep_node(h, &s->c, nb);
        for (uint32_t i = 1; i <= l[0]; i++)
            s->tmp[n++] = (struct cand){dist_prep(h, &s->c, l[i]), l[i]};
        s->tmp[n++] = (struct cand){dist_prep(h, &s->c, node), node};
        qsort(s->tmp, n, sizeof(*s->tmp), cmp_cand);
        l[0] = select_heuristic(h, s, s->tmp, n, maxl, l + 1);
    }
out_unlock:
    if (h->parallel)
        pthread_mutex_unlock(stripe(h, nb));
}

/* Links slot `node` (code, level, upper arrays already in place) into the graph. */
static bool insert_node(struct hnsw *h, struct scratch *s, uint32_t node)
{
    int level = h->levels[node];
    bool holds_ep = false;
    uint32_t ep;
    int top;
    float ep_dist;

    prep_node(h, &s->a, node);
    if (h->parallel)
        pthread_mutex_lock(&h->ep_lock);
    ep = h->entry;
    top = h->max_level;
    if (h->parallel) {
        if (level > top || ep == NO_NODE)
            holds_ep = true; /* keep it: this node becomes the entry point */
        else
            pthread_mutex_unlock(&h->ep_lock);
    }
    if (ep == NO_NODE) {
        h->entry = node;
        h->max_level = level;
        if (holds_ep)
            pthread_mutex_unlock(&h->ep_lock);
        return true;
    }
    ep_dist = dist_prep(h, &s->a, ep);
    for (int lev = top; lev > level; lev--)
        greedy(h, s, &s->a, &ep, &ep_dist, lev);
    for (int lev = level < top ? level : top; lev >= 0; lev--) {
        size_t nt = 0;
        size_t n = 0;
        uint32_t *mine;
        uint32_t sel[2 * 256 + 1];
        uint32_t n_sel;

        if (!search_layer(h, s, &s->a, ep, ep_dist, lev, h->p.ef_construction, NULL, &nt)) {
            if (holds_ep)
                pthread_mutex_unlock(&h->ep_lock);
            return false;
        }
        while (nt > 0)
            s->tmp[n++] = maxheap_pop(s->top, &nt);
        if (n == 0)
            continue; /* every node reached is a tombstone: keep ep, go down */
        /* tmp is in decreasing order: reverse into increasing */
        for (size_t i = 0; i < n / 2; i++) {
            struct cand t = s->tmp[i];
            s->tmp[i] = s->tmp[n - 1 - i];
            s->tmp[n - 1 - i] = t;
        }
        ep = s->tmp[0].node;
        ep_dist = s->tmp[0].dist;
        n_sel = select_heuristic(h, s, s->tmp, n, h->p.m, sel);
        if (h->parallel)
            pthread_mutex_lock(stripe(h, node));
        mine = links_at(h, node, lev);
        memcpy(mine + 1, sel, n_sel * sizeof(uint32_t));
        mine[0] = n_sel;
        if (h->parallel)
            pthread_mutex_unlock(stripe(h, node));
        for (uint32_t i = 0; i < n_sel; i++)
            add_reverse_link(h, s, sel[i], node, lev);
    }
    if (level > top) { /* only with ep_lock held (or single-threaded) */
        h->entry = node;
        h->max_level = level;
    }
    if (holds_ep)
        pthread_mutex_unlock(&h->ep_lock);
    return true;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void hnsw_default_params(struct hnsw_params *p, uint32_t dim)
{
    memset(p, 0, sizeof(*p));
    p->dim = dim;
    p->metric = VEC_METRIC_L2;
    p->storage = VEC_STORE_F32;
    p->m = 16;
    p->ef_construction = 200;
    p->ef_search = 64;
    p->keep_f32 = false;
    p->rescore = 0;
    p->filter_flat_fraction = 0.05;
    p->seed = 42;
    p->compact_links = true;
}

frugal_status hnsw_check_params(const struct hnsw_params *p, struct err *err)
{
    if (p->dim == 0 || p->dim > 65536)
        return err_set(err, FRUGAL_EINVAL, "hnsw: dim %u out of range 1..65536", p->dim);
    if (p->m < 2 || p->m > 256)
        return err_set(err, FRUGAL_EINVAL, "hnsw: M %u out of range 2..256", p->m);
    if ((unsigned)p->metric > VEC_METRIC_COS || (unsigned)p->storage > VEC_STORE_I8)
        return err_set(err, FRUGAL_EINVAL, "hnsw: unknown metric or storage type");
    if (p->ef_construction == 0 || p->ef_construction > 100000 || p->ef_search > 100000)
        return err_set(err, FRUGAL_EINVAL, "hnsw: ef_construction/ef_search out of range");
    return FRUGAL_OK;
}

frugal_status hnsw_new(const struct hnsw_params *p, struct hnsw **out, struct err *err)
{
    struct hnsw *h;
    frugal_status rc = hnsw_check_params(p, err);
    size_t elem;

    *out = NULL;
    if (rc != FRUGAL_OK)
        return rc;
    h = frugal_calloc(1, sizeof(*h));
    if (h == NULL)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    h->p = *p;
    if (h->p.storage == VEC_STORE_F32)
        h->p.keep_f32 = false;
    if (h->p.storage != VEC_STORE_I8)
        h->p.compact_links = false;
    h->k = vec_kernels_best();
    h->m0 = 2 * p->m;
    h->level_mult = 1.0 / log((double)p->m);
    elem = p->storage == VEC_STORE_F32 ? 4 : (p->storage == VEC_STORE_F16 ? 2 : 1);
    h->code_bytes = elem * p->dim;
    /* float32/float16 codes start 32-byte aligned, so that no 32-byte load splits a cache line
     * and a 128-dim float32 vector fills exactly 8 lines; int8 codes are packed (memory first) */
    h->code_stride = p->storage == VEC_STORE_I8 ? h->code_bytes : (h->code_bytes + 31) & ~(size_t)31;
    h->entry = NO_NODE;
    h->max_level = -1;
    h->rng = p->seed * 0x9E3779B97F4A7C15ull + 1;
    h->trained = p->storage != VEC_STORE_I8;
    if (p->storage == VEC_STORE_I8) {
        h->lo = frugal_calloc(2 * (size_t)p->dim, sizeof(float));
        if (h->lo == NULL) {
            frugal_free(h);
            return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
        }
        h->scale = h->lo + p->dim;
    }
    pthread_rwlock_init(&h->lock, NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    pthread_mutex_init(&h->ep_lock, NULL);
    for (size_t i = 0; i < N_STRIPES; i++)
        pthread_mutex_init(&h->stripes[i], NULL);
    *out = h;
    return FRUGAL_OK;
}

void hnsw_free(struct hnsw *h)
{
    if (h == NULL)
        return;
    while (h->pool != NULL) {
        struct scratch *s = h->pool;
        h->pool = s->next;
        scratch_free(s);
    }
    for (size_t i = 0; i < h->n; i++)
        frugal_free(h->upper[i]);
    frugal_free(h->upper);
    frugal_free(h->codes_mem);
    frugal_free(h->level0);
    frugal_free(h->packed0);
    frugal_free(h->labels);
    frugal_free(h->levels);
    frugal_free(h->deleted);
    if (h->f32_map.ptr != NULL)
        fs_map_close(&h->f32_map);
    else
        frugal_free(h->f32);
    frugal_free(h->lo);
    frugal_free(h->map.slots);
    pthread_rwlock_destroy(&h->lock);
    pthread_mutex_destroy(&h->pool_lock);
    pthread_mutex_destroy(&h->ep_lock);
    for (size_t i = 0; i < N_STRIPES; i++)
        pthread_mutex_destroy(&h->stripes[i]);
    frugal_free(h);
}

/* An index loaded with its rescoring copy on disk is about to change: the copy moves into
 * memory (the mapping is read only, and the file is replaced wholesale by the next save). */
static frugal_status f32_to_memory(struct hnsw *h)
{
    float *f = frugal_reallocarray(NULL, h->cap, h->p.dim * sizeof(float));

    if (f == NULL)
        return FRUGAL_ENOMEM;
    memcpy(f, h->f32, h->n * h->p.dim * sizeof(float));
    fs_map_close(&h->f32_map);
    h->f32 = f;
    return FRUGAL_OK;
}

/* Grows the slot arrays to hold `want` slots. */
frugal_status hnsw_reserve(struct hnsw *h, size_t want)
{
    size_t cap = h->cap == 0 ? 64 : h->cap;
    void *p;

    if (h->f32_map.ptr != NULL && f32_to_memory(h) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    if (hnsw_links_unpack(h) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    if (want <= h->cap)
        return FRUGAL_OK;
    while (cap < want)
        cap = cap * 2 > cap ? cap * 2 : want;
    if (cap > NO_NODE - 1)
        return FRUGAL_ETOOBIG;
    if (cap > (SIZE_MAX - 64) / h->code_stride)
        return FRUGAL_ENOMEM;
    p = frugal_malloc(cap * h->code_stride + 64); /* moved, not realloc'd: keeps the alignment */
    if (p == NULL)
        return FRUGAL_ENOMEM;
    {
        char *aligned = (char *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
        if (h->n > 0)
            memcpy(aligned, h->codes, h->n * h->code_stride);
        frugal_free(h->codes_mem);
        h->codes_mem = p;
        h->codes = aligned;
    }
#define GROW(field, elem)                                                                          \
    do {                                                                                           \
        p = frugal_reallocarray(h->field, cap, (elem));                                            \
        if (p == NULL)                                                                             \
            return FRUGAL_ENOMEM;                                                                  \
        h->field = p;                                                                              \
    } while (0)
    GROW(level0, (1 + (size_t)h->m0) * sizeof(uint32_t));
    GROW(labels, sizeof(int64_t));
    GROW(levels, 1);
    GROW(upper, sizeof(uint32_t *));
    GROW(deleted, 1);
    if (h->p.keep_f32)
        GROW(f32, h->p.dim * sizeof(float));
#undef GROW
    h->cap = cap;
    return FRUGAL_OK;
}

static int random_level(struct hnsw *h)
{
    double u;
    int level;

    /* xorshift64* */
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    u = (double)((h->rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    level = (int)(-log(1.0 - u) * h->level_mult);
    return level > MAX_LEVEL ? MAX_LEVEL : level;
}

frugal_status hnsw_train(struct hnsw *h, const float *vectors, size_t n, struct err *err)
{
    size_t dim = h->p.dim;
    float *tmp = NULL;
    frugal_status rc = FRUGAL_OK;

    if (h->p.storage != VEC_STORE_I8)
        return FRUGAL_OK;
    if (n == 0)
        return err_set(err, FRUGAL_EINVAL, "hnsw: training needs at least one vector");
    pthread_rwlock_wrlock(&h->lock);
    if (h->n > 0) {
        rc = err_set(err, FRUGAL_EINVAL, "hnsw: int8 ranges can only be trained while empty");
        goto out_unlock;
    }
    tmp = frugal_reallocarray(NULL, 2 * dim, sizeof(float));
    if (tmp == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
        goto out_unlock;
    }
    for (size_t d = 0; d < dim; d++) {
        tmp[d] = INFINITY;
        tmp[dim + d] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        const float *v = vectors + i * dim;
        if (h->p.metric == VEC_METRIC_COS) {
            /* ranges of the normalized vectors */
            double ss = 0.0;
            for (size_t d = 0; d < dim; d++)
                ss += (double)v[d] * v[d];
            for (size_t d = 0; d < dim; d++) {
                float x = ss > 0.0 ? (float)(v[d] / sqrt(ss)) : 0.0f;
                tmp[d] = x < tmp[d] ? x : tmp[d];
                tmp[dim + d] = x > tmp[dim + d] ? x : tmp[dim + d];
            }
            continue;
        }
        for (size_t d = 0; d < dim; d++) {
            tmp[d] = v[d] < tmp[d] ? v[d] : tmp[d];
            tmp[dim + d] = v[d] > tmp[dim + d] ? v[d] : tmp[dim + d];
        }
    }
    for (size_t d = 0; d < dim; d++) {
        if (!isfinite(tmp[d]) || !isfinite(tmp[dim + d])) {
            rc = err_set(err, FRUGAL_EINVAL, "hnsw: training vectors hold NaN or infinity");
            goto out_unlock;
        }
        h->lo[d] = tmp[d];
        h->scale[d] = (tmp[dim + d] - tmp[d]) / 255.0f;
    }
    h->trained = true;
out_unlock:
    pthread_rwlock_unlock(&h->lock);
    frugal_free(tmp);
    return rc;
}

/* ---- adding ------------------------------------------------------------------------------- */

/* Claims the next slot for id with a random level; the node is not linked yet. */
static frugal_status new_slot(struct hnsw *h, int64_t id, const float *vec, float *tmp,
                              uint32_t *slot_out)
{
    uint32_t slot = (uint32_t)h->n;
    int level = random_level(h);
    const float *v = vec;

    if (level > 0) {
        h->upper[slot] = frugal_calloc((size_t)level * (1 + h->p.m), sizeof(uint32_t));
        if (h->upper[slot] == NULL)
            return FRUGAL_ENOMEM;
    } else {
        h->upper[slot] = NULL;
    }
    if (h->p.metric == VEC_METRIC_COS) {
        memcpy(tmp, vec, h->p.dim * sizeof(float));
        normalize(tmp, h->p.dim);
        v = tmp;
    }
    memset(links0(h, slot), 0, (1 + (size_t)h->m0) * sizeof(uint32_t));
    memset(h->codes + (size_t)slot * h->code_stride, 0, h->code_stride);
    encode(h, slot, v);
    h->labels[slot] = id;
    h->levels[slot] = (uint8_t)level;
    h->deleted[slot] = 0;
    h->n++;
    hnsw_idmap_put(h, slot);
    *slot_out = slot;
    return FRUGAL_OK;
}

static size_t scratch_ef(const struct hnsw *h)
{
    size_t ef = h->p.ef_construction > h->p.ef_search ? h->p.ef_construction : h->p.ef_search;
    return ef > 2 * (size_t)h->m0 ? ef : 2 * (size_t)h->m0;
}

/* Tombstones a slot whose linking failed, so that the index stays consistent. */
static void abandon_slot(struct hnsw *h, uint32_t slot)
{
    if (!h->deleted[slot]) {
        h->deleted[slot] = 1;
        h->n_deleted++;
        idmap_del(h, h->labels[slot]);
    }
}

static frugal_status add_locked(struct hnsw *h, int64_t id, const float *vec, struct err *err)
{
    struct scratch *s;
    uint32_t slot;
    frugal_status rc;

    if (!h->trained)
        return err_set(err, FRUGAL_EINVAL,
                       "hnsw: an int8 index needs hnsw_train (or a first hnsw_add_batch)");
    if (hnsw_idmap_get(h, id) != NO_NODE)
        return err_set(err, FRUGAL_EEXIST, "hnsw: id %lld is already in the index",
                       (long long)id);
    if (hnsw_reserve(h, h->n + 1) != FRUGAL_OK || hnsw_idmap_reserve(h, 1) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    s = scratch_get(h, scratch_ef(h));
    if (s == NULL)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    rc = new_slot(h, id, vec, s->b.qbuf, &slot);
    if (rc == FRUGAL_OK && !insert_node(h, s, slot)) {
        abandon_slot(h, slot);
        rc = FRUGAL_ENOMEM;
    }
    scratch_put(h, s);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "hnsw: out of memory");
    return FRUGAL_OK;
}

frugal_status hnsw_add(struct hnsw *h, int64_t id, const float *vec, struct err *err)
{
    frugal_status rc;

    pthread_rwlock_wrlock(&h->lock);
    rc = add_locked(h, id, vec, err);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

struct batch_job {
    struct hnsw *h;
    struct scratch *s;
    size_t first;
    size_t end;
    atomic_size_t *next;
    atomic_int *failed;
};

static void *batch_worker(void *arg)
{
    struct batch_job *j = arg;

    for (;;) {
        size_t i = atomic_fetch_add(j->next, 1);
        if (i >= j->end)
            break;
        if (!insert_node(j->h, j->s, (uint32_t)i)) {
            atomic_store(j->failed, 1);
            abandon_slot(j->h, (uint32_t)i); /* deleted[] is only read for other slots */
        }
    }
    return NULL;
}

/* Links slots [first, end) with n_threads workers. */
static frugal_status link_batch(struct hnsw *h, size_t first, size_t end, unsigned n_threads)
{
    struct scratch *ss[64];
    struct batch_job jobs[64];
    pthread_t tids[64];
    atomic_size_t next;
    atomic_int failed;
    unsigned nt = n_threads == 0 ? 1 : (n_threads > 64 ? 64 : n_threads);
    unsigned started = 0;

    atomic_init(&next, first);
    atomic_init(&failed, 0);
    for (unsigned t = 0; t < nt; t++) {
        ss[t] = scratch_get(h, scratch_ef(h));
        if (ss[t] == NULL) {
            nt = t;
            break;
        }
    }
    if (nt == 0)
        return FRUGAL_EEMPTY; /* nothing linked: the caller undoes the slots */
    h->parallel = nt > 1;
    for (unsigned t = 0; t < nt; t++) {
        jobs[t] = (struct batch_job){h, ss[t], first, end, &next, &failed};
        if (t > 0 && pthread_create(&tids[t], NULL, batch_worker, &jobs[t]) == 0)
            started++;
        else if (t > 0)
            break;
    }
    batch_worker(&jobs[0]);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    h->parallel = false;
    for (unsigned t = 0; t < nt; t++)
        scratch_put(h, ss[t]);
    return atomic_load(&failed) ? FRUGAL_ENOMEM : FRUGAL_OK;
}

frugal_status hnsw_add_batch(struct hnsw *h, const int64_t *ids, const float *vectors, size_t n,
                             unsigned n_threads, struct err *err)
{
    frugal_status rc = FRUGAL_OK;
    size_t first;
    float *tmp = NULL;

    if (n == 0)
        return FRUGAL_OK;
    if (!h->trained && h->n == 0) {
        rc = hnsw_train(h, vectors, n, err);
        if (rc != FRUGAL_OK)
            return rc;
    }
    pthread_rwlock_wrlock(&h->lock);
    first = h->n;
    if (!h->trained) {
        rc = err_set(err, FRUGAL_EINVAL, "hnsw: int8 index is not trained");
        goto out_unlock;
    }
    if (hnsw_reserve(h, h->n + n) != FRUGAL_OK || hnsw_idmap_reserve(h, n) != FRUGAL_OK) {
        rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory for %zu vectors", n);
        goto out_unlock;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t id = ids != NULL ? ids[i] : (int64_t)i;
        if (hnsw_idmap_get(h, id) != NO_NODE) {
            rc = err_set(err, FRUGAL_EEXIST, "hnsw: id %lld is already in the index",
                         (long long)id);
            break;
        }
        if (tmp == NULL) {
            tmp = frugal_reallocarray(NULL, h->p.dim, sizeof(float));
            if (tmp == NULL) {
                rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
                break;
            }
        }
        uint32_t slot;
        if (new_slot(h, id, vectors + i * h->p.dim, tmp, &slot) != FRUGAL_OK) {
            rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
            break;
        }
    }
    if (rc == FRUGAL_OK) {
        frugal_status lrc = link_batch(h, first, h->n, n_threads);
        if (lrc == FRUGAL_EEMPTY)
            rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
        else if (lrc != FRUGAL_OK)
            rc = err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory while linking; the vectors "
                                             "not linked were dropped");
        if (lrc != FRUGAL_EEMPTY)
            goto out_unlock;
    }
    if (rc != FRUGAL_OK) {
        /* undo the unlinked slots: nothing points at them yet */
        while (h->n > first) {
            h->n--;
            idmap_del(h, h->labels[h->n]);
            frugal_free(h->upper[h->n]);
            h->upper[h->n] = NULL;
        }
    }
out_unlock:
    hnsw_links_pack(h);
    pthread_rwlock_unlock(&h->lock);
    frugal_free(tmp);
    return rc;
}

/* ---- deleting ----------------------------------------------------------------------------- */

/* Gives each live out-neighbour of tombstone x that linked back to it a new link list, chosen by
 * the heuristic among its other links and x's links. */
static void repair(struct hnsw *h, struct scratch *s, uint32_t x)
{
    uint32_t xl[2 * 256 + 1];

    for (int lev = 0; lev <= h->levels[x]; lev++) {
        const uint32_t *l = links_at(h, x, lev);
        uint32_t n_x = l[0];
        memcpy(xl, l + 1, n_x * sizeof(uint32_t));
        for (uint32_t i = 0; i < n_x; i++) {
            uint32_t nb = xl[i];
            uint32_t *nl;
            bool links_back = false;
            size_t n = 0;

            if (h->deleted[nb])
                continue;
            nl = links_at(h, nb, lev);
            for (uint32_t j = 1; j <= nl[0]; j++)
                links_back |= nl[j] == x;
            if (!links_back)
                continue;
            new_epoch(s);
            s->visited[nb] = s->epoch;
            s->visited[x] = s->epoch;
            prep_node(h, &s->c, nb);
            for (uint32_t j = 1; j <= nl[0]; j++) {
                uint32_t y = nl[j];
                if (s->visited[y] == s->epoch || h->deleted[y])
                    continue;
                s->visited[y] = s->epoch;
                s->tmp[n++] = (struct cand){dist_prep(h, &s->c, y), y};
            }
            for (uint32_t j = 0; j < n_x; j++) {
                uint32_t y = xl[j];
                if (s->visited[y] == s->epoch || h->deleted[y] || h->levels[y] < lev)
                    continue;
                s->visited[y] = s->epoch;
                s->tmp[n++] = (struct cand){dist_prep(h, &s->c, y), y};
            }
            qsort(s->tmp, n, sizeof(*s->tmp), cmp_cand);
            nl[0] = select_heuristic(h, s, s->tmp, n, max_links(h, lev), nl + 1);
        }
    }
}

static frugal_status delete_locked(struct hnsw *h, int64_t id, struct err *err)
{
    uint32_t x = hnsw_idmap_get(h, id);
    struct scratch *s;

    if (x == NO_NODE)
        return err_set(err, FRUGAL_ENOTFOUND, "hnsw: id %lld is not in the index",
                       (long long)id);
    if (hnsw_links_unpack(h) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    s = scratch_get(h, scratch_ef(h));
    if (s == NULL)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    h->deleted[x] = 1;
    h->n_deleted++;
    idmap_del(h, id);
    repair(h, s, x);
    scratch_put(h, s);
    if (x == h->entry && h->n_deleted < h->n) {
        /* the live node with the highest level takes over */
        uint32_t best = NO_NODE;
        for (uint32_t i = 0; i < h->n; i++) {
            if (!h->deleted[i] && (best == NO_NODE || h->levels[i] > h->levels[best]))
                best = i;
        }
        h->entry = best;
        h->max_level = h->levels[best];
    }
    return FRUGAL_OK;
}

frugal_status hnsw_delete(struct hnsw *h, int64_t id, struct err *err)
{
    frugal_status rc;

    pthread_rwlock_wrlock(&h->lock);
    rc = delete_locked(h, id, err);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

frugal_status hnsw_update(struct hnsw *h, int64_t id, const float *vec, struct err *err)
{
    frugal_status rc = FRUGAL_OK;

    pthread_rwlock_wrlock(&h->lock);
    if (hnsw_idmap_get(h, id) != NO_NODE)
        rc = delete_locked(h, id, err);
    if (rc == FRUGAL_OK)
        rc = add_locked(h, id, vec, err);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

bool hnsw_contains(struct hnsw *h, int64_t id)
{
    bool found;

    pthread_rwlock_rdlock(&h->lock);
    found = hnsw_idmap_get(h, id) != NO_NODE;
    pthread_rwlock_unlock(&h->lock);
    return found;
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
        if (h->deleted[i])
            continue;
        live++;
        match += f->accept(h->labels[i], f->ctx) ? 1 : 0;
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
    s = scratch_get(h, want);
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
            greedy(h, s, &s->a, &ep, &d, lev);
        if (!search_layer(h, s, &s->a, ep, d, 0, want, filter, &nt)) {
            scratch_put(h, s);
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
        out[i].id = h->labels[s->tmp[i].node];
        out[i].distance = s->tmp[i].dist;
    }
    *n_out = n;
    scratch_put(h, s);
out_unlock:
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

size_t hnsw_count(struct hnsw *h)
{
    size_t n;
    pthread_rwlock_rdlock(&h->lock);
    n = h->n - h->n_deleted;
    pthread_rwlock_unlock(&h->lock);
    return n;
}

size_t hnsw_deleted_count(struct hnsw *h)
{
    size_t n;
    pthread_rwlock_rdlock(&h->lock);
    n = h->n_deleted;
    pthread_rwlock_unlock(&h->lock);
    return n;
}

const struct hnsw_params *hnsw_get_params(const struct hnsw *h)
{
    return &h->p;
}

/* Pages of [p, p + len) in the page cache (mincore), in bytes. */
static size_t resident_bytes(const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t n_pages = ((uintptr_t)p + len - start + page - 1) / page;
    unsigned char vec[256];
    size_t resident = 0;

    for (size_t at = 0; at < n_pages; at += sizeof(vec)) {
        size_t chunk = n_pages - at < sizeof(vec) ? n_pages - at : sizeof(vec);
        if (mincore((void *)(start + at * page), chunk * page, vec) != 0)
            return 0;
        for (size_t i = 0; i < chunk; i++)
            resident += vec[i] & 1;
    }
    return resident * page;
}

void hnsw_memory(struct hnsw *h, struct hnsw_memory *m)
{
    size_t upper_words = 0;

    memset(m, 0, sizeof(*m));
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < h->n; i++)
        upper_words += (size_t)h->levels[i] * (1 + h->p.m);
    m->codes = h->n * h->code_stride;
    m->links = upper_words * sizeof(uint32_t);
    if (h->packed0 != NULL)
        m->links += h->n * h->link_stride + 8;
    else
        m->links += h->n * (1 + (size_t)h->m0) * sizeof(uint32_t);
    m->ids = h->n * sizeof(int64_t) + h->map.cap * sizeof(uint32_t);
    m->node_meta = h->n * (2 + sizeof(uint32_t *));
    if (h->lo != NULL)
        m->node_meta += 2 * (size_t)h->p.dim * sizeof(float);
    if (h->f32 != NULL && h->f32_map.ptr == NULL)
        m->rescore = h->n * h->p.dim * sizeof(float);
    if (h->f32 != NULL && h->f32_map.ptr != NULL) {
        m->rescore_on_disk = h->n * h->p.dim * sizeof(float);
        m->rescore_cached = resident_bytes(h->f32, m->rescore_on_disk);
    }
    pthread_rwlock_unlock(&h->lock);
}

size_t hnsw_memory_bytes(struct hnsw *h, size_t *rescore_bytes)
{
    struct hnsw_memory m;

    hnsw_memory(h, &m);
    if (rescore_bytes != NULL)
        *rescore_bytes = m.rescore;
    return m.codes + m.links + m.ids + m.node_meta;
}

uint64_t hnsw_generation(struct hnsw *h)
{
    return h->generation;
}

void hnsw_set_generation(struct hnsw *h, uint64_t generation)
{
    pthread_rwlock_wrlock(&h->lock);
    h->generation = generation;
    pthread_rwlock_unlock(&h->lock);
}
