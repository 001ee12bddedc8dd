/*
 * ask.c - frugal_ask: answers a question from a collection and says how (frugal.h, Answers).
 *
 * What: look the question up in the answer cache (cache.h) when a generator is attached;
 * retrieve the top k chunks with frugal_search (hybrid when the collection has an embedder,
 * whose BM25/dense agreement the router reads), score their sentences with the extractor
 * (extract.h), compress the context a generator would get (compress.h), then let the router
 * (router.h) pick the route from the extractive confidence, the retrieval margin, the
 * question's features, the generators' health and the budget left. The generate route sends
 * the compressed context, one numbered source per chunk (prompt.h), through the attached
 * generators in order (gen_failover), checks the [n] citations and maps them to chunks; when
 * every generator fails the extractive answer goes out instead, flagged "generator
 * unavailable". Every answer carries its route, reason, confidence, citations, per-stage
 * timings, tokens, context tokens against the top-5 chunks whole, and its cost (tokens at the
 * price table's rates plus CPU milliseconds at its CPU-hour rate).
 *
 * How: a layer above src/frugal.c, like src/eval: it uses the public API (frugal_search) and
 * the store's collection row (the collection's analyzer and embedder), and sets the handle's
 * error through frugal_internal.h, where it also finds its per-handle state (struct answer_state: the
 * generator list, the price table, the cache settings). Timings use CLOCK_MONOTONIC, the CPU
 * cost CLOCK_THREAD_CPUTIME_ID.
 *
 * Budgets (frugal.h, Budgets) live in the store (store_budget.c), not on the handle: before
 * routing, the collection's budget and, when params name an API key, the key's are read as of
 * now; the one with the least left goes to the router (router.h), which names it in the reason
 * when it rules generation out. After a generated answer whose generator cost is known and
 * non-zero, that cost is charged to both, each in one atomic UPDATE; a charge that fails (a
 * read-only handle, a busy database past the timeout) costs the record, not the answer.
 *
 * Why here and not in frugal.c: the answer path is its own subsystem; frugal.c stays the thin
 * API over storage and search.
 *
 * Threading: as every call on a frugal_db, one thread per handle. The generators themselves
 * are thread-safe and may be shared by several handles; budgets are shared by every handle on
 * the database through SQLite.
 */
#include "answer/ask.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "answer/cache.h"
#include "answer/compress.h"
#include "answer/cost.h"
#include "answer/generator.h"
#include "answer/prompt.h"
#include "answer/router.h"
#include "base/alloc.h"
#include "frugal_internal.h"
#include "store/store.h"

#define ASK_MAX_K 100
#define ASK_WHOLE_CHUNKS 5
#define ASK_MAX_SUPPORT 2
#define ASK_MAX_GENERATORS 8
#define ASK_DEFAULT_MAX_TOKENS 512
#define ASK_PROMPT_OVERHEAD 150 /* tokens of instructions around the sources (estimate) */

struct answer_state {
    struct generator *gens[ASK_MAX_GENERATORS]; /* borrowed from frugal_generator handles */
    size_t n_gens;
    struct cost_table *prices;                  /* owned; NULL = nothing priced */
    struct cache_opts cache;
};

void answer_state_free(struct answer_state *s)
{
    if (s == NULL)
        return;
    frugal_free(s->prices);
    frugal_free(s);
}

static struct answer_state *state_of(frugal_db *db, bool create)
{
    struct answer_state **slot = db_answer_state(db);
    if (*slot == NULL && create) {
        *slot = frugal_calloc(1, sizeof **slot);
        if (*slot != NULL)
            cache_default_opts(&(*slot)->cache);
    }
    return *slot;
}

