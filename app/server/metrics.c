/*
 * metrics.c - the server's metrics for GET /metrics, in the Prometheus text exposition format
 * (version 0.0.4): what the HTTP layer served, how the answers were made, and how the
 * generators are doing.
 *
 * What is counted:
 *  - HTTP: requests by route pattern, method and status (frugal_http_requests_total), latency
 *    histograms by route (frugal_http_request_duration_seconds), requests in progress.
 *  - Answers (every /v1/ask and /v1/chat/completions reply that carried one, streamed or not):
 *    the route taken (frugal_answers_total{route}: "cache", "extractive", "generate", and
 *    "unavailable" for an extractive answer whose reason says no generator could take the
 *    question), a histogram per stage from the answer's timings_ms
 *    (frugal_answer_stage_seconds{stage}: retrieve, extract and total for every answer; cache
 *    when the cache was consulted; generate when a generator was called), answer-cache hits
 *    and misses, prompt and completion tokens, cost in the price table's currency and CPU
 *    seconds.
 *  - Generators (frugal serve --generator, in failover order): circuit state (one gauge per
 *    state, 1 for the current one), calls in flight and the configured capacity, recent p50
 *    and p95 latency, recent error rate, and lifetime calls, failures and rejections, read
 *    live from frugal_generator_get_health when the text is made.
 *  - Budgets (frugal.h, Budgets; /v1/budgets): limit and spent in the current period of every
 *    stored budget, labelled by scope ("collection" or "key"), target (the collection's name
 *    or the key's id) and period, read from the database when the text is made (one query,
 *    the budgets table is small).
 *
 * How: fixed arrays of counters (route slots are the route table's indexes, remembered with
 * their labels on first use), histograms with the same 12 bounds from 1 ms to 10 s; the text is
 * printed into a growing buffer. Cumulative bucket counts are computed when printed.
 *
 * Threading: every counter is guarded by `lock`, held briefly by recorders and while the text
 * is printed; generator health is read outside it (each generator has its own mutex).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "server.h"

static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,   1,    2.5,   5,    10};
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])
#define MAX_STATUSES 16

struct histogram {
    uint64_t buckets[N_BOUNDS]; /* per bucket; cumulative when printed */
    uint64_t count;
    double sum_s;
};

static void histogram_add(struct histogram *h, double seconds)
{
    for (size_t b = 0; b < N_BOUNDS; b++) {
        if (seconds <= bounds[b]) {
            h->buckets[b]++;
            break;
        }
    }
    h->count++;
    h->sum_s += seconds;
}

struct route_metrics {
    const char *route;  /* static; NULL while the slot is unused */
    const char *method; /* static */
    int statuses[MAX_STATUSES];
    uint64_t status_counts[MAX_STATUSES];
    size_t n_statuses;
    struct histogram latency;
};

enum { ROUTE_CACHE, ROUTE_EXTRACTIVE, ROUTE_GENERATE, ROUTE_UNAVAILABLE, N_ANSWER_ROUTES };
static const char *const answer_routes[N_ANSWER_ROUTES] = {"cache", "extractive", "generate",
                                                           "unavailable"};
