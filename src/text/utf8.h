/*
 * utf8.h - UTF-8 decoding, validation and repair.
 *
 * Contract: utf8_repair never fails on bad input; every maximal invalid subsequence (overlong
 * forms, surrogates, code points past U+10FFFF, truncated sequences, stray continuation bytes)
 * becomes one U+FFFD, as the Unicode standard recommends ("substitution of maximal subparts").
 */
#ifndef FRUGAL_TEXT_UTF8_H
#define FRUGAL_TEXT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Decodes one code point from s[0..len). Returns the code point and sets *adv to the bytes used
 * (>= 1). On invalid input returns -1 and sets *adv to the length of the maximal invalid
 * subpart (>= 1). len must be >= 1. */
int32_t utf8_decode(const char *s, size_t len, size_t *adv);
/* Encodes cp (must be a scalar value) into out; returns the byte count (1..4). */
size_t utf8_encode(int32_t cp, char out[4]);
bool utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8 s[0..len) (invalid subparts count as one each). */
size_t utf8_count(const char *s, size_t len);
/* Appends s with invalid subparts replaced by U+FFFD to out. Returns FRUGAL_OK or ENOMEM/ETOOBIG
 * from out; *n_replaced (may be NULL) receives the number of replacements. */
frugal_status utf8_repair(const char *s, size_t len, struct buf *out, size_t *n_replaced);

#endif
