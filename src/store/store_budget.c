/*
 * store_budget.c - the budgets part of the store (schema 6, see store.h): per collection and
 * per API key, what generated answers may cost and what they have cost so far.
 *
 * How: one row per (scope, target). A daily or monthly budget's window is computed in SQL from
 * the caller's `now` (strftime 'start of day' / 'start of month', UTC): a row whose
 * period_start is before the window holding `now` reads as spent 0, and the next charge
 * rewrites it to the new window. A charge is a single UPDATE that computes the new spent from
 * the stored one, so two connections charging at once both count (SQLite serializes writers;
 * no read-modify-write in C). Writes go through store_write_begin_quiet: the caller's
 * transaction or one of their own, with a savepoint, but without bumping meta.generation,
 * because a budget is not data a derived index reflects (a bump after every generated answer
 * would make the BM25 and vector indexes catch up for nothing). A read-only handle charges
 * through a short-lived writable connection (charge_side): generating costs money whoever
 * asks, and `frugal ask --no-cache` opens the database read-only.
 *
 * Why a file of its own: budgets are a separate concern that only src/answer/ask.c and
 * src/frugal_budget.c use.
 *
 * Threading: like store.c, one struct store per thread; nothing here is shared.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/store.h"
#include "store/store_internal.h"

/* The start of the window that holds ?N (seconds since the epoch), for the row's period. */
#define BUDGET_WINDOW(N)                                                                          \
    "(CASE period WHEN 'day' THEN CAST(strftime('%s', " N ", 'unixepoch', 'start of day') AS "  \
    "INTEGER) WHEN 'month' THEN CAST(strftime('%s', " N ", 'unixepoch', 'start of month') AS "  \
    "INTEGER) ELSE period_start END)"

#define BUDGET_COLUMNS                                                                            \
    "scope, target, period, amount, CASE WHEN period_start >= " BUDGET_WINDOW("?9")             \
    " THEN spent ELSE 0 END, " BUDGET_WINDOW("?9") ", created_at, updated_at"

static const char *const scope_names[] = {"collection", "key"};
static const char *const period_names[] = {"lifetime", "day", "month"};

static frugal_status check_target(frugal_budget_scope scope, const char *target,
                                  struct err *err)
{
    if ((int)scope < 0 || scope > FRUGAL_BUDGET_KEY)
        return err_set(err, FRUGAL_EINVAL, "store: unknown budget scope %d", (int)scope);
    if (target == NULL || target[0] == '\0' || strlen(target) > STORE_BUDGET_TARGET_MAX)
        return err_set(err, FRUGAL_EINVAL, "store: a budget needs a %s of 1 to %d bytes",
                       scope == FRUGAL_BUDGET_KEY ? "key id" : "collection name",
                       STORE_BUDGET_TARGET_MAX);
    return FRUGAL_OK;
}

static int index_of(const unsigned char *text, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (text != NULL && strcmp((const char *)text, names[i]) == 0)
            return i;
    }
    return 0; /* the CHECK constraints allow nothing else */
}

static void row_from_stmt(sqlite3_stmt *stmt, struct store_budget_row *out)
{
    memset(out, 0, sizeof *out);
    out->scope = (frugal_budget_scope)index_of(sqlite3_column_text(stmt, 0), scope_names, 2);
    const unsigned char *target = sqlite3_column_text(stmt, 1);
    snprintf(out->target, sizeof out->target, "%s", target != NULL ? (const char *)target : "");
    out->period = (frugal_budget_period)index_of(sqlite3_column_text(stmt, 2), period_names, 3);
    out->amount = sqlite3_column_double(stmt, 3);
    out->spent = sqlite3_column_double(stmt, 4);
    out->period_start = sqlite3_column_int64(stmt, 5);
    out->created_at = sqlite3_column_int64(stmt, 6);
    out->updated_at = sqlite3_column_int64(stmt, 7);
}

