/*
 * api_documents.c - /v1/collections/{name}/documents (upload, list, get, delete) and
 * /v1/collections/{name}/ingest and /sync (server-side paths inside the configured roots).
 *
 * How: uploads go through frugal_ingest_buffer, either from the raw body (?name=, metadata in
 * ?metadata= or the X-Frugal-Metadata header) or from the "file" part of a multipart form
 * (with optional "name" and "metadata" fields). Every write answers with the ingestion report:
 * counts of added, updated, unchanged, deleted, failed and skipped documents and one entry per
 * document with its outcome and, for failures, the reason.
 *
 * Security: upload names must be relative and free of "." and ".." components
 * (api_name_ok). Server-side paths are resolved with realpath and must lie inside one of the
 * --root folders (which are realpath'd at start), so neither "../" nor a symbolic link leads
 * outside them; with no --root, ingest and sync are refused. The collection must exist: a
 * writer cannot create collections by uploading.
 *
 * Getting one document also returns its extracted text ("text", from frugal_document_text),
 * the text that citations' and hits' char_start/char_end point into, so a client can show a
 * cited passage in place.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "server.h"

static const char *const outcome_names[] = {"added",  "updated", "unchanged",
                                            "deleted", "failed",  "skipped"};

static void on_file(void *ctx, const char *source, frugal_file_outcome outcome,
                    const char *reason)
{
    cJSON *files = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", source != NULL ? source : "");
    cJSON_AddStringToObject(o, "outcome",
                            (unsigned)outcome < 6 ? outcome_names[outcome] : "unknown");
    if (reason != NULL)
        cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddItemToArray(files, o);
}

static cJSON *report_json(const frugal_ingest_report *r, cJSON *files)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "added", (double)r->added);
    cJSON_AddNumberToObject(root, "updated", (double)r->updated);
    cJSON_AddNumberToObject(root, "unchanged", (double)r->unchanged);
    cJSON_AddNumberToObject(root, "deleted", (double)r->deleted);
    cJSON_AddNumberToObject(root, "failed", (double)r->failed);
    cJSON_AddNumberToObject(root, "skipped", (double)r->skipped);
    cJSON_AddNumberToObject(root, "chunks_written", (double)r->chunks_written);
    cJSON_AddItemToObject(root, "files", files);
    return root;
}

/* The collection of the path, allowed for the key and existing; false after a reply. */
static bool collection_ok(struct request *rq, struct response *rs)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    size_t i = 0;
    if (!api_allow_collection(rq, rs, rq->params[0]))
        return false;
    if (!api_collection_lookup(rq, rs, rq->params[0], &list, &n, &i))
        return false;
    frugal_collection_list_free(list, n);
    return true;
}

/* Checks metadata text is a JSON object; false after a 400. */
static bool metadata_ok(struct response *rs, const char *text)
{
    if (text == NULL)
        return true;
    cJSON *v = api_utf8_valid(text, strlen(text)) ? cJSON_Parse(text) : NULL;
    bool ok = cJSON_IsObject(v);
    cJSON_Delete(v);
    if (!ok)
        api_reply_error(rs, 400, "invalid_request", "metadata must be a JSON object");
    return ok;
}

void api_documents_upload(struct request *rq, struct response *rs)
{
    if (!collection_ok(rq, rs))
        return;
    const char *name;
    const char *data;
    size_t len;
    const char *metadata;
    if (rq->multipart) {
        if (rq->upload_data == NULL) {
            api_reply_error(rs, 400, "invalid_request", "the form has no 'file' part");
            return;
        }
        name = rq->upload_name;
        data = rq->upload_data;
        len = rq->upload_len;
        metadata = rq->upload_metadata;
    } else {
        name = api_query_arg(rq, "name");
        data = rq->body != NULL ? rq->body : "";
        len = rq->body_len;
        metadata = api_query_arg(rq, "metadata");
        if (metadata == NULL)
            metadata = api_header(rq, "X-Frugal-Metadata");
    }
    if (name == NULL) {
        api_reply_error(rs, 400, "invalid_request",
                        "a document name is required (?name=, or the file name of the upload)");
        return;
    }
    if (!api_name_ok(name)) {
        api_reply_error(rs, 400, "invalid_request",
                        "document name '%s' is not allowed: it must be relative UTF-8 without "
                        "'.' or '..' components, backslashes or control characters",
                        name);
        return;
    }
    if (!metadata_ok(rs, metadata))
        return;
    cJSON *files = cJSON_CreateArray();
    frugal_ingest_params params;
    frugal_ingest_default_params(&params);
    params.collection = rq->params[0];
    params.metadata_json = metadata;
    params.max_file_bytes = rq->cfg->max_body;
    params.on_file = on_file;
    params.ctx = files;
    frugal_ingest_report report;
    memset(&report, 0, sizeof report);
    frugal_status st = frugal_ingest_buffer(rq->db, name, data, len, &params, &report);
    if (st != FRUGAL_OK && report.failed == 0) {
        cJSON_Delete(files);
        api_reply_status(rs, rq->db, st);
        return;
    }
    api_reply_json(rs, report.failed > 0 ? 422 : report.added > 0 ? 201 : 200,
                   report_json(&report, files));
}

