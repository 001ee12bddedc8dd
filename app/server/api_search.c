/*
 * api_search.c - POST /v1/search: ranked chunks with scores and citations.
 *
 * How: the body becomes a struct api_search_req (api_json.c), the key must allow the
 * collection, then frugal_search ranks. Each hit carries its text, the highlighted snippet and
 * a citation: source, title, heading path and the chunk's character offsets in the document's
 * extracted text (code points, end exclusive), so a client can show the passage in place.
 *
 * "mode": "hybrid" fuses BM25 and dense retrieval (the collection needs an embedder); the reply
 * then says how far the two sides agreed ("agreement", null in the other modes).
 * "rerank_top_n" reorders the top hits with the server's cross-encoder (serve --rerank) within
 * "rerank_budget_ms"; the reply always carries "reranked" (how many were, 0 when not asked)
 * and "rerank_note" (why fewer than asked, else null), and each reranked hit its
 * "rerank_score". Asking to rerank on a server without a reranker is a 400.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include "api_json.h"
#include "server.h"

static const char *mode_name(frugal_search_mode mode)
{
    switch (mode) {
    case FRUGAL_SEARCH_DENSE:
        return "dense";
    case FRUGAL_SEARCH_HYBRID:
        return "hybrid";
    case FRUGAL_SEARCH_BM25:
        break;
    }
    return "bm25";
}

void api_search(struct request *rq, struct response *rs)
{
    struct api_search_req req;
    char msg[256];
    if (!api_parse_search(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_search_req_release(&req);
        return;
    }
    const char *collection = req.collection != NULL ? req.collection : "default";
    if (!api_allow_collection(rq, rs, collection) ||
        !api_rerank_available(rq, rs, req.rerank_top_n)) {
        api_search_req_release(&req);
        return;
    }
    frugal_search_params params;
    frugal_search_default_params(&params);
    params.collection = collection;
    params.mode = req.mode;
    params.k = req.k;
    params.filters = req.filters;
    params.n_filters = req.n_filters;
    params.group_by_document = req.group_by_document;
    params.rerank_top_n = req.rerank_top_n;
    params.rerank_budget_ms = req.rerank_budget_ms;
    frugal_results *res = NULL;
    frugal_status st = frugal_search(rq->db, req.query, &params, &res);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        api_search_req_release(&req);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "query", req.query);
    cJSON_AddStringToObject(root, "collection", collection);
    cJSON_AddStringToObject(root, "mode", mode_name(req.mode));
    cJSON_AddNumberToObject(root, "took_ms", res->elapsed_ms);
    if (req.mode == FRUGAL_SEARCH_HYBRID && res->agreement >= 0)
        cJSON_AddNumberToObject(root, "agreement", res->agreement);
    else
        cJSON_AddNullToObject(root, "agreement");
    cJSON_AddNumberToObject(root, "reranked", (double)res->reranked);
    cJSON_AddItemToObject(root, "rerank_note", api_string_or_null(res->rerank_note));
    cJSON *hits = cJSON_AddArrayToObject(root, "hits");
    for (size_t i = 0; i < res->n_hits; i++) {
        const frugal_hit *h = &res->hits[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rank", (double)(i + 1));
        cJSON_AddNumberToObject(o, "score", h->score);
        if (i < res->reranked)
            cJSON_AddNumberToObject(o, "rerank_score", h->rerank_score);
        cJSON_AddNumberToObject(o, "chunk_id", (double)h->chunk_id);
        cJSON_AddNumberToObject(o, "document_id", (double)h->document_id);
        cJSON_AddStringToObject(o, "text", h->text != NULL ? h->text : "");
        cJSON_AddItemToObject(o, "snippet", api_string_or_null(h->snippet));
        cJSON_AddItemToObject(o, "metadata", api_metadata(h->metadata_json));
        cJSON *c = cJSON_AddObjectToObject(o, "citation");
        cJSON_AddStringToObject(c, "source", h->source != NULL ? h->source : "");
        cJSON_AddItemToObject(c, "ext_id", api_string_or_null(h->ext_id));
        cJSON_AddItemToObject(c, "title", api_string_or_null(h->title));
        cJSON_AddStringToObject(c, "heading_path",
                                h->heading_path != NULL ? h->heading_path : "");
        cJSON_AddNumberToObject(c, "ordinal", h->ordinal);
        cJSON_AddNumberToObject(c, "char_start", (double)h->char_start);
        cJSON_AddNumberToObject(c, "char_end", (double)h->char_end);
        cJSON_AddItemToArray(hits, o);
    }
    frugal_results_free(res);
    api_search_req_release(&req);
    api_reply_json(rs, 200, root);
}
