/*
 * extract.c - extractive answers: the best sentence of the retrieved chunks, a typed span in it,
 * and a calibrated confidence (contract in extract.h).
 *
 * What: the question is analyzed with the collection's analyzer (folded, stopped, stemmed
 * terms, each kept once, less the question words; their order is kept too, for bigrams). Every chunk is split into
 * sentences (sentences_split; the rows of a table and the items of a list, which the splitter
 * leaves as one "sentence" for want of a full stop, one per line: split_lines) and every
 * sentence analyzed the same way, counting how often each question term occurs in it and
 * where. From those counts, over the pool of candidate sentences (not the whole collection: what
 * matters is which of these sentences a term singles out), each question term gets an idf,
 * log(1 + (N - df + 0.5) / (df + 0.5)). A sentence then has the
 * features of enum xans_sfeature (extract.h), among them:
 *   coverage  the idf-weighted share of question terms it contains;
 *   bm25      its BM25 (k1 1.2, b 0.75, lengths in terms) over the pool, divided by the sum of
 *             the question's idf so that it is comparable across questions;
 *   context   the coverage its two neighbours in the chunk add (a question often names the
 *             subject of the previous sentence, which the answer sentence calls "it");
 *   rank      its chunk's retrieval score over the top chunk's, and whether it is the top chunk;
 *   order     question bigrams found adjacent, the density of the shortest window holding its
 *             question terms, the longest run of them in question order;
 *   type      whether it holds a candidate of the type the question asks for (a number for "how
 *             many", a year or date for "when", a capitalized name for "who", a capitalized place
 *             after in/at/from... for "where") that is not itself a question word, how near the
 *             question words that candidate is, each per question type;
 *   and the coverage of the question's capitalized words and of its focus (the words after
 *   the wh-word), names and numbers the question does not have, its length, a few products.
 * With word vectors (xans_set_vectors: a collection embedded with GloVe) six more
 * (extract_wv.c): the question's idf-weighted coverage counting near words by their cosine, the
 * part of it near words alone give, the coverage at cosine > 0.6, the cosine of the weighted sums
 * of the word vectors, and the best coverage and cosine among the sentences of its chunk.
 * The score is the logistic of a linear mix of those (score_weights, or score_weights_wv with
 * vectors): a conditional logit, a softmax over each question's candidates whose target is the
 * sentences holding a gold answer, fitted by `bench/squad_fit.py --sentences` (Newton, L2 0.01)
 * on the fitting half of SQuAD v1.1 dev (below) over the candidates of the top 10 chunks (those
 * a generator's context is drawn from), with an intercept that makes the score a sentence's
 * chance of holding an answer. The answer is the best sentence of the top k chunks (xans_run's
 * n_answer). Without vectors the top sentence of the top 5 chunks holds a gold answer for 73.1%
 * of the questions (70.1% with the earlier hand-weighted mix of coverage, bm25, context, rank and
 * type), with GloVe's 74.6% (BENCHMARKS.md, squad); the word vectors matter more to the
 * generator's context, where the sentences ranked below the answer are read: they lift how often
 * the sentence that holds the answer clears the context's bound (compress.c). 0.7 point of the
 * support came from leaving the question's own words ("what", "does": question_words) out of
 * its terms, which the analyzer's short stopword list keeps. For a typed question the span is
 * the candidate nearest (in words) to the question words the sentence contains; otherwise the
 * whole sentence.
 *
 * The confidence is a logistic regression on the answer's features (enum xans_feature: the
 * answer's share of the softmax over all candidates, its chunk's share, its margin over the
 * runner-up, retrieval margin and some of its sentence features), whose label is "the sentence
 * contains a gold answer". The coefficients in xans_confidence were fitted by
 * bench/squad_fit.py (logistic regression, Newton's method, L2 0.01) on the questions of the
 * first half of SQuAD v1.1 dev's 48 articles shuffled with Python's random.Random(13), from the
 * feature dump of `frugal eval squad --features` (when the candidates came from the top 5
 * chunks), and checked on the other half. With the candidates of the top 10 chunks and the
 * refitted sentence scores a refit reached the same coverage at 90% support within a point, so
 * the coefficients were kept; the default threshold became 0.68, the lowest with >= 90% support
 * on the fitting half of a collection without an embedder (BENCHMARKS.md, squad, has the
 * shares at it).
 *
 * Why: most questions about a document collection are answered by one of its sentences; finding
 * it costs a millisecond of CPU, against a second of GPU for a generator. The confidence lets a
 * router decide when that sentence is good enough to return alone.
 *
 * Threading: a struct xans (analyzer + scratch) belongs to one thread at a time; the functions
 * keep no other state.
 */
#include "answer/extract.h"

#include "answer/extract_wv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "text/sentences.h"
#include "text/utf8.h"

#define XANS_MAX_QTERMS 32
#define XANS_MAX_QSEQ 64
#define XANS_BM25_K1 1.2
#define XANS_BM25_B 0.75

/* Weights of the sentence score (see the header comment). */
#define W_COVERAGE 1.0
#define W_BM25 0.35
#define W_CONTEXT 0.25
#define W_RANK 1.0
#define W_TYPE 0.3

struct qterm {
    char text[ANALYZER_MAX_TERM + 1];
    size_t len;
};

/* A byte range of a source word that matched a question term. */
struct range {
    size_t start;
    size_t end;
    size_t q;       /* the question term it matched (sentence ranges only) */
    size_t pos;     /* its position among the sentence's terms */
};

/* A word of a sentence for the answer-type cues. */
struct word {
    size_t start;   /* bytes in the chunk text, end exclusive */
    size_t end;
    bool matched;   /* overlaps a word that matched a question term */
};

struct xans {
    struct analyzer *an;
    struct xans_wv *wv;                    /* word vectors, or NULL */
    struct qterm qterms[XANS_MAX_QTERMS];
    size_t n_q;
    uint8_t qseq[XANS_MAX_QSEQ];       /* question terms in question order, as qterms indexes */
    size_t n_qseq;
    uint8_t bigrams[XANS_MAX_QSEQ][2]; /* distinct adjacent pairs of qseq */
    size_t n_bigrams;
    bool q_entity[XANS_MAX_QTERMS];    /* written capitalized, not as the question's first word */
    bool q_focus[XANS_MAX_QTERMS];     /* one of the first two terms after the wh-word */
    const char *question;              /* during xans_run */
    size_t wh_end;                     /* byte after the question's wh-word; 0 without one */
    uint16_t *tf;            /* (n_sentences, n_q) row-major */
    size_t tf_cap;           /* rows */
    size_t *n_terms;         /* terms per sentence */
    struct range *ranges;    /* matched ranges of the sentence being analyzed */
    size_t n_ranges;
    size_t ranges_cap;
    struct word *words;
    size_t words_cap;
};

