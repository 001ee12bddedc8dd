/* test_store.c - the SQLite store: schema, migrations, CRUD, BM25F ranking, filters, snippets. */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <unistd.h>

#include "base/alloc.h"
#include "store/store.h"

struct fx {
    char dir[64];
    char path[128];
    struct store *st;
    struct err err;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/frugal-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/frugal.db", f->dir);
    *state = f;
    return 0;
}

static void remove_db(const char *path)
{
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    remove_db(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct store *open_store(struct fx *f)
{
    struct store_opts o = {.busy_timeout_ms = 1000};
    frugal_status rc = store_open(f->path, &o, &f->st, &f->err);
    if (rc != FRUGAL_OK)
        fail_msg("store_open: %s", f->err.msg);
    return f->st;
}

static int64_t int_query(struct store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int64_t count_fts(struct store *st, int64_t coll_id)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM fts_%lld", (long long)coll_id);
    return int_query(st, sql);
}

static int64_t make_collection(struct fx *f, const char *name, const char *language,
                               const char *stopwords)
{
    struct collection_row c = {.name = (char *)name,
                               .language = (char *)language,
                               .stopwords = (char *)stopwords,
                               .k1 = 0.9,
                               .b = 0.4,
                               .title_weight = 1,
                               .heading_weight = 1,
                               .body_weight = 1};
    int64_t id = 0;
    frugal_status rc = store_collection_create(f->st, &c, &id, &f->err);
    if (rc != FRUGAL_OK)
        fail_msg("create collection %s: %s", name, f->err.msg);
    return id;
}

static int64_t add_doc(struct fx *f, int64_t coll_id, const char *source, const char *title,
                       const char *metadata)
{
    struct document_row d = {.collection_id = coll_id,
                             .source = source,
                             .content_hash = "h",
                             .title = title,
                             .metadata_json = metadata,
                             .format = "text",
                             .text = "full text"};
    frugal_status rc = store_document_insert(f->st, &d, &f->err);
    if (rc != FRUGAL_OK)
        fail_msg("insert document %s: %s", source, f->err.msg);
    return d.id;
}

static int64_t add_chunk(struct fx *f, const char *coll_name, int64_t doc_id, const char *title,
                         int ordinal, const char *heading, const char *text)
{
    struct collection_row c;
    assert_int_equal(store_collection_get(f->st, coll_name, &c, &f->err), FRUGAL_OK);
    struct chunk_row ch = {.ordinal = ordinal,
                           .text = text,
                           .text_len = strlen(text),
                           .heading_path = heading,
                           .char_end = (int64_t)strlen(text),
                           .byte_end = (int64_t)strlen(text),
                           .n_tokens = 1};
    int64_t id = 0;
    frugal_status rc = store_chunk_insert(f->st, &c, doc_id, title, &ch, &id, &f->err);
    collection_row_release(&c);
    if (rc != FRUGAL_OK)
        fail_msg("insert chunk: %s", f->err.msg);
    return id;
}

static frugal_status search(struct fx *f, const char *coll_name, const char *query,
                            const struct store_search_opts *opts, struct store_hit **hits,
                            size_t *n)
{
    struct collection_row c;
    assert_int_equal(store_collection_get(f->st, coll_name, &c, &f->err), FRUGAL_OK);
    frugal_status rc = store_search(f->st, &c, query, opts, hits, n, &f->err);
    collection_row_release(&c);
    return rc;
}

static void free_hits(struct store_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_hit_release(&hits[i]);
    frugal_free(hits);
}

/* ---- Open, schema, versions ----------------------------------------------------------------- */

static void test_open_creates_schema(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    assert_int_equal(int_query(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(int_query(st, "PRAGMA foreign_keys"), 1);
    assert_int_equal(int_query(st, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                   "('meta','collections','documents','chunks')"),
                     4);
    assert_int_equal(int_query(st, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    assert_string_equal(c.language, "english");
    assert_null(c.stopwords);
    assert_true(c.k1 == 0.9 && c.b == 0.4);
    assert_true(c.title_weight == 1 && c.heading_weight == 1 && c.body_weight == 1);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE name = 'fts_%lld'",
             (long long)c.id);
    assert_int_equal(int_query(st, sql), 1);
    collection_row_release(&c);
    int64_t g = store_generation(st);
    assert_true(g >= 1);
    /* Reopening migrates nothing and changes nothing. */
    store_close(st);
    f->st = NULL;
    st = open_store(f);
    assert_int_equal(store_generation(st), g);
}

static void test_newer_version_refused(void **state)
{
    struct fx *f = *state;
    open_store(f);
    store_close(f->st);
    f->st = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    frugal_status rc = store_open(f->path, NULL, &f->st, &f->err);
    assert_int_equal(rc, FRUGAL_EVERSION);
    assert_null(f->st);
    assert_non_null(strstr(f->err.msg, "frugal.db: database schema version 99 is newer than this "
                                       "frugal supports (6); upgrade frugal"));
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(f->path, &ro, &f->st, &f->err), FRUGAL_EVERSION);
}

static void test_not_a_database(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->path, "w");
    for (int i = 0; i < 100; i++)
        fputs("this is certainly not a SQLite database file\n", fp);
    fclose(fp);
    assert_int_equal(store_open(f->path, NULL, &f->st, &f->err), FRUGAL_ECORRUPT);
    assert_null(f->st);
    assert_non_null(strstr(f->err.msg, "not a SQLite database"));
    /* Someone else's SQLite database is refused too, and left alone. */
    remove_db(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(f->path, NULL, &f->st, &f->err), FRUGAL_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "not made by frugal"));
}

static void test_read_only(void **state)
{
    struct fx *f = *state;
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(f->path, &ro, &f->st, &f->err), FRUGAL_ENOTFOUND);
    assert_int_equal(access(f->path, F_OK), -1); /* and nothing was created */
    open_store(f);
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open(f->path, &ro, &f->st, &f->err), FRUGAL_OK);
    struct collection_row c;
    assert_int_equal(store_collection_get(f->st, "default", &c, &f->err), FRUGAL_OK);
    collection_row_release(&c);
    struct collection_row n = {.name = "x", .k1 = 1, .b = 0.5};
    assert_int_equal(store_collection_create(f->st, &n, NULL, &f->err), FRUGAL_EINVAL);
    assert_int_equal(store_begin(f->st, &f->err), FRUGAL_EINVAL);
}

