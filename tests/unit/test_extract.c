/*
 * test_extract.c - unit tests for src/ingest/extract*.c.
 *
 * Each extractor runs on the small files in tests/data/extract/ (see make_docx.py and
 * make_pdf.py there for the binary ones) and the tests check blocks (kind, level, text),
 * titles, metadata, error codes and message contents. Hostile inputs (deep nesting, unclosed
 * formatting elements, entity bombs, truncated zips, binary data) are generated here and must
 * fail cleanly or degrade, fast. Every extractor is also run under allocation failure at each
 * successive allocation: it must return FRUGAL_ENOMEM or succeed, and never leak (ASan).
 * The PDF time limit is tested with a fake pdftotext on PATH that sleeps.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "ingest/extract.h"

#define MAX_DOCS 16

struct got {
    struct extracted docs[MAX_DOCS];
    size_t n_docs;
    frugal_status errs[MAX_DOCS];
    char msgs[MAX_DOCS][256];
    size_t n_errs;
    size_t n_calls;
    size_t stop_after;          /* return FRUGAL_EINVAL from the call with this number (1-based) */
};

static frugal_status collect(void *ctx, struct extracted *doc, frugal_status status,
                             const char *msg)
{
    struct got *g = ctx;
    g->n_calls++;
    if (g->stop_after != 0 && g->n_calls == g->stop_after)
        return FRUGAL_EINVAL;
    if (doc == NULL) {
        assert_int_not_equal(status, FRUGAL_OK);
        assert_non_null(msg);
        if (g->n_errs < MAX_DOCS) {
            g->errs[g->n_errs] = status;
            snprintf(g->msgs[g->n_errs], sizeof g->msgs[0], "%s", msg);
            g->n_errs++;
        }
        return FRUGAL_OK;
    }
    assert_int_equal(status, FRUGAL_OK);
    for (size_t i = 0; i < doc->n_blocks; i++) {
        assert_true(doc->blocks[i].len > 0);
        assert_int_equal(strlen(doc->blocks[i].text), doc->blocks[i].len);
    }
    if (g->n_docs < MAX_DOCS) {
        g->docs[g->n_docs++] = *doc;  /* steal every owned field */
        extracted_init(doc);
    }
    return FRUGAL_OK;
}

static void got_release(struct got *g)
{
    for (size_t i = 0; i < g->n_docs; i++)
        extracted_release(&g->docs[i]);
    memset(g, 0, sizeof *g);
}

