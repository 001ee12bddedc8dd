/*
 * api_json.c - the JSON edge of the HTTP API: request bodies into C structs (api_json.h).
 *
 * How: cJSON parses the whole body (the server bounds its size first); each parser then walks
 * the object field by field, accepting only the documented names' types and copying strings
 * out, so that the handlers see plain C structs and JSON exists nowhere past this edge. Bodies
 * are checked for UTF-8 first, because cJSON passes invalid bytes through unchanged. Unknown
 * fields are ignored (clients add fields over time); a known field of the wrong type is an
 * error naming the field.
 *
 * Why separate from the handlers: the fuzz target (tests/fuzz/fuzz_api_json.c) drives these
 * functions without a server, and every handler reads its request the same way.
 *
 * Threading: no shared state; any thread may call any function.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "api_json.h"

static bool fail(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap > 0)
        vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* The index in names[0..n) (n = 3) of value, into *index; false with msg saying what field
 * takes when it is none of them. */
static bool pick_name(const char *field, const char *value, const char *const names[3],
                      size_t *index, char *msg, size_t cap)
{
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(value, names[i]) == 0) {
            *index = i;
            return true;
        }
    }
    return fail(msg, cap, "field '%s' must be \"%s\", \"%s\" or \"%s\"", field, names[0],
                names[1], names[2]);
}

bool api_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t j = 1; j <= n; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool api_name_ok(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len > 1024 || name[0] == '/' || !api_utf8_valid(name, len))
        return false;
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (*p == '\0')
                break;
            seg = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return false;
        }
    }
    return true;
}

