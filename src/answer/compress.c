/*
 * compress.c - context compression within a token budget, and an approximate BPE token counter
 * (contract in compress.h).
 *
 * What and how, the counter: generators bill and limit by the tokens of their own byte-pair
 * encoding, whose vocabulary (100k entries for cl100k) we do not ship. For English prose such a
 * tokenizer gives most words one token with their leading space, splits long or rare words into
 * pieces of about four to six characters, groups digits by three, and gives punctuation a token
 * of its own. The counter applies exactly those rules: a run of ASCII letters of n bytes counts
 * ceil(n / 6) tokens; a run of digits ceil(n / 3); a word holding bytes >= 0x80 ceil(n / 3)
 * (accented and non-Latin text costs more bytes per token); a CJK character (3 UTF-8 bytes)
 * one token; every other non-space byte (punctuation, symbols) one token; spaces are free (they
 * ride on the next word) and a run of newlines counts one. On SQuAD v1.1 dev paragraphs this
 * lands within a few percent of BERT's WordPiece count (test_answer.c checks 0.8..1.25 on the
 * test paragraphs with the bert-base-uncased vocabulary; bench/squad.sh reports the ratio).
 *
 * The selection (frugal_ask's default, min_gain > 0): the candidates are the sentences of the
 * top 10 chunks (frugal_ask_params.context_chunks), scored by the extractor, whose scores are
 * the logits of a conditional logit: the softmax of the logits over every candidate is each
 * sentence's chance of being the one that holds the answer. The answer sentence is always taken;
 * then the others in the order of that share per token, share / (tokens + 1), each taken while
 * the share per token is at least min_gain and the sentence fits what is left of the cap
 * (budget_tokens). A bound on chance per token is what spending a fixed average of tokens over
 * many questions well asks for: the expected number of contexts holding the answer grows by the
 * share, at the cost of the tokens, so taking the sentences above one common bound, whatever
 * their question, buys the most support for the tokens spent. A confident extraction sends its
 * sentence, a flat one several. The bound (0.00054) and cap (600) are the most support on the
 * fitting half of SQuAD v1.1 dev at <= 25% of the top-5 chunks' tokens (bench/squad_fit.py
 * --gain, a simulation of this function). No neighbours are added in this mode: a neighbour is
 * taken when it clears the bound by itself; adding the neighbours of the taken ones (when they
 * cleared half the bound) cost 0.2 to 0.3 point of support at the same ratio (simulated).
 *
 * With min_gain 0, a fixed budget: the best sentence, then the others in the order of their
 * score's logit less 0.5 log(1 + tokens) while they fit, then the neighbours of the taken ones
 * (previous and next sentence in the chunk) while they fit, so that a pronoun keeps its
 * antecedent. The order of visits is (key descending, index ascending) in both modes, so the
 * result is deterministic.
 *
 * Where it stands (BENCHMARKS.md, squad; ratio over the top-5 chunks whole): in a collection
 * embedded with GloVe (hybrid retrieval, word-vector features in the sentence score) the context
 * holds a gold answer for 93.67% of SQuAD v1.1 dev questions at 23.5% of the top-5 chunks'
 * tokens, against 93.69% for the five chunks whole (fitting half 93.8% against 93.5%, check half
 * 93.6% against 94.0%); without an embedder 93.0% at 23.6% against 93.6%.
 * Before (the adaptive "score mass" budget over the top 5 chunks' sentences, with the earlier
 * sentence score) it was 91.4% at 23.7%; an expected-gain rule over independent sentence
 * chances (the chance that none so far holds it) reached 92.7% at 22.5%: the softmax share is
 * the better estimate because exactly one sentence usually holds the answer. The cost: the
 * extractor scores the sentences of 10 chunks instead of 5 on every question (frugal_ask,
 * extractive, SQuAD, BM25: 0.93 -> 1.14 ms per question, side by side; 0.52 ms since
 * answer_xans_for reads one collection row instead of listing every collection's counts).
 *
 * Why: sending the top five chunks whole costs five times what the one paragraph that answers
 * needs; a generator reads the answer sentence and its neighbours as well from a quarter of it.
 *
 * Threading: no state.
 */
