/*
 * eval.c - retrieval quality and latency on standard test collections: BEIR folders and
 * Cranfield (frugal_eval_beir, frugal_eval_cranfield), plus the database-free pieces in eval.h.
 *
 * What: reads a collection's documents, queries and graded judgements, ingests the documents
 * into a collection of the database, runs every judged query through frugal_search (BM25,
 * dense or hybrid as params->mode says; the last two need params->embedder or a collection that
 * has one; one hit per document, top 100) and reports nDCG@10, Recall@100, MRR@10 and
 * per-query latency.
 *
 * How: this module is a CLIENT of the public API, a layer above src/frugal.c: it ingests with
 * frugal_ingest_buffer, counts documents with frugal_collection_list, searches with
 * frugal_search, and includes no store or index header. A BEIR corpus goes in as its
 * (inflated) JSONL bytes under the name "DIR/corpus.jsonl", so each record becomes a document
 * whose ext_id is its "_id"; Cranfield's SMART file is first converted to the same JSONL in
 * memory ("DIR/cran.all.1400.jsonl"). Unless params->reuse finds the collection already holding
 * documents, the corpus's earlier documents are deleted by source first and the ingestion is
 * timed, BM25 index build (frugal_optimize) included unless FRUGAL_BM25_ENGINE=fts5. Each
 * search is timed alone with CLOCK_MONOTONIC.
 *
 * The metrics are those of pytrec_eval (trec_eval), which BEIR reports: the run is ordered by
 * score descending with ties broken by document id descending (strcmp), as trec_eval sorts
 * (comp_sim_docno in form_res_rels.c; it holds scores as float, so we compare them as float);
 * nDCG@10 uses the grade as a linear gain and log2(rank + 1) as discount, the ideal DCG coming
 * from the query's judged grades sorted descending; Recall@100 counts relevant (grade > 0)
 * documents in the top 100 over all relevant ones; MRR@10 is 1 / rank of the first relevant
 * document in the top 10. Means are over the queries with at least one relevant judgement that
 * appear in the queries file (BEIR evaluates exactly those); a query that retrieves nothing
 * scores 0. Latency percentiles are nearest-rank.
 *
 * Cranfield's grades are Cleverdon's codes, 1 (complete answer) .. 4 (minimum interest), 5 (no
 * interest) and -1 (not relevant), per the cranqrel.readme shipped with the data. ir_datasets
 * passes the raw codes through yet labels 4 as "complete answer", the reverse of that readme;
 * we follow the readme and use relevance = 5 - code (1 -> 4 .. 4 -> 1), with -1 and 5 as 0.
 * Recall and MRR do not depend on the choice, nDCG@10 does. cranqrel numbers the queries
 * 1..225 in file order while cran.qry's .I numbers have gaps, so queries are numbered by order.
 *
 * Why in the library: `frugal eval` must measure exactly what users get, through the same calls,
 * and a benchmark that can run anywhere the library runs keeps quality regressions visible.
 *
 * Threading: none of its own; it uses the db handle from the calling thread only.
 */
#include "eval/eval.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/alloc.h"
#include "base/fs.h"
#include "base/log.h"
#include "frugal.h"
#include "frugal_internal.h"

#define EVAL_TOP_K 100
#define EVAL_NDCG_K 10
#define EVAL_MRR_K 10
#define EVAL_RECALL_K 100

/* ---- Lines and fields ----------------------------------------------------------------------- */

struct line_iter {
    const char *p;    /* next unread byte */
    const char *end;
    size_t lineno;    /* number of the line last returned, from 1 */
};

static void line_iter_init(struct line_iter *it, const char *data, size_t len)
{
    it->p = data;
    it->end = data + len;
    it->lineno = 0;
}

/* The next line without its "\n" or "\r\n"; false at the end. */
static bool line_next(struct line_iter *it, const char **line, size_t *len)
{
    if (it->p >= it->end)
        return false;
    const char *start = it->p;
    const char *nl = memchr(start, '\n', (size_t)(it->end - start));
    const char *stop = nl != NULL ? nl : it->end;
    it->p = nl != NULL ? nl + 1 : it->end;
    if (stop > start && stop[-1] == '\r')
        stop--;
    *line = start;
    *len = (size_t)(stop - start);
    it->lineno++;
    return true;
}

static bool is_blank_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank_char((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank_char((*s)[*len - 1]))
        (*len)--;
}

/* Splits s into at most max fields at `sep` (or at runs of blanks when sep is 0, ignoring
 * leading and trailing blanks). Returns the number of fields found, max + 1 when there are
 * more. */
static size_t split_fields(const char *s, size_t len, char sep, const char **fields,
                           size_t *lens, size_t max)
{
    size_t n = 0;
    size_t i = 0;
    if (sep == 0) {
        for (;;) {
            while (i < len && is_blank_char(s[i]))
                i++;
            if (i == len)
                return n;
            if (n == max)
                return max + 1;
            size_t start = i;
            while (i < len && !is_blank_char(s[i]))
                i++;
            fields[n] = s + start;
            lens[n] = i - start;
            n++;
        }
    }
    for (;;) {
        const char *hit = memchr(s + i, sep, len - i);
        size_t stop = hit != NULL ? (size_t)(hit - s) : len;
        if (n == max)
            return max + 1;
        fields[n] = s + i;
        lens[n] = stop - i;
        n++;
        if (hit == NULL)
            return n;
        i = stop + 1;
    }
}

