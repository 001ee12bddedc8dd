/*
 * frugal.h - the public API of frugal, a retrieval-augmented generation engine for CPUs.
 *
 * This header is the whole API and its manual. Conventions:
 *  - Handles are opaque (frugal_db). Every destructor accepts NULL.
 *  - Action functions return a frugal_status; FRUGAL_OK is 0. The detailed message of the last
 *    failure on a handle is frugal_errmsg(db); frugal_strerror() names a code.
 *  - Options come in *_params structs; always fill them with frugal_*_default_params() first, then
 *    change what you need, so that fields added later get their defaults.
 *  - Strings are NUL-terminated UTF-8. "borrowed" means the callee keeps no reference past the call;
 *    results returned through out-pointers are owned by the caller and freed with the matching
 *    frugal_*_free().
 *  - A frugal_db may be used by one thread at a time; open one handle per thread for parallel work
 *    (SQLite WAL lets readers run beside one writer).
 */
#ifndef FRUGAL_H
#define FRUGAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FRUGAL_VERSION_MAJOR 0
#define FRUGAL_VERSION_MINOR 1
#define FRUGAL_VERSION_PATCH 0
#define FRUGAL_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
const char *frugal_version(void);

/* Status codes. The numbers are stable: never renumber, only append. */
typedef enum frugal_status {
    FRUGAL_OK = 0,
    FRUGAL_ENOMEM = 1,       /* out of memory */
    FRUGAL_EIO = 2,          /* I/O error (read, write, child process) */
    FRUGAL_ECORRUPT = 3,     /* corrupt or malformed input or file */
    FRUGAL_EINVAL = 4,       /* invalid argument */
    FRUGAL_ENOTFOUND = 5,    /* no such collection, document, file */
    FRUGAL_EEXIST = 6,       /* already exists */
    FRUGAL_EVERSION = 7,     /* file or database from a newer or unknown version */
    FRUGAL_EUNSUPPORTED = 8, /* unsupported format or feature */
    FRUGAL_ETOOBIG = 9,      /* input over a configured size limit */
    FRUGAL_ETIMEOUT = 10,    /* a time limit ran out */
    FRUGAL_EBUSY = 11,       /* the database is locked by another writer */
    FRUGAL_EINTERNAL = 12,   /* a bug: please report it */
    FRUGAL_EEMPTY = 13,      /* the input holds no text */
} frugal_status;

/* A short, static description of a status code ("out of memory"). Never NULL. */
const char *frugal_strerror(frugal_status status);

/* ---- Memory --------------------------------------------------------------------------------- */

/* All memory the library allocates goes through these hooks. Set them before any other call;
 * NULL restores the libc allocator. realloc must accept NULL; free must accept NULL. */
typedef struct frugal_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} frugal_allocator;
void frugal_set_allocator(const frugal_allocator *allocator);

/* Frees memory the library handed to the caller as a plain pointer (e.g. a JSON string). */
void frugal_free(void *ptr);

/* ---- Logging -------------------------------------------------------------------------------- */

typedef enum frugal_log_level {
    FRUGAL_LOG_DEBUG = 0,
    FRUGAL_LOG_INFO = 1,
    FRUGAL_LOG_WARN = 2,
    FRUGAL_LOG_ERROR = 3,
} frugal_log_level;
/* The library never prints; it reports through this callback (process-wide; NULL = silent).
 * `message` is borrowed and has no trailing newline. */
typedef void (*frugal_log_fn)(void *ctx, frugal_log_level level, const char *message);
void frugal_set_log(frugal_log_fn fn, void *ctx, frugal_log_level min_level);

/* ---- Database ------------------------------------------------------------------------------- */

typedef struct frugal_db frugal_db;

typedef struct frugal_open_params {
    bool read_only;        /* open without writing; fails when the database does not exist */
    int busy_timeout_ms;   /* wait this long for another writer's lock (default 5000) */
} frugal_open_params;
void frugal_open_default_params(frugal_open_params *params);

/* Opens (creating when missing, unless read_only) the database at `path` (borrowed), migrating
 * an older schema forward. A database written by a newer frugal is refused with FRUGAL_EVERSION.
 * *out is set whenever memory allowed, even on failure, so that frugal_errmsg(*out) can say what
 * went wrong; close it in every case. params may be NULL for defaults. */
frugal_status frugal_open(const char *path, const frugal_open_params *params, frugal_db **out);
void frugal_close(frugal_db *db);

/* The message of the last failure on db ("" when none). Borrowed: valid until the next call on db.
 * With db == NULL: "out of memory". */
const char *frugal_errmsg(const frugal_db *db);

/* ---- Embedders ------------------------------------------------------------------------------ */

/* An embedder turns texts into dense vectors. frugal ships three (a BERT-family
 * sentence-transformers folder, GloVe static word vectors, an OpenAI-compatible server); an
 * application may plug its own through frugal_embedder_vtable.
 *
 * Collections name theirs with a spec string (frugal_collection_params.embedder):
 *   "model:DIR"             a sentence-transformers folder (frugal_embedder_open_model, 1 thread)
 *   "glove"                 GloVe from the default data dir ($FRUGAL_DATA_DIR, else
 *                           ~/.local/share/frugal; installed by scripts/setup --glove)
 *   "glove:PATH"            a .fsv vectors file
 *   "remote:MODEL@URL"      an OpenAI-compatible /v1/embeddings server at base URL (API key from
 *                           $FRUGAL_EMBED_API_KEY or $OPENAI_API_KEY)
 *   "custom:NAME"           the application's own: attach it with frugal_use_embedder
 * The database records, per collection, the name and dimension of the embedder that wrote its
 * vectors; an embedder with another name or dimension is refused (FRUGAL_EINVAL) with a message
 * naming both. */
typedef struct frugal_embedder frugal_embedder;

/* An application's embedder. `self` is the application's state, passed back to every slot. */
typedef struct frugal_embedder_vtable {
    /* required: writes n vectors, (n, dim) row-major float32, into out (n * dim floats, sized by
     * the caller); texts are borrowed NUL-terminated UTF-8, 1 <= n <= max_batch. On failure
     * returns a status and may write a message into errbuf (errbuf_size bytes, NUL-terminated).
     * Every value must be finite. */
    frugal_status (*embed)(void *self, const char *const *texts, size_t n, float *out,
                           char *errbuf, size_t errbuf_size);
    /* required: the vector length, fixed for the embedder's life, > 0 */
    size_t (*dim)(const void *self);
    /* required: a stable name saying which vectors these are ("my-model-v2"); two embedders
     * with the same name and dim must produce comparable vectors. Borrowed. */
    const char *(*name)(const void *self);
    /* optional: frees self (NULL: nothing to free) */
    void (*free)(void *self);
    /* optional: the largest batch embed accepts (NULL or 0: any) */
    size_t (*max_batch)(const void *self);
} frugal_embedder_vtable;

