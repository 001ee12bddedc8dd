/*
 * wordpiece.c - BERT WordPiece tokenization (the rules are in wordpiece.h).
 *
 * How: the vocabulary is one block of NUL-terminated token strings plus an open-addressing hash
 * table (FNV-1a, linear probing, at most half full) from token to id. Encoding walks the text
 * once: literal special tokens are cut out first; each remaining code point is cleaned, padded
 * (CJK), NFD-decomposed and stripped of Mn marks (utf8proc_decompose_char), lowercased
 * (utf8proc_tolower, plus the one full-lowercase mapping that differs, U+0130), and then either
 * ends the current word (whitespace), is a word by itself (punctuation) or is appended to the
 * current word as UTF-8. A finished word is matched greedily, longest prefix first, stepping the
 * end back one character at a time; a continuation is looked up with its "##" prefix hashed in
 * front without copying.
 *
 * Why: this is the order the Rust `tokenizers` BertNormalizer applies (clean, CJK, strip accents,
 * lowercase), which is what Hugging Face models are run with today; the Python BertTokenizer
 * lowercases before stripping, which gives the same result for every character whose lowercase
 * decomposes like its uppercase (all of Unicode but a handful of compatibility letters).
 *
 * Threading: a tokenizer is immutable after construction; every encode call keeps its scratch
 * (the current word) in a buffer of its own, so threads can share one tokenizer.
 */
#include "text/wordpiece.h"

#include <string.h>

#include <cJSON.h>
#include <utf8proc.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "text/utf8.h"

struct wp_tokenizer {
    struct wp_opts opts;
    bool strip;             /* resolved strip_accents */
    char *strings;          /* owned: the tokens, NUL-terminated, back to back */
    size_t *offsets;        /* (n_tokens) offset of token id in strings; SIZE_MAX = no token */
    size_t n_tokens;        /* vocabulary size (largest id + 1) */
    int32_t *table;         /* (table_mask + 1) ids, -1 = empty slot */
    size_t table_mask;
    int32_t unk_id;
    int32_t cls_id;
    int32_t sep_id;
    int32_t pad_id;
    int32_t special_ids[5]; /* ids of the literal special tokens that exist, -1 when missing */
};

static const char *const special_names[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

void wp_default_opts(struct wp_opts *opts)
{
    opts->lowercase = true;
    opts->strip_accents = -1;
    opts->chinese_chars = true;
}

/* ---- Vocabulary ------------------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_BASIS 14695981039346656037ULL

/* Looks up prefix ("##" or "") followed by s[0..len). */
static int32_t lookup(const struct wp_tokenizer *tok, bool continuation, const char *s, size_t len)
{
    uint64_t h = FNV_BASIS;
    size_t plen = continuation ? 2 : 0;

    if (continuation)
        h = hash_bytes(h, "##", 2);
    h = hash_bytes(h, s, len);
    for (size_t i = (size_t)h & tok->table_mask;; i = (i + 1) & tok->table_mask) {
        int32_t id = tok->table[i];
        const char *t;

        if (id < 0)
            return -1;
        t = tok->strings + tok->offsets[id];
        if ((!continuation || (t[0] == '#' && t[1] == '#')) && strlen(t + plen) == len &&
            memcmp(t + plen, s, len) == 0)
            return id;
    }
}

int32_t wp_token_id(const struct wp_tokenizer *tok, const char *token, size_t len)
{
    return lookup(tok, false, token, len);
}

const char *wp_token(const struct wp_tokenizer *tok, int32_t id)
{
    if (id < 0 || (size_t)id >= tok->n_tokens || tok->offsets[id] == SIZE_MAX)
        return NULL;
    return tok->strings + tok->offsets[id];
}

size_t wp_vocab_size(const struct wp_tokenizer *tok) { return tok->n_tokens; }
int32_t wp_cls_id(const struct wp_tokenizer *tok) { return tok->cls_id; }
int32_t wp_sep_id(const struct wp_tokenizer *tok) { return tok->sep_id; }
int32_t wp_pad_id(const struct wp_tokenizer *tok) { return tok->pad_id; }

void wp_free(struct wp_tokenizer *tok)
{
    if (tok == NULL)
        return;
    frugal_free(tok->strings);
    frugal_free(tok->offsets);
    frugal_free(tok->table);
    frugal_free(tok);
}

/* A token list under construction: (string, id) pairs appended to a buf. */
struct vocab_build {
    struct buf strings;
    size_t *offsets;   /* (cap) */
    size_t n;          /* largest id + 1 */
    size_t cap;
};

static frugal_status build_add(struct vocab_build *vb, const char *s, size_t len, size_t id,
                               struct err *err)
{
    frugal_status rc;

    if (id >= (size_t)INT32_MAX)
        return err_set(err, FRUGAL_ECORRUPT, "vocabulary: token id %zu too large", id);
    if (memchr(s, '\0', len) != NULL)
        return err_set(err, FRUGAL_ECORRUPT, "vocabulary: token %zu holds a NUL byte", id);
    if (id >= vb->cap) {
        size_t cap = vb->cap ? vb->cap : 1024;
        size_t *grown;

        while (cap <= id)
            cap *= 2;
        grown = frugal_reallocarray(vb->offsets, cap, sizeof(*grown));
        if (grown == NULL)
            return err_set(err, FRUGAL_ENOMEM, "vocabulary: out of memory");
        for (size_t i = vb->cap; i < cap; i++)
            grown[i] = SIZE_MAX;
        vb->offsets = grown;
        vb->cap = cap;
    }
    if (vb->offsets[id] != SIZE_MAX)
        return err_set(err, FRUGAL_ECORRUPT, "vocabulary: id %zu given twice", id);
    vb->offsets[id] = vb->strings.len;
    rc = buf_append(&vb->strings, s, len);
    if (rc == FRUGAL_OK)
        rc = buf_putc(&vb->strings, '\0');
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "vocabulary: out of memory");
    if (id + 1 > vb->n)
        vb->n = id + 1;
    return FRUGAL_OK;
}