void frugal_ask_default_params(frugal_ask_params *params)
{
    memset(params, 0, sizeof *params);
    params->collection = "default";
    params->mode = FRUGAL_ASK_AUTO;
    params->k = 5;
    params->min_confidence = FRUGAL_ASK_DEFAULT_THRESHOLD;
    params->context_budget_tokens = FRUGAL_ASK_DEFAULT_BUDGET;
    params->context_gain = FRUGAL_ASK_DEFAULT_CONTEXT_GAIN;
    params->context_chunks = FRUGAL_ASK_DEFAULT_CONTEXT_CHUNKS;
    params->cache_similarity = FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY;
    params->rerank_budget_ms = FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS;
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
    frugal_free(answer->generator);
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
    struct err e;
    err_clear(&e);
    *out = NULL;
    if (name == NULL)
        name = "default";
    struct collection_row coll;
    frugal_status rc = store_collection_get(db_store(db), name, &coll, &e);
    if (rc == FRUGAL_ENOTFOUND)
        err_set(&e, rc, "no collection '%s'", name);
    if (rc != FRUGAL_OK)
        return fail(db, rc, e.msg);
    struct analyzer_opts opts = {.language = coll.language, .stopwords = coll.stopwords};
    rc = xans_new(&opts, out, &e);
    /* a collection embedded with word vectors lends them to the sentence score; an embedder
     * that cannot be loaded now costs those features, not the answer (the dense side says why) */
    const struct sv_file *sv = NULL;
    if (rc == FRUGAL_OK && coll.embedder != NULL &&
        db_word_vectors(db, name, &sv) == FRUGAL_OK && sv != NULL) {
        struct err ve;
        err_clear(&ve);
        (void)xans_set_vectors(*out, sv, &ve);
    }
    collection_row_release(&coll);
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

frugal_status frugal_use_generators(frugal_db *db, frugal_generator *const *gens, size_t n)
{
    struct err e;
    err_clear(&e);
    if (db == NULL || (n > 0 && gens == NULL))
        return FRUGAL_EINVAL;
    if (n > ASK_MAX_GENERATORS)
        return fail(db, FRUGAL_EINVAL, "at most 8 generators");
    struct answer_state *s = state_of(db, true);
    if (s == NULL)
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    struct cost_table *t = frugal_malloc(sizeof *t);
    if (t == NULL)
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    frugal_status rc = cost_table_from_env(t, &e);
    if (rc != FRUGAL_OK) {
        frugal_free(t);
        return fail(db, rc, e.msg);
    }
    for (size_t i = 0; i < n; i++) {
        if (gen_of_public(gens[i]) == NULL) {
            frugal_free(t);
            return fail(db, FRUGAL_EINVAL, "a generator handle is NULL");
        }
    }
    for (size_t i = 0; i < n; i++)
        s->gens[i] = gen_of_public(gens[i]);
    s->n_gens = n;
    frugal_free(s->prices);
    s->prices = t;
    return FRUGAL_OK;
}

struct ask_delta {
    const frugal_ask_params *p;
};

static int pass_delta(void *ctx, const char *text, size_t len)
{
    const struct ask_delta *d = ctx;
    return d->p->on_delta(d->p->delta_ctx, text, len);
}

/* A citation for source chunk h whose text the generator saw (text, copied). */
static frugal_status source_citation(frugal_citation *c, const frugal_hit *h, const char *text)
{
    c->document_id = h->document_id;
    c->chunk_id = h->chunk_id;
    c->ordinal = h->ordinal;
    c->char_start = h->char_start;
    c->char_end = h->char_end;
    c->score = h->score;
    c->source = frugal_strdup(h->source != NULL ? h->source : "");
    c->ext_id = frugal_strdup(h->ext_id);
    c->title = frugal_strdup(h->title);
    c->heading_path = frugal_strdup(h->heading_path != NULL ? h->heading_path : "");
    c->snippet = frugal_strdup(text);
    if (c->source == NULL || (h->ext_id != NULL && c->ext_id == NULL) ||
        (h->title != NULL && c->title == NULL) || c->heading_path == NULL || c->snippet == NULL)
        return FRUGAL_ENOMEM;
    return FRUGAL_OK;
}

/* What the generate route works from. */
struct gen_input {
    const char *question;
    const frugal_ask_params *p;
    const frugal_results *res;
    const struct xans_chunk *chunks;
    size_t n_chunks;
    const struct xans_result *xr;
    const bool *selected;
};

/* The sources: one per chunk with a selected sentence, in rank order (texts owned by bufs). */
static frugal_status build_sources(const struct gen_input *in, struct buf *texts,
                                   size_t *chunk_of, size_t *n_out)
{
    size_t n = 0;
    bool *mask = frugal_calloc(in->xr->n_sentences + 1, sizeof *mask);
    frugal_status rc = mask != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    for (size_t c = 0; rc == FRUGAL_OK && c < in->n_chunks; c++) {
        bool any = false;
        for (size_t i = 0; i < in->xr->n_sentences; i++) {
            mask[i] = in->selected[i] && in->xr->sentences[i].chunk == c;
            any = any || mask[i];
        }
        if (!any)
            continue;
        rc = compress_render(in->chunks, in->n_chunks, in->xr, mask, &texts[n]);
        if (rc == FRUGAL_OK && texts[n].ptr == NULL)
            rc = buf_puts(&texts[n], "");
        chunk_of[n++] = c;
    }
    frugal_free(mask);
    *n_out = n;
    return rc;
}

/* Replaces a's text and citations with the generated answer. */
static frugal_status take_generation(frugal_answer *a, const struct gen_input *in,
                                     struct gen_result *gr, const struct buf *texts,
                                     const size_t *chunk_of, size_t n_sources)
{
    bool cited[ASK_MAX_K];
    struct prompt_citations pc;
    size_t len = gr->text_len;
    memset(cited, 0, sizeof cited);
    memset(&pc, 0, sizeof pc);
    if (gr->text != NULL)
        prompt_check_citations(gr->text, &len, n_sources, cited, &pc);
    else
        len = 0;
    size_t n_cited = 0;
    for (size_t i = 0; i < n_sources; i++)
        n_cited += cited[i];
    frugal_citation *cites = n_cited > 0 ? frugal_calloc(n_cited, sizeof *cites) : NULL;
    char *text = frugal_strndup(gr->text != NULL ? gr->text : "", len);
    char *name = frugal_strdup(gr->generator != NULL ? gr->generator : "");
    frugal_status rc = (n_cited > 0 && cites == NULL) || text == NULL || name == NULL
                           ? FRUGAL_ENOMEM
                           : FRUGAL_OK;
    size_t k = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < n_sources; i++) {
        if (cited[i])
            rc = source_citation(&cites[k++], &in->res->hits[chunk_of[i]], texts[i].ptr);
    }
    if (rc != FRUGAL_OK) {
        for (size_t i = 0; i < k; i++)
            citation_release(&cites[i]);
        frugal_free(cites);
        frugal_free(text);
        frugal_free(name);
        return rc;
    }
    for (size_t i = 0; i < a->n_citations; i++)
        citation_release(&a->citations[i]);
    frugal_free(a->citations);
    frugal_free(a->text);
    frugal_free(a->span);
    a->citations = cites;
    a->n_citations = n_cited;
    a->text = text;
    a->span = NULL;
    a->generator = name;
    a->citations_removed = pc.n_removed;
    a->route = "generate";
    a->prompt_tokens = gr->prompt_tokens;
    a->completion_tokens = gr->completion_tokens;
    return FRUGAL_OK;
}