/* Wraps an application's embedder. vt is borrowed (it must outlive the embedder; usually
 * static); ownership of self passes to the embedder (vt->free is called by
 * frugal_embedder_free, and on failure here). FRUGAL_EINVAL when a required slot is missing
 * or dim is 0. As for every constructor below, *out is set whenever memory allowed, even on
 * failure, so that frugal_embedder_errmsg(*out) says what went wrong; free it in every case. */
frugal_status frugal_embedder_new(const frugal_embedder_vtable *vt, void *self,
                                  frugal_embedder **out);
/* A sentence-transformers (BERT-family) model folder as the Hugging Face Hub ships it; threads:
 * matrix-product threads (0 = 1). */
frugal_status frugal_embedder_open_model(const char *dir, int threads, frugal_embedder **out);
/* GloVe static word vectors (SIF-weighted average); path NULL = the default data dir. */
frugal_status frugal_embedder_open_glove(const char *path, frugal_embedder **out);

typedef struct frugal_remote_params {
    const char *url;       /* base URL ("http://127.0.0.1:8080"); NULL: $FRUGAL_EMBED_URL */
    const char *model;     /* model name sent to the server; NULL: $FRUGAL_EMBED_MODEL */
    const char *api_key;   /* NULL: $FRUGAL_EMBED_API_KEY, else $OPENAI_API_KEY, else none */
    size_t dim;            /* expected dimension; 0 = ask the server once on open */
    size_t max_batch;      /* texts per request; 0 = 64 */
    long timeout_ms;       /* per request; 0 = 120000 */
    int max_retries;       /* after 429, 5xx or a connection error; -1 = default (4) */
} frugal_remote_params;
void frugal_remote_default_params(frugal_remote_params *params);
/* An OpenAI-compatible /v1/embeddings server. params may be NULL (all from the environment). */
frugal_status frugal_embedder_open_remote(const frugal_remote_params *params,
                                          frugal_embedder **out);
/* Opens the embedder a spec string names (see above); "custom:..." is FRUGAL_EINVAL here. */
frugal_status frugal_embedder_open_spec(const char *spec, frugal_embedder **out);

/* Embeds n texts (borrowed) into out, (n, dim) row-major (n * dim floats, caller-sized). */
frugal_status frugal_embedder_embed(frugal_embedder *e, const char *const *texts, size_t n,
                                    float *out);
size_t frugal_embedder_dim(const frugal_embedder *e);
/* Borrowed, valid for the embedder's life ("bert:all-MiniLM-L6-v2", "glove-6b-100d:sif"). */
const char *frugal_embedder_name(const frugal_embedder *e);
/* The message of the embedder's last failure ("" when none). Borrowed. */
const char *frugal_embedder_errmsg(const frugal_embedder *e);
void frugal_embedder_free(frugal_embedder *e);

/* Makes db use e (borrowed: it must outlive db, or the next frugal_use_embedder for the same
 * collection) for collection `name`, instead of opening one from the collection's spec: the
 * only way to serve a "custom:..." collection, and a way to share one loaded model. The
 * collection must have an embedder spec; e's name and dim must match the recorded ones (they are
 * recorded now when none are yet). */
frugal_status frugal_use_embedder(frugal_db *db, const char *name, frugal_embedder *e);

/* ---- Rerankers ------------------------------------------------------------------------------ */

/* A reranker is a cross-encoder: it reads the query and a passage together and scores their
 * relevance (a logit, higher = more relevant), more precisely than the retrieval scores and at
 * a much higher cost per passage; frugal_search applies it to its top hits when asked
 * (frugal_search_params.rerank_top_n), within a time budget. */
typedef struct frugal_reranker frugal_reranker;

/* Opens a Hugging Face cross-encoder folder: config.json with architectures
 * BertForSequenceClassification and one label (the shape of the ms-marco MiniLM
 * cross-encoders), model.safetensors, vocab.txt or tokenizer.json. threads: encoder threads per
 * call (0 = 1). On failure *out may still be set so that frugal_reranker_errmsg says why; free
 * it in every case. */
frugal_status frugal_reranker_open(const char *dir, int threads, frugal_reranker **out);
/* scores[0..n) (caller-sized) = the logit of (query, passages[i]). Thread-safe (serialized). */
frugal_status frugal_reranker_score(frugal_reranker *r, const char *query,
                                    const char *const *passages, size_t n, float *scores);
/* The message of the reranker's last failure ("" when none). Borrowed. */
const char *frugal_reranker_errmsg(const frugal_reranker *r);
void frugal_reranker_free(frugal_reranker *r);

/* Makes db rerank with r (borrowed: it must outlive db or the next call; NULL detaches). One
 * reranker may serve several handles in several threads. */
frugal_status frugal_use_reranker(frugal_db *db, frugal_reranker *r);

/* ---- Collections ---------------------------------------------------------------------------- */

/* Every document belongs to one collection; "default" exists from the start. A collection fixes
 * its analyzer (language, stopwords) at creation; BM25 parameters can change at any time. */
typedef struct frugal_collection_params {
    const char *language;   /* Snowball stemmer name ("english", "french", ...) or "none" */
    const char *stopwords;  /* NULL: the language's default list; "": none; else words separated
                               by commas or spaces */
    double k1;              /* BM25 term-frequency saturation (default 0.9) */
    double b;               /* BM25 length normalization (default 0.4) */
    double title_weight;    /* weight of the document title field (default 1.0) */
    double heading_weight;  /* weight of the heading path field (default 1.0) */
    double body_weight;     /* weight of the chunk text (default 1.0) */
    const char *embedder;   /* dense vectors: an embedder spec (see Embedders), or NULL for none
                               (default). A built-in one is opened at creation, so that a bad
                               spec fails here, and its name and dimension are recorded. */
    const char *vector_type;/* how the vector index stores vectors: "f32" (default), "f16" or
                               "i8" (the database always keeps float32) */
} frugal_collection_params;
void frugal_collection_default_params(frugal_collection_params *params);

