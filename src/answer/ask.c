/*
 * ask.c - frugal_ask: answers a question from a collection and says how (frugal.h, Answers).
 *
 * What: retrieve the top k chunks with frugal_search (BM25 for now; hybrid retrieval plugs in
 * there), score their sentences with the extractor (extract.h), compress the context a generator
 * would get (compress.h), then route. The router is a stub until the generators land: mode
 * "generate" fails with FRUGAL_EUNSUPPORTED, "extractive" returns the extractive answer, "auto"
 * returns it too and says in `reason` whether the confidence cleared the threshold or the
 * answer is extractive only because no generator is configured ("generator unavailable").
 * Every answer carries its route, reason, confidence, citations (the answer sentence first, then
 * up to two more sentences scoring at least 80% of it), per-stage timings, tokens (0 here),
 * context tokens against the top-5 chunks whole, and its cost in CPU milliseconds.
 *
 * How: a layer above src/frugal.c, like src/eval: it uses the public API (frugal_search,
 * frugal_collection_list for the collection's analyzer) and sets the handle's error through
 * frugal_internal.h. Timings use CLOCK_MONOTONIC, the CPU cost CLOCK_THREAD_CPUTIME_ID.
 *
 * Why here and not in frugal.c: the answer path grows (router, cache, generators) and is its own
 * subsystem; frugal.c stays the thin API over storage and search.
 *
 * Threading: as every call on a frugal_db, one thread per handle; no global state.
 */
#include "answer/ask.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "answer/compress.h"
#include "base/alloc.h"
#include "frugal_internal.h"

#define ASK_MAX_K 100
#define ASK_WHOLE_CHUNKS 5
#define ASK_MAX_SUPPORT 2

void frugal_ask_default_params(frugal_ask_params *params)
{
    memset(params, 0, sizeof *params);
    params->collection = "default";
    params->mode = FRUGAL_ASK_AUTO;
    params->k = 5;
    params->min_confidence = FRUGAL_ASK_DEFAULT_THRESHOLD;
    params->context_budget_tokens = FRUGAL_ASK_DEFAULT_BUDGET;
}

static void citation_release(frugal_citation *c)
{
    frugal_free(c->source);
    frugal_free(c->ext_id);
    frugal_free(c->title);
    frugal_free(c->heading_path);
    frugal_free(c->snippet);
}

void frugal_answer_free(frugal_answer *answer)
{
    if (answer == NULL)
        return;
    for (size_t i = 0; i < answer->n_citations; i++)
        citation_release(&answer->citations[i]);
    frugal_free(answer->citations);
    frugal_free(answer->text);
    frugal_free(answer->span);
    frugal_free(answer->reason);
    frugal_free(answer);
}

static double ms_since(const struct timespec *a, clockid_t clock)
{
    struct timespec b;
    clock_gettime(clock, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static frugal_status fail(frugal_db *db, frugal_status code, const char *msg)
{
    db_set_error(db, code, msg);
    return code;
}

frugal_status answer_xans_for(frugal_db *db, const char *name, struct xans **out)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    struct err e;
    err_clear(&e);
    *out = NULL;
    if (name == NULL)
        name = "default";
    frugal_status rc = frugal_collection_list(db, &list, &n);
    if (rc != FRUGAL_OK)
        return rc;
    const frugal_collection_info *info = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, name) == 0)
            info = &list[i];
    }
    if (info == NULL) {
        frugal_collection_list_free(list, n);
        err_set(&e, FRUGAL_ENOTFOUND, "no collection '%s'", name);
        return fail(db, e.code, e.msg);
    }
    struct analyzer_opts opts = {.language = info->language, .stopwords = info->stopwords};
    rc = xans_new(&opts, out, &e);
    frugal_collection_list_free(list, n);
    if (rc != FRUGAL_OK)
        return fail(db, rc, e.msg);
    return FRUGAL_OK;
}

/* Fills citation c from hit h and sentence s. */
static frugal_status citation_fill(frugal_citation *c, const frugal_hit *h,
                                   const struct xans_sentence *s)
{
    c->document_id = h->document_id;
    c->chunk_id = h->chunk_id;
    c->ordinal = h->ordinal;
    c->char_start = s->char_start;
    c->char_end = s->char_end;
    c->score = s->score;
    c->source = frugal_strdup(h->source != NULL ? h->source : "");
    c->ext_id = frugal_strdup(h->ext_id);
    c->title = frugal_strdup(h->title);
    c->heading_path = frugal_strdup(h->heading_path != NULL ? h->heading_path : "");
    c->snippet = frugal_strndup(h->text + s->byte_start, s->byte_end - s->byte_start);
    if (c->source == NULL || (h->ext_id != NULL && c->ext_id == NULL) ||
        (h->title != NULL && c->title == NULL) || c->heading_path == NULL || c->snippet == NULL)
        return FRUGAL_ENOMEM;
    return FRUGAL_OK;
}

