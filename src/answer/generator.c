/*
 * generator.c - the generator wrapper: circuit breaker, health figures and ordered failover
 * around any backend (contract in generator.h).
 *
 * How: a struct generator holds the backend (ops + impl), its breaker state and a ring of the
 * last GEN_RING outcomes (latency and success). gen_generate asks the breaker for admission
 * (closed: yes; open: yes only once the cool-down has passed, which turns it half-open; half-open:
 * only when no probe is running), counts the call in flight, runs the backend without any lock,
 * then records the outcome: a success closes the circuit and resets the failure run, a failure
 * extends the run and opens the circuit at the threshold (or re-opens it after a failed probe).
 * Percentiles are computed on demand from a copy of the ring (GEN_RING values: a sort is cheap
 * next to an LLM call). gen_failover walks an ordered list and stops at the first success or at
 * the first failure after text was streamed.
 *
 * Why: a GPU generator is the scarce, failure-prone part of the pipeline. The router needs to know
 * at once, without a network round trip, whether a generator is worth trying and how loaded it is;
 * and a dead generator must cost one fast refusal, not a timeout per question.
 *
 * Threading: one pthread mutex per generator guards the breaker, the counters and the ring; it
 * is held for a few instructions before and after a call, never during one. The backend's
 * generate runs concurrently from many threads (the backends allow it). The clock hook is a
 * process-wide pointer set by tests before any thread starts.
 */
#include "answer/generator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"

struct outcome {
    float latency_ms;
    bool ok;
};

struct generator {
    char *name;                  /* owned */
    const struct gen_ops *ops;   /* borrowed, static */
    void *impl;                  /* owned through ops->free */
    struct gen_breaker_opts opts;
    pthread_mutex_t mu;          /* guards everything below */
    enum gen_circuit circuit;
    double opened_at_ms;         /* when the circuit last opened */
    bool probe_running;          /* half-open: the one probe is out */
    int consecutive_failures;
    int in_flight;
    uint64_t calls;
    uint64_t failures;
    uint64_t rejected;
    struct outcome ring[GEN_RING];
    size_t ring_next;            /* next slot to write */
    size_t ring_len;             /* slots filled, <= GEN_RING */
};

static double clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double (*now_hook)(void) = clock_ms;

void gen_set_clock(double (*now_ms)(void))
{
    now_hook = now_ms != NULL ? now_ms : clock_ms;
}

double gen_now_ms(void)
{
    return now_hook();
}

void gen_default_params(struct gen_params *p)
{
    memset(p, 0, sizeof(*p));
    p->temperature = -1;
}

void gen_result_release(struct gen_result *r)
{
    if (r == NULL)
        return;
    frugal_free(r->text);
    memset(r, 0, sizeof(*r));
}

const char *gen_circuit_name(enum gen_circuit c)
{
    switch (c) {
    case GEN_CLOSED:
        return "closed";
    case GEN_OPEN:
        return "open";
    case GEN_HALF_OPEN:
        return "half-open";
    }
    return "?";
}

void gen_breaker_default_opts(struct gen_breaker_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->failure_threshold = 3;
    o->cooldown_ms = 30000;
}

frugal_status gen_new(const char *name, const struct gen_ops *ops, void *impl,
                      const struct gen_breaker_opts *bopts, struct generator **out,
                      struct err *err)
{
    struct generator *g;
    *out = NULL;
    if (ops == NULL || ops->generate == NULL || name == NULL || name[0] == '\0') {
        if (ops != NULL && ops->free != NULL)
            ops->free(impl);
        return err_set(err, FRUGAL_EINVAL, "generator: a name and a generate slot are required");
    }
    g = frugal_calloc(1, sizeof(*g));
    if (g != NULL)
        g->name = frugal_strdup(name);
    if (g == NULL || g->name == NULL || pthread_mutex_init(&g->mu, NULL) != 0) {
        if (g != NULL)
            frugal_free(g->name);
        frugal_free(g);
        if (ops->free != NULL)
            ops->free(impl);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    g->ops = ops;
    g->impl = impl;
    if (bopts != NULL)
        g->opts = *bopts;
    else
        gen_breaker_default_opts(&g->opts);
    if (g->opts.failure_threshold < 1)
        g->opts.failure_threshold = 1;
    if (g->opts.cooldown_ms < 0)
        g->opts.cooldown_ms = 0;
    *out = g;
    return FRUGAL_OK;
}

void gen_free(struct generator *g)
{
    if (g == NULL)
        return;
    if (g->ops->free != NULL)
        g->ops->free(g->impl);
    pthread_mutex_destroy(&g->mu);
    frugal_free(g->name);
    frugal_free(g);
}

const char *gen_name(const struct generator *g)
{
    return g->name;
}

/* Admission under the lock. Returns false when the circuit refuses; *probe is set when this
 * call is the half-open probe. */
static bool admit(struct generator *g, bool *probe)
{
    double now = gen_now_ms();
    *probe = false;
    if (g->circuit == GEN_OPEN && now - g->opened_at_ms >= (double)g->opts.cooldown_ms)
        g->circuit = GEN_HALF_OPEN;
    if (g->circuit == GEN_OPEN)
        return false;
    if (g->circuit == GEN_HALF_OPEN) {
        if (g->probe_running)
            return false;
        g->probe_running = true;
        *probe = true;
    }
    return true;
}

static void record(struct generator *g, bool probe, bool counted, bool ok, double latency_ms)
{
    if (probe)
        g->probe_running = false;
    if (!counted) {
        /* says nothing about the backend: a probe that ends so leaves the state half-open */
        return;
    }
    g->ring[g->ring_next].latency_ms = (float)latency_ms;
    g->ring[g->ring_next].ok = ok;
    g->ring_next = (g->ring_next + 1) % GEN_RING;
    if (g->ring_len < GEN_RING)
        g->ring_len++;
    if (ok) {
        g->consecutive_failures = 0;
        g->circuit = GEN_CLOSED;
        return;
    }
    g->failures++;
    g->consecutive_failures++;
    if (g->circuit == GEN_HALF_OPEN ||
        g->consecutive_failures >= g->opts.failure_threshold) {
        g->circuit = GEN_OPEN;
        g->opened_at_ms = gen_now_ms();
    }
}

frugal_status gen_generate(struct generator *g, const struct gen_message *messages,
                           size_t n_messages, const struct gen_params *params,
                           struct gen_result *result, struct err *err)
{
    struct gen_params defaults;
    bool probe;
    bool admitted;
    double t0;
    frugal_status st;
    bool counted;

