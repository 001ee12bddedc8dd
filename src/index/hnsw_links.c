/*
 * hnsw_links.c - the compact form of an HNSW index's level-0 link lists (hnsw_internal.h).
 *
 * How: each list becomes [count u8][m0 ids of link_bits bits], bits little-endian from the byte
 * after the count, with link_bits = the bits needed for the largest slot (14 for 10,000 nodes:
 * 57 bytes a list at M = 16 instead of 132). The search decodes a list into its scratch buffer
 * with one unaligned 8-byte load an id (links0_unpack); 8 bytes of tail padding keep the last
 * load inside the allocation.
 *
 * Why only between writes: inserts, deletes and the parallel build edit lists in place, and a
 * new slot may need one more bit for every id, so writers unpack first (hnsw_reserve,
 * delete_locked) and hnsw_add_batch and the loader pack again at the end. An index grown by
 * single adds therefore holds uint32 lists until its next batch or reload.
 *
 * Threading: called with the index's rwlock held exclusively, or on an index no other thread sees.
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

void hnsw_links_pack(struct hnsw *h)
{
    uint32_t bits = bits_for(h->n);
    size_t stride = 1 + ((size_t)h->m0 * bits + 7) / 8;
    uint8_t *packed;

    if (!h->p.compact_links || h->m0 > 255 || h->packed0 != NULL || h->n == 0)
        return;
    if (h->n > (SIZE_MAX - 8) / stride)
        return;
    packed = frugal_calloc(h->n * stride + 8, 1);
    if (packed == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        const uint32_t *l = links0(h, (uint32_t)i);
        uint8_t *p = packed + i * stride;

        p[0] = (uint8_t)l[0];
        p++;
        for (uint32_t j = 0, pos = 0; j < l[0]; j++, pos += bits) {
            uint64_t w;
            memcpy(&w, p + (pos >> 3), sizeof(w));
            w |= (uint64_t)l[1 + j] << (pos & 7);
            memcpy(p + (pos >> 3), &w, sizeof(w));
        }
    }
    frugal_free(h->level0);
    h->level0 = NULL;
    h->packed0 = packed;
    h->link_bits = bits;
    h->link_stride = stride;
}

void hnsw_links_copy_out(const struct hnsw *h, uint32_t *dst)
{
    for (size_t i = 0; i < h->n; i++) {
        uint32_t *l = dst + i * (1 + (size_t)h->m0);
        l[0] = links0_unpack(h, (uint32_t)i, l + 1);
        memset(l + 1 + l[0], 0, (h->m0 - l[0]) * sizeof(uint32_t));
    }
}

frugal_status hnsw_links_unpack(struct hnsw *h)
{
    uint32_t *l;

    if (h->packed0 == NULL)
        return FRUGAL_OK;
    l = frugal_reallocarray(NULL, h->cap, (1 + (size_t)h->m0) * sizeof(uint32_t));
    if (l == NULL)
        return FRUGAL_ENOMEM;
    hnsw_links_copy_out(h, l);
    frugal_free(h->packed0);
    h->packed0 = NULL;
    h->level0 = l;
    return FRUGAL_OK;
}
