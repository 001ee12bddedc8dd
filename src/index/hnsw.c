/*
 * hnsw.c - Hierarchical Navigable Small World graphs (Malkov & Yashunin, 2016, arXiv:1603.09320)
 * for frugal's dense retrieval: the index's lifecycle, slot arrays, id map, training and memory
 * accounting. The rest lives beside it, sharing hnsw_internal.h: hnsw_search.c (queries, the
 * layer search insertion also uses), hnsw_build.c (adds, batch builds, deletes, updates),
 * hnsw_links.c (link storage, packed level 0) and hnsw_file.c (save and load).
 *
 * How: every vector is a node with a random level (geometric, 1/ln M). Level 0 is two flat
 * arrays indexed by slot: link lists and vector codes, 64-byte aligned with a stride of whole
 * 32-byte units for float32/float16 (a 128-dim float32 vector is exactly 8 cache lines, and no
 * 32-byte load splits a line; a record that held both, as hnswlib has, put every vector across 9
 * lines and measured ~10% slower here). Level-0 lists are [count u32][2M links u32], or for int8
 * (params.compact_links) Elias-Fano coded in a fixed stride, ~2 + log2(slots / links) bits a
 * link (hnsw_links.c). Levels above 0 exist for ~1/M of the nodes, so they live in one pool of
 * [count][M links] lists per level (coded the same way for int8), found through a sorted table
 * of those nodes' slots (a binary search; only the descent and insertion use it): 8 bytes per
 * upper node instead of a pointer per node. Each slot's top level and tombstone flag share one
 * byte. Insertion descends greedily from the entry point, then on each of
 * the node's levels runs a best-first search with ef_construction candidates and keeps M links
 * chosen by the paper's heuristic (a candidate is kept only if it is closer to the new node than
 * to every link already kept); once the node's lists on all its levels are written, it adds the
 * reverse links, re-pruning neighbours that overflow (until then nothing leads to the node, so a
 * concurrent insertion of a parallel batch never walks into a half-linked one).
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
 * The tombstone then goes on a stack of free slots, and the next single add (hnsw_add,
 * hnsw_update) takes it over: the new vector keeps the slot's level, so every link that other
 * nodes still hold to the slot stays valid on its level and now leads to the new vector, while
 * the insertion gives it proper links of its own (it is kept off its own search's path until
 * then). An update therefore replaces a node in place, and churn does not grow the index. Batch
 * adds append (they link new slots in parallel). One exception: while the ids follow the slots
 * (see the id map below), an add of the next id in order appends, because reusing a slot for it
 * would cost an id table (~16 bytes a slot), until the tombstones outweigh that table. Recall after deleting 30% of the points, and
 * after deleting 30% and adding as many new ones, is tested in tests/unit/test_hnsw.c.
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
 * epoch counters, so it is cleared only once every 65535 searches. hnsw_memory counts slot
 * arrays at the slots in use (their spare capacity is never written, so it is not resident) and
 * the id hash table at its capacity (it is written whole).
 *
 * Threading: one pthread rwlock per index. hnsw_search takes it shared: any number of searches run
 * in parallel, each with its own scratch from the pool (pool guarded by a mutex). hnsw_add,
 * hnsw_delete, hnsw_update, hnsw_train and hnsw_add_batch take it exclusively (hnsw_save, in
 * hnsw_file.c, takes it shared), so writers are serialized and never overlap a search. Inside
 * hnsw_add_batch, worker threads insert in parallel with fine-grained locks: a node's link lists
 * are read and written under one of 1024 striped mutexes (never two held at once), and the entry
 * point / top level under ep_lock (held for the whole insertion of a node that raises the top
 * level). The stripes are allocated for the batch and freed after it (40 KB an index otherwise).
 * Vector codes, levels, the upper-level table and pool are written before the workers start and
 * only the lists' contents change while they run. An index whose rescoring copy is mapped from its
 * file only reads it; the first writer (hnsw_reserve, under the exclusive lock) copies it into
 * memory first.
 */
#include "index/hnsw.h"
#include "index/hnsw_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/alloc.h"

/* ---- id map ------------------------------------------------------------------------------ */

/* Open addressing with linear probing over slot numbers only: a slot's id is labels[slot], so
 * the table costs 4 bytes an entry instead of 12 (the extra read of labels is paid on adds,
 * deletes and contains, never by a search). Load factor at most 3/4.
 *
 * Dense ids: while every slot i holds id id_base + i (ids 0..n-1 of `frugal ann`, or a
 * collection's consecutive chunk ids), there is neither a labels array nor a table (8 + ~6.5
 * bytes a vector): the slot of an id is id - id_base, live unless tombstoned. The first id that
 * breaks the pattern spreads the ids into labels and the table (hnsw_ids_spread), for good. */

