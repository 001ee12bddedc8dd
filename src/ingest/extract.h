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
 * structure; YAML front matter skipped, its title used), HTML (gumbo; title, headings,
 * paragraphs, lists, tables, pre; script, style, nav, header, footer, aside, form, noscript,
 * template, svg, hidden elements and DocBook navigation/TOC divs dropped; input too deeply
 * nested for the tree parser is read by a tag stripper instead: see extract_html.c), PDF
 * (pdftotext -layout as a child process with a time limit; pages become paragraphs split at
 * blank lines), DOCX
 * (libzip + libxml2: word/document.xml paragraphs, Heading1..9/Title styles as headings,
 * tables as rows; docProps/core.xml title), JSONL (one document per line: {"_id", "title",
 * "text", "metadata"?}; lines that are blank are skipped, a malformed line fails only that
 * record, reported through the callback: see extract_emit_fn).
 */
#ifndef FRUGAL_INGEST_EXTRACT_H
#define FRUGAL_INGEST_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

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
 * where text is expected (NUL bytes in the first 8 KiB) fails with EUNSUPPORTED. opts may be
 * NULL for defaults. When emit returns non-OK, extraction stops and that status is returned;
 * err is left as the callback's own code put it if it set err to that status, else it says
 * that the callback stopped extraction. JSONL: OK once the file was read through, even with
 * bad records (each reported through emit); EEMPTY when it holds no record at all; ECORRUPT
 * when none of its first 100 records is valid (it is not JSONL). */
frugal_status extract_buffer(enum extract_format fmt, const char *data, size_t len,
                             const struct extract_opts *opts, extract_emit_fn emit, void *ctx,
                             struct err *err);

/* Helpers for extractors and their tests. */
void extracted_init(struct extracted *doc);
void extracted_release(struct extracted *doc);  /* frees the owned fields; doc is empty again */
/* Appends a block with a copy of text[0..len) (skipped when only whitespace). Leading and
 * trailing whitespace is trimmed (for BLOCK_CODE only blank lines at either end and trailing
 * spaces, so that indentation survives); heading levels are clamped to 1..6. FRUGAL_ETOOBIG
 * past EXTRACT_MAX_BLOCKS blocks in one document. */
frugal_status extracted_add_block(struct extracted *doc, enum block_kind kind, int level,
                                  const char *text, size_t len);

#define EXTRACT_MAX_BLOCKS (4u << 20)

/* Writes the message for a status that came from a helper without a message of its own
 * (ENOMEM, ETOOBIG from extracted_add_block or a size-capped buf). Returns rc. */
frugal_status extract_status_err(struct err *err, frugal_status rc);

/* ---- The extractors behind extract_buffer (one per extract_*.c), for it and for tests -------
 * The single-document ones fill doc (initialized by the caller, released by the caller in every
 * case) and leave the empty check and the emit to extract_buffer. data is borrowed; the text
 * formats get it without a UTF-8 BOM. opts is never NULL here. */
frugal_status extract_text(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err);
frugal_status extract_markdown(const char *data, size_t len, const struct extract_opts *opts,
                               struct extracted *doc, struct err *err);
frugal_status extract_html(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err);
frugal_status extract_pdf(const char *data, size_t len, const struct extract_opts *opts,
                          struct extracted *doc, struct err *err);
frugal_status extract_docx(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err);
frugal_status extract_jsonl(const char *data, size_t len, const struct extract_opts *opts,
                            extract_emit_fn emit, void *ctx, struct err *err);

/* Splits text[0..len) at blank lines (lines of only spaces, tabs, CR) and appends each part as
 * a block of `kind` (level 0). Shared by the text, PDF and JSONL extractors. */
frugal_status extract_add_paragraphs(struct extracted *doc, enum block_kind kind,
                                     const char *text, size_t len);

/* Appends code point cp as UTF-8 (U+FFFD for NUL, surrogates and values past U+10FFFF). */
frugal_status extract_put_utf8(struct buf *b, uint32_t cp);
/* Appends the decoded character reference e[0..n) ("&amp;", "&#233;", "&#xE9;"; a few dozen
 * common names); one it does not know is appended as written. */
frugal_status extract_put_entity(struct buf *b, const char *e, size_t n);

#endif