    memset(result, 0, sizeof(*result));
    result->generator = g->name;
    if (params == NULL) {
        gen_default_params(&defaults);
        params = &defaults;
    }
    pthread_mutex_lock(&g->mu);
    admitted = admit(g, &probe);
    if (admitted) {
        g->in_flight++;
        g->calls++;
    } else {
        g->rejected++;
    }
    pthread_mutex_unlock(&g->mu);
    if (!admitted)
        return err_set(err, FRUGAL_EBUSY, "%s: circuit open", g->name);

    t0 = gen_now_ms();
    st = g->ops->generate(g->impl, messages, n_messages, params, result, err);
    if (result->total_ms <= 0)
        result->total_ms = gen_now_ms() - t0;
    counted = !(st == FRUGAL_EINVAL || st == FRUGAL_ENOMEM);
    if (st != FRUGAL_OK)
        err_prefix(err, "%s", g->name);

    pthread_mutex_lock(&g->mu);
    g->in_flight--;
    record(g, probe, counted, st == FRUGAL_OK, result->total_ms);
    pthread_mutex_unlock(&g->mu);
    return st;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a;
    float y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values. */
static double percentile(const float *v, size_t n, double q)
{
    size_t rank;
    if (n == 0)
        return 0;
    rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

void gen_health(struct generator *g, struct gen_health *out)
{
    float lat[GEN_RING];
    size_t n_ok = 0;
    size_t n_fail = 0;
    size_t len;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&g->mu);
    /* a cool-down that has passed shows as half-open, as the next call would find it */
    if (g->circuit == GEN_OPEN && gen_now_ms() - g->opened_at_ms >= (double)g->opts.cooldown_ms)
        out->circuit = GEN_HALF_OPEN;
    else
        out->circuit = g->circuit;
    out->in_flight = g->in_flight;
    out->capacity = g->opts.capacity;
    out->consecutive_failures = g->consecutive_failures;
    out->calls = g->calls;
    out->failures = g->failures;
    out->rejected = g->rejected;
    len = g->ring_len;
    for (size_t i = 0; i < len; i++) {
        if (g->ring[i].ok)
            lat[n_ok++] = g->ring[i].latency_ms;
        else
            n_fail++;
    }
    pthread_mutex_unlock(&g->mu);
    qsort(lat, n_ok, sizeof(lat[0]), cmp_float);
    out->p50_ms = percentile(lat, n_ok, 0.50);
    out->p95_ms = percentile(lat, n_ok, 0.95);
    out->error_rate = len > 0 ? (double)n_fail / (double)len : 0;
}

frugal_status gen_failover(struct generator *const *gens, size_t n_gens,
                           const struct gen_message *messages, size_t n_messages,
                           const struct gen_params *params, struct gen_result *result,
                           struct err *err)
{
    struct buf why;
    frugal_status st = FRUGAL_EINVAL;
    struct err one;

    memset(result, 0, sizeof(*result));
    if (n_gens == 0)
        return err_set(err, FRUGAL_EINVAL, "no generator configured");
    buf_init(&why, 0);
    for (size_t i = 0; i < n_gens; i++) {
        err_clear(&one);
        gen_result_release(result);
        st = gen_generate(gens[i], messages, n_messages, params, result, &one);
        if (st == FRUGAL_OK || result->streamed || st == FRUGAL_ENOMEM ||
            (st == FRUGAL_EINVAL && strstr(one.msg, "aborted by the caller") != NULL)) {
            if (st != FRUGAL_OK)
                err_set(err, st, "%s", one.msg);
            buf_release(&why);
            return st;
        }
        buf_printf(&why, "%s%s", why.len > 0 ? "; " : "", one.msg);
    }
    err_set(err, st, "all %zu generators failed: %s", n_gens, why.ptr != NULL ? why.ptr : "");
    buf_release(&why);
    return st;
}
