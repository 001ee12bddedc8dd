/*
 * frugal.c - implements include/frugal.h on top of the subsystems: the store (SQLite, FTS5),
 * the ingestion pipeline and the text layer. It is the only file that sees all of them; it
 * validates public arguments, keeps the last error message on the handle, and converts
 * internal rows into the public structs. Evaluation (frugal_eval_*) lives in src/eval/eval.c,
 * a client of this API; the embedder handles in src/frugal_embedder.c.
 *
 * Embedders are resolved lazily per collection: the first ingestion or dense search of a
 * collection with an embedder spec opens it (or takes the one the application attached with
 * frugal_use_embedder) and checks its name and dimension against those recorded in the store,
 * recording them when none are yet. Indexes (BM25, dense) are opened per collection on first use
 * and kept on the handle, in one table (struct index_slot).
 *
 * Search: each mode ranks, then reads rows and snippets for the hits it keeps; hybrid has both
 * sides hand over ids and scores only and fills after fusion (query/hybrid.h). The reads of
 * one search share one SQLite read transaction (snapshot_begin), opened after everything that
 * may write (resolving an embedder records its name). The last query embedded is remembered
 * (struct query_memo), so that frugal_ask's embedding of its question for the cache serves its
 * search too. An attached reranker (frugal_use_reranker, query/rerank.h) reorders the top
 * rerank_top_n hits within the time budget before k are kept.
 *
 * Threading: a frugal_db is used by one thread at a time (see frugal.h).
 */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"
#include "embed/embedder.h"
#include "frugal.h"
#include "frugal_internal.h"
#include "ingest/pipeline.h"
#include "query/dense.h"
#include "query/hybrid.h"
#include "query/keyword.h"
#include "query/rerank.h"
#include "store/store.h"
#include "text/analyzer.h"
#include "text/normalize.h"

#define MAX_SEARCH_K 10000

/* The derived indexes of one collection, each opened on first use. */
struct index_slot {
    int64_t collection_id;
    struct keyword_index *ki; /* owned; NULL until the first BM25 search */
    struct dense_index *di;   /* owned; NULL until the first dense search */
};

struct embedder_slot {
    int64_t collection_id;
    frugal_embedder *e; /* owned when `owned`, else the application's (frugal_use_embedder) */
    bool owned;
};

struct frugal_db {
    struct store *st;
    struct index_slot *indexes;   /* (n_indexes) collections whose indexes were opened */
    size_t n_indexes;
    struct embedder_slot *embedders; /* (n_embedders) embedders resolved so far */
    size_t n_embedders;
    struct err err;   /* the last failure, for frugal_errmsg */
    char *path;       /* owned: the database file, for the BM25 index files beside it */
    bool read_only;
    struct answer_state *answer;  /* owned; generators, prices, cache settings (src/answer/ask.c) */
    frugal_reranker *reranker;    /* borrowed (frugal_use_reranker); NULL: none */
    struct query_memo {           /* the last query embedded: frugal_ask embeds its question
                                     for the cache, then frugal_search would again */
        int64_t collection_id;
        frugal_embedder *e;       /* borrowed: the embedder that made vec */
        char *text;               /* owned, the normalized query; NULL: empty memo */
        float *vec;               /* owned, dim floats */
        size_t dim;
    } memo;
};

static void memo_clear(frugal_db *db)
{
    frugal_free(db->memo.text);
    frugal_free(db->memo.vec);
    memset(&db->memo, 0, sizeof db->memo);
}

struct answer_state **db_answer_state(frugal_db *db)
{
    return &db->answer;
}

const char *frugal_version(void)
{
    return FRUGAL_VERSION_STRING;
}

/* Records rc with a message (when the callee left none) and returns rc. */
static frugal_status fail(frugal_db *db, frugal_status rc)
{
    if (rc != FRUGAL_OK && db->err.msg[0] == '\0')
        err_set(&db->err, rc, "%s", frugal_strerror(rc));
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- Database ---- */

void frugal_open_default_params(frugal_open_params *params)
{
    memset(params, 0, sizeof *params);
    params->busy_timeout_ms = 5000;
}

frugal_status frugal_open(const char *path, const frugal_open_params *params, frugal_db **out)
{
    *out = NULL;
    frugal_open_params defaults;
    if (params == NULL) {
        frugal_open_default_params(&defaults);
        params = &defaults;
    }
    frugal_db *db = frugal_calloc(1, sizeof *db);
    if (db == NULL)
        return FRUGAL_ENOMEM;
    *out = db;
    err_clear(&db->err);
    if (path == NULL || path[0] == '\0')
        return err_set(&db->err, FRUGAL_EINVAL, "no database path given");
    struct store_opts so = {.read_only = params->read_only,
                            .busy_timeout_ms = params->busy_timeout_ms};
    db->read_only = params->read_only;
    db->path = frugal_strdup(path);
    if (db->path == NULL)
        return err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    return fail(db, store_open(path, &so, &db->st, &db->err));
}

void frugal_close(frugal_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->n_indexes; i++) {
        keyword_close(db->indexes[i].ki);
        dense_close(db->indexes[i].di);
    }
    frugal_free(db->indexes);
    for (size_t i = 0; i < db->n_embedders; i++)
        if (db->embedders[i].owned)
            frugal_embedder_free(db->embedders[i].e);
    frugal_free(db->embedders);
    answer_state_free(db->answer);
    memo_clear(db);
    store_close(db->st);
    frugal_free(db->path);
    frugal_free(db);
}

const char *frugal_errmsg(const frugal_db *db)
{
    if (db == NULL)
        return "out of memory";
    return db->err.msg;
}

void db_set_error(frugal_db *db, frugal_status code, const char *msg)
{
    if (db != NULL)
        err_set(&db->err, code, "%s", msg != NULL ? msg : frugal_strerror(code));
}

struct store *db_store(frugal_db *db)
{
    return db != NULL ? db->st : NULL;
}

struct err *db_err(frugal_db *db)
{
    return &db->err;
}

/* Every entry point starts here: clears the last message and checks the handle is usable. */
static frugal_status enter(frugal_db *db)
{
    err_clear(&db->err);
    if (db->st == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "the database is not open");
    return FRUGAL_OK;
}

/* ---- Derived indexes (BM25, vectors) ---- */

