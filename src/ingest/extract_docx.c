/*
 * extract_docx.c - Word (OOXML .docx) documents into blocks, with libzip and libxml2.
 *
 * What: word/document.xml's body in order: each w:p is a block (text of its w:t runs, w:tab
 * as a tab, w:br/w:cr as a line break; deleted text, field codes and text boxes skipped);
 * paragraph styles Heading1..9 or an outline level make headings (levels above 6 clamp to 6),
 * Title makes a level-1 heading, numbered/bulleted paragraphs (w:numPr, ListBullet/ListNumber
 * styles) list items with level ilvl+1, Quote/IntenseQuote quotes; each w:tbl is one
 * BLOCK_TABLE with a line per row and cells joined by " | ". The title is docProps/core.xml's
 * dc:title, else the first Title-style paragraph.
 *
 * How: the zip is opened from memory (zip_source_buffer_create); members are inflated into a
 * size-capped buffer (opts->max_bytes, else 256 MiB: a zip bomb stops there with ETOOBIG) and
 * parsed with XML_PARSE_NONET and without XML_PARSE_NOENT / XML_PARSE_HUGE. OOXML parts never
 * carry a DTD, so a part with <!DOCTYPE is refused before parsing: no entity can be declared,
 * so none can expand (billion laughs) and none can point outside (XXE). libxml2's default
 * depth limit (256) bounds the tree; our walks are recursive but capped at DOCX_MAX_DEPTH.
 *
 * Why libzip + libxml2: both are mature, fuzzed and already dependencies. They allocate with
 * malloc, not frugal_malloc; their memory is bounded by the inflated-size cap. Reentrant: each
 * call uses its own zip handle and parser context (call xmlInitParser() once at program start
 * when extracting from several threads).
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/extract.h"

#define DOCX_MAX_XML ((size_t)256 << 20)
#define DOCX_MAX_CORE ((size_t)1 << 20)
#define DOCX_MAX_DEPTH 128

struct docx {
    struct extracted *doc;
    struct buf text;       /* the paragraph or cell being read */
    struct buf row;
    struct buf table;
    char *title_style;     /* first Title-style paragraph */
};

/* ---- zip ---- */

static frugal_status read_member(zip_t *z, const char *name, size_t cap, struct buf *out,
                                 bool *found, struct err *err)
{
    *found = false;
    buf_init(out, cap);
    zip_int64_t idx = zip_name_locate(z, name, ZIP_FL_NOCASE);
    if (idx < 0)
        return FRUGAL_OK;
    *found = true;
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (f == NULL)
        return err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: %s: %s", name,
                       zip_strerror(z));
    frugal_status rc = FRUGAL_OK;
    char chunk[65536];
    for (;;) {
        zip_int64_t k = zip_fread(f, chunk, sizeof chunk);
        if (k < 0) {
            rc = err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: %s: %s", name,
                         zip_file_strerror(f));
            break;
        }
        if (k == 0)
            break;
        rc = buf_append(out, chunk, (size_t)k);
        if (rc == FRUGAL_ETOOBIG) {
            rc = err_set(err, rc, "%s inflates to more than %zu bytes", name, cap);
            break;
        }
        if (rc != FRUGAL_OK) {
            rc = extract_status_err(err, rc);
            break;
        }
    }
    zip_fclose(f);
    return rc;
}

/* ---- XML ---- */

static bool has_doctype(const char *s, size_t n)
{
    static const char needle[] = "<!DOCTYPE";
    size_t k = sizeof needle - 1;
    for (size_t i = 0; i + k <= n; i++) {
        const char *lt = memchr(s + i, '<', n - i);
        if (lt == NULL)
            return false;
        i = (size_t)(lt - s);
        if (i + k <= n && memcmp(s + i, needle, k) == 0)
            return true;
    }
    return false;
}

static frugal_status parse_xml(const struct buf *b, const char *name, xmlDoc **out,
                               struct err *err)
{
    *out = NULL;
    if (b->len > INT_MAX)
        return err_set(err, FRUGAL_ETOOBIG, "%s is too big", name);
    if (has_doctype(b->ptr != NULL ? b->ptr : "", b->len))
        return err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: %s declares a DTD", name);
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    *out = xmlCtxtReadMemory(ctxt, b->ptr != NULL ? b->ptr : "", (int)b->len, name, NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                 XML_PARSE_COMPACT);
    frugal_status rc = FRUGAL_OK;
    if (*out == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[200] = "";
        if (e != NULL && e->message != NULL) {
            size_t n = strcspn(e->message, "\n");
            if (n >= sizeof msg)
                n = sizeof msg - 1;
            memcpy(msg, e->message, n);
            msg[n] = '\0';
        }
        rc = err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: %s is not well-formed XML "
                                           "(line %d: %s)",
                     name, e != NULL ? e->line : 0, msg[0] != '\0' ? msg : "parse error");
    }
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* True when node is a WordprocessingML element with local name `name` (transitional or
 * strict namespace). */
