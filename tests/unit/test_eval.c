/*
 * test_eval.c - unit tests of src/eval: the metrics on hand-worked rankings (every expected
 * value is derived in a comment), the parsers of BEIR and Cranfield files in tests/data/eval/
 * with their malformed-input errors, and frugal_eval_beir end to end on tests/data/eval/tiny-beir.
 *
 * log2(2) = 1, log2(3) = 1.5849625007, log2(4) = 2, so 1/log2(3) = 0.6309297536, 1/log2(4) = 0.5.
 */
#include "testutil.h"

#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "eval/eval.h"

#define EPS 1e-9

/* cmocka 1.1.5 compares floats only as float; these values need double precision. */
#define assert_double_equal(a, b, eps) assert_double_near((a), (b), (eps), #a)

static void assert_double_near(double got, double want, double eps, const char *what)
{
    if (!(got >= want - eps && got <= want + eps))
        fail_msg("%s = %.12f, expected %.12f", what, got, want);
}

static void read_data(const char *name, struct buf *out)
{
    char path[512];
    struct err e;
    err_clear(&e);
    snprintf(path, sizeof path, "%s/eval/%s", test_data_dir(), name);
    buf_init(out, 0);
    frugal_status rc = fs_read_file(path, 0, out, &e);
    if (rc != FRUGAL_OK)
        fail_msg("%s", e.msg);
}

/* ---- Metrics ---- */

static void test_ndcg_graded(void **state)
{
    (void)state;
    /* Ranked grades 2, 0, 1; judged grades {1, 2, 1}.
     * DCG  = 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0.5 = 2.5
     * IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.6309297536 + 0.5 = 3.1309297536
     * nDCG = 2.5 / 3.1309297536 = 0.7984848581 (linear gains, not 2^g - 1). */
    int ranked[] = {2, 0, 1};
    int judged[] = {1, 2, 1};
    assert_double_equal(eval_ndcg_at(ranked, 3, judged, 3, 10), 0.7984848580994974, EPS);
    /* judged was sorted in place, descending */
    assert_int_equal(judged[0], 2);
    assert_int_equal(judged[2], 1);
}

static void test_ndcg_ideal_cut_at_k(void **state)
{
    (void)state;
    /* 12 relevant documents of grade 1, the first 10 ranks all relevant: the ideal list is cut
     * at 10 too, so DCG = IDCG and nDCG@10 = 1. */
    int ranked[10];
    int judged[12];
    for (int i = 0; i < 10; i++)
        ranked[i] = 1;
    for (int i = 0; i < 12; i++)
        judged[i] = 1;
    assert_double_equal(eval_ndcg_at(ranked, 10, judged, 12, 10), 1.0, EPS);
}

static void test_ndcg_fewer_than_k(void **state)
{
    (void)state;
    /* Two hits, the second relevant; two relevant judged.
     * DCG = 1/log2(3) = 0.6309297536; IDCG = 1 + 0.6309297536 = 1.6309297536
     * nDCG = 0.3868528072. */
    int ranked[] = {0, 1};
    int judged[] = {1, 1};
    assert_double_equal(eval_ndcg_at(ranked, 2, judged, 2, 10), 0.38685280723454163, EPS);
    /* Nothing retrieved at all: 0. */
    assert_double_equal(eval_ndcg_at(NULL, 0, judged, 2, 10), 0.0, EPS);
}

static void test_none_relevant_retrieved(void **state)
{
    (void)state;
    int ranked[] = {0, 0, 0};
    int judged[] = {1, 0};
    assert_double_equal(eval_ndcg_at(ranked, 3, judged, 2, 10), 0.0, EPS);
    assert_double_equal(eval_recall_at(ranked, 3, 1, 100), 0.0, EPS);
    assert_double_equal(eval_mrr_at(ranked, 3, 10), 0.0, EPS);
}

static void test_negative_and_zero_grades(void **state)
{
    (void)state;
    /* Judged {-1, 0, 1}: only the 1 has gain. Ranked 1 first: DCG = IDCG = 1 -> 1.
     * A judged set without a positive grade has IDCG = 0 -> nDCG 0 by definition. */
    int ranked[] = {1, -1};
    int judged[] = {-1, 0, 1};
    assert_double_equal(eval_ndcg_at(ranked, 2, judged, 3, 10), 1.0, EPS);
    int none[] = {-1, 0};
    assert_double_equal(eval_ndcg_at(ranked, 2, none, 2, 10), 0.0, EPS);
}