/* Parses a whole field as a decimal int (optional sign); false when it is not one. */
static bool parse_int(const char *s, size_t len, int *out)
{
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        negative = s[i] == '-';
        i++;
    }
    if (i == len)
        return false;
    long long value = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (s[i] - '0');
        if (value > (long long)INT_MAX + 1)
            return false;
    }
    if (negative)
        value = -value;
    if (value > INT_MAX || value < INT_MIN)
        return false;
    *out = (int)value;
    return true;
}

/* ---- Judgements ------------------------------------------------------------------------------ */

void eval_qrels_init(struct eval_qrels *q)
{
    q->items = NULL;
    q->n = 0;
}

void eval_qrels_release(struct eval_qrels *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++) {
        frugal_free(q->items[i].query_id);
        frugal_free(q->items[i].doc_id);
    }
    frugal_free(q->items);
    eval_qrels_init(q);
}

int eval_cranfield_relevance(int code)
{
    return code >= 1 && code <= 4 ? 5 - code : 0;
}

/* A judgement with its position in the file, so that sorting can keep the last of a pair. */
struct qrel_seq {
    struct eval_qrel qrel;
    size_t seq;
};

static int qrel_seq_cmp(const void *a, const void *b)
{
    const struct qrel_seq *x = a;
    const struct qrel_seq *y = b;
    int c = strcmp(x->qrel.query_id, y->qrel.query_id);
    if (c == 0)
        c = strcmp(x->qrel.doc_id, y->qrel.doc_id);
    if (c == 0)
        c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return c;
}

/* Sorts q->items by (query_id, doc_id) and keeps the last judgement of a repeated pair. */
static frugal_status qrels_finish(struct eval_qrels *q, struct err *err)
{
    if (q->n == 0)
        return FRUGAL_OK;
    struct qrel_seq *tmp = frugal_reallocarray(NULL, q->n, sizeof *tmp);
    if (tmp == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < q->n; i++) {
        tmp[i].qrel = q->items[i];
        tmp[i].seq = i;
    }
    qsort(tmp, q->n, sizeof *tmp, qrel_seq_cmp);
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++) {
        bool same_as_next = i + 1 < q->n &&
                            strcmp(tmp[i].qrel.query_id, tmp[i + 1].qrel.query_id) == 0 &&
                            strcmp(tmp[i].qrel.doc_id, tmp[i + 1].qrel.doc_id) == 0;
        if (same_as_next) {
            frugal_free(tmp[i].qrel.query_id);
            frugal_free(tmp[i].qrel.doc_id);
            continue;
        }
        q->items[n++] = tmp[i].qrel;
    }
    q->n = n;
    frugal_free(tmp);
    return FRUGAL_OK;
}

static frugal_status qrels_push(struct eval_qrels *q, size_t *cap, const char *query_id,
                                size_t query_len, const char *doc_id, size_t doc_len,
                                int relevance, struct err *err)
{
    if (q->n == *cap) {
        size_t new_cap = *cap < 64 ? 64 : *cap * 2;
        struct eval_qrel *items = frugal_reallocarray(q->items, new_cap, sizeof *items);
        if (items == NULL)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        q->items = items;
        *cap = new_cap;
    }
    char *qid = frugal_strndup(query_id, query_len);
    char *did = frugal_strndup(doc_id, doc_len);
    if (qid == NULL || did == NULL) {
        frugal_free(qid);
        frugal_free(did);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    q->items[q->n].query_id = qid;
    q->items[q->n].doc_id = did;
    q->items[q->n].relevance = relevance;
    q->n++;
    return FRUGAL_OK;
}

/* Shared by both qrels formats: BEIR (sep '\t', header allowed) and Cranfield (sep 0, codes). */
static frugal_status qrels_parse(const char *data, size_t len, char sep, bool cranfield,
                                 struct eval_qrels *out, struct err *err)
{
    struct line_iter it;
    const char *line;
    size_t line_len;
    size_t cap = 0;
    bool first = true;
    frugal_status rc = FRUGAL_OK;
    line_iter_init(&it, data, len);
    while (rc == FRUGAL_OK && line_next(&it, &line, &line_len)) {
        const char *f[3];
        size_t flen[3];
        const char *check = line;
        size_t check_len = line_len;
        trim(&check, &check_len);
        if (check_len == 0)
            continue;
        size_t n = split_fields(line, line_len, sep, f, flen, 3);
        int grade = 0;
        bool grade_ok = n == 3 && parse_int(f[2], flen[2], &grade);
        if (first && !cranfield && n == 3 && !grade_ok) {
            first = false; /* the "query-id corpus-id score" header */
            continue;
        }
        first = false;
        if (n != 3)
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: expected 3 %s fields, found %s",
                           it.lineno, sep == '\t' ? "tab-separated" : "space-separated",
                           n > 3 ? "more" : n == 2 ? "2" : n == 1 ? "1" : "0");
        if (!grade_ok)
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: relevance \"%.*s\" is not an integer",
                           it.lineno, (int)(flen[2] > 32 ? 32 : flen[2]), f[2]);
        if (flen[0] == 0 || flen[1] == 0)
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: empty query or document id",
                           it.lineno);
        if (cranfield) {
            if (grade != -1 && (grade < 1 || grade > 5))
                return err_set(err, FRUGAL_ECORRUPT,
                               "line %zu: relevance code %d is not -1 or 1..5", it.lineno, grade);
            grade = eval_cranfield_relevance(grade);
        }
        rc = qrels_push(out, &cap, f[0], flen[0], f[1], flen[1], grade, err);
    }
    if (rc == FRUGAL_OK)
        rc = qrels_finish(out, err);
    return rc;
}