static bool is_w(const xmlNode *node, const char *name)
{
    if (node->type != XML_ELEMENT_NODE || strcmp((const char *)node->name, name) != 0 ||
        node->ns == NULL || node->ns->href == NULL)
        return false;
    const char *href = (const char *)node->ns->href;
    return strstr(href, "wordprocessingml") != NULL;
}

static bool is_ns(const xmlNode *node, const char *name, const char *href_part)
{
    return node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0 &&
           node->ns != NULL && node->ns->href != NULL &&
           strstr((const char *)node->ns->href, href_part) != NULL;
}

/* The value of attribute `name` (any namespace), borrowed from the tree; NULL when absent. */
static const char *attr(const xmlNode *node, const char *name)
{
    for (const xmlAttr *a = node->properties; a != NULL; a = a->next)
        if (strcmp((const char *)a->name, name) == 0 && a->children != NULL &&
            a->children->type == XML_TEXT_NODE)
            return (const char *)a->children->content;
    return NULL;
}

static const xmlNode *child_w(const xmlNode *node, const char *name)
{
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (is_w(c, name))
            return c;
    return NULL;
}

/* Appends the text of the runs under node (see the file comment for what counts). */
static frugal_status collect(struct docx *d, const xmlNode *node, int depth)
{
    static const char *const skip[] = {"pPr", "rPr", "delText", "instrText", "del",
        "txbxContent", "tblPr", "trPr", "tcPr", "sectPr", NULL};
    frugal_status rc = FRUGAL_OK;
    for (const xmlNode *c = node->children; c != NULL && rc == FRUGAL_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        bool skipped = is_ns(c, "Fallback", "markup-compatibility");
        for (size_t i = 0; skip[i] != NULL && !skipped; i++)
            skipped = is_w(c, skip[i]);
        if (skipped)
            continue;
        if (is_w(c, "t")) {
            for (const xmlNode *t = c->children; t != NULL && rc == FRUGAL_OK; t = t->next)
                if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) &&
                    t->content != NULL)
                    rc = buf_puts(&d->text, (const char *)t->content);
        } else if (is_w(c, "tab")) {
            rc = buf_putc(&d->text, '\t');
        } else if (is_w(c, "br") || is_w(c, "cr")) {
            rc = buf_putc(&d->text, '\n');
        } else if (is_w(c, "noBreakHyphen")) {
            rc = buf_putc(&d->text, '-');
        } else if (depth < DOCX_MAX_DEPTH) {
            /* Runs, hyperlinks, insertions, fields, content controls; inside a table cell
             * also nested paragraphs and tables, which are separated by a space. */
            if ((is_w(c, "p") || is_w(c, "tc")) && d->text.len > 0)
                rc = buf_putc(&d->text, ' ');
            if (rc == FRUGAL_OK)
                rc = collect(d, c, depth + 1);
        }
    }
    return rc;
}

/* Heading level from a style id ("Heading2" -> 2, "Title" -> 1), else 0. */
static int style_heading(const char *style)
{
    if (strcasecmp(style, "Title") == 0)
        return 1;
    if (strncasecmp(style, "Heading", 7) != 0)
        return 0;
    const char *s = style + 7;
    if (*s == ' ')
        s++;
    if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0')
        return s[0] - '0';
    return 0;
}