static void test_relevant_past_10(void **state)
{
    (void)state;
    /* The only relevant document is at rank 11: nothing for nDCG@10 and MRR@10, but it counts
     * for Recall@100 (1 of 1). */
    int ranked[11] = {0};
    int judged[] = {1};
    ranked[10] = 1;
    assert_double_equal(eval_ndcg_at(ranked, 11, judged, 1, 10), 0.0, EPS);
    assert_double_equal(eval_mrr_at(ranked, 11, 10), 0.0, EPS);
    assert_double_equal(eval_recall_at(ranked, 11, 1, 100), 1.0, EPS);
}

static void test_recall(void **state)
{
    (void)state;
    /* 101 hits, relevant at ranks 5, 100 and 101, with 4 relevant judged: ranks 5 and 100 are
     * inside the top 100 -> 2/4 = 0.5. No relevant judged -> 0. */
    int ranked[101] = {0};
    ranked[4] = 1;
    ranked[99] = 2;
    ranked[100] = 1;
    assert_double_equal(eval_recall_at(ranked, 101, 4, 100), 0.5, EPS);
    assert_double_equal(eval_recall_at(ranked, 101, 0, 100), 0.0, EPS);
}

static void test_mrr(void **state)
{
    (void)state;
    /* First relevant at rank 3 -> 1/3; at rank 1 -> 1; at rank 10 -> 0.1. */
    int a[] = {0, 0, 2, 1};
    int b[] = {1};
    int c[10] = {0};
    c[9] = 1;
    assert_double_equal(eval_mrr_at(a, 4, 10), 1.0 / 3.0, EPS);
    assert_double_equal(eval_mrr_at(b, 1, 10), 1.0, EPS);
    assert_double_equal(eval_mrr_at(c, 10, 10), 0.1, EPS);
}

static void test_sort_hits_ties(void **state)
{
    (void)state;
    /* trec_eval: score descending, equal scores by id descending (strcmp: "d10" < "d9").
     * 1.0 + 1e-12 equals 1.0 as a float (trec_eval's type), so "a" still ties with the rest. */
    struct eval_hit hits[] = {
        {"a", 1.0 + 1e-12}, {"c", 2.0}, {"b", 1.0}, {"d10", 1.0}, {"d9", 1.0}, {"", 0.5},
    };
    eval_sort_hits(hits, 6);
    const char *expect[] = {"c", "d9", "d10", "b", "a", ""};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(hits[i].doc_id, expect[i]);
}

static void test_percentile(void **state)
{
    (void)state;
    /* Nearest rank: p50 of 5 values -> rank ceil(2.5) = 3 -> 3; p99 -> ceil(4.95) = 5 -> 5;
     * p20 -> ceil(1.0) = 1 -> 1. */
    double v[] = {5, 1, 4, 2, 3};
    assert_double_equal(eval_percentile(v, 5, 50.0), 3.0, EPS);
    assert_double_equal(eval_percentile(v, 5, 99.0), 5.0, EPS);
    assert_double_equal(eval_percentile(v, 5, 20.0), 1.0, EPS);
    /* 200 values 1..200: p99 -> rank 198; p50 -> rank 100. */
    double w[200];
    for (int i = 0; i < 200; i++)
        w[i] = 200 - i;
    assert_double_equal(eval_percentile(w, 200, 99.0), 198.0, EPS);
    assert_double_equal(eval_percentile(w, 200, 50.0), 100.0, EPS);
    double one[] = {7.5};
    assert_double_equal(eval_percentile(one, 1, 99.0), 7.5, EPS);
    assert_double_equal(eval_percentile(NULL, 0, 50.0), 0.0, EPS);
}

static void test_cranfield_relevance(void **state)
{
    (void)state;
    assert_int_equal(eval_cranfield_relevance(1), 4);
    assert_int_equal(eval_cranfield_relevance(2), 3);
    assert_int_equal(eval_cranfield_relevance(3), 2);
    assert_int_equal(eval_cranfield_relevance(4), 1);
    assert_int_equal(eval_cranfield_relevance(5), 0);
    assert_int_equal(eval_cranfield_relevance(-1), 0);
}