static void test_alloc_fail_open(void **state)
{
    struct fx *f = *state;
    /* Fresh database each round, then an existing one. */
    for (int pass = 0; pass < 2; pass++) {
        bool ok = false;
        for (long n = 0; n < 10000 && !ok; n++) {
            if (pass == 0)
                remove_db(f->path);
            struct store *st = NULL;
            alloc_fail_after(n);
            frugal_status rc = store_open(f->path, NULL, &st, &f->err);
            alloc_fail_after(-1);
            if (rc == FRUGAL_OK) {
                ok = true;
                struct collection_row c;
                assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
                collection_row_release(&c);
            } else {
                assert_null(st);
                assert_true(f->err.msg[0] != '\0');
            }
            store_close(st);
        }
        assert_true(ok);
    }
    /* Search under allocation failure, too. */
    struct store *st = open_store(f);
    int64_t cid = make_collection(f, "af", "english", NULL);
    int64_t d = add_doc(f, cid, "a.txt", "Title", NULL);
    add_chunk(f, "af", d, "Title", 0, "H", "apples and oranges are fruit");
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "af", &c, &f->err), FRUGAL_OK);
    bool ok = false;
    for (long n = 0; n < 10000 && !ok; n++) {
        struct store_hit *hits = NULL;
        size_t nh = 0;
        struct store_search_opts o = {.k = 5, .snippets = true, .group_by_document = true};
        alloc_fail_after(n);
        frugal_status rc = store_search(st, &c, "apples fruit", &o, &hits, &nh, &f->err);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            ok = true;
            assert_int_equal(nh, 1);
        } else {
            assert_int_equal(rc, FRUGAL_ENOMEM);
            assert_null(hits);
        }
        free_hits(hits, nh);
    }
    collection_row_release(&c);
    assert_true(ok);

    /* Writes and listing: a failed write leaves nothing behind. */
    ok = false;
    for (long n = 0; n < 10000 && !ok; n++) {
        struct collection_row nc = {.name = "af2", .language = "english", .stopwords = "x y",
                                    .k1 = 1, .b = 0.5, .body_weight = 1};
        alloc_fail_after(n);
        frugal_status rc = store_collection_create(st, &nc, NULL, &f->err);
        bool created = rc == FRUGAL_OK;
        int64_t did = 0;
        if (rc == FRUGAL_OK) {
            struct document_row dr = {.collection_id = cid, .source = "b.txt"};
            rc = store_document_insert(st, &dr, &f->err);
            did = dr.id;
        }
        if (rc == FRUGAL_OK) {
            struct collection_row af;
            rc = store_collection_get(st, "af", &af, &f->err);
            struct chunk_row ch = {.text = "pears", .text_len = 5};
            if (rc == FRUGAL_OK)
                rc = store_chunk_insert(st, &af, did, NULL, &ch, NULL, &f->err);
            collection_row_release(&af);
        }
        struct collection_row *list = NULL;
        int64_t *nd = NULL;
        int64_t *nc2 = NULL;
        size_t nl = 0;
        if (rc == FRUGAL_OK)
            rc = store_collection_list(st, &list, &nd, &nc2, &nl, &f->err);
        alloc_fail_after(-1);
        for (size_t i = 0; i < nl; i++)
            collection_row_release(&list[i]);
        frugal_free(list);
        frugal_free(nd);
        frugal_free(nc2);
        if (rc == FRUGAL_OK) {
            ok = true;
            assert_int_equal(nl, 3);
            assert_int_equal(count_fts(st, cid), 2);
        } else {
            assert_int_equal(rc, FRUGAL_ENOMEM);
            struct document_row dr;
            if (store_document_find(st, cid, "b.txt", &dr, &f->err) == FRUGAL_OK) {
                assert_int_equal(store_document_delete(st, dr.id, &f->err), FRUGAL_OK);
                document_row_release(&dr);
            }
            assert_int_equal(store_collection_delete(st, "af2", &f->err),
                             created ? FRUGAL_OK : FRUGAL_ENOTFOUND);
            assert_int_equal(count_fts(st, cid), 1);
        }
    }
    assert_true(ok);
}

/* ---- Collections ---------------------------------------------------------------------------- */