/* The block kind and level a paragraph's properties give it. */
static enum block_kind paragraph_kind(const xmlNode *p, int *level, bool *is_title)
{
    *level = 0;
    *is_title = false;
    const xmlNode *ppr = child_w(p, "pPr");
    if (ppr == NULL)
        return BLOCK_PARAGRAPH;
    const xmlNode *ps = child_w(ppr, "pStyle");
    const char *style = ps != NULL ? attr(ps, "val") : NULL;
    int heading = style != NULL ? style_heading(style) : 0;
    if (heading > 0) {
        *level = heading;
        *is_title = strcasecmp(style, "Title") == 0;
        return BLOCK_HEADING;
    }
    const xmlNode *ol = child_w(ppr, "outlineLvl");
    const char *olv = ol != NULL ? attr(ol, "val") : NULL;
    if (olv != NULL && olv[0] >= '0' && olv[0] <= '8' && olv[1] == '\0') {
        *level = olv[0] - '0' + 1;
        return BLOCK_HEADING;
    }
    const xmlNode *num = child_w(ppr, "numPr");
    if (num != NULL) {
        const xmlNode *il = child_w(num, "ilvl");
        const char *v = il != NULL ? attr(il, "val") : NULL;
        *level = (v != NULL && v[0] >= '0' && v[0] <= '8' && v[1] == '\0') ? v[0] - '0' + 1 : 1;
        return BLOCK_LIST_ITEM;
    }
    if (style != NULL && (strncasecmp(style, "ListBullet", 10) == 0 ||
                          strncasecmp(style, "ListNumber", 10) == 0)) {
        *level = 1;
        return BLOCK_LIST_ITEM;
    }
    if (style != NULL && (strcasecmp(style, "Quote") == 0 ||
                          strcasecmp(style, "IntenseQuote") == 0))
        return BLOCK_QUOTE;
    return BLOCK_PARAGRAPH;
}

static frugal_status do_paragraph(struct docx *d, const xmlNode *p)
{
    int level;
    bool is_title;
    enum block_kind kind = paragraph_kind(p, &level, &is_title);
    buf_reset(&d->text);
    frugal_status rc = collect(d, p, 0);
    size_t before = d->doc->n_blocks;
    if (rc == FRUGAL_OK && d->text.len > 0)
        rc = extracted_add_block(d->doc, kind, level, d->text.ptr, d->text.len);
    if (rc == FRUGAL_OK && is_title && d->title_style == NULL && d->doc->n_blocks > before) {
        d->title_style = frugal_strdup(d->doc->blocks[before].text);
        if (d->title_style == NULL)
            rc = FRUGAL_ENOMEM;
    }
    return rc;
}

static frugal_status do_row(struct docx *d, const xmlNode *tr)
{
    frugal_status rc = FRUGAL_OK;
    size_t n_cells = 0;
    buf_reset(&d->row);
    for (const xmlNode *tc = tr->children; tc != NULL && rc == FRUGAL_OK; tc = tc->next) {
        if (!is_w(tc, "tc"))
            continue;
        buf_reset(&d->text);
        rc = collect(d, tc, 0);
        if (rc == FRUGAL_OK && n_cells > 0)
            rc = buf_append(&d->row, " | ", 3);
        size_t a = 0;
        size_t b = d->text.len;
        while (a < b && (d->text.ptr[a] == ' ' || d->text.ptr[a] == '\n' || d->text.ptr[a] == '\t'))
            a++;
        while (b > a && (d->text.ptr[b - 1] == ' ' || d->text.ptr[b - 1] == '\n' ||
                         d->text.ptr[b - 1] == '\t'))
            b--;
        for (size_t i = a; i < b && rc == FRUGAL_OK; i++)
            rc = buf_putc(&d->row, d->text.ptr[i] == '\n' ? ' ' : d->text.ptr[i]);
        n_cells++;
    }
    size_t n_sep = n_cells > 0 ? (n_cells - 1) * 3 : 0;
    if (rc == FRUGAL_OK && d->row.len > n_sep) {
        if (d->table.len > 0)
            rc = buf_putc(&d->table, '\n');
        if (rc == FRUGAL_OK)
            rc = buf_append(&d->table, d->row.ptr, d->row.len);
    }
    return rc;
}

static frugal_status do_table(struct docx *d, const xmlNode *tbl)
{
    frugal_status rc = FRUGAL_OK;
    buf_reset(&d->table);
    for (const xmlNode *tr = tbl->children; tr != NULL && rc == FRUGAL_OK; tr = tr->next)
        if (is_w(tr, "tr"))
            rc = do_row(d, tr);
    if (rc == FRUGAL_OK && d->table.len > 0)
        rc = extracted_add_block(d->doc, BLOCK_TABLE, 0, d->table.ptr, d->table.len);
    return rc;
}

/* Paragraphs and tables under node, in document order, through content controls etc. */
static frugal_status walk_body(struct docx *d, const xmlNode *node, int depth)
{
    frugal_status rc = FRUGAL_OK;
    for (const xmlNode *c = node->children; c != NULL && rc == FRUGAL_OK; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_w(c, "p"))
            rc = do_paragraph(d, c);
        else if (is_w(c, "tbl"))
            rc = do_table(d, c);
        else if (is_w(c, "del") || is_w(c, "sectPr") || is_ns(c, "Fallback", "markup-compat"))
            continue;
        else if (depth < DOCX_MAX_DEPTH)
            rc = walk_body(d, c, depth + 1);
    }
    return rc;
}

