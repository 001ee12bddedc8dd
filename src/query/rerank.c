/*
 * rerank.c - cross-encoder reranking with a time budget (see rerank.h for the contract).
 *
 * How: the model is embed/bert.h's, opened with its cross-encoder head; bert_rerank packs each
 * pair as [CLS] query [SEP] passage [SEP] with token types 0/1, truncated to the model's
 * max_seq, and returns the classifier logit. rerank_hits works through the top hits in
 * batches, predicting each pair's cost from its length: tokens estimated as bytes / 4 + 3,
 * capped at max_seq, times the measured cost of a token. That cost is this call's (time over
 * estimated tokens scored so far) once it has one, before that an exponential moving average
 * over earlier calls (weight 0.3 to the newest). A batch takes pairs in rank order while their
 * predicted cost fits the time left, at most RERANK_BATCH and at most twice the previous
 * batch, and the first batch of a reranker never timed is one pair: so the estimate is
 * refined before large batches are committed, and an overrun is bounded by the error of the
 * estimate on one batch. (A cost per pair instead of per token overran 5- and 20-ms budgets
 * twofold on SciFact abstracts, whose lengths vary fourfold.) The scored hits are stably
 * sorted by logit; the unscored keep their places after.
 *
 * Why a budget and not a fixed N: cross-encoder cost scales with the pairs and their length
 * and with what else the CPU is doing; a caller with a latency target can state it directly
 * and get the most reranking that fits, with the count reported.
 *
 * Threading: r->lock serializes scoring and the running average (one model workspace).
 */
#include "query/rerank.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "embed/bert.h"

struct reranker {
    struct bert_model *m;  /* owned */
    pthread_mutex_t lock;
    double token_ms;       /* running average cost of one (estimated) token, 0 = never
                              measured */
};

frugal_status rerank_open(const char *dir, int n_threads, struct reranker **out,
                          struct err *err)
{
    *out = NULL;
    struct reranker *r = frugal_calloc(1, sizeof *r);
    if (r == NULL)
        return err_set(err, FRUGAL_ENOMEM, "reranker: out of memory");
    struct bert_opts opts;
    bert_default_opts(&opts);
    opts.n_threads = n_threads > 0 ? n_threads : 1;
    opts.max_batch = RERANK_BATCH;
    frugal_status rc = bert_model_open(dir, &opts, &r->m, err);
    if (rc == FRUGAL_OK && (r->m->cfg.arch != BERT_ARCH_SEQ_CLS || r->m->pooler_w == NULL))
        rc = err_set(err, FRUGAL_EINVAL,
                     "%s: not a cross-encoder (config.json architectures should be "
                     "BertForSequenceClassification, with a pooler and one label)",
                     dir);
    if (rc == FRUGAL_OK && pthread_mutex_init(&r->lock, NULL) != 0)
        rc = err_set(err, FRUGAL_ENOMEM, "reranker: cannot create its lock");
    if (rc != FRUGAL_OK) {
        bert_model_close(r->m);
        frugal_free(r);
        return rc;
    }
    *out = r;
    return FRUGAL_OK;
}

void rerank_close(struct reranker *r)
{
    if (r == NULL)
        return;
    bert_model_close(r->m);
    pthread_mutex_destroy(&r->lock);
    frugal_free(r);
}

