/*
 * extract_jsonl.c - JSON Lines corpora (BEIR style), one document per line, with cJSON.
 *
 * What: each non-blank line is an object {"_id": string or number, "title": string?,
 * "text": string, "metadata": object?}. _id becomes ext_id (a number as its shortest text,
 * 42 -> "42"), title the title, text paragraphs split at blank lines, metadata its compact
 * JSON text; raw/raw_len point at the line. A bad record (not JSON, not an object, no usable
 * _id, text not a string, title not a string, metadata not an object, nothing to index) is
 * reported through emit with FRUGAL_ECORRUPT (FRUGAL_EEMPTY for a record without any text)
 * and "line N: ..." and the next line is read. A record with a title and empty text is a
 * document without blocks (its title is its only text).
 *
 * How: lines are found with memchr and parsed in place by length (cJSON_ParseWithLengthOpts,
 * which also says where parsing stopped), so no copy of the line is made. cJSON bounds its
 * nesting at 1000 levels. When the first 100 records are all bad the input is not JSONL and
 * reading stops with ECORRUPT, instead of reporting every line of, say, a CSV file.
 *
 * Why: corpora such as BEIR's are JSONL, and one bad line must not cost the whole corpus.
 * cJSON allocates with its own hooks (malloc unless the program set others); we never change
 * them. Reentrant.
 */
#include <cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ingest/extract.h"

#define JSONL_GIVE_UP 100   /* bad records in a row, with no good one yet, that end the file */

struct record_err {
    frugal_status code;
    char msg[256];
};

static frugal_status bad(struct record_err *e, frugal_status code, size_t line_no,
                         const char *id, const char *what)
{
    e->code = code;
    if (id != NULL)
        snprintf(e->msg, sizeof e->msg, "line %zu (_id \"%.60s\"): %s", line_no, id, what);
    else
        snprintf(e->msg, sizeof e->msg, "line %zu: %s", line_no, what);
    return code;
}

/* The record's _id as text, owned; NULL with e set when missing or of the wrong type. */
static char *record_id(const cJSON *item, size_t line_no, struct record_err *e)
{
    char num[64];
    if (item == NULL) {
        bad(e, FRUGAL_ECORRUPT, line_no, NULL, "no \"_id\"");
        return NULL;
    }
    if (cJSON_IsString(item)) {
        if (item->valuestring[0] == '\0') {
            bad(e, FRUGAL_ECORRUPT, line_no, NULL, "\"_id\" is empty");
            return NULL;
        }
        char *id = frugal_strdup(item->valuestring);
        if (id == NULL)
            e->code = FRUGAL_ENOMEM;
        return id;
    }
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
        bad(e, FRUGAL_ECORRUPT, line_no, NULL, "\"_id\" is not a string or a number");
        return NULL;
    }
    double v = item->valuedouble;
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else
        snprintf(num, sizeof num, "%.17g", v);
    char *id = frugal_strdup(num);
    if (id == NULL)
        e->code = FRUGAL_ENOMEM;
    return id;
}

