/*
 * server.c - `frugal serve`: the HTTP daemon (libmicrohttpd), routing, authentication, limits,
 * request ids, logging, metrics and graceful shutdown. The handlers live in api_<resource>.c.
 *
 * How: MHD runs a pool of worker threads, each polling its share of the connections. A request
 * arrives in several calls of on_request: the first sets up its state (request id, route,
 * in-flight count, early refusals: 503 over the concurrency cap, 413 for a declared length over
 * the limit), the middle ones collect the body (bounded by --max-body; multipart/form-data
 * goes through MHD's post processor), and the last authenticates the Bearer key, checks the
 * route's role and runs the handler. on_completed records metrics and the log line. Every
 * response carries X-Request-Id; errors are {"error": {"code", "message"}}.
 *
 * Routes are one table (`routes` below): method, path pattern with {param} segments, minimum
 * role (-1: no key needed), handler. tests/api/check_openapi.sh reads this table and checks that
 * docs/openapi.yaml documents every path. A path that matches with another method gets 405
 * with an Allow header; no match is 404.
 *
 * Streamed responses (api_stream.c) are produced on a thread per request and read by MHD
 * through a content-reader callback that suspends the connection while the queue is empty.
 *
 * Shutdown: SIGTERM and SIGINT are blocked in every thread and taken by sigwait in the main
 * thread; it quiesces the daemon (no new connections), waits for in-flight requests and stream
 * producers to finish
 * (each library write is a transaction, so an interrupted one leaves nothing half-written),
 * stops the daemon and closes the per-thread databases.
 *
 * Threading: the library's handles are single-threaded, so each worker thread opens its own
 * frugal_db on first use (thread-local), registered in `dbs` (under dbs_lock) to be closed at
 * shutdown; SQLite WAL lets them read beside one writer. The generators (--generator) and the
 * reranker (--rerank) are shared by every handle: they are thread-safe (the reranker runs one
 * batch at a time). Metrics (metrics.c) have their own lock; the
 * in-flight and request counters are atomics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"
#include "server.h"

#define SHUTDOWN_WAIT_S 30

struct route {
    const char *method;
    const char *pattern; /* "/v1/collections/{name}" */
    int min_role;        /* -1: no key; else a frugal_key_role */
    api_handler handler;
};

/* The route table: tests/api/check_openapi.sh parses the "/..." patterns here. */
static const struct route routes[] = {
    {"GET", "/healthz", -1, api_healthz},
    {"GET", "/readyz", -1, api_readyz},
    {"GET", "/metrics", -1, api_metrics},
    {"GET", "/", -1, api_web_index},
    {"GET", "/web/{file}", -1, api_web_file},
    {"GET", "/v1/collections", FRUGAL_KEY_READER, api_collections_list},
    {"POST", "/v1/collections", FRUGAL_KEY_ADMIN, api_collections_create},
    {"GET", "/v1/collections/{name}", FRUGAL_KEY_READER, api_collections_get},
    {"DELETE", "/v1/collections/{name}", FRUGAL_KEY_ADMIN, api_collections_delete},
    {"GET", "/v1/collections/{name}/documents", FRUGAL_KEY_READER, api_documents_list},
    {"POST", "/v1/collections/{name}/documents", FRUGAL_KEY_WRITER, api_documents_upload},
    {"GET", "/v1/collections/{name}/documents/{id}", FRUGAL_KEY_READER, api_documents_get},
    {"DELETE", "/v1/collections/{name}/documents/{id}", FRUGAL_KEY_WRITER, api_documents_delete},
    {"POST", "/v1/collections/{name}/ingest", FRUGAL_KEY_WRITER, api_documents_ingest},
    {"POST", "/v1/collections/{name}/sync", FRUGAL_KEY_WRITER, api_documents_sync},
    {"POST", "/v1/search", FRUGAL_KEY_READER, api_search},
    {"POST", "/v1/ask", FRUGAL_KEY_READER, api_ask},
    {"POST", "/v1/chat/completions", FRUGAL_KEY_READER, api_chat_completions},
    {"POST", "/v1/embeddings", FRUGAL_KEY_READER, api_embeddings},
    {"GET", "/v1/models", FRUGAL_KEY_READER, api_models},
    {"GET", "/v1/keys", FRUGAL_KEY_ADMIN, api_keys_list},
    {"POST", "/v1/keys", FRUGAL_KEY_ADMIN, api_keys_create},
    {"DELETE", "/v1/keys/{id}", FRUGAL_KEY_ADMIN, api_keys_revoke},
    {"GET", "/v1/budgets", FRUGAL_KEY_ADMIN, api_budgets_list},
    {"PUT", "/v1/budgets/collections/{name}", FRUGAL_KEY_ADMIN, api_budgets_put_collection},
    {"DELETE", "/v1/budgets/collections/{name}", FRUGAL_KEY_ADMIN, api_budgets_delete_collection},
    {"PUT", "/v1/budgets/keys/{id}", FRUGAL_KEY_ADMIN, api_budgets_put_key},
    {"DELETE", "/v1/budgets/keys/{id}", FRUGAL_KEY_ADMIN, api_budgets_delete_key},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])