bool hnsw_ids_fit(const struct hnsw *h, uint32_t slot, int64_t id)
{
    int64_t want;

    if (!h->dense_ids)
        return false;
    if (h->n == 0 && slot == 0)
        return true; /* (the caller sets id_base) */
    return !__builtin_add_overflow(h->id_base, (int64_t)slot, &want) && want == id;
}

frugal_status hnsw_ids_spread(struct hnsw *h, size_t extra)
{
    int64_t *labels;

    if (!h->dense_ids)
        return FRUGAL_OK;
    labels = frugal_reallocarray(NULL, h->cap > 0 ? h->cap : 1, sizeof(int64_t));
    if (labels == NULL)
        return FRUGAL_ENOMEM;
    for (size_t i = 0; i < h->n; i++)
        labels[i] = h->id_base + (int64_t)i;
    h->labels = labels;
    h->dense_ids = false;
    if (hnsw_idmap_reserve(h, h->n - h->n_deleted + extra) != FRUGAL_OK) {
        frugal_free(h->labels);
        h->labels = NULL;
        h->dense_ids = true;
        return FRUGAL_ENOMEM;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (!node_deleted(h, i))
            hnsw_idmap_put(h, (uint32_t)i);
    }
    return FRUGAL_OK;
}

static size_t id_hash(int64_t id, size_t cap)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

uint32_t hnsw_idmap_get(const struct hnsw *h, int64_t id)
{
    const struct idmap *m = &h->map;

    if (h->dense_ids) {
        uint64_t off = (uint64_t)id - (uint64_t)h->id_base;
        if (id < h->id_base || off >= h->n || node_deleted(h, off))
            return NO_NODE;
        return (uint32_t)off;
    }
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
    if (h->dense_ids)
        return;
    idmap_put_in(&h->map, h->labels, slot);
}

