/*
 * remote.c - the OpenAI-compatible embeddings client (contract in remote.h).
 *
 * How: one curl easy handle per client, set up once (URL, headers, timeouts, protocols) and
 * reused, so that consecutive requests share a keep-alive connection. A batch's request body is
 * written by hand into a buf (texts escaped as JSON strings, invalid UTF-8 replaced by U+FFFD);
 * the response is collected into a buf with a maximum size and parsed with cJSON, then checked
 * item by item before any value reaches the caller's buffer. Failed attempts that may succeed
 * later (429, 5xx, connection refused or reset, timeouts) wait and try again, by the policy in
 * base/retry.c (backoff without jitter here); the last attempt's error is the one reported.
 *
 * Why: this is the HTTP edge of the embedding layer, the one place in src/embed that talks JSON
 * over the network, so it is where size limits and strict validation live: a misbehaving server
 * gives a clear error, never a crash or vectors in the wrong rows.
 *
 * Threading: a client is used by one thread at a time. curl_global_init, which is not
 * thread-safe, runs once under pthread_once; signals are off (CURLOPT_NOSIGNAL) so that timeouts
 * work in threaded hosts.
 */
#include "embed/remote.h"

#include <curl/curl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/retry.h"
#include "text/utf8.h"

#define REMOTE_MAX_DIM 65536

struct remote_client {
    CURL *curl;
    struct curl_slist *headers;
    char *url;            /* owned: the full endpoint */
    char *model;          /* owned */
    struct remote_opts opts;
    size_t dim;
    size_t n_requests;
    struct buf body;      /* request body */
    struct buf resp;      /* response body, with opts.max_response as its maximum */
    bool resp_too_big;
    char curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void remote_default_opts(struct remote_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_batch = 64;
    opts->connect_timeout_ms = 10000;
    opts->timeout_ms = 120000;
    opts->max_retries = 4;
    opts->backoff_ms = 500;
    opts->max_backoff_ms = 30000;
    opts->max_response = (size_t)256 << 20;
}

static const char *env_or(const char *given, const char *name)
{
    const char *v;
    if (given != NULL)
        return given;
    v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct remote_client *rc = ctx;
    size_t len = size * nmemb;
    if (buf_append(&rc->resp, data, len) != FRUGAL_OK) {
        rc->resp_too_big = rc->resp.len + len > rc->resp.max;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return len;
}

/* The endpoint: base + "/v1/embeddings", or + "/embeddings" when base ends in "/v1", or base
 * itself when it already ends in "/embeddings". */
static char *endpoint(const char *base)
{
    struct buf b;
    size_t len = strlen(base);
    buf_init(&b, 0);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (buf_append(&b, base, len) != FRUGAL_OK)
        return NULL;
    if (len >= 11 && memcmp(base + len - 11, "/embeddings", 11) == 0)
        return buf_detach(&b);
    if (buf_puts(&b, len >= 3 && memcmp(base + len - 3, "/v1", 3) == 0 ? "/embeddings"
                                                                        : "/v1/embeddings") !=
        FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

void remote_close(struct remote_client *rc)
{
    if (rc == NULL)
        return;
    if (rc->curl != NULL)
        curl_easy_cleanup(rc->curl);
    curl_slist_free_all(rc->headers);
    frugal_free(rc->url);
    frugal_free(rc->model);
    buf_release(&rc->body);
    buf_release(&rc->resp);
    frugal_free(rc);
}

size_t remote_dim(const struct remote_client *rc)
{
    return rc->dim;
}

const char *remote_model(const struct remote_client *rc)
{
    return rc->model;
}

size_t remote_max_batch(const struct remote_client *rc)
{
    return rc->opts.max_batch;
}

size_t remote_requests(const struct remote_client *rc)
{
    return rc->n_requests;
}

static frugal_status add_header(struct remote_client *rc, const char *h, struct err *err)
{
    struct curl_slist *l = curl_slist_append(rc->headers, h);
    if (l == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    rc->headers = l;
    return FRUGAL_OK;
}

static frugal_status setup_curl(struct remote_client *rc, const char *api_key, struct err *err)
{
    frugal_status st = FRUGAL_OK;
    CURLcode cc = CURLE_OK;

    rc->curl = curl_easy_init();
    if (rc->curl == NULL)
        return err_set(err, FRUGAL_ENOMEM, "cannot create a curl handle");
    st = add_header(rc, "Content-Type: application/json", err);
    if (st == FRUGAL_OK)
        st = add_header(rc, "Accept: application/json", err);
    if (st == FRUGAL_OK)
        st = add_header(rc, "Expect:", err);
    if (st == FRUGAL_OK && api_key != NULL) {
        struct buf h;
        buf_init(&h, 0);
        if (buf_printf(&h, "Authorization: Bearer %s", api_key) != FRUGAL_OK)
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
        else
            st = add_header(rc, h.ptr, err);
        buf_release(&h);
    }
    if (st != FRUGAL_OK)
        return st;
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_URL, rc->url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_NOSIGNAL, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_HTTPHEADER, rc->headers);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_WRITEFUNCTION, on_write);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_WRITEDATA, rc);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_ERRORBUFFER, rc->curl_err);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_CONNECTTIMEOUT_MS, rc->opts.connect_timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_TIMEOUT_MS, rc->opts.timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_USERAGENT, "frugal/" FRUGAL_VERSION_STRING);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(rc->curl, CURLOPT_ACCEPT_ENCODING, "");
    if (cc != CURLE_OK)
        return err_set(err, FRUGAL_EUNSUPPORTED, "curl: %s", curl_easy_strerror(cc));
    return FRUGAL_OK;
}

