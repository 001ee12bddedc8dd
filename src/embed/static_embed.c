/*
 * static_embed.c - sentence vectors from static word vectors (contract in static_vectors.h).
 *
 * How: the analyzer (language "none", no stopwords) splits the text into folded words; each
 * word found in the vocabulary adds weight(row) * vector(row) to a sum; the sum, with the
 * common direction projected out when one is set, is L2-normalized. Averaging before
 * normalizing changes nothing, so the weights' sum is never divided out.
 *
 * Weights are a table of one float per row, computed once on open. SIF (Arora et al. 2017,
 * "A simple but tough-to-beat baseline for sentence embeddings") weighs a word a / (a + p(w))
 * with p(w) its unigram probability; GloVe's files carry no counts, only the frequency order,
 * so p is Zipf's law over the ranks: p(r) = 1 / ((r + 1) * H_n), H_n = sum_{i=1..n} 1/i.
 * bench/glove.sh measures the choices on SciFact (BENCHMARKS.md): SIF with a = 1e-5 retrieved
 * best of the corpus-free weightings (nDCG@10 0.306 against 0.204 uniform and 0.217 for the
 * paper's a = 1e-3, whose p came from real counts; our Zipf estimate is flatter, so a smaller a
 * gives the rare words their due), so it is the default. Removing the corpus's first principal
 * component added under 0.005 and needs a corpus sample: optional (static_opts.common).
 *
 * Threading: one thread at a time per static_embedder (the analyzer and the scratch rows);
 * the mapped file itself is shared read-only.
 */
#include "embed/static_vectors.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "text/analyzer.h"

void static_default_opts(struct static_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->weighting = STATIC_WEIGHT_SIF;
    opts->sif_a = 1e-5;
    opts->verify = true;
}

bool static_weighting_parse(const char *s, enum static_weighting *out)
{
    if (strcmp(s, "sif") == 0)
        *out = STATIC_WEIGHT_SIF;
    else if (strcmp(s, "uniform") == 0)
        *out = STATIC_WEIGHT_UNIFORM;
    else if (strcmp(s, "custom") == 0)
        *out = STATIC_WEIGHT_CUSTOM;
    else
        return false;
    return true;
}

const char *static_weighting_name(enum static_weighting w)
{
    switch (w) {
    case STATIC_WEIGHT_SIF:
        return "sif";
    case STATIC_WEIGHT_UNIFORM:
        return "uniform";
    case STATIC_WEIGHT_CUSTOM:
        return "custom";
    }
    return "?";
}

void static_embedder_free(struct static_embedder *se)
{
    if (se == NULL)
        return;
    sv_close(se->sv);
    analyzer_free(se->an);
    frugal_free(se->weights);
    frugal_free(se->common);
    frugal_free(se->row);
    frugal_free(se->acc);
    frugal_free(se);
}

size_t static_embedder_dim(const struct static_embedder *se)
{
    return se->sv->dim;
}

static frugal_status make_weights(struct static_embedder *se, const struct static_opts *opts,
                                  struct err *err)
{
    size_t n = se->sv->n_words;
    double harmonic = 0;

    if (opts->weighting == STATIC_WEIGHT_UNIFORM)
        return FRUGAL_OK;
    if (opts->weighting == STATIC_WEIGHT_CUSTOM && opts->weights == NULL)
        return err_set(err, FRUGAL_EINVAL, "custom weighting needs a weight per word");
    if (opts->weighting == STATIC_WEIGHT_SIF && !(opts->sif_a > 0 && opts->sif_a < 1))
        return err_set(err, FRUGAL_EINVAL, "SIF's a must lie in (0, 1), not %g", opts->sif_a);
    se->weights = frugal_calloc(n, sizeof(float));
    if (se->weights == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (opts->weighting == STATIC_WEIGHT_CUSTOM) {
        for (size_t r = 0; r < n; r++) {
            if (!isfinite(opts->weights[r]))
                return err_set(err, FRUGAL_EINVAL, "weight of word %zu is not finite", r);
        }
        memcpy(se->weights, opts->weights, n * sizeof(float));
        return FRUGAL_OK;
    }
    for (size_t r = n; r > 0; r--)
        harmonic += 1.0 / (double)r;
    for (size_t r = 0; r < n; r++) {
        double p = 1.0 / ((double)(r + 1) * harmonic);
        se->weights[r] = (float)(opts->sif_a / (opts->sif_a + p));
    }
    return FRUGAL_OK;
}

frugal_status static_embedder_new(struct sv_file *sv, const struct static_opts *opts,
                                  struct static_embedder **out, struct err *err)
{
    struct static_opts defaults;
    struct analyzer_opts aopts = {.language = "none", .stopwords = ""};
    struct static_embedder *se;
    frugal_status rc;