/* Takes vb's storage into a new tokenizer and indexes it. */
static frugal_status build_finish(struct vocab_build *vb, const struct wp_opts *opts,
                                  struct wp_tokenizer **out, struct err *err)
{
    struct wp_tokenizer *tok;
    size_t size = 16;

    *out = NULL;
    if (vb->n == 0)
        return err_set(err, FRUGAL_ECORRUPT, "vocabulary: empty");
    tok = frugal_calloc(1, sizeof(*tok));
    if (tok == NULL)
        return err_set(err, FRUGAL_ENOMEM, "vocabulary: out of memory");
    if (opts != NULL)
        tok->opts = *opts;
    else
        wp_default_opts(&tok->opts);
    tok->strip = tok->opts.strip_accents < 0 ? tok->opts.lowercase : tok->opts.strip_accents > 0;
    tok->strings = buf_detach(&vb->strings);
    tok->offsets = vb->offsets;
    vb->offsets = NULL;
    tok->n_tokens = vb->n;
    while (size < 2 * vb->n)
        size *= 2;
    tok->table = frugal_reallocarray(NULL, size, sizeof(int32_t));
    if (tok->strings == NULL || tok->table == NULL) {
        wp_free(tok);
        return err_set(err, FRUGAL_ENOMEM, "vocabulary: out of memory");
    }
    tok->table_mask = size - 1;
    for (size_t i = 0; i < size; i++)
        tok->table[i] = -1;
    for (size_t id = 0; id < vb->n; id++) {
        const char *t;
        size_t slot;

        if (tok->offsets[id] == SIZE_MAX)
            continue;
        t = tok->strings + tok->offsets[id];
        if (lookup(tok, false, t, strlen(t)) >= 0) {
            err_set(err, FRUGAL_ECORRUPT, "vocabulary: token '%.64s' appears twice", t);
            wp_free(tok);
            return FRUGAL_ECORRUPT;
        }
        slot = (size_t)hash_bytes(FNV_BASIS, t, strlen(t)) & tok->table_mask;
        while (tok->table[slot] >= 0)
            slot = (slot + 1) & tok->table_mask;
        tok->table[slot] = (int32_t)id;
    }
    for (size_t i = 0; i < 5; i++)
        tok->special_ids[i] = lookup(tok, false, special_names[i], strlen(special_names[i]));
    tok->pad_id = tok->special_ids[0];
    tok->unk_id = tok->special_ids[1];
    tok->cls_id = tok->special_ids[2];
    tok->sep_id = tok->special_ids[3];
    if (tok->unk_id < 0 || tok->cls_id < 0 || tok->sep_id < 0) {
        wp_free(tok);
        return err_set(err, FRUGAL_ECORRUPT, "vocabulary: no [UNK], [CLS] or [SEP] token");
    }
    if (tok->pad_id < 0)
        tok->pad_id = 0;
    *out = tok;
    return FRUGAL_OK;
}

