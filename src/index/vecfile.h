/*
 * vecfile.h - the on-disk container of a vector index (HNSW or flat): a fixed header with the
 * index parameters, counts and a generation counter, a section table, and checksummed sections.
 *
 * Layout (all integers little-endian; full spec in docs/formats.md, "Vector index files"):
 *
 *   offset size
 *     0     8   magic "FRGLVEC\n"
 *     8     4   format version (VECFILE_VERSION = 2; version 1 files are refused: the index
 *                 is rebuilt from the store)
 *    12     4   header size in bytes (128)
 *    16     4   kind (1 = HNSW, 2 = flat)
 *    20     4   metric (0 L2, 1 IP, 2 cosine)
 *    24     4   storage (0 float32, 1 float16, 2 int8)
 *    28     4   dim
 *    32     4   M (links per node on upper levels; level 0 has 2M)
 *    36     4   ef_construction
 *    40     4   flags (bit 0: float32 rescoring copy present; bit 1: int8 ranges trained)
 *    44     4   max_level (of the entry point)
 *    48     8   n_nodes (slots, live and deleted)
 *    56     8   n_deleted
 *    64     8   generation (the store generation the index reflects)
 *    72     8   entry point slot (int64, -1 when empty)
 *    80     4   n_sections (<= VECFILE_MAX_SECTIONS)
 *    84     4   CRC-32 of the section table
 *    88     8   total file size in bytes (detects truncation before anything else is read)
 *    96    28   reserved, zero
 *   124     4   CRC-32 (zlib) of bytes 0..124
 *   128  32*n   section table: tag u32, reserved u32, offset u64, length u64, CRC-32 u32,
 *               reserved u32; payloads follow at 64-byte aligned offsets, in table order.
 *
 * Checks on open, in order: size >= 128, magic, version (FRUGAL_EVERSION), header CRC, total
 * size (truncation), section table bounds and CRC, each section inside the file and its CRC.
 * Every failure is FRUGAL_ECORRUPT (or EVERSION) with a message saying what was wrong; what the
 * sections mean is checked by their reader (hnsw_file.c).
 */
#ifndef FRUGAL_INDEX_VECFILE_H
#define FRUGAL_INDEX_VECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fs.h"

#define VECFILE_MAGIC "FRGLVEC\n"
#define VECFILE_VERSION 2u
#define VECFILE_HEADER_BYTES 128u
#define VECFILE_MAX_SECTIONS 16u

enum vecfile_kind { VECFILE_KIND_HNSW = 1, VECFILE_KIND_FLAT = 2 };
enum { VECFILE_FLAG_F32 = 1u, VECFILE_FLAG_TRAINED = 2u };

struct vecfile_header {
    uint32_t version;
    uint32_t kind;
    uint32_t metric;
    uint32_t storage;
    uint32_t dim;
    uint32_t m;
    uint32_t ef_construction;
    uint32_t flags;
    uint32_t max_level;
    uint64_t n_nodes;
    uint64_t n_deleted;
    uint64_t generation;
    int64_t entry;
};

struct vecfile_section {
    uint32_t tag;
    const void *data; /* borrowed: points into the caller's bytes or the mapping */
    uint64_t len;     /* bytes */
};

/* A parsed file. Sections point into `map` (vecfile_open) or into the caller's bytes
 * (vecfile_parse), which must outlive it. */
struct vecfile {
    struct fs_map map;
    struct vecfile_header hdr;
    struct vecfile_section sections[VECFILE_MAX_SECTIONS];
    size_t n_sections;
};

/* Serializes header + sections and replaces path atomically (fs_write_atomic). */
frugal_status vecfile_write(const char *path, const struct vecfile_header *hdr,
                            const struct vecfile_section *sections, size_t n_sections,
                            struct err *err);
/* Maps path and parses it (verifying every checksum). Close with vecfile_close. */
frugal_status vecfile_open(const char *path, struct vecfile *vf, struct err *err);
/* Parses bytes (borrowed). verify_crc = false skips the checksums but no bounds check. */
frugal_status vecfile_parse(const void *data, size_t len, bool verify_crc, struct vecfile *vf,
                            struct err *err);
/* The section with `tag`, or NULL. */
const struct vecfile_section *vecfile_find(const struct vecfile *vf, uint32_t tag);
void vecfile_close(struct vecfile *vf); /* accepts a zeroed or parsed vecfile */

#endif
