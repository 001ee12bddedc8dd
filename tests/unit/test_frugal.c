/* test_frugal.c - the public API end to end: ingest, sync, delete, search, errors, faults. */
#define _GNU_SOURCE
#include "testutil.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

static char g_dir[256];
static char g_db[300];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-test-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
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

static frugal_db *open_db(void)
{
    frugal_db *db = NULL;
    frugal_status rc = frugal_open(g_db, NULL, &db);
    if (rc != FRUGAL_OK)
        fail_msg("open: %s", frugal_errmsg(db));
    return db;
}

/* Runs one SQL counting query on the database file directly. */
static long long count_rows(const char *sql)
{
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(g_db, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return n;
}

static size_t hits_for(frugal_db *db, const char *query, const char *must_contain_source)
{
    frugal_results *res = NULL;
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.k = 50;
    assert_int_equal(frugal_search(db, query, &sp, &res), FRUGAL_OK);
    size_t n = 0;
    for (size_t i = 0; i < res->n_hits; i++) {
        if (must_contain_source == NULL || strstr(res->hits[i].source, must_contain_source))
            n++;
    }
    frugal_results_free(res);
    return n;
}

static void test_ingest_buffer_and_search(void **state)
{
    frugal_db *db = open_db();
    const char *md = "# Gardening\n\n## Tomatoes\n\nTomatoes need full sun and deep watering.\n\n"
                     "## Roses\n\nPrune roses in early spring.\n";
    frugal_ingest_report rep;
    assert_int_equal(frugal_ingest_buffer(db, "garden.md", md, strlen(md), NULL, &rep),
                     FRUGAL_OK);
    assert_int_equal(rep.added, 1);
    assert_true(rep.chunks_written >= 2);
    frugal_results *res = NULL;
    assert_int_equal(frugal_search(db, "watering tomato", NULL, &res), FRUGAL_OK);
    assert_true(res->n_hits >= 1);
    assert_string_equal(res->hits[0].source, "garden.md");
    assert_non_null(strstr(res->hits[0].heading_path, "Tomatoes"));
    assert_non_null(strstr(res->hits[0].text, "full sun"));
    assert_non_null(strstr(res->hits[0].snippet, "[watering]"));
    assert_true(res->hits[0].score > 0.0);
    frugal_results_free(res);
    /* the same bytes again: unchanged */
    assert_int_equal(frugal_ingest_buffer(db, "garden.md", md, strlen(md), NULL, &rep),
                     FRUGAL_OK);
    assert_int_equal(rep.unchanged, 1);
    assert_int_equal(rep.added, 0);
    frugal_close(db);
}

static void test_sync_mirrors_folder(void **state)
{
    write_file("docs/a.md", "# Alpha\n\nThe aardvark eats ants at night.\n");
    write_file("docs/b.txt", "Bees make honey in hives.\n");
    write_file("docs/sub/c.html",
               "<html><head><title>Cats</title></head><body><p>Cats chase mice.</p></body></html>");
    write_file("docs/recs.jsonl", "{\"_id\":\"r1\",\"title\":\"Dolphins\",\"text\":\"Dolphins "
                                  "echolocate.\"}\n{\"_id\":\"r2\",\"title\":\"Eels\",\"text\":"
                                  "\"Electric eels stun prey.\"}\n");
    char docs[300];
    snprintf(docs, sizeof docs, "%s/docs", g_dir);
    frugal_db *db = open_db();
    frugal_ingest_report rep;
    assert_int_equal(frugal_sync(db, docs, NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.added, 5);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(hits_for(db, "aardvark", "a.md"), 1);
    assert_int_equal(hits_for(db, "echolocation", "#r1"), 1);

    /* change one, delete one file, drop one JSONL record */
    write_file("docs/a.md", "# Alpha\n\nThe armadillo digs burrows.\n");
    char path[400];
    snprintf(path, sizeof path, "%s/docs/b.txt", g_dir);
    assert_int_equal(unlink(path), 0);
    write_file("docs/recs.jsonl", "{\"_id\":\"r1\",\"title\":\"Dolphins\",\"text\":\"Dolphins "
                                  "echolocate.\"}\n");
    assert_int_equal(frugal_sync(db, docs, NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.updated, 1);
    assert_int_equal(rep.unchanged, 2);
    assert_int_equal(rep.deleted, 2);
    assert_int_equal(rep.added, 0);
    assert_int_equal(hits_for(db, "aardvark", NULL), 0);
    assert_int_equal(hits_for(db, "armadillo", "a.md"), 1);
    assert_int_equal(hits_for(db, "honey bees", NULL), 0);
    assert_int_equal(hits_for(db, "electric eels", NULL), 0);
    frugal_close(db);
    /* no stale rows anywhere */
    assert_int_equal(count_rows("SELECT count(*) FROM documents"), 3);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks WHERE document_id NOT IN "
                                "(SELECT id FROM documents)"), 0);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks c JOIN documents d ON "
                                "d.id = c.document_id WHERE c.text LIKE '%aardvark%'"), 0);
}

