/*
 * extract_markdown.c - Markdown (CommonMark + GitHub tables) into blocks, with md4c.
 *
 * What: headings keep their level (BLOCK_HEADING), paragraphs, list items (level = list
 * nesting), fenced and indented code, block quotes, and tables (one BLOCK_TABLE, rows as
 * lines, cells joined by " | "). Inline markup is reduced to its text: emphasis and code
 * spans lose their markers, links and images keep their text, inline HTML tags are dropped,
 * entities are decoded. HTML blocks keep their text without tags (script/style dropped). A
 * YAML front matter block ("---" ... "---" at the very top) is skipped; its `title:` is the
 * title, else the first level-1 heading is.
 *
 * How: md4c is a SAX-style parser. Text goes into one pending buffer; the pending text is
 * flushed as a block whenever a block starts or ends, as the kind of the innermost container
 * (heading, code, list item, quote, else paragraph). Table cells collect into a row buffer and
 * the rows into a table buffer, emitted when the table ends.
 *
 * Why md4c: small, fast, fuzzed (OSS-Fuzz), no recursion on input depth, and strictly
 * CommonMark, so what users see rendered is what we index. No global state.
 */
#include <md4c.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/extract.h"

#define MD_MAX_NEST 128           /* container kinds remembered; deeper ones reuse the last */
#define FRONT_MATTER_MAX 65536    /* a front matter block must close within this many bytes */

enum container { C_LIST_ITEM, C_QUOTE };

struct md_state {
    struct extracted *doc;
    size_t input_len;             /* bytes of Markdown given to md4c: the bound of any text span */
    struct buf text;              /* pending inline text of the current leaf block or cell */
    struct buf row;               /* current table row: cells joined by " | " */
    struct buf table;             /* current table: rows joined by "\n" */
    enum container nest[MD_MAX_NEST];
    int n_nest;                   /* open containers (may exceed MD_MAX_NEST) */
    int list_depth;               /* open UL/OL */
    int heading;                  /* level while inside a heading, else 0 */
    bool in_code;
    bool in_html;
    bool in_cell;
    size_t n_cells;               /* cells in the current row so far */
    bool have_title;
    frugal_status rc;
};

static bool md_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool starts_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

/* Index of the first occurrence of needle (lowercase) in s[from..n), case-insensitive; n if none. */
static size_t find_ci(const char *s, size_t n, size_t from, const char *needle)
{
    for (size_t i = from; i < n; i++)
        if (starts_ci(s + i, n - i, needle))
            return i;
    return n;
}

/* The text of an HTML block: tags and comments removed, script and style content dropped. */
static frugal_status strip_tags(const char *s, size_t n, struct buf *out)
{
    size_t i = 0;
    frugal_status rc = FRUGAL_OK;
    while (i < n && rc == FRUGAL_OK) {
        if (s[i] != '<') {
            const char *lt = memchr(s + i, '<', n - i);
            size_t end = lt == NULL ? n : (size_t)(lt - s);
            rc = buf_append(out, s + i, end - i);
            i = end;
        } else if (starts_ci(s + i, n - i, "<!--")) {
            size_t end = find_ci(s, n, i + 4, "-->");
            i = end == n ? n : end + 3;
        } else if (starts_ci(s + i, n - i, "<script") || starts_ci(s + i, n - i, "<style")) {
            size_t end = find_ci(s, n, i + 1, s[i + 2] == 'c' || s[i + 2] == 'C' ? "</script"
                                                                                : "</style");
            const char *gt = end == n ? NULL : memchr(s + end, '>', n - end);
            i = gt == NULL ? n : (size_t)(gt - s) + 1;
        } else {
            static const char *const breaking[] = {"<p", "</p", "<div", "</div", "<br", "<li",
                "<tr", "<td", "<th", "<h", "</h", "<table", "<ul", "<ol", "<pre", "<hr",
                "<blockquote", "<dd", "<dt", NULL};
            bool space = false;
            for (size_t k = 0; breaking[k] != NULL && !space; k++) {
                size_t m = strlen(breaking[k]);
                space = starts_ci(s + i, n - i, breaking[k]) && i + m < n &&
                        strchr(" \t\r\n/>123456", s[i + m]) != NULL;
            }
            const char *gt = memchr(s + i, '>', n - i);
            i = gt == NULL ? n : (size_t)(gt - s) + 1;
            if (space)
                rc = buf_putc(out, '\n');
        }
    }
    return rc;
}

