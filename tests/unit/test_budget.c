/* test_budget.c - persistent budgets (schema 6): the migration from a version 5 database keeps
 * its data, the store's set/get/charge/clear/list with lifetime, daily and monthly windows,
 * and the public API: two handles on one database see the same figures, which survive
 * reopening; key budgets need an existing key. The router's use of budgets (a spent budget
 * turns answers extractive) is tested end to end in test_router.c. */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "frugal_internal.h"
#include "store/store.h"

struct fx {
    char dir[64];
    char path[128];
    struct err err;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/frugal-budget-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/frugal.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static const char kiwi[] = "The kiwi is a flightless bird of New Zealand.\n";

/* A version 5 database with a document, a key and a cached answer's table: made by this
 * frugal, then taken back to version 5 (migrations are append-only, so version 5 is exactly
 * this schema without the budgets table). Opening it migrates to 6 and keeps everything. */
static void test_migration_from_v5(void **state)
{
    struct fx *f = *state;
    frugal_db *db = NULL;
    char *key = NULL;
    int64_t key_id = 0;
    assert_int_equal(frugal_open(f->path, NULL, &db), FRUGAL_OK);
    assert_int_equal(frugal_ingest_buffer(db, "kiwi.txt", kiwi, strlen(kiwi), NULL, NULL),
                     FRUGAL_OK);
    assert_int_equal(frugal_key_create(db, FRUGAL_KEY_READER, NULL, 0, &key, &key_id), FRUGAL_OK);
    frugal_free(key);
    frugal_close(db);
    sql_exec(f->path, "DROP TABLE budgets; PRAGMA user_version = 5;");
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 5);
    int64_t generation = sql_int(f->path, "SELECT value FROM meta WHERE key = 'generation'");

    assert_int_equal(frugal_open(f->path, NULL, &db), FRUGAL_OK);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM budgets"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM documents WHERE source = 'kiwi.txt'"),
                     1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM api_keys"), 1);
    frugal_results *res = NULL;
    assert_int_equal(frugal_search(db, "flightless", NULL, &res), FRUGAL_OK);
    assert_int_equal(res->n_hits, 1);
    frugal_results_free(res);
    /* budgets work on the migrated database, and their writes leave the generation alone */
    assert_int_equal(frugal_budget_set(db, FRUGAL_BUDGET_KEY, NULL, key_id, 2.0,
                                       FRUGAL_BUDGET_LIFETIME, false),
                     FRUGAL_OK);
    assert_int_equal(sql_int(f->path, "SELECT value FROM meta WHERE key = 'generation'"),
                     generation);
    frugal_close(db);
}

