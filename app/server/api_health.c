/*
 * api_health.c - GET /healthz (the process answers), GET /readyz (this worker's database is
 * open and answers a query) and GET /metrics (Prometheus text, from metrics.c).
 *
 * Why no key: load balancers and scrapers probe these; they reveal no documents (the budget
 * gauges of /metrics do name the collections and key ids that have budgets). The server binds
 * 127.0.0.1 by default, so they are not exposed beyond the host unless asked. /readyz and
 * /metrics get this worker's handle (server.c), the others none.
 *
 * Threading: runs on a worker thread with that thread's handle; no state of its own.
 */
#include <stdlib.h>

#include "server.h"

void api_healthz(struct request *rq, struct response *rs)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ok");
    cJSON_AddStringToObject(root, "version", frugal_version());
    api_reply_json(rs, 200, root);
}

void api_readyz(struct request *rq, struct response *rs)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    if (rq->db == NULL) {
        api_reply_error(rs, 503, "unavailable", "the database cannot be opened");
        return;
    }
    frugal_status st = frugal_collection_list(rq->db, &list, &n);
    frugal_collection_list_free(list, n);
    if (st != FRUGAL_OK) {
        api_reply_error(rs, 503, "unavailable", "the store does not answer: %s",
                        frugal_errmsg(rq->db));
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ready");
    cJSON_AddNumberToObject(root, "collections", (double)n);
    api_reply_json(rs, 200, root);
}

void api_metrics(struct request *rq, struct response *rs)
{
    size_t len = 0;
    char *text = server_metrics_text(rq->cfg, rq->db, &len);
    if (text == NULL) {
        api_reply_error(rs, 500, "internal", "out of memory");
        return;
    }
    rs->body = text;
    rs->body_len = len;
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4";
}
