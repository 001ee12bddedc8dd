/* test_dense.c - dense retrieval end to end through the public API, with a tiny deterministic
 * embedder of our own (words hashed into 32 dimensions) plugged in through
 * frugal_embedder_vtable: ingestion stores vectors, dense search, deletes and sync, the index
 * file rebuilt when missing, corrupt or stale, a mismatched embedder refused, kill -9; and the
 * index files' paths (index_file.c), out of memory included. */
#define _GNU_SOURCE
#include "testutil.h"

#include "base/alloc.h"
#include "query/dense.h"
#include "query/keyword.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HASH_DIM 32

static char g_dir[256];
static char g_db[300];
static char g_vec[340];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-dense-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    unsetenv("FRUGAL_DENSE_FLAT_MAX");
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    unsetenv("FRUGAL_DENSE_FLAT_MAX");
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- The test embedder: each lowercase ASCII word adds 1 to dimension hash(word) % dim ---- */

struct hash_emb {
    size_t dim;
    const char *name;
    int fail; /* nonzero: embed fails */
};

static frugal_status hash_embed(void *self, const char *const *texts, size_t n, float *out,
                                char *errbuf, size_t errbuf_size)
{
    struct hash_emb *h = self;
    if (h->fail) {
        snprintf(errbuf, errbuf_size, "told to fail");
        return FRUGAL_EIO;
    }
    for (size_t i = 0; i < n; i++) {
        float *v = out + i * h->dim;
        memset(v, 0, h->dim * sizeof *v);
        const char *p = texts[i];
        while (*p != '\0') {
            while (*p != '\0' && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                p++;
            uint32_t x = 2166136261u;
            size_t len = 0;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
                x = (x ^ (uint32_t)(*p | 0x20)) * 16777619u;
                p++;
                len++;
            }
            if (len > 0)
                v[x % h->dim] += 1.0f;
        }
        v[0] += 0.01f; /* never the zero vector */
    }
    return FRUGAL_OK;
}

static size_t hash_dim(const void *self)
{
    return ((const struct hash_emb *)self)->dim;
}

static const char *hash_name(const void *self)
{
    return ((const struct hash_emb *)self)->name;
}

static const frugal_embedder_vtable hash_vt = {
    .embed = hash_embed, .dim = hash_dim, .name = hash_name, .free = NULL, .max_batch = NULL};

static struct hash_emb g_hash32 = {HASH_DIM, "hash32", 0};

static frugal_embedder *hash_embedder(struct hash_emb *h)
{
    frugal_embedder *e = NULL;
    frugal_status rc = frugal_embedder_new(&hash_vt, h, &e);
    if (rc != FRUGAL_OK)
        fail_msg("embedder: %s", frugal_embedder_errmsg(e));
    return e;
}

/* Opens the db, makes collection "c" with the custom embedder when missing, attaches e. */
static frugal_db *open_dense(frugal_embedder *e)
{
    frugal_db *db = NULL;
    if (frugal_open(g_db, NULL, &db) != FRUGAL_OK)
        fail_msg("open: %s", frugal_errmsg(db));
    frugal_collection_params cp;
    frugal_collection_default_params(&cp);
    cp.embedder = "custom:hash32";
    frugal_status rc = frugal_collection_create(db, "c", &cp);
    assert_true(rc == FRUGAL_OK || rc == FRUGAL_EEXIST);
    rc = frugal_use_embedder(db, "c", e);
    if (rc != FRUGAL_OK)
        fail_msg("use embedder: %s", frugal_errmsg(db));
    return db;
}

