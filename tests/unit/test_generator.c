/* test_generator.c - the generators (src/answer/generator.c, gen_openai.c, gen_bedrock.c,
 * gen_http.c) against a loopback HTTP server this test runs itself (a thread on 127.0.0.1,
 * ephemeral port, scripted per request): OpenAI-compatible streaming and non-streaming, usage
 * missing (estimated, flagged), a slow first token (first-token timeout), 429 with Retry-After
 * then success, 500 (retries, then the error), a connection reset mid-stream (error, no retry,
 * partial text kept), malformed SSE; Bedrock Converse and ConverseStream with event-stream frames
 * built here (and one with a bad CRC); the circuit breaker's transitions on a stepped clock;
 * failover order; health figures under concurrent calls. Never leaves the machine. */
#include "testutil.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "answer/gen_http.h"
#include "answer/generator.h"
#include "answer/stream.h"
#include "base/buf.h"
#include "loopback.h"

enum mode {
    M_STREAM,        /* three deltas, finish_reason, usage chunk, [DONE] */
    M_STREAM_NOUSE,  /* the same without usage */
    M_JSON,          /* a non-streaming completion */
    M_SLOW_FIRST,    /* headers, then 1.5 s before the first event */
    M_429_ONCE,      /* first request 429 with Retry-After: 1, then M_STREAM */
    M_500,           /* always 500 */
    M_RESET,         /* two deltas, then a TCP reset */
    M_MALFORMED,     /* a delta, then data that is not JSON */
    B_CONVERSE,      /* Bedrock Converse JSON */
    B_STREAM,        /* Bedrock ConverseStream frames */
    B_BAD_CRC,       /* the second frame's message CRC is wrong */
};

struct server {
    struct loopback lb;
    volatile enum mode mode;
    volatile int n_requests;
    char head[8192];  /* the last request's line and headers */
    char body[8192];  /* the last request's body */
};

static struct server srv;
static char url[64];