/* Parses body into a JSON object; NULL (with msg) when it is not one. */
static cJSON *parse_object(const char *body, size_t len, char *msg, size_t cap)
{
    if (body == NULL || len == 0) {
        fail(msg, cap, "the request body is empty; a JSON object was expected");
        return NULL;
    }
    if (!api_utf8_valid(body, len)) {
        fail(msg, cap, "the request body is not valid UTF-8");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    while (root != NULL && end < body + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (root != NULL && end != body + len) { /* trailing bytes after the value */
        cJSON_Delete(root);
        root = NULL;
    }
    if (root == NULL) {
        fail(msg, cap, "the request body is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fail(msg, cap, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

/* Copies the string field `name` into *out (absent or null: left NULL). */
static bool get_string(const cJSON *obj, const char *name, bool required, char **out, char *msg,
                       size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL || cJSON_IsNull(v)) {
        if (required)
            return fail(msg, cap, "field '%s' is required", name);
        return true;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return fail(msg, cap, "field '%s' must be a string", name);
    *out = strdup(v->valuestring);
    if (*out == NULL)
        return fail(msg, cap, "out of memory");
    return true;
}

/* A number field in [min, max]; absent leaves *out alone. */
static bool get_number(const cJSON *obj, const char *name, double min, double max, double *out,
                       char *msg, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max)
        return fail(msg, cap, "field '%s' must be a number from %g to %g", name, min, max);
    *out = v->valuedouble;
    return true;
}

/* A whole-number field in [min, max]; absent leaves *out alone. */
static bool get_whole(const cJSON *obj, const char *name, double min, double max, size_t *out,
                      char *msg, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max || v->valuedouble != floor(v->valuedouble))
        return fail(msg, cap, "field '%s' must be a whole number from %g to %g", name, min, max);
    *out = (size_t)v->valuedouble;
    return true;
}

/* "rerank_top_n" (0..API_MAX_RERANK_TOP) and "rerank_budget_ms" (-1..API_MAX_RERANK_BUDGET_MS),
 * shared by search, ask and chat completions; absent ones leave *top_n and *budget_ms alone. */
#define API_MAX_RERANK_TOP 10000
#define API_MAX_RERANK_BUDGET_MS 600000.0
static bool get_rerank(const cJSON *obj, size_t *top_n, double *budget_ms, char *msg, size_t cap)
{
    return get_whole(obj, "rerank_top_n", 0, API_MAX_RERANK_TOP, top_n, msg, cap) &&
           get_number(obj, "rerank_budget_ms", -1, API_MAX_RERANK_BUDGET_MS, budget_ms, msg,
                      cap);
}

/* A string or an array of strings into a new array (1..API_MAX_LIST entries). */
static bool get_strings(const cJSON *v, const char *name, char ***out, size_t *n_out, char *msg,
                        size_t cap)
{
    size_t n = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return fail(msg, cap, "field '%s' must be a string or an array of strings", name);
    if (n > API_MAX_LIST)
        return fail(msg, cap, "field '%s' has more than %d entries", name, API_MAX_LIST);
    char **list = calloc(n > 0 ? n : 1, sizeof *list);
    if (list == NULL)
        return fail(msg, cap, "out of memory");
    *out = list;
    *n_out = 0;
    if (cJSON_IsString(v)) {
        list[0] = strdup(v->valuestring);
        if (list[0] == NULL)
            return fail(msg, cap, "out of memory");
        *n_out = 1;
        return true;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || e->valuestring == NULL)
            return fail(msg, cap, "field '%s' must hold only strings", name);
        list[*n_out] = strdup(e->valuestring);
        if (list[*n_out] == NULL)
            return fail(msg, cap, "out of memory");
        (*n_out)++;
    }
    return true;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* A scalar filter value as text, the way the store compares it. */
static char *scalar_text(const cJSON *v)
{
    char tmp[64];
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9.0e15)
            snprintf(tmp, sizeof tmp, "%lld", (long long)d);
        else
            snprintf(tmp, sizeof tmp, "%.17g", d);
        return strdup(tmp);
    }
    return NULL;
}

static bool parse_filters(const cJSON *f, frugal_filter **filters_out, size_t *n_out, char *msg,
                          size_t cap)
{
    if (f == NULL || cJSON_IsNull(f))
        return true;
    if (!cJSON_IsObject(f))
        return fail(msg, cap, "field 'filters' must be an object {key: value or [values]}");
    size_t n = (size_t)cJSON_GetArraySize(f);
    if (n > API_MAX_FILTERS)
        return fail(msg, cap, "at most %d filters", API_MAX_FILTERS);
    *filters_out = calloc(n > 0 ? n : 1, sizeof **filters_out);
    if (*filters_out == NULL)
        return fail(msg, cap, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, f)
    {
        frugal_filter *flt = &(*filters_out)[*n_out];
        size_t nv = cJSON_IsArray(e) ? (size_t)cJSON_GetArraySize(e) : 1;
        if (nv == 0 || nv > API_MAX_FILTER_VALUES)
            return fail(msg, cap, "filter '%s' needs 1 to %d values", e->string,
                        API_MAX_FILTER_VALUES);
        const char **values = calloc(nv, sizeof *values);
        char *key = strdup(e->string);
        if (values == NULL || key == NULL) {
            free(values);
            free(key);
            return fail(msg, cap, "out of memory");
        }
        flt->key = key;
        flt->values = values;
        (*n_out)++;
        if (!cJSON_IsArray(e)) {
            values[0] = scalar_text(e);
            if (values[0] == NULL)
                return fail(msg, cap, "filter '%s' must be a string, number, boolean or an "
                                      "array of those", e->string);
            flt->n_values = 1;
            continue;
        }
        const cJSON *x;
        cJSON_ArrayForEach(x, e)
        {
            values[flt->n_values] = scalar_text(x);
            if (values[flt->n_values] == NULL)
                return fail(msg, cap, "filter '%s' values must be strings, numbers or booleans",
                            e->string);
            flt->n_values++;
        }
    }
    return true;
}

bool api_parse_search(const char *body, size_t len, struct api_search_req *out, char *msg,
                      size_t cap)
{
    memset(out, 0, sizeof *out);
    out->k = 10;
    out->mode = FRUGAL_SEARCH_BM25;
    out->rerank_budget_ms = FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS;
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    double k = 10;
    char *mode = NULL;
    bool ok = get_string(root, "query", true, &out->query, msg, cap) &&
              get_string(root, "collection", false, &out->collection, msg, cap) &&
              get_number(root, "k", 1, 10000, &k, msg, cap) &&
              get_string(root, "mode", false, &mode, msg, cap) &&
              get_rerank(root, &out->rerank_top_n, &out->rerank_budget_ms, msg, cap) &&
              parse_filters(cJSON_GetObjectItemCaseSensitive(root, "filters"), &out->filters,
                            &out->n_filters, msg, cap);
    if (ok && k != floor(k))
        ok = fail(msg, cap, "field 'k' must be a whole number");
    out->k = (size_t)k;
    if (ok && mode != NULL) {
        static const char *const names[3] = {"bm25", "dense", "hybrid"};
        static const frugal_search_mode modes[3] = {FRUGAL_SEARCH_BM25, FRUGAL_SEARCH_DENSE,
                                                    FRUGAL_SEARCH_HYBRID};
        size_t i = 0;
        ok = pick_name("mode", mode, names, &i, msg, cap);
        if (ok)
            out->mode = modes[i];
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "group_by_document");
    if (ok && g != NULL && !cJSON_IsNull(g)) {
        if (!cJSON_IsBool(g))
            ok = fail(msg, cap, "field 'group_by_document' must be a boolean");
        else
            out->group_by_document = cJSON_IsTrue(g);
    }
    free(mode);
    cJSON_Delete(root);
    return ok;
}

static void free_filters(frugal_filter *filters, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < filters[i].n_values; j++)
            free((char *)filters[i].values[j]);
        free((void *)filters[i].values);
        free((char *)filters[i].key);
    }
    free(filters);
}

