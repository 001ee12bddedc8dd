/*
 * squad.c - extractive answering measured on SQuAD v1.1 (frugal_eval_squad), plus the SQuAD
 * parser, normalization and F1 of squad.h.
 *
 * What: every paragraph of the file becomes one document of a collection (ingested as JSONL
 * through frugal_ingest_buffer: {"_id": "p<paragraph index>", "title": the article title with
 * '_' as ' ', "text": the context; the collection created with params->embedder when given);
 * every question is then answered exactly as frugal_ask does (answer_ask, the extractive route,
 * the answer from the top k = 5 chunks, the context from the top 10) and scored:
 *   support            the answer sentence contains a gold answer (both normalized as the
 *                      official script does; on word boundaries);
 *   span_support, f1   the same and the official token F1 (best over the golds) for the short
 *                      span, or the sentence when no answer-type cue gave a span;
 *   retrieval_support  the top-5 chunks, whole, contain a gold answer (the ceiling);
 *   context_support    the compressed context (compress.h; frugal_ask's default gain bound
 *                      over the sentences of the top params->context_chunks chunks, capped at
 *                      params->context_budget_tokens) contains one;
 *   context_token_ratio  its tokens over those of the top-5 chunks whole, summed over questions;
 *   cpu_share, cpu_support  the share with confidence >= threshold and the support on it; and
 *                      the same at the thresholds 0.0 .. 0.9 (the coverage/support curve).
 * Latency is per question, retrieval and extraction, nearest-rank percentiles.
 *
 * How: like eval.c, a client of the public API plus answer_ask (src/answer/ask.h), which lets
 * one extractor (one analyzer) serve every question. With params->features_path a TSV line per
 * question (id, article, label, confidence, features) is written for bench/squad_fit.py, which
 * fits the confidence model on one half of the articles and checks it on the other; and beside
 * it, in features_path + ".sentences", a line per candidate sentence of the top
 * max(k, context_chunks) chunks (squad_sentences: its label, score and sentence features), from
 * which the sentence score's weights are fitted and the context's gain bound is tuned; and in
 * features_path + ".contexts" a line per question (id, article, confidence, context support,
 * context tokens, top-5 tokens whole, retrieval support),
 * from which bench/squad_fit.py --contexts reports the compressed context on each half and on
 * the questions the router would send to a generator (confidence < threshold).
 *
 * Why: the router's CPU threshold and the extractor's weights must come from a measurement, and
 * the measurement must go through the same calls users make.
 *
 * Threading: none of its own; the db handle is used from the calling thread only.
 */
#include "eval/squad.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "answer/ask.h"
#include "answer/compress.h"
#include "base/alloc.h"
#include "base/fs.h"
#include "eval/eval.h"
#include "frugal_internal.h"
#include "text/utf8.h"

/* ---- The file ------------------------------------------------------------------------------- */

void squad_set_init(struct squad_set *s)
{
    memset(s, 0, sizeof *s);
}

void squad_set_release(struct squad_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_articles; i++)
        frugal_free(s->titles[i]);
    frugal_free(s->titles);
    for (size_t i = 0; i < s->n_paragraphs; i++)
        frugal_free(s->paragraphs[i].context);
    frugal_free(s->paragraphs);
    for (size_t i = 0; i < s->n_questions; i++) {
        struct squad_question *q = &s->questions[i];
        frugal_free(q->id);
        frugal_free(q->question);
        for (size_t j = 0; j < q->n_answers; j++)
            frugal_free(q->answers[j]);
        frugal_free(q->answers);
    }
    frugal_free(s->questions);
    squad_set_init(s);
}

/* Grows *items (of *cap elements of size) to hold n + 1. */
static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *p = frugal_reallocarray(*items, ncap, size);
    if (p == NULL)
        return false;
    *items = p;
    *cap = ncap;
    return true;
}

