/*
 * pipeline.h - ingestion: files and folders in, documents and chunks out, with sync.
 *
 * For each file: read (size-limited, gzip inflated), hash (SHA-256 of the file bytes), detect the
 * format, extract (extract.h), normalize each block (text/normalize.h), chunk (text/chunk.h),
 * and write the document with its chunks in ONE transaction that first removes the previous
 * version. A file whose hash is unchanged is skipped before extraction. JSONL files hold many
 * documents: each record is a document with source "FILE#ID" and the hash of its line.
 *
 * Sync (pipeline_run with sync = true) additionally deletes every document of the collection
 * whose source lies under the folder but was not seen in this run. Documents of files that
 * failed this time are kept: a file that became unreadable loses nothing already stored.
 */
#ifndef FRUGAL_INGEST_PIPELINE_H
#define FRUGAL_INGEST_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "frugal.h"
#include "store/store.h"

struct embedder;

/* Ingests paths (files or folders, borrowed) into the collection params->collection (created
 * when missing). When sync is true, n_paths must be 1 and paths[0] a folder to mirror. emb
 * (borrowed, may be NULL): the collection's embedder, already checked against it by the caller;
 * every chunk's vector is then stored in the chunk's transaction. */
frugal_status pipeline_run(struct store *st, struct embedder *emb, const char *const *paths,
                           size_t n_paths, bool sync, const frugal_ingest_params *params,
                           frugal_ingest_report *report, struct err *err);

/* Ingests one in-memory input named `name` (its source). */
frugal_status pipeline_buffer(struct store *st, struct embedder *emb, const char *name,
                              const void *data, size_t len, const frugal_ingest_params *params,
                              frugal_ingest_report *report, struct err *err);

#endif
