/*
 * squad.h - the database-free parts of the SQuAD evaluation (the entry point is
 * frugal_eval_squad in frugal.h): the SQuAD JSON parser and the official answer normalization
 * and token F1.
 *
 * Contract:
 *  - squad_parse reads a whole SQuAD v1.1 JSON text ({data, len}, borrowed) into a struct
 *    squad_set owned by the caller (squad_set_release, also after a failure). It fails with
 *    FRUGAL_ECORRUPT and a message saying where on a malformed file: not JSON, no "data" array,
 *    a paragraph without a string "context", a question without a string "question" or "id",
 *    an answer without a string "text". Questions without answers are kept (n_answers 0).
 *  - squad_normalize is the official evaluation script's normalize_answer (invalid UTF-8 read as
 *    U+FFFD): lowercase (Unicode simple lowercase), ASCII punctuation removed, the words a/an/the removed, whitespace runs
 *    collapsed to one space and trimmed.
 *  - squad_f1 is the official token F1 between two answers (normalized here); squad_contains
 *    says whether the normalized gold occurs in the normalized text on word boundaries.
 */
#ifndef FRUGAL_EVAL_SQUAD_H
#define FRUGAL_EVAL_SQUAD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct squad_question {
    char *id;           /* owned */
    char *question;     /* owned */
    char **answers;     /* owned, n_answers gold answer texts */
    size_t n_answers;
    size_t paragraph;   /* index in squad_set.paragraphs */
};

struct squad_paragraph {
    char *context;      /* owned */
    size_t article;     /* index in squad_set.titles */
};

struct squad_set {
    char **titles;      /* owned, one per article */
    size_t n_articles;
    struct squad_paragraph *paragraphs;
    size_t n_paragraphs;
    struct squad_question *questions;
    size_t n_questions;
};

void squad_set_init(struct squad_set *s);
void squad_set_release(struct squad_set *s);
frugal_status squad_parse(const char *data, size_t len, struct squad_set *out, struct err *err);

/* Appends the normalized form of text[0..len) to out (reset first). */
frugal_status squad_normalize(const char *text, size_t len, struct buf *out);
/* True when norm_gold (normalized, non-empty) occurs in norm_text on word boundaries. */
bool squad_contains(const char *norm_text, const char *norm_gold);
/* Token F1 of prediction against gold, both raw (normalized inside); -1 on out of memory. */
double squad_f1(const char *prediction, const char *gold);

#endif