enum { STAGE_CACHE, STAGE_RETRIEVE, STAGE_EXTRACT, STAGE_GENERATE, STAGE_TOTAL, N_STAGES };
static const char *const stages[N_STAGES] = {"cache", "retrieve", "extract", "generate",
                                             "total"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_metrics routes[METRICS_MAX_ROUTES];
static uint64_t answers[N_ANSWER_ROUTES];
static struct histogram stage_latency[N_STAGES];
static uint64_t cache_hits;
static uint64_t cache_misses;
static uint64_t prompt_tokens;
static uint64_t completion_tokens;
static double cost_total;
static double cpu_seconds;

void metrics_request(size_t slot, const char *route, const char *method, int status,
                     double seconds)
{
    if (slot >= METRICS_MAX_ROUTES)
        return;
    pthread_mutex_lock(&lock);
    struct route_metrics *m = &routes[slot];
    m->route = route;
    m->method = method;
    size_t i = 0;
    while (i < m->n_statuses && m->statuses[i] != status)
        i++;
    if (i == m->n_statuses && i < MAX_STATUSES) {
        m->statuses[i] = status;
        m->n_statuses++;
    }
    if (i < MAX_STATUSES)
        m->status_counts[i]++;
    histogram_add(&m->latency, seconds);
    pthread_mutex_unlock(&lock);
}

bool metrics_cache_consulted(const struct server_config *cfg, frugal_ask_mode mode)
{
    return cfg->n_generators > 0 && mode != FRUGAL_ASK_EXTRACTIVE;
}

void metrics_answer(const frugal_answer *a, bool cache_consulted)
{
    size_t route = ROUTE_EXTRACTIVE;
    if (a->route != NULL && strcmp(a->route, "cache") == 0)
        route = ROUTE_CACHE;
    else if (a->route != NULL && strcmp(a->route, "generate") == 0)
        route = ROUTE_GENERATE;
    else if (a->reason != NULL && strncmp(a->reason, "generator unavailable", 21) == 0)
        route = ROUTE_UNAVAILABLE;
    const frugal_answer_timings *t = &a->timings_ms;
    pthread_mutex_lock(&lock);
    answers[route]++;
    if (cache_consulted) {
        histogram_add(&stage_latency[STAGE_CACHE], t->cache_ms / 1000.0);
        if (route == ROUTE_CACHE)
            cache_hits++;
        else
            cache_misses++;
    }
    histogram_add(&stage_latency[STAGE_RETRIEVE], t->retrieve_ms / 1000.0);
    histogram_add(&stage_latency[STAGE_EXTRACT], t->extract_ms / 1000.0);
    if (t->generate_ms > 0)
        histogram_add(&stage_latency[STAGE_GENERATE], t->generate_ms / 1000.0);
    histogram_add(&stage_latency[STAGE_TOTAL], t->total_ms / 1000.0);
    prompt_tokens += a->prompt_tokens;
    completion_tokens += a->completion_tokens;
    cost_total += a->cost_usd;
    cpu_seconds += a->cost_cpu_ms / 1000.0;
    pthread_mutex_unlock(&lock);
}

/* ---- Text ---- */

struct text {
    char *p;
    size_t len, cap;
    bool failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p != NULL ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
        } else if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = (t->cap + (size_t)n + 1) * 2;
            char *grown = realloc(t->p, cap);
            if (grown == NULL) {
                t->failed = true;
            } else {
                t->p = grown;
                t->cap = cap;
            }
        }
    }
}

/* A label value with \, " and newlines escaped as the format wants, into out (cap bytes). */
static const char *label_value(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            out[n++] = '\\';
            out[n++] = *s;
        } else if (*s == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return out;
}

/* The bucket, sum and count lines of histogram h; labels is "name=\"v\"," or "". */
static void histogram_text(struct text *t, const char *name, const char *labels,
                           const struct histogram *h)
{
    uint64_t cumulative = 0;
    for (size_t b = 0; b < N_BOUNDS; b++) {
        cumulative += h->buckets[b];
        text_add(t, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[b],
                 (unsigned long long)cumulative);
    }
    size_t ll = strlen(labels);
    int keep = ll > 0 ? (int)ll - 1 : 0; /* without the trailing comma */
    text_add(t,
             "%s_bucket{%sle=\"+Inf\"} %llu\n"
             "%s_sum{%.*s} %.6f\n"
             "%s_count{%.*s} %llu\n",
             name, labels, (unsigned long long)h->count, name, keep, labels, h->sum_s, name,
             keep, labels, (unsigned long long)h->count);
}

static void http_text(struct text *t)
{
    text_add(t, "# HELP frugal_http_requests_total HTTP requests by route, method and status.\n"
                "# TYPE frugal_http_requests_total counter\n");
    for (size_t r = 0; r < METRICS_MAX_ROUTES; r++) {
        const struct route_metrics *m = &routes[r];
        for (size_t i = 0; m->route != NULL && i < m->n_statuses; i++)
            text_add(t, "frugal_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} "
                        "%llu\n",
                     m->route, m->method, m->statuses[i], (unsigned long long)m->status_counts[i]);
    }
    text_add(t, "# HELP frugal_http_request_duration_seconds Request latency by route.\n"
                "# TYPE frugal_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < METRICS_MAX_ROUTES; r++) {
        const struct route_metrics *m = &routes[r];
        if (m->route == NULL || m->latency.count == 0)
            continue;
        char labels[256];
        snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",", m->route, m->method);
        histogram_text(t, "frugal_http_request_duration_seconds", labels, &m->latency);
    }
}