/* ---- Parsers ---- */

static void test_qrels_beir(void **state)
{
    (void)state;
    struct buf data;
    struct eval_qrels q;
    struct err e;
    read_data("qrels.tsv", &data);
    eval_qrels_init(&q);
    assert_int_equal(eval_qrels_parse_beir(data.ptr, data.len, &q, &e), FRUGAL_OK);
    /* header skipped, blank line skipped, "\r\n" accepted, (q1, d1) given twice: the last (3)
     * wins; sorted by (query, doc). */
    assert_int_equal(q.n, 4);
    assert_string_equal(q.items[0].query_id, "q0");
    assert_string_equal(q.items[1].doc_id, "d1");
    assert_int_equal(q.items[1].relevance, 3);
    assert_string_equal(q.items[2].doc_id, "d2");
    assert_int_equal(q.items[2].relevance, 2);
    assert_string_equal(q.items[3].query_id, "q2");
    assert_int_equal(q.items[3].relevance, 0);

    size_t first = 99;
    assert_int_equal(eval_qrels_query(&q, "q1", &first), 2);
    assert_int_equal(first, 1);
    assert_int_equal(eval_qrels_grade(&q, first, 2, "d2"), 2);
    assert_int_equal(eval_qrels_grade(&q, first, 2, "d9"), 0); /* judged for q0, not q1 */
    assert_int_equal(eval_qrels_grade(&q, first, 2, "zz"), 0);
    assert_int_equal(eval_qrels_query(&q, "q9", &first), 0);
    assert_int_equal(eval_qrels_query(&q, "a", &first), 0);
    eval_qrels_release(&q);
    eval_qrels_release(&q); /* release twice is harmless */
    buf_release(&data);

    /* No header: the first line is data. */
    read_data("qrels-noheader.tsv", &data);
    assert_int_equal(eval_qrels_parse_beir(data.ptr, data.len, &q, &e), FRUGAL_OK);
    assert_int_equal(q.n, 2);
    eval_qrels_release(&q);
    buf_release(&data);
}

static void test_qrels_beir_malformed(void **state)
{
    (void)state;
    struct buf data;
    struct eval_qrels q;
    struct err e;
    eval_qrels_init(&q);
    read_data("qrels-bad-fields.tsv", &data);
    err_clear(&e);
    assert_int_equal(eval_qrels_parse_beir(data.ptr, data.len, &q, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "line 2"));
    eval_qrels_release(&q);
    buf_release(&data);

    read_data("qrels-bad-score.tsv", &data);
    err_clear(&e);
    assert_int_equal(eval_qrels_parse_beir(data.ptr, data.len, &q, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "line 3"));
    assert_non_null(strstr(e.msg, "high"));
    eval_qrels_release(&q);
    buf_release(&data);

    const char empty_id[] = "q1\t\t1\n";
    assert_int_equal(eval_qrels_parse_beir(empty_id, sizeof empty_id - 1, &q, &e),
                     FRUGAL_ECORRUPT);
    eval_qrels_release(&q);
    const char too_many[] = "q1\td1\t1\textra\n";
    assert_int_equal(eval_qrels_parse_beir(too_many, sizeof too_many - 1, &q, &e),
                     FRUGAL_ECORRUPT);
    eval_qrels_release(&q);
    /* Empty input: no judgements, no error (the caller decides). */
    assert_int_equal(eval_qrels_parse_beir("", 0, &q, &e), FRUGAL_OK);
    assert_int_equal(q.n, 0);
}