static void test_collections(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t id = make_collection(f, "docs.v2_x-y", "french", "le, la l'eau  d'un");
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "docs.v2_x-y", &c, &f->err), FRUGAL_OK);
    assert_int_equal(c.id, id);
    assert_string_equal(c.language, "french");
    assert_string_equal(c.stopwords, "le, la l'eau  d'un");
    c.k1 = 1.5;
    c.b = 0.75;
    c.title_weight = 2.5;
    assert_int_equal(store_collection_tune(st, &c, &f->err), FRUGAL_OK);
    collection_row_release(&c);
    assert_int_equal(store_collection_get(st, "docs.v2_x-y", &c, &f->err), FRUGAL_OK);
    assert_true(c.k1 == 1.5 && c.b == 0.75 && c.title_weight == 2.5);
    c.b = 1.5;
    assert_int_equal(store_collection_tune(st, &c, &f->err), FRUGAL_EINVAL);
    c.b = 0.5;
    c.k1 = -1;
    assert_int_equal(store_collection_tune(st, &c, &f->err), FRUGAL_EINVAL);
    collection_row_release(&c);

    /* The quoted stopwords reached the tokenizer: "l'eau" is a stopword, "eau" alone is not. */
    int64_t d = add_doc(f, id, "fr.txt", NULL, NULL);
    add_chunk(f, "docs.v2_x-y", d, NULL, 0, NULL, "le chat boit de l'eau");
    struct store_hit *hits = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(search(f, "docs.v2_x-y", "le", &o, &hits, &n), FRUGAL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(search(f, "docs.v2_x-y", "chats", &o, &hits, &n), FRUGAL_OK);
    assert_int_equal(n, 1); /* French stemming */
    free_hits(hits, n);

    assert_int_equal(store_collection_create(st, &(struct collection_row){.name = "docs.v2_x-y",
                                                                          .k1 = 1},
                                             NULL, &f->err),
                     FRUGAL_EEXIST);
    const char *bad[] = {"", "a b", "x/y", "caf\xc3\xa9", "a\"b", "semi;colon", NULL};
    char long_name[130];
    memset(long_name, 'a', 129);
    long_name[129] = 0;
    for (int i = 0; bad[i] != NULL; i++)
        assert_int_equal(store_collection_create(st, &(struct collection_row){.name = (char *)bad[i],
                                                                              .k1 = 1},
                                                 NULL, &f->err),
                         FRUGAL_EINVAL);
    assert_int_equal(store_collection_create(st, &(struct collection_row){.name = long_name,
                                                                          .k1 = 1},
                                             NULL, &f->err),
                     FRUGAL_EINVAL);
    long_name[128] = 0;
    make_collection(f, long_name, NULL, NULL);
    const char *bad_stop[] = {"a\"b", "x;y", "a)b", "new\nline", "back\\slash", NULL};
    for (int i = 0; bad_stop[i] != NULL; i++)
        assert_int_equal(
            store_collection_create(st, &(struct collection_row){.name = "s", .k1 = 1,
                                                                 .stopwords = (char *)bad_stop[i]},
                                    NULL, &f->err),
            FRUGAL_EINVAL);
    assert_int_equal(store_collection_create(st, &(struct collection_row){.name = "s", .k1 = 1,
                                                                          .language = "klingon"},
                                             NULL, &f->err),
                     FRUGAL_EINVAL);
    make_collection(f, "nostop", "none", "");

    struct collection_row *list = NULL;
    int64_t *n_docs = NULL;
    int64_t *n_chunks = NULL;
    size_t n_list = 0;
    assert_int_equal(store_collection_list(st, &list, &n_docs, &n_chunks, &n_list, &f->err),
                     FRUGAL_OK);
    assert_int_equal(n_list, 4);
    bool seen = false;
    for (size_t i = 0; i < n_list; i++) {
        if (strcmp(list[i].name, "docs.v2_x-y") == 0) {
            seen = true;
            assert_int_equal(n_docs[i], 1);
            assert_int_equal(n_chunks[i], 1);
        }
        collection_row_release(&list[i]);
    }
    assert_true(seen);
    frugal_free(list);
    frugal_free(n_docs);
    frugal_free(n_chunks);

    assert_int_equal(store_collection_delete(st, "docs.v2_x-y", &f->err), FRUGAL_OK);
    assert_int_equal(store_collection_get(st, "docs.v2_x-y", &c, &f->err), FRUGAL_ENOTFOUND);
    assert_non_null(strstr(f->err.msg, "docs.v2_x-y"));
    assert_int_equal(store_collection_delete(st, "docs.v2_x-y", &f->err), FRUGAL_ENOTFOUND);
    assert_int_equal(store_collection_tune(st, &(struct collection_row){.name = "nope", .k1 = 1},
                                           &f->err),
                     FRUGAL_ENOTFOUND);
    /* Ids are not reused: a new collection gets a fresh FTS table. */
    int64_t id2 = make_collection(f, "docs.v2_x-y", "english", NULL);
    assert_true(id2 > id);
    assert_int_equal(count_fts(st, id2), 0);
}

/* ---- Documents ------------------------------------------------------------------------------ */

struct each_ctx {
    struct store *st;
    int n;
    char sources[8][32];
    bool delete_each;
};

static frugal_status each_fn(void *ctx, const struct document_row *doc, int64_t n_chunks)
{
    struct each_ctx *e = ctx;
    if (e->n < 8)
        snprintf(e->sources[e->n], 32, "%s", doc->source);
    e->n++;
    if (e->delete_each)
        return store_document_delete(e->st, doc->id, NULL);
    return FRUGAL_OK;
}

