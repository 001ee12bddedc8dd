/*
 * chunk.c - structure-aware chunking (see chunk.h for the rules).
 *
 * How: one pass over the blocks. Each block's text is appended to the full text and cut into
 * units, the smallest pieces a chunk boundary may fall between: sentences (sentences_split)
 * for prose, lines for tables and code (a row or a code line is their sentence), the whole
 * line for a heading; a unit over target_tokens is further cut at word boundaries into pieces
 * of overlap_tokens words (target_tokens when there is no overlap), so that windows of such
 * pieces still overlap by one piece. Units are trimmed of whitespace. The units of the current
 * section sit in one array, in text order, so a window is always a range [win_first, win_end)
 * of it, and its text is the contiguous bytes from the first unit's start to the last unit's
 * end. A block that fits the target is placed whole (it joins the open window, or closes it
 * and opens the next); a larger block is placed unit by unit. Opening a window after a full
 * one first takes the previous window's trailing units, as many as fit in
 * min(overlap_tokens, target_tokens - the tokens about to be placed), so that a chunk stays
 * within the target. A heading closes the window, empties the unit array and updates the
 * heading path; the heading becomes the first unit of its section.
 *
 * Offsets: byte offsets come from the units; code point offsets from two cursors (starts and
 * ends) that only move forward, so the whole document costs one extra pass of counting.
 *
 * Why: retrieval quality depends on chunks that are whole thoughts under a known heading;
 * cutting at blocks, then sentences, then words keeps as much structure as the size allows.
 *
 * Threading: no shared state.
 */
#include "text/chunk.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "base/alloc.h"
#include "text/analyzer.h"
#include "text/sentences.h"
#include "text/utf8.h"

#define MAX_HEADING_DEPTH 6

struct unit {
    size_t start; /* byte offsets in the full text, end exclusive */
    size_t end;
    size_t n_tokens;
};

struct char_cursor {
    size_t byte; /* a code point boundary in the full text */
    size_t chr;  /* code points before it */
};

struct chunker {
    struct chunk_opts opts;
    struct chunked *out;
    size_t chunks_cap;
    struct unit *units; /* owned: the current section's units */
    size_t n_units;
    size_t units_cap;
    struct buf path;                      /* the heading path, " > " joined */
    int levels[MAX_HEADING_DEPTH];        /* heading stack: levels, increasing */
    size_t path_lens[MAX_HEADING_DEPTH];  /* path length before each stacked heading */
    size_t depth;
    size_t win_first;   /* window = units [win_first, win_end) */
    size_t win_end;
    size_t win_tokens;
    bool win_content;   /* the window holds units beyond its overlap */
    struct char_cursor start_cur;
    struct char_cursor end_cur;
};

static bool is_ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_space_cp(int32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= '\t' && cp <= '\r');
    utf8proc_category_t k = utf8proc_category(cp);
    return cp == 0x85 || k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL ||
           k == UTF8PROC_CATEGORY_ZP;
}

static int32_t decode_at(const char *s, size_t len, size_t pos, size_t *adv)
{
    if ((unsigned char)s[pos] < 0x80) {
        *adv = 1;
        return (unsigned char)s[pos];
    }
    return utf8_decode(s + pos, len - pos, adv); /* -1 (invalid) counts as a word character */
}

/* Finds the next token in s[pos..len): a CJK character or a run of other non-space code
 * points. Returns false when none is left. */
static bool next_token(const char *s, size_t len, size_t pos, size_t *tok_start, size_t *tok_end)
{
    size_t adv = 1;
    int32_t cp = 0;
    while (pos < len) {
        cp = decode_at(s, len, pos, &adv);
        if (!is_space_cp(cp))
            break;
        pos += adv;
    }
    if (pos >= len)
        return false;
    *tok_start = pos;
    pos += adv;
    if (!analyzer_is_cjk(cp)) {
        while (pos < len) {
            cp = decode_at(s, len, pos, &adv);
            if (is_space_cp(cp) || analyzer_is_cjk(cp))
                break;
            pos += adv;
        }
    }
    *tok_end = pos;
    return true;
}

/* Counts the tokens of text[start..end) and narrows [*first, *last) to them. */
static size_t count_tokens_in(const char *text, size_t start, size_t end, size_t *first,
                              size_t *last)
{
    size_t n = 0;
    size_t pos = start;
    size_t tok_start;
    size_t tok_end;
    *first = start;
    *last = start;
    while (next_token(text, end, pos, &tok_start, &tok_end)) {
        if (n == 0)
            *first = tok_start;
        *last = tok_end;
        n++;
        pos = tok_end;
    }
    return n;
}

size_t chunk_count_tokens(const char *text, size_t len)
{
    size_t first;
    size_t last;
    return count_tokens_in(text, 0, len, &first, &last);
}

void chunk_default_opts(struct chunk_opts *opts)
{
    opts->target_tokens = 200;
    opts->overlap_tokens = 40;
}

void chunked_release(struct chunked *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_chunks; i++)
        frugal_free(c->chunks[i].heading_path);
    frugal_free(c->chunks);
    buf_release(&c->text);
    c->chunks = NULL;
    c->n_chunks = 0;
}

