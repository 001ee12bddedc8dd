/*
 * api_openai.c - the OpenAI-compatible endpoints: POST /v1/embeddings, GET /v1/models, and
 * POST /v1/chat/completions (501 until it is wired to frugal_ask; POST /v1/ask is api_ask.c).
 *
 * How: a "model" names a collection (its embedder embeds; the key must allow the collection)
 * or, for an admin key without collection limits only, an embedder spec ("glove:PATH", ...),
 * because a spec makes the server read files or call other servers. /v1/models lists the
 * collections the key may use, plus "frugal" (the default collection). Replies follow the
 * OpenAI shapes ({object: "list", data: [...]}) so that stock clients parse them.
 *
 * Threading: runs on a worker thread with that thread's handle; the embedder is opened for the
 * request and freed after it (no shared state).
 */
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "server.h"

void api_embeddings(struct request *rq, struct response *rs)
{
    struct api_embeddings_req req;
    char msg[256];
    if (!api_parse_embeddings(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_embeddings_req_release(&req);
        return;
    }
    const char *model = strcmp(req.model, "frugal") == 0 ? "default" : req.model;
    frugal_collection_info *list = NULL;
    size_t n = 0;
    char *spec = NULL;
    bool is_spec = strchr(model, ':') != NULL || strcmp(model, "glove") == 0;
    if (is_spec) {
        if (!api_has_role(rq, FRUGAL_KEY_ADMIN) || rq->key.n_collections > 0) {
            api_reply_error(rs, 403, "forbidden",
                            "embedder specs as models need an admin key without collection "
                            "limits; name a collection instead");
            api_embeddings_req_release(&req);
            return;
        }
        spec = strdup(model);
    } else {
        size_t i = 0;
        if (!api_allow_collection(rq, rs, model) ||
            !api_collection_lookup(rq, rs, model, &list, &n, &i)) {
            api_embeddings_req_release(&req);
            return;
        }
        if (list[i].embedder == NULL) {
            api_reply_error(rs, 400, "invalid_request",
                            "collection '%s' has no embedder (see `frugal init --embedder`)",
                            model);
            frugal_collection_list_free(list, n);
            api_embeddings_req_release(&req);
            return;
        }
        spec = strdup(list[i].embedder);
        frugal_collection_list_free(list, n);
    }
    frugal_embedder *e = NULL;
    frugal_status st = spec != NULL ? frugal_embedder_open_spec(spec, &e) : FRUGAL_ENOMEM;
    size_t dim = st == FRUGAL_OK ? frugal_embedder_dim(e) : 0;
    float *vecs = st == FRUGAL_OK ? calloc(req.n_input, dim * sizeof *vecs) : NULL;
    if (st == FRUGAL_OK && vecs == NULL)
        st = FRUGAL_ENOMEM;
    if (st == FRUGAL_OK)
        st = frugal_embedder_embed(e, (const char *const *)req.input, req.n_input, vecs);
    if (st != FRUGAL_OK) {
        api_reply_error(rs, st == FRUGAL_ENOMEM ? 500 : 400,
                        st == FRUGAL_ENOMEM ? "internal" : "invalid_request", "embedder: %s",
                        e != NULL ? frugal_embedder_errmsg(e) : frugal_strerror(st));
    } else {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "object", "list");
        cJSON *data = cJSON_AddArrayToObject(root, "data");
        size_t chars = 0;
        for (size_t i = 0; i < req.n_input; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "object", "embedding");
            cJSON_AddNumberToObject(o, "index", (double)i);
            cJSON *v = cJSON_AddArrayToObject(o, "embedding");
            for (size_t j = 0; j < dim; j++)
                cJSON_AddItemToArray(v, cJSON_CreateNumber(vecs[i * dim + j]));
            cJSON_AddItemToArray(data, o);
            chars += strlen(req.input[i]);
        }
        cJSON_AddStringToObject(root, "model", req.model);
        cJSON *usage = cJSON_AddObjectToObject(root, "usage");
        /* No tokenizer is shared by every embedder: estimate tokens as 4 bytes each. */
        cJSON_AddNumberToObject(usage, "prompt_tokens", (double)((chars + 3) / 4));
        cJSON_AddNumberToObject(usage, "total_tokens", (double)((chars + 3) / 4));
        api_reply_json(rs, 200, root);
    }
    free(vecs);
    frugal_embedder_free(e);
    free(spec);
    api_embeddings_req_release(&req);
}

static cJSON *model_json(const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", 0);
    cJSON_AddStringToObject(o, "owned_by", "frugal");
    return o;
}

void api_models(struct request *rq, struct response *rs)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_status st = frugal_collection_list(rq->db, &list, &n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    if (frugal_key_allows(&rq->key, "default"))
        cJSON_AddItemToArray(data, model_json("frugal"));
    for (size_t i = 0; i < n; i++) {
        if (frugal_key_allows(&rq->key, list[i].name))
            cJSON_AddItemToArray(data, model_json(list[i].name));
    }
    frugal_collection_list_free(list, n);
    api_reply_json(rs, 200, root);
}

void api_chat_completions(struct request *rq, struct response *rs)
{
    api_reply_error(rs, 501, "not_implemented",
                    "/v1/chat/completions is not available yet; use POST /v1/ask for answers "
                    "with citations");
}