static char *read_data(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/extract/%s", test_data_dir(), name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Extracts file `name` (format from its name) into g; returns the status, err in *e. */
static frugal_status run_file(const char *name, const struct extract_opts *opts, struct got *g,
                              struct err *e)
{
    size_t len;
    char *data = read_data(name, &len);
    memset(g, 0, sizeof *g);
    err_clear(e);
    frugal_status rc = extract_buffer(extract_detect(name, data, len), data, len, opts, collect,
                                      g, e);
    for (size_t i = 0; i < g->n_docs; i++)
        g->docs[i].raw = NULL;  /* the bytes are gone */
    free(data);
    return rc;
}

static frugal_status run_mem(enum extract_format fmt, const char *data, size_t len,
                             struct got *g, struct err *e)
{
    memset(g, 0, sizeof *g);
    err_clear(e);
    return extract_buffer(fmt, data, len, NULL, collect, g, e);
}

static void check_block(const struct extracted *d, size_t i, enum block_kind kind, int level,
                        const char *text)
{
    if (i >= d->n_blocks)
        fail_msg("block %zu missing (have %zu); wanted \"%s\"", i, d->n_blocks, text);
    const struct block *b = &d->blocks[i];
    if (b->kind != kind || b->level != level || strcmp(b->text, text) != 0)
        fail_msg("block %zu: got kind %d level %d \"%s\", want kind %d level %d \"%s\"", i,
                 b->kind, b->level, b->text, kind, level, text);
}

/* True when some block's text contains needle. */
static bool any_block_has(const struct extracted *d, const char *needle)
{
    for (size_t i = 0; i < d->n_blocks; i++)
        if (strstr(d->blocks[i].text, needle) != NULL)
            return true;
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- detection and helpers ---- */

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(extract_detect("a/b/README.MD", NULL, 0), FORMAT_MARKDOWN);
    assert_int_equal(extract_detect("x.markdown", NULL, 0), FORMAT_MARKDOWN);
    assert_int_equal(extract_detect("x.txt", NULL, 0), FORMAT_TEXT);
    assert_int_equal(extract_detect("x.text", NULL, 0), FORMAT_TEXT);
    assert_int_equal(extract_detect("x.HTM", NULL, 0), FORMAT_HTML);
    assert_int_equal(extract_detect("x.xhtml", NULL, 0), FORMAT_HTML);
    assert_int_equal(extract_detect("x.Pdf", NULL, 0), FORMAT_PDF);
    assert_int_equal(extract_detect("x.docx", NULL, 0), FORMAT_DOCX);
    assert_int_equal(extract_detect("corpus.jsonl", NULL, 0), FORMAT_JSONL);
    assert_int_equal(extract_detect("corpus.JSONL.gz", NULL, 0), FORMAT_JSONL);
    assert_int_equal(extract_detect("x.ndjson", NULL, 0), FORMAT_JSONL);
    /* the name wins over the content */
    assert_int_equal(extract_detect("x.txt", "%PDF-1.4", 8), FORMAT_TEXT);
    /* sniffing */
    assert_int_equal(extract_detect("upload", "%PDF-1.7\n...", 12), FORMAT_PDF);
    assert_int_equal(extract_detect(NULL, "PK\x03\x04....word/document.xml", 25), FORMAT_DOCX);
    assert_int_equal(extract_detect(NULL, "PK\x03\x04....xl/workbook.xml", 22), FORMAT_UNKNOWN);
    assert_int_equal(extract_detect(NULL, "\xEF\xBB\xBF  <!DOCTYPE HTML><p>x", 28), FORMAT_HTML);
    const char *xhtml = "<?xml version=\"1.0\"?>\n<!-- c -->\n<html xmlns=\"x\">";
    assert_int_equal(extract_detect("page", xhtml, strlen(xhtml)), FORMAT_HTML);
    assert_int_equal(extract_detect("notes", "just words\n", 11), FORMAT_TEXT);
    assert_int_equal(extract_detect("x.gz", "\x1f\x8b\x08\x00\x00", 5), FORMAT_UNKNOWN);
    assert_int_equal(extract_detect("x.bin", "\x01\x02\x03\x04\x05\x06", 6), FORMAT_UNKNOWN);
    assert_int_equal(extract_detect(NULL, NULL, 0), FORMAT_UNKNOWN);
    assert_string_equal(extract_format_name(FORMAT_MARKDOWN), "markdown");
    assert_string_equal(extract_format_name(FORMAT_JSONL), "jsonl");
    assert_string_equal(extract_format_name(FORMAT_UNKNOWN), "unknown");
}

static void test_add_block(void **state)
{
    (void)state;
    struct extracted d;
    extracted_init(&d);
    assert_int_equal(extracted_add_block(&d, BLOCK_PARAGRAPH, 0, " \n\t ", 4), FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_PARAGRAPH, 0, "", 0), FRUGAL_OK);
    assert_int_equal(d.n_blocks, 0);
    assert_int_equal(extracted_add_block(&d, BLOCK_PARAGRAPH, 0, "  hi there \n", 12), FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_CODE, 0, "\n  \n    x = 1;\n  y\n\n", 20),
                     FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_CODE, 0, "\n   \n", 5), FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_HEADING, 9, "deep", 4), FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_HEADING, 0, "zero", 4), FRUGAL_OK);
    assert_int_equal(extracted_add_block(&d, BLOCK_LIST_ITEM, 3, "abcdef", 3), FRUGAL_OK);
    assert_int_equal(d.n_blocks, 5);
    check_block(&d, 0, BLOCK_PARAGRAPH, 0, "hi there");
    check_block(&d, 1, BLOCK_CODE, 0, "    x = 1;\n  y");
    check_block(&d, 2, BLOCK_HEADING, 6, "deep");
    check_block(&d, 3, BLOCK_HEADING, 1, "zero");
    check_block(&d, 4, BLOCK_LIST_ITEM, 3, "abc");
    extracted_release(&d);
    assert_int_equal(d.n_blocks, 0);
    assert_null(d.blocks);
    extracted_release(NULL);

    extracted_init(&d);
    const char *text = "one\ntwo\n\n\nthree\r\n \t\r\nfour\n";
    assert_int_equal(extract_add_paragraphs(&d, BLOCK_QUOTE, text, strlen(text)), FRUGAL_OK);
    assert_int_equal(d.n_blocks, 3);
    check_block(&d, 0, BLOCK_QUOTE, 0, "one\ntwo");
    check_block(&d, 1, BLOCK_QUOTE, 0, "three");
    check_block(&d, 2, BLOCK_QUOTE, 0, "four");
    extracted_release(&d);
}

