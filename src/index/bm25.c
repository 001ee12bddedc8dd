/*
 * bm25.c - frugal's BM25F inverted index: segment builder, file image, loader and block-max
 * WAND top-k search (see bm25.h for the contract, docs/formats.md for the file layout).
 *
 * Building: bm25_builder_add runs the analyzer over a chunk's three fields, interns each term in
 * an open-addressing hash table, sorts the chunk's (term, field) keys and appends one posting
 * record (term, doc, tf per field) per distinct term. bm25_builder_finish sorts the dictionary,
 * counting-sorts the records by term (stable, so each list stays in document order), cuts each
 * list into blocks of BM25_BLOCK postings, packs document gaps and the three field frequencies
 * with bm25_pack, and records per block its last document, the largest weighted tf and the
 * smallest weighted length of its documents (as floats rounded outwards).
 *
 * Searching: document-at-a-time MaxScore (Turtle & Flood 1995; search_segment_maxscore), or
 * with FRUGAL_BM25_WAND=1 block-max WAND (Ding & Suel 2011; search_segment), over one cursor per
 * distinct query term per segment. Both were measured (BENCHMARKS.md, bm25-scale): MaxScore
 * won, on SciFact-like claims and SQuAD questions alike, because WAND re-sorts its cursors at
 * every pivot while MaxScore only takes a minimum over its essential cursors and probes the
 * others, highest bound first, for the candidates that can still make the top k.
 * WAND: cursors sorted by current document; the pivot is the first cursor at
 * which the sum of the terms' upper bounds reaches the k-th best score (theta); then the bounds
 * of the blocks holding the pivot (computed from the block's max tf and min length with the
 * query's k1, b and avgdl, which are monotone in both) must reach theta too, else every cursor
 * up to the pivot jumps past the nearest block end. A document is scored completely, in query
 * term order and with the very expression of fts.c's frugal_bm25, so the scores are the same
 * doubles as an exhaustive evaluation (bm25_search_opts.exhaustive switches the skipping off: the
 * reference the tests compare with). Bounds are inflated by 1e-9 relative and compared with
 * `<` so that rounding can never prune a document that would enter the heap, including one that
 * ties theta and wins on the smaller chunk id. Deleted documents (bitmap over the base segment)
 * and the filter (bitset over chunk ids) are tested before a document is scored. The base and
 * delta segments share one heap, so theta carries over; df, N and the length totals are those of
 * the live documents of both (a deleted document's share of df is found by seeking the term's
 * cursor to each deleted document: cheap while deletes are few, and `frugal optimize` folds them
 * away). A cursor caches the bound of the last block it was asked about, and finds the block of
 * a target by testing its current block, then galloping (pivots land in or near it). Memory: a
 * few allocations per query for cursors, scratch and heap, none in the loop.
 *
 * Loading: the image is checked completely before use (header and body CRC-32, then every offset,
 * count, bound and ordering the search relies on), and each decoded block is checked against its
 * table entry (every document <= its last document), so a damaged or hostile file yields
 * ECORRUPT, never a read outside the image.
 *
 * Threading: builders belong to one thread. Segments and indexes are immutable after creation
 * and may be searched from many threads at once: bm25_search writes only to memory it allocates
 * per call and to the caller's hits array.
 */
#include "index/bm25.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "index/bm25_postings.h"
#include "text/analyzer.h"

#define DOC_END UINT32_MAX
#define BOUND_SLACK (1.0 + 1e-9)

/* ---- File layout (docs/formats.md) ---- */

struct bm25_header {
    char magic[8];          /* BM25_MAGIC */
    uint32_t version;       /* BM25_VERSION */
    uint32_t header_size;   /* sizeof(struct bm25_header) */
    int64_t generation;     /* the store's meta.generation the segment reflects */
    int64_t collection_id;
    uint64_t n_docs, n_terms, n_blocks;
    uint64_t total_len[BM25_N_FIELDS]; /* sum of field lengths in terms */
    double weights[BM25_N_FIELDS];     /* weights the block bounds were computed with */
    uint64_t off_docs, off_terms, off_strings, off_blocks, off_postings; /* byte offsets */
    uint64_t file_size;
    uint32_t crc_body;   /* CRC-32 of bytes [header_size, file_size) */
    uint32_t crc_header; /* CRC-32 of this header with crc_header = 0 */
};
_Static_assert(sizeof(struct bm25_header) == 160, "header layout");

struct bm25_doc {
    int64_t chunk_id;
    int64_t document_id;
    uint32_t len[BM25_N_FIELDS]; /* field lengths in terms */
    uint32_t reserved;
};
_Static_assert(sizeof(struct bm25_doc) == 32, "doc layout");

struct bm25_term_entry {
    uint64_t str_off;     /* into the strings section */
    uint32_t str_len;
    uint32_t df;          /* postings (= documents holding the term) */
    uint64_t first_block; /* into the block table */
    uint32_t n_blocks;
    float max_tfw;        /* max weighted tf over the list, rounded up */
    float min_dl;         /* min weighted length over the list, rounded down */
    uint32_t reserved;
};
_Static_assert(sizeof(struct bm25_term_entry) == 40, "term layout");

struct bm25_block {
    uint64_t off;         /* into the postings section: gaps, then tf title, heading, body */
    uint32_t last_doc;    /* last document number of the block */
    float max_tfw;        /* as in the term entry, over the block */
    float min_dl;
    uint16_t n;           /* postings in the block, 1..BM25_BLOCK */
    uint8_t bits[4];      /* bits of gaps, tf title, tf heading, tf body */
    uint8_t reserved[6];
};
_Static_assert(sizeof(struct bm25_block) == 32, "block layout");

struct bm25_segment {
    const uint8_t *base;
    size_t len;
    uint8_t *owned;       /* frugal_free at close, or NULL */
    struct fs_map map;    /* when mapped */
    const struct bm25_header *h;
    const struct bm25_doc *docs;
    const struct bm25_term_entry *terms;
    const char *strings;
    const struct bm25_block *blocks;
    const uint8_t *postings;
};

/* ---- Scoring pieces shared by builder and search ---- */

/* sum_c w_c tf_c as frugal_bm25 accumulates it (one addition per occurrence, in field order);
 * with integral weights that is a multiplication, exactly. */
static double weighted_tf(const double w[BM25_N_FIELDS], const uint32_t tf[BM25_N_FIELDS],
                          bool integral)
{
    double s = 0.0;
    if (integral) {
        for (int c = 0; c < BM25_N_FIELDS; c++)
            s += w[c] * (double)tf[c];
        return s;
    }
    for (int c = 0; c < BM25_N_FIELDS; c++)
        for (uint32_t i = 0; i < tf[c]; i++)
            s += w[c];
    return s;
}

static bool weights_integral(const double w[BM25_N_FIELDS])
{
    for (int c = 0; c < BM25_N_FIELDS; c++)
        if (w[c] != floor(w[c]) || w[c] > 1e6)
            return false;
    return true;
}

static double weighted_len(const double w[BM25_N_FIELDS], const uint32_t len[BM25_N_FIELDS])
{
    double dl = 0.0;
    for (int c = 0; c < BM25_N_FIELDS; c++)
        dl += w[c] * (double)len[c];
    return dl;
}

