/*
 * normalize.c - the text every document is stored as (see normalize.h for the rules).
 *
 * How: pure-ASCII stretches take a fast path (NFC of ASCII is itself; printable runs are
 * copied with one append). Each stretch with non-ASCII bytes becomes a piece that starts at
 * the last kept ASCII character before it (printable, space or line break: a base that a
 * combining mark may join) and ends before the next one. Cutting there is exact for every
 * stage: an ASCII byte never continues a UTF-8 sequence (so repair is unchanged), and a kept
 * ASCII character is a starter that never composes with what precedes it (so
 * NFC(a + b) == NFC(a) + NFC(b)). A piece goes through two stages: repair (U+FFFD) and dropping
 * of control and format characters into a scratch buffer, before NFC so that "e", NUL, U+0301
 * becomes "é" as the reader sees it; then NFC by utf8proc_decompose into a reused code point
 * buffer and utf8proc_normalize_utf32 in place, which is what utf8proc_map does minus its
 * malloc. Everything then passes one small state machine (struct norm) that maps line breaks
 * and spaces and collapses runs. That stage only replaces or removes whitespace starters and
 * always leaves one between what it separates, so its output stays NFC and normalizing twice
 * changes nothing. Its state carries across pieces, so "\r" + "\n" still gives one newline.
 *
 * Why pieces: memory stays bounded by the longest non-ASCII stretch (4 bytes per code point),
 * and text that is mostly ASCII with a few accents or symbols rarely enters utf8proc.
 *
 * Details (also in normalize.h): "\v", "\f" (pdftotext's page break), U+0085 and U+2028
 * are line breaks, U+2029 is a paragraph break ("\n\n"). "Zero-width" means every format
 * character (category Cf: U+200B..U+200F, U+2060..U+2064, U+FEFF, soft hyphen, bidi
 * controls, ...). Tabs are spaces, so they collapse with them.
 *
 * Threading: no shared state.
 */
#include "text/normalize.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "base/alloc.h"
#include "text/utf8.h"

struct norm {
    struct buf *out;
    bool any;            /* something visible was written */
    bool space;          /* a space is pending (written only before visible text) */
    bool prev_cr;        /* the last code point was "\r" */
    unsigned newlines;   /* newlines pending since the last visible character */
    int32_t *cps;        /* owned: code points of the current piece */
    size_t cps_cap;      /* entries allocated in cps */
    struct buf repaired; /* the current piece, repaired and filtered */
};

static frugal_status put_visible(struct norm *n, int32_t cp)
{
    frugal_status rc = FRUGAL_OK;
    if (n->any && n->newlines > 0)
        rc = buf_append(n->out, "\n\n", n->newlines >= 2 ? 2 : 1);
    if (rc == FRUGAL_OK && n->any && n->space)
        rc = buf_putc(n->out, ' ');
    if (rc != FRUGAL_OK)
        return rc;
    n->any = true;
    n->space = false;
    n->newlines = 0;
    if (cp < 0x80)
        return buf_putc(n->out, (char)cp);
    char enc[4];
    size_t k = utf8_encode(cp, enc);
    return buf_append(n->out, enc, k);
}

static void put_newlines(struct norm *n, unsigned count)
{
    n->space = false; /* spaces at line ends are trimmed */
    n->newlines += count;
    if (n->newlines > 2)
        n->newlines = 2;
}

/* Control and format characters that are dropped; line-break controls and tab are kept. */
static bool dropped(int32_t cp)
{
    if (cp < 0x80)
        return (cp < 0x20 && (cp < '\t' || cp > '\r')) || cp == 0x7F;
    if (cp < 0xA0)
        return cp != 0x85; /* C1 controls */
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF;
}

/* The line-break and space rules, for a code point that is not dropped. */
static frugal_status put_cp(struct norm *n, int32_t cp)
{
    bool prev_cr = n->prev_cr;
    n->prev_cr = cp == '\r';
    if (cp > ' ' && cp < 0x7F)
        return put_visible(n, cp);
    switch (cp) {
    case '\n':
        if (!prev_cr)
            put_newlines(n, 1);
        return FRUGAL_OK;
    case '\r':
    case '\v':
    case '\f':
    case 0x85:
    case 0x2028:
        put_newlines(n, 1);
        return FRUGAL_OK;
    case 0x2029:
        put_newlines(n, 2);
        return FRUGAL_OK;
    case ' ':
    case '\t':
        n->space = true;
        return FRUGAL_OK;
    default:
        break;
    }
    if (cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS) {
        n->space = true;
        return FRUGAL_OK;
    }
    return put_visible(n, cp);
}

