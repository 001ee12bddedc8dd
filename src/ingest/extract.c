/*
 * extract.c - format detection, dispatch to the per-format extractors, and the block list.
 *
 * What: extract_detect picks a format from the file name, else from the first bytes;
 * extract_buffer checks what every text format needs (no NUL bytes, no BOM), runs the
 * extractor, and turns "no blocks" into FRUGAL_EEMPTY before handing the document to the
 * caller's emit callback. JSONL is the one multi-document format and emits by itself.
 *
 * How: each extractor fills a `struct extracted` through extracted_add_block, which trims the
 * text, drops empty blocks and caps the number of blocks, so no extractor can produce an empty
 * block or grow a document without bound.
 *
 * Why here: the checks that are the same for every format live in one place, so each
 * extractor is only about its format. No global state; every function is reentrant.
 */
#include "ingest/extract.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"

#define SNIFF_BYTES 8192
#define PDF_TIMEOUT_DEFAULT 60

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool has_suffix_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower(s[n - k + i]) != suffix[i])
            return false;
    return true;
}

static bool starts_with_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower(s[i]) != prefix[i])
            return false;
    return true;
}

static bool contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
            return true;
    return false;
}

/* True when the first SNIFF_BYTES hold a NUL byte: binary data, not text. */
static bool has_nul(const char *data, size_t len)
{
    size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
    return n > 0 && memchr(data, '\0', n) != NULL;
}

/* Text: no NUL and few control characters (other than tab, newlines, form feed, escape). */
static bool looks_like_text(const char *data, size_t len)
{
    size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
    size_t n_ctrl = 0;
    if (has_nul(data, len))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c < 0x20 && !is_space((char)c) && c != 0x1b)
            n_ctrl++;
    }
    return n_ctrl * 100 <= n;
}

static enum extract_format format_from_name(const char *name)
{
    static const struct {
        const char *ext;
        enum extract_format fmt;
    } exts[] = {
        {".jsonl.gz", FORMAT_JSONL}, {".jsonl", FORMAT_JSONL},   {".ndjson", FORMAT_JSONL},
        {".txt", FORMAT_TEXT},       {".text", FORMAT_TEXT},     {".md", FORMAT_MARKDOWN},
        {".markdown", FORMAT_MARKDOWN}, {".html", FORMAT_HTML},  {".htm", FORMAT_HTML},
        {".xhtml", FORMAT_HTML},     {".pdf", FORMAT_PDF},       {".docx", FORMAT_DOCX},
    };
    if (name == NULL)
        return FORMAT_UNKNOWN;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (has_suffix_ci(name, n, exts[i].ext))
            return exts[i].fmt;
    return FORMAT_UNKNOWN;
}

/* Skips a BOM, whitespace, an XML declaration and comments before the first real tag. */
static size_t skip_html_prolog(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (int rounds = 0; rounds < 16; rounds++) {
        while (i < n && is_space(s[i]))
            i++;
        const char *close = NULL;
        if (starts_with_ci(s + i, n - i, "<?"))
            close = "?>";
        else if (starts_with_ci(s + i, n - i, "<!--"))
            close = "-->";
        if (close == NULL)
            break;
        size_t k = strlen(close);
        size_t j = i + 2;
        while (j + k <= n && memcmp(s + j, close, k) != 0)
            j++;
        if (j + k > n)
            return n;
        i = j + k;
    }
    return i;
}

enum extract_format extract_detect(const char *name, const char *data, size_t len)
{
    enum extract_format fmt = format_from_name(name);
    if (fmt != FORMAT_UNKNOWN)
        return fmt;
    if (data == NULL)
        return FORMAT_UNKNOWN;
    if (len >= 5 && memcmp(data, "%PDF-", 5) == 0)
        return FORMAT_PDF;
    if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0)
        return contains(data, len, "word/document.xml") ? FORMAT_DOCX : FORMAT_UNKNOWN;
    size_t sniff = len < SNIFF_BYTES ? len : SNIFF_BYTES;
    size_t i = skip_html_prolog(data, sniff);
    if (starts_with_ci(data + i, sniff - i, "<!doctype html") ||
        starts_with_ci(data + i, sniff - i, "<html"))
        return FORMAT_HTML;
    return looks_like_text(data, len) ? FORMAT_TEXT : FORMAT_UNKNOWN;
}