typedef struct frugal_collection_info {
    int64_t id;
    char *name;
    char *language;
    char *stopwords;        /* NULL when the language default is used */
    double k1, b, title_weight, heading_weight, body_weight;
    int64_t n_documents;
    int64_t n_chunks;
    char *embedder;         /* the spec, NULL without dense vectors */
    char *embedder_name;    /* recorded name, NULL until known */
    int64_t embedder_dim;   /* recorded dimension, 0 until known */
    char *vector_type;      /* "f32", "f16" or "i8" */
} frugal_collection_info;

/* Creates collection `name` (1..128 bytes of letters, digits, '_', '-', '.'). FRUGAL_EEXIST if
 * it exists. params may be NULL for defaults. */
frugal_status frugal_collection_create(frugal_db *db, const char *name,
                                       const frugal_collection_params *params);
/* Changes BM25 parameters (k1, b, weights) of an existing collection; language and stopwords
 * are fixed and ignored here. */
frugal_status frugal_collection_tune(frugal_db *db, const char *name,
                                     const frugal_collection_params *params);
/* Gives an existing collection an embedder (spec and vector_type as in
 * frugal_collection_params; NULL vector_type = "f32"). Allowed while the collection holds no
 * chunks; setting the spec it already has is a no-op; otherwise FRUGAL_EINVAL with a message:
 * vectors are computed at ingestion only, so a collection that already holds chunks needs a new
 * collection (or its documents deleted first). */
frugal_status frugal_collection_set_embedder(frugal_db *db, const char *name, const char *spec,
                                             const char *vector_type);
/* Deletes a collection with all its documents and chunks. */
frugal_status frugal_collection_delete(frugal_db *db, const char *name);
/* Lists collections; free with frugal_collection_list_free. */
frugal_status frugal_collection_list(frugal_db *db, frugal_collection_info **out, size_t *n_out);
void frugal_collection_list_free(frugal_collection_info *list, size_t n);

/* ---- Ingestion ------------------------------------------------------------------------------ */

typedef enum frugal_file_outcome {
    FRUGAL_FILE_ADDED = 0,
    FRUGAL_FILE_UPDATED = 1,
    FRUGAL_FILE_UNCHANGED = 2,
    FRUGAL_FILE_DELETED = 3,
    FRUGAL_FILE_FAILED = 4,
    FRUGAL_FILE_SKIPPED = 5, /* excluded by a glob, or found in a folder and binary */
} frugal_file_outcome;

/* Called once per document (or per file that failed). `source` and `reason` are borrowed;
 * reason is NULL except for FAILED and SKIPPED. */
typedef void (*frugal_file_fn)(void *ctx, const char *source, frugal_file_outcome outcome,
                               const char *reason);
/* Called as files are processed: done of total files (total is 0 while still counting). */
typedef void (*frugal_progress_fn)(void *ctx, size_t done, size_t total);

typedef struct frugal_ingest_params {
    const char *collection;        /* default "default"; created when missing */
    const char *const *include;    /* glob patterns on file names (fnmatch); NULL = all supported */
    size_t n_include;
    const char *const *exclude;    /* glob patterns matched against the file name and the path */
    size_t n_exclude;
    const char *metadata_json;     /* JSON object merged into every document's metadata, or NULL */
    size_t chunk_tokens;           /* target chunk size in words (default 200) */
    size_t chunk_overlap;          /* overlap between consecutive chunks in words (default 40) */
    size_t max_file_bytes;         /* larger files fail with FRUGAL_ETOOBIG (default 64 MiB) */
    int pdf_timeout_s;             /* time limit for pdftotext (default 60) */
    frugal_file_fn on_file;        /* optional per-document report */
    frugal_progress_fn on_progress;/* optional progress */
    void *ctx;                     /* passed to both callbacks */
} frugal_ingest_params;
void frugal_ingest_default_params(frugal_ingest_params *params);

typedef struct frugal_ingest_report {
    size_t added, updated, unchanged, deleted, failed, skipped;
    size_t chunks_written;
} frugal_ingest_report;

/* When the collection has an embedder, every chunk's vector is computed (the chunks of a
 * document in one batch) and stored in the same transaction as the chunk.
 *
 * Adds or updates the files and folders (recursively) in `paths` (borrowed). A file that fails is
 * reported through on_file and counted; the rest go on. Each document is written in its own
 * transaction: an interruption loses at most the document in flight. Returns FRUGAL_OK when
 * the batch ran (even with failed files), an error only when it could not run at all. */
frugal_status frugal_ingest(frugal_db *db, const char *const *paths, size_t n_paths,
                            const frugal_ingest_params *params, frugal_ingest_report *report);

/* Makes the collection mirror folder `dir`: new files added, changed ones (by content hash)
 * re-indexed, unchanged skipped, and documents whose files vanished from under `dir` deleted. */
frugal_status frugal_sync(frugal_db *db, const char *dir, const frugal_ingest_params *params,
                          frugal_ingest_report *report);

/* Ingests one document from memory. `name` (borrowed) is its source and picks the format by
 * extension (".md", ".html", ".pdf", ".docx", ".jsonl", else text). */
frugal_status frugal_ingest_buffer(frugal_db *db, const char *name, const void *data, size_t len,
                                   const frugal_ingest_params *params,
                                   frugal_ingest_report *report);

/* ---- Documents ------------------------------------------------------------------------------ */

typedef struct frugal_document_info {
    int64_t id;
    char *collection;
    char *source;         /* file path, "path#record-id" for JSONL records, or an upload name */
    char *ext_id;         /* the record's _id for JSONL, else NULL */
    char *title;          /* may be NULL */
    char *content_hash;   /* hex SHA-256 of the bytes the document came from */
    char *metadata_json;  /* JSON object text */
    int64_t size;         /* bytes */
    int64_t mtime;        /* seconds since the epoch (0 for uploads) */
    int64_t n_chunks;
} frugal_document_info;

/* Lists documents of a collection (NULL = "default") in id order, from `offset`, at most
 * `limit` (0 = all). */
frugal_status frugal_document_list(frugal_db *db, const char *collection, size_t offset,
                                   size_t limit, frugal_document_info **out, size_t *n_out);
