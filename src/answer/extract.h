/*
 * extract.h - extractive answers: the sentence of the retrieved chunks that best answers a
 * question, a short span inside it when an answer-type cue finds one, and a calibrated
 * confidence. No model, no network: deterministic arithmetic on the analyzer's terms.
 *
 * Contract:
 *  - Input: the question (NUL-terminated UTF-8, borrowed) and the top chunks of a retrieval in
 *    rank order (struct xans_chunk, borrowed; their text is the chunk text as stored, NFC).
 *  - Sentences come from sentences_split over each chunk, with the rows of a table (lines
 *    with " | " cells) and the items of a list (lines opening with a marker) split apart; a
 *    sentence seen in an earlier chunk of the same document (chunks overlap) is kept once, at
 *    its first occurrence.
 *  - The question's terms are its analyzed terms less the words that make it a question
 *    ("what", "does", ...: the analyzer's stopword list is short).
 *  - Every sentence gets a score in (0, 1), higher is better, a logistic function of its
 *    sentence features (enum xans_sfeature) that estimates its chance of holding the answer;
 *    the best one is the answer. Ties go to the earlier chunk, then the earlier sentence: the
 *    result depends on nothing but the input.
 *  - Offsets: byte offsets are within the chunk text; char offsets are code points within the
 *    document's extracted text (chunk char_start + code points before the sentence).
 *  - The confidence is a logistic function of the best sentence's answer features (enum
 *    xans_feature), in (0, 1); the coefficients of both models (extract.c) were fitted on half
 *    of SQuAD v1.1 dev (bench/squad_fit.py).
 *
 * Threading: a struct xans holds an analyzer (a Snowball stemmer) and scratch memory: one per
 * thread. Results are independent of the xans that computed them.
 */
#ifndef FRUGAL_ANSWER_EXTRACT_H
#define FRUGAL_ANSWER_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "text/analyzer.h"

/* What kind of answer the question asks for, from its question words. */
enum xans_qtype {
    XANS_Q_OTHER = 0,
    XANS_Q_NUMBER = 1,  /* how many, how much, what percentage, how long/old/far/large... */
    XANS_Q_DATE = 2,    /* when, what/which year, what century, what date */
    XANS_Q_PERSON = 3,  /* who, whom, whose; a name: what/which company, team, language... */
    XANS_Q_PLACE = 4,   /* where, what/which country, city, river... */
};

/* One retrieved chunk; every pointer borrowed. */
struct xans_chunk {
    const char *text;       /* the chunk text (need not be NUL-terminated) */
    size_t len;             /* bytes */
    int64_t document_id;
    int64_t chunk_id;
    int64_t char_start;     /* the chunk's offset in its document's text, in code points */
    double score;           /* retrieval score, higher is better */
};

/* Features of a sentence as an answer, in the order the confidence model uses them. */
enum xans_feature {
    XANS_F_PROB = 0,     /* its share of the softmax of the scores' logits over all sentences */
    XANS_F_LOGIT,        /* log(prob / (1 - prob)), clamped to [-12, 12] */
    XANS_F_CHUNK_PROB,   /* the softmax share of all sentences of its chunk */
    XANS_F_SCORE,        /* the score's logit */
    XANS_F_MARGIN,       /* logit minus the best logit among the other sentences */
    XANS_F_COVERAGE,     /* the sentence features of the same names (enum xans_sfeature) */
    XANS_F_BM25,
    XANS_F_CONTEXT,
    XANS_F_RANK,
    XANS_F_TYPE,
    XANS_F_RETR_MARGIN,  /* (top chunk score - second chunk score) / top chunk score, [0,1] */
    XANS_F_TOP_CHUNK,
    XANS_F_BIGRAM,
    XANS_F_DENSITY,
    XANS_F_CHUNK_COV,
    XANS_F_LENGTH,
    XANS_F_TOP_DOC,
    XANS_F_Q_NUMBER,     /* the question type, one-hot (all 0: untyped) */
    XANS_F_Q_DATE,
    XANS_F_Q_PERSON,
    XANS_F_Q_PLACE,
    XANS_F_QTERMS,       /* distinct question terms, capped at 12, / 12 */
    XANS_N_FEATURES
};

