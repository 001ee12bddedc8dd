/*
 * gen_http.c - the POST-with-retries both generator backends share, and the bookkeeping of one
 * backend call (request, headers, response body, usage or its estimate); contract in gen_http.h.
 *
 * How: each attempt runs one curl easy handle inside a private multi handle, so that this file
 * owns the loop and can look at its own monotonic clock every 20 ms: libcurl's own timeouts
 * cover the connect phase and the whole transfer, but not "no token yet after N ms", which is
 * what tells a stalled or overloaded generator from a slow but healthy one. Response bytes of a
 * 2xx status go to the backend's sink as they arrive; other statuses are collected (up to 64 KiB)
 * for the server's error message. A failed attempt is retried when it may succeed later (429,
 * 5xx, refused or reset connections, connect timeouts) and nothing reached the caller yet; the
 * wait is the server's Retry-After when given, else an exponential backoff with jitter in
 * [b/2, b] so that many clients do not come back in step (the policy is base/retry.c, shared
 * with the embedding client); no wait runs past the total deadline.
 *
 * Why: a generator that fails must fail fast and clearly, so the circuit breaker and failover
 * can move on; a generator that streamed half an answer must never be retried behind the
 * caller's back, because the caller has already shown those words.
 *
 * Threading: every call has its own handles and state; the only global is libcurl's one-time
 * initialization (pthread_once). Signals are off (CURLOPT_NOSIGNAL).
 */
#include "answer/gen_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/alloc.h"
#include "base/retry.h"
#include "text/utf8.h"

#define ERROR_BODY_MAX (64 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

frugal_status gen_http_global_init(struct err *err)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return err_set(err, FRUGAL_EIO, "curl: %s", curl_easy_strerror(curl_init_rc));
    return FRUGAL_OK;
}

void gen_http_default_opts(struct gen_http_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = 5000;
    o->first_token_timeout_ms = 30000;
    o->total_timeout_ms = 120000;
    o->max_retries = 2;
    o->backoff_ms = 500;
    o->max_backoff_ms = 10000;
    o->max_response = (size_t)8 << 20;
}

frugal_status gen_json_string(struct buf *b, const char *s)
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
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            char esc[2] = {'\\', cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't'};
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

