/*
 * extract_text.c - plain text: one paragraph block per run of non-blank lines.
 *
 * The text is kept as it is (line breaks inside a paragraph included); the pipeline normalizes
 * whitespace and repairs UTF-8 later. Plain text has no title.
 */
#include "ingest/extract.h"

frugal_status extract_text(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err)
{
    return extract_status_err(err, extract_add_paragraphs(doc, BLOCK_PARAGRAPH, data, len));
}