static frugal_status parse_question(const cJSON *qa, size_t paragraph, struct squad_question *q,
                                    struct err *err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(qa, "id");
    const cJSON *question = cJSON_GetObjectItemCaseSensitive(qa, "question");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(qa, "answers");
    if (!cJSON_IsString(id) || !cJSON_IsString(question))
        return err_set(err, FRUGAL_ECORRUPT, "paragraph %zu: a question without a string "
                       "\"id\" or \"question\"", paragraph);
    if (answers != NULL && !cJSON_IsArray(answers))
        return err_set(err, FRUGAL_ECORRUPT, "question %s: \"answers\" is not an array",
                       id->valuestring);
    q->paragraph = paragraph;
    q->id = frugal_strdup(id->valuestring);
    q->question = frugal_strdup(question->valuestring);
    if (q->id == NULL || q->question == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    int n = answers != NULL ? cJSON_GetArraySize(answers) : 0;
    if (n > 0) {
        q->answers = frugal_calloc((size_t)n, sizeof *q->answers);
        if (q->answers == NULL)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, answers)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(a, "text");
        if (!cJSON_IsString(text))
            return err_set(err, FRUGAL_ECORRUPT, "question %s: an answer without a string "
                           "\"text\"", q->id);
        q->answers[q->n_answers] = frugal_strdup(text->valuestring);
        if (q->answers[q->n_answers] == NULL)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        q->n_answers++;
    }
    return FRUGAL_OK;
}

static frugal_status parse_article(const cJSON *article, struct squad_set *s, size_t *cap_p,
                                   size_t *cap_q, struct err *err)
{
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(article, "title");
    const cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(article, "paragraphs");
    if (!cJSON_IsArray(paragraphs))
        return err_set(err, FRUGAL_ECORRUPT, "article %zu: no \"paragraphs\" array",
                       s->n_articles);
    char *t = frugal_strdup(cJSON_IsString(title) ? title->valuestring : "");
    if (t == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    for (char *c = t; *c != '\0'; c++)
        *c = *c == '_' ? ' ' : *c;
    s->titles[s->n_articles++] = t;
    const cJSON *p;
    cJSON_ArrayForEach(p, paragraphs)
    {
        const cJSON *context = cJSON_GetObjectItemCaseSensitive(p, "context");
        const cJSON *qas = cJSON_GetObjectItemCaseSensitive(p, "qas");
        if (!cJSON_IsString(context))
            return err_set(err, FRUGAL_ECORRUPT, "article %zu: a paragraph without a string "
                           "\"context\"", s->n_articles - 1);
        if (qas != NULL && !cJSON_IsArray(qas))
            return err_set(err, FRUGAL_ECORRUPT, "article %zu: \"qas\" is not an array",
                           s->n_articles - 1);
        if (!grow((void **)&s->paragraphs, cap_p, s->n_paragraphs, sizeof *s->paragraphs))
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        struct squad_paragraph *para = &s->paragraphs[s->n_paragraphs];
        para->article = s->n_articles - 1;
        para->context = frugal_strdup(context->valuestring);
        if (para->context == NULL)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        s->n_paragraphs++;
        const cJSON *qa;
        cJSON_ArrayForEach(qa, qas)
        {
            if (!grow((void **)&s->questions, cap_q, s->n_questions, sizeof *s->questions))
                return err_set(err, FRUGAL_ENOMEM, "out of memory");
            struct squad_question *q = &s->questions[s->n_questions++];
            memset(q, 0, sizeof *q);
            frugal_status rc = parse_question(qa, s->n_paragraphs - 1, q, err);
            if (rc != FRUGAL_OK)
                return rc;
        }
    }
    return FRUGAL_OK;
}

frugal_status squad_parse(const char *data, size_t len, struct squad_set *out, struct err *err)
{
    squad_set_init(out);
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (root == NULL)
        return err_set(err, FRUGAL_ECORRUPT, "not JSON");
    frugal_status rc = FRUGAL_OK;
    const cJSON *articles = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(articles)) {
        rc = err_set(err, FRUGAL_ECORRUPT, "no \"data\" array");
    } else {
        int n = cJSON_GetArraySize(articles);
        out->titles = n > 0 ? frugal_calloc((size_t)n, sizeof *out->titles) : NULL;
        if (n > 0 && out->titles == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        size_t cap_p = 0;
        size_t cap_q = 0;
        const cJSON *article;
        cJSON_ArrayForEach(article, articles)
        {
            if (rc != FRUGAL_OK)
                break;
            if (!cJSON_IsObject(article))
                rc = err_set(err, FRUGAL_ECORRUPT, "article %zu is not an object",
                             out->n_articles);
            else
                rc = parse_article(article, out, &cap_p, &cap_q, err);
        }
    }
    cJSON_Delete(root);
    if (rc != FRUGAL_OK)
        squad_set_release(out);
    return rc;
}

/* ---- Normalization and F1 ------------------------------------------------------------------ */

static bool is_ascii_punct(int32_t c)
{
    return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x7b && c <= 0x7e);
}

