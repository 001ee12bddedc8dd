/*
 * hnsw_links.c - link list storage of an HNSW index (hnsw_internal.h): the level-0 lists and
 * the upper-level pool, Elias-Fano coded when params.compact_links, and the accessors that
 * every reader and writer goes through whatever the representation.
 *
 * How: with U = link_universe > every slot (U = the slot capacity, exactly what the first fill
 * asked for, then doubled), a list of c ids is sorted and each id split into lb =
 * floor(log2(U / c)) low bits, stored as c fixed-width fields, and a high part stored in
 * unary: the i-th id sets bit (id >> lb) + i of a stream of c + ((U - 1) >> lb) bits. That is
 * about 2 + log2(U / c) bits an id: with the count byte, 42 bytes for 32 ids below 10,000
 * (SIFT10K at M = 16) against 57 bit-packed at 14 bits and 132 as uint32; 62 for 32 ids below
 * 331,479 (GloVe-100d), where a universe rounded up to 2^19 took 65. Every list of a level has
 * the same stride (the largest coding of m0 ids on level 0, of m ids above, plus a count byte),
 * so a list is recoded in place by each write and the lists never move; searches decode with
 * one unaligned 8-byte load per low field and a count-trailing-zeros walk over the high bits
 * (ef_decode), and 8 bytes of tail padding after each array keep the last load inside the
 * allocation. The order of a list's links does not matter to HNSW; coded lists come back sorted
 * by slot. The upper lists (~1/M of the nodes, 16 links) are coded the same way, with the same
 * low-bit table: 34 bytes a list on GloVe-100d instead of 68 as uint32, ~2 bytes a node.
 *
 * Why always packed: an index that unpacked for every add or delete (the previous design) held
 * uint32 lists, 2.3x the bytes, until its next batch or reload; a dense index catching up with
 * the store one change at a time would never be compact. Recoding one list costs a sort of at
 * most m0 ids and a few hundred bit operations, small next to the distance computations of the
 * insertion that causes it. Growing past U (the slot arrays doubling) recodes every list once,
 * amortized like the doubling itself (the upper pool is rebuilt at the new stride, its offsets
 * rewritten).
 *
 * Threading: hnsw_links_grow runs with the index's rwlock held exclusively. Under a parallel
 * build, hnsw_links_get and hnsw_links_put run under the node's stripe mutex; a put writes
 * exactly the list's own stride (coded in a local buffer first), and a get under a stripe copies
 * the list out before decoding, so that no access strays into a list another thread may write.
 */
#include "index/hnsw_internal.h"

#include "base/alloc.h"

/* Sets lb[c] for c = 0..m0: the low bits of an id in a list of c ids below u. */
static void ef_lows(uint32_t m0, size_t u, uint8_t *lb)
{
    lb[0] = 0;
    for (uint32_t c = 1; c <= m0; c++) {
        uint32_t l = 0;
        while (((uint64_t)c << (l + 1)) <= u)
            l++;
        lb[c] = (uint8_t)l;
    }
}

/* The stride of lists of at most max_c ids below u: a count byte and the largest coding. */
static size_t ef_stride(uint32_t max_c, size_t u, const uint8_t *lb)
{
    size_t stride = 1;

    for (uint32_t c = 1; c <= max_c; c++) {
        size_t bits = (size_t)c * lb[c] + c + (size_t)((u - 1) >> lb[c]);
        if (1 + (bits + 7) / 8 > stride)
            stride = 1 + (bits + 7) / 8;
    }
    return stride;
}

static void put_bits(uint8_t *p, size_t pos, uint64_t v)
{
    uint64_t w;
    memcpy(&w, p + (pos >> 3), sizeof(w));
    w |= v << (pos & 7);
    memcpy(p + (pos >> 3), &w, sizeof(w));
}

/* Codes list ([count][ids], ids below the universe of lb_table) into out (stride + 8 bytes,
 * overwritten). */