static long long count_rows(const char *sql)
{
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(g_db, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return n;
}

static void ingest(frugal_db *db, const char *name, const char *text)
{
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "c";
    frugal_ingest_report rep;
    if (frugal_ingest_buffer(db, name, text, strlen(text), &ip, &rep) != FRUGAL_OK)
        fail_msg("ingest: %s", frugal_errmsg(db));
    assert_int_equal(rep.failed, 0);
}

static frugal_results *dense(frugal_db *db, const char *query, size_t k, bool group)
{
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = "c";
    sp.mode = FRUGAL_SEARCH_DENSE;
    sp.k = k;
    sp.group_by_document = group;
    frugal_results *res = NULL;
    if (frugal_search(db, query, &sp, &res) != FRUGAL_OK)
        fail_msg("search: %s", frugal_errmsg(db));
    return res;
}

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *const docs[][2] = {
    {"fruit.txt", "apple banana cherry mango papaya fruit salad"},
    {"cars.txt", "engine wheel gearbox brake clutch motor"},
    {"sea.txt", "ocean wave tide coral reef whale"},
    {"space.txt", "planet orbit rocket comet galaxy star"},
};

static void test_ingest_and_search(void **state)
{
    frugal_embedder *e = hash_embedder(&g_hash32);
    assert_int_equal(frugal_embedder_dim(e), HASH_DIM);
    assert_string_equal(frugal_embedder_name(e), "hash32");
    frugal_db *db = open_dense(e);
    for (size_t i = 0; i < 4; i++)
        ingest(db, docs[i][0], docs[i][1]);
    assert_int_equal(count_rows("SELECT count(*) FROM chunk_vectors"), 4);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks c LEFT JOIN chunk_vectors v ON "
                                "v.chunk_id = c.id WHERE v.chunk_id IS NULL"),
                     0);
    assert_int_equal(count_rows("SELECT embedder_dim FROM collections WHERE name = 'c'"),
                     HASH_DIM);
    frugal_results *res = dense(db, "whale coral", 3, false);
    assert_int_equal(res->n_hits, 3);
    assert_string_equal(res->hits[0].source, "sea.txt");
    assert_true(res->hits[0].score > res->hits[1].score);
    assert_true(res->hits[0].score <= 1.0 + 1e-6 && res->hits[0].score > 0.3);
    assert_non_null(res->hits[0].snippet);
    frugal_results_free(res);
    res = dense(db, "rocket galaxy", 10, true);
    assert_int_equal(res->n_hits, 4);
    assert_string_equal(res->hits[0].source, "space.txt");
    frugal_results_free(res);
    /* a collection without an embedder refuses dense search with a message */
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.mode = FRUGAL_SEARCH_DENSE;
    assert_int_equal(frugal_search(db, "x", &sp, &res), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "no embedder"));
    frugal_close(db);
    frugal_embedder_free(e);
}

static void test_filter(void **state)
{
    frugal_embedder *e = hash_embedder(&g_hash32);
    frugal_db *db = open_dense(e);
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "c";
    ip.metadata_json = "{\"lang\":\"en\"}";
    assert_int_equal(frugal_ingest_buffer(db, "a.txt", "ocean wave", 10, &ip, NULL), FRUGAL_OK);
    ip.metadata_json = "{\"lang\":\"fr\"}";
    assert_int_equal(frugal_ingest_buffer(db, "b.txt", "ocean tide", 10, &ip, NULL), FRUGAL_OK);
    const char *fr[] = {"fr"};
    frugal_filter f = {.key = "lang", .values = fr, .n_values = 1};
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = "c";
    sp.mode = FRUGAL_SEARCH_DENSE;
    sp.filters = &f;
    sp.n_filters = 1;
    frugal_results *res = NULL;
    assert_int_equal(frugal_search(db, "ocean wave", &sp, &res), FRUGAL_OK);
    assert_int_equal(res->n_hits, 1);
    assert_string_equal(res->hits[0].source, "b.txt");
    frugal_results_free(res);
    frugal_close(db);
    frugal_embedder_free(e);
}