static bool is_space_cp(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
           c == 0xa0 || (c >= 0x2000 && c <= 0x200a) || c == 0x3000 || c == 0x202f;
}

static bool is_article(const char *w, size_t len)
{
    return (len == 1 && w[0] == 'a') || (len == 2 && memcmp(w, "an", 2) == 0) ||
           (len == 3 && memcmp(w, "the", 3) == 0);
}

frugal_status squad_normalize(const char *text, size_t len, struct buf *out)
{
    struct buf low;
    buf_init(&low, 0);
    buf_reset(out);
    frugal_status rc = buf_reserve(&low, len + 1);
    /* lowercase, drop ASCII punctuation, whitespace to ' ' */
    for (size_t i = 0; rc == FRUGAL_OK && i < len;) {
        size_t adv = 1;
        int32_t cp = utf8_decode(text + i, len - i, &adv);
        i += adv;
        if (cp < 0)
            cp = 0xfffd; /* an invalid subpart reads as one U+FFFD */
        if (is_ascii_punct(cp))
            continue;
        if (is_space_cp(cp)) {
            rc = buf_putc(&low, ' ');
            continue;
        }
        char enc[4];
        size_t n = utf8_encode((int32_t)utf8proc_tolower(cp), enc);
        rc = buf_append(&low, enc, n);
    }
    /* words without articles, one space between */
    for (size_t i = 0; rc == FRUGAL_OK && i < low.len;) {
        while (i < low.len && low.ptr[i] == ' ')
            i++;
        size_t st = i;
        while (i < low.len && low.ptr[i] != ' ')
            i++;
        if (i == st || is_article(low.ptr + st, i - st))
            continue;
        if (out->len > 0)
            rc = buf_putc(out, ' ');
        if (rc == FRUGAL_OK)
            rc = buf_append(out, low.ptr + st, i - st);
    }
    if (rc == FRUGAL_OK && out->ptr == NULL)
        rc = buf_append(out, "", 0);
    buf_release(&low);
    return rc;
}

bool squad_contains(const char *norm_text, const char *norm_gold)
{
    size_t n = strlen(norm_gold);
    if (n == 0)
        return false;
    for (const char *p = strstr(norm_text, norm_gold); p != NULL; p = strstr(p + 1, norm_gold)) {
        bool left = p == norm_text || p[-1] == ' ';
        bool right = p[n] == '\0' || p[n] == ' ';
        if (left && right)
            return true;
    }
    return false;
}

/* Splits a normalized text into words (in place: spaces become NULs). */
static size_t words_of(char *s, char **words, size_t max)
{
    size_t n = 0;
    char *p = s;
    while (*p != '\0' && n < max) {
        words[n++] = p;
        char *sp = strchr(p, ' ');
        if (sp == NULL)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

double squad_f1(const char *prediction, const char *gold)
{
    struct buf a;
    struct buf b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    double f1 = -1.0;
    char **wa = NULL;
    char **wb = NULL;
    bool *used = NULL;
    if (squad_normalize(prediction, strlen(prediction), &a) != FRUGAL_OK ||
        squad_normalize(gold, strlen(gold), &b) != FRUGAL_OK)
        goto out_release;
    size_t max_a = a.len / 2 + 1;
    size_t max_b = b.len / 2 + 1;
    wa = frugal_reallocarray(NULL, max_a, sizeof *wa);
    wb = frugal_reallocarray(NULL, max_b, sizeof *wb);
    used = frugal_calloc(max_b, sizeof *used);
    if (wa == NULL || wb == NULL || used == NULL)
        goto out_release;
    size_t na = words_of(a.ptr, wa, max_a);
    size_t nb = words_of(b.ptr, wb, max_b);
    size_t same = 0;
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (!used[j] && strcmp(wa[i], wb[j]) == 0) {
                used[j] = true;
                same++;
                break;
            }
        }
    }
    f1 = 0.0;
    if (same > 0) {
        double precision = (double)same / (double)na;
        double recall = (double)same / (double)nb;
        f1 = 2.0 * precision * recall / (precision + recall);
    }
out_release:
    frugal_free(wa);
    frugal_free(wb);
    frugal_free(used);
    buf_release(&a);
    buf_release(&b);
    return f1;
}

