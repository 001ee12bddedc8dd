/*
 * fs.h - files: whole-file reads with a size limit, gzip transparently, content hashes,
 * memory maps and atomic replacement (write a temporary file, fsync, rename).
 */
#ifndef FRUGAL_BASE_FS_H
#define FRUGAL_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Reads the whole file at `path` into out (appended). Fails with FRUGAL_ETOOBIG past max_bytes
 * (0 = no limit), FRUGAL_ENOTFOUND when missing, FRUGAL_EIO otherwise; the message names the
 * file. */
frugal_status fs_read_file(const char *path, size_t max_bytes, struct buf *out, struct err *err);

/* Like fs_read_file, but inflates gzip content (detected by its magic bytes); max_bytes limits
 * the inflated size. */
frugal_status fs_read_file_gz(const char *path, size_t max_bytes, struct buf *out, struct err *err);

/* Inflates a gzip buffer into out; max_bytes limits the output (0 = none). */
frugal_status fs_gunzip(const void *data, size_t len, size_t max_bytes, struct buf *out,
                        struct err *err);
bool fs_is_gzip(const void *data, size_t len);

/* Lowercase hex SHA-256 of data into hex (65 bytes with the NUL). */
void fs_sha256_hex(const void *data, size_t len, char hex[65]);

/* Read-only memory map of a whole file. An empty file maps to ptr == NULL, len == 0. */
struct fs_map {
    void *ptr;
    size_t len;
};
frugal_status fs_map_open(const char *path, struct fs_map *map, struct err *err);
void fs_map_close(struct fs_map *map);

/* Replaces `path` atomically with data: writes path.tmp.PID, fsyncs it, renames it over path,
 * then fsyncs the directory. */
frugal_status fs_write_atomic(const char *path, const void *data, size_t len, struct err *err);

/* Absolute, normalized path (realpath) of an existing file; owned by the caller. */
char *fs_realpath(const char *path);

#endif
