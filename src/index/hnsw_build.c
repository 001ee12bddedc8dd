/*
 * hnsw_build.c - changing an HNSW index (hnsw.h; the design is in hnsw.c's opening comment):
 * encoding vectors, linking a node (neighbour selection heuristic, reverse links, re-pruning),
 * single and multi-threaded batch adds, deletes with neighbour repair, updates, and the reuse
 * of tombstoned slots by single adds.
 *
 * How: every list a writer changes goes through links_edit / hnsw_links_put (hnsw_links.c), so
 * an int8 index's level-0 lists stay coded; a single add takes the tombstone that held its own
 * id when the ids are dense (an update: the node is replaced in place), else the top of the free
 * stack, else a new slot. Why a file of its own: the write paths change together (the link
 * storage, the slot reuse) and share nothing with the search loop but hnsw_search_layer.
 *
 * Threading: every public function here takes the index's rwlock exclusively; inside
 * hnsw_add_batch the worker threads share the striped link locks (hnsw.c's opening comment).
 */
#include "index/hnsw.h"
#include "index/hnsw_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

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
        hnsw_prep_node(h, &s->b, cands[i].node);
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
    l = links_edit(h, nb, level, s->links);
    for (uint32_t i = 1; i <= l[0]; i++) {
        if (l[i] == node)
            goto out_unlock;
    }
    if (l[0] < maxl) {
        l[++l[0]] = node;
    } else {
        size_t n = 0;
        hnsw_prep_node(h, &s->c, nb);
        for (uint32_t i = 1; i <= l[0]; i++)
            s->tmp[n++] = (struct cand){dist_prep(h, &s->c, l[i]), l[i]};
        s->tmp[n++] = (struct cand){dist_prep(h, &s->c, node), node};
        qsort(s->tmp, n, sizeof(*s->tmp), cmp_cand);
        l[0] = select_heuristic(h, s, s->tmp, n, maxl, l + 1);
    }
    hnsw_links_put(h, nb, level, l);
out_unlock:
    if (h->parallel)
        pthread_mutex_unlock(stripe(h, nb));
}

/* Stores sel ([count][links]) as node's list at level; caller holds node's stripe when parallel.
 * The list is empty unless, in a parallel batch, other workers already linked back to the node
 * at this level (their reverse links): those are kept, merged with sel and re-pruned by the
 * heuristic if they overflow. Overwriting them lost the only links into the nodes that had found
 * this one, and now and then cut a group of nodes off the graph (1-2% of 2-thread builds of 200
 * points lost 5-20% recall; tests/unit/test_hnsw.c test_parallel_build_connected). */
static void set_own_links(struct hnsw *h, struct scratch *s, uint32_t node, int level,
                          const uint32_t *sel)
{
    uint32_t maxl = max_links(h, level);
    uint32_t *cur = links_edit(h, node, level, s->links);
    uint32_t all[2 * 256 + 256];
    size_t n = sel[0];

    if (cur[0] == 0) {
        hnsw_links_put(h, node, level, sel);
        return;
    }
    memcpy(all, sel + 1, n * sizeof(uint32_t));
    for (uint32_t i = 1; i <= cur[0]; i++) {
        bool dup = false;
        for (size_t j = 0; j < sel[0]; j++)
            dup |= all[j] == cur[i];
        if (!dup)
            all[n++] = cur[i];
    }
    if (n > maxl) {
        for (size_t i = 0; i < n; i++) /* s->a is node, prepared by link_node */
            s->tmp[i] = (struct cand){dist_prep(h, &s->a, all[i]), all[i]};
        qsort(s->tmp, n, sizeof(*s->tmp), cmp_cand);
        cur[0] = select_heuristic(h, s, s->tmp, n, maxl, cur + 1);
    } else {
        memcpy(cur + 1, all, n * sizeof(uint32_t));
        cur[0] = (uint32_t)n;
    }
    hnsw_links_put(h, node, level, cur);
}

