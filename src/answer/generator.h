/*
 * generator.h - LLM generators: one vtable, two backends (OpenAI-compatible chat completions and
 * AWS Bedrock Converse), and the resilience around them (circuit breaker, health figures,
 * ordered failover).
 *
 * Contract of a backend (struct gen_ops), so that a later public frugal_generator can wrap it:
 *  - generate (REQUIRED): runs one request to completion. It fills the gen_result (text owned by
 *    the result, finish reason, usage, timings) and returns FRUGAL_OK, or an error with a message
 *    in err. When params->on_delta is set it streams: every piece of text is passed to on_delta
 *    as it arrives, in order, and is also appended to result->text; result->streamed says
 *    whether any piece was delivered. On an error after streaming started, result->text holds
 *    the partial text and no retry or failover happens (the caller already showed it). It must
 *    be callable from several threads at once on the same impl (each call has its own
 *    connection).
 *  - free (optional): releases impl. NULL when impl needs no release.
 *  Error codes a backend returns: FRUGAL_ETIMEOUT (connect, first-token or total timeout),
 *  FRUGAL_EIO (transport, HTTP 429/5xx after retries, 401/403), FRUGAL_ECORRUPT (a response
 *  that breaks the protocol), FRUGAL_ETOOBIG (response over its limit), FRUGAL_EINVAL (a request
 *  the server refused as invalid: other 4xx, or bad parameters), FRUGAL_ENOMEM.
 *
 * struct generator wraps one backend with its name, circuit breaker and health figures:
 *  - Breaker: CLOSED; after failure_threshold consecutive failures -> OPEN (calls refused with
 *    FRUGAL_EBUSY "circuit open" without touching the backend); after cooldown_ms -> HALF_OPEN,
 *    where one call at a time is let through as a probe: success -> CLOSED, failure -> OPEN again
 *    for another cool-down. Failures are every error but FRUGAL_EINVAL, FRUGAL_ENOMEM and a
 *    caller's abort (on_delta returned non-zero), which say nothing about the backend's health.
 *  - Health (gen_health): circuit state, in-flight calls against the configured capacity, p50
 *    and p95 of the total latency of the last GEN_RING successful calls, the error rate over the
 *    last GEN_RING calls, and lifetime counters.
 *  - Failover (gen_failover): tries the generators in order; one that is open (refused) or fails
 *    before streaming started hands over to the next; a failure after streaming started ends the
 *    call. The result names the generator that answered.
 *
 * Messages: role "system", "user" or "assistant"; the backends map them to their wire forms
 * (Bedrock takes system messages apart). finish_reason is normalized to OpenAI's words: "stop"
 * (natural end or stop sequence), "length" (max_tokens), "content_filter", else the server's word.
 *
 * Threading: a generator is safe to use from any number of threads: its breaker and figures sit
 * behind its own mutex, held only to update them, never across the network call.
 */
#ifndef FRUGAL_ANSWER_GENERATOR_H
#define FRUGAL_ANSWER_GENERATOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define GEN_RING 128 /* calls the health figures look back over */

struct gen_message {
    const char *role;    /* borrowed: "system", "user" or "assistant" */
    const char *content; /* borrowed, UTF-8 */
};

/* Called with each piece of streamed text (borrowed for the call, not NUL-terminated). Return 0
 * to go on, non-zero to abort the call (the generate call then fails with FRUGAL_EINVAL
 * "aborted by the caller", which does not count against the backend). */
typedef int (*gen_delta_fn)(void *ctx, const char *text, size_t len);

struct gen_params {
    int max_tokens;            /* > 0; 0 = the backend's default */
    double temperature;        /* >= 0; < 0 = the backend's default */
    const char *const *stop;   /* borrowed, n_stop strings (at most 4 for most servers) */
    size_t n_stop;
    gen_delta_fn on_delta;     /* NULL: non-streaming request */
    void *delta_ctx;
};
void gen_default_params(struct gen_params *p);

struct gen_result {
    char *text;               /* owned (gen_result_release); partial after a mid-stream error */
    size_t text_len;
    char finish_reason[32];   /* "stop", "length", ... or "" when the server gave none */
    uint32_t prompt_tokens;
    uint32_t completion_tokens;
    bool usage_estimated;     /* the server gave no usage: counts estimated (bytes / 4) */
    bool streamed;            /* at least one piece went to on_delta */
    double first_token_ms;    /* request start to first text (streaming) or to the response */
    double total_ms;          /* request start to the end, retries and waits included */
    int attempts;             /* HTTP requests made, retries included */
    const char *generator;    /* name of the generator that answered (static/owned by it) */
};
void gen_result_release(struct gen_result *r); /* frees text, zeroes the struct */

/* The backend vtable; see the contract above. */
struct gen_ops {
    frugal_status (*generate)(void *impl, const struct gen_message *messages, size_t n_messages,
                              const struct gen_params *params, struct gen_result *result,
                              struct err *err); /* required */
    void (*free)(void *impl);                   /* optional */
};

enum gen_circuit { GEN_CLOSED = 0, GEN_OPEN = 1, GEN_HALF_OPEN = 2 };
const char *gen_circuit_name(enum gen_circuit c); /* "closed", "open", "half-open" */

