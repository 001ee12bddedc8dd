/*
 * chunk.h - structure-aware chunking.
 *
 * Input: the blocks of one document (headings with levels, paragraphs, list items, tables,
 * code) as extracted; their text is already normalized. Output: the document's full text
 * (blocks joined: "\n\n" between blocks, "\n" between consecutive list items) and chunks that
 * index into it.
 *
 * Rules: a heading starts a new section and updates the heading path (a stack by level); chunks
 * never span two sections. Within a section, whole blocks are packed into a window until the
 * next block would pass target_tokens; a block larger than the target is split at sentence
 * boundaries (sentences.h), and a sentence larger than the target at word boundaries. A window
 * starts with up to overlap_tokens of the previous window's trailing sentences of the same
 * section. The heading line itself is part of the first chunk of its section. Short sections
 * stay chunks of their own (they are real content). Empty documents give no chunks.
 *
 * Token count: words as runs of non-space characters; every CJK character counts as one.
 *
 * Precisely: tables and code are split at lines (a row is their sentence) rather than at
 * sentences; a sentence or line over the target is cut into pieces of overlap_tokens words
 * (target_tokens when overlap_tokens is 0) so that its windows overlap too; the overlap taken is
 * min(overlap_tokens, target_tokens - what the window must take next), so a chunk never passes
 * target_tokens; blocks without tokens are skipped (an empty heading changes no path). Chunk
 * text never starts or ends with whitespace. Heading levels outside 1..6 are clamped.
 */
#ifndef FRUGAL_TEXT_CHUNK_H
#define FRUGAL_TEXT_CHUNK_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

enum block_kind {
    BLOCK_PARAGRAPH = 0,
    BLOCK_HEADING = 1,   /* level 1..6 */
    BLOCK_LIST_ITEM = 2,
    BLOCK_TABLE = 3,     /* rows as lines, cells separated by " | " */
    BLOCK_CODE = 4,
    BLOCK_QUOTE = 5,
};

struct block {
    enum block_kind kind;
    int level;      /* heading level 1..6; list nesting depth; 0 otherwise */
    char *text;     /* owned by whoever owns the block array */
    size_t len;
};

struct chunk {
    size_t byte_start;    /* in chunked.text, end exclusive */
    size_t byte_end;
    size_t char_start;    /* the same in code points */
    size_t char_end;
    size_t n_tokens;
    char *heading_path;   /* owned; headings joined with " > ", "" when none */
};

struct chunk_opts {
    size_t target_tokens;   /* default 200 */
    size_t overlap_tokens;  /* default 40; must be < target_tokens */
};

struct chunked {
    struct buf text;        /* the document's full text */
    struct chunk *chunks;   /* owned */
    size_t n_chunks;
};

void chunk_default_opts(struct chunk_opts *opts);
/* Fills out (which must be zero-initialized or released) from the blocks (borrowed). opts may
 * be NULL (defaults). FRUGAL_EINVAL when target_tokens is 0 or overlap_tokens >= target_tokens;
 * FRUGAL_ENOMEM. On failure out is released. out->text.ptr is non-NULL on success. */
frugal_status chunk_document(const struct block *blocks, size_t n_blocks,
                             const struct chunk_opts *opts, struct chunked *out, struct err *err);
void chunked_release(struct chunked *c);
/* Tokens in text as the chunker counts them. */
size_t chunk_count_tokens(const char *text, size_t len);

#endif