/* ---- The evaluation ------------------------------------------------------------------------- */

void frugal_squad_default_params(frugal_squad_params *params)
{
    memset(params, 0, sizeof *params);
    params->collection = "squad";
    params->k = 5;
    params->threshold = FRUGAL_ASK_DEFAULT_THRESHOLD;
    params->context_budget_tokens = FRUGAL_ASK_DEFAULT_BUDGET;
}

static frugal_status squad_fail(frugal_db *db, const struct err *e)
{
    db_set_error(db, e->code, e->msg);
    return e->code;
}

/* The paragraphs as JSONL, one {"_id","title","text"} per line. */
static frugal_status corpus_jsonl(const struct squad_set *s, struct buf *out)
{
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; rc == FRUGAL_OK && i < s->n_paragraphs; i++) {
        char id[32];
        snprintf(id, sizeof id, "p%zu", i);
        cJSON *o = cJSON_CreateObject();
        char *line = NULL;
        if (o != NULL && cJSON_AddStringToObject(o, "_id", id) != NULL &&
            cJSON_AddStringToObject(o, "title", s->titles[s->paragraphs[i].article]) != NULL &&
            cJSON_AddStringToObject(o, "text", s->paragraphs[i].context) != NULL)
            line = cJSON_PrintUnformatted(o);
        if (line == NULL)
            rc = FRUGAL_ENOMEM;
        if (rc == FRUGAL_OK)
            rc = buf_puts(out, line);
        if (rc == FRUGAL_OK)
            rc = buf_putc(out, '\n');
        cJSON_free(line);
        cJSON_Delete(o);
    }
    return rc;
}

/* The documents of collection name, and whether it has an embedder (has_embedder may be
 * NULL). */
static frugal_status collection_documents(frugal_db *db, const char *name, int64_t *n_docs,
                                          bool *has_embedder)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_status rc = frugal_collection_list(db, &list, &n);
    *n_docs = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        if (strcmp(list[i].name, name) == 0) {
            *n_docs = list[i].n_documents;
            if (has_embedder != NULL)
                *has_embedder = list[i].embedder != NULL;
        }
    }
    frugal_collection_list_free(list, n);
    return rc;
}

static frugal_status squad_ingest(frugal_db *db, const char *path, const struct squad_set *s,
                                  const frugal_squad_params *p, frugal_squad_report *report)
{
    int64_t n_docs = 0;
    frugal_status rc = collection_documents(db, p->collection, &n_docs, NULL);
    if (rc == FRUGAL_OK && p->embedder != NULL) {
        /* the collection gets the embedder (created with it, or given it while empty) */
        frugal_collection_params cp;
        frugal_collection_default_params(&cp);
        cp.embedder = p->embedder;
        rc = frugal_collection_create(db, p->collection, &cp);
        if (rc == FRUGAL_EEXIST)
            rc = frugal_collection_set_embedder(db, p->collection, p->embedder, NULL);
    }
    if (rc != FRUGAL_OK || (p->reuse && n_docs > 0))
        return rc;
    struct buf corpus;
    struct buf source;
    buf_init(&corpus, 0);
    buf_init(&source, 0);
    rc = corpus_jsonl(s, &corpus);
    if (rc == FRUGAL_OK)
        rc = buf_printf(&source, "%s.jsonl", path);
    if (rc != FRUGAL_OK) {
        db_set_error(db, rc, "out of memory");
        goto out_release;
    }
    if (n_docs > 0) {
        rc = frugal_document_delete_source(db, p->collection, source.ptr, NULL);
        if (rc == FRUGAL_ENOTFOUND)
            rc = FRUGAL_OK;
    }
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    frugal_ingest_params ip;
    frugal_ingest_report ir;
    frugal_ingest_default_params(&ip);
    ip.collection = p->collection;
    if (ip.max_file_bytes < corpus.len + 1)
        ip.max_file_bytes = corpus.len + 1;
    memset(&ir, 0, sizeof ir);
    if (rc == FRUGAL_OK)
        rc = frugal_ingest_buffer(db, source.ptr, corpus.ptr, corpus.len, &ip, &ir);
    if (rc == FRUGAL_OK)
        rc = frugal_optimize(db, p->collection);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report->ingest_seconds =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
out_release:
    buf_release(&corpus);
    buf_release(&source);
    return rc;
}

