/*
 * analyzer.c - text to BM25 terms (see analyzer.h for the rules).
 *
 * How: analyzer_run walks the bytes once. ASCII bytes are classified by a 128-entry table;
 * other code points are decoded (utf8_decode) and classified by utf8proc_category plus a range
 * check for the CJK scripts. A word run (letters, marks, digits, inner apostrophes, '.' or ','
 * between digits) is copied into a reused buffer with U+2019 mapped to "'", folded, stripped of
 * a trailing "'s", checked against the stopword set (open addressing, FNV-1a) and stemmed
 * through a small direct-mapped cache of recent stems. Folding has two paths that give
 * the same bytes: a pure-ASCII word is lowercased in place (utf8proc's case folding of ASCII is
 * exactly A-Z -> a-z and its decomposition of ASCII is the identity), any other word goes
 * through utf8proc_decompose + utf8proc_normalize_utf32 with CASEFOLD | COMPOSE | STABLE into a
 * reused code point buffer (what utf8proc_map does, without its malloc) and, between the two,
 * strip_marks: accents go only in scripts where marks are accents (see marks_are_accents).
 * A CJK run is emitted as overlapping bigrams of its characters (a combining mark after a CJK
 * character belongs to it), taken verbatim from the input: CJK terms are neither folded,
 * stopped nor stemmed, so the text must be NFC (text_normalize) at index and at query time.
 *
 * Why: BM25 quality hinges on index and query agreeing byte for byte, and the indexer runs this
 * over whole corpora, so the hot path allocates nothing (buffers live in struct analyzer and
 * only grow) and ASCII, the bulk of most corpora, never calls into utf8proc for classification
 * or folding.
 *
 * Details (also in analyzer.h): U+2019 (’) counts as an apostrophe; a source word longer than
 * MAX_WORD_BYTES is dropped without folding (base64 blobs, hashes); terms are emitted with
 * offsets covering the whole source word, possessive included ("John's" -> "john" at the
 * offsets of "John's"). The default stopword list applies to "english" and "porter" only, so
 * "none" (no stemming) has no stopwords unless given.
 *
 * Threading: an analyzer is single-threaded (the Snowball stemmer keeps state); libstemmer
 * allocates with the C library's malloc, outside frugal's allocator hooks.
 */
#include "text/analyzer.h"

#include <stdint.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "text/utf8.h"

#define MAX_WORD_BYTES 1024 /* longer source words are dropped unexamined */
#define STEM_CACHE_SLOTS 1024 /* direct-mapped; a power of two */

/* A remembered stem: Snowball costs more than everything else together, and word frequencies
 * are Zipfian, so a small cache of recent words removes most of that cost. */
struct stem_entry {
    unsigned char word_len; /* 0 = empty slot */
    unsigned char stem_len;
    char word[ANALYZER_MAX_TERM];
    char stem[ANALYZER_MAX_TERM];
};

/* Character classes. */
enum {
    C_WORD = 1,    /* letter, mark or digit outside the CJK scripts */
    C_DIGIT = 2,   /* decimal digit (with C_WORD) */
    C_MARK = 4,    /* combining mark (with C_WORD) */
    C_CJK = 8,     /* Han, Hiragana, Katakana or Hangul letter or number */
    C_APOS = 16,   /* ' or U+2019 */
    C_NUMSEP = 32, /* '.' or ',' */
};

static const char *const english_stopwords =
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with";

struct analyzer {
    struct sb_stemmer *stemmer; /* NULL for "none" */
    struct buf word;            /* the folded word being built */
    int32_t *cps;               /* owned: code points for utf8proc folding */
    size_t cps_cap;             /* entries in cps */
    struct buf stop_words;      /* stopword entries: one length byte, then the bytes */
    uint32_t *stop_slots;       /* open-addressing table: entry offset + 1, 0 = empty */
    size_t stop_cap;            /* slots, a power of two; 0 = no stopwords */
    struct stem_entry *stems;   /* owned: STEM_CACHE_SLOTS entries; NULL without stemmer */
};

struct run {
    struct analyzer *a;
    const char *text;
    size_t len;
    analyzer_emit_fn emit;
    void *ctx;
    bool stop; /* the callback asked to stop */
};

