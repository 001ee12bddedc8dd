/*
 * frugal_reranker.c - the Rerankers section of include/frugal.h: the public frugal_reranker
 * handle over the cross-encoder reranker of src/query/rerank.h.
 *
 * How: a frugal_reranker is a struct reranker plus the message of its last failure (the public
 * convention of frugal_errmsg, per handle), like frugal_embedder. frugal_use_reranker and the
 * reranking step of frugal_search live in src/frugal.c, which reaches the internal reranker
 * through rerank_of_public (frugal_internal.h).
 *
 * Threading: the reranker serializes its own scoring, so a handle may be shared by threads;
 * the last-failure message is per handle and racy when failures race (as with any errmsg).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "frugal.h"
#include "frugal_internal.h"
#include "query/rerank.h"

struct frugal_reranker {
    struct reranker *r; /* owned; NULL after a failed open */
    struct err err;     /* the last failure */
};

struct reranker *rerank_of_public(frugal_reranker *r)
{
    return r != NULL ? r->r : NULL;
}

frugal_status frugal_reranker_open(const char *dir, int threads, frugal_reranker **out)
{
    if (out == NULL)
        return FRUGAL_EINVAL;
    frugal_reranker *h = frugal_calloc(1, sizeof *h);
    *out = h;
    if (h == NULL)
        return FRUGAL_ENOMEM;
    err_clear(&h->err);
    if (dir == NULL || dir[0] == '\0')
        return err_set(&h->err, FRUGAL_EINVAL, "reranker: no model folder given");
    return rerank_open(dir, threads, &h->r, &h->err);
}

frugal_status frugal_reranker_score(frugal_reranker *r, const char *query,
                                    const char *const *passages, size_t n, float *scores)
{
    if (r == NULL || query == NULL || (n > 0 && (passages == NULL || scores == NULL)))
        return FRUGAL_EINVAL;
    err_clear(&r->err);
    if (r->r == NULL)
        return err_set(&r->err, FRUGAL_EINVAL, "reranker: not open");
    for (size_t i = 0; i < n; i++)
        if (passages[i] == NULL)
            return err_set(&r->err, FRUGAL_EINVAL, "reranker: passage %zu is NULL", i);
    return rerank_score(r->r, query, passages, n, scores, &r->err);
}

const char *frugal_reranker_errmsg(const frugal_reranker *r)
{
    return r != NULL ? r->err.msg : "";
}

void frugal_reranker_free(frugal_reranker *r)
{
    if (r == NULL)
        return;
    rerank_close(r->r);
    frugal_free(r);
}