frugal_status rerank_score(struct reranker *r, const char *query, const char *const *passages,
                           size_t n, float *scores, struct err *err)
{
    pthread_mutex_lock(&r->lock);
    frugal_status rc = bert_rerank(r->m, query, passages, n, scores, err);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

double rerank_token_ms(struct reranker *r)
{
    pthread_mutex_lock(&r->lock);
    double v = r->token_ms;
    pthread_mutex_unlock(&r->lock);
    return v;
}

/* The tokens of (query, passage) the encoder will see, estimated from their bytes. */
static double pair_tokens(const struct reranker *r, size_t query_len, const char *passage)
{
    double t = (double)(query_len + strlen(passage)) / 4.0 + 3.0;
    double cap = (double)r->m->max_seq;
    return cap > 0 && t > cap ? cap : t;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One scored hit, for the stable sort. */
struct scored {
    size_t pos;    /* retrieval position */
    float logit;
};

static int by_logit(const void *pa, const void *pb)
{
    const struct scored *a = pa;
    const struct scored *b = pb;
    if (a->logit != b->logit)
        return a->logit > b->logit ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* How many pairs from tokens[0..left) to score next: as many as fit the time left at
 * token_ms a token (one to measure when token_ms is unknown), at most cap. */
static size_t next_batch(const double *tokens, size_t left, double budget_ms, double elapsed,
                         double token_ms, size_t cap)
{
    size_t most = left < cap ? left : cap;
    if (budget_ms < 0)
        return most;
    if (elapsed >= budget_ms)
        return 0;
    if (token_ms <= 0.0)
        return 1;
    double cost = 0.0;
    size_t take = 0;
    while (take < most && elapsed + cost + tokens[take] * token_ms <= budget_ms)
        cost += tokens[take++] * token_ms;
    return take;
}

frugal_status rerank_hits(struct reranker *r, const char *query, struct store_hit *hits,
                          size_t n, size_t top_n, double budget_ms, double *scores,
                          size_t *n_reranked, char *note, size_t note_cap, struct err *err)
{
    *n_reranked = 0;
    if (note_cap > 0)
        note[0] = '\0';
    for (size_t i = 0; i < n; i++)
        scores[i] = 0.0;
    size_t want = top_n < n ? top_n : n;
    if (want == 0)
        return FRUGAL_OK;
    const char **texts = frugal_calloc(want, sizeof *texts);
    double *tokens = frugal_calloc(want, sizeof *tokens);
    float *logits = frugal_calloc(want, sizeof *logits);
    struct scored *order = frugal_calloc(want, sizeof *order);
    struct store_hit *moved = frugal_calloc(want, sizeof *moved);
    frugal_status rc = FRUGAL_OK;
    if (texts == NULL || tokens == NULL || logits == NULL || order == NULL || moved == NULL)
        rc = err_set(err, FRUGAL_ENOMEM, "rerank: out of memory");
    size_t query_len = strlen(query);
    for (size_t i = 0; rc == FRUGAL_OK && i < want; i++) {
        texts[i] = hits[i].text != NULL ? hits[i].text : "";
        tokens[i] = pair_tokens(r, query_len, texts[i]);
    }
    double t0 = now_ms();
    size_t done = 0;
    size_t batch_cap = 1;
    double prior = rc == FRUGAL_OK ? rerank_token_ms(r) : 0.0;
    if (prior > 0.0)
        batch_cap = RERANK_BATCH;
    double measured = 0.0;      /* ms spent scoring in this call */
    double measured_tok = 0.0;  /* estimated tokens scored in this call */
    while (rc == FRUGAL_OK && done < want) {
        double per = measured_tok > 0.0 ? measured / measured_tok : prior;
        size_t take = next_batch(tokens + done, want - done, budget_ms, now_ms() - t0, per,
                                 batch_cap);
        if (take == 0)
            break;
        double b0 = now_ms();
        rc = rerank_score(r, query, texts + done, take, logits + done, err);
        measured += now_ms() - b0;
        for (size_t i = 0; rc == FRUGAL_OK && i < take; i++)
            measured_tok += tokens[done + i];
        if (rc == FRUGAL_OK)
            done += take;
        batch_cap = 2 * take < RERANK_BATCH ? 2 * take : RERANK_BATCH;
    }
    if (rc == FRUGAL_OK && done > 0 && measured_tok > 0.0) {
        double avg = measured / measured_tok;
        pthread_mutex_lock(&r->lock);
        r->token_ms = r->token_ms > 0.0 ? 0.7 * r->token_ms + 0.3 * avg : avg;
        pthread_mutex_unlock(&r->lock);
        for (size_t i = 0; i < done; i++)
            order[i] = (struct scored){i, logits[i]};
        qsort(order, done, sizeof *order, by_logit);
        for (size_t i = 0; i < done; i++)
            moved[i] = hits[order[i].pos];
        memcpy(hits, moved, done * sizeof *hits);
        for (size_t i = 0; i < done; i++)
            scores[i] = order[i].logit;
    }
    if (rc == FRUGAL_OK && done < want && note_cap > 0) {
        double per = done > 0 ? measured / (double)done : 0.0; /* ms a pair, for people */
        if (budget_ms == 0.0)
            snprintf(note, note_cap, "rerank budget 0 ms: none of %zu hits reranked", want);
        else if (per > 0.0)
            snprintf(note, note_cap,
                     "rerank budget %.0f ms: %zu of %zu hits reranked (about %.2f ms a pair)",
                     budget_ms, done, want, per);
        else
            snprintf(note, note_cap, "rerank budget %.0f ms: %zu of %zu hits reranked",
                     budget_ms, done, want);
    }
    if (rc == FRUGAL_OK)
        *n_reranked = done;
    frugal_free(texts);
    frugal_free(tokens);
    frugal_free(logits);
    frugal_free(order);
    frugal_free(moved);
    return rc;
}
