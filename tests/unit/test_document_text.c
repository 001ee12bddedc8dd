/* test_document_text.c - frugal_document_text (frugal.h, Documents): the extracted text that
 * citations' offsets point into, by id, limited to a collection, and ENOTFOUND for another
 * collection's document or an unknown id. */
#include "testutil.h"

#include <unistd.h>

static char g_dir[64];
static char g_path[128];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-doctext-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_path, sizeof g_path, "%s/d.db", g_dir);
    frugal_db *db = NULL;
    if (frugal_open(g_path, NULL, &db) != FRUGAL_OK) {
        frugal_close(db);
        return -1;
    }
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    char cmd[200];
    frugal_close(*state);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Ingests text as `name` into collection and returns its document id. */
static int64_t ingest(frugal_db *db, const char *collection, const char *name, const char *text)
{
    frugal_ingest_params p;
    frugal_ingest_default_params(&p);
    p.collection = collection;
    frugal_ingest_report r;
    assert_int_equal(frugal_ingest_buffer(db, name, text, strlen(text), &p, &r), FRUGAL_OK);
    frugal_document_info *docs = NULL;
    size_t n = 0;
    assert_int_equal(frugal_document_list(db, collection, 0, 0, &docs, &n), FRUGAL_OK);
    int64_t id = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(docs[i].source, name) == 0)
            id = docs[i].id;
    }
    frugal_document_list_free(docs, n);
    assert_true(id > 0);
    return id;
}

static void test_text_by_id(void **state)
{
    frugal_db *db = *state;
    assert_int_equal(frugal_collection_create(db, "other", NULL), FRUGAL_OK);
    int64_t a = ingest(db, "default", "a.md", "# Title\n\nCaf\xc3\xa9 au lait is served hot.\n");
    int64_t b = ingest(db, "other", "b.txt", "Secret text of the other collection.\n");

    char *text = NULL;
    size_t len = 0;
    assert_int_equal(frugal_document_text(db, "default", a, &text, &len), FRUGAL_OK);
    assert_non_null(strstr(text, "Caf\xc3\xa9 au lait is served hot."));
    assert_int_equal(len, strlen(text));
    frugal_free(text);

    assert_int_equal(frugal_document_text(db, NULL, b, &text, NULL), FRUGAL_OK);
    assert_non_null(strstr(text, "Secret text"));
    frugal_free(text);

    /* Another collection's document is not found through this one, nor an unknown id. */
    assert_int_equal(frugal_document_text(db, "default", b, &text, &len), FRUGAL_ENOTFOUND);
    assert_null(text);
    assert_int_equal(len, 0);
    assert_non_null(strstr(frugal_errmsg(db), "no document"));
    assert_int_equal(frugal_document_text(db, NULL, 999999, &text, NULL), FRUGAL_ENOTFOUND);
    assert_null(text);
    assert_int_equal(frugal_document_text(db, "nope", a, &text, NULL), FRUGAL_ENOTFOUND);
    assert_null(text);

    /* Gone once deleted. */
    assert_int_equal(frugal_document_delete(db, "default", a), FRUGAL_OK);
    assert_int_equal(frugal_document_text(db, "default", a, &text, NULL), FRUGAL_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_by_id, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
