/*
 * server.h - what the parts of the HTTP server (app/server) share: the configuration, the
 * request and response every handler sees, the route handlers and their helpers.
 *
 * Contract: server.c owns the daemon, routing, authentication, limits and logging, metrics.c
 * the metrics; a handler (api_<resource>.c) gets a parsed request whose key has already been
 * checked against the route's minimum role, calls the library through rq->db (this worker
 * thread's own handle, with the server's generators attached) and fills the response, usually
 * with api_reply_json or api_reply_error. JSON lives in app/server only.
 */
#ifndef FRUGAL_SERVER_H
#define FRUGAL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "frugal.h"

struct MHD_Connection;
struct MHD_Response;
struct api_stream;

struct server_config {
    const char *db_path;
    const char *host;            /* IPv4 literal; default "127.0.0.1" */
    int port;                    /* 0: an ephemeral port, printed on stdout */
    int threads;                 /* worker threads, each with its own frugal_db */
    size_t max_body;             /* bytes; larger bodies get 413 */
    int max_connections;         /* open connections the daemon accepts */
    int max_inflight;            /* requests in progress; beyond: 503 + Retry-After */
    int timeout_s;               /* idle connection timeout (slow clients) */
    const char *const *roots;    /* (n_roots) realpath'd folders ingest and sync may read */
    size_t n_roots;
    bool quiet;                  /* no per-request log lines */
    /* HTTPS: the certificate chain and private key as PEM text (NUL-terminated, borrowed),
     * already checked by the caller; both NULL: plain HTTP */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    /* (n_generators) the ordered failover list every handle answers with (borrowed: owned by
     * the caller of server_run; frugal_generator is thread-safe); none: answers are extractive */
    frugal_generator *const *generators;
    size_t n_generators;
    /* the cross-encoder every handle reranks with (borrowed, like the generators: owned by the
     * caller of server_run, thread-safe); NULL: requests asking for reranking get 400 */
    frugal_reranker *reranker;
    double min_confidence;          /* answers' default CPU threshold; < 0: the library's */
    size_t context_budget_tokens;   /* answers' default context budget; 0: the library's */
};

/* Runs the server until SIGTERM or SIGINT, then finishes in-flight requests and returns 0
 * (1 when it could not start, with a message on stderr). */
int server_run(const struct server_config *cfg);

/* Opens a handle on cfg->db_path with cfg's generators and reranker attached (every worker and
 * stream producer uses one); NULL after a message on stderr when it cannot. Close with
 * frugal_close. */
frugal_db *server_open_db(const struct server_config *cfg);
/* frugal_ask_default_params with the server's defaults (--threshold, --budget) applied. */
void server_ask_defaults(const struct server_config *cfg, frugal_ask_params *params);

/* ---- What handlers see ---- */

#define API_MAX_PARAMS 4

struct request {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *params[API_MAX_PARAMS]; /* path parameters ({name}, {id}) in order; owned */
    frugal_db *db;                      /* this worker's handle */
    const struct server_config *cfg;
    bool has_key;
    frugal_key_info key;                /* the caller's key (has_key) */
    const char *request_id;
    const char *body;                   /* raw body (not for multipart); may be NULL */
    size_t body_len;
    /* multipart/form-data uploads: the "file" part and the "metadata" / "name" fields */
    bool multipart;
    const char *upload_name;
    const char *upload_data;
    size_t upload_len;
    const char *upload_metadata;
};

struct response {
    int status;
    char *body;                /* owned (malloc) */
    size_t body_len;
    const char *content_type;  /* static */
    const char *allow;         /* Allow header for 405, static */
    const char *cache_control; /* Cache-Control header or NULL; static */
    const char *etag;          /* ETag header or NULL; static */
    struct api_stream *stream; /* a streamed body instead of `body` (api_reply_stream) */
};

typedef void (*api_handler)(struct request *rq, struct response *rs);

