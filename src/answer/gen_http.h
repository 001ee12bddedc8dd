/*
 * gen_http.h - the HTTP exchange both generator backends share: one POST with retries, jittered
 * backoff, Retry-After, a response size limit and three clocks (connect, first token, total).
 *
 * Contract: the backend embeds a struct gen_http_sink in its per-call state and fills on_body
 * (bytes of a 2xx response, in order, any split) and on_attempt (reset before each attempt). Its
 * on_body sets sink->started once it has delivered text to the caller; from then on nothing is
 * retried and the first-token clock stops. gen_http_post returns FRUGAL_OK when the exchange
 * ended with a 2xx status and every on_body call succeeded; the backend then checks that the
 * response was complete. Errors: see generator.h. sink->http_status holds the last status.
 *
 * Threading: each call owns its curl handles; libcurl's global init runs once (pthread_once).
 */
#ifndef FRUGAL_ANSWER_GEN_HTTP_H
#define FRUGAL_ANSWER_GEN_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>

#include "answer/generator.h"
#include "base/buf.h"

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

/* Appends text to result->text (growing it) and, when streaming, passes it to on_delta.
 * Returns non-zero when on_delta asked to stop. */
frugal_status gen_result_append(struct gen_result *r, const char *text, size_t len);

/* A streaming backend's sink passes a piece of decoded text (borrowed) on: appends it to res,
 * marks the sink started (stamping res->first_token_ms against t0_ms, the call's start on
 * gen_now_ms's clock) and calls params->on_delta. When on_delta asks to stop, sets sink->aborted
 * and returns FRUGAL_EINVAL; FRUGAL_ENOMEM when the text cannot grow. Empty text does nothing. */
frugal_status gen_http_emit(struct gen_http_sink *sink, const struct gen_params *params,
                            struct gen_result *res, double t0_ms, const char *text, size_t len,
                            struct err *err);

/* Validates the generic parameters; FRUGAL_EINVAL with a message. */
frugal_status gen_check_request(const struct gen_message *messages, size_t n_messages,
                                const struct gen_params *params, struct err *err);

/* Token count estimate used when a server reports no usage: (bytes + 3) / 4. */
uint32_t gen_estimate_tokens(size_t bytes);

#endif
