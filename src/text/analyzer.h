/*
 * analyzer.h - turns text into BM25 terms, identically at index and query time.
 *
 * Pipeline, per word: words are maximal runs of letters, marks and digits (Unicode categories
 * L*, M*, N*), with an apostrophe or a '.' / ',' between two digits kept inside ("don't",
 * "3.14"); English possessive "'s" is dropped. Each word is case-folded and accent-folded
 * (utf8proc: CASEFOLD, DECOMPOSE, then nonspacing marks dropped where they are accents: on
 * Latin, Greek, Cyrillic, Armenian, Hebrew and Arabic letters, not on Brahmic, Thai or other
 * scripts whose marks are vowels; then COMPOSE), checked against the stopword list (after
 * folding, before stemming), then stemmed with Snowball (libstemmer) for the language.
 * Runs of CJK characters (Han, Hiragana, Katakana, Hangul) become overlapping bigrams
 * ("数据库" -> "数据", "据库"; a lone CJK character is a unigram), never stemmed nor stopped.
 * Terms longer than ANALYZER_MAX_TERM bytes are dropped, and so are source words longer than
 * 1024 bytes (not even folded: base64 blobs, hashes). U+2019 counts as an apostrophe and becomes
 * "'" in the term. Offsets always cover the whole source word, possessive included ("John's" ->
 * "john" at the offsets of "John's"). CJK terms are the input bytes themselves (not folded), so
 * text must be NFC (text_normalize) at index and at query time alike.
 *
 * Stemming is not idempotent (english: "only" -> "onli" -> "on", "please" -> "pleas" ->
 * "plea"; about 4% of distinct words of a novel): run the analyzer over original text only,
 * never over terms it produced.
 *
 * Threading: an analyzer holds a Snowball stemmer, which is not thread-safe: one analyzer per
 * thread (they are cheap to create).
 */
#ifndef FRUGAL_TEXT_ANALYZER_H
#define FRUGAL_TEXT_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ANALYZER_MAX_TERM 64

struct analyzer;

struct analyzer_opts {
    const char *language;   /* libstemmer algorithm name ("english", "porter", "french", ...);
                               NULL = "english"; "none" = no stemming */
    const char *stopwords;  /* NULL = the default list for the language ("english", "porter":
                               Lucene's EnglishAnalyzer list of 33 function words; other
                               languages and "none": no stopwords);
                               "" = no stopwords; else words separated by commas and/or spaces
                               (folded like terms before use) */
};

/* opts may be NULL (english, default stopwords). *out is NULL on failure: FRUGAL_EINVAL for an
 * unknown language (see analyzer_language_ok), FRUGAL_ENOMEM. */
frugal_status analyzer_new(const struct analyzer_opts *opts, struct analyzer **out,
                           struct err *err);
void analyzer_free(struct analyzer *a);

/* Receives each term in text order. term is borrowed (valid during the call), not
 * NUL-terminated. [byte_start, byte_end) locates the source word (or CJK bigram) in the input.
 * Return nonzero to stop early. */
typedef int (*analyzer_emit_fn)(void *ctx, const char *term, size_t term_len, size_t byte_start,
                                size_t byte_end);

/* Runs the analyzer over text[0..len) (need not be valid UTF-8: invalid bytes separate words).
 * Returns FRUGAL_OK, or ENOMEM. */
frugal_status analyzer_run(struct analyzer *a, const char *text, size_t len, analyzer_emit_fn emit,
                           void *ctx);

/* True when the language names a libstemmer algorithm (or "none"). */
bool analyzer_language_ok(const char *language);

/* True when cp lies in a block of the Han, Hiragana, Katakana or Hangul scripts (the analyzer
 * bigrams such characters when they are letters or numbers; the chunker counts each as a
 * token). */
bool analyzer_is_cjk(int32_t cp);

#endif
