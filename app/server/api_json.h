/*
 * api_json.h - request bodies of the HTTP API parsed into C structs (api_json.c).
 *
 * Contract: every parser takes the raw body (borrowed, len bytes, not NUL-terminated), checks
 * that it is UTF-8 and a JSON object with fields of the documented types, and fills `out` with
 * owned copies (release with the matching *_release, also after a failure). They return true
 * on success, false with a one-line message in msg (msg_cap bytes) on any malformed input. No
 * server is needed: tests/fuzz/fuzz_api_json.c calls them directly.
 */
#ifndef FRUGAL_SERVER_API_JSON_H
#define FRUGAL_SERVER_API_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "frugal.h"

#define API_MAX_FILTERS 64
#define API_MAX_FILTER_VALUES 256
#define API_MAX_LIST 1024 /* paths, inputs, collections in one request */

/* POST /v1/search */
struct api_search_req {
    char *query;
    char *collection;          /* NULL = "default" */
    size_t k;                  /* default 10, 1..10000 */
    frugal_search_mode mode;   /* "bm25" (default), "dense" or "hybrid" */
    bool group_by_document;
    frugal_filter *filters;    /* (n_filters) keys and values owned */
    size_t n_filters;
    size_t rerank_top_n;       /* 0..10000; 0 = no reranking (default) */
    double rerank_budget_ms;   /* -1..600000 ms, < 0 no limit (default
                                  FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS) */
};
bool api_parse_search(const char *body, size_t len, struct api_search_req *out, char *msg,
                      size_t msg_cap);
void api_search_req_release(struct api_search_req *r);

/* POST /v1/ask: {question, collection, k (1..100), mode "auto"|"extractive"|"generate",
 * min_confidence (0..1), filters, stream, cache_similarity (0..2), rerank_top_n,
 * rerank_budget_ms (as for search)} */
struct api_ask_req {
    char *question;
    char *collection;          /* NULL = "default" */
    size_t k;                  /* 0 = the library's default */
    frugal_ask_mode mode;
    double min_confidence;     /* < 0: the library's default */
    bool stream;
    frugal_filter *filters;    /* (n_filters) keys and values owned */
    size_t n_filters;
    double cache_similarity;   /* 0: the library's default; > 1: exact repeats only */
    size_t rerank_top_n;       /* as api_search_req */
    double rerank_budget_ms;
};
bool api_parse_ask(const char *body, size_t len, struct api_ask_req *out, char *msg,
                   size_t msg_cap);
void api_ask_req_release(struct api_ask_req *r);

/* POST /v1/chat/completions (OpenAI): {"model": "...", "messages": [{"role", "content"}, ...],
 * "stream": bool, "max_tokens"/"max_completion_tokens": n, and frugal's own "mode",
 * "cache_similarity", "rerank_top_n" and "rerank_budget_ms" as for /v1/ask}; other OpenAI
 * fields are ignored. content is a string or an array of parts whose
 * {"type": "text", "text"} parts are joined. */
struct api_chat_req {
    char *model;
    char *question;        /* the content of the last "user" message */
    bool stream;
    int max_tokens;        /* 0 = the library's default */
    frugal_ask_mode mode;  /* default FRUGAL_ASK_AUTO */
    double cache_similarity; /* as api_ask_req */
    size_t rerank_top_n;
    double rerank_budget_ms;
};
bool api_parse_chat(const char *body, size_t len, struct api_chat_req *out, char *msg,
                    size_t msg_cap);
void api_chat_req_release(struct api_chat_req *r);

/* POST /v1/collections */
struct api_collection_req {
    char *name;
    char *language;      /* NULL = default */
    char *stopwords;     /* NULL = default */
    char *embedder;      /* NULL = none */
    char *vector_type;   /* NULL = "f32" */
    double k1, b;        /* < 0: default */
};
bool api_parse_collection(const char *body, size_t len, struct api_collection_req *out,
                          char *msg, size_t msg_cap);
void api_collection_req_release(struct api_collection_req *r);

/* POST /v1/collections/{name}/ingest ({"paths": [..]} or {"path": ".."}) and .../sync
 * ({"path": ".."}); "metadata" an optional object. */
struct api_paths_req {
    char **paths;          /* (n_paths) */
    size_t n_paths;
    char *metadata_json;   /* the metadata object as text, or NULL */
};
bool api_parse_paths(const char *body, size_t len, struct api_paths_req *out, char *msg,
                     size_t msg_cap);
void api_paths_req_release(struct api_paths_req *r);

/* POST /v1/embeddings (OpenAI): {"model": "...", "input": "text" | ["text", ...]} */
struct api_embeddings_req {
    char *model;
    char **input;          /* (n_input) */
    size_t n_input;
};
bool api_parse_embeddings(const char *body, size_t len, struct api_embeddings_req *out,
                          char *msg, size_t msg_cap);
void api_embeddings_req_release(struct api_embeddings_req *r);

/* POST /v1/keys: {"role": "reader"|"writer"|"admin", "collections": ["..."]} */
struct api_key_req {
    frugal_key_role role;
    char **collections;    /* (n_collections) */
    size_t n_collections;
};
bool api_parse_key(const char *body, size_t len, struct api_key_req *out, char *msg,
                   size_t msg_cap);
void api_key_req_release(struct api_key_req *r);

/* PUT /v1/budgets/collections/{name} and /v1/budgets/keys/{id}: {"limit": number >= 0
 * (required), "period": "lifetime"|"daily"|"monthly", "reset": bool}; owns nothing (no
 * release) */
#define API_MAX_BUDGET_LIMIT 1e15 /* in the price table's currency */
struct api_budget_req {
    double limit;                 /* 0..API_MAX_BUDGET_LIMIT */
    bool has_period;              /* false: keep the budget's period (lifetime for a new one) */
    frugal_budget_period period;
    bool reset;                   /* start again from 0 spent */
};
bool api_parse_budget(const char *body, size_t len, struct api_budget_req *out, char *msg,
                      size_t msg_cap);

/* Whether text[0..len) is well-formed UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF) without NUL bytes. */
bool api_utf8_valid(const char *text, size_t len);

/* Whether a document name is safe as a source: 1..1024 bytes of UTF-8 without control
 * characters or backslashes, not absolute, no "." or ".." component. */
bool api_name_ok(const char *name);

#endif