static void test_qrels_cranfield(void **state)
{
    (void)state;
    struct buf data;
    struct eval_qrels q;
    struct err e;
    read_data("cranqrel", &data);
    eval_qrels_init(&q);
    /* Trailing blanks, a blank line and no final newline are accepted. Codes map to 5 - code,
     * -1 and 5 to 0. Sorted by strcmp: "184" < "29" < "486". */
    assert_int_equal(eval_qrels_parse_cranfield(data.ptr, data.len, &q, &e), FRUGAL_OK);
    assert_int_equal(q.n, 6);
    size_t first = 0;
    assert_int_equal(eval_qrels_query(&q, "1", &first), 3);
    assert_string_equal(q.items[first].doc_id, "184");
    assert_int_equal(q.items[first].relevance, 3);     /* code 2 */
    assert_int_equal(eval_qrels_grade(&q, first, 3, "29"), 4);  /* code 1 */
    assert_int_equal(eval_qrels_grade(&q, first, 3, "486"), 0); /* code -1 */
    assert_int_equal(eval_qrels_query(&q, "2", &first), 3);
    assert_int_equal(eval_qrels_grade(&q, first, 3, "12"), 1);  /* code 4 */
    assert_int_equal(eval_qrels_grade(&q, first, 3, "13"), 0);  /* code 5 */
    assert_int_equal(eval_qrels_grade(&q, first, 3, "14"), 2);  /* code 3 */
    eval_qrels_release(&q);
    buf_release(&data);

    read_data("cranqrel-bad-code", &data);
    err_clear(&e);
    assert_int_equal(eval_qrels_parse_cranfield(data.ptr, data.len, &q, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "line 2"));
    eval_qrels_release(&q);
    buf_release(&data);
}

static void test_queries_jsonl(void **state)
{
    (void)state;
    struct buf data;
    struct eval_queries q;
    struct err e;
    read_data("queries.jsonl", &data);
    eval_queries_init(&q);
    assert_int_equal(eval_queries_parse_jsonl(data.ptr, data.len, &q, &e), FRUGAL_OK);
    assert_int_equal(q.n, 3);
    assert_string_equal(q.items[0].id, "q1");
    assert_string_equal(q.items[0].text, "first query");
    assert_string_equal(q.items[1].id, "42"); /* a numeric _id becomes its decimal text */
    assert_string_equal(q.items[2].text, "caf\xc3\xa9 \"quoted\"");
    eval_queries_release(&q);
    buf_release(&data);

    read_data("queries-bad-json.jsonl", &data);
    err_clear(&e);
    assert_int_equal(eval_queries_parse_jsonl(data.ptr, data.len, &q, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "line 2"));
    eval_queries_release(&q);
    buf_release(&data);

    read_data("queries-no-text.jsonl", &data);
    err_clear(&e);
    assert_int_equal(eval_queries_parse_jsonl(data.ptr, data.len, &q, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "text"));
    eval_queries_release(&q);
    buf_release(&data);

    const char frac_id[] = "{\"_id\": 1.5, \"text\": \"x\"}\n";
    assert_int_equal(eval_queries_parse_jsonl(frac_id, sizeof frac_id - 1, &q, &e),
                     FRUGAL_ECORRUPT);
    eval_queries_release(&q);
    const char array[] = "[1, 2]\n";
    assert_int_equal(eval_queries_parse_jsonl(array, sizeof array - 1, &q, &e), FRUGAL_ECORRUPT);
    eval_queries_release(&q);
}

static void test_queries_cranfield(void **state)
{
    (void)state;
    struct buf data;
    struct eval_queries q;
    struct err e;
    read_data("cran.qry", &data);
    eval_queries_init(&q);
    assert_int_equal(eval_queries_parse_cranfield(data.ptr, data.len, &q, &e), FRUGAL_OK);
    /* Numbered by order (.I 001 -> "1", .I 004 -> "2"); lines joined with one space. */
    assert_int_equal(q.n, 2);
    assert_string_equal(q.items[0].id, "1");
    assert_string_equal(q.items[0].text, "what similarity laws must be obeyed when constructing "
                                         "aeroelastic models of heated high speed aircraft .");
    assert_string_equal(q.items[1].id, "2");
    assert_string_equal(q.items[1].text, "what problems of heat conduction .");
    eval_queries_release(&q);
    buf_release(&data);
}