/* ---- Setup ----------------------------------------------------------------------------------- */

frugal_status xans_new(const struct analyzer_opts *opts, struct xans **out, struct err *err)
{
    *out = NULL;
    struct xans *x = frugal_calloc(1, sizeof *x);
    if (x == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    frugal_status rc = analyzer_new(opts, &x->an, err);
    if (rc != FRUGAL_OK) {
        frugal_free(x);
        return rc;
    }
    *out = x;
    return FRUGAL_OK;
}

void xans_free(struct xans *x)
{
    if (x == NULL)
        return;
    analyzer_free(x->an);
    xans_wv_free(x->wv);
    frugal_free(x->tf);
    frugal_free(x->n_terms);
    frugal_free(x->ranges);
    frugal_free(x->words);
    frugal_free(x);
}

frugal_status xans_set_vectors(struct xans *x, const struct sv_file *sv, struct err *err)
{
    xans_wv_free(x->wv);
    x->wv = NULL;
    if (sv == NULL)
        return FRUGAL_OK;
    return xans_wv_new(sv, &x->wv, err);
}

void xans_result_init(struct xans_result *r)
{
    memset(r, 0, sizeof *r);
}

void xans_result_release(struct xans_result *r)
{
    if (r == NULL)
        return;
    frugal_free(r->sentences);
    xans_result_init(r);
}

/* ---- Question type --------------------------------------------------------------------------- */

static bool is_alnum_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when text[0..len) equals the lowercase word w, ignoring ASCII case. */
static bool word_is(const char *text, size_t len, const char *w)
{
    size_t n = strlen(w);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower_ascii(text[i]) != w[i])
            return false;
    }
    return true;
}

static bool word_in(const char *text, size_t len, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (word_is(text, len, list[i]))
            return true;
    }
    return false;
}

/* The first up-to-max words of s (ASCII-lowercase comparisons happen in word_is). */
static size_t split_words(const char *s, size_t len, struct range *out, size_t max)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        while (i < len && !is_alnum_byte((unsigned char)s[i]))
            i++;
        size_t start = i;
        while (i < len && is_alnum_byte((unsigned char)s[i]))
            i++;
        if (i > start) {
            out[n].start = start;
            out[n].end = i;
            n++;
        }
    }
    return n;
}

enum xans_qtype xans_question_type(const char *question)
{
    static const char *const number_next[] = {"many", "much", "long", "old", "far", "large",
                                              "big", "tall", "high", "often", "few", NULL};
    static const char *const date_next[] = {"year", "years", "century", "date", "decade",
                                            "month", "day", "era", "period", NULL};
    /* nouns after what/which whose answers are names: over 80% of them capitalized in
     * SQuAD v1.1 dev */
    static const char *const place_next[] = {"country", "countries", "city", "cities", "river",
                                             "state", "region", "continent", "island", "town",
                                             "county", "province", NULL};
    static const char *const name_next[] = {"company", "companies", "team", "teams", "network",
                                            "organization", "language", "book", "university",
                                            "newspaper", "magazine", "album", "film", "band",
                                            "party", "church", "famous", NULL};
    struct range w[64];
    size_t n = split_words(question, strlen(question), w, 64);
    for (size_t i = 0; i < n; i++) {
        const char *t = question + w[i].start;
        size_t len = w[i].end - w[i].start;
        const char *next = i + 1 < n ? question + w[i + 1].start : "";
        size_t next_len = i + 1 < n ? w[i + 1].end - w[i + 1].start : 0;
        if (word_is(t, len, "how") && word_in(next, next_len, number_next))
            return XANS_Q_NUMBER;
        if (word_is(t, len, "when"))
            return XANS_Q_DATE;
        if ((word_is(t, len, "what") || word_is(t, len, "which")) &&
            word_in(next, next_len, date_next))
            return XANS_Q_DATE;
        if ((word_is(t, len, "what") || word_is(t, len, "which")) &&
            (word_is(next, next_len, "percentage") || word_is(next, next_len, "percent") ||
             word_is(next, next_len, "number") || word_is(next, next_len, "amount")))
            return XANS_Q_NUMBER;
        if ((word_is(t, len, "what") || word_is(t, len, "which")) &&
            word_in(next, next_len, place_next))
            return XANS_Q_PLACE;
        if ((word_is(t, len, "what") || word_is(t, len, "which")) &&
            word_in(next, next_len, name_next))
            return XANS_Q_PERSON;
        if (word_is(t, len, "who") || word_is(t, len, "whom") || word_is(t, len, "whose"))
            return XANS_Q_PERSON;
        if (word_is(t, len, "where"))
            return XANS_Q_PLACE;
    }
    return XANS_Q_OTHER;
}

/* The byte after the question's first wh-word (what, which, who, ...); 0 without one. */
static size_t wh_word_end(const char *question)
{
    static const char *const wh[] = {"what", "which", "who", "whom", "whose", "when", "where",
                                     "why", "how", NULL};
    struct range w[64];
    size_t n = split_words(question, strlen(question), w, 64);
    for (size_t i = 0; i < n; i++) {
        if (word_in(question + w[i].start, w[i].end - w[i].start, wh))
            return w[i].end;
    }
    return 0;
}

/* Question words that are no question terms (see on_question_term). */
static const char *const question_words[] = {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "do", "does", "did",
    "has", "have", "had", "were", "can", "could", "would", "should", "many", "much", NULL};

/* ---- Answer-type candidates ------------------------------------------------------------------ */

static const char *const number_words[] = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
    "thousand", "million", "billion", "trillion", "dozen", "hundreds", "thousands", "millions",
    "billions", "half", NULL};
static const char *const scale_words[] = {"hundred", "thousand", "million", "billion",
                                          "trillion", "percent", NULL};
static const char *const months[] = {"january", "february", "march", "april", "may", "june",
                                     "july", "august", "september", "october", "november",
                                     "december", NULL};
static const char *const date_words[] = {"century", "centuries", "bc", "bce", "ad", "ce",
                                         "early", "late", "mid", NULL};
static const char *const name_joiners[] = {"of", "de", "van", "von", "da", "la", "del", "der",
                                           "and", NULL};
