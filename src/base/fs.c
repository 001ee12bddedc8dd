/* fs.c - file helpers (see fs.h). zlib for gzip, OpenSSL's EVP for SHA-256. */
#define _GNU_SOURCE
#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/alloc.h"

static frugal_status errno_status(int e)
{
    return e == ENOENT || e == ENOTDIR ? FRUGAL_ENOTFOUND : FRUGAL_EIO;
}

frugal_status fs_read_file(const char *path, size_t max_bytes, struct buf *out, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno_status(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    frugal_status rc = FRUGAL_OK;
    if (fstat(fd, &st) != 0) {
        rc = err_set(err, FRUGAL_EIO, "%s: %s", path, strerror(errno));
        goto out_close;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = err_set(err, FRUGAL_EINVAL, "%s: is a directory", path);
        goto out_close;
    }
    if (max_bytes != 0 && (uint64_t)st.st_size > max_bytes) {
        rc = err_set(err, FRUGAL_ETOOBIG, "%s: file is %lld bytes, over the limit of %zu", path,
                     (long long)st.st_size, max_bytes);
        goto out_close;
    }
    if (st.st_size > 0 && buf_reserve(out, (size_t)st.st_size) != FRUGAL_OK) {
        rc = err_set(err, FRUGAL_ENOMEM, "%s: out of memory", path);
        goto out_close;
    }
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = err_set(err, FRUGAL_EIO, "%s: %s", path, strerror(errno));
            goto out_close;
        }
        if (n == 0)
            break;
        rc = buf_append(out, chunk, (size_t)n);
        if (rc != FRUGAL_OK) {
            err_set(err, rc, "%s: %s", path,
                    rc == FRUGAL_ETOOBIG ? "file grew over the size limit" : "out of memory");
            goto out_close;
        }
    }
    if (out->ptr == NULL)
        rc = buf_reserve(out, 0);
out_close:
    close(fd);
    return rc;
}

bool fs_is_gzip(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

frugal_status fs_gunzip(const void *data, size_t len, size_t max_bytes, struct buf *out,
                        struct err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return err_set(err, FRUGAL_ENOMEM, "gzip: cannot initialize zlib");
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)(len > UINT_MAX ? UINT_MAX : len);
    size_t consumed_total = 0;
    frugal_status rc = FRUGAL_OK;
    unsigned char chunk[65536];
    for (;;) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        int z = inflate(&zs, Z_NO_FLUSH);
        size_t produced = sizeof chunk - zs.avail_out;
        if (produced > 0) {
            if (max_bytes != 0 && out->len + produced > max_bytes) {
                rc = err_set(err, FRUGAL_ETOOBIG, "gzip: inflated data over the limit of %zu bytes",
                             max_bytes);
                break;
            }
            rc = buf_append(out, chunk, produced);
            if (rc != FRUGAL_OK) {
                err_set(err, rc, "gzip: out of memory");
                break;
            }
        }
        if (z == Z_STREAM_END) {
            /* concatenated gzip members: continue with the next one */
            size_t used = (size_t)((const unsigned char *)zs.next_in - (const unsigned char *)data);
            consumed_total = used;
            if (consumed_total < len && fs_is_gzip((const char *)data + used, len - used)) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (z != Z_OK) {
            rc = err_set(err, FRUGAL_ECORRUPT, "gzip: corrupt data (%s)",
                         zs.msg != NULL ? zs.msg : "inflate failed");
            break;
        }
        if (zs.avail_in == 0) {
            size_t used = (size_t)((const unsigned char *)zs.next_in - (const unsigned char *)data);
            if (used < len) {
                size_t rest = len - used;
                zs.avail_in = (uInt)(rest > UINT_MAX ? UINT_MAX : rest);
                continue;
            }
            if (produced == 0) {
                rc = err_set(err, FRUGAL_ECORRUPT, "gzip: truncated data");
                break;
            }
        }
    }
    inflateEnd(&zs);
    if (rc == FRUGAL_OK && out->ptr == NULL)
        rc = buf_reserve(out, 0);
    return rc;
}

frugal_status fs_read_file_gz(const char *path, size_t max_bytes, struct buf *out, struct err *err)
{
    struct buf raw;
    buf_init(&raw, 0);
    frugal_status rc = fs_read_file(path, max_bytes, &raw, err);
    if (rc == FRUGAL_OK) {
        if (fs_is_gzip(raw.ptr, raw.len)) {
            rc = fs_gunzip(raw.ptr, raw.len, max_bytes, out, err);
            if (rc != FRUGAL_OK)
                err_prefix(err, "%s", path);
        } else {
            rc = buf_append(out, raw.ptr, raw.len);
        }
    }
    buf_release(&raw);
    return rc;
}

void fs_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

frugal_status fs_map_open(const char *path, struct fs_map *map, struct err *err)
{
    map->ptr = NULL;
    map->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno_status(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    frugal_status rc = FRUGAL_OK;
    if (fstat(fd, &st) != 0) {
        rc = err_set(err, FRUGAL_EIO, "%s: %s", path, strerror(errno));
    } else if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = err_set(err, FRUGAL_EIO, "%s: mmap: %s", path, strerror(errno));
        } else {
            map->ptr = p;
            map->len = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

void fs_map_close(struct fs_map *map)
{
    if (map->ptr != NULL)
        munmap(map->ptr, map->len);
    map->ptr = NULL;
    map->len = 0;
}

frugal_status fs_write_atomic(const char *path, const void *data, size_t len, struct err *err)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return err_set(err, FRUGAL_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(err, FRUGAL_EIO, "%s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return err_set(err, FRUGAL_EIO, "%s: write: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return err_set(err, FRUGAL_EIO, "%s: fsync: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return err_set(err, FRUGAL_EIO, "%s: rename: %s", path, strerror(e));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return FRUGAL_OK;
}

char *fs_realpath(const char *path)
{
    char *r = realpath(path, NULL);
    if (r == NULL)
        return NULL;
    char *copy = frugal_strdup(r);
    free(r);
    return copy;
}