static void test_cranfield_docs(void **state)
{
    (void)state;
    struct buf data;
    struct buf out;
    struct err e;
    size_t n_docs = 0;
    read_data("cran.all", &data);
    buf_init(&out, 0);
    assert_int_equal(eval_cranfield_docs_to_jsonl(data.ptr, data.len, &out, &n_docs, &e),
                     FRUGAL_OK);
    assert_int_equal(n_docs, 3);
    /* .A and .B dropped; lines trimmed and joined; quotes escaped; an empty document kept;
     * lines that merely start with '.' (".5 mach", ".Tail") are text. */
    assert_string_equal(out.ptr,
                        "{\"_id\":\"1\",\"title\":\"experimental investigation of a wing in a "
                        "slipstream .\",\"text\":\"experimental investigation of a wing . an "
                        "experimental study \\\"quoted\\\" was made .\"}\n"
                        "{\"_id\":\"2\",\"title\":\"\",\"text\":\"\"}\n"
                        "{\"_id\":\"3\",\"title\":\".5 mach flows .\",\"text\":\"text with .W "
                        "inside and .Tail lines .\"}\n");
    buf_release(&out);
    buf_release(&data);
}

static void test_cranfield_malformed(void **state)
{
    (void)state;
    const char *files[] = {"cran-bad-start.all", "cran-bad-field.all", "cran-bad-id.all"};
    const char *lines[] = {"line 1", "line 2", "line 1"};
    for (size_t i = 0; i < 3; i++) {
        struct buf data;
        struct buf out;
        struct err e;
        size_t n_docs = 0;
        read_data(files[i], &data);
        buf_init(&out, 0);
        err_clear(&e);
        assert_int_equal(eval_cranfield_docs_to_jsonl(data.ptr, data.len, &out, &n_docs, &e),
                         FRUGAL_ECORRUPT);
        assert_non_null(strstr(e.msg, lines[i]));
        buf_release(&out);
        buf_release(&data);
    }
    struct eval_queries q;
    struct err e;
    eval_queries_init(&q);
    assert_int_equal(eval_queries_parse_cranfield("", 0, &q, &e), FRUGAL_ECORRUPT);
    eval_queries_release(&q);
}

/* Every parser, with the Nth allocation failing for each N until one run needs no failure:
 * each must return FRUGAL_ENOMEM (or succeed) and leak nothing (checked under ASan). */
static void test_parsers_out_of_memory(void **state)
{
    (void)state;
    struct buf qrels_data;
    struct buf queries_data;
    struct buf cran_data;
    struct buf qry_data;
    read_data("qrels.tsv", &qrels_data);
    read_data("queries.jsonl", &queries_data);
    read_data("cran.all", &cran_data);
    read_data("cran.qry", &qry_data);
    for (int which = 0; which < 4; which++) {
        frugal_status rc = FRUGAL_ENOMEM;
        for (long n = 0; rc == FRUGAL_ENOMEM; n++) {
            struct eval_qrels q;
            struct eval_queries qs;
            struct buf out;
            struct err e;
            size_t n_docs = 0;
            eval_qrels_init(&q);
            eval_queries_init(&qs);
            buf_init(&out, 0);
            alloc_fail_after(n);
            if (which == 0)
                rc = eval_qrels_parse_beir(qrels_data.ptr, qrels_data.len, &q, &e);
            else if (which == 1)
                rc = eval_queries_parse_jsonl(queries_data.ptr, queries_data.len, &qs, &e);
            else if (which == 2)
                rc = eval_cranfield_docs_to_jsonl(cran_data.ptr, cran_data.len, &out, &n_docs,
                                                  &e);
            else
                rc = eval_queries_parse_cranfield(qry_data.ptr, qry_data.len, &qs, &e);
            alloc_fail_after(-1);
            assert_true(rc == FRUGAL_OK || rc == FRUGAL_ENOMEM);
            eval_qrels_release(&q);
            eval_queries_release(&qs);
            buf_release(&out);
            assert_true(n < 1000);
        }
    }
    buf_release(&qrels_data);
    buf_release(&queries_data);
    buf_release(&cran_data);
    buf_release(&qry_data);
}

/* ---- End to end ---- */

