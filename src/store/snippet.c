/*
 * snippet.c - highlighted excerpts computed from a chunk's text (see snippet.h for the rules).
 *
 * Why: search used to ask FTS5 for snippet(...) WHERE fts MATCH ?query AND rowid = ?hit, one
 * query per hit. Each of those re-evaluates the whole OR-expression over the index (every
 * query term's doclist, in every segment) to find one row, which made snippets about 90% of
 * a /v1/search request on SciFact (about 0.5 ms per hit). The text of each hit is already in
 * hand, so one pass of the analyzer over it gives the same term positions and byte offsets
 * that FTS5 would use, and the window choice and highlighting below follow FTS5's snippet()
 * (SQLite 3.40, fts5_aux.c) rule for rule; tests/unit/test_snippet.c compares both on random
 * texts and queries.
 *
 * How: the query's terms are kept sorted with their multiplicity (a term the query repeats is
 * several FTS5 phrases), so each body term costs one binary search. The body pass records, per
 * term position, its byte span, the positions holding a query term (`matches`, ascending) and
 * the sentence starts. Scoring a window walks the matches inside it (at most n_tokens of them),
 * with per-term "seen" stamps instead of clearing an array per window.
 *
 * Threading: a store_snippet_query holds scratch arrays reused from hit to hit and borrows a
 * single-threaded analyzer: one thread at a time.
 */
#include "store/snippet.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "text/analyzer.h"

struct term_ref {
    size_t off;  /* into store_snippet_query.bytes */
    size_t len;
    int count;   /* phrases holding this term (query duplicates) */
};

struct span {
    size_t start, end; /* bytes of the source word in the body, end exclusive */
};

struct match {
    int pos;   /* term position in the body */
    int term;  /* index into terms */
};

struct store_snippet_query {
    struct analyzer *an; /* borrowed */
    struct buf bytes;    /* the terms' bytes, back to back */
    struct term_ref *terms; /* (n_unique) sorted by bytes */
    size_t n_unique;
    size_t n_terms;      /* duplicates included */
    /* scratch for the chunk being processed */
    const char *body;
    struct span *spans; /* (n_spans) one per body term */
    size_t n_spans, cap_spans;
    struct match *matches;
    size_t n_matches, cap_matches;
    int *firsts; /* sentence starts, ascending */
    size_t n_firsts, cap_firsts;
    unsigned *seen; /* (n_unique) window stamp per term */
    unsigned stamp;
    bool hit;        /* title/heading pass: some term occurs */
    frugal_status rc; /* first failure inside a callback */
};

/* ---- The query ------------------------------------------------------------------------------- */

struct collect_ctx {
    struct store_snippet_query *q;
    size_t max_terms;
    struct term_ref *list;
    size_t n, cap;
};

static int collect_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                        size_t byte_end)
{
    struct collect_ctx *c = ctx;
    if (c->n == c->max_terms)
        return 1;
    if (c->n == c->cap) {
        size_t cap = c->cap > 0 ? 2 * c->cap : 16;
        struct term_ref *grown = frugal_reallocarray(c->list, cap, sizeof *grown);
        if (grown == NULL) {
            c->q->rc = FRUGAL_ENOMEM;
            return 1;
        }
        c->list = grown;
        c->cap = cap;
    }
    c->list[c->n].off = c->q->bytes.len;
    c->list[c->n].len = term_len;
    c->list[c->n].count = 1;
    frugal_status rc = buf_append(&c->q->bytes, term, term_len);
    if (rc != FRUGAL_OK) {
        c->q->rc = rc;
        return 1;
    }
    c->n++;
    return 0;
}