static size_t char_offset(struct char_cursor *cur, const char *text, size_t byte)
{
    if (byte < cur->byte) {
        cur->byte = 0;
        cur->chr = 0;
    }
    cur->chr += utf8_count(text + cur->byte, byte - cur->byte);
    cur->byte = byte;
    return cur->chr;
}

/* Emits the open window as a chunk, if it holds anything new. */
static frugal_status flush_window(struct chunker *k)
{
    if (!k->win_content)
        return FRUGAL_OK;
    k->win_content = false;
    struct chunked *out = k->out;
    if (out->n_chunks == k->chunks_cap) {
        size_t cap = k->chunks_cap == 0 ? 16 : k->chunks_cap * 2;
        struct chunk *grown = frugal_reallocarray(out->chunks, cap, sizeof *grown);
        if (grown == NULL)
            return FRUGAL_ENOMEM;
        out->chunks = grown;
        k->chunks_cap = cap;
    }
    struct chunk *c = &out->chunks[out->n_chunks];
    c->byte_start = k->units[k->win_first].start;
    c->byte_end = k->units[k->win_end - 1].end;
    c->heading_path = frugal_strndup(k->path.ptr != NULL ? k->path.ptr : "", k->path.len);
    if (c->heading_path == NULL)
        return FRUGAL_ENOMEM;
    const char *text = out->text.ptr;
    c->char_start = char_offset(&k->start_cur, text, c->byte_start);
    c->char_end = char_offset(&k->end_cur, text, c->byte_end);
    c->n_tokens = chunk_count_tokens(text + c->byte_start, c->byte_end - c->byte_start);
    out->n_chunks++;
    return FRUGAL_OK;
}

/* Places units [first, end) (n_tokens together) into the window, closing it first if full. */
static frugal_status place(struct chunker *k, size_t first, size_t end, size_t n_tokens)
{
    size_t target = k->opts.target_tokens;
    if (k->win_content && k->win_tokens + n_tokens > target) {
        frugal_status rc = flush_window(k);
        if (rc != FRUGAL_OK)
            return rc;
        size_t budget = n_tokens < target ? target - n_tokens : 0;
        if (budget > k->opts.overlap_tokens)
            budget = k->opts.overlap_tokens;
        size_t tokens = 0;
        size_t i = k->win_end;
        while (i > k->win_first && tokens + k->units[i - 1].n_tokens <= budget) {
            tokens += k->units[i - 1].n_tokens;
            i--;
        }
        k->win_first = i;
        k->win_tokens = tokens;
    }
    if (!k->win_content && k->win_first == k->win_end) {
        k->win_first = first;
        k->win_tokens = 0;
    }
    k->win_end = end;
    k->win_tokens += n_tokens;
    k->win_content = true;
    return FRUGAL_OK;
}

static frugal_status push_unit(struct chunker *k, size_t start, size_t end, size_t n_tokens)
{
    if (k->n_units == k->units_cap) {
        size_t cap = k->units_cap == 0 ? 64 : k->units_cap * 2;
        struct unit *grown = frugal_reallocarray(k->units, cap, sizeof *grown);
        if (grown == NULL)
            return FRUGAL_ENOMEM;
        k->units = grown;
        k->units_cap = cap;
    }
    k->units[k->n_units].start = start;
    k->units[k->n_units].end = end;
    k->units[k->n_units].n_tokens = n_tokens;
    k->n_units++;
    return FRUGAL_OK;
}

/* Adds text[start..end) as one unit or, when over the target, as pieces cut at word
 * boundaries. */
static frugal_status add_piece(struct chunker *k, size_t start, size_t end)
{
    const char *text = k->out->text.ptr;
    size_t n_tokens = count_tokens_in(text, start, end, &start, &end); /* trims whitespace */
    if (n_tokens == 0)
        return FRUGAL_OK;
    if (n_tokens <= k->opts.target_tokens)
        return push_unit(k, start, end, n_tokens);
    /* Pieces of overlap_tokens words let the next window repeat the last piece. */
    size_t piece_max = k->opts.overlap_tokens;
    if (piece_max == 0)
        piece_max = k->opts.target_tokens;
    frugal_status rc = FRUGAL_OK;
    size_t piece_start = start;
    size_t piece_end = start;
    size_t piece_tokens = 0;
    size_t tok_start;
    size_t tok_end;
    size_t pos = start;
    while (rc == FRUGAL_OK && next_token(text, end, pos, &tok_start, &tok_end)) {
        if (piece_tokens == piece_max) {
            rc = push_unit(k, piece_start, piece_end, piece_tokens);
            piece_tokens = 0;
        }
        if (piece_tokens == 0)
            piece_start = tok_start;
        piece_end = tok_end;
        piece_tokens++;
        pos = tok_end;
    }
    if (rc == FRUGAL_OK && piece_tokens > 0)
        rc = push_unit(k, piece_start, piece_end, piece_tokens);
    return rc;
}