frugal_status remote_open(const struct remote_opts *opts, struct remote_client **out,
                          struct err *err)
{
    struct remote_opts defaults;
    struct remote_client *rc;
    const char *base;
    const char *model;
    const char *key;
    frugal_status st;

    *out = NULL;
    if (opts == NULL) {
        remote_default_opts(&defaults);
        opts = &defaults;
    }
    base = env_or(opts->base_url, "FRUGAL_EMBED_URL");
    model = env_or(opts->model, "FRUGAL_EMBED_MODEL");
    key = env_or(opts->api_key, "FRUGAL_EMBED_API_KEY");
    if (key == NULL)
        key = env_or(NULL, "OPENAI_API_KEY");
    if (base == NULL || base[0] == '\0')
        return err_set(err, FRUGAL_EINVAL, "no server URL: set FRUGAL_EMBED_URL or give one");
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return err_set(err, FRUGAL_EINVAL, "server URL must start with http:// or https://");
    if (model == NULL || model[0] == '\0')
        return err_set(err, FRUGAL_EINVAL, "no model: set FRUGAL_EMBED_MODEL or give one");
    if (opts->max_batch < 1 || opts->max_retries < 0 || opts->backoff_ms < 0 ||
        opts->max_backoff_ms < 0 || opts->timeout_ms < 0 || opts->connect_timeout_ms < 0 ||
        opts->max_response < 1024)
        return err_set(err, FRUGAL_EINVAL, "bad remote embedder options");
    if (key != NULL && strpbrk(key, "\r\n") != NULL)
        return err_set(err, FRUGAL_EINVAL, "the API key holds a line break");
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return err_set(err, FRUGAL_EIO, "curl: %s", curl_easy_strerror(curl_init_rc));
    rc = frugal_calloc(1, sizeof(*rc));
    if (rc == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    rc->opts = *opts;
    rc->opts.base_url = rc->opts.model = rc->opts.api_key = NULL;
    rc->dim = opts->dim;
    buf_init(&rc->body, 0);
    buf_init(&rc->resp, opts->max_response);
    rc->url = endpoint(base);
    rc->model = frugal_strdup(model);
    if (rc->url == NULL || rc->model == NULL)
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    else
        st = setup_curl(rc, key, err);
    if (st == FRUGAL_OK && rc->dim == 0) {
        static const char *const probe[] = {"dimension probe"};
        st = remote_embed(rc, probe, 1, NULL, err);
    }
    if (st != FRUGAL_OK) {
        remote_close(rc);
        return st;
    }
    *out = rc;
    return FRUGAL_OK;
}

/* ---- Requests -------------------------------------------------------------------------------- */

static frugal_status put_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(s);
    frugal_status st = buf_putc(b, '"');