static int compare_bytes(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int d = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (d != 0)
        return d;
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* Sorts list[0..n) and folds equal terms into one with a count. Returns the unique count. */
static size_t sort_terms(const char *bytes, struct term_ref *list, size_t n)
{
    if (n == 0)
        return 0;
    /* insertion sort: queries hold a handful of terms, and qsort has no context argument for
     * the bytes the refs point into */
    for (size_t i = 1; i < n; i++) {
        struct term_ref t = list[i];
        size_t j = i;
        while (j > 0 && compare_bytes(bytes + list[j - 1].off, list[j - 1].len, bytes + t.off,
                                      t.len) > 0) {
            list[j] = list[j - 1];
            j--;
        }
        list[j] = t;
    }
    size_t u = 0;
    for (size_t i = 1; i < n; i++) {
        if (compare_bytes(bytes + list[u].off, list[u].len, bytes + list[i].off, list[i].len) == 0)
            list[u].count++;
        else
            list[++u] = list[i];
    }
    return u + 1;
}

frugal_status store_snippet_query_new(struct analyzer *an, const char *query, size_t query_len,
                                      size_t max_terms, struct store_snippet_query **out)
{
    *out = NULL;
    struct store_snippet_query *q = frugal_calloc(1, sizeof *q);
    if (q == NULL)
        return FRUGAL_ENOMEM;
    q->an = an;
    buf_init(&q->bytes, 0);
    struct collect_ctx c = {.q = q, .max_terms = max_terms};
    frugal_status rc = analyzer_run(an, query, query_len, collect_term, &c);
    if (rc == FRUGAL_OK)
        rc = q->rc;
    if (rc == FRUGAL_OK) {
        q->n_terms = c.n;
        q->n_unique = sort_terms(q->bytes.ptr, c.list, c.n);
        q->terms = c.list;
        c.list = NULL;
        if (q->n_unique > 0) {
            q->seen = frugal_calloc(q->n_unique, sizeof *q->seen);
            if (q->seen == NULL)
                rc = FRUGAL_ENOMEM;
        }
    }
    frugal_free(c.list);
    if (rc != FRUGAL_OK) {
        store_snippet_query_free(q);
        return rc;
    }
    *out = q;
    return FRUGAL_OK;
}

void store_snippet_query_free(struct store_snippet_query *q)
{
    if (q == NULL)
        return;
    buf_release(&q->bytes);
    frugal_free(q->terms);
    frugal_free(q->spans);
    frugal_free(q->matches);
    frugal_free(q->firsts);
    frugal_free(q->seen);
    frugal_free(q);
}

size_t store_snippet_query_n_terms(const struct store_snippet_query *q)
{
    return q != NULL ? q->n_terms : 0;
}

/* The index of term in q->terms, or -1. */
static int find_term(const struct store_snippet_query *q, const char *term, size_t len)
{
    size_t lo = 0;
    size_t hi = q->n_unique;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct term_ref *t = &q->terms[mid];
        int d = compare_bytes(q->bytes.ptr + t->off, t->len, term, len);
        if (d == 0)
            return (int)mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- One chunk ------------------------------------------------------------------------------- */

/* Appends one item to a scratch array, growing it. */
static bool push(void **items, size_t *n, size_t *cap, size_t size, const void *item)
{
    if (*n == *cap) {
        size_t c = *cap > 0 ? 2 * *cap : 64;
        void *grown = frugal_reallocarray(*items, c, size);
        if (grown == NULL)
            return false;
        *items = grown;
        *cap = c;
    }
    memcpy((char *)*items + *n * size, item, size);
    (*n)++;
    return true;
}

/* FTS5's sentence rule: the first term, or one whose preceding non-blank byte is '.' or ':'
 * with at least one blank (space, tab, CR, LF) in between. */
static bool starts_sentence(const char *doc, size_t start, size_t pos)
{
    if (pos == 0)
        return true;
    size_t i = start;
    while (i > 0 && (doc[i - 1] == ' ' || doc[i - 1] == '\t' || doc[i - 1] == '\n' ||
                     doc[i - 1] == '\r'))
        i--;
    return i != start && i > 0 && (doc[i - 1] == '.' || doc[i - 1] == ':');
}

static int body_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                     size_t byte_end)
{
    struct store_snippet_query *q = ctx;
    if (q->n_spans >= (size_t)INT32_MAX)
        return 1; /* positions are ints, as in FTS5 */
    int pos = (int)q->n_spans;
    struct span s = {.start = byte_start, .end = byte_end};
    bool ok = push((void **)&q->spans, &q->n_spans, &q->cap_spans, sizeof s, &s);
    if (ok && starts_sentence(q->body, byte_start, (size_t)pos))
        ok = push((void **)&q->firsts, &q->n_firsts, &q->cap_firsts, sizeof pos, &pos);
    int t = ok ? find_term(q, term, term_len) : -1;
    if (t >= 0) {
        struct match m = {.pos = pos, .term = t};
        ok = push((void **)&q->matches, &q->n_matches, &q->cap_matches, sizeof m, &m);
    }
    if (!ok) {
        q->rc = FRUGAL_ENOMEM;
        return 1;
    }
    return 0;
}

static int any_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                    size_t byte_end)
{
    struct store_snippet_query *q = ctx;
    q->hit = find_term(q, term, term_len) >= 0;
    return q->hit;
}

