/*
 * normalize.h - the text every document is stored as.
 *
 * text_normalize turns extracted text into clean UTF-8: invalid sequences repaired (U+FFFD),
 * Unicode NFC (utf8proc), "\r\n" and "\r" to "\n", control and zero-width characters dropped
 * (except "\n" and "\t"), other Unicode spaces (NBSP, U+2000..U+200A, ...) mapped to " ", runs
 * of spaces/tabs collapsed to one space, spaces at line ends trimmed, and runs of 3+ newlines
 * collapsed to 2. Leading and trailing whitespace is trimmed.
 *
 * Precisely: "control" is category Cc, "zero-width" every format character (Cf: U+200B..U+200F,
 * U+2060.., U+FEFF, soft hyphen, bidi controls), dropped before NFC so that what they separated
 * may compose; "\v", "\f", U+0085 and U+2028 are line breaks, U+2029 a paragraph break
 * ("\n\n"); tabs count as spaces, so they end up as " ". The result is NFC, and normalizing it
 * again changes nothing.
 */
#ifndef FRUGAL_TEXT_NORMALIZE_H
#define FRUGAL_TEXT_NORMALIZE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Appends the normalized form of in[0..len) to out (out->ptr is non-NULL afterwards, even when
 * nothing was appended). Never fails on bad input; only on memory (FRUGAL_ENOMEM) or out's size
 * limit (FRUGAL_ETOOBIG), and then out is left as it was. */
frugal_status text_normalize(const char *in, size_t len, struct buf *out, struct err *err);

#endif
