/*
 * hnsw_internal.h - what the files of the HNSW index share: hnsw.c (lifecycle, slot arrays, id
 * map), hnsw_search.c (queries and the layer search), hnsw_build.c (adds, deletes), hnsw_links.c
 * (link storage) and hnsw_file.c (save and load). Not for use outside src/index/hnsw*.c.
 *
 * Contract: struct hnsw is defined here so that every file can reach it; every field's meaning
 * and the locking rules are those of hnsw.c's opening comment. The functions below are exported
 * under the hnsw_ prefix only for the other hnsw*.c files; the hot helpers (distances, heaps,
 * link decoding) are static inline here so that the search loop keeps them inlined.
 */
#ifndef FRUGAL_INDEX_HNSW_INTERNAL_H
#define FRUGAL_INDEX_HNSW_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "index/hnsw.h"
#include "index/vec_kernels.h"

#define N_STRIPES 1024u
#define MAX_LEVEL 24
#define NO_NODE UINT32_MAX
#define FILTER_SAMPLE 256u

struct cand {
    float dist;
    uint32_t node;
};

/* A query made ready for one storage type (see vec_kernels.h). */
struct prep {
    const float *q; /* the float query (normalized for cosine) */
    float *qbuf;    /* dim: owned copy when q had to be transformed */
    float *r;       /* dim: int8 L2: q - lo */
    float *w;       /* dim: int8 IP: q * scale */
    float c;        /* int8 IP: sum q * lo */
};

struct scratch {
    struct scratch *next;
    uint16_t *visited; /* cap entries; == epoch means visited in this search (16 bits: half the
                          cache footprint; cleared once every 65535 searches) */
    size_t visited_cap;
    uint16_t epoch;
    uint32_t *fresh; /* m0 + 4: the unvisited neighbours of the node being expanded (+ padding) */
    float *dists;    /* m0 + 4: their distances (room for a padded group of four) */
    struct cand *cands; /* min-heap: the frontier */
    size_t cands_cap;
    struct cand *top; /* max-heap: the best so far */
    size_t top_cap;
    struct cand *tmp; /* sorted candidates for selection */
    size_t tmp_cap;
    uint32_t *links; /* a copy of one link list (parallel build), or one decoded */
    uint32_t *sels;  /* (MAX_LEVEL + 1) x (1 + m): an insertion's chosen links per level */
    uint32_t exclude; /* a node searches must not step on (the reused slot being linked), or
                         NO_NODE */
    struct prep a;   /* the query / the node being inserted */
    struct prep b;   /* a candidate in the heuristic */
    struct prep c;   /* a neighbour being re-pruned */
};

/* id -> slot: a table of slots (NO_NODE = empty) whose keys are read from labels[slot]. */
struct idmap {
    uint32_t *slots; /* cap */
    size_t cap;      /* power of two */
    size_t n;
};