static const char *const not_names[] = {
    "the", "a", "an", "in", "on", "at", "he", "she", "it", "they", "this", "that", "these",
    "those", "his", "her", "its", "their", "after", "before", "during", "however", "when",
    "while", "as", "by", "for", "from", "of", "with", "and", "but", "or", "if", "although",
    "since", "because", "there", "some", "many", "most", "both", "each", "all", "other", "such",
    "we", "i", "you", "our", "also", "according", "following", "between", "under", "until",
    "then", "thus", "today", "one", "two", "to", NULL};
static const char *const place_preps[] = {"in", "at", "from", "near", "to", "on", "into",
                                          "across", "outside", "inside", NULL};

static bool starts_digit(const char *t)
{
    return t[0] >= '0' && t[0] <= '9';
}

static bool is_numberish(const char *t, size_t len)
{
    return starts_digit(t) || word_in(t, len, number_words);
}

/* A 3- or 4-digit year (100..2199), optionally with an "s" ("1990s"), or an ordinal ("19th"). */
static bool is_yearish(const char *t, size_t len)
{
    size_t d = 0;
    while (d < len && t[d] >= '0' && t[d] <= '9')
        d++;
    if (d == 0)
        return false;
    if (d == len || (d + 1 == len && t[d] == 's'))
        return d >= 3 && d <= 4 && !(d == 4 && t[0] > '2');
    return word_is(t + d, len - d, "th") || word_is(t + d, len - d, "st") ||
           word_is(t + d, len - d, "nd") || word_is(t + d, len - d, "rd");
}

static bool is_capitalized(const char *t)
{
    return t[0] >= 'A' && t[0] <= 'Z';
}

/* Splits the sentence text[start..end) into words (letters, digits and bytes >= 0x80, with '.'
 * or ',' between digits kept inside) into x->words, marking those that matched. */
static frugal_status sentence_words(struct xans *x, const char *text, size_t start, size_t end,
                                    size_t *n_out)
{
    size_t n = 0;
    size_t i = start;
    while (i < end) {
        while (i < end && !is_alnum_byte((unsigned char)text[i]))
            i++;
        size_t ws = i;
        while (i < end) {
            if (is_alnum_byte((unsigned char)text[i])) {
                i++;
            } else if ((text[i] == '.' || text[i] == ',') && i > ws && i + 1 < end &&
                       starts_digit(text + i - 1) && starts_digit(text + i + 1)) {
                i++;
            } else {
                break;
            }
        }
        if (i == ws)
            continue;
        if (n == x->words_cap) {
            size_t cap = x->words_cap ? 2 * x->words_cap : 64;
            struct word *w = frugal_reallocarray(x->words, cap, sizeof *w);
            if (w == NULL)
                return FRUGAL_ENOMEM;
            x->words = w;
            x->words_cap = cap;
        }
        struct word *w = &x->words[n++];
        w->start = ws;
        w->end = i;
        w->matched = false;
        for (size_t r = 0; r < x->n_ranges; r++) {
            if (x->ranges[r].start < i && ws < x->ranges[r].end)
                w->matched = true;
        }
    }
    *n_out = n;
    return FRUGAL_OK;
}

/* Extends a candidate [*a, *b] (word indexes, inclusive) over the words `extend` accepts. */
typedef bool (*extend_fn)(const char *t, size_t len);

static bool number_extends(const char *t, size_t len)
{
    return is_numberish(t, len) || word_in(t, len, scale_words) || word_is(t, len, "and");
}

static bool date_extends(const char *t, size_t len)
{
    size_t d = 0;
    while (d < len && t[d] >= '0' && t[d] <= '9')
        d++;
    bool day = d == len && d >= 1 && d <= 2;
    return is_yearish(t, len) || day || word_in(t, len, months) || word_in(t, len, date_words);
}

static bool name_word(const char *t, size_t len)
{
    return is_capitalized(t) && !word_in(t, len, not_names) && !word_in(t, len, months);
}

/* Finds the typed candidate of the sentence nearest the matched words; false when none. */
static bool find_span(const struct xans *x, const char *text, size_t end, size_t n_words,
                      enum xans_qtype qtype, size_t *span_start, size_t *span_end,
                      double *cost_out)
{
    const struct word *w = x->words;
    size_t best_a = 0;
    size_t best_b = 0;
    double best_cost = INFINITY;
    for (size_t i = 0; i < n_words; i++) {
        const char *t = text + w[i].start;
        size_t len = w[i].end - w[i].start;
        if (w[i].matched)
            continue;
        bool seed = false;
        extend_fn ext = NULL;
        double bonus = 0.0;
        switch (qtype) {
        case XANS_Q_NUMBER:
            seed = is_numberish(t, len) && !word_is(t, len, "half");
            ext = number_extends;
            break;
        case XANS_Q_DATE:
            seed = is_yearish(t, len) || word_in(t, len, months);
            ext = date_extends;
            bonus = is_yearish(t, len) ? 0.0 : 0.5;
            break;
        case XANS_Q_PERSON:
        case XANS_Q_PLACE:
            seed = name_word(t, len);
            ext = NULL;
            if (qtype == XANS_Q_PLACE && i > 0 &&
                word_in(text + w[i - 1].start, w[i - 1].end - w[i - 1].start, place_preps))
                bonus = -2.0;
            break;
        default:
            return false;
        }
        if (!seed)
            continue;
        size_t a = i;
        size_t b = i;
        if (ext != NULL) {
            while (a > 0 && !w[a - 1].matched &&
                   ext(text + w[a - 1].start, w[a - 1].end - w[a - 1].start))
                a--;
            while (b + 1 < n_words && !w[b + 1].matched &&
                   ext(text + w[b + 1].start, w[b + 1].end - w[b + 1].start))
                b++;
        } else {
            /* capitalized run, joiners allowed inside when a capitalized word follows */
            while (b + 1 < n_words && !w[b + 1].matched) {
                const char *nt = text + w[b + 1].start;
                size_t nl = w[b + 1].end - w[b + 1].start;
                if (name_word(nt, nl)) {
                    b++;
                } else if (word_in(nt, nl, name_joiners) && b + 2 < n_words &&
                           !w[b + 2].matched &&
                           name_word(text + w[b + 2].start, w[b + 2].end - w[b + 2].start)) {
                    b += 2;
                } else {
                    break;
                }
            }
        }
        /* trailing joiners ("and") never end a span */
        while (b > a && word_in(text + w[b].start, w[b].end - w[b].start, name_joiners))
            b--;
        double dist = (double)n_words;
        for (size_t j = 0; j < n_words; j++) {
            if (!w[j].matched)
                continue;
            double d = j < a ? (double)(a - j) : j > b ? (double)(j - b) : 0.0;
            if (d < dist)
                dist = d;
        }
        double cost = dist + bonus;
        if (cost < best_cost) {
            best_cost = cost;
            best_a = a;
            best_b = b;
        }
        i = b; /* the run is taken whole */
    }
    if (best_cost == INFINITY)
        return false;
    *cost_out = best_cost;
    size_t s = w[best_a].start;
    size_t e = w[best_b].end;
    /* a currency sign before a number, "%" after it */
    if (qtype == XANS_Q_NUMBER && s > 0 && (text[s - 1] == '$' || text[s - 1] == '#'))
        s--;
    if (qtype == XANS_Q_NUMBER && e < end && text[e] == '%')
        e++;
    *span_start = s;
    *span_end = e;
    return true;
}

