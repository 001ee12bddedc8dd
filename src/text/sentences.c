/*
 * sentences.c - sentence boundaries (see sentences.h for the rules).
 *
 * How: one pass over the code points. A sentence opens at its first non-space character.
 * A terminator run (any mix of . ! ? … 。 ！ ？, then closing quotes and brackets) is a
 * candidate end; it is an end when it holds a CJK terminator (those need no space after
 * them), or when whitespace follows and the next character starts a sentence (an uppercase or
 * caseless letter, a digit, an opening quote or bracket) or the text ends. A lone '.' is no end
 * after an abbreviation from the list below (case-insensitive; "No." only before a digit), a
 * single uppercase letter (initials: "J. R. R. Tolkien") or dotted single letters ("U.S.",
 * "e.g."). Decimals ("3.14") and "e.g.," never qualify because no space follows the '.'.
 * A blank line closes the open sentence whatever precedes it.
 *
 * Why rules and not a model: they are predictable, fast, and good enough for the chunker,
 * which only needs sensible cut points; errors cost a slightly odd chunk boundary.
 *
 * Threading: no shared state.
 */
#include "text/sentences.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "base/alloc.h"
#include "text/utf8.h"

/* Lowercase, without the final '.'. "etc." is not here: it ends a sentence before uppercase. */
static const char *const abbreviations[] = {
    "al",   "apr",  "approx", "aug",  "ca",    "capt", "cf",   "ch",   "chap", "co",
    "col",  "corp", "dec",    "dept", "dr",    "e.g",  "eq",   "eqs",  "feb",  "fig",
    "figs", "gen",  "gov",    "i.e",  "inc",   "jan",  "jr",   "jul",  "jun",  "lt",
    "ltd",  "mar",  "mr",     "mrs",  "ms",    "mt",   "no",   "nos",  "nov",  "oct",
    "p",    "ph.d", "pp",     "prof", "ref",   "refs", "rev",  "sec",  "sect", "sep",
    "sept", "sgt",  "sr",     "st",   "tab",   "viz",  "vol",  "vols", "vs",
};

struct cursor {
    const char *text;
    size_t len;
};

/* Decodes the code point at pos; invalid bytes decode as U+FFFD. */
static int32_t cp_at(const struct cursor *c, size_t pos, size_t *adv)
{
    unsigned char b = (unsigned char)c->text[pos];
    if (b < 0x80) {
        *adv = 1;
        return b;
    }
    int32_t cp = utf8_decode(c->text + pos, c->len - pos, adv);
    return cp < 0 ? 0xFFFD : cp;
}

static bool is_space(int32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= '\t' && cp <= '\r');
    if (cp == 0x85)
        return true;
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/* 0 = not a terminator, 1 = Latin-style (needs a space after), 2 = CJK (ends on its own). */
static int terminator_kind(int32_t cp)
{
    if (cp == '.' || cp == '!' || cp == '?' || cp == 0x2026)
        return 1;
    if (cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F)
        return 2;
    return 0;
}

static bool is_closer(int32_t cp)
{
    if (cp < 0x80)
        return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == '}';
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PF;
}

static bool is_opener(int32_t cp)
{
    if (cp < 0x80)
        return cp == '"' || cp == '\'' || cp == '(' || cp == '[' || cp == '{';
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_PS || k == UTF8PROC_CATEGORY_PI;
}

static bool starts_sentence(int32_t cp)
{
    if (cp >= '0' && cp <= '9')
        return true;
    if (is_opener(cp))
        return true;
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT || k == UTF8PROC_CATEGORY_LO ||
           k == UTF8PROC_CATEGORY_ND;
}

