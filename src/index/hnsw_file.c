/*
 * hnsw_file.c - saving and loading an HNSW index (hnsw.h) in the vector file container
 * (vecfile.h; the HNSW sections are specified in docs/formats.md).
 *
 * How: hnsw_save gathers the slot arrays as sections (the upper-level pool is already the upper
 * section, in slot order, when unpacked; packed lists, level 0 and upper, are decoded to uint32,
 * the level and tombstone byte split in two sections and implicit ids written out, so that the
 * file layout does not depend on the memory layout) and hands them to
 * vecfile_write, which writes atomically. The loader lets vecfile check the container (sizes,
 * checksums), then checks every section against the header and every graph invariant (link
 * counts, link targets in range and present on that level, unique live ids, entry point) before
 * copying the sections into a fresh index, coding each level-0 list only after its checks: a
 * damaged file is refused with FRUGAL_ECORRUPT, never trusted. Ids that follow the slots are
 * recognized and not kept; tombstones go back on the free-slot stack.
 *
 * Why separate: persistence is a different concern from the graph algorithms, and hnsw.c stays
 * under the house limit on file size.
 *
 * Threading: hnsw_save takes the index's rwlock shared (searches may run meanwhile, writers wait);
 * the loader builds an index no other thread can see yet.
 */
#include "index/hnsw.h"

#include <math.h>
#include <string.h>
#include <sys/mman.h>

#include "base/alloc.h"
#include "index/hnsw_internal.h"
#include "index/vecfile.h"

enum { TAG_LABELS = 1, TAG_LEVELS, TAG_DELETED, TAG_LEVEL0, TAG_UPPER, TAG_QUANT, TAG_F32, TAG_CODES };

frugal_status hnsw_save(struct hnsw *h, const char *path, struct err *err)
{
    struct vecfile_header hdr;
    struct vecfile_section sec[8];
    size_t n_sec = 0;
    /* the file's layout, where the memory layout differs (each NULL when it does not): */
    uint8_t *flags = NULL;    /* n levels, then n tombstone flags (in memory one byte a node) */
    int64_t *labels = NULL;   /* every id (dense ids keep none) */
    uint32_t *level0 = NULL;  /* level-0 lists as uint32 (packed in memory) */
    uint32_t *upper = NULL;   /* upper lists as uint32 (packed in memory) */
    char *codes = NULL;       /* codes unpadded (float32/float16 are padded in memory) */
    size_t upper_words;
    frugal_status rc;

    pthread_rwlock_rdlock(&h->lock);
    upper_words = h->up_bytes / h->up_list_bytes * (1 + (size_t)h->p.m);
    flags = frugal_reallocarray(NULL, h->n > 0 ? h->n : 1, 2);
    if (flags == NULL)
        goto out_nomem;
    for (size_t i = 0; i < h->n; i++) {
        flags[i] = (uint8_t)node_level(h, (uint32_t)i);
        flags[h->n + i] = node_deleted(h, (uint32_t)i) ? 1 : 0;
    }
    if (h->dense_ids) {
        labels = frugal_reallocarray(NULL, h->n > 0 ? h->n : 1, sizeof(int64_t));
        if (labels == NULL)
            goto out_nomem;
        for (size_t i = 0; i < h->n; i++)
            labels[i] = h->id_base + (int64_t)i;
    }
    if (h->packed0 != NULL) {
        level0 = frugal_reallocarray(NULL, h->n > 0 ? h->n : 1,
                                     (1 + (size_t)h->m0) * sizeof(uint32_t));
        upper = frugal_reallocarray(NULL, upper_words > 0 ? upper_words : 1, sizeof(uint32_t));
        if (level0 == NULL || upper == NULL)
            goto out_nomem;
        hnsw_links_copy_out(h, level0);
        hnsw_links_upper_out(h, upper);
    }
    if (h->code_stride != h->code_bytes && h->n > 0) {
        codes = frugal_reallocarray(NULL, h->n, h->code_bytes);
        if (codes == NULL)
            goto out_nomem;
        for (size_t i = 0; i < h->n; i++)
            memcpy(codes + i * h->code_bytes, h->codes + i * h->code_stride, h->code_bytes);
    }
    memset(&hdr, 0, sizeof(hdr));
    hdr.kind = VECFILE_KIND_HNSW;
    hdr.metric = (uint32_t)h->p.metric;
    hdr.storage = (uint32_t)h->p.storage;
    hdr.dim = h->p.dim;
    hdr.m = h->p.m;
    hdr.ef_construction = h->p.ef_construction;
    hdr.flags = (h->f32 != NULL ? VECFILE_FLAG_F32 : 0) | (h->trained ? VECFILE_FLAG_TRAINED : 0);
    hdr.max_level = h->entry == NO_NODE ? 0 : (uint32_t)h->max_level;
    hdr.n_nodes = h->n;
    hdr.n_deleted = h->n_deleted;
    hdr.generation = h->generation;
    hdr.entry = h->entry == NO_NODE ? -1 : (int64_t)h->entry;
    sec[n_sec++] = (struct vecfile_section){TAG_LABELS, labels != NULL ? labels : h->labels,
                                            h->n * sizeof(int64_t)};
    sec[n_sec++] = (struct vecfile_section){TAG_LEVELS, flags, h->n};
    sec[n_sec++] = (struct vecfile_section){TAG_DELETED, flags + h->n, h->n};
    sec[n_sec++] = (struct vecfile_section){TAG_LEVEL0, level0 != NULL ? level0 : h->level0,
                                            h->n * (1 + (size_t)h->m0) * sizeof(uint32_t)};
    sec[n_sec++] = (struct vecfile_section){TAG_CODES, codes != NULL ? codes : h->codes,
                                            h->n * h->code_bytes};
    /* the upper lists of the nodes with levels, in slot order (unpacked: up_pool as it is) */
    sec[n_sec++] = (struct vecfile_section){TAG_UPPER, upper != NULL ? upper : (void *)h->up_pool,
                                            upper_words * sizeof(uint32_t)};
    if (h->lo != NULL)
        sec[n_sec++] =
            (struct vecfile_section){TAG_QUANT, h->lo, 2 * (size_t)h->p.dim * sizeof(float)};
    if (h->f32 != NULL)
        sec[n_sec++] =
            (struct vecfile_section){TAG_F32, h->f32, h->n * h->p.dim * sizeof(float)};
    rc = vecfile_write(path, &hdr, sec, n_sec, err);
    goto out_free;
out_nomem:
    rc = err_set(err, FRUGAL_ENOMEM, "%s: out of memory", path);
out_free:
    pthread_rwlock_unlock(&h->lock);
    frugal_free(flags);
    frugal_free(labels);
    frugal_free(level0);
    frugal_free(upper);
    frugal_free(codes);
    return rc;
}