static void test_buffer_args(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    err_clear(&e);
    assert_int_equal(extract_buffer(FORMAT_TEXT, "x", 1, NULL, NULL, NULL, &e), FRUGAL_EINVAL);
    assert_int_equal(extract_buffer(FORMAT_TEXT, NULL, 3, NULL, collect, &g, &e), FRUGAL_EINVAL);
    assert_int_equal(run_mem(FORMAT_UNKNOWN, "x", 1, &g, &e), FRUGAL_EUNSUPPORTED);
    assert_int_equal(run_mem(FORMAT_TEXT, NULL, 0, &g, &e), FRUGAL_EEMPTY);
    assert_int_equal(run_mem(FORMAT_TEXT, " \n\n \t", 5, &g, &e), FRUGAL_EEMPTY);
    assert_string_equal(e.msg, "no text found");
    assert_int_equal(g.n_calls, 0);
    /* the callback stops extraction */
    memset(&g, 0, sizeof g);
    g.stop_after = 1;
    err_clear(&e);
    assert_int_equal(extract_buffer(FORMAT_TEXT, "a", 1, NULL, collect, &g, &e), FRUGAL_EINVAL);
    assert_non_null(strstr(e.msg, "callback"));
    /* a BOM is not text */
    assert_int_equal(run_mem(FORMAT_TEXT, "\xEF\xBB\xBFhello", 8, &g, &e), FRUGAL_OK);
    check_block(&g.docs[0], 0, BLOCK_PARAGRAPH, 0, "hello");
    got_release(&g);
}

static void test_binary(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    size_t len;
    char *data = read_data("binary.bin", &len);
    assert_int_equal(extract_detect("binary.bin", data, len), FORMAT_UNKNOWN);
    const enum extract_format text_formats[] = {FORMAT_TEXT, FORMAT_MARKDOWN, FORMAT_HTML,
                                                FORMAT_JSONL};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(run_mem(text_formats[i], data, len, &g, &e), FRUGAL_EUNSUPPORTED);
        assert_non_null(strstr(e.msg, "binary data"));
        assert_int_equal(g.n_calls, 0);
    }
    assert_int_equal(run_mem(FORMAT_DOCX, data, len, &g, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "not a valid DOCX"));
    assert_int_equal(run_mem(FORMAT_PDF, data, len, &g, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "not a PDF"));
    free(data);
}

/* ---- plain text ---- */

static void test_text(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("sample.txt", NULL, &g, &e), FRUGAL_OK);
    assert_int_equal(g.n_docs, 1);
    struct extracted *d = &g.docs[0];
    assert_null(d->title);
    assert_null(d->ext_id);
    assert_int_equal(d->n_blocks, 3);
    check_block(d, 0, BLOCK_PARAGRAPH, 0, "First paragraph line one.\nFirst paragraph line two.");
    check_block(d, 1, BLOCK_PARAGRAPH, 0, "Second paragraph after a whitespace-only line.");
    check_block(d, 2, BLOCK_PARAGRAPH, 0, "Third paragraph.");
    got_release(&g);

    assert_int_equal(run_file("crlf.txt", NULL, &g, &e), FRUGAL_OK);
    assert_int_equal(g.docs[0].n_blocks, 2);
    check_block(&g.docs[0], 1, BLOCK_PARAGRAPH, 0, "Second windows paragraph");
    got_release(&g);
}

/* ---- Markdown ---- */

