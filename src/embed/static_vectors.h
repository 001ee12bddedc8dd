/*
 * static_vectors.h - static word vectors (GloVe) in frugal's own memory-mapped format (.fsv),
 * the converter from the wink-embeddings JSON, and sentence vectors built from word vectors.
 *
 * File format, version 1. All integers little-endian; sections start at 64-byte aligned offsets,
 * in this order, with zero padding between them (checked), and the loader insists on exactly this
 * layout:
 *
 *   offset bytes field
 *        0     8 magic "FRGLSTV\n"
 *        8     4 format version, 1 (any other: FRUGAL_EVERSION)
 *       12     4 header size, 128
 *       16     4 dim, 1..4096
 *       20     4 row type: 1 float16 (IEEE binary16, dim x u16), 2 int8 (f32 scale, then dim
 *                int8 codes, x ~ scale * code; padded to a multiple of 4 bytes)
 *       24     8 n_words, 1..2^26: rows, in the source's frequency order (row = rank, 0 = most
 *                frequent)
 *       32     8 n_slots: the hash table's size, a power of two > n_words
 *       40     8 strings size in bytes (< 2^32)
 *       48     8 total file size (a truncated file fails here)
 *       56     8 offset of the word offsets: (n_words + 1) x u32; word r is
 *                strings[off[r], off[r+1]), 1..SV_MAX_WORD bytes, off[0] = 0, off[n] = size
 *       64     8 offset of the strings (the words' bytes, UTF-8, not NUL-terminated)
 *       72     8 offset of the hash table: n_slots x u32, row + 1 (0 = empty); a word's home
 *                slot is FNV-1a-64(word bytes) & (n_slots - 1), then linear probing
 *       80     8 offset of the rows: n_words x row size
 *       88    16 CRC-32 (zlib) of the four sections: offsets, strings, slots, rows
 *      104    16 model name, ASCII, NUL-padded ("glove-6b-100d")
 *      120     4 reserved, zero
 *      124     4 CRC-32 of bytes 0..124
 *
 * Rows hold the source's vectors as they are (not normalized). Every check on open fails with
 * FRUGAL_ECORRUPT (FRUGAL_EVERSION for the version) and a message naming the field; section
 * CRCs are checked unless the caller opts out.
 *
 * Threading: an sv_file is immutable once open and may be read from any number of threads. A
 * static_embedder holds an analyzer (not thread-safe): one thread at a time.
 */
#ifndef FRUGAL_EMBED_STATIC_VECTORS_H
#define FRUGAL_EMBED_STATIC_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fs.h"

#define SV_MAGIC "FRGLSTV\n"
#define SV_VERSION 1
#define SV_HEADER_SIZE 128
#define SV_MAX_DIM 4096
#define SV_MAX_WORDS (1u << 26)
#define SV_MAX_WORD 255
#define SV_NAME_MAX 16

enum sv_row_type { SV_ROW_F16 = 1, SV_ROW_I8 = 2 };

/* An open vector file. Fields are read-only for users. */
struct sv_file {
    struct fs_map map;          /* owned when opened from a path; else map.ptr is NULL */
    const uint8_t *data;        /* the file's bytes (borrowed from map or the caller) */
    size_t size;
    size_t dim;
    enum sv_row_type row_type;
    size_t row_bytes;           /* bytes per row */
    size_t n_words;
    size_t n_slots;
    const uint8_t *offsets;     /* (n_words + 1) u32 little-endian, unaligned access safe */
    const char *strings;
    const uint8_t *slots;       /* (n_slots) u32 */
    const uint8_t *rows;        /* (n_words, row_bytes) */
    char name[SV_NAME_MAX + 1]; /* NUL-terminated */
};

/* Opens and checks the file at path (borrowed); verify = check the section CRCs too (a full
 * read of the file; the header CRC and every structural check always run). */
frugal_status sv_open(const char *path, bool verify, struct sv_file **out, struct err *err);
/* The same over bytes in memory (borrowed: they must outlive the sv_file). */
frugal_status sv_open_mem(const void *data, size_t len, bool verify, struct sv_file **out,
                          struct err *err);
void sv_close(struct sv_file *f);

/* The row of word[0..len), or -1 when the vocabulary lacks it. Bytes are compared as they are
 * (the vocabulary is lowercase). */