/* ---- Term counting --------------------------------------------------------------------------- */

struct count_ctx {
    struct xans *x;
    uint16_t *row;       /* tf of this sentence, NULL while analyzing the question */
    size_t n_terms;
    bool keep_ranges;
    bool oom;
};

static int on_question_term(void *ctx, const char *term, size_t len, size_t bs, size_t be)
{
    struct count_ctx *c = ctx;
    struct xans *x = c->x;
    /* the words that make it a question say nothing of where the answer is, and the analyzer's
     * short stopword list keeps them ("what", "does") */
    if (word_in(x->question + bs, be - bs, question_words))
        return 0;
    size_t q = 0;
    while (q < x->n_q && (x->qterms[q].len != len || memcmp(x->qterms[q].text, term, len) != 0))
        q++;
    if (q == x->n_q) {
        if (x->n_q == XANS_MAX_QTERMS || len > ANALYZER_MAX_TERM)
            return 0;
        memcpy(x->qterms[x->n_q].text, term, len);
        x->qterms[x->n_q].text[len] = '\0';
        x->qterms[x->n_q].len = len;
        x->q_entity[x->n_q] = false;
        x->q_focus[x->n_q] = false;
        x->n_q++;
    }
    if (bs > 0 && is_capitalized(x->question + bs))
        x->q_entity[q] = true;
    if (x->wh_end > 0 && bs >= x->wh_end) {
        size_t after = 0;
        for (size_t k = 0; k < x->n_q; k++)
            after += x->q_focus[k];
        if (after < 2)
            x->q_focus[q] = true;
    }
    if (x->n_qseq < XANS_MAX_QSEQ)
        x->qseq[x->n_qseq++] = (uint8_t)q;
    return 0;
}

static int on_sentence_term(void *ctx, const char *term, size_t len, size_t bs, size_t be)
{
    struct count_ctx *c = ctx;
    struct xans *x = c->x;
    size_t pos = c->n_terms++;
    for (size_t i = 0; i < x->n_q; i++) {
        if (x->qterms[i].len != len || memcmp(x->qterms[i].text, term, len) != 0)
            continue;
        if (c->row != NULL && c->row[i] < UINT16_MAX)
            c->row[i]++;
        if (!c->keep_ranges)
            break;
        if (x->n_ranges == x->ranges_cap) {
            size_t cap = x->ranges_cap ? 2 * x->ranges_cap : 32;
            struct range *r = frugal_reallocarray(x->ranges, cap, sizeof *r);
            if (r == NULL) {
                c->oom = true;
                return 1;
            }
            x->ranges = r;
            x->ranges_cap = cap;
        }
        x->ranges[x->n_ranges].start = bs;
        x->ranges[x->n_ranges].end = be;
        x->ranges[x->n_ranges].q = i;
        x->ranges[x->n_ranges].pos = pos;
        x->n_ranges++;
        break;
    }
    return 0;
}

/* Analyzes text[start..end) (a sentence of a chunk), counting question terms into row (may be
 * NULL) and collecting matched ranges (offsets relative to text) in x->ranges. */
static frugal_status count_sentence(struct xans *x, const char *text, size_t start, size_t end,
                                    uint16_t *row, size_t *n_terms)
{
    struct count_ctx c = {.x = x, .row = row, .keep_ranges = true};
    x->n_ranges = 0;
    frugal_status rc = analyzer_run(x->an, text + start, end - start, on_sentence_term, &c);
    if (rc == FRUGAL_OK && c.oom)
        rc = FRUGAL_ENOMEM;
    for (size_t r = 0; r < x->n_ranges; r++) {
        x->ranges[r].start += start;
        x->ranges[r].end += start;
    }
    if (n_terms != NULL)
        *n_terms = c.n_terms;
    return rc;
}

/* ---- Scoring --------------------------------------------------------------------------------- */

double xans_confidence(const double f[XANS_N_FEATURES])
{
    /* Fitted by bench/squad_fit.py on the fitting half of SQuAD v1.1 dev (see the file
     * comment); order as enum xans_feature. */
    static const double coef[XANS_N_FEATURES] = {
        7.7294, /* prob */
        -0.8033, /* logit */
        -0.6617, /* chunk prob */
        0.2106, /* score */
        0.3182, /* margin */
        0.9496, /* coverage */
        -0.4032, /* bm25 */
        0.2574, /* context */
        0.3750, /* rank */
        -0.2848, /* type */
        1.1372, /* retrieval margin */
        0.1062, /* top chunk */
        0.3356, /* bigram */
        -0.0187, /* density */
        0.0451, /* chunk coverage */
        -0.3516, /* length */
        -0.3272, /* top document */
        -0.5202, /* question: number */
        -0.0850, /* question: date */
        -0.1309, /* question: person */
        0.1502, /* question: place */
        2.2527, /* question terms */
    };
    static const double intercept = -3.5882;
    double z = intercept;
    for (size_t i = 0; i < XANS_N_FEATURES; i++)
        z += coef[i] * f[i];
    return 1.0 / (1.0 + exp(-z));
}

static frugal_status grow_rows(struct xans *x, size_t rows)
{
    if (rows <= x->tf_cap)
        return FRUGAL_OK;
    size_t cap = x->tf_cap ? x->tf_cap : 64;
    while (cap < rows)
        cap *= 2;
    uint16_t *tf = frugal_reallocarray(x->tf, cap, XANS_MAX_QTERMS * sizeof *tf);
    if (tf == NULL)
        return FRUGAL_ENOMEM;
    x->tf = tf;
    size_t *nt = frugal_reallocarray(x->n_terms, cap, sizeof *nt);
    if (nt == NULL)
        return FRUGAL_ENOMEM;
    x->n_terms = nt;
    x->tf_cap = cap;
    return FRUGAL_OK;
}

