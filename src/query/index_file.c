/*
 * index_file.c - paths and folders of the derived index files (index_file.h).
 *
 * Why a module: the BM25 and vector indexes follow the same lifecycle beside the database
 * (named after it, one file per collection, folder created on first save, none for in-memory
 * databases); one copy of those rules keeps the two from drifting.
 *
 * Threading: no state.
 */
#include "query/index_file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/buf.h"

frugal_status index_file_path(const char *db_path, const char *dir, int64_t collection_id,
                              const char *ext, char **out)
{
    *out = NULL;
    if (db_path == NULL || db_path[0] == '\0' || strcmp(db_path, ":memory:") == 0 ||
        strncmp(db_path, "file:", 5) == 0)
        return FRUGAL_OK;
    struct buf b;
    buf_init(&b, 0);
    frugal_status rc =
        buf_printf(&b, "%s.%s/%lld.%s", db_path, dir, (long long)collection_id, ext);
    if (rc != FRUGAL_OK) {
        buf_release(&b);
        return FRUGAL_ENOMEM;
    }
    *out = buf_detach(&b);
    return *out != NULL ? FRUGAL_OK : FRUGAL_ENOMEM;
}

frugal_status index_file_make_dir(const char *path, struct err *err)
{
    char *dir = frugal_strdup(path);
    if (dir == NULL)
        return err_set(err, FRUGAL_ENOMEM, "index file: out of memory");
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    frugal_status rc = FRUGAL_OK;
    if (slash != NULL && mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = err_set(err, FRUGAL_EIO, "%s: cannot create the directory: %s", dir,
                     strerror(errno));
    frugal_free(dir);
    return rc;
}