int64_t sv_lookup(const struct sv_file *f, const char *word, size_t len);
/* Word of row r (< n_words): borrowed, not NUL-terminated, *len bytes. */
const char *sv_word(const struct sv_file *f, size_t r, size_t *len);
/* Decodes row r (< n_words) into out (dim floats). */
void sv_row(const struct sv_file *f, size_t r, float *out);
/* FNV-1a 64 of the bytes: the hash table's hash. */
uint64_t sv_hash(const char *s, size_t len);

/* ---- Converter (static_convert.c) ---------------------------------------------------------- */

struct sv_convert_opts {
    enum sv_row_type row_type; /* default SV_ROW_F16 */
    const char *name;          /* model name stored in the file (default "glove-6b-100d"),
                                  1..16 printable ASCII bytes */
    size_t max_words;          /* refuse more words than this (default SV_MAX_WORDS) */
};
void sv_convert_default_opts(struct sv_convert_opts *opts);

struct sv_convert_stats {
    size_t n_words;
    size_t dim;
    double max_abs_error;      /* largest |stored - source| over all components */
};

/* Converts the wink-embeddings JSON at json_path ({"dimensions": D, "words": [...],
 * "vectors": {word: [D floats, norm, rank], ...}, ...}: "words" lists the vocabulary in
 * frequency order and must come before "vectors"; each word needs exactly one vector whose rank
 * is its index in "words"; other keys are skipped) into a .fsv file at out_path, replaced
 * atomically (temporary file, fsync, rename). Streams: memory holds the vocabulary and its hash
 * table, never the vectors. stats may be NULL. Errors carry the byte offset in the JSON. */
frugal_status sv_convert_wink(const char *json_path, const char *out_path,
                              const struct sv_convert_opts *opts, struct sv_convert_stats *stats,
                              struct err *err);

/* ---- Sentence vectors (static_embed.c) ------------------------------------------------------ */

enum static_weighting {
    STATIC_WEIGHT_SIF = 0,     /* a / (a + p(w)), p(w) from the rank by Zipf's law */
    STATIC_WEIGHT_UNIFORM = 1, /* every known word counts 1 */
    STATIC_WEIGHT_CUSTOM = 2,  /* static_opts.weights (e.g. idf from a collection) */
};

struct static_opts {
    enum static_weighting weighting; /* default STATIC_WEIGHT_SIF (measured best on SciFact) */
    double sif_a;                    /* SIF's a (default 1e-5, measured best on SciFact) */
    const float *weights;            /* CUSTOM: (n_words) weight per row; copied */
    const float *common;             /* optional (dim) direction projected out of every sentence
                                        vector (SIF's common component); copied and normalized;
                                        NULL: none */
    bool verify;                     /* check the file's section CRCs on open (default true) */
};
void static_default_opts(struct static_opts *opts);

/* Parses "sif", "uniform" (or "custom"); false on anything else. */
bool static_weighting_parse(const char *s, enum static_weighting *out);
const char *static_weighting_name(enum static_weighting w);

/* Turns text into a sentence vector: words as the analyzer finds them with language "none" and
 * no stopwords (Unicode case and accent folding, no stemming: GloVe's vocabulary is lowercase
 * and unstemmed), looked up, weighted, averaged, the common direction removed, L2-normalized.
 * A text with no known word gives the zero vector. */
struct static_embedder {
    struct sv_file *sv;        /* owned */
    struct analyzer *an;       /* owned */
    enum static_weighting weighting;
    float *weights;            /* (n_words) owned; NULL for uniform */
    float *common;             /* (dim) owned, unit length; NULL: none */
    float *row;                /* (dim) scratch */
    float *acc;                /* (dim) scratch */
    size_t n_found;            /* words found in the last text embedded */
};

/* Opens the file at path (borrowed) and prepares the weights. opts may be NULL. */
frugal_status static_embedder_open(const char *path, const struct static_opts *opts,
                                   struct static_embedder **out, struct err *err);
/* The same over an open file; takes ownership of sv, also on failure. */
frugal_status static_embedder_new(struct sv_file *sv, const struct static_opts *opts,
                                  struct static_embedder **out, struct err *err);
void static_embedder_free(struct static_embedder *se);
size_t static_embedder_dim(const struct static_embedder *se);

/* Embeds text[0..len) (need not be NUL-terminated) into out (dim floats). */
frugal_status static_embed(struct static_embedder *se, const char *text, size_t len, float *out);

/* Calls fn with the row of every known word of text, in order (for collection statistics such
 * as document frequencies). fn returns nonzero to stop. */
typedef int (*static_row_fn)(void *ctx, size_t row);
frugal_status static_embedder_each_row(struct static_embedder *se, const char *text, size_t len,
                                       static_row_fn fn, void *ctx);

#endif
