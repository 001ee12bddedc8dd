/*
 * fuzz_text.c - libFuzzer target for the text layer: utf8_repair, text_normalize, analyzer_run,
 * sentences_split and chunk_document on arbitrary bytes.
 *
 * Invariants checked (a failure traps, so libFuzzer keeps the input): repaired and normalized
 * text is valid UTF-8; normalized text is NFC (utf8proc_map agrees), has no "\r" or tab, no
 * three newlines in a row, no double space and no leading or trailing whitespace, and
 * normalizing it again changes nothing; analyzer
 * terms are 1..ANALYZER_MAX_TERM bytes with offsets in range and in order; sentence spans are in
 * range, non-empty, ordered and never overlap; chunks index into the full text, with code point
 * offsets that match and token counts within the target.
 *
 * Blocks for the chunker come from the normalized text split at blank lines: "#" lines are
 * headings (level = number of '#'), "-" lines list items, "|" lines tables, others paragraphs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "text/analyzer.h"
#include "text/chunk.h"
#include "text/normalize.h"
#include "text/sentences.h"
#include "text/utf8.h"

#define FUZZ_MAX_INPUT 65536
#define MAX_BLOCKS 256

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

struct term_check {
    size_t len;
    size_t prev_start;
    size_t n;
};

static int on_term(void *ctx, const char *term, size_t term_len, size_t byte_start,
                   size_t byte_end)
{
    struct term_check *tc = ctx;
    CHECK(term != NULL && term_len > 0 && term_len <= ANALYZER_MAX_TERM);
    CHECK(byte_start < byte_end && byte_end <= tc->len);
    CHECK(tc->n == 0 || byte_start >= tc->prev_start);
    tc->prev_start = byte_start;
    tc->n++;
    return 0;
}

static void check_normalized(const char *s, size_t len)
{
    CHECK(utf8_valid(s, len));
    CHECK(memchr(s, '\r', len) == NULL && memchr(s, '\t', len) == NULL);
    if (len > 0) {
        CHECK(s[0] != ' ' && s[0] != '\n' && s[len - 1] != ' ' && s[len - 1] != '\n');
    }
    for (size_t i = 0; i + 1 < len; i++) {
        CHECK(!(s[i] == ' ' && (s[i + 1] == ' ' || s[i + 1] == '\n')));
        if (i + 2 < len)
            CHECK(!(s[i] == '\n' && s[i + 1] == '\n' && s[i + 2] == '\n'));
    }
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t nfc_len =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    CHECK(nfc_len >= 0 && (size_t)nfc_len == len && memcmp(nfc, s, len) == 0);
    free(nfc);
    struct buf again;
    buf_init(&again, 0);
    CHECK(text_normalize(s, len, &again, NULL) == FRUGAL_OK);
    CHECK(again.len == len && memcmp(again.ptr, s, len) == 0);
    buf_release(&again);
}

static void check_sentences(const char *s, size_t len)
{
    struct span *spans = NULL;
    size_t n = 0;
    CHECK(sentences_split(s, len, &spans, &n) == FRUGAL_OK);
    CHECK((n == 0) == (spans == NULL));
    for (size_t i = 0; i < n; i++) {
        CHECK(spans[i].start < spans[i].end && spans[i].end <= len);
        CHECK(i == 0 || spans[i].start >= spans[i - 1].end);
    }
    frugal_free(spans);
}

static bool is_space_byte(char c)
{
    return c == ' ' || c == '\n' || c == '\t';
}

static size_t make_blocks(char *text, size_t len, struct block *blocks)
{
    size_t n = 0;
    size_t pos = 0;
    while (pos < len && n < MAX_BLOCKS) {
        size_t end = pos;
        while (end < len && !(text[end] == '\n' && end + 1 < len && text[end + 1] == '\n'))
            end++;
        struct block b = {.kind = BLOCK_PARAGRAPH, .level = 0, .text = text + pos,
                          .len = end - pos};
        if (b.len > 0 && b.text[0] == '#') {
            b.kind = BLOCK_HEADING;
            while (b.len > 0 && b.text[0] == '#') {
                b.level++;
                b.text++;
                b.len--;
            }
        } else if (b.len > 0 && b.text[0] == '-') {
            b.kind = BLOCK_LIST_ITEM;
            b.level = 1;
        } else if (b.len > 0 && b.text[0] == '|') {
            b.kind = BLOCK_TABLE;
        }
        blocks[n++] = b;
        pos = end + 2;
    }
    return n;
}

static void check_chunks(char *text, size_t len, const uint8_t *data, size_t size)
{
    static struct block blocks[MAX_BLOCKS];
    size_t n_blocks = make_blocks(text, len, blocks);
    struct chunk_opts opts;
    chunk_default_opts(&opts);
    if (size >= 2) {
        opts.target_tokens = 1 + data[0] % 48;
        opts.overlap_tokens = data[1] % opts.target_tokens;
    }
    struct chunked c;
    memset(&c, 0, sizeof c);
    CHECK(chunk_document(blocks, n_blocks, &opts, &c, NULL) == FRUGAL_OK);
    CHECK(c.text.ptr != NULL && strlen(c.text.ptr) == c.text.len);
    for (size_t i = 0; i < c.n_chunks; i++) {
        const struct chunk *k = &c.chunks[i];
        CHECK(k->byte_start < k->byte_end && k->byte_end <= c.text.len);
        CHECK(k->char_start == utf8_count(c.text.ptr, k->byte_start));
        CHECK(k->char_end == utf8_count(c.text.ptr, k->byte_end));
        CHECK(k->n_tokens > 0 && k->n_tokens <= opts.target_tokens);
        CHECK(k->heading_path != NULL);
        CHECK(!is_space_byte(c.text.ptr[k->byte_start]));
        CHECK(!is_space_byte(c.text.ptr[k->byte_end - 1]));
        CHECK(i == 0 || k->byte_start >= c.chunks[i - 1].byte_start);
    }
    chunked_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct analyzer *english;
    static struct analyzer *plain;
    if (english == NULL) {
        struct analyzer_opts opts = {.language = "english"};
        struct analyzer_opts none = {.language = "none", .stopwords = "de, la, the, café"};
        if (analyzer_new(&opts, &english, NULL) != FRUGAL_OK ||
            analyzer_new(&none, &plain, NULL) != FRUGAL_OK)
            abort();
    }
    if (size > FUZZ_MAX_INPUT)
        return 0;
    const char *in = (const char *)data;

    struct buf repaired;
    buf_init(&repaired, 0);
    size_t n_replaced = 0;
    CHECK(utf8_repair(in, size, &repaired, &n_replaced) == FRUGAL_OK);
    CHECK(repaired.len >= size && utf8_valid(repaired.ptr, repaired.len));
    CHECK((n_replaced == 0) == utf8_valid(in, size));
    buf_release(&repaired);

    struct buf norm;
    buf_init(&norm, 0);
    CHECK(text_normalize(in, size, &norm, NULL) == FRUGAL_OK);
    check_normalized(norm.ptr, norm.len);

    struct term_check tc = {.len = size};
    CHECK(analyzer_run(english, in, size, on_term, &tc) == FRUGAL_OK);
    tc = (struct term_check){.len = norm.len};
    CHECK(analyzer_run(plain, norm.ptr, norm.len, on_term, &tc) == FRUGAL_OK);

    check_sentences(in, size);
    check_sentences(norm.ptr, norm.len);
    check_chunks(norm.ptr, norm.len, data, size);
    buf_release(&norm);
    return 0;
}