/* The slot of collection_id, added when missing; NULL when out of memory (db->err set). */
static struct index_slot *index_slot(frugal_db *db, int64_t collection_id)
{
    for (size_t i = 0; i < db->n_indexes; i++)
        if (db->indexes[i].collection_id == collection_id)
            return &db->indexes[i];
    struct index_slot *grown =
        frugal_reallocarray(db->indexes, db->n_indexes + 1, sizeof *grown);
    if (grown == NULL) {
        err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
        return NULL;
    }
    db->indexes = grown;
    struct index_slot *slot = &db->indexes[db->n_indexes++];
    memset(slot, 0, sizeof *slot);
    slot->collection_id = collection_id;
    return slot;
}

/* The index files are caches beside the database, written even by read-only handles (a search
 * from the CLI is one); where they cannot be written, the indexes live in memory. */

static frugal_status keyword_for(frugal_db *db, int64_t collection_id,
                                 struct keyword_index **out)
{
    struct index_slot *slot = index_slot(db, collection_id);
    if (slot == NULL)
        return FRUGAL_ENOMEM;
    frugal_status rc = FRUGAL_OK;
    if (slot->ki == NULL)
        rc = keyword_open(db->path, true, collection_id, &slot->ki, &db->err);
    *out = slot->ki;
    return rc;
}

static frugal_status dense_for(frugal_db *db, int64_t collection_id, struct dense_index **out)
{
    struct index_slot *slot = index_slot(db, collection_id);
    if (slot == NULL)
        return FRUGAL_ENOMEM;
    frugal_status rc = FRUGAL_OK;
    if (slot->di == NULL)
        rc = dense_open(db->path, true, collection_id, &slot->di, &db->err);
    *out = slot->di;
    return rc;
}

/* Closes the opened indexes of collection_id (BM25 when keyword, vectors when dense); they are
 * reopened from their files when needed. */
static void indexes_forget(frugal_db *db, int64_t collection_id, bool keyword, bool dense)
{
    for (size_t i = 0; i < db->n_indexes; i++) {
        struct index_slot *slot = &db->indexes[i];
        if (slot->collection_id != collection_id)
            continue;
        if (keyword) {
            keyword_close(slot->ki);
            slot->ki = NULL;
        }
        if (dense) {
            dense_close(slot->di);
            slot->di = NULL;
        }
        if (slot->ki == NULL && slot->di == NULL)
            *slot = db->indexes[--db->n_indexes];
        return;
    }
}

/* ---- Collections ---- */

void frugal_collection_default_params(frugal_collection_params *params)
{
    memset(params, 0, sizeof *params);
    params->language = "english";
    params->k1 = 0.9;
    params->b = 0.4;
    params->title_weight = 1.0;
    params->heading_weight = 1.0;
    params->body_weight = 1.0;
}

static frugal_status check_bm25(frugal_db *db, const frugal_collection_params *p)
{
    if (!(p->k1 >= 0.0 && p->k1 <= 100.0))
        return err_set(&db->err, FRUGAL_EINVAL, "k1 must be in [0, 100], got %g", p->k1);
    if (!(p->b >= 0.0 && p->b <= 1.0))
        return err_set(&db->err, FRUGAL_EINVAL, "b must be in [0, 1], got %g", p->b);
    if (!(p->title_weight >= 0.0 && p->heading_weight >= 0.0 && p->body_weight > 0.0))
        return err_set(&db->err, FRUGAL_EINVAL,
                       "field weights must be >= 0 (and the body weight > 0)");
    return FRUGAL_OK;
}

static void row_from_params(struct collection_row *row, const char *name,
                            const frugal_collection_params *p)
{
    memset(row, 0, sizeof *row);
    row->name = (char *)name;
    row->language = (char *)(p->language != NULL ? p->language : "english");
    row->stopwords = (char *)p->stopwords;
    row->k1 = p->k1;
    row->b = p->b;
    row->title_weight = p->title_weight;
    row->heading_weight = p->heading_weight;
    row->body_weight = p->body_weight;
    row->embedder = (char *)p->embedder;
    row->vector_type = (char *)(p->vector_type != NULL ? p->vector_type : "f32");
}

static frugal_status check_vector_type(frugal_db *db, const char *vector_type)
{
    if (vector_type == NULL || strcmp(vector_type, "f32") == 0 ||
        strcmp(vector_type, "f16") == 0 || strcmp(vector_type, "i8") == 0)
        return FRUGAL_OK;
    return err_set(&db->err, FRUGAL_EINVAL, "vector type must be f32, f16 or i8, not '%s'",
                   vector_type);
}

/* ---- Embedders of collections ---- */

static struct embedder_slot *embedder_slot(frugal_db *db, int64_t collection_id)
{
    for (size_t i = 0; i < db->n_embedders; i++)
        if (db->embedders[i].collection_id == collection_id)
            return &db->embedders[i];
    return NULL;
}

/* Keeps e for collection_id (replacing any); takes ownership of e when owned (freed on
 * failure). */
static frugal_status embedder_keep(frugal_db *db, int64_t collection_id, frugal_embedder *e,
                                   bool owned)
{
    struct embedder_slot *slot = embedder_slot(db, collection_id);
    if (slot == NULL) {
        struct embedder_slot *grown =
            frugal_reallocarray(db->embedders, db->n_embedders + 1, sizeof *grown);
        if (grown == NULL) {
            if (owned)
                frugal_embedder_free(e);
            return err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
        }
        db->embedders = grown;
        slot = &db->embedders[db->n_embedders++];
    } else if (slot->owned && slot->e != e) {
        frugal_embedder_free(slot->e);
    }
    memo_clear(db);
    slot->collection_id = collection_id;
    slot->e = e;
    slot->owned = owned;
    return FRUGAL_OK;
}

static void embedder_forget(frugal_db *db, int64_t collection_id)
{
    struct embedder_slot *slot = embedder_slot(db, collection_id);
    if (slot == NULL)
        return;
    if (slot->owned)
        frugal_embedder_free(slot->e);
    *slot = db->embedders[--db->n_embedders];
    memo_clear(db);
}

/* Checks e against what coll records (recording e's name and dim when nothing is yet). */
static frugal_status embedder_check(frugal_db *db, struct collection_row *coll,
                                    frugal_embedder *e)
{
    const char *name = frugal_embedder_name(e);
    int64_t dim = (int64_t)frugal_embedder_dim(e);
    if (coll->embedder_name == NULL || coll->embedder_dim <= 0) {
        frugal_status rc = store_collection_set_embedder(db->st, coll->id, coll->embedder, name,
                                                         dim, coll->vector_type, false, &db->err);
        if (rc != FRUGAL_OK)
            return rc;
        frugal_free(coll->embedder_name);
        coll->embedder_name = frugal_strdup(name);
        coll->embedder_dim = dim;
        return coll->embedder_name != NULL ? FRUGAL_OK
                                           : err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    }
    if (strcmp(coll->embedder_name, name) != 0 || coll->embedder_dim != dim)
        return err_set(&db->err, FRUGAL_EINVAL,
                       "collection '%s' holds vectors of embedder '%s' (dim %lld); embedder "
                       "'%s' (dim %lld) does not match",
                       coll->name, coll->embedder_name, (long long)coll->embedder_dim, name,
                       (long long)dim);
    return FRUGAL_OK;
}

