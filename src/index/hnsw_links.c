/*
 * hnsw_links.c - link list storage of an HNSW index (hnsw_internal.h): the level-0 lists,
 * Elias-Fano coded when params.compact_links, and the accessors that every reader and writer
 * goes through whatever the representation.
 *
 * How: with U = 2^link_ubits > every slot (U >= the slot capacity), a list of c ids is sorted
 * and each id split into lb = floor(log2(U / c)) low bits, stored as c fixed-width fields, and
 * a high part stored in unary: the i-th id sets bit (id >> lb) + i of a stream of c + (U >> lb)
 * bits. That is at most c x (lb + 2) + 1 bits, ~2 + log2(U / c) bits an id: 45 bytes for 32 ids
 * below 16,384 (SIFT10K at M = 16) against 57 bit-packed at 14 bits and 132 as uint32. Every
 * list has the same stride (the largest coding of m0 ids, plus a count byte), so a list is
 * recoded in place by each write and the lists never move; searches decode with one unaligned
 * 8-byte load per low field and a count-trailing-zeros walk over the high bits (ef_decode), and
 * 8 bytes of tail padding keep the last load inside the allocation. The order of a list's links
 * does not matter to HNSW; coded lists come back sorted by slot.
 *
 * Why always packed: an index that unpacked for every add or delete (the previous design) held
 * uint32 lists, 2.3x the bytes, until its next batch or reload; a dense index catching up with
 * the store one change at a time would never be compact. Recoding one list costs a sort of at
 * most m0 ids and a few hundred bit operations, small next to the distance computations of the
 * insertion that causes it. Growing past U (the slot arrays doubling) recodes every list once,
 * amortized like the doubling itself.
 *
 * Threading: hnsw_links_grow runs with the index's rwlock held exclusively. Under a parallel
 * build, hnsw_links_get and hnsw_links_put run under the node's stripe mutex; a put writes
 * exactly the list's own stride (coded in a local buffer first), and a get under a stripe copies
 * the list out before decoding, so that no access strays into a list another thread may write.
 */
#include "index/hnsw_internal.h"

#include "base/alloc.h"

static uint32_t bits_for(size_t n)
{
    uint32_t b = 1;
    while (b < 32 && ((size_t)1 << b) < n)
        b++;
    return b;
}

/* Sets lb[c] for c = 0..m0 under universe 2^ubits; returns the stride (bytes a list). */
static size_t ef_layout(uint32_t m0, uint32_t ubits, uint8_t *lb)
{
    uint64_t u = (uint64_t)1 << ubits;
    size_t stride = 1;

    lb[0] = 0;
    for (uint32_t c = 1; c <= m0; c++) {
        uint32_t l = 0;
        size_t bits;
        while (((uint64_t)c << (l + 1)) <= u)
            l++;
        lb[c] = (uint8_t)l;
        bits = (size_t)c * l + c + (size_t)((u - 1) >> l);
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

/* Codes list ([count][ids], ids < 2^ubits) into out (stride + 8 bytes, overwritten). */
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

frugal_status hnsw_links_grow(struct hnsw *h, size_t new_cap)
{
    uint8_t lb[256];
    uint32_t ubits = bits_for(new_cap);
    size_t stride;
    uint8_t *packed;
    uint32_t list[1 + 256];
    uint8_t buf[EF_BUF_BYTES];

    if (h->packed0 == NULL && (h->level0 != NULL || h->n > 0 || !h->p.compact_links ||
                               h->m0 > 255 || ubits > 31)) {
        /* uint32 lists: grown like any slot array */
        uint32_t *l = frugal_reallocarray(h->level0, new_cap, (1 + (size_t)h->m0) * sizeof(*l));
        if (l == NULL)
            return FRUGAL_ENOMEM;
        h->level0 = l;
        return FRUGAL_OK;
    }
    stride = ef_layout(h->m0, ubits, lb);
    if (ubits > 31 || stride > EF_MAX_STRIDE) /* ~2^31 slots: beyond what the coding covers */
        return FRUGAL_ETOOBIG;
    if (new_cap > (SIZE_MAX - 8) / stride)
        return FRUGAL_ENOMEM;
    packed = frugal_malloc(new_cap * stride + 8);
    if (packed == NULL)
        return FRUGAL_ENOMEM;
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
    h->link_ubits = ubits;
    memcpy(h->ef_low, lb, sizeof(lb));
    return FRUGAL_OK;
}

const uint32_t *hnsw_links_get(const struct hnsw *h, uint32_t node, int level, uint32_t *buf)
{
    uint8_t copy[EF_BUF_BYTES];

    if (level > 0 || h->packed0 == NULL)
        return links_at(h, node, level);
    if (!h->parallel) {
        buf[0] = links0_unpack(h, node, buf + 1);
        return buf;
    }
    memcpy(copy, packed_of(h, node), h->link_stride);
    memset(copy + h->link_stride, 0, 8);
    buf[0] = ef_decode(h, copy, buf + 1);
    return buf;
}

void hnsw_links_put(struct hnsw *h, uint32_t node, int level, const uint32_t *list)
{
    uint8_t buf[EF_BUF_BYTES];
    uint32_t *l;

    if (level > 0 || h->packed0 == NULL) {
        l = links_at(h, node, level);
        if (l != list)
            memmove(l, list, (1 + (size_t)list[0]) * sizeof(uint32_t));
        return;
    }
    ef_encode(h->ef_low, h->link_stride, list, buf);
    memcpy(h->packed0 + (size_t)node * h->link_stride, buf, h->link_stride);
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