static void send_str(int fd, const char *s)
{
    loopback_send_all(fd, s, strlen(s));
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char SSE_HEAD[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

static void sse_delta(int fd, const char *text)
{
    char ev[256];
    snprintf(ev, sizeof(ev), "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":"
             "{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n", text);
    send_str(fd, ev);
    nap(5);
}

static void stream_ok(int fd, bool usage)
{
    send_str(fd, SSE_HEAD);
    send_str(fd, ": a comment\r\n\r\n");
    send_str(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n");
    sse_delta(fd, "Hello");
    sse_delta(fd, " wor");
    sse_delta(fd, "ld [1]");
    send_str(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
                 "\r\n\r\n");
    if (usage)
        send_str(fd, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,"
                     "\"completion_tokens\":3,\"total_tokens\":14}}\n\n");
    send_str(fd, "data: [DONE]\n\n");
}

static void frame(struct buf *b, const char *event, const char *payload)
{
    const char *h[] = {":event-type", event, ":content-type", "application/json",
                       ":message-type", "event"};
    evstream_encode(b, h, 3, payload, strlen(payload));
}

static void bedrock_stream(int fd, bool bad_crc)
{
    struct buf b;
    size_t second;
    buf_init(&b, 0);
    frame(&b, "messageStart", "{\"role\":\"assistant\"}");
    second = b.len;
    frame(&b, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Paris \"}}");
    if (bad_crc)
        b.ptr[b.len - 1] ^= 0x5a;
    frame(&b, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"[2]\"}}");
    frame(&b, "contentBlockStop", "{\"contentBlockIndex\":0}");
    frame(&b, "messageStop", "{\"stopReason\":\"max_tokens\"}");
    frame(&b, "metadata", "{\"usage\":{\"inputTokens\":21,\"outputTokens\":4,"
                          "\"totalTokens\":25},\"metrics\":{\"latencyMs\":100}}");
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
                 "Connection: close\r\n\r\n");
    /* in two pieces, split inside the second frame */
    loopback_send_all(fd, b.ptr, second + 7);
    nap(5);
    loopback_send_all(fd, b.ptr + second + 7, b.len - second - 7);
    buf_release(&b);
}

static void handle(int fd)
{
    char req[1 << 15];
    char *body;
    size_t content_length;
    int req_no;

    if (!loopback_read_request(fd, req, sizeof(req), &body, &content_length))
        return;
    req_no = ++srv.n_requests;
    snprintf(srv.head, sizeof(srv.head), "%.*s", (int)(body - req), req);
    snprintf(srv.body, sizeof(srv.body), "%s", body);

    switch (srv.mode) {
    case M_STREAM:
        stream_ok(fd, true);
        break;
    case M_STREAM_NOUSE:
        stream_ok(fd, false);
        break;
    case M_JSON:
        loopback_respond(fd, 200, "",
                "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":"
                "0,\"message\":{\"role\":\"assistant\",\"content\":\"Forty-two [1] [9].\"},"
                "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":7,"
                "\"completion_tokens\":5,\"total_tokens\":12}}");
        break;
    case M_SLOW_FIRST:
        send_str(fd, SSE_HEAD);
        nap(1500);
        sse_delta(fd, "late");
        break;
    case M_429_ONCE:
        if (req_no == 1)
            loopback_respond(fd, 429, "Retry-After: 1\r\n", "{\"error\":{\"message\":\"busy\"}}");
        else
            stream_ok(fd, true);
        break;
    case M_500:
        loopback_respond(fd, 500, "", "{\"error\":{\"message\":\"GPU on fire\"}}");
        break;
    case M_RESET: {
        struct linger lg = {1, 0};
        send_str(fd, SSE_HEAD);
        sse_delta(fd, "Hello");
        sse_delta(fd, " wor");
        nap(20);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        break;
    }
    case M_MALFORMED:
        send_str(fd, SSE_HEAD);
        sse_delta(fd, "Hi");
        send_str(fd, "data: {\"choices\": [oops\n\n");
        break;
    case B_CONVERSE:
        loopback_respond(fd, 200, "",
                "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":"
                "[{\"text\":\"Paris [1].\"}]}},\"stopReason\":\"end_turn\",\"usage\":"
                "{\"inputTokens\":30,\"outputTokens\":6,\"totalTokens\":36},"
                "\"metrics\":{\"latencyMs\":120}}");
        break;
    case B_STREAM:
        bedrock_stream(fd, false);
        break;
    case B_BAD_CRC:
        bedrock_stream(fd, true);
        break;
    }
}

static int start_server(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    if (loopback_start(&srv.lb, handle) != 0)
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.lb.port);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    loopback_stop(&srv.lb);
    return 0;
}

static void reset(enum mode m)
{
    srv.mode = m;
    srv.n_requests = 0;
    srv.head[0] = srv.body[0] = '\0';
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- OpenAI-compatible ----------------------------------------------------------------------- */

struct collected {
    struct buf text;
    int pieces;
    int abort_after; /* > 0: ask to stop after this many pieces */
};

static int on_delta(void *ctx, const char *text, size_t len)
{
    struct collected *c = ctx;
    buf_append(&c->text, text, len);
    c->pieces++;
    return c->abort_after > 0 && c->pieces >= c->abort_after;
}

static const struct gen_message msgs[] = {{"system", "Answer from the sources."},
                                          {"user", "What is \"it\"?\n[1] ..."}};

static struct generator *openai_gen(const char *name, const char *base, int retries,
                                    long first_token_ms)
{
    struct gen_openai_opts o;
    struct generator *g;
    void *impl;
    struct err e;
    gen_openai_default_opts(&o);
    o.base_url = base;
    o.model = "test-model";
    o.api_key = "sekrit";
    o.http.max_retries = retries;
    o.http.backoff_ms = 10;
    o.http.first_token_timeout_ms = first_token_ms;
    o.http.total_timeout_ms = 10000;
    assert_int_equal(gen_openai_new(&o, &impl, &e), FRUGAL_OK);
    assert_int_equal(gen_new(name, &gen_openai_ops, impl, NULL, &g, &e), FRUGAL_OK);
    return g;
}

static void stream_params(struct gen_params *p, struct collected *c)
{
    static const char *const stop[] = {"\n\nQuestion:", "</answer>"};
    gen_default_params(p);
    p->max_tokens = 50;
    p->temperature = 0.2;
    p->stop = stop;
    p->n_stop = 2;
    p->on_delta = on_delta;
    p->delta_ctx = c;
    memset(c, 0, sizeof(*c));
    buf_init(&c->text, 0);
}

static void test_openai_stream(void **state)
{
    struct generator *g = openai_gen("local", url, 2, 5000);
    struct gen_params p;
    struct collected c;
    struct gen_result r;
    struct err e;
    (void)state;

    reset(M_STREAM);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_string_equal(r.text, "Hello world [1]");
    assert_string_equal(c.text.ptr, "Hello world [1]");
    assert_int_equal(c.pieces, 3);
    assert_true(r.streamed);
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.prompt_tokens, 11);
    assert_int_equal(r.completion_tokens, 3);
    assert_false(r.usage_estimated);
    assert_int_equal(r.attempts, 1);
    assert_true(r.first_token_ms > 0 && r.first_token_ms <= r.total_ms);
    assert_string_equal(r.generator, "local");
    /* what went on the wire */
    assert_non_null(strstr(srv.head, "POST /v1/chat/completions HTTP/1.1"));
    assert_non_null(strstr(srv.head, "Authorization: Bearer sekrit"));
    assert_non_null(strstr(srv.head, "Accept: text/event-stream"));
    assert_non_null(strstr(srv.body, "\"model\":\"test-model\""));
    assert_non_null(strstr(srv.body, "\"stream\":true,\"stream_options\":{\"include_usage\":"
                                     "true},\"max_tokens\":50,\"temperature\":0.2,"
                                     "\"stop\":[\"\\n\\nQuestion:\",\"</answer>\"]"));
    assert_non_null(strstr(srv.body, "\"content\":\"What is \\\"it\\\"?\\n[1] ...\""));
    gen_result_release(&r);
    buf_release(&c.text);

    /* usage missing: estimated and flagged */
    reset(M_STREAM_NOUSE);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_string_equal(r.text, "Hello world [1]");
    assert_true(r.usage_estimated);
    assert_int_equal(r.completion_tokens, 4); /* 15 bytes / 4, rounded up */
    assert_true(r.prompt_tokens > 0);
    gen_result_release(&r);
    buf_release(&c.text);

    /* the caller stops the stream: EINVAL, not counted against the backend */
    reset(M_STREAM);
    stream_params(&p, &c);
    c.abort_after = 1;
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_EINVAL);
    assert_non_null(strstr(e.msg, "aborted by the caller"));
    assert_string_equal(r.text, "Hello");
    gen_result_release(&r);
    buf_release(&c.text);
    {
        struct gen_health h;
        gen_health(g, &h);
        assert_int_equal(h.failures, 0);
        assert_int_equal(h.calls, 3);
        assert_int_equal(h.in_flight, 0);
    }
    gen_free(g);
}

