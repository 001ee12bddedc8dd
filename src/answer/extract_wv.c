/*
 * extract_wv.c - word-vector features of the extractive sentence score (contract in
 * extract_wv.h).
 *
 * What and how: the question's content words are looked up once (unit vectors and weights); a
 * sentence's words are looked up and normalized as they come, and for each question word the
 * best cosine over the sentence's words is kept (1 for the word itself). After every candidate
 * has been read, each question word gets its idf over the candidates (xans_wv_pool), and from
 * those: the idf-weighted share of the question a sentence covers with near words counted (soft
 * coverage), the part of it that near words alone give, the share covered at cosine > 0.6; and,
 * read as it comes, the cosine between the SIF-weighted sums of both sides' vectors. (Zipf SIF
 * weights for the coverage, tried first, ranked 0.3 point worse than the pool idf.)
 *
 * Why: the analyzer's terms match a question word only as itself (after stemming): "largest"
 * misses "biggest", "died" misses "death", "city" misses "Paris". On SQuAD v1.1 dev these
 * features (with the chunk's best of them, extract.c) take the compressed context from 93.0% to
 * 93.7% of the questions at under a quarter of the top-5 chunks' tokens, the top 5 chunks whole
 * holding 93.6-93.7% (BENCHMARKS.md, squad); bench/squad_fit.py fits their weights with the
 * others'.
 *
 * Threading: see the header. Cost: question words x sentence words dot products of the vectors'
 * dimension (about 8 x 25 x 100 per sentence).
 */
#include "answer/extract_wv.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "embed/static_vectors.h"
#include "index/vec_kernels.h"
#include "text/analyzer.h"

#define XWV_MAX_Q 32       /* question words kept */
#define XWV_MAX_WORD 64    /* bytes of a word the vocabulary lacks, kept for exact matches */
#define XWV_SIF_A 1e-5
#define XWV_HIGH 0.6       /* the cosine above which a word counts as the same */

/* Function words and the words that make a question: they say nothing of where an answer is. */
static const char xwv_stopwords[] =
    "a an the of to in on at by for with from and or but is are was were be been being it its "
    "this that these those as which who whom whose what when where why how does do did has have "
    "had not no than then there their they he she his her him i you we our your into over under "
    "about after before during between against through up down out off so such can could would "
    "should may might will shall also other some any each most more many much one name type kind";

struct qword {
    int64_t row;               /* -1: not in the vocabulary */
    double weight;
    char text[XWV_MAX_WORD + 1];
    size_t len;
};

struct xans_wv {
    const struct sv_file *sv;  /* borrowed */
    const struct vec_kernels *kern; /* dot products (AVX2 when the CPU has it) */
    struct analyzer *an;
    double harmonic;           /* H_n of the vocabulary */
    struct qword q[XWV_MAX_Q];
    size_t n_q;
    float *qvec;               /* (XWV_MAX_Q, dim) unit vectors of the known question words */
    float *qsum;               /* (dim) weighted sum of them */
    float *row;                /* (dim) scratch */
    float *ssum;               /* (dim) the sentence's weighted sum */
    double *best;              /* (cap, XWV_MAX_Q) best cosine per sentence and question word */
    bool *exact;               /* (cap, XWV_MAX_Q) the sentence holds the word itself */
    double *cosine;            /* (cap) XWV_COSINE per sentence */
    size_t cap;                /* rows of the three */
    size_t cur;                /* the sentence being read */
    double idf[XWV_MAX_Q];     /* over the sentences given since the question (xans_wv_pool) */
    double idf_sum;
};

static double word_weight(const struct xans_wv *w, int64_t row)
{
    double r = row < 0 ? (double)w->sv->n_words : (double)row;
    double p = 1.0 / ((r + 1.0) * w->harmonic);
    return XWV_SIF_A / (XWV_SIF_A + p);
}

