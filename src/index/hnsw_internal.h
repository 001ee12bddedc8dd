/*
 * hnsw_internal.h - what the two halves of the HNSW index share: hnsw.c (graph, search, adds,
 * deletes) and hnsw_file.c (save and load). Not for use outside src/index/hnsw*.c.
 *
 * Contract: struct hnsw is defined here so that the loader can fill it; every field's meaning
 * and the locking rules are those of hnsw.c's opening comment. The functions below are hnsw.c's
 * internals, exported under the hnsw_ prefix only for hnsw_file.c.
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
    uint32_t *links; /* a copy of one link list (parallel build) */
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
                            while packed */
    uint8_t *packed0;    /* n x link_stride (+ 8 bytes of tail): the same lists bit-packed
                            (params.compact_links; hnsw_links.c), else NULL */
    size_t link_stride;  /* bytes per packed list: 1 count byte + ceil(m0 x link_bits / 8) */
    uint32_t link_bits;  /* bits per packed id: enough for n - 1 when packed */
    int64_t *labels;     /* cap: slot -> id */
    uint8_t *levels;     /* cap: slot -> top level */
    uint32_t **upper;    /* cap: levels 1..level, each [count][m links]; NULL at level 0 */
    uint8_t *deleted;    /* cap: 1 = tombstone */
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
    pthread_mutex_t stripes[N_STRIPES];
};

/* Level-0 lists of an unpacked index (writers unpack first: hnsw_links_unpack). */
static inline uint32_t *links0(const struct hnsw *h, uint32_t node)
{
    return h->level0 + (size_t)node * (1 + h->m0);
}

static inline const void *code_of(const struct hnsw *h, uint32_t node)
{
    return h->codes + (size_t)node * h->code_stride;
}

/* The link list of node at level: [0] = count, then the links. */
static inline uint32_t *links_at(const struct hnsw *h, uint32_t node, int level)
{
    if (level == 0)
        return links0(h, node);
    return h->upper[node] + (size_t)(level - 1) * (1 + h->p.m);
}

static inline uint32_t max_links(const struct hnsw *h, int level)
{
    return level == 0 ? h->m0 : h->p.m;
}

/* The packed level-0 list of node into out[0..count); returns count. Each id is read with one
 * unaligned 8-byte load (the tail padding keeps the last one inside the allocation). */
static inline uint32_t links0_unpack(const struct hnsw *h, uint32_t node, uint32_t *out)
{
    const uint8_t *p = h->packed0 + (size_t)node * h->link_stride;
    uint32_t cnt = p[0];
    uint32_t bits = h->link_bits;
    uint64_t mask = ((uint64_t)1 << bits) - 1;

    p++;
    for (uint32_t j = 0, pos = 0; j < cnt; j++, pos += bits) {
        uint64_t w;
        memcpy(&w, p + (pos >> 3), sizeof(w));
        out[j] = (uint32_t)((w >> (pos & 7)) & mask);
    }
    return cnt;
}

/* hnsw_links.c: packs the level-0 lists (params.compact_links, m0 <= 255; otherwise, or out of
 * memory, a no-op: packing saves memory, it is never required); unpacks them before a write
 * (FRUGAL_ENOMEM; a no-op when not packed); copies them out unpacked into dst (n x (1 + m0)). */
void hnsw_links_pack(struct hnsw *h);
frugal_status hnsw_links_unpack(struct hnsw *h);
void hnsw_links_copy_out(const struct hnsw *h, uint32_t *dst);

/* Parameter checks shared by hnsw_new and the loader. */
frugal_status hnsw_check_params(const struct hnsw_params *p, struct err *err);
/* Grows the slot arrays to hold `want` slots (FRUGAL_ENOMEM, FRUGAL_ETOOBIG). */
frugal_status hnsw_reserve(struct hnsw *h, size_t want);
/* The id map: the live slot of id or NO_NODE; enter slot under its id labels[slot] (room
 * reserved); make room for `extra` more ids. */
uint32_t hnsw_idmap_get(const struct hnsw *h, int64_t id);
void hnsw_idmap_put(struct hnsw *h, uint32_t slot);
frugal_status hnsw_idmap_reserve(struct hnsw *h, size_t extra);

#endif