static void test_documents(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t c1 = make_collection(f, "one", NULL, NULL);
    int64_t c2 = make_collection(f, "two", NULL, NULL);
    struct document_row d = {.collection_id = c1,
                             .source = "/docs/a.md",
                             .ext_id = "ext-1",
                             .content_hash = "abc",
                             .size = 42,
                             .mtime = 1700000000,
                             .title = "A",
                             .metadata_json = "{ \"k\" : [1, 2] }",
                             .format = "markdown",
                             .text = "hello world"};
    assert_int_equal(store_document_insert(st, &d, &f->err), FRUGAL_OK);
    assert_true(d.id > 0);
    int64_t first = d.id;
    assert_int_equal(store_document_insert(st, &d, &f->err), FRUGAL_EEXIST);
    d.collection_id = c2;
    assert_int_equal(store_document_insert(st, &d, &f->err), FRUGAL_OK);
    d.collection_id = 9999;
    assert_int_equal(store_document_insert(st, &d, &f->err), FRUGAL_ENOTFOUND);
    d.collection_id = c1;
    d.source = "/docs/b.md";
    const char *bad_meta[] = {"[1]", "\"x\"", "{", "3", NULL};
    for (int i = 0; bad_meta[i] != NULL; i++) {
        d.metadata_json = bad_meta[i];
        assert_int_equal(store_document_insert(st, &d, &f->err), FRUGAL_EINVAL);
    }

    struct document_row out;
    assert_int_equal(store_document_find(st, c1, "/docs/a.md", &out, &f->err), FRUGAL_OK);
    assert_int_equal(out.id, first);
    assert_int_equal(out.collection_id, c1);
    assert_string_equal(out.source, "/docs/a.md");
    assert_string_equal(out.ext_id, "ext-1");
    assert_string_equal(out.content_hash, "abc");
    assert_int_equal(out.size, 42);
    assert_int_equal(out.mtime, 1700000000);
    assert_string_equal(out.title, "A");
    assert_string_equal(out.metadata_json, "{\"k\":[1,2]}");
    assert_string_equal(out.format, "markdown");
    assert_string_equal(out.text, "hello world");
    document_row_release(&out);
    assert_int_equal(store_document_find(st, c1, "/docs/zzz", &out, &f->err), FRUGAL_ENOTFOUND);
    assert_int_equal(store_document_find(st, c1, "/docs/a.md", &out, &f->err), FRUGAL_OK);
    document_row_release(&out);

    /* A chunk can only go to a document of its collection. */
    struct collection_row two;
    assert_int_equal(store_collection_get(st, "two", &two, &f->err), FRUGAL_OK);
    struct chunk_row ch = {.text = "x", .text_len = 1};
    assert_int_equal(store_chunk_insert(st, &two, first, NULL, &ch, NULL, &f->err),
                     FRUGAL_ENOTFOUND);
    collection_row_release(&two);

    /* Prefix listing: exact, '/' and '#' children, nothing that merely shares the prefix. */
    const char *srcs[] = {"/docs", "/docs/x.md", "/docs#2", "/docsier", "/doc", "/docs/y/z.md"};
    for (int i = 0; i < 6; i++)
        add_doc(f, c2, srcs[i], NULL, NULL);
    struct each_ctx e = {.st = st};
    assert_int_equal(store_document_each(st, c2, "/docs", 0, 0, each_fn, &e, &f->err), FRUGAL_OK);
    assert_int_equal(e.n, 5); /* /docs/a.md, /docs, /docs/x.md, /docs#2, /docs/y/z.md */
    e.n = 0;
    assert_int_equal(store_document_each(st, c2, "/docs/", 0, 0, each_fn, &e, &f->err),
                     FRUGAL_OK);
    assert_int_equal(e.n, 3);
    e.n = 0;
    assert_int_equal(store_document_each(st, c2, NULL, 2, 3, each_fn, &e, &f->err), FRUGAL_OK);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.sources[0], "/docs/x.md");
    e.n = 0;
    e.delete_each = true; /* the callback may write */
    assert_int_equal(store_document_each(st, c2, NULL, 0, 0, each_fn, &e, &f->err), FRUGAL_OK);
    assert_int_equal(e.n, 7);
    e.n = 0;
    e.delete_each = false;
    assert_int_equal(store_document_each(st, c2, NULL, 0, 0, each_fn, &e, &f->err), FRUGAL_OK);
    assert_int_equal(e.n, 0);
    assert_int_equal(store_document_delete(st, 123456, &f->err), FRUGAL_ENOTFOUND);
}

/* ---- Ranking -------------------------------------------------------------------------------- */

struct ref_row {
    int len[3];           /* tokens in title, heading, body */
    int tf[2][3];         /* per query term, per column */
};