/* The section `tag`, which must be exactly `len` bytes. */
static const void *need_section(const struct vecfile *vf, uint32_t tag, uint64_t len, bool *ok)
{
    const struct vecfile_section *s = vecfile_find(vf, tag);
    /* arrays are read in place: a section must start 8-byte aligned (the writer aligns 64) */
    if (s == NULL || s->len != len || ((uintptr_t)s->data & 7u) != 0) {
        *ok = false;
        return NULL;
    }
    return s->data;
}

/* Checks one link list read from a file. */
static bool links_valid(const uint32_t *l, uint32_t maxl, size_t n, const uint8_t *levels,
                        int lev)
{
    if (l[0] > maxl)
        return false;
    for (uint32_t j = 1; j <= l[0]; j++) {
        if (l[j] >= n || levels[l[j]] < lev)
            return false;
    }
    return true;
}

/* Builds an index from a parsed file. keep_map NULL: everything is copied into memory. Otherwise
 * the float32 rescoring copy (if any) stays in that mapping, which the index then owns. */
static frugal_status from_vecfile(const struct vecfile *vf, struct fs_map *keep_map,
                                  struct hnsw **out, struct err *err)
{
    const struct vecfile_header *hd = &vf->hdr;
    struct hnsw_params p;
    struct hnsw *h = NULL;
    const uint8_t *levels;
    const uint8_t *deleted;
    const int64_t *labels;
    const uint32_t *level0;
    const char *codes;
    const uint32_t *upper;
    const float *quant = NULL;
    const float *f32 = NULL;
    uint64_t upper_words = 0;
    uint64_t n = hd->n_nodes;
    uint64_t n_del = 0;
    uint64_t bytes;
    bool ok = true;
    frugal_status rc;