/* Makes room for `extra` more ids at load <= 3/4. */
frugal_status hnsw_idmap_reserve(struct hnsw *h, size_t extra)
{
    struct idmap *m = &h->map;
    size_t want = m->cap == 0 ? 64 : m->cap;
    struct idmap nm;

    if (h->dense_ids)
        return FRUGAL_OK;
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
void hnsw_idmap_del(struct hnsw *h, int64_t id)
{
    struct idmap *m = &h->map;
    size_t mask = m->cap - 1;
    size_t i;

    if (h->dense_ids || m->cap == 0)
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
    h->up_list_bytes = (1 + (size_t)p->m) * sizeof(uint32_t); /* until hnsw_links_grow packs */
    h->level_mult = 1.0 / log((double)p->m);
    elem = p->storage == VEC_STORE_F32 ? 4 : (p->storage == VEC_STORE_F16 ? 2 : 1);
    h->code_bytes = elem * p->dim;
    /* float32/float16 codes start 32-byte aligned, so that no 32-byte load splits a cache line
     * and a 128-dim float32 vector fills exactly 8 lines; int8 codes are packed (memory first) */
    h->code_stride =
        p->storage == VEC_STORE_I8 ? h->code_bytes : (h->code_bytes + 31) & ~(size_t)31;
    h->entry = NO_NODE;
    h->max_level = -1;
    h->rng = p->seed * 0x9E3779B97F4A7C15ull + 1;
    h->trained = p->storage != VEC_STORE_I8;
    h->dense_ids = true;
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
        hnsw_scratch_free(s);
    }
    frugal_free(h->up_nodes);
    frugal_free(h->up_off);
    frugal_free(h->up_pool);
    frugal_free(h->free_slots);
    frugal_free(h->codes_mem);
    frugal_free(h->level0);
    frugal_free(h->packed0);
    frugal_free(h->labels);
    frugal_free(h->node_bits);
    if (h->f32_map.ptr != NULL)
        fs_map_close(&h->f32_map);
    else
        frugal_free(h->f32);
    frugal_free(h->lo);
    frugal_free(h->map.slots);
    pthread_rwlock_destroy(&h->lock);
    pthread_mutex_destroy(&h->pool_lock);
    pthread_mutex_destroy(&h->ep_lock);
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

frugal_status hnsw_upper_add(struct hnsw *h, uint32_t node, int level)
{
    size_t bytes = (size_t)level * h->up_list_bytes;
    void *p;

    if (h->n_up == h->up_cap) {
        size_t cap = h->up_cap == 0 ? 16 : 2 * h->up_cap;
        p = frugal_reallocarray(h->up_nodes, cap, sizeof(uint32_t));
        if (p == NULL)
            return FRUGAL_ENOMEM;
        h->up_nodes = p;
        p = frugal_reallocarray(h->up_off, cap, sizeof(uint32_t));
        if (p == NULL)
            return FRUGAL_ENOMEM;
        h->up_off = p;
        h->up_cap = cap;
    }
    /* 8 bytes of tail past the lists: a coded list is read 8 bytes at a time */
    if (h->up_bytes + bytes + 8 > h->up_pool_cap) {
        size_t cap = h->up_pool_cap == 0 ? 1024 : 2 * h->up_pool_cap;
        while (cap < h->up_bytes + bytes + 8)
            cap *= 2;
        if (cap > UINT32_MAX)
            return FRUGAL_ETOOBIG;
        p = frugal_realloc(h->up_pool, cap);
        if (p == NULL)
            return FRUGAL_ENOMEM;
        h->up_pool = p;
        h->up_pool_cap = cap;
    }
    memset(h->up_pool + h->up_bytes, 0, bytes + 8); /* empty lists, in either representation */
    h->up_nodes[h->n_up] = node;
    h->up_off[h->n_up] = (uint32_t)h->up_bytes;
    h->n_up++;
    h->up_bytes += bytes;
    return FRUGAL_OK;
}

void hnsw_free_push(struct hnsw *h, uint32_t slot)
{
    if (h->n_free == h->free_cap) {
        size_t cap = h->free_cap == 0 ? 64 : 2 * h->free_cap;
        uint32_t *p = frugal_reallocarray(h->free_slots, cap, sizeof(uint32_t));
        if (p == NULL)
            return;
        h->free_slots = p;
        h->free_cap = cap;
    }
    h->free_slots[h->n_free++] = slot;
}

/* Grows the slot arrays to hold `want` slots. */
frugal_status hnsw_reserve(struct hnsw *h, size_t want)
{
    size_t cap = h->cap == 0 ? 64 : h->cap;
    void *p;

    if (h->f32_map.ptr != NULL && f32_to_memory(h) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    if (want <= h->cap)
        return FRUGAL_OK;
    /* the first fill (a batch into an empty index, a load) gets exactly what it asks for: the
     * Elias-Fano lists of an int8 index are coded for ids below the capacity, so a capacity
     * rounded up to a power of two would cost up to a bit a link (3 bytes a node on GloVe-100d);
     * later growth doubles, and recodes once each time (hnsw_links_grow) */
    if (h->cap == 0 && want > cap)
        cap = want;
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
    if (!h->dense_ids)
        GROW(labels, sizeof(int64_t));
    GROW(node_bits, 1);
    if (h->p.keep_f32)
        GROW(f32, h->p.dim * sizeof(float));
#undef GROW
    {
        frugal_status rc = hnsw_links_grow(h, cap);
        if (rc != FRUGAL_OK)
            return rc;
    }
    h->cap = cap;
    return FRUGAL_OK;
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
    memset(m, 0, sizeof(*m));
    pthread_rwlock_rdlock(&h->lock);
    m->codes = h->n * h->code_stride;
    m->links = h->up_bytes + (h->up_bytes > 0 ? 8 : 0);
    if (h->packed0 != NULL)
        m->links += h->n * h->link_stride + 8;
    else
        m->links += h->n * (1 + (size_t)h->m0) * sizeof(uint32_t);
    if (!h->dense_ids) /* (dense ids: nothing stored) */
        m->ids = h->n * sizeof(int64_t) + h->map.cap * sizeof(uint32_t);
    /* the level and tombstone byte; the slot and pool offset of each node with upper levels;
     * the stack of reusable tombstones */
    m->node_meta = h->n + h->n_up * 2 * sizeof(uint32_t) + h->n_free * sizeof(uint32_t) +
                   sizeof(*h);
    if (h->lo != NULL)
        m->node_meta += 2 * (size_t)h->p.dim * sizeof(float);
    pthread_mutex_lock(&h->pool_lock);
    for (const struct scratch *s = h->pool; s != NULL; s = s->next) {
        m->scratch += sizeof(*s) + s->visited_cap * sizeof(uint16_t) +
                      (s->cands_cap + s->top_cap + s->tmp_cap) * sizeof(struct cand) +
                      (3 * (size_t)h->m0 + 9) * sizeof(uint32_t) + /* links, fresh, dists */
                      (MAX_LEVEL + 1) * (1 + (size_t)h->p.m) * sizeof(uint32_t) + /* sels */
                      9 * (size_t)h->p.dim * sizeof(float);       /* three prepared vectors */
    }
    pthread_mutex_unlock(&h->pool_lock);
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