static void test_markdown(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("sample.md", NULL, &g, &e), FRUGAL_OK);
    struct extracted *d = &g.docs[0];
    assert_string_equal(d->title, "Front Matter Title");
    size_t i = 0;
    check_block(d, i++, BLOCK_HEADING, 1, "Getting Started with Frugal");
    check_block(d, i++, BLOCK_PARAGRAPH, 0,
                "Frugal is a small engine. See the manual for more & less. A soft break "
                "continues the paragraph.");
    check_block(d, i++, BLOCK_HEADING, 2, "Install");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "Download the tarball");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "Run make");
    check_block(d, i++, BLOCK_LIST_ITEM, 2, "nested item one");
    check_block(d, i++, BLOCK_LIST_ITEM, 2, "nested item two");
    check_block(d, i++, BLOCK_CODE, 0, "int main(void)\n{\n    return 0;\n}");
    check_block(d, i++, BLOCK_QUOTE, 0, "Quoted wisdom over two lines.");
    check_block(d, i++, BLOCK_TABLE, 0, "Name | Value\nalpha | 1\nbeta | 2");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Raw HTML block");
    check_block(d, i++, BLOCK_HEADING, 3, "Third \xC2\xA9 level");
    assert_int_equal(d->n_blocks, i);
    assert_false(any_block_has(d, "var x"));
    assert_false(any_block_has(d, "layout:"));
    got_release(&g);

    assert_int_equal(run_file("notitle.md", NULL, &g, &e), FRUGAL_OK);
    d = &g.docs[0];
    assert_string_equal(d->title, "First H1");  /* the first H1, not the first block */
    check_block(d, 0, BLOCK_PARAGRAPH, 0, "Intro paragraph before any heading.");
    check_block(d, 4, BLOCK_HEADING, 1, "Second H1");
    got_release(&g);

    const char *md = "no title here\n\n## only h2\n";
    assert_int_equal(run_mem(FORMAT_MARKDOWN, md, strlen(md), &g, &e), FRUGAL_OK);
    assert_null(g.docs[0].title);
    got_release(&g);

    /* an unclosed front matter is just text; a NUL char is replaced */
    const char *odd = "---\ntitle: x\n\n<!-- only a comment -->\n\nA&#0;B &#x110000; &#1234567890;";
    assert_int_equal(run_mem(FORMAT_MARKDOWN, odd, strlen(odd), &g, &e), FRUGAL_OK);
    assert_true(any_block_has(&g.docs[0], "A\xEF\xBF\xBD" "B \xEF\xBF\xBD"));
    got_release(&g);

    const char *blank = "<!-- nothing -->\n\n---\n";
    assert_int_equal(run_mem(FORMAT_MARKDOWN, blank, strlen(blank), &g, &e), FRUGAL_EEMPTY);
}

/* ---- HTML ---- */

static void test_html(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("sample.html", NULL, &g, &e), FRUGAL_OK);
    struct extracted *d = &g.docs[0];
    assert_string_equal(d->title, "The Sample Page");
    size_t i = 0;
    check_block(d, i++, BLOCK_HEADING, 1, "Article Heading");
    check_block(d, i++, BLOCK_PARAGRAPH, 0,
                "First paragraph with bold, a link and a line\xC2\xA0" "break\nhere.");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Loose div text with span");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Paragraph inside the div.");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "trailing div text");
    check_block(d, i++, BLOCK_HEADING, 2, "Lists");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "Outer one");
    check_block(d, i++, BLOCK_LIST_ITEM, 2, "Inner one");
    check_block(d, i++, BLOCK_LIST_ITEM, 2, "Inner two");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "Outer two");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "Numbered");
    check_block(d, i++, BLOCK_HEADING, 3, "Table");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Prices");
    check_block(d, i++, BLOCK_TABLE, 0, "Item | Price\nApple | 1.50\nPear (ripe) |");
    check_block(d, i++, BLOCK_CODE, 0, "  code line 1\n    indented   line 2");
    check_block(d, i++, BLOCK_QUOTE, 0, "Quoted text.");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Term");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Definition of the term.");
    assert_int_equal(d->n_blocks, i);
    static const char *const gone[] = {"script text", "color: red", "Site Home", "Nav one",
        "Prev", "Next", "Hidden", "hidden paragraph", "JavaScript", "Search", "Template",
        "SVG", "Aside", "Footer"};
    for (size_t k = 0; k < sizeof gone / sizeof gone[0]; k++)
        if (any_block_has(d, gone[k]))
            fail_msg("\"%s\" should have been dropped", gone[k]);
    got_release(&g);
}

static void test_html_soup(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("soup.html", NULL, &g, &e), FRUGAL_OK);
    struct extracted *d = &g.docs[0];
    assert_string_equal(d->title, "Soup heading");  /* no <title>: the first h1 */
    check_block(d, 0, BLOCK_HEADING, 1, "Soup heading");
    check_block(d, 1, BLOCK_PARAGRAPH, 0, "Unclosed paragraph one");
    check_block(d, 2, BLOCK_PARAGRAPH, 0, "Unclosed paragraph two with italic bold mixed");
    assert_true(any_block_has(d, "cell one | cell two\nrow two"));
    assert_true(any_block_has(d, "Entities <tag> & \xC3\xA9t\xC3\xA9 &bogus; end"));
    assert_true(any_block_has(d, "after script"));
    assert_true(any_block_has(d, "last"));
    assert_false(any_block_has(d, "not text"));
    got_release(&g);

    assert_int_equal(run_file("layout.html", NULL, &g, &e), FRUGAL_OK);
    d = &g.docs[0];
    assert_int_equal(d->n_blocks, 3);
    check_block(d, 0, BLOCK_HEADING, 1, "Layout heading");
    check_block(d, 1, BLOCK_PARAGRAPH, 0, "Layout paragraph one.");
    check_block(d, 2, BLOCK_TABLE, 0, "Inner | data");
    got_release(&g);

    assert_int_equal(run_file("wrapped_form.html", NULL, &g, &e), FRUGAL_OK);
    check_block(&g.docs[0], 1, BLOCK_PARAGRAPH, 0, "Real content lives here.");
    got_release(&g);

    assert_int_equal(run_file("empty.html", NULL, &g, &e), FRUGAL_EEMPTY);
    assert_string_equal(e.msg, "no text (only a title)");
    assert_int_equal(g.n_calls, 0);

    const char *frag = "plain <b>fragment</b> &amp; no tags around";
    assert_int_equal(run_mem(FORMAT_HTML, frag, strlen(frag), &g, &e), FRUGAL_OK);
    check_block(&g.docs[0], 0, BLOCK_PARAGRAPH, 0, "plain fragment & no tags around");
    got_release(&g);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
    size_t hl = strlen(head);
    size_t ul = strlen(unit);
    size_t tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + n * ul, tail, tl + 1);
    *len = hl + ul * n + tl;
    return s;
}

