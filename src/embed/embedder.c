/*
 * embedder.c - the embedder interface (embedder.h) and its three implementations' glue: BERT
 * model folders, static word vectors, remote servers.
 *
 * How: struct embedder is a vtable pointer and an implementation pointer. embedder_embed
 * checks the arguments, splits the texts into batches of the implementation's max_batch and
 * checks every value it returns is finite, so that callers (ingestion, search) can trust the
 * vectors whatever the implementation, user-supplied ones included. Each constructor below
 * wraps one module and builds the name that identifies its vectors.
 *
 * Why a vtable: a collection stores vectors from exactly one embedder; ingestion and search
 * must not care which kind it is, and the public API will let users plug their own (STYLE.md
 * practice 13).
 *
 * Threading: an embedder is used by one thread at a time (each implementation owns scratch
 * buffers: the BERT workspace, the static analyzer, the curl handle).
 */
#include "embed/embedder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "embed/bert.h"

frugal_status embedder_new(const struct embedder_vtable *vt, void *self, struct embedder **out,
                           struct err *err)
{
    struct embedder *e;

    *out = NULL;
    if (vt == NULL || vt->embed == NULL || vt->dim == NULL || vt->name == NULL ||
        vt->dim(self) == 0 || vt->name(self) == NULL) {
        if (vt != NULL && vt->free != NULL)
            vt->free(self);
        return err_set(err, FRUGAL_EINVAL, "an embedder needs embed, dim (> 0) and name");
    }
    e = frugal_calloc(1, sizeof(*e));
    if (e == NULL) {
        if (vt->free != NULL)
            vt->free(self);
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    e->vt = vt;
    e->self = self;
    *out = e;
    return FRUGAL_OK;
}

void embedder_free(struct embedder *e)
{
    if (e == NULL)
        return;
    if (e->vt->free != NULL)
        e->vt->free(e->self);
    frugal_free(e);
}

size_t embedder_dim(const struct embedder *e)
{
    return e->vt->dim(e->self);
}

const char *embedder_name(const struct embedder *e)
{
    return e->vt->name(e->self);
}

frugal_status embedder_embed(struct embedder *e, const char *const *texts, size_t n, float *out,
                             struct err *err)
{
    size_t dim = embedder_dim(e);
    size_t batch = e->vt->max_batch != NULL ? e->vt->max_batch(e->self) : 0;

