/*
 * index_file.h - where the derived index files of a database live, shared by the BM25 index
 * (keyword.c: DB.bm25/<collection id>.idx) and the vector index (dense.c:
 * DB.vec/<collection id>.hnsw).
 *
 * Contract: index_file_path gives "<db_path>.<dir>/<collection_id>.<ext>", or no path (NULL,
 * FRUGAL_OK) when the database has no file to put it beside (NULL, "", ":memory:", a "file:"
 * URI); running out of memory is FRUGAL_ENOMEM, not "no file". index_file_make_dir creates
 * the folder of such a path (one level; an existing one is fine). Both indexes are caches of
 * the store: a file that cannot be written leaves the index in memory, which is the callers'
 * policy, not this module's.
 *
 * Threading: no state.
 */
#ifndef FRUGAL_QUERY_INDEX_FILE_H
#define FRUGAL_QUERY_INDEX_FILE_H

#include <stdint.h>

#include "base/err.h"

/* *out owned (frugal_free), or NULL as the contract says. FRUGAL_OK or FRUGAL_ENOMEM. */
frugal_status index_file_path(const char *db_path, const char *dir, int64_t collection_id,
                              const char *ext, char **out);
frugal_status index_file_make_dir(const char *path, struct err *err);

#endif