/* No hit may name a chunk that is gone, and every chunk has exactly one vector. */
static void check_consistent(frugal_db *db)
{
    assert_int_equal(count_rows("SELECT count(*) FROM chunk_vectors"),
                     count_rows("SELECT count(*) FROM chunks"));
    frugal_results *res = dense(db, "ocean apple engine planet", 100, false);
    for (size_t i = 0; i < res->n_hits; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM chunks WHERE id = %lld",
                 (long long)res->hits[i].chunk_id);
        assert_int_equal(count_rows(sql), 1);
    }
    assert_int_equal((long long)res->n_hits, count_rows("SELECT count(*) FROM chunks"));
    frugal_results_free(res);
}

static void run_delete_sync(void)
{
    frugal_embedder *e = hash_embedder(&g_hash32);
    frugal_db *db = open_dense(e);
    for (size_t i = 0; i < 4; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "docs/%s", docs[i][0]);
        write_file(rel, docs[i][1]);
    }
    char dir[300];
    snprintf(dir, sizeof dir, "%s/docs", g_dir);
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "c";
    assert_int_equal(frugal_sync(db, dir, &ip, NULL), FRUGAL_OK);
    check_consistent(db);
    /* search builds the index; now remove a file and sync */
    char path[400];
    snprintf(path, sizeof path, "%s/docs/sea.txt", g_dir);
    assert_int_equal(unlink(path), 0);
    frugal_ingest_report rep;
    assert_int_equal(frugal_sync(db, dir, &ip, &rep), FRUGAL_OK);
    assert_int_equal(rep.deleted, 1);
    check_consistent(db);
    frugal_results *res = dense(db, "whale coral ocean", 10, false);
    for (size_t i = 0; i < res->n_hits; i++)
        assert_null(strstr(res->hits[i].source, "sea.txt"));
    frugal_results_free(res);
    /* an update replaces the vector; a delete by source removes it */
    write_file("docs/cars.txt", "whale whale coral reef");
    assert_int_equal(frugal_sync(db, dir, &ip, &rep), FRUGAL_OK);
    assert_int_equal(rep.updated, 1);
    res = dense(db, "whale coral", 1, false);
    assert_non_null(strstr(res->hits[0].source, "cars.txt"));
    frugal_results_free(res);
    snprintf(path, sizeof path, "%s/docs/fruit.txt", g_dir);
    assert_int_equal(frugal_document_delete_source(db, "c", path, NULL), FRUGAL_OK);
    check_consistent(db);
    frugal_close(db);
    /* a fresh handle (index from the file, or rebuilt) agrees */
    db = open_dense(e);
    check_consistent(db);
    frugal_close(db);
    frugal_embedder_free(e);
}

static void test_delete_sync_flat(void **state)
{
    run_delete_sync();
}

static void test_delete_sync_hnsw(void **state)
{
    setenv("FRUGAL_DENSE_FLAT_MAX", "0", 1);
    run_delete_sync();
    snprintf(g_vec, sizeof g_vec, "%s.vec/2.hnsw", g_db);
    struct stat sb;
    assert_int_equal(stat(g_vec, &sb), 0);
}