static void answers_text(struct text *t)
{
    text_add(t, "# HELP frugal_answers_total Answers sent, by the route that made them "
                "(unavailable: extractive because no generator could take the question).\n"
                "# TYPE frugal_answers_total counter\n");
    for (size_t r = 0; r < N_ANSWER_ROUTES; r++)
        text_add(t, "frugal_answers_total{route=\"%s\"} %llu\n", answer_routes[r],
                 (unsigned long long)answers[r]);
    text_add(t, "# HELP frugal_answer_stage_seconds Time of each answering stage (from the "
                "answers' timings_ms).\n"
                "# TYPE frugal_answer_stage_seconds histogram\n");
    for (size_t s = 0; s < N_STAGES; s++) {
        char labels[64];
        snprintf(labels, sizeof labels, "stage=\"%s\",", stages[s]);
        histogram_text(t, "frugal_answer_stage_seconds", labels, &stage_latency[s]);
    }
    text_add(t,
             "# HELP frugal_answer_cache_hits_total Answers served from the answer cache.\n"
             "# TYPE frugal_answer_cache_hits_total counter\n"
             "frugal_answer_cache_hits_total %llu\n"
             "# HELP frugal_answer_cache_misses_total Answer-cache lookups that found nothing.\n"
             "# TYPE frugal_answer_cache_misses_total counter\n"
             "frugal_answer_cache_misses_total %llu\n"
             "# HELP frugal_answer_prompt_tokens_total Tokens sent to generators.\n"
             "# TYPE frugal_answer_prompt_tokens_total counter\n"
             "frugal_answer_prompt_tokens_total %llu\n"
             "# HELP frugal_answer_completion_tokens_total Tokens generators produced.\n"
             "# TYPE frugal_answer_completion_tokens_total counter\n"
             "frugal_answer_completion_tokens_total %llu\n"
             "# HELP frugal_answer_cost_total Cost of the answers at the price table "
             "($FRUGAL_PRICES), in its currency.\n"
             "# TYPE frugal_answer_cost_total counter\n"
             "frugal_answer_cost_total %.9f\n"
             "# HELP frugal_answer_cpu_seconds_total CPU time spent answering.\n"
             "# TYPE frugal_answer_cpu_seconds_total counter\n"
             "frugal_answer_cpu_seconds_total %.6f\n",
             (unsigned long long)cache_hits, (unsigned long long)cache_misses,
             (unsigned long long)prompt_tokens, (unsigned long long)completion_tokens,
             cost_total, cpu_seconds);
}