static frugal_status flush(struct md_state *st)
{
    frugal_status rc = FRUGAL_OK;
    if (st->text.len == 0)
        return FRUGAL_OK;
    enum block_kind kind = BLOCK_PARAGRAPH;
    int level = 0;
    if (st->heading > 0) {
        kind = BLOCK_HEADING;
        level = st->heading;
    } else if (st->in_code) {
        kind = BLOCK_CODE;
    } else if (st->n_nest > 0) {
        int top = st->n_nest <= MD_MAX_NEST ? st->n_nest - 1 : MD_MAX_NEST - 1;
        kind = st->nest[top] == C_LIST_ITEM ? BLOCK_LIST_ITEM : BLOCK_QUOTE;
        level = kind == BLOCK_LIST_ITEM ? st->list_depth : 0;
    }
    if (st->in_html && !st->in_code) {
        struct buf plain;
        buf_init(&plain, 0);
        rc = strip_tags(st->text.ptr, st->text.len, &plain);
        if (rc == FRUGAL_OK && plain.len > 0)
            rc = extracted_add_block(st->doc, kind, level, plain.ptr, plain.len);
        buf_release(&plain);
    } else {
        rc = extracted_add_block(st->doc, kind, level, st->text.ptr, st->text.len);
    }
    if (rc == FRUGAL_OK && kind == BLOCK_HEADING && level == 1 && !st->have_title &&
        st->doc->n_blocks > 0 && st->doc->blocks[st->doc->n_blocks - 1].kind == BLOCK_HEADING) {
        st->doc->title = frugal_strdup(st->doc->blocks[st->doc->n_blocks - 1].text);
        st->have_title = true;
        if (st->doc->title == NULL)
            rc = FRUGAL_ENOMEM;
    }
    buf_reset(&st->text);
    return rc;
}

static frugal_status cell_end(struct md_state *st)
{
    size_t a = 0;
    size_t b = st->text.len;
    while (a < b && md_space(st->text.ptr[a]))
        a++;
    while (b > a && md_space(st->text.ptr[b - 1]))
        b--;
    frugal_status rc = FRUGAL_OK;
    if (st->n_cells > 0)
        rc = buf_append(&st->row, " | ", 3);
    if (rc == FRUGAL_OK && b > a) {
        /* A cell is one line: line breaks inside it become spaces. */
        for (size_t i = a; i < b && rc == FRUGAL_OK; i++)
            rc = buf_putc(&st->row, st->text.ptr[i] == '\n' ? ' ' : st->text.ptr[i]);
    }
    st->n_cells++;
    buf_reset(&st->text);
    return rc;
}

static frugal_status row_end(struct md_state *st)
{
    frugal_status rc = FRUGAL_OK;
    size_t n_sep = st->n_cells > 0 ? (st->n_cells - 1) * 3 : 0;
    if (st->row.len > n_sep) {  /* not all cells empty */
        if (st->table.len > 0)
            rc = buf_putc(&st->table, '\n');
        if (rc == FRUGAL_OK)
            rc = buf_append(&st->table, st->row.ptr, st->row.len);
    }
    buf_reset(&st->row);
    st->n_cells = 0;
    return rc;
}

