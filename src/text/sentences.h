/*
 * sentences.h - sentence boundaries.
 *
 * A sentence ends at '.', '!', '?' (and '。', '！', '？'), possibly followed by closing quotes or
 * brackets, when followed by whitespace and then an uppercase letter, a digit, an opening quote
 * or bracket, or the end of the text; a blank line ("\n\n") always ends one. Not an end:
 * abbreviations from a built-in list ("e.g.", "i.e.", "etc." before lowercase, "Dr.", "Mr.",
 * "Mrs.", "Prof.", "Fig.", "Figs.", "Eq.", "No.", "vs.", "al.", "approx.", "Inc.", "Ltd.",
 * "St.", "Jr.", "cf.", "Vol.", "pp.", months, ...), single-letter initials ("J. R. R. Tolkien"),
 * decimals ("3.14") and ellipses inside a sentence.
 *
 * Precisely: "uppercase" includes letters of caseless scripts (category Lo); abbreviations match
 * case-insensitively, "No." only before a digit ("said no. Then" ends); dotted single letters
 * ("U.S.", "a.m.") count as initials; CJK terminators end a sentence with no space after them.
 * Invalid UTF-8 is read as U+FFFD (part of a sentence).
 */
#ifndef FRUGAL_TEXT_SENTENCES_H
#define FRUGAL_TEXT_SENTENCES_H

#include <stddef.h>

#include "frugal.h"

struct span {
    size_t start;  /* byte offset, inclusive */
    size_t end;    /* byte offset, exclusive; leading/trailing whitespace excluded */
};

/* Splits text[0..len) into sentences, returned in order in *out (owned by the caller, free
 * with frugal_free; NULL when *n_out == 0). Whitespace-only text gives no sentences. */
frugal_status sentences_split(const char *text, size_t len, struct span **out, size_t *n_out);

#endif