struct gen_breaker_opts {
    int failure_threshold;  /* consecutive failures that open the circuit (default 3) */
    long cooldown_ms;       /* open -> half-open after this long (default 30000) */
    int capacity;           /* concurrent requests the backend serves well (0 = unknown) */
};
void gen_breaker_default_opts(struct gen_breaker_opts *o);

struct gen_health {
    enum gen_circuit circuit;
    int in_flight;            /* calls running now */
    int capacity;             /* from the options; 0 = unknown */
    double p50_ms;            /* total latency of recent successful calls; 0 when none */
    double p95_ms;
    double error_rate;        /* failures / calls over the last GEN_RING calls; 0 when none */
    int consecutive_failures;
    uint64_t calls;           /* lifetime: calls let through to the backend */
    uint64_t failures;        /* lifetime: of those, failed (as the breaker counts) */
    uint64_t rejected;        /* lifetime: refused because the circuit was open */
};

/* Clock used by the breaker (ms, monotonic); tests replace it to step time. NULL restores. */
void gen_set_clock(double (*now_ms)(void));
double gen_now_ms(void);

struct generator;

/* Wraps a backend. name is copied; ops is borrowed (static); impl's ownership passes to the
 * generator (freed by ops->free in gen_free, and here on failure). bopts may be NULL. */
frugal_status gen_new(const char *name, const struct gen_ops *ops, void *impl,
                      const struct gen_breaker_opts *bopts, struct generator **out,
                      struct err *err);
void gen_free(struct generator *g);
const char *gen_name(const struct generator *g);

/* One call through the breaker; updates the health figures. result is zeroed first. */
frugal_status gen_generate(struct generator *g, const struct gen_message *messages,
                           size_t n_messages, const struct gen_params *params,
                           struct gen_result *result, struct err *err);
/* A consistent snapshot of the figures (takes the generator's mutex briefly). */
void gen_health(struct generator *g, struct gen_health *out);

/* Tries gens[0], gens[1], ... as described above. When all fail the message lists each one's
 * reason and the status is the last one's. */
frugal_status gen_failover(struct generator *const *gens, size_t n_gens,
                           const struct gen_message *messages, size_t n_messages,
                           const struct gen_params *params, struct gen_result *result,
                           struct err *err);

/* ---- Backends --------------------------------------------------------------------------------- */

/* What both HTTP backends share. */
struct gen_http_opts {
    long connect_timeout_ms;     /* default 5000 */
    long first_token_timeout_ms; /* request start to the first streamed text (default 30000);
                                    non-streaming calls have only the total timeout */
    long total_timeout_ms;       /* the whole call, retries and waits included (default 120000) */
    int max_retries;             /* on 429, 5xx, refused/reset connections (default 2) */
    long backoff_ms;             /* first wait (default 500), doubled per retry, jittered to
                                    [b/2, b]; a Retry-After header replaces it */
    long max_backoff_ms;         /* cap on any wait, Retry-After included (default 10000) */
    size_t max_response;         /* bytes (default 8 MiB) */
};
void gen_http_default_opts(struct gen_http_opts *o);

struct gen_openai_opts {
    const char *base_url;  /* NULL: $FRUGAL_GEN_URL; "http://127.0.0.1:8080"; a base ending in
                              "/v1" is used as is, one ending in "/chat/completions" too */
    const char *model;     /* NULL: $FRUGAL_GEN_MODEL (required one way or the other) */
    const char *api_key;   /* NULL: $FRUGAL_GEN_API_KEY, else $OPENAI_API_KEY, else none */
    bool include_usage;    /* ask for usage in streams (stream_options); default true */
    struct gen_http_opts http;
};
void gen_openai_default_opts(struct gen_openai_opts *o);
/* Creates the backend; everything is copied. *out_impl goes to gen_new with gen_openai_ops. */
frugal_status gen_openai_new(const struct gen_openai_opts *opts, void **out_impl,
                             struct err *err);
extern const struct gen_ops gen_openai_ops;

struct gen_bedrock_opts {
    const char *region;        /* NULL: $AWS_REGION, else $AWS_DEFAULT_REGION (required) */
    const char *model_id;      /* "anthropic.claude-3-haiku-20240307-v1:0" (required) */
    const char *access_key;    /* NULL: $AWS_ACCESS_KEY_ID (required one way or the other) */
    const char *secret_key;    /* NULL: $AWS_SECRET_ACCESS_KEY */
    const char *session_token; /* NULL: $AWS_SESSION_TOKEN, else none */
    const char *endpoint;      /* NULL: https://bedrock-runtime.{region}.amazonaws.com; tests
                                  point it at a loopback server */
    long long fixed_time;      /* > 0: sign as at this Unix time (tests); 0 = now */
    struct gen_http_opts http;
};
void gen_bedrock_default_opts(struct gen_bedrock_opts *o);
frugal_status gen_bedrock_new(const struct gen_bedrock_opts *opts, void **out_impl,
                              struct err *err);
extern const struct gen_ops gen_bedrock_ops;

#endif