static int on_enter(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    struct md_state *st = userdata;
    if (st->rc != FRUGAL_OK)
        return 1;  /* sticky: md4c may call on after an abort */
    frugal_status rc = FRUGAL_OK;
    if (st->in_cell)
        return 0;
    if (type != MD_BLOCK_TH && type != MD_BLOCK_TD && type != MD_BLOCK_TR &&
        type != MD_BLOCK_THEAD && type != MD_BLOCK_TBODY)
        rc = flush(st);
    switch (type) {
    case MD_BLOCK_UL:
    case MD_BLOCK_OL: st->list_depth++; break;
    case MD_BLOCK_LI:
    case MD_BLOCK_QUOTE:
        if (st->n_nest < MD_MAX_NEST)
            st->nest[st->n_nest] = type == MD_BLOCK_LI ? C_LIST_ITEM : C_QUOTE;
        if (st->n_nest < INT32_MAX)
            st->n_nest++;
        break;
    case MD_BLOCK_H: st->heading = (int)((MD_BLOCK_H_DETAIL *)detail)->level; break;
    case MD_BLOCK_CODE: st->in_code = true; break;
    case MD_BLOCK_HTML: st->in_html = true; break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD: st->in_cell = true; break;
    default: break;
    }
    st->rc = rc;
    return rc == FRUGAL_OK ? 0 : 1;
}

static int on_leave(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    struct md_state *st = userdata;
    if (st->rc != FRUGAL_OK)
        return 1;  /* sticky: md4c may call on after an abort */
    frugal_status rc = FRUGAL_OK;
    switch (type) {
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
        rc = cell_end(st);
        st->in_cell = false;
        break;
    case MD_BLOCK_TR: rc = row_end(st); break;
    case MD_BLOCK_TABLE:
        rc = extracted_add_block(st->doc, BLOCK_TABLE, 0, st->table.ptr, st->table.len);
        buf_reset(&st->table);
        break;
    case MD_BLOCK_THEAD:
    case MD_BLOCK_TBODY: break;
    default:
        rc = flush(st);
        break;
    }
    switch (type) {
    case MD_BLOCK_UL:
    case MD_BLOCK_OL: st->list_depth--; break;
    case MD_BLOCK_LI:
    case MD_BLOCK_QUOTE: st->n_nest--; break;
    case MD_BLOCK_H: st->heading = 0; break;
    case MD_BLOCK_CODE: st->in_code = false; break;
    case MD_BLOCK_HTML: st->in_html = false; break;
    default: break;
    }
    st->rc = rc;
    return rc == FRUGAL_OK ? 0 : 1;
}

static int on_span(MD_SPANTYPE type, void *detail, void *userdata)
{
    return 0;
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *userdata)
{
    struct md_state *st = userdata;
    if (st->rc != FRUGAL_OK)
        return 1;  /* sticky: md4c may call on after an abort */
    frugal_status rc = FRUGAL_OK;
    if (size > st->input_len) {
        st->rc = FRUGAL_ECORRUPT;
        return 1;
    }
    switch (type) {
    case MD_TEXT_NULLCHAR: rc = buf_append(&st->text, "\xEF\xBF\xBD", 3); break;
    case MD_TEXT_BR: rc = buf_putc(&st->text, '\n'); break;
    case MD_TEXT_SOFTBR: rc = buf_putc(&st->text, st->in_code ? '\n' : ' '); break;
    case MD_TEXT_ENTITY: rc = extract_put_entity(&st->text, text, size); break;
    case MD_TEXT_HTML:
        if (st->in_html)  /* an HTML block: tags are stripped at the flush */
            rc = buf_append(&st->text, text, size);
        break;            /* inline HTML: a tag, no text */
    default: rc = buf_append(&st->text, text, size); break;
    }
    st->rc = rc;
    return rc == FRUGAL_OK ? 0 : 1;
}

/* Length of the line at s[0..n) without its line break; *next is where the next line starts. */
static size_t line_at(const char *s, size_t n, size_t *next)
{
    const char *nl = memchr(s, '\n', n);
    size_t end = nl == NULL ? n : (size_t)(nl - s);
    *next = nl == NULL ? n : end + 1;
    return end > 0 && s[end - 1] == '\r' ? end - 1 : end;
}

