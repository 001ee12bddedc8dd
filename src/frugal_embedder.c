/*
 * frugal_embedder.c - the Embedders section of include/frugal.h: the public frugal_embedder
 * handle over the internal embedder interface (src/embed/embedder.h), its three built-in
 * constructors, spec strings ("model:DIR", "glove[:PATH]", "remote:MODEL[@URL]",
 * "custom:NAME") and the adapter that lets an application plug its own vtable.
 *
 * How: a frugal_embedder is a struct embedder plus the message of its last failure (the public
 * convention of frugal_errmsg, per handle). An application's vtable becomes an internal one
 * through `user_vt`, whose embed slot turns the application's (errbuf, size) message into a
 * struct err. Spec strings are parsed here and nowhere else, so the CLI, the eval driver and
 * frugal_open's lazy resolution all read them the same way.
 *
 * Why a file of its own: src/frugal.c holds the database API and is long enough; this part
 * needs no store.
 *
 * Threading: a frugal_embedder is used by one thread at a time (like the implementations).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "embed/embedder.h"
#include "frugal.h"
#include "frugal_internal.h"

struct frugal_embedder {
    struct embedder *e; /* owned; NULL after a failed construction */
    struct err err;     /* the last failure */
};

static frugal_embedder *handle_new(frugal_embedder **out)
{
    *out = frugal_calloc(1, sizeof **out);
    if (*out != NULL)
        err_clear(&(*out)->err);
    return *out;
}

struct embedder *embedder_of_public(frugal_embedder *e)
{
    return e != NULL ? e->e : NULL;
}

/* ---- An application's vtable ---- */

struct user_emb {
    const frugal_embedder_vtable *vt; /* borrowed */
    void *self;                       /* owned through vt->free */
};