#include "answer/compress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "text/utf8.h"

/* What a separator costs in the budget: the " … " between sentences left apart and the blank
 * line between chunks are one token each. */
#define COMPRESS_SEP_TOKENS 1
/* Logit points a sentence loses per log(1 + tokens) in the order of selection. */
#define COMPRESS_TOKEN_PENALTY 0.5

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

size_t compress_count_tokens(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t tokens = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '\n') {
            while (i < len && (s[i] == '\n' || s[i] == ' '))
                i++;
            tokens++;
        } else if (is_space(c)) {
            i++;
        } else if (is_digit(c)) {
            size_t st = i;
            while (i < len && is_digit(s[i]))
                i++;
            tokens += ceil_div(i - st, 3);
        } else if (is_letter(c) || c >= 0x80) {
            size_t st = i;
            bool wide = false;
            while (i < len && (is_letter(s[i]) || s[i] >= 0x80)) {
                if (s[i] >= 0x80) {
                    size_t adv = 1;
                    int32_t cp = utf8_decode((const char *)s + i, len - i, &adv);
                    /* CJK ideographs and kana: about one token each */
                    if ((cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x4e00 && cp <= 0x9fff) ||
                        (cp >= 0xac00 && cp <= 0xd7af)) {
                        if (i > st)
                            break;
                        i += adv;
                        tokens++;
                        st = i;
                        continue;
                    }
                    wide = true;
                    i += adv;
                } else {
                    i++;
                }
            }
            if (i > st)
                tokens += ceil_div(i - st, wide ? 3 : 6);
        } else {
            i++;
            tokens++;
        }
    }
    return tokens;
}

size_t compress_tokens_whole(const struct xans_chunk *chunks, size_t n_chunks, size_t n)
{
    size_t tokens = 0;
    for (size_t i = 0; i < n_chunks && i < n; i++)
        tokens += compress_count_tokens(chunks[i].text, chunks[i].len);
    return tokens;
}

struct by_score {
    double key;
    size_t index;
};