static void test_store_windows(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    struct store_budget_row r;
    assert_int_equal(store_open(f->path, NULL, &st, &f->err), FRUGAL_OK);
    /* 2026-11-27 10:00:00 UTC; the day starts at 1795737600, the month at 1793491200 */
    const int64_t t0 = 1795773600;
    const int64_t day0 = 1795737600;
    const int64_t month0 = 1793491200;
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "docs", t0, &r, &f->err),
                     FRUGAL_ENOTFOUND);
    /* charging a budget that does not exist does nothing */
    assert_int_equal(store_budget_charge(st, FRUGAL_BUDGET_COLLECTION, "docs", 1.0, t0, &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "docs", 1.0,
                                      FRUGAL_BUDGET_LIFETIME, false, t0, &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "daily", 1.0,
                                      FRUGAL_BUDGET_DAILY, false, t0, &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_KEY, "7", 5.0, FRUGAL_BUDGET_MONTHLY,
                                      false, t0, &f->err),
                     FRUGAL_OK);
    const char *targets[3] = {"docs", "daily", "7"};
    const frugal_budget_scope scopes[3] = {FRUGAL_BUDGET_COLLECTION, FRUGAL_BUDGET_COLLECTION,
                                           FRUGAL_BUDGET_KEY};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_budget_charge(st, scopes[i], targets[i], 0.25, t0, &f->err),
                         FRUGAL_OK);
        assert_int_equal(store_budget_charge(st, scopes[i], targets[i], 0.5, t0 + 60, &f->err),
                         FRUGAL_OK);
    }
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "daily", t0, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.75 && r.amount == 1.0 && r.period == FRUGAL_BUDGET_DAILY);
    assert_int_equal(r.period_start, day0);
    /* the next day: the daily budget reads 0, then counts from the new day */
    const int64_t t1 = t0 + 86400;
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "daily", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.0);
    assert_int_equal(r.period_start, day0 + 86400);
    assert_int_equal(store_budget_charge(st, FRUGAL_BUDGET_COLLECTION, "daily", 0.125, t1,
                                         &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "daily", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.125);
    /* lifetime and monthly budgets still count what the first day spent */
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "docs", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.75);
    assert_int_equal(r.period_start, t0);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_KEY, "7", t1, &r, &f->err), FRUGAL_OK);
    assert_true(r.spent == 0.75);
    assert_int_equal(r.period_start, month0);
    /* next month (2026-12-01 + 1 h) */
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_KEY, "7", 1796086800, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.0);
    /* a new limit keeps spent; a reset or another period starts again */
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "docs", 2.0,
                                      FRUGAL_BUDGET_LIFETIME, false, t1, &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "docs", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.75 && r.amount == 2.0);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "docs", 2.0,
                                      FRUGAL_BUDGET_LIFETIME, true, t1, &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "docs", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.0);
    assert_int_equal(r.period_start, t1);
    /* list: collections by name, then keys */
    struct store_budget_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_budget_list(st, t1, &rows, &n, &f->err), FRUGAL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].target, "daily");
    assert_string_equal(rows[1].target, "docs");
    assert_string_equal(rows[2].target, "7");
    assert_int_equal(rows[2].scope, FRUGAL_BUDGET_KEY);
    frugal_free(rows);
    /* bad input */
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "docs", -1.0,
                                      FRUGAL_BUDGET_LIFETIME, false, t1, &f->err),
                     FRUGAL_EINVAL);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "docs", NAN,
                                      FRUGAL_BUDGET_LIFETIME, false, t1, &f->err),
                     FRUGAL_EINVAL);
    assert_int_equal(store_budget_charge(st, FRUGAL_BUDGET_COLLECTION, "docs", -1.0, t1, &f->err),
                     FRUGAL_EINVAL);
    assert_int_equal(store_budget_clear(st, FRUGAL_BUDGET_COLLECTION, "docs", &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_clear(st, FRUGAL_BUDGET_COLLECTION, "docs", &f->err),
                     FRUGAL_ENOTFOUND);
    /* charges inside a caller's transaction go with it */
    assert_int_equal(store_begin(st, &f->err), FRUGAL_OK);
    assert_int_equal(store_budget_charge(st, FRUGAL_BUDGET_COLLECTION, "daily", 0.5, t1,
                                         &f->err),
                     FRUGAL_OK);
    store_rollback(st);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "daily", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.125);
    store_close(st);
    /* a read-only store still records a charge (through a writable connection of its own) */
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(f->path, &ro, &st, &f->err), FRUGAL_OK);
    assert_int_equal(store_budget_charge(st, FRUGAL_BUDGET_COLLECTION, "daily", 0.5, t1,
                                         &f->err),
                     FRUGAL_OK);
    assert_int_equal(store_budget_get(st, FRUGAL_BUDGET_COLLECTION, "daily", t1, &r, &f->err),
                     FRUGAL_OK);
    assert_true(r.spent == 0.625);
    assert_int_equal(store_budget_set(st, FRUGAL_BUDGET_COLLECTION, "x", 1.0,
                                      FRUGAL_BUDGET_LIFETIME, false, t1, &f->err),
                     FRUGAL_EINVAL);
    store_close(st);
}