static float float_up(double x)
{
    float f = (float)x;
    if ((double)f < x)
        f = nextafterf(f, INFINITY);
    return f;
}

static float float_down(double x)
{
    float f = (float)x;
    if ((double)f > x)
        f = nextafterf(f, -INFINITY);
    return f < 0.0f ? 0.0f : f;
}

/* ---- Builder ---- */

struct posting_rec {
    uint32_t term, doc;
    uint32_t tf[BM25_N_FIELDS];
};

struct term_slot {
    uint32_t off, len; /* into strings */
};

struct bm25_builder {
    struct analyzer *an; /* borrowed */
    double w[BM25_N_FIELDS];
    bool integral;
    struct buf strings;
    struct term_slot *terms;
    size_t n_terms, cap_terms;
    uint32_t *slots; /* hash: term id + 1, 0 empty; power of two */
    size_t n_slots;
    struct bm25_doc *docs;
    size_t n_docs, cap_docs;
    struct posting_rec *recs;
    size_t n_recs, cap_recs;
    uint64_t *keys; /* this chunk's term id << 2 | field */
    size_t n_keys, cap_keys;
    uint64_t total[BM25_N_FIELDS];
    int64_t last_chunk;
    int field;
    uint32_t lens[BM25_N_FIELDS];
    frugal_status rc;
};

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap > 0 ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = frugal_reallocarray(*p, c, elem);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static bool rehash(struct bm25_builder *b, size_t n_slots)
{
    uint32_t *slots = frugal_calloc(n_slots, sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t id = 0; id < b->n_terms; id++) {
        const struct term_slot *t = &b->terms[id];
        size_t i = hash_bytes(b->strings.ptr + t->off, t->len) & (n_slots - 1);
        while (slots[i] != 0)
            i = (i + 1) & (n_slots - 1);
        slots[i] = (uint32_t)id + 1;
    }
    frugal_free(b->slots);
    b->slots = slots;
    b->n_slots = n_slots;
    return true;
}

/* Term id of term, interned when new; UINT32_MAX when out of memory. */
static uint32_t intern(struct bm25_builder *b, const char *term, size_t len)
{
    if (2 * (b->n_terms + 1) > b->n_slots && !rehash(b, b->n_slots * 2))
        return UINT32_MAX;
    size_t mask = b->n_slots - 1;
    size_t i = hash_bytes(term, len) & mask;
    while (b->slots[i] != 0) {
        const struct term_slot *t = &b->terms[b->slots[i] - 1];
        if (t->len == len && memcmp(b->strings.ptr + t->off, term, len) == 0)
            return b->slots[i] - 1;
        i = (i + 1) & mask;
    }
    if (b->n_terms >= UINT32_MAX - 1 || b->strings.len > UINT32_MAX - len ||
        !grow((void **)&b->terms, &b->cap_terms, b->n_terms + 1, sizeof *b->terms) ||
        buf_append(&b->strings, term, len) != FRUGAL_OK)
        return UINT32_MAX;
    b->terms[b->n_terms].off = (uint32_t)(b->strings.len - len);
    b->terms[b->n_terms].len = (uint32_t)len;
    b->slots[i] = (uint32_t)b->n_terms + 1;
    return (uint32_t)b->n_terms++;
}

static int on_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                   size_t byte_end)
{
    struct bm25_builder *b = ctx;
    uint32_t id = intern(b, term, term_len);
    if (id == UINT32_MAX ||
        !grow((void **)&b->keys, &b->cap_keys, b->n_keys + 1, sizeof *b->keys)) {
        b->rc = FRUGAL_ENOMEM;
        return 1;
    }
    b->keys[b->n_keys++] = (uint64_t)id << 2 | (uint64_t)b->field;
    b->lens[b->field]++;
    return 0;
}

frugal_status bm25_builder_new(struct analyzer *an, const double w[BM25_N_FIELDS],
                               struct bm25_builder **out, struct err *err)
{
    *out = NULL;
    struct bm25_builder *b = frugal_calloc(1, sizeof *b);
    if (b == NULL)
        return err_set(err, FRUGAL_ENOMEM, "bm25: build: out of memory");
    b->an = an;
    memcpy(b->w, w, sizeof b->w);
    b->integral = weights_integral(w);
    b->last_chunk = INT64_MIN;
    buf_init(&b->strings, 0);
    if (!rehash(b, 1024)) {
        frugal_free(b);
        return err_set(err, FRUGAL_ENOMEM, "bm25: build: out of memory");
    }
    *out = b;
    return FRUGAL_OK;
}

void bm25_builder_free(struct bm25_builder *b)
{
    if (b == NULL)
        return;
    buf_release(&b->strings);
    frugal_free(b->terms);
    frugal_free(b->slots);
    frugal_free(b->docs);
    frugal_free(b->recs);
    frugal_free(b->keys);
    frugal_free(b);
}

