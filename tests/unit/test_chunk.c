/* test_chunk.c - structure-aware chunking (src/text/chunk.c). */
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "text/chunk.h"
#include "text/utf8.h"

#define MAX_BLOCKS 64

struct doc {
    struct block blocks[MAX_BLOCKS];
    size_t n;
    struct buf store[MAX_BLOCKS]; /* owns each block's text */
};

static void doc_add(struct doc *d, enum block_kind kind, int level, const char *text)
{
    assert_true(d->n < MAX_BLOCKS);
    struct buf *b = &d->store[d->n];
    buf_init(b, 0);
    assert_int_equal(buf_puts(b, text), FRUGAL_OK);
    d->blocks[d->n] = (struct block){.kind = kind, .level = level, .text = b->ptr, .len = b->len};
    d->n++;
}

/* Adds a block of n_sentences sentences of words_per_sentence words each. */
static void doc_add_prose(struct doc *d, int n_sentences, int words_per_sentence)
{
    struct buf t;
    buf_init(&t, 0);
    for (int s = 0; s < n_sentences; s++) {
        if (s > 0)
            assert_int_equal(buf_putc(&t, ' '), FRUGAL_OK);
        assert_int_equal(buf_printf(&t, "Sentence%d", s), FRUGAL_OK);
        for (int w = 1; w < words_per_sentence; w++)
            assert_int_equal(buf_printf(&t, " w%dé", w), FRUGAL_OK);
        assert_int_equal(buf_putc(&t, '.'), FRUGAL_OK);
    }
    doc_add(d, BLOCK_PARAGRAPH, 0, t.ptr);
    buf_release(&t);
}

static void doc_free(struct doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        buf_release(&d->store[i]);
    d->n = 0;
}

static bool is_space_byte(char c)
{
    return c == ' ' || c == '\n' || c == '\t';
}

/* Invariants every chunking must satisfy. */
static void check_chunks(const struct chunked *c, const struct chunk_opts *opts)
{
    const char *text = c->text.ptr;
    assert_non_null(text);
    assert_int_equal(strlen(text), c->text.len);
    for (size_t i = 0; i < c->n_chunks; i++) {
        const struct chunk *k = &c->chunks[i];
        assert_true(k->byte_start < k->byte_end);
        assert_true(k->byte_end <= c->text.len);
        assert_int_equal(k->char_start, utf8_count(text, k->byte_start));
        assert_int_equal(k->char_end, utf8_count(text, k->byte_end));
        assert_int_equal(k->n_tokens,
                         chunk_count_tokens(text + k->byte_start, k->byte_end - k->byte_start));
        assert_false(is_space_byte(text[k->byte_start]));
        assert_false(is_space_byte(text[k->byte_end - 1]));
        assert_non_null(k->heading_path);
        if (opts != NULL)
            assert_true(k->n_tokens <= opts->target_tokens);
        if (i > 0) {
            assert_true(k->byte_start >= c->chunks[i - 1].byte_start);
            assert_true(k->byte_end > c->chunks[i - 1].byte_end);
        }
    }
}

static void run_chunker(const struct doc *d, const struct chunk_opts *opts, struct chunked *out)
{
    struct err e;
    err_clear(&e);
    memset(out, 0, sizeof *out);
    assert_int_equal(chunk_document(d->blocks, d->n, opts, out, &e), FRUGAL_OK);
    check_chunks(out, opts);
}

static void assert_chunk_text(const struct chunked *c, size_t i, const char *want)
{
    const struct chunk *k = &c->chunks[i];
    assert_int_equal(k->byte_end - k->byte_start, strlen(want));
    assert_memory_equal(c->text.ptr + k->byte_start, want, strlen(want));
}

static void test_heading_paths(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Preamble before any heading.");
    doc_add(&d, BLOCK_HEADING, 1, "A");
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text of A.");
    doc_add(&d, BLOCK_HEADING, 2, "B");
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text of B.");
    doc_add(&d, BLOCK_HEADING, 3, "C");
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text of C.");
    doc_add(&d, BLOCK_HEADING, 2, "D");
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text of D.");
    doc_add(&d, BLOCK_HEADING, 1, "E");
    doc_add(&d, BLOCK_HEADING, 2, "F"); /* a heading-only section is still a chunk */
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text of F.");
    struct chunked c;
    run_chunker(&d, NULL, &c);
    const char *paths[] = {"", "A", "A > B", "A > B > C", "A > D", "E", "E > F"};
    const char *texts[] = {"Preamble before any heading.", "A\n\nText of A.", "B\n\nText of B.",
                           "C\n\nText of C.", "D\n\nText of D.", "E", "F\n\nText of F."};
    assert_int_equal(c.n_chunks, 7);
    for (size_t i = 0; i < c.n_chunks; i++) {
        assert_string_equal(c.chunks[i].heading_path, paths[i]);
        assert_chunk_text(&c, i, texts[i]);
    }
    assert_int_equal(c.text.len, strlen("Preamble before any heading.\n\nA\n\nText of A.\n\nB\n\n"
                                        "Text of B.\n\nC\n\nText of C.\n\nD\n\nText of D.\n\nE\n\n"
                                        "F\n\nText of F."));
    chunked_release(&c);
    doc_free(&d);
}

