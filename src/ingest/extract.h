/*
 * extract.h - one small interface in front of every document format.
 *
 * An extractor turns the bytes of a file into one or more documents made of blocks (headings,
 * paragraphs, list items, tables, code; see text/chunk.h). Text in blocks is raw: the pipeline
 * normalizes it (text/normalize.h), so extractors need not repair UTF-8 or fold whitespace, but
 * they must not emit empty blocks. Extractors never print and never abort on bad input: they
 * return FRUGAL_ECORRUPT / EUNSUPPORTED / EEMPTY / ETOOBIG / ETIMEOUT with one line in err
 * saying what was wrong (the caller prefixes the file name).
 *
 * Formats: plain text (paragraphs split at blank lines), Markdown (md4c; headings kept as
 * structure), HTML (gumbo; title, headings, paragraphs, lists, tables, pre; script, style,
 * nav, header, footer, aside, form, noscript, template dropped), PDF (pdftotext -layout as a
 * child process with a time limit; pages become paragraphs split at blank lines), DOCX
 * (libzip + libxml2: word/document.xml paragraphs, Heading1..9/Title styles as headings,
 * tables as rows; docProps/core.xml title), JSONL (one document per line: {"_id", "title",
 * "text", "metadata"?}; lines that are blank are skipped, a malformed line fails only that
 * record, reported through the record callback... see extract_emit_fn).
 */
#ifndef FRUGAL_INGEST_EXTRACT_H
#define FRUGAL_INGEST_EXTRACT_H

#include <stddef.h>

#include "base/err.h"
#include "text/chunk.h"

enum extract_format {
    FORMAT_UNKNOWN = 0,
    FORMAT_TEXT,
    FORMAT_MARKDOWN,
    FORMAT_HTML,
    FORMAT_PDF,
    FORMAT_DOCX,
    FORMAT_JSONL,
};

struct extracted {
    char *title;          /* owned, NULL when none */
    char *ext_id;         /* owned; JSONL record _id, else NULL */
    char *metadata_json;  /* owned; a JSON object text from the record, else NULL */
    const char *raw;      /* borrowed: the bytes this document came from when they are a part of
                             the input (a JSONL line), else NULL (the whole input) */
    size_t raw_len;
    struct block *blocks; /* owned, blocks[i].text owned */
    size_t n_blocks;
    size_t cap_blocks;
};

/* Receives each document; doc is borrowed for the call (the callee may steal owned fields by
 * setting them to NULL). `status` is FRUGAL_OK for a document, or the failure of one record of
 * a multi-document input (JSONL) with `msg` saying why ("line 17: not valid JSON"); then doc is
 * NULL. Return non-OK to stop extraction with that status. */
typedef frugal_status (*extract_emit_fn)(void *ctx, struct extracted *doc, frugal_status status,
                                         const char *msg);

struct extract_opts {
    size_t max_bytes;    /* input limit (already enforced by the reader; extractors may use it
                            for inflated content such as DOCX XML) */
    int pdf_timeout_s;   /* default 60 */
};

/* Format from the file name (case-insensitive extension: .txt .text .md .markdown .html .htm
 * .xhtml .pdf .docx .jsonl .jsonl.gz .ndjson), then from content sniffing ("%PDF-", "PK" with
 * word/document.xml, "<!doctype html" / "<html"). FORMAT_UNKNOWN when neither tells and the
 * data is not text. */
enum extract_format extract_detect(const char *name, const char *data, size_t len);
const char *extract_format_name(enum extract_format f);  /* "text", "markdown", ... */

/* Extracts data[0..len) in format fmt, calling emit per document. Single-document formats emit
 * exactly one document or fail (EEMPTY when there is no text at all). Data that is binary
 * where text is expected (NUL bytes in the first 8 KiB) fails with EUNSUPPORTED. */
frugal_status extract_buffer(enum extract_format fmt, const char *data, size_t len,
                             const struct extract_opts *opts, extract_emit_fn emit, void *ctx,
                             struct err *err);

/* Helpers for extractors and their tests. */
void extracted_init(struct extracted *doc);
void extracted_release(struct extracted *doc);
/* Appends a block with a copy of text[0..len) (skipped when only whitespace). */
frugal_status extracted_add_block(struct extracted *doc, enum block_kind kind, int level,
                                  const char *text, size_t len);

#endif
