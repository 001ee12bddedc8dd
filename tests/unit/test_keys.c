/* test_keys.c - the API keys section of frugal.h (src/frugal_keys.c, src/store/store_keys.c):
 * creation shape, hashing, role and collection limits, revocation and listing. */
#include "testutil.h"

#include <sqlite3.h>
#include <unistd.h>

static char g_dir[64];
static char g_path[128];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-keys-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_path, sizeof g_path, "%s/k.db", g_dir);
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

static void test_create_check_revoke(void **state)
{
    frugal_db *db = *state;
    const char *colls[] = {"alpha", "beta"};
    char *key = NULL;
    int64_t id = 0;
    assert_int_equal(frugal_key_create(db, FRUGAL_KEY_WRITER, colls, 2, &key, &id), FRUGAL_OK);
    assert_int_equal(strlen(key), 35);
    assert_memory_equal(key, "fk_", 3);
    for (size_t i = 3; i < 35; i++)
        assert_true((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'z') ||
                    (key[i] >= 'A' && key[i] <= 'Z'));
    assert_true(id > 0);

    frugal_key_info info;
    assert_int_equal(frugal_key_check(db, key, &info), FRUGAL_OK);
    assert_int_equal(info.id, id);
    assert_int_equal(info.role, FRUGAL_KEY_WRITER);
    assert_int_equal(info.n_collections, 2);
    assert_true(frugal_key_allows(&info, "alpha"));
    assert_true(frugal_key_allows(&info, "beta"));
    assert_false(frugal_key_allows(&info, "gamma"));
    assert_false(frugal_key_allows(&info, "alph"));
    frugal_key_info_release(&info);

    /* Not the key itself in the database, and near misses are unknown. */
    sqlite3 *sq = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(g_path, &sq), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(sq, "SELECT count(*) FROM api_keys WHERE hash = ?1", -1,
                                        &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);
    sqlite3_close(sq);
    key[34] = key[34] == 'a' ? 'b' : 'a';
    assert_int_equal(frugal_key_check(db, key, &info), FRUGAL_ENOTFOUND);
    assert_int_equal(frugal_key_check(db, "", &info), FRUGAL_ENOTFOUND);
    key[34] = key[34] == 'a' ? 'b' : 'a';

    assert_int_equal(frugal_key_revoke(db, id), FRUGAL_OK);
    assert_int_equal(frugal_key_check(db, key, &info), FRUGAL_ENOTFOUND);
    assert_int_equal(frugal_key_revoke(db, id), FRUGAL_ENOTFOUND);
    frugal_free(key);
}

static void test_list_and_unlimited(void **state)
{
    frugal_db *db = *state;
    char *a = NULL;
    char *b = NULL;
    assert_int_equal(frugal_key_create(db, FRUGAL_KEY_ADMIN, NULL, 0, &a, NULL), FRUGAL_OK);
    assert_int_equal(frugal_key_create(db, FRUGAL_KEY_READER, NULL, 0, &b, NULL), FRUGAL_OK);
    assert_string_not_equal(a, b);
    frugal_key_info info;
    assert_int_equal(frugal_key_check(db, a, &info), FRUGAL_OK);
    assert_int_equal(info.role, FRUGAL_KEY_ADMIN);
    assert_true(frugal_key_allows(&info, "anything"));
    frugal_key_info_release(&info);
    frugal_key_info *list = NULL;
    size_t n = 0;
    assert_int_equal(frugal_key_list(db, &list, &n), FRUGAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].role, FRUGAL_KEY_ADMIN);
    assert_int_equal(list[1].role, FRUGAL_KEY_READER);
    assert_int_equal(list[0].revoked_at, 0);
    frugal_key_list_free(list, n);
    frugal_free(a);
    frugal_free(b);
    char *c = NULL;
    assert_int_equal(frugal_key_create(db, (frugal_key_role)7, NULL, 0, &c, NULL), FRUGAL_EINVAL);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_check_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_unlimited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