/* Whether the sentence has a name or a number that the question does not. */
static void new_words(const struct xans *x, const char *text, size_t n_words,
                      struct xans_sentence *s)
{
    for (size_t i = 0; i < n_words; i++) {
        const struct word *w = &x->words[i];
        if (w->matched)
            continue;
        const char *t = text + w->start;
        size_t len = w->end - w->start;
        if (i > 0 && name_word(t, len))
            s->sfeatures[XANS_S_NEW_NAME] = 1.0;
        if (starts_digit(t))
            s->sfeatures[XANS_S_NEW_NUMBER] = 1.0;
    }
}

/* The question's distinct adjacent term pairs (x->bigrams) from x->qseq. */
static void question_bigrams(struct xans *x)
{
    x->n_bigrams = 0;
    for (size_t k = 0; k + 1 < x->n_qseq; k++) {
        uint8_t a = x->qseq[k];
        uint8_t b = x->qseq[k + 1];
        bool seen = a == b;
        for (size_t j = 0; !seen && j < x->n_bigrams; j++)
            seen = x->bigrams[j][0] == a && x->bigrams[j][1] == b;
        if (!seen) {
            x->bigrams[x->n_bigrams][0] = a;
            x->bigrams[x->n_bigrams][1] = b;
            x->n_bigrams++;
        }
    }
}

/* The features that depend on the order of the sentence's matched terms (x->ranges, in
 * position order): question bigrams found adjacent, and the density of the shortest window
 * holding every distinct question term the sentence has. */
static void order_features(const struct xans *x, struct xans_sentence *s)
{
    uint64_t found = 0;
    for (size_t r = 0; r + 1 < x->n_ranges; r++) {
        if (x->ranges[r + 1].pos != x->ranges[r].pos + 1)
            continue;
        for (size_t j = 0; j < x->n_bigrams; j++) {
            if (x->bigrams[j][0] == x->ranges[r].q && x->bigrams[j][1] == x->ranges[r + 1].q)
                found |= (uint64_t)1 << j;
        }
    }
    size_t n_found = 0;
    for (size_t j = 0; j < x->n_bigrams; j++)
        n_found += (found >> j) & 1;
    s->sfeatures[XANS_S_BIGRAM] =
        x->n_bigrams > 0 ? (double)n_found / (double)x->n_bigrams : 0.0;
    /* the longest chain of adjacent matches whose every pair is a question bigram */
    size_t run = x->n_ranges > 0 ? 1 : 0;
    size_t cur = 1;
    for (size_t r = 0; r + 1 < x->n_ranges; r++) {
        bool link = false;
        if (x->ranges[r + 1].pos == x->ranges[r].pos + 1) {
            for (size_t j = 0; !link && j < x->n_bigrams; j++)
                link = x->bigrams[j][0] == x->ranges[r].q && x->bigrams[j][1] == x->ranges[r + 1].q;
        }
        cur = link ? cur + 1 : 1;
        run = cur > run ? cur : run;
    }
    s->sfeatures[XANS_S_RUN] = x->n_q > 0 ? (double)run / (double)x->n_q : 0.0;
    /* shortest window: two pointers over the ranges */
    size_t count[XANS_MAX_QTERMS] = {0};
    size_t distinct = 0;
    for (size_t r = 0; r < x->n_ranges; r++) {
        if (count[x->ranges[r].q]++ == 0)
            distinct++;
    }
    if (distinct == 0)
        return;
    memset(count, 0, sizeof count);
    size_t have = 0;
    size_t best = SIZE_MAX;
    size_t lo = 0;
    for (size_t hi = 0; hi < x->n_ranges; hi++) {
        if (count[x->ranges[hi].q]++ == 0)
            have++;
        while (have == distinct) {
            size_t width = x->ranges[hi].pos - x->ranges[lo].pos + 1;
            best = width < best ? width : best;
            if (--count[x->ranges[lo].q] == 0)
                have--;
            lo++;
        }
    }
    s->sfeatures[XANS_S_DENSITY] = (double)distinct / (double)best;
}

/* True when an earlier chunk of the same document already gave a sentence at char_start. */
static bool seen_before(const struct xans_result *r, const struct xans_chunk *chunks,
                        size_t chunk, int64_t char_start)
{
    for (size_t i = 0; i < r->n_sentences; i++) {
        const struct xans_sentence *s = &r->sentences[i];
        if (s->chunk != chunk && chunks[s->chunk].document_id == chunks[chunk].document_id &&
            s->char_start == char_start)
            return true;
    }
    return false;
}

/* True when the line text[a..b) opens with a list marker: "- ", "* ", "+ ", a bullet, or a
 * number and "." or ")" then a space. */
static bool list_line(const char *text, size_t a, size_t b)
{
    while (a < b && (text[a] == ' ' || text[a] == '\t'))
        a++;
    if (b - a >= 2 && (text[a] == '-' || text[a] == '*' || text[a] == '+') && text[a + 1] == ' ')
        return true;
    if (b - a >= 4 && memcmp(text + a, "\xe2\x80\xa2 ", 4) == 0) /* "• " */
        return true;
    size_t d = a;
    while (d < b && d - a < 3 && text[d] >= '0' && text[d] <= '9')
        d++;
    return d > a && d + 1 < b && (text[d] == '.' || text[d] == ')') && text[d + 1] == ' ';
}

static bool blank_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The number of lines of span sp when it is a table or a list (a line opening with a list
 * marker, or a " | " cell separator, with more than one line); 0 otherwise. */
static size_t row_lines(const char *text, const struct span *sp)
{
    if (memchr(text + sp->start, '\n', sp->end - sp->start) == NULL)
        return 0;
    bool rows = false;
    size_t lines = 1;
    for (size_t at = sp->start; at < sp->end; at++) {
        if (text[at] == '\n') {
            lines++;
            rows = rows || list_line(text, at + 1, sp->end);
        } else if (at + 3 <= sp->end && memcmp(text + at, " | ", 3) == 0) {
            rows = true;
        }
    }
    return rows ? lines : 0;
}

/* Splits the sentences that are tables (rows on lines, cells joined by " | ", as the
 * extractors write them) or lists (lines opening with a marker) into one per line: a row or an
 * item answers "what does X do" alone, and whole it is one giant sentence that matches
 * everything. Replaces *spans (realloc'd); lines keep their offsets, trimmed of spaces. */