size_t bm25_builder_n_docs(const struct bm25_builder *b)
{
    return b->n_docs;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

frugal_status bm25_builder_add(struct bm25_builder *b, int64_t chunk_id, int64_t document_id,
                               const char *const text[BM25_N_FIELDS],
                               const size_t len[BM25_N_FIELDS], struct err *err)
{
    if (chunk_id <= b->last_chunk)
        return err_set(err, FRUGAL_EINVAL, "bm25: build: chunk %lld added after chunk %lld",
                       (long long)chunk_id, (long long)b->last_chunk);
    if (b->n_docs >= UINT32_MAX - 1)
        return err_set(err, FRUGAL_ETOOBIG, "bm25: build: too many chunks for one segment");
    b->n_keys = 0;
    b->rc = FRUGAL_OK;
    for (int c = 0; c < BM25_N_FIELDS; c++) {
        b->lens[c] = 0;
        b->field = c;
        if (text[c] == NULL || len[c] == 0)
            continue;
        frugal_status rc = analyzer_run(b->an, text[c], len[c], on_term, b);
        if (rc == FRUGAL_OK)
            rc = b->rc;
        if (rc != FRUGAL_OK)
            return err_set(err, rc, "bm25: build: chunk %lld: %s", (long long)chunk_id,
                           frugal_strerror(rc));
    }
    qsort(b->keys, b->n_keys, sizeof *b->keys, cmp_u64);
    size_t n_distinct = 0;
    for (size_t i = 0; i < b->n_keys; i++)
        n_distinct += i == 0 || (b->keys[i] >> 2) != (b->keys[i - 1] >> 2);
    if (!grow((void **)&b->docs, &b->cap_docs, b->n_docs + 1, sizeof *b->docs) ||
        !grow((void **)&b->recs, &b->cap_recs, b->n_recs + n_distinct, sizeof *b->recs))
        return err_set(err, FRUGAL_ENOMEM, "bm25: build: out of memory");
    uint32_t doc = (uint32_t)b->n_docs;
    for (size_t i = 0; i < b->n_keys; i++) {
        uint32_t term = (uint32_t)(b->keys[i] >> 2);
        if (i == 0 || term != (uint32_t)(b->keys[i - 1] >> 2)) {
            struct posting_rec *r = &b->recs[b->n_recs++];
            memset(r, 0, sizeof *r);
            r->term = term;
            r->doc = doc;
        }
        b->recs[b->n_recs - 1].tf[b->keys[i] & 3]++;
    }
    struct bm25_doc *d = &b->docs[b->n_docs++];
    memset(d, 0, sizeof *d);
    d->chunk_id = chunk_id;
    d->document_id = document_id;
    for (int c = 0; c < BM25_N_FIELDS; c++) {
        d->len[c] = b->lens[c];
        b->total[c] += b->lens[c];
    }
    b->last_chunk = chunk_id;
    return FRUGAL_OK;
}

struct sorted_term {
    const char *p;
    uint32_t len;
    uint32_t id;
};

static int term_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_sorted_term(const void *a, const void *b)
{
    const struct sorted_term *x = a;
    const struct sorted_term *y = b;
    return term_cmp(x->p, x->len, y->p, y->len);
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Packs one list of postings (recs[0..n), one term, document order) into blocks. */
static frugal_status pack_list(struct bm25_builder *b, const struct posting_rec *recs, size_t n,
                               struct bm25_block *blocks, struct buf *postings,
                               struct bm25_term_entry *t)
{
    uint32_t vals[BM25_N_FIELDS + 1][BM25_BLOCK];
    uint32_t prev = UINT32_MAX;
    double term_max = 0.0;
    double term_min = INFINITY;
    for (size_t start = 0, bi = 0; start < n; start += BM25_BLOCK, bi++) {
        size_t m = n - start < BM25_BLOCK ? n - start : BM25_BLOCK;
        double max_tfw = 0.0;
        double min_dl = INFINITY;
        for (size_t i = 0; i < m; i++) {
            const struct posting_rec *r = &recs[start + i];
            vals[0][i] = r->doc - prev - 1u;
            prev = r->doc;
            for (int c = 0; c < BM25_N_FIELDS; c++)
                vals[c + 1][i] = r->tf[c];
            double tfw = weighted_tf(b->w, r->tf, b->integral);
            double dl = weighted_len(b->w, b->docs[r->doc].len);
            max_tfw = tfw > max_tfw ? tfw : max_tfw;
            min_dl = dl < min_dl ? dl : min_dl;
        }
        struct bm25_block *blk = &blocks[bi];
        memset(blk, 0, sizeof *blk);
        blk->off = postings->len;
        blk->last_doc = prev;
        blk->n = (uint16_t)m;
        blk->max_tfw = float_up(max_tfw);
        blk->min_dl = float_down(min_dl);
        for (int a = 0; a <= BM25_N_FIELDS; a++) {
            unsigned bits = bm25_bits_needed(vals[a], m);
            size_t sz = bm25_packed_size(m, bits);
            blk->bits[a] = (uint8_t)bits;
            frugal_status rc = buf_reserve(postings, sz);
            if (rc != FRUGAL_OK)
                return rc;
            memset(postings->ptr + postings->len, 0, sz);
            bm25_pack(vals[a], m, bits, (uint8_t *)postings->ptr + postings->len);
            postings->len += sz;
        }
        term_max = max_tfw > term_max ? max_tfw : term_max;
        term_min = min_dl < term_min ? min_dl : term_min;
    }
    t->max_tfw = float_up(term_max);
    t->min_dl = float_down(term_min);
    return FRUGAL_OK;
}

frugal_status bm25_builder_finish(struct bm25_builder *b, int64_t generation,
                                  int64_t collection_id, uint8_t **image, size_t *len,
                                  struct err *err)
{
    *image = NULL;
    *len = 0;
    frugal_status rc = FRUGAL_OK;
    size_t nt = b->n_terms;
    struct sorted_term *sorted = frugal_calloc(nt > 0 ? nt : 1, sizeof *sorted);
    uint32_t *rank = frugal_calloc(nt > 0 ? nt : 1, sizeof *rank);
    size_t *start = frugal_calloc(nt + 1, sizeof *start);
    struct posting_rec *by_term = frugal_calloc(b->n_recs > 0 ? b->n_recs : 1, sizeof *by_term);
    struct bm25_term_entry *tents = frugal_calloc(nt > 0 ? nt : 1, sizeof *tents);
    struct bm25_block *blocks = NULL;
    struct buf postings;
    buf_init(&postings, 0);
    uint8_t *out = NULL;
    if (sorted == NULL || rank == NULL || start == NULL || by_term == NULL || tents == NULL) {
        rc = FRUGAL_ENOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < nt; i++) {
        sorted[i].p = b->strings.ptr + b->terms[i].off;
        sorted[i].len = b->terms[i].len;
        sorted[i].id = (uint32_t)i;
    }
    qsort(sorted, nt, sizeof *sorted, cmp_sorted_term);
    for (size_t i = 0; i < nt; i++)
        rank[sorted[i].id] = (uint32_t)i;
    /* counting sort of the records by term rank; stable, so lists stay in document order */
    for (size_t i = 0; i < b->n_recs; i++)
        start[rank[b->recs[i].term] + 1]++;
    for (size_t i = 0; i < nt; i++)
        start[i + 1] += start[i];
    size_t n_blocks = 0;
    for (size_t i = 0; i < nt; i++)
        n_blocks += (start[i + 1] - start[i] + BM25_BLOCK - 1) / BM25_BLOCK;
    for (size_t i = 0; i < b->n_recs; i++) {
        size_t r = rank[b->recs[i].term];
        by_term[start[r]++] = b->recs[i];
    }
    for (size_t i = nt; i > 0; i--)
        start[i] = start[i - 1];
    start[0] = 0;
    blocks = frugal_calloc(n_blocks > 0 ? n_blocks : 1, sizeof *blocks);
    if (blocks == NULL) {
        rc = FRUGAL_ENOMEM;
        goto out_free;
    }
    size_t bi = 0;
    size_t str_off = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < nt; i++) {
        size_t n = start[i + 1] - start[i];
        struct bm25_term_entry *t = &tents[i];
        t->str_off = str_off;
        t->str_len = sorted[i].len;
        t->df = (uint32_t)n;
        t->first_block = bi;
        t->n_blocks = (uint32_t)((n + BM25_BLOCK - 1) / BM25_BLOCK);
        str_off += sorted[i].len;
        rc = pack_list(b, by_term + start[i], n, blocks + bi, &postings, t);
        bi += t->n_blocks;
    }
    if (rc != FRUGAL_OK)
        goto out_free;

    struct bm25_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, BM25_MAGIC, 8);
    h.version = BM25_VERSION;
    h.header_size = sizeof h;
    h.generation = generation;
    h.collection_id = collection_id;
    h.n_docs = b->n_docs;
    h.n_terms = nt;
    h.n_blocks = n_blocks;
    for (int c = 0; c < BM25_N_FIELDS; c++) {
        h.total_len[c] = b->total[c];
        h.weights[c] = b->w[c];
    }
    h.off_docs = sizeof h;
    h.off_terms = h.off_docs + b->n_docs * sizeof(struct bm25_doc);
    h.off_strings = h.off_terms + nt * sizeof(struct bm25_term_entry);
    h.off_blocks = align8(h.off_strings + str_off);
    h.off_postings = h.off_blocks + n_blocks * sizeof(struct bm25_block);
    h.file_size = h.off_postings + postings.len + BM25_PACK_SLACK;
    out = frugal_calloc(1, h.file_size);
    if (out == NULL) {
        rc = FRUGAL_ENOMEM;
        goto out_free;
    }
    if (b->n_docs > 0)
        memcpy(out + h.off_docs, b->docs, b->n_docs * sizeof(struct bm25_doc));
    if (nt > 0)
        memcpy(out + h.off_terms, tents, nt * sizeof *tents);
    for (size_t i = 0; i < nt; i++)
        memcpy(out + h.off_strings + tents[i].str_off, sorted[i].p, sorted[i].len);
    if (n_blocks > 0)
        memcpy(out + h.off_blocks, blocks, n_blocks * sizeof *blocks);
    if (postings.len > 0)
        memcpy(out + h.off_postings, postings.ptr, postings.len);
    h.crc_body = (uint32_t)crc32_z(0, out + sizeof h, h.file_size - sizeof h);
    h.crc_header = (uint32_t)crc32_z(0, (const Bytef *)&h, sizeof h);
    memcpy(out, &h, sizeof h);
    *image = out;
    *len = h.file_size;
    out = NULL;
    /* empty the builder for reuse */
    b->n_docs = 0;
    b->n_recs = 0;
    for (int c = 0; c < BM25_N_FIELDS; c++)
        b->total[c] = 0;
    b->last_chunk = INT64_MIN;

out_free:
    frugal_free(out);
    buf_release(&postings);
    frugal_free(blocks);
    frugal_free(tents);
    frugal_free(by_term);
    frugal_free(start);
    frugal_free(rank);
    frugal_free(sorted);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "bm25: build: %s", frugal_strerror(rc));
    return FRUGAL_OK;
}