frugal_status eval_qrels_parse_beir(const char *data, size_t len, struct eval_qrels *out,
                                    struct err *err)
{
    return qrels_parse(data, len, '\t', false, out, err);
}

frugal_status eval_qrels_parse_cranfield(const char *data, size_t len, struct eval_qrels *out,
                                         struct err *err)
{
    return qrels_parse(data, len, 0, true, out, err);
}

size_t eval_qrels_query(const struct eval_qrels *q, const char *query_id, size_t *first)
{
    size_t lo = 0;
    size_t hi = q->n;
    while (lo < hi) { /* first item with query_id >= the one sought */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(q->items[mid].query_id, query_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < q->n && strcmp(q->items[end].query_id, query_id) == 0)
        end++;
    *first = lo;
    return end - lo;
}

int eval_qrels_grade(const struct eval_qrels *q, size_t first, size_t n, const char *doc_id)
{
    size_t lo = first;
    size_t hi = first + n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(q->items[mid].doc_id, doc_id);
        if (c == 0)
            return q->items[mid].relevance;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- Queries --------------------------------------------------------------------------------- */

void eval_queries_init(struct eval_queries *q)
{
    q->items = NULL;
    q->n = 0;
}

void eval_queries_release(struct eval_queries *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++) {
        frugal_free(q->items[i].id);
        frugal_free(q->items[i].text);
    }
    frugal_free(q->items);
    eval_queries_init(q);
}

/* Appends a query; takes ownership of id and text (freed on failure). */
static frugal_status queries_push(struct eval_queries *q, size_t *cap, char *id, char *text,
                                  struct err *err)
{
    if (id == NULL || text == NULL)
        goto out_nomem;
    if (q->n == *cap) {
        size_t new_cap = *cap < 64 ? 64 : *cap * 2;
        struct eval_query *items = frugal_reallocarray(q->items, new_cap, sizeof *items);
        if (items == NULL)
            goto out_nomem;
        q->items = items;
        *cap = new_cap;
    }
    q->items[q->n].id = id;
    q->items[q->n].text = text;
    q->n++;
    return FRUGAL_OK;
out_nomem:
    frugal_free(id);
    frugal_free(text);
    return err_set(err, FRUGAL_ENOMEM, "out of memory");
}

/* True when a JSON number is an integer that a double holds exactly. */
static bool json_integral(const cJSON *num)
{
    double v = num->valuedouble;
    return v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == floor(v);
}

/* The "_id" of a JSON record as text (a string, or an integral number); NULL when out of
 * memory or neither. */
static char *json_id(const cJSON *id)
{
    if (cJSON_IsString(id))
        return frugal_strdup(id->valuestring);
    if (!cJSON_IsNumber(id) || !json_integral(id))
        return NULL;
    double v = id->valuedouble;
    struct buf b;
    buf_init(&b, 0);
    if (buf_printf(&b, "%lld", (long long)v) != FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

frugal_status eval_queries_parse_jsonl(const char *data, size_t len, struct eval_queries *out,
                                       struct err *err)
{
    struct line_iter it;
    const char *line;
    size_t line_len;
    size_t cap = 0;
    frugal_status rc = FRUGAL_OK;
    line_iter_init(&it, data, len);
    while (rc == FRUGAL_OK && line_next(&it, &line, &line_len)) {
        const char *check = line;
        size_t check_len = line_len;
        trim(&check, &check_len);
        if (check_len == 0)
            continue;
        cJSON *rec = cJSON_ParseWithLength(line, line_len);
        if (!cJSON_IsObject(rec)) {
            cJSON_Delete(rec);
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: not a JSON object", it.lineno);
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "_id");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(rec, "text");
        if (!cJSON_IsString(id) && !cJSON_IsNumber(id))
            rc = err_set(err, FRUGAL_ECORRUPT, "line %zu: no \"_id\" string", it.lineno);
        else if (!cJSON_IsString(text))
            rc = err_set(err, FRUGAL_ECORRUPT, "line %zu: no \"text\" string", it.lineno);
        else if (cJSON_IsNumber(id) && !json_integral(id))
            rc = err_set(err, FRUGAL_ECORRUPT, "line %zu: \"_id\" is not an integer", it.lineno);
        if (rc == FRUGAL_OK)
            rc = queries_push(out, &cap, json_id(id), frugal_strdup(text->valuestring), err);
        cJSON_Delete(rec);
    }
    return rc;
}

/* ---- SMART files (Cranfield) -------------------------------------------------------------- */

/* One record of a SMART file as the parser hands it over: all fields borrowed. */
struct smart_record {
    const char *id;      /* NUL-terminated */
    const char *title;   /* .T lines joined, "" when none */
    const char *text;    /* .W lines joined, "" when none */
};

typedef frugal_status (*smart_record_fn)(void *ctx, const struct smart_record *rec,
                                         struct err *err);

struct smart_state {
    struct buf id;
    struct buf title;
    struct buf text;
    bool open;       /* a record has started */
    char field;      /* 'T', 'A', 'B', 'W', or 0 between ".I" and the first tag */
};

static frugal_status smart_emit(struct smart_state *st, smart_record_fn fn, void *ctx,
                                struct err *err)
{
    struct smart_record rec = {
        .id = st->id.ptr,
        .title = st->title.ptr != NULL ? st->title.ptr : "",
        .text = st->text.ptr != NULL ? st->text.ptr : "",
    };
    frugal_status rc = fn(ctx, &rec, err);
    buf_reset(&st->id);
    buf_reset(&st->title);
    buf_reset(&st->text);
    return rc;
}

static frugal_status join_line(struct buf *b, const char *s, size_t len)
{
    frugal_status rc = FRUGAL_OK;
    if (b->len > 0)
        rc = buf_putc(b, ' ');
    if (rc == FRUGAL_OK)
        rc = buf_append(b, s, len);
    return rc;
}

/* Reads one SMART line into the parser state, emitting the previous record at each ".I". */
static frugal_status smart_line(struct smart_state *st, const char *line, size_t len,
                                size_t lineno, smart_record_fn fn, void *ctx, struct err *err)
{
    const char *t = line;
    size_t tlen = len;
    trim(&t, &tlen);
    if (len >= 2 && line[0] == '.' && line[1] == 'I' && (len == 2 || is_blank_char(line[2]))) {
        const char *id = line + 2;
        size_t id_len = len - 2;
        trim(&id, &id_len);
        if (id_len == 0)
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: .I without an id", lineno);
        frugal_status rc = st->open ? smart_emit(st, fn, ctx, err) : FRUGAL_OK;
        if (rc == FRUGAL_OK && buf_append(&st->id, id, id_len) != FRUGAL_OK)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        st->open = true;
        st->field = 0;
        return rc;
    }
    if (tlen == 2 && t == line && t[0] == '.' && t[1] != '\0' && strchr("TABW", t[1]) != NULL) {
        if (!st->open)
            return err_set(err, FRUGAL_ECORRUPT, "line %zu: .%c before the first .I", lineno,
                           t[1]);
        st->field = t[1];
        return FRUGAL_OK;
    }
    if (tlen == 0)
        return FRUGAL_OK;
    if (!st->open || st->field == 0)
        return err_set(err, FRUGAL_ECORRUPT, "line %zu: text outside a .T, .A, .B or .W field",
                       lineno);
    struct buf *dest = st->field == 'T' ? &st->title : st->field == 'W' ? &st->text : NULL;
    if (dest != NULL && join_line(dest, t, tlen) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    return FRUGAL_OK;
}

static frugal_status smart_parse(const char *data, size_t len, smart_record_fn fn, void *ctx,
                                 struct err *err)
{
    struct smart_state st;
    struct line_iter it;
    const char *line;
    size_t line_len;
    frugal_status rc = FRUGAL_OK;
    buf_init(&st.id, 0);
    buf_init(&st.title, 0);
    buf_init(&st.text, 0);
    st.open = false;
    st.field = 0;
    line_iter_init(&it, data, len);
    while (rc == FRUGAL_OK && line_next(&it, &line, &line_len))
        rc = smart_line(&st, line, line_len, it.lineno, fn, ctx, err);
    if (rc == FRUGAL_OK && st.open)
        rc = smart_emit(&st, fn, ctx, err);
    if (rc == FRUGAL_OK && !st.open)
        rc = err_set(err, FRUGAL_ECORRUPT, "no .I record");
    buf_release(&st.id);
    buf_release(&st.title);
    buf_release(&st.text);
    return rc;
}

struct cran_queries_ctx {
    struct eval_queries *out;
    size_t cap;
};

static frugal_status cran_query_record(void *ctx, const struct smart_record *rec,
                                       struct err *err)
{
    struct cran_queries_ctx *c = ctx;
    struct buf id;
    buf_init(&id, 0);
    if (buf_printf(&id, "%zu", c->out->n + 1) != FRUGAL_OK) {
        buf_release(&id);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    return queries_push(c->out, &c->cap, buf_detach(&id), frugal_strdup(rec->text), err);
}

frugal_status eval_queries_parse_cranfield(const char *data, size_t len,
                                           struct eval_queries *out, struct err *err)
{
    struct cran_queries_ctx ctx = {.out = out, .cap = 0};
    return smart_parse(data, len, cran_query_record, &ctx, err);
}

struct cran_docs_ctx {
    struct buf *out;
    size_t n_docs;
};

static frugal_status cran_doc_record(void *ctx, const struct smart_record *rec, struct err *err)
{
    struct cran_docs_ctx *c = ctx;
    frugal_status rc = FRUGAL_OK;
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL || cJSON_AddStringToObject(obj, "_id", rec->id) == NULL ||
        cJSON_AddStringToObject(obj, "title", rec->title) == NULL ||
        cJSON_AddStringToObject(obj, "text", rec->text) == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        goto out_delete;
    }
    char *json = cJSON_PrintUnformatted(obj);
    if (json == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
        goto out_delete;
    }
    rc = buf_puts(c->out, json);
    if (rc == FRUGAL_OK)
        rc = buf_putc(c->out, '\n');
    if (rc != FRUGAL_OK)
        err_set(err, rc, "documents as JSONL: %s", frugal_strerror(rc));
    else
        c->n_docs++;
    cJSON_free(json);
out_delete:
    cJSON_Delete(obj);
    return rc;
}

frugal_status eval_cranfield_docs_to_jsonl(const char *data, size_t len, struct buf *out,
                                           size_t *n_docs, struct err *err)
{
    struct cran_docs_ctx ctx = {.out = out, .n_docs = 0};
    frugal_status rc = smart_parse(data, len, cran_doc_record, &ctx, err);
    *n_docs = ctx.n_docs;
    return rc;
}

/* ---- Ranking and metrics --------------------------------------------------------------------- */

static int hit_cmp(const void *a, const void *b)
{
    const struct eval_hit *x = a;
    const struct eval_hit *y = b;
    float xs = (float)x->score; /* trec_eval keeps scores as float: closer ones tie */
    float ys = (float)y->score;
    if (xs > ys)
        return -1;
    if (xs < ys)
        return 1;
    return strcmp(y->doc_id, x->doc_id);
}

void eval_sort_hits(struct eval_hit *hits, size_t n)
{
    if (n > 1)
        qsort(hits, n, sizeof *hits, hit_cmp);
}

static int int_desc_cmp(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x < y) - (x > y);
}

static double dcg(const int *grades, size_t n, size_t k)
{
    double sum = 0.0;
    for (size_t i = 0; i < n && i < k; i++) {
        if (grades[i] > 0)
            sum += grades[i] / log2((double)i + 2.0);
    }
    return sum;
}

double eval_ndcg_at(const int *ranked, size_t n_ranked, int *judged, size_t n_judged, size_t k)
{
    if (n_judged > 1)
        qsort(judged, n_judged, sizeof *judged, int_desc_cmp);
    double ideal = dcg(judged, n_judged, k);
    return ideal > 0.0 ? dcg(ranked, n_ranked, k) / ideal : 0.0;
}

double eval_recall_at(const int *ranked, size_t n_ranked, size_t n_relevant, size_t k)
{
    if (n_relevant == 0)
        return 0.0;
    size_t found = 0;
    for (size_t i = 0; i < n_ranked && i < k; i++)
        found += ranked[i] > 0;
    return (double)found / (double)n_relevant;
}

double eval_mrr_at(const int *ranked, size_t n_ranked, size_t k)
{
    for (size_t i = 0; i < n_ranked && i < k; i++) {
        if (ranked[i] > 0)
            return 1.0 / (double)(i + 1);
    }
    return 0.0;
}

static int double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double eval_percentile(double *values, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    qsort(values, n, sizeof *values, double_cmp);
    double rank = ceil(p / 100.0 * (double)n);
    size_t r = rank < 1.0 ? 1 : rank > (double)n ? n : (size_t)rank;
    return values[r - 1];
}

/* ---- Evaluation through the public API ------------------------------------------------------ */

void frugal_eval_default_params(frugal_eval_params *params)
{
    memset(params, 0, sizeof *params);
    params->split = "test";
    params->collection = "eval";
    params->reuse = false;
    params->fusion = FRUGAL_SEARCH_DEFAULT_FUSION;
    params->alpha = FRUGAL_SEARCH_DEFAULT_ALPHA;
}

/* Logs err's message (a db handle holds messages only of the calls it served) and returns its
 * code. */
static frugal_status eval_fail(frugal_db *db, const struct err *e)
{
    db_set_error(db, e->code, e->msg);
    return e->code;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir without trailing slashes (but "/" stays), + "/" + name, into b (reset first). */
static frugal_status join_path(struct buf *b, const char *dir, const char *name)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    buf_reset(b);
    frugal_status rc = buf_append(b, dir, len);
    if (rc == FRUGAL_OK && (len == 0 || dir[len - 1] != '/'))
        rc = buf_putc(b, '/');
    if (rc == FRUGAL_OK)
        rc = buf_puts(b, name);
    return rc;
}

/* Sets b to the first of names that exists under dir; ENOTFOUND naming them all if none. */
static frugal_status find_file(struct buf *b, const char *dir, const char *const *names,
                               size_t n_names, struct err *err)
{
    for (size_t i = 0; i < n_names; i++) {
        if (join_path(b, dir, names[i]) != FRUGAL_OK)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        if (is_file(b->ptr))
            return FRUGAL_OK;
    }
    return err_set(err, FRUGAL_ENOTFOUND, "%s: no %s%s%s", dir, names[0],
                   n_names > 1 ? " or " : "", n_names > 1 ? names[n_names - 1] : "");
}

static frugal_status read_file(const char *path, struct buf *out, struct err *err)
{
    buf_reset(out);
    return fs_read_file_gz(path, 0, out, err);
}

/* The number of documents in collection `name`, 0 when it does not exist. */
static frugal_status collection_documents(frugal_db *db, const char *name, int64_t *n_docs)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_status rc = frugal_collection_list(db, &list, &n);
    *n_docs = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++) {
        if (strcmp(list[i].name, name) == 0)
            *n_docs = list[i].n_documents;
    }
    frugal_collection_list_free(list, n);
    return rc;
}

/* Produces the corpus as JSONL (what `source` will be ingested from). */
typedef frugal_status (*corpus_fn)(const char *dir, struct buf *jsonl, struct err *err);

/* What both collections need to run: owned by the caller. */
struct eval_job {
    const char *dir;              /* the collection's folder */
    const char *source;           /* name the corpus is ingested under, ends in ".jsonl" */
    corpus_fn load_corpus;
    struct eval_queries queries;
    struct eval_qrels qrels;
};

/* Ingests the corpus unless params->reuse finds documents; sets report->ingest_seconds. */
static frugal_status eval_ingest(frugal_db *db, const struct eval_job *job,
                                 const frugal_eval_params *params, frugal_eval_report *report)
{
    struct err e;
    int64_t n_docs = 0;
    err_clear(&e);
    frugal_status rc = collection_documents(db, params->collection, &n_docs);
    if (rc == FRUGAL_OK && params->embedder != NULL) {
        /* the collection gets the embedder (created with it, or given it while empty) */
        frugal_collection_params cp;
        frugal_collection_default_params(&cp);
        cp.embedder = params->embedder;
        rc = frugal_collection_create(db, params->collection, &cp);
        if (rc == FRUGAL_EEXIST)
            rc = frugal_collection_set_embedder(db, params->collection, params->embedder, NULL);
    }
    if (rc != FRUGAL_OK || (params->reuse && n_docs > 0))
        return rc;
    struct buf corpus;
    buf_init(&corpus, 0);
    rc = job->load_corpus(job->dir, &corpus, &e);
    if (rc != FRUGAL_OK) {
        buf_release(&corpus);
        return eval_fail(db, &e);
    }
    if (n_docs > 0) {
        rc = frugal_document_delete_source(db, params->collection, job->source, NULL);
        if (rc == FRUGAL_ENOTFOUND)
            rc = FRUGAL_OK;
    }
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    frugal_ingest_params ip;
    frugal_ingest_report ir;
    frugal_ingest_default_params(&ip);
    ip.collection = params->collection;
    if (params->chunk_tokens > 0) {
        ip.chunk_tokens = params->chunk_tokens;
        ip.chunk_overlap = params->chunk_overlap;
    }
    if (ip.max_file_bytes < corpus.len + 1)
        ip.max_file_bytes = corpus.len + 1;
    memset(&ir, 0, sizeof ir);
    if (rc == FRUGAL_OK)
        rc = frugal_ingest_buffer(db, job->source, corpus.ptr != NULL ? corpus.ptr : "",
                                  corpus.len, &ip, &ir);
    /* builds the BM25 index file now, so that no timed search pays for it (not for FTS5) */
    const char *engine = getenv("FRUGAL_BM25_ENGINE");
    if (rc == FRUGAL_OK && (engine == NULL || strcmp(engine, "fts5") != 0))
        rc = frugal_optimize(db, params->collection);
    if (rc == FRUGAL_OK && params->mode != FRUGAL_SEARCH_BM25) {
        /* the same for the vector index: one search builds it */
        frugal_search_params sp;
        frugal_results *res = NULL;
        frugal_search_default_params(&sp);
        sp.collection = params->collection;
        sp.mode = FRUGAL_SEARCH_DENSE;
        sp.k = 1;
        rc = frugal_search(db, "warm up", &sp, &res);
        frugal_results_free(res);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    buf_release(&corpus);
    report->ingest_seconds = seconds_between(&t0, &t1);
    if (rc == FRUGAL_OK && ir.failed > 0)
        log_warn("eval: %s: %zu of %zu records failed to ingest", job->source, ir.failed,
                 ir.added + ir.updated + ir.unchanged + ir.failed);
    return rc;
}

/* Buffers for scoring one query, sized once. */
struct eval_scratch {
    struct eval_hit *hits;  /* EVAL_TOP_K */
    int *ranked;            /* EVAL_TOP_K grades in rank order */
    int *judged;            /* max judgements of one query */
    double *latency_ms;     /* one per evaluated query */
};

/* Searches one query and adds its metrics to the sums; appends its latency. */
static frugal_status eval_query(frugal_db *db, const struct eval_job *job,
                                const struct eval_query *query, size_t first, size_t n_judged,
                                const frugal_eval_params *params, struct eval_scratch *s,
                                size_t n_done, double sums[3])
{
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = params->collection;
    sp.mode = params->mode;
    sp.fusion = params->fusion;
    sp.alpha = params->alpha;
    sp.k = EVAL_TOP_K;
    sp.group_by_document = true;
    sp.snippets = false;
    frugal_results *res = NULL;
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    frugal_status rc = frugal_search(db, query->text, &sp, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == FRUGAL_EEMPTY) /* nothing to search for once analyzed: nothing retrieved */
        rc = FRUGAL_OK;
    if (rc != FRUGAL_OK) {
        frugal_results_free(res);
        return rc;
    }
    s->latency_ms[n_done] = seconds_between(&t0, &t1) * 1e3;
    size_t n_hits = 0;
    for (size_t i = 0; res != NULL && i < res->n_hits && n_hits < EVAL_TOP_K; i++) {
        const frugal_hit *h = &res->hits[i];
        s->hits[n_hits].doc_id = h->ext_id != NULL ? h->ext_id : "";
        s->hits[n_hits].score = h->score;
        n_hits++;
    }
    eval_sort_hits(s->hits, n_hits);
    size_t n_ranked = 0;
    size_t n_relevant = 0;
    for (size_t i = 0; i < n_hits; i++) {
        bool seen = false; /* a document ranked twice counts once, at its best rank */
        for (size_t j = 0; j < i && !seen && s->hits[i].doc_id[0] != '\0'; j++)
            seen = strcmp(s->hits[j].doc_id, s->hits[i].doc_id) == 0;
        if (!seen)
            s->ranked[n_ranked++] = eval_qrels_grade(&job->qrels, first, n_judged,
                                                     s->hits[i].doc_id);
    }
    for (size_t i = 0; i < n_judged; i++) {
        s->judged[i] = job->qrels.items[first + i].relevance;
        n_relevant += s->judged[i] > 0;
    }
    sums[0] += eval_ndcg_at(s->ranked, n_ranked, s->judged, n_judged, EVAL_NDCG_K);
    sums[1] += eval_recall_at(s->ranked, n_ranked, n_relevant, EVAL_RECALL_K);
    sums[2] += eval_mrr_at(s->ranked, n_ranked, EVAL_MRR_K);
    frugal_results_free(res);
    return FRUGAL_OK;
}

/* True when the n judgements from `first` hold a relevant one. */
static bool has_relevant(const struct eval_qrels *q, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (q->items[first + i].relevance > 0)
            return true;
    }
    return false;
}

static frugal_status eval_run(frugal_db *db, const struct eval_job *job,
                              const frugal_eval_params *params, frugal_eval_report *report)
{
    struct eval_scratch s = {0};
    size_t n_eval = 0;
    size_t max_judged = 1;
    double sums[3] = {0.0, 0.0, 0.0};
    struct err e;
    err_clear(&e);
    for (size_t i = 0; i < job->queries.n; i++) {
        size_t first = 0;
        size_t n = eval_qrels_query(&job->qrels, job->queries.items[i].id, &first);
        if (has_relevant(&job->qrels, first, n)) {
            n_eval++;
            max_judged = n > max_judged ? n : max_judged;
        }
    }
    if (n_eval == 0) {
        err_set(&e, FRUGAL_EEMPTY, "%s: no query with a relevant judgement", job->dir);
        return eval_fail(db, &e);
    }
    frugal_status rc = eval_ingest(db, job, params, report);
    if (rc == FRUGAL_OK) {
        int64_t n_docs = 0;
        rc = collection_documents(db, params->collection, &n_docs);
        report->documents = n_docs > 0 ? (size_t)n_docs : 0;
    }
    if (rc != FRUGAL_OK)
        return rc;
    s.hits = frugal_reallocarray(NULL, EVAL_TOP_K, sizeof *s.hits);
    s.ranked = frugal_reallocarray(NULL, EVAL_TOP_K, sizeof *s.ranked);
    s.judged = frugal_reallocarray(NULL, max_judged, sizeof *s.judged);
    s.latency_ms = frugal_reallocarray(NULL, n_eval, sizeof *s.latency_ms);
    if (s.hits == NULL || s.ranked == NULL || s.judged == NULL || s.latency_ms == NULL) {
        err_set(&e, FRUGAL_ENOMEM, "out of memory");
        rc = eval_fail(db, &e);
    }
    size_t n_done = 0;
    for (size_t i = 0; rc == FRUGAL_OK && i < job->queries.n; i++) {
        size_t first = 0;
        size_t n = eval_qrels_query(&job->qrels, job->queries.items[i].id, &first);
        if (!has_relevant(&job->qrels, first, n))
            continue;
        rc = eval_query(db, job, &job->queries.items[i], first, n, params, &s, n_done, sums);
        if (rc == FRUGAL_OK)
            n_done++;
        if (rc == FRUGAL_OK && params->on_progress != NULL)
            params->on_progress(params->ctx, n_done, n_eval);
    }
    if (rc == FRUGAL_OK) {
        report->queries = n_done;
        report->ndcg_at_10 = sums[0] / (double)n_done;
        report->recall_at_100 = sums[1] / (double)n_done;
        report->mrr_at_10 = sums[2] / (double)n_done;
        report->latency_ms_p50 = eval_percentile(s.latency_ms, n_done, 50.0);
        report->latency_ms_p99 = eval_percentile(s.latency_ms, n_done, 99.0);
    }
    frugal_free(s.hits);
    frugal_free(s.ranked);
    frugal_free(s.judged);
    frugal_free(s.latency_ms);
    return rc;
}

static void eval_job_release(struct eval_job *job)
{
    eval_queries_release(&job->queries);
    eval_qrels_release(&job->qrels);
}

/* Fills defaults for NULL params or NULL fields, into *out. */
static void eval_params_resolve(const frugal_eval_params *params, frugal_eval_params *out)
{
    frugal_eval_default_params(out);
    if (params == NULL)
        return;
    *out = *params;
    if (out->split == NULL || out->split[0] == '\0')
        out->split = "test";
    if (out->collection == NULL || out->collection[0] == '\0')
        out->collection = "eval";
}

static frugal_status beir_corpus(const char *dir, struct buf *jsonl, struct err *err)
{
    static const char *const names[] = {"corpus.jsonl", "corpus.jsonl.gz"};
    struct buf path;
    buf_init(&path, 0);
    frugal_status rc = find_file(&path, dir, names, 2, err);
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, jsonl, err);
    buf_release(&path);
    return rc;
}