/* Scores the window [start, start + n_tok) from matches[from] on (the first match at or after
 * start): 1000 per phrase seen first, 1 per repeat. *first / *last: the first match's position
 * and one past the last one's (*first -1 when none). */
static int window_score(struct store_snippet_query *q, size_t from, int start, int n_tok,
                        int *first, int *last)
{
    int64_t end = (int64_t)start + n_tok;
    int score = 0;
    *first = -1;
    *last = 0;
    q->stamp++;
    if (q->stamp == 0) { /* wrapped: clear the stamps once every 4 billion windows */
        memset(q->seen, 0, q->n_unique * sizeof *q->seen);
        q->stamp = 1;
    }
    for (size_t i = from; i < q->n_matches && q->matches[i].pos < end; i++) {
        const struct match *m = &q->matches[i];
        int count = q->terms[m->term].count;
        if (q->seen[m->term] == q->stamp) {
            score += count;
        } else {
            score += 1000 * count;
            q->seen[m->term] = q->stamp;
        }
        if (*first < 0)
            *first = m->pos;
        *last = m->pos + 1;
    }
    return score;
}

/* The first match at or after pos. */
static size_t lower_match(const struct store_snippet_query *q, int pos)
{
    size_t lo = 0;
    size_t hi = q->n_matches;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->matches[mid].pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first term position of the excerpt, as FTS5 picks it. */
static int best_start(struct store_snippet_query *q, int n_tok)
{
    int n_doc = (int)q->n_spans;
    bool sentences = q->n_firsts > 0 && n_doc > n_tok;
    int best_score = 0;
    int best = 0;
    size_t jj = 0;
    for (size_t i = 0; i < q->n_matches; i++) {
        int io = q->matches[i].pos;
        int first = 0;
        int last = 0;
        int score = window_score(q, i, io, n_tok, &first, &last);
        if (score > best_score) {
            /* centre the matches in the window, then keep it inside the body */
            int adj = first - (n_tok - (last - first)) / 2;
            if ((int64_t)adj + n_tok > n_doc)
                adj = n_doc - n_tok;
            best_score = score;
            best = adj < 0 ? 0 : adj;
        }
        if (!sentences)
            continue;
        while (jj + 1 < q->n_firsts && q->firsts[jj + 1] <= io)
            jj++;
        int s = q->firsts[jj];
        if (s < io) {
            score = window_score(q, lower_match(q, s), s, n_tok, &first, &last);
            score += s == 0 ? 120 : 100;
            if (score > best_score) {
                best_score = score;
                best = s;
            }
        }
    }
    return best;
}

/* Copies body[*off..upto) to out and moves *off there (nothing when upto <= *off: CJK bigrams
 * overlap, so a term may start before the end of the previous one). */
static frugal_status copy_to(struct buf *out, const char *body, size_t *off, size_t upto)
{
    if (upto <= *off)
        return FRUGAL_OK;
    frugal_status rc = buf_append(out, body + *off, upto - *off);
    *off = upto;
    return rc;
}

/* Wraps the matched term s in open/close. A term overlapping the one just highlighted (CJK
 * bigrams) extends that highlight instead: "[数据库]", where FTS5 3.40 would append a negative
 * length, i.e. the rest of the text. */
static frugal_status highlight(struct buf *out, const char *body, size_t *off, const struct span *s,
                               const struct store_snippet_style *style, bool *closed_at_off)
{
    frugal_status rc = FRUGAL_OK;
    size_t n_close = strlen(style->close);
    if (s->start < *off && *closed_at_off && out->len >= n_close) {
        out->len -= n_close;
        out->ptr[out->len] = '\0';
    } else {
        rc = copy_to(out, body, off, s->start);
        if (rc == FRUGAL_OK)
            rc = buf_puts(out, style->open);
        if (*off < s->start)
            *off = s->start;
    }
    if (rc == FRUGAL_OK)
        rc = copy_to(out, body, off, s->end);
    if (rc == FRUGAL_OK)
        rc = buf_puts(out, style->close);
    *closed_at_off = rc == FRUGAL_OK;
    return rc;
}

static frugal_status render(struct store_snippet_query *q, const char *body, size_t body_len,
                            int start, const struct store_snippet_style *style,
                            struct buf *out)
{
    int n_doc = (int)q->n_spans;
    int64_t range_end = (int64_t)start + style->n_tokens - 1;
    size_t off = start > 0 && start < n_doc ? q->spans[start].start : 0;
    bool closed_at_off = false;
    frugal_status rc = FRUGAL_OK;
    if (start > 0)
        rc = buf_puts(out, style->ellipsis);
    size_t m = lower_match(q, start);
    for (int pos = start; rc == FRUGAL_OK && pos < n_doc && pos <= range_end; pos++) {
        const struct span *s = &q->spans[pos];
        if (m < q->n_matches && q->matches[m].pos == pos) {
            rc = highlight(out, body, &off, s, style, &closed_at_off);
            m++;
        }
        if (rc == FRUGAL_OK && pos == range_end && s->end > off) {
            rc = copy_to(out, body, &off, s->end);
            closed_at_off = false;
        }
    }
    if (rc != FRUGAL_OK)
        return rc;
    if (range_end >= n_doc - 1)
        return copy_to(out, body, &off, body_len);
    return buf_puts(out, style->ellipsis);
}

frugal_status store_snippet_make(struct store_snippet_query *q, const char *const text[3],
                                 const size_t len[3], const struct store_snippet_style *style,
                                 struct buf *out, bool *found)
{
    *found = false;
    if (q->n_unique == 0)
        return FRUGAL_OK;
    const char *body = text[2] != NULL ? text[2] : "";
    size_t body_len = text[2] != NULL ? len[2] : 0;
    q->body = body;
    q->n_spans = 0;
    q->n_matches = 0;
    q->n_firsts = 0;
    q->rc = FRUGAL_OK;
    frugal_status rc = analyzer_run(q->an, body, body_len, body_term, q);
    if (rc == FRUGAL_OK)
        rc = q->rc;
    bool matched = q->n_matches > 0;
    for (int c = 0; rc == FRUGAL_OK && !matched && c < 2; c++) {
        q->hit = false;
        if (text[c] != NULL)
            rc = analyzer_run(q->an, text[c], len[c], any_term, q);
        matched = q->hit;
    }
    if (rc != FRUGAL_OK || !matched)
        return rc;
    size_t before = out->len;
    int n_tok = style->n_tokens > 0 ? style->n_tokens : 1;
    struct store_snippet_style s = *style;
    s.n_tokens = n_tok;
    rc = render(q, body, body_len, best_start(q, n_tok), &s, out);
    if (rc != FRUGAL_OK) {
        out->len = before;
        if (out->ptr != NULL)
            out->ptr[before] = '\0';
        return rc;
    }
    *found = true;
    return FRUGAL_OK;
}