/* The embedder of coll (NULL when it has none), opened from its spec on first need. coll's
 * recorded name and dim are filled in when they were unknown. */
static frugal_status embedder_for(frugal_db *db, struct collection_row *coll,
                                  struct embedder **out)
{
    *out = NULL;
    if (coll->embedder == NULL)
        return FRUGAL_OK;
    struct embedder_slot *slot = embedder_slot(db, coll->id);
    frugal_embedder *e = slot != NULL ? slot->e : NULL;
    frugal_status rc = FRUGAL_OK;
    if (e == NULL) {
        rc = frugal_embedder_open_spec(coll->embedder, &e);
        if (rc != FRUGAL_OK) {
            err_set(&db->err, rc, "collection '%s': %s", coll->name, frugal_embedder_errmsg(e));
            frugal_embedder_free(e);
            return rc;
        }
        rc = embedder_check(db, coll, e);
        if (rc != FRUGAL_OK) {
            frugal_embedder_free(e);
            return rc;
        }
        rc = embedder_keep(db, coll->id, e, true);
    }
    if (rc == FRUGAL_OK)
        *out = embedder_of_public(e);
    return rc;
}

frugal_status frugal_use_embedder(frugal_db *db, const char *name, frugal_embedder *e)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (name == NULL || e == NULL || embedder_of_public(e) == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "a collection name and an open embedder are "
                                                "required");
    struct collection_row coll;
    rc = store_collection_get(db->st, name, &coll, &db->err);
    if (rc == FRUGAL_OK && coll.embedder == NULL)
        rc = err_set(&db->err, FRUGAL_EINVAL,
                     "collection '%s' has no embedder spec (create it with one, or set one "
                     "with frugal_collection_set_embedder)",
                     name);
    if (rc == FRUGAL_OK)
        rc = embedder_check(db, &coll, e);
    if (rc == FRUGAL_OK)
        rc = embedder_keep(db, coll.id, e, false);
    collection_row_release(&coll);
    return fail(db, rc);
}

frugal_status frugal_collection_create(frugal_db *db, const char *name,
                                       const frugal_collection_params *params)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    frugal_collection_params defaults;
    if (params == NULL) {
        frugal_collection_default_params(&defaults);
        params = &defaults;
    }
    if (name == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "no collection name given");
    const char *lang = params->language != NULL ? params->language : "english";
    if (!analyzer_language_ok(lang))
        return err_set(&db->err, FRUGAL_EINVAL,
                       "unknown language '%s' (use a Snowball stemmer name such as english, "
                       "french, german, or none)", lang);
    rc = check_bm25(db, params);
    if (rc == FRUGAL_OK)
        rc = check_vector_type(db, params->vector_type);
    if (rc == FRUGAL_OK && params->embedder != NULL && !embedder_spec_ok(params->embedder))
        rc = err_set(&db->err, FRUGAL_EINVAL,
                     "unknown embedder spec '%s' (use model:DIR, glove, glove:PATH, "
                     "remote:MODEL@URL or custom:NAME)",
                     params->embedder);
    if (rc != FRUGAL_OK)
        return rc;
    struct collection_row row;
    row_from_params(&row, name, params);
    /* a built-in embedder is opened now: a bad spec fails here, and its name and dim are
     * recorded before any vector is written */
    frugal_embedder *e = NULL;
    if (params->embedder != NULL && strncmp(params->embedder, "custom:", 7) != 0) {
        rc = frugal_embedder_open_spec(params->embedder, &e);
        if (rc != FRUGAL_OK) {
            err_set(&db->err, rc, "%s", frugal_embedder_errmsg(e));
            frugal_embedder_free(e);
            return rc;
        }
        row.embedder_name = (char *)frugal_embedder_name(e);
        row.embedder_dim = (int64_t)frugal_embedder_dim(e);
    }
    int64_t id = 0;
    rc = store_collection_create(db->st, &row, &id, &db->err);
    if (rc == FRUGAL_OK && e != NULL)
        rc = embedder_keep(db, id, e, true);
    else
        frugal_embedder_free(e);
    return fail(db, rc);
}

frugal_status frugal_collection_set_embedder(frugal_db *db, const char *name, const char *spec,
                                             const char *vector_type)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (name == NULL || spec == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "a collection name and an embedder spec are "
                                                "required");
    if (!embedder_spec_ok(spec))
        return err_set(&db->err, FRUGAL_EINVAL,
                       "unknown embedder spec '%s' (use model:DIR, glove, glove:PATH, "
                       "remote:MODEL@URL or custom:NAME)",
                       spec);
    rc = check_vector_type(db, vector_type);
    if (rc != FRUGAL_OK)
        return rc;
    const char *vt = vector_type != NULL ? vector_type : "f32";
    struct collection_row coll;
    rc = store_collection_get(db->st, name, &coll, &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    if (coll.embedder != NULL && strcmp(coll.embedder, spec) == 0 &&
        strcmp(coll.vector_type != NULL ? coll.vector_type : "f32", vt) == 0) {
        collection_row_release(&coll);
        return FRUGAL_OK;
    }
    frugal_embedder *e = NULL;
    const char *ename = NULL;
    int64_t dim = 0;
    if (strncmp(spec, "custom:", 7) != 0) {
        rc = frugal_embedder_open_spec(spec, &e);
        if (rc != FRUGAL_OK)
            err_set(&db->err, rc, "%s", frugal_embedder_errmsg(e));
        ename = frugal_embedder_name(e);
        dim = (int64_t)frugal_embedder_dim(e);
    }
    if (rc == FRUGAL_OK) {
        rc = store_collection_set_embedder(db->st, coll.id, spec, ename, dim, vt, true,
                                           &db->err);
        if (rc == FRUGAL_EINVAL)
            err_prefix(&db->err, "collection '%s' %s", name,
                       coll.embedder != NULL ? "already has an embedder" : "cannot get one");
    }
    if (rc == FRUGAL_OK) {
        embedder_forget(db, coll.id);
        if (e != NULL) {
            rc = embedder_keep(db, coll.id, e, true);
            e = NULL;
        }
    }
    frugal_embedder_free(e);
    collection_row_release(&coll);
    return fail(db, rc);
}