void frugal_document_list_free(frugal_document_info *list, size_t n);

/* The extracted text of document `id` in `collection` (NULL = any): the text that citations'
 * and hits' char_start/char_end point into. *text_out is owned (frugal_free), "" when the
 * document kept no text; *len_out (may be NULL) its length in bytes. FRUGAL_ENOTFOUND when the
 * collection holds no such document. */
frugal_status frugal_document_text(frugal_db *db, const char *collection, int64_t id,
                                   char **text_out, size_t *len_out);
/* Deletes one document by id (from any collection when collection is NULL). */
frugal_status frugal_document_delete(frugal_db *db, const char *collection, int64_t id);
/* Deletes the documents of a collection whose source equals `source`, or starts with
 * `source` + "/" or "#" (a folder or a JSONL file). *n_deleted may be NULL. */
frugal_status frugal_document_delete_source(frugal_db *db, const char *collection,
                                            const char *source, size_t *n_deleted);

/* ---- Search --------------------------------------------------------------------------------- */

/* A metadata condition: metadata[key] equals one of values (an "in" list when n_values > 1).
 * An array-valued field matches when any element matches. Numbers compare by their text. */
typedef struct frugal_filter {
    const char *key;
    const char *const *values;
    size_t n_values;
} frugal_filter;

/* How frugal_search ranks. Numbers are stable. */
typedef enum frugal_search_mode {
    FRUGAL_SEARCH_BM25 = 0,   /* keywords, BM25F (default) */
    FRUGAL_SEARCH_DENSE = 1,  /* the collection's embedder + vector index; needs an embedder */
    FRUGAL_SEARCH_HYBRID = 2, /* both, fused (see frugal_fusion); needs an embedder */
} frugal_search_mode;

/* How hybrid mode fuses the BM25 and dense candidate lists. Each side fetches max(k, 100)
 * candidates with the same collection and filters; an entry missing from one side gets nothing
 * from it. Without group_by_document entries are chunks; with it, documents (each side's list
 * of best chunks per document is fused by document, and the hit shows the chunk of the side
 * that contributes more, BM25 on a tie). Fused ties go to the lower chunk id. */
typedef enum frugal_fusion {
    FRUGAL_FUSION_RRF = 0,    /* reciprocal rank fusion: score = 1/(60 + rank_bm25) +
                                 1/(60 + rank_dense), ranks from 1; in (0, 2/61] */
    FRUGAL_FUSION_CONVEX = 1, /* score = (1 - alpha) * bm25' + alpha * cosine', each side's
                                 scores min-max normalized over its candidates; in [0, 1] */
} frugal_fusion;
/* The defaults, chosen by nDCG@10 on SciFact with GloVe as the dense side (BENCHMARKS.md,
 * hybrid). */
#define FRUGAL_SEARCH_DEFAULT_FUSION FRUGAL_FUSION_CONVEX
#define FRUGAL_SEARCH_DEFAULT_ALPHA 0.02
#define FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS 200.0

typedef struct frugal_search_params {
    const char *collection;        /* default "default" */
    frugal_search_mode mode;       /* default FRUGAL_SEARCH_BM25 */
    size_t k;                      /* number of hits (default 10, at most 10000) */
    const frugal_filter *filters;  /* all must hold (AND) */
    size_t n_filters;
    bool group_by_document;        /* one hit per document: its best chunk (default false) */
    bool snippets;                 /* fill hit.snippet (default true) */
    const char *highlight_open;    /* marks around matched terms in snippets (default "[") */
    const char *highlight_close;   /* (default "]") */
    frugal_fusion fusion;          /* hybrid only (default FRUGAL_SEARCH_DEFAULT_FUSION) */
    double alpha;                  /* hybrid, CONVEX: weight of the dense side in [0, 1]
                                      (default FRUGAL_SEARCH_DEFAULT_ALPHA) */
    double mmr_lambda;             /* hybrid: MMR diversification of the fused candidates,
                                      in [0, 1]; 0 = off (default). Picks greedily the
                                      candidate maximizing lambda * relevance - (1 - lambda) *
                                      its highest cosine to those picked (relevance: the fused
                                      score min-max normalized); hits keep their fused scores,
                                      in MMR order */
    size_t rerank_top_n;           /* rerank the top N hits with the attached reranker
                                      (frugal_use_reranker; EINVAL without one); 0 = off
                                      (default). Retrieval fetches max(k, N), the reranked
                                      come first by logit, then k are kept */
    double rerank_budget_ms;       /* time reranking may take (default
                                      FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS; < 0: no limit).
                                      From the measured cost of a token and the pairs'
                                      lengths, fewer than N (or none: a budget of 0) are
                                      reranked when N would not fit; the results say how many
                                      and why. A target: a slow batch may overrun it */
} frugal_search_params;
void frugal_search_default_params(frugal_search_params *params);

typedef struct frugal_hit {
    int64_t chunk_id;
    int64_t document_id;
    double score;          /* higher is better: BM25, or in dense mode the cosine similarity of
                              the query and chunk vectors, in [-1, 1], or in hybrid mode the
                              fused score (see frugal_fusion) */
    int ordinal;           /* chunk number within its document, from 0 */
    char *source;
    char *ext_id;          /* may be NULL */
    char *title;           /* may be NULL */
    char *heading_path;    /* "Chapter > Section", may be "" */
    char *text;            /* the chunk's text */
    char *snippet;         /* highlighted excerpt, NULL unless snippets */
    char *metadata_json;
    int64_t char_start;    /* offsets of the chunk in the document's extracted text, in code */
    int64_t char_end;      /* points (Unicode scalar values), end exclusive */
    double rerank_score;   /* the reranker's logit for the first results.reranked hits, else 0 */
} frugal_hit;

typedef struct frugal_results {
    frugal_hit *hits;
    size_t n_hits;
    double elapsed_ms;
    double agreement;      /* hybrid mode: how far BM25 and dense agree, in [0, 1]: the share of
                              the top 5 ids (documents when grouping, else chunks) of one side's
                              candidates found in the other's top 5; -1 in other modes */
    size_t reranked;       /* hits the reranker scored (they come first, by its logit) */
    char *rerank_note;     /* why fewer than rerank_top_n were reranked ("rerank budget 0 ms:
                              none of 10 hits reranked"); NULL when all were or none asked */
} frugal_results;

