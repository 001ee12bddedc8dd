/*
 * eval.h - the database-free parts of retrieval evaluation (internal; the public entry points
 * are frugal_eval_beir and frugal_eval_cranfield in frugal.h).
 *
 * Contract:
 *  - Parsers read a whole file already in memory ({data, len}, borrowed, need not be
 *    NUL-terminated), fill an output struct owned by the caller (release it with the matching
 *    *_release, also after a failure), and fail with FRUGAL_ECORRUPT and "line N: why" in err
 *    on malformed input; the caller prefixes the file name.
 *  - Relevance grades are ints; a document is relevant when its grade is > 0. Gains for nDCG are
 *    the grade itself (linear), as trec_eval / pytrec_eval compute them; negative grades count 0.
 *  - Metric functions take the grades of a ranked list (grade 0 for unjudged documents) in rank
 *    order, best first, exactly as trec_eval would rank it (see eval_sort_hits).
 */
#ifndef FRUGAL_EVAL_EVAL_H
#define FRUGAL_EVAL_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* ---- Judgements ------------------------------------------------------------------------------ */

struct eval_qrel {
    char *query_id;  /* owned */
    char *doc_id;    /* owned */
    int relevance;   /* graded; > 0 means relevant */
};

struct eval_qrels {
    struct eval_qrel *items; /* owned; sorted by (query_id, doc_id) with strcmp, pairs unique
                                (a repeated pair keeps its last grade, like a Python dict) */
    size_t n;
};

void eval_qrels_init(struct eval_qrels *q);
void eval_qrels_release(struct eval_qrels *q);

/* BEIR qrels/SPLIT.tsv: "query-id<TAB>corpus-id<TAB>score" lines; a first line whose score field
 * is not an integer is the header and skipped. Blank lines are skipped; "\r\n" is accepted. */
frugal_status eval_qrels_parse_beir(const char *data, size_t len, struct eval_qrels *out,
                                    struct err *err);

/* Cranfield cranqrel: "query docid code" separated by spaces, blank lines skipped. The code is
 * Cleverdon's scale (1 = complete answer .. 4 = minimum interest, 5 = no interest, -1 = not
 * relevant) and is stored as relevance eval_cranfield_relevance(code). */
frugal_status eval_qrels_parse_cranfield(const char *data, size_t len, struct eval_qrels *out,
                                         struct err *err);

/* 5 - code for codes 1..4 (so 4 is best, as in ir_datasets' labels), 0 for -1 and 5. */
int eval_cranfield_relevance(int code);

/* The judgements of query_id: returns their number and sets *first to the index of the first
 * one in q->items (they are contiguous). 0 when the query has none. */
size_t eval_qrels_query(const struct eval_qrels *q, const char *query_id, size_t *first);

/* The grade of doc_id among the n judgements starting at items[first]; 0 when unjudged. */
int eval_qrels_grade(const struct eval_qrels *q, size_t first, size_t n, const char *doc_id);

/* ---- Queries --------------------------------------------------------------------------------- */

struct eval_query {
    char *id;    /* owned */
    char *text;  /* owned */
};

struct eval_queries {
    struct eval_query *items; /* owned, in file order */
    size_t n;
};

void eval_queries_init(struct eval_queries *q);
void eval_queries_release(struct eval_queries *q);

/* BEIR queries JSONL: one object per line with "_id" (string, or an integral number) and
 * "text" (string); other fields are ignored; blank lines are skipped. */
frugal_status eval_queries_parse_jsonl(const char *data, size_t len, struct eval_queries *out,
                                       struct err *err);

/* Cranfield cran.qry (SMART: ".I n" then ".W" and text lines). The queries are numbered 1, 2,
 * ... in file order, ignoring the .I numbers, because cranqrel numbers them that way. The text
 * lines are trimmed and joined with single spaces. */
frugal_status eval_queries_parse_cranfield(const char *data, size_t len,
                                           struct eval_queries *out, struct err *err);

/* ---- Cranfield documents --------------------------------------------------------------------- */

/* Converts cran.all.1400 (SMART: ".I id", then ".T" title, ".A" authors, ".B" bibliography,
 * ".W" text, each followed by its lines) into JSONL, one {"_id","title","text"} object per
 * document, appended to out. Lines of a field are trimmed and joined with single spaces; .A and
 * .B are dropped. A tag line is exactly ".T", ".A", ".B" or ".W" (trailing blanks allowed), or
 * ".I" followed by the id; any other line is text. *n_docs receives the number of documents. */
frugal_status eval_cranfield_docs_to_jsonl(const char *data, size_t len, struct buf *out,
                                           size_t *n_docs, struct err *err);

/* ---- Ranking and metrics --------------------------------------------------------------------- */

struct eval_hit {
    const char *doc_id; /* borrowed; never NULL ("" for a hit without an id) */
    double score;       /* higher is better */
};

/* Orders hits as trec_eval ranks a run: score descending, ties by doc_id descending (strcmp).
 * Scores are compared after rounding to float, as trec_eval stores them, so scores that differ
 * only beyond float precision tie. */
void eval_sort_hits(struct eval_hit *hits, size_t n);

/* nDCG@k: sum over the first min(k, n_ranked) ranks r = 1.. of gain / log2(r + 1), divided by the
 * same sum over the judged grades sorted descending. `judged` (the grades of all the query's
 * judged documents) is sorted in place. 0 when no judged grade is positive. */
double eval_ndcg_at(const int *ranked, size_t n_ranked, int *judged, size_t n_judged, size_t k);

/* Relevant documents (grade > 0) in the first k ranks divided by n_relevant; 0 when n_relevant
 * is 0. */
double eval_recall_at(const int *ranked, size_t n_ranked, size_t n_relevant, size_t k);

/* 1 / rank of the first relevant document within the first k ranks, else 0. */
double eval_mrr_at(const int *ranked, size_t n_ranked, size_t k);

/* Nearest-rank percentile p (0 < p <= 100) of values: the value at rank ceil(p / 100 * n) of
 * the sorted values. `values` is sorted in place. 0 when n is 0. */
double eval_percentile(double *values, size_t n, double p);

#endif