frugal_status frugal_collection_tune(frugal_db *db, const char *name,
                                     const frugal_collection_params *params)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (name == NULL || params == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "collection name and parameters are required");
    rc = check_bm25(db, params);
    if (rc != FRUGAL_OK)
        return rc;
    struct collection_row row;
    row_from_params(&row, name, params);
    return fail(db, store_collection_tune(db->st, &row, &db->err));
}

frugal_status frugal_collection_delete(frugal_db *db, const char *name)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (name == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "no collection name given");
    struct collection_row coll;
    rc = store_collection_get(db->st, name, &coll, &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    int64_t id = coll.id;
    collection_row_release(&coll);
    rc = store_collection_delete(db->st, name, &db->err);
    if (rc == FRUGAL_OK) {
        /* ids are never reused: the files would only be garbage */
        embedder_forget(db, id);
        indexes_forget(db, id, true, true);
        /* without memory for a path its file stays, unused (a cache of a collection gone) */
        char *paths[2] = {NULL, NULL};
        (void)dense_index_path(db->path, id, &paths[0]);
        (void)keyword_index_path(db->path, id, &paths[1]);
        for (size_t i = 0; i < 2; i++) {
            if (paths[i] != NULL)
                remove(paths[i]);
            frugal_free(paths[i]);
        }
    }
    return fail(db, rc);
}

frugal_status frugal_collection_list(frugal_db *db, frugal_collection_info **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    struct collection_row *rows = NULL;
    int64_t *n_docs = NULL;
    int64_t *n_chunks = NULL;
    size_t n = 0;
    rc = store_collection_list(db->st, &rows, &n_docs, &n_chunks, &n, &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    frugal_collection_info *info = frugal_calloc(n > 0 ? n : 1, sizeof *info);
    if (info == NULL)
        rc = err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (info != NULL) {
            /* move the strings over */
            info[i].id = rows[i].id;
            info[i].name = rows[i].name;
            info[i].language = rows[i].language;
            info[i].stopwords = rows[i].stopwords;
            rows[i].name = rows[i].language = rows[i].stopwords = NULL;
            info[i].embedder = rows[i].embedder;
            info[i].embedder_name = rows[i].embedder_name;
            info[i].embedder_dim = rows[i].embedder_dim;
            info[i].vector_type = rows[i].vector_type;
            rows[i].embedder = rows[i].embedder_name = rows[i].vector_type = NULL;
            info[i].k1 = rows[i].k1;
            info[i].b = rows[i].b;
            info[i].title_weight = rows[i].title_weight;
            info[i].heading_weight = rows[i].heading_weight;
            info[i].body_weight = rows[i].body_weight;
            info[i].n_documents = n_docs[i];
            info[i].n_chunks = n_chunks[i];
        }
        collection_row_release(&rows[i]);
    }
    frugal_free(rows);
    frugal_free(n_docs);
    frugal_free(n_chunks);
    if (rc == FRUGAL_OK) {
        *out = info;
        *n_out = n;
    }
    return rc;
}

void frugal_collection_list_free(frugal_collection_info *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        frugal_free(list[i].name);
        frugal_free(list[i].language);
        frugal_free(list[i].stopwords);
        frugal_free(list[i].embedder);
        frugal_free(list[i].embedder_name);
        frugal_free(list[i].vector_type);
    }
    frugal_free(list);
}

/* ---- Ingestion ---- */

void frugal_ingest_default_params(frugal_ingest_params *params)
{
    memset(params, 0, sizeof *params);
    params->collection = "default";
    params->chunk_tokens = 200;
    params->chunk_overlap = 40;
    params->max_file_bytes = (size_t)64 << 20;
    params->pdf_timeout_s = 60;
}

/* The embedder of the collection params->collection (created when missing), NULL when none. */
static frugal_status ingest_embedder(frugal_db *db, const frugal_ingest_params *params,
                                     struct embedder **emb)
{
    *emb = NULL;
    if (db->read_only)
        return FRUGAL_OK; /* the pipeline refuses to write with its own message */
    struct collection_row coll;
    const char *name = params->collection != NULL ? params->collection : "default";
    frugal_status rc = store_collection_ensure(db->st, name, &coll, &db->err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = embedder_for(db, &coll, emb);
    collection_row_release(&coll);
    return rc;
}

static frugal_status ingest(frugal_db *db, const char *const *paths, size_t n_paths, bool sync,
                            const frugal_ingest_params *params, frugal_ingest_report *report)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    frugal_ingest_params defaults;
    if (params == NULL) {
        frugal_ingest_default_params(&defaults);
        params = &defaults;
    }
    frugal_ingest_report scratch;
    if (report == NULL)
        report = &scratch;
    memset(report, 0, sizeof *report);
    struct embedder *emb = NULL;
    rc = ingest_embedder(db, params, &emb);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    return fail(db, pipeline_run(db->st, emb, paths, n_paths, sync, params, report, &db->err));
}

frugal_status frugal_ingest(frugal_db *db, const char *const *paths, size_t n_paths,
                            const frugal_ingest_params *params, frugal_ingest_report *report)
{
    return ingest(db, paths, n_paths, false, params, report);
}

frugal_status frugal_sync(frugal_db *db, const char *dir, const frugal_ingest_params *params,
                          frugal_ingest_report *report)
{
    return ingest(db, &dir, 1, true, params, report);
}

frugal_status frugal_ingest_buffer(frugal_db *db, const char *name, const void *data, size_t len,
                                   const frugal_ingest_params *params,
                                   frugal_ingest_report *report)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (name == NULL || name[0] == '\0' || (data == NULL && len > 0))
        return err_set(&db->err, FRUGAL_EINVAL, "a name and data are required");
    frugal_ingest_params defaults;
    if (params == NULL) {
        frugal_ingest_default_params(&defaults);
        params = &defaults;
    }
    frugal_ingest_report scratch;
    if (report == NULL)
        report = &scratch;
    memset(report, 0, sizeof *report);
    struct embedder *emb = NULL;
    rc = ingest_embedder(db, params, &emb);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    return fail(db, pipeline_buffer(db->st, emb, name, data, len, params, report, &db->err));
}

/* ---- Documents ---- */

struct doc_list {
    const char *collection;
    frugal_document_info *v;
    size_t n, cap;
};