static void test_openai_json(void **state)
{
    char base[96];
    struct generator *g;
    struct gen_params p;
    struct gen_result r;
    struct err e;
    (void)state;

    snprintf(base, sizeof(base), "%s/v1/", url); /* a base ending in /v1 */
    g = openai_gen("json", base, 0, 5000);
    reset(M_JSON);
    gen_default_params(&p);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_string_equal(r.text, "Forty-two [1] [9].");
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.prompt_tokens, 7);
    assert_int_equal(r.completion_tokens, 5);
    assert_false(r.streamed);
    assert_non_null(strstr(srv.head, "POST /v1/chat/completions "));
    assert_non_null(strstr(srv.body, "\"stream\":false}"));
    gen_result_release(&r);
    gen_free(g);
}

/* The usage reading and the end of a call both backends share (gen_http.c): counts only when
 * both are numbers in [0, 4e9) in an object; otherwise estimated from the bytes and flagged. */
static void test_call_usage(void **state)
{
    static const char *const bad[] = {
        "{\"prompt_tokens\":-1,\"completion_tokens\":2}",
        "{\"prompt_tokens\":4e9,\"completion_tokens\":2}",
        "{\"prompt_tokens\":\"5\",\"completion_tokens\":2}",
        "{\"prompt_tokens\":5}",
        "[5,2]",
        "5",
    };
    const struct gen_message two[2] = {{"system", "abcd"}, {"user", "0123456789"}};
    struct gen_params p;
    struct gen_result r;
    struct gen_call c;
    struct err e;
    cJSON *u;
    (void)state;

    gen_default_params(&p);
    memset(&r, 0, sizeof(r));
    gen_call_init(&c, &p, &r, 1024, NULL, NULL);
    gen_call_usage(&c, NULL, "prompt_tokens", "completion_tokens");
    assert_false(c.got_usage);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        u = cJSON_Parse(bad[i]);
        gen_call_usage(&c, u, "prompt_tokens", "completion_tokens");
        assert_false(c.got_usage);
        assert_int_equal(r.prompt_tokens, 0);
        cJSON_Delete(u);
    }
    u = cJSON_Parse("{\"inputTokens\":3999999999,\"outputTokens\":0}");
    gen_call_usage(&c, u, "prompt_tokens", "completion_tokens");
    assert_false(c.got_usage);
    gen_call_usage(&c, u, "inputTokens", "outputTokens");
    assert_true(c.got_usage);
    assert_int_equal(r.prompt_tokens, 3999999999u);
    assert_int_equal(r.completion_tokens, 0);
    cJSON_Delete(u);
    assert_int_equal(gen_call_finish(&c, two, 2, FRUGAL_OK, &e), FRUGAL_OK);
    assert_false(r.usage_estimated);
    assert_string_equal(r.text, "");
    gen_result_release(&r);

    /* no usage: (4 + 4 + 10 + 4 + 3) / 4 prompt tokens, (7 + 3) / 4 for the text */
    gen_call_init(&c, &p, &r, 1024, NULL, NULL);
    assert_int_equal(gen_result_append(&r, "seven b", 7), FRUGAL_OK);
    assert_int_equal(gen_call_finish(&c, two, 2, FRUGAL_OK, &e), FRUGAL_OK);
    assert_true(r.usage_estimated);
    assert_int_equal(r.prompt_tokens, 6);
    assert_int_equal(r.completion_tokens, 2);
    gen_result_release(&r);

    /* a failed call keeps its status and estimates nothing */
    gen_call_init(&c, &p, &r, 1024, NULL, NULL);
    assert_int_equal(gen_call_finish(&c, two, 2, FRUGAL_EIO, &e), FRUGAL_EIO);
    assert_false(r.usage_estimated);
    assert_string_equal(r.text, "");
    gen_result_release(&r);
}

