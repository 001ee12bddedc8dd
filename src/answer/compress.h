/*
 * compress.h - context compression for a generator: the sentences of the retrieved chunks that
 * matter, within a token budget, instead of the chunks whole; and the token counter it uses.
 *
 * Contract:
 *  - compress_count_tokens approximates what a byte-pair-encoding tokenizer of the GPT family
 *    (cl100k-like) would count for English text, without its vocabulary (rules in compress.c).
 *    It is deterministic and never fails; it is an estimate for budgets and cost, not a promise.
 *  - compress_select picks sentences of a scored extraction (extract.h): the answer sentence,
 *    then, with a gain bound, every other whose share of the softmax of the sentence logits over
 *    all candidates, per token, clears the bound, best first, while it fits the cap; without one
 *    (a fixed budget) the others best first (score, a little less for length) while they fit,
 *    then their neighbours in the chunk while they fit. compress_render
 *    writes the picked sentences as the context text: one paragraph per chunk in rank order,
 *    sentences in document order, " … " (U+2026) where sentences were left out between them.
 *
 * Threading: pure functions of their arguments.
 */
#ifndef FRUGAL_ANSWER_COMPRESS_H
#define FRUGAL_ANSWER_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "answer/extract.h"
#include "base/buf.h"

/* Approximate BPE tokens of text[0..len). */
size_t compress_count_tokens(const char *text, size_t len);

/* Marks in selected[0..r->n_sentences) (caller-sized) the sentences to keep so that their
 * tokens, with one per separator, add up to at most budget_tokens (a best sentence alone over it
 * is still kept, cut by nothing: the budget is a cap, not a truncation). With min_gain > 0 only
 * the sentences whose softmax share (over every candidate's features[XANS_F_SCORE]) divided by
 * (tokens + 1) is at least min_gain are added to the answer; with min_gain 0 the budget is
 * filled, then neighbours. Returns the tokens of the picked sentences and their separators. */
size_t compress_select(const struct xans_chunk *chunks, const struct xans_result *r,
                       size_t budget_tokens, double min_gain, bool *selected);

/* Appends the context made of the selected sentences to out. FRUGAL_ENOMEM or ETOOBIG (out's
 * limit) only. */
frugal_status compress_render(const struct xans_chunk *chunks, size_t n_chunks,
                              const struct xans_result *r, const bool *selected,
                              struct buf *out);

/* Tokens of the first min(n, n_chunks) chunks sent whole (what naive stuffing would send). */
size_t compress_tokens_whole(const struct xans_chunk *chunks, size_t n_chunks, size_t n);

#endif