/* Resolves a requested server-side path inside the roots into out (PATH_MAX); false after a
 * reply. */
static bool resolve_path(struct request *rq, struct response *rs, const char *path, char *out)
{
    const struct server_config *cfg = rq->cfg;
    if (cfg->n_roots == 0) {
        api_reply_error(rs, 403, "forbidden",
                        "ingesting server-side paths is disabled; start the server with --root");
        return false;
    }
    size_t len = strlen(path);
    bool dotdot = false;
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        bool starts = p == path || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            dotdot = true;
    }
    if (len == 0 || dotdot || !api_utf8_valid(path, len)) {
        api_reply_error(rs, 400, "invalid_request",
                        "path '%s' is not allowed: no '..' components", path);
        return false;
    }
    char joined[PATH_MAX];
    int n = path[0] == '/' ? snprintf(joined, sizeof joined, "%s", path)
                           : snprintf(joined, sizeof joined, "%s/%s", cfg->roots[0], path);
    if (n < 0 || (size_t)n >= sizeof joined) {
        api_reply_error(rs, 400, "invalid_request", "path too long");
        return false;
    }
    if (realpath(joined, out) == NULL) {
        api_reply_error(rs, errno == ENOENT ? 404 : 400, "not_found", "%s: %s", path,
                        strerror(errno));
        return false;
    }
    for (size_t i = 0; i < cfg->n_roots; i++) {
        size_t rl = strlen(cfg->roots[i]);
        if (strncmp(out, cfg->roots[i], rl) == 0 &&
            (out[rl] == '\0' || out[rl] == '/' || (rl == 1 && cfg->roots[i][0] == '/')))
            return true;
    }
    api_reply_error(rs, 400, "invalid_request", "path '%s' is outside the allowed roots", path);
    return false;
}

static void ingest_or_sync(struct request *rq, struct response *rs, bool sync)
{
    if (!collection_ok(rq, rs))
        return;
    struct api_paths_req req;
    char msg[256];
    if (!api_parse_paths(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_paths_req_release(&req);
        return;
    }
    if (sync && req.n_paths != 1) {
        api_reply_error(rs, 400, "invalid_request", "sync takes one 'path'");
        api_paths_req_release(&req);
        return;
    }
    char **resolved = calloc(req.n_paths, sizeof *resolved);
    bool ok = resolved != NULL;
    if (!ok)
        api_reply_error(rs, 500, "internal", "out of memory");
    for (size_t i = 0; ok && i < req.n_paths; i++) {
        resolved[i] = malloc(PATH_MAX);
        if (resolved[i] == NULL) {
            api_reply_error(rs, 500, "internal", "out of memory");
            ok = false;
        } else {
            ok = resolve_path(rq, rs, req.paths[i], resolved[i]);
        }
    }
    if (ok) {
        cJSON *files = cJSON_CreateArray();
        frugal_ingest_params params;
        frugal_ingest_default_params(&params);
        params.collection = rq->params[0];
        params.metadata_json = req.metadata_json;
        params.on_file = on_file;
        params.ctx = files;
        frugal_ingest_report report;
        memset(&report, 0, sizeof report);
        frugal_status st =
            sync ? frugal_sync(rq->db, resolved[0], &params, &report)
                 : frugal_ingest(rq->db, (const char *const *)resolved, req.n_paths, &params,
                                 &report);
        if (st != FRUGAL_OK) {
            cJSON_Delete(files);
            api_reply_status(rs, rq->db, st);
        } else {
            api_reply_json(rs, report.failed > 0 ? 422 : 200, report_json(&report, files));
        }
    }
    for (size_t i = 0; resolved != NULL && i < req.n_paths; i++)
        free(resolved[i]);
    free(resolved);
    api_paths_req_release(&req);
}

void api_documents_ingest(struct request *rq, struct response *rs)
{
    ingest_or_sync(rq, rs, false);
}

void api_documents_sync(struct request *rq, struct response *rs)
{
    ingest_or_sync(rq, rs, true);
}

static cJSON *document_json(const frugal_document_info *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)d->id);
    cJSON_AddStringToObject(o, "collection", d->collection);
    cJSON_AddStringToObject(o, "source", d->source);
    cJSON_AddItemToObject(o, "ext_id", api_string_or_null(d->ext_id));
    cJSON_AddItemToObject(o, "title", api_string_or_null(d->title));
    cJSON_AddItemToObject(o, "content_hash", api_string_or_null(d->content_hash));
    cJSON_AddItemToObject(o, "metadata", api_metadata(d->metadata_json));
    cJSON_AddNumberToObject(o, "size", (double)d->size);
    cJSON_AddNumberToObject(o, "mtime", (double)d->mtime);
    cJSON_AddNumberToObject(o, "chunks", (double)d->n_chunks);
    return o;
}