static void test_openai_failures(void **state)
{
    struct generator *g;
    struct gen_params p;
    struct collected c;
    struct gen_result r;
    struct err e;
    double t0;
    (void)state;

    /* a slow first token: the first-token timeout fires long before the 1.5 s */
    g = openai_gen("slow", url, 2, 300);
    reset(M_SLOW_FIRST);
    stream_params(&p, &c);
    t0 = now_ms();
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_ETIMEOUT);
    assert_true(now_ms() - t0 < 1200);
    assert_non_null(strstr(e.msg, "no token within 300 ms"));
    assert_int_equal(r.attempts, 1);
    gen_result_release(&r);
    buf_release(&c.text);
    gen_free(g);

    /* 429 with Retry-After: 1, then success; the wait is the server's */
    g = openai_gen("busy", url, 2, 5000);
    reset(M_429_ONCE);
    stream_params(&p, &c);
    t0 = now_ms();
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_true(now_ms() - t0 >= 900);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(srv.n_requests, 2);
    assert_string_equal(r.text, "Hello world [1]");
    gen_result_release(&r);
    buf_release(&c.text);

    /* 500 forever: 1 + max_retries attempts, then the server's message */
    reset(M_500);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_EIO);
    assert_int_equal(srv.n_requests, 3);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(e.msg, "gave up after 3 attempts"));
    assert_non_null(strstr(e.msg, "HTTP 500: GPU on fire"));
    assert_null(strstr(e.msg, "sekrit"));
    gen_result_release(&r);
    buf_release(&c.text);

    /* reset mid-stream: an error, no retry, the partial text kept */
    reset(M_RESET);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_EIO);
    assert_int_equal(srv.n_requests, 1);
    assert_int_equal(r.attempts, 1);
    assert_true(r.streamed);
    assert_string_equal(r.text, "Hello wor");
    assert_non_null(strstr(e.msg, "partial text kept"));
    gen_result_release(&r);
    buf_release(&c.text);

    /* malformed SSE: a clear error naming the event */
    reset(M_MALFORMED);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "SSE event 2: not a JSON object"));
    assert_int_equal(srv.n_requests, 1);
    gen_result_release(&r);
    buf_release(&c.text);
    gen_free(g);
}