/* Features of a sentence for its score, a linear mix of them (weights in extract.c). */
enum xans_sfeature {
    XANS_S_COVERAGE = 0, /* idf-weighted share of the question's terms in the sentence, [0,1] */
    XANS_S_BM25,         /* sentence BM25 over the candidate sentences / sum of idf, [0, 2.2] */
    XANS_S_CONTEXT,      /* extra coverage the neighbouring sentences add, [0,1] */
    XANS_S_RANK,         /* chunk retrieval score / the top chunk's score, [0,1] */
    XANS_S_TYPE,         /* 1 when it holds a candidate of the question's answer type */
    XANS_S_TOP_CHUNK,    /* 1 in the top chunk */
    XANS_S_BIGRAM,       /* share of the question's adjacent term pairs found adjacent, [0,1] */
    XANS_S_DENSITY,      /* distinct question terms / terms of the shortest window holding them */
    XANS_S_LENGTH,       /* log(1 + terms) */
    XANS_S_NOVEL,        /* share of its terms that are not question terms, [0,1] */
    XANS_S_FIRST,        /* 1 for the first sentence of its chunk */
    XANS_S_CHUNK_COV,    /* idf-weighted coverage of the question by its whole chunk, [0,1] */
    XANS_S_TYPE_NEAR,    /* 1 / (1 + words between the typed candidate and a question word) */
    XANS_S_RAREST,       /* 1 when it holds the question term of highest idf */
    XANS_S_TOP_DOC,      /* 1 when its chunk is of the top chunk's document */
    XANS_S_ENTITY,       /* idf-weighted share of the question's capitalized terms, [0,1] */
    XANS_S_FOCUS,        /* share of the question's focus terms (after the wh-word), [0,1] */
    XANS_S_RUN,          /* longest run of question terms in question order / terms, [0,1] */
    XANS_S_NEW_NAME,     /* 1 when it has a capitalized word, not its first, not asked about */
    XANS_S_NEW_NUMBER,   /* 1 when it has a number not asked about */
    XANS_S_TYPE_NUMBER,  /* type, for each question type (the weight differs) */
    XANS_S_TYPE_DATE,
    XANS_S_TYPE_PERSON,
    XANS_S_TYPE_PLACE,
    XANS_S_NEAR_NUMBER,  /* type near, for each question type */
    XANS_S_NEAR_DATE,
    XANS_S_NEAR_PERSON,
    XANS_S_NEAR_PLACE,
    XANS_S_COV_DENSITY,  /* coverage x density */
    XANS_S_COV_SQ,       /* coverage squared */
    XANS_S_COV_RANK,     /* coverage x rank */
    XANS_S_COV_CHUNK,    /* coverage x chunk coverage */
    XANS_S_WV_SOFT,      /* with word vectors (xans_set_vectors; else 0): enum xwv_feature */
    XANS_S_WV_EXTRA,
    XANS_S_WV_HIGH,
    XANS_S_WV_COSINE,
    XANS_S_WV_CHUNK_SOFT,   /* the highest XANS_S_WV_SOFT among its chunk's sentences */
    XANS_S_WV_CHUNK_COSINE, /* the highest XANS_S_WV_COSINE among its chunk's sentences */
    XANS_N_SFEATURES
};

struct xans_sentence {
    size_t chunk;            /* index in the chunks given */
    size_t index;            /* sentence number within its chunk, from 0 */
    size_t byte_start;       /* in the chunk text, end exclusive */
    size_t byte_end;
    int64_t char_start;      /* in the document's text, code points, end exclusive */
    int64_t char_end;
    double score;            /* in (0, 1): logistic of the weighted sfeatures */
    double sfeatures[XANS_N_SFEATURES];
    double features[XANS_N_FEATURES];
    size_t span_start;       /* the answer span, bytes in the chunk text; = the sentence when */
    size_t span_end;         /*   no cue located one */
    bool has_span;           /* a typed span was found */
};

struct xans_result {
    struct xans_sentence *sentences; /* owned; every candidate, in (chunk, position) order */
    size_t n_sentences;
    size_t best;             /* index of the answer; n_sentences when there is none */
    double confidence;       /* in (0, 1); 0 when there is no answer */
    enum xans_qtype qtype;
    size_t n_qterms;         /* distinct analyzed question terms */
};

struct xans;

/* opts: the collection's analyzer (NULL: english, default stopwords). */
frugal_status xans_new(const struct analyzer_opts *opts, struct xans **out, struct err *err);
void xans_free(struct xans *x);

void xans_result_init(struct xans_result *r);
void xans_result_release(struct xans_result *r);

/* Gives x word vectors (an open .fsv file, borrowed: it must outlive x or the next call), as a
 * collection's static embedder has them; the sentence score then adds the word-vector features
 * (extract_wv.h) with its own weights. sv NULL drops them. On failure x keeps none. */
struct sv_file;
frugal_status xans_set_vectors(struct xans *x, const struct sv_file *sv, struct err *err);

/* Scores every sentence of chunks[0..n_chunks) against question and fills out (released and
 * refilled); the answer is the best sentence of the first n_answer chunks (0: of all; the
 * others are candidates for a generator's context only). A question without terms, or chunks without
 * sentences, give no answer (best == n_sentences), not an error. FRUGAL_ENOMEM only. */
frugal_status xans_run(struct xans *x, const char *question, const struct xans_chunk *chunks,
                       size_t n_chunks, size_t n_answer, struct xans_result *out,
                       struct err *err);

/* The question's answer type. */
enum xans_qtype xans_question_type(const char *question);

/* The confidence the model gives to a feature vector, in (0, 1). */
double xans_confidence(const double features[XANS_N_FEATURES]);

#endif
