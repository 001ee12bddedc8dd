/*
 * gen_bedrock.c - the AWS Bedrock backend: Converse and ConverseStream, signed with our own
 * SigV4 (sigv4.c). Contract in generator.h.
 *
 * How: POST {endpoint}/model/{modelId}/converse (or /converse-stream) with
 *     {"messages":[{"role":"user","content":[{"text":...}]}, ...],
 *      "system":[{"text":...}], "inferenceConfig":{"maxTokens":N,"temperature":T,
 *      "stopSequences":[...]}}
 * The model id is percent-encoded once on the wire ("...-v1%3A0") and signed twice-encoded, as
 * AWS expects for every service but S3. The signed headers are exactly the ones sent (content-
 * type, accept, host, x-amz-date, x-amz-security-token when a session token is set), so that what
 * is signed cannot drift from what libcurl sends. Converse answers with one JSON object
 * (output.message.content[].text, stopReason, usage.inputTokens/outputTokens). ConverseStream
 * answers with AWS event-stream frames (stream.c decodes and CRC-checks them): contentBlockDelta
 * carries delta.text, messageStop the stopReason, metadata the usage; an "exception" or "error"
 * message mid-stream fails the call with its type and message. Stop reasons are mapped to
 * OpenAI's words (end_turn, stop_sequence -> stop; max_tokens -> length; content_filtered,
 * guardrail_intervened -> content_filter).
 *
 * Why: Bedrock is where many teams have their LLM quota; libcurl's built-in SigV4 cannot sign
 * its model ids, hence our signer.
 *
 * Threading: configuration is immutable after gen_bedrock_new; each call has its own state and
 * curl handles. Credentials are read once, at creation (rotate by creating a new backend).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "answer/gen_http.h"
#include "answer/generator.h"
#include "answer/sigv4.h"
#include "answer/stream.h"
#include "base/alloc.h"

struct bedrock {
    char *endpoint;      /* owned: scheme://authority[/prefix], no trailing '/' */
    char *host;          /* owned: the authority, for the Host header */
    char *path_prefix;   /* owned: "" or "/prefix" */
    char *model_id;      /* owned */
    char *region;        /* owned */
    char *access_key;    /* owned */
    char *secret_key;    /* owned; wiped on free */
    char *session_token; /* owned or NULL */
    long long fixed_time;
    struct gen_http_opts http;
};

void gen_bedrock_default_opts(struct gen_bedrock_opts *o)
{
    memset(o, 0, sizeof(*o));
    gen_http_default_opts(&o->http);
}

static void wipe_free(char *s)
{
    if (s != NULL)
        memset(s, 0, strlen(s));
    frugal_free(s);
}

static void bedrock_free(void *impl)
{
    struct bedrock *b = impl;
    if (b == NULL)
        return;
    frugal_free(b->endpoint);
    frugal_free(b->host);
    frugal_free(b->path_prefix);
    frugal_free(b->model_id);
    frugal_free(b->region);
    frugal_free(b->access_key);
    wipe_free(b->secret_key);
    wipe_free(b->session_token);
    frugal_free(b);
}

static bool header_safe(const char *s)
{
    return s == NULL || strpbrk(s, "\r\n") == NULL;
}

/* Splits endpoint into host (authority) and path prefix. */
static frugal_status split_endpoint(struct bedrock *b, const char *ep, struct err *err)
{
    const char *auth = strstr(ep, "://");
    const char *slash;
    size_t len = strlen(ep);
    while (len > 0 && ep[len - 1] == '/')
        len--;
    if (auth == NULL || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0))
        return err_set(err, FRUGAL_EINVAL, "Bedrock endpoint must start with http:// or https://");
    auth += 3;
    slash = memchr(auth, '/', (size_t)(ep + len - auth));
    if (slash == NULL)
        slash = ep + len;
    if (slash == auth || memchr(auth, '@', (size_t)(slash - auth)) != NULL ||
        memchr(ep, '?', len) != NULL || memchr(ep, '#', len) != NULL)
        return err_set(err, FRUGAL_EINVAL, "Bedrock endpoint '%s' is not scheme://host[:port]"
                       "[/path]", ep);
    b->endpoint = frugal_strndup(ep, len);
    b->host = frugal_strndup(auth, (size_t)(slash - auth));
    b->path_prefix = frugal_strndup(slash, (size_t)(ep + len - slash));
    if (b->endpoint == NULL || b->host == NULL || b->path_prefix == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    return FRUGAL_OK;
}

frugal_status gen_bedrock_new(const struct gen_bedrock_opts *opts, void **out_impl,
                              struct err *err)
{
    struct gen_bedrock_opts defaults;
    struct bedrock *b;
    const char *region;
    const char *ak;
    const char *sk;
    const char *tok;
    struct buf ep;
    frugal_status st;