struct hnsw {
    struct hnsw_params p;
    const struct vec_kernels *k;
    uint32_t m0;         /* level-0 links: 2m */
    double level_mult;   /* 1 / ln m */
    size_t code_bytes;   /* stored vector bytes */
    size_t code_stride;  /* bytes from one code to the next: code_bytes, f32/f16 rounded to 32 */
    char *codes;         /* cap x code_stride, 64-byte aligned inside codes_mem */
    char *codes_mem;     /* the allocation behind codes */
    uint32_t *level0;    /* cap x (1 + m0): level-0 link lists, [count][m0 link slots]; NULL
                            when packed */
    uint8_t *packed0;    /* cap x link_stride (+ 8 bytes of tail): the level-0 lists Elias-Fano
                            coded (params.compact_links; hnsw_links.c), else NULL */
    size_t link_stride;  /* bytes per packed list: the largest coded list of <= m0 ids */
    size_t link_universe; /* packed ids are < link_universe (the slot capacity) */
    uint8_t ef_low[256]; /* packed: low bits an id in a list of c ids, for c = 0..m0 */
    int64_t *labels;     /* cap: slot -> id; NULL while dense_ids */
    bool dense_ids;      /* slot i has id id_base + i (no labels, no id map): true from
                            hnsw_new until an id breaks the pattern (hnsw_ids_spread) */
    int64_t id_base;
    uint8_t *node_bits;  /* cap: slot -> its top level (bits 0-6) | NODE_DELETED (a tombstone),
                            read through node_level / node_deleted: one byte for both (a
                            second byte was 0.6% of an int8 GloVe-100d node) */
    uint32_t *up_nodes;  /* n_up: the slots with a level >= 1, increasing */
    uint32_t *up_off;    /* n_up: where their lists start in up_pool (bytes) */
    size_t n_up, up_cap;
    uint8_t *up_pool;    /* up_bytes (+ 8 bytes of tail): for each up_nodes slot, levels
                            1..level, one list of up_list_bytes each: [count][m links] as uint32,
                            or Elias-Fano coded like level 0 when packed0 is */
    size_t up_bytes, up_pool_cap;
    size_t up_list_bytes; /* (1 + m) x 4, or packed: the largest coded list of <= m ids */
    uint32_t *free_slots; /* n_free: tombstones an add may reuse (a stack) */
    size_t n_free, free_cap;
    float *f32;          /* cap x dim: rescoring copy (f16/i8 with keep_f32), else NULL; n x dim
                            inside f32_map when loaded with the copy on disk */
    struct fs_map f32_map; /* the index file, mapped, when f32 points into it; else zero */
    float *lo;           /* dim: int8 range start */
    float *scale;        /* dim: int8 step ((hi - lo) / 255) */
    bool trained;
    size_t n, cap, n_deleted;
    uint32_t entry; /* NO_NODE when empty */
    int max_level;
    uint64_t generation;
    uint64_t rng;
    struct idmap map;
    pthread_rwlock_t lock;
    pthread_mutex_t pool_lock;
    struct scratch *pool;
    bool parallel; /* inside a multi-threaded batch: use the stripes */
    pthread_mutex_t ep_lock;
    pthread_mutex_t *stripes; /* N_STRIPES, only while a multi-threaded batch links (40 KB) */
};

/* The largest packed list (m0 <= 255 ids below 2^31: 255 x 34 bits), and its read buffer. */
#define EF_MAX_STRIDE 1096u
#define EF_BUF_BYTES (EF_MAX_STRIDE + 8u)

#define NODE_DELETED 0x80u

static inline int node_level(const struct hnsw *h, uint32_t node)
{
    return h->node_bits[node] & 0x7f;
}

static inline bool node_deleted(const struct hnsw *h, uint32_t node)
{
    return (h->node_bits[node] & NODE_DELETED) != 0;
}

/* Level-0 lists of an unpacked index. */
static inline uint32_t *links0(const struct hnsw *h, uint32_t node)
{
    return h->level0 + (size_t)node * (1 + h->m0);
}

static inline const uint8_t *packed_of(const struct hnsw *h, uint32_t node)
{
    return h->packed0 + (size_t)node * h->link_stride;
}

/* The caller's id of a slot. */
static inline int64_t label_of(const struct hnsw *h, uint32_t slot)
{
    return h->dense_ids ? h->id_base + (int64_t)slot : h->labels[slot];
}

static inline const void *code_of(const struct hnsw *h, uint32_t node)
{
    return h->codes + (size_t)node * h->code_stride;
}

/* The upper-level lists of node (level >= 1), level 1 first: a binary search of up_nodes. */
static inline uint8_t *upper_of(const struct hnsw *h, uint32_t node)
{
    size_t lo = 0;
    size_t hi = h->n_up;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->up_nodes[mid] < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return h->up_pool + h->up_off[lo];
}

/* The link list of node at level of an unpacked index (packed0 NULL): [0] = count, then the
 * links, in place (writable). */