/* The generate route: prompt, failover, citations. On a generation failure a keeps its
 * extractive answer and *why says what failed. */
static frugal_status generate(struct answer_state *s, const struct gen_input *in,
                              frugal_answer *a, char *why, size_t why_cap)
{
    struct buf texts[ASK_MAX_K];
    size_t chunk_of[ASK_MAX_K];
    struct prompt_source sources[ASK_MAX_K];
    size_t n_sources = 0;
    struct buf sys;
    struct buf user;
    struct gen_result gr;
    struct gen_params gp;
    struct ask_delta d = {in->p};
    struct err e;
    err_clear(&e);
    memset(&gr, 0, sizeof gr);
    for (size_t i = 0; i < ASK_MAX_K; i++)
        buf_init(&texts[i], 0);
    buf_init(&sys, 0);
    buf_init(&user, 0);
    why[0] = '\0';
    frugal_status rc = build_sources(in, texts, chunk_of, &n_sources);
    for (size_t i = 0; rc == FRUGAL_OK && i < n_sources; i++) {
        const frugal_hit *h = &in->res->hits[chunk_of[i]];
        sources[i].title = h->title != NULL ? h->title : h->source;
        sources[i].heading_path = h->heading_path;
        sources[i].text = texts[i].ptr;
    }
    if (rc == FRUGAL_OK)
        rc = prompt_build(in->question, sources, n_sources, &sys, &user, &e);
    if (rc == FRUGAL_OK) {
        struct gen_message msgs[2] = {{"system", sys.ptr}, {"user", user.ptr}};
        gen_default_params(&gp);
        gp.max_tokens = in->p->max_tokens > 0 ? in->p->max_tokens : ASK_DEFAULT_MAX_TOKENS;
        gp.temperature = 0.0;
        if (in->p->on_delta != NULL) {
            gp.on_delta = pass_delta;
            gp.delta_ctx = &d;
        }
        frugal_status g = gen_failover(s->gens, s->n_gens, msgs, 2, &gp, &gr, &e);
        if (g == FRUGAL_ENOMEM)
            rc = g;
        else if (g != FRUGAL_OK)
            snprintf(why, why_cap, "%.250s", e.msg[0] != '\0' ? e.msg : frugal_strerror(g));
        else
            rc = take_generation(a, in, &gr, texts, chunk_of, n_sources);
    }
    gen_result_release(&gr);
    buf_release(&sys);
    buf_release(&user);
    for (size_t i = 0; i < ASK_MAX_K; i++)
        buf_release(&texts[i]);
    return rc;
}

