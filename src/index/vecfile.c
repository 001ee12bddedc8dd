/*
 * vecfile.c - reading and writing the vector index container described in vecfile.h.
 *
 * How: the writer lays the whole file out in one buffer (header, table, 64-byte aligned
 * payloads), computes zlib CRC-32s of the header, the table and each payload, and hands it to
 * fs_write_atomic (temporary file, fsync, rename, fsync of the directory), so a crash leaves
 * either the old file or the new one, never a torn one. The reader maps the file (fs_map_open)
 * and checks, before trusting any count or offset: the size, the magic, the version, the header
 * checksum, the recorded total size (a truncated file fails here with both sizes in the
 * message), the section table, and each section's bounds and checksum. Integers are read with
 * memcpy from little-endian fields (the format is little-endian; we build for x86-64 / arm64).
 *
 * Why: the store stays the source of truth; an index file only saves rebuilding. It must never
 * be trusted when damaged, and must never crash the loader (tests/fuzz/fuzz_vecfile.c).
 *
 * Threading: no shared state; a struct vecfile is read-only after parsing and may be read by
 * several threads.
 */
#include "index/vecfile.h"

#include <string.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/buf.h"

#define TABLE_ENTRY_BYTES 32u

static uint32_t crc(const void *data, size_t len)
{
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)data, (z_size_t)len);
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t align64(uint64_t x)
{
    return (x + 63u) & ~(uint64_t)63u;
}

frugal_status vecfile_write(const char *path, const struct vecfile_header *hdr,
                            const struct vecfile_section *sections, size_t n_sections,
                            struct err *err)
{
    uint64_t table_end = VECFILE_HEADER_BYTES + (uint64_t)n_sections * TABLE_ENTRY_BYTES;
    uint64_t total = align64(table_end);
    unsigned char *file;
    unsigned char *h;
    frugal_status rc;

    if (n_sections > VECFILE_MAX_SECTIONS)
        return err_set(err, FRUGAL_EINVAL, "%s: %zu sections, at most %u", path, n_sections,
                       VECFILE_MAX_SECTIONS);
    for (size_t i = 0; i < n_sections; i++)
        total = align64(total + sections[i].len);
    if (total > (uint64_t)SIZE_MAX)
        return err_set(err, FRUGAL_ETOOBIG, "%s: index too large to write", path);
    file = frugal_calloc(1, (size_t)total);
    if (file == NULL)
        return err_set(err, FRUGAL_ENOMEM, "%s: out of memory writing the index (%llu bytes)",
                       path, (unsigned long long)total);
    h = file;
    memcpy(h, VECFILE_MAGIC, 8);
    put32(h + 8, VECFILE_VERSION);
    put32(h + 12, VECFILE_HEADER_BYTES);
    put32(h + 16, hdr->kind);
    put32(h + 20, hdr->metric);
    put32(h + 24, hdr->storage);
    put32(h + 28, hdr->dim);
    put32(h + 32, hdr->m);
    put32(h + 36, hdr->ef_construction);
    put32(h + 40, hdr->flags);
    put32(h + 44, hdr->max_level);
    put64(h + 48, hdr->n_nodes);
    put64(h + 56, hdr->n_deleted);
    put64(h + 64, hdr->generation);
    put64(h + 72, (uint64_t)hdr->entry);
    put32(h + 80, (uint32_t)n_sections);
    put64(h + 88, total);
    {
        uint64_t off = align64(table_end);
        for (size_t i = 0; i < n_sections; i++) {
            unsigned char *t = file + VECFILE_HEADER_BYTES + i * TABLE_ENTRY_BYTES;
            put32(t, sections[i].tag);
            put64(t + 8, off);
            put64(t + 16, sections[i].len);
            if (sections[i].len > 0)
                memcpy(file + off, sections[i].data, (size_t)sections[i].len);
            put32(t + 24, crc(file + off, (size_t)sections[i].len));
            off = align64(off + sections[i].len);
        }
    }
    put32(h + 84, crc(file + VECFILE_HEADER_BYTES, (size_t)n_sections * TABLE_ENTRY_BYTES));
    put32(h + 124, crc(h, 124));
    rc = fs_write_atomic(path, file, (size_t)total, err);
    frugal_free(file);
    return rc;
}

frugal_status vecfile_parse(const void *data, size_t len, bool verify_crc, struct vecfile *vf,
                            struct err *err)
{
    const unsigned char *p = data;
    uint32_t version;
    uint64_t total;
    uint32_t n_sections;