/* C_* class of each ASCII byte: letters C_WORD, digits C_WORD | C_DIGIT, ' C_APOS, . , C_NUMSEP. */
static const unsigned char ascii_class[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 32, 0, 32, 0,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

bool analyzer_is_cjk(int32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x11FF) ||   /* Hangul Jamo */
           (cp >= 0x2E80 && cp <= 0x2FDF) ||   /* CJK and Kangxi radicals */
           (cp >= 0x3005 && cp <= 0x3007) ||   /* 々 〆 〇 */
           (cp >= 0x3021 && cp <= 0x3029) ||   /* Hangzhou numerals */
           (cp >= 0x3031 && cp <= 0x303C) ||   /* kana repeat marks, 〻 */
           (cp >= 0x3040 && cp <= 0x30FF) ||   /* Hiragana, Katakana */
           (cp >= 0x3130 && cp <= 0x318F) ||   /* Hangul compatibility Jamo */
           (cp >= 0x31F0 && cp <= 0x31FF) ||   /* Katakana phonetic extensions */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK extension A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
           (cp >= 0xA960 && cp <= 0xA97F) ||   /* Hangul Jamo extended A */
           (cp >= 0xAC00 && cp <= 0xD7FF) ||   /* Hangul syllables, Jamo extended B */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility ideographs */
           (cp >= 0xFF66 && cp <= 0xFFDC) ||   /* halfwidth Katakana and Hangul */
           (cp >= 0x1B000 && cp <= 0x1B16F) || /* kana supplement and extensions */
           (cp >= 0x20000 && cp <= 0x323AF);   /* CJK extensions B..H, compatibility supp. */
}

/* Classifies the code point at s[0..len); *adv receives its byte length. */
static int classify(const char *s, size_t len, size_t *adv)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *adv = 1;
        return ascii_class[c];
    }
    int32_t cp = utf8_decode(s, len, adv);
    if (cp < 0)
        return 0;
    if (cp == 0x2019)
        return C_APOS;
    int k;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        k = C_WORD;
        break;
    case UTF8PROC_CATEGORY_ND:
        k = C_WORD | C_DIGIT;
        break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_WORD | C_MARK; /* a mark never starts a CJK character */
    default:
        return 0;
    }
    return analyzer_is_cjk(cp) ? C_CJK : k;
}

/* True when nonspacing marks on this base character are accents to fold away: Latin, Greek,
 * Cyrillic, Armenian, Hebrew and Arabic (points and harakat), as search engines commonly do.
 * Elsewhere (Devanagari and the other Brahmic scripts, Thai, Thaana, ...) marks are vowels and
 * must stay, or different words would become one term. */
static bool marks_are_accents(int32_t base)
{
    return base < 0x0780 || (base >= 0x1E00 && base <= 0x1FFF);
}

/* Drops the accent marks from decomposed code points cps[0..n); returns the new length. */
static utf8proc_ssize_t strip_marks(int32_t *cps, utf8proc_ssize_t n)
{
    int32_t base = 0;
    utf8proc_ssize_t out = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_category_t cat = utf8proc_category(cps[i]);
        bool mark = cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
                    cat == UTF8PROC_CATEGORY_ME;
        if (cat == UTF8PROC_CATEGORY_MN && marks_are_accents(base))
            continue;
        if (!mark)
            base = cps[i];
        cps[out++] = cps[i];
    }
    return out;
}