frugal_status store_budget_set(struct store *st, frugal_budget_scope scope, const char *target,
                               double amount, frugal_budget_period period, bool reset_spent,
                               int64_t now, struct err *err)
{
    frugal_status rc = check_target(scope, target, err);
    if (rc != FRUGAL_OK)
        return rc;
    if (!isfinite(amount) || amount < 0.0)
        return err_set(err, FRUGAL_EINVAL, "store: a budget must be a finite amount >= 0 (got %g)",
                       amount);
    if ((int)period < 0 || period > FRUGAL_BUDGET_MONTHLY)
        return err_set(err, FRUGAL_EINVAL, "store: unknown budget period %d", (int)period);
    bool own = false;
    rc = store_write_begin_quiet(st, &own, "set budget", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    /* period_start of a new window: `now` for lifetime, else the window's start */
    rc = prepare(st,
                 "INSERT INTO budgets(scope, target, amount, spent, period, period_start, "
                 "created_at, updated_at) VALUES (?1, ?2, ?3, 0, ?4, "
                 "CASE ?4 WHEN 'day' THEN CAST(strftime('%s', ?5, 'unixepoch', 'start of day') "
                 "AS INTEGER) WHEN 'month' THEN CAST(strftime('%s', ?5, 'unixepoch', "
                 "'start of month') AS INTEGER) ELSE ?5 END, ?5, ?5) "
                 "ON CONFLICT(scope, target) DO UPDATE SET amount = excluded.amount, "
                 "spent = CASE WHEN ?6 OR period <> excluded.period THEN 0 ELSE spent END, "
                 "period_start = CASE WHEN ?6 OR period <> excluded.period THEN "
                 "excluded.period_start ELSE period_start END, "
                 "period = excluded.period, updated_at = excluded.updated_at",
                 &stmt, "set budget", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, scope_names[scope], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, target, -1, SQLITE_STATIC);
        sqlite3_bind_double(stmt, 3, amount);
        sqlite3_bind_text(stmt, 4, period_names[period], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, now);
        sqlite3_bind_int(stmt, 6, reset_spent ? 1 : 0);
        rc = run(st, stmt, "set budget", err);
    }
    sqlite3_finalize(stmt);
    return op_end(st, own, rc, err);
}

