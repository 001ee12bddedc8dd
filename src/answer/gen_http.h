/*
 * gen_http.h - what both generator backends share: the HTTP exchange (one POST with retries,
 * jittered backoff, Retry-After, a response size limit and three clocks: connect, first token,
 * total) and the state of one call (struct gen_call: request, headers, response body, text,
 * token counts).
 *
 * Contract: the backend embeds a struct gen_call first in its per-call state and gives it on_body
 * (bytes of a 2xx response, in order, any split) and on_attempt (reset before each attempt,
 * calling gen_call_reset). Its on_body passes text on with gen_call_emit, which sets
 * sink.started once text reached the caller; from then on nothing is retried and the
 * first-token clock stops. gen_http_post (gen_call_post) returns FRUGAL_OK when the exchange
 * ended with a 2xx status and every on_body call succeeded; the backend then checks that the
 * response was complete and ends with gen_call_finish. Errors: see generator.h.
 * sink->http_status holds the last status.
 *
 * Threading: each call owns its curl handles; libcurl's global init runs once (pthread_once).
 */
#ifndef FRUGAL_ANSWER_GEN_HTTP_H
#define FRUGAL_ANSWER_GEN_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>

#include "answer/generator.h"
#include "base/buf.h"

struct cJSON;

struct gen_http_sink {
    frugal_status (*on_body)(struct gen_http_sink *s, const char *p, size_t n, struct err *err);
    void (*on_attempt)(struct gen_http_sink *s);
    bool started;           /* set by on_body: text reached the caller */
    bool aborted;           /* set by on_body: the caller asked to stop */
    long http_status;
    size_t bytes;           /* response bytes of this attempt */
};

/* POSTs body to url with headers (borrowed; the caller includes Content-Type, "Expect:" and any
 * authorization). streaming arms the first-token clock. result->attempts, first_token_ms (when
 * not set by the sink, for non-streaming calls) and total_ms are filled; t0_ms is the call's
 * start on gen_now_ms's clock. */
frugal_status gen_http_post(const char *url, struct curl_slist *headers, const char *body,
                            size_t body_len, const struct gen_http_opts *opts, bool streaming,
                            double t0_ms, struct gen_http_sink *sink, struct gen_result *result,
                            struct err *err);

/* libcurl's global initialization, once per process. */
frugal_status gen_http_global_init(struct err *err);

/* Appends s as a JSON string literal (quotes included; invalid UTF-8 as U+FFFD). */
frugal_status gen_json_string(struct buf *b, const char *s);

/* The server's words about a failure from an error body: error.message, error (a string),
 * message, Message, else the start of the body; unprintable bytes dropped. */
void gen_server_message(const char *body, size_t len, char *out, size_t cap);

/* Appends text to r->text (growing it, NUL-terminated); FRUGAL_ENOMEM when it cannot grow. */
frugal_status gen_result_append(struct gen_result *r, const char *text, size_t len);

/* Validates the generic parameters; FRUGAL_EINVAL with a message. */
frugal_status gen_check_request(const struct gen_message *messages, size_t n_messages,
                                const struct gen_params *params, struct err *err);

/* Token count estimate used when a server reports no usage: (bytes + 3) / 4. */
uint32_t gen_estimate_tokens(size_t bytes);

/* ---- One call of a backend ------------------------------------------------------------------ */

/* What every backend call holds: the backend embeds it first in its own call state (so that its
 * sink callbacks can cast the sink back) and adds its decoder and flags. */
struct gen_call {
    struct gen_http_sink sink;        /* first: gen_http_post hands it back */
    const struct gen_params *params;  /* borrowed */
    struct gen_result *res;           /* borrowed: the caller's result */
    double t0;                        /* the call's start on gen_now_ms's clock */
    bool streaming;                   /* params->on_delta is set */
    bool got_usage;                   /* the server reported usage in this attempt */
    struct buf body;                  /* a non-streaming response, up to the response limit */
    struct buf req;                   /* the request body, written by the backend */
    struct curl_slist *headers;       /* owned: the request headers (gen_call_header) */
};

/* Sets c up for a call with params and res (borrowed) and stamps t0; on_body and on_attempt are
 * the backend's sink callbacks; max_response bounds the non-streaming body. */
void gen_call_init(struct gen_call *c, const struct gen_params *params, struct gen_result *res,
                   size_t max_response,
                   frugal_status (*on_body)(struct gen_http_sink *s, const char *p, size_t n,
                                            struct err *err),
                   void (*on_attempt)(struct gen_http_sink *s));

/* What every attempt starts from (call it from on_attempt): an empty body, no usage, no text,
 * no finish reason. */
void gen_call_reset(struct gen_call *c);

/* Appends a copy of the header line h to the call's headers. */
frugal_status gen_call_header(struct gen_call *c, const char *h, struct err *err);

/* gen_http_post of the call's request and headers to url (borrowed). */
frugal_status gen_call_post(struct gen_call *c, const char *url, const struct gen_http_opts *opts,
                            struct err *err);

/* A non-streaming sink's on_body: appends the bytes to c->body; FRUGAL_ENOMEM with a message
 * when it cannot. */
frugal_status gen_call_collect(struct gen_call *c, const char *p, size_t n, struct err *err);

/* A streaming sink passes a piece of decoded text (borrowed) on: appends it to c->res, marks
 * the sink started (stamping res->first_token_ms against t0) and calls params->on_delta. When
 * on_delta asks to stop, sets sink.aborted and returns FRUGAL_EINVAL; FRUGAL_ENOMEM when the
 * text cannot grow. Empty text does nothing. */
frugal_status gen_call_emit(struct gen_call *c, const char *text, size_t len, struct err *err);

/* Reads the server's token counts from a usage object (borrowed; NULL or not an object reads
 * as no usage): the numbers under prompt_key and completion_key ("prompt_tokens" and
 * "completion_tokens" for OpenAI, "inputTokens" and "outputTokens" for Bedrock). When both are
 * numbers in [0, 4e9), sets res->prompt_tokens and res->completion_tokens and c->got_usage;
 * else changes nothing. */
void gen_call_usage(struct gen_call *c, const struct cJSON *usage, const char *prompt_key,
                    const char *completion_key);

/* Ends the call, whatever st (its status so far) is: gives res->text "" when no text came
 * (FRUGAL_ENOMEM when st was FRUGAL_OK and that fails); when the call succeeded without the
 * server's usage, estimates both counts with gen_estimate_tokens (each message's content plus
 * 4 bytes; the text) and sets res->usage_estimated; frees the request, headers and body.
 * Returns the call's final status. */
frugal_status gen_call_finish(struct gen_call *c, const struct gen_message *messages,
                              size_t n_messages, frugal_status st, struct err *err);

/* given when not NULL, else the environment variable name when set and not empty, else NULL. */
const char *gen_env_or(const char *given, const char *name);

#endif