/* Ranks chunks of a collection against `query` (borrowed). The query is plain text: it is
 * analyzed like the documents and never interpreted as a query language. */
frugal_status frugal_search(frugal_db *db, const char *query, const frugal_search_params *params,
                            frugal_results **out);
void frugal_results_free(frugal_results *results);

/* frugal_search ranks with frugal's own BM25 index, kept beside the database in PATH.bm25/
 * (one file per collection, rebuilt from the database when missing or damaged, updated from
 * the database's change log in memory between optimizations). Setting the environment variable
 * FRUGAL_BM25_ENGINE=fts5 ranks with SQLite FTS5 instead (same scores; for benchmarks).
 * frugal_optimize rewrites the BM25 index file of `collection` (NULL = every collection) from
 * the database, folding in every change since it was written; the file is replaced atomically. */
frugal_status frugal_optimize(frugal_db *db, const char *collection);

/* Dense mode searches a vector index kept beside the database in PATH.vec/<collection id>.hnsw
 * (HNSW, cosine, in the collection's vector_type), derived like the BM25 index: the database's
 * chunk_vectors table is the truth, a missing, corrupt, stale or foreign file is rebuilt from it
 * (with a log message), and changes since the file was written are applied from the change log
 * and the file rewritten. Collections of fewer than FRUGAL_DENSE_FLAT_MAX vectors (default 5000;
 * the environment variable of that name overrides it) are scanned exactly in memory instead,
 * with no file. Filters become an allowed-id set tested during the search. */

/* ---- Evaluation ----------------------------------------------------------------------------- */

typedef struct frugal_eval_params {
    const char *split;        /* BEIR qrels split (default "test") */
    const char *collection;   /* collection to ingest into (default "eval") */
    bool reuse;               /* skip ingestion when the collection already holds documents */
    size_t chunk_tokens;      /* chunking of the corpus; 0 = frugal_ingest_default_params' */
    size_t chunk_overlap;     /* used only when chunk_tokens is set */
    frugal_search_mode mode;  /* default FRUGAL_SEARCH_BM25 */
    frugal_fusion fusion;     /* hybrid mode: as frugal_search_params (same defaults) */
    double alpha;
    const char *embedder;     /* spec given to the collection when eval creates it (dense mode
                                 needs one); NULL: none */
    frugal_progress_fn on_progress;
    void *ctx;
} frugal_eval_params;
void frugal_eval_default_params(frugal_eval_params *params);

typedef struct frugal_eval_report {
    size_t queries;           /* judged queries evaluated */
    size_t documents;         /* documents in the collection */
    double ndcg_at_10;        /* as pytrec_eval: graded gains, log2 discount, mean over queries */
    double recall_at_100;
    double mrr_at_10;
    double latency_ms_p50;    /* per query, search only */
    double latency_ms_p99;
    double ingest_seconds;    /* 0 when reused */
} frugal_eval_report;

/* Evaluates search (params->mode) on a BEIR folder (corpus.jsonl[.gz], queries.jsonl or
 * queries.SPLIT.jsonl, qrels/SPLIT.tsv) ingested into db. Documents rank by their best chunk. */
frugal_status frugal_eval_beir(frugal_db *db, const char *dir, const frugal_eval_params *params,
                               frugal_eval_report *report);
/* The same on a Cranfield folder in SMART format (cran.all.1400, cran.qry, cranqrel). */
frugal_status frugal_eval_cranfield(frugal_db *db, const char *dir,
                                    const frugal_eval_params *params, frugal_eval_report *report);

/* ---- API keys ------------------------------------------------------------------------------ */

/* Keys for the HTTP server (`frugal serve`). A key is shown once, at creation; the database keeps
 * only its SHA-256. Roles: a reader searches, gets and lists; a writer also uploads, ingests and
 * deletes documents; an admin also manages collections and keys. A key limited to collections
 * may touch only those. */
typedef enum frugal_key_role {
    FRUGAL_KEY_READER = 0,
    FRUGAL_KEY_WRITER = 1,
    FRUGAL_KEY_ADMIN = 2,
} frugal_key_role;

typedef struct frugal_key_info {
    int64_t id;
    frugal_key_role role;
    char **collections;     /* (n_collections) names the key is limited to; none = all */
    size_t n_collections;
    int64_t created_at;     /* seconds since the epoch */
    int64_t revoked_at;     /* 0 while valid */
} frugal_key_info;

/* Creates a key ("fk_" and 32 letters and digits from a cryptographic random source) with
 * `role`, limited to the collections named (borrowed; n_collections 0 = all). *key_out (owned,
 * frugal_free) is the only copy of the key; *id_out may be NULL. */
frugal_status frugal_key_create(frugal_db *db, frugal_key_role role,
                                const char *const *collections, size_t n_collections,
                                char **key_out, int64_t *id_out);
/* Lists every key, revoked ones too; free with frugal_key_list_free. */
frugal_status frugal_key_list(frugal_db *db, frugal_key_info **out, size_t *n_out);
void frugal_key_list_free(frugal_key_info *list, size_t n);
/* Revokes key `id`; FRUGAL_ENOTFOUND when there is no such valid key. */
frugal_status frugal_key_revoke(frugal_db *db, int64_t id);
/* Looks up a key text (borrowed): FRUGAL_OK and *out filled (release with
 * frugal_key_info_release) when it is a valid key, FRUGAL_ENOTFOUND when unknown or revoked. */
frugal_status frugal_key_check(frugal_db *db, const char *key, frugal_key_info *out);
void frugal_key_info_release(frugal_key_info *info);
/* Whether the key may use collection `name` (true for keys with no collection limit). */
bool frugal_key_allows(const frugal_key_info *info, const char *name);

/* ---- Answers -------------------------------------------------------------------------------- */

/* frugal_ask answers a question from a collection and says how: its route ("extractive": the
 * best sentence of the retrieved chunks, found on the CPU; later "generate" and "cache"), the
 * reason for that route, a confidence in [0, 1], the citations it rests on, the time each stage
 * took, the tokens a generator used and the cost. The extractive route scores every sentence of
 * the top k chunks against the question (coverage of the question's analyzed terms weighted by
 * idf, sentence BM25, neighbouring sentences, chunk rank, answer-type cues: a number for "how
 * many", a year or date for "when", a name for "who", a place for "where"); its confidence is a
 * logistic model fitted on SQuAD v1.1 (BENCHMARKS.md). */