/* The answer sentence, then up to ASK_MAX_SUPPORT others scoring >= 80% of it, best first. */
static frugal_status build_citations(frugal_answer *a, const frugal_results *res,
                                     const struct xans_result *xr)
{
    size_t picked[1 + ASK_MAX_SUPPORT];
    size_t n = 0;
    const struct xans_sentence *best = &xr->sentences[xr->best];
    picked[n++] = xr->best;
    while (n < 1 + ASK_MAX_SUPPORT) {
        size_t next = xr->n_sentences;
        for (size_t i = 0; i < xr->n_sentences; i++) {
            bool taken = false;
            for (size_t j = 0; j < n; j++)
                taken = taken || picked[j] == i;
            if (taken || xr->sentences[i].score < 0.8 * best->score)
                continue;
            if (next == xr->n_sentences || xr->sentences[i].score > xr->sentences[next].score)
                next = i;
        }
        if (next == xr->n_sentences)
            break;
        picked[n++] = next;
    }
    a->citations = frugal_calloc(n, sizeof *a->citations);
    if (a->citations == NULL)
        return FRUGAL_ENOMEM;
    a->n_citations = n;
    for (size_t i = 0; i < n; i++) {
        const struct xans_sentence *s = &xr->sentences[picked[i]];
        frugal_status rc = citation_fill(&a->citations[i], &res->hits[s->chunk], s);
        if (rc != FRUGAL_OK)
            return rc;
    }
    return FRUGAL_OK;
}

/* Sets a->reason for the route taken. */
static frugal_status route_reason(frugal_answer *a, const frugal_ask_params *p, bool retrieved)
{
    char line[256];
    if (!retrieved)
        snprintf(line, sizeof line, "nothing retrieved for the question");
    else if (p->mode == FRUGAL_ASK_EXTRACTIVE)
        snprintf(line, sizeof line, "extractive answer requested (confidence %.2f)",
                 a->confidence);
    else if (a->confidence >= p->min_confidence)
        snprintf(line, sizeof line, "confidence %.2f >= threshold %.2f", a->confidence,
                 p->min_confidence);
    else
        snprintf(line, sizeof line,
                 "generator unavailable: no generator configured (confidence %.2f < threshold "
                 "%.2f)",
                 a->confidence, p->min_confidence);
    a->reason = frugal_strdup(line);
    return a->reason != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
}

/* Everything after retrieval: extraction, compression, the answer. */
static frugal_status answer_build(frugal_db *db, struct xans *x, const char *question,
                                  const frugal_ask_params *p, const frugal_results *res,
                                  frugal_answer *a, struct answer_extra *extra)
{
    size_t n = res != NULL ? res->n_hits : 0;
    struct xans_chunk *chunks = n > 0 ? frugal_calloc(n, sizeof *chunks) : NULL;
    struct xans_result xr;
    struct err e;
    err_clear(&e);
    xans_result_init(&xr);
    if (n > 0 && chunks == NULL)
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const frugal_hit *h = &res->hits[i];
        chunks[i].text = h->text != NULL ? h->text : "";
        chunks[i].len = strlen(chunks[i].text);
        chunks[i].document_id = h->document_id;
        chunks[i].chunk_id = h->chunk_id;
        chunks[i].char_start = h->char_start;
        chunks[i].score = h->score;
    }
    frugal_status rc = xans_run(x, question, chunks, n, &xr, &e);
    bool answered = rc == FRUGAL_OK && xr.best < xr.n_sentences;
    bool *selected = NULL;
    if (answered) {
        const struct xans_sentence *s = &xr.sentences[xr.best];
        a->confidence = xr.confidence;
        a->text = frugal_strndup(chunks[s->chunk].text + s->byte_start,
                                 s->byte_end - s->byte_start);
        if (s->has_span)
            a->span = frugal_strndup(chunks[s->chunk].text + s->span_start,
                                     s->span_end - s->span_start);
        if (a->text == NULL || (s->has_span && a->span == NULL))
            rc = FRUGAL_ENOMEM;
        if (rc == FRUGAL_OK)
            rc = build_citations(a, res, &xr);
        if (extra != NULL)
            memcpy(extra->features, s->features, sizeof extra->features);
        selected = frugal_calloc(xr.n_sentences, sizeof *selected);
        if (rc == FRUGAL_OK && selected == NULL)
            rc = FRUGAL_ENOMEM;
    } else if (rc == FRUGAL_OK) {
        a->text = frugal_strdup("");
        rc = a->text != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    }
    struct buf ctx;
    buf_init(&ctx, 0);
    if (rc == FRUGAL_OK && answered) {
        compress_select(chunks, &xr, p->context_budget_tokens, selected);
        rc = compress_render(chunks, n, &xr, selected, &ctx);
        a->context_tokens = ctx.ptr != NULL ? compress_count_tokens(ctx.ptr, ctx.len) : 0;
        if (rc == FRUGAL_OK && extra != NULL && extra->context != NULL)
            rc = buf_append(extra->context, ctx.ptr, ctx.len);
    }
    a->context_tokens_full = compress_tokens_whole(chunks, n, ASK_WHOLE_CHUNKS);
    for (size_t i = 0; rc == FRUGAL_OK && extra != NULL && extra->whole != NULL && i < n &&
                       i < ASK_WHOLE_CHUNKS;
         i++) {
        if (i > 0)
            rc = buf_puts(extra->whole, "\n\n");
        if (rc == FRUGAL_OK)
            rc = buf_append(extra->whole, chunks[i].text, chunks[i].len);
    }
    if (rc == FRUGAL_OK)
        rc = route_reason(a, p, answered);
    buf_release(&ctx);
    frugal_free(selected);
    xans_result_release(&xr);
    frugal_free(chunks);
    if (rc != FRUGAL_OK)
        return fail(db, rc, rc == FRUGAL_ENOMEM ? "out of memory" : e.msg);
    return FRUGAL_OK;
}

