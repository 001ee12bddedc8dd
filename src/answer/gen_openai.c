/*
 * gen_openai.c - the OpenAI-compatible chat completions backend (llama.cpp server, Ollama, vLLM,
 * OpenAI): POST {base}/v1/chat/completions, streaming or not. Contract in generator.h.
 *
 * How: the request body is written by hand (model, messages, stream, stream_options with
 * include_usage, max_tokens, temperature, stop). Non-streaming, the response is collected and
 * choices[0].message.content, finish_reason and usage are read. Streaming, the bytes go through
 * the SSE decoder (stream.c); each event's data is either "[DONE]" or a JSON chunk whose
 * choices[0].delta.content is the next piece of text, passed on at once; finish_reason and usage
 * (the last chunk, when include_usage was honoured) are kept. A chunk that is not a JSON object,
 * or has choices/delta/content of the wrong type, or carries an "error", fails the call with the
 * event's number. A stream that ends with neither [DONE] nor a finish_reason is cut short. When
 * the server reports no usage, the counts are estimated and flagged.
 *
 * Why: these servers are what people run on their own GPU; the streaming path is what makes
 * the first words of an answer appear in a few hundred milliseconds.
 *
 * Threading: the backend holds only immutable configuration after gen_openai_new; every call
 * builds its own request state and curl handles, so calls may run concurrently.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "answer/gen_http.h"
#include "answer/generator.h"
#include "answer/stream.h"
#include "base/alloc.h"

struct openai {
    char *url;        /* owned: the full endpoint */
    char *model;      /* owned */
    char *auth;       /* owned: "Authorization: Bearer ..." or NULL */
    bool include_usage;
    struct gen_http_opts http;
};

void gen_openai_default_opts(struct gen_openai_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->include_usage = true;
    gen_http_default_opts(&o->http);
}

static bool ends_with(const char *s, size_t len, const char *tail)
{
    size_t t = strlen(tail);
    return len >= t && memcmp(s + len - t, tail, t) == 0;
}

