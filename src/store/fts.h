/*
 * fts.h - frugal's FTS5 extensions (internal to src/store): the "frugal" tokenizer and the
 * frugal_bm25() ranking function, registered on a connection by fts_register().
 *
 * Tokenizer "frugal": wraps struct analyzer (text/analyzer.h), so the index holds exactly the
 * terms the analyzer produces. Arguments, after the name: [language [stopwords]]; no language
 * means "english", no stopwords argument means the language's default list, an empty one means
 * none. fts_tokenize_spec() builds the quoted `tokenize = ...` value for CREATE VIRTUAL TABLE.
 * In FTS5_TOKENIZE_QUERY mode, a quoted string whose first byte is FTS_PRE_ANALYZED is a term
 * that the caller already analyzed: the rest of the string is emitted verbatim as one token.
 * That is how store_search keeps user text from ever being FTS5 syntax.
 *
 * frugal_bm25(fts_table, k1, b, w_title, w_heading, w_body): BM25F over the table's three
 * columns (see store.h for the formula). Each query phrase counts as one term: duplicate terms
 * in the query appear as duplicate phrases and so count once per occurrence, as in Lucene.
 */
#ifndef FRUGAL_STORE_FTS_H
#define FRUGAL_STORE_FTS_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"

struct sqlite3;

/* First byte of a pre-analyzed query term (see above). */
#define FTS_PRE_ANALYZED '\x01'

/* Registers the tokenizer and the ranking function on db. ENOMEM, or EINTERNAL when the
 * SQLite library lacks FTS5. */
frugal_status fts_register(struct sqlite3 *db, struct err *err);

/* True when stopwords (NULL allowed) holds only letters (ASCII or any non-ASCII UTF-8 byte),
 * digits, spaces, commas, apostrophes and hyphens: what fts_tokenize_spec can quote. */
bool fts_stopwords_ok(const char *stopwords);

/* Appends the SQL string literal for `tokenize = <here>` naming the frugal tokenizer with
 * language (NULL = "english") and stopwords (NULL = language default). EINVAL when either holds
 * characters that are not allowed (see fts_stopwords_ok; language: ASCII letters, digits, '_').
 */
frugal_status fts_tokenize_spec(const char *language, const char *stopwords, struct buf *out,
                                struct err *err);

#endif