static int by_score_cmp(const void *a, const void *b)
{
    const struct by_score *x = a;
    const struct by_score *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static size_t sentence_tokens(const struct xans_chunk *chunks, const struct xans_sentence *s)
{
    return compress_count_tokens(chunks[s->chunk].text + s->byte_start,
                                 s->byte_end - s->byte_start);
}

/* Picks sentence i when it fits, with the separator it needs after the first; returns whether
 * it is picked now. */
static bool take(const struct xans_chunk *chunks, const struct xans_result *r, size_t i,
                 size_t budget, size_t *used, bool *selected, bool force)
{
    if (selected[i])
        return true;
    size_t t = sentence_tokens(chunks, &r->sentences[i]) + (*used > 0 ? COMPRESS_SEP_TOKENS : 0);
    if (!force && *used + t > budget)
        return false;
    selected[i] = true;
    *used += t;
    return true;
}

/* The expected-gain selection: each sentence's share of the softmax of the logits over every
 * candidate is its chance of being the one that holds the answer; the answer sentence is taken,
 * then the others in the order of that chance per token (share / (tokens + 1)) while it is at
 * least min_gain, each when it fits what is left of cap. */
static size_t gain_select(const struct xans_chunk *chunks, const struct xans_result *r,
                          struct by_score *order, size_t best, size_t cap, double min_gain,
                          bool *selected)
{
    size_t n = r->n_sentences;
    double top = r->sentences[best].features[XANS_F_SCORE];
    for (size_t i = 0; i < n; i++)
        if (r->sentences[i].features[XANS_F_SCORE] > top)
            top = r->sentences[i].features[XANS_F_SCORE];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += exp(r->sentences[i].features[XANS_F_SCORE] - top);
    for (size_t i = 0; i < n; i++) {
        double share = exp(r->sentences[i].features[XANS_F_SCORE] - top) / sum;
        size_t t = sentence_tokens(chunks, &r->sentences[i]);
        order[i].key = share / (1.0 + (double)t);
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, by_score_cmp);
    size_t used = 0;
    take(chunks, r, best, cap, &used, selected, true);
    for (size_t k = 0; k < n && order[k].key >= min_gain; k++)
        take(chunks, r, order[k].index, cap, &used, selected, false);
    return used;
}

size_t compress_select(const struct xans_chunk *chunks, const struct xans_result *r,
                       size_t budget_tokens, double min_gain, bool *selected)
{
    size_t n = r->n_sentences;
    size_t used = 0;
    if (n == 0)
        return 0;
    memset(selected, 0, n * sizeof *selected);
    size_t best = r->best < n ? r->best : 0;
    struct by_score *order = frugal_reallocarray(NULL, n, sizeof *order);
    if (order == NULL) {
        /* without memory to sort, the best sentence alone */
        take(chunks, r, best, budget_tokens, &used, selected, true);
        return used;
    }
    if (min_gain > 0.0) {
        used = gain_select(chunks, r, order, best, budget_tokens, min_gain, selected);
        frugal_free(order);
        return used;
    }
    for (size_t i = 0; i < n; i++) {
        /* the score's logit, less a little per token: of two sentences about as likely to
         * hold the answer, the shorter leaves room for another */
        double p = r->sentences[i].score;
        p = p < 1e-12 ? 1e-12 : p > 1.0 - 1e-12 ? 1.0 - 1e-12 : p;
        size_t t = sentence_tokens(chunks, &r->sentences[i]);
        order[i].key = log(p / (1.0 - p)) - COMPRESS_TOKEN_PENALTY * log(1.0 + (double)t);
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, by_score_cmp);
    size_t budget = budget_tokens;
    take(chunks, r, best, budget, &used, selected, true);
    for (size_t k = 0; k < n; k++)
        take(chunks, r, order[k].index, budget, &used, selected, false);
    /* then the neighbours of what was taken, best first, while they fit */
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k].index;
        if (!selected[i])
            continue;
        const struct xans_sentence *s = &r->sentences[i];
        if (i > 0 && r->sentences[i - 1].chunk == s->chunk &&
            r->sentences[i - 1].index + 1 == s->index)
            take(chunks, r, i - 1, budget, &used, selected, false);
        if (i + 1 < n && r->sentences[i + 1].chunk == s->chunk &&
            r->sentences[i + 1].index == s->index + 1)
            take(chunks, r, i + 1, budget, &used, selected, false);
    }
    frugal_free(order);
    return used;
}

frugal_status compress_render(const struct xans_chunk *chunks, size_t n_chunks,
                              const struct xans_result *r, const bool *selected,
                              struct buf *out)
{
    frugal_status rc = FRUGAL_OK;
    size_t prev = r->n_sentences; /* last written sentence */
    for (size_t i = 0; rc == FRUGAL_OK && i < r->n_sentences; i++) {
        if (!selected[i])
            continue;
        const struct xans_sentence *s = &r->sentences[i];
        if (s->chunk >= n_chunks)
            continue;
        if (prev < r->n_sentences) {
            const struct xans_sentence *p = &r->sentences[prev];
            if (p->chunk != s->chunk)
                rc = buf_puts(out, "\n\n");
            else if (p->index + 1 != s->index)
                rc = buf_puts(out, " \xe2\x80\xa6 "); /* " … " */
            else
                rc = buf_putc(out, ' ');
        }
        if (rc == FRUGAL_OK)
            rc = buf_append(out, chunks[s->chunk].text + s->byte_start,
                            s->byte_end - s->byte_start);
        prev = i;
    }
    if (rc == FRUGAL_OK && out->ptr == NULL)
        rc = buf_append(out, "", 0);
    return rc;
}