    *out = NULL;
    if (hd->kind != VECFILE_KIND_HNSW)
        return err_set(err, FRUGAL_ECORRUPT, "not an HNSW index (kind %u)", hd->kind);
    hnsw_default_params(&p, hd->dim);
    p.metric = (enum vec_metric)hd->metric;
    p.storage = (enum vec_storage)hd->storage;
    p.m = hd->m;
    p.ef_construction = hd->ef_construction;
    p.keep_f32 = (hd->flags & VECFILE_FLAG_F32) != 0;
    if (hd->metric > VEC_METRIC_COS || hd->storage > VEC_STORE_I8 ||
        hnsw_check_params(&p, err) != FRUGAL_OK || (hd->flags & ~3u) != 0 ||
        (p.keep_f32 && p.storage == VEC_STORE_F32) || n >= NO_NODE || hd->n_deleted > n ||
        (n == 0) != (hd->entry == -1) || (n > 0 && (hd->entry < 0 || (uint64_t)hd->entry >= n)))
        return err_set(err, FRUGAL_ECORRUPT, "HNSW index header holds impossible parameters");
    rc = hnsw_new(&p, &h, err);
    if (rc != FRUGAL_OK)
        return rc;
    labels = need_section(vf, TAG_LABELS, n * sizeof(int64_t), &ok);
    levels = need_section(vf, TAG_LEVELS, n, &ok);
    deleted = need_section(vf, TAG_DELETED, n, &ok);
    if (!ok || __builtin_mul_overflow(n, (1 + (uint64_t)h->m0) * sizeof(uint32_t), &bytes))
        goto out_corrupt;
    level0 = need_section(vf, TAG_LEVEL0, bytes, &ok);
    if (!ok || __builtin_mul_overflow(n, (uint64_t)h->code_bytes, &bytes))
        goto out_corrupt;
    codes = need_section(vf, TAG_CODES, bytes, &ok);
    for (uint64_t i = 0; ok && i < n; i++) {
        if (levels[i] > MAX_LEVEL || deleted[i] > 1)
            ok = false;
        upper_words += (uint64_t)levels[i] * (1 + p.m);
        n_del += deleted[i];
    }
    if (!ok || n_del != hd->n_deleted ||
        (n > 0 && levels[hd->entry] != hd->max_level))
        goto out_corrupt;
    upper = need_section(vf, TAG_UPPER, upper_words * sizeof(uint32_t), &ok);
    if (p.storage == VEC_STORE_I8)
        quant = need_section(vf, TAG_QUANT, 2 * (uint64_t)p.dim * sizeof(float), &ok);
    if (p.keep_f32) {
        if (__builtin_mul_overflow(n, (uint64_t)p.dim * sizeof(float), &bytes))
            goto out_corrupt;
        f32 = need_section(vf, TAG_F32, bytes, &ok);
    }
    if (!ok)
        goto out_corrupt;
    if (f32 != NULL && keep_map != NULL)
        h->p.keep_f32 = false; /* no in-memory copy to allocate; set back below */
    for (uint64_t i = 0; i < n && h->dense_ids; i++) { /* ids base, base + 1, ...: none stored */
        int64_t want;
        if (__builtin_add_overflow(labels[0], (int64_t)i, &want) || labels[i] != want)
            h->dense_ids = false;
    }
    if (n > 0 && h->dense_ids)
        h->id_base = labels[0];
    if (hnsw_reserve(h, (size_t)n) != FRUGAL_OK || hnsw_idmap_reserve(h, (size_t)n) != FRUGAL_OK)
        goto out_nomem;
    if (n > 0) {
        for (size_t i = 0; i < n; i++)
            memcpy(h->codes + i * h->code_stride, codes + i * h->code_bytes, h->code_bytes);
        if (!h->dense_ids)
            memcpy(h->labels, labels, (size_t)n * sizeof(int64_t));
        for (size_t i = 0; i < n; i++) /* (checked: levels <= 24, tombstones 0 or 1) */
            h->node_bits[i] = (uint8_t)(levels[i] | (deleted[i] ? NODE_DELETED : 0));
    }
    if (f32 != NULL && n > 0 && keep_map == NULL)
        memcpy(h->f32, f32, (size_t)n * p.dim * sizeof(float));
    h->n = (size_t)n;
    if (quant != NULL) {
        for (uint32_t d = 0; d < 2 * p.dim; d++) {
            float v;
            memcpy(&v, (const char *)quant + d * sizeof(float), sizeof(v));
            if (!isfinite(v) || (d >= p.dim && v < 0.0f))
                goto out_corrupt;
            h->lo[d] = v;
        }
    }
    h->trained = p.storage != VEC_STORE_I8 || (hd->flags & VECFILE_FLAG_TRAINED) != 0;
    if (!h->trained && n > 0)
        goto out_corrupt;
    for (size_t i = 0, at = 0; i < n; i++) {
        size_t w = (size_t)levels[i] * (1 + p.m);
        const uint32_t *l0 = level0 + i * (1 + (size_t)h->m0);

        if (!links_valid(l0, h->m0, (size_t)n, levels, 0))
            goto out_corrupt;
        hnsw_links_put(h, (uint32_t)i, 0, l0); /* checked first: the coding trusts it */
        if (!h->dense_ids && !deleted[i] && hnsw_idmap_get(h, labels[i]) != NO_NODE)
            goto out_corrupt; /* a live id twice (dense ids are distinct by construction) */
        if (!deleted[i])
            hnsw_idmap_put(h, (uint32_t)i);
        else
            hnsw_free_push(h, (uint32_t)i);
        if (w == 0)
            continue;
        for (int lev = 1; lev <= levels[i]; lev++) {
            if (!links_valid(upper + at + (size_t)(lev - 1) * (1 + p.m), p.m, (size_t)n, levels,
                             lev))
                goto out_corrupt;
        }
        if (hnsw_upper_add(h, (uint32_t)i, levels[i]) != FRUGAL_OK)
            goto out_nomem;
        for (int lev = 1; lev <= levels[i]; lev++) /* checked above */
            hnsw_links_put(h, (uint32_t)i, lev, upper + at + (size_t)(lev - 1) * (1 + p.m));
        at += w;
    }
    h->n_deleted = (size_t)hd->n_deleted;
    h->entry = n > 0 ? (uint32_t)hd->entry : NO_NODE;
    h->max_level = n > 0 ? (int)hd->max_level : -1;
    h->generation = hd->generation;
    if (f32 != NULL && keep_map != NULL) {
        h->p.keep_f32 = true;
        h->f32 = (float *)(uintptr_t)f32; /* read only: hnsw_reserve copies it before a write */
        h->f32_map = *keep_map;
        memset(keep_map, 0, sizeof(*keep_map));
        /* the checksums read every page: let them go, and fault rescoring reads in one page at
         * a time (no read-ahead of vectors that will not be asked for) */
        madvise(h->f32_map.ptr, h->f32_map.len, MADV_DONTNEED);
        madvise(h->f32_map.ptr, h->f32_map.len, MADV_RANDOM);
    }
    *out = h;
    return FRUGAL_OK;
out_corrupt:
    hnsw_free(h);
    return err_set(err, FRUGAL_ECORRUPT, "HNSW index sections are inconsistent with the header");
out_nomem:
    hnsw_free(h);
    return err_set(err, FRUGAL_ENOMEM, "out of memory loading the HNSW index");
}

frugal_status hnsw_load_mem(const void *data, size_t len, bool verify_crc, struct hnsw **out,
                            struct err *err)
{
    struct vecfile vf;
    frugal_status rc;

    *out = NULL;
    memset(&vf, 0, sizeof(vf));
    rc = vecfile_parse(data, len, verify_crc, &vf, err);
    if (rc == FRUGAL_OK)
        rc = from_vecfile(&vf, NULL, out, err);
    return rc;
}

frugal_status hnsw_load(const char *path, struct hnsw **out, struct err *err)
{
    return hnsw_load_ex(path, HNSW_RESCORE_IN_MEMORY, out, err);
}

frugal_status hnsw_load_ex(const char *path, enum hnsw_rescore_place rescore, struct hnsw **out,
                           struct err *err)
{
    struct vecfile vf;
    frugal_status rc;

    *out = NULL;
    rc = vecfile_open(path, &vf, err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = from_vecfile(&vf, rescore == HNSW_RESCORE_ON_DISK ? &vf.map : NULL, out, err);
    if (rc != FRUGAL_OK)
        err_prefix(err, "%s", path);
    vecfile_close(&vf);
    return rc;
}
