/*
 * remote.h - a client of OpenAI-compatible embedding servers (OpenAI, llama.cpp server, Ollama,
 * vLLM, text-embeddings-inference): POST {base}/v1/embeddings with
 * {"model": M, "input": [texts]} and the response {"data": [{"index": i, "embedding": [...]}]}.
 *
 * Contract:
 *  - Configuration comes from remote_opts, else the environment: FRUGAL_EMBED_URL (base URL,
 *    "http://127.0.0.1:8080"; a base ending in "/v1" is used as is, as OpenAI's clients do),
 *    FRUGAL_EMBED_MODEL, FRUGAL_EMBED_API_KEY, else OPENAI_API_KEY (sent as "Authorization:
 *    Bearer ..."; never in a message). Only http and https; redirects are not followed.
 *  - Texts go in requests of at most max_batch inputs. A request that fails with HTTP 429 or
 *    5xx, or with a connection or timeout error, is retried up to max_retries times after
 *    backoff_ms, 2 * backoff_ms, ... (capped at max_backoff_ms); a Retry-After header replaces
 *    the backoff (capped the same way). Other 4xx fail at once with the server's message.
 *  - Responses are limited to max_response bytes (FRUGAL_ETOOBIG) and checked strictly: one
 *    item per input, each "index" an integer in range and seen once (items may come in any
 *    order: they are placed by index), every embedding an array of finite numbers of the same
 *    length, equal to the expected dim. Violations are FRUGAL_ECORRUPT naming the item.
 *  - dim: given, or learned on open by embedding one short text (a probe request).
 *
 * Threading: one thread at a time per remote_client (it owns a curl handle, reused across
 * requests for keep-alive). libcurl's global initialization runs once (pthread_once).
 */
#ifndef FRUGAL_EMBED_REMOTE_H
#define FRUGAL_EMBED_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct remote_opts {
    const char *base_url;      /* NULL: $FRUGAL_EMBED_URL (required one way or the other) */
    const char *model;         /* NULL: $FRUGAL_EMBED_MODEL (required one way or the other) */
    const char *api_key;       /* NULL: $FRUGAL_EMBED_API_KEY, else $OPENAI_API_KEY, else none */
    size_t dim;                /* expected dimension; 0 = learn it on open (one request) */
    size_t max_batch;          /* inputs per request (default 64) */
    long connect_timeout_ms;   /* default 10000 */
    long timeout_ms;           /* per request, whole exchange (default 120000) */
    int max_retries;           /* default 4 */
    long backoff_ms;           /* first wait before a retry (default 500), doubled each time */
    long max_backoff_ms;       /* cap on any wait, Retry-After included (default 30000) */
    size_t max_response;       /* bytes (default 256 MiB) */
};
void remote_default_opts(struct remote_opts *opts);

struct remote_client;

/* Copies what it needs from opts (may be NULL for defaults + environment). */
frugal_status remote_open(const struct remote_opts *opts, struct remote_client **out,
                          struct err *err);
void remote_close(struct remote_client *rc);
size_t remote_dim(const struct remote_client *rc);
const char *remote_model(const struct remote_client *rc);
size_t remote_max_batch(const struct remote_client *rc);
/* Requests made so far, retries included (for tests and logs). */
size_t remote_requests(const struct remote_client *rc);

/* Embeds n texts (borrowed, NUL-terminated) into out, (n, dim) row-major, in requests of at
 * most max_batch inputs. */
frugal_status remote_embed(struct remote_client *rc, const char *const *texts, size_t n,
                           float *out, struct err *err);

#endif