/* Inputs that would make gumbo quadratic or huge are read by the tag stripper, fast. */
static void test_html_hostile(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    size_t len;
    double t0 = now_s();
    char *deep = repeat("<html><title>Deep</title><body>", "<div>", 200000,
                        "deep text &amp; more<script>no()</script><p>next</p>", &len);
    assert_int_equal(run_mem(FORMAT_HTML, deep, len, &g, &e), FRUGAL_OK);
    assert_string_equal(g.docs[0].title, "Deep");
    check_block(&g.docs[0], 0, BLOCK_PARAGRAPH, 0, "deep text & more");
    check_block(&g.docs[0], 1, BLOCK_PARAGRAPH, 0, "next");
    got_release(&g);
    free(deep);

    /* an unclosed <noscript> in the stripper keeps the rest */
    char *open = repeat("<body>", "<div>", 1000, "<noscript>a</noscrip> b <nav>c</nav> d", &len);
    assert_int_equal(run_mem(FORMAT_HTML, open, len, &g, &e), FRUGAL_OK);
    assert_null(g.docs[0].title);
    check_block(&g.docs[0], 0, BLOCK_PARAGRAPH, 0, "a b d");
    got_release(&g);
    free(open);

    char *fmt = repeat("<body>", "<b id=x><i class=y><font color=z>", 40, "", &len);
    char *more = repeat(fmt, "<p>x", 100000, "", &len);
    assert_int_equal(run_mem(FORMAT_HTML, more, len, &g, &e), FRUGAL_OK);
    assert_int_equal(g.docs[0].n_blocks, 100000);
    got_release(&g);
    free(fmt);
    free(more);

    /* legitimately deep but under the limits: the tree parser, with structure */
    char *ok = repeat("<h1>T</h1>", "<div>", 200, "inner", &len);
    assert_int_equal(run_mem(FORMAT_HTML, ok, len, &g, &e), FRUGAL_OK);
    check_block(&g.docs[0], 0, BLOCK_HEADING, 1, "T");
    got_release(&g);
    free(ok);

    char *tables = repeat("", "<table><tr><td>", 3000, "cell", &len);
    assert_int_equal(run_mem(FORMAT_HTML, tables, len, &g, &e), FRUGAL_OK);
    got_release(&g);
    free(tables);

    const char *junk[] = {"<", "<<<>>>", "</", "<!--", "<a href='", "<script>", "&", "&#",
                          "<table><td>x</table></td><tr>", "<svg><p>esc</p></svg>", "</p></p>"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        frugal_status rc = run_mem(FORMAT_HTML, junk[i], strlen(junk[i]), &g, &e);
        assert_true(rc == FRUGAL_OK || rc == FRUGAL_EEMPTY);
        got_release(&g);
    }
    if (now_s() - t0 > 20)
        fail_msg("hostile HTML took %.1f s", now_s() - t0);
}

/* ---- JSONL ---- */