static char *endpoint(const char *base)
{
    struct buf b;
    size_t len = strlen(base);
    frugal_status st;
    buf_init(&b, 0);
    while (len > 0 && base[len - 1] == '/')
        len--;
    st = buf_append(&b, base, len);
    if (st == FRUGAL_OK && !ends_with(base, len, "/chat/completions"))
        st = buf_puts(&b, ends_with(base, len, "/v1") ? "/chat/completions"
                                                       : "/v1/chat/completions");
    if (st != FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

static void openai_free(void *impl)
{
    struct openai *o = impl;
    if (o == NULL)
        return;
    frugal_free(o->url);
    frugal_free(o->model);
    if (o->auth != NULL)
        memset(o->auth, 0, strlen(o->auth));
    frugal_free(o->auth);
    frugal_free(o);
}

frugal_status gen_openai_new(const struct gen_openai_opts *opts, void **out_impl,
                             struct err *err)
{
    struct gen_openai_opts defaults;
    struct openai *o;
    const char *base;
    const char *model;
    const char *key;
    struct buf auth;

    *out_impl = NULL;
    if (opts == NULL) {
        gen_openai_default_opts(&defaults);
        opts = &defaults;
    }
    base = gen_env_or(opts->base_url, "FRUGAL_GEN_URL");
    model = gen_env_or(opts->model, "FRUGAL_GEN_MODEL");
    key = gen_env_or(opts->api_key, "FRUGAL_GEN_API_KEY");
    if (key == NULL)
        key = gen_env_or(NULL, "OPENAI_API_KEY");
    if (base == NULL)
        return err_set(err, FRUGAL_EINVAL, "no generator URL: set FRUGAL_GEN_URL or give one");
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return err_set(err, FRUGAL_EINVAL, "generator URL must start with http:// or https://");
    if (model == NULL)
        return err_set(err, FRUGAL_EINVAL, "no model: set FRUGAL_GEN_MODEL or give one");
    if (key != NULL && strpbrk(key, "\r\n") != NULL)
        return err_set(err, FRUGAL_EINVAL, "the API key holds a line break");
    if (opts->http.max_retries < 0 || opts->http.backoff_ms < 0 || opts->http.max_backoff_ms < 0 ||
        opts->http.total_timeout_ms <= 0 || opts->http.connect_timeout_ms < 0 ||
        opts->http.first_token_timeout_ms < 0 || opts->http.max_response < 1024)
        return err_set(err, FRUGAL_EINVAL, "bad generator HTTP options");
    if (gen_http_global_init(err) != FRUGAL_OK)
        return err->code;
    o = frugal_calloc(1, sizeof(*o));
    if (o == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    o->include_usage = opts->include_usage;
    o->http = opts->http;
    o->url = endpoint(base);
    o->model = frugal_strdup(model);
    buf_init(&auth, 0);
    if (key != NULL) {
        if (buf_printf(&auth, "Authorization: Bearer %s", key) == FRUGAL_OK)
            o->auth = buf_detach(&auth);
        buf_release(&auth);
    }
    if (o->url == NULL || o->model == NULL || (key != NULL && o->auth == NULL)) {
        openai_free(o);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    *out_impl = o;
    return FRUGAL_OK;
}

/* ---- One call -------------------------------------------------------------------------------- */

struct call {
    struct gen_call gc;        /* first: the HTTP layer hands its sink back */
    const struct openai *be;
    struct sse_decoder sse;
    bool done;                 /* [DONE] seen */
};

static frugal_status build_body(const struct openai *be, const struct gen_message *m, size_t n,
                                const struct gen_params *p, struct buf *b)
{
    frugal_status st = buf_puts(b, "{\"model\":");
    if (st == FRUGAL_OK)
        st = gen_json_string(b, be->model);
    if (st == FRUGAL_OK)
        st = buf_puts(b, ",\"messages\":[");
    for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
        st = buf_printf(b, "%s{\"role\":\"%s\",\"content\":", i ? "," : "", m[i].role);
        if (st == FRUGAL_OK)
            st = gen_json_string(b, m[i].content);
        if (st == FRUGAL_OK)
            st = buf_putc(b, '}');
    }
    if (st == FRUGAL_OK)
        st = buf_printf(b, "],\"stream\":%s", p->on_delta != NULL ? "true" : "false");
    if (st == FRUGAL_OK && p->on_delta != NULL && be->include_usage)
        st = buf_puts(b, ",\"stream_options\":{\"include_usage\":true}");
    if (st == FRUGAL_OK && p->max_tokens > 0)
        st = buf_printf(b, ",\"max_tokens\":%d", p->max_tokens);
    if (st == FRUGAL_OK && p->temperature >= 0)
        st = buf_printf(b, ",\"temperature\":%.4g", p->temperature);
    if (st == FRUGAL_OK && p->n_stop > 0) {
        st = buf_puts(b, ",\"stop\":[");
        for (size_t i = 0; i < p->n_stop && st == FRUGAL_OK; i++) {
            if (i > 0)
                st = buf_putc(b, ',');
            if (st == FRUGAL_OK)
                st = gen_json_string(b, p->stop[i]);
        }
        if (st == FRUGAL_OK)
            st = buf_putc(b, ']');
    }
    if (st == FRUGAL_OK)
        st = buf_putc(b, '}');
    return st;
}

/* What a response or stream chunk (root) ends with: choices[0].finish_reason (fr, when it is a
 * string) and the usage object. */
static void read_finish_and_usage(struct call *c, const cJSON *fr, const cJSON *root)
{
    struct gen_result *r = c->gc.res;

    if (cJSON_IsString(fr))
        snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", fr->valuestring);
    gen_call_usage(&c->gc, cJSON_GetObjectItemCaseSensitive(root, "usage"), "prompt_tokens",
                   "completion_tokens");
}

/* Handles one SSE event of a chat completion stream. */
static frugal_status on_event(void *ctx, const char *type, const char *data, size_t len,
                              struct err *err)
{
    struct call *c = ctx;
    size_t n = c->sse.n_events;
    cJSON *root;
    const cJSON *choices;
    const cJSON *e;
    const cJSON *fr = NULL;
    frugal_status st = FRUGAL_OK;

    (void)type;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        c->done = true;
        return FRUGAL_OK;
    }
    if (c->done)
        return err_set(err, FRUGAL_ECORRUPT, "SSE event %zu: data after [DONE]", n);
    root = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(root)) {
        char head[64];
        snprintf(head, sizeof(head), "%.40s", data);
        for (char *p = head; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        cJSON_Delete(root);
        return err_set(err, FRUGAL_ECORRUPT, "SSE event %zu: not a JSON object: '%s'", n, head);
    }
    e = cJSON_GetObjectItemCaseSensitive(root, "error");
    choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (e != NULL) {
        char m[320];
        char *txt = cJSON_PrintUnformatted(root);
        gen_server_message(txt, txt != NULL ? strlen(txt) : 0, m, sizeof(m));
        cJSON_free(txt);
        st = err_set(err, FRUGAL_EIO, "SSE event %zu: the server reports an error: %s", n, m);
    } else if (choices != NULL && !cJSON_IsArray(choices)) {
        st = err_set(err, FRUGAL_ECORRUPT, "SSE event %zu: \"choices\" is not an array", n);
    } else if (cJSON_GetArraySize(choices) > 0) {
        const cJSON *ch = cJSON_GetArrayItem(choices, 0);
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
        fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
        if (!cJSON_IsObject(ch) || (delta != NULL && !cJSON_IsObject(delta)))
            st = err_set(err, FRUGAL_ECORRUPT, "SSE event %zu: choices[0].delta is not an "
                         "object", n);
        else if (content != NULL && !cJSON_IsString(content) && !cJSON_IsNull(content))
            st = err_set(err, FRUGAL_ECORRUPT, "SSE event %zu: delta.content is not a string",
                         n);
        else if (cJSON_IsString(content))
            st = gen_call_emit(&c->gc, content->valuestring, strlen(content->valuestring), err);
    }
    if (st == FRUGAL_OK)
        read_finish_and_usage(c, fr, root);
    cJSON_Delete(root);
    return st;
}

static frugal_status on_body(struct gen_http_sink *s, const char *p, size_t n, struct err *err)
{
    struct call *c = (struct call *)s;
    if (!c->gc.streaming)
        return gen_call_collect(&c->gc, p, n, err);
    return sse_feed(&c->sse, p, n, on_event, c, err);
}

static void on_attempt(struct gen_http_sink *s)
{
    struct call *c = (struct call *)s;
    sse_release(&c->sse);
    sse_init(&c->sse, c->be->http.max_response);
    gen_call_reset(&c->gc);
    c->done = false;
}

static frugal_status parse_whole(struct call *c, struct err *err)
{
    const struct buf *body = &c->gc.body;
    cJSON *root = cJSON_ParseWithLength(body->ptr != NULL ? body->ptr : "", body->len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *ch = cJSON_GetArrayItem(choices, 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
    frugal_status st = FRUGAL_OK;

    if (!cJSON_IsObject(root))
        st = err_set(err, FRUGAL_ECORRUPT, "the response is not a JSON object");
    else if (!cJSON_IsArray(choices) || !cJSON_IsObject(ch))
        st = err_set(err, FRUGAL_ECORRUPT, "the response has no choices[0]");
    else if (!cJSON_IsString(content))
        st = err_set(err, FRUGAL_ECORRUPT, "choices[0].message.content is not a string");
    else if (gen_result_append(c->gc.res, content->valuestring,
                               strlen(content->valuestring)) != FRUGAL_OK)
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (st == FRUGAL_OK)
        read_finish_and_usage(c, fr, root);
    cJSON_Delete(root);
    return st;
}

static frugal_status openai_generate(void *impl, const struct gen_message *messages,
                                     size_t n_messages, const struct gen_params *params,
                                     struct gen_result *res, struct err *err)
{
    const struct openai *be = impl;
    struct call c;
    frugal_status st;

    memset(&c, 0, sizeof(c));
    gen_call_init(&c.gc, params, res, be->http.max_response, on_body, on_attempt);
    c.be = be;
    sse_init(&c.sse, be->http.max_response);
    st = gen_check_request(messages, n_messages, params, err);
    if (st == FRUGAL_OK && build_body(be, messages, n_messages, params, &c.gc.req) != FRUGAL_OK)
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (st == FRUGAL_OK)
        st = gen_call_header(&c.gc, "Content-Type: application/json", err);
    if (st == FRUGAL_OK)
        st = gen_call_header(&c.gc, c.gc.streaming ? "Accept: text/event-stream"
                                                   : "Accept: application/json", err);
    if (st == FRUGAL_OK)
        st = gen_call_header(&c.gc, "Expect:", err);
    if (st == FRUGAL_OK && be->auth != NULL)
        st = gen_call_header(&c.gc, be->auth, err);
    if (st == FRUGAL_OK)
        st = gen_call_post(&c.gc, be->url, &be->http, err);
    if (st == FRUGAL_OK && c.gc.streaming) {
        st = sse_finish(&c.sse, on_event, &c, err);
        if (st == FRUGAL_OK && !c.done && res->finish_reason[0] == '\0')
            st = err_set(err, FRUGAL_EIO, "POST %s: the stream ended before [DONE]%s", be->url,
                         c.gc.sink.started ? " (partial text kept)" : "");
    } else if (st == FRUGAL_OK) {
        st = parse_whole(&c, err);
        if (st != FRUGAL_OK)
            err_prefix(err, "POST %s", be->url);
    } else if (st == FRUGAL_ECORRUPT && c.gc.streaming) {
        err_prefix(err, "POST %s", be->url);
    }
    st = gen_call_finish(&c.gc, messages, n_messages, st, err);
    sse_release(&c.sse);
    return st;
}

const struct gen_ops gen_openai_ops = {openai_generate, openai_free};
