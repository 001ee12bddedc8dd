/*
 * utf8.c - UTF-8 decoding, validation and repair.
 *
 * What: the one place that decides what a valid UTF-8 sequence is; every other text module
 * decodes through utf8_decode.
 *
 * How: utf8_decode follows Table 3-7 of the Unicode standard ("well-formed UTF-8 byte
 * sequences"): the lead byte fixes the length and the allowed range of the second byte (which is
 * how overlong forms, surrogates and code points past U+10FFFF are refused), later bytes must be
 * 80..BF. When a sequence breaks off, the bytes accepted so far form the "maximal subpart" and
 * are reported as one invalid unit; a lead byte that can never start a sequence (80..C1, F5..FF)
 * is an invalid unit of one byte. This is the W3C/WHATWG decoder's behaviour, so our U+FFFD
 * count matches browsers and Python's "replace" error handler.
 *
 * Why hand-written: it is small, branch-predictable on ASCII (the common case takes one
 * comparison) and lets utf8_repair copy valid runs with one memcpy instead of re-encoding them.
 *
 * Threading: no state; every function is reentrant.
 */
#include "text/utf8.h"

#include <string.h>

/* Allowed range of the second byte for each lead byte C2..F4; later bytes are always 80..BF. */
static bool second_byte_ok(unsigned char lead, unsigned char b)
{
    switch (lead) {
    case 0xE0:
        return b >= 0xA0 && b <= 0xBF; /* no overlong 3-byte forms */
    case 0xED:
        return b >= 0x80 && b <= 0x9F; /* no surrogates D800..DFFF */
    case 0xF0:
        return b >= 0x90 && b <= 0xBF; /* no overlong 4-byte forms */
    case 0xF4:
        return b >= 0x80 && b <= 0x8F; /* nothing past U+10FFFF */
    default:
        return b >= 0x80 && b <= 0xBF;
    }
}

int32_t utf8_decode(const char *s, size_t len, size_t *adv)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lead = p[0];
    if (lead < 0x80) {
        *adv = 1;
        return lead;
    }
    size_t need;
    int32_t cp;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        cp = lead & 0x07;
    } else {
        *adv = 1; /* stray continuation byte, C0/C1 or F5..FF */
        return -1;
    }
    size_t i = 1;
    for (; i < need; i++) {
        if (i >= len)
            break;
        unsigned char b = p[i];
        bool ok = i == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
        if (!ok)
            break;
        cp = (cp << 6) | (b & 0x3F);
    }
    *adv = i;
    return i == need ? cp : -1;
}

size_t utf8_encode(int32_t cp, char out[4])
{
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t adv;
        if (utf8_decode(s + i, len - i, &adv) < 0)
            return false;
        i += adv;
    }
    return true;
}

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
        } else {
            size_t adv;
            utf8_decode(s + i, len - i, &adv);
            i += adv;
        }
        n++;
    }
    return n;
}

frugal_status utf8_repair(const char *s, size_t len, struct buf *out, size_t *n_replaced)
{
    static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    size_t base = out->len;
    size_t n_bad = 0;
    size_t run = 0; /* start of the pending run of valid bytes */
    size_t i = 0;
    frugal_status rc = buf_reserve(out, len);
    while (rc == FRUGAL_OK && i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t adv;
        if (utf8_decode(s + i, len - i, &adv) >= 0) {
            i += adv;
            continue;
        }
        rc = buf_append(out, s + run, i - run);
        if (rc == FRUGAL_OK)
            rc = buf_append(out, replacement, sizeof replacement);
        n_bad++;
        i += adv;
        run = i;
    }
    if (rc == FRUGAL_OK)
        rc = buf_append(out, s + run, len - run);
    if (rc != FRUGAL_OK) {
        out->len = base; /* leave out as it was */
        if (out->ptr != NULL)
            out->ptr[base] = '\0';
        return rc;
    }
    if (n_replaced != NULL)
        *n_replaced = n_bad;
    return FRUGAL_OK;
}