    memset(vf->sections, 0, sizeof(vf->sections));
    vf->n_sections = 0;
    if (len < VECFILE_HEADER_BYTES)
        return err_set(err, FRUGAL_ECORRUPT,
                       "truncated vector index: %zu bytes, the header alone is %u", len,
                       VECFILE_HEADER_BYTES);
    if (memcmp(p, VECFILE_MAGIC, 8) != 0)
        return err_set(err, FRUGAL_ECORRUPT, "not a frugal vector index (bad magic)");
    version = get32(p + 8);
    if (version != VECFILE_VERSION)
        return err_set(err, FRUGAL_EVERSION,
                       "vector index format version %u, this build reads version %u", version,
                       VECFILE_VERSION);
    if (verify_crc && get32(p + 124) != crc(p, 124))
        return err_set(err, FRUGAL_ECORRUPT, "vector index header checksum mismatch");
    if (get32(p + 12) != VECFILE_HEADER_BYTES)
        return err_set(err, FRUGAL_ECORRUPT, "vector index header size %u, expected %u",
                       get32(p + 12), VECFILE_HEADER_BYTES);
    total = get64(p + 88);
    if (total != len)
        return err_set(err, FRUGAL_ECORRUPT,
                       "vector index truncated or extended: header says %llu bytes, file has %zu",
                       (unsigned long long)total, len);
    n_sections = get32(p + 80);
    if (n_sections > VECFILE_MAX_SECTIONS ||
        VECFILE_HEADER_BYTES + (uint64_t)n_sections * TABLE_ENTRY_BYTES > len)
        return err_set(err, FRUGAL_ECORRUPT, "vector index: bad section count %u", n_sections);
    if (verify_crc &&
        get32(p + 84) != crc(p + VECFILE_HEADER_BYTES, (size_t)n_sections * TABLE_ENTRY_BYTES))
        return err_set(err, FRUGAL_ECORRUPT, "vector index section table checksum mismatch");
    vf->hdr.version = version;
    vf->hdr.kind = get32(p + 16);
    vf->hdr.metric = get32(p + 20);
    vf->hdr.storage = get32(p + 24);
    vf->hdr.dim = get32(p + 28);
    vf->hdr.m = get32(p + 32);
    vf->hdr.ef_construction = get32(p + 36);
    vf->hdr.flags = get32(p + 40);
    vf->hdr.max_level = get32(p + 44);
    vf->hdr.n_nodes = get64(p + 48);
    vf->hdr.n_deleted = get64(p + 56);
    vf->hdr.generation = get64(p + 64);
    vf->hdr.entry = (int64_t)get64(p + 72);
    for (uint32_t i = 0; i < n_sections; i++) {
        const unsigned char *t = p + VECFILE_HEADER_BYTES + (size_t)i * TABLE_ENTRY_BYTES;
        uint64_t off = get64(t + 8);
        uint64_t slen = get64(t + 16);

        if (off > len || slen > len - off)
            return err_set(err, FRUGAL_ECORRUPT,
                           "vector index section %u (tag %u) lies outside the file", i, get32(t));
        if (verify_crc && get32(t + 24) != crc(p + off, (size_t)slen))
            return err_set(err, FRUGAL_ECORRUPT,
                           "vector index section %u (tag %u) checksum mismatch", i, get32(t));
        vf->sections[i].tag = get32(t);
        vf->sections[i].data = p + off;
        vf->sections[i].len = slen;
    }
    vf->n_sections = n_sections;
    return FRUGAL_OK;
}

frugal_status vecfile_open(const char *path, struct vecfile *vf, struct err *err)
{
    frugal_status rc;

    memset(vf, 0, sizeof(*vf));
    rc = fs_map_open(path, &vf->map, err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = vecfile_parse(vf->map.ptr, vf->map.len, true, vf, err);
    if (rc != FRUGAL_OK) {
        err_prefix(err, "%s", path);
        fs_map_close(&vf->map);
        memset(vf, 0, sizeof(*vf));
    }
    return rc;
}

const struct vecfile_section *vecfile_find(const struct vecfile *vf, uint32_t tag)
{
    for (size_t i = 0; i < vf->n_sections; i++) {
        if (vf->sections[i].tag == tag)
            return &vf->sections[i];
    }
    return NULL;
}

void vecfile_close(struct vecfile *vf)
{
    if (vf == NULL)
        return;
    if (vf->map.ptr != NULL)
        fs_map_close(&vf->map);
    memset(vf, 0, sizeof(*vf));
}
