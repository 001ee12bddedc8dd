/*
 * snippet.h - highlighted excerpts of a chunk for an analyzed query, computed in C from the
 * chunk's text: the same output as FTS5's snippet(fts, 2, open, close, ellipsis, 24) over the
 * frugal tokenizer (SQLite 3.40), without a MATCH query per hit.
 *
 * Contract: a query's terms come from the collection's analyzer (the terms store_search sends
 * to FTS5, duplicates kept: each counts as its own phrase, as in FTS5). For one chunk,
 * store_snippet_make analyzes the body (and, only when the body matches nothing, the title and
 * heading) with the same analyzer. *found is false when no term occurs in any of the three,
 * where FTS5's `MATCH ... AND rowid = ?` gives no row (the caller then has no snippet). Else
 * the excerpt is the window of n_tokens body terms that FTS5 would choose:
 *   - each body position holding a query term scores the window [pos, pos + n_tokens): 1000
 *     for each phrase's first instance in it, 1 for each further one; the best (earliest on
 *     ties) is then centered on its matches and clamped to the body;
 *   - when the body has more than n_tokens terms, the sentence start at or before each match
 *     (a term preceded by '.' or ':' and whitespace, or the first term) scores its own window
 *     plus 100 (120 for the first term), kept uncentered when it wins;
 *   - no body match: the first n_tokens terms.
 * Matched terms are wrapped in open/close (the source words, exactly as written), the
 * ellipsis marks a cut at either end, and the text between words is copied as is. One
 * deliberate difference: matched terms that overlap (CJK bigrams: "数据", "据库") share one
 * highlight ("[数据库]"), where FTS5 3.40 copies the rest of the text after the first one (a
 * negative length taken as "up to the NUL").
 *
 * Threading: a store_snippet_query belongs to one thread (it holds scratch space, and the
 * analyzer it is used with is single-threaded).
 */
#ifndef FRUGAL_STORE_SNIPPET_H
#define FRUGAL_STORE_SNIPPET_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "frugal.h"

struct analyzer;
struct store_snippet_query;

/* How the excerpt is marked. Strings are borrowed. */
struct store_snippet_style {
    const char *open;     /* before each matched word */
    const char *close;    /* after it */
    const char *ellipsis; /* where the excerpt cuts the body */
    int n_tokens;         /* window size in terms (FTS5's last snippet() argument), >= 2 */
};

/* Analyzes query with an (borrowed; kept for store_snippet_make), keeping at most max_terms
 * terms. *out owned (store_snippet_query_free). ENOMEM. */
frugal_status store_snippet_query_new(struct analyzer *an, const char *query, size_t query_len,
                                      size_t max_terms, struct store_snippet_query **out);
void store_snippet_query_free(struct store_snippet_query *q);

/* The number of terms kept (duplicates included). */
size_t store_snippet_query_n_terms(const struct store_snippet_query *q);

/* Appends the excerpt of a chunk to out when *found (see above); out unchanged otherwise.
 * text[0..2] = title, heading, body (NULL allowed, as an empty text), len[] their bytes.
 * ENOMEM, ETOOBIG (out's maximum). */
frugal_status store_snippet_make(struct store_snippet_query *q, const char *const text[3],
                                 const size_t len[3], const struct store_snippet_style *style,
                                 struct buf *out, bool *found);

#endif
