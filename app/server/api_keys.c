/*
 * api_keys.c - /v1/keys: list, create and revoke API keys over HTTP (the same as `frugal
 * keys`).
 *
 * Why only unrestricted admins: a key limited to some collections must not mint keys for
 * others nor see which tenants exist, so these routes need an admin key without collection
 * limits (403 otherwise). A created key is in the reply once and never again.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include <errno.h>
#include <stdlib.h>

#include "api_json.h"
#include "server.h"

static const char *const role_names[] = {"reader", "writer", "admin"};

static bool unrestricted_admin(struct request *rq, struct response *rs)
{
    if (api_has_role(rq, FRUGAL_KEY_ADMIN) && rq->key.n_collections == 0)
        return true;
    api_reply_error(rs, 403, "forbidden", "managing keys needs an admin key without collection "
                                          "limits");
    return false;
}

static cJSON *key_json(const frugal_key_info *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)k->id);
    cJSON_AddStringToObject(o, "role", role_names[k->role]);
    cJSON *c = cJSON_AddArrayToObject(o, "collections");
    for (size_t i = 0; i < k->n_collections; i++)
        cJSON_AddItemToArray(c, cJSON_CreateString(k->collections[i]));
    cJSON_AddNumberToObject(o, "created_at", (double)k->created_at);
    if (k->revoked_at != 0)
        cJSON_AddNumberToObject(o, "revoked_at", (double)k->revoked_at);
    else
        cJSON_AddNullToObject(o, "revoked_at");
    return o;
}

void api_keys_list(struct request *rq, struct response *rs)
{
    if (!unrestricted_admin(rq, rs))
        return;
    frugal_key_info *keys = NULL;
    size_t n = 0;
    frugal_status st = frugal_key_list(rq->db, &keys, &n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "keys");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, key_json(&keys[i]));
    frugal_key_list_free(keys, n);
    api_reply_json(rs, 200, root);
}

void api_keys_create(struct request *rq, struct response *rs)
{
    if (!unrestricted_admin(rq, rs))
        return;
    struct api_key_req req;
    char msg[256];
    if (!api_parse_key(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        api_key_req_release(&req);
        return;
    }
    char *key = NULL;
    int64_t id = 0;
    frugal_status st = frugal_key_create(rq->db, req.role, (const char *const *)req.collections,
                                         req.n_collections, &key, &id);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        api_key_req_release(&req);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "id", (double)id);
    cJSON_AddStringToObject(root, "key", key);
    cJSON_AddStringToObject(root, "role", role_names[req.role]);
    cJSON *c = cJSON_AddArrayToObject(root, "collections");
    for (size_t i = 0; i < req.n_collections; i++)
        cJSON_AddItemToArray(c, cJSON_CreateString(req.collections[i]));
    frugal_free(key);
    api_key_req_release(&req);
    api_reply_json(rs, 201, root);
}

void api_keys_revoke(struct request *rq, struct response *rs)
{
    if (!unrestricted_admin(rq, rs))
        return;
    char *end = NULL;
    errno = 0;
    long long id = strtoll(rq->params[0], &end, 10);
    if (errno != 0 || *end != '\0' || id <= 0) {
        api_reply_error(rs, 400, "invalid_request", "key id must be a positive number");
        return;
    }
    frugal_status st = frugal_key_revoke(rq->db, (int64_t)id);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "revoked", (double)id);
    api_reply_json(rs, 200, root);
}
