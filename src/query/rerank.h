/*
 * rerank.h - cross-encoder reranking of retrieved hits under a time budget.
 *
 * Contract:
 *  - A reranker is a BERT cross-encoder (embed/bert.h, BERT_ARCH_SEQ_CLS with one logit: the
 *    shape of the ms-marco cross-encoders) opened from a Hugging Face folder. rerank_score
 *    gives the raw logit of each (query, passage) pair, higher = more relevant.
 *  - rerank_hits scores the first min(top_n, n) hits (their text) against the query and puts
 *    the ones it scored first, by logit descending (ties keep their retrieval order), the
 *    others after them in their retrieval order. budget_ms bounds the time it spends: it
 *    scores in batches and, before each, predicts the batch's cost from the pairs' lengths
 *    and the measured cost of a token (this call's, or a running average of earlier calls'
 *    before the first batch is timed), taking only the pairs that fit the time left; so it
 *    may score fewer than top_n, or none (a budget of 0 scores none). The budget is a
 *    target, not a hard deadline: a batch that runs slower than predicted overruns it. A
 *    negative budget means no limit. *n_reranked says how many were scored and `note`
 *    (caller-sized) why fewer than asked, "" when all were.
 *
 * Threading: a reranker may be shared by threads: scoring holds its mutex (the model has one
 * workspace; inside a call the encoder uses its own threads).
 */
#ifndef FRUGAL_QUERY_RERANK_H
#define FRUGAL_QUERY_RERANK_H

#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/* Pairs scored per forward pass when the budget allows. */
#define RERANK_BATCH 16

struct reranker;

/* dir: the model folder (borrowed); n_threads: encoder threads per call (0 = 1). */
frugal_status rerank_open(const char *dir, int n_threads, struct reranker **out,
                          struct err *err);
void rerank_close(struct reranker *r);

/* scores[0..n) (caller-sized) = the logits of (query, passages[i]). */
frugal_status rerank_score(struct reranker *r, const char *query, const char *const *passages,
                           size_t n, float *scores, struct err *err);

/* Reorders hits[0..n) as the contract says; scores[0..n) (caller-sized) receives, aligned
 * with the reordered hits, the logit of each scored hit (0 for the others). */
frugal_status rerank_hits(struct reranker *r, const char *query, struct store_hit *hits,
                          size_t n, size_t top_n, double budget_ms, double *scores,
                          size_t *n_reranked, char *note, size_t note_cap, struct err *err);

/* The running average cost of one (estimated) token in ms (0 before any was measured). */
double rerank_token_ms(struct reranker *r);

#endif