static void test_jsonl(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("sample.jsonl", NULL, &g, &e), FRUGAL_OK);
    assert_int_equal(g.n_docs, 4);
    struct extracted *d = &g.docs[0];
    assert_string_equal(d->ext_id, "doc1");
    assert_string_equal(d->title, "First Title");
    assert_string_equal(d->metadata_json, "{\"lang\":\"en\",\"year\":2020,\"tags\":[\"a\",\"b\"]}");
    assert_int_equal(d->n_blocks, 2);
    check_block(d, 0, BLOCK_PARAGRAPH, 0, "Para one.");
    check_block(d, 1, BLOCK_PARAGRAPH, 0, "Para two.");
    d = &g.docs[1];
    assert_string_equal(d->ext_id, "42");
    assert_null(d->title);  /* "" is no title */
    assert_null(d->metadata_json);
    check_block(d, 0, BLOCK_PARAGRAPH, 0, "Numeric id text.");
    d = &g.docs[2];
    assert_string_equal(d->ext_id, "doc7");
    assert_string_equal(d->title, "Title Only");
    assert_int_equal(d->n_blocks, 0);
    d = &g.docs[3];
    assert_string_equal(d->ext_id, "doc9");
    assert_null(d->metadata_json);

    assert_int_equal(g.n_errs, 6);
    static const char *const msgs[] = {
        "line 4: not valid JSON (at column 28)",
        "line 5: not a JSON object",
        "line 6: no \"_id\"",
        "line 7 (_id \"doc5\"): \"text\" is not a string",
        "line 8 (_id \"doc6\"): \"metadata\" is not an object",
        "line 10 (_id \"doc8\"): no text",
    };
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(g.msgs[i], msgs[i]);
        assert_int_equal(g.errs[i], i == 5 ? FRUGAL_EEMPTY : FRUGAL_ECORRUPT);
    }
    got_release(&g);

    assert_int_equal(run_file("blank.jsonl", NULL, &g, &e), FRUGAL_EEMPTY);
    assert_int_equal(run_mem(FORMAT_JSONL, "", 0, &g, &e), FRUGAL_EEMPTY);
    assert_non_null(strstr(e.msg, "empty"));
}

static void test_jsonl_edges(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    /* raw points at the line, without its line break */
    const char *two = "{\"_id\":\"a\",\"text\":\"x\"}\r\n{\"_id\":1.5,\"text\":\"y\",\"title\":null}";
    assert_int_equal(run_mem(FORMAT_JSONL, two, strlen(two), &g, &e), FRUGAL_OK);
    assert_int_equal(g.n_docs, 2);
    assert_ptr_equal(g.docs[0].raw, two);
    assert_int_equal(g.docs[0].raw_len, strlen("{\"_id\":\"a\",\"text\":\"x\"}"));
    assert_string_equal(g.docs[1].ext_id, "1.5");
    assert_null(g.docs[1].title);
    got_release(&g);

    const char *ids = "{\"_id\":\"\",\"text\":\"x\"}\n{\"_id\":[1],\"text\":\"x\"}\n"
                      "{\"_id\":\"t\",\"title\":5,\"text\":\"x\"}\n{\"_id\":\"n\"}\n"
                      "{\"_id\":\"ok\",\"text\":\"fine\"}";
    assert_int_equal(run_mem(FORMAT_JSONL, ids, strlen(ids), &g, &e), FRUGAL_OK);
    assert_int_equal(g.n_docs, 1);
    assert_int_equal(g.n_errs, 4);
    assert_string_equal(g.msgs[0], "line 1: \"_id\" is empty");
    assert_string_equal(g.msgs[1], "line 2: \"_id\" is not a string or a number");
    assert_string_equal(g.msgs[2], "line 3 (_id \"t\"): \"title\" is not a string");
    assert_string_equal(g.msgs[3], "line 4 (_id \"n\"): no \"text\"");
    got_release(&g);

    /* not JSONL at all: give up after 100 bad records */
    size_t len;
    char *csv = repeat("", "a,b,c\n", 5000, "", &len);
    assert_int_equal(run_mem(FORMAT_JSONL, csv, len, &g, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "not JSONL"));
    assert_int_equal(g.n_calls, 100);
    free(csv);

    /* the callback stops extraction */
    memset(&g, 0, sizeof g);
    g.stop_after = 2;
    err_clear(&e);
    const char *three = "{\"_id\":1,\"text\":\"a\"}\n{\"_id\":2,\"text\":\"b\"}\n{\"_id\":3,\"text\":\"c\"}";
    assert_int_equal(extract_buffer(FORMAT_JSONL, three, strlen(three), NULL, collect, &g, &e),
                     FRUGAL_EINVAL);
    assert_int_equal(g.n_calls, 2);
    assert_non_null(strstr(e.msg, "line 2"));
    got_release(&g);

    /* deep nesting is refused by cJSON's limit, not the stack */
    char *deep = repeat("{\"_id\":1,\"text\":\"t\",\"metadata\":{\"a\":", "[", 100000, "", &len);
    assert_int_equal(run_mem(FORMAT_JSONL, deep, len, &g, &e), FRUGAL_OK);
    assert_int_equal(g.n_errs, 1);
    free(deep);
}

