/*
 * api_openai.c - the OpenAI-compatible endpoints: POST /v1/embeddings, GET /v1/models, and
 * POST /v1/chat/completions (frugal_ask behind the OpenAI chat shapes; POST /v1/ask is
 * api_ask.c).
 *
 * How: a "model" names a collection (its embedder embeds; the key must allow the collection)
 * or, for an admin key without collection limits only, an embedder spec ("glove:PATH", ...),
 * because a spec makes the server read files or call other servers. /v1/models lists the
 * collections the key may use, plus "frugal" (the default collection). Replies follow the
 * OpenAI shapes ({object: "list", data: [...]}) so that stock clients parse them.
 *
 * Chat completions: the last "user" message is the question and the model names the
 * collection ("frugal": the default one). The message content is the answer with its sources
 * cited as [n] (the extractive answer cites [1], its own sentence; a generated one keeps the
 * [n] the generator wrote) followed by a "Sources:" list; the same sources, with heading path,
 * character offsets and snippet, are a top-level "sources" array. With "stream": true the reply
 * is chat.completion.chunk SSE lines ("data: {...}"): the role, the content deltas (generated
 * tokens, or the extractive answer as one delta), the sources list as a last content delta, a
 * final chunk with finish_reason "stop" that also carries "sources" and "usage", and
 * "data: [DONE]". Generation parameters other than max_tokens are ignored; frugal's own
 * "mode" field ("auto", "extractive", "generate") overrides the router as on /v1/ask, and its
 * "cache_similarity", "rerank_top_n" and "rerank_budget_ms" work as on /v1/ask too. With
 * `frugal serve --generator`, a generated answer streams its tokens as content deltas as the
 * generator produces them. As on /v1/ask, the caller's key is the answer's api_key_id: its
 * budget (/v1/budgets) applies besides the collection's.
 *
 * Threading: runs on a worker thread with that thread's handle; the embedder is opened for the
 * request and freed after it (no shared state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_json.h"
#include "metrics.h"
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

static const char *chat_collection(const char *model)
{
    return strcmp(model, "frugal") == 0 ? "default" : model;
}

/* The answer's text for the chat message (never empty). */
static const char *chat_text(const frugal_answer *a)
{
    return a->text != NULL && a->text[0] != '\0' ? a->text
                                                 : "No answer was found in the collection.";
}

/* What follows the text in the message: " [1]" for an extractive answer, then the sources
 * list; owned (malloc), NULL when out of memory. */
static char *chat_suffix(const frugal_answer *a)
{
    char *p = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&p, &len);
    if (f == NULL)
        return NULL;
    bool extractive = a->route != NULL && strcmp(a->route, "extractive") == 0;
    if (extractive && a->n_citations > 0 && a->text != NULL && a->text[0] != '\0')
        fputs(" [1]", f);
    if (a->n_citations > 0)
        fputs("\n\nSources:", f);
    for (size_t i = 0; i < a->n_citations; i++) {
        const frugal_citation *c = &a->citations[i];
        fprintf(f, "\n[%zu] %s", i + 1, c->source != NULL ? c->source : "");
        if (c->heading_path != NULL && c->heading_path[0] != '\0')
            fprintf(f, " (%s)", c->heading_path);
    }
    if (fclose(f) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static cJSON *chat_sources(const frugal_answer *a)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < a->n_citations; i++) {
        cJSON *o = api_citation_json(&a->citations[i]);
        cJSON_AddNumberToObject(o, "index", (double)(i + 1));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *chat_usage(const frugal_answer *a, const char *question)
{
    /* The extractive route sends no tokens anywhere: count the question and the answer at
     * about 4 bytes a token so that clients that sum usage see something sensible. */
    size_t prompt = a->prompt_tokens > 0 ? a->prompt_tokens : (strlen(question) + 3) / 4;
    size_t completion = a->completion_tokens > 0 ? a->completion_tokens
                                                 : (strlen(chat_text(a)) + 3) / 4;
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + completion));
    return u;
}