static frugal_status doc_list_add(void *ctx, const struct document_row *d, int64_t n_chunks)
{
    struct doc_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        frugal_document_info *v = frugal_reallocarray(l->v, cap, sizeof *v);
        if (v == NULL)
            return FRUGAL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    frugal_document_info *o = &l->v[l->n];
    memset(o, 0, sizeof *o);
    o->id = d->id;
    o->size = d->size;
    o->mtime = d->mtime;
    o->n_chunks = n_chunks;
    o->collection = frugal_strdup(l->collection);
    o->source = frugal_strdup(d->source);
    o->ext_id = frugal_strdup(d->ext_id);
    o->title = frugal_strdup(d->title);
    o->content_hash = frugal_strdup(d->content_hash);
    o->metadata_json = frugal_strdup(d->metadata_json != NULL ? d->metadata_json : "{}");
    l->n++;
    if (o->collection == NULL || o->source == NULL || o->content_hash == NULL ||
        o->metadata_json == NULL || (d->ext_id != NULL && o->ext_id == NULL) ||
        (d->title != NULL && o->title == NULL))
        return FRUGAL_ENOMEM;
    return FRUGAL_OK;
}

frugal_status frugal_document_list(frugal_db *db, const char *collection, size_t offset,
                                   size_t limit, frugal_document_info **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    struct collection_row coll;
    rc = store_collection_get(db->st, collection != NULL ? collection : "default", &coll,
                              &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    struct doc_list l = {.collection = coll.name};
    rc = store_document_each(db->st, coll.id, NULL, offset, limit, doc_list_add, &l, &db->err);
    collection_row_release(&coll);
    if (rc != FRUGAL_OK) {
        frugal_document_list_free(l.v, l.n);
        return fail(db, rc);
    }
    *out = l.v;
    *n_out = l.n;
    return FRUGAL_OK;
}

void frugal_document_list_free(frugal_document_info *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        frugal_free(list[i].collection);
        frugal_free(list[i].source);
        frugal_free(list[i].ext_id);
        frugal_free(list[i].title);
        frugal_free(list[i].content_hash);
        frugal_free(list[i].metadata_json);
    }
    frugal_free(list);
}

/* The collection id of document `id`, or ENOTFOUND. */
static frugal_status document_collection(frugal_db *db, int64_t id, int64_t *coll_id)
{
    sqlite3 *sdb = store_db(db->st);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(sdb, "SELECT collection_id FROM documents WHERE id = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return err_set(&db->err, FRUGAL_EIO, "store: %s", sqlite3_errmsg(sdb));
    sqlite3_bind_int64(stmt, 1, id);
    frugal_status rc = FRUGAL_OK;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW)
        *coll_id = sqlite3_column_int64(stmt, 0);
    else if (s == SQLITE_DONE)
        rc = err_set(&db->err, FRUGAL_ENOTFOUND, "no document with id %lld", (long long)id);
    else
        rc = err_set(&db->err, FRUGAL_EIO, "store: %s", sqlite3_errmsg(sdb));
    sqlite3_finalize(stmt);
    return rc;
}

static frugal_status delete_in_txn(frugal_db *db, const int64_t *ids, size_t n)
{
    frugal_status rc = store_begin(db->st, &db->err);
    for (size_t i = 0; i < n && rc == FRUGAL_OK; i++)
        rc = store_document_delete(db->st, ids[i], &db->err);
    if (rc == FRUGAL_OK)
        return store_commit(db->st, &db->err);
    store_rollback(db->st);
    return rc;
}

/* ENOTFOUND unless document id exists and, when collection is given, belongs to it. */
static frugal_status document_in(frugal_db *db, const char *collection, int64_t id)
{
    int64_t coll_id = 0;
    frugal_status rc = document_collection(db, id, &coll_id);
    if (rc == FRUGAL_OK && collection != NULL) {
        struct collection_row coll;
        rc = store_collection_get(db->st, collection, &coll, &db->err);
        if (rc == FRUGAL_OK) {
            if (coll.id != coll_id)
                rc = err_set(&db->err, FRUGAL_ENOTFOUND,
                             "no document with id %lld in collection '%s'", (long long)id,
                             collection);
            collection_row_release(&coll);
        }
    }
    return rc;
}

frugal_status frugal_document_text(frugal_db *db, const char *collection, int64_t id,
                                   char **text_out, size_t *len_out)
{
    *text_out = NULL;
    if (len_out != NULL)
        *len_out = 0;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    rc = document_in(db, collection, id);
    size_t len = 0;
    if (rc == FRUGAL_OK)
        rc = store_document_text(db->st, id, text_out, &len, &db->err);
    if (rc == FRUGAL_OK && len_out != NULL)
        *len_out = len;
    return fail(db, rc);
}

frugal_status frugal_document_delete(frugal_db *db, const char *collection, int64_t id)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    rc = document_in(db, collection, id);
    if (rc == FRUGAL_OK)
        rc = delete_in_txn(db, &id, 1);
    return fail(db, rc);
}

struct id_list {
    int64_t *v;
    size_t n, cap;
};

static frugal_status id_list_add(void *ctx, const struct document_row *d, int64_t n_chunks)
{
    struct id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        int64_t *v = frugal_reallocarray(l->v, cap, sizeof *v);
        if (v == NULL)
            return FRUGAL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = d->id;
    return FRUGAL_OK;
}

/* An absolute spelling of source: its realpath when it exists, else cwd + "/" + source for a
 * relative path, else source itself. Owned. */