/* A whole non-negative decimal number from text, at most max; false otherwise. */
static bool parse_count(const char *text, long long max, long long *out)
{
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

void api_documents_list(struct request *rq, struct response *rs)
{
    if (!collection_ok(rq, rs))
        return;
    long long offset = 0;
    long long limit = 100;
    const char *o = api_query_arg(rq, "offset");
    const char *l = api_query_arg(rq, "limit");
    if ((o != NULL && !parse_count(o, 1LL << 40, &offset)) ||
        (l != NULL && (!parse_count(l, 1000, &limit) || limit == 0))) {
        api_reply_error(rs, 400, "invalid_request",
                        "offset must be a number >= 0 and limit a number from 1 to 1000");
        return;
    }
    frugal_document_info *docs = NULL;
    size_t n = 0;
    frugal_status st =
        frugal_document_list(rq->db, rq->params[0], (size_t)offset, (size_t)limit, &docs, &n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "documents");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, document_json(&docs[i]));
    cJSON_AddNumberToObject(root, "offset", (double)offset);
    cJSON_AddNumberToObject(root, "limit", (double)limit);
    if ((long long)n == limit)
        cJSON_AddNumberToObject(root, "next_offset", (double)(offset + limit));
    else
        cJSON_AddNullToObject(root, "next_offset");
    frugal_document_list_free(docs, n);
    api_reply_json(rs, 200, root);
}

static bool document_id(struct request *rq, struct response *rs, long long *id)
{
    if (!parse_count(rq->params[1], INT64_MAX, id) || *id == 0) {
        api_reply_error(rs, 400, "invalid_request", "document id must be a positive number");
        return false;
    }
    return true;
}

void api_documents_get(struct request *rq, struct response *rs)
{
    long long id = 0;
    if (!collection_ok(rq, rs) || !document_id(rq, rs, &id))
        return;
    /* The public API lists in id order; page through until the id is passed. */
    for (size_t offset = 0;; offset += 500) {
        frugal_document_info *docs = NULL;
        size_t n = 0;
        frugal_status st = frugal_document_list(rq->db, rq->params[0], offset, 500, &docs, &n);
        if (st != FRUGAL_OK) {
            api_reply_status(rs, rq->db, st);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (docs[i].id == id) {
                char *text = NULL;
                st = frugal_document_text(rq->db, rq->params[0], id, &text, NULL);
                if (st != FRUGAL_OK) {
                    api_reply_status(rs, rq->db, st);
                } else {
                    cJSON *o = document_json(&docs[i]);
                    cJSON_AddStringToObject(o, "text", text);
                    api_reply_json(rs, 200, o);
                }
                frugal_free(text);
                frugal_document_list_free(docs, n);
                return;
            }
        }
        bool last = n < 500 || (n > 0 && docs[n - 1].id > id);
        frugal_document_list_free(docs, n);
        if (last)
            break;
    }
    api_reply_error(rs, 404, "not_found", "no document %lld in collection '%s'", id,
                    rq->params[0]);
}

void api_documents_delete(struct request *rq, struct response *rs)
{
    long long id = 0;
    if (!collection_ok(rq, rs) || !document_id(rq, rs, &id))
        return;
    frugal_status st = frugal_document_delete(rq->db, rq->params[0], (int64_t)id);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    frugal_ingest_report report;
    memset(&report, 0, sizeof report);
    report.deleted = 1;
    cJSON *files = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "outcome", "deleted");
    cJSON_AddItemToArray(files, o);
    api_reply_json(rs, 200, report_json(&report, files));
}