/* Cuts the block at text[start..end) into units. */
static frugal_status add_units(struct chunker *k, const struct block *b, size_t start, size_t end)
{
    frugal_status rc = FRUGAL_OK;
    if (b->kind == BLOCK_HEADING)
        return add_piece(k, start, end);
    if (b->kind == BLOCK_TABLE || b->kind == BLOCK_CODE) {
        size_t line = start;
        while (rc == FRUGAL_OK && line < end) {
            const char *nl = memchr(k->out->text.ptr + line, '\n', end - line);
            size_t line_end = nl != NULL ? (size_t)(nl - k->out->text.ptr) : end;
            rc = add_piece(k, line, line_end);
            line = line_end + 1;
        }
        return rc;
    }
    struct span *spans = NULL;
    size_t n_spans = 0;
    rc = sentences_split(k->out->text.ptr + start, end - start, &spans, &n_spans);
    for (size_t i = 0; i < n_spans && rc == FRUGAL_OK; i++)
        rc = add_piece(k, start + spans[i].start, start + spans[i].end);
    frugal_free(spans);
    return rc;
}

/* Closes the section and pushes the heading onto the path. */
static frugal_status start_section(struct chunker *k, const struct block *b)
{
    frugal_status rc = flush_window(k);
    if (rc != FRUGAL_OK)
        return rc;
    k->n_units = 0;
    k->win_first = 0;
    k->win_end = 0;
    k->win_tokens = 0;
    int level = b->level < 1 ? 1 : (b->level > MAX_HEADING_DEPTH ? MAX_HEADING_DEPTH : b->level);
    while (k->depth > 0 && k->levels[k->depth - 1] >= level) {
        k->depth--;
        k->path.len = k->path_lens[k->depth];
        k->path.ptr[k->path.len] = '\0';
    }
    k->levels[k->depth] = level;
    k->path_lens[k->depth] = k->path.len;
    k->depth++;
    if (k->path.len > 0)
        rc = buf_append(&k->path, " > ", 3);
    const char *name = b->text;
    size_t name_len = b->len;
    while (name_len > 0 && is_ascii_space(name[name_len - 1]))
        name_len--;
    while (name_len > 0 && is_ascii_space(name[0])) {
        name++;
        name_len--;
    }
    if (rc == FRUGAL_OK)
        rc = buf_append(&k->path, name, name_len);
    return rc;
}

static frugal_status add_block(struct chunker *k, const struct block *b, const struct block *prev)
{
    frugal_status rc = FRUGAL_OK;
    struct buf *text = &k->out->text;
    if (b->kind == BLOCK_HEADING)
        rc = start_section(k, b);
    if (rc == FRUGAL_OK && text->len > 0) {
        bool list = prev != NULL && prev->kind == BLOCK_LIST_ITEM && b->kind == BLOCK_LIST_ITEM;
        rc = buf_append(text, "\n\n", list ? 1 : 2);
    }
    size_t start = text->len;
    if (rc == FRUGAL_OK)
        rc = buf_append(text, b->text, b->len);
    size_t first = k->n_units;
    if (rc == FRUGAL_OK)
        rc = add_units(k, b, start, text->len);
    if (rc != FRUGAL_OK)
        return rc;
    size_t n_tokens = 0;
    for (size_t i = first; i < k->n_units; i++)
        n_tokens += k->units[i].n_tokens;
    if (n_tokens <= k->opts.target_tokens)
        return place(k, first, k->n_units, n_tokens);
    for (size_t i = first; i < k->n_units && rc == FRUGAL_OK; i++)
        rc = place(k, i, i + 1, k->units[i].n_tokens);
    return rc;
}

frugal_status chunk_document(const struct block *blocks, size_t n_blocks,
                             const struct chunk_opts *opts, struct chunked *out, struct err *err)
{
    struct chunker k = {.out = out};
    if (opts != NULL)
        k.opts = *opts;
    else
        chunk_default_opts(&k.opts);
    if (k.opts.target_tokens == 0 || k.opts.overlap_tokens >= k.opts.target_tokens)
        return err_set(err, FRUGAL_EINVAL,
                       "chunk: overlap_tokens (%zu) must be below target_tokens (%zu)",
                       k.opts.overlap_tokens, k.opts.target_tokens);
    buf_init(&k.path, 0);
    out->chunks = NULL;
    out->n_chunks = 0;
    frugal_status rc = FRUGAL_OK;
    const struct block *prev = NULL;
    for (size_t i = 0; i < n_blocks && rc == FRUGAL_OK; i++) {
        if (chunk_count_tokens(blocks[i].text, blocks[i].len) == 0)
            continue; /* empty blocks take no space and change no heading */
        rc = add_block(&k, &blocks[i], prev);
        prev = &blocks[i];
    }
    if (rc == FRUGAL_OK)
        rc = flush_window(&k);
    /* The full text is NUL-terminated even when empty. */
    if (rc == FRUGAL_OK && out->text.ptr == NULL)
        rc = buf_append(&out->text, "", 0);
    frugal_free(k.units);
    buf_release(&k.path);
    if (rc != FRUGAL_OK) {
        chunked_release(out);
        return err_set(err, rc, "chunk: %s", frugal_strerror(rc));
    }
    return FRUGAL_OK;
}