static char *absolute_source(const char *source)
{
    char *real = fs_realpath(source);
    if (real != NULL || source[0] == '/')
        return real != NULL ? real : frugal_strdup(source);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return frugal_strdup(source);
    struct buf b;
    buf_init(&b, 0);
    if (buf_printf(&b, "%s/%s", cwd, source) != FRUGAL_OK) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

frugal_status frugal_document_delete_source(frugal_db *db, const char *collection,
                                            const char *source, size_t *n_deleted)
{
    if (n_deleted != NULL)
        *n_deleted = 0;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (source == NULL || source[0] == '\0')
        return err_set(&db->err, FRUGAL_EINVAL, "no source given");
    struct collection_row coll;
    rc = store_collection_get(db->st, collection != NULL ? collection : "default", &coll,
                              &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    struct id_list ids = {0};
    rc = store_document_each(db->st, coll.id, source, 0, 0, id_list_add, &ids, &db->err);
    if (rc == FRUGAL_OK && ids.n == 0) {
        char *abs = absolute_source(source);
        if (abs == NULL)
            rc = err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
        else
            rc = store_document_each(db->st, coll.id, abs, 0, 0, id_list_add, &ids, &db->err);
        frugal_free(abs);
    }
    if (rc == FRUGAL_OK && ids.n == 0)
        rc = err_set(&db->err, FRUGAL_ENOTFOUND, "no document with source '%s' in collection '%s'",
                     source, coll.name);
    if (rc == FRUGAL_OK)
        rc = delete_in_txn(db, ids.v, ids.n);
    if (rc == FRUGAL_OK && n_deleted != NULL)
        *n_deleted = ids.n;
    frugal_free(ids.v);
    collection_row_release(&coll);
    return fail(db, rc);
}

/* ---- Search ---- */

/* FRUGAL_BM25_ENGINE=fts5 selects the FTS5 ranking (benchmarks). */
static bool use_fts5(void)
{
    const char *e = getenv("FRUGAL_BM25_ENGINE");
    return e != NULL && strcmp(e, "fts5") == 0;
}

static frugal_status optimize_one(frugal_db *db, const struct collection_row *coll)
{
    indexes_forget(db, coll->id, true, false);
    return keyword_optimize(db->st, db->path, coll, &db->err);
}

frugal_status frugal_optimize(frugal_db *db, const char *collection)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (db->read_only)
        return err_set(&db->err, FRUGAL_EINVAL, "optimize: the database is open read-only");
    if (collection != NULL) {
        struct collection_row coll;
        rc = store_collection_get(db->st, collection, &coll, &db->err);
        if (rc == FRUGAL_OK)
            rc = optimize_one(db, &coll);
        collection_row_release(&coll);
        return fail(db, rc);
    }
    struct collection_row *list = NULL;
    int64_t *n_docs = NULL;
    int64_t *n_chunks = NULL;
    size_t n = 0;
    rc = store_collection_list(db->st, &list, &n_docs, &n_chunks, &n, &db->err);
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++)
        rc = optimize_one(db, &list[i]);
    for (size_t i = 0; i < n; i++)
        collection_row_release(&list[i]);
    frugal_free(list);
    frugal_free(n_docs);
    frugal_free(n_chunks);
    return fail(db, rc);
}

/* The query vector (owned, frugal_free; embedder_dim floats) from coll's embedder. */
static frugal_status embed_query(frugal_db *db, struct collection_row *coll, const char *query,
                                 float **out)
{
    *out = NULL;
    if (coll->embedder == NULL)
        return err_set(&db->err, FRUGAL_EINVAL,
                       "collection '%s' has no embedder: dense search needs one (frugal init "
                       "--collection %s --embedder SPEC)",
                       coll->name, coll->name);
    struct embedder *emb = NULL;
    frugal_status rc = embedder_for(db, coll, &emb);
    if (rc != FRUGAL_OK)
        return rc;
    struct embedder_slot *slot = embedder_slot(db, coll->id);
    size_t dim = embedder_dim(emb);
    float *vec = frugal_calloc(dim, sizeof *vec);
    if (vec == NULL)
        return err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    struct query_memo *m = &db->memo;
    if (m->text != NULL && m->collection_id == coll->id && slot != NULL && m->e == slot->e &&
        m->dim == dim && strcmp(m->text, query) == 0) {
        memcpy(vec, m->vec, dim * sizeof *vec);
        *out = vec;
        return FRUGAL_OK;
    }
    rc = embedder_embed(emb, &query, 1, vec, &db->err);
    if (rc != FRUGAL_OK) {
        frugal_free(vec);
        return rc;
    }
    /* remembered when memory allows; a failure here only costs a later embedding */
    char *text = frugal_strdup(query);
    float *copy = frugal_calloc(dim, sizeof *copy);
    if (text != NULL && copy != NULL && slot != NULL) {
        memo_clear(db);
        memcpy(copy, vec, dim * sizeof *copy);
        *m = (struct query_memo){coll->id, slot->e, text, copy, dim};
    } else {
        frugal_free(text);
        frugal_free(copy);
    }
    *out = vec;
    return FRUGAL_OK;
}

frugal_status db_query_vector(frugal_db *db, const char *collection, const char *text,
                              float **vec, size_t *dim)
{
    *vec = NULL;
    *dim = 0;
    struct collection_row coll;
    frugal_status rc = store_collection_get(db->st, collection, &coll, &db->err);
    if (rc != FRUGAL_OK)
        return rc;
    /* the same normalization frugal_search gives queries, so that the memo serves it */
    struct buf q;
    buf_init(&q, 64 * 1024);
    if (coll.embedder == NULL)
        rc = err_set(&db->err, FRUGAL_EINVAL, "collection '%s' has no embedder", coll.name);
    if (rc == FRUGAL_OK)
        rc = text_normalize(text, strlen(text), &q, &db->err);
    if (rc == FRUGAL_OK)
        rc = embed_query(db, &coll, q.ptr != NULL ? q.ptr : "", vec);
    if (rc == FRUGAL_OK)
        *dim = (size_t)coll.embedder_dim;
    buf_release(&q);
    collection_row_release(&coll);
    return rc;
}

frugal_status db_word_vectors(frugal_db *db, const char *collection, const struct sv_file **out)
{
    *out = NULL;
    struct collection_row coll;
    frugal_status rc = store_collection_get(db->st, collection, &coll, &db->err);
    if (rc != FRUGAL_OK)
        return rc;
    struct embedder *e = NULL;
    if (coll.embedder != NULL)
        rc = embedder_for(db, &coll, &e);
    if (rc == FRUGAL_OK)
        *out = embedder_word_vectors(e);
    collection_row_release(&coll);
    return rc;
}

/* A read transaction around the reads of one search, so that its many small statements share
 * one snapshot (and one lock acquisition) instead of each opening its own; true when it began
 * one (none when the caller's transaction is open). Only reads may run inside. */