static frugal_status user_embed(void *self, const char *const *texts, size_t n, float *out,
                                struct err *err)
{
    struct user_emb *u = self;
    char msg[512];
    msg[0] = '\0';
    frugal_status rc = u->vt->embed(u->self, texts, n, out, msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    if (rc != FRUGAL_OK)
        err_set(err, rc, "%s: %s", u->vt->name(u->self),
                msg[0] != '\0' ? msg : frugal_strerror(rc));
    return rc;
}

static size_t user_dim(const void *self)
{
    const struct user_emb *u = self;
    return u->vt->dim(u->self);
}

static const char *user_name(const void *self)
{
    const struct user_emb *u = self;
    const char *name = u->vt->name(u->self);
    return name != NULL ? name : "";
}

static void user_free(void *self)
{
    struct user_emb *u = self;
    if (u == NULL)
        return;
    if (u->vt->free != NULL)
        u->vt->free(u->self);
    frugal_free(u);
}

static size_t user_max_batch(const void *self)
{
    const struct user_emb *u = self;
    return u->vt->max_batch != NULL ? u->vt->max_batch(u->self) : 0;
}

static const struct embedder_vtable user_vt = {
    .embed = user_embed,
    .dim = user_dim,
    .name = user_name,
    .free = user_free,
    .max_batch = user_max_batch,
};

frugal_status frugal_embedder_new(const frugal_embedder_vtable *vt, void *self,
                                  frugal_embedder **out)
{
    frugal_embedder *h = handle_new(out);
    if (vt == NULL || vt->embed == NULL || vt->dim == NULL || vt->name == NULL) {
        if (vt != NULL && vt->free != NULL)
            vt->free(self);
        if (h == NULL)
            return FRUGAL_ENOMEM;
        return err_set(&h->err, FRUGAL_EINVAL, "embedder: the embed, dim and name slots are "
                                               "required");
    }
    struct user_emb *u = frugal_calloc(1, sizeof *u);
    if (h == NULL || u == NULL) {
        if (vt->free != NULL)
            vt->free(self);
        frugal_free(u);
        if (h != NULL)
            err_set(&h->err, FRUGAL_ENOMEM, "out of memory");
        return FRUGAL_ENOMEM;
    }
    u->vt = vt;
    u->self = self;
    return embedder_new(&user_vt, u, &h->e, &h->err);
}

/* ---- Built-in embedders ---- */

frugal_status frugal_embedder_open_model(const char *dir, int threads, frugal_embedder **out)
{
    frugal_embedder *h = handle_new(out);
    if (h == NULL)
        return FRUGAL_ENOMEM;
    if (dir == NULL || dir[0] == '\0')
        return err_set(&h->err, FRUGAL_EINVAL, "embedder: no model folder given");
    return embedder_open_bert(dir, threads > 0 ? threads : 1, false, &h->e, &h->err);
}

frugal_status frugal_embedder_open_glove(const char *path, frugal_embedder **out)
{
    frugal_embedder *h = handle_new(out);
    if (h == NULL)
        return FRUGAL_ENOMEM;
    return embedder_open_static(path, NULL, &h->e, &h->err);
}

void frugal_remote_default_params(frugal_remote_params *params)
{
    memset(params, 0, sizeof *params);
    params->max_retries = -1;
}

frugal_status frugal_embedder_open_remote(const frugal_remote_params *params,
                                          frugal_embedder **out)
{
    frugal_embedder *h = handle_new(out);
    if (h == NULL)
        return FRUGAL_ENOMEM;
    struct remote_opts o;
    remote_default_opts(&o);
    if (params != NULL) {
        o.base_url = params->url;
        o.model = params->model;
        o.api_key = params->api_key;
        o.dim = params->dim;
        if (params->max_batch > 0)
            o.max_batch = params->max_batch;
        if (params->timeout_ms > 0)
            o.timeout_ms = params->timeout_ms;
        if (params->max_retries >= 0)
            o.max_retries = params->max_retries;
    }
    return embedder_open_remote(&o, &h->e, &h->err);
}

bool embedder_spec_ok(const char *spec)
{
    if (spec == NULL)
        return false;
    return (strncmp(spec, "model:", 6) == 0 && spec[6] != '\0') || strcmp(spec, "glove") == 0 ||
           (strncmp(spec, "glove:", 6) == 0 && spec[6] != '\0') ||
           (strncmp(spec, "remote:", 7) == 0 && spec[7] != '\0' && spec[7] != '@') ||
           (strncmp(spec, "custom:", 7) == 0 && spec[7] != '\0');
}

/* "remote:MODEL@URL": the model is what precedes the last "@http". */
static frugal_status open_remote_spec(const char *rest, frugal_embedder **out)
{
    char *copy = frugal_strdup(rest);
    if (copy == NULL) {
        handle_new(out);
        return FRUGAL_ENOMEM;
    }
    frugal_remote_params p;
    frugal_remote_default_params(&p);
    p.model = copy;
    char *at = NULL;
    for (char *s = strstr(copy, "@http"); s != NULL; s = strstr(s + 1, "@http"))
        at = s;
    if (at != NULL) {
        *at = '\0';
        p.url = at + 1;
    }
    frugal_status rc = frugal_embedder_open_remote(&p, out);
    frugal_free(copy);
    return rc;
}

frugal_status frugal_embedder_open_spec(const char *spec, frugal_embedder **out)
{
    if (spec != NULL && strncmp(spec, "model:", 6) == 0)
        return frugal_embedder_open_model(spec + 6, 1, out);
    if (spec != NULL && strcmp(spec, "glove") == 0)
        return frugal_embedder_open_glove(NULL, out);
    if (spec != NULL && strncmp(spec, "glove:", 6) == 0 && spec[6] != '\0')
        return frugal_embedder_open_glove(spec + 6, out);
    if (spec != NULL && strncmp(spec, "remote:", 7) == 0 && embedder_spec_ok(spec))
        return open_remote_spec(spec + 7, out);
    frugal_embedder *h = handle_new(out);
    if (h == NULL)
        return FRUGAL_ENOMEM;
    if (spec != NULL && strncmp(spec, "custom:", 7) == 0)
        return err_set(&h->err, FRUGAL_EINVAL,
                       "embedder '%s' is the application's own: attach it with "
                       "frugal_use_embedder",
                       spec);
    return err_set(&h->err, FRUGAL_EINVAL,
                   "unknown embedder spec '%s' (use model:DIR, glove, glove:PATH, "
                   "remote:MODEL@URL or custom:NAME)",
                   spec != NULL ? spec : "");
}

/* ---- Use ---- */

frugal_status frugal_embedder_embed(frugal_embedder *e, const char *const *texts, size_t n,
                                    float *out)
{
    if (e == NULL)
        return FRUGAL_EINVAL;
    err_clear(&e->err);
    if (e->e == NULL)
        return err_set(&e->err, FRUGAL_EINVAL, "embedder: not open");
    return embedder_embed(e->e, texts, n, out, &e->err);
}

size_t frugal_embedder_dim(const frugal_embedder *e)
{
    return e != NULL && e->e != NULL ? embedder_dim(e->e) : 0;
}

const char *frugal_embedder_name(const frugal_embedder *e)
{
    return e != NULL && e->e != NULL ? embedder_name(e->e) : "";
}

const char *frugal_embedder_errmsg(const frugal_embedder *e)
{
    return e != NULL ? e->err.msg : "out of memory";
}

void frugal_embedder_free(frugal_embedder *e)
{
    if (e == NULL)
        return;
    embedder_free(e->e);
    frugal_free(e);
}