/* dc:title from docProps/core.xml; a missing or broken core.xml is no error. */
static frugal_status core_title(zip_t *z, size_t cap, struct extracted *doc)
{
    struct buf b;
    bool found;
    struct err ignored;
    frugal_status rc = read_member(z, "docProps/core.xml", cap, &b, &found, &ignored);
    xmlDoc *xml = NULL;
    if (rc == FRUGAL_OK && found && parse_xml(&b, "docProps/core.xml", &xml, &ignored) == FRUGAL_OK) {
        const xmlNode *root = xmlDocGetRootElement(xml);
        for (const xmlNode *c = root != NULL ? root->children : NULL; c != NULL; c = c->next) {
            if (!is_ns(c, "title", "purl.org/dc/elements"))
                continue;
            struct buf t;
            buf_init(&t, 0);
            for (const xmlNode *x = c->children; x != NULL && rc == FRUGAL_OK; x = x->next)
                if (x->type == XML_TEXT_NODE && x->content != NULL)
                    rc = buf_puts(&t, (const char *)x->content);
            size_t a = strspn(t.ptr != NULL ? t.ptr : "", " \t\r\n");
            if (rc == FRUGAL_OK && a < t.len) {
                size_t e = t.len;
                while (e > a && strchr(" \t\r\n", t.ptr[e - 1]) != NULL)
                    e--;
                doc->title = frugal_strndup(t.ptr + a, e - a);
                if (doc->title == NULL)
                    rc = FRUGAL_ENOMEM;
            }
            buf_release(&t);
            break;
        }
    }
    xmlFreeDoc(xml);
    buf_release(&b);
    return rc == FRUGAL_ENOMEM ? FRUGAL_ENOMEM : FRUGAL_OK;
}

static frugal_status docx_body(zip_t *z, size_t cap, struct extracted *doc, struct err *err)
{
    struct buf xml;
    bool found;
    frugal_status rc = read_member(z, "word/document.xml", cap, &xml, &found, err);
    if (rc == FRUGAL_OK && !found)
        rc = err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: no word/document.xml in the zip");
    xmlDoc *tree = NULL;
    if (rc == FRUGAL_OK)
        rc = parse_xml(&xml, "word/document.xml", &tree, err);
    buf_release(&xml);
    if (rc != FRUGAL_OK)
        return rc;
    struct docx d;
    memset(&d, 0, sizeof d);
    d.doc = doc;
    buf_init(&d.text, 0);
    buf_init(&d.row, 0);
    buf_init(&d.table, 0);
    const xmlNode *root = xmlDocGetRootElement(tree);
    const xmlNode *body = root != NULL ? child_w(root, "body") : NULL;
    if (body == NULL)
        rc = err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: word/document.xml has no w:body");
    if (rc == FRUGAL_OK)
        rc = extract_status_err(err, walk_body(&d, body, 0));
    if (rc == FRUGAL_OK && doc->title == NULL) {
        doc->title = d.title_style;
        d.title_style = NULL;
    }
    frugal_free(d.title_style);
    buf_release(&d.text);
    buf_release(&d.row);
    buf_release(&d.table);
    xmlFreeDoc(tree);
    return rc;
}

frugal_status extract_docx(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err)
{
    size_t cap = opts->max_bytes > 0 && opts->max_bytes < DOCX_MAX_XML ? opts->max_bytes
                                                                       : DOCX_MAX_XML;
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &zerr);
    if (src == NULL) {
        frugal_status rc = err_set(err, FRUGAL_ENOMEM, "out of memory: %s",
                                   zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        return rc;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &zerr);
    if (z == NULL) {
        frugal_status rc = err_set(err, FRUGAL_ECORRUPT, "not a valid DOCX: %s",
                                   zip_error_strerror(&zerr));
        zip_source_free(src);
        zip_error_fini(&zerr);
        return rc;
    }
    zip_error_fini(&zerr);
    xmlInitParser();
    frugal_status rc = core_title(z, cap < DOCX_MAX_CORE ? cap : DOCX_MAX_CORE, doc);
    if (rc != FRUGAL_OK)
        rc = extract_status_err(err, rc);
    else
        rc = docx_body(z, cap, doc, err);
    zip_discard(z);
    return rc;
}
