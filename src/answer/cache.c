/*
 * cache.c - the answer cache (cache.h): between frugal_answer and the store's rows.
 *
 * How: the key is the question normalized by cache_normalize; lookups and writes go through
 * store_cache_get/put (store_cache.c), which also enforce the TTL and the LRU bound. A hit
 * becomes a new frugal_answer with route "cache", the stored text, span, confidence, citations
 * and generator, and zero tokens and generator cost (nothing was spent this time). On an
 * exact miss, a question with an embedding gets the nearest cached question of its collection
 * by cosine (store_cache_get_similar), when it clears min_cosine.
 *
 * Why only generated answers: an extractive answer costs a few milliseconds of CPU, about
 * what a lookup costs; a generated one costs seconds of a scarce generator and money.
 *
 * Threading: as the store, one per thread; no state here.
 */
#include "answer/cache.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "store/store.h"

void cache_default_opts(struct cache_opts *o)
{
    o->ttl_s = CACHE_DEFAULT_TTL_S;
    o->min_cosine = FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY;
    o->max_entries = CACHE_DEFAULT_MAX_ENTRIES;
    o->now = 0;
}

char *cache_normalize(const char *question)
{
    size_t len = strlen(question);
    char *out = frugal_malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)question[i];
        if (isspace(c)) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = c < 0x80 ? (char)tolower(c) : (char)c;
    }
    while (n > 0 && (out[n - 1] == '?' || out[n - 1] == '.' || out[n - 1] == '!' ||
                     out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return out;
}

static int64_t now_of(const struct cache_opts *o)
{
    return o->now != 0 ? o->now : (int64_t)time(NULL);
}

frugal_status cache_lookup(struct store *st, int64_t collection_id, const char *question,
                           const float *vec, size_t dim, const struct cache_opts *o,
                           frugal_answer **out, struct err *err)
{
    struct store_cache_entry e;
    *out = NULL;
    char *key = cache_normalize(question);
    if (key == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    int64_t now = now_of(o);
    double cosine = 0.0;
    frugal_status rc = store_cache_get(st, collection_id, key, now - o->ttl_s, now, &e, err);
    frugal_free(key);
    bool near = false;
    if (rc == FRUGAL_ENOTFOUND && vec != NULL && dim > 0 && o->min_cosine <= 1.0) {
        rc = store_cache_get_similar(st, collection_id, vec, dim, o->min_cosine,
                                     now - o->ttl_s, now, &e, &cosine, err);
        near = rc == FRUGAL_OK;
    }
    if (rc != FRUGAL_OK)
        return rc;
    frugal_answer *a = frugal_calloc(1, sizeof *a);
    char reason[320];
    if (near)
        snprintf(reason, sizeof reason,
                 "near-duplicate cache hit (cosine %.2f): answer from %lld s ago (%s)",
                 cosine,
                 (long long)(now - e.created_at), e.reason);
    else
        snprintf(reason, sizeof reason, "cached answer from %lld s ago (%s)",
                 (long long)(now - e.created_at), e.reason);
    if (a != NULL) {
        a->route = "cache";
        a->text = e.answer;
        a->span = e.span;
        a->generator = e.generator;
        a->confidence = e.confidence;
        a->citations = e.citations;
        a->n_citations = e.n_citations;
        a->reason = frugal_strdup(reason);
        char *stored_reason = e.reason;
        memset(&e, 0, sizeof e); /* moved into a, except the stored reason */
        e.reason = stored_reason;
    }
    store_cache_entry_release(&e);
    if (a == NULL || a->reason == NULL) {
        frugal_answer_free(a);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    *out = a;
    return FRUGAL_OK;
}

frugal_status cache_store(struct store *st, int64_t collection_id, const char *question,
                          const float *vec, size_t dim, const frugal_answer *a,
                          const int64_t *document_ids, size_t n_documents,
                          const struct cache_opts *o, struct err *err)
{
    char *key = cache_normalize(question);
    if (key == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    struct store_cache_entry e = {
        .answer = a->text,
        .span = a->span,
        .reason = a->reason,
        .generator = a->generator,
        .confidence = a->confidence,
        .prompt_tokens = (int64_t)a->prompt_tokens,
        .completion_tokens = (int64_t)a->completion_tokens,
        .cost = a->cost_usd,
        .citations = a->citations,
        .n_citations = a->n_citations,
        .question_vector = vec,
        .question_dim = vec != NULL ? dim : 0,
    };
    frugal_status rc = store_cache_put(st, collection_id, key, &e, document_ids, n_documents,
                                       now_of(o), o->max_entries, err);
    frugal_free(key);
    return rc;
}
