/*
 * pipeline.c - the ingestion driver (contract in pipeline.h).
 *
 * How it works: pipeline_run first walks every path into a sorted list of files (so progress
 * knows the total and runs are deterministic), then handles each file: read with a size limit,
 * hash, detect the format, skip when the stored document has the same hash, else extract and
 * write each document in its own transaction (delete old version, insert document, insert
 * chunks, commit). A failure in one file or record is reported through on_file and counted;
 * only out-of-memory and a store that cannot start a transaction stop the batch.
 *
 * Sync remembers every source it saw (and every file that failed) and afterwards deletes the
 * collection's documents under the folder that were not seen, each in its own transaction.
 *
 * Why one transaction per document: kill -9 at any moment leaves every stored document whole
 * (old or new version), and a long ingest does not hold the write lock for minutes. When the
 * collection has an embedder, a document's chunks are embedded in one batch before its
 * transaction opens (so a slow model does not hold the lock) and their vectors are written in
 * that transaction: no chunk is ever stored without its vector.
 *
 * Threading: single-threaded; runs on the caller's thread with the caller's store.
 */
#define _GNU_SOURCE
#include "ingest/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/fs.h"
#include "base/log.h"
#include "embed/embedder.h"
#include "ingest/extract.h"
#include "text/chunk.h"
#include "text/normalize.h"

#define DEFAULT_MAX_FILE_BYTES (64u << 20)

struct strvec {
    char **v;
    size_t n, cap;
};