typedef enum frugal_ask_mode {
    FRUGAL_ASK_AUTO = 0,       /* the router decides (default; policy below) */
    FRUGAL_ASK_EXTRACTIVE = 1, /* always the extractive answer */
    FRUGAL_ASK_GENERATE = 2,   /* always a generator (FRUGAL_EUNSUPPORTED when none is
                                  attached); falls back to the extractive answer when every
                                  generator fails or a budget is spent */
} frugal_ask_mode;

/* The router (mode AUTO): (1) a fresh cached generated answer for the same normalized question
 * in the collection, or (with an embedder) for a question whose embedding is at least
 * cache_similarity cosine-close to it -> route "cache"; (2) the extractive answer when its
 * confidence clears the threshold (min_confidence, raised by 0.15 for comparison, explanation
 * or multi-part questions, and by 0.05 when the collection has an embedder and BM25 and dense
 * retrieval disagree: frugal_results.agreement < 0.5; retrieval is hybrid then), or when no
 * generator can take the question: none attached, every circuit open, every generator at its
 * capacity, or the collection's or key's budget would be exceeded (Budgets, below); the
 * reason then starts "generator unavailable: " (a spent budget also binds mode GENERATE);
 * (3) otherwise the attached generators in order (failover) with the compressed context as
 * numbered sources; their [n] citations are checked (numbers pointing at no source are
 * removed) and mapped to chunks. When generation fails the
 * extractive answer is returned with a reason starting "generator unavailable: ". Generated
 * answers are cached (SQLite, schema 5) and dropped when a document they used changes or goes,
 * after a TTL of 7 days, or least recently used past 10,000 entries per collection. */

/* Receives generated text as it streams (borrowed for the call, not NUL-terminated, citations
 * not yet checked). Return 0 to go on, non-zero to stop the generation. */
typedef int (*frugal_delta_fn)(void *ctx, const char *text, size_t len);

/* The confidence threshold at which the router answers on the CPU: the lowest whose answer
 * support is >= 90% on the fitting half of SQuAD v1.1 dev in a collection without an embedder
 * (BENCHMARKS.md, squad; the other half is the check; with GloVe 0.65 would do). */
#define FRUGAL_ASK_DEFAULT_THRESHOLD 0.68
/* The compressed context a generator is sent: sentences of the top
 * FRUGAL_ASK_DEFAULT_CONTEXT_CHUNKS chunks (the answer itself comes from the top k). Each
 * sentence's share of the softmax of the sentence scores over all of them is its chance of
 * being the one that holds the answer; the answer sentence is sent, then the others whose
 * chance per token (share / (tokens + 1)) is at least FRUGAL_ASK_DEFAULT_CONTEXT_GAIN, at most
 * FRUGAL_ASK_DEFAULT_BUDGET tokens in all: a confident extraction sends a sentence or two, a
 * doubtful one more. Chosen on the fitting half of SQuAD v1.1 dev for the most context support
 * at <= 25% of the top-5 chunks' tokens (BENCHMARKS.md, squad). */
#define FRUGAL_ASK_DEFAULT_BUDGET 600
#define FRUGAL_ASK_DEFAULT_CONTEXT_GAIN 0.00054
#define FRUGAL_ASK_DEFAULT_CONTEXT_CHUNKS 10
/* Near-duplicate cache hits (collections with an embedder): the cosine between the embeddings
 * of the question and a cached question at or above which the cached answer is returned
 * (reason "near-duplicate cache hit (cosine c): ..."). Meant for sentence-embedding models;
 * averaged word vectors (glove) score questions that differ in one entity this high too. */
#define FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY 0.95

typedef struct frugal_ask_params {
    const char *collection;        /* default "default" */
    frugal_ask_mode mode;          /* default FRUGAL_ASK_AUTO */
    size_t k;                      /* chunks the answer comes from (default 5, at most 100) */
    double min_confidence;         /* CPU answer threshold (default FRUGAL_ASK_DEFAULT_THRESHOLD) */
    size_t context_budget_tokens;  /* compressed context: the most tokens it may take (default
                                      FRUGAL_ASK_DEFAULT_BUDGET); with context_gain 0, the
                                      budget itself (best sentences first, then neighbours) */
    double context_gain;           /* compressed context: the least chance per token a sentence
                                      needs (default FRUGAL_ASK_DEFAULT_CONTEXT_GAIN; 0 = a
                                      fixed budget of context_budget_tokens) */
    size_t context_chunks;         /* chunks the context is drawn from (default
                                      FRUGAL_ASK_DEFAULT_CONTEXT_CHUNKS; fewer than k: k) */
    const frugal_filter *filters;  /* as frugal_search_params (AND) */
    size_t n_filters;
    frugal_delta_fn on_delta;      /* optional: stream the generated text */
    void *delta_ctx;
    bool no_cache;                 /* neither read nor write the answer cache */
    int max_tokens;                /* generated tokens at most (default 0 = 512) */
    double cache_similarity;       /* near-duplicate cache hits at or above this cosine
                                      (default FRUGAL_ASK_DEFAULT_CACHE_SIMILARITY, also
                                      taken for 0; > 1: exact hits only) */
    size_t rerank_top_n;           /* as frugal_search_params: rerank the top N retrieved
                                      chunks with the attached reranker before extraction,
                                      k kept (0 = off, default) */
    double rerank_budget_ms;       /* as frugal_search_params (default
                                      FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS) */
    int64_t api_key_id;            /* the API key asking (frugal_key_info.id): its budget
                                      applies besides the collection's (Budgets); 0 = none
                                      (default) */
} frugal_ask_params;
void frugal_ask_default_params(frugal_ask_params *params);

typedef struct frugal_citation {
    int64_t document_id;
    int64_t chunk_id;
    int ordinal;            /* chunk number within its document, from 0 */
    char *source;
    char *ext_id;           /* may be NULL */
    char *title;            /* may be NULL */
    char *heading_path;     /* "Chapter > Section", may be "" */
    int64_t char_start;     /* the cited sentence in the document's extracted text, in code */
    int64_t char_end;       /* points, end exclusive */
    char *snippet;          /* the cited sentence */
    double score;           /* its extractive score */
} frugal_citation;

