/*
 * frugal_internal.h - what library modules layered above src/frugal.c (src/eval) may use of the
 * handle beyond the public API. Not installed, not exported from libfrugal.so.
 */
#ifndef FRUGAL_INTERNAL_H
#define FRUGAL_INTERNAL_H

#include "frugal.h"

/* Sets the handle's last error (code and message, copied), as frugal_errmsg(db) reports it. */
void db_set_error(frugal_db *db, frugal_status code, const char *msg);

/* frugal_embedder.c: the internal embedder behind a public handle (borrowed; NULL when the
 * handle failed to open), and whether a spec string is well formed (frugal.h, Embedders). */
struct embedder;
struct embedder *embedder_of_public(frugal_embedder *e);
bool embedder_spec_ok(const char *spec);

/* The handle's store (borrowed; NULL when not open), and its last-error slot for callers that
 * fill it directly (src/frugal_keys.c). */
struct store;
struct err;
struct store *db_store(frugal_db *db);
struct err *db_err(frugal_db *db);

/* src/answer/ask.c: the answer subsystem's per-handle state (generators, prices, cache
 * settings), created on first use; frugal_close frees it. Budgets are not per handle: they live
 * in the store (src/store/store_budget.c, src/frugal_budget.c). */
struct answer_state;
struct answer_state **db_answer_state(frugal_db *db);
void answer_state_free(struct answer_state *s);

/* src/frugal.c: the embedding of text (normalized as frugal_search normalizes queries) by
 * collection's embedder, *dim floats into *vec (owned, frugal_free). EINVAL when the
 * collection has no embedder. The last query embedded is remembered on the handle, so that a
 * frugal_search of the same text right after does not embed it again. */
frugal_status db_query_vector(frugal_db *db, const char *collection, const char *text,
                              float **vec, size_t *dim);

/* src/frugal.c: the word vectors of collection's embedder (loaded as a search would load it),
 * borrowed: valid until the collection's embedder changes or db closes; *out NULL when the
 * collection has no embedder or one of another kind. An embedder that cannot be loaded is an
 * error (the message on db). */
struct sv_file;
frugal_status db_word_vectors(frugal_db *db, const char *collection, const struct sv_file **out);

/* src/frugal_reranker.c: the internal reranker behind a public handle (borrowed; NULL when
 * the handle failed to open). */
struct reranker;
struct reranker *rerank_of_public(frugal_reranker *r);

/* src/frugal_generator.c: the internal generator behind a public handle (borrowed). */
struct generator;
struct generator *gen_of_public(frugal_generator *g);

#endif