static void strvec_release(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        frugal_free(s->v[i]);
    frugal_free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* Takes ownership of str (freed on failure). */
static frugal_status strvec_push(struct strvec *s, char *str)
{
    if (str == NULL)
        return FRUGAL_ENOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = frugal_reallocarray(s->v, cap, sizeof *v);
        if (v == NULL) {
            frugal_free(str);
            return FRUGAL_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return FRUGAL_OK;
}

static bool strvec_has_last(const struct strvec *s, const char *str)
{
    return s->n > 0 && strcmp(s->v[s->n - 1], str) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool strvec_sorted_has(const struct strvec *s, const char *str)
{
    return s->n > 0 && bsearch(&str, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

struct run {
    struct store *st;
    struct embedder *emb;     /* borrowed; NULL: the collection stores no vectors */
    const frugal_ingest_params *p;
    frugal_ingest_report *rep;
    struct collection_row coll;
    struct chunk_opts copts;
    struct extract_opts xopts;
    bool track;               /* remember sources for sync */
    struct strvec seen;       /* sources written or unchanged this run */
    struct strvec failed;     /* files that failed: their stored documents are kept */
    /* the file in flight */
    const char *source;       /* realpath or buffer name */
    char hash[65];
    int64_t size, mtime;
    enum extract_format fmt;
    bool named;               /* named by the caller, not found in a folder */
};

static void report(struct run *r, const char *source, frugal_file_outcome outcome,
                   const char *reason)
{
    switch (outcome) {
    case FRUGAL_FILE_ADDED: r->rep->added++; break;
    case FRUGAL_FILE_UPDATED: r->rep->updated++; break;
    case FRUGAL_FILE_UNCHANGED: r->rep->unchanged++; break;
    case FRUGAL_FILE_DELETED: r->rep->deleted++; break;
    case FRUGAL_FILE_FAILED: r->rep->failed++; break;
    case FRUGAL_FILE_SKIPPED: r->rep->skipped++; break;
    }
    if (outcome == FRUGAL_FILE_FAILED)
        log_debug("%s: %s", source, reason != NULL ? reason : "failed");
    if (r->p->on_file != NULL)
        r->p->on_file(r->p->ctx, source, outcome, reason);
}

static frugal_status track_source(struct run *r, const char *source)
{
    if (!r->track)
        return FRUGAL_OK;
    return strvec_push(&r->seen, frugal_strdup(source));
}

/* Normalizes the blocks of doc into a new array (owned by *out, texts owned). Blocks that
 * normalize to nothing are dropped. */
static frugal_status normalize_blocks(const struct extracted *doc, struct block **out,
                                      size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (doc->n_blocks == 0)
        return FRUGAL_OK;
    struct block *blocks = frugal_calloc(doc->n_blocks, sizeof *blocks);
    if (blocks == NULL)
        return FRUGAL_ENOMEM;
    size_t n = 0;
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; i < doc->n_blocks && rc == FRUGAL_OK; i++) {
        struct buf b;
        buf_init(&b, 0);
        rc = text_normalize(doc->blocks[i].text, doc->blocks[i].len, &b, NULL);
        if (rc == FRUGAL_OK && b.len > 0) {
            blocks[n].kind = doc->blocks[i].kind;
            blocks[n].level = doc->blocks[i].level;
            blocks[n].len = b.len;
            blocks[n].text = buf_detach(&b);
            if (blocks[n].text == NULL)
                rc = FRUGAL_ENOMEM;
            else
                n++;
        }
        buf_release(&b);
    }
    if (rc != FRUGAL_OK) {
        for (size_t i = 0; i < n; i++)
            frugal_free(blocks[i].text);
        frugal_free(blocks);
        return rc;
    }
    *out = blocks;
    *n_out = n;
    return FRUGAL_OK;
}

static void free_blocks(struct block *blocks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        frugal_free(blocks[i].text);
    frugal_free(blocks);
}

/* The document's metadata: the record's own object patched with the params' object
 * (SQLite json_patch, RFC 7396). *out is owned; sets a message on malformed JSON. */
static frugal_status merge_metadata(struct run *r, const char *record_json, char **out,
                                    struct err *err)
{
    *out = NULL;
    const char *extra = r->p->metadata_json;
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = store_db(r->st);
    /* nested CASEs: json_type() raises an error on malformed JSON, so test validity first */
    const char *sql = "SELECT CASE WHEN json_valid(?1) AND json_valid(?2) THEN "
                      "CASE WHEN json_type(?1) = 'object' AND json_type(?2) = 'object' "
                      "THEN json_patch(?1, ?2) END END";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return err_set(err, FRUGAL_EIO, "metadata: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(stmt, 1, record_json != NULL ? record_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, extra != NULL ? extra : "{}", -1, SQLITE_STATIC);
    frugal_status rc = FRUGAL_OK;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
        *out = frugal_strdup((const char *)sqlite3_column_text(stmt, 0));
        if (*out == NULL)
            rc = FRUGAL_ENOMEM;
    } else if (s == SQLITE_ROW) {
        rc = err_set(err, FRUGAL_ECORRUPT, "metadata is not a JSON object");
    } else {
        rc = err_set(err, FRUGAL_ECORRUPT, "metadata: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Embeds the chunks of ch (title, heading path and text, one line each, as the BM25 fields) in
 * one batch into *out, (n_chunks, dim) row-major, owned. */
static frugal_status embed_chunks(struct run *r, const struct chunked *ch, const char *title,
                                  float **out, struct err *err)
{
    *out = NULL;
    size_t dim = embedder_dim(r->emb);
    struct buf texts;
    buf_init(&texts, 0);
    size_t *off = frugal_calloc(ch->n_chunks, sizeof *off);
    const char **ptrs = frugal_calloc(ch->n_chunks, sizeof *ptrs);
    float *vecs = frugal_calloc(ch->n_chunks * dim, sizeof *vecs);
    frugal_status rc = off != NULL && ptrs != NULL && vecs != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    for (size_t i = 0; rc == FRUGAL_OK && i < ch->n_chunks; i++) {
        const struct chunk *c = &ch->chunks[i];
        off[i] = texts.len;
        if (title != NULL)
            rc = buf_printf(&texts, "%s\n", title);
        if (rc == FRUGAL_OK && c->heading_path != NULL && c->heading_path[0] != '\0')
            rc = buf_printf(&texts, "%s\n", c->heading_path);
        if (rc == FRUGAL_OK)
            rc = buf_append(&texts, ch->text.ptr + c->byte_start, c->byte_end - c->byte_start);
        if (rc == FRUGAL_OK)
            rc = buf_append(&texts, "", 1);
    }
    if (rc != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    for (size_t i = 0; rc == FRUGAL_OK && i < ch->n_chunks; i++)
        ptrs[i] = texts.ptr + off[i];
    if (rc == FRUGAL_OK) {
        rc = embedder_embed(r->emb, ptrs, ch->n_chunks, vecs, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "embed");
    }
    buf_release(&texts);
    frugal_free(off);
    frugal_free((void *)ptrs);
    if (rc != FRUGAL_OK) {
        frugal_free(vecs);
        return rc;
    }
    *out = vecs;
    return FRUGAL_OK;
}

/* Writes one extracted document: delete the old version, insert the new one, its chunks and
 * their vectors (computed before the transaction starts), all in one transaction. */
static frugal_status write_document(struct run *r, const char *source, const char *hash,
                                    const struct document_row *old, struct extracted *doc,
                                    size_t *n_chunks, struct err *err)
{
    struct block *blocks = NULL;
    size_t n_blocks = 0;
    struct chunked ch;
    memset(&ch, 0, sizeof ch);
    char *metadata = NULL;
    char *title = NULL;
    frugal_status rc = normalize_blocks(doc, &blocks, &n_blocks);
    if (rc == FRUGAL_OK && doc->title != NULL) {
        struct buf t;
        buf_init(&t, 0);
        rc = text_normalize(doc->title, strlen(doc->title), &t, err);
        if (rc == FRUGAL_OK && t.len > 0)
            title = buf_detach(&t);
        buf_release(&t);
    }
    struct block title_block;
    if (rc == FRUGAL_OK && n_blocks == 0 && title != NULL) {
        /* a record with a title and no text (BEIR has them): the title is its text */
        title_block = (struct block){.kind = BLOCK_PARAGRAPH, .text = title, .len = strlen(title)};
        rc = chunk_document(&title_block, 1, &r->copts, &ch, err);
    } else if (rc == FRUGAL_OK) {
        rc = chunk_document(blocks, n_blocks, &r->copts, &ch, err);
    }
    if (rc == FRUGAL_OK && ch.n_chunks == 0)
        rc = err_set(err, FRUGAL_EEMPTY, "no text to index");
    if (rc == FRUGAL_OK)
        rc = merge_metadata(r, doc->metadata_json, &metadata, err);
    float *vecs = NULL;
    if (rc == FRUGAL_OK && r->emb != NULL)
        rc = embed_chunks(r, &ch, title, &vecs, err);
    if (rc != FRUGAL_OK)
        goto out_free;

    rc = store_begin(r->st, err);
    if (rc != FRUGAL_OK)
        goto out_free;
    if (old != NULL)
        rc = store_document_delete(r->st, old->id, err);
    struct document_row row = {
        .collection_id = r->coll.id,
        .source = source,
        .ext_id = doc->ext_id,
        .content_hash = hash,
        .size = doc->raw != NULL ? (int64_t)doc->raw_len : r->size,
        .mtime = r->mtime,
        .title = title,
        .metadata_json = metadata,
        .format = extract_format_name(r->fmt),
        .text = ch.text.ptr,
    };
    if (rc == FRUGAL_OK)
        rc = store_document_insert(r->st, &row, err);
    for (size_t i = 0; i < ch.n_chunks && rc == FRUGAL_OK; i++) {
        const struct chunk *c = &ch.chunks[i];
        struct chunk_row cr = {
            .ordinal = (int)i,
            .text = ch.text.ptr + c->byte_start,
            .text_len = c->byte_end - c->byte_start,
            .heading_path = c->heading_path,
            .char_start = (int64_t)c->char_start,
            .char_end = (int64_t)c->char_end,
            .byte_start = (int64_t)c->byte_start,
            .byte_end = (int64_t)c->byte_end,
            .n_tokens = (int64_t)c->n_tokens,
        };
        int64_t chunk_id = 0;
        rc = store_chunk_insert(r->st, &r->coll, row.id, title, &cr, &chunk_id, err);
        if (rc == FRUGAL_OK && vecs != NULL) {
            size_t dim = embedder_dim(r->emb);
            rc = store_vector_put(r->st, chunk_id, vecs + i * dim, dim, err);
        }
    }
    if (rc == FRUGAL_OK)
        rc = store_commit(r->st, err);
    else
        store_rollback(r->st);
    if (rc == FRUGAL_OK)
        *n_chunks = ch.n_chunks;
out_free:
    frugal_free(vecs);
    frugal_free(title);
    frugal_free(metadata);
    chunked_release(&ch);
    free_blocks(blocks, n_blocks);
    return rc;
}

/* Handles one document of the file in flight: unchanged check, write, report. Returns non-OK
 * only for errors that must stop the batch (out of memory). */
static frugal_status handle_document(struct run *r, struct extracted *doc)
{
    struct buf source;
    buf_init(&source, 0);
    frugal_status rc = buf_puts(&source, r->source);
    if (rc == FRUGAL_OK && doc->ext_id != NULL)
        rc = buf_printf(&source, "#%s", doc->ext_id);
    if (rc != FRUGAL_OK) {
        buf_release(&source);
        return FRUGAL_ENOMEM;
    }
    char hash[65];
    if (doc->raw != NULL)
        fs_sha256_hex(doc->raw, doc->raw_len, hash);
    else
        memcpy(hash, r->hash, sizeof hash);

    struct err e;
    err_clear(&e);
    struct document_row old;
    memset(&old, 0, sizeof old);
    bool have_old = false;
    rc = store_document_find(r->st, r->coll.id, source.ptr, &old, &e);
    if (rc == FRUGAL_OK)
        have_old = true;
    else if (rc == FRUGAL_ENOTFOUND)
        rc = FRUGAL_OK;
    if (rc == FRUGAL_OK && have_old && strcmp(old.content_hash, hash) == 0) {
        report(r, source.ptr, FRUGAL_FILE_UNCHANGED, NULL);
    } else if (rc == FRUGAL_OK) {
        size_t n_chunks = 0;
        rc = write_document(r, source.ptr, hash, have_old ? &old : NULL, doc, &n_chunks, &e);
        if (rc == FRUGAL_OK) {
            r->rep->chunks_written += n_chunks;
            report(r, source.ptr, have_old ? FRUGAL_FILE_UPDATED : FRUGAL_FILE_ADDED, NULL);
        }
    }
    if (rc == FRUGAL_OK || rc != FRUGAL_ENOMEM) {
        if (rc != FRUGAL_OK) {
            report(r, source.ptr, FRUGAL_FILE_FAILED, e.msg[0] ? e.msg : frugal_strerror(rc));
            /* keep what was stored: a failed update must not be deleted by sync */
            rc = FRUGAL_OK;
        }
        rc = track_source(r, source.ptr);
    }
    if (have_old)
        document_row_release(&old);
    buf_release(&source);
    return rc;
}

static frugal_status on_extracted(void *ctx, struct extracted *doc, frugal_status status,
                                  const char *msg)
{
    struct run *r = ctx;
    if (status == FRUGAL_OK)
        return handle_document(r, doc);
    report(r, r->source, FRUGAL_FILE_FAILED, msg != NULL ? msg : frugal_strerror(status));
    /* a broken record may be an old one: keep everything stored under this file */
    if (r->track && !strvec_has_last(&r->failed, r->source))
        return strvec_push(&r->failed, frugal_strdup(r->source));
    return FRUGAL_OK;
}

/* Extracts and writes the input in flight (r->source etc. set). Returns non-OK only for
 * batch-stopping errors; per-file failures are reported. */
static frugal_status handle_input(struct run *r, const char *data, size_t len)
{
    struct err e;
    err_clear(&e);
    frugal_status rc = FRUGAL_OK;
    if (len == 0) {
        rc = err_set(&e, FRUGAL_EEMPTY, "empty file");
        goto out_failed;
    }
    fs_sha256_hex(data, len, r->hash);
    r->fmt = extract_detect(r->source, data, len);
    if (r->fmt == FORMAT_UNKNOWN && !r->named) {
        /* found in a folder (images, archives, ...): not a document, not a failure */
        report(r, r->source, FRUGAL_FILE_SKIPPED, "binary or unsupported format");
        return FRUGAL_OK;
    }
    if (r->fmt == FORMAT_UNKNOWN) {
        rc = err_set(&e, FRUGAL_EUNSUPPORTED, "unsupported format (binary data)");
        goto out_failed;
    }
    struct buf inflated;
    buf_init(&inflated, 0);
    if (fs_is_gzip(data, len)) {
        rc = fs_gunzip(data, len, r->xopts.max_bytes, &inflated, &e);
        if (rc != FRUGAL_OK) {
            buf_release(&inflated);
            goto out_failed;
        }
        data = inflated.ptr;
        len = inflated.len;
    }
    if (r->fmt != FORMAT_JSONL) {
        /* unchanged single-document file: skip before the costly extraction */
        struct document_row old;
        rc = store_document_find(r->st, r->coll.id, r->source, &old, &e);
        if (rc == FRUGAL_OK) {
            bool same = strcmp(old.content_hash, r->hash) == 0;
            document_row_release(&old);
            if (same) {
                buf_release(&inflated);
                report(r, r->source, FRUGAL_FILE_UNCHANGED, NULL);
                return track_source(r, r->source);
            }
        }
        rc = FRUGAL_OK;
    }
    rc = extract_buffer(r->fmt, data, len, &r->xopts, on_extracted, r, &e);
    buf_release(&inflated);
    if (rc == FRUGAL_OK || rc == FRUGAL_ENOMEM)
        return rc;
out_failed:
    if (rc == FRUGAL_ENOMEM)
        return rc;
    report(r, r->source, FRUGAL_FILE_FAILED, e.msg[0] ? e.msg : frugal_strerror(rc));
    if (r->track)
        return strvec_push(&r->failed, frugal_strdup(r->source));
    return FRUGAL_OK;
}

static frugal_status handle_file(struct run *r, const char *path)
{
    struct err e;
    err_clear(&e);
    char *real = fs_realpath(path);
    r->source = real != NULL ? real : path;
    struct stat st;
    frugal_status rc = FRUGAL_OK;
    if (stat(path, &st) != 0) {
        report(r, path, FRUGAL_FILE_FAILED, strerror(errno));
        goto out;
    }
    r->size = (int64_t)st.st_size;
    r->mtime = (int64_t)st.st_mtime;
    struct buf data;
    buf_init(&data, 0);
    rc = fs_read_file(path, r->xopts.max_bytes, &data, &e);
    if (rc == FRUGAL_OK) {
        rc = handle_input(r, data.ptr, data.len);
    } else if (rc != FRUGAL_ENOMEM) {
        /* fs messages start with the path: keep only the reason */
        const char *reason = e.msg;
        size_t plen = strlen(path);
        if (strncmp(reason, path, plen) == 0 && reason[plen] == ':')
            reason += plen + 2;
        report(r, r->source, FRUGAL_FILE_FAILED, reason);
        rc = r->track ? strvec_push(&r->failed, frugal_strdup(r->source)) : FRUGAL_OK;
    }
    buf_release(&data);
out:
    frugal_free(real);
    r->source = NULL;
    return rc;
}

static bool glob_any(const char *const *globs, size_t n, const char *name, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (fnmatch(globs[i], name, 0) == 0 || (path != NULL && fnmatch(globs[i], path, 0) == 0))
            return true;
    }
    return false;
}

/* Decides whether a file found while walking a folder is ingested; reports skips. */
static bool wanted(struct run *r, const char *path, const char *name)
{
    if (glob_any(r->p->exclude, r->p->n_exclude, name, path)) {
        report(r, path, FRUGAL_FILE_SKIPPED, "excluded");
        return false;
    }
    if (r->p->n_include > 0) {
        if (glob_any(r->p->include, r->p->n_include, name, NULL))
            return true;
        report(r, path, FRUGAL_FILE_SKIPPED, "not included");
        return false;
    }
    return true;
}

/* Collects the files under dir (recursively, sorted, hidden entries and symlinked folders
 * skipped) into files. */
static frugal_status walk(struct run *r, const char *dir, struct strvec *files, int depth)
{
    if (depth > 64)
        return FRUGAL_OK;
    DIR *d = opendir(dir);
    if (d == NULL) {
        report(r, dir, FRUGAL_FILE_FAILED, strerror(errno));
        return FRUGAL_OK;
    }
    struct strvec names = {0};
    frugal_status rc = FRUGAL_OK;
    struct dirent *de;
    while (rc == FRUGAL_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        rc = strvec_push(&names, frugal_strdup(de->d_name));
    }
    closedir(d);
    if (names.n > 0)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n && rc == FRUGAL_OK; i++) {
        struct buf path;
        buf_init(&path, 0);
        rc = buf_printf(&path, "W%s/%s", dir, names.v[i]);
        const char *p = path.ptr + 1;
        struct stat lst;
        struct stat st;
        if (rc == FRUGAL_OK && lstat(p, &lst) == 0 && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                if (!S_ISLNK(lst.st_mode))
                    rc = walk(r, p, files, depth + 1);
            } else if (S_ISREG(st.st_mode) && wanted(r, p, names.v[i])) {
                rc = strvec_push(files, buf_detach(&path));
            }
        }
        buf_release(&path);
    }
    strvec_release(&names);
    return rc;
}

static frugal_status run_init(struct run *r, struct store *st, struct embedder *emb,
                              const frugal_ingest_params *params, frugal_ingest_report *rep,
                              bool track, struct err *err)
{
    memset(r, 0, sizeof *r);
    memset(rep, 0, sizeof *rep);
    r->st = st;
    r->emb = emb;
    r->p = params;
    r->rep = rep;
    r->track = track;
    chunk_default_opts(&r->copts);
    if (params->chunk_tokens > 0)
        r->copts.target_tokens = params->chunk_tokens;
    r->copts.overlap_tokens = params->chunk_overlap;
    if (r->copts.overlap_tokens >= r->copts.target_tokens)
        return err_set(err, FRUGAL_EINVAL, "chunk overlap (%zu) must be below the chunk size (%zu)",
                       r->copts.overlap_tokens, r->copts.target_tokens);
    r->xopts.max_bytes = params->max_file_bytes > 0 ? params->max_file_bytes
                                                    : DEFAULT_MAX_FILE_BYTES;
    r->xopts.pdf_timeout_s = params->pdf_timeout_s > 0 ? params->pdf_timeout_s : 60;
    if (params->metadata_json != NULL) {
        char *probe = NULL;
        frugal_status rc = merge_metadata(r, NULL, &probe, err);
        frugal_free(probe);
        if (rc != FRUGAL_OK)
            return err_set(err, FRUGAL_EINVAL, "--metadata must be a JSON object: %s",
                           params->metadata_json);
    }
    const char *name = params->collection != NULL ? params->collection : "default";
    return store_collection_ensure(st, name, &r->coll, err);
}

static void run_release(struct run *r)
{
    collection_row_release(&r->coll);
    strvec_release(&r->seen);
    strvec_release(&r->failed);
}

struct sweep {
    struct run *r;
    struct strvec doomed_sources;
    int64_t *ids;
    size_t n, cap;
};

static bool under_failed_file(const struct run *r, const char *source)
{
    for (size_t i = 0; i < r->failed.n; i++) {
        size_t len = strlen(r->failed.v[i]);
        if (strncmp(source, r->failed.v[i], len) == 0 &&
            (source[len] == '\0' || source[len] == '#'))
            return true;
    }
    return false;
}

static frugal_status sweep_collect(void *ctx, const struct document_row *doc, int64_t n_chunks)
{
    struct sweep *s = ctx;
    if (strvec_sorted_has(&s->r->seen, doc->source) || under_failed_file(s->r, doc->source))
        return FRUGAL_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *ids = frugal_reallocarray(s->ids, cap, sizeof *ids);
        if (ids == NULL)
            return FRUGAL_ENOMEM;
        s->ids = ids;
        s->cap = cap;
    }
    frugal_status rc = strvec_push(&s->doomed_sources, frugal_strdup(doc->source));
    if (rc == FRUGAL_OK)
        s->ids[s->n++] = doc->id;
    return rc;
}

/* Deletes the documents under root that this run did not see. */
static frugal_status sweep(struct run *r, const char *root, struct err *err)
{
    if (r->seen.n > 0)
        qsort(r->seen.v, r->seen.n, sizeof *r->seen.v, cmp_str);
    struct sweep s = {.r = r};
    frugal_status rc = store_document_each(r->st, r->coll.id, root, 0, 0, sweep_collect, &s, err);
    for (size_t i = 0; i < s.n && rc == FRUGAL_OK; i++) {
        rc = store_begin(r->st, err);
        if (rc == FRUGAL_OK)
            rc = store_document_delete(r->st, s.ids[i], err);
        if (rc == FRUGAL_OK)
            rc = store_commit(r->st, err);
        else
            store_rollback(r->st);
        if (rc == FRUGAL_OK)
            report(r, s.doomed_sources.v[i], FRUGAL_FILE_DELETED, NULL);
    }
    frugal_free(s.ids);
    strvec_release(&s.doomed_sources);
    return rc;
}

frugal_status pipeline_run(struct store *st, struct embedder *emb, const char *const *paths,
                           size_t n_paths, bool sync, const frugal_ingest_params *params,
                           frugal_ingest_report *report_out, struct err *err)
{
    struct run r;
    struct strvec files = {0};
    char *root = NULL;
    frugal_status rc = run_init(&r, st, emb, params, report_out, sync, err);
    if (rc == FRUGAL_OK && sync) {
        struct stat sb;
        if (n_paths != 1 || stat(paths[0], &sb) != 0 || !S_ISDIR(sb.st_mode))
            rc = err_set(err, FRUGAL_ENOTFOUND, "%s: not a folder",
                         n_paths > 0 ? paths[0] : "(none)");
        else if ((root = fs_realpath(paths[0])) == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    /* files named by the caller are marked with a leading 'N', walked ones with 'W' */
    for (size_t i = 0; i < n_paths && rc == FRUGAL_OK; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            report(&r, paths[i], FRUGAL_FILE_FAILED, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            char *real = fs_realpath(paths[i]);
            rc = real != NULL ? walk(&r, real, &files, 0) : FRUGAL_ENOMEM;
            frugal_free(real);
        } else {
            struct buf b;
            buf_init(&b, 0);
            rc = buf_printf(&b, "N%s", paths[i]);
            rc = rc == FRUGAL_OK ? strvec_push(&files, buf_detach(&b)) : rc;
            buf_release(&b);
        }
    }
    for (size_t i = 0; i < files.n && rc == FRUGAL_OK; i++) {
        if (params->on_progress != NULL)
            params->on_progress(params->ctx, i, files.n);
        r.named = files.v[i][0] == 'N';
        rc = handle_file(&r, files.v[i] + 1);
    }
    if (rc == FRUGAL_OK && params->on_progress != NULL)
        params->on_progress(params->ctx, files.n, files.n);
    if (rc == FRUGAL_OK && sync)
        rc = sweep(&r, root, err);
    if (rc == FRUGAL_ENOMEM && err != NULL && err->code != FRUGAL_ENOMEM)
        err_set(err, rc, "out of memory");
    frugal_free(root);
    strvec_release(&files);
    run_release(&r);
    return rc;
}

frugal_status pipeline_buffer(struct store *st, struct embedder *emb, const char *name,
                              const void *data, size_t len, const frugal_ingest_params *params,
                              frugal_ingest_report *report_out, struct err *err)
{
    struct run r;
    frugal_status rc = run_init(&r, st, emb, params, report_out, false, err);
    if (rc == FRUGAL_OK) {
        r.source = name;
        r.named = true;
        r.size = (int64_t)len;
        r.mtime = 0;
        r.xopts.max_bytes = 0;
        rc = handle_input(&r, data, len);
        if (rc == FRUGAL_ENOMEM)
            err_set(err, rc, "out of memory");
    }
    run_release(&r);
    return rc;
}