const char *extract_format_name(enum extract_format f)
{
    switch (f) {
    case FORMAT_UNKNOWN: return "unknown";
    case FORMAT_TEXT: return "text";
    case FORMAT_MARKDOWN: return "markdown";
    case FORMAT_HTML: return "html";
    case FORMAT_PDF: return "pdf";
    case FORMAT_DOCX: return "docx";
    case FORMAT_JSONL: return "jsonl";
    }
    return "unknown";
}

void extracted_init(struct extracted *doc)
{
    memset(doc, 0, sizeof *doc);
}

void extracted_release(struct extracted *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i < doc->n_blocks; i++)
        frugal_free(doc->blocks[i].text);
    frugal_free(doc->blocks);
    frugal_free(doc->title);
    frugal_free(doc->ext_id);
    frugal_free(doc->metadata_json);
    extracted_init(doc);
}

frugal_status extracted_add_block(struct extracted *doc, enum block_kind kind, int level,
                                  const char *text, size_t len)
{
    size_t start = 0;
    if (kind == BLOCK_CODE) {
        /* Drop whole blank lines at the start, keep the first line's indentation. */
        for (size_t i = 0; i < len && is_space(text[i]); i++)
            if (text[i] == '\n')
                start = i + 1;
    } else {
        while (start < len && is_space(text[start]))
            start++;
    }
    while (len > start && is_space(text[len - 1]))
        len--;
    if (len == start || (kind == BLOCK_CODE && len - start == strspn(text + start, " \t")))
        return FRUGAL_OK;
    if (doc->n_blocks >= EXTRACT_MAX_BLOCKS)
        return FRUGAL_ETOOBIG;
    if (doc->n_blocks == doc->cap_blocks) {
        size_t cap = doc->cap_blocks < 16 ? 16 : doc->cap_blocks * 2;
        struct block *b = frugal_reallocarray(doc->blocks, cap, sizeof *b);
        if (b == NULL)
            return FRUGAL_ENOMEM;
        doc->blocks = b;
        doc->cap_blocks = cap;
    }
    char *copy = frugal_strndup(text + start, len - start);
    if (copy == NULL)
        return FRUGAL_ENOMEM;
    if (kind == BLOCK_HEADING)
        level = level < 1 ? 1 : level > 6 ? 6 : level;
    else if (level < 0)
        level = 0;
    struct block *b = &doc->blocks[doc->n_blocks++];
    b->kind = kind;
    b->level = level;
    b->text = copy;
    b->len = len - start;
    return FRUGAL_OK;
}

/* The end of the blank line starting at text[i] (just past its '\n' or at len), or 0 when the
 * line is not blank. */
static size_t blank_line_end(const char *text, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
        j++;
    if (j == len)
        return j;
    return text[j] == '\n' ? j + 1 : 0;
}

frugal_status extract_add_paragraphs(struct extracted *doc, enum block_kind kind,
                                     const char *text, size_t len)
{
    size_t para = 0;
    size_t i = 0;
    while (i < len) {
        /* i is at the start of a line. */
        size_t end = blank_line_end(text, len, i);
        if (end != 0) {
            frugal_status rc = extracted_add_block(doc, kind, 0, text + para, i - para);
            if (rc != FRUGAL_OK)
                return rc;
            para = end;
            i = end;
            continue;
        }
        const char *nl = memchr(text + i, '\n', len - i);
        i = nl == NULL ? len : (size_t)(nl - text) + 1;
    }
    return extracted_add_block(doc, kind, 0, text + para, len - para);
}

static frugal_status emit_one(struct extracted *doc, extract_emit_fn emit, void *ctx,
                              struct err *err)
{
    if (doc->n_blocks == 0)
        return err_set(err, FRUGAL_EEMPTY, doc->title != NULL ? "no text (only a title)"
                                                              : "no text found");
    frugal_status rc = emit(ctx, doc, FRUGAL_OK, NULL);
    if (rc != FRUGAL_OK && (err == NULL || err->code != rc))
        err_set(err, rc, "extraction stopped by the document callback (%s)",
                frugal_strerror(rc));
    return rc;
}

