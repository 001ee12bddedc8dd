/*
 * extract_wv.h - word-vector features of the extractive sentence score (extract.c): how well a
 * sentence covers the question when words that mean the same count, from static word vectors
 * (GloVe, static_vectors.h) of the collection's embedder.
 *
 * Contract:
 *  - Words are the analyzer's with language "none" (case and accent folding, no stemming: the
 *    vectors' vocabulary is lowercase and unstemmed) less a list of function and question words;
 *    in the coverage features each question word weighs its idf over the candidate sentences
 *    (the extractor's pool); in the cosine each word of either side weighs a / (a + p(w)) with
 *    p Zipf's law over the vocabulary's frequency ranks and a = 1e-5 (the sentence vectors'
 *    weighting, static_vectors.h), a word the vocabulary lacks as its rarest word.
 *  - Per question: xans_wv_question, then xans_wv_sentence for each candidate, xans_wv_pool, then
 *    xans_wv_features of any of them (enum xwv_feature); a question without content words gives
 *    zeros.
 *
 * Threading: a struct xans_wv holds an analyzer and scratch: one thread at a time. The vector file
 * is borrowed, read only (an open sv_file may serve any number of threads).
 */
#ifndef FRUGAL_ANSWER_EXTRACT_WV_H
#define FRUGAL_ANSWER_EXTRACT_WV_H

#include <stddef.h>

#include "base/err.h"

struct sv_file;

enum xwv_feature {
    XWV_SOFT = 0,   /* weighted share of question words the sentence holds, or holds a word
                       near to (cosine, clipped at 0), [0,1] */
    XWV_SOFT_EXTRA, /* the part of XWV_SOFT from words it does not hold as such, [0,1] */
    XWV_SOFT_HIGH,  /* weighted share of question words it holds or has one at cosine > 0.6 */
    XWV_COSINE,     /* cosine of the weighted sums of question and sentence word vectors */
    XWV_N
};

struct xans_wv;

/* Features over the open vector file sv (borrowed: it must outlive the struct). */
frugal_status xans_wv_new(const struct sv_file *sv, struct xans_wv **out, struct err *err);
void xans_wv_free(struct xans_wv *w);

/* Takes question as the one sentences are compared with. FRUGAL_ENOMEM only. */
frugal_status xans_wv_question(struct xans_wv *w, const char *question);

/* Reads sentence i (from 0, in order, each once per question) of text[0..len) against the
 * question. FRUGAL_ENOMEM only. */
frugal_status xans_wv_sentence(struct xans_wv *w, size_t i, const char *text, size_t len);

/* After the n sentences of a question are read: weighs each question word by its idf over them
 * (log(1 + (n - df + 0.5) / (df + 0.5)), df = sentences holding the word itself). */
void xans_wv_pool(struct xans_wv *w, size_t n);

/* The features of sentence i (read, then pooled), into out[0..XWV_N). */
void xans_wv_features(const struct xans_wv *w, size_t i, double out[XWV_N]);

#endif