frugal_status store_budget_clear(struct store *st, frugal_budget_scope scope, const char *target,
                                 struct err *err)
{
    frugal_status rc = check_target(scope, target, err);
    if (rc != FRUGAL_OK)
        return rc;
    bool own = false;
    rc = store_write_begin_quiet(st, &own, "clear budget", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = NULL;
    rc = prepare(st, "DELETE FROM budgets WHERE scope = ?1 AND target = ?2", &stmt,
                 "clear budget", err);
    if (rc == FRUGAL_OK) {
        sqlite3_bind_text(stmt, 1, scope_names[scope], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, target, -1, SQLITE_STATIC);
        rc = run(st, stmt, "clear budget", err);
        if (rc == FRUGAL_OK && sqlite3_changes(st->db) == 0)
            rc = err_set(err, FRUGAL_ENOTFOUND, "no budget for %s %s", scope_names[scope],
                         target);
    }
    sqlite3_finalize(stmt);
    return op_end(st, own, rc, err);
}

frugal_status store_budget_get(struct store *st, frugal_budget_scope scope, const char *target,
                               int64_t now, struct store_budget_row *out, struct err *err)
{
    memset(out, 0, sizeof *out);
    frugal_status rc = check_target(scope, target, err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = cached(st, &st->budget_get,
                "SELECT " BUDGET_COLUMNS " FROM budgets WHERE scope = ?1 AND target = ?2",
                "read budget", err);
    if (rc != FRUGAL_OK)
        return rc;
    sqlite3_stmt *stmt = st->budget_get;
    sqlite3_bind_text(stmt, 1, scope_names[scope], -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, target, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, now);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW)
        row_from_stmt(stmt, out);
    else if (src == SQLITE_DONE)
        rc = FRUGAL_ENOTFOUND;
    else
        rc = db_fail(st, src, "read budget", err);
    sqlite3_reset(stmt);
    return rc;
}

#define BUDGET_CHARGE_SQL                                                                         \
    "UPDATE budgets SET spent = (CASE WHEN period_start >= " BUDGET_WINDOW("?9")                 \
    " THEN spent ELSE 0 END) + ?3, period_start = " BUDGET_WINDOW("?9")                         \
    ", updated_at = ?9 WHERE scope = ?1 AND target = ?2"

static void bind_charge(sqlite3_stmt *stmt, frugal_budget_scope scope, const char *target,
                        double cost, int64_t now)
{
    sqlite3_bind_text(stmt, 1, scope_names[scope], -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, target, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 3, cost);
    sqlite3_bind_int64(stmt, 9, now);
}

/* The charge of a read-only handle: a generation's cost must be recorded whoever asked, so it
 * goes through a short-lived writable connection of its own (one UPDATE, its own transaction;
 * the file must exist and be writable, else EIO). */
static frugal_status charge_side(struct store *st, frugal_budget_scope scope, const char *target,
                                 double cost, int64_t now, struct err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = FRUGAL_OK;
    int src = sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        src = sqlite3_prepare_v2(db, BUDGET_CHARGE_SQL, -1, &stmt, NULL);
    }
    if (src == SQLITE_OK) {
        bind_charge(stmt, scope, target, cost, now);
        src = sqlite3_step(stmt);
    }
    if (src != SQLITE_OK && src != SQLITE_DONE)
        rc = err_set(err, db == NULL ? FRUGAL_ENOMEM : status_of(src), "store: charge budget: %s",
                     db != NULL ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return rc;
}

frugal_status store_budget_charge(struct store *st, frugal_budget_scope scope, const char *target,
                                  double cost, int64_t now, struct err *err)
{
    frugal_status rc = check_target(scope, target, err);
    if (rc != FRUGAL_OK)
        return rc;
    if (!isfinite(cost) || cost < 0.0)
        return err_set(err, FRUGAL_EINVAL, "store: a charge must be a finite amount >= 0");
    if (st->read_only)
        return charge_side(st, scope, target, cost, now, err);
    bool own = false;
    rc = store_write_begin_quiet(st, &own, "charge budget", err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = cached(st, &st->budget_charge, BUDGET_CHARGE_SQL, "charge budget", err);
    if (rc == FRUGAL_OK) {
        sqlite3_stmt *stmt = st->budget_charge;
        bind_charge(stmt, scope, target, cost, now);
        rc = run(st, stmt, "charge budget", err);
        sqlite3_clear_bindings(stmt);
    }
    return op_end(st, own, rc, err);
}

frugal_status store_budget_list(struct store *st, int64_t now, struct store_budget_row **out,
                                size_t *n_out, struct err *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *stmt = NULL;
    frugal_status rc = prepare(st,
                               "SELECT " BUDGET_COLUMNS " FROM budgets ORDER BY scope = 'key', "
                               "CASE WHEN scope = 'key' THEN CAST(target AS INTEGER) END, "
                               "target",
                               &stmt, "list budgets", err);
    struct store_budget_row *rows = NULL;
    size_t n = 0;
    if (rc == FRUGAL_OK)
        sqlite3_bind_int64(stmt, 9, now);
    while (rc == FRUGAL_OK) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st, src, "list budgets", err);
            break;
        }
        struct store_budget_row *grown = frugal_reallocarray(rows, n + 1, sizeof *grown);
        if (grown == NULL) {
            rc = err_set(err, FRUGAL_ENOMEM, "store: list budgets: out of memory");
            break;
        }
        rows = grown;
        row_from_stmt(stmt, &rows[n++]);
    }
    sqlite3_finalize(stmt);
    if (rc != FRUGAL_OK) {
        frugal_free(rows);
        return rc;
    }
    *out = rows;
    *n_out = n;
    return FRUGAL_OK;
}
