/*
 * metrics.h - the server's counters, histograms and gauges, printed as Prometheus text for
 * GET /metrics (metrics.c).
 *
 * Contract: server.c records every finished HTTP request (metrics_request); the answering
 * handlers (api_ask.c, api_openai.c) record every answer they send (metrics_answer); the
 * generators' health and the budgets are read live when the text is made (metrics_text).
 * Every function is safe to call from any thread. Names, labels and meanings are documented in
 * docs/http-api.md (Metrics).
 */
#ifndef FRUGAL_SERVER_METRICS_H
#define FRUGAL_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "frugal.h"

struct server_config;

#define METRICS_MAX_ROUTES 64 /* route slots (server.c's table and "unmatched") */

/* One finished request in slot `slot` (< METRICS_MAX_ROUTES) of the route table; route and
 * method are its labels (static strings, remembered by the slot). */
void metrics_request(size_t slot, const char *route, const char *method, int status,
                     double seconds);

/* One answer sent (borrowed): its route, stage timings, tokens and cost. cache_consulted says
 * whether frugal_ask looked the question up in the answer cache (a generator attached and
 * mode not extractive): a "cache" route is then a hit, any other a miss. */
void metrics_answer(const frugal_answer *a, bool cache_consulted);

/* Whether frugal_ask consults the answer cache for a request in `mode` on this server. */
bool metrics_cache_consulted(const struct server_config *cfg, frugal_ask_mode mode);

/* The Prometheus text (owned, malloc; *len its length), with `inflight` requests in progress,
 * the health of cfg's generators and the budgets stored in db (borrowed, the calling worker's
 * handle; NULL or unreadable: no budget gauges); NULL when out of memory. */
char *metrics_text(const struct server_config *cfg, frugal_db *db, int inflight, size_t *len);

#endif