/* The generation's estimated cost at the first generator's prices. */
static double estimated_cost(const struct answer_state *s, const frugal_answer *a,
                             const frugal_ask_params *p)
{
    if (s == NULL || s->prices == NULL || s->n_gens == 0)
        return 0.0;
    struct cost_report r;
    int max_tokens = p->max_tokens > 0 ? p->max_tokens : ASK_DEFAULT_MAX_TOKENS;
    cost_compute(s->prices, gen_name(s->gens[0]),
                 (uint32_t)(a->context_tokens + ASK_PROMPT_OVERHEAD), (uint32_t)max_tokens, 0.0,
                 &r);
    return r.generator;
}

/* The key's store target ("" when params name no key). */
static void key_target(const frugal_ask_params *p, char *out, size_t cap)
{
    out[0] = '\0';
    if (p->api_key_id > 0)
        snprintf(out, cap, "%lld", (long long)p->api_key_id);
}

/* Fills ri's budget fields with the budget that has the least left of the collection's and the
 * key's (none when neither exists, or they cannot be read now); name receives how the reason
 * names it. */
static void budget_input(frugal_db *db, const frugal_ask_params *p, struct router_inputs *ri,
                         char *name, size_t cap)
{
    char key[32];
    struct store_budget_row row;
    struct err e;
    int64_t now = (int64_t)time(NULL);
    key_target(p, key, sizeof key);
    const char *targets[2] = {p->collection, key};
    for (int i = 0; i < 2; i++) {
        err_clear(&e);
        if (targets[i][0] == '\0' ||
            store_budget_get(db_store(db), (frugal_budget_scope)i, targets[i], now, &row, &e) !=
                FRUGAL_OK)
            continue;
        double left = row.amount - row.spent;
        if (ri->has_budget && left >= ri->budget_left)
            continue;
        ri->has_budget = true;
        ri->budget_left = left;
        ri->budget_limit = row.amount;
        ri->budget_spent = row.spent;
        if (i == FRUGAL_BUDGET_COLLECTION)
            snprintf(name, cap, "collection '%s'", row.target);
        else
            snprintf(name, cap, "key %s", row.target);
        ri->budget_name = name;
    }
}

