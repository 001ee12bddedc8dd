/*
 * frugal_keys.c - the API keys section of include/frugal.h: creating, listing, revoking and
 * checking the keys the HTTP server accepts.
 *
 * How: a key is "fk_" plus 32 characters drawn uniformly from [0-9A-Za-z] with OpenSSL's
 * RAND_bytes (rejection sampling, so no character is more likely than another: ~190 bits).
 * Only the hex SHA-256 of the key text reaches the store (src/store/store_keys.c); checking a
 * key hashes the presented text and looks the hash up, so the comparison happens inside
 * SQLite's index on a digest, not on the secret itself.
 *
 * Why a file of its own: src/frugal.c is long enough, and keys need only the store.
 *
 * Threading: as every frugal_db call, one thread per handle at a time.
 */
#include <openssl/rand.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/fs.h"
#include "frugal.h"
#include "frugal_internal.h"
#include "store/store.h"

#define KEY_RANDOM_CHARS 32

static frugal_status enter(frugal_db *db)
{
    if (db == NULL)
        return FRUGAL_EINVAL;
    err_clear(db_err(db));
    if (db_store(db) == NULL)
        return err_set(db_err(db), FRUGAL_EINVAL, "the database is not open");
    return FRUGAL_OK;
}

/* Writes KEY_RANDOM_CHARS base62 characters into out; false when the random source failed. */
static bool random_base62(char *out)
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t n = 0;
    while (n < KEY_RANDOM_CHARS) {
        unsigned char bytes[64];
        if (RAND_bytes(bytes, (int)sizeof bytes) != 1)
            return false;
        for (size_t i = 0; i < sizeof bytes && n < KEY_RANDOM_CHARS; i++) {
            if (bytes[i] < 248) /* 248 = 4 * 62: keeps the draw uniform */
                out[n++] = digits[bytes[i] % 62];
        }
    }
    return true;
}

frugal_status frugal_key_create(frugal_db *db, frugal_key_role role,
                                const char *const *collections, size_t n_collections,
                                char **key_out, int64_t *id_out)
{
    *key_out = NULL;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if ((int)role < 0 || role > FRUGAL_KEY_ADMIN)
        return err_set(db_err(db), FRUGAL_EINVAL, "unknown key role %d", (int)role);
    for (size_t i = 0; i < n_collections; i++) {
        if (collections[i] == NULL || collections[i][0] == '\0')
            return err_set(db_err(db), FRUGAL_EINVAL, "empty collection name");
    }
    char *key = frugal_malloc(3 + KEY_RANDOM_CHARS + 1);
    if (key == NULL)
        return err_set(db_err(db), FRUGAL_ENOMEM, "out of memory");
    memcpy(key, "fk_", 3);
    if (!random_base62(key + 3)) {
        frugal_free(key);
        return err_set(db_err(db), FRUGAL_EIO, "the random number generator failed");
    }
    key[3 + KEY_RANDOM_CHARS] = '\0';
    char hash[65];
    fs_sha256_hex(key, strlen(key), hash);
    rc = store_key_insert(db_store(db), hash, (int)role, collections, n_collections, id_out,
                          db_err(db));
    if (rc != FRUGAL_OK) {
        frugal_free(key);
        return rc;
    }
    *key_out = key;
    return FRUGAL_OK;
}

/* Moves a store row into a public one (the strings change owner). */
static void info_from_row(struct store_key_row *row, frugal_key_info *out)
{
    out->id = row->id;
    out->role = (frugal_key_role)row->role;
    out->collections = row->collections;
    out->n_collections = row->n_collections;
    out->created_at = row->created_at;
    out->revoked_at = row->revoked_at;
    row->collections = NULL;
    row->n_collections = 0;
}

frugal_status frugal_key_list(frugal_db *db, frugal_key_info **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    struct store_key_row *rows = NULL;
    size_t n = 0;
    rc = store_key_list(db_store(db), &rows, &n, db_err(db));
    if (rc != FRUGAL_OK)
        return rc;
    frugal_key_info *v = frugal_calloc(n > 0 ? n : 1, sizeof *v);
    if (v == NULL) {
        for (size_t i = 0; i < n; i++)
            store_key_row_release(&rows[i]);
        frugal_free(rows);
        return err_set(db_err(db), FRUGAL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        info_from_row(&rows[i], &v[i]);
    frugal_free(rows);
    *out = v;
    *n_out = n;
    return FRUGAL_OK;
}

void frugal_key_info_release(frugal_key_info *info)
{
    if (info == NULL)
        return;
    for (size_t i = 0; i < info->n_collections; i++)
        frugal_free(info->collections[i]);
    frugal_free(info->collections);
    info->collections = NULL;
    info->n_collections = 0;
}

void frugal_key_list_free(frugal_key_info *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        frugal_key_info_release(&list[i]);
    frugal_free(list);
}

frugal_status frugal_key_revoke(frugal_db *db, int64_t id)
{
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    return store_key_revoke(db_store(db), id, db_err(db));
}

frugal_status frugal_key_check(frugal_db *db, const char *key, frugal_key_info *out)
{
    memset(out, 0, sizeof *out);
    frugal_status rc = enter(db);
    if (rc != FRUGAL_OK)
        return rc;
    if (key == NULL || key[0] == '\0')
        return FRUGAL_ENOTFOUND;
    char hash[65];
    fs_sha256_hex(key, strlen(key), hash);
    struct store_key_row row;
    rc = store_key_find(db_store(db), hash, &row, db_err(db));
    if (rc != FRUGAL_OK)
        return rc;
    info_from_row(&row, out);
    return FRUGAL_OK;
}

bool frugal_key_allows(const frugal_key_info *info, const char *name)
{
    if (info == NULL || name == NULL)
        return false;
    if (info->n_collections == 0)
        return true;
    for (size_t i = 0; i < info->n_collections; i++) {
        if (strcmp(info->collections[i], name) == 0)
            return true;
    }
    return false;
}