static inline uint32_t *links_at(const struct hnsw *h, uint32_t node, int level)
{
    if (level == 0)
        return links0(h, node);
    return (uint32_t *)(void *)(upper_of(h, node) + (size_t)(level - 1) * h->up_list_bytes);
}

/* The coded list of node at level of a packed index. */
static inline const uint8_t *packed_at(const struct hnsw *h, uint32_t node, int level)
{
    if (level == 0)
        return packed_of(h, node);
    return upper_of(h, node) + (size_t)(level - 1) * h->up_list_bytes;
}

static inline uint32_t max_links(const struct hnsw *h, int level)
{
    return level == 0 ? h->m0 : h->p.m;
}

/* Decodes one packed list at p (its count byte; 8 readable bytes past the list) into
 * out[0..count); returns count. Elias-Fano: each id is (high << lb) | low, with the lows as
 * fixed lb-bit fields and the highs as a unary bit stream (the i-th set bit sits at high + i),
 * read 56 bits a load with count-trailing-zeros. */
static inline uint32_t ef_decode(const struct hnsw *h, const uint8_t *p, uint32_t *out)
{
    uint32_t cnt = p[0];
    uint32_t lb = h->ef_low[cnt];
    uint64_t mask = ((uint64_t)1 << lb) - 1;
    size_t at = (size_t)cnt * lb; /* where the high bits start */
    uint64_t w;
    uint64_t win = 0;             /* offset of the window in the high stream (bits) */

    p++;
    memcpy(&w, p + (at >> 3), sizeof(w));
    w = (w >> (at & 7)) & 0x00ffffffffffffffull;
    for (uint32_t j = 0, q = 0; j < cnt; j++, q += lb) {
        uint64_t lw;
        uint64_t t;
        while (w == 0) { /* the next 56 bits of the high stream */
            win += 56;
            at += 56;
            memcpy(&w, p + (at >> 3), sizeof(w));
            w = (w >> (at & 7)) & 0x00ffffffffffffffull;
        }
        t = (uint64_t)__builtin_ctzll(w);
        w &= w - 1;
        memcpy(&lw, p + (q >> 3), sizeof(lw));
        out[j] = (uint32_t)(((win + t - j) << lb) | ((lw >> (q & 7)) & mask));
    }
    return cnt;
}

/* The level-0 list of a packed index into out[0..count); returns count. */
static inline uint32_t links0_unpack(const struct hnsw *h, uint32_t node, uint32_t *out)
{
    return ef_decode(h, packed_of(h, node), out);
}

/* hnsw_links.c. The link lists (level 0 and the upper pool) stay packed through every write
 * when params.compact_links (int8, m0 <= 255): the first hnsw_reserve packs, and each growth of
 * the slot arrays recodes them for the larger slot range.
 * hnsw_links_grow: makes room for new_cap lists (packed or not; FRUGAL_ENOMEM, FRUGAL_ETOOBIG
 *   past 2^31 slots when packed).
 * hnsw_links_get: node's list at level as [count][links] (in place, or decoded into buf, which
 * holds 1 + m0 words); under a parallel build the caller holds the node's stripe.
 * hnsw_links_put: stores list ([count][links], count <= max_links) as node's list at level.
 * hnsw_links_copy_out: the level-0 lists unpacked into dst (n x (1 + m0), unused slots 0).
 * hnsw_links_upper_out: the upper pool unpacked into dst (the file's layout: for each up_nodes
 *   slot, levels 1..level of [count][m links], unused slots 0), whatever the representation. */
frugal_status hnsw_links_grow(struct hnsw *h, size_t new_cap);
const uint32_t *hnsw_links_get(const struct hnsw *h, uint32_t node, int level, uint32_t *buf);
void hnsw_links_put(struct hnsw *h, uint32_t node, int level, const uint32_t *list);
void hnsw_links_copy_out(const struct hnsw *h, uint32_t *dst);
void hnsw_links_upper_out(const struct hnsw *h, uint32_t *dst);
/* node's list at level, writable: in place, or decoded into buf (1 + m0 words) when the lists
 * are packed; hnsw_links_put stores it back (a no-op for a list in place). */