static void test_no_chunk_spans_sections(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_HEADING, 1, "First");
    for (int i = 0; i < 5; i++)
        doc_add_prose(&d, 3, 6);
    doc_add(&d, BLOCK_HEADING, 1, "Second");
    for (int i = 0; i < 5; i++)
        doc_add_prose(&d, 3, 6);
    struct chunk_opts opts = {.target_tokens = 40, .overlap_tokens = 8};
    struct chunked c;
    run_chunker(&d, &opts, &c);
    const char *second = strstr(c.text.ptr, "Second");
    assert_non_null(second);
    size_t boundary = (size_t)(second - c.text.ptr);
    bool seen_second = false;
    for (size_t i = 0; i < c.n_chunks; i++) {
        const struct chunk *k = &c.chunks[i];
        bool in_first = k->byte_end <= boundary;
        bool in_second = k->byte_start >= boundary;
        assert_true(in_first != in_second);
        assert_string_equal(k->heading_path, in_first ? "First" : "Second");
        if (in_second && !seen_second) {
            assert_int_equal(k->byte_start, boundary); /* the heading opens its section */
            seen_second = true;
        }
    }
    assert_true(seen_second);
    chunked_release(&c);
    doc_free(&d);
}

static void test_windows_and_overlap(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    for (int i = 0; i < 30; i++)
        doc_add_prose(&d, 2, 5); /* 10-token paragraphs */
    struct chunk_opts opts = {.target_tokens = 50, .overlap_tokens = 10};
    struct chunked c;
    run_chunker(&d, &opts, &c);
    assert_true(c.n_chunks >= 6);
    for (size_t i = 0; i + 1 < c.n_chunks; i++) {
        const struct chunk *k = &c.chunks[i];
        const struct chunk *next = &c.chunks[i + 1];
        assert_true(k->n_tokens >= 40); /* near the target, not over it */
        /* the next window starts with the trailing sentence(s) of this one */
        assert_true(next->byte_start < k->byte_end);
        size_t overlap = chunk_count_tokens(c.text.ptr + next->byte_start,
                                            k->byte_end - next->byte_start);
        assert_true(overlap > 0 && overlap <= opts.overlap_tokens);
        assert_memory_equal(c.text.ptr + next->byte_start, "Sentence", 8);
    }
    /* every paragraph is covered */
    assert_int_equal(c.chunks[0].byte_start, 0);
    assert_int_equal(c.chunks[c.n_chunks - 1].byte_end, c.text.len);
    chunked_release(&c);
    doc_free(&d);
}

static void test_giant_paragraph_split_by_sentences(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_HEADING, 2, "Big");
    doc_add_prose(&d, 40, 5); /* 200 tokens in one paragraph */
    struct chunk_opts opts = {.target_tokens = 32, .overlap_tokens = 6};
    struct chunked c;
    run_chunker(&d, &opts, &c);
    assert_true(c.n_chunks >= 7);
    assert_memory_equal(c.text.ptr + c.chunks[0].byte_start, "Big\n\nSentence0 ", 15);
    for (size_t i = 0; i < c.n_chunks; i++) {
        const struct chunk *k = &c.chunks[i];
        assert_string_equal(k->heading_path, "Big");
        if (i > 0)
            assert_memory_equal(c.text.ptr + k->byte_start, "Sentence", 8);
        assert_int_equal(c.text.ptr[k->byte_end - 1], '.'); /* ends at a sentence end */
        if (i + 1 < c.n_chunks)
            assert_true(k->n_tokens >= 25);
    }
    chunked_release(&c);
    doc_free(&d);
}