/* Per-question outcome, kept for the threshold curve. */
struct squad_outcome {
    double confidence;
    bool support;
};

/* True when the normalized text contains one of the question's normalized golds. */
static bool any_gold(const char *norm_text, char **golds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (squad_contains(norm_text, golds[i]))
            return true;
    }
    return false;
}

struct squad_sums {
    double support, span_support, f1, retrieval, context;
    double context_tokens, whole_tokens;
};

/* Writes one TSV line per candidate sentence of question q to out: id, article, question type,
 * sentence number, chunk, label (holds a gold answer), 1 for the answer, tokens, score, number
 * within its chunk, the tokens of the top-k chunks whole (the question's, on every line), then
 * the sentence features (enum xans_sfeature). Retrieves again, as answer_ask does (hybrid when
 * the collection has an embedder, max(k, context_chunks) chunks, the answer from the top k),
 * since the answer keeps only its own sentence; the ratio's denominator stays the top-k whole. */
static frugal_status squad_sentences(frugal_db *db, struct xans *x, const struct squad_set *s,
                                     const struct squad_question *q, const frugal_ask_params *ap,
                                     size_t context_chunks, bool hybrid, char **golds,
                                     size_t n_golds, FILE *out)
{
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = ap->collection;
    sp.k = context_chunks > ap->k ? context_chunks : ap->k;
    sp.snippets = false;
    sp.mode = hybrid ? FRUGAL_SEARCH_HYBRID : FRUGAL_SEARCH_BM25;
    frugal_results *res = NULL;
    frugal_status rc = frugal_search(db, q->question, &sp, &res);
    if (rc == FRUGAL_EEMPTY) {
        frugal_results_free(res);
        return FRUGAL_OK;
    }
    size_t n = rc == FRUGAL_OK ? res->n_hits : 0;
    struct xans_chunk *ch = n > 0 ? frugal_calloc(n, sizeof *ch) : NULL;
    if (n > 0 && ch == NULL)
        rc = FRUGAL_ENOMEM;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        const frugal_hit *h = &res->hits[i];
        ch[i].text = h->text != NULL ? h->text : "";
        ch[i].len = strlen(ch[i].text);
        ch[i].document_id = h->document_id;
        ch[i].chunk_id = h->chunk_id;
        ch[i].char_start = h->char_start;
        ch[i].score = h->score;
    }
    struct xans_result xr;
    struct buf norm;
    struct err e;
    err_clear(&e);
    xans_result_init(&xr);
    buf_init(&norm, 0);
    if (rc == FRUGAL_OK)
        rc = xans_run(x, q->question, ch, n, ap->k, &xr, &e);
    size_t whole_tokens = compress_tokens_whole(ch, n, ap->k);
    for (size_t i = 0; rc == FRUGAL_OK && i < xr.n_sentences; i++) {
        const struct xans_sentence *t = &xr.sentences[i];
        const char *text = ch[t->chunk].text + t->byte_start;
        size_t len = t->byte_end - t->byte_start;
        rc = squad_normalize(text, len, &norm);
        if (rc != FRUGAL_OK)
            break;
        fprintf(out, "%s\t%zu\t%d\t%zu\t%zu\t%d\t%d\t%zu\t%.6f\t%zu\t%zu", q->id,
                s->paragraphs[q->paragraph].article, (int)xr.qtype, i, t->chunk,
                any_gold(norm.ptr, golds, n_golds) ? 1 : 0, i == xr.best ? 1 : 0,
                compress_count_tokens(text, len), t->score, t->index, whole_tokens);
        for (size_t k = 0; k < XANS_N_SFEATURES; k++)
            fprintf(out, "\t%.5f", t->sfeatures[k]);
        fputc('\n', out);
    }
    if (rc == FRUGAL_ENOMEM)
        db_set_error(db, rc, "out of memory");
    buf_release(&norm);
    xans_result_release(&xr);
    frugal_free(ch);
    frugal_results_free(res);
    return rc;
}