/* ---- Bedrock --------------------------------------------------------------------------------- */

static struct generator *bedrock_gen(void)
{
    struct gen_bedrock_opts o;
    struct generator *g;
    void *impl;
    struct err e;
    gen_bedrock_default_opts(&o);
    o.region = "us-east-1";
    o.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
    o.access_key = "AKIDEXAMPLE";
    o.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    o.session_token = "session-token";
    o.endpoint = url;
    o.fixed_time = 1709806272; /* 2024-03-07T10:11:12Z */
    o.http.max_retries = 0;
    o.http.total_timeout_ms = 10000;
    assert_int_equal(gen_bedrock_new(&o, &impl, &e), FRUGAL_OK);
    assert_int_equal(gen_new("bedrock", &gen_bedrock_ops, impl, NULL, &g, &e), FRUGAL_OK);
    return g;
}

static void test_bedrock(void **state)
{
    struct generator *g = bedrock_gen();
    struct gen_params p;
    struct collected c;
    struct gen_result r;
    struct err e;
    (void)state;

    /* Converse */
    reset(B_CONVERSE);
    gen_default_params(&p);
    p.max_tokens = 64;
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_string_equal(r.text, "Paris [1].");
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.prompt_tokens, 30);
    assert_int_equal(r.completion_tokens, 6);
    assert_non_null(strstr(srv.head,
                           "POST /model/anthropic.claude-3-haiku-20240307-v1%3A0/converse "));
    assert_non_null(strstr(srv.head, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
                                     "20240307/us-east-1/bedrock/aws4_request, SignedHeaders="
                                     "accept;content-type;host;x-amz-date;x-amz-security-token, "
                                     "Signature="));
    assert_non_null(strstr(srv.head, "X-Amz-Date: 20240307T101112Z"));
    assert_non_null(strstr(srv.head, "X-Amz-Security-Token: session-token"));
    assert_non_null(strstr(srv.body, "\"system\":[{\"text\":\"Answer from the sources.\"}]"));
    assert_non_null(strstr(srv.body, "\"inferenceConfig\":{\"maxTokens\":64}"));
    assert_non_null(strstr(srv.body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":"));
    gen_result_release(&r);

    /* ConverseStream */
    reset(B_STREAM);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_OK);
    assert_string_equal(r.text, "Paris [2]");
    assert_string_equal(c.text.ptr, "Paris [2]");
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.prompt_tokens, 21);
    assert_int_equal(r.completion_tokens, 4);
    assert_false(r.usage_estimated);
    assert_non_null(strstr(srv.head, "/converse-stream "));
    assert_non_null(strstr(srv.head, "Accept: application/vnd.amazon.eventstream"));
    assert_non_null(strstr(srv.body, "\"stopSequences\":[\"\\n\\nQuestion:\",\"</answer>\"]"));
    gen_result_release(&r);
    buf_release(&c.text);

    /* a frame with a bad CRC: a clear error */
    reset(B_BAD_CRC);
    stream_params(&p, &c);
    assert_int_equal(gen_generate(g, msgs, 2, &p, &r, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "event-stream message 2: message CRC mismatch"));
    assert_false(r.streamed);
    gen_result_release(&r);
    buf_release(&c.text);
    gen_free(g);

    /* configuration errors */
    {
        struct gen_bedrock_opts o;
        void *impl;
        gen_bedrock_default_opts(&o);
        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        o.model_id = "m";
        assert_int_equal(gen_bedrock_new(&o, &impl, &e), FRUGAL_EINVAL);
        assert_non_null(strstr(e.msg, "AWS_REGION"));
        setenv("AWS_REGION", "us-east-1", 1);
        unsetenv("AWS_ACCESS_KEY_ID");
        assert_int_equal(gen_bedrock_new(&o, &impl, &e), FRUGAL_EINVAL);
        assert_non_null(strstr(e.msg, "AWS_ACCESS_KEY_ID"));
        setenv("AWS_ACCESS_KEY_ID", "AK", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
        assert_int_equal(gen_bedrock_new(&o, &impl, &e), FRUGAL_OK);
        gen_bedrock_ops.free(impl);
        unsetenv("AWS_REGION");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
    }
}