static cJSON *chat_base(const char *object, const char *id, long created, const char *model)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object", object);
    cJSON_AddNumberToObject(root, "created", (double)created);
    cJSON_AddStringToObject(root, "model", model);
    cJSON_AddStringToObject(root, "system_fingerprint", "frugal");
    return root;
}

static void chat_params(frugal_ask_params *params, const struct api_chat_req *req,
                        const struct server_config *cfg, int64_t key_id)
{
    server_ask_defaults(cfg, params);
    params->api_key_id = key_id;
    params->collection = chat_collection(req->model);
    params->max_tokens = req->max_tokens;
    params->mode = req->mode;
    if (req->cache_similarity > 0)
        params->cache_similarity = req->cache_similarity;
    params->rerank_top_n = req->rerank_top_n;
    params->rerank_budget_ms = req->rerank_budget_ms;
}

/* ---- Streaming ---- */

struct chat_job {
    struct api_chat_req req;
    const struct server_config *cfg;
    int64_t key_id; /* the caller's key (budgets), 0: none */
    struct api_stream *st;
    char id[64];
    long created;
    bool started;  /* the role chunk went out */
    bool streamed; /* generated text went out as deltas */
};

static void chat_job_free(void *p)
{
    struct chat_job *job = p;
    api_chat_req_release(&job->req);
    free(job);
}

/* One chat.completion.chunk: delta {role?, content?}, finish_reason or null; extra (owned,
 * may be NULL) fields are merged into the chunk. */
static bool chat_chunk(struct chat_job *job, const char *content, const char *finish,
                       cJSON *extra)
{
    cJSON *root = chat_base("chat.completion.chunk", job->id, job->created, job->req.model);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON *delta = cJSON_AddObjectToObject(ch, "delta");
    if (!job->started) {
        cJSON_AddStringToObject(delta, "role", "assistant");
        job->started = true;
    }
    if (content != NULL)
        cJSON_AddStringToObject(delta, "content", content);
    cJSON_AddItemToObject(ch, "logprobs", cJSON_CreateNull());
    cJSON_AddItemToObject(ch, "finish_reason", api_string_or_null(finish));
    cJSON_AddItemToArray(choices, ch);
    if (extra != NULL) {
        cJSON *field = extra->child;
        while (field != NULL) {
            cJSON *next = field->next;
            cJSON_AddItemToObject(root, field->string,
                                  cJSON_DetachItemViaPointer(extra, field));
            field = next;
        }
        cJSON_Delete(extra);
    }
    return api_stream_event(job->st, NULL, root);
}

static int chat_delta(void *ctx, const char *text, size_t len)
{
    struct chat_job *job = ctx;
    char *copy = strndup(text, len);
    if (copy == NULL)
        return 1;
    job->streamed = true;
    bool ok = chat_chunk(job, copy, NULL, NULL);
    free(copy);
    return ok ? 0 : 1;
}

static void chat_produce(struct api_stream *st, frugal_db *db, void *arg)
{
    struct chat_job *job = arg;
    job->st = st;
    frugal_ask_params params;
    chat_params(&params, &job->req, job->cfg, job->key_id);
    params.on_delta = chat_delta;
    params.delta_ctx = job;
    frugal_answer *a = NULL;
    frugal_status rc = frugal_ask(db, job->req.question, &params, &a);
    if (rc != FRUGAL_OK) {
        struct response tmp = {0};
        if (rc == FRUGAL_EUNSUPPORTED) /* "mode": "generate" without a generator */
            api_reply_error(&tmp, 501, "not_implemented", "%s", frugal_errmsg(db));
        else
            api_reply_status(&tmp, db, rc);
        cJSON *err = tmp.body != NULL ? cJSON_Parse(tmp.body) : NULL;
        free(tmp.body);
        if (api_stream_event(st, NULL, err))
            api_stream_write(st, "data: [DONE]\n\n", 14);
        return;
    }
    metrics_answer(a, metrics_cache_consulted(job->cfg, params.mode));
    bool ok = job->streamed || chat_chunk(job, chat_text(a), NULL, NULL);
    char *suffix = ok ? chat_suffix(a) : NULL;
    if (ok && suffix != NULL && suffix[0] != '\0')
        ok = chat_chunk(job, suffix, NULL, NULL);
    free(suffix);
    if (ok) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddItemToObject(extra, "sources", chat_sources(a));
        cJSON_AddItemToObject(extra, "usage", chat_usage(a, job->req.question));
        cJSON_AddItemToObject(extra, "route", api_string_or_null(a->route));
        ok = chat_chunk(job, NULL, "stop", extra);
    }
    if (ok)
        api_stream_write(st, "data: [DONE]\n\n", 14);
    frugal_answer_free(a);
}