static void test_failed_update_keeps_old_version(void **state)
{
    write_file("keep/r.jsonl", "{\"_id\":\"x\",\"text\":\"Quokkas smile a lot.\"}\n");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/keep", g_dir);
    frugal_db *db = open_db();
    frugal_ingest_report rep;
    assert_int_equal(frugal_sync(db, dir, NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.added, 1);
    /* the file becomes corrupt: the record must survive the sync */
    write_file("keep/r.jsonl", "{\"_id\": \"x\", \"text\": \n");
    assert_int_equal(frugal_sync(db, dir, NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.deleted, 0);
    assert_int_equal(hits_for(db, "quokka", NULL), 1);
    frugal_close(db);
}

static void test_bad_inputs_reported(void **state)
{
    write_file("bad/empty.txt", "");
    write_file("bad/good.txt", "Wombats are marsupials.\n");
    char missing[300];
    char empty[300];
    char good[300];
    snprintf(missing, sizeof missing, "%s/bad/nope.txt", g_dir);
    snprintf(empty, sizeof empty, "%s/bad/empty.txt", g_dir);
    snprintf(good, sizeof good, "%s/bad/good.txt", g_dir);
    const char *paths[] = {missing, empty, good};
    frugal_db *db = open_db();
    frugal_ingest_report rep;
    assert_int_equal(frugal_ingest(db, paths, 3, NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.failed, 2);
    assert_int_equal(rep.added, 1);
    /* too big */
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.max_file_bytes = 4;
    assert_int_equal(frugal_ingest(db, &paths[2], 1, &ip, &rep), FRUGAL_OK);
    assert_int_equal(rep.failed, 1);
    /* bad metadata and bad chunk options are refused up front */
    ip.max_file_bytes = 0;
    ip.metadata_json = "[1,2]";
    assert_int_equal(frugal_ingest(db, &paths[2], 1, &ip, &rep), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "JSON object"));
    frugal_close(db);
}

static void test_metadata_filters_and_collections(void **state)
{
    frugal_db *db = open_db();
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.metadata_json = "{\"team\":\"red\",\"year\":2024}";
    const char *t1 = "Otters hold hands while sleeping.";
    assert_int_equal(frugal_ingest_buffer(db, "o1.txt", t1, strlen(t1), &ip, NULL), FRUGAL_OK);
    ip.metadata_json = "{\"team\":\"blue\",\"year\":2023}";
    const char *t2 = "Sea otters use rocks as tools.";
    assert_int_equal(frugal_ingest_buffer(db, "o2.txt", t2, strlen(t2), &ip, NULL), FRUGAL_OK);
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    const char *red[] = {"red"};
    frugal_filter f = {.key = "team", .values = red, .n_values = 1};
    sp.filters = &f;
    sp.n_filters = 1;
    frugal_results *res = NULL;
    assert_int_equal(frugal_search(db, "otters", &sp, &res), FRUGAL_OK);
    assert_int_equal(res->n_hits, 1);
    assert_string_equal(res->hits[0].source, "o1.txt");
    frugal_results_free(res);
    const char *years[] = {"2023", "2024"};
    frugal_filter fy = {.key = "year", .values = years, .n_values = 2};
    sp.filters = &fy;
    assert_int_equal(frugal_search(db, "otters", &sp, &res), FRUGAL_OK);
    assert_int_equal(res->n_hits, 2);
    frugal_results_free(res);

    /* a second collection is separate */
    assert_int_equal(frugal_collection_create(db, "other", NULL), FRUGAL_OK);
    assert_int_equal(frugal_collection_create(db, "other", NULL), FRUGAL_EEXIST);
    sp.n_filters = 0;
    sp.collection = "other";
    assert_int_equal(frugal_search(db, "otters", &sp, &res), FRUGAL_OK);
    assert_int_equal(res->n_hits, 0);
    frugal_results_free(res);
    sp.collection = "missing";
    assert_int_equal(frugal_search(db, "otters", &sp, &res), FRUGAL_ENOTFOUND);
    assert_null(res);
    frugal_collection_params cp;
    frugal_collection_default_params(&cp);
    cp.language = "klingon";
    assert_int_equal(frugal_collection_create(db, "k", &cp), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "klingon"));

    /* delete by source and by id */
    size_t n = 0;
    assert_int_equal(frugal_document_delete_source(db, NULL, "o1.txt", &n), FRUGAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(frugal_document_delete_source(db, NULL, "o1.txt", &n), FRUGAL_ENOTFOUND);
    frugal_document_info *docs = NULL;
    size_t n_docs = 0;
    assert_int_equal(frugal_document_list(db, NULL, 0, 0, &docs, &n_docs), FRUGAL_OK);
    assert_int_equal(n_docs, 1);
    int64_t id = docs[0].id;
    assert_int_equal(docs[0].n_chunks, 1);
    frugal_document_list_free(docs, n_docs);
    assert_int_equal(frugal_document_delete(db, "other", id), FRUGAL_ENOTFOUND);
    assert_int_equal(frugal_document_delete(db, NULL, id), FRUGAL_OK);
    assert_int_equal(frugal_document_delete(db, NULL, id), FRUGAL_ENOTFOUND);
    frugal_close(db);
    assert_int_equal(count_rows("SELECT count(*) FROM chunks"), 0);
}

/* A JSONL record with a title and no text is searchable by its title. */
static void test_title_only_record(void **state)
{
    frugal_db *db = open_db();
    const char *jl = "{\"_id\":\"t1\",\"title\":\"Narwhal tusks\",\"text\":\"\"}\n";
    frugal_ingest_report rep;
    assert_int_equal(frugal_ingest_buffer(db, "t.jsonl", jl, strlen(jl), NULL, &rep), FRUGAL_OK);
    assert_int_equal(rep.added, 1);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(hits_for(db, "narwhal", "t.jsonl#t1"), 1);
    frugal_close(db);
}

static void test_query_syntax_is_data(void **state)
{
    frugal_db *db = open_db();
    const char *t = "Parentheses (and quotes \"like these\") AND operators NEAR stars*.";
    assert_int_equal(frugal_ingest_buffer(db, "p.txt", t, strlen(t), NULL, NULL), FRUGAL_OK);
    const char *queries[] = {"\"", "AND", "NEAR(a b)", "*", "title:x", "(((", "a OR", "-x ^y",
                             "\x01\x02", "\"like these\"", ""};
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        frugal_results *res = NULL;
        frugal_status rc = frugal_search(db, queries[i], NULL, &res);
        if (rc != FRUGAL_OK)
            fail_msg("query '%s': %s", queries[i], frugal_errmsg(db));
        frugal_results_free(res);
    }
    assert_int_equal(hits_for(db, "\"like these\"", "p.txt"), 1);
    frugal_close(db);
}

/* Every allocation failure on the ingest and search paths fails cleanly (ASan finds leaks). */
static void test_allocation_failures(void **state)
{
    const char *md = "# T\n\nSome text about badgers.\n\n## S\n\nMore text about badgers.\n";
    int ok_at = -1;
    for (long n = 0; n < 5000 && ok_at < 0; n += 7) {
        char path[320];
        snprintf(path, sizeof path, "%s/f%ld.db", g_dir, n);
        frugal_db *db = NULL;
        alloc_fail_after(n);
        frugal_status rc = frugal_open(path, NULL, &db);
        if (rc == FRUGAL_OK)
            rc = frugal_ingest_buffer(db, "b.md", md, strlen(md), NULL, NULL);
        frugal_results *res = NULL;
        if (rc == FRUGAL_OK)
            rc = frugal_search(db, "badgers", NULL, &res);
        alloc_fail_after(-1);
        frugal_results_free(res);
        frugal_close(db);
        unlink(path);
        if (rc == FRUGAL_OK)
            ok_at = (int)n;
    }
    assert_true(ok_at > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_buffer_and_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_mirrors_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_update_keeps_old_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_filters_and_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_title_only_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_syntax_is_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests_name("frugal", tests, NULL, NULL);
}