#define ROUTE_NONE N_ROUTES /* metrics slot for unmatched requests */
_Static_assert(N_ROUTES + 1 <= METRICS_MAX_ROUTES, "metrics.h: raise METRICS_MAX_ROUTES");

static atomic_int inflight;
static atomic_uint_fast64_t request_counter;

static const char *route_label(size_t r)
{
    return r < N_ROUTES ? routes[r].pattern : "unmatched";
}

char *server_metrics_text(const struct server_config *cfg, frugal_db *db, size_t *len)
{
    return metrics_text(cfg, db, atomic_load(&inflight), len);
}

/* ---- Per-thread databases ---- */

static const struct server_config *config;
static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static frugal_db **dbs;
static size_t n_dbs;
static _Thread_local frugal_db *thread_db;

frugal_db *server_open_db(const struct server_config *cfg)
{
    frugal_db *db = NULL;
    frugal_status st = frugal_open(cfg->db_path, NULL, &db);
    if (st != FRUGAL_OK) {
        fprintf(stderr, "frugal serve: cannot open %s: %s\n", cfg->db_path, frugal_errmsg(db));
        frugal_close(db);
        return NULL;
    }
    if (cfg->n_generators > 0) {
        st = frugal_use_generators(db, cfg->generators, cfg->n_generators);
        if (st != FRUGAL_OK) {
            fprintf(stderr, "frugal serve: cannot attach the generators: %s\n",
                    frugal_errmsg(db));
            frugal_close(db);
            return NULL;
        }
    }
    if (cfg->reranker != NULL) {
        st = frugal_use_reranker(db, cfg->reranker);
        if (st != FRUGAL_OK) {
            fprintf(stderr, "frugal serve: cannot attach the reranker: %s\n", frugal_errmsg(db));
            frugal_close(db);
            return NULL;
        }
    }
    return db;
}

void server_ask_defaults(const struct server_config *cfg, frugal_ask_params *params)
{
    frugal_ask_default_params(params);
    if (cfg->min_confidence >= 0)
        params->min_confidence = cfg->min_confidence;
    if (cfg->context_budget_tokens > 0)
        params->context_budget_tokens = cfg->context_budget_tokens;
}

/* This worker's handle, opened on first use; NULL when it cannot be opened. */
static frugal_db *worker_db(void)
{
    if (thread_db != NULL)
        return thread_db;
    frugal_db *db = server_open_db(config);
    if (db == NULL)
        return NULL;
    pthread_mutex_lock(&dbs_lock);
    frugal_db **grown = realloc(dbs, (n_dbs + 1) * sizeof *grown);
    if (grown != NULL) {
        dbs = grown;
        dbs[n_dbs++] = db;
    }
    pthread_mutex_unlock(&dbs_lock);
    if (grown == NULL) {
        frugal_close(db);
        return NULL;
    }
    thread_db = db;
    return db;
}

/* ---- Helpers for handlers ---- */

void api_reply_json(struct response *rs, int status, cJSON *value)
{
    free(rs->body);
    rs->body = value != NULL ? cJSON_PrintUnformatted(value) : NULL;
    cJSON_Delete(value);
    if (rs->body == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        rs->body = strdup(oom);
        status = 500;
    }
    rs->body_len = rs->body != NULL ? strlen(rs->body) : 0;
    rs->status = status;
    rs->content_type = "application/json";
}