/* ---- Breaker, failover, health --------------------------------------------------------------- */

struct fake {
    int fail;           /* 1: every call fails with EIO */
    double latency_ms;  /* reported as total_ms */
    int calls;
    int stream_then_fail;
};

static frugal_status fake_generate(void *impl, const struct gen_message *m, size_t n,
                                   const struct gen_params *p, struct gen_result *r,
                                   struct err *err)
{
    struct fake *f = impl;
    (void)m;
    (void)n;
    (void)p;
    __atomic_fetch_add(&f->calls, 1, __ATOMIC_RELAXED);
    r->total_ms = f->latency_ms;
    r->attempts = 1;
    if (f->stream_then_fail) {
        r->streamed = true;
        return err_set(err, FRUGAL_EIO, "broke mid-stream");
    }
    if (f->fail)
        return err_set(err, FRUGAL_EIO, "fake failure");
    return FRUGAL_OK;
}

static const struct gen_ops fake_ops = {fake_generate, NULL};

static double fake_clock_ms;
static double fake_clock(void)
{
    return fake_clock_ms;
}

static void test_breaker(void **state)
{
    struct fake f = {0, 0, 0, 0};
    struct gen_breaker_opts bo;
    struct generator *g;
    struct gen_result r;
    struct gen_health h;
    struct err e;
    (void)state;

    gen_set_clock(fake_clock);
    fake_clock_ms = 1000;
    gen_breaker_default_opts(&bo);
    bo.failure_threshold = 3;
    bo.cooldown_ms = 5000;
    bo.capacity = 2;
    assert_int_equal(gen_new("fake", &fake_ops, &f, &bo, &g, &e), FRUGAL_OK);

    /* successes with known latencies: p50 and p95 by nearest rank */
    for (int i = 1; i <= 20; i++) {
        f.latency_ms = i * 10;
        assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_OK);
        gen_result_release(&r);
    }
    gen_health(g, &h);
    assert_int_equal(h.circuit, GEN_CLOSED);
    assert_true(h.p50_ms == 100 && h.p95_ms == 190);
    assert_true(h.error_rate == 0);
    assert_int_equal(h.capacity, 2);

    /* three failures in a row open the circuit */
    f.fail = 1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_EIO);
        gen_result_release(&r);
    }
    gen_health(g, &h);
    assert_int_equal(h.circuit, GEN_OPEN);
    assert_int_equal(h.consecutive_failures, 3);
    assert_true(h.error_rate > 0.13 && h.error_rate < 0.14); /* 3 of 23 */
    /* open: refused at once, the backend is not called */
    assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_EBUSY);
    assert_non_null(strstr(e.msg, "fake: circuit open"));
    assert_int_equal(f.calls, 23);
    gen_health(g, &h);
    assert_int_equal(h.rejected, 1);

    /* after the cool-down: half-open; a failed probe opens it again */
    fake_clock_ms += 5000;
    gen_health(g, &h);
    assert_int_equal(h.circuit, GEN_HALF_OPEN);
    assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_EIO);
    assert_int_equal(f.calls, 24);
    gen_health(g, &h);
    assert_int_equal(h.circuit, GEN_OPEN);
    assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_EBUSY);

    /* the next probe succeeds: closed */
    fake_clock_ms += 5000;
    f.fail = 0;
    assert_int_equal(gen_generate(g, msgs, 2, NULL, &r, &e), FRUGAL_OK);
    gen_health(g, &h);
    assert_int_equal(h.circuit, GEN_CLOSED);
    assert_int_equal(h.consecutive_failures, 0);
    assert_string_equal(gen_circuit_name(h.circuit), "closed");
    gen_free(g);
    gen_set_clock(NULL);
}