static frugal_status split_lines(const char *text, struct span **spans, size_t *n_spans)
{
    size_t n = 0;
    bool any = false;
    for (size_t i = 0; i < *n_spans; i++) {
        size_t lines = row_lines(text, &(*spans)[i]);
        n += lines > 0 ? lines : 1;
        any = any || lines > 0;
    }
    if (!any)
        return FRUGAL_OK;
    struct span *out = frugal_reallocarray(NULL, n, sizeof *out);
    if (out == NULL)
        return FRUGAL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < *n_spans; i++) {
        struct span sp = (*spans)[i];
        if (row_lines(text, &sp) == 0) {
            out[k++] = sp;
            continue;
        }
        size_t a = sp.start;
        while (a < sp.end) {
            const char *e = memchr(text + a, '\n', sp.end - a);
            size_t b = e != NULL ? (size_t)(e - text) : sp.end;
            size_t s0 = a;
            size_t s1 = b;
            while (s0 < s1 && blank_byte(text[s0]))
                s0++;
            while (s1 > s0 && blank_byte(text[s1 - 1]))
                s1--;
            if (s1 > s0 && k < n) {
                out[k].start = s0;
                out[k].end = s1;
                k++;
            }
            a = b + 1;
        }
    }
    frugal_free(*spans);
    *spans = out;
    *n_spans = k;
    return FRUGAL_OK;
}

/* Splits every chunk into sentences and counts question terms in each. */
static frugal_status collect_sentences(struct xans *x, const struct xans_chunk *chunks,
                                       size_t n_chunks, struct xans_result *out)
{
    size_t cap = 0;
    for (size_t c = 0; c < n_chunks; c++) {
        struct span *spans = NULL;
        size_t n_spans = 0;
        frugal_status rc = sentences_split(chunks[c].text, chunks[c].len, &spans, &n_spans);
        if (rc == FRUGAL_OK)
            rc = split_lines(chunks[c].text, &spans, &n_spans);
        size_t chars = 0;   /* code points before spans[i].start */
        size_t at = 0;      /* byte matching `chars` */
        for (size_t i = 0; rc == FRUGAL_OK && i < n_spans; i++) {
            chars += utf8_count(chunks[c].text + at, spans[i].start - at);
            at = spans[i].start;
            int64_t cs = chunks[c].char_start + (int64_t)chars;
            if (seen_before(out, chunks, c, cs))
                continue;
            if (out->n_sentences == cap) {
                size_t ncap = cap ? 2 * cap : 32;
                struct xans_sentence *s =
                    frugal_reallocarray(out->sentences, ncap, sizeof *s);
                if (s == NULL) {
                    rc = FRUGAL_ENOMEM;
                    break;
                }
                out->sentences = s;
                cap = ncap;
            }
            rc = grow_rows(x, out->n_sentences + 1);
            if (rc != FRUGAL_OK)
                break;
            struct xans_sentence *s = &out->sentences[out->n_sentences];
            memset(s, 0, sizeof *s);
            s->chunk = c;
            s->index = i;
            s->byte_start = spans[i].start;
            s->byte_end = spans[i].end;
            s->char_start = cs;
            s->char_end = cs + (int64_t)utf8_count(chunks[c].text + spans[i].start,
                                                   spans[i].end - spans[i].start);
            s->span_start = s->byte_start;
            s->span_end = s->byte_end;
            uint16_t *row = x->tf + out->n_sentences * XANS_MAX_QTERMS;
            memset(row, 0, XANS_MAX_QTERMS * sizeof *row);
            rc = count_sentence(x, chunks[c].text, s->byte_start, s->byte_end, row,
                                &x->n_terms[out->n_sentences]);
            size_t n_words = 0;
            if (rc == FRUGAL_OK)
                rc = sentence_words(x, chunks[c].text, s->byte_start, s->byte_end, &n_words);
            if (rc == FRUGAL_OK)
                new_words(x, chunks[c].text, n_words, s);
            if (rc == FRUGAL_OK && out->qtype != XANS_Q_OTHER) {
                double cost = 0.0;
                s->has_span = find_span(x, chunks[c].text, s->byte_end, n_words, out->qtype,
                                        &s->span_start, &s->span_end, &cost);
                if (s->has_span)
                    s->sfeatures[XANS_S_TYPE_NEAR] = 1.0 / (1.0 + (cost > 0.0 ? cost : 0.0));
            }
            if (rc == FRUGAL_OK)
                order_features(x, s);
            if (rc == FRUGAL_OK && x->wv != NULL)
                rc = xans_wv_sentence(x->wv, out->n_sentences, chunks[c].text + s->byte_start,
                                      s->byte_end - s->byte_start);
            out->n_sentences++;
        }
        frugal_free(spans);
        if (rc != FRUGAL_OK)
            return rc;
    }
    return FRUGAL_OK;
}

/* idf-weighted coverage of the question by the union of rows [lo, hi] (same chunk). */
static double coverage_of(const struct xans *x, const double *idf, double idf_sum,
                          const struct xans_result *r, size_t lo, size_t hi)
{
    double got = 0.0;
    for (size_t q = 0; q < x->n_q; q++) {
        for (size_t i = lo; i <= hi; i++) {
            if (r->sentences[i].chunk == r->sentences[lo].chunk &&
                x->tf[i * XANS_MAX_QTERMS + q] > 0) {
                got += idf[q];
                break;
            }
        }
    }
    return idf_sum > 0.0 ? got / idf_sum : 0.0;
}

/* Weights of the sentence score, order as enum xans_sfeature, and its intercept. */
static const double score_weights[XANS_N_SFEATURES] = {
    5.5227, /* coverage */
    1.2485, /* bm25 */
    1.6054, /* context */
    3.6629, /* rank */
    1.2506, /* type */
    -0.0114, /* top chunk */
    1.1213, /* bigram */
    -0.0190, /* density */
    0.0338, /* length */
    0.4318, /* novel */
    -0.0407, /* first */
    0.2496, /* chunk coverage */
    0.2831, /* type near */
    0.0591, /* rarest */
    0.2174, /* top document */
    -0.0196, /* entity */
    0.3105, /* focus */
    -0.7969, /* run */
    -0.0170, /* new name */
    0.0146, /* new number */
    0.8291, /* type: number */
    0.8262, /* type: date */
    0.2398, /* type: person */
    -0.6445, /* type: place */
    0.8251, /* near: number */
    -0.0869, /* near: date */
    -0.3105, /* near: person */
    -0.1446, /* near: place */
    0.4773, /* coverage x density */
    0.4310, /* coverage squared */
    4.0624, /* coverage x rank */
    -6.9517, /* coverage x chunk coverage */
    0.0000, /* wv: soft coverage */
    0.0000, /* wv: soft extra */
    0.0000, /* wv: soft high */
    0.0000, /* wv: cosine */
    0.0000, /* wv: chunk soft */
    0.0000, /* wv: chunk cosine */
};
static const double score_intercept = -8.9658;