void api_reply_error(struct response *rs, int status, const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    api_reply_json(rs, status, root);
}

void api_reply_status(struct response *rs, frugal_db *db, frugal_status st)
{
    const char *msg = frugal_errmsg(db);
    if (msg == NULL || msg[0] == '\0')
        msg = frugal_strerror(st);
    switch (st) {
    case FRUGAL_ENOTFOUND:
        api_reply_error(rs, 404, "not_found", "%s", msg);
        break;
    case FRUGAL_EEXIST:
        api_reply_error(rs, 409, "conflict", "%s", msg);
        break;
    case FRUGAL_EINVAL:
    case FRUGAL_ECORRUPT:
    case FRUGAL_EEMPTY:
    case FRUGAL_EUNSUPPORTED:
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        break;
    case FRUGAL_ETOOBIG:
        api_reply_error(rs, 413, "too_large", "%s", msg);
        break;
    case FRUGAL_EBUSY:
    case FRUGAL_ETIMEOUT:
        api_reply_error(rs, 503, "unavailable", "%s", msg);
        break;
    default:
        api_reply_error(rs, 500, "internal", "%s", msg);
        break;
    }
}

void api_reply_text(struct response *rs, int status, const char *content_type, const char *text,
                    size_t len)
{
    free(rs->body);
    rs->body = malloc(len + 1);
    if (rs->body == NULL) {
        api_reply_error(rs, 500, "internal", "out of memory");
        return;
    }
    memcpy(rs->body, text, len);
    rs->body[len] = '\0';
    rs->body_len = len;
    rs->status = status;
    rs->content_type = content_type;
}