    for (size_t i = 0; i < len && st == FRUGAL_OK;) {
        size_t adv;
        int32_t cp = utf8_decode(s + i, len - i, &adv);
        if (cp < 0) {
            st = buf_puts(b, "\\ufffd");
        } else if (cp == '"' || cp == '\\') {
            char esc[2] = {'\\', (char)cp};
            st = buf_append(b, esc, 2);
        } else if (cp < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
            st = buf_append(b, esc, 6);
        } else {
            st = buf_append(b, s + i, adv);
        }
        i += adv;
    }
    if (st == FRUGAL_OK)
        st = buf_putc(b, '"');
    return st;
}

static frugal_status build_body(struct remote_client *rc, const char *const *texts, size_t n)
{
    frugal_status st;
    buf_reset(&rc->body);
    st = buf_puts(&rc->body, "{\"model\":");
    if (st == FRUGAL_OK)
        st = put_json_string(&rc->body, rc->model);
    if (st == FRUGAL_OK)
        st = buf_puts(&rc->body, ",\"input\":[");
    for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
        if (i > 0)
            st = buf_putc(&rc->body, ',');
        if (st == FRUGAL_OK)
            st = put_json_string(&rc->body, texts[i]);
    }
    if (st == FRUGAL_OK)
        st = buf_puts(&rc->body, "]}");
    return st;
}

/* The server's own words about a failure: error.message, error (a string), message, else the
 * start of the body with anything unprintable dropped. */
static void server_message(const struct remote_client *rc, char *out, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(rc->resp.ptr != NULL ? rc->resp.ptr : "", rc->resp.len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const char *msg = NULL;
    size_t j = 0;

    if (cJSON_IsObject(e))
        e = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(e))
        msg = e->valuestring;
    else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "message")))
        msg = cJSON_GetObjectItemCaseSensitive(root, "message")->valuestring;
    if (msg == NULL)
        msg = rc->resp.ptr != NULL ? rc->resp.ptr : "";
    for (size_t i = 0; msg[i] != '\0' && j + 1 < cap && i < 300; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c >= 0x20 && c != 0x7f)
            out[j++] = (char)c;
        else if (c == '\n' || c == '\t')
            out[j++] = ' ';
    }
    out[j] = '\0';
    if (j == 0)
        snprintf(out, cap, "(empty body)");
    cJSON_Delete(root);
}

/* Checks the response to an n-input request and copies the vectors into out (NULL: only learn
 * the dimension, for the probe). */
static frugal_status parse_response(struct remote_client *rc, size_t n, float *out,
                                    struct err *err)
{
    cJSON *root = cJSON_ParseWithLength(rc->resp.ptr != NULL ? rc->resp.ptr : "", rc->resp.len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *items = NULL;
    const cJSON *item;
    unsigned char *seen = NULL;
    size_t k = 0;
    frugal_status st = FRUGAL_OK;

    if (!cJSON_IsObject(root))
        st = err_set(err, FRUGAL_ECORRUPT, "the response is not a JSON object");
    else if (!cJSON_IsArray(data))
        st = err_set(err, FRUGAL_ECORRUPT, "the response has no \"data\" array");
    else if ((size_t)cJSON_GetArraySize(data) != n)
        st = err_set(err, FRUGAL_ECORRUPT, "the response has %d embeddings for %zu inputs",
                     cJSON_GetArraySize(data), n);
    else if ((seen = frugal_calloc(n, 1)) == NULL)
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    else
        items = data;
    cJSON_ArrayForEach(item, items)
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *emb = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        const cJSON *v;
        size_t len;
        size_t i;
        size_t j = 0;
        if (!cJSON_IsNumber(idx) || idx->valuedouble < 0 || idx->valuedouble >= (double)n ||
            idx->valuedouble != floor(idx->valuedouble)) {
            st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: \"index\" missing or not in 0..%zu",
                         k, n - 1);
            break;
        }
        i = (size_t)idx->valuedouble;
        if (seen[i]) {
            st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: index %zu given twice", k, i);
            break;
        }
        seen[i] = 1;
        if (!cJSON_IsArray(emb)) {
            st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: \"embedding\" is not an array of "
                         "numbers (base64 encoding is not supported)", k);
            break;
        }
        len = (size_t)cJSON_GetArraySize(emb);
        if (len == 0 || len > REMOTE_MAX_DIM) {
            st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: embedding has %zu values", k, len);
            break;
        }
        if (rc->dim == 0)
            rc->dim = len;
        if (len != rc->dim) {
            st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: embedding has %zu values, expected "
                         "%zu", k, len, rc->dim);
            break;
        }
        cJSON_ArrayForEach(v, emb)
        {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
                fabs(v->valuedouble) > FLT_MAX) {
                st = err_set(err, FRUGAL_ECORRUPT, "data[%zu]: embedding[%zu] is not a finite "
                             "number", k, j);
                break;
            }
            if (out != NULL)
                out[i * rc->dim + j] = (float)v->valuedouble;
            j++;
        }
        if (st != FRUGAL_OK)
            break;
        k++;
    }
    frugal_free(seen);
    cJSON_Delete(root);
    return st;
}