typedef struct frugal_answer_timings {
    double retrieve_ms;     /* frugal_search */
    double extract_ms;      /* sentence scoring, span, confidence, compression */
    double generate_ms;     /* 0 on the extractive route */
    double total_ms;
    double cache_ms;        /* the cache lookup (and store after a generation) */
} frugal_answer_timings;

typedef struct frugal_answer {
    char *text;             /* the answer; "" when nothing was retrieved */
    char *span;             /* a short span of text that answers exactly (a number, a date, a
                               name), NULL when no answer-type cue located one */
    const char *route;      /* static: "extractive", "generate" or "cache" */
    char *reason;           /* why this route, one line */
    double confidence;      /* in [0, 1]: the estimated chance that text answers the question */
    frugal_citation *citations; /* citations[0] is the answer sentence; then supporting ones */
    size_t n_citations;
    frugal_answer_timings timings_ms;
    size_t prompt_tokens;      /* tokens sent to a generator (0 on the extractive route) */
    size_t completion_tokens;  /* tokens it produced (0 on the extractive route) */
    size_t context_tokens;     /* the compressed context a generator would get (approximate BPE
                                  tokens) */
    size_t context_tokens_full;/* the same for the top-5 chunks sent whole */
    double cost_cpu_ms;        /* CPU time of this answer in this thread */
    double cost_usd;           /* the tokens at the generator's prices plus cost_cpu_ms at the
                                  CPU-hour price, from $FRUGAL_PRICES (price table format in
                                  src/answer/cost.h; the currency is the table's) */
    char *generator;           /* the generator that answered (route "generate", or "cache":
                                  the one that answered then), else NULL */
    size_t citations_removed;  /* [n] in the generated text that pointed at no source */
} frugal_answer;

/* Answers `question` (borrowed) from a collection. *out is owned by the caller (free with
 * frugal_answer_free); it is set on success only. A question that retrieves nothing gets an
 * answer with text "" and confidence 0, not an error. FRUGAL_EUNSUPPORTED for mode GENERATE
 * without an attached generator ("no generator configured"). params may be NULL for defaults.
 * On the generate route citations are the sources the text cites ([n] = citations in source
 * order, snippet = the compressed text the generator saw). */
frugal_status frugal_ask(frugal_db *db, const char *question, const frugal_ask_params *params,
                         frugal_answer **out);
void frugal_answer_free(frugal_answer *answer);

/* ---- Generators ------------------------------------------------------------------------------ */

/* An LLM generator for frugal_ask: an OpenAI-compatible /v1/chat/completions server (llama.cpp,
 * Ollama, vLLM, OpenAI) or AWS Bedrock Converse, with timeouts, retries on 429/5xx, a circuit
 * breaker (open after failure_threshold consecutive failures, one probe after cooldown_ms) and
 * live health figures the router reads. Safe to share between threads and handles. */
typedef struct frugal_generator frugal_generator;

typedef struct frugal_generator_params {
    int capacity;           /* concurrent requests it serves well; the router sends none beyond
                               (default 0 = unknown, no limit) */
    int failure_threshold;  /* default 3 */
    long cooldown_ms;       /* default 30000 */
    long timeout_ms;        /* whole call, retries included (default 120000) */
    int max_retries;        /* on 429/5xx (default 2) */
} frugal_generator_params;
void frugal_generator_default_params(frugal_generator_params *params);

/* A generator from a spec: "openai:MODEL@URL" (URL as for _open_openai; the API key from
 * $FRUGAL_GEN_API_KEY or $OPENAI_API_KEY) or "bedrock:MODEL@REGION" (credentials from the
 * AWS_* environment). params may be NULL. *out is owned (frugal_generator_free); NULL on
 * failure (FRUGAL_EINVAL for a malformed spec or missing setting). */
frugal_status frugal_generator_open(const char *spec, const frugal_generator_params *params,
                                    frugal_generator **out);
/* url: "http://host:port" (a "/v1" suffix or a full ".../chat/completions" URL also work);
 * api_key may be NULL. Strings are copied. */
frugal_status frugal_generator_open_openai(const char *url, const char *model,
                                           const char *api_key,
                                           const frugal_generator_params *params,
                                           frugal_generator **out);
/* region and model_id required; credentials from $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY,
 * $AWS_SESSION_TOKEN. */
frugal_status frugal_generator_open_bedrock(const char *region, const char *model_id,
                                            const frugal_generator_params *params,
                                            frugal_generator **out);
void frugal_generator_free(frugal_generator *gen);
/* "openai:MODEL" or "bedrock:MODEL": the name the price table uses. */
const char *frugal_generator_name(const frugal_generator *gen);

/* A snapshot of a generator's live health figures (the ones the router reads). */
typedef struct frugal_generator_health {
    const char *circuit;       /* static: "closed", "open" (calls refused) or "half-open" (one
                                  probe allowed) */
    int in_flight;             /* calls running now */
    int capacity;              /* from frugal_generator_params (0 = no limit) */
    double p50_ms;             /* latency of recent successful calls (0 when none) */
    double p95_ms;
    double error_rate;         /* failed share of the recent calls, in [0, 1] */
    uint64_t calls;            /* lifetime: calls let through to the backend */
    uint64_t failures;         /* lifetime: of those, failed */
    uint64_t rejected;         /* lifetime: refused because the circuit was open */
} frugal_generator_health;
/* Fills *out (takes the generator's lock briefly; safe from any thread). */
void frugal_generator_get_health(frugal_generator *gen, frugal_generator_health *out);

/* Attaches gens[0..n) (borrowed: they must outlive db or a later call) as the ordered failover
 * list frugal_ask uses; n = 0 detaches. Reads the price table from $FRUGAL_PRICES (FRUGAL_EINVAL
 * with the line in frugal_errmsg when it is malformed). */
frugal_status frugal_use_generators(frugal_db *db, frugal_generator *const *gens, size_t n);

/* ---- Budgets ------------------------------------------------------------------------------- */

