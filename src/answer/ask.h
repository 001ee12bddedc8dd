/*
 * ask.h - the pieces of frugal_ask that the SQuAD evaluation (src/eval/squad.c) reuses, so that it
 * measures exactly what frugal_ask does while keeping one analyzer for 10,000 questions.
 *
 * Contract: answer_ask is frugal_ask with the extractor given (x, borrowed, for the collection's
 * analyzer) and, optionally, what an evaluation needs besides the answer. It sets db's error on
 * failure.
 *
 * Threading: as frugal_ask (one db handle, one xans per thread).
 */
#ifndef FRUGAL_ANSWER_ASK_H
#define FRUGAL_ANSWER_ASK_H

#include "answer/extract.h"
#include "base/buf.h"
#include "frugal.h"

struct answer_extra {
    struct buf *context;      /* optional: receives the compressed context (appended) */
    struct buf *whole;        /* optional: receives the top-5 chunks joined by "\n\n" */
    double features[XANS_N_FEATURES]; /* out: the answer sentence's features (0 without one) */
};

/* An extractor with the analyzer of collection `name` (NULL = "default"). */
frugal_status answer_xans_for(frugal_db *db, const char *name, struct xans **out);

frugal_status answer_ask(frugal_db *db, struct xans *x, const char *question,
                         const frugal_ask_params *params, frugal_answer **out,
                         struct answer_extra *extra);

#endif