    *out_impl = NULL;
    if (opts == NULL) {
        gen_bedrock_default_opts(&defaults);
        opts = &defaults;
    }
    region = gen_env_or(opts->region, "AWS_REGION");
    if (region == NULL)
        region = gen_env_or(NULL, "AWS_DEFAULT_REGION");
    ak = gen_env_or(opts->access_key, "AWS_ACCESS_KEY_ID");
    sk = gen_env_or(opts->secret_key, "AWS_SECRET_ACCESS_KEY");
    tok = gen_env_or(opts->session_token, "AWS_SESSION_TOKEN");
    if (region == NULL || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                              strlen(region))
        return err_set(err, FRUGAL_EINVAL, "Bedrock: no valid region: set AWS_REGION or give "
                       "one");
    if (opts->model_id == NULL || opts->model_id[0] == '\0')
        return err_set(err, FRUGAL_EINVAL, "Bedrock: no model id");
    if (ak == NULL || sk == NULL)
        return err_set(err, FRUGAL_EINVAL, "Bedrock: no credentials: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY or give them");
    if (!header_safe(ak) || !header_safe(tok) || !header_safe(opts->model_id))
        return err_set(err, FRUGAL_EINVAL, "Bedrock: a credential or the model id holds a line "
                       "break");
    if (opts->http.total_timeout_ms <= 0 || opts->http.max_retries < 0 ||
        opts->http.max_response < 1024)
        return err_set(err, FRUGAL_EINVAL, "bad generator HTTP options");
    st = gen_http_global_init(err);
    if (st != FRUGAL_OK)
        return st;
    b = frugal_calloc(1, sizeof(*b));
    if (b == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    buf_init(&ep, 0);
    if (opts->endpoint != NULL)
        st = buf_puts(&ep, opts->endpoint);
    else
        st = buf_printf(&ep, "https://bedrock-runtime.%s.amazonaws.com", region);
    if (st == FRUGAL_OK)
        st = split_endpoint(b, ep.ptr, err);
    else
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    buf_release(&ep);
    if (st == FRUGAL_OK) {
        b->model_id = frugal_strdup(opts->model_id);
        b->region = frugal_strdup(region);
        b->access_key = frugal_strdup(ak);
        b->secret_key = frugal_strdup(sk);
        b->session_token = tok != NULL ? frugal_strdup(tok) : NULL;
        if (b->model_id == NULL || b->region == NULL || b->access_key == NULL ||
            b->secret_key == NULL || (tok != NULL && b->session_token == NULL))
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (st != FRUGAL_OK) {
        bedrock_free(b);
        return st;
    }
    b->fixed_time = opts->fixed_time;
    b->http = opts->http;
    *out_impl = b;
    return FRUGAL_OK;
}

/* ---- One call -------------------------------------------------------------------------------- */

struct call {
    struct gen_call gc;        /* first: the HTTP layer hands its sink back */
    struct evstream_decoder es;
    size_t max_response;
    bool stopped;              /* messageStop seen */
};

static void set_stop_reason(struct gen_result *r, const char *why)
{
    const char *m = why;
    if (strcmp(why, "end_turn") == 0 || strcmp(why, "stop_sequence") == 0)
        m = "stop";
    else if (strcmp(why, "max_tokens") == 0)
        m = "length";
    else if (strcmp(why, "content_filtered") == 0 || strcmp(why, "guardrail_intervened") == 0)
        m = "content_filter";
    snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", m);
}

static void read_usage(struct call *c, const cJSON *root)
{
    gen_call_usage(&c->gc, cJSON_GetObjectItemCaseSensitive(root, "usage"), "inputTokens",
                   "outputTokens");
}

static frugal_status on_message(void *ctx, const struct evstream_message *m, struct err *err)
{
    struct call *c = ctx;
    size_t n = c->es.n_messages;
    cJSON *root;
    frugal_status st = FRUGAL_OK;

    if (strcmp(m->message_type, "exception") == 0 || strcmp(m->message_type, "error") == 0) {
        char msg[320];
        gen_server_message(m->payload, m->payload_len, msg, sizeof(msg));
        return err_set(err, FRUGAL_EIO, "ConverseStream message %zu: %s %s: %s", n,
                       m->message_type, m->exception_type[0] != '\0' ? m->exception_type
                                                                     : m->error_code,
                       m->error_message[0] != '\0' ? m->error_message : msg);
    }
    if (strcmp(m->message_type, "event") != 0)
        return err_set(err, FRUGAL_ECORRUPT, "ConverseStream message %zu: message type '%s'", n,
                       m->message_type);
    root = cJSON_ParseWithLength(m->payload != NULL ? m->payload : "", m->payload_len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(err, FRUGAL_ECORRUPT, "ConverseStream message %zu (%s): payload is not "
                       "a JSON object", n, m->event_type);
    }
    if (strcmp(m->event_type, "contentBlockDelta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(delta, "text");
        if (!cJSON_IsObject(delta))
            st = err_set(err, FRUGAL_ECORRUPT, "ConverseStream message %zu: contentBlockDelta "
                         "without a delta object", n);
        else if (text != NULL && !cJSON_IsString(text))
            st = err_set(err, FRUGAL_ECORRUPT, "ConverseStream message %zu: delta.text is not "
                         "a string", n);
        else if (text != NULL)
            st = gen_call_emit(&c->gc, text->valuestring, strlen(text->valuestring), err);
    } else if (strcmp(m->event_type, "messageStop") == 0) {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "stopReason");
        c->stopped = true;
        if (cJSON_IsString(why))
            set_stop_reason(c->gc.res, why->valuestring);
    } else if (strcmp(m->event_type, "metadata") == 0) {
        read_usage(c, root);
    }
    cJSON_Delete(root);
    return st;
}

static frugal_status on_body(struct gen_http_sink *s, const char *p, size_t n, struct err *err)
{
    struct call *c = (struct call *)s;
    if (!c->gc.streaming)
        return gen_call_collect(&c->gc, p, n, err);
    return evstream_feed(&c->es, p, n, on_message, c, err);
}

static void on_attempt(struct gen_http_sink *s)
{
    struct call *c = (struct call *)s;
    evstream_release(&c->es);
    evstream_init(&c->es, c->max_response);
    gen_call_reset(&c->gc);
    c->stopped = false;
}

static frugal_status parse_whole(struct call *c, struct err *err)
{
    const struct buf *body = &c->gc.body;
    cJSON *root = cJSON_ParseWithLength(body->ptr != NULL ? body->ptr : "", body->len);
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(root, "output");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(output, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "stopReason");
    const cJSON *block;
    frugal_status st = FRUGAL_OK;

    if (!cJSON_IsObject(root))
        st = err_set(err, FRUGAL_ECORRUPT, "the response is not a JSON object");
    else if (!cJSON_IsArray(content))
        st = err_set(err, FRUGAL_ECORRUPT, "the response has no output.message.content array");
    if (st != FRUGAL_OK)
        content = NULL;
    cJSON_ArrayForEach(block, content)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
        if (text == NULL)
            continue; /* tool use, reasoning, ...: not text */
        if (!cJSON_IsString(text)) {
            st = err_set(err, FRUGAL_ECORRUPT, "a content block's text is not a string");
            break;
        }
        if (gen_result_append(c->gc.res, text->valuestring, strlen(text->valuestring)) !=
            FRUGAL_OK) {
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
            break;
        }
    }
    if (st == FRUGAL_OK && cJSON_IsString(why))
        set_stop_reason(c->gc.res, why->valuestring);
    if (st == FRUGAL_OK)
        read_usage(c, root);
    cJSON_Delete(root);
    return st;
}

static frugal_status build_body(const struct gen_message *m, size_t n,
                                const struct gen_params *p, struct buf *b)
{
    frugal_status st = buf_puts(b, "{\"messages\":[");
    bool first = true;
    bool any_system = false;
    for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
        if (strcmp(m[i].role, "system") == 0) {
            any_system = true;
            continue;
        }
        st = buf_printf(b, "%s{\"role\":\"%s\",\"content\":[{\"text\":", first ? "" : ",",
                        m[i].role);
        first = false;
        if (st == FRUGAL_OK)
            st = gen_json_string(b, m[i].content);
        if (st == FRUGAL_OK)
            st = buf_puts(b, "}]}");
    }
    if (st == FRUGAL_OK)
        st = buf_putc(b, ']');
    if (st == FRUGAL_OK && any_system) {
        first = true;
        st = buf_puts(b, ",\"system\":[");
        for (size_t i = 0; i < n && st == FRUGAL_OK; i++) {
            if (strcmp(m[i].role, "system") != 0)
                continue;
            st = buf_puts(b, first ? "{\"text\":" : ",{\"text\":");
            first = false;
            if (st == FRUGAL_OK)
                st = gen_json_string(b, m[i].content);
            if (st == FRUGAL_OK)
                st = buf_putc(b, '}');
        }
        if (st == FRUGAL_OK)
            st = buf_putc(b, ']');
    }
    if (st == FRUGAL_OK && (p->max_tokens > 0 || p->temperature >= 0 || p->n_stop > 0)) {
        const char *sep = "";
        st = buf_puts(b, ",\"inferenceConfig\":{");
        if (st == FRUGAL_OK && p->max_tokens > 0) {
            st = buf_printf(b, "\"maxTokens\":%d", p->max_tokens);
            sep = ",";
        }
        if (st == FRUGAL_OK && p->temperature >= 0) {
            st = buf_printf(b, "%s\"temperature\":%.4g", sep, p->temperature);
            sep = ",";
        }
        if (st == FRUGAL_OK && p->n_stop > 0) {
            st = buf_printf(b, "%s\"stopSequences\":[", sep);
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
    }
    if (st == FRUGAL_OK)
        st = buf_putc(b, '}');
    return st;
}

/* Signs the request and builds the header list (every header sent is signed). */
static frugal_status sign(const struct bedrock *b, const char *path, struct gen_call *c,
                          struct err *err)
{
    char date[17];
    const char *accept = c->streaming ? "application/vnd.amazon.eventstream"
                                      : "application/json";
    struct sigv4_header h[5] = {{"Content-Type", "application/json"},
                                {"Accept", accept},
                                {"Host", b->host},
                                {"X-Amz-Date", date},
                                {"X-Amz-Security-Token", b->session_token}};
    size_t nh = b->session_token != NULL ? 5 : 4;
    struct sigv4_request req = {"POST", path, NULL, h, nh, c->req.ptr, c->req.len};
    struct sigv4_creds cr = {b->access_key, b->secret_key, b->region, "bedrock"};
    struct buf line;
    frugal_status st;

