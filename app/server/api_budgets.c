/*
 * api_budgets.c - /v1/budgets: list, set and clear the limits on what generated answers may
 * cost, per collection or per API key (the same as `frugal budget`; frugal.h, Budgets).
 *
 * How: thin wrappers over frugal_budget_list / _set / _get / _clear. PUT takes {"limit",
 * "period", "reset"} (api_parse_budget) and answers the budget as it is after the write; a PUT
 * without "period" keeps the budget's period (lifetime for a new one), so raising a limit never
 * resets what was spent by accident. A collection must exist and a key must be one
 * frugal_key_create made (404 otherwise), although the library would accept a collection
 * budget set ahead of the collection: over HTTP a typo should not silently budget nothing.
 *
 * Who may: admins only (the route table). An admin limited to some collections sees and
 * manages the budgets of those collections only; key budgets, like keys themselves, need an
 * admin without collection limits, since they name other tenants' keys.
 *
 * The router reads these budgets from the database before every generation and charges them
 * after it, on every handle and process, so a PUT takes effect for the next question at once.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_json.h"
#include "server.h"

static const char *const scope_names[] = {"collection", "key"};
static const char *const period_names[] = {"lifetime", "daily", "monthly"};

static cJSON *budget_json(const frugal_budget *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scope", scope_names[b->scope]);
    char target[32];
    if (b->scope == FRUGAL_BUDGET_COLLECTION) {
        cJSON_AddStringToObject(o, "target", b->collection);
        cJSON_AddStringToObject(o, "collection", b->collection);
        cJSON_AddNullToObject(o, "key_id");
    } else {
        snprintf(target, sizeof target, "%lld", (long long)b->key_id);
        cJSON_AddStringToObject(o, "target", target);
        cJSON_AddNullToObject(o, "collection");
        cJSON_AddNumberToObject(o, "key_id", (double)b->key_id);
    }
    cJSON_AddStringToObject(o, "period", period_names[b->period]);
    cJSON_AddNumberToObject(o, "limit", b->limit);
    cJSON_AddNumberToObject(o, "spent", b->spent);
    cJSON_AddNumberToObject(o, "left", b->left);
    cJSON_AddNumberToObject(o, "period_start", (double)b->period_start);
    cJSON_AddNumberToObject(o, "updated_at", (double)b->updated_at);
    return o;
}

static bool unrestricted(const struct request *rq)
{
    return api_has_role(rq, FRUGAL_KEY_ADMIN) && rq->key.n_collections == 0;
}

void api_budgets_list(struct request *rq, struct response *rs)
{
    frugal_budget *list = NULL;
    size_t n = 0;
    frugal_status st = frugal_budget_list(rq->db, &list, &n);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    bool all = unrestricted(rq);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "budgets");
    for (size_t i = 0; i < n; i++) {
        const frugal_budget *b = &list[i];
        bool visible = all || (b->scope == FRUGAL_BUDGET_COLLECTION &&
                               frugal_key_allows(&rq->key, b->collection));
        if (visible)
            cJSON_AddItemToArray(arr, budget_json(b));
    }
    frugal_free(list);
    api_reply_json(rs, 200, root);
}

/* The budget the path names: scope, collection (borrowed from the request) or key id; false
 * after replying 400, 403 or 404. A collection must exist when must_exist (setting; clearing
 * the budget of a collection deleted since is fine). */
static bool budget_target(struct request *rq, struct response *rs, frugal_budget_scope scope,
                          bool must_exist, const char **collection, int64_t *key_id)
{
    *collection = NULL;
    *key_id = 0;
    if (scope == FRUGAL_BUDGET_COLLECTION) {
        const char *name = rq->params[0];
        frugal_collection_info *list = NULL;
        size_t n = 0;
        size_t i = 0;
        if (!api_allow_collection(rq, rs, name) ||
            (must_exist && !api_collection_lookup(rq, rs, name, &list, &n, &i)))
            return false;
        frugal_collection_list_free(list, n);
        *collection = name;
        return true;
    }
    if (!unrestricted(rq)) {
        api_reply_error(rs, 403, "forbidden",
                        "key budgets need an admin key without collection limits");
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long id = strtoll(rq->params[0], &end, 10);
    if (errno != 0 || end == rq->params[0] || *end != '\0' || id <= 0) {
        api_reply_error(rs, 400, "invalid_request", "key id must be a positive number");
        return false;
    }
    *key_id = (int64_t)id;
    return true;
}

static void budget_put(struct request *rq, struct response *rs, frugal_budget_scope scope)
{
    const char *collection = NULL;
    int64_t key_id = 0;
    if (!budget_target(rq, rs, scope, true, &collection, &key_id))
        return;
    struct api_budget_req req;
    char msg[256];
    if (!api_parse_budget(rq->body, rq->body_len, &req, msg, sizeof msg)) {
        api_reply_error(rs, 400, "invalid_request", "%s", msg);
        return;
    }
    frugal_budget b;
    frugal_budget_period period = req.period;
    if (!req.has_period) {
        frugal_status got = frugal_budget_get(rq->db, scope, collection, key_id, &b);
        period = got == FRUGAL_OK ? b.period : FRUGAL_BUDGET_LIFETIME;
    }
    frugal_status st =
        frugal_budget_set(rq->db, scope, collection, key_id, req.limit, period, req.reset);
    if (st == FRUGAL_OK)
        st = frugal_budget_get(rq->db, scope, collection, key_id, &b);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    api_reply_json(rs, 200, budget_json(&b));
}

static void budget_delete(struct request *rq, struct response *rs, frugal_budget_scope scope)
{
    const char *collection = NULL;
    int64_t key_id = 0;
    if (!budget_target(rq, rs, scope, false, &collection, &key_id))
        return;
    frugal_status st = frugal_budget_clear(rq->db, scope, collection, key_id);
    if (st != FRUGAL_OK) {
        api_reply_status(rs, rq->db, st);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "scope", scope_names[scope]);
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)key_id);
    cJSON_AddStringToObject(root, "target", collection != NULL ? collection : target);
    cJSON_AddBoolToObject(root, "cleared", true);
    api_reply_json(rs, 200, root);
}

void api_budgets_put_collection(struct request *rq, struct response *rs)
{
    budget_put(rq, rs, FRUGAL_BUDGET_COLLECTION);
}

void api_budgets_put_key(struct request *rq, struct response *rs)
{
    budget_put(rq, rs, FRUGAL_BUDGET_KEY);
}

void api_budgets_delete_collection(struct request *rq, struct response *rs)
{
    budget_delete(rq, rs, FRUGAL_BUDGET_COLLECTION);
}

void api_budgets_delete_key(struct request *rq, struct response *rs)
{
    budget_delete(rq, rs, FRUGAL_BUDGET_KEY);
}