void api_search_req_release(struct api_search_req *r)
{
    free(r->query);
    free(r->collection);
    free_filters(r->filters, r->n_filters);
    memset(r, 0, sizeof *r);
}

/* An answer mode name into *out; false with msg set when it is none of the three. */
static bool parse_ask_mode(const char *mode, frugal_ask_mode *out, char *msg, size_t cap)
{
    static const char *const names[3] = {"auto", "extractive", "generate"};
    static const frugal_ask_mode modes[3] = {FRUGAL_ASK_AUTO, FRUGAL_ASK_EXTRACTIVE,
                                             FRUGAL_ASK_GENERATE};
    size_t i = 0;
    if (!pick_name("mode", mode, names, &i, msg, cap))
        return false;
    *out = modes[i];
    return true;
}

bool api_parse_ask(const char *body, size_t len, struct api_ask_req *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->mode = FRUGAL_ASK_AUTO;
    out->min_confidence = -1;
    out->rerank_budget_ms = FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS;
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    double k = 0;
    char *mode = NULL;
    bool ok = get_string(root, "question", true, &out->question, msg, cap) &&
              get_string(root, "collection", false, &out->collection, msg, cap) &&
              get_number(root, "k", 1, 100, &k, msg, cap) &&
              get_number(root, "min_confidence", 0, 1, &out->min_confidence, msg, cap) &&
              get_string(root, "mode", false, &mode, msg, cap) &&
              get_number(root, "cache_similarity", 0, 2, &out->cache_similarity, msg, cap) &&
              get_rerank(root, &out->rerank_top_n, &out->rerank_budget_ms, msg, cap) &&
              parse_filters(cJSON_GetObjectItemCaseSensitive(root, "filters"), &out->filters,
                            &out->n_filters, msg, cap);
    if (ok && k != floor(k))
        ok = fail(msg, cap, "field 'k' must be a whole number");
    out->k = (size_t)k;
    if (ok && mode != NULL)
        ok = parse_ask_mode(mode, &out->mode, msg, cap);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (ok && st != NULL && !cJSON_IsNull(st)) {
        if (!cJSON_IsBool(st))
            ok = fail(msg, cap, "field 'stream' must be a boolean");
        else
            out->stream = cJSON_IsTrue(st);
    }
    free(mode);
    cJSON_Delete(root);
    return ok;
}

void api_ask_req_release(struct api_ask_req *r)
{
    free(r->question);
    free(r->collection);
    free_filters(r->filters, r->n_filters);
    memset(r, 0, sizeof *r);
}

/* The text of a chat message's content (a string, or text parts joined) as a new string; NULL
 * with msg set when it has another shape. */