/* Adds a generated answer's cost to the budgets that apply (frugal.h, Budgets). */
static void budget_charge(frugal_db *db, const frugal_ask_params *p, double cost)
{
    char key[32];
    struct err e;
    int64_t now = (int64_t)time(NULL);
    if (!(cost > 0.0))
        return;
    key_target(p, key, sizeof key);
    err_clear(&e);
    (void)store_budget_charge(db_store(db), FRUGAL_BUDGET_COLLECTION, p->collection, cost, now,
                              &e);
    if (key[0] != '\0')
        (void)store_budget_charge(db_store(db), FRUGAL_BUDGET_KEY, key, cost, now, &e);
}

/* Routes (router.h) and, on the generate route, generates; sets a->reason. */
static frugal_status route(frugal_db *db, const struct gen_input *in, bool answered,
                           frugal_answer *a)
{
    struct answer_state *s = state_of(db, false);
    struct router_inputs ri;
    struct router_decision rd;
    struct gen_health health[ASK_MAX_GENERATORS];
    const char *names[ASK_MAX_GENERATORS];
    memset(&ri, 0, sizeof ri);
    ri.mode = in->p->mode;
    ri.retrieved = answered;
    ri.confidence = a->confidence;
    if (in->res != NULL && in->res->n_hits >= 2 && in->res->hits[0].score > 0)
        ri.retrieval_margin = (in->res->hits[0].score - in->res->hits[1].score) /
                              in->res->hits[0].score;
    ri.agreement = in->res != NULL ? in->res->agreement : -1.0; /* -1 unless hybrid */
    router_question_features(in->question, &ri.question);
    ri.n_generators = s != NULL ? s->n_gens : 0;
    for (size_t i = 0; i < ri.n_generators; i++) {
        gen_health(s->gens[i], &health[i]);
        names[i] = gen_name(s->gens[i]);
    }
    ri.health = health;
    ri.names = names;
    char budget_name[160];
    if (ri.n_generators > 0 && ri.mode != FRUGAL_ASK_EXTRACTIVE) /* else no budget can matter */
        budget_input(db, in->p, &ri, budget_name, sizeof budget_name);
    ri.estimated_cost = estimated_cost(s, a, in->p);
    struct router_config rc_cfg;
    router_default_config(&rc_cfg);
    rc_cfg.min_confidence = in->p->min_confidence;
    router_decide(&rc_cfg, &ri, &rd);
    char line[512];
    snprintf(line, sizeof line, "%s", rd.reason);
    frugal_status rc = FRUGAL_OK;
    if (rd.route == ROUTER_GENERATE) {
        char why[300];
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = generate(s, in, a, why, sizeof why);
        a->timings_ms.generate_ms = ms_since(&t0, CLOCK_MONOTONIC);
        if (rc == FRUGAL_OK && why[0] != '\0')
            snprintf(line, sizeof line,
                     "generator unavailable: %.300s (extractive answer, confidence %.2f)", why,
                     a->confidence);
    }
    if (rc != FRUGAL_OK)
        return rc;
    a->reason = frugal_strdup(line);
    return a->reason != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
}