static inline uint32_t *links_edit(const struct hnsw *h, uint32_t node, int level, uint32_t *buf)
{
    if (h->packed0 == NULL)
        return links_at(h, node, level);
    hnsw_links_get(h, node, level, buf);
    return buf;
}

/* hnsw.c: pushes a tombstone on the stack of slots an add may reuse (out of memory: the slot
 * just stays a tombstone). */
void hnsw_free_push(struct hnsw *h, uint32_t slot);
/* hnsw.c: room for the upper lists of one more node of level >= 1 (FRUGAL_ENOMEM). Appends
 * node (larger than every slot in up_nodes) with zeroed lists. */
frugal_status hnsw_upper_add(struct hnsw *h, uint32_t node, int level);

/* Parameter checks shared by hnsw_new and the loader. */
frugal_status hnsw_check_params(const struct hnsw_params *p, struct err *err);
/* Grows the slot arrays to hold `want` slots (FRUGAL_ENOMEM, FRUGAL_ETOOBIG). */
frugal_status hnsw_reserve(struct hnsw *h, size_t want);
/* The id map: the live slot of id or NO_NODE; enter slot under its id labels[slot] (room
 * reserved); make room for `extra` more ids. */
uint32_t hnsw_idmap_get(const struct hnsw *h, int64_t id);
void hnsw_idmap_put(struct hnsw *h, uint32_t slot);
frugal_status hnsw_idmap_reserve(struct hnsw *h, size_t extra);
/* Dense ids: whether slot may take id and stay dense (the first id of an empty index sets the
 * base); hnsw_ids_spread leaves dense mode: labels for every slot and the id map, with room for
 * `extra` more ids (FRUGAL_ENOMEM: still dense). A no-op when not dense. */
bool hnsw_ids_fit(const struct hnsw *h, uint32_t slot, int64_t id);
frugal_status hnsw_ids_spread(struct hnsw *h, size_t extra);

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

static inline int cmp_cand(const void *x, const void *y)
{
    const struct cand *a = x;
    const struct cand *b = y;
    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return a->node < b->node ? -1 : (a->node > b->node);
}
/* ---- shared by hnsw_search.c and hnsw_build.c ------------------------------------------- */

static inline void new_epoch(struct scratch *s)
{
    if (++s->epoch == 0) {
        memset(s->visited, 0, s->visited_cap * sizeof(uint16_t));
        s->epoch = 1;
    }
}

static inline pthread_mutex_t *stripe(struct hnsw *h, uint32_t node)
{
    return &h->stripes[node & (N_STRIPES - 1)];
}

static inline bool acceptable(const struct hnsw *h, uint32_t node, const struct vec_filter *f)
{
    if (node_deleted(h, node))
        return false;
    return f == NULL || f->accept(label_of(h, node), f->ctx);
}

/* hnsw_search.c: the scratch pool (a scratch sized for the index now and for ef; NULL when out
 * of memory; callers hold the rwlock), query and node preparation, the greedy descent on one
 * upper level and the best-first search on one level (false when out of memory). */
struct scratch *hnsw_scratch_get(struct hnsw *h, size_t ef);
void hnsw_scratch_put(struct hnsw *h, struct scratch *s);
void hnsw_scratch_free(struct scratch *s);
void hnsw_normalize(float *v, size_t dim);
void hnsw_prep_node(const struct hnsw *h, struct prep *p, uint32_t node);
void hnsw_greedy(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t *ep,
                 float *ep_dist, int level);
bool hnsw_search_layer(struct hnsw *h, struct scratch *s, const struct prep *q, uint32_t ep,
                       float ep_dist, int level, size_t ef, const struct vec_filter *f,
                       size_t *n_top);
/* hnsw.c: removes id from the id map. */
void hnsw_idmap_del(struct hnsw *h, int64_t id);

#endif
