/*
 * normalize.h - the text every document is stored as.
 *
 * text_normalize turns extracted text into clean UTF-8: invalid sequences repaired (U+FFFD),
 * Unicode NFC (utf8proc), "\r\n" and "\r" to "\n", control and zero-width characters dropped
 * (except "\n" and "\t"), other Unicode spaces (NBSP, U+2000..U+200A, ...) mapped to " ", runs
 * of spaces/tabs collapsed to one space, spaces at line ends trimmed, and runs of 3+ newlines
 * collapsed to 2. Leading and trailing whitespace is trimmed.
 */
#ifndef FRUGAL_TEXT_NORMALIZE_H
#define FRUGAL_TEXT_NORMALIZE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Appends the normalized form of in[0..len) to out. Never fails on bad input; only on memory
 * or out's size limit. */
frugal_status text_normalize(const char *in, size_t len, struct buf *out, struct err *err);

#endif