/* Single letters joined by dots ("U.S", "e.g") or one uppercase letter ("J"). */
static bool is_initials(const char *w, size_t n)
{
    if (n == 1)
        return w[0] >= 'A' && w[0] <= 'Z';
    if (n % 2 == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool letter = (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z');
        if (i % 2 == 0 ? !letter : w[i] != '.')
            return false;
    }
    return true;
}

static bool is_abbreviation(const char *w, size_t n, int32_t next_cp)
{
    char lower[8];
    if (n == 0 || n > sizeof lower)
        return false;
    for (size_t i = 0; i < n; i++)
        lower[i] = (w[i] >= 'A' && w[i] <= 'Z') ? (char)(w[i] + ('a' - 'A')) : w[i];
    if (n == 2 && memcmp(lower, "no", 2) == 0)
        return next_cp >= '0' && next_cp <= '9'; /* "No. 5", but "said no. Then" */
    for (size_t i = 0; i < sizeof abbreviations / sizeof abbreviations[0]; i++) {
        if (strlen(abbreviations[i]) == n && memcmp(abbreviations[i], lower, n) == 0)
            return true;
    }
    return false;
}

/* Whether the lone '.' at dot (in the sentence starting at start) follows an abbreviation. */
static bool after_abbreviation(const struct cursor *c, size_t start, size_t dot, int32_t next)
{
    size_t ws = dot;
    while (ws > start) {
        unsigned char b = (unsigned char)c->text[ws - 1];
        if (b < 0x80 && is_space(b))
            break;
        ws--;
    }
    while (ws < dot && strchr("\"'([{", c->text[ws]) != NULL)
        ws++;
    return is_initials(c->text + ws, dot - ws) || is_abbreviation(c->text + ws, dot - ws, next);
}

/* Whether the terminator run text[term..run_end) ends the sentence opened at start. */
static bool ends_sentence(const struct cursor *c, size_t start, size_t term, size_t run_end,
                          int kinds, size_t n_terms)
{
    if (kinds & 2)
        return true;
    if (run_end >= c->len)
        return true;
    size_t adv;
    int32_t cp = cp_at(c, run_end, &adv);
    if (!is_space(cp))
        return false;
    size_t pos = run_end;
    while (pos < c->len && is_space(cp = cp_at(c, pos, &adv)))
        pos += adv;
    if (pos >= c->len)
        return true;
    if (!starts_sentence(cp))
        return false;
    if (n_terms == 1 && c->text[term] == '.')
        return !after_abbreviation(c, start, term, cp);
    return true;
}

/* Whether a blank line starts at the '\n' at pos. */
static bool blank_line_at(const struct cursor *c, size_t pos)
{
    for (size_t i = pos + 1; i < c->len; i++) {
        char b = c->text[i];
        if (b == '\n')
            return true;
        if (b != ' ' && b != '\t' && b != '\r')
            return false;
    }
    return false;
}

static frugal_status push_span(struct span **spans, size_t *n, size_t *cap, size_t start,
                               size_t end)
{
    if (*n == *cap) {
        size_t new_cap = *cap == 0 ? 16 : *cap * 2;
        struct span *grown = frugal_reallocarray(*spans, new_cap, sizeof *grown);
        if (grown == NULL)
            return FRUGAL_ENOMEM;
        *spans = grown;
        *cap = new_cap;
    }
    (*spans)[*n].start = start;
    (*spans)[*n].end = end;
    (*n)++;
    return FRUGAL_OK;
}

frugal_status sentences_split(const char *text, size_t len, struct span **out, size_t *n_out)
{
    struct cursor c = {text, len};
    struct span *spans = NULL;
    size_t n = 0;
    size_t cap = 0;
    bool open = false;
    size_t start = 0;
    size_t last_end = 0; /* end of the last non-space character */
    frugal_status rc = FRUGAL_OK;
    size_t pos = 0;
    while (pos < len && rc == FRUGAL_OK) {
        size_t adv;
        int32_t cp = cp_at(&c, pos, &adv);
        if (is_space(cp)) {
            if (cp == '\n' && open && blank_line_at(&c, pos)) {
                rc = push_span(&spans, &n, &cap, start, last_end);
                open = false;
            }
            pos += adv;
            continue;
        }
        if (!open) {
            open = true;
            start = pos;
        }
        int kind = terminator_kind(cp);
        if (kind == 0) {
            pos += adv;
            last_end = pos;
            continue;
        }
        size_t term = pos;
        int kinds = 0;
        size_t n_terms = 0;
        while (pos < len && (kind = terminator_kind(cp = cp_at(&c, pos, &adv))) != 0) {
            kinds |= kind;
            n_terms++;
            pos += adv;
        }
        while (pos < len && is_closer(cp_at(&c, pos, &adv)))
            pos += adv;
        last_end = pos;
        if (ends_sentence(&c, start, term, pos, kinds, n_terms)) {
            rc = push_span(&spans, &n, &cap, start, last_end);
            open = false;
        }
    }
    if (rc == FRUGAL_OK && open)
        rc = push_span(&spans, &n, &cap, start, last_end);
    if (rc != FRUGAL_OK || n == 0) {
        frugal_free(spans);
        spans = NULL;
        n = 0;
    }
    *out = spans;
    *n_out = n;
    return rc;
}