/* Asks question q and adds its scores to sums; records outcome and latency. */
static frugal_status squad_one(frugal_db *db, struct xans *x, const struct squad_set *s,
                               const struct squad_question *q, const frugal_ask_params *ap,
                               struct squad_sums *sums, struct squad_outcome *outcome,
                               double *latency_ms, FILE *features, FILE *sentences,
                               size_t context_chunks, bool hybrid, FILE *contexts)
{
    struct buf context;
    struct buf whole;
    struct buf norm;
    char **golds = NULL;
    size_t n_golds = 0;
    frugal_answer *a = NULL;
    struct answer_extra extra = {.context = &context, .whole = &whole};
    buf_init(&context, 0);
    buf_init(&whole, 0);
    buf_init(&norm, 0);
    frugal_status rc = answer_ask(db, x, q->question, ap, &a, &extra);
    if (rc == FRUGAL_OK && q->n_answers > 0) {
        golds = frugal_calloc(q->n_answers, sizeof *golds);
        rc = golds != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    }
    for (size_t i = 0; rc == FRUGAL_OK && i < q->n_answers; i++) {
        rc = squad_normalize(q->answers[i], strlen(q->answers[i]), &norm);
        if (rc == FRUGAL_OK)
            golds[n_golds] = buf_detach(&norm);
        if (rc == FRUGAL_OK && golds[n_golds] == NULL)
            rc = FRUGAL_ENOMEM;
        if (rc == FRUGAL_OK)
            n_golds++;
    }
    bool support = false;
    if (rc == FRUGAL_OK)
        rc = squad_normalize(a->text, strlen(a->text), &norm);
    if (rc == FRUGAL_OK) {
        support = any_gold(norm.ptr, golds, n_golds);
        sums->support += support;
        const char *span = a->span != NULL ? a->span : a->text;
        rc = squad_normalize(span, strlen(span), &norm);
    }
    if (rc == FRUGAL_OK) {
        sums->span_support += any_gold(norm.ptr, golds, n_golds);
        double best = 0.0;
        const char *span = a->span != NULL ? a->span : a->text;
        for (size_t i = 0; i < q->n_answers; i++) {
            double f = squad_f1(span, q->answers[i]);
            best = f > best ? f : best;
        }
        sums->f1 += best;
        rc = squad_normalize(context.ptr != NULL ? context.ptr : "", context.len, &norm);
    }
    bool context_support = false;
    if (rc == FRUGAL_OK) {
        context_support = any_gold(norm.ptr, golds, n_golds);
        sums->context += context_support;
        rc = squad_normalize(whole.ptr != NULL ? whole.ptr : "", whole.len, &norm);
    }
    if (rc == FRUGAL_OK && sentences != NULL)
        rc = squad_sentences(db, x, s, q, ap, context_chunks, hybrid, golds, n_golds,
                             sentences);
    if (rc == FRUGAL_OK) {
        bool retrieval = any_gold(norm.ptr, golds, n_golds);
        sums->retrieval += retrieval;
        if (contexts != NULL)
            fprintf(contexts, "%s\t%zu\t%.6f\t%d\t%zu\t%zu\t%d\n", q->id,
                    s->paragraphs[q->paragraph].article, a->confidence, context_support ? 1 : 0,
                    a->context_tokens, a->context_tokens_full, retrieval ? 1 : 0);
        sums->context_tokens += (double)a->context_tokens;
        sums->whole_tokens += (double)a->context_tokens_full;
        outcome->confidence = a->confidence;
        outcome->support = support;
        *latency_ms = a->timings_ms.total_ms;
        if (features != NULL) {
            fprintf(features, "%s\t%zu\t%d\t%.6f", q->id, s->paragraphs[q->paragraph].article,
                    support ? 1 : 0, a->confidence);
            for (size_t i = 0; i < XANS_N_FEATURES; i++)
                fprintf(features, "\t%.6f", extra.features[i]);
            fputc('\n', features);
        }
    }
    if (rc == FRUGAL_ENOMEM)
        db_set_error(db, rc, "out of memory");
    for (size_t i = 0; i < n_golds; i++)
        frugal_free(golds[i]);
    frugal_free(golds);
    frugal_answer_free(a);
    buf_release(&context);
    buf_release(&whole);
    buf_release(&norm);
    return rc;
}