/* ---- DOCX ---- */

static void test_docx(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    assert_int_equal(run_file("sample.docx", NULL, &g, &e), FRUGAL_OK);
    struct extracted *d = &g.docs[0];
    assert_string_equal(d->title, "Sample Word Document");
    size_t i = 0;
    check_block(d, i++, BLOCK_HEADING, 1, "Document Title Paragraph");
    check_block(d, i++, BLOCK_HEADING, 1, "Introduction");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Frugal extracts\ttext\nafter break with a link");
    check_block(d, i++, BLOCK_HEADING, 2, "Details");
    check_block(d, i++, BLOCK_HEADING, 6, "Deep heading");
    check_block(d, i++, BLOCK_LIST_ITEM, 1, "First bullet");
    check_block(d, i++, BLOCK_LIST_ITEM, 2, "Nested bullet");
    check_block(d, i++, BLOCK_QUOTE, 0, "A wise quote");
    check_block(d, i++, BLOCK_HEADING, 3, "Outline heading");
    check_block(d, i++, BLOCK_TABLE, 0, "Name | Score\nalpha | 1");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Inside a content control");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Choice text");
    check_block(d, i++, BLOCK_PARAGRAPH, 0, "Last paragraph & done.");
    assert_int_equal(d->n_blocks, i);
    assert_false(any_block_has(d, "deleted"));
    assert_false(any_block_has(d, "HYPERLINK"));
    assert_false(any_block_has(d, "Fallback"));
    got_release(&g);

    struct {
        const char *file;
        const char *msg;
    } bad[] = {
        {"broken.docx", "not a valid DOCX: "},
        {"nodoc.docx", "not a valid DOCX: no word/document.xml in the zip"},
        {"entities.docx", "not a valid DOCX: word/document.xml declares a DTD"},
        {"badxml.docx", "not a valid DOCX: word/document.xml is not well-formed XML (line 1"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(run_file(bad[k].file, NULL, &g, &e), FRUGAL_ECORRUPT);
        if (strncmp(e.msg, bad[k].msg, strlen(bad[k].msg)) != 0)
            fail_msg("%s: got \"%s\"", bad[k].file, e.msg);
        assert_int_equal(g.n_calls, 0);
    }
    /* the inflated size is capped by max_bytes */
    struct extract_opts small = {1000, 60};
    assert_int_equal(run_file("sample.docx", &small, &g, &e), FRUGAL_ETOOBIG);
    assert_non_null(strstr(e.msg, "word/document.xml inflates to more than 1000 bytes"));
    /* every truncation of a valid DOCX fails cleanly */
    size_t len;
    char *data = read_data("sample.docx", &len);
    for (size_t cut = 0; cut < len; cut += 7) {
        frugal_status rc = run_mem(FORMAT_DOCX, data, cut, &g, &e);
        assert_int_equal(rc, FRUGAL_ECORRUPT);
        assert_true(e.msg[0] != '\0');
    }
    free(data);
}

/* ---- PDF ---- */

static bool have_pdftotext(void)
{
    return system("command -v pdftotext >/dev/null 2>&1") == 0;
}

static void test_pdf(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    if (!have_pdftotext()) {
        skip();
        return;
    }
    assert_int_equal(run_file("sample.pdf", NULL, &g, &e), FRUGAL_OK);
    struct extracted *d = &g.docs[0];
    assert_null(d->title);
    assert_int_equal(d->n_blocks, 3);
    check_block(d, 0, BLOCK_PARAGRAPH, 0, "Frugal PDF Sample\nsecond line of the first paragraph");
    check_block(d, 1, BLOCK_PARAGRAPH, 0, "Left column Right column");
    check_block(d, 2, BLOCK_PARAGRAPH, 0, "Page two text.");
    got_release(&g);

    assert_int_equal(run_file("corrupt.pdf", NULL, &g, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "pdftotext failed (exit 1): "));
    assert_non_null(strstr(e.msg, "Error"));
    assert_null(strchr(e.msg, '\n'));
    assert_int_equal(g.n_calls, 0);
}