/* The same with word vectors (xans_set_vectors), the six word-vector features last. */
static const double score_weights_wv[XANS_N_SFEATURES] = {
    5.3838, /* coverage */
    0.7839, /* bm25 */
    1.4933, /* context */
    2.1710, /* rank */
    1.2168, /* type */
    -0.0310, /* top chunk */
    1.2667, /* bigram */
    0.0186, /* density */
    -0.0993, /* length */
    0.5286, /* novel */
    -0.0454, /* first */
    -0.2200, /* chunk coverage */
    0.3635, /* type near */
    0.0095, /* rarest */
    0.1981, /* top document */
    -0.2651, /* entity */
    0.3788, /* focus */
    -1.3100, /* run */
    -0.0048, /* new name */
    0.0138, /* new number */
    0.7960, /* type: number */
    0.8324, /* type: date */
    0.2324, /* type: person */
    -0.6440, /* type: place */
    0.7060, /* near: number */
    -0.0032, /* near: date */
    -0.2538, /* near: person */
    -0.0855, /* near: place */
    0.4234, /* coverage x density */
    -0.2529, /* coverage squared */
    2.3970, /* coverage x rank */
    -5.6410, /* coverage x chunk coverage */
    1.9035, /* wv: soft coverage */
    -0.7828, /* wv: soft extra */
    0.9033, /* wv: soft high */
    0.4401, /* wv: cosine */
    2.2021, /* wv: chunk soft */
    1.7140, /* wv: chunk cosine */
};
static const double score_intercept_wv = -10.9167;

