/*
 * api_ask.c - POST /v1/ask: an answer with citations from frugal_ask (non-streaming).
 *
 * How: the body becomes a struct api_ask_req (api_json.c); the key must allow the collection;
 * frugal_ask answers; the reply is the answer object: text, span, route and the reason for it,
 * confidence, citations (source, heading path, character offsets of the cited sentence,
 * snippet, score), timings per stage, tokens and cost. "stream": true (Server-Sent Events) is
 * not served yet and gets 501.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include "api_json.h"
#include "server.h"

static cJSON *answer_json(const frugal_answer *a, const char *collection)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "collection", collection);
    cJSON_AddStringToObject(root, "answer", a->text != NULL ? a->text : "");
    cJSON_AddItemToObject(root, "span", api_string_or_null(a->span));
    cJSON_AddItemToObject(root, "route", api_string_or_null(a->route));
    cJSON_AddItemToObject(root, "reason", api_string_or_null(a->reason));
    cJSON_AddNumberToObject(root, "confidence", a->confidence);
    cJSON *cits = cJSON_AddArrayToObject(root, "citations");
    for (size_t i = 0; i < a->n_citations; i++) {
        const frugal_citation *c = &a->citations[i];
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
        cJSON_AddItemToArray(cits, o);
    }
    cJSON *t = cJSON_AddObjectToObject(root, "timings_ms");
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
    return root;
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
    if (!api_allow_collection(rq, rs, collection)) {
        api_ask_req_release(&req);
        return;
    }
    if (req.stream) {
        api_reply_error(rs, 501, "not_implemented",
                        "streaming answers (\"stream\": true) are not available yet; ask "
                        "without it");
        api_ask_req_release(&req);
        return;
    }
    frugal_ask_params params;
    frugal_ask_default_params(&params);
    params.collection = collection;
    params.mode = req.mode;
    if (req.k > 0)
        params.k = req.k;
    if (req.min_confidence >= 0)
        params.min_confidence = req.min_confidence;
    params.filters = req.filters;
    params.n_filters = req.n_filters;
    frugal_answer *answer = NULL;
    frugal_status st = frugal_ask(rq->db, req.question, &params, &answer);
    if (st == FRUGAL_EUNSUPPORTED) {
        api_reply_error(rs, 501, "not_implemented", "%s", frugal_errmsg(rq->db));
    } else if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
    } else {
        api_reply_json(rs, 200, answer_json(answer, collection));
    }
    frugal_answer_free(answer);
    api_ask_req_release(&req);
}