static void test_failover(void **state)
{
    struct fake down = {1, 0, 0, 0};
    struct fake up = {0, 5, 0, 0};
    struct fake broken = {0, 0, 0, 1};
    struct generator *gens[3];
    struct gen_result r;
    struct err e;
    struct gen_breaker_opts bo;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char dead[64];
    int fd;
    (void)state;

    gen_breaker_default_opts(&bo);
    bo.failure_threshold = 1;
    assert_int_equal(gen_new("down", &fake_ops, &down, &bo, &gens[0], &e), FRUGAL_OK);
    assert_int_equal(gen_new("up", &fake_ops, &up, &bo, &gens[1], &e), FRUGAL_OK);

    /* the first fails, the second answers */
    assert_int_equal(gen_failover(gens, 2, msgs, 2, NULL, &r, &e), FRUGAL_OK);
    assert_string_equal(r.generator, "up");
    assert_int_equal(down.calls, 1);
    gen_result_release(&r);
    /* now the first is open: skipped without a call */
    assert_int_equal(gen_failover(gens, 2, msgs, 2, NULL, &r, &e), FRUGAL_OK);
    assert_string_equal(r.generator, "up");
    assert_int_equal(down.calls, 1);
    assert_int_equal(up.calls, 2);
    gen_result_release(&r);

    /* a failure after streaming started does not fail over */
    assert_int_equal(gen_new("broken", &fake_ops, &broken, &bo, &gens[2], &e), FRUGAL_OK);
    {
        struct generator *order[2] = {gens[2], gens[1]};
        assert_int_equal(gen_failover(order, 2, msgs, 2, NULL, &r, &e), FRUGAL_EIO);
        assert_int_equal(up.calls, 2);
        assert_non_null(strstr(e.msg, "broke mid-stream"));
        gen_result_release(&r);
    }
    /* all failing: every reason listed */
    {
        struct generator *order[2] = {gens[0], gens[2]};
        assert_int_equal(gen_failover(order, 2, msgs, 2, NULL, &r, &e), FRUGAL_EBUSY);
        assert_non_null(strstr(e.msg, "all 2 generators failed: down: circuit open; broken: "
                                      "circuit open"));
        gen_result_release(&r);
    }
    gen_free(gens[0]);
    gen_free(gens[1]);
    gen_free(gens[2]);

    /* real backends: a refused port, then the loopback server */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
    gens[0] = openai_gen("dead", dead, 1, 5000);
    gens[1] = openai_gen("live", url, 0, 5000);
    reset(M_JSON);
    assert_int_equal(gen_failover(gens, 2, msgs, 2, NULL, &r, &e), FRUGAL_OK);
    assert_string_equal(r.generator, "live");
    assert_string_equal(r.text, "Forty-two [1] [9].");
    gen_result_release(&r);
    reset(M_500);
    assert_int_equal(gen_failover(gens, 2, msgs, 2, NULL, &r, &e), FRUGAL_EIO);
    assert_non_null(strstr(e.msg, "all 2 generators failed: dead: "));
    assert_non_null(strstr(e.msg, "; live: "));
    gen_result_release(&r);
    gen_free(gens[0]);
    gen_free(gens[1]);
}

struct worker {
    struct generator *g;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 200; i++) {
        struct gen_result r;
        struct err e;
        struct gen_health h;
        if (gen_generate(w->g, msgs, 2, NULL, &r, &e) == FRUGAL_OK)
            w->ok++;
        gen_result_release(&r);
        gen_health(w->g, &h);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    struct fake f = {0, 3, 0, 0};
    struct generator *g;
    struct err e;
    pthread_t t[8];
    struct worker w[8];
    struct gen_health h;
    (void)state;

    assert_int_equal(gen_new("shared", &fake_ops, &f, NULL, &g, &e), FRUGAL_OK);
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){g, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 200);
    }
    gen_health(g, &h);
    assert_int_equal(h.in_flight, 0);
    assert_int_equal(h.calls, 1600);
    assert_true(h.p50_ms == 3 && h.p95_ms == 3);
    gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_stream),
        cmocka_unit_test(test_openai_json),
        cmocka_unit_test(test_call_usage),
        cmocka_unit_test(test_openai_failures),
        cmocka_unit_test(test_bedrock),
        cmocka_unit_test(test_breaker),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