static void test_index_file_rebuilt(void **state)
{
    setenv("FRUGAL_DENSE_FLAT_MAX", "0", 1);
    frugal_embedder *e = hash_embedder(&g_hash32);
    frugal_db *db = open_dense(e);
    for (size_t i = 0; i < 4; i++)
        ingest(db, docs[i][0], docs[i][1]);
    frugal_results *res = dense(db, "comet orbit", 1, false);
    assert_string_equal(res->hits[0].source, "space.txt");
    frugal_results_free(res);
    frugal_close(db);
    snprintf(g_vec, sizeof g_vec, "%s.vec/2.hnsw", g_db);
    struct stat sb;
    assert_int_equal(stat(g_vec, &sb), 0);

    /* corrupt: flip bytes in the middle */
    FILE *f = fopen(g_vec, "r+b");
    assert_non_null(f);
    fseek(f, (long)sb.st_size / 2, SEEK_SET);
    fputs("garbage!", f);
    fclose(f);
    db = open_dense(e);
    res = dense(db, "comet orbit", 1, false);
    assert_string_equal(res->hits[0].source, "space.txt");
    frugal_results_free(res);
    frugal_close(db);

    /* missing */
    assert_int_equal(unlink(g_vec), 0);
    db = open_dense(e);
    res = dense(db, "tide reef", 1, false);
    assert_string_equal(res->hits[0].source, "sea.txt");
    frugal_results_free(res);
    assert_int_equal(stat(g_vec, &sb), 0);

    /* stale: another handle writes; this one catches up, and a new handle too */
    frugal_db *other = open_dense(e);
    ingest(other, "birds.txt", "eagle falcon sparrow owl");
    frugal_close(other);
    res = dense(db, "eagle owl", 1, false);
    assert_string_equal(res->hits[0].source, "birds.txt");
    frugal_results_free(res);
    frugal_close(db);
    /* truncated */
    assert_int_equal(truncate(g_vec, 100), 0);
    db = open_dense(e);
    res = dense(db, "sparrow falcon", 1, false);
    assert_string_equal(res->hits[0].source, "birds.txt");
    frugal_results_free(res);
    frugal_close(db);
    frugal_embedder_free(e);
}

static void test_mismatch_refused(void **state)
{
    frugal_embedder *e = hash_embedder(&g_hash32);
    frugal_db *db = open_dense(e);
    ingest(db, "a.txt", "ocean wave");
    struct hash_emb h16 = {16, "hash32", 0};
    frugal_embedder *e16 = hash_embedder(&h16);
    assert_int_equal(frugal_use_embedder(db, "c", e16), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "does not match"));
    struct hash_emb other = {HASH_DIM, "other", 0};
    frugal_embedder *eo = hash_embedder(&other);
    assert_int_equal(frugal_use_embedder(db, "c", eo), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "hash32"));
    /* a collection with chunks cannot get an embedder afterwards */
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "plain";
    assert_int_equal(frugal_ingest_buffer(db, "p.txt", "plain text", 10, &ip, NULL), FRUGAL_OK);
    assert_int_equal(frugal_collection_set_embedder(db, "plain", "custom:hash32", NULL),
                     FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "chunks without vectors"));
    /* an empty one can */
    assert_int_equal(frugal_collection_create(db, "empty", NULL), FRUGAL_OK);
    assert_int_equal(frugal_collection_set_embedder(db, "empty", "custom:hash32", "f16"),
                     FRUGAL_OK);
    /* bad specs and vector types */
    frugal_collection_params cp;
    frugal_collection_default_params(&cp);
    cp.embedder = "nonsense";
    assert_int_equal(frugal_collection_create(db, "bad", &cp), FRUGAL_EINVAL);
    cp.embedder = "custom:x";
    cp.vector_type = "f64";
    assert_int_equal(frugal_collection_create(db, "bad", &cp), FRUGAL_EINVAL);
    /* a custom spec with nothing attached fails with a message at ingestion */
    frugal_close(db);
    frugal_open(g_db, NULL, &db);
    ip.collection = "c";
    assert_int_equal(frugal_ingest_buffer(db, "b.txt", "x y", 3, &ip, NULL), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "frugal_use_embedder"));
    /* an embedder that fails: the document fails, nothing is stored without a vector */
    struct hash_emb failing = {HASH_DIM, "hash32", 1};
    frugal_embedder *ef = hash_embedder(&failing);
    assert_int_equal(frugal_use_embedder(db, "c", ef), FRUGAL_OK);
    frugal_ingest_report rep;
    assert_int_equal(frugal_ingest_buffer(db, "b.txt", "x y", 3, &ip, &rep), FRUGAL_OK);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks WHERE collection_id = 2"),
                     count_rows("SELECT count(*) FROM chunk_vectors"));
    frugal_close(db);
    frugal_embedder_free(ef);
    frugal_embedder_free(e16);
    frugal_embedder_free(eo);
    frugal_embedder_free(e);
    /* the public constructors report their failures on the handle */
    frugal_embedder *bad = NULL;
    assert_int_equal(frugal_embedder_open_spec("glove:/nonexistent.fsv", &bad), FRUGAL_ENOTFOUND);
    assert_non_null(strstr(frugal_embedder_errmsg(bad), "nonexistent"));
    frugal_embedder_free(bad);
    assert_int_equal(frugal_embedder_open_spec("custom:x", &bad), FRUGAL_EINVAL);
    frugal_embedder_free(bad);
}

