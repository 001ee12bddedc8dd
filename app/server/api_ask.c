/*
 * api_ask.c - POST /v1/ask: an answer with citations from frugal_ask, whole or streamed.
 *
 * How: the body becomes a struct api_ask_req (api_json.c); the key must allow the collection;
 * frugal_ask answers; the reply is the answer object: text, span, route and the reason for it,
 * confidence, citations (source, heading path, character offsets of the cited sentence,
 * snippet, score), timings per stage, tokens and cost. Every answer sent is counted in the
 * metrics (metrics.c). "cache_similarity" sets the near-duplicate cache threshold of this
 * request; "rerank_top_n" and "rerank_budget_ms" rerank the retrieved chunks with the server's
 * cross-encoder before extraction, as for /v1/search (400 without serve --rerank). The caller's
 * API key is passed as api_key_id, so that its budget (/v1/budgets) applies besides the
 * collection's and a generated answer is charged to both.
 *
 * "stream": true answers with Server-Sent Events (api_stream.c runs frugal_ask on a producer
 * thread with an on_delta callback): `route` {route, reason, confidence} first, then `delta`
 * {text} frames (the generated tokens, or the extractive answer as one delta), then `citations`
 * {citations: [...]}, then `done` with the rest of the answer object (answer: the final text,
 * span, route, reason, confidence, timings_ms, usage, cost). When a generator streams, the
 * route is known to be "generate" at its first token, before the reason and confidence are:
 * that `route` event then carries the route alone and `done` carries all three. A failure
 * after the stream began is an `error` event {error: {code, message}}.
 *
 * Threading: the whole reply runs on a worker thread with that thread's handle; the streamed
 * one on its producer thread with the producer's own handle. No shared state.
 */
#include "api_json.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

cJSON *api_citation_json(const frugal_citation *c)
{
    cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "document_id", (double)c->document_id);
        cJSON_AddNumberToObject(o, "chunk_id", (double)c->chunk_id);
        cJSON_AddNumberToObject(o, "ordinal", c->ordinal);
        cJSON_AddStringToObject(o, "source", c->source != NULL ? c->source : "");
        cJSON_AddItemToObject(o, "ext_id", api_string_or_null(c->ext_id));
        cJSON_AddItemToObject(o, "title", api_string_or_null(c->title));
        cJSON_AddStringToObject(o, "heading_path", c->heading_path != NULL ? c->heading_path : "");
        cJSON_AddNumberToObject(o, "char_start", (double)c->char_start);
        cJSON_AddNumberToObject(o, "char_end", (double)c->char_end);
        cJSON_AddItemToObject(o, "snippet", api_string_or_null(c->snippet));
        cJSON_AddNumberToObject(o, "score", c->score);
    return o;
}

static cJSON *citations_json(const frugal_answer *a)
{
    cJSON *cits = cJSON_CreateArray();
    for (size_t i = 0; i < a->n_citations; i++)
        cJSON_AddItemToArray(cits, api_citation_json(&a->citations[i]));
    return cits;
}

/* The answer object without its citations. */
static cJSON *facts_json(const frugal_answer *a, const char *collection)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "collection", collection);
    cJSON_AddStringToObject(root, "answer", a->text != NULL ? a->text : "");
    cJSON_AddItemToObject(root, "span", api_string_or_null(a->span));
    cJSON_AddItemToObject(root, "route", api_string_or_null(a->route));
    cJSON_AddItemToObject(root, "reason", api_string_or_null(a->reason));
    cJSON_AddNumberToObject(root, "confidence", a->confidence);
    cJSON *t = cJSON_AddObjectToObject(root, "timings_ms");
    cJSON_AddNumberToObject(t, "cache", a->timings_ms.cache_ms);
    cJSON_AddNumberToObject(t, "retrieve", a->timings_ms.retrieve_ms);
    cJSON_AddNumberToObject(t, "extract", a->timings_ms.extract_ms);
    cJSON_AddNumberToObject(t, "generate", a->timings_ms.generate_ms);
    cJSON_AddNumberToObject(t, "total", a->timings_ms.total_ms);
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)a->prompt_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)a->completion_tokens);
    cJSON_AddNumberToObject(u, "context_tokens", (double)a->context_tokens);
    cJSON_AddNumberToObject(u, "context_tokens_full", (double)a->context_tokens_full);
    cJSON *cost = cJSON_AddObjectToObject(root, "cost");
    cJSON_AddNumberToObject(cost, "cpu_ms", a->cost_cpu_ms);
    cJSON_AddNumberToObject(cost, "usd", a->cost_usd);
    cJSON_AddItemToObject(root, "generator", api_string_or_null(a->generator));
    return root;
}

static cJSON *answer_json(const frugal_answer *a, const char *collection)
{
    cJSON *root = facts_json(a, collection);
    cJSON_AddItemToObject(root, "citations", citations_json(a));
    return root;
}