    sigv4_format_date(b->fixed_time > 0 ? b->fixed_time : (long long)time(NULL), date);
    buf_init(&line, 0);
    st = buf_puts(&line, "Authorization: ");
    if (st == FRUGAL_OK)
        st = sigv4_sign(&req, &cr, date, true, &line, NULL, NULL, err);
    else
        st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (st == FRUGAL_OK)
        st = gen_call_header(c, line.ptr, err);
    for (size_t i = 0; i < nh && st == FRUGAL_OK; i++) {
        buf_reset(&line);
        if (buf_printf(&line, "%s: %s", h[i].name, h[i].value) != FRUGAL_OK)
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
        else
            st = gen_call_header(c, line.ptr, err);
    }
    if (st == FRUGAL_OK)
        st = gen_call_header(c, "Expect:", err);
    buf_release(&line);
    return st;
}

static frugal_status bedrock_generate(void *impl, const struct gen_message *messages,
                                      size_t n_messages, const struct gen_params *params,
                                      struct gen_result *res, struct err *err)
{
    const struct bedrock *b = impl;
    struct call c;
    struct buf path;
    struct buf url;
    frugal_status st;

    memset(&c, 0, sizeof(c));
    gen_call_init(&c.gc, params, res, b->http.max_response, on_body, on_attempt);
    c.max_response = b->http.max_response;
    evstream_init(&c.es, b->http.max_response);
    buf_init(&path, 0);
    buf_init(&url, 0);
    st = gen_check_request(messages, n_messages, params, err);
    if (st == FRUGAL_OK) {
        frugal_status bs = build_body(messages, n_messages, params, &c.gc.req);
        if (bs == FRUGAL_OK)
            bs = buf_printf(&path, "%s/model/", b->path_prefix);
        if (bs == FRUGAL_OK)
            bs = sigv4_uri_encode(&path, b->model_id, strlen(b->model_id), false);
        if (bs == FRUGAL_OK)
            bs = buf_puts(&path, c.gc.streaming ? "/converse-stream" : "/converse");
        if (bs == FRUGAL_OK)
            bs = buf_printf(&url, "%.*s%s", (int)(strlen(b->endpoint) - strlen(b->path_prefix)),
                            b->endpoint, path.ptr);
        if (bs != FRUGAL_OK)
            st = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (st == FRUGAL_OK)
        st = sign(b, path.ptr, &c.gc, err);
    if (st == FRUGAL_OK)
        st = gen_call_post(&c.gc, url.ptr, &b->http, err);
    if (st == FRUGAL_OK && c.gc.streaming) {
        st = evstream_finish(&c.es, err);
        if (st == FRUGAL_OK && !c.stopped)
            st = err_set(err, FRUGAL_EIO, "the stream ended before messageStop%s",
                         c.gc.sink.started ? " (partial text kept)" : "");
        if (st != FRUGAL_OK)
            err_prefix(err, "POST %s", url.ptr);
    } else if (st == FRUGAL_OK) {
        st = parse_whole(&c, err);
        if (st != FRUGAL_OK)
            err_prefix(err, "POST %s", url.ptr);
    } else if (st == FRUGAL_ECORRUPT && c.gc.streaming) {
        err_prefix(err, "POST %s", url.ptr);
    }
    st = gen_call_finish(&c.gc, messages, n_messages, st, err);
    buf_release(&path);
    buf_release(&url);
    evstream_release(&c.es);
    return st;
}

const struct gen_ops gen_bedrock_ops = {bedrock_generate, bedrock_free};