frugal_status wp_new_from_vocab(const char *data, size_t len, const struct wp_opts *opts,
                                struct wp_tokenizer **out, struct err *err)
{
    struct vocab_build vb = {.offsets = NULL, .n = 0, .cap = 0};
    frugal_status rc = FRUGAL_OK;
    size_t pos = 0;
    size_t id = 0;

    buf_init(&vb.strings, 0);
    *out = NULL;
    while (pos < len && rc == FRUGAL_OK) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;
        size_t line_end = end;

        if (line_end > pos && data[line_end - 1] == '\r')
            line_end--;
        rc = build_add(&vb, data + pos, line_end - pos, id++, err);
        pos = end + 1;
    }
    if (rc == FRUGAL_OK)
        rc = build_finish(&vb, opts, out, err);
    buf_release(&vb.strings);
    frugal_free(vb.offsets);
    return rc;
}

frugal_status wp_new_from_tokenizer_json(const char *data, size_t len, const struct wp_opts *opts,
                                         struct wp_tokenizer **out, struct err *err)
{
    struct vocab_build vb = {.offsets = NULL, .n = 0, .cap = 0};
    frugal_status rc = FRUGAL_OK;
    cJSON *root = cJSON_ParseWithLength(data, len);
    const cJSON *vocab;
    const cJSON *item;

    buf_init(&vb.strings, 0);
    *out = NULL;
    if (root == NULL)
        return err_set(err, FRUGAL_ECORRUPT, "tokenizer.json: not valid JSON");
    vocab = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"),
                                             "vocab");
    if (!cJSON_IsObject(vocab))
        rc = err_set(err, FRUGAL_ECORRUPT, "tokenizer.json: no model.vocab object");
    cJSON_ArrayForEach(item, vocab)
    {
        if (rc != FRUGAL_OK)
            break;
        if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 1e8 ||
            item->valuedouble != (double)(size_t)item->valuedouble)
            rc = err_set(err, FRUGAL_ECORRUPT, "tokenizer.json: bad id for token '%.64s'",
                         item->string);
        else
            rc = build_add(&vb, item->string, strlen(item->string), (size_t)item->valuedouble,
                           err);
    }
    cJSON_Delete(root);
    if (rc == FRUGAL_OK)
        rc = build_finish(&vb, opts, out, err);
    buf_release(&vb.strings);
    frugal_free(vb.offsets);
    return rc;
}

/* ---- Character classes ------------------------------------------------------------------ */

static bool is_whitespace(int32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static bool is_control(int32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return false;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
        return true;
    default:
        return false;
    }
}

static bool is_punctuation(int32_t cp)
{
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return true;
    if (cp < 128)
        return false;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return true;
    default:
        return false;
    }
}

static bool is_chinese(int32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* ---- Encoding --------------------------------------------------------------------------- */

void wp_encoding_init(struct wp_encoding *enc) { memset(enc, 0, sizeof(*enc)); }

void wp_encoding_release(struct wp_encoding *enc)
{
    frugal_free(enc->ids);
    frugal_free(enc->type_ids);
    wp_encoding_init(enc);
}

static frugal_status enc_push(struct wp_encoding *enc, int32_t id, int32_t type)
{
    if (enc->n == enc->cap) {
        size_t cap = enc->cap ? 2 * enc->cap : 64;
        int32_t *ids = frugal_reallocarray(enc->ids, cap, sizeof(int32_t));
        int32_t *types;

        if (ids == NULL)
            return FRUGAL_ENOMEM;
        enc->ids = ids;
        types = frugal_reallocarray(enc->type_ids, cap, sizeof(int32_t));
        if (types == NULL)
            return FRUGAL_ENOMEM;
        enc->type_ids = types;
        enc->cap = cap;
    }
    enc->ids[enc->n] = id;
    enc->type_ids[enc->n] = type;
    enc->n++;
    return FRUGAL_OK;
}

/* The state of one tokenize call: the word being built. */
struct word {
    struct buf bytes;  /* UTF-8 of the normalized word */
    size_t n_chars;
};

/* Greedy longest-match-first over the finished word; resets it. */
static frugal_status flush_word(const struct wp_tokenizer *tok, struct word *w, int32_t type,
                                struct wp_encoding *enc)
{
    const char *s = w->bytes.ptr;
    size_t n = w->bytes.len;
    size_t start = 0;
    size_t first = enc->n;
    frugal_status rc = FRUGAL_OK;

    if (n == 0)
        return FRUGAL_OK;
    if (w->n_chars > WP_MAX_WORD_CHARS) {
        rc = enc_push(enc, tok->unk_id, type);
        goto out_reset;
    }
    while (start < n) {
        size_t end = n;
        int32_t id = -1;

        while (end > start) {
            id = lookup(tok, start > 0, s + start, end - start);
            if (id >= 0)
                break;
            do {
                end--;
            } while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80);
        }
        if (id < 0) {
            enc->n = first;
            rc = enc_push(enc, tok->unk_id, type);
            goto out_reset;
        }
        rc = enc_push(enc, id, type);
        if (rc != FRUGAL_OK)
            goto out_reset;
        start = end;
    }
out_reset:
    buf_reset(&w->bytes);
    w->n_chars = 0;
    return rc;
}