    if (batch == 0)
        batch = n;
    for (size_t i = 0; i < n; i++) {
        if (texts[i] == NULL)
            return err_set(err, FRUGAL_EINVAL, "text %zu is NULL", i);
    }
    for (size_t i = 0; i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        float *o = out + i * dim;
        frugal_status rc = e->vt->embed(e->self, texts + i, m, o, err);
        if (rc != FRUGAL_OK)
            return rc;
        for (size_t j = 0; j < m * dim; j++) {
            if (!isfinite(o[j]))
                return err_set(err, FRUGAL_EINTERNAL, "%s: text %zu: non-finite value in its "
                               "vector", embedder_name(e), i + j / dim);
        }
    }
    return FRUGAL_OK;
}

/* ---- BERT ------------------------------------------------------------------------------------ */

struct bert_emb {
    struct bert_model *m;
    char *name;
};

static frugal_status bert_emb_embed(void *self, const char *const *texts, size_t n, float *out,
                                    struct err *err)
{
    struct bert_emb *b = self;
    return bert_embed(b->m, texts, n, out, err);
}

static size_t bert_emb_dim(const void *self)
{
    const struct bert_emb *b = self;
    return bert_dim(b->m);
}

static const char *bert_emb_name(const void *self)
{
    const struct bert_emb *b = self;
    return b->name;
}

static void bert_emb_free(void *self)
{
    struct bert_emb *b = self;
    if (b == NULL)
        return;
    bert_model_close(b->m);
    frugal_free(b->name);
    frugal_free(b);
}

static const struct embedder_vtable bert_vt = {
    .embed = bert_emb_embed,
    .dim = bert_emb_dim,
    .name = bert_emb_name,
    .free = bert_emb_free,
};

/* "bert:" + the last path component of dir, trailing slashes ignored. */
static char *bert_name(const char *dir)
{
    size_t end = strlen(dir);
    size_t start;
    struct buf b;

    while (end > 1 && dir[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    buf_init(&b, 0);
    if (buf_puts(&b, "bert:") != FRUGAL_OK || buf_append(&b, dir + start, end - start) !=
        FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

frugal_status embedder_open_bert(const char *dir, int n_threads, bool int8,
                                 struct embedder **out, struct err *err)
{
    struct bert_opts opts;
    struct bert_emb *b;
    frugal_status rc;

    *out = NULL;
    b = frugal_calloc(1, sizeof(*b));
    if (b == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    bert_default_opts(&opts);
    opts.n_threads = n_threads;
    opts.int8 = int8;
    rc = bert_model_open(dir, &opts, &b->m, err);
    if (rc == FRUGAL_OK) {
        b->name = bert_name(dir);
        if (b->name == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (rc != FRUGAL_OK) {
        bert_emb_free(b);
        return rc;
    }
    return embedder_new(&bert_vt, b, out, err);
}

/* ---- Static word vectors --------------------------------------------------------------------- */

struct static_emb {
    struct static_embedder *se;
    char name[SV_NAME_MAX + 32];
};

static frugal_status static_emb_embed(void *self, const char *const *texts, size_t n, float *out,
                                      struct err *err)
{
    struct static_emb *s = self;
    size_t dim = static_embedder_dim(s->se);
    for (size_t i = 0; i < n; i++) {
        frugal_status rc = static_embed(s->se, texts[i], strlen(texts[i]), out + i * dim);
        if (rc != FRUGAL_OK)
            return err_set(err, rc, "%s", frugal_strerror(rc));
    }
    return FRUGAL_OK;
}

static size_t static_emb_dim(const void *self)
{
    const struct static_emb *s = self;
    return static_embedder_dim(s->se);
}

static const char *static_emb_name(const void *self)
{
    const struct static_emb *s = self;
    return s->name;
}

static void static_emb_free(void *self)
{
    struct static_emb *s = self;
    if (s == NULL)
        return;
    static_embedder_free(s->se);
    frugal_free(s);
}

static const struct embedder_vtable static_vt = {
    .embed = static_emb_embed,
    .dim = static_emb_dim,
    .name = static_emb_name,
    .free = static_emb_free,
};

const struct sv_file *embedder_word_vectors(const struct embedder *e)
{
    if (e == NULL || e->vt != &static_vt)
        return NULL;
    const struct static_emb *s = e->self;
    return s->se->sv;
}

char *embedder_default_vectors_path(void)
{
    const char *dir = getenv("FRUGAL_DATA_DIR");
    const char *home = getenv("HOME");
    struct buf b;
    frugal_status rc;

    buf_init(&b, 0);
    if (dir != NULL && dir[0] != '\0')
        rc = buf_printf(&b, "%s/glove-6b-100d.fsv", dir);
    else if (home != NULL && home[0] != '\0')
        rc = buf_printf(&b, "%s/.local/share/frugal/glove-6b-100d.fsv", home);
    else
        return NULL;
    if (rc != FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

frugal_status embedder_open_static(const char *path, const struct static_opts *opts,
                                   struct embedder **out, struct err *err)
{
    struct static_opts defaults;
    struct static_emb *s;
    char *default_path = NULL;
    frugal_status rc;

    *out = NULL;
    if (opts == NULL) {
        static_default_opts(&defaults);
        opts = &defaults;
    }
    if (path == NULL) {
        default_path = embedder_default_vectors_path();
        if (default_path == NULL)
            return err_set(err, FRUGAL_EINVAL, "no vectors file: set FRUGAL_DATA_DIR or HOME");
        path = default_path;
    }
    s = frugal_calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    } else {
        rc = static_embedder_open(path, opts, &s->se, err);
        if (rc == FRUGAL_ENOTFOUND && default_path != NULL)
            err_prefix(err, "GloVe is not installed (run: scripts/setup --glove)");
    }
    if (rc == FRUGAL_OK)
        snprintf(s->name, sizeof(s->name), "%s:%s%s", s->se->sv->name,
                 static_weighting_name(opts->weighting), opts->common != NULL ? "+pc" : "");
    frugal_free(default_path);
    if (rc != FRUGAL_OK) {
        static_emb_free(s);
        return rc;
    }
    return embedder_new(&static_vt, s, out, err);
}

/* ---- Remote ---------------------------------------------------------------------------------- */

struct remote_emb {
    struct remote_client *rc;
    char *name;
};

static frugal_status remote_emb_embed(void *self, const char *const *texts, size_t n,
                                      float *out, struct err *err)
{
    struct remote_emb *r = self;
    return remote_embed(r->rc, texts, n, out, err);
}

static size_t remote_emb_dim(const void *self)
{
    const struct remote_emb *r = self;
    return remote_dim(r->rc);
}

static const char *remote_emb_name(const void *self)
{
    const struct remote_emb *r = self;
    return r->name;
}

static size_t remote_emb_max_batch(const void *self)
{
    const struct remote_emb *r = self;
    return remote_max_batch(r->rc);
}

static void remote_emb_free(void *self)
{
    struct remote_emb *r = self;
    if (r == NULL)
        return;
    remote_close(r->rc);
    frugal_free(r->name);
    frugal_free(r);
}

static const struct embedder_vtable remote_vt = {
    .embed = remote_emb_embed,
    .dim = remote_emb_dim,
    .name = remote_emb_name,
    .free = remote_emb_free,
    .max_batch = remote_emb_max_batch,
};

frugal_status embedder_open_remote(const struct remote_opts *opts, struct embedder **out,
                                   struct err *err)
{
    struct remote_emb *r;
    struct buf name;
    frugal_status rc;

    *out = NULL;
    r = frugal_calloc(1, sizeof(*r));
    if (r == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    rc = remote_open(opts, &r->rc, err);
    if (rc == FRUGAL_OK) {
        buf_init(&name, 0);
        if (buf_printf(&name, "remote:%s", remote_model(r->rc)) == FRUGAL_OK)
            r->name = buf_detach(&name);
        buf_release(&name);
        if (r->name == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    if (rc != FRUGAL_OK) {
        remote_emb_free(r);
        return rc;
    }
    return embedder_new(&remote_vt, r, out, err);
}