void gen_server_message(const char *body, size_t len, char *out, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(body != NULL ? body : "", len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const char *msg = NULL;
    size_t j = 0;

    if (cJSON_IsObject(e))
        e = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(e))
        msg = e->valuestring;
    else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "message")))
        msg = cJSON_GetObjectItemCaseSensitive(root, "message")->valuestring;
    else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "Message")))
        msg = cJSON_GetObjectItemCaseSensitive(root, "Message")->valuestring;
    for (size_t i = 0; msg != NULL && msg[i] != '\0' && j + 1 < cap && i < 300; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c >= 0x20 && c != 0x7f)
            out[j++] = (char)c;
        else if (c == '\n' || c == '\t')
            out[j++] = ' ';
    }
    for (size_t i = 0; msg == NULL && i < len && j + 1 < cap && i < 300; i++) {
        unsigned char c = (unsigned char)body[i];
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

static size_t text_cap(size_t len)
{
    size_t c = 64;
    while (c < len + 1)
        c *= 2;
    return c;
}

frugal_status gen_result_append(struct gen_result *r, const char *text, size_t len)
{
    if (len == 0)
        return FRUGAL_OK;
    if (r->text == NULL || r->text_len + len + 1 > text_cap(r->text_len)) {
        char *t = frugal_realloc(r->text, text_cap(r->text_len + len));
        if (t == NULL)
            return FRUGAL_ENOMEM;
        r->text = t;
    }
    memcpy(r->text + r->text_len, text, len);
    r->text_len += len;
    r->text[r->text_len] = '\0';
    return FRUGAL_OK;
}

uint32_t gen_estimate_tokens(size_t bytes)
{
    size_t t = (bytes + 3) / 4;
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void gen_call_init(struct gen_call *c, const struct gen_params *params, struct gen_result *res,
                   size_t max_response,
                   frugal_status (*on_body)(struct gen_http_sink *s, const char *p, size_t n,
                                            struct err *err),
                   void (*on_attempt)(struct gen_http_sink *s))
{
    memset(c, 0, sizeof(*c));
    c->sink.on_body = on_body;
    c->sink.on_attempt = on_attempt;
    c->params = params;
    c->res = res;
    c->t0 = gen_now_ms();
    c->streaming = params->on_delta != NULL;
    buf_init(&c->body, max_response);
    buf_init(&c->req, 0);
}

void gen_call_reset(struct gen_call *c)
{
    buf_reset(&c->body);
    c->got_usage = false;
    c->res->text_len = 0;
    c->res->finish_reason[0] = '\0';
}

frugal_status gen_call_header(struct gen_call *c, const char *h, struct err *err)
{
    struct curl_slist *l = curl_slist_append(c->headers, h);
    if (l == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    c->headers = l;
    return FRUGAL_OK;
}

frugal_status gen_call_post(struct gen_call *c, const char *url, const struct gen_http_opts *opts,
                            struct err *err)
{
    return gen_http_post(url, c->headers, c->req.ptr, c->req.len, opts, c->streaming, c->t0,
                         &c->sink, c->res, err);
}

frugal_status gen_call_collect(struct gen_call *c, const char *p, size_t n, struct err *err)
{
    if (buf_append(&c->body, p, n) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    return FRUGAL_OK;
}

frugal_status gen_call_emit(struct gen_call *c, const char *text, size_t len, struct err *err)
{
    if (len == 0)
        return FRUGAL_OK;
    if (gen_result_append(c->res, text, len) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (!c->sink.started) {
        c->sink.started = true;
        c->res->streamed = true;
        c->res->first_token_ms = gen_now_ms() - c->t0;
    }
    if (c->params->on_delta(c->params->delta_ctx, text, len) != 0) {
        c->sink.aborted = true;
        return err_set(err, FRUGAL_EINVAL, "aborted by the caller");
    }
    return FRUGAL_OK;
}

void gen_call_usage(struct gen_call *c, const struct cJSON *usage, const char *prompt_key,
                    const char *completion_key)
{
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(usage, prompt_key);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(usage, completion_key);

    if (cJSON_IsObject(usage) && cJSON_IsNumber(pt) && cJSON_IsNumber(ct) &&
        pt->valuedouble >= 0 && ct->valuedouble >= 0 && pt->valuedouble < 4e9 &&
        ct->valuedouble < 4e9) {
        c->res->prompt_tokens = (uint32_t)pt->valuedouble;
        c->res->completion_tokens = (uint32_t)ct->valuedouble;
        c->got_usage = true;
    }
}

frugal_status gen_call_finish(struct gen_call *c, const struct gen_message *messages,
                              size_t n_messages, frugal_status st, struct err *err)
{
    struct gen_result *r = c->res;

    if (r->text == NULL) {
        r->text = frugal_strdup("");
        if (r->text == NULL && st == FRUGAL_OK)
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (st == FRUGAL_OK && !c->got_usage) {
        size_t bytes = 0;
        for (size_t i = 0; i < n_messages; i++)
            bytes += strlen(messages[i].content) + 4;
        r->prompt_tokens = gen_estimate_tokens(bytes);
        r->completion_tokens = gen_estimate_tokens(r->text_len);
        r->usage_estimated = true;
    }
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    buf_release(&c->req);
    buf_release(&c->body);
    return st;
}

const char *gen_env_or(const char *given, const char *name)
{
    const char *v;
    if (given != NULL)
        return given;
    v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

frugal_status gen_check_request(const struct gen_message *messages, size_t n_messages,
                                const struct gen_params *params, struct err *err)
{
    if (n_messages == 0 || messages == NULL)
        return err_set(err, FRUGAL_EINVAL, "no messages");
    for (size_t i = 0; i < n_messages; i++) {
        const char *r = messages[i].role;
        if (r == NULL || messages[i].content == NULL ||
            (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0))
            return err_set(err, FRUGAL_EINVAL, "message %zu: role must be system, user or "
                           "assistant, with content", i);
    }
    if (params->max_tokens < 0)
        return err_set(err, FRUGAL_EINVAL, "max_tokens must be >= 0");
    for (size_t i = 0; i < params->n_stop; i++)
        if (params->stop == NULL || params->stop[i] == NULL || params->stop[i][0] == '\0')
            return err_set(err, FRUGAL_EINVAL, "stop sequence %zu is empty", i);
    return FRUGAL_OK;
}

/* ---- One attempt ----------------------------------------------------------------------------- */

struct attempt {
    struct gen_http_sink *sink;
    const struct gen_http_opts *opts;
    CURL *curl;
    struct buf error_body;  /* non-2xx body, for the message */
    struct err *err;
    frugal_status sink_st;  /* a sink failure, FRUGAL_OK otherwise */
    bool too_big;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct attempt *a = ctx;
    size_t len = size * nmemb;
    long status = 0;

    a->sink->bytes += len;
    if (a->sink->bytes > a->opts->max_response) {
        a->too_big = true;
        return 0;
    }
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    a->sink->http_status = status;
    if (status < 200 || status > 299) {
        buf_append(&a->error_body, data, len); /* past the cap the message is the start */
        return len;
    }
    a->sink_st = a->sink->on_body(a->sink, data, len, a->err);
    return a->sink_st == FRUGAL_OK ? len : 0;
}

static bool transient(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
           cc == CURLE_OPERATION_TIMEDOUT;
}

enum verdict { V_DONE, V_RETRY, V_FAIL };

/* Runs one attempt; returns what to do next. st gets the attempt's status. */
static enum verdict run_attempt(struct attempt *a, CURLM *multi, bool streaming, double t0,
                                double deadline, curl_off_t *retry_after, frugal_status *st,
                                const char *url)
{
    const struct gen_http_opts *o = a->opts;
    double attempt_start = gen_now_ms();
    CURLcode cc = CURLE_OK;
    CURLMsg *msg;
    int running = 1;
    int left;
    bool first_token_timeout = false;
    bool total_timeout = false;

    curl_multi_add_handle(multi, a->curl);
    while (running) {
        double now;
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (!running)
            break;
        now = gen_now_ms();
        if (now >= deadline) {
            total_timeout = true;
            break;
        }
        if (streaming && !a->sink->started && o->first_token_timeout_ms > 0 &&
            now - attempt_start >= (double)o->first_token_timeout_ms) {
            first_token_timeout = true;
            break;
        }
        curl_multi_poll(multi, NULL, 0, 20, NULL);
    }
    while ((msg = curl_multi_info_read(multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            cc = msg->data.result;
    curl_multi_remove_handle(multi, a->curl);
    (void)t0;

    if (a->sink_st != FRUGAL_OK) {
        *st = a->sink_st; /* message already in err */
        return V_FAIL;
    }
    if (total_timeout) {
        *st = err_set(a->err, FRUGAL_ETIMEOUT, "POST %s: no complete answer within %ld ms%s",
                      url, o->total_timeout_ms, a->sink->started ? " (partial text kept)" : "");
        return V_FAIL;
    }
    if (first_token_timeout) {
        *st = err_set(a->err, FRUGAL_ETIMEOUT, "POST %s: no token within %ld ms", url,
                      o->first_token_timeout_ms);
        return V_FAIL;
    }
    if (a->too_big) {
        *st = err_set(a->err, FRUGAL_ETOOBIG, "POST %s: response larger than %zu bytes", url,
                      o->max_response);
        return V_FAIL;
    }
    if (cc != CURLE_OK) {
        if (a->sink->started) {
            *st = err_set(a->err, FRUGAL_EIO, "POST %s: stream broken after %zu bytes (%s); "
                          "partial text kept, not retried", url, a->sink->bytes,
                          curl_easy_strerror(cc));
            return V_FAIL;
        }
        *st = err_set(a->err, cc == CURLE_OPERATION_TIMEDOUT ? FRUGAL_ETIMEOUT : FRUGAL_EIO,
                      "POST %s: %s", url, curl_easy_strerror(cc));
        return transient(cc) ? V_RETRY : V_FAIL;
    }
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->sink->http_status);
    if (a->sink->http_status >= 200 && a->sink->http_status <= 299) {
        *st = FRUGAL_OK;
        return V_DONE;
    }
    {
        char m[320];
        long s = a->sink->http_status;
        gen_server_message(a->error_body.ptr, a->error_body.len, m, sizeof(m));
        *st = err_set(a->err, retry_http_status(s) || s == 401 || s == 403 ? FRUGAL_EIO
                      : FRUGAL_EINVAL, "POST %s: HTTP %ld: %s", url, s, m);
        curl_easy_getinfo(a->curl, CURLINFO_RETRY_AFTER, retry_after);
        return retry_http_status(s) ? V_RETRY : V_FAIL;
    }
}

static frugal_status setup(CURL *c, const char *url, struct curl_slist *headers,
                           const char *body, size_t body_len, const struct gen_http_opts *o,
                           struct attempt *a, struct err *err)
{
    CURLcode cc = curl_easy_setopt(c, CURLOPT_URL, url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_USERAGENT, "frugal/" FRUGAL_VERSION_STRING);
    if (cc != CURLE_OK)
        return err_set(err, FRUGAL_EUNSUPPORTED, "curl: %s", curl_easy_strerror(cc));
    return FRUGAL_OK;
}

frugal_status gen_http_post(const char *url, struct curl_slist *headers, const char *body,
                            size_t body_len, const struct gen_http_opts *opts, bool streaming,
                            double t0_ms, struct gen_http_sink *sink, struct gen_result *result,
                            struct err *err)
{
    struct attempt a;
    CURLM *multi = NULL;
    double deadline = t0_ms + (double)opts->total_timeout_ms;
    struct retry_policy policy = {opts->max_retries, opts->backoff_ms, opts->max_backoff_ms, true};
    struct retry_state retry;
    frugal_status st;

    memset(&a, 0, sizeof(a));
    a.sink = sink;
    a.opts = opts;
    a.err = err;
    buf_init(&a.error_body, ERROR_BODY_MAX);
    retry_init(&retry, &policy, 0);
    st = gen_http_global_init(err);
    if (st == FRUGAL_OK) {
        a.curl = curl_easy_init();
        multi = curl_multi_init();
        if (a.curl == NULL || multi == NULL)
            st = err_set(err, FRUGAL_ENOMEM, "cannot create a curl handle");
    }
    if (st == FRUGAL_OK)
        st = setup(a.curl, url, headers, body, body_len, opts, &a, err);
    for (int attempt = 0; st == FRUGAL_OK; attempt++) {
        curl_off_t retry_after = -1;
        enum verdict v;
        double wait;
        double now;

        sink->on_attempt(sink);
        sink->bytes = 0;
        sink->http_status = 0;
        a.sink_st = FRUGAL_OK;
        a.too_big = false;
        buf_reset(&a.error_body);
        result->attempts = attempt + 1;
        v = run_attempt(&a, multi, streaming, t0_ms, deadline, &retry_after, &st, url);
        if (v == V_DONE || v == V_FAIL || sink->started)
            break;
        if (!retry_next(&retry, (long long)retry_after, &wait)) {
            err_prefix(err, "gave up after %d attempts", attempt + 1);
            break;
        }
        now = gen_now_ms();
        if (now + wait >= deadline) {
            err_prefix(err, "no time left for a retry within %ld ms", opts->total_timeout_ms);
            break;
        }
        retry_sleep_ms(wait);
        st = FRUGAL_OK;
    }
    result->total_ms = gen_now_ms() - t0_ms;
    if (!streaming && st == FRUGAL_OK)
        result->first_token_ms = result->total_ms;
    if (multi != NULL)
        curl_multi_cleanup(multi);
    if (a.curl != NULL)
        curl_easy_cleanup(a.curl);
    buf_release(&a.error_body);
    return st;
}