static char *message_text(const cJSON *content, char *msg, size_t cap)
{
    if (cJSON_IsString(content) && content->valuestring != NULL) {
        char *t = strdup(content->valuestring);
        if (t == NULL)
            fail(msg, cap, "out of memory");
        return t;
    }
    if (!cJSON_IsArray(content)) {
        fail(msg, cap, "a message's 'content' must be a string or an array of parts");
        return NULL;
    }
    size_t len = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(text) && text->valuestring != NULL)
            len += strlen(text->valuestring) + 1;
    }
    char *t = malloc(len + 1);
    if (t == NULL) {
        fail(msg, cap, "out of memory");
        return NULL;
    }
    size_t used = 0;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(text) || text->valuestring == NULL)
            continue;
        size_t n = strlen(text->valuestring);
        if (used > 0)
            t[used++] = '\n';
        memcpy(t + used, text->valuestring, n);
        used += n;
    }
    t[used] = '\0';
    return t;
}

bool api_parse_chat(const char *body, size_t len, struct api_chat_req *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->rerank_budget_ms = FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS;
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    double max_tokens = 0;
    char *mode = NULL;
    bool ok = get_string(root, "model", true, &out->model, msg, cap) &&
              get_number(root, "max_tokens", 1, 1000000, &max_tokens, msg, cap) &&
              get_number(root, "max_completion_tokens", 1, 1000000, &max_tokens, msg, cap) &&
              get_string(root, "mode", false, &mode, msg, cap) &&
              get_number(root, "cache_similarity", 0, 2, &out->cache_similarity, msg, cap) &&
              get_rerank(root, &out->rerank_top_n, &out->rerank_budget_ms, msg, cap);
    out->mode = FRUGAL_ASK_AUTO;
    if (ok && mode != NULL)
        ok = parse_ask_mode(mode, &out->mode, msg, cap);
    free(mode);
    if (ok && max_tokens != floor(max_tokens))
        ok = fail(msg, cap, "field 'max_tokens' must be a whole number");
    out->max_tokens = (int)max_tokens;
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (ok && !cJSON_IsArray(messages))
        ok = fail(msg, cap, "field 'messages' must be an array of messages");
    const cJSON *last_user = NULL;
    const cJSON *m;
    if (ok) {
        cJSON_ArrayForEach(m, messages)
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            if (!cJSON_IsObject(m) || !cJSON_IsString(role) || role->valuestring == NULL) {
                ok = fail(msg, cap, "every message must be an object with a string 'role'");
                break;
            }
            if (strcmp(role->valuestring, "user") == 0)
                last_user = m;
        }
    }
    if (ok && last_user == NULL)
        ok = fail(msg, cap, "field 'messages' holds no message with role \"user\"");
    if (ok) {
        out->question =
            message_text(cJSON_GetObjectItemCaseSensitive(last_user, "content"), msg, cap);
        ok = out->question != NULL;
    }
    if (ok && out->question[strspn(out->question, " \t\r\n")] == '\0')
        ok = fail(msg, cap, "the last user message is empty");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (ok && st != NULL && !cJSON_IsNull(st)) {
        if (!cJSON_IsBool(st))
            ok = fail(msg, cap, "field 'stream' must be a boolean");
        else
            out->stream = cJSON_IsTrue(st);
    }
    cJSON_Delete(root);
    return ok;
}

void api_chat_req_release(struct api_chat_req *r)
{
    free(r->model);
    free(r->question);
    memset(r, 0, sizeof *r);
}

bool api_parse_collection(const char *body, size_t len, struct api_collection_req *out,
                          char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->k1 = -1;
    out->b = -1;
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    bool ok = get_string(root, "name", true, &out->name, msg, cap) &&
              get_string(root, "language", false, &out->language, msg, cap) &&
              get_string(root, "stopwords", false, &out->stopwords, msg, cap) &&
              get_string(root, "embedder", false, &out->embedder, msg, cap) &&
              get_string(root, "vector_type", false, &out->vector_type, msg, cap) &&
              get_number(root, "k1", 0, 100, &out->k1, msg, cap) &&
              get_number(root, "b", 0, 1, &out->b, msg, cap);
    cJSON_Delete(root);
    return ok;
}

void api_collection_req_release(struct api_collection_req *r)
{
    free(r->name);
    free(r->language);
    free(r->stopwords);
    free(r->embedder);
    free(r->vector_type);
    memset(r, 0, sizeof *r);
}