/* Two handles on one database see one budget; it survives closing both. */
static void test_two_handles_and_reopen(void **state)
{
    struct fx *f = *state;
    frugal_db *a = NULL;
    frugal_db *b = NULL;
    frugal_budget got;
    struct err e;
    assert_int_equal(frugal_open(f->path, NULL, &a), FRUGAL_OK);
    assert_int_equal(frugal_open(f->path, NULL, &b), FRUGAL_OK);
    assert_int_equal(frugal_budget_get(b, FRUGAL_BUDGET_COLLECTION, "docs", 0, &got),
                     FRUGAL_ENOTFOUND);
    assert_non_null(strstr(frugal_errmsg(b), "no budget for collection docs"));
    assert_int_equal(frugal_set_budget(a, "docs", 1.5), FRUGAL_OK);
    assert_int_equal(frugal_budget_get(b, FRUGAL_BUDGET_COLLECTION, "docs", 0, &got), FRUGAL_OK);
    assert_true(got.limit == 1.5 && got.spent == 0.0 && got.left == 1.5);
    assert_string_equal(got.collection, "docs");
    assert_int_equal(got.period, FRUGAL_BUDGET_LIFETIME);
    /* charges through either handle add up (what frugal_ask does after a generation) */
    err_clear(&e);
    assert_int_equal(store_budget_charge(db_store(a), FRUGAL_BUDGET_COLLECTION, "docs",
                                         0.5, (int64_t)time(NULL), &e),
                     FRUGAL_OK);
    assert_int_equal(store_budget_charge(db_store(b), FRUGAL_BUDGET_COLLECTION, "docs",
                                         0.75, (int64_t)time(NULL), &e),
                     FRUGAL_OK);
    assert_int_equal(frugal_budget_get(a, FRUGAL_BUDGET_COLLECTION, "docs", 0, &got), FRUGAL_OK);
    assert_true(got.spent == 1.25 && got.left == 0.25);
    frugal_close(a);
    frugal_close(b);
    assert_int_equal(frugal_open(f->path, NULL, &a), FRUGAL_OK);
    assert_int_equal(frugal_budget_get(a, FRUGAL_BUDGET_COLLECTION, "docs", 0, &got), FRUGAL_OK);
    assert_true(got.limit == 1.5 && got.spent == 1.25);
    /* keys: an unknown key is refused, a known one gets a budget; list shows both */
    assert_int_equal(frugal_budget_set(a, FRUGAL_BUDGET_KEY, NULL, 99, 1.0,
                                       FRUGAL_BUDGET_DAILY, false),
                     FRUGAL_ENOTFOUND);
    char *key = NULL;
    int64_t id = 0;
    assert_int_equal(frugal_key_create(a, FRUGAL_KEY_READER, NULL, 0, &key, &id), FRUGAL_OK);
    frugal_free(key);
    assert_int_equal(frugal_budget_set(a, FRUGAL_BUDGET_KEY, NULL, id, 1.0, FRUGAL_BUDGET_DAILY,
                                       false),
                     FRUGAL_OK);
    frugal_budget *list = NULL;
    size_t n = 0;
    assert_int_equal(frugal_budget_list(a, &list, &n), FRUGAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].scope, FRUGAL_BUDGET_COLLECTION);
    assert_int_equal(list[1].scope, FRUGAL_BUDGET_KEY);
    assert_int_equal(list[1].key_id, id);
    assert_int_equal(list[1].period, FRUGAL_BUDGET_DAILY);
    frugal_free(list);
    assert_int_equal(frugal_budget_set(a, FRUGAL_BUDGET_COLLECTION, "bad name", 0, 1.0,
                                       FRUGAL_BUDGET_LIFETIME, false),
                     FRUGAL_EINVAL);
    assert_int_equal(frugal_budget_clear(a, FRUGAL_BUDGET_KEY, NULL, id), FRUGAL_OK);
    assert_int_equal(frugal_budget_clear(a, FRUGAL_BUDGET_KEY, NULL, id), FRUGAL_ENOTFOUND);
    assert_int_equal(frugal_set_budget(a, "docs", -1), FRUGAL_OK);
    assert_int_equal(frugal_budget_list(a, &list, &n), FRUGAL_OK);
    assert_int_equal(n, 0);
    frugal_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migration_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_and_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