/* BM25F as store.h defines it, computed independently. */
static double ref_bm25(const struct ref_row *rows, int n_rows, int row, int n_terms, double k1,
                       double b, const double w[3])
{
    double avg[3] = {0};
    for (int r = 0; r < n_rows; r++)
        for (int c = 0; c < 3; c++)
            avg[c] += rows[r].len[c];
    double avgdl = 0;
    double dl = 0;
    for (int c = 0; c < 3; c++) {
        avgdl += w[c] * avg[c] / n_rows;
        dl += w[c] * rows[row].len[c];
    }
    double score = 0;
    for (int t = 0; t < n_terms; t++) {
        int df = 0;
        for (int r = 0; r < n_rows; r++)
            df += rows[r].tf[t][0] + rows[r].tf[t][1] + rows[r].tf[t][2] > 0;
        double idf = log(1 + (n_rows - df + 0.5) / (df + 0.5));
        double tf = 0;
        for (int c = 0; c < 3; c++)
            tf += w[c] * rows[row].tf[t][c];
        if (tf > 0)
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl));
    }
    return score;
}

static void check_scores(struct fx *f, const struct ref_row *rows, const int64_t *chunk_ids,
                         int n_rows, const char *query, int n_terms)
{
    struct collection_row c;
    assert_int_equal(store_collection_get(f->st, "tiny", &c, &f->err), FRUGAL_OK);
    const double w[3] = {c.title_weight, c.heading_weight, c.body_weight};
    struct store_hit *hits = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(store_search(f->st, &c, query, &o, &hits, &n, &f->err), FRUGAL_OK);
    int expect_n = 0;
    for (int r = 0; r < n_rows; r++) {
        double want = ref_bm25(rows, n_rows, r, n_terms, c.k1, c.b, w);
        if (want > 0)
            expect_n++;
        for (size_t i = 0; i < n; i++)
            if (hits[i].chunk_id == chunk_ids[r])
                assert_true(fabs(hits[i].score - want) < 1e-9);
    }
    assert_int_equal(n, expect_n);
    for (size_t i = 1; i < n; i++)
        assert_true(hits[i - 1].score > hits[i].score ||
                    (hits[i - 1].score == hits[i].score &&
                     hits[i - 1].chunk_id < hits[i].chunk_id));
    free_hits(hits, n);
    collection_row_release(&c);
}