static void test_giant_sentence_split_by_words(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    struct buf t;
    buf_init(&t, 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(buf_printf(&t, "%smot%d", i > 0 ? " " : "", i), FRUGAL_OK);
    doc_add(&d, BLOCK_PARAGRAPH, 0, t.ptr);
    buf_release(&t);
    struct chunk_opts opts = {.target_tokens = 50, .overlap_tokens = 10};
    struct chunked c;
    run_chunker(&d, &opts, &c);
    assert_true(c.n_chunks >= 10);
    for (size_t i = 0; i < c.n_chunks; i++) {
        const struct chunk *k = &c.chunks[i];
        assert_true(k->byte_start == 0 || c.text.ptr[k->byte_start - 1] == ' ');
        assert_true(k->byte_end == c.text.len || c.text.ptr[k->byte_end] == ' ');
        assert_memory_equal(c.text.ptr + k->byte_start, "mot", 3);
        if (i + 1 < c.n_chunks) {
            assert_true(k->n_tokens >= 40);
            assert_true(c.chunks[i + 1].byte_start < k->byte_end); /* overlap */
        }
    }
    assert_int_equal(c.chunks[c.n_chunks - 1].byte_end, c.text.len);
    chunked_release(&c);
    doc_free(&d);
}

static void test_lists_tables_cjk_offsets(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_HEADING, 1, "Über café");
    doc_add(&d, BLOCK_LIST_ITEM, 1, "première chose");
    doc_add(&d, BLOCK_LIST_ITEM, 1, "deuxième chose");
    doc_add(&d, BLOCK_PARAGRAPH, 0, "数据库很好。我们用它。");
    doc_add(&d, BLOCK_TABLE, 0, "a | b\n1 | 2\n3 | 4\n5 | 6");
    doc_add(&d, BLOCK_CODE, 0,
            "int main(void) {\n    int x = 1;\n    int y = 2;\n    return x + y;\n}");
    doc_add(&d, BLOCK_HEADING, 2, " padded ");
    struct chunk_opts opts = {.target_tokens = 10, .overlap_tokens = 2};
    struct chunked c;
    run_chunker(&d, &opts, &c);
    assert_non_null(strstr(c.text.ptr, "première chose\ndeuxième chose\n\n数据库"));
    assert_true(c.n_chunks >= 3);
    assert_int_equal(chunk_count_tokens("数据库 abc", strlen("数据库 abc")), 4);
    /* the table is cut at rows */
    bool row_start = false;
    for (size_t i = 0; i < c.n_chunks; i++) {
        const char *s = c.text.ptr + c.chunks[i].byte_start;
        if (strncmp(s, "3 | 4", 5) == 0 || strncmp(s, "5 | 6", 5) == 0 ||
            strncmp(s, "1 | 2", 5) == 0)
            row_start = true;
        assert_string_equal(c.chunks[i].heading_path,
                            i + 1 < c.n_chunks ? "Über café" : "Über café > padded");
    }
    assert_chunk_text(&c, c.n_chunks - 1, "padded"); /* trimmed */
    assert_true(row_start);
    chunked_release(&c);
    doc_free(&d);
}

static void test_empty(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    struct chunked c;
    run_chunker(&d, NULL, &c);
    assert_int_equal(c.n_chunks, 0);
    assert_int_equal(c.text.len, 0);
    chunked_release(&c);
    doc_add(&d, BLOCK_PARAGRAPH, 0, "");
    doc_add(&d, BLOCK_HEADING, 1, "  ");
    doc_add(&d, BLOCK_PARAGRAPH, 0, " \n ");
    run_chunker(&d, NULL, &c);
    assert_int_equal(c.n_chunks, 0);
    chunked_release(&c);
    chunked_release(NULL);
    doc_free(&d);
    assert_int_equal(chunk_count_tokens("", 0), 0);
    assert_int_equal(chunk_count_tokens("  hello,   world! ", 18), 2);
}

static void test_bad_opts(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_PARAGRAPH, 0, "Text.");
    struct chunk_opts opts = {.target_tokens = 10, .overlap_tokens = 10};
    struct chunked c;
    memset(&c, 0, sizeof c);
    struct err e;
    err_clear(&e);
    assert_int_equal(chunk_document(d.blocks, d.n, &opts, &c, &e), FRUGAL_EINVAL);
    assert_int_equal(e.code, FRUGAL_EINVAL);
    opts.target_tokens = 0;
    opts.overlap_tokens = 0;
    assert_int_equal(chunk_document(d.blocks, d.n, &opts, &c, NULL), FRUGAL_EINVAL);
    assert_int_equal(c.n_chunks, 0);
    chunk_default_opts(&opts);
    assert_int_equal(opts.target_tokens, 200);
    assert_int_equal(opts.overlap_tokens, 40);
    doc_free(&d);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct doc d = {.n = 0};
    doc_add(&d, BLOCK_HEADING, 1, "Title");
    doc_add_prose(&d, 12, 6);
    doc_add(&d, BLOCK_HEADING, 2, "Sub");
    doc_add(&d, BLOCK_LIST_ITEM, 1, "one");
    doc_add(&d, BLOCK_LIST_ITEM, 1, "two");
    doc_add(&d, BLOCK_CODE, 0, "int x;\nreturn x;");
    struct chunk_opts opts = {.target_tokens = 20, .overlap_tokens = 5};
    size_t want_chunks = 0;
    for (long n = 0;; n++) {
        struct chunked c;
        memset(&c, 0, sizeof c);
        struct err e;
        err_clear(&e);
        alloc_fail_after(n);
        frugal_status rc = chunk_document(d.blocks, d.n, &opts, &c, &e);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_true(n > 0);
            check_chunks(&c, &opts);
            want_chunks = c.n_chunks;
            chunked_release(&c);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_int_equal(e.code, FRUGAL_ENOMEM);
        assert_int_equal(c.n_chunks, 0);
        assert_null(c.chunks);
        assert_null(c.text.ptr);
        assert_true(n < 1000);
    }
    assert_true(want_chunks >= 4);
    doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heading_paths),
        cmocka_unit_test(test_no_chunk_spans_sections),
        cmocka_unit_test(test_windows_and_overlap),
        cmocka_unit_test(test_giant_paragraph_split_by_sentences),
        cmocka_unit_test(test_giant_sentence_split_by_words),
        cmocka_unit_test(test_lists_tables_cjk_offsets),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_opts),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