/* Limits on what generated answers may cost, in the price table's currency ($FRUGAL_PRICES):
 * per collection, and per API key (the key frugal_ask_params.api_key_id names). Budgets live in
 * the database (schema 6, table budgets), so every handle, thread and process on it sees the
 * same figures, and they survive restarts. Before generating, frugal_ask reads what is left of
 * every budget that applies and answers extractively when a budget is spent (spent >= limit)
 * or left is below the estimated cost of one generation (the context's tokens plus max_tokens
 * at the first generator's prices); the reason then reads "generator unavailable: budget of
 * collection 'C' exhausted (spent S of L, ...)" or "... budget of key N exhausted ...". After a
 * generated answer, its generator cost (tokens at the price table; CPU time is not charged) is
 * added to each of them in one atomic UPDATE. Concurrent askers can overshoot a limit by at
 * most the generations already in flight when it ran out. Cached answers cost nothing.
 * Budget writes do not move the database generation (derived indexes do not catch up). */
typedef enum frugal_budget_scope {
    FRUGAL_BUDGET_COLLECTION = 0, /* answers from one collection */
    FRUGAL_BUDGET_KEY = 1,        /* answers asked with one API key (frugal_key_create's id) */
} frugal_budget_scope;

typedef enum frugal_budget_period {
    FRUGAL_BUDGET_LIFETIME = 0, /* spent only grows (until reset) */
    FRUGAL_BUDGET_DAILY = 1,    /* spent starts again from 0 at 00:00 UTC */
    FRUGAL_BUDGET_MONTHLY = 2,  /* ... on the 1st of each month, 00:00 UTC */
} frugal_budget_period;

typedef struct frugal_budget {
    frugal_budget_scope scope;
    char collection[129];     /* scope COLLECTION: its name; else "" */
    int64_t key_id;           /* scope KEY: the key's id; else 0 */
    frugal_budget_period period;
    double limit;             /* what the period may cost */
    double spent;             /* spent in the current period */
    double left;              /* limit - spent; negative once overspent */
    int64_t period_start;     /* seconds since the epoch: start of the current period (lifetime:
                                 when the budget was set or reset) */
    int64_t updated_at;       /* last set or charge */
} frugal_budget;

/* Sets the budget of one collection (scope COLLECTION, collection required: 1 to 128 of
 * [A-Za-z0-9_.-]; it need not exist yet) or one key (scope KEY, key_id of an existing key, else
 * FRUGAL_ENOTFOUND) to `limit` (>= 0, finite) per `period`. Changing the limit keeps what was
 * spent, unless reset_spent is true or the period changes. */
frugal_status frugal_budget_set(frugal_db *db, frugal_budget_scope scope, const char *collection,
                                int64_t key_id, double limit, frugal_budget_period period,
                                bool reset_spent);
/* Removes a budget; FRUGAL_ENOTFOUND when there is none. */
frugal_status frugal_budget_clear(frugal_db *db, frugal_budget_scope scope,
                                  const char *collection, int64_t key_id);
/* The budget as of now (a daily or monthly one whose period has passed reads spent 0);
 * FRUGAL_ENOTFOUND when there is none. */
frugal_status frugal_budget_get(frugal_db *db, frugal_budget_scope scope, const char *collection,
                                int64_t key_id, frugal_budget *out);
/* Every budget (collections by name, then keys by id); *out owned, frugal_free it. */
frugal_status frugal_budget_list(frugal_db *db, frugal_budget **out, size_t *n_out);

/* The budget of `collection` (NULL or "" = "default"): frugal_budget_set with scope COLLECTION,
 * period LIFETIME, spent kept; amount < 0 removes it (no error when there is none). Since schema
 * 6 it is stored in the database (before, it was kept in memory per handle). */
frugal_status frugal_set_budget(frugal_db *db, const char *collection, double amount);

/* ---- SQuAD evaluation of the answers ---------------------------------------------------------- */

#define FRUGAL_SQUAD_CURVE 10 /* curve points: thresholds 0.0, 0.1, ..., 0.9 */

typedef struct frugal_squad_params {
    const char *collection;   /* default "squad" */
    bool reuse;               /* skip ingestion when the collection already holds documents */
    size_t limit;             /* ask only the first N questions (0 = all) */
    size_t k;                 /* chunks per question (default 5) */
    double threshold;         /* CPU share threshold (default FRUGAL_ASK_DEFAULT_THRESHOLD) */
    size_t context_budget_tokens; /* the cap of the compressed context (as frugal_ask_params;
                                     default FRUGAL_ASK_DEFAULT_BUDGET) */
    size_t context_chunks;    /* chunks the generator's context is drawn from (as
                                 frugal_ask_params; 0 = FRUGAL_ASK_DEFAULT_CONTEXT_CHUNKS); the
                                 .sentences file lists the sentences of the top max(k,
                                 context_chunks) */
    const char *embedder;     /* the collection's embedder when it is created (a spec as
                                 frugal_collection_params; NULL = none): with "glove" the
                                 extractor adds its word-vector features and retrieval is
                                 hybrid, as frugal_ask does for such a collection */
    const char *features_path;/* when set, one TSV line per question (id, article, label,
                                 confidence, features) is written there, for fitting the
                                 confidence model (bench/squad_fit.py) */
    frugal_progress_fn on_progress;
    void *ctx;
} frugal_squad_params;
void frugal_squad_default_params(frugal_squad_params *params);

typedef struct frugal_squad_report {
    size_t questions;
    size_t documents;         /* paragraphs ingested */
    double support;           /* share of questions whose answer text contains a gold answer
                                 (SQuAD normalization) */
    double span_support;      /* the same for the short span (span, else text) */
    double f1;                /* mean SQuAD token F1 of the span (else text) vs the best gold */
    double retrieval_support; /* share whose top-k chunks contain a gold answer */
    double threshold;
    double cpu_share;         /* share with confidence >= threshold */
    double cpu_support;       /* support on that share */
    double context_support;   /* share whose compressed context contains a gold answer */
    double context_token_ratio; /* compressed context tokens / top-5 chunk tokens, summed */
    double curve_coverage[FRUGAL_SQUAD_CURVE]; /* share with confidence >= 0.1 * i */
    double curve_support[FRUGAL_SQUAD_CURVE];  /* support on that share */
    double latency_ms_p50;    /* per question: retrieval + extraction */
    double latency_ms_p99;
    double ingest_seconds;
} frugal_squad_report;

/* Evaluates frugal_ask's extractive route on a SQuAD v1.1 JSON file (gzipped or not): every
 * paragraph becomes a document of the collection, every question is asked. */
frugal_status frugal_eval_squad(frugal_db *db, const char *path, const frugal_squad_params *params,
                                frugal_squad_report *report);

#ifdef __cplusplus
}
#endif
#endif /* FRUGAL_H */