/* Links slot `node` (code, level, upper arrays already in place) into the graph. */
static bool link_node(struct hnsw *h, struct scratch *s, uint32_t node)
{
    int level = node_level(h, node);
    bool holds_ep = false;
    uint32_t ep;
    int top;
    float ep_dist;

    hnsw_prep_node(h, &s->a, node);
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
        hnsw_greedy(h, s, &s->a, &ep, &ep_dist, lev);
    /* Every level's own list is written before any reverse link, so that no search can reach
     * the node (only reverse links lead to it) while a lower list of it is still empty: a
     * parallel insertion that stepped on it then would find nothing below it but the node itself.
     * Single-threaded the result is the same: reverse links on a level never change a lower one. */
    for (int lev = level < top ? level : top; lev >= 0; lev--) {
        size_t nt = 0;
        size_t n = 0;
        uint32_t *sel = s->sels + (size_t)lev * (1 + h->p.m); /* [count][at most m links] */

        sel[0] = 0;
        if (!hnsw_search_layer(h, s, &s->a, ep, ep_dist, lev, h->p.ef_construction, NULL, &nt)) {
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
        sel[0] = select_heuristic(h, s, s->tmp, n, h->p.m, sel + 1);
        if (h->parallel)
            pthread_mutex_lock(stripe(h, node));
        set_own_links(h, s, node, lev, sel);
        if (h->parallel)
            pthread_mutex_unlock(stripe(h, node));
    }
    for (int lev = level < top ? level : top; lev >= 0; lev--) {
        const uint32_t *sel = s->sels + (size_t)lev * (1 + h->p.m);
        for (uint32_t i = 1; i <= sel[0]; i++)
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

/* link_node with node kept off the searches' paths: a reused slot may still be the target of
 * links other nodes hold, and its own lists are empty until linked; stepping on it would make it
 * its own neighbour and strand the search below it. */
static bool insert_node(struct hnsw *h, struct scratch *s, uint32_t node)
{
    bool ok;

    s->exclude = node;
    ok = link_node(h, s, node);
    s->exclude = NO_NODE;
    return ok;
}

/* ---- adding ------------------------------------------------------------------------------- */

/* Records id as slot's id (dense ids: the caller checked hnsw_ids_fit; the first id of an empty
 * index sets the base). */
static void set_label(struct hnsw *h, uint32_t slot, int64_t id)
{
    if (!h->dense_ids)
        h->labels[slot] = id;
    else if (h->n == 0)
        h->id_base = id;
}

/* Claims the next slot for id with a random level; the node is not linked yet. */
static frugal_status new_slot(struct hnsw *h, int64_t id, const float *vec, float *tmp,
                              uint32_t *slot_out)
{
    uint32_t slot = (uint32_t)h->n;
    int level = random_level(h);
    const float *v = vec;

    if (level > 0 && hnsw_upper_add(h, slot, level) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    if (h->p.metric == VEC_METRIC_COS) {
        memcpy(tmp, vec, h->p.dim * sizeof(float));
        hnsw_normalize(tmp, h->p.dim);
        v = tmp;
    }
    hnsw_links_put(h, slot, 0, (const uint32_t[]){0});
    memset(h->codes + (size_t)slot * h->code_stride, 0, h->code_stride);
    encode(h, slot, v);
    set_label(h, slot, id);
    h->node_bits[slot] = (uint8_t)level; /* (not a tombstone) */
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
    if (!node_deleted(h, slot)) {
        h->node_bits[slot] |= NODE_DELETED;
        h->n_deleted++;
        hnsw_idmap_del(h, label_of(h, slot));
    }
}

/* Gives tombstone `slot` to id and vec (normalized into tmp for cosine): the node keeps its
 * level, so its upper lists stay where they are and every link other nodes still hold to the
 * slot stays valid on its level; its own lists are emptied for insert_node to fill. A link that
 * some node still holds to the old vector now leads to the new one: an extra long-range edge,
 * harmless to the search (tested: recall after heavy churn, tests/unit/test_hnsw.c). */
static void reuse_slot(struct hnsw *h, uint32_t slot, int64_t id, const float *vec, float *tmp)
{
    int level = node_level(h, slot);
    const float *v = vec;

    hnsw_links_put(h, slot, 0, (const uint32_t[]){0});
    if (level > 0)
        memset(upper_of(h, slot), 0, (size_t)level * h->up_list_bytes); /* empty lists */
    if (h->p.metric == VEC_METRIC_COS) {
        memcpy(tmp, vec, h->p.dim * sizeof(float));
        hnsw_normalize(tmp, h->p.dim);
        v = tmp;
    }
    memset(h->codes + (size_t)slot * h->code_stride, 0, h->code_stride);
    encode(h, slot, v);
    set_label(h, slot, id);
    h->node_bits[slot] &= (uint8_t)~NODE_DELETED;
    h->n_deleted--;
    hnsw_idmap_put(h, slot);
}

/* A tombstone to reuse off the free stack, or NO_NODE. */
static uint32_t pop_free(struct hnsw *h)
{
    while (h->n_free > 0) {
        uint32_t slot = h->free_slots[--h->n_free];
        if (slot < h->n && node_deleted(h, slot))
            return slot;
    }
    return NO_NODE;
}

/* Dense ids: the tombstone that held id, taken off the free stack (an update's delete pushed it
 * on top), or NO_NODE. Reusing it keeps the ids dense. */
static uint32_t take_own_slot(struct hnsw *h, int64_t id)
{
    uint64_t off = (uint64_t)id - (uint64_t)h->id_base;

    if (!h->dense_ids || id < h->id_base || off >= h->n || !node_deleted(h, off))
        return NO_NODE;
    for (size_t i = h->n_free; i-- > 0;) {
        if (h->free_slots[i] == off) {
            h->free_slots[i] = h->free_slots[--h->n_free];
            break;
        }
    }
    return (uint32_t)off;
}

/* Dense ids and an id that would keep them dense if appended: append, unless the tombstones are
 * worth more than the ids. Reusing one for another id spreads the ids into a table, ~16 bytes for
 * every slot, while each tombstone left unused costs one slot (code, links, rescoring copy), so
 * reuse only once the tombstones add up to at least the table. */
static bool append_keeps_ids_dense(const struct hnsw *h, int64_t id)
{
    size_t slot_bytes = h->code_stride + 1 +
                        (h->packed0 != NULL ? h->link_stride : (1 + (size_t)h->m0) * 4) +
                        (h->p.keep_f32 ? h->p.dim * sizeof(float) : 0);

    if (!h->dense_ids || !hnsw_ids_fit(h, (uint32_t)h->n, id))
        return false;
    return h->n_free * slot_bytes < h->n * 16;
}

static frugal_status add_locked(struct hnsw *h, int64_t id, const float *vec, struct err *err)
{
    struct scratch *s;
    uint32_t slot;
    frugal_status rc = FRUGAL_OK;

    if (!h->trained)
        return err_set(err, FRUGAL_EINVAL,
                       "hnsw: an int8 index needs hnsw_train (or a first hnsw_add_batch)");
    if (hnsw_idmap_get(h, id) != NO_NODE)
        return err_set(err, FRUGAL_EEXIST, "hnsw: id %lld is already in the index",
                       (long long)id);
    slot = take_own_slot(h, id);
    if (slot == NO_NODE && !append_keeps_ids_dense(h, id))
        slot = pop_free(h);
    /* (with a tombstone to reuse, reserve only moves a mapped rescoring copy into memory) */
    rc = hnsw_reserve(h, h->n + (slot != NO_NODE ? 0 : 1));
    if (rc == FRUGAL_OK && h->dense_ids &&
        !hnsw_ids_fit(h, slot != NO_NODE ? slot : (uint32_t)h->n, id))
        rc = hnsw_ids_spread(h, 1); /* reusing a slot is worth more than dense ids */
    if (rc == FRUGAL_OK)
        rc = hnsw_idmap_reserve(h, 1);
    s = rc == FRUGAL_OK ? hnsw_scratch_get(h, scratch_ef(h)) : NULL;
    if (s == NULL) {
        if (slot != NO_NODE)
            hnsw_free_push(h, slot);
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    }
    if (h->n > 0 && h->n_deleted == h->n) {
        /* nothing live to link to: the new node starts the graph afresh as its entry point */
        h->entry = NO_NODE;
        h->max_level = -1;
    }
    if (slot != NO_NODE)
        reuse_slot(h, slot, id, vec, s->b.qbuf);
    else
        rc = new_slot(h, id, vec, s->b.qbuf, &slot);
    if (rc == FRUGAL_OK && !insert_node(h, s, slot)) {
        abandon_slot(h, slot);
        rc = FRUGAL_ENOMEM;
    }
    hnsw_scratch_put(h, s);
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
            abandon_slot(j->h, (uint32_t)i); /* node_bits[i] is only read for other slots */
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
        ss[t] = hnsw_scratch_get(h, scratch_ef(h));
        if (ss[t] == NULL) {
            nt = t;
            break;
        }
    }
    if (nt == 0)
        return FRUGAL_EEMPTY; /* nothing linked: the caller undoes the slots */
    if (nt > 1) { /* the striped link locks exist only while workers share the graph */
        h->stripes = frugal_reallocarray(NULL, N_STRIPES, sizeof(*h->stripes));
        for (size_t i = 0; h->stripes != NULL && i < N_STRIPES; i++)
            pthread_mutex_init(&h->stripes[i], NULL);
        while (h->stripes == NULL && nt > 1) /* no memory for them: link on this thread */
            hnsw_scratch_put(h, ss[--nt]);
    }
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
    if (h->stripes != NULL) {
        for (size_t i = 0; i < N_STRIPES; i++)
            pthread_mutex_destroy(&h->stripes[i]);
        frugal_free(h->stripes);
        h->stripes = NULL;
    }
    for (unsigned t = 0; t < nt; t++)
        hnsw_scratch_put(h, ss[t]);
    return atomic_load(&failed) ? FRUGAL_ENOMEM : FRUGAL_OK;
}

/* Whether a batch keeps the ids dense (ids NULL: 0..n-1), spreading them when it does not;
 * false when out of memory. */
static bool batch_ids_dense(struct hnsw *h, const int64_t *ids, size_t n)
{
    int64_t base;

    if (!h->dense_ids)
        return true;
    base = h->n == 0 ? (ids != NULL ? ids[0] : 0) : h->id_base;
    for (size_t i = 0; i < n; i++) {
        int64_t want;
        if (__builtin_add_overflow(base, (int64_t)(h->n + i), &want) ||
            want != (ids != NULL ? ids[i] : (int64_t)i))
            return hnsw_ids_spread(h, n) == FRUGAL_OK;
    }
    return true;
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
    if (hnsw_reserve(h, h->n + n) != FRUGAL_OK || !batch_ids_dense(h, ids, n) ||
        hnsw_idmap_reserve(h, n) != FRUGAL_OK) {
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
            hnsw_idmap_del(h, label_of(h, h->n));
            if (node_level(h, h->n) > 0) { /* the last node of up_nodes */
                h->n_up--;
                h->up_bytes = h->up_off[h->n_up];
            }
        }
    }
out_unlock:
    pthread_rwlock_unlock(&h->lock);
    frugal_free(tmp);
    return rc;
}

/* ---- deleting ----------------------------------------------------------------------------- */

/* Gives each live out-neighbour of tombstone x that linked back to it a new link list, chosen by
 * the heuristic among its other links and x's links. */
static void repair(struct hnsw *h, struct scratch *s, uint32_t x)
{
    uint32_t xl[2 * 256]; /* up to m0 links */

    for (int lev = 0; lev <= node_level(h, x); lev++) {
        const uint32_t *l = hnsw_links_get(h, x, lev, s->links);
        uint32_t n_x = l[0];
        memcpy(xl, l + 1, n_x * sizeof(uint32_t));
        for (uint32_t i = 0; i < n_x; i++) {
            uint32_t nb = xl[i];
            uint32_t *nl;
            bool links_back = false;
            size_t n = 0;

            if (node_deleted(h, nb))
                continue;
            nl = links_edit(h, nb, lev, s->links);
            for (uint32_t j = 1; j <= nl[0]; j++)
                links_back |= nl[j] == x;
            if (!links_back)
                continue;
            new_epoch(s);
            s->visited[nb] = s->epoch;
            s->visited[x] = s->epoch;
            hnsw_prep_node(h, &s->c, nb);
            for (uint32_t j = 1; j <= nl[0]; j++) {
                uint32_t y = nl[j];
                if (s->visited[y] == s->epoch || node_deleted(h, y))
                    continue;
                s->visited[y] = s->epoch;
                s->tmp[n++] = (struct cand){dist_prep(h, &s->c, y), y};
            }
            for (uint32_t j = 0; j < n_x; j++) {
                uint32_t y = xl[j];
                if (s->visited[y] == s->epoch || node_deleted(h, y) || node_level(h, y) < lev)
                    continue;
                s->visited[y] = s->epoch;
                s->tmp[n++] = (struct cand){dist_prep(h, &s->c, y), y};
            }
            qsort(s->tmp, n, sizeof(*s->tmp), cmp_cand);
            nl[0] = select_heuristic(h, s, s->tmp, n, max_links(h, lev), nl + 1);
            hnsw_links_put(h, nb, lev, nl);
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
    s = hnsw_scratch_get(h, scratch_ef(h));
    if (s == NULL)
        return err_set(err, FRUGAL_ENOMEM, "hnsw: out of memory");
    h->node_bits[x] |= NODE_DELETED;
    h->n_deleted++;
    hnsw_idmap_del(h, id);
    repair(h, s, x);
    hnsw_scratch_put(h, s);
    hnsw_free_push(h, x);
    if (x == h->entry && h->n_deleted < h->n) {
        /* the live node with the highest level takes over: one of up_nodes when any is live */
        uint32_t best = NO_NODE;
        for (size_t i = 0; i < h->n_up; i++) {
            uint32_t y = h->up_nodes[i];
            if (!node_deleted(h, y) &&
                (best == NO_NODE || node_level(h, y) > node_level(h, best)))
                best = y;
        }
        for (uint32_t i = 0; best == NO_NODE && i < h->n; i++) {
            if (!node_deleted(h, i))
                best = i;
        }
        h->entry = best;
        h->max_level = node_level(h, best);
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
