/*
 * api_collections.c - /v1/collections: list, create (embedder spec and language), get (counts,
 * embedder) and delete.
 *
 * How: thin wrappers over the Collections section of frugal.h. A key limited to collections
 * sees only those in the list, and gets 403 for any other by name; creating and deleting need
 * the admin role (checked by the route table) and, for a limited admin, a name it may use.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include <string.h>

#include "api_json.h"
#include "server.h"

static cJSON *collection_json(const frugal_collection_info *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddItemToObject(o, "language", api_string_or_null(c->language));
    cJSON_AddItemToObject(o, "stopwords", api_string_or_null(c->stopwords));
    cJSON_AddNumberToObject(o, "documents", (double)c->n_documents);
    cJSON_AddNumberToObject(o, "chunks", (double)c->n_chunks);
    cJSON_AddNumberToObject(o, "k1", c->k1);
    cJSON_AddNumberToObject(o, "b", c->b);
    cJSON_AddItemToObject(o, "embedder", api_string_or_null(c->embedder));
    cJSON_AddItemToObject(o, "embedder_name", api_string_or_null(c->embedder_name));
    cJSON_AddNumberToObject(o, "embedder_dim", (double)c->embedder_dim);
    cJSON_AddItemToObject(o, "vector_type", api_string_or_null(c->vector_type));
    return o;
}

bool api_collection_lookup(struct request *rq, struct response *rs, const char *name,
                           frugal_collection_info **list, size_t *n, size_t *index)
{
    frugal_status st = frugal_collection_list(rq->db, list, n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return false;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*list)[i].name, name) == 0) {
            *index = i;
            return true;
        }
    }
    frugal_collection_list_free(*list, *n);
    *list = NULL;
    *n = 0;
    api_reply_error(rs, 404, "not_found", "no collection named '%s'", name);
    return false;
}

void api_collections_list(struct request *rq, struct response *rs)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_status st = frugal_collection_list(rq->db, &list, &n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "collections");
    for (size_t i = 0; i < n; i++) {
        if (frugal_key_allows(&rq->key, list[i].name))
            cJSON_AddItemToArray(arr, collection_json(&list[i]));
    }
    frugal_collection_list_free(list, n);
    api_reply_json(rs, 200, root);
}

void api_collections_create(struct request *rq, struct response *rs)
{
    struct api_collection_req req;
    char msg[256];
    if (!api_parse_collection(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_collection_req_release(&req);
        return;
    }
    if (!api_allow_collection(rq, rs, req.name)) {
        api_collection_req_release(&req);
        return;
    }
    frugal_collection_params params;
    frugal_collection_default_params(&params);
    if (req.language != NULL)
        params.language = req.language;
    params.stopwords = req.stopwords;
    params.embedder = req.embedder;
    if (req.vector_type != NULL)
        params.vector_type = req.vector_type;
    if (req.k1 >= 0)
        params.k1 = req.k1;
    if (req.b >= 0)
        params.b = req.b;
    frugal_status st = frugal_collection_create(rq->db, req.name, &params);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        api_collection_req_release(&req);
        return;
    }
    frugal_collection_info *list = NULL;
    size_t n = 0;
    size_t i = 0;
    if (api_collection_lookup(rq, rs, req.name, &list, &n, &i)) {
        api_reply_json(rs, 201, collection_json(&list[i]));
        frugal_collection_list_free(list, n);
    }
    api_collection_req_release(&req);
}

void api_collections_get(struct request *rq, struct response *rs)
{
    const char *name = rq->params[0];
    frugal_collection_info *list = NULL;
    size_t n = 0;
    size_t i = 0;
    if (!api_allow_collection(rq, rs, name))
        return;
    if (!api_collection_lookup(rq, rs, name, &list, &n, &i))
        return;
    api_reply_json(rs, 200, collection_json(&list[i]));
    frugal_collection_list_free(list, n);
}

void api_collections_delete(struct request *rq, struct response *rs)
{
    const char *name = rq->params[0];
    if (!api_allow_collection(rq, rs, name))
        return;
    frugal_status st = frugal_collection_delete(rq->db, name);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "deleted", name);
    api_reply_json(rs, 200, root);
}