static void squad_summarize(const struct squad_outcome *o, size_t n, double threshold,
                            double *share, double *support)
{
    size_t in = 0;
    size_t good = 0;
    for (size_t i = 0; i < n; i++) {
        if (o[i].confidence >= threshold) {
            in++;
            good += o[i].support;
        }
    }
    *share = n > 0 ? (double)in / (double)n : 0.0;
    *support = in > 0 ? (double)good / (double)in : 0.0;
}

/* hybrid: the collection has an embedder (answer_ask then retrieves hybrid; so does the
 * .sentences dump). */
static frugal_status squad_run(frugal_db *db, const struct squad_set *s,
                               const frugal_squad_params *p, bool hybrid,
                               frugal_squad_report *report)
{
    size_t n = s->n_questions;
    if (p->limit > 0 && p->limit < n)
        n = p->limit;
    struct xans *x = NULL;
    FILE *features = NULL;
    FILE *sentences = NULL;
    FILE *contexts = NULL;
    struct buf sentences_path;
    struct buf contexts_path;
    buf_init(&sentences_path, 0);
    buf_init(&contexts_path, 0);
    struct squad_outcome *outcomes = frugal_calloc(n > 0 ? n : 1, sizeof *outcomes);
    double *latency = frugal_calloc(n > 0 ? n : 1, sizeof *latency);
    struct squad_sums sums;
    memset(&sums, 0, sizeof sums);
    frugal_status rc = outcomes != NULL && latency != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
    if (rc != FRUGAL_OK)
        db_set_error(db, rc, "out of memory");
    if (rc == FRUGAL_OK)
        rc = answer_xans_for(db, p->collection, &x);
    if (rc == FRUGAL_OK && p->features_path != NULL) {
        features = fopen(p->features_path, "w");
        if (features == NULL) {
            rc = FRUGAL_EIO;
            db_set_error(db, rc, "cannot write the features file");
        }
    }
    if (rc == FRUGAL_OK && p->features_path != NULL) {
        rc = buf_printf(&sentences_path, "%s.sentences", p->features_path);
        if (rc != FRUGAL_OK)
            db_set_error(db, rc, "out of memory");
    }
    if (rc == FRUGAL_OK && p->features_path != NULL) {
        sentences = fopen(sentences_path.ptr, "w");
        if (sentences == NULL) {
            rc = FRUGAL_EIO;
            db_set_error(db, rc, "cannot write the sentence features file");
        }
    }
    if (rc == FRUGAL_OK && p->features_path != NULL) {
        rc = buf_printf(&contexts_path, "%s.contexts", p->features_path);
        if (rc != FRUGAL_OK)
            db_set_error(db, rc, "out of memory");
    }
    if (rc == FRUGAL_OK && p->features_path != NULL) {
        contexts = fopen(contexts_path.ptr, "w");
        if (contexts == NULL) {
            rc = FRUGAL_EIO;
            db_set_error(db, rc, "cannot write the contexts file");
        }
    }
    frugal_ask_params ap;
    frugal_ask_default_params(&ap);
    ap.collection = p->collection;
    ap.k = p->k;
    ap.mode = FRUGAL_ASK_EXTRACTIVE;
    ap.min_confidence = p->threshold;
    ap.context_budget_tokens = p->context_budget_tokens;
    if (p->context_chunks > 0)
        ap.context_chunks = p->context_chunks;
    size_t done = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        rc = squad_one(db, x, s, &s->questions[i], &ap, &sums, &outcomes[i], &latency[i],
                       features, sentences, ap.context_chunks, hybrid, contexts);
        if (rc == FRUGAL_OK)
            done++;
        if (rc == FRUGAL_OK && p->on_progress != NULL && (done % 64 == 0 || done == n))
            p->on_progress(p->ctx, done, n);
    }
    if (features != NULL && fclose(features) != 0 && rc == FRUGAL_OK) {
        rc = FRUGAL_EIO;
        db_set_error(db, rc, "cannot write the features file");
    }
    if (sentences != NULL && fclose(sentences) != 0 && rc == FRUGAL_OK) {
        rc = FRUGAL_EIO;
        db_set_error(db, rc, "cannot write the sentence features file");
    }
    if (contexts != NULL && fclose(contexts) != 0 && rc == FRUGAL_OK) {
        rc = FRUGAL_EIO;
        db_set_error(db, rc, "cannot write the contexts file");
    }
    buf_release(&sentences_path);
    buf_release(&contexts_path);
    if (rc == FRUGAL_OK && done > 0) {
        double d = (double)done;
        report->questions = done;
        report->support = sums.support / d;
        report->span_support = sums.span_support / d;
        report->f1 = sums.f1 / d;
        report->retrieval_support = sums.retrieval / d;
        report->context_support = sums.context / d;
        report->context_token_ratio =
            sums.whole_tokens > 0 ? sums.context_tokens / sums.whole_tokens : 0.0;
        report->threshold = p->threshold;
        squad_summarize(outcomes, done, p->threshold, &report->cpu_share, &report->cpu_support);
        for (size_t i = 0; i < FRUGAL_SQUAD_CURVE; i++)
            squad_summarize(outcomes, done, 0.1 * (double)i, &report->curve_coverage[i],
                            &report->curve_support[i]);
        report->latency_ms_p50 = eval_percentile(latency, done, 50.0);
        report->latency_ms_p99 = eval_percentile(latency, done, 99.0);
    }
    xans_free(x);
    frugal_free(outcomes);
    frugal_free(latency);
    return rc;
}