static void params_from(frugal_ask_params *params, const struct api_ask_req *req,
                        const char *collection, const struct server_config *cfg,
                        int64_t key_id)
{
    server_ask_defaults(cfg, params);
    params->collection = collection;
    params->api_key_id = key_id;
    params->mode = req->mode;
    if (req->k > 0)
        params->k = req->k;
    if (req->min_confidence >= 0)
        params->min_confidence = req->min_confidence;
    params->filters = req->filters;
    params->n_filters = req->n_filters;
    if (req->cache_similarity > 0)
        params->cache_similarity = req->cache_similarity;
    params->rerank_top_n = req->rerank_top_n;
    params->rerank_budget_ms = req->rerank_budget_ms;
}

/* ---- Streaming ---- */

struct ask_job {
    struct api_ask_req req;
    const struct server_config *cfg;
    int64_t key_id; /* the caller's key (budgets), 0: none */
    struct api_stream *st;
    bool routed; /* the route event went out */
};

static void ask_job_free(void *p)
{
    struct ask_job *job = p;
    api_ask_req_release(&job->req);
    free(job);
}

static int ask_delta(void *ctx, const char *text, size_t len)
{
    struct ask_job *job = ctx;
    if (!job->routed) {
        job->routed = true;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "route", "generate");
        if (!api_stream_event(job->st, "route", r))
            return 1;
    }
    char *copy = strndup(text, len);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", copy != NULL ? copy : "");
    free(copy);
    return api_stream_event(job->st, "delta", d) ? 0 : 1;
}

/* Sends an error event for a failure after the stream began. */
static void stream_failure(struct api_stream *st, frugal_db *db, frugal_status rc)
{
    struct response tmp = {0};
    if (rc == FRUGAL_EUNSUPPORTED)
        api_reply_error(&tmp, 501, "not_implemented", "%s", frugal_errmsg(db));
    else
        api_reply_status(&tmp, db, rc);
    cJSON *err = tmp.body != NULL ? cJSON_Parse(tmp.body) : NULL;
    free(tmp.body);
    api_stream_event(st, "error", err);
}

static void ask_produce(struct api_stream *st, frugal_db *db, void *arg)
{
    struct ask_job *job = arg;
    job->st = st;
    const char *collection = job->req.collection != NULL ? job->req.collection : "default";
    frugal_ask_params params;
    params_from(&params, &job->req, collection, job->cfg, job->key_id);
    params.on_delta = ask_delta;
    params.delta_ctx = job;
    frugal_answer *a = NULL;
    frugal_status rc = frugal_ask(db, job->req.question, &params, &a);
    if (rc != FRUGAL_OK) {
        stream_failure(st, db, rc);
        return;
    }
    metrics_answer(a, metrics_cache_consulted(job->cfg, params.mode));
    bool ok = true;
    if (!job->routed) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "route", api_string_or_null(a->route));
        cJSON_AddItemToObject(r, "reason", api_string_or_null(a->reason));
        cJSON_AddNumberToObject(r, "confidence", a->confidence);
        ok = api_stream_event(st, "route", r);
        if (ok && a->text != NULL && a->text[0] != '\0') {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "text", a->text);
            ok = api_stream_event(st, "delta", d);
        }
    }
    if (ok) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToObject(c, "citations", citations_json(a));
        ok = api_stream_event(st, "citations", c);
    }
    if (ok)
        api_stream_event(st, "done", facts_json(a, collection));
    frugal_answer_free(a);
}

void api_ask(struct request *rq, struct response *rs)
{
    struct api_ask_req req;
    char msg[256];
    if (!api_parse_ask(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_ask_req_release(&req);
        return;
    }
    const char *collection = req.collection != NULL ? req.collection : "default";
    if (!api_allow_collection(rq, rs, collection) ||
        !api_rerank_available(rq, rs, req.rerank_top_n)) {
        api_ask_req_release(&req);
        return;
    }
    if (req.stream) {
        struct ask_job *job = calloc(1, sizeof *job);
        if (job == NULL) {
            api_reply_error(rs, 500, "internal", "out of memory");
            api_ask_req_release(&req);
            return;
        }
        job->req = req; /* moved */
        job->cfg = rq->cfg;
        job->key_id = api_key_id(rq);
        api_reply_stream(rq, rs, ask_produce, job, ask_job_free);
        return;
    }
    frugal_ask_params params;
    params_from(&params, &req, collection, rq->cfg, api_key_id(rq));
    frugal_answer *answer = NULL;
    frugal_status st = frugal_ask(rq->db, req.question, &params, &answer);
    if (st == FRUGAL_EUNSUPPORTED) {
        api_reply_error(rs, 501, "not_implemented", "%s", frugal_errmsg(rq->db));
    } else if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
    } else {
        metrics_answer(answer, metrics_cache_consulted(rq->cfg, params.mode));
        api_reply_json(rs, 200, answer_json(answer, collection));
    }
    frugal_answer_free(answer);
    api_ask_req_release(&req);
}