/* Skips a YAML front matter block; takes its `title:` as the title. Returns the bytes used. */
static frugal_status front_matter(const char *s, size_t n, struct extracted *doc,
                                  size_t *used)
{
    size_t pos;
    *used = 0;
    if (line_at(s, n, &pos) != 3 || memcmp(s, "---", 3) != 0)
        return FRUGAL_OK;
    const char *title = NULL;
    size_t title_len = 0;
    while (pos < n && pos < FRONT_MATTER_MAX) {
        size_t next;
        size_t k = line_at(s + pos, n - pos, &next);
        const char *line = s + pos;
        if ((k == 3 && memcmp(line, "---", 3) == 0) || (k == 3 && memcmp(line, "...", 3) == 0)) {
            *used = pos + next;
            break;
        }
        if (k > 6 && memcmp(line, "title:", 6) == 0) {
            title = line + 6;
            title_len = k - 6;
        }
        pos += next;
    }
    if (*used == 0 || title == NULL)
        return FRUGAL_OK;
    while (title_len > 0 && md_space(*title)) {
        title++;
        title_len--;
    }
    while (title_len > 0 && md_space(title[title_len - 1]))
        title_len--;
    if (title_len >= 2 && (title[0] == '"' || title[0] == '\'') &&
        title[title_len - 1] == title[0]) {
        title++;
        title_len -= 2;
    }
    if (title_len == 0)
        return FRUGAL_OK;
    doc->title = frugal_strndup(title, title_len);
    return doc->title == NULL ? FRUGAL_ENOMEM : FRUGAL_OK;
}

frugal_status extract_markdown(const char *data, size_t len, const struct extract_opts *opts,
                               struct extracted *doc, struct err *err)
{
    if (len > UINT32_MAX / 2)
        return err_set(err, FRUGAL_ETOOBIG, "Markdown input over %u bytes", UINT32_MAX / 2);
    size_t skip = 0;
    frugal_status rc = front_matter(data, len, doc, &skip);
    if (rc != FRUGAL_OK)
        return extract_status_err(err, rc);

    struct md_state st;
    memset(&st, 0, sizeof st);
    st.doc = doc;
    st.have_title = doc->title != NULL;
    /* Bounded by the input: every text callback passes a slice of it (at most 3 bytes for each
     * input byte, for U+FFFD), so a larger buffer means the parser went wrong. Debian's md4c
     * 0.4.8 was seen once under the fuzzer handing over a span of ~2 GiB from a 146-byte input
     * (not reproducible alone: state from earlier inputs); this turns that into a clean error. */
    size_t text_max = 3 * len + 4096;
    st.input_len = len;
    buf_init(&st.text, text_max);
    buf_init(&st.row, text_max);
    buf_init(&st.table, text_max);
    MD_PARSER parser;
    memset(&parser, 0, sizeof parser);
    parser.abi_version = 0;
    parser.flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS |
                   MD_FLAG_PERMISSIVEAUTOLINKS;
    parser.enter_block = on_enter;
    parser.leave_block = on_leave;
    parser.enter_span = on_span;
    parser.leave_span = on_span;
    parser.text = on_text;
    int ret = md_parse(data + skip, (MD_SIZE)(len - skip), &parser, &st);
    rc = st.rc;
    if (rc == FRUGAL_ETOOBIG)
        rc = FRUGAL_ECORRUPT;  /* see text_max above */
    if (rc == FRUGAL_OK && ret != 0)
        rc = FRUGAL_ENOMEM;  /* md4c fails by itself only when out of memory */
    if (rc == FRUGAL_OK)
        rc = flush(&st);
    buf_release(&st.text);
    buf_release(&st.row);
    buf_release(&st.table);
    if (rc == FRUGAL_ECORRUPT)
        return err_set(err, rc, "the Markdown parser returned text outside the input");
    return extract_status_err(err, rc);
}
