/*
 * glove_bench.c - the measuring side of `make bench-glove` (built and run by bench/glove.sh).
 *
 * Usage: glove_bench VECTORS.fsv [VECTORS_INT8.fsv] BEIR_DIR
 * Dense retrieval on a BEIR dataset (corpus.jsonl[.gz], queries.test.jsonl or queries.jsonl,
 * qrels/test.tsv) with GloVe sentence vectors (src/embed/static_vectors.h): every document is
 * embedded as title + " " + text, every query likewise, and documents are ranked by cosine
 * similarity, brute force. Prints one tab-separated line per weighting tried:
 *   name  nDCG@10  Recall@100  docs/s  queries/s
 * (metrics as pytrec_eval: linear gains, ties by doc id descending, means over judged queries;
 * docs/s and queries/s: sentence vectors per second on one thread, analyzer included).
 * The common-component ("+pc") variants use the first principal component (uncentered, as in
 * SIF) of the corpus's own document vectors, computed by power iteration.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "base/buf.h"
#include "base/fs.h"
#include "embed/static_vectors.h"
#include "eval/eval.h"

struct doc {
    char *id;
    char *text;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "glove_bench: %s: %s\n", what, msg);
    exit(1);
}

static struct doc *load_corpus(const char *dir, size_t *n_out)
{
    struct buf b;
    struct err e;
    char path[1024];
    struct doc *docs = NULL;
    size_t n = 0;
    size_t cap = 0;
    char *line;
    char *save = NULL;

    buf_init(&b, 0);
    snprintf(path, sizeof(path), "%s/corpus.jsonl.gz", dir);
    if (fs_read_file_gz(path, 0, &b, &e) != FRUGAL_OK) {
        snprintf(path, sizeof(path), "%s/corpus.jsonl", dir);
        if (fs_read_file_gz(path, 0, &b, &e) != FRUGAL_OK)
            die(path, e.msg);
    }
    for (line = strtok_r(b.ptr, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "_id");
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(o, "title");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
        struct buf t;
        if (!cJSON_IsString(id))
            die(path, "a line without _id");
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            docs = realloc(docs, cap * sizeof(*docs));
        }
        buf_init(&t, 0);
        if (cJSON_IsString(title))
            buf_printf(&t, "%s ", title->valuestring);
        if (cJSON_IsString(text))
            buf_puts(&t, text->valuestring);
        docs[n].id = strdup(id->valuestring);
        docs[n].text = buf_detach(&t);
        n++;
        cJSON_Delete(o);
    }
    buf_release(&b);
    *n_out = n;
    return docs;
}

static void read_or_die(const char *path, struct buf *b)
{
    struct err e;
    buf_init(b, 0);
    if (fs_read_file(path, 0, b, &e) != FRUGAL_OK)
        die(path, e.msg);
}

struct dataset {
    struct doc *docs;
    size_t n_docs;
    struct eval_queries queries;
    struct eval_qrels qrels;
};

struct result {
    double ndcg10;
    double recall100;
};

/* Embeds the n texts; returns the seconds taken and adds the words found to *words. */
static double embed_all(struct static_embedder *se, const char *const *texts, size_t n,
                        float *out, size_t *words)
{
    size_t dim = static_embedder_dim(se);
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        static_embed(se, texts[i], strlen(texts[i]), out + i * dim);
        if (words != NULL)
            *words += se->n_found;
    }
    return now() - t0;
}

/* First right singular vector of the (n, dim) rows: power iteration on X^T X. */
static void first_pc(const float *x, size_t n, size_t dim, float *pc)
{
    double *v = calloc(dim, sizeof(double));
    double *w = calloc(dim, sizeof(double));
    for (size_t i = 0; i < dim; i++)
        v[i] = 1.0 / sqrt((double)dim);
    for (int it = 0; it < 100; it++) {
        double norm = 0;
        memset(w, 0, dim * sizeof(double));
        for (size_t r = 0; r < n; r++) {
            double d = 0;
            for (size_t i = 0; i < dim; i++)
                d += x[r * dim + i] * v[i];
            for (size_t i = 0; i < dim; i++)
                w[i] += d * x[r * dim + i];
        }
        for (size_t i = 0; i < dim; i++)
            norm += w[i] * w[i];
        norm = sqrt(norm);
        for (size_t i = 0; i < dim; i++)
            v[i] = w[i] / norm;
    }
    for (size_t i = 0; i < dim; i++)
        pc[i] = (float)v[i];
    free(v);
    free(w);
}

struct scored {
    size_t doc;
    float score;
};