static void test_kill9_consistent(void **state)
{
    frugal_embedder *e = hash_embedder(&g_hash32);
    frugal_db *db = open_dense(e);
    frugal_close(db);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        db = open_dense(e);
        for (int i = 0;; i++) {
            char name[32];
            char text[256];
            snprintf(name, sizeof name, "d%d.txt", i);
            snprintf(text, sizeof text, "ocean wave %d apple banana %d engine motor %d", i, i * 7,
                     i * 13);
            frugal_ingest_buffer(db, name, text, strlen(text), NULL, NULL);
            frugal_ingest_params ip;
            frugal_ingest_default_params(&ip);
            ip.collection = "c";
            frugal_ingest_buffer(db, name, text, strlen(text), &ip, NULL);
            if (i % 5 == 4) {
                snprintf(name, sizeof name, "d%d.txt", i - 2);
                frugal_document_delete_source(db, "c", name, NULL);
            }
        }
    }
    usleep(400 * 1000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(count_rows("SELECT count(*) FROM chunks WHERE collection_id = 2") > 0);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks c LEFT JOIN chunk_vectors v ON "
                                "v.chunk_id = c.id WHERE c.collection_id = 2 AND v.chunk_id IS "
                                "NULL"),
                     0);
    assert_int_equal(count_rows("SELECT count(*) FROM chunk_vectors v LEFT JOIN chunks c ON "
                                "c.id = v.chunk_id WHERE c.id IS NULL"),
                     0);
    db = open_dense(e);
    frugal_results *res = dense(db, "ocean wave", 5, true);
    assert_true(res->n_hits > 0);
    frugal_results_free(res);
    frugal_close(db);
    frugal_embedder_free(e);
}

/* Index file paths: beside a file database, none for an in-memory one, and running out of
 * memory is an error, not "no file" (which would silently keep the index in memory only). */
static void test_index_file_paths(void **state)
{
    (void)state;
    char *path = NULL;
    assert_int_equal(dense_index_path("/data/a.db", 7, &path), FRUGAL_OK);
    assert_string_equal(path, "/data/a.db.vec/7.hnsw");
    frugal_free(path);
    assert_int_equal(keyword_index_path("/data/a.db", 7, &path), FRUGAL_OK);
    assert_string_equal(path, "/data/a.db.bm25/7.idx");
    frugal_free(path);
    static const char *const none[] = {":memory:", "", "file:x.db?mode=memory"};
    for (size_t i = 0; i < 3; i++) {
        path = (char *)1;
        assert_int_equal(keyword_index_path(none[i], 1, &path), FRUGAL_OK);
        assert_null(path);
    }
    assert_int_equal(dense_index_path(NULL, 1, &path), FRUGAL_OK);
    assert_null(path);
    alloc_fail_after(0);
    frugal_status rc = dense_index_path("/data/a.db", 7, &path);
    alloc_fail_after(-1);
    assert_int_equal(rc, FRUGAL_ENOMEM);
    assert_null(path);
    struct keyword_index *ki = NULL;
    struct err e;
    err_clear(&e);
    for (long n = 0;; n++) {
        alloc_fail_after(n);
        rc = keyword_open("/data/a.db", false, 7, &ki, &e);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK)
            break;
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_null(ki);
        assert_true(n < 10);
    }
    keyword_close(ki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_file_paths),
        cmocka_unit_test_setup_teardown(test_ingest_and_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_sync_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_sync_hnsw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_file_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_consistent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