static frugal_status word_add(struct word *w, int32_t cp)
{
    uint8_t tmp[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, tmp);

    w->n_chars++;
    return buf_append(&w->bytes, tmp, (size_t)n);
}

/* Routes one normalized code point: whitespace ends the word, punctuation is a word. */
static frugal_status route(const struct wp_tokenizer *tok, struct word *w, int32_t cp,
                           int32_t type, struct wp_encoding *enc)
{
    frugal_status rc;

    if (is_whitespace(cp))
        return flush_word(tok, w, type, enc);
    if (is_punctuation(cp)) {
        rc = flush_word(tok, w, type, enc);
        if (rc == FRUGAL_OK)
            rc = word_add(w, cp);
        if (rc == FRUGAL_OK)
            rc = flush_word(tok, w, type, enc);
        return rc;
    }
    return word_add(w, cp);
}

/* Accent stripping and lowercasing of one cleaned code point, then routing. */
static frugal_status normalize_cp(const struct wp_tokenizer *tok, struct word *w, int32_t cp,
                                  int32_t type, struct wp_encoding *enc)
{
    utf8proc_int32_t parts[32];
    utf8proc_ssize_t n_parts = 1;
    int last_class = 0;
    frugal_status rc = FRUGAL_OK;

    parts[0] = cp;
    if (tok->strip) {
        n_parts = utf8proc_decompose_char(cp, parts, 32, UTF8PROC_DECOMPOSE, &last_class);
        if (n_parts < 0 || n_parts > 32) {
            parts[0] = cp;
            n_parts = 1;
        }
    }
    for (utf8proc_ssize_t i = 0; i < n_parts && rc == FRUGAL_OK; i++) {
        int32_t c = parts[i];

        if (tok->strip && utf8proc_category(c) == UTF8PROC_CATEGORY_MN)
            continue;
        if (tok->opts.lowercase) {
            if (c == 0x130) {
                rc = route(tok, w, 'i', type, enc);
                c = 0x307;
                if (rc != FRUGAL_OK)
                    break;
            } else {
                c = utf8proc_tolower(c);
            }
        }
        rc = route(tok, w, c, type, enc);
    }
    return rc;
}

/* Normalizes and tokenizes text that holds no literal special token. */
static frugal_status tokenize_plain(const struct wp_tokenizer *tok, struct word *w,
                                    const char *text, size_t len, int32_t type,
                                    struct wp_encoding *enc)
{
    size_t pos = 0;
    frugal_status rc = FRUGAL_OK;

    while (pos < len && rc == FRUGAL_OK) {
        size_t adv = 1;
        int32_t cp;

        if ((unsigned char)text[pos] < 0x80) {
            cp = (unsigned char)text[pos];
        } else {
            cp = utf8_decode(text + pos, len - pos, &adv);
            if (adv == 0)
                adv = 1;
        }
        pos += adv;
        if (cp <= 0 || cp == 0xFFFD || is_control(cp))
            continue;
        if (is_whitespace(cp)) {
            rc = flush_word(tok, w, type, enc);
        } else if (tok->opts.chinese_chars && is_chinese(cp)) {
            rc = flush_word(tok, w, type, enc);
            if (rc == FRUGAL_OK)
                rc = normalize_cp(tok, w, cp, type, enc);
            if (rc == FRUGAL_OK)
                rc = flush_word(tok, w, type, enc);
        } else if (cp < 0x80) {
            if (tok->opts.lowercase && cp >= 'A' && cp <= 'Z')
                cp += 'a' - 'A';
            rc = route(tok, w, cp, type, enc);
        } else {
            rc = normalize_cp(tok, w, cp, type, enc);
        }
    }
    if (rc == FRUGAL_OK)
        rc = flush_word(tok, w, type, enc);
    return rc;
}