static int by_score(const void *a, const void *b)
{
    const struct scored *x = a;
    const struct scored *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

static void evaluate(const struct dataset *ds, const float *dv, const float *qv, size_t dim,
                     struct result *res)
{
    struct scored *s = malloc(ds->n_docs * sizeof(*s));
    struct eval_hit hits[100];
    int ranked[100];
    int *judged;
    double sum_ndcg = 0;
    double sum_recall = 0;
    size_t n_judged_queries = 0;

    for (size_t q = 0; q < ds->queries.n; q++) {
        size_t first;
        size_t nj = eval_qrels_query(&ds->qrels, ds->queries.items[q].id, &first);
        size_t n_rel = 0;
        size_t k = ds->n_docs < 100 ? ds->n_docs : 100;
        if (nj == 0)
            continue;
        for (size_t d = 0; d < ds->n_docs; d++) {
            float dot = 0;
            for (size_t i = 0; i < dim; i++)
                dot += qv[q * dim + i] * dv[d * dim + i];
            s[d].doc = d;
            s[d].score = dot;
        }
        qsort(s, ds->n_docs, sizeof(*s), by_score);
        for (size_t r = 0; r < k; r++) {
            hits[r].doc_id = ds->docs[s[r].doc].id;
            hits[r].score = s[r].score;
        }
        eval_sort_hits(hits, k);
        for (size_t r = 0; r < k; r++)
            ranked[r] = eval_qrels_grade(&ds->qrels, first, nj, hits[r].doc_id);
        judged = malloc(nj * sizeof(int));
        for (size_t j = 0; j < nj; j++) {
            judged[j] = ds->qrels.items[first + j].relevance;
            if (judged[j] > 0)
                n_rel++;
        }
        sum_ndcg += eval_ndcg_at(ranked, k, judged, nj, 10);
        sum_recall += eval_recall_at(ranked, k, n_rel, 100);
        free(judged);
        n_judged_queries++;
    }
    res->ndcg10 = n_judged_queries ? sum_ndcg / (double)n_judged_queries : 0;
    res->recall100 = n_judged_queries ? sum_recall / (double)n_judged_queries : 0;
    free(s);
}

struct df_ctx {
    uint32_t *df;
    uint32_t *last_doc; /* (n_words) last document that counted the word, + 1 */
    uint32_t doc;
};

static int count_df(void *ctx, size_t row)
{
    struct df_ctx *c = ctx;
    if (c->last_doc[row] != c->doc + 1) {
        c->last_doc[row] = c->doc + 1;
        c->df[row]++;
    }
    return 0;
}

static void run(const char *label, const char *path, const struct static_opts *opts,
                const struct dataset *ds, const char *const *dtexts, const char *const *qtexts,
                bool with_pc)
{
    struct static_embedder *se;
    struct err e;
    struct result res;
    size_t dim;
    float *dv;
    float *qv;

    if (static_embedder_open(path, opts, &se, &e) != FRUGAL_OK)
        die(path, e.msg);
    dim = static_embedder_dim(se);
    dv = malloc(ds->n_docs * dim * sizeof(float));
    qv = malloc(ds->queries.n * dim * sizeof(float));
    embed_all(se, dtexts, ds->n_docs, dv, NULL);
    embed_all(se, qtexts, ds->queries.n, qv, NULL);
    if (with_pc) {
        struct static_opts o2 = *opts;
        float *pc = malloc(dim * sizeof(float));
        first_pc(dv, ds->n_docs, dim, pc);
        o2.common = pc;
        static_embedder_free(se);
        if (static_embedder_open(path, &o2, &se, &e) != FRUGAL_OK)
            die(path, e.msg);
        embed_all(se, dtexts, ds->n_docs, dv, NULL);
        embed_all(se, qtexts, ds->queries.n, qv, NULL);
        free(pc);
    }
    evaluate(ds, dv, qv, dim, &res);
    printf("%s\t%.4f\t%.4f\n", label, res.ndcg10, res.recall100);
    fflush(stdout);
    free(dv);
    free(qv);
    static_embedder_free(se);
}

static void speed(const char *label, const char *path, const struct dataset *ds,
                  const char *const *dtexts, const char *const *qtexts)
{
    struct static_embedder *se;
    struct err e;
    double best_d = 1e30;
    double best_q = 1e30;
    size_t words = 0;
    float *dv;
    float *qv;

    if (static_embedder_open(path, NULL, &se, &e) != FRUGAL_OK)
        die(path, e.msg);
    dv = malloc(ds->n_docs * static_embedder_dim(se) * sizeof(float));
    qv = malloc(ds->queries.n * static_embedder_dim(se) * sizeof(float));
    for (int pass = 0; pass < 5; pass++) {
        size_t w = 0;
        double td = embed_all(se, dtexts, ds->n_docs, dv, &w);
        double tq = embed_all(se, qtexts, ds->queries.n, qv, NULL);
        if (td < best_d) {
            best_d = td;
            words = w;
        }
        if (tq < best_q)
            best_q = tq;
    }
    printf("speed\t%s\t%.0f\t%.0f\t%.0f\n", label, (double)ds->n_docs / best_d,
           (double)ds->queries.n / best_q, (double)words / best_d);
    free(dv);
    free(qv);
    static_embedder_free(se);
}

int main(int argc, char **argv)
{
    struct dataset ds;
    struct buf b;
    struct err e;
    char path[1024];
    const char *f16;
    const char *i8 = NULL;
    const char *dir;
    const char **dtexts;
    const char **qtexts;
    struct static_opts o;

    if (argc == 3) {
        f16 = argv[1];
        dir = argv[2];
    } else if (argc == 4) {
        f16 = argv[1];
        i8 = argv[2];
        dir = argv[3];
    } else {
        fprintf(stderr, "usage: glove_bench VECTORS.fsv [VECTORS_INT8.fsv] BEIR_DIR\n");
        return 2;
    }
    ds.docs = load_corpus(dir, &ds.n_docs);
    eval_queries_init(&ds.queries);
    eval_qrels_init(&ds.qrels);
    snprintf(path, sizeof(path), "%s/queries.test.jsonl", dir);
    buf_init(&b, 0);
    if (fs_read_file(path, 0, &b, &e) != FRUGAL_OK) {
        snprintf(path, sizeof(path), "%s/queries.jsonl", dir);
        buf_release(&b);
        read_or_die(path, &b);
    }
    if (eval_queries_parse_jsonl(b.ptr, b.len, &ds.queries, &e) != FRUGAL_OK)
        die(path, e.msg);
    buf_release(&b);
    snprintf(path, sizeof(path), "%s/qrels/test.tsv", dir);
    read_or_die(path, &b);
    if (eval_qrels_parse_beir(b.ptr, b.len, &ds.qrels, &e) != FRUGAL_OK)
        die(path, e.msg);
    buf_release(&b);
    dtexts = malloc(ds.n_docs * sizeof(char *));
    qtexts = malloc(ds.queries.n * sizeof(char *));
    for (size_t i = 0; i < ds.n_docs; i++)
        dtexts[i] = ds.docs[i].text;
    for (size_t i = 0; i < ds.queries.n; i++)
        qtexts[i] = ds.queries.items[i].text;

    static_default_opts(&o);
    o.weighting = STATIC_WEIGHT_UNIFORM;
    run("uniform", f16, &o, &ds, dtexts, qtexts, false);
    o.weighting = STATIC_WEIGHT_SIF;
    {
        static const double as[] = {1e-2, 1e-3, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6};
        for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
            char label[64];
            o.sif_a = as[i];
            snprintf(label, sizeof(label), "sif a=%g%s", as[i], as[i] == 1e-5 ? " (default)" : "");
            run(label, f16, &o, &ds, dtexts, qtexts, false);
        }
    }
    o.sif_a = 1e-5;
    run("sif a=1e-05 +pc", f16, &o, &ds, dtexts, qtexts, true);
    {
        /* idf estimated from the rank alone: log(1 / p(r)) under Zipf's law */
        struct static_embedder *se;
        float *w;
        size_t n_words;
        double h = 0;
        if (static_embedder_open(f16, NULL, &se, &e) != FRUGAL_OK)
            die(f16, e.msg);
        n_words = se->sv->n_words;
        static_embedder_free(se);
        for (size_t r = n_words; r > 0; r--)
            h += 1.0 / (double)r;
        w = malloc(n_words * sizeof(float));
        for (size_t r = 0; r < n_words; r++)
            w[r] = (float)log((double)(r + 1) * h);
        static_default_opts(&o);
        o.weighting = STATIC_WEIGHT_CUSTOM;
        o.weights = w;
        run("zipf idf log(1/p)", f16, &o, &ds, dtexts, qtexts, false);
        free(w);
    }
    {
        /* idf from the corpus itself: BM25's log(1 + (N - df + 0.5) / (df + 0.5)) */
        struct static_embedder *se;
        struct df_ctx c;
        float *w;
        size_t n_words;
        if (static_embedder_open(f16, NULL, &se, &e) != FRUGAL_OK)
            die(f16, e.msg);
        n_words = se->sv->n_words;
        c.df = calloc(n_words, sizeof(uint32_t));
        c.last_doc = calloc(n_words, sizeof(uint32_t));
        w = malloc(n_words * sizeof(float));
        for (c.doc = 0; c.doc < ds.n_docs; c.doc++)
            static_embedder_each_row(se, dtexts[c.doc], strlen(dtexts[c.doc]), count_df, &c);
        for (size_t r = 0; r < n_words; r++)
            w[r] = (float)log(1.0 + ((double)ds.n_docs - c.df[r] + 0.5) / (c.df[r] + 0.5));
        static_embedder_free(se);
        static_default_opts(&o);
        o.weighting = STATIC_WEIGHT_CUSTOM;
        o.weights = w;
        run("idf (corpus)", f16, &o, &ds, dtexts, qtexts, false);
        run("idf (corpus) +pc", f16, &o, &ds, dtexts, qtexts, true);
        free(w);
        free(c.df);
        free(c.last_doc);
    }
    if (i8 != NULL) {
        static_default_opts(&o);
        run("sif a=1e-05, int8 rows", i8, &o, &ds, dtexts, qtexts, false);
    }
    speed("float16", f16, &ds, dtexts, qtexts);
    if (i8 != NULL)
        speed("int8", i8, &ds, dtexts, qtexts);
    return 0;
}