    *out = NULL;
    if (opts == NULL) {
        static_default_opts(&defaults);
        opts = &defaults;
    }
    se = frugal_calloc(1, sizeof(*se));
    if (se == NULL) {
        sv_close(sv);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    se->sv = sv;
    se->weighting = opts->weighting;
    se->row = frugal_calloc(sv->dim, sizeof(float));
    se->acc = frugal_calloc(sv->dim, sizeof(float));
    if (se->row == NULL || se->acc == NULL)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    else
        rc = analyzer_new(&aopts, &se->an, err);
    if (rc == FRUGAL_OK)
        rc = make_weights(se, opts, err);
    if (rc == FRUGAL_OK && opts->common != NULL) {
        double norm = 0;
        for (size_t i = 0; i < sv->dim; i++)
            norm += (double)opts->common[i] * opts->common[i];
        if (!(norm > 0) || !isfinite(norm)) {
            rc = err_set(err, FRUGAL_EINVAL, "the common direction must be a non-zero vector");
        } else {
            se->common = frugal_calloc(sv->dim, sizeof(float));
            if (se->common == NULL)
                rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
            for (size_t i = 0; se->common != NULL && i < sv->dim; i++)
                se->common[i] = (float)(opts->common[i] / sqrt(norm));
        }
    }
    if (rc != FRUGAL_OK) {
        static_embedder_free(se);
        return rc;
    }
    *out = se;
    return FRUGAL_OK;
}

frugal_status static_embedder_open(const char *path, const struct static_opts *opts,
                                   struct static_embedder **out, struct err *err)
{
    struct sv_file *sv;
    frugal_status rc;

    *out = NULL;
    rc = sv_open(path, opts == NULL || opts->verify, &sv, err);
    if (rc != FRUGAL_OK)
        return rc;
    return static_embedder_new(sv, opts, out, err);
}

struct each_ctx {
    struct static_embedder *se;
    static_row_fn fn;
    void *ctx;
};

static int on_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
    struct each_ctx *ec = ctx;
    int64_t r = sv_lookup(ec->se->sv, term, len);
    (void)start;
    (void)end;
    if (r < 0)
        return 0;
    return ec->fn(ec->ctx, (size_t)r);
}

frugal_status static_embedder_each_row(struct static_embedder *se, const char *text, size_t len,
                                       static_row_fn fn, void *ctx)
{
    struct each_ctx ec = {se, fn, ctx};
    return analyzer_run(se->an, text, len, on_term, &ec);
}

static int accumulate(void *ctx, size_t r)
{
    struct static_embedder *se = ctx;
    float w = se->weights != NULL ? se->weights[r] : 1.0f;
    size_t dim = se->sv->dim;

    se->n_found++;
    if (w == 0.0f)
        return 0;
    sv_row(se->sv, r, se->row);
    for (size_t i = 0; i < dim; i++)
        se->acc[i] += w * se->row[i];
    return 0;
}

frugal_status static_embed(struct static_embedder *se, const char *text, size_t len, float *out)
{
    size_t dim = se->sv->dim;
    double norm = 0;
    frugal_status rc;

    memset(se->acc, 0, dim * sizeof(float));
    se->n_found = 0;
    rc = static_embedder_each_row(se, text, len, accumulate, se);
    if (rc != FRUGAL_OK)
        return rc;
    if (se->common != NULL) {
        double dot = 0;
        for (size_t i = 0; i < dim; i++)
            dot += (double)se->acc[i] * se->common[i];
        for (size_t i = 0; i < dim; i++)
            se->acc[i] -= (float)dot * se->common[i];
    }
    for (size_t i = 0; i < dim; i++)
        norm += (double)se->acc[i] * se->acc[i];
    norm = sqrt(norm);
    for (size_t i = 0; i < dim; i++)
        out[i] = norm > 0 ? (float)(se->acc[i] / norm) : 0.0f;
    return FRUGAL_OK;
}