static void test_bm25_exact(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t cid = make_collection(f, "tiny", "none", "");
    int64_t d1 = add_doc(f, cid, "1", "Alpha", NULL);
    int64_t d2 = add_doc(f, cid, "2", NULL, NULL);
    int64_t d3 = add_doc(f, cid, "3", "Banana", NULL);
    int64_t d4 = add_doc(f, cid, "4", "Other", NULL);
    int64_t ids[4];
    ids[0] = add_chunk(f, "tiny", d1, "Alpha", 0, "Fruit", "apple banana apple");
    ids[1] = add_chunk(f, "tiny", d2, NULL, 0, NULL, "banana cherry");
    ids[2] = add_chunk(f, "tiny", d3, "Banana", 0, "Fruit Salad", "cherry date elderberry fig");
    ids[3] = add_chunk(f, "tiny", d4, "Other", 0, NULL, "grape");
    /* terms: apple, banana */
    const struct ref_row rows[4] = {
        {{1, 1, 3}, {{0, 0, 2}, {0, 0, 1}}},
        {{0, 0, 2}, {{0, 0, 0}, {0, 0, 1}}},
        {{1, 2, 4}, {{0, 0, 0}, {1, 0, 0}}},
        {{1, 0, 1}, {{0, 0, 0}, {0, 0, 0}}},
    };
    check_scores(f, rows, ids, 4, "Apple BANANA", 2);
    check_scores(f, rows, ids, 4, "apple", 1);

    /* k1, b and the title weight change the scores (and the reference agrees). */
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "tiny", &c, &f->err), FRUGAL_OK);
    struct store_hit *h0 = NULL;
    size_t n0 = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(store_search(st, &c, "banana", &o, &h0, &n0, &f->err), FRUGAL_OK);
    assert_int_equal(n0, 3);
    c.k1 = 2.0;
    c.b = 1.0;
    assert_int_equal(store_collection_tune(st, &c, &f->err), FRUGAL_OK);
    check_scores(f, rows, ids, 4, "apple banana", 2);
    struct store_hit *h1 = NULL;
    size_t n1 = 0;
    assert_int_equal(store_search(st, &c, "banana", &o, &h1, &n1, &f->err), FRUGAL_OK);
    assert_true(fabs(h0[0].score - h1[0].score) > 1e-6);
    c.title_weight = 5.0;
    c.heading_weight = 0.5;
    assert_int_equal(store_collection_tune(st, &c, &f->err), FRUGAL_OK);
    check_scores(f, rows, ids, 4, "apple banana", 2);
    struct store_hit *h2 = NULL;
    size_t n2 = 0;
    assert_int_equal(store_search(st, &c, "banana", &o, &h2, &n2, &f->err), FRUGAL_OK);
    assert_int_equal(h2[0].chunk_id, ids[2]); /* the title match now wins */
    free_hits(h0, n0);
    free_hits(h1, n1);
    free_hits(h2, n2);

    /* A repeated query term counts once per occurrence. */
    const struct ref_row apple_only[4] = {
        {{1, 1, 3}, {{0, 0, 2}, {0, 0, 2}}},
        {{0, 0, 2}, {{0}, {0}}},
        {{1, 2, 4}, {{0}, {0}}},
        {{1, 0, 1}, {{0}, {0}}},
    };
    check_scores(f, apple_only, ids, 4, "apple apple", 2);
    collection_row_release(&c);

    /* The hit carries its chunk and document. */
    struct store_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(search(f, "tiny", "elderberry", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].chunk_id, ids[2]);
    assert_int_equal(h[0].document_id, d3);
    assert_string_equal(h[0].source, "3");
    assert_string_equal(h[0].title, "Banana");
    assert_string_equal(h[0].heading_path, "Fruit Salad");
    assert_string_equal(h[0].text, "cherry date elderberry fig");
    assert_string_equal(h[0].metadata_json, "{}");
    assert_null(h[0].snippet);
    free_hits(h, n);
    /* k caps the hits; k = 0 gives none. */
    o.k = 1;
    assert_int_equal(search(f, "tiny", "banana cherry", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    free_hits(h, n);
    o.k = 0;
    assert_int_equal(search(f, "tiny", "banana", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 0);
    assert_null(h);
}

static void test_query_syntax_harmless(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    int64_t d = add_doc(f, c.id, "q", "Title", NULL);
    add_chunk(f, "default", d, "Title", 0, NULL, "foo bar near title and or not x");
    const char *queries[] = {"\"", "\"\"\"", "AND OR NOT", "foo*", "title:x", "(((", ")))",
                             "NEAR(a b)", "-x", "^", "\x01", "\x01\x02\x03", "a\"b", "*", "{a b}:x",
                             "+", "'", "\x01foo", "foo\x01", "", "   ", "the of and", NULL};
    for (int i = 0; queries[i] != NULL; i++) {
        struct store_hit *h = NULL;
        size_t n = 0;
        struct store_search_opts o = {.k = 10, .snippets = true};
        frugal_status rc = store_search(st, &c, queries[i], &o, &h, &n, &f->err);
        if (rc != FRUGAL_OK)
            fail_msg("query %d: %s", i, f->err.msg);
        free_hits(h, n);
    }
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(store_search(st, &c, "NEAR(foo bar)", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 1); /* the words themselves are searched */
    free_hits(h, n);
    assert_int_equal(store_search(st, &c, "the of and", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 0); /* stopwords only: no terms, no hits */
    /* A long query (more terms than FTS5's expression depth) is cut, not refused. */
    char *long_query = malloc(20000);
    size_t len = 0;
    for (int i = 0; i < 1500; i++)
        len += (size_t)snprintf(long_query + len, 20000 - len, "w%d ", i);
    snprintf(long_query + len, 20000 - len, "foo");
    assert_int_equal(store_search(st, &c, long_query, &o, &h, &n, &f->err), FRUGAL_OK);
    free_hits(h, n);
    memmove(long_query + 4, long_query, len);
    memcpy(long_query, "foo ", 4);
    assert_int_equal(store_search(st, &c, long_query, &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 1);
    free_hits(h, n);
    free(long_query);
    collection_row_release(&c);
}

static void test_cjk(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    int64_t d = add_doc(f, c.id, "zh", NULL, NULL);
    add_chunk(f, "default", d, NULL, 0, NULL, "我们的数据库系统很快。");
    int64_t d2 = add_doc(f, c.id, "en", NULL, NULL);
    add_chunk(f, "default", d2, NULL, 0, NULL, "an english text");
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10, .snippets = true, .hl_open = "[", .hl_close = "]"};
    assert_int_equal(store_search(st, &c, "数据库", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_true(h[0].score > 0);
    assert_int_equal(h[0].document_id, d);
    assert_non_null(strstr(h[0].snippet, "["));
    free_hits(h, n);
    collection_row_release(&c);
}

/* ---- Filters, grouping, snippets ------------------------------------------------------------ */

static size_t filtered(struct fx *f, const char *key, const char **values, size_t n_values)
{
    struct store_filter flt = {.key = key, .values = values, .n_values = n_values};
    struct store_search_opts o = {.k = 10, .filters = &flt, .n_filters = 1};
    struct store_hit *h = NULL;
    size_t n = 0;
    frugal_status rc = search(f, "default", "report", &o, &h, &n);
    if (rc != FRUGAL_OK)
        fail_msg("filter %s: %s", key, f->err.msg);
    free_hits(h, n);
    return n;
}

static void test_filters(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    int64_t d1 = add_doc(f, c.id, "a", NULL,
                         "{\"lang\":\"en\",\"tags\":[\"x\",\"y\"],\"year\":2020,\"draft\":true,"
                         "\"a.b\":\"dotted\",\"score\":1.5}");
    int64_t d2 = add_doc(f, c.id, "b", NULL,
                         "{\"lang\":\"fr\",\"tags\":[\"y\",\"z\"],\"year\":2021,\"draft\":false}");
    int64_t d3 = add_doc(f, c.id, "c", NULL, NULL);
    add_chunk(f, "default", d1, NULL, 0, NULL, "annual report one");
    add_chunk(f, "default", d2, NULL, 0, NULL, "annual report two");
    add_chunk(f, "default", d3, NULL, 0, NULL, "annual report three");
    assert_int_equal(filtered(f, "lang", (const char *[]){"en"}, 1), 1);
    assert_int_equal(filtered(f, "lang", (const char *[]){"de", "en", "fr"}, 3), 2);
    assert_int_equal(filtered(f, "tags", (const char *[]){"y"}, 1), 2);
    assert_int_equal(filtered(f, "tags", (const char *[]){"z"}, 1), 1);
    assert_int_equal(filtered(f, "year", (const char *[]){"2020"}, 1), 1);
    assert_int_equal(filtered(f, "year", (const char *[]){"2020", "2021"}, 2), 2);
    assert_int_equal(filtered(f, "draft", (const char *[]){"true"}, 1), 1);
    assert_int_equal(filtered(f, "draft", (const char *[]){"false"}, 1), 1);
    assert_int_equal(filtered(f, "score", (const char *[]){"1.5"}, 1), 1);
    assert_int_equal(filtered(f, "a.b", (const char *[]){"dotted"}, 1), 1);
    assert_int_equal(filtered(f, "missing", (const char *[]){"x"}, 1), 0);
    assert_int_equal(filtered(f, "it's", (const char *[]){"x"}, 1), 0);

    /* Two filters AND together. */
    struct store_filter two[2] = {{.key = "tags", .values = (const char *[]){"y"}, .n_values = 1},
                                  {.key = "lang", .values = (const char *[]){"fr"}, .n_values = 1}};
    struct store_search_opts o = {.k = 10, .filters = two, .n_filters = 2};
    struct store_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(search(f, "default", "report", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].document_id, d2);
    free_hits(h, n);

    const char *bad_keys[] = {"a\"b", "tab\tkey", "nl\n", NULL};
    for (int i = 0; bad_keys[i] != NULL; i++) {
        struct store_filter flt = {.key = bad_keys[i], .values = (const char *[]){"x"},
                                   .n_values = 1};
        o.filters = &flt;
        o.n_filters = 1;
        assert_int_equal(search(f, "default", "report", &o, &h, &n), FRUGAL_EINVAL);
    }
    collection_row_release(&c);
}

static void test_group_by_document(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    int64_t d1 = add_doc(f, c.id, "one", NULL, NULL);
    int64_t d2 = add_doc(f, c.id, "two", NULL, NULL);
    int64_t a = add_chunk(f, "default", d1, NULL, 0, NULL, "kiwi");
    int64_t b = add_chunk(f, "default", d1, NULL, 1, NULL, "kiwi kiwi kiwi");
    int64_t b2 = add_chunk(f, "default", d1, NULL, 2, NULL, "kiwi kiwi kiwi");
    int64_t x = add_chunk(f, "default", d2, NULL, 0, NULL, "kiwi mango papaya guava lime");
    int64_t y = add_chunk(f, "default", d2, NULL, 1, NULL, "kiwi mango papaya guava lime");
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(store_search(st, &c, "kiwi", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(h[0].chunk_id, b); /* tie with b2: lower id first */
    assert_int_equal(h[1].chunk_id, b2);
    free_hits(h, n);
    o.group_by_document = true;
    assert_int_equal(store_search(st, &c, "kiwi", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].chunk_id, b);
    assert_int_equal(h[0].document_id, d1);
    assert_int_equal(h[1].chunk_id, x);
    assert_int_equal(h[1].document_id, d2);
    assert_int_equal(h[1].ordinal, 0);
    free_hits(h, n);
    o.k = 1;
    assert_int_equal(store_search(st, &c, "kiwi", &o, &h, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 1);
    free_hits(h, n);
    (void)a;
    (void)y;
    collection_row_release(&c);
}

static void test_snippets(void **state)
{
    struct fx *f = *state;
    open_store(f);
    struct collection_row c;
    assert_int_equal(store_collection_get(f->st, "default", &c, &f->err), FRUGAL_OK);
    int64_t d = add_doc(f, c.id, "s", "Zebra facts", NULL);
    add_chunk(f, "default", d, "Zebra facts", 0, NULL,
              "The quick brown fox jumps over the lazy dog. Foxes are clever animals.");
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10, .snippets = true, .hl_open = "<<", .hl_close = ">>"};
    assert_int_equal(search(f, "default", "fox", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_non_null(strstr(h[0].snippet, "<<fox>>"));
    assert_non_null(strstr(h[0].snippet, "<<Foxes>>"));
    free_hits(h, n);
    /* A title-only match: the snippet falls back to the start of the text. */
    assert_int_equal(search(f, "default", "zebra", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_null(strstr(h[0].snippet, "<<"));
    assert_true(strncmp(h[0].snippet, "The quick brown", 15) == 0);
    free_hits(h, n);
    collection_row_release(&c);
}

/* ---- Deletion, generations, transactions ---------------------------------------------------- */

static void test_delete_document(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t cid = make_collection(f, "del", NULL, NULL);
    int64_t d1 = add_doc(f, cid, "1", "T", NULL);
    int64_t d2 = add_doc(f, cid, "2", "T", NULL);
    add_chunk(f, "del", d1, "T", 0, "H", "walrus one");
    add_chunk(f, "del", d1, "T", 1, "H", "walrus two");
    add_chunk(f, "del", d2, "T", 0, "H", "walrus three");
    assert_int_equal(count_fts(st, cid), 3);
    assert_int_equal(store_document_delete(st, d1, &f->err), FRUGAL_OK);
    assert_int_equal(count_fts(st, cid), 1);
    assert_int_equal(int_query(st, "SELECT count(*) FROM chunks"), 1);
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(search(f, "del", "walrus", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].document_id, d2);
    free_hits(h, n);
    /* A cascade from a plain SQL delete cleans up the index too. */
    char sql[64];
    snprintf(sql, sizeof sql, "DELETE FROM documents WHERE id = %lld", (long long)d2);
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(count_fts(st, cid), 0);
    assert_int_equal(int_query(st, "SELECT count(*) FROM chunks"), 0);
}

static void test_delete_collection(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t keep = make_collection(f, "keep", NULL, NULL);
    int64_t cid = make_collection(f, "gone", NULL, NULL);
    int64_t d = add_doc(f, cid, "1", NULL, NULL);
    int64_t k = add_doc(f, keep, "1", NULL, NULL);
    add_chunk(f, "gone", d, NULL, 0, NULL, "narwhal");
    add_chunk(f, "keep", k, NULL, 0, NULL, "narwhal");
    assert_int_equal(store_collection_delete(st, "gone", &f->err), FRUGAL_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'fts_%lld%%'",
             (long long)cid);
    assert_int_equal(int_query(st, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM chunks WHERE collection_id = %lld",
             (long long)cid);
    assert_int_equal(int_query(st, sql), 0);
    assert_int_equal(int_query(st, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count_fts(st, keep), 1);
    struct store_hit *h = NULL;
    size_t n = 0;
    struct store_search_opts o = {.k = 10};
    assert_int_equal(search(f, "keep", "narwhal", &o, &h, &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    free_hits(h, n);
}

static void test_generation_and_rollback(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    int64_t g = store_generation(st);
    int64_t cid = make_collection(f, "gen", NULL, NULL);
    assert_int_equal(store_generation(st), g + 1);
    assert_int_equal(store_begin(st, &f->err), FRUGAL_OK);
    assert_int_equal(store_begin(st, &f->err), FRUGAL_EINVAL);
    int64_t d = add_doc(f, cid, "1", NULL, NULL);
    add_chunk(f, "gen", d, NULL, 0, NULL, "okapi one");
    add_chunk(f, "gen", d, NULL, 1, NULL, "okapi two");
    assert_int_equal(store_commit(st, &f->err), FRUGAL_OK);
    assert_int_equal(store_generation(st), g + 2);
    assert_int_equal(store_begin(st, &f->err), FRUGAL_OK); /* no writes: no bump */
    assert_int_equal(store_commit(st, &f->err), FRUGAL_OK);
    assert_int_equal(store_generation(st), g + 2);
    assert_int_equal(store_commit(st, &f->err), FRUGAL_EINVAL);

    /* A failed call inside a transaction undoes only itself. */
    assert_int_equal(store_begin(st, &f->err), FRUGAL_OK);
    int64_t d2 = add_doc(f, cid, "2", NULL, NULL);
    struct document_row dup = {.collection_id = cid, .source = "2"};
    assert_int_equal(store_document_insert(st, &dup, &f->err), FRUGAL_EEXIST);
    add_chunk(f, "gen", d2, NULL, 0, NULL, "okapi three");
    assert_int_equal(store_commit(st, &f->err), FRUGAL_OK);
    assert_int_equal(store_generation(st), g + 3);
    assert_int_equal(count_fts(st, cid), 3);

    /* Rollback leaves nothing. */
    assert_int_equal(store_begin(st, &f->err), FRUGAL_OK);
    int64_t d3 = add_doc(f, cid, "3", NULL, NULL);
    add_chunk(f, "gen", d3, NULL, 0, NULL, "okapi four");
    store_collection_delete(st, "default", &f->err);
    store_rollback(st);
    assert_int_equal(store_generation(st), g + 3);
    assert_int_equal(count_fts(st, cid), 3);
    assert_int_equal(int_query(st, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(int_query(st, "SELECT count(*) FROM chunks"), 3);
    struct collection_row c;
    assert_int_equal(store_collection_get(st, "default", &c, &f->err), FRUGAL_OK);
    collection_row_release(&c);
    struct document_row out;
    assert_int_equal(store_document_find(st, cid, "3", &out, &f->err), FRUGAL_ENOTFOUND);
}

static void test_two_connections(void **state)
{
    struct fx *f = *state;
    struct store *a = open_store(f);
    struct store *b = NULL;
    struct store_opts quick = {.busy_timeout_ms = 0};
    assert_int_equal(store_open(f->path, &quick, &b, &f->err), FRUGAL_OK);
    int64_t g = store_generation(b);
    assert_int_equal(store_begin(a, &f->err), FRUGAL_OK);
    make_collection(f, "writer", NULL, NULL);
    /* A reader runs beside the writer and sees the last commit; a second writer is told. */
    struct collection_row c;
    assert_int_equal(store_collection_get(b, "writer", &c, &f->err), FRUGAL_ENOTFOUND);
    assert_int_equal(store_begin(b, &f->err), FRUGAL_EBUSY);
    struct collection_row n = {.name = "other", .k1 = 1, .b = 0.5};
    assert_int_equal(store_collection_create(b, &n, NULL, &f->err), FRUGAL_EBUSY);
    assert_int_equal(store_commit(a, &f->err), FRUGAL_OK);
    assert_int_equal(store_generation(b), g + 1);
    assert_int_equal(store_collection_get(b, "writer", &c, &f->err), FRUGAL_OK);
    collection_row_release(&c);
    assert_int_equal(store_collection_create(b, &n, NULL, &f->err), FRUGAL_OK);
    assert_int_equal(store_collection_get(a, "other", &c, &f->err), FRUGAL_OK);
    collection_row_release(&c);
    store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_fail_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bm25_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_syntax_harmless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cjk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snippets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_collection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