frugal_status frugal_eval_squad(frugal_db *db, const char *path, const frugal_squad_params *params,
                                frugal_squad_report *report)
{
    if (db == NULL || path == NULL || report == NULL)
        return FRUGAL_EINVAL;
    frugal_squad_params p;
    frugal_squad_default_params(&p);
    if (params != NULL)
        p = *params;
    if (p.collection == NULL || p.collection[0] == '\0')
        p.collection = "squad";
    if (p.k == 0)
        p.k = 5;
    if (p.context_budget_tokens == 0)
        p.context_budget_tokens = FRUGAL_ASK_DEFAULT_BUDGET;
    memset(report, 0, sizeof *report);
    struct squad_set set;
    struct buf data;
    struct err e;
    err_clear(&e);
    squad_set_init(&set);
    buf_init(&data, 0);
    frugal_status rc = fs_read_file_gz(path, 0, &data, &e);
    if (rc == FRUGAL_OK) {
        rc = squad_parse(data.ptr, data.len, &set, &e);
        if (rc != FRUGAL_OK)
            err_prefix(&e, "%s", path);
    }
    buf_release(&data);
    if (rc == FRUGAL_OK && set.n_questions == 0)
        rc = err_set(&e, FRUGAL_EEMPTY, "%s: no questions", path);
    if (rc != FRUGAL_OK) {
        squad_set_release(&set);
        return squad_fail(db, &e);
    }
    rc = squad_ingest(db, path, &set, &p, report);
    bool hybrid = false;
    if (rc == FRUGAL_OK) {
        int64_t n_docs = 0;
        rc = collection_documents(db, p.collection, &n_docs, &hybrid);
        report->documents = n_docs > 0 ? (size_t)n_docs : 0;
    }
    if (rc == FRUGAL_OK)
        rc = squad_run(db, &set, &p, hybrid, report);
    squad_set_release(&set);
    return rc;
}