/* Everything after retrieval: extraction, compression, the answer. */
static frugal_status answer_build(frugal_db *db, struct xans *x, const char *question,
                                  const frugal_ask_params *p, const frugal_results *res,
                                  frugal_answer *a, struct answer_extra *extra, int64_t *doc_ids,
                                  size_t *n_doc_ids)
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
    frugal_status rc = xans_run(x, question, chunks, n, p->k, &xr, &e);
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
        compress_select(chunks, &xr, p->context_budget_tokens, p->context_gain, selected);
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
    if (rc == FRUGAL_OK) {
        struct gen_input in = {question, p, res, chunks, n, &xr, selected};
        rc = route(db, &in, answered, a);
        if (rc == FRUGAL_OK && doc_ids != NULL) {
            for (size_t i = 0; i < n; i++)
                doc_ids[i] = chunks[i].document_id;
            *n_doc_ids = n;
        }
    }
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
    if (p.context_chunks > ASK_MAX_K)
        return fail(db, FRUGAL_EINVAL, "context_chunks is at most 100");
    if (!(p.context_gain >= 0.0 && p.context_gain < 1.0))
        return fail(db, FRUGAL_EINVAL, "context_gain must lie in [0, 1)");
    if (p.mode != FRUGAL_ASK_AUTO && p.mode != FRUGAL_ASK_EXTRACTIVE &&
        p.mode != FRUGAL_ASK_GENERATE)
        return fail(db, FRUGAL_EINVAL, "unknown ask mode");
    struct answer_state *state = state_of(db, false);
    size_t n_gens = state != NULL ? state->n_gens : 0;
    if (p.mode == FRUGAL_ASK_GENERATE && n_gens == 0)
        return fail(db, FRUGAL_EUNSUPPORTED, "no generator configured");
    /* the cache holds generated answers only: consulted when one could be generated */
    bool use_cache = !p.no_cache && extra == NULL && n_gens > 0 && p.mode != FRUGAL_ASK_EXTRACTIVE;
    int64_t collection_id = 0;
    bool has_embedder = false;
    double cache_ms = 0.0;
    {
        struct collection_row row;
        struct err e;
        err_clear(&e);
        memset(&row, 0, sizeof row);
        bool found = store_collection_get(db_store(db), p.collection, &row, &e) == FRUGAL_OK;
        use_cache = use_cache && found;
        collection_id = row.id;
        has_embedder = found && row.embedder != NULL;
        collection_row_release(&row);
    }
    /* the question's embedding, for near-duplicate hits (frugal_search reuses it) */
    float *qvec = NULL;
    size_t qdim = 0;
    if (use_cache && has_embedder && p.cache_similarity <= 1.0 &&
        db_query_vector(db, p.collection, question, &qvec, &qdim) == FRUGAL_ENOMEM)
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    struct cache_opts copts;
    cache_default_opts(&copts);
    if (state != NULL)
        copts = state->cache;
    if (p.cache_similarity > 0.0) /* 0: a params struct zeroed rather than defaulted */
        copts.min_cosine = p.cache_similarity;
    if (use_cache) {
        frugal_answer *hit = NULL;
        struct err e;
        err_clear(&e);
        frugal_status crc = cache_lookup(db_store(db), collection_id, question, qvec, qdim,
                                         &copts, &hit, &e);
        cache_ms = ms_since(&t0, CLOCK_MONOTONIC);
        if (crc == FRUGAL_ENOMEM) {
            frugal_free(qvec);
            return fail(db, crc, "out of memory");
        }
        if (crc == FRUGAL_OK) {
            frugal_free(qvec);
            hit->timings_ms.cache_ms = cache_ms;
            hit->timings_ms.total_ms = ms_since(&t0, CLOCK_MONOTONIC);
            hit->cost_cpu_ms = ms_since(&c0, CLOCK_THREAD_CPUTIME_ID);
            struct cost_report cr;
            cost_compute(state->prices, NULL, 0, 0, hit->cost_cpu_ms, &cr);
            hit->cost_usd = state->prices != NULL ? cr.total : 0.0;
            *out = hit;
            return FRUGAL_OK;
        }
        /* a miss, or a cache that cannot be read now: answer without it */
    }

    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = p.collection;
    /* the answer comes from the top k, the generator's context from the top context_chunks */
    sp.k = p.context_chunks > p.k ? p.context_chunks : p.k;
    sp.filters = p.filters;
    sp.n_filters = p.n_filters;
    sp.snippets = false;
    sp.rerank_top_n = p.rerank_top_n;
    sp.rerank_budget_ms = p.rerank_budget_ms;
    /* with an embedder, hybrid retrieval: never below BM25 (BENCHMARKS.md, hybrid), and the
     * two sides' agreement is a router input */
    sp.mode = has_embedder ? FRUGAL_SEARCH_HYBRID : FRUGAL_SEARCH_BM25;
    frugal_results *res = NULL;
    frugal_status rc = frugal_search(db, question, &sp, &res);
    if (rc != FRUGAL_OK && rc != FRUGAL_ENOMEM && sp.mode == FRUGAL_SEARCH_HYBRID) {
        /* an embedder that cannot be loaded now costs the dense side, not the answer */
        frugal_results_free(res);
        res = NULL;
        sp.mode = FRUGAL_SEARCH_BM25;
        rc = frugal_search(db, question, &sp, &res);
    }
    if (rc == FRUGAL_EEMPTY) /* nothing to search for once analyzed: nothing retrieved */
        rc = FRUGAL_OK;
    if (rc != FRUGAL_OK) {
        frugal_results_free(res);
        frugal_free(qvec);
        return rc;
    }
    frugal_answer *a = frugal_calloc(1, sizeof *a);
    if (a == NULL) {
        frugal_results_free(res);
        frugal_free(qvec);
        return fail(db, FRUGAL_ENOMEM, "out of memory");
    }
    a->route = "extractive";
    a->timings_ms.cache_ms = cache_ms;
    a->timings_ms.retrieve_ms = ms_since(&t0, CLOCK_MONOTONIC) - cache_ms;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t doc_ids[ASK_MAX_K];
    size_t n_doc_ids = 0;
    rc = answer_build(db, x, question, &p, res, a, extra, doc_ids, &n_doc_ids);
    frugal_results_free(res);
    if (rc != FRUGAL_OK) {
        frugal_answer_free(a);
        frugal_free(qvec);
        return rc;
    }
    a->timings_ms.extract_ms = ms_since(&t1, CLOCK_MONOTONIC) - a->timings_ms.generate_ms;
    a->cost_cpu_ms = ms_since(&c0, CLOCK_THREAD_CPUTIME_ID);
    if (state != NULL && state->prices != NULL) {
        bool generated = strcmp(a->route, "generate") == 0;
        struct cost_report cr;
        cost_compute(state->prices, generated ? a->generator : NULL,
                     (uint32_t)a->prompt_tokens, (uint32_t)a->completion_tokens, a->cost_cpu_ms,
                     &cr);
        a->cost_usd = cr.total;
        if (generated)
            budget_charge(db, &p, cr.generator);
    }
    if (use_cache && strcmp(a->route, "generate") == 0) {
        struct timespec t2;
        struct err e;
        err_clear(&e);
        clock_gettime(CLOCK_MONOTONIC, &t2);
        /* a cache that cannot be written now costs a later generation, not this answer */
        (void)cache_store(db_store(db), collection_id, question, qvec, qdim, a, doc_ids,
                          n_doc_ids, &copts, &e);
        a->timings_ms.cache_ms += ms_since(&t2, CLOCK_MONOTONIC);
    }
    frugal_free(qvec);
    a->timings_ms.total_ms = ms_since(&t0, CLOCK_MONOTONIC);
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
    struct xans *x = NULL;
    const char *name = params != NULL ? params->collection : NULL;
    frugal_status rc = answer_xans_for(db, name != NULL && name[0] != '\0' ? name : NULL, &x);
    if (rc == FRUGAL_OK)
        rc = answer_ask(db, x, question, params, out, NULL);
    xans_free(x);
    return rc;
}