static bool transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

/* One batch: sends, retries, parses. */
static frugal_status embed_batch(struct remote_client *rc, const char *const *texts, size_t n,
                                 float *out, struct err *err)
{
    struct retry_policy policy = {rc->opts.max_retries, rc->opts.backoff_ms,
                                  rc->opts.max_backoff_ms, false};
    struct retry_state retry;
    frugal_status st;

    if (build_body(rc, texts, n) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    retry_init(&retry, &policy, 0);
    for (int attempt = 0;; attempt++) {
        CURLcode cc;
        long status = 0;
        curl_off_t retry_after = -1;
        bool again = false;
        double wait;

        buf_reset(&rc->resp);
        rc->resp_too_big = false;
        rc->curl_err[0] = '\0';
        rc->n_requests++;
        cc = curl_easy_setopt(rc->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rc->body.len);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(rc->curl, CURLOPT_POSTFIELDS, rc->body.ptr);
        if (cc == CURLE_OK)
            cc = curl_easy_perform(rc->curl);
        if (cc == CURLE_WRITE_ERROR && rc->resp_too_big)
            return err_set(err, FRUGAL_ETOOBIG, "POST %s: response larger than %zu bytes",
                           rc->url, rc->opts.max_response);
        if (cc != CURLE_OK) {
            st = err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? FRUGAL_ETIMEOUT : FRUGAL_EIO,
                         "POST %s: %s", rc->url,
                         rc->curl_err[0] != '\0' ? rc->curl_err : curl_easy_strerror(cc));
            again = transient(cc);
        } else {
            char msg[320];
            curl_easy_getinfo(rc->curl, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 200 && status < 300) {
                st = parse_response(rc, n, out, err);
                if (st != FRUGAL_OK)
                    err_prefix(err, "POST %s", rc->url);
                return st;
            }
            server_message(rc, msg, sizeof(msg));
            st = err_set(err, FRUGAL_EIO, "POST %s: HTTP %ld: %s", rc->url, status, msg);
            again = retry_http_status(status);
            curl_easy_getinfo(rc->curl, CURLINFO_RETRY_AFTER, &retry_after);
        }
        if (!again)
            return st;
        if (!retry_next(&retry, (long long)retry_after, &wait))
            return err_prefix(err, "gave up after %d attempts", attempt + 1);
        retry_sleep_ms(wait);
    }
}

frugal_status remote_embed(struct remote_client *rc, const char *const *texts, size_t n,
                           float *out, struct err *err)
{
    if (rc->dim == 0 && out != NULL)
        return err_set(err, FRUGAL_EINVAL, "the server's dimension is not known yet");
    for (size_t i = 0; i < n; i += rc->opts.max_batch) {
        size_t m = n - i < rc->opts.max_batch ? n - i : rc->opts.max_batch;
        frugal_status st = embed_batch(rc, texts + i, m, out != NULL ? out + i * rc->dim : NULL,
                                       err);
        if (st != FRUGAL_OK)
            return st;
    }
    return FRUGAL_OK;
}