static void score_sentences(const struct xans *x, const struct xans_chunk *chunks,
                            size_t n_chunks, size_t n_answer, struct xans_result *r)
{
    double idf[XANS_MAX_QTERMS];
    double idf_sum = 0.0;
    double n = (double)r->n_sentences;
    double avg_len = 0.0;
    for (size_t i = 0; i < r->n_sentences; i++)
        avg_len += (double)x->n_terms[i];
    avg_len = n > 0 ? avg_len / n : 1.0;
    if (avg_len <= 0.0)
        avg_len = 1.0;
    size_t rarest = 0;
    for (size_t q = 0; q < x->n_q; q++) {
        double df = 0.0;
        for (size_t i = 0; i < r->n_sentences; i++)
            df += x->tf[i * XANS_MAX_QTERMS + q] > 0;
        idf[q] = log(1.0 + (n - df + 0.5) / (df + 0.5));
        idf_sum += idf[q];
        if (idf[q] > idf[rarest])
            rarest = q;
    }
    double top = n_chunks > 0 ? chunks[0].score : 0.0;
    double retr_margin = 0.0;
    if (n_chunks > 1 && top > 0.0)
        retr_margin = (top - chunks[1].score) / top;
    else if (n_chunks == 1)
        retr_margin = 1.0;
    retr_margin = retr_margin < 0.0 ? 0.0 : retr_margin > 1.0 ? 1.0 : retr_margin;
    size_t chunk_lo = 0; /* first sentence of the current chunk */
    double chunk_cov = 0.0;
    double chunk_soft = 0.0;   /* with word vectors: the chunk's best soft coverage, cosine */
    double chunk_cosine = 0.0;
    if (x->wv != NULL)
        xans_wv_pool(x->wv, r->n_sentences);
    for (size_t i = 0; i < r->n_sentences; i++) {
        struct xans_sentence *s = &r->sentences[i];
        if (i == 0 || r->sentences[i - 1].chunk != s->chunk) {
            size_t hi = i;
            while (hi + 1 < r->n_sentences && r->sentences[hi + 1].chunk == s->chunk)
                hi++;
            chunk_lo = i;
            chunk_cov = coverage_of(x, idf, idf_sum, r, chunk_lo, hi);
            chunk_soft = 0.0;
            chunk_cosine = 0.0;
            for (size_t j = i; x->wv != NULL && j <= hi; j++) {
                double wv[XWV_N];
                xans_wv_features(x->wv, j, wv);
                chunk_soft = wv[XWV_SOFT] > chunk_soft ? wv[XWV_SOFT] : chunk_soft;
                chunk_cosine = wv[XWV_COSINE] > chunk_cosine ? wv[XWV_COSINE] : chunk_cosine;
            }
        }
        const uint16_t *row = x->tf + i * XANS_MAX_QTERMS;
        double bm = 0.0;
        double norm = XANS_BM25_K1 * (1.0 - XANS_BM25_B + XANS_BM25_B *
                                      (double)x->n_terms[i] / avg_len);
        size_t matched = 0;
        for (size_t q = 0; q < x->n_q; q++) {
            double tf = row[q];
            matched += row[q];
            if (tf > 0)
                bm += idf[q] * tf * (XANS_BM25_K1 + 1.0) / (tf + norm);
        }
        double cov = coverage_of(x, idf, idf_sum, r, i, i);
        size_t lo = i > 0 && r->sentences[i - 1].chunk == s->chunk ? i - 1 : i;
        size_t hi = i + 1 < r->n_sentences && r->sentences[i + 1].chunk == s->chunk ? i + 1 : i;
        double ctx = coverage_of(x, idf, idf_sum, r, lo, hi) - cov;
        double rank = top > 0.0 ? chunks[s->chunk].score / top : 1.0 / (1.0 + (double)s->chunk);
        rank = rank < 0.0 ? 0.0 : rank > 1.0 ? 1.0 : rank;
        double terms = (double)x->n_terms[i];
        double *sf = s->sfeatures;
        if (x->wv != NULL) {
            double wv[XWV_N];
            xans_wv_features(x->wv, i, wv);
            sf[XANS_S_WV_SOFT] = wv[XWV_SOFT];
            sf[XANS_S_WV_EXTRA] = wv[XWV_SOFT_EXTRA];
            sf[XANS_S_WV_HIGH] = wv[XWV_SOFT_HIGH];
            sf[XANS_S_WV_COSINE] = wv[XWV_COSINE];
            sf[XANS_S_WV_CHUNK_SOFT] = chunk_soft;
            sf[XANS_S_WV_CHUNK_COSINE] = chunk_cosine;
        }
        sf[XANS_S_COVERAGE] = cov;
        sf[XANS_S_BM25] = idf_sum > 0.0 ? bm / idf_sum : 0.0;
        sf[XANS_S_CONTEXT] = ctx;
        sf[XANS_S_RANK] = rank;
        sf[XANS_S_TYPE] = s->has_span;
        sf[XANS_S_TOP_CHUNK] = s->chunk == 0;
        sf[XANS_S_LENGTH] = log(1.0 + terms);
        sf[XANS_S_NOVEL] = terms > 0.0 ? (terms - (double)matched) / terms : 0.0;
        sf[XANS_S_FIRST] = s->index == 0;
        sf[XANS_S_CHUNK_COV] = chunk_cov;
        sf[XANS_S_RAREST] = x->n_q > 0 && row[rarest] > 0;
        sf[XANS_S_TOP_DOC] = chunks[s->chunk].document_id == chunks[0].document_id;
        double ent = 0.0;
        double ent_sum = 0.0;
        double foc = 0.0;
        double foc_n = 0.0;
        for (size_t q = 0; q < x->n_q; q++) {
            if (x->q_entity[q]) {
                ent_sum += idf[q];
                ent += row[q] > 0 ? idf[q] : 0.0;
            }
            if (x->q_focus[q]) {
                foc_n += 1.0;
                foc += row[q] > 0;
            }
        }
        sf[XANS_S_ENTITY] = ent_sum > 0.0 ? ent / ent_sum : 0.0;
        sf[XANS_S_FOCUS] = foc_n > 0.0 ? foc / foc_n : 0.0;
        if (r->qtype != XANS_Q_OTHER) {
            sf[XANS_S_TYPE_NUMBER + (r->qtype - XANS_Q_NUMBER)] = sf[XANS_S_TYPE];
            sf[XANS_S_NEAR_NUMBER + (r->qtype - XANS_Q_NUMBER)] = sf[XANS_S_TYPE_NEAR];
        }
        sf[XANS_S_COV_DENSITY] = cov * sf[XANS_S_DENSITY];
        sf[XANS_S_COV_SQ] = cov * cov;
        sf[XANS_S_COV_RANK] = cov * rank;
        sf[XANS_S_COV_CHUNK] = cov * chunk_cov;
        const double *wt = x->wv != NULL ? score_weights_wv : score_weights;
        double z = x->wv != NULL ? score_intercept_wv : score_intercept;
        for (size_t k = 0; k < XANS_N_SFEATURES; k++)
            z += wt[k] * sf[k];
        s->score = 1.0 / (1.0 + exp(-z));
        double *f = s->features;
        f[XANS_F_SCORE] = z;
        f[XANS_F_COVERAGE] = cov;
        f[XANS_F_BM25] = sf[XANS_S_BM25];
        f[XANS_F_CONTEXT] = ctx;
        f[XANS_F_RANK] = rank;
        f[XANS_F_TYPE] = s->has_span;
        f[XANS_F_RETR_MARGIN] = retr_margin;
        f[XANS_F_TOP_CHUNK] = sf[XANS_S_TOP_CHUNK];
        f[XANS_F_BIGRAM] = sf[XANS_S_BIGRAM];
        f[XANS_F_DENSITY] = sf[XANS_S_DENSITY];
        f[XANS_F_CHUNK_COV] = chunk_cov;
        f[XANS_F_LENGTH] = sf[XANS_S_LENGTH];
        f[XANS_F_TOP_DOC] = sf[XANS_S_TOP_DOC];
        if (r->qtype != XANS_Q_OTHER)
            f[XANS_F_Q_NUMBER + (r->qtype - XANS_Q_NUMBER)] = 1.0;
        f[XANS_F_QTERMS] = (double)(x->n_q < 12 ? x->n_q : 12) / 12.0;
    }
    size_t best = r->n_sentences;
    for (size_t i = 0; i < r->n_sentences && r->sentences[i].chunk < n_answer; i++) {
        if (best == r->n_sentences || r->sentences[i].score > r->sentences[best].score)
            best = i;
    }
    /* the softmax of the logits: each sentence's share, and its chunk's */
    double top_z = best < r->n_sentences ? r->sentences[best].features[XANS_F_SCORE] : 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < r->n_sentences; i++)
        sum += exp(r->sentences[i].features[XANS_F_SCORE] - top_z);
    double second = 0.0;
    bool have_second = false;
    for (size_t i = 0; i < r->n_sentences; i++) {
        double z = r->sentences[i].features[XANS_F_SCORE];
        if (i != best && (!have_second || z > second)) {
            second = z;
            have_second = true;
        }
    }
    for (size_t i = 0; i < r->n_sentences; i++) {
        double *f = r->sentences[i].features;
        double z = f[XANS_F_SCORE];
        double other = i == best ? second : top_z;
        /* alone, a sentence's margin is what a second sentence 4 logits below would give */
        f[XANS_F_MARGIN] = have_second || i != best ? z - other : 4.0;
        double prob = exp(z - top_z) / sum;
        f[XANS_F_PROB] = prob;
        double lg = log(prob / (1.0 - prob + 1e-12) + 1e-12);
        f[XANS_F_LOGIT] = lg < -12.0 ? -12.0 : lg > 12.0 ? 12.0 : lg;
        double chunk_prob = 0.0;
        for (size_t j = 0; j < r->n_sentences; j++) {
            if (r->sentences[j].chunk == r->sentences[i].chunk)
                chunk_prob += exp(r->sentences[j].features[XANS_F_SCORE] - top_z) / sum;
        }
        f[XANS_F_CHUNK_PROB] = chunk_prob;
    }
    r->best = best;
    r->confidence = best < r->n_sentences && idf_sum > 0.0
                        ? xans_confidence(r->sentences[best].features)
                        : 0.0;
    if (idf_sum <= 0.0)
        r->best = r->n_sentences;
}

frugal_status xans_run(struct xans *x, const char *question, const struct xans_chunk *chunks,
                       size_t n_chunks, size_t n_answer, struct xans_result *out,
                       struct err *err)
{
    xans_result_release(out);
    out->qtype = xans_question_type(question);
    x->n_q = 0;
    x->n_qseq = 0;
    x->question = question;
    x->wh_end = wh_word_end(question);
    struct count_ctx c = {.x = x};
    frugal_status rc = analyzer_run(x->an, question, strlen(question), on_question_term, &c);
    out->n_qterms = x->n_q;
    question_bigrams(x);
    if (rc == FRUGAL_OK && x->wv != NULL)
        rc = xans_wv_question(x->wv, question);
    if (rc == FRUGAL_OK && x->n_q > 0)
        rc = collect_sentences(x, chunks, n_chunks, out);
    if (rc != FRUGAL_OK) {
        xans_result_release(out);
        return err_set(err, rc, "out of memory");
    }
    if (n_answer == 0 || n_answer > n_chunks)
        n_answer = n_chunks;
    score_sentences(x, chunks, n_chunks, n_answer, out);
    return FRUGAL_OK;
}