/* Repairs s[0..len) and drops controls into n->repaired. Dropping comes before NFC so that
 * "e", NUL, U+0301 composes to "é" as the text is finally seen. */
static frugal_status filter_piece(struct norm *n, const char *s, size_t len)
{
    static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    buf_reset(&n->repaired);
    frugal_status rc = buf_reserve(&n->repaired, len);
    size_t pos = 0;
    while (rc == FRUGAL_OK && pos < len) {
        size_t adv;
        int32_t cp = utf8_decode(s + pos, len - pos, &adv);
        if (cp < 0)
            rc = buf_append(&n->repaired, replacement, sizeof replacement);
        else if (!dropped(cp))
            rc = buf_append(&n->repaired, s + pos, adv);
        pos += adv;
    }
    return rc;
}

/* NFC of a piece that holds non-ASCII bytes, fed to put_cp. */
static frugal_status put_unicode(struct norm *n, const char *s, size_t len)
{
    frugal_status rc = filter_piece(n, s, len);
    if (rc != FRUGAL_OK || n->repaired.len == 0)
        return rc;
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    const utf8proc_uint8_t *u8 = (const utf8proc_uint8_t *)n->repaired.ptr;
    utf8proc_ssize_t count;
    for (;;) {
        count = utf8proc_decompose(u8, (utf8proc_ssize_t)n->repaired.len, n->cps,
                                   (utf8proc_ssize_t)n->cps_cap, opts);
        if (count < 0)
            return FRUGAL_EINTERNAL; /* repaired input is valid: cannot happen */
        if ((size_t)count <= n->cps_cap)
            break;
        int32_t *grown = frugal_reallocarray(n->cps, (size_t)count, sizeof *grown);
        if (grown == NULL)
            return FRUGAL_ENOMEM;
        n->cps = grown;
        n->cps_cap = (size_t)count;
    }
    count = utf8proc_normalize_utf32(n->cps, count, opts);
    if (count < 0)
        return FRUGAL_EINTERNAL;
    for (utf8proc_ssize_t i = 0; i < count && rc == FRUGAL_OK; i++)
        rc = put_cp(n, n->cps[i]);
    return rc;
}

/* Feeds pure ASCII s[0..len), copying runs of printable characters in one append. */
static frugal_status put_ascii(struct norm *n, const char *s, size_t len)
{
    frugal_status rc = FRUGAL_OK;
    size_t i = 0;
    while (i < len && rc == FRUGAL_OK) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7F) {
            if (!dropped(c))
                rc = put_cp(n, c);
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < len && (unsigned char)s[j] > ' ' && (unsigned char)s[j] < 0x7F)
            j++;
        rc = put_visible(n, c); /* writes what is pending, then the first character */
        if (rc == FRUGAL_OK)
            rc = buf_append(n->out, s + i + 1, j - i - 1);
        n->prev_cr = false;
        i = j;
    }
    return rc;
}

frugal_status text_normalize(const char *in, size_t len, struct buf *out, struct err *err)
{
    struct norm n = {.out = out};
    buf_init(&n.repaired, 0);
    size_t base = out->len;
    frugal_status rc = FRUGAL_OK;
    size_t pos = 0; /* 0 or the position of a kept ASCII character */
    while (rc == FRUGAL_OK && pos < len) {
        size_t i = pos;
        while (i < len && (unsigned char)in[i] < 0x80)
            i++;
        if (i == len) {
            rc = put_ascii(&n, in + pos, len - pos);
            break;
        }
        /* The non-ASCII piece starts at the last kept ASCII character before it (a base that
         * a combining mark may join) and ends before the next kept ASCII character. */
        size_t start = i;
        while (start > pos && dropped((unsigned char)in[start - 1]))
            start--;
        if (start > pos)
            start--;
        size_t end = i;
        while (end < len && ((unsigned char)in[end] >= 0x80 || dropped((unsigned char)in[end])))
            end++;
        rc = put_ascii(&n, in + pos, start - pos);
        if (rc == FRUGAL_OK)
            rc = put_unicode(&n, in + start, end - start);
        pos = end;
    }
    /* A NUL terminator exists once anything was appended; an empty result appends nothing. */
    if (rc == FRUGAL_OK && out->ptr == NULL)
        rc = buf_append(out, "", 0);
    frugal_free(n.cps);
    buf_release(&n.repaired);
    if (rc != FRUGAL_OK) {
        out->len = base;
        if (out->ptr != NULL)
            out->ptr[base] = '\0';
        return err_set(err, rc, "normalize: %s", frugal_strerror(rc));
    }
    return FRUGAL_OK;
}