/* ---- Segments ---- */

static frugal_status corrupt(struct err *err, const char *what)
{
    return err_set(err, FRUGAL_ECORRUPT, "bm25 index: %s", what);
}

static frugal_status validate(struct bm25_segment *s, bool check_crc, struct err *err)
{
    struct bm25_header h;
    if (s->len < sizeof h)
        return corrupt(err, "shorter than its header");
    memcpy(&h, s->base, sizeof h);
    if (memcmp(h.magic, BM25_MAGIC, 8) != 0)
        return corrupt(err, "bad magic");
    if (h.version != BM25_VERSION)
        return err_set(err, FRUGAL_EVERSION, "bm25 index: version %u, expected %d", h.version,
                       BM25_VERSION);
    if (h.header_size != sizeof h || h.file_size != s->len)
        return corrupt(err, "header size or file size mismatch (truncated?)");
    if (check_crc) {
        uint32_t want = h.crc_header;
        h.crc_header = 0;
        if ((uint32_t)crc32_z(0, (const Bytef *)&h, sizeof h) != want)
            return corrupt(err, "header checksum mismatch");
        if ((uint32_t)crc32_z(0, s->base + sizeof h, s->len - sizeof h) != h.crc_body)
            return corrupt(err, "checksum mismatch");
    }
    size_t len = s->len;
    if (h.n_docs >= DOC_END || h.n_docs > len / sizeof(struct bm25_doc) ||
        h.n_terms > len / sizeof(struct bm25_term_entry) ||
        h.n_blocks > len / sizeof(struct bm25_block))
        return corrupt(err, "counts exceed the file");
    if (h.off_docs != sizeof h || h.off_terms != h.off_docs + h.n_docs * sizeof(struct bm25_doc) ||
        h.off_strings != h.off_terms + h.n_terms * sizeof(struct bm25_term_entry) ||
        h.off_blocks < h.off_strings || h.off_blocks % 8 != 0 || h.off_blocks > len ||
        h.off_postings != h.off_blocks + h.n_blocks * sizeof(struct bm25_block) ||
        h.off_postings > len || len - h.off_postings < BM25_PACK_SLACK)
        return corrupt(err, "section offsets out of order or out of the file");
    for (int c = 0; c < BM25_N_FIELDS; c++)
        if (!(h.weights[c] >= 0.0 && h.weights[c] <= 1e9))
            return corrupt(err, "bad field weight");
    s->h = (const struct bm25_header *)(const void *)s->base;
    s->docs = (const struct bm25_doc *)(const void *)(s->base + h.off_docs);
    s->terms = (const struct bm25_term_entry *)(const void *)(s->base + h.off_terms);
    s->strings = (const char *)(s->base + h.off_strings);
    s->blocks = (const struct bm25_block *)(const void *)(s->base + h.off_blocks);
    s->postings = s->base + h.off_postings;
    uint64_t strings_len = h.off_blocks - h.off_strings;
    uint64_t postings_len = len - h.off_postings - BM25_PACK_SLACK;

    uint64_t total[BM25_N_FIELDS] = {0};
    for (uint64_t i = 0; i < h.n_docs; i++) {
        if (i > 0 && s->docs[i].chunk_id <= s->docs[i - 1].chunk_id)
            return corrupt(err, "chunk ids out of order");
        for (int c = 0; c < BM25_N_FIELDS; c++)
            total[c] += s->docs[i].len[c];
    }
    for (int c = 0; c < BM25_N_FIELDS; c++)
        if (total[c] != h.total_len[c])
            return corrupt(err, "field length totals disagree with the documents");
    uint64_t next_block = 0;
    for (uint64_t i = 0; i < h.n_terms; i++) {
        const struct bm25_term_entry *t = &s->terms[i];
        if (t->str_off > strings_len || t->str_len > strings_len - t->str_off)
            return corrupt(err, "term text out of its section");
        if (i > 0) {
            const struct bm25_term_entry *p = &s->terms[i - 1];
            if (term_cmp(s->strings + p->str_off, p->str_len, s->strings + t->str_off,
                         t->str_len) >= 0)
                return corrupt(err, "term dictionary not sorted");
        }
        if (t->first_block != next_block || t->n_blocks == 0 ||
            t->n_blocks > h.n_blocks - next_block || t->df > h.n_docs)
            return corrupt(err, "term block range out of the block table");
        if (!isfinite(t->max_tfw) || !isfinite(t->min_dl) || t->min_dl < 0.0f)
            return corrupt(err, "bad term bounds");
        uint64_t df = 0;
        int64_t prev = -1;
        for (uint32_t j = 0; j < t->n_blocks; j++) {
            const struct bm25_block *bk = &s->blocks[next_block + j];
            if (bk->n == 0 || bk->n > BM25_BLOCK || bk->last_doc >= h.n_docs ||
                (int64_t)bk->last_doc - prev < bk->n)
                return corrupt(err, "bad block");
            uint64_t sz = 0;
            for (int a = 0; a <= BM25_N_FIELDS; a++) {
                if (bk->bits[a] > 32)
                    return corrupt(err, "bad block bit width");
                sz += bm25_packed_size(bk->n, bk->bits[a]);
            }
            if (bk->off > postings_len || sz > postings_len - bk->off)
                return corrupt(err, "block data out of the postings section");
            if (!isfinite(bk->max_tfw) || !isfinite(bk->min_dl) || bk->min_dl < 0.0f)
                return corrupt(err, "bad block bounds");
            df += bk->n;
            prev = bk->last_doc;
        }
        if (df != t->df)
            return corrupt(err, "term df disagrees with its blocks");
        next_block += t->n_blocks;
    }
    if (next_block != h.n_blocks)
        return corrupt(err, "blocks not owned by any term");
    return FRUGAL_OK;
}