void api_chat_completions(struct request *rq, struct response *rs)
{
    struct api_chat_req req;
    char msg[256];
    if (!api_parse_chat(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_chat_req_release(&req);
        return;
    }
    const char *collection = chat_collection(req.model);
    frugal_collection_info *list = NULL;
    size_t n = 0, i = 0;
    if (!api_allow_collection(rq, rs, collection) ||
        !api_rerank_available(rq, rs, req.rerank_top_n) ||
        !api_collection_lookup(rq, rs, collection, &list, &n, &i)) {
        api_chat_req_release(&req);
        return;
    }
    frugal_collection_list_free(list, n);
    char id[64];
    snprintf(id, sizeof id, "chatcmpl-%s", rq->request_id);
    long created = (long)time(NULL);
    if (req.stream) {
        struct chat_job *job = calloc(1, sizeof *job);
        if (job == NULL) {
            api_reply_error(rs, 500, "internal", "out of memory");
            api_chat_req_release(&req);
            return;
        }
        job->req = req; /* moved */
        job->cfg = rq->cfg;
        job->key_id = api_key_id(rq);
        memcpy(job->id, id, sizeof id);
        job->created = created;
        api_reply_stream(rq, rs, chat_produce, job, chat_job_free);
        return;
    }
    frugal_ask_params params;
    chat_params(&params, &req, rq->cfg, api_key_id(rq));
    frugal_answer *a = NULL;
    frugal_status st = frugal_ask(rq->db, req.question, &params, &a);
    char *suffix = st == FRUGAL_OK ? chat_suffix(a) : NULL;
    if (st == FRUGAL_OK)
        metrics_answer(a, metrics_cache_consulted(rq->cfg, params.mode));
    if (st == FRUGAL_EUNSUPPORTED) {
        api_reply_error(rs, 501, "not_implemented", "%s", frugal_errmsg(rq->db));
    } else if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
    } else if (suffix == NULL) {
        api_reply_error(rs, 500, "internal", "out of memory");
    } else {
        const char *text = chat_text(a);
        size_t len = strlen(text) + strlen(suffix);
        char *content = malloc(len + 1);
        if (content == NULL) {
            api_reply_error(rs, 500, "internal", "out of memory");
        } else {
            snprintf(content, len + 1, "%s%s", text, suffix);
            cJSON *root = chat_base("chat.completion", id, created, req.model);
            cJSON *choices = cJSON_AddArrayToObject(root, "choices");
            cJSON *ch = cJSON_CreateObject();
            cJSON_AddNumberToObject(ch, "index", 0);
            cJSON *m = cJSON_AddObjectToObject(ch, "message");
            cJSON_AddStringToObject(m, "role", "assistant");
            cJSON_AddStringToObject(m, "content", content);
            cJSON_AddItemToObject(m, "refusal", cJSON_CreateNull());
            cJSON_AddItemToObject(ch, "logprobs", cJSON_CreateNull());
            cJSON_AddStringToObject(ch, "finish_reason", "stop");
            cJSON_AddItemToArray(choices, ch);
            cJSON_AddItemToObject(root, "usage", chat_usage(a, req.question));
            cJSON_AddItemToObject(root, "sources", chat_sources(a));
            cJSON_AddItemToObject(root, "route", api_string_or_null(a->route));
            cJSON_AddItemToObject(root, "reason", api_string_or_null(a->reason));
            cJSON_AddNumberToObject(root, "confidence", a->confidence);
            api_reply_json(rs, 200, root);
            free(content);
        }
    }
    free(suffix);
    frugal_answer_free(a);
    api_chat_req_release(&req);
}