static void test_eval_beir_tiny(void **state)
{
    (void)state;
    char dir[] = "/tmp/frugal-test-eval-XXXXXX";
    char db_path[512];
    char beir[512];
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/eval.db", dir);
    snprintf(beir, sizeof beir, "%s/eval/tiny-beir", test_data_dir());
    frugal_db *db = NULL;
    frugal_status rc = frugal_open(db_path, NULL, &db);
    if (rc != FRUGAL_OK)
        fail_msg("open: %s", frugal_errmsg(db));
    frugal_eval_params p;
    frugal_eval_report r;
    frugal_eval_default_params(&p);
    rc = frugal_eval_beir(db, beir, &p, &r);
    if (rc != FRUGAL_OK)
        fail_msg("eval: %s: %s", frugal_strerror(rc), frugal_errmsg(db));
    /* Judged queries with a relevant document and a query text: q1, q2, q3, q6 (q4 has only a
     * 0 judgement, q5 is not in queries.jsonl). Each query matches only the documents with its
     * words:
     *   q1 "banana plantation" -> [d2]; judged d2:2, d4:1.
     *      nDCG = 2 / (2 + 1/log2(3)) = 0.7601875334; recall 1/2; RR 1
     *   q2 "cherry blossom" -> [d3]; judged d5:1 -> 0, 0, 0
     *   q3 "fig tree" -> [d6]; judged d6:1 -> 1, 1, 1
     *   q6 "kiwi salad" -> d7 and d8 tie (identical records), broken by id descending: [d8, d7];
     *      judged d7:1 -> nDCG = (1/log2(3)) / 1 = 0.6309297536; recall 1; RR 1/2
     * Means over 4: nDCG = (0.7601875334 + 0 + 1 + 0.6309297536) / 4 = 0.5977793218;
     * Recall@100 = (0.5 + 0 + 1 + 1) / 4 = 0.625; MRR@10 = (1 + 0 + 1 + 0.5) / 4 = 0.625. */
    assert_int_equal(r.queries, 4);
    assert_int_equal(r.documents, 8);
    assert_double_equal(r.ndcg_at_10, 0.5977793217508316, EPS);
    assert_double_equal(r.recall_at_100, 0.625, EPS);
    assert_double_equal(r.mrr_at_10, 0.625, EPS);
    assert_true(r.latency_ms_p50 > 0.0 && r.latency_ms_p50 <= r.latency_ms_p99);
    assert_true(r.ingest_seconds > 0.0);

    /* reuse: the collection holds the documents, so nothing is ingested again. */
    p.reuse = true;
    assert_int_equal(frugal_eval_beir(db, beir, &p, &r), FRUGAL_OK);
    assert_double_equal(r.ingest_seconds, 0.0, 0.0);
    assert_int_equal(r.documents, 8);
    assert_double_equal(r.ndcg_at_10, 0.5977793217508316, EPS);
    /* Without reuse the corpus is replaced, not doubled. */
    p.reuse = false;
    assert_int_equal(frugal_eval_beir(db, beir, &p, &r), FRUGAL_OK);
    assert_int_equal(r.documents, 8);
    assert_double_equal(r.mrr_at_10, 0.625, EPS);

    /* A missing split names the file it looked for. */
    p.split = "dev";
    assert_int_equal(frugal_eval_beir(db, beir, &p, &r), FRUGAL_ENOTFOUND);
    frugal_close(db);

    snprintf(db_path, sizeof db_path, "%s/eval.db", dir);
    unlink(db_path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db_path);
    unlink(side);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndcg_graded),
        cmocka_unit_test(test_ndcg_ideal_cut_at_k),
        cmocka_unit_test(test_ndcg_fewer_than_k),
        cmocka_unit_test(test_none_relevant_retrieved),
        cmocka_unit_test(test_negative_and_zero_grades),
        cmocka_unit_test(test_relevant_past_10),
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_mrr),
        cmocka_unit_test(test_sort_hits_ties),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_cranfield_relevance),
        cmocka_unit_test(test_qrels_beir),
        cmocka_unit_test(test_qrels_beir_malformed),
        cmocka_unit_test(test_qrels_cranfield),
        cmocka_unit_test(test_queries_jsonl),
        cmocka_unit_test(test_queries_cranfield),
        cmocka_unit_test(test_cranfield_docs),
        cmocka_unit_test(test_cranfield_malformed),
        cmocka_unit_test(test_parsers_out_of_memory),
        cmocka_unit_test(test_eval_beir_tiny),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