/* Runs sample.pdf with PATH set to dir, which holds a fake pdftotext (or nothing). */
static frugal_status run_fake_pdf(const char *dir, const char *script, int timeout_s,
                                  struct got *g, struct err *e)
{
    char path[512];
    if (script != NULL) {
        snprintf(path, sizeof path, "%s/pdftotext", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(script, f);
        fclose(f);
        assert_int_equal(chmod(path, 0755), 0);
    }
    const char *old = getenv("PATH");
    char *saved = strdup(old != NULL ? old : "/usr/bin:/bin");
    setenv("PATH", dir, 1);
    struct extract_opts opts = {0, timeout_s};
    frugal_status rc = run_file("sample.pdf", &opts, g, e);
    setenv("PATH", saved, 1);
    free(saved);
    if (script != NULL)
        unlink(path);
    return rc;
}

static void test_pdf_child(void **state)
{
    (void)state;
    struct got g;
    struct err e;
    char dir[] = "/tmp/frugal-test-XXXXXX";
    assert_non_null(mkdtemp(dir));

    assert_int_equal(run_fake_pdf(dir, NULL, 5, &g, &e), FRUGAL_EUNSUPPORTED);
    assert_string_equal(e.msg, "pdftotext not found (install poppler-utils)");

    double t0 = now_s();
    assert_int_equal(run_fake_pdf(dir, "#!/bin/sh\nexec /bin/sleep 30\n", 1, &g, &e), FRUGAL_ETIMEOUT);
    assert_string_equal(e.msg, "pdftotext did not finish within 1 s");
    assert_true(now_s() - t0 < 10);

    /* output first, then a hang: still a timeout */
    assert_int_equal(run_fake_pdf(dir, "#!/bin/sh\necho partial\nexec /bin/sleep 30\n", 1, &g, &e),
                     FRUGAL_ETIMEOUT);

    assert_int_equal(run_fake_pdf(dir,
                                  "#!/bin/sh\necho 'Syntax Warning: noise' >&2\n"
                                  "echo 'Command Line Error: Incorrect password' >&2\nexit 3\n",
                                  5, &g, &e),
                     FRUGAL_ECORRUPT);
    assert_string_equal(e.msg, "pdftotext failed (exit 3): Command Line Error: Incorrect password");

    assert_int_equal(run_fake_pdf(dir, "#!/bin/sh\nprintf '\\f\\f  \\n\\f'\n", 5, &g, &e),
                     FRUGAL_EEMPTY);
    assert_non_null(strstr(e.msg, "no text in the PDF"));

    assert_int_equal(run_fake_pdf(dir, "#!/bin/sh\nkill -SEGV $$\n", 5, &g, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "pdftotext crashed (signal 11)"));

    assert_int_equal(run_fake_pdf(dir, "#!/bin/sh\nprintf 'a  \\t  b\\n\\n   c\\fd'\n", 5, &g, &e),
                     FRUGAL_OK);
    assert_int_equal(g.docs[0].n_blocks, 3);
    check_block(&g.docs[0], 0, BLOCK_PARAGRAPH, 0, "a b");
    check_block(&g.docs[0], 1, BLOCK_PARAGRAPH, 0, "c");
    check_block(&g.docs[0], 2, BLOCK_PARAGRAPH, 0, "d");
    got_release(&g);
    rmdir(dir);
}

/* ---- allocation failure ---- */

static void fail_each_allocation(const char *file, enum extract_format fmt)
{
    size_t len;
    char *data = read_data(file, &len);
    struct got g;
    struct err e;
    bool passed = false;
    for (long n = 0; n < 100000 && !passed; n++) {
        memset(&g, 0, sizeof g);
        err_clear(&e);
        alloc_fail_after(n);
        frugal_status rc = extract_buffer(fmt, data, len, NULL, collect, &g, &e);
        alloc_fail_after(-1);
        if (rc != FRUGAL_OK && rc != FRUGAL_ENOMEM)
            fail_msg("%s: allocation %ld failing gave status %d (%s)", file, n, rc, e.msg);
        passed = rc == FRUGAL_OK && g.n_errs == 0;
        if (fmt == FORMAT_JSONL)
            passed = rc == FRUGAL_OK && g.n_docs == 4;
        got_release(&g);
    }
    assert_true(passed);
    free(data);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fail_each_allocation("sample.txt", FORMAT_TEXT);
    fail_each_allocation("sample.md", FORMAT_MARKDOWN);
    fail_each_allocation("sample.html", FORMAT_HTML);
    fail_each_allocation("soup.html", FORMAT_HTML);
    fail_each_allocation("sample.docx", FORMAT_DOCX);
    fail_each_allocation("sample.jsonl", FORMAT_JSONL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),        cmocka_unit_test(test_add_block),
        cmocka_unit_test(test_buffer_args),   cmocka_unit_test(test_binary),
        cmocka_unit_test(test_text),          cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_html),          cmocka_unit_test(test_html_soup),
        cmocka_unit_test(test_html_hostile),  cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_edges),   cmocka_unit_test(test_docx),
        cmocka_unit_test(test_pdf),           cmocka_unit_test(test_pdf_child),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