/* Copies src into a->word with U+2019 as "'", then case- and accent-folds it in place. */
static frugal_status fold_word(struct analyzer *a, const char *src, size_t len)
{
    struct buf *w = &a->word;
    buf_reset(w);
    frugal_status rc = buf_reserve(w, len);
    if (rc != FRUGAL_OK)
        return rc;
    bool ascii = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == 0xE2 && i + 2 < len && (unsigned char)src[i + 1] == 0x80 &&
            (unsigned char)src[i + 2] == 0x99) {
            w->ptr[w->len++] = '\'';
            i += 2;
            continue;
        }
        if (c >= 0x80)
            ascii = false;
        else if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        w->ptr[w->len++] = (char)c;
    }
    w->ptr[w->len] = '\0';
    if (ascii)
        return FRUGAL_OK;
    /* marks are stripped by strip_marks below, script-aware, not by utf8proc's STRIPMARK */
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD;
    utf8proc_ssize_t n;
    for (;;) {
        n = utf8proc_decompose((const utf8proc_uint8_t *)w->ptr, (utf8proc_ssize_t)w->len, a->cps,
                               (utf8proc_ssize_t)a->cps_cap, opts);
        if (n < 0)
            return FRUGAL_EINTERNAL; /* words are valid UTF-8: cannot happen */
        if ((size_t)n <= a->cps_cap)
            break;
        int32_t *grown = frugal_reallocarray(a->cps, (size_t)n, sizeof *grown);
        if (grown == NULL)
            return FRUGAL_ENOMEM;
        a->cps = grown;
        a->cps_cap = (size_t)n;
    }
    n = strip_marks(a->cps, n);
    n = utf8proc_normalize_utf32(a->cps, n, opts);
    if (n < 0)
        return FRUGAL_EINTERNAL;
    buf_reset(w);
    for (utf8proc_ssize_t i = 0; i < n && rc == FRUGAL_OK; i++) {
        char enc[4];
        rc = buf_append(w, enc, utf8_encode(a->cps[i], enc));
    }
    return rc;
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* h is hash_bytes(s, len). */
static bool is_stopword(const struct analyzer *a, const char *s, size_t len, uint32_t h)
{
    if (a->stop_cap == 0)
        return false;
    size_t mask = a->stop_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t slot = a->stop_slots[i];
        if (slot == 0)
            return false;
        const char *entry = a->stop_words.ptr + slot - 1;
        if ((unsigned char)entry[0] == len && memcmp(entry + 1, s, len) == 0)
            return true;
    }
}

/* Folds one stopword and appends it to a->stop_words as an entry. */
static frugal_status add_stopword(struct analyzer *a, const char *s, size_t len)
{
    frugal_status rc = fold_word(a, s, len);
    if (rc != FRUGAL_OK || a->word.len == 0 || a->word.len > 255)
        return rc;
    rc = buf_putc(&a->stop_words, (char)a->word.len);
    if (rc == FRUGAL_OK)
        rc = buf_append(&a->stop_words, a->word.ptr, a->word.len);
    return rc;
}

/* Parses a comma/space separated list into a->stop_words, then builds the hash table. */
static frugal_status build_stopwords(struct analyzer *a, const char *list)
{
    frugal_status rc = FRUGAL_OK;
    size_t n_words = 0;
    const char *p = list;
    while (rc == FRUGAL_OK && *p != '\0') {
        size_t n = strcspn(p, ", \t\r\n");
        if (n > 0) {
            rc = add_stopword(a, p, n);
            n_words++;
        }
        p += n;
        p += strspn(p, ", \t\r\n");
    }
    if (rc != FRUGAL_OK || n_words == 0 || a->stop_words.len == 0)
        return rc;
    if (a->stop_words.len >= UINT32_MAX)
        return FRUGAL_ETOOBIG;
    size_t cap = 16;
    while (cap < 2 * n_words)
        cap *= 2;
    a->stop_slots = frugal_calloc(cap, sizeof *a->stop_slots);
    if (a->stop_slots == NULL)
        return FRUGAL_ENOMEM;
    a->stop_cap = cap;
    for (size_t off = 0; off < a->stop_words.len;) {
        const char *entry = a->stop_words.ptr + off;
        size_t n = (unsigned char)entry[0];
        if (!is_stopword(a, entry + 1, n, hash_bytes(entry + 1, n))) {
            size_t i = hash_bytes(entry + 1, n) & (cap - 1);
            while (a->stop_slots[i] != 0)
                i = (i + 1) & (cap - 1);
            a->stop_slots[i] = (uint32_t)off + 1;
        }
        off += 1 + n;
    }
    return FRUGAL_OK;
}