static void generators_text(struct text *t, const struct server_config *cfg)
{
    static const char *const circuits[] = {"closed", "open", "half-open"};
    static const char *const help =
        "# HELP frugal_generator_up Generators configured (frugal serve --generator), in "
        "failover order (position from 1).\n"
        "# TYPE frugal_generator_up gauge\n"
        "# HELP frugal_generator_circuit Circuit breaker state: 1 for the current state.\n"
        "# TYPE frugal_generator_circuit gauge\n"
        "# HELP frugal_generator_in_flight Calls to the generator running now.\n"
        "# TYPE frugal_generator_in_flight gauge\n"
        "# HELP frugal_generator_capacity Concurrent calls it serves well (0: no limit).\n"
        "# TYPE frugal_generator_capacity gauge\n"
        "# HELP frugal_generator_latency_seconds Latency of recent successful calls.\n"
        "# TYPE frugal_generator_latency_seconds gauge\n"
        "# HELP frugal_generator_error_rate Share of recent calls that failed.\n"
        "# TYPE frugal_generator_error_rate gauge\n"
        "# HELP frugal_generator_calls_total Calls let through to the backend.\n"
        "# TYPE frugal_generator_calls_total counter\n"
        "# HELP frugal_generator_failures_total Calls that failed.\n"
        "# TYPE frugal_generator_failures_total counter\n"
        "# HELP frugal_generator_rejected_total Calls refused because the circuit was open.\n"
        "# TYPE frugal_generator_rejected_total counter\n";
    text_add(t, "%s", help);
    for (size_t i = 0; i < cfg->n_generators; i++) {
        frugal_generator_health h;
        frugal_generator_get_health(cfg->generators[i], &h);
        char name[256];
        char l[320];
        snprintf(l, sizeof l, "generator=\"%s\",position=\"%zu\"",
                 label_value(frugal_generator_name(cfg->generators[i]), name, sizeof name),
                 i + 1);
        text_add(t, "frugal_generator_up{%s} 1\n", l);
        for (size_t c = 0; c < 3; c++)
            text_add(t, "frugal_generator_circuit{%s,state=\"%s\"} %d\n", l, circuits[c],
                     h.circuit != NULL && strcmp(h.circuit, circuits[c]) == 0);
        text_add(t,
                 "frugal_generator_in_flight{%s} %d\n"
                 "frugal_generator_capacity{%s} %d\n"
                 "frugal_generator_latency_seconds{%s,quantile=\"0.5\"} %.6f\n"
                 "frugal_generator_latency_seconds{%s,quantile=\"0.95\"} %.6f\n"
                 "frugal_generator_error_rate{%s} %.6f\n"
                 "frugal_generator_calls_total{%s} %llu\n"
                 "frugal_generator_failures_total{%s} %llu\n"
                 "frugal_generator_rejected_total{%s} %llu\n",
                 l, h.in_flight, l, h.capacity, l, h.p50_ms / 1000.0, l, h.p95_ms / 1000.0, l,
                 h.error_rate, l, (unsigned long long)h.calls, l,
                 (unsigned long long)h.failures, l, (unsigned long long)h.rejected);
    }
}

static void budgets_text(struct text *t, frugal_db *db)
{
    static const char *const scopes[] = {"collection", "key"};
    static const char *const periods[] = {"lifetime", "daily", "monthly"};
    text_add(t, "# HELP frugal_budget_limit What generated answers may cost per period, per "
                "budget (/v1/budgets), in the price table's currency.\n"
                "# TYPE frugal_budget_limit gauge\n"
                "# HELP frugal_budget_spent What generated answers cost in the budget's current "
                "period.\n"
                "# TYPE frugal_budget_spent gauge\n");
    frugal_budget *list = NULL;
    size_t n = 0;
    if (db == NULL || frugal_budget_list(db, &list, &n) != FRUGAL_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        const frugal_budget *b = &list[i];
        char target[300];
        char l[400];
        if (b->scope == FRUGAL_BUDGET_COLLECTION)
            label_value(b->collection, target, sizeof target);
        else
            snprintf(target, sizeof target, "%lld", (long long)b->key_id);
        snprintf(l, sizeof l, "scope=\"%s\",target=\"%s\",period=\"%s\"",
                 scopes[b->scope == FRUGAL_BUDGET_KEY], target,
                 periods[(size_t)b->period < 3 ? b->period : 0]);
        text_add(t, "frugal_budget_limit{%s} %.9g\nfrugal_budget_spent{%s} %.9g\n", l,
                 b->limit, l, b->spent);
    }
    frugal_free(list);
}

char *metrics_text(const struct server_config *cfg, frugal_db *db, int inflight, size_t *len)
{
    struct text t = {0};
    t.p = malloc(16384);
    t.cap = t.p != NULL ? 16384 : 0;
    t.failed = t.p == NULL;
    pthread_mutex_lock(&lock);
    http_text(&t);
    answers_text(&t);
    pthread_mutex_unlock(&lock);
    text_add(&t, "# HELP frugal_http_requests_in_flight Requests being served now.\n"
                 "# TYPE frugal_http_requests_in_flight gauge\n"
                 "frugal_http_requests_in_flight %d\n",
             inflight);
    generators_text(&t, cfg);
    budgets_text(&t, db);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}
