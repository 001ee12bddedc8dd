/*
 * embedder.h - one interface over every way frugal turns text into vectors: a BERT model folder
 * (bert.h), static word vectors (static_vectors.h) and a remote OpenAI-compatible server
 * (remote.h). Later exposed in frugal.h as frugal_embedder; a collection records the embedder's
 * name and dimension that built its vectors.
 *
 * Contract of an implementation (struct embedder_vtable):
 *  - required: embed, dim, name. Optional: free (NULL: nothing to free), max_batch (NULL or 0:
 *    any batch size).
 *  - embed(self, texts, n, out, err) writes n vectors, (n, dim) row-major float32, into out
 *    (caller-sized: n * dim floats). texts are borrowed, NUL-terminated UTF-8. It is called
 *    with 1 <= n <= max_batch (embedder_embed splits larger batches). On failure it returns a
 *    status with a message in err; out's contents are then unspecified.
 *  - dim(self) is fixed for the embedder's life and > 0; name(self) is a borrowed, stable
 *    string that says which vectors these are ("bert:all-MiniLM-L6-v2", "glove-6b-100d:sif",
 *    "remote:nomic-embed-text"): two embedders with the same name and dim produce comparable
 *    vectors.
 *
 * Threading: an embedder is used by one thread at a time unless its implementation says more.
 */
#ifndef FRUGAL_EMBED_EMBEDDER_H
#define FRUGAL_EMBED_EMBEDDER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "embed/remote.h"
#include "embed/static_vectors.h"

struct embedder_vtable {
    /* required */
    frugal_status (*embed)(void *self, const char *const *texts, size_t n, float *out,
                           struct err *err);
    size_t (*dim)(const void *self);
    const char *(*name)(const void *self);
    /* optional */
    void (*free)(void *self);
    size_t (*max_batch)(const void *self);
};

struct sv_file;

struct embedder {
    const struct embedder_vtable *vt; /* borrowed: must outlive the embedder (usually static) */
    void *self;                       /* owned through vt->free */
};

/* Wraps an implementation. Checks the required slots and dim > 0 (FRUGAL_EINVAL); on failure
 * calls vt->free(self) when set, so that ownership of self always passes. */
frugal_status embedder_new(const struct embedder_vtable *vt, void *self, struct embedder **out,
                           struct err *err);
void embedder_free(struct embedder *e);
size_t embedder_dim(const struct embedder *e);
const char *embedder_name(const struct embedder *e);

/* Embeds n texts (borrowed) into out, (n, dim) row-major, in batches of at most max_batch.
 * n == 0 does nothing. A NULL text is FRUGAL_EINVAL. Every output value is checked finite: an
 * implementation that returns a NaN or an infinity fails with FRUGAL_EINTERNAL (the remote
 * one has already refused such responses with FRUGAL_ECORRUPT). */
frugal_status embedder_embed(struct embedder *e, const char *const *texts, size_t n, float *out,
                             struct err *err);

/* A BERT-family sentence-transformers folder (bert.h); name "bert:" + the folder's base name.
 * n_threads: the encoder's worker threads (0 = 1). */
frugal_status embedder_open_bert(const char *dir, int n_threads, bool int8,
                                 struct embedder **out, struct err *err);

/* Static word vectors from a .fsv file; path NULL = embedder_default_vectors_path(). Name:
 * the file's model name + ":" + the weighting ("glove-6b-100d:sif"; "+pc" when a common
 * direction is removed). opts may be NULL. */
frugal_status embedder_open_static(const char *path, const struct static_opts *opts,
                                   struct embedder **out, struct err *err);

/* A remote OpenAI-compatible server (remote.h); name "remote:" + the model. opts may be NULL
 * (everything from the environment). */
frugal_status embedder_open_remote(const struct remote_opts *opts, struct embedder **out,
                                   struct err *err);

/* The word vectors of a static embedder (borrowed: valid while e lives); NULL for any other
 * kind. */
const struct sv_file *embedder_word_vectors(const struct embedder *e);

/* Where `scripts/setup --glove` puts GloVe: $FRUGAL_DATA_DIR/glove-6b-100d.fsv, else
 * $HOME/.local/share/frugal/glove-6b-100d.fsv. Owned by the caller; NULL when out of memory or
 * when neither variable is set. */
char *embedder_default_vectors_path(void);

#endif