bool analyzer_language_ok(const char *language)
{
    if (language == NULL)
        return false;
    if (strcmp(language, "none") == 0)
        return true;
    for (const char **name = sb_stemmer_list(); *name != NULL; name++) {
        if (strcmp(*name, language) == 0)
            return true;
    }
    return false;
}

frugal_status analyzer_new(const struct analyzer_opts *opts, struct analyzer **out,
                           struct err *err)
{
    *out = NULL;
    const char *language = opts != NULL && opts->language != NULL ? opts->language : "english";
    const char *stopwords = opts != NULL ? opts->stopwords : NULL;
    if (!analyzer_language_ok(language))
        return err_set(err, FRUGAL_EINVAL, "analyzer: unknown language '%s'", language);
    if (stopwords == NULL) {
        bool english = strcmp(language, "english") == 0 || strcmp(language, "porter") == 0;
        stopwords = english ? english_stopwords : "";
    }
    struct analyzer *a = frugal_calloc(1, sizeof *a);
    if (a == NULL)
        return err_set(err, FRUGAL_ENOMEM, "analyzer: out of memory");
    buf_init(&a->word, 0);
    buf_init(&a->stop_words, 0);
    frugal_status rc = buf_reserve(&a->word, 256);
    if (rc == FRUGAL_OK) {
        a->cps_cap = 256;
        a->cps = frugal_calloc(a->cps_cap, sizeof *a->cps);
        if (a->cps == NULL)
            rc = FRUGAL_ENOMEM;
    }
    if (rc == FRUGAL_OK)
        rc = build_stopwords(a, stopwords);
    if (rc == FRUGAL_OK && strcmp(language, "none") != 0) {
        a->stems = frugal_calloc(STEM_CACHE_SLOTS, sizeof *a->stems);
        if (a->stems == NULL)
            rc = FRUGAL_ENOMEM;
    }
    if (rc == FRUGAL_OK && a->stems != NULL) {
        a->stemmer = sb_stemmer_new(language, "UTF_8");
        if (a->stemmer == NULL)
            rc = FRUGAL_ENOMEM;
    }
    if (rc != FRUGAL_OK) {
        analyzer_free(a);
        return err_set(err, rc, "analyzer: %s", frugal_strerror(rc));
    }
    *out = a;
    return FRUGAL_OK;
}

void analyzer_free(struct analyzer *a)
{
    if (a == NULL)
        return;
    if (a->stemmer != NULL)
        sb_stemmer_delete(a->stemmer);
    buf_release(&a->word);
    buf_release(&a->stop_words);
    frugal_free(a->cps);
    frugal_free(a->stop_slots);
    frugal_free(a->stems);
    frugal_free(a);
}

/* Stems term[0..len) through the cache; *stem_len > ANALYZER_MAX_TERM means "drop". */
static frugal_status stem(struct analyzer *a, const char *term, size_t len, uint32_t h,
                          const char **out, size_t *out_len)
{
    struct stem_entry *e = NULL;
    if (len <= ANALYZER_MAX_TERM) {
        e = &a->stems[h & (STEM_CACHE_SLOTS - 1)];
        if (e->word_len == len && memcmp(e->word, term, len) == 0) {
            *out = e->stem;
            *out_len = e->stem_len;
            return FRUGAL_OK;
        }
    }
    const sb_symbol *s = sb_stemmer_stem(a->stemmer, (const sb_symbol *)term, (int)len);
    if (s == NULL)
        return FRUGAL_ENOMEM;
    *out = (const char *)s;
    *out_len = (size_t)sb_stemmer_length(a->stemmer);
    if (e != NULL && *out_len <= ANALYZER_MAX_TERM) {
        e->word_len = (unsigned char)len;
        e->stem_len = (unsigned char)*out_len;
        memcpy(e->word, term, len);
        memcpy(e->stem, s, *out_len);
    }
    return FRUGAL_OK;
}