frugal_status wp_tokenize(const struct wp_tokenizer *tok, const char *text, size_t len,
                          int32_t type, struct wp_encoding *enc)
{
    struct word w;
    size_t pos = 0;
    size_t seg = 0;
    frugal_status rc = FRUGAL_OK;

    buf_init(&w.bytes, 0);
    w.n_chars = 0;
    while (pos < len && rc == FRUGAL_OK) {
        const char *br = memchr(text + pos, '[', len - pos);
        size_t at;
        int matched = -1;

        if (br == NULL)
            break;
        at = (size_t)(br - text);
        for (int i = 0; i < 5; i++) {
            size_t sl = strlen(special_names[i]);

            if (tok->special_ids[i] >= 0 && len - at >= sl &&
                memcmp(text + at, special_names[i], sl) == 0) {
                matched = i;
                break;
            }
        }
        if (matched < 0) {
            pos = at + 1;
            continue;
        }
        rc = tokenize_plain(tok, &w, text + seg, at - seg, type, enc);
        if (rc == FRUGAL_OK)
            rc = enc_push(enc, tok->special_ids[matched], type);
        pos = at + strlen(special_names[matched]);
        seg = pos;
    }
    if (rc == FRUGAL_OK)
        rc = tokenize_plain(tok, &w, text + seg, len - seg, type, enc);
    buf_release(&w.bytes);
    return rc;
}

frugal_status wp_encode(const struct wp_tokenizer *tok, const char *text, size_t len,
                        size_t max_len, struct wp_encoding *enc)
{
    frugal_status rc;

    enc->n = 0;
    rc = enc_push(enc, tok->cls_id, 0);
    if (rc == FRUGAL_OK)
        rc = wp_tokenize(tok, text, len, 0, enc);
    if (rc != FRUGAL_OK)
        return rc;
    if (max_len >= 2 && enc->n + 1 > max_len)
        enc->n = max_len - 1;
    return enc_push(enc, tok->sep_id, 0);
}

/* HF tokenizers' LongestFirst: the shorter side keeps its length when the longer can absorb
 * the cut, else they split the budget, the longer (the second on a tie) getting the odd token. */
static void longest_first(size_t budget, size_t *n_a, size_t *n_b)
{
    size_t n1 = *n_a;
    size_t n2 = *n_b;
    bool swap = false;

    if (n1 + n2 <= budget)
        return;
    if (n1 > n2) {
        swap = true;
        n1 = *n_b;
        n2 = *n_a;
    }
    if (n1 > budget)
        n2 = n1;
    else
        n2 = n1 > budget - n1 ? n1 : budget - n1;
    if (n1 + n2 > budget) {
        n1 = budget / 2;
        n2 = n1 + budget % 2;
    }
    if (swap) {
        size_t t = n1;
        n1 = n2;
        n2 = t;
    }
    if (n1 < *n_a)
        *n_a = n1;
    if (n2 < *n_b)
        *n_b = n2;
}

frugal_status wp_encode_pair(const struct wp_tokenizer *tok, const char *a, size_t a_len,
                             const char *b, size_t b_len, size_t max_len,
                             struct wp_encoding *enc)
{
    struct wp_encoding second;
    size_t n_a;
    size_t n_b;
    frugal_status rc;

    wp_encoding_init(&second);
    enc->n = 0;
    rc = wp_tokenize(tok, a, a_len, 0, enc);
    if (rc == FRUGAL_OK)
        rc = wp_tokenize(tok, b, b_len, 1, &second);
    if (rc != FRUGAL_OK)
        goto out_release;
    n_a = enc->n;
    n_b = second.n;
    if (max_len >= 3)
        longest_first(max_len - 3, &n_a, &n_b);
    /* Rebuild in place: [CLS] a[0..n_a) [SEP] b[0..n_b) [SEP]. */
    enc->n = n_a;
    rc = enc_push(enc, tok->sep_id, 0);
    if (rc == FRUGAL_OK)
        rc = enc_push(enc, 0, 0); /* room for [CLS] */
    if (rc != FRUGAL_OK)
        goto out_release;
    memmove(enc->ids + 1, enc->ids, (n_a + 1) * sizeof(int32_t));
    enc->ids[0] = tok->cls_id;
    for (size_t i = 0; i < n_b && rc == FRUGAL_OK; i++)
        rc = enc_push(enc, second.ids[i], 1);
    if (rc == FRUGAL_OK)
        rc = enc_push(enc, tok->sep_id, 1);
out_release:
    wp_encoding_release(&second);
    return rc;
}
