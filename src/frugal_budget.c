/*
 * frugal_budget.c - the Budgets section of include/frugal.h: setting, clearing, reading and
 * listing the per-collection and per-key limits on what generated answers may cost.
 *
 * How: the public calls check their arguments and map (scope, collection | key id) to the
 * store's (scope, target) rows (src/store/store_budget.c): a collection by its name, a key by
 * its id in decimal. The router's side (reading what is left before generating, charging after)
 * is in src/answer/ask.c. Times are time(NULL), seconds since the epoch, UTC windows.
 *
 * Why a file of its own: src/frugal.c is long enough, and budgets need only the store.
 *
 * Threading: as every frugal_db call, one thread per handle at a time; the figures are shared
 * through the database by every handle and process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "frugal.h"
#include "frugal_internal.h"
#include "store/store.h"

static frugal_status enter(frugal_db *db)
{
    if (db == NULL)
        return FRUGAL_EINVAL;
    err_clear(db_err(db));
    if (db_store(db) == NULL)
        return err_set(db_err(db), FRUGAL_EINVAL, "the database is not open");
    return FRUGAL_OK;
}

static bool name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > STORE_BUDGET_TARGET_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* The store's target for (scope, collection | key_id) into target[STORE_BUDGET_TARGET_MAX + 1];
 * with must_exist, a key must be one frugal_key_create made. */
static frugal_status target_of(frugal_db *db, frugal_budget_scope scope, const char *collection,
                               int64_t key_id, bool must_exist, char *target)
{
    struct err *err = db_err(db);
    if (scope == FRUGAL_BUDGET_COLLECTION) {
        if (!name_ok(collection))
            return err_set(err, FRUGAL_EINVAL,
                           "invalid collection name '%.*s': use 1 to 128 letters, digits, '_', "
                           "'-' or '.'",
                           STORE_BUDGET_TARGET_MAX, collection != NULL ? collection : "");
        snprintf(target, STORE_BUDGET_TARGET_MAX + 1, "%s", collection);
        return FRUGAL_OK;
    }
    if (scope != FRUGAL_BUDGET_KEY)
        return err_set(err, FRUGAL_EINVAL, "unknown budget scope %d", (int)scope);
    if (key_id <= 0)
        return err_set(err, FRUGAL_EINVAL, "a key budget needs a key id > 0");
    snprintf(target, STORE_BUDGET_TARGET_MAX + 1, "%lld", (long long)key_id);
    if (!must_exist)
        return FRUGAL_OK;
    struct store_key_row *keys = NULL;
    size_t n = 0;
    frugal_status rc = store_key_list(db_store(db), &keys, &n, err);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        found = found || keys[i].id == key_id;
        store_key_row_release(&keys[i]);
    }
    frugal_free(keys);
    if (rc == FRUGAL_OK && !found)
        rc = err_set(err, FRUGAL_ENOTFOUND, "no key with id %lld", (long long)key_id);
    return rc;
}

static void budget_from_row(const struct store_budget_row *r, frugal_budget *out)
{
    memset(out, 0, sizeof *out);
    out->scope = r->scope;
    if (r->scope == FRUGAL_BUDGET_COLLECTION) {
        snprintf(out->collection, sizeof out->collection, "%s", r->target);
    } else {
        errno = 0;
        long long id = strtoll(r->target, NULL, 10);
        out->key_id = errno == 0 ? (int64_t)id : 0;
    }
    out->period = r->period;
    out->limit = r->amount;
    out->spent = r->spent;
    out->left = r->amount - r->spent;
    out->period_start = r->period_start;
    out->updated_at = r->updated_at;
}

frugal_status frugal_budget_set(frugal_db *db, frugal_budget_scope scope, const char *collection,
                                int64_t key_id, double limit, frugal_budget_period period,
                                bool reset_spent)
{
    char target[STORE_BUDGET_TARGET_MAX + 1];
    frugal_status rc = enter(db);
    if (rc == FRUGAL_OK)
        rc = target_of(db, scope, collection, key_id, true, target);
    if (rc == FRUGAL_OK)
        rc = store_budget_set(db_store(db), scope, target, limit, period, reset_spent,
                              (int64_t)time(NULL), db_err(db));
    return rc;
}

frugal_status frugal_budget_clear(frugal_db *db, frugal_budget_scope scope,
                                  const char *collection, int64_t key_id)
{
    char target[STORE_BUDGET_TARGET_MAX + 1];
    frugal_status rc = enter(db);
    if (rc == FRUGAL_OK)
        rc = target_of(db, scope, collection, key_id, false, target);
    if (rc == FRUGAL_OK)
        rc = store_budget_clear(db_store(db), scope, target, db_err(db));
    return rc;
}

frugal_status frugal_budget_get(frugal_db *db, frugal_budget_scope scope, const char *collection,
                                int64_t key_id, frugal_budget *out)
{
    char target[STORE_BUDGET_TARGET_MAX + 1];
    struct store_budget_row row;
    memset(out, 0, sizeof *out);
    frugal_status rc = enter(db);
    if (rc == FRUGAL_OK)
        rc = target_of(db, scope, collection, key_id, false, target);
    if (rc == FRUGAL_OK)
        rc = store_budget_get(db_store(db), scope, target, (int64_t)time(NULL), &row,
                              db_err(db));
    if (rc == FRUGAL_ENOTFOUND && db_err(db)->msg[0] == '\0')
        err_set(db_err(db), rc, "no budget for %s %s",
                scope == FRUGAL_BUDGET_KEY ? "key" : "collection", target);
    if (rc == FRUGAL_OK)
        budget_from_row(&row, out);
    return rc;
}

frugal_status frugal_budget_list(frugal_db *db, frugal_budget **out, size_t *n_out)
{
    struct store_budget_row *rows = NULL;
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    frugal_status rc = enter(db);
    if (rc == FRUGAL_OK)
        rc = store_budget_list(db_store(db), (int64_t)time(NULL), &rows, &n, db_err(db));
    if (rc != FRUGAL_OK || n == 0) {
        frugal_free(rows);
        return rc;
    }
    frugal_budget *list = frugal_calloc(n, sizeof *list);
    if (list == NULL) {
        frugal_free(rows);
        return err_set(db_err(db), FRUGAL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        budget_from_row(&rows[i], &list[i]);
    frugal_free(rows);
    *out = list;
    *n_out = n;
    return FRUGAL_OK;
}

frugal_status frugal_set_budget(frugal_db *db, const char *collection, double amount)
{
    if (collection == NULL || collection[0] == '\0')
        collection = "default";
    if (!(amount < 0.0)) /* NaN too: EINVAL from the store */
        return frugal_budget_set(db, FRUGAL_BUDGET_COLLECTION, collection, 0, amount,
                                 FRUGAL_BUDGET_LIFETIME, false);
    frugal_status rc = frugal_budget_clear(db, FRUGAL_BUDGET_COLLECTION, collection, 0);
    if (rc == FRUGAL_ENOTFOUND) {
        err_clear(db_err(db));
        rc = FRUGAL_OK;
    }
    return rc;
}