/* Folds, stops and stems the word text[start..end) and emits its term. */
static frugal_status emit_word(struct run *r, size_t start, size_t end)
{
    struct analyzer *a = r->a;
    if (end - start > MAX_WORD_BYTES)
        return FRUGAL_OK;
    frugal_status rc = fold_word(a, r->text + start, end - start);
    if (rc != FRUGAL_OK)
        return rc;
    const char *term = a->word.ptr;
    size_t term_len = a->word.len;
    if (term_len >= 2 && term[term_len - 2] == '\'' && term[term_len - 1] == 's')
        term_len -= 2;
    if (term_len == 0)
        return FRUGAL_OK;
    uint32_t h = hash_bytes(term, term_len);
    if (is_stopword(a, term, term_len, h))
        return FRUGAL_OK;
    if (a->stemmer != NULL) {
        rc = stem(a, term, term_len, h, &term, &term_len);
        if (rc != FRUGAL_OK)
            return rc;
    }
    if (term_len == 0 || term_len > ANALYZER_MAX_TERM)
        return FRUGAL_OK;
    if (r->emit(r->ctx, term, term_len, start, end) != 0)
        r->stop = true;
    return FRUGAL_OK;
}

/* Scans the word starting at pos (a C_WORD code point); returns its end. */
static size_t scan_word(const struct run *r, size_t pos)
{
    const char *s = r->text;
    size_t len = r->len;
    int prev = 0;
    while (pos < len) {
        unsigned char c = (unsigned char)s[pos];
        if (c < 0x80 && (ascii_class[c] & C_WORD)) {
            prev = ascii_class[c];
            pos++;
            continue;
        }
        size_t adv;
        int k = classify(s + pos, len - pos, &adv);
        if (k & C_WORD) {
            prev = k;
            pos += adv;
            continue;
        }
        bool joiner = ((k & C_APOS) && (prev & C_WORD)) || ((k & C_NUMSEP) && (prev & C_DIGIT));
        if (!joiner || pos + adv >= len)
            break;
        size_t next_adv;
        int next = classify(s + pos + adv, len - pos - adv, &next_adv);
        if ((k & C_APOS) ? !(next & C_WORD) : !(next & C_DIGIT))
            break;
        prev = next;
        pos += adv + next_adv;
    }
    return pos;
}

/* Emits the bigrams of the CJK run starting at pos; returns its end. */
static size_t scan_cjk(struct run *r, size_t pos)
{
    size_t prev_start = SIZE_MAX; /* the previous CJK character */
    bool emitted = false;
    size_t adv;
    while (pos < r->len && !r->stop && (classify(r->text + pos, r->len - pos, &adv) & C_CJK)) {
        size_t start = pos;
        pos += adv;
        while (pos < r->len &&
               (classify(r->text + pos, r->len - pos, &adv) & C_MARK) != 0)
            pos += adv;
        if (prev_start != SIZE_MAX && pos - prev_start <= ANALYZER_MAX_TERM) {
            if (r->emit(r->ctx, r->text + prev_start, pos - prev_start, prev_start, pos) != 0)
                r->stop = true;
            emitted = true;
        } else if (prev_start != SIZE_MAX) {
            emitted = true; /* an over-long bigram is dropped, not replaced by a unigram */
        }
        prev_start = start;
    }
    if (!emitted && !r->stop && pos - prev_start <= ANALYZER_MAX_TERM) {
        if (r->emit(r->ctx, r->text + prev_start, pos - prev_start, prev_start, pos) != 0)
            r->stop = true;
    }
    return pos;
}

frugal_status analyzer_run(struct analyzer *a, const char *text, size_t len, analyzer_emit_fn emit,
                           void *ctx)
{
    struct run r = {.a = a, .text = text, .len = len, .emit = emit, .ctx = ctx};
    frugal_status rc = FRUGAL_OK;
    size_t pos = 0;
    while (pos < len && rc == FRUGAL_OK && !r.stop) {
        unsigned char c = (unsigned char)text[pos];
        if (c < 0x80 && !(ascii_class[c] & C_WORD)) {
            pos++;
            continue;
        }
        size_t adv;
        int k = classify(text + pos, len - pos, &adv);
        if (k & C_CJK) {
            pos = scan_cjk(&r, pos);
        } else if (k & C_WORD) {
            size_t end = scan_word(&r, pos);
            rc = emit_word(&r, pos, end);
            pos = end;
        } else {
            pos += adv;
        }
    }
    return rc;
}