frugal_status xans_wv_new(const struct sv_file *sv, struct xans_wv **out, struct err *err)
{
    *out = NULL;
    struct xans_wv *w = frugal_calloc(1, sizeof *w);
    if (w == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    w->sv = sv;
    w->kern = vec_kernels_best();
    struct analyzer_opts opts = {.language = "none", .stopwords = xwv_stopwords};
    frugal_status rc = analyzer_new(&opts, &w->an, err);
    if (rc == FRUGAL_OK) {
        size_t dim = w->sv->dim;
        w->qvec = frugal_reallocarray(NULL, (size_t)XWV_MAX_Q * dim, sizeof *w->qvec);
        w->qsum = frugal_reallocarray(NULL, dim, sizeof *w->qsum);
        w->row = frugal_reallocarray(NULL, dim, sizeof *w->row);
        w->ssum = frugal_reallocarray(NULL, dim, sizeof *w->ssum);
        if (w->qvec == NULL || w->qsum == NULL || w->row == NULL || w->ssum == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        /* H_n ~ ln n + Euler's constant + 1 / 2n */
        double n = (double)w->sv->n_words;
        w->harmonic = log(n) + 0.5772156649 + 0.5 / n;
    }
    if (rc != FRUGAL_OK) {
        xans_wv_free(w);
        return rc;
    }
    *out = w;
    return FRUGAL_OK;
}

void xans_wv_free(struct xans_wv *w)
{
    if (w == NULL)
        return;
    analyzer_free(w->an);
    frugal_free(w->qvec);
    frugal_free(w->qsum);
    frugal_free(w->row);
    frugal_free(w->ssum);
    frugal_free(w->best);
    frugal_free(w->exact);
    frugal_free(w->cosine);
    frugal_free(w);
}

/* Decodes row r into out as a unit vector; false for a zero row. */
static bool unit_row(const struct xans_wv *w, int64_t r, float *out)
{
    size_t dim = w->sv->dim;
    sv_row(w->sv, (size_t)r, out);
    double n = 0.0;
    for (size_t i = 0; i < dim; i++)
        n += (double)out[i] * out[i];
    if (n <= 0.0)
        return false;
    float inv = (float)(1.0 / sqrt(n));
    for (size_t i = 0; i < dim; i++)
        out[i] *= inv;
    return true;
}

static int on_question_word(void *ctx, const char *term, size_t len, size_t bs, size_t be)
{
    (void)bs;
    (void)be;
    struct xans_wv *w = ctx;
    if (w->n_q == XWV_MAX_Q || len > XWV_MAX_WORD)
        return 0;
    for (size_t k = 0; k < w->n_q; k++)
        if (w->q[k].len == len && memcmp(w->q[k].text, term, len) == 0)
            return 0;
    struct qword *q = &w->q[w->n_q];
    memcpy(q->text, term, len);
    q->text[len] = '\0';
    q->len = len;
    q->row = sv_lookup(w->sv, term, len);
    size_t dim = w->sv->dim;
    if (q->row >= 0 && !unit_row(w, q->row, w->qvec + w->n_q * dim))
        q->row = -1;
    q->weight = word_weight(w, q->row);
    if (q->row >= 0)
        for (size_t i = 0; i < dim; i++)
            w->qsum[i] += (float)q->weight * w->qvec[w->n_q * dim + i];
    w->n_q++;
    return 0;
}

frugal_status xans_wv_question(struct xans_wv *w, const char *question)
{
    w->n_q = 0;
    w->idf_sum = 0.0;
    memset(w->qsum, 0, w->sv->dim * sizeof *w->qsum);
    return analyzer_run(w->an, question, strlen(question), on_question_word, w);
}

static int on_sentence_word(void *ctx, const char *term, size_t len, size_t bs, size_t be)
{
    (void)bs;
    (void)be;
    struct xans_wv *w = ctx;
    int64_t r = sv_lookup(w->sv, term, len);
    bool have = r >= 0 && unit_row(w, r, w->row);
    size_t dim = w->sv->dim;
    double *best = w->best + w->cur * XWV_MAX_Q;
    bool *exact = w->exact + w->cur * XWV_MAX_Q;
    for (size_t k = 0; k < w->n_q; k++) {
        const struct qword *q = &w->q[k];
        if (q->row >= 0 ? q->row == r : (q->len == len && memcmp(q->text, term, len) == 0)) {
            exact[k] = true;
            best[k] = 1.0;
        } else if (have && q->row >= 0) {
            double dot = w->kern->dot_f32(w->qvec + k * dim, w->row, dim);
            if (dot > best[k])
                best[k] = dot;
        }
    }
    if (have) {
        float wt = (float)word_weight(w, r);
        for (size_t i = 0; i < dim; i++)
            w->ssum[i] += wt * w->row[i];
    }
    return 0;
}

frugal_status xans_wv_sentence(struct xans_wv *w, size_t i, const char *text, size_t len)
{
    if (i >= w->cap) {
        size_t ncap = w->cap > 0 ? 2 * w->cap : 64;
        while (ncap <= i)
            ncap *= 2;
        double *best = frugal_reallocarray(w->best, ncap * XWV_MAX_Q, sizeof *best);
        if (best == NULL)
            return FRUGAL_ENOMEM;
        w->best = best;
        bool *exact = frugal_reallocarray(w->exact, ncap * XWV_MAX_Q, sizeof *exact);
        if (exact == NULL)
            return FRUGAL_ENOMEM;
        w->exact = exact;
        double *cosine = frugal_reallocarray(w->cosine, ncap, sizeof *cosine);
        if (cosine == NULL)
            return FRUGAL_ENOMEM;
        w->cosine = cosine;
        w->cap = ncap;
    }
    w->cur = i;
    for (size_t k = 0; k < XWV_MAX_Q; k++) {
        w->best[i * XWV_MAX_Q + k] = 0.0;
        w->exact[i * XWV_MAX_Q + k] = false;
    }
    w->cosine[i] = 0.0;
    if (w->n_q == 0)
        return FRUGAL_OK;
    size_t dim = w->sv->dim;
    memset(w->ssum, 0, dim * sizeof *w->ssum);
    frugal_status rc = analyzer_run(w->an, text, len, on_sentence_word, w);
    if (rc != FRUGAL_OK)
        return rc;
    double dot = 0.0, nq = 0.0, ns = 0.0;
    for (size_t d = 0; d < dim; d++) {
        dot += (double)w->qsum[d] * w->ssum[d];
        nq += (double)w->qsum[d] * w->qsum[d];
        ns += (double)w->ssum[d] * w->ssum[d];
    }
    w->cosine[i] = nq > 0.0 && ns > 0.0 ? dot / sqrt(nq * ns) : 0.0;
    return FRUGAL_OK;
}

void xans_wv_pool(struct xans_wv *w, size_t n)
{
    double dn = (double)n;
    w->idf_sum = 0.0;
    for (size_t k = 0; k < w->n_q; k++) {
        double df = 0.0;
        for (size_t i = 0; i < n && i < w->cap; i++)
            df += w->exact[i * XWV_MAX_Q + k];
        w->idf[k] = log(1.0 + (dn - df + 0.5) / (df + 0.5));
        w->idf_sum += w->idf[k];
    }
}

void xans_wv_features(const struct xans_wv *w, size_t i, double out[XWV_N])
{
    for (size_t f = 0; f < XWV_N; f++)
        out[f] = 0.0;
    if (w->n_q == 0 || w->idf_sum <= 0.0 || i >= w->cap)
        return;
    const double *best = w->best + i * XWV_MAX_Q;
    const bool *exact = w->exact + i * XWV_MAX_Q;
    double soft = 0.0, extra = 0.0, high = 0.0;
    for (size_t k = 0; k < w->n_q; k++) {
        double m = best[k] > 1.0 ? 1.0 : best[k];
        soft += w->idf[k] * m;
        if (!exact[k])
            extra += w->idf[k] * m;
        if (exact[k] || m > XWV_HIGH)
            high += w->idf[k];
    }
    out[XWV_SOFT] = soft / w->idf_sum;
    out[XWV_SOFT_EXTRA] = extra / w->idf_sum;
    out[XWV_SOFT_HIGH] = high / w->idf_sum;
    out[XWV_COSINE] = w->cosine[i];
}