frugal_status bm25_segment_open_image(uint8_t *image, size_t len, bool take_ownership,
                                      bool check_crc, struct bm25_segment **out, struct err *err)
{
    *out = NULL;
    struct bm25_segment *s = frugal_calloc(1, sizeof *s);
    if (s == NULL) {
        if (take_ownership)
            frugal_free(image);
        return err_set(err, FRUGAL_ENOMEM, "bm25 index: out of memory");
    }
    s->base = image;
    s->len = len;
    s->owned = take_ownership ? image : NULL;
    frugal_status rc = validate(s, check_crc, err);
    if (rc != FRUGAL_OK) {
        bm25_segment_close(s);
        return rc;
    }
    *out = s;
    return FRUGAL_OK;
}

frugal_status bm25_segment_open_file(const char *path, struct bm25_segment **out,
                                     struct err *err)
{
    *out = NULL;
    struct fs_map map = {0};
    frugal_status rc = fs_map_open(path, &map, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct bm25_segment *s = frugal_calloc(1, sizeof *s);
    if (s == NULL) {
        fs_map_close(&map);
        return err_set(err, FRUGAL_ENOMEM, "bm25 index: out of memory");
    }
    s->map = map;
    s->base = map.ptr;
    s->len = map.len;
    rc = validate(s, true, err);
    if (rc != FRUGAL_OK) {
        err_prefix(err, "%s", path);
        bm25_segment_close(s);
        return rc;
    }
    *out = s;
    return FRUGAL_OK;
}

void bm25_segment_close(struct bm25_segment *s)
{
    if (s == NULL)
        return;
    frugal_free(s->owned);
    fs_map_close(&s->map);
    frugal_free(s);
}

int64_t bm25_segment_generation(const struct bm25_segment *s)
{
    return s->h->generation;
}

int64_t bm25_segment_collection(const struct bm25_segment *s)
{
    return s->h->collection_id;
}

size_t bm25_segment_n_docs(const struct bm25_segment *s)
{
    return (size_t)s->h->n_docs;
}

size_t bm25_segment_n_terms(const struct bm25_segment *s)
{
    return (size_t)s->h->n_terms;
}

size_t bm25_segment_size(const struct bm25_segment *s)
{
    return s->len;
}

void bm25_segment_weights(const struct bm25_segment *s, double w[BM25_N_FIELDS])
{
    memcpy(w, s->h->weights, BM25_N_FIELDS * sizeof *w);
}

int64_t bm25_segment_chunk_id(const struct bm25_segment *s, size_t i)
{
    return s->docs[i].chunk_id;
}

const char *bm25_segment_term(const struct bm25_segment *s, size_t i, size_t *len)
{
    *len = s->terms[i].str_len;
    return s->strings + s->terms[i].str_off;
}

static const struct bm25_term_entry *find_term(const struct bm25_segment *s, const char *term,
                                               size_t len)
{
    size_t lo = 0;
    size_t hi = (size_t)s->h->n_terms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct bm25_term_entry *t = &s->terms[mid];
        int c = term_cmp(s->strings + t->str_off, t->str_len, term, len);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Doc number of chunk_id in s, or DOC_END. */
static uint32_t find_doc(const struct bm25_segment *s, int64_t chunk_id)
{
    size_t lo = 0;
    size_t hi = (size_t)s->h->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t id = s->docs[mid].chunk_id;
        if (id == chunk_id)
            return (uint32_t)mid;
        if (id < chunk_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return DOC_END;
}

/* ---- Index ---- */

struct bm25_index {
    const struct bm25_segment *seg[2]; /* base, delta; either may be NULL */
    uint64_t *deleted;                 /* bitset over base doc numbers */
    uint32_t *deleted_docs;            /* sorted base doc numbers */
    size_t n_deleted;
    uint64_t n_live;
    uint64_t total[BM25_N_FIELDS]; /* over live documents */
    double w[BM25_N_FIELDS];
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

frugal_status bm25_index_new(const struct bm25_segment *base, const struct bm25_segment *delta,
                             const int64_t *deleted_chunk_ids, size_t n_deleted,
                             struct bm25_index **out, struct err *err)
{
    *out = NULL;
    if (base != NULL && delta != NULL &&
        memcmp(base->h->weights, delta->h->weights, sizeof base->h->weights) != 0)
        return err_set(err, FRUGAL_EINVAL, "bm25: segments built with different weights");
    struct bm25_index *ix = frugal_calloc(1, sizeof *ix);
    if (ix == NULL)
        return err_set(err, FRUGAL_ENOMEM, "bm25: out of memory");
    ix->seg[0] = base;
    ix->seg[1] = delta;
    const struct bm25_segment *any = base != NULL ? base : delta;
    if (any != NULL)
        memcpy(ix->w, any->h->weights, sizeof ix->w);
    for (int i = 0; i < 2; i++) {
        if (ix->seg[i] == NULL)
            continue;
        ix->n_live += ix->seg[i]->h->n_docs;
        for (int c = 0; c < BM25_N_FIELDS; c++)
            ix->total[c] += ix->seg[i]->h->total_len[c];
    }
    if (base != NULL && n_deleted > 0 && base->h->n_docs > 0) {
        size_t nd = (size_t)base->h->n_docs;
        ix->deleted = frugal_calloc((nd + 63) / 64, sizeof *ix->deleted);
        ix->deleted_docs = frugal_calloc(n_deleted, sizeof *ix->deleted_docs);
        if (ix->deleted == NULL || ix->deleted_docs == NULL) {
            bm25_index_free(ix);
            return err_set(err, FRUGAL_ENOMEM, "bm25: out of memory");
        }
        for (size_t i = 0; i < n_deleted; i++) {
            uint32_t d = find_doc(base, deleted_chunk_ids[i]);
            if (d == DOC_END || (ix->deleted[d / 64] >> (d % 64) & 1) != 0)
                continue;
            ix->deleted[d / 64] |= (uint64_t)1 << (d % 64);
            ix->deleted_docs[ix->n_deleted++] = d;
            ix->n_live--;
            for (int c = 0; c < BM25_N_FIELDS; c++)
                ix->total[c] -= base->docs[d].len[c];
        }
        qsort(ix->deleted_docs, ix->n_deleted, sizeof *ix->deleted_docs, cmp_u32);
    }
    *out = ix;
    return FRUGAL_OK;
}

void bm25_index_free(struct bm25_index *ix)
{
    if (ix == NULL)
        return;
    frugal_free(ix->deleted);
    frugal_free(ix->deleted_docs);
    frugal_free(ix);
}

size_t bm25_index_n_docs(const struct bm25_index *ix)
{
    return (size_t)ix->n_live;
}

/* ---- Search ---- */

struct cursor {
    const struct bm25_segment *s;
    const struct bm25_block *blocks; /* the term's */
    uint32_t n_blocks;
    uint32_t bi;   /* current block */
    uint32_t pos;  /* in the decoded block */
    uint32_t doc;  /* current document, DOC_END when exhausted */
    bool tf_ready;
    unsigned u;    /* distinct query term */
    double ub;     /* upper bound of the term's contribution (all its occurrences) */
    uint32_t bound_bi; /* block whose bound is in bound (UINT32_MAX: none yet) */
    double bound;      /* block_bound(bound_bi), cached: pivots revisit the same block often */
    uint32_t docs[BM25_BLOCK];
    uint32_t tf[BM25_N_FIELDS][BM25_BLOCK];
};

struct query {
    double k1, b, avgdl, w[BM25_N_FIELDS];
    bool integral;
    size_t n_unique;
    double *idf;      /* (n_unique) */
    unsigned *mult;   /* (n_unique) occurrences in the query */
    unsigned *pos_u;  /* (n_terms) distinct term of each query position */
    size_t n_terms;
    double *contrib;  /* (n_unique) scratch */
    bool *at;         /* (n_unique) scratch */
    struct cursor **on;  /* (2 * n_terms) scratch: cursors on the candidate (MaxScore) */
    double *prefix;      /* (2 * n_terms) scratch: prefix sums of upper bounds (MaxScore) */
    struct bm25_hit *heap;
    size_t k, n_heap;
    bool corrupt;
};

static bool load_block(struct query *q, struct cursor *c, uint32_t bi)
{
    const struct bm25_block *bk = &c->blocks[bi];
    uint32_t prev = bi > 0 ? c->blocks[bi - 1].last_doc : UINT32_MAX;
    bm25_unpack(c->s->postings + bk->off, bk->bits[0], bk->n, c->docs);
    bm25_undelta(prev, c->docs, bk->n);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < bk->n; i++)
        bad |= c->docs[i] > bk->last_doc;
    if (bad != 0 || c->docs[bk->n - 1] != bk->last_doc) {
        q->corrupt = true;
        c->doc = DOC_END;
        return false;
    }
    c->bi = bi;
    c->pos = 0;
    c->doc = c->docs[0];
    c->tf_ready = false;
    return true;
}

static void load_tf(struct cursor *c)
{
    const struct bm25_block *bk = &c->blocks[c->bi];
    const uint8_t *p = c->s->postings + bk->off + bm25_packed_size(bk->n, bk->bits[0]);
    for (int f = 0; f < BM25_N_FIELDS; f++) {
        bm25_unpack(p, bk->bits[f + 1], bk->n, c->tf[f]);
        p += bm25_packed_size(bk->n, bk->bits[f + 1]);
    }
    c->tf_ready = true;
}

static void cursor_next(struct query *q, struct cursor *c)
{
    if (c->doc == DOC_END)
        return;
    if (++c->pos < c->blocks[c->bi].n) {
        c->doc = c->docs[c->pos];
        return;
    }
    if (c->bi + 1 < c->n_blocks)
        load_block(q, c, c->bi + 1);
    else
        c->doc = DOC_END;
}

/* First block at or after the current one whose last document is >= target; n_blocks if none.
 * Pivots are mostly in the current block or close after it: test it, gallop, then bisect. */
static uint32_t block_for(const struct cursor *c, uint32_t target)
{
    uint32_t lo = c->bi;
    if (c->blocks[lo].last_doc >= target)
        return lo;
    uint32_t step = 1;
    uint32_t hi = lo + 1;
    while (hi < c->n_blocks && c->blocks[hi].last_doc < target) {
        lo = hi + 1;
        step *= 2;
        hi = c->n_blocks - lo > step ? lo + step : c->n_blocks;
    }
    if (hi < c->n_blocks)
        hi++; /* blocks[hi - 1] is >= target: the answer lies in [lo, hi) */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->blocks[mid].last_doc < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void cursor_seek(struct query *q, struct cursor *c, uint32_t target)
{
    if (c->doc == DOC_END || c->doc >= target)
        return;
    if (target > c->blocks[c->bi].last_doc) {
        uint32_t bi = block_for(c, target);
        if (bi >= c->n_blocks) {
            c->doc = DOC_END;
            return;
        }
        if (!load_block(q, c, bi))
            return;
    }
    while (c->docs[c->pos] < target)
        c->pos++;
    c->doc = c->docs[c->pos];
}

/* idf * f(tf, dl) exactly as frugal_bm25 writes it. */
static double term_score(const struct query *q, double idf, double tf, double dl)
{
    double norm = q->k1 * (1.0 - q->b + (q->avgdl > 0.0 ? q->b * dl / q->avgdl : q->b));
    return idf * tf * (q->k1 + 1.0) / (tf + norm);
}

static double block_bound(const struct query *q, struct cursor *c, uint32_t bi)
{
    if (c->bound_bi != bi) {
        const struct bm25_block *bk = &c->blocks[bi];
        c->bound = (double)q->mult[c->u] * term_score(q, q->idf[c->u], bk->max_tfw, bk->min_dl);
        c->bound_bi = bi;
    }
    return c->bound;
}

/* a ranks below b: lower score, or the same score and a larger chunk id */
static bool worse(const struct bm25_hit *a, const struct bm25_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->chunk_id > b->chunk_id);
}

static void heap_down(struct bm25_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (l + 1 < n && worse(&h[l + 1], &h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct bm25_hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_push(struct query *q, const struct bm25_hit *hit)
{
    struct bm25_hit *h = q->heap;
    if (q->n_heap < q->k) {
        size_t i = q->n_heap++;
        h[i] = *hit;
        while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
            struct bm25_hit t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (worse(&h[0], hit)) {
        h[0] = *hit;
        heap_down(h, q->n_heap, 0);
    }
}

static double theta(const struct query *q)
{
    return q->n_heap < q->k ? -INFINITY : q->heap[0].score;
}

/* Sets q->contrib and q->at of cursor c's term for the document c stands on, of weighted
 * length dl; returns the contribution of all the term's occurrences in the query (a bound's
 * worth, for pruning: the exact score is summed in query order by finish_doc). */
static double contribute(struct query *q, struct cursor *c, double dl)
{
    if (!c->tf_ready)
        load_tf(c);
    uint32_t tf[BM25_N_FIELDS];
    for (int f = 0; f < BM25_N_FIELDS; f++)
        tf[f] = c->tf[f][c->pos];
    double tfw = weighted_tf(q->w, tf, q->integral);
    q->contrib[c->u] = tfw > 0.0 ? term_score(q, q->idf[c->u], tfw, dl) : 0.0;
    q->at[c->u] = true;
    return (double)q->mult[c->u] * q->contrib[c->u];
}

static void finish_doc(struct query *q, const struct bm25_segment *s, uint32_t doc,
                       struct cursor **cur, size_t n);

/* Scores document doc of segment s, where cursors cur[0..n) stand, and offers it to the heap. */
static void score_doc(struct query *q, const struct bm25_segment *s, uint32_t doc,
                      struct cursor **cur, size_t n)
{
    double dl = weighted_len(q->w, s->docs[doc].len);
    for (size_t i = 0; i < n; i++)
        contribute(q, cur[i], dl);
    finish_doc(q, s, doc, cur, n);
}

/* The exact score of doc from q->contrib (set for cursors cur[0..n)), offered to the heap;
 * clears q->at. */
static void finish_doc(struct query *q, const struct bm25_segment *s, uint32_t doc,
                       struct cursor **cur, size_t n)
{
    double score = 0.0;
    for (size_t p = 0; p < q->n_terms; p++) {
        unsigned u = q->pos_u[p];
        if (q->at[u])
            score += q->contrib[u];
    }
    for (size_t i = 0; i < n; i++)
        q->at[cur[i]->u] = false;
    struct bm25_hit hit = {.chunk_id = s->docs[doc].chunk_id,
                           .document_id = s->docs[doc].document_id,
                           .score = score};
    heap_push(q, &hit);
}

static void sort_cursors(struct cursor **cur, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct cursor *c = cur[i];
        size_t j = i;
        while (j > 0 && cur[j - 1]->doc > c->doc) {
            cur[j] = cur[j - 1];
            j--;
        }
        cur[j] = c;
    }
}

static bool doc_ok(const struct bm25_index *ix, const struct bm25_segment *s, uint32_t doc,
                   const struct bm25_search_opts *opts)
{
    if (s == ix->seg[0] && ix->deleted != NULL && (ix->deleted[doc / 64] >> (doc % 64) & 1) != 0)
        return false;
    if (opts->allow != NULL) {
        int64_t id = s->docs[doc].chunk_id;
        if (id < 0 || id >= opts->allow_bits ||
            (opts->allow[(uint64_t)id / 64] >> ((uint64_t)id % 64) & 1) == 0)
            return false;
    }
    return true;
}

/* Block-max WAND over one segment's cursors cur[0..n). */
static void search_segment(struct query *q, const struct bm25_index *ix,
                           const struct bm25_segment *s, struct cursor **cur, size_t n,
                           const struct bm25_search_opts *opts)
{
    bool prune = !opts->exhaustive;
    sort_cursors(cur, n);
    while (n > 0 && !q->corrupt) {
        while (n > 0 && cur[n - 1]->doc == DOC_END)
            n--;
        if (n == 0)
            break;
        double th = prune ? theta(q) : -INFINITY;
        double acc = 0.0;
        size_t p = n;
        for (size_t i = 0; i < n; i++) {
            acc += cur[i]->ub;
            if (acc * BOUND_SLACK >= th) {
                p = i;
                break;
            }
        }
        if (p == n)
            break; /* even all terms together cannot reach theta */
        uint32_t pivot = cur[p]->doc;
        while (p + 1 < n && cur[p + 1]->doc == pivot)
            p++;
        if (prune && th > -INFINITY) {
            double bsum = 0.0;
            uint32_t next = DOC_END;
            for (size_t i = 0; i <= p; i++) {
                uint32_t bi = block_for(cur[i], pivot);
                if (bi >= cur[i]->n_blocks)
                    continue;
                bsum += block_bound(q, cur[i], bi);
                uint32_t end = cur[i]->blocks[bi].last_doc;
                if (end + 1u < next)
                    next = end + 1u;
            }
            if (bsum * BOUND_SLACK < th) {
                if (p + 1 < n && cur[p + 1]->doc < next)
                    next = cur[p + 1]->doc;
                if (next <= pivot)
                    next = pivot + 1u;
                for (size_t i = 0; i <= p; i++)
                    cursor_seek(q, cur[i], next);
                sort_cursors(cur, n);
                continue;
            }
        }
        if (cur[0]->doc == pivot) {
            if (doc_ok(ix, s, pivot, opts))
                score_doc(q, s, pivot, cur, p + 1);
            for (size_t i = 0; i <= p; i++)
                cursor_next(q, cur[i]);
        } else {
            for (size_t i = 0; i < p && cur[i]->doc < pivot; i++)
                cursor_seek(q, cur[i], pivot);
        }
        sort_cursors(cur, n);
    }
}

/* MaxScore (Turtle & Flood 1995) over one segment's cursors cur[0..n): terms ordered by upper
 * bound; the longest prefix whose bounds together cannot reach theta is "non-essential": a
 * document is a candidate only when an essential term holds it, and the non-essential terms
 * are probed (seek, highest bound first) only while the candidate can still reach theta.
 * No sorting of cursors per document, which is what makes long queries cheap. Same exactness
 * argument as WAND: bounds inflated by BOUND_SLACK, documents dropped only when strictly below. */
static void search_segment_maxscore(struct query *q, const struct bm25_index *ix,
                                    const struct bm25_segment *s, struct cursor **cur,
                                    size_t n, const struct bm25_search_opts *opts)
{
    for (size_t i = 1; i < n; i++) { /* by upper bound, ascending */
        struct cursor *c = cur[i];
        size_t j = i;
        while (j > 0 && cur[j - 1]->ub > c->ub) {
            cur[j] = cur[j - 1];
            j--;
        }
        cur[j] = c;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += cur[i]->ub;
        q->prefix[i] = acc * BOUND_SLACK;
    }
    double th = theta(q);
    size_t ne = 0; /* cur[0..ne) are non-essential */
    while (ne < n && q->prefix[ne] < th)
        ne++;
    while (ne < n && !q->corrupt) {
        uint32_t d = DOC_END;
        for (size_t i = ne; i < n; i++)
            d = cur[i]->doc < d ? cur[i]->doc : d;
        if (d == DOC_END)
            break;
        if (doc_ok(ix, s, d, opts)) {
            double dl = weighted_len(q->w, s->docs[d].len);
            double partial = 0.0;
            size_t m = 0;
            for (size_t i = ne; i < n; i++) {
                if (cur[i]->doc == d) {
                    partial += contribute(q, cur[i], dl);
                    q->on[m++] = cur[i];
                }
            }
            bool pruned = false;
            for (size_t j = ne; j-- > 0;) {
                if (partial * BOUND_SLACK + q->prefix[j] < th) {
                    pruned = true;
                    break;
                }
                cursor_seek(q, cur[j], d);
                if (cur[j]->doc == d) {
                    partial += contribute(q, cur[j], dl);
                    q->on[m++] = cur[j];
                }
            }
            if (pruned) {
                for (size_t i = 0; i < m; i++)
                    q->at[q->on[i]->u] = false;
            } else {
                finish_doc(q, s, d, q->on, m);
                double t = theta(q);
                if (t > th) {
                    th = t;
                    while (ne < n && q->prefix[ne] < th)
                        ne++;
                }
            }
        }
        for (size_t i = ne; i < n; i++)
            if (cur[i]->doc == d)
                cursor_next(q, cur[i]);
    }
}

static int cmp_hit(const void *a, const void *b)
{
    const struct bm25_hit *x = a;
    const struct bm25_hit *y = b;
    if (worse(y, x))
        return -1;
    return worse(x, y) ? 1 : 0;
}

/* Documents of the term in the base segment that are deleted. */
static uint64_t deleted_df(struct query *q, const struct bm25_index *ix, struct cursor *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < ix->n_deleted && c->doc != DOC_END; i++) {
        cursor_seek(q, c, ix->deleted_docs[i]);
        n += c->doc == ix->deleted_docs[i];
    }
    return n;
}

/* FRUGAL_BM25_WAND=1 selects block-max WAND instead of MaxScore (benchmarks; read once). */
static bool bm25_use_wand(void)
{
    static atomic_int choice = -1; /* a benign race: every thread computes the same answer */
    int c = atomic_load_explicit(&choice, memory_order_relaxed);
    if (c < 0) {
        const char *e = getenv("FRUGAL_BM25_WAND");
        c = e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
        atomic_store_explicit(&choice, c, memory_order_relaxed);
    }
    return c == 1;
}

static void cursor_init(struct query *q, struct cursor *c, const struct bm25_segment *s,
                        const struct bm25_term_entry *t, unsigned u)
{
    c->s = s;
    c->blocks = s->blocks + t->first_block;
    c->n_blocks = t->n_blocks;
    c->u = u;
    c->bound_bi = UINT32_MAX;
    load_block(q, c, 0);
}

frugal_status bm25_search(const struct bm25_index *ix, const struct bm25_params *params,
                          const struct bm25_term *terms, size_t n_terms,
                          const struct bm25_search_opts *opts, struct bm25_hit *hits,
                          size_t *n_hits, struct err *err)
{
    *n_hits = 0;
    if (memcmp(params->w, ix->w, sizeof ix->w) != 0 && (ix->seg[0] != NULL || ix->seg[1] != NULL))
        return err_set(err, FRUGAL_EINVAL,
                       "bm25: the index was built with other field weights; rebuild it");
    if (opts->k == 0 || n_terms == 0 || ix->n_live == 0)
        return FRUGAL_OK;
    struct query q = {.k1 = params->k1, .b = params->b, .k = opts->k, .n_terms = n_terms};
    memcpy(q.w, params->w, sizeof q.w);
    q.integral = weights_integral(q.w);
    /* one allocation: per distinct term idf, mult, contrib, at; per position pos_u; cursors */
    size_t nc_max = 2 * n_terms;
    q.idf = frugal_calloc(n_terms, sizeof *q.idf);
    q.mult = frugal_calloc(n_terms, sizeof *q.mult);
    q.pos_u = frugal_calloc(n_terms, sizeof *q.pos_u);
    q.contrib = frugal_calloc(n_terms, sizeof *q.contrib);
    q.at = frugal_calloc(n_terms, sizeof *q.at);
    q.heap = frugal_calloc(opts->k, sizeof *q.heap);
    q.on = frugal_calloc(nc_max, sizeof *q.on);
    q.prefix = frugal_calloc(nc_max, sizeof *q.prefix);
    struct cursor *cursors = frugal_calloc(nc_max, sizeof *cursors);
    struct cursor **cur = frugal_calloc(nc_max, sizeof *cur);
    size_t *uniq_pos = frugal_calloc(n_terms, sizeof *uniq_pos); /* first position of each */
    frugal_status rc = FRUGAL_OK;
    if (q.idf == NULL || q.mult == NULL || q.pos_u == NULL || q.contrib == NULL ||
        q.at == NULL || q.heap == NULL || q.on == NULL || q.prefix == NULL || cursors == NULL ||
        cur == NULL || uniq_pos == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "bm25: search: out of memory");
        goto out_free;
    }
    /* distinct terms (quadratic in the query length, which is small) */
    for (size_t p = 0; p < n_terms; p++) {
        size_t u = 0;
        while (u < q.n_unique &&
               term_cmp(terms[uniq_pos[u]].term, terms[uniq_pos[u]].len, terms[p].term,
                        terms[p].len) != 0)
            u++;
        if (u == q.n_unique)
            uniq_pos[q.n_unique++] = p;
        q.mult[u]++;
        q.pos_u[p] = (unsigned)u;
    }
    /* collection statistics over the live documents */
    double nd = (double)ix->n_live;
    q.avgdl = 0.0;
    for (int c = 0; c < BM25_N_FIELDS; c++)
        q.avgdl += q.w[c] * (nd > 0.0 ? (double)ix->total[c] / nd : 0.0);
    size_t n_cur[2] = {0, 0};
    for (size_t u = 0; u < q.n_unique; u++) {
        const struct bm25_term *t = &terms[uniq_pos[u]];
        uint64_t df = 0;
        for (int si = 0; si < 2; si++) {
            const struct bm25_segment *s = ix->seg[si];
            const struct bm25_term_entry *te = s != NULL ? find_term(s, t->term, t->len) : NULL;
            if (te == NULL)
                continue;
            df += te->df;
            struct cursor *c = &cursors[si * n_terms + u];
            cursor_init(&q, c, s, te, (unsigned)u);
            if (si == 0 && ix->n_deleted > 0) {
                df -= deleted_df(&q, ix, c);
                cursor_init(&q, c, s, te, (unsigned)u);
            }
        }
        double dd = (double)df;
        q.idf[u] = log(1.0 + (nd - dd + 0.5) / (dd + 0.5));
    }
    for (int si = 0; si < 2; si++) {
        const struct bm25_segment *s = ix->seg[si];
        for (size_t u = 0; s != NULL && u < q.n_unique; u++) {
            struct cursor *c = &cursors[si * n_terms + u];
            if (c->s == NULL)
                continue;
            const struct bm25_term_entry *te = find_term(s, terms[uniq_pos[u]].term,
                                                         terms[uniq_pos[u]].len);
            c->ub = (double)q.mult[u] * term_score(&q, q.idf[u], te->max_tfw, te->min_dl);
            cur[si * n_terms + n_cur[si]++] = c;
        }
    }
    bool maxscore = !opts->exhaustive && !bm25_use_wand();
    for (int si = 0; si < 2 && !q.corrupt; si++) {
        if (ix->seg[si] == NULL)
            continue;
        if (maxscore)
            search_segment_maxscore(&q, ix, ix->seg[si], cur + si * n_terms, n_cur[si], opts);
        else
            search_segment(&q, ix, ix->seg[si], cur + si * n_terms, n_cur[si], opts);
    }
    if (q.corrupt) {
        rc = err_set(err, FRUGAL_ECORRUPT, "bm25 index: a postings block does not decode");
        goto out_free;
    }
    qsort(q.heap, q.n_heap, sizeof *q.heap, cmp_hit);
    memcpy(hits, q.heap, q.n_heap * sizeof *hits);
    *n_hits = q.n_heap;

out_free:
    frugal_free(uniq_pos);
    frugal_free(cur);
    frugal_free(cursors);
    frugal_free(q.prefix);
    frugal_free(q.on);
    frugal_free(q.heap);
    frugal_free(q.at);
    frugal_free(q.contrib);
    frugal_free(q.pos_u);
    frugal_free(q.mult);
    frugal_free(q.idf);
    return rc;
}