/* Sets a JSON body (takes ownership of value; deletes it). */
void api_reply_json(struct response *rs, int status, cJSON *value);
/* {"error": {"code": code, "message": formatted}} with status. */
void api_reply_error(struct response *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a library failure to a status and code, with frugal_errmsg(db) as the message. */
void api_reply_status(struct response *rs, frugal_db *db, frugal_status st);
/* A plain-text body (copied). */
void api_reply_text(struct response *rs, int status, const char *content_type, const char *text,
                    size_t len);
/* A query-string argument (borrowed from the connection) or NULL. */
const char *api_query_arg(const struct request *rq, const char *name);
/* A request header or NULL. */
const char *api_header(const struct request *rq, const char *name);
/* false after replying 403 when the key may not use collection `name`. */
bool api_allow_collection(struct request *rq, struct response *rs, const char *name);
/* false after replying 400 when a request asks to rerank rerank_top_n > 0 hits and the server
 * has no reranker (serve --rerank). */
bool api_rerank_available(struct request *rq, struct response *rs, size_t rerank_top_n);
/* Whether the caller's role is at least `role`. */
bool api_has_role(const struct request *rq, frugal_key_role role);
/* A cJSON string or null. */
cJSON *api_string_or_null(const char *s);
/* Metadata JSON text as a value ({} for NULL; kept as a string when unparsable). */
cJSON *api_metadata(const char *metadata_json);

/* ---- Streamed responses (api_stream.c) ---- */

/* Produces a stream's body on its own thread with its own handle db; fn returns when done. */
typedef void (*api_stream_fn)(struct api_stream *st, frugal_db *db, void *arg);
/* Replies 200 with a text/event-stream body written by fn(st, db, arg) on a new thread, so the
 * worker goes back to its other connections. Takes ownership of arg: free_arg(arg) runs once
 * both the producer and the response are done with it (also when starting fails, which
 * replies 500/503 instead). */
void api_reply_stream(struct request *rq, struct response *rs, api_stream_fn fn, void *arg,
                      void (*free_arg)(void *));
/* Queues len bytes (copied) for the client, blocking while the queue is full; false once the
 * client has gone (stop producing). */
bool api_stream_write(struct api_stream *st, const char *data, size_t len);
/* One SSE frame: "event: EVENT\ndata: JSON\n\n" ("data: JSON\n\n" when event is NULL).
 * Takes ownership of data (deleted). false once the client has gone. */
bool api_stream_event(struct api_stream *st, const char *event, cJSON *data);
/* server.c: the MHD response reading st (NULL on failure, st then released). */
struct MHD_Response *api_stream_response(struct api_stream *st);
/* Producer threads still running (shutdown waits for them). */
int api_streams_running(void);

/* api_ask.c: one citation as the API shows it (also the OpenAI endpoints' "sources"). */
cJSON *api_citation_json(const frugal_citation *c);

/* api_collections.c: finds collection `name` in a fresh list (*list, *n: free with
 * frugal_collection_list_free) at *index; false after replying 404 or the failure. */
bool api_collection_lookup(struct request *rq, struct response *rs, const char *name,
                           frugal_collection_info **list, size_t *n, size_t *index);

/* ---- Handlers (api_*.c) ---- */

void api_healthz(struct request *rq, struct response *rs);
void api_readyz(struct request *rq, struct response *rs);
void api_metrics(struct request *rq, struct response *rs);

void api_collections_list(struct request *rq, struct response *rs);
void api_collections_create(struct request *rq, struct response *rs);
void api_collections_get(struct request *rq, struct response *rs);
void api_collections_delete(struct request *rq, struct response *rs);

void api_documents_list(struct request *rq, struct response *rs);
void api_documents_upload(struct request *rq, struct response *rs);
void api_documents_get(struct request *rq, struct response *rs);
void api_documents_delete(struct request *rq, struct response *rs);
void api_documents_ingest(struct request *rq, struct response *rs);
void api_documents_sync(struct request *rq, struct response *rs);

void api_search(struct request *rq, struct response *rs);

void api_embeddings(struct request *rq, struct response *rs);
void api_models(struct request *rq, struct response *rs);
void api_ask(struct request *rq, struct response *rs);
void api_chat_completions(struct request *rq, struct response *rs);

/* api_web.c: the web UI (web/), embedded at build time; no key needed. */
void api_web_index(struct request *rq, struct response *rs);
void api_web_file(struct request *rq, struct response *rs);

/* The embedded files of web/, generated into $(BUILD)/gen/web_assets.c by scripts/embed-web. */
struct web_asset {
    const char *name;          /* file name under web/, "app.js" */
    const char *content_type;
    const unsigned char *data; /* (len) bytes, followed by a NUL */
    size_t len;
    const char *etag;          /* "\"<crc>-<size>\"" */
};
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

/* api_budgets.c: GET /v1/budgets, PUT and DELETE /v1/budgets/collections/{name} and
 * /v1/budgets/keys/{id} (admins). */
void api_budgets_list(struct request *rq, struct response *rs);
void api_budgets_put_collection(struct request *rq, struct response *rs);
void api_budgets_put_key(struct request *rq, struct response *rs);
void api_budgets_delete_collection(struct request *rq, struct response *rs);
void api_budgets_delete_key(struct request *rq, struct response *rs);

void api_keys_list(struct request *rq, struct response *rs);
void api_keys_create(struct request *rq, struct response *rs);
void api_keys_revoke(struct request *rq, struct response *rs);

/* server.c: the Prometheus text of the metrics (metrics.c; owned, malloc) for api_metrics;
 * db (this worker's handle, may be NULL) gives the budget gauges. */
char *server_metrics_text(const struct server_config *cfg, frugal_db *db, size_t *len);

/* The API key id a request's answers are charged to (frugal_ask_params.api_key_id): the
 * caller's key, 0 without one. */
int64_t api_key_id(const struct request *rq);

#endif