/* Fills doc from the JSON object root; returns OK, or the record's error (in e). */
static frugal_status record_fill(const cJSON *root, size_t line_no, struct extracted *doc,
                                 struct record_err *e)
{
    doc->ext_id = record_id(cJSON_GetObjectItemCaseSensitive(root, "_id"), line_no, e);
    if (doc->ext_id == NULL)
        return e->code;
    const char *id = doc->ext_id;
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (text == NULL)
        return bad(e, FRUGAL_ECORRUPT, line_no, id, "no \"text\"");
    if (!cJSON_IsString(text))
        return bad(e, FRUGAL_ECORRUPT, line_no, id, "\"text\" is not a string");
    if (title != NULL && !cJSON_IsNull(title) && !cJSON_IsString(title))
        return bad(e, FRUGAL_ECORRUPT, line_no, id, "\"title\" is not a string");
    if (meta != NULL && !cJSON_IsNull(meta) && !cJSON_IsObject(meta))
        return bad(e, FRUGAL_ECORRUPT, line_no, id, "\"metadata\" is not an object");
    if (cJSON_IsString(title)) {
        const char *t = title->valuestring;
        size_t a = strspn(t, " \t\r\n");
        size_t n = strlen(t);
        while (n > a && strchr(" \t\r\n", t[n - 1]) != NULL)
            n--;
        if (n > a) {
            doc->title = frugal_strndup(t + a, n - a);
            if (doc->title == NULL)
                return e->code = FRUGAL_ENOMEM;
        }
    }
    if (cJSON_IsObject(meta)) {
        char *json = cJSON_PrintUnformatted(meta);
        if (json == NULL)
            return e->code = FRUGAL_ENOMEM;
        doc->metadata_json = frugal_strdup(json);
        cJSON_free(json);
        if (doc->metadata_json == NULL)
            return e->code = FRUGAL_ENOMEM;
    }
    frugal_status rc = extract_add_paragraphs(doc, BLOCK_PARAGRAPH, text->valuestring,
                                              strlen(text->valuestring));
    if (rc != FRUGAL_OK)
        return e->code = rc;
    if (doc->n_blocks == 0 && doc->title == NULL)
        return bad(e, FRUGAL_EEMPTY, line_no, id, "no text");
    return FRUGAL_OK;
}

static frugal_status parse_record(const char *line, size_t n, size_t line_no,
                                  struct extracted *doc, struct record_err *e)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, n, &end, false);
    if (root == NULL) {
        char what[64];
        size_t col = end != NULL && end >= line && end <= line + n ? (size_t)(end - line) + 1 : 0;
        if (col > 0)
            snprintf(what, sizeof what, "not valid JSON (at column %zu)", col);
        else
            snprintf(what, sizeof what, "not valid JSON");
        return bad(e, FRUGAL_ECORRUPT, line_no, NULL, what);
    }
    frugal_status rc;
    if (!cJSON_IsObject(root))
        rc = bad(e, FRUGAL_ECORRUPT, line_no, NULL, "not a JSON object");
    else
        rc = record_fill(root, line_no, doc, e);
    cJSON_Delete(root);
    return rc;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

frugal_status extract_jsonl(const char *data, size_t len, const struct extract_opts *opts,
                            extract_emit_fn emit, void *ctx, struct err *err)
{
    size_t pos = 0;
    size_t line_no = 0;
    size_t n_records = 0;
    size_t n_good = 0;
    size_t n_bad = 0;
    struct record_err last = {FRUGAL_OK, ""};
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl == NULL ? len : (size_t)(nl - data);
        const char *line = data + pos;
        size_t n = end - pos;
        pos = end + 1;
        line_no++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (blank(line, n))
            continue;
        n_records++;
        struct extracted doc;
        extracted_init(&doc);
        struct record_err e = {FRUGAL_OK, ""};
        frugal_status rc = parse_record(line, n, line_no, &doc, &e);
        if (rc == FRUGAL_ENOMEM || rc == FRUGAL_ETOOBIG) {
            extracted_release(&doc);
            return err_set(err, rc, "line %zu: %s", line_no,
                           rc == FRUGAL_ENOMEM ? "out of memory" : "record too big");
        }
        if (rc == FRUGAL_OK) {
            doc.raw = line;
            doc.raw_len = n;
            n_good++;
            rc = emit(ctx, &doc, FRUGAL_OK, NULL);
        } else {
            n_bad++;
            last = e;
            rc = emit(ctx, NULL, e.code, e.msg);
        }
        extracted_release(&doc);
        if (rc != FRUGAL_OK) {
            if (err == NULL || err->code != rc)
                err_set(err, rc, "extraction stopped by the document callback at line %zu (%s)",
                        line_no, frugal_strerror(rc));
            return rc;
        }
        if (n_good == 0 && n_bad >= JSONL_GIVE_UP)
            return err_set(err, FRUGAL_ECORRUPT,
                           "not JSONL: the first %d records are all invalid (%s)",
                           JSONL_GIVE_UP, last.msg);
    }
    if (n_records == 0)
        return err_set(err, FRUGAL_EEMPTY, "no records (the file is empty)");
    return FRUGAL_OK;
}