const char *api_query_arg(const struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(const struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

int64_t api_key_id(const struct request *rq)
{
    return rq->has_key ? rq->key.id : 0;
}

bool api_has_role(const struct request *rq, frugal_key_role role)
{
    return rq->has_key && rq->key.role >= role;
}

bool api_allow_collection(struct request *rq, struct response *rs, const char *name)
{
    if (rq->has_key && frugal_key_allows(&rq->key, name))
        return true;
    api_reply_error(rs, 403, "forbidden", "this key may not use collection '%s'", name);
    return false;
}

bool api_rerank_available(struct request *rq, struct response *rs, size_t rerank_top_n)
{
    if (rerank_top_n == 0 || rq->cfg->reranker != NULL)
        return true;
    api_reply_error(rs, 400, "invalid_request",
                    "rerank_top_n needs a reranker, and this server has none (start it with "
                    "`frugal serve --rerank MODEL_DIR`)");
    return false;
}

cJSON *api_string_or_null(const char *s)
{
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *api_metadata(const char *metadata_json)
{
    if (metadata_json == NULL)
        return cJSON_CreateObject();
    cJSON *v = cJSON_Parse(metadata_json);
    return v != NULL ? v : cJSON_CreateString(metadata_json);
}

/* ---- Request state ---- */

struct conn_state {
    char request_id[40];
    struct timespec start;
    size_t route;                 /* index, or ROUTE_NONE */
    bool counted;                 /* holds an in-flight slot */
    bool responded;               /* a response was queued */
    int status;
    bool too_big;
    bool bad_form;                /* the multipart body could not be parsed */
    char *body;                   /* raw body, NUL-terminated */
    size_t body_len, body_cap;
    struct MHD_PostProcessor *pp; /* multipart uploads */
    char *file_name;
    char *file_data;
    size_t file_len, file_cap;
    char *metadata;
    size_t metadata_len, metadata_cap;
    char *form_name;
    size_t form_name_len, form_name_cap;
};

static void state_free(struct conn_state *s)
{
    if (s == NULL)
        return;
    if (s->pp != NULL)
        MHD_destroy_post_processor(s->pp);
    free(s->body);
    free(s->file_name);
    free(s->file_data);
    free(s->metadata);
    free(s->form_name);
    free(s);
}

/* Appends to a bounded buffer (kept NUL-terminated); false when over max. */
static bool append(char **p, size_t *len, size_t *cap, const char *data, size_t n, size_t max)
{
    if (n > max || *len > max - n)
        return false;
    if (*len + n + 1 > *cap) {
        size_t want = *cap > 0 ? *cap : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *grown = realloc(*p, want);
        if (grown == NULL)
            return false;
        *p = grown;
        *cap = want;
    }
    memcpy(*p + *len, data, n);
    *len += n;
    (*p)[*len] = '\0';
    return true;
}

static double elapsed_s(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct conn_state *s,
                                     struct response *rs, bool retry_after)
{
    struct MHD_Response *r = NULL;
    if (rs->stream != NULL) {
        r = api_stream_response(rs->stream);
        rs->stream = NULL;
        if (r == NULL)
            return MHD_NO;
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
    } else {
        if (rs->body == NULL)
            api_reply_error(rs, 500, "internal", "the handler gave no response");
        r = MHD_create_response_from_buffer(rs->body_len, rs->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(rs->body);
            return MHD_NO;
        }
        rs->body = NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rs->content_type != NULL ? rs->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", s->request_id);
    if (rs->allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
    if (rs->cache_control != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, rs->cache_control);
    if (rs->etag != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rs->etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (retry_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    s->responded = true;
    s->status = rs->status;
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct conn_state *s, int status,
                                  const char *code, const char *message, bool retry_after)
{
    struct response rs = {0};
    api_reply_error(&rs, status, code, "%s", message);
    return send_response(conn, s, &rs, retry_after);
}

/* ---- Routing ---- */

/* Matches path against pattern, copying {param} segments into params; false on no match. */
static bool match(const char *pattern, const char *path, char **params, size_t *n_params)
{
    *n_params = 0;
    const char *p = pattern;
    const char *u = path;
    while (*p != '\0' && *u != '\0') {
        if (*p == '{') {
            const char *pend = strchr(p, '}');
            const char *uend = strchr(u, '/');
            if (uend == NULL)
                uend = u + strlen(u);
            if (pend == NULL || uend == u || *n_params >= API_MAX_PARAMS)
                return false;
            params[*n_params] = strndup(u, (size_t)(uend - u));
            if (params[*n_params] == NULL)
                return false;
            (*n_params)++;
            p = pend + 1;
            u = uend;
        } else if (*p == *u) {
            p++;
            u++;
        } else {
            return false;
        }
    }
    return *p == '\0' && (*u == '\0' || (u[0] == '/' && u[1] == '\0'));
}

static void free_params(char **params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(params[i]);
}

/* The route for method and path: *route set to its index; *path_known when some route matched
 * the path with another method (then allow lists those methods). */
static bool find_route(const char *method, const char *path, size_t *route, char *allow,
                       size_t allow_cap)
{
    char *params[API_MAX_PARAMS];
    size_t n;
    allow[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        bool hit = match(routes[i].pattern, path, params, &n);
        free_params(params, n);
        if (!hit)
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *route = i;
            return true;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, allow_cap - used, "%s%s", used > 0 ? ", " : "",
                 routes[i].method);
    }
    *route = ROUTE_NONE;
    return false;
}

/* ---- Multipart ---- */

static enum MHD_Result on_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *filename, const char *content_type,
                                     const char *transfer_encoding, const char *data,
                                     uint64_t off, size_t size)
{
    struct conn_state *s = cls;
    if (key == NULL)
        return MHD_YES;
    if (strcmp(key, "file") == 0) {
        if (s->file_name == NULL && filename != NULL) {
            s->file_name = strdup(filename);
            if (s->file_name == NULL)
                return MHD_NO;
        }
        if (size > 0 &&
            !append(&s->file_data, &s->file_len, &s->file_cap, data, size, config->max_body))
            s->too_big = true;
        if (s->file_data == NULL && !append(&s->file_data, &s->file_len, &s->file_cap, "", 0, 1))
            return MHD_NO;
    } else if (strcmp(key, "metadata") == 0 && size > 0) {
        if (!append(&s->metadata, &s->metadata_len, &s->metadata_cap, data, size, 65536))
            s->too_big = true;
    } else if (strcmp(key, "name") == 0 && size > 0) {
        if (!append(&s->form_name, &s->form_name_len, &s->form_name_cap, data, size, 4096))
            s->too_big = true;
    }
    return MHD_YES;
}

/* ---- The request callbacks ---- */

static bool is_multipart(struct MHD_Connection *conn)
{
    const char *ct =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

/* First call: state, request id, route, admission. Returns MHD_YES/NO as MHD wants. */
static enum MHD_Result start_request(struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls)
{
    struct conn_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MHD_NO;
    *con_cls = s;
    clock_gettime(CLOCK_MONOTONIC, &s->start);
    uint64_t n = atomic_fetch_add(&request_counter, 1) + 1;
    snprintf(s->request_id, sizeof s->request_id, "req-%llx-%06llu",
             (unsigned long long)time(NULL), (unsigned long long)n);
    char allow[64];
    find_route(method, url, &s->route, allow, sizeof allow);
    s->counted = true;
    if (atomic_fetch_add(&inflight, 1) + 1 > config->max_inflight)
        return send_error(conn, s, 503, "overloaded",
                          "too many requests in progress; retry shortly", true);
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long declared = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && declared > config->max_body) {
            char msg[128];
            snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes",
                     config->max_body);
            return send_error(conn, s, 413, "too_large", msg, false);
        }
    }
    if (s->route != ROUTE_NONE && strcmp(method, "POST") == 0 && is_multipart(conn)) {
        s->pp = MHD_create_post_processor(conn, 65536, on_form_field, s);
        if (s->pp == NULL)
            return send_error(conn, s, 400, "invalid_request",
                              "malformed multipart/form-data request", false);
    }
    return MHD_YES;
}

/* The Bearer key of the request into rq; a reply (401/403/503) when it is refused. */
static bool authenticate(struct request *rq, struct response *rs, int min_role)
{
    const char *auth = api_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
        api_reply_error(rs, 401, "unauthorized",
                        "an API key is required: send 'Authorization: Bearer KEY'");
        return false;
    }
    frugal_status st = frugal_key_check(rq->db, auth + 7, &rq->key);
    if (st == FRUGAL_ENOTFOUND) {
        api_reply_error(rs, 401, "unauthorized", "the API key is unknown or revoked");
        return false;
    }
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return false;
    }
    rq->has_key = true;
    if ((int)rq->key.role < min_role) {
        static const char *const names[] = {"reader", "writer", "admin"};
        api_reply_error(rs, 403, "forbidden", "this needs a key with the %s role",
                        names[min_role]);
        return false;
    }
    return true;
}

static enum MHD_Result finish_request(struct MHD_Connection *conn, struct conn_state *s,
                                      const char *url, const char *method)
{
    struct response rs = {0};
    if (s->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes",
                 config->max_body);
        return send_error(conn, s, 413, "too_large", msg, false);
    }
    if (s->bad_form)
        return send_error(conn, s, 400, "invalid_request", "malformed multipart/form-data body",
                          false);
    if (s->route == ROUTE_NONE) {
        char allow[64];
        size_t r;
        find_route(method, url, &r, allow, sizeof allow);
        if (allow[0] != '\0') {
            api_reply_error(&rs, 405, "method_not_allowed", "%s is not allowed on %s; use %s",
                            method, url, allow);
            rs.allow = allow; /* MHD copies header values */
            return send_response(conn, s, &rs, false);
        }
        return send_error(conn, s, 404, "not_found", "no such route", false);
    }
    const struct route *route = &routes[s->route];
    struct request rq = {0};
    char *params[API_MAX_PARAMS] = {0};
    size_t n_params = 0;
    match(route->pattern, url, params, &n_params);
    for (size_t i = 0; i < n_params; i++)
        rq.params[i] = params[i];
    rq.conn = conn;
    rq.method = method;
    rq.url = url;
    rq.cfg = config;
    rq.request_id = s->request_id;
    rq.body = s->body;
    rq.body_len = s->body_len;
    if (s->pp != NULL) {
        rq.multipart = true;
        rq.upload_name = s->form_name != NULL ? s->form_name : s->file_name;
        rq.upload_data = s->file_data;
        rq.upload_len = s->file_len;
        rq.upload_metadata = s->metadata;
    }
    rq.db = route->min_role >= 0 || route->handler == api_readyz ||
                    route->handler == api_metrics
                ? worker_db()
                : NULL;
    if (rq.db == NULL && route->min_role >= 0)
        api_reply_error(&rs, 503, "unavailable", "the database cannot be opened");
    else if (route->min_role < 0 || authenticate(&rq, &rs, route->min_role))
        route->handler(&rq, &rs);
    enum MHD_Result ret = send_response(conn, s, &rs, false);
    frugal_key_info_release(&rq.key);
    free_params(params, n_params);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct conn_state *s = *con_cls;
    if (s == NULL)
        return start_request(conn, url, method, con_cls);
    if (s->responded) { /* refused early: drop the rest of the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (s->pp != NULL) {
            if (!s->too_big && !s->bad_form &&
                MHD_post_process(s->pp, upload_data, *upload_data_size) != MHD_YES)
                s->bad_form = true;
        } else if (!s->too_big && !append(&s->body, &s->body_len, &s->body_cap, upload_data,
                                          *upload_data_size, config->max_body)) {
            s->too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish_request(conn, s, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_state *s = *con_cls;
    if (s == NULL)
        return;
    double seconds = elapsed_s(&s->start);
    int status = s->responded ? s->status : 499; /* the client went away */
    metrics_request(s->route, route_label(s->route),
                    s->route < N_ROUTES ? routes[s->route].method : "", status, seconds);
    if (!config->quiet) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[INET_ADDRSTRLEN] = "?";
        if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                      addr, sizeof addr);
        fprintf(stderr, "frugal serve: %s %s %s %s %d %.1f ms\n", s->request_id, addr,
                s->route < N_ROUTES ? routes[s->route].method : "-", route_label(s->route),
                status, seconds * 1000.0);
    }
    if (s->counted)
        atomic_fetch_sub(&inflight, 1);
    state_free(s);
    *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    if (config->quiet)
        return;
    fputs("frugal serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int server_run(const struct server_config *cfg)
{
    config = cfg;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        fprintf(stderr, "frugal: --host '%s' is not an IPv4 address\n", cfg->host);
        return 1;
    }
    /* Check the database once before listening, so that a bad --db fails at start. */
    if (worker_db() == NULL)
        return 1;
    thread_db = NULL; /* the main thread's handle stays registered and is closed at the end */

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by MHD's threads */
    signal(SIGPIPE, SIG_IGN);

    /* HTTPS through libmicrohttpd's GnuTLS support: the PEM texts go in as options (an
     * empty option array without TLS, where MHD refuses HTTPS options) */
    bool tls = cfg->tls_cert_pem != NULL && cfg->tls_key_pem != NULL;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "frugal: --tls-cert: this libmicrohttpd was built without TLS (GnuTLS) "
                        "support; install a build with it, or serve plain HTTP behind a TLS "
                        "proxy\n");
        pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
        return 1;
    }
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL,
        on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_ARRAY, tls ? tls_options : tls_options + 2, MHD_OPTION_END);
    if (d == NULL) {
        if (tls)
            fprintf(stderr, "frugal: cannot listen with TLS on %s:%d (GnuTLS refused the "
                            "certificate or key, or the address is taken): %s\n",
                    cfg->host, cfg->port, strerror(errno));
        else
            fprintf(stderr, "frugal: cannot listen on %s:%d: %s\n", cfg->host, cfg->port,
                    strerror(errno));
        pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info != NULL ? (int)info->port : cfg->port;
    printf("frugal: listening on %s://%s:%d\n", tls ? "https" : "http", cfg->host, port);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "frugal serve: %s: finishing requests in progress\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_quiesce_daemon(d); /* stop accepting; the listening socket stays ours until stop */
    for (int i = 0; i < SHUTDOWN_WAIT_S * 100 &&
                    (atomic_load(&inflight) > 0 || api_streams_running() > 0);
         i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    pthread_mutex_lock(&dbs_lock);
    for (size_t i = 0; i < n_dbs; i++)
        frugal_close(dbs[i]);
    free(dbs);
    dbs = NULL;
    n_dbs = 0;
    pthread_mutex_unlock(&dbs_lock);
    fprintf(stderr, "frugal serve: stopped\n");
    return 0;
}
