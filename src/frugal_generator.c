/*
 * frugal_generator.c - the public generator handle (frugal.h, Generators): a struct generator
 * (src/answer/generator.h: backend vtable, circuit breaker, health) behind an opaque type, with
 * constructors for the two backends, a spec-string parser and a snapshot of its health.
 *
 * How: the constructors fill the backend's options from their arguments and the params struct,
 * create the backend, and wrap it with gen_new under the name "openai:MODEL" or
 * "bedrock:MODEL" (the key the price table uses). Specs are split at the last '@' so that
 * model ids may hold ':' (Bedrock) and URLs may hold '@' only before the last one.
 *
 * Threading: a handle is immutable after construction; the struct generator inside is
 * thread-safe (its own mutex), so one handle may serve several frugal_db handles and threads.
 */
#include <stdio.h>
#include <string.h>

#include "answer/generator.h"
#include "base/alloc.h"
#include "frugal.h"
#include "frugal_internal.h"

struct frugal_generator {
    struct generator *gen; /* owned */
};

struct generator *gen_of_public(frugal_generator *g)
{
    return g != NULL ? g->gen : NULL;
}

void frugal_generator_default_params(frugal_generator_params *params)
{
    struct gen_breaker_opts b;
    struct gen_http_opts h;
    gen_breaker_default_opts(&b);
    gen_http_default_opts(&h);
    memset(params, 0, sizeof *params);
    params->capacity = b.capacity;
    params->failure_threshold = b.failure_threshold;
    params->cooldown_ms = b.cooldown_ms;
    params->timeout_ms = h.total_timeout_ms;
    params->max_retries = h.max_retries;
}

static void apply_http(const frugal_generator_params *p, struct gen_http_opts *h)
{
    if (p->timeout_ms > 0)
        h->total_timeout_ms = p->timeout_ms;
    if (p->max_retries >= 0)
        h->max_retries = p->max_retries;
}

/* Wraps impl (ownership passes here) under name. */
static frugal_status wrap(const char *name, const struct gen_ops *ops, void *impl,
                          const frugal_generator_params *p, frugal_generator **out)
{
    struct gen_breaker_opts b;
    struct err e;
    gen_breaker_default_opts(&b);
    if (p->capacity > 0)
        b.capacity = p->capacity;
    if (p->failure_threshold > 0)
        b.failure_threshold = p->failure_threshold;
    if (p->cooldown_ms > 0)
        b.cooldown_ms = p->cooldown_ms;
    frugal_generator *g = frugal_calloc(1, sizeof *g);
    if (g == NULL) {
        if (ops->free != NULL)
            ops->free(impl);
        return FRUGAL_ENOMEM;
    }
    frugal_status rc = gen_new(name, ops, impl, &b, &g->gen, &e);
    if (rc != FRUGAL_OK) {
        frugal_free(g);
        return rc;
    }
    *out = g;
    return FRUGAL_OK;
}

frugal_status frugal_generator_open_openai(const char *url, const char *model,
                                           const char *api_key,
                                           const frugal_generator_params *params,
                                           frugal_generator **out)
{
    frugal_generator_params p;
    struct gen_openai_opts o;
    struct err e;
    void *impl = NULL;
    char name[256];
    if (out == NULL)
        return FRUGAL_EINVAL;
    *out = NULL;
    if (url == NULL || url[0] == '\0' || model == NULL || model[0] == '\0')
        return FRUGAL_EINVAL;
    frugal_generator_default_params(&p);
    if (params != NULL)
        p = *params;
    gen_openai_default_opts(&o);
    o.base_url = url;
    o.model = model;
    o.api_key = api_key;
    apply_http(&p, &o.http);
    frugal_status rc = gen_openai_new(&o, &impl, &e);
    if (rc != FRUGAL_OK)
        return rc;
    snprintf(name, sizeof name, "openai:%s", model);
    return wrap(name, &gen_openai_ops, impl, &p, out);
}

frugal_status frugal_generator_open_bedrock(const char *region, const char *model_id,
                                            const frugal_generator_params *params,
                                            frugal_generator **out)
{
    frugal_generator_params p;
    struct gen_bedrock_opts o;
    struct err e;
    void *impl = NULL;
    char name[256];
    if (out == NULL)
        return FRUGAL_EINVAL;
    *out = NULL;
    if (region == NULL || region[0] == '\0' || model_id == NULL || model_id[0] == '\0')
        return FRUGAL_EINVAL;
    frugal_generator_default_params(&p);
    if (params != NULL)
        p = *params;
    gen_bedrock_default_opts(&o);
    o.region = region;
    o.model_id = model_id;
    apply_http(&p, &o.http);
    frugal_status rc = gen_bedrock_new(&o, &impl, &e);
    if (rc != FRUGAL_OK)
        return rc;
    snprintf(name, sizeof name, "bedrock:%s", model_id);
    return wrap(name, &gen_bedrock_ops, impl, &p, out);
}

frugal_status frugal_generator_open(const char *spec, const frugal_generator_params *params,
                                    frugal_generator **out)
{
    if (out == NULL)
        return FRUGAL_EINVAL;
    *out = NULL;
    if (spec == NULL)
        return FRUGAL_EINVAL;
    bool openai = strncmp(spec, "openai:", 7) == 0;
    bool bedrock = strncmp(spec, "bedrock:", 8) == 0;
    if (!openai && !bedrock)
        return FRUGAL_EINVAL;
    const char *model = spec + (openai ? 7 : 8);
    const char *at = strrchr(model, '@');
    if (at == NULL || at == model || at[1] == '\0')
        return FRUGAL_EINVAL;
    char *m = frugal_strndup(model, (size_t)(at - model));
    if (m == NULL)
        return FRUGAL_ENOMEM;
    frugal_status rc = openai ? frugal_generator_open_openai(at + 1, m, NULL, params, out)
                              : frugal_generator_open_bedrock(at + 1, m, params, out);
    frugal_free(m);
    return rc;
}

void frugal_generator_free(frugal_generator *gen)
{
    if (gen == NULL)
        return;
    gen_free(gen->gen);
    frugal_free(gen);
}

const char *frugal_generator_name(const frugal_generator *gen)
{
    return gen != NULL ? gen_name(gen->gen) : "";
}

void frugal_generator_get_health(frugal_generator *gen, frugal_generator_health *out)
{
    memset(out, 0, sizeof *out);
    out->circuit = "closed";
    if (gen == NULL)
        return;
    struct gen_health h;
    gen_health(gen->gen, &h);
    out->circuit = gen_circuit_name(h.circuit);
    out->in_flight = h.in_flight;
    out->capacity = h.capacity;
    out->p50_ms = h.p50_ms;
    out->p95_ms = h.p95_ms;
    out->error_rate = h.error_rate;
    out->calls = h.calls;
    out->failures = h.failures;
    out->rejected = h.rejected;
}