/* Reads and parses the BEIR queries and qrels of `split` into job. */
static frugal_status beir_load(struct eval_job *job, const char *split, struct err *err)
{
    struct buf name[4];
    struct buf path;
    struct buf data;
    frugal_status rc = FRUGAL_OK;
    for (size_t i = 0; i < 4; i++)
        buf_init(&name[i], 0);
    buf_init(&path, 0);
    buf_init(&data, 0);
    if (buf_printf(&name[0], "queries.%s.jsonl", split) != FRUGAL_OK ||
        buf_printf(&name[1], "queries.%s.jsonl.gz", split) != FRUGAL_OK ||
        buf_puts(&name[2], "queries.jsonl") != FRUGAL_OK ||
        buf_puts(&name[3], "queries.jsonl.gz") != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    const char *names[4] = {name[0].ptr, name[1].ptr, name[2].ptr, name[3].ptr};
    if (rc == FRUGAL_OK)
        rc = find_file(&path, job->dir, names, 4, err);
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, &data, err);
    if (rc == FRUGAL_OK) {
        rc = eval_queries_parse_jsonl(data.ptr, data.len, &job->queries, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", path.ptr);
    }
    buf_reset(&name[0]);
    if (rc == FRUGAL_OK && buf_printf(&name[0], "qrels/%s.tsv", split) != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK && join_path(&path, job->dir, name[0].ptr) != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, &data, err);
    if (rc == FRUGAL_OK) {
        rc = eval_qrels_parse_beir(data.ptr, data.len, &job->qrels, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", path.ptr);
    }
    for (size_t i = 0; i < 4; i++)
        buf_release(&name[i]);
    buf_release(&path);
    buf_release(&data);
    return rc;
}

frugal_status frugal_eval_beir(frugal_db *db, const char *dir, const frugal_eval_params *params,
                               frugal_eval_report *report)
{
    if (db == NULL || dir == NULL || report == NULL)
        return FRUGAL_EINVAL;
    frugal_eval_params p;
    struct eval_job job = {.dir = dir, .load_corpus = beir_corpus};
    struct buf source;
    struct err e;
    err_clear(&e);
    eval_params_resolve(params, &p);
    memset(report, 0, sizeof *report);
    eval_queries_init(&job.queries);
    eval_qrels_init(&job.qrels);
    buf_init(&source, 0);
    frugal_status rc = join_path(&source, dir, "corpus.jsonl");
    if (rc != FRUGAL_OK)
        rc = err_set(&e, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = beir_load(&job, p.split, &e);
    if (rc != FRUGAL_OK) {
        rc = eval_fail(db, &e);
        goto out_release;
    }
    job.source = source.ptr;
    rc = eval_run(db, &job, &p, report);
out_release:
    eval_job_release(&job);
    buf_release(&source);
    return rc;
}

static frugal_status cranfield_corpus(const char *dir, struct buf *jsonl, struct err *err)
{
    struct buf path;
    struct buf data;
    size_t n_docs = 0;
    buf_init(&path, 0);
    buf_init(&data, 0);
    frugal_status rc = join_path(&path, dir, "cran.all.1400");
    if (rc != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, &data, err);
    if (rc == FRUGAL_OK) {
        rc = eval_cranfield_docs_to_jsonl(data.ptr, data.len, jsonl, &n_docs, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", path.ptr);
    }
    buf_release(&path);
    buf_release(&data);
    return rc;
}

/* Reads and parses cran.qry and cranqrel into job. */
static frugal_status cranfield_load(struct eval_job *job, struct err *err)
{
    struct buf path;
    struct buf data;
    buf_init(&path, 0);
    buf_init(&data, 0);
    frugal_status rc = join_path(&path, job->dir, "cran.qry");
    if (rc != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, &data, err);
    if (rc == FRUGAL_OK) {
        rc = eval_queries_parse_cranfield(data.ptr, data.len, &job->queries, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", path.ptr);
    }
    if (rc == FRUGAL_OK && join_path(&path, job->dir, "cranqrel") != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = read_file(path.ptr, &data, err);
    if (rc == FRUGAL_OK) {
        rc = eval_qrels_parse_cranfield(data.ptr, data.len, &job->qrels, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", path.ptr);
    }
    buf_release(&path);
    buf_release(&data);
    return rc;
}

frugal_status frugal_eval_cranfield(frugal_db *db, const char *dir,
                                    const frugal_eval_params *params, frugal_eval_report *report)
{
    if (db == NULL || dir == NULL || report == NULL)
        return FRUGAL_EINVAL;
    frugal_eval_params p;
    struct eval_job job = {.dir = dir, .load_corpus = cranfield_corpus};
    struct buf source;
    struct err e;
    err_clear(&e);
    eval_params_resolve(params, &p);
    memset(report, 0, sizeof *report);
    eval_queries_init(&job.queries);
    eval_qrels_init(&job.qrels);
    buf_init(&source, 0);
    frugal_status rc = join_path(&source, dir, "cran.all.1400.jsonl");
    if (rc != FRUGAL_OK)
        rc = err_set(&e, FRUGAL_ENOMEM, "out of memory");
    if (rc == FRUGAL_OK)
        rc = cranfield_load(&job, &e);
    if (rc != FRUGAL_OK) {
        rc = eval_fail(db, &e);
        goto out_release;
    }
    job.source = source.ptr;
    rc = eval_run(db, &job, &p, report);
out_release:
    eval_job_release(&job);
    buf_release(&source);
    return rc;
}