frugal_status answer_ask(frugal_db *db, struct xans *x, const char *question,
                         const frugal_ask_params *params, frugal_answer **out,
                         struct answer_extra *extra)
{
    frugal_ask_params p;
    struct timespec t0;
    struct timespec c0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    *out = NULL;
    if (extra != NULL)
        memset(extra->features, 0, sizeof extra->features);
    frugal_ask_default_params(&p);
    if (params != NULL)
        p = *params;
    if (p.collection == NULL || p.collection[0] == '\0')
        p.collection = "default";
    if (p.k == 0)
        p.k = 5;
    if (p.k > ASK_MAX_K)
        return fail(db, FRUGAL_EINVAL, "k is at most 100");
    if (p.mode == FRUGAL_ASK_GENERATE)
        return fail(db, FRUGAL_EUNSUPPORTED, "no generator configured");
    if (p.mode != FRUGAL_ASK_AUTO && p.mode != FRUGAL_ASK_EXTRACTIVE)
        return fail(db, FRUGAL_EINVAL, "unknown ask mode");

    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = p.collection;
    sp.k = p.k;
    sp.filters = p.filters;
    sp.n_filters = p.n_filters;
    sp.snippets = false;
    frugal_results *res = NULL;
    frugal_status rc = frugal_search(db, question, &sp, &res);
    if (rc == FRUGAL_EEMPTY) /* nothing to search for once analyzed: nothing retrieved */
        rc = FRUGAL_OK;
    if (rc != FRUGAL_OK) {
        frugal_results_free(res);
        return rc;
    }
    frugal_answer *a = frugal_calloc(1, sizeof *a);
    if (a == NULL) {
        frugal_results_free(res);
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    }
    a->route = "extractive";
    a->timings_ms.retrieve_ms = ms_since(&t0, CLOCK_MONOTONIC);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rc = answer_build(db, x, question, &p, res, a, extra);
    frugal_results_free(res);
    if (rc != FRUGAL_OK) {
        frugal_answer_free(a);
        return rc;
    }
    a->timings_ms.extract_ms = ms_since(&t1, CLOCK_MONOTONIC);
    a->timings_ms.total_ms = ms_since(&t0, CLOCK_MONOTONIC);
    a->cost_cpu_ms = ms_since(&c0, CLOCK_THREAD_CPUTIME_ID);
    *out = a;
    return FRUGAL_OK;
}

frugal_status frugal_ask(frugal_db *db, const char *question, const frugal_ask_params *params,
                         frugal_answer **out)
{
    if (out != NULL)
        *out = NULL;
    if (db == NULL || question == NULL || out == NULL)
        return FRUGAL_EINVAL;
    if (params != NULL && params->mode == FRUGAL_ASK_GENERATE)
        return fail(db, FRUGAL_EUNSUPPORTED, "no generator configured");
    struct xans *x = NULL;
    const char *name = params != NULL ? params->collection : NULL;
    frugal_status rc = answer_xans_for(db, name != NULL && name[0] != '\0' ? name : NULL, &x);
    if (rc == FRUGAL_OK)
        rc = answer_ask(db, x, question, params, out, NULL);
    xans_free(x);
    return rc;
}