bool api_parse_paths(const char *body, size_t len, struct api_paths_req *out, char *msg,
                     size_t cap)
{
    memset(out, 0, sizeof *out);
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    bool ok = true;
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(root, "paths");
    if (paths == NULL)
        paths = cJSON_GetObjectItemCaseSensitive(root, "path");
    if (paths == NULL)
        ok = fail(msg, cap, "field 'path' or 'paths' is required");
    else
        ok = get_strings(paths, paths->string, &out->paths, &out->n_paths, msg, cap);
    if (ok && out->n_paths == 0)
        ok = fail(msg, cap, "no paths given");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (ok && meta != NULL && !cJSON_IsNull(meta)) {
        if (!cJSON_IsObject(meta)) {
            ok = fail(msg, cap, "field 'metadata' must be an object");
        } else {
            out->metadata_json = cJSON_PrintUnformatted(meta);
            if (out->metadata_json == NULL)
                ok = fail(msg, cap, "out of memory");
        }
    }
    cJSON_Delete(root);
    return ok;
}

void api_paths_req_release(struct api_paths_req *r)
{
    free_strings(r->paths, r->n_paths);
    free(r->metadata_json);
    memset(r, 0, sizeof *r);
}

bool api_parse_embeddings(const char *body, size_t len, struct api_embeddings_req *out,
                          char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    bool ok = get_string(root, "model", true, &out->model, msg, cap);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (ok && input == NULL)
        ok = fail(msg, cap, "field 'input' is required");
    if (ok)
        ok = get_strings(input, "input", &out->input, &out->n_input, msg, cap);
    if (ok && out->n_input == 0)
        ok = fail(msg, cap, "field 'input' is empty");
    cJSON_Delete(root);
    return ok;
}

void api_embeddings_req_release(struct api_embeddings_req *r)
{
    free(r->model);
    free_strings(r->input, r->n_input);
    memset(r, 0, sizeof *r);
}

bool api_parse_key(const char *body, size_t len, struct api_key_req *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    char *role = NULL;
    bool ok = get_string(root, "role", true, &role, msg, cap);
    if (ok) {
        static const char *const names[3] = {"reader", "writer", "admin"};
        static const frugal_key_role roles[3] = {FRUGAL_KEY_READER, FRUGAL_KEY_WRITER,
                                                 FRUGAL_KEY_ADMIN};
        size_t i = 0;
        ok = pick_name("role", role, names, &i, msg, cap);
        if (ok)
            out->role = roles[i];
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "collections");
    if (ok && c != NULL && !cJSON_IsNull(c)) {
        if (!cJSON_IsArray(c))
            ok = fail(msg, cap, "field 'collections' must be an array of strings");
        else
            ok = get_strings(c, "collections", &out->collections, &out->n_collections, msg, cap);
    }
    free(role);
    cJSON_Delete(root);
    return ok;
}

void api_key_req_release(struct api_key_req *r)
{
    free_strings(r->collections, r->n_collections);
    memset(r, 0, sizeof *r);
}

bool api_parse_budget(const char *body, size_t len, struct api_budget_req *out, char *msg,
                      size_t cap)
{
    memset(out, 0, sizeof *out);
    out->limit = -1;
    cJSON *root = parse_object(body, len, msg, cap);
    if (root == NULL)
        return false;
    char *period = NULL;
    bool ok = get_number(root, "limit", 0, API_MAX_BUDGET_LIMIT, &out->limit, msg, cap) &&
              get_string(root, "period", false, &period, msg, cap);
    if (ok && out->limit < 0)
        ok = fail(msg, cap, "field 'limit' is required");
    if (ok && period != NULL) {
        static const char *const names[3] = {"lifetime", "daily", "monthly"};
        static const frugal_budget_period periods[3] = {
            FRUGAL_BUDGET_LIFETIME, FRUGAL_BUDGET_DAILY, FRUGAL_BUDGET_MONTHLY};
        size_t i = 0;
        ok = pick_name("period", period, names, &i, msg, cap);
        out->has_period = ok;
        if (ok)
            out->period = periods[i];
    }
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive(root, "reset");
    if (ok && reset != NULL && !cJSON_IsNull(reset)) {
        if (!cJSON_IsBool(reset))
            ok = fail(msg, cap, "field 'reset' must be a boolean");
        else
            out->reset = cJSON_IsTrue(reset);
    }
    free(period);
    cJSON_Delete(root);
    return ok;
}