static void ef_encode(const uint8_t *lb_table, size_t stride, const uint32_t *list, uint8_t *out)
{
    uint32_t ids[256];
    uint32_t cnt = list[0];
    uint32_t lb = lb_table[cnt];
    uint64_t mask = ((uint64_t)1 << lb) - 1;
    size_t hi_pos = (size_t)cnt * lb;

    memset(out, 0, stride + 8);
    for (uint32_t i = 0; i < cnt; i++) { /* insertion sort: at most m0 ids */
        uint32_t v = list[1 + i];
        uint32_t j = i;
        while (j > 0 && ids[j - 1] > v) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    out[0] = (uint8_t)cnt;
    for (uint32_t i = 0; i < cnt; i++) {
        size_t at = hi_pos + (ids[i] >> lb) + i;
        if (lb > 0)
            put_bits(out + 1, (size_t)i * lb, ids[i] & mask);
        out[1 + (at >> 3)] |= (uint8_t)(1u << (at & 7));
    }
}

/* Recodes the upper pool for a new universe (lb, list stride up_stride) into *pool_out (its
 * size in *bytes_out), rewriting up_off; FRUGAL_ENOMEM / FRUGAL_ETOOBIG leave h untouched. */
static frugal_status recode_upper(struct hnsw *h, const uint8_t *lb, size_t up_stride,
                                  uint8_t **pool_out, size_t *bytes_out)
{
    size_t n_lists = h->up_bytes / h->up_list_bytes;
    uint32_t list[1 + 256];
    uint8_t buf[EF_BUF_BYTES];
    uint8_t *pool;
    size_t at = 0;

    *pool_out = NULL;
    *bytes_out = 0;
    if (n_lists == 0)
        return FRUGAL_OK;
    if (n_lists > (UINT32_MAX - 8) / up_stride)
        return FRUGAL_ETOOBIG;
    pool = frugal_malloc(n_lists * up_stride + 8);
    if (pool == NULL)
        return FRUGAL_ENOMEM;
    memset(pool + n_lists * up_stride, 0, 8);
    for (size_t k = 0; k < h->n_up; k++) {
        uint32_t node = h->up_nodes[k];
        for (int lev = 1; lev <= node_level(h, node); lev++) {
            const uint32_t *l = hnsw_links_get(h, node, lev, list);
            ef_encode(lb, up_stride, l, buf);
            memcpy(pool + at + (size_t)(lev - 1) * up_stride, buf, up_stride);
        }
        at += (size_t)node_level(h, node) * up_stride;
    }
    for (size_t k = 0, off = 0; k < h->n_up; k++) { /* (after every read of the old offsets) */
        h->up_off[k] = (uint32_t)off;
        off += (size_t)node_level(h, h->up_nodes[k]) * up_stride;
    }
    *pool_out = pool;
    *bytes_out = at;
    return FRUGAL_OK;
}

frugal_status hnsw_links_grow(struct hnsw *h, size_t new_cap)
{
    uint8_t lb[256] = {0};
    size_t stride;
    size_t up_stride;
    uint8_t *packed;
    uint8_t *pool;
    size_t pool_bytes;
    uint32_t list[1 + 256];
    uint8_t buf[EF_BUF_BYTES];
    frugal_status rc;

    if (h->packed0 == NULL && (h->level0 != NULL || h->n > 0 || !h->p.compact_links ||
                               h->m0 > 255 || new_cap > ((size_t)1 << 31))) {
        /* uint32 lists: grown like any slot array */
        uint32_t *l = frugal_reallocarray(h->level0, new_cap, (1 + (size_t)h->m0) * sizeof(*l));
        if (l == NULL)
            return FRUGAL_ENOMEM;
        h->level0 = l;
        return FRUGAL_OK;
    }
    if (new_cap > ((size_t)1 << 31)) /* ~2^31 slots: beyond what the coding covers */
        return FRUGAL_ETOOBIG;
    ef_lows(h->m0, new_cap, lb);
    stride = ef_stride(h->m0, new_cap, lb);
    up_stride = ef_stride(h->p.m, new_cap, lb);
    if (stride > EF_MAX_STRIDE)
        return FRUGAL_ETOOBIG;
    if (new_cap > (SIZE_MAX - 8) / stride)
        return FRUGAL_ENOMEM;
    packed = frugal_malloc(new_cap * stride + 8);
    if (packed == NULL)
        return FRUGAL_ENOMEM;
    rc = recode_upper(h, lb, up_stride, &pool, &pool_bytes);
    if (rc != FRUGAL_OK) {
        frugal_free(packed);
        return rc;
    }
    /* only the tail: the lists of slots >= n are written when the slots are taken, and the
     * spare capacity stays untouched (not resident) until then */
    memset(packed + new_cap * stride, 0, 8);
    for (size_t i = 0; i < h->n; i++) { /* recode for the larger universe */
        list[0] = links0_unpack(h, (uint32_t)i, list + 1);
        ef_encode(lb, stride, list, buf);
        memcpy(packed + i * stride, buf, stride);
    }
    frugal_free(h->packed0);
    h->packed0 = packed;
    h->link_stride = stride;
    h->link_universe = new_cap;
    memcpy(h->ef_low, lb, sizeof(lb));
    frugal_free(h->up_pool);
    h->up_pool = pool;
    h->up_bytes = pool_bytes;
    h->up_pool_cap = pool != NULL ? pool_bytes + 8 : 0;
    h->up_list_bytes = up_stride;
    return FRUGAL_OK;
}

const uint32_t *hnsw_links_get(const struct hnsw *h, uint32_t node, int level, uint32_t *buf)
{
    uint8_t copy[EF_BUF_BYTES];
    size_t len;

    if (h->packed0 == NULL)
        return links_at(h, node, level);
    if (!h->parallel) {
        buf[0] = ef_decode(h, packed_at(h, node, level), buf + 1);
        return buf;
    }
    len = level == 0 ? h->link_stride : h->up_list_bytes;
    memcpy(copy, packed_at(h, node, level), len);
    memset(copy + len, 0, 8);
    buf[0] = ef_decode(h, copy, buf + 1);
    return buf;
}

void hnsw_links_put(struct hnsw *h, uint32_t node, int level, const uint32_t *list)
{
    uint8_t buf[EF_BUF_BYTES];
    uint32_t *l;
    size_t len;

    if (h->packed0 == NULL) {
        l = links_at(h, node, level);
        if (l != list)
            memmove(l, list, (1 + (size_t)list[0]) * sizeof(uint32_t));
        return;
    }
    len = level == 0 ? h->link_stride : h->up_list_bytes;
    ef_encode(h->ef_low, len, list, buf);
    memcpy((uint8_t *)(uintptr_t)packed_at(h, node, level), buf, len);
}

void hnsw_links_copy_out(const struct hnsw *h, uint32_t *dst)
{
    for (size_t i = 0; i < h->n; i++) {
        uint32_t *l = dst + i * (1 + (size_t)h->m0);
        const uint32_t *src = hnsw_links_get(h, (uint32_t)i, 0, l);
        if (src != l)
            memcpy(l, src, (1 + (size_t)src[0]) * sizeof(uint32_t));
        memset(l + 1 + l[0], 0, (h->m0 - l[0]) * sizeof(uint32_t));
    }
}

void hnsw_links_upper_out(const struct hnsw *h, uint32_t *dst)
{
    uint32_t buf[1 + 256];

    for (size_t k = 0; k < h->n_up; k++) {
        uint32_t node = h->up_nodes[k];
        for (int lev = 1; lev <= node_level(h, node); lev++) {
            const uint32_t *src = hnsw_links_get(h, node, lev, buf);
            memcpy(dst, src, (1 + (size_t)src[0]) * sizeof(uint32_t));
            memset(dst + 1 + src[0], 0, (h->p.m - src[0]) * sizeof(uint32_t));
            dst += 1 + h->p.m;
        }
    }
}