static bool snapshot_begin(frugal_db *db)
{
    sqlite3 *sql = store_db(db->st);
    if (!sqlite3_get_autocommit(sql))
        return false;
    return sqlite3_exec(sql, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

static void snapshot_end(frugal_db *db, bool began)
{
    if (began)
        sqlite3_exec(store_db(db->st), "COMMIT", NULL, NULL, NULL);
}

/* Dense mode: embeds the query with the collection's embedder and searches its vector index. */
static frugal_status search_dense(frugal_db *db, struct collection_row *coll, const char *query,
                                  const struct store_search_opts *so, struct store_hit **hits,
                                  size_t *n_hits)
{
    float *vec = NULL;
    frugal_status rc = embed_query(db, coll, query, &vec);
    struct dense_index *di = NULL;
    if (rc == FRUGAL_OK)
        rc = dense_for(db, coll->id, &di);
    if (rc == FRUGAL_OK) {
        bool began = snapshot_begin(db);
        rc = dense_search(di, db->st, coll, vec, query, so, hits, n_hits, &db->err);
        snapshot_end(db, began);
    }
    frugal_free(vec);
    return rc;
}

/* BM25 mode: frugal's own index, or FTS5 when FRUGAL_BM25_ENGINE=fts5. Without fill the hits
 * may carry only ids and scores (the FTS5 path fills them anyway). */
static frugal_status search_keyword(frugal_db *db, struct collection_row *coll, const char *query,
                                    const struct store_search_opts *so, bool fill,
                                    struct store_hit **hits, size_t *n_hits)
{
    if (use_fts5())
        return store_search(db->st, coll, query, so, hits, n_hits, &db->err);
    struct keyword_index *ki = NULL;
    frugal_status rc = keyword_for(db, coll->id, &ki);
    if (rc == FRUGAL_OK && fill)
        rc = keyword_search(ki, db->st, coll, query, so, hits, n_hits, &db->err);
    else if (rc == FRUGAL_OK)
        rc = keyword_rank(ki, db->st, coll, query, so, hits, n_hits, &db->err);
    return rc;
}

static void store_hits_free(struct store_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_hit_release(&hits[i]);
    frugal_free(hits);
}

/* Hybrid mode: both sides rank hybrid_depth(k) candidates with the same filters and grouping
 * (ids and scores only: reading rows for candidates fusion then drops was most of the cost),
 * then hybrid_search fuses them, measures their agreement and fills the kept hits
 * (query/hybrid.h). Everything that may write (resolving the embedder records its name) runs
 * before the read snapshot. */
static frugal_status search_hybrid(frugal_db *db, struct collection_row *coll, const char *query,
                                   const frugal_search_params *params,
                                   const struct store_search_opts *so, struct store_hit **hits,
                                   size_t *n_hits, double *agreement)
{
    if (coll->embedder == NULL)
        return err_set(&db->err, FRUGAL_EINVAL,
                       "collection '%s' has no embedder: hybrid search fuses BM25 with dense "
                       "retrieval and needs one (frugal init --collection %s --embedder SPEC), "
                       "or search with mode bm25",
                       coll->name, coll->name);
    if (params->fusion != FRUGAL_FUSION_RRF && params->fusion != FRUGAL_FUSION_CONVEX)
        return err_set(&db->err, FRUGAL_EINVAL, "unknown fusion %d", (int)params->fusion);
    if (!(params->alpha >= 0.0 && params->alpha <= 1.0))
        return err_set(&db->err, FRUGAL_EINVAL, "alpha must be between 0 and 1, got %g",
                       params->alpha);
    if (!(params->mmr_lambda >= 0.0 && params->mmr_lambda <= 1.0))
        return err_set(&db->err, FRUGAL_EINVAL, "mmr lambda must be between 0 and 1, got %g",
                       params->mmr_lambda);
    struct store_search_opts cand = *so;
    cand.k = hybrid_depth(so->k);
    cand.snippets = false;
    float *vec = NULL;
    struct dense_index *di = NULL;
    frugal_status rc = embed_query(db, coll, query, &vec);
    if (rc == FRUGAL_OK)
        rc = dense_for(db, coll->id, &di);
    struct store_hit *bm25_hits = NULL;
    struct store_hit *dense_hits = NULL;
    size_t n_bm25 = 0;
    size_t n_dense = 0;
    bool began = rc == FRUGAL_OK && snapshot_begin(db);
    if (rc == FRUGAL_OK)
        rc = search_keyword(db, coll, query, &cand, false, &bm25_hits, &n_bm25);
    if (rc == FRUGAL_OK)
        rc = dense_rank(di, db->st, coll, vec, &cand, &dense_hits, &n_dense, &db->err);
    frugal_free(vec);
    struct hybrid_opts ho = {
        .fusion = params->fusion == FRUGAL_FUSION_CONVEX ? HYBRID_CONVEX : HYBRID_RRF,
        .alpha = params->alpha,
        .mmr_lambda = params->mmr_lambda,
        .by_document = so->group_by_document,
    };
    if (rc == FRUGAL_OK)
        rc = hybrid_search(db->st, coll, query, &ho, so, bm25_hits, n_bm25, dense_hits, n_dense,
                           hits, n_hits, agreement, &db->err);
    else
        store_hits_free(bm25_hits, n_bm25);
    snapshot_end(db, began);
    return rc;
}

frugal_status frugal_use_reranker(frugal_db *db, frugal_reranker *r)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (r != NULL && rerank_of_public(r) == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "the reranker failed to open: %s",
                       frugal_reranker_errmsg(r));
    db->reranker = r;
    return FRUGAL_OK;
}

/* Reranks the top params->rerank_top_n of hits[0..*n_hits) (filled), then keeps k: the
 * reranked first. scores: (*n_hits) logits, aligned with the hits; *note: owned or NULL. */
static frugal_status rerank_step(frugal_db *db, const char *query,
                                 const frugal_search_params *params, struct store_hit *hits,
                                 size_t *n_hits, double *scores, size_t *n_reranked,
                                 char **note)
{
    char line[200];
    frugal_status rc = rerank_hits(rerank_of_public(db->reranker), query, hits, *n_hits,
                                   params->rerank_top_n, params->rerank_budget_ms, scores,
                                   n_reranked, line, sizeof line, &db->err);
    if (rc == FRUGAL_OK && line[0] != '\0') {
        *note = frugal_strdup(line);
        if (*note == NULL)
            rc = err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    }
    for (size_t i = params->k; rc == FRUGAL_OK && i < *n_hits; i++)
        store_hit_release(&hits[i]);
    if (rc == FRUGAL_OK && *n_hits > params->k)
        *n_hits = params->k;
    if (rc == FRUGAL_OK && *n_reranked > *n_hits)
        *n_reranked = *n_hits;
    return rc;
}

void frugal_search_default_params(frugal_search_params *params)
{
    memset(params, 0, sizeof *params);
    params->collection = "default";
    params->k = 10;
    params->snippets = true;
    params->highlight_open = "[";
    params->highlight_close = "]";
    params->fusion = FRUGAL_SEARCH_DEFAULT_FUSION;
    params->alpha = FRUGAL_SEARCH_DEFAULT_ALPHA;
    params->mmr_lambda = 0.0;
    params->rerank_top_n = 0;
    params->rerank_budget_ms = FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS;
}

frugal_status frugal_search(frugal_db *db, const char *query, const frugal_search_params *params,
                            frugal_results **out)
{
    *out = NULL;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    frugal_search_params defaults;
    if (params == NULL) {
        frugal_search_default_params(&defaults);
        params = &defaults;
    }
    if (query == NULL)
        return err_set(&db->err, FRUGAL_EINVAL, "no query given");
    if (params->k == 0 || params->k > MAX_SEARCH_K)
        return err_set(&db->err, FRUGAL_EINVAL, "k must be between 1 and %d, got %zu",
                       MAX_SEARCH_K, params->k);
    for (size_t i = 0; i < params->n_filters; i++) {
        if (params->filters[i].key == NULL || params->filters[i].n_values == 0)
            return err_set(&db->err, FRUGAL_EINVAL, "filter %zu needs a key and a value", i + 1);
    }
    if (params->rerank_top_n > MAX_SEARCH_K)
        return err_set(&db->err, FRUGAL_EINVAL, "rerank_top_n is at most %d, got %zu",
                       MAX_SEARCH_K, params->rerank_top_n);
    if (params->rerank_top_n > 0 && db->reranker == NULL)
        return err_set(&db->err, FRUGAL_EINVAL,
                       "reranking asked but no reranker is attached (frugal_use_reranker)");
    double t0 = now_ms();
    struct collection_row coll;
    rc = store_collection_get(db->st, params->collection != NULL ? params->collection : "default",
                              &coll, &db->err);
    if (rc != FRUGAL_OK)
        return fail(db, rc);
    /* frugal_filter and store_filter have the same layout by design; copy field by field */
    struct store_filter *filters = NULL;
    if (params->n_filters > 0) {
        filters = frugal_calloc(params->n_filters, sizeof *filters);
        if (filters == NULL) {
            collection_row_release(&coll);
            return err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < params->n_filters; i++) {
            filters[i].key = params->filters[i].key;
            filters[i].values = params->filters[i].values;
            filters[i].n_values = params->filters[i].n_values;
        }
    }
    struct store_search_opts so = {
        /* reranking looks at rerank_top_n hits, then keeps k */
        .k = params->rerank_top_n > params->k ? params->rerank_top_n : params->k,
        .filters = filters,
        .n_filters = params->n_filters,
        .group_by_document = params->group_by_document,
        .snippets = params->snippets,
        .hl_open = params->highlight_open != NULL ? params->highlight_open : "[",
        .hl_close = params->highlight_close != NULL ? params->highlight_close : "]",
    };
    struct store_hit *hits = NULL;
    size_t n_hits = 0;
    double agreement = -1.0;
    /* queries get the same normalization as documents (NFC, repaired UTF-8) before analysis */
    struct buf q;
    buf_init(&q, 64 * 1024);
    rc = text_normalize(query, strlen(query), &q, &db->err);
    if (rc == FRUGAL_ETOOBIG)
        rc = err_set(&db->err, rc, "query is over %zu bytes", q.max);
    const char *qtext = q.ptr != NULL ? q.ptr : "";
    if (rc == FRUGAL_OK && params->mode == FRUGAL_SEARCH_DENSE)
        rc = search_dense(db, &coll, qtext, &so, &hits, &n_hits);
    else if (rc == FRUGAL_OK && params->mode == FRUGAL_SEARCH_HYBRID)
        rc = search_hybrid(db, &coll, qtext, params, &so, &hits, &n_hits, &agreement);
    else if (rc == FRUGAL_OK && params->mode != FRUGAL_SEARCH_BM25)
        rc = err_set(&db->err, FRUGAL_EINVAL, "unknown search mode %d", (int)params->mode);
    else if (rc == FRUGAL_OK) {
        bool began = snapshot_begin(db);
        rc = search_keyword(db, &coll, qtext, &so, true, &hits, &n_hits);
        snapshot_end(db, began);
    }
    double *rscores = NULL;
    size_t n_reranked = 0;
    char *note = NULL;
    if (rc == FRUGAL_OK && n_hits > 0) {
        rscores = frugal_calloc(n_hits, sizeof *rscores);
        if (rscores == NULL)
            rc = err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    }
    if (rc == FRUGAL_OK && params->rerank_top_n > 0)
        rc = rerank_step(db, qtext, params, hits, &n_hits, rscores, &n_reranked, &note);
    buf_release(&q);
    frugal_free(filters);
    collection_row_release(&coll);
    frugal_results *res = NULL;
    if (rc == FRUGAL_OK) {
        res = frugal_calloc(1, sizeof *res);
        if (res != NULL && n_hits > 0) {
            res->hits = frugal_calloc(n_hits, sizeof *res->hits);
            if (res->hits == NULL) {
                frugal_free(res);
                res = NULL;
            }
        }
        if (res == NULL)
            rc = err_set(&db->err, FRUGAL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_hits; i++) {
        if (res != NULL) {
            struct store_hit *h = &hits[i];
            frugal_hit *o = &res->hits[i];
            o->chunk_id = h->chunk_id;
            o->document_id = h->document_id;
            o->score = h->score;
            o->ordinal = h->ordinal;
            o->source = h->source;
            o->ext_id = h->ext_id;
            o->title = h->title;
            o->heading_path = h->heading_path;
            o->text = h->text;
            o->snippet = h->snippet;
            o->metadata_json = h->metadata_json;
            o->char_start = h->char_start;
            o->char_end = h->char_end;
            o->rerank_score = rscores != NULL ? rscores[i] : 0.0;
            memset(h, 0, sizeof *h);
        }
        store_hit_release(&hits[i]);
    }
    frugal_free(hits);
    frugal_free(rscores);
    if (rc != FRUGAL_OK) {
        frugal_free(note);
        return fail(db, rc);
    }
    res->n_hits = n_hits;
    res->agreement = agreement;
    res->reranked = n_reranked;
    res->rerank_note = note;
    res->elapsed_ms = now_ms() - t0;
    *out = res;
    return FRUGAL_OK;
}

void frugal_results_free(frugal_results *results)
{
    if (results == NULL)
        return;
    for (size_t i = 0; i < results->n_hits; i++) {
        frugal_hit *h = &results->hits[i];
        frugal_free(h->source);
        frugal_free(h->ext_id);
        frugal_free(h->title);
        frugal_free(h->heading_path);
        frugal_free(h->text);
        frugal_free(h->snippet);
        frugal_free(h->metadata_json);
    }
    frugal_free(results->hits);
    frugal_free(results->rerank_note);
    frugal_free(results);
}