frugal_status extract_buffer(enum extract_format fmt, const char *data, size_t len,
                             const struct extract_opts *opts, extract_emit_fn emit, void *ctx,
                             struct err *err)
{
    struct extract_opts defaults = {0, PDF_TIMEOUT_DEFAULT};
    if (opts == NULL)
        opts = &defaults;
    if (data == NULL && len > 0)
        return err_set(err, FRUGAL_EINVAL, "no data");
    if (emit == NULL)
        return err_set(err, FRUGAL_EINVAL, "no document callback");
    if (data == NULL)
        data = "";
    bool is_text = fmt == FORMAT_TEXT || fmt == FORMAT_MARKDOWN || fmt == FORMAT_HTML ||
                   fmt == FORMAT_JSONL;
    if (is_text && has_nul(data, len))
        return err_set(err, FRUGAL_EUNSUPPORTED,
                       "binary data (NUL bytes) where %s text was expected",
                       extract_format_name(fmt));
    if (is_text && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    if (fmt == FORMAT_JSONL)
        return extract_jsonl(data, len, opts, emit, ctx, err);

    struct extracted doc;
    extracted_init(&doc);
    frugal_status rc;
    switch (fmt) {
    case FORMAT_TEXT: rc = extract_text(data, len, opts, &doc, err); break;
    case FORMAT_MARKDOWN: rc = extract_markdown(data, len, opts, &doc, err); break;
    case FORMAT_HTML: rc = extract_html(data, len, opts, &doc, err); break;
    case FORMAT_PDF: rc = extract_pdf(data, len, opts, &doc, err); break;
    case FORMAT_DOCX: rc = extract_docx(data, len, opts, &doc, err); break;
    default: rc = err_set(err, FRUGAL_EUNSUPPORTED, "unknown format"); break;
    }
    if (rc == FRUGAL_OK)
        rc = emit_one(&doc, emit, ctx, err);
    extracted_release(&doc);
    return rc;
}

frugal_status extract_status_err(struct err *err, frugal_status rc)
{
    switch (rc) {
    case FRUGAL_OK: return rc;
    case FRUGAL_ENOMEM: return err_set(err, rc, "out of memory");
    case FRUGAL_ETOOBIG:
        return err_set(err, rc, "document too big (over %u blocks or the text size limit)",
                       EXTRACT_MAX_BLOCKS);
    default: return err_set(err, rc, "%s", frugal_strerror(rc));
    }
}

frugal_status extract_put_utf8(struct buf *b, uint32_t cp)
{
    char s[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        s[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18));
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, s, n);
}

frugal_status extract_put_entity(struct buf *b, const char *e, size_t n)
{
    static const struct {
        const char *name;
        uint32_t cp;
    } names[] = {
        {"amp", '&'},     {"lt", '<'},      {"gt", '>'},      {"quot", '"'},
        {"apos", '\''},   {"nbsp", 0xA0},   {"copy", 0xA9},   {"reg", 0xAE},
        {"trade", 0x2122}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026},
        {"laquo", 0xAB},  {"raquo", 0xBB},  {"lsquo", 0x2018}, {"rsquo", 0x2019},
        {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"euro", 0x20AC}, {"times", 0xD7},
        {"deg", 0xB0},    {"middot", 0xB7}, {"bull", 0x2022}, {"shy", 0xAD},
    };
    if (n >= 4 && e[0] == '&' && e[1] == '#' && e[n - 1] == ';') {
        bool hex = e[2] == 'x' || e[2] == 'X';
        uint32_t cp = 0;
        for (size_t i = hex ? 3 : 2; i < n - 1; i++) {
            char c = e[i];
            uint32_t d = (c >= '0' && c <= '9')   ? (uint32_t)(c - '0')
                         : (c >= 'a' && c <= 'f') ? (uint32_t)(c - 'a' + 10)
                         : (c >= 'A' && c <= 'F') ? (uint32_t)(c - 'A' + 10)
                                                  : 99;
            if (d >= (hex ? 16u : 10u))
                return buf_append(b, e, n);
            cp = cp * (hex ? 16 : 10) + d;
            if (cp > 0x10FFFF)
                cp = 0x110000;
        }
        return extract_put_utf8(b, cp);
    }
    for (size_t i = 0; n >= 3 && i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n - 2 && memcmp(names[i].name, e + 1, n - 2) == 0)
            return extract_put_utf8(b, names[i].cp);
    return buf_append(b, e, n);
}
