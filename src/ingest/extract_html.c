/*
 * extract_html.c - HTML into blocks, with gumbo (an HTML5-conformant parser).
 *
 * What: the <title> is the title (else the first h1). h1-h6 become headings; p, li (level =
 * list nesting), pre (code), blockquote (quote), dt, dd, caption, and text that sits directly
 * in a div or other container become blocks. A data table becomes one BLOCK_TABLE, a row per
 * line with cells joined by " | "; a table holding another table or a heading is a layout
 * table and its cells are read like divs. Dropped with all they hold: script, style, nav,
 * header and footer (except inside article or main, where they belong to the content), aside,
 * form, noscript, template, svg, math, iframe, object, embed, canvas, select, button, audio,
 * video; elements with a hidden attribute, aria-hidden="true", role="navigation", an inline
 * display:none; and elements whose class names a navigation part (navheader, navfooter, navbar,
 * breadcrumb(s), skip-link, toc: DocBook's chapter tables of contents). If dropping forms
 * leaves nothing (whole pages wrapped in one <form>, as ASP.NET does), forms are kept.
 * Whitespace outside pre is collapsed as a browser would.
 *
 * How: a cheap tag scanner first estimates the tree's depth and size. gumbo's tree building
 * is quadratic in nesting depth and re-opens every unclosed formatting element in each new
 * paragraph, so hostile input (a million nested divs, a hundred unclosed <b id=..>) could make
 * it run for hours or build gigabytes; such input is read by a plain tag stripper instead,
 * which keeps the text and loses the structure. Otherwise gumbo parses, one iterative pass
 * marks layout tables, and a second iterative pass (explicit stack, no recursion on input
 * depth) walks the tree, collecting inline text into a pending buffer that is flushed as a
 * block whenever a block element starts or ends, as the kind of the innermost block context.
 *
 * Why: gumbo never fails on tag soup and builds the tree a browser would, so what a reader
 * sees is what we index. gumbo allocates with malloc; its memory is bounded by the scanner's
 * node estimate. No global state.
 */
#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/extract.h"

#define HTML_MAX_DEPTH 512          /* estimated nesting depth the tree parser gets */
#define HTML_MAX_FORMATTING 32      /* estimated open formatting elements (b, i, font, ...) */
#define HTML_MAX_NODES (2u << 20)   /* estimated tree nodes (gumbo: ~300 bytes each) */

/* ---- Scanner: estimates depth and node count before the tree parser runs ---- */

static char lc(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool name_in(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

static const char *const k_void[] = {"area", "base", "br", "col", "embed", "hr", "img", "input",
    "link", "meta", "param", "source", "track", "wbr", "keygen", "basefont", "frame", "image",
    NULL};
/* Closed by a sibling of their own kind (or by the end of their parent), so they never nest
 * by themselves. */
static const char *const k_auto[] = {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td",
    "th", "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp", NULL};
static const char *const k_formatting[] = {"a", "b", "big", "code", "em", "font", "i", "nobr",
    "s", "small", "strike", "strong", "tt", "u", NULL};
static const char *const k_rawtext[] = {"script", "style", "textarea", "title", "xmp",
    "iframe", "noembed", "noframes", "plaintext", NULL};

/* Reads a tag name at s[i..n) into name (lowercase, truncated); returns the index past it. */
static size_t tag_name(const char *s, size_t n, size_t i, char *name, size_t cap)
{
    size_t k = 0;
    while (i < n && s[i] != '>' && s[i] != '/' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
           s[i] != '\r' && s[i] != '\f') {
        if (k + 1 < cap)
            name[k++] = lc(s[i]);
        i++;
    }
    name[k] = '\0';
    return i;
}

/* Index of "</name" (case-insensitive) at or after i, or n. */
static size_t find_end_tag(const char *s, size_t n, size_t i, const char *name)
{
    size_t k = strlen(name);
    for (; i + 2 + k <= n; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        size_t j = 0;
        while (j < k && lc(s[i + 2 + j]) == name[j])
            j++;
        if (j == k)
            return i;
    }
    return n;
}

struct scan {
    size_t depth;
    size_t n_formatting;
    size_t n_nodes;
    size_t table_depth[64];   /* depth and formatting count where each open table started */
    size_t table_fmt[64];
    size_t n_tables;
};

static void scan_start_tag(struct scan *sc, const char *name)
{
    sc->n_nodes++;
    if (name_in(name, k_void))
        return;
    if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
        /* A cell closes what its predecessor left open, formatting included. */
        if (sc->n_tables > 0 && sc->n_tables <= 64) {
            sc->depth = sc->table_depth[sc->n_tables - 1] + 3;
            sc->n_formatting = sc->table_fmt[sc->n_tables - 1];
        }
        return;
    }
    if (name_in(name, k_auto))
        return;
    if (strcmp(name, "table") == 0) {
        if (sc->n_tables < 64) {
            sc->table_depth[sc->n_tables] = sc->depth;
            sc->table_fmt[sc->n_tables] = sc->n_formatting;
        }
        sc->n_tables++;
    }
    if (name_in(name, k_formatting))
        sc->n_formatting++;
    sc->depth++;
}

static void scan_end_tag(struct scan *sc, const char *name)
{
    if (name_in(name, k_void) || name_in(name, k_auto))
        return;
    if (strcmp(name, "table") == 0 && sc->n_tables > 0) {
        sc->n_tables--;
        if (sc->n_tables < 64) {
            sc->depth = sc->table_depth[sc->n_tables];
            sc->n_formatting = sc->table_fmt[sc->n_tables];
            return;
        }
    }
    if (name_in(name, k_formatting) && sc->n_formatting > 0)
        sc->n_formatting--;
    if (sc->depth > 0)
        sc->depth--;
}

/* True when the input looks safe for the tree parser (see the file comment). */
static bool html_tree_ok(const char *s, size_t n)
{
    struct scan sc;
    memset(&sc, 0, sizeof sc);
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (lt == NULL)
            break;
        size_t t = (size_t)(lt - s);
        if (t > i)  /* a text run, re-opened formatting elements included */
            sc.n_nodes += 1 + sc.n_formatting;
        i = t + 1;
        if (i >= n)
            break;
        char name[16];
        if (s[i] == '!' && i + 2 < n && s[i + 1] == '-' && s[i + 2] == '-') {
            size_t j = i + 3;
            while (j + 2 < n && !(s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '>'))
                j++;
            i = j + 3;
            continue;
        }
        bool end = s[i] == '/';
        if (end)
            i++;
        if (i >= n || !((lc(s[i]) >= 'a' && lc(s[i]) <= 'z'))) {
            continue;  /* not a tag: "<" as text, "<!doctype", "<?xml" */
        }
        i = tag_name(s, n, i, name, sizeof name);
        const char *gt = memchr(s + i, '>', n - i);
        i = gt == NULL ? n : (size_t)(gt - s) + 1;
        if (end) {
            scan_end_tag(&sc, name);
        } else {
            scan_start_tag(&sc, name);
            if (name_in(name, k_rawtext))
                i = find_end_tag(s, n, i, name);
        }
        if (sc.depth > HTML_MAX_DEPTH || sc.n_formatting > HTML_MAX_FORMATTING ||
            sc.n_nodes > HTML_MAX_NODES)
            return false;
    }
    return true;
}

/* ---- Tag stripper: the fallback for input the tree parser should not get ---- */

static const char *const k_strip_block[] = {"p", "div", "br", "li", "h1", "h2", "h3", "h4",
    "h5", "h6", "tr", "table", "ul", "ol", "pre", "blockquote", "section", "article", "dd",
    "dt", "hr", "td", "th", "body", "main", NULL};
/* Skipped up to their end tag (kept when there is none, rather than losing the rest). */
static const char *const k_strip_skip[] = {"script", "style", "title", "noscript", "template",
    "svg", "textarea", "iframe", "nav", NULL};

struct pending {
    struct buf text;
    bool space;           /* a space is due before the next character */
};

/* Appends text with whitespace runs collapsed to one space (none at the start). */
static frugal_status put_collapsed(struct pending *p, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f') {
            p->space = true;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' &&
               s[j] != '\f')
            j++;
        frugal_status rc = FRUGAL_OK;
        if (p->space && p->text.len > 0 && p->text.ptr[p->text.len - 1] != '\n')
            rc = buf_putc(&p->text, ' ');
        p->space = false;
        if (rc == FRUGAL_OK)
            rc = buf_append(&p->text, s + i, j - i);
        if (rc != FRUGAL_OK)
            return rc;
        i = j;
    }
    return FRUGAL_OK;
}

static frugal_status strip_text(struct pending *p, const char *s, size_t n)
{
    frugal_status rc = FRUGAL_OK;
    size_t i = 0;
    while (i < n && rc == FRUGAL_OK) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp == NULL ? n : (size_t)(amp - s);
        rc = put_collapsed(p, s + i, end - i);
        i = end;
        if (rc != FRUGAL_OK || i >= n)
            break;
        size_t j = i + 1;
        while (j < n && j - i < 12 && s[j] != ';' && s[j] != '&' && s[j] != '<' && s[j] != ' ')
            j++;
        size_t k = (j < n && s[j] == ';') ? j + 1 : i + 1;
        struct buf one;
        buf_init(&one, 0);
        rc = extract_put_entity(&one, s + i, k - i);
        if (rc == FRUGAL_OK)
            rc = put_collapsed(p, one.ptr, one.len);
        buf_release(&one);
        i = k;
    }
    return rc;
}

static frugal_status flush_pending(struct pending *p, struct extracted *doc,
                                   enum block_kind kind, int level)
{
    frugal_status rc = FRUGAL_OK;
    if (p->text.len > 0)
        rc = extracted_add_block(doc, kind, level, p->text.ptr, p->text.len);
    buf_reset(&p->text);
    p->space = false;
    return rc;
}

static frugal_status strip_title(const char *s, size_t n, struct extracted *doc)
{
    struct pending p = {{NULL, 0, 0, 0}, false};
    frugal_status rc = strip_text(&p, s, n);
    if (rc == FRUGAL_OK && p.text.len > 0) {
        doc->title = buf_detach(&p.text);
        if (doc->title == NULL)
            rc = FRUGAL_ENOMEM;
    }
    buf_release(&p.text);
    return rc;
}

static frugal_status html_strip(const char *s, size_t n, struct extracted *doc)
{
    struct pending p = {{NULL, 0, 0, 0}, false};
    frugal_status rc = FRUGAL_OK;
    size_t i = 0;
    while (i < n && rc == FRUGAL_OK) {
        const char *lt = memchr(s + i, '<', n - i);
        size_t t = lt == NULL ? n : (size_t)(lt - s);
        rc = strip_text(&p, s + i, t - i);
        if (rc != FRUGAL_OK || t >= n)
            break;
        i = t + 1;
        if (i + 2 < n && s[i] == '!' && s[i + 1] == '-' && s[i + 2] == '-') {
            size_t j = i + 3;
            while (j + 2 < n && !(s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '>'))
                j++;
            i = j + 3;
            continue;
        }
        bool end = i < n && s[i] == '/';
        size_t name_at = end ? i + 1 : i;
        if (name_at >= n || !(lc(s[name_at]) >= 'a' && lc(s[name_at]) <= 'z')) {
            if (s[i] != '!' && s[i] != '?')
                rc = put_collapsed(&p, "<", 1);
            continue;
        }
        char name[16];
        i = tag_name(s, n, name_at, name, sizeof name);
        const char *gt = memchr(s + i, '>', n - i);
        i = gt == NULL ? n : (size_t)(gt - s) + 1;
        if (!end && name_in(name, k_strip_skip)) {
            size_t close = find_end_tag(s, n, i, name);
            if (close < n && strcmp(name, "title") == 0 && doc->title == NULL)
                rc = strip_title(s + i, close - i, doc);
            gt = close == n ? NULL : memchr(s + close, '>', n - close);
            if (gt != NULL)
                i = (size_t)(gt - s) + 1;
        }
        if (name_in(name, k_strip_block))
            rc = flush_pending(&p, doc, BLOCK_PARAGRAPH, 0);
    }
    if (rc == FRUGAL_OK)
        rc = flush_pending(&p, doc, BLOCK_PARAGRAPH, 0);
    buf_release(&p.text);
    return rc;
}

/* ---- Tree walk ---- */

struct hctx {
    enum block_kind kind;   /* kind of the pending text */
    int level;
    int list_depth;
    bool pre;               /* keep whitespace */
    bool cell;              /* inside a data-table cell: blocks are only spaces */
    bool in_article;        /* header/footer here are content */
};

struct frame {
    GumboNode *node;
    unsigned next;          /* next child to visit */
    struct hctx saved;      /* the context to restore when leaving node */
};

struct walk {
    struct extracted *doc;
    struct pending p;
    struct hctx ctx;
    struct buf row;
    struct buf table;
    size_t n_cells;
    GumboNode **layout;     /* sorted: tables read like divs */
    size_t n_layout;
    bool keep_forms;
    bool dropped_form;
    char *h1;               /* first h1, the title when there is no <title> */
};

static const GumboVector *children_of(const GumboNode *node)
{
    if (node->type == GUMBO_NODE_DOCUMENT)
        return &node->v.document.children;
    if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE)
        return &node->v.element.children;
    return NULL;
}

static bool is_heading(GumboTag t)
{
    return t >= GUMBO_TAG_H1 && t <= GUMBO_TAG_H6;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (GumboNode *const *)a;
    uintptr_t y = (uintptr_t) * (GumboNode *const *)b;
    return x < y ? -1 : x > y;
}

/* Pass 1: collects the tables that contain a table or a heading (layout tables). */
static frugal_status find_layout_tables(GumboNode *root, struct walk *w)
{
    struct lframe {
        GumboNode *node;
        unsigned next;
        bool marker;
    } *stack = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t cap_layout = 0;
    frugal_status rc = FRUGAL_OK;
    struct lframe first = {root, 0, false};
    stack = frugal_malloc(sizeof *stack);
    if (stack == NULL)
        return FRUGAL_ENOMEM;
    cap = 1;
    stack[n++] = first;
    while (n > 0 && rc == FRUGAL_OK) {
        struct lframe *top = &stack[n - 1];
        const GumboVector *kids = children_of(top->node);
        if (kids != NULL && top->next < kids->length) {
            GumboNode *child = kids->data[top->next++];
            if (child->type != GUMBO_NODE_ELEMENT)
                continue;
            if (n == cap) {
                struct lframe *s = frugal_reallocarray(stack, cap * 2, sizeof *s);
                if (s == NULL) {
                    rc = FRUGAL_ENOMEM;
                    break;
                }
                stack = s;
                cap *= 2;
            }
            struct lframe f = {child, 0, false};
            stack[n++] = f;
            continue;
        }
        GumboTag tag = top->node->type == GUMBO_NODE_ELEMENT ? top->node->v.element.tag
                                                              : GUMBO_TAG_UNKNOWN;
        if (tag == GUMBO_TAG_TABLE && top->marker) {
            if (w->n_layout == cap_layout) {
                size_t c = cap_layout < 8 ? 8 : cap_layout * 2;
                GumboNode **l = frugal_reallocarray(w->layout, c, sizeof *l);
                if (l == NULL) {
                    rc = FRUGAL_ENOMEM;
                    break;
                }
                w->layout = l;
                cap_layout = c;
            }
            w->layout[w->n_layout++] = top->node;
        }
        bool marker = top->marker || tag == GUMBO_TAG_TABLE || is_heading(tag);
        n--;
        if (n > 0 && marker)
            stack[n - 1].marker = true;
    }
    frugal_free(stack);
    if (rc == FRUGAL_OK && w->n_layout > 1)
        qsort(w->layout, w->n_layout, sizeof *w->layout, cmp_ptr);
    return rc;
}

static bool is_layout_table(const struct walk *w, GumboNode *node)
{
    return w->n_layout > 0 &&
           bsearch(&node, w->layout, w->n_layout, sizeof *w->layout, cmp_ptr) != NULL;
}

static bool is_block(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_HTML: case GUMBO_TAG_BODY: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_ASIDE: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_CENTER:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_DD: case GUMBO_TAG_DIV:
    case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_FIGURE: case GUMBO_TAG_FOOTER: case GUMBO_TAG_FORM: case GUMBO_TAG_H1:
    case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5:
    case GUMBO_TAG_H6: case GUMBO_TAG_HEADER: case GUMBO_TAG_HGROUP: case GUMBO_TAG_HR:
    case GUMBO_TAG_LI: case GUMBO_TAG_MAIN: case GUMBO_TAG_MENU: case GUMBO_TAG_NAV:
    case GUMBO_TAG_OL: case GUMBO_TAG_P: case GUMBO_TAG_PRE: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_SUMMARY: case GUMBO_TAG_TABLE: case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_TBODY: case GUMBO_TAG_THEAD: case GUMBO_TAG_TFOOT: case GUMBO_TAG_TR:
    case GUMBO_TAG_TD: case GUMBO_TAG_TH: case GUMBO_TAG_UL: case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_LISTING: case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_XMP: case GUMBO_TAG_DIR:
        return true;
    default:
        return false;
    }
}

/* True when the space-separated list `value` holds one of the names in list. */
static bool has_token(const char *value, const char *const *list)
{
    const char *s = value;
    while (*s != '\0') {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        size_t k = strcspn(s, " \t\n");
        for (size_t i = 0; k > 0 && list[i] != NULL; i++)
            if (strlen(list[i]) == k && strncasecmp(s, list[i], k) == 0)
                return true;
        s += k;
    }
    return false;
}

/* True when an inline style hides the element ("display: none", "visibility:hidden"). */
static bool style_hides(const char *style)
{
    char flat[256];
    size_t k = 0;
    for (const char *s = style; *s != '\0' && k + 1 < sizeof flat; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n')
            flat[k++] = lc(*s);
    flat[k] = '\0';
    return strstr(flat, "display:none") != NULL || strstr(flat, "visibility:hidden") != NULL;
}

static bool dropped(struct walk *w, const GumboElement *el)
{
    static const char *const nav_classes[] = {"navheader", "navfooter", "navbar", "breadcrumb",
        "breadcrumbs", "skip-link", "toc", NULL};
    static const char *const nav_roles[] = {"navigation", "banner", "contentinfo", NULL};
    switch (el->tag) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NAV: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH:
    case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED: case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SELECT: case GUMBO_TAG_BUTTON: case GUMBO_TAG_AUDIO: case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_IMG: case GUMBO_TAG_TITLE:
        return true;
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
        if (!w->ctx.in_article)
            return true;
        break;
    case GUMBO_TAG_FORM:
        w->dropped_form = !w->keep_forms;
        if (!w->keep_forms)
            return true;
        break;
    default: break;
    }
    const GumboAttribute *a;
    if (gumbo_get_attribute(&el->attributes, "hidden") != NULL)
        return true;
    a = gumbo_get_attribute(&el->attributes, "aria-hidden");
    if (a != NULL && strcasecmp(a->value, "true") == 0)
        return true;
    a = gumbo_get_attribute(&el->attributes, "role");
    if (a != NULL && has_token(a->value, nav_roles))
        return true;
    a = gumbo_get_attribute(&el->attributes, "style");
    if (a != NULL && style_hides(a->value))
        return true;
    a = gumbo_get_attribute(&el->attributes, "class");
    return a != NULL && has_token(a->value, nav_classes);
}

static frugal_status flush_ctx(struct walk *w)
{
    size_t before = w->doc->n_blocks;
    frugal_status rc = flush_pending(&w->p, w->doc, w->ctx.kind, w->ctx.level);
    if (rc == FRUGAL_OK && w->h1 == NULL && w->ctx.kind == BLOCK_HEADING &&
        w->ctx.level == 1 && w->doc->n_blocks > before) {
        w->h1 = frugal_strdup(w->doc->blocks[before].text);
        if (w->h1 == NULL)
            rc = FRUGAL_ENOMEM;
    }
    return rc;
}

static frugal_status cell_end(struct walk *w)
{
    struct buf *t = &w->p.text;
    frugal_status rc = FRUGAL_OK;
    if (w->n_cells > 0)
        rc = buf_append(&w->row, " | ", 3);
    for (size_t i = 0; i < t->len && rc == FRUGAL_OK; i++)
        rc = buf_putc(&w->row, t->ptr[i] == '\n' ? ' ' : t->ptr[i]);
    w->n_cells++;
    buf_reset(t);
    w->p.space = false;
    return rc;
}

static frugal_status row_end(struct walk *w)
{
    frugal_status rc = FRUGAL_OK;
    size_t n_sep = w->n_cells > 0 ? (w->n_cells - 1) * 3 : 0;
    if (w->row.len > n_sep) {
        if (w->table.len > 0)
            rc = buf_putc(&w->table, '\n');
        if (rc == FRUGAL_OK)
            rc = buf_append(&w->table, w->row.ptr, w->row.len);
    }
    buf_reset(&w->row);
    w->n_cells = 0;
    return rc;
}

/* Entering a block element outside a data cell: flush, then set the element's context. */
static frugal_status enter_block(struct walk *w, GumboNode *node)
{
    GumboTag tag = node->v.element.tag;
    frugal_status rc = flush_ctx(w);
    struct hctx *c = &w->ctx;
    if (is_heading(tag)) {
        c->kind = BLOCK_HEADING;
        c->level = (int)(tag - GUMBO_TAG_H1) + 1;
    } else if (tag == GUMBO_TAG_LI) {
        c->kind = BLOCK_LIST_ITEM;
        c->level = c->list_depth > 0 ? c->list_depth : 1;
    } else if (tag == GUMBO_TAG_UL || tag == GUMBO_TAG_OL || tag == GUMBO_TAG_MENU ||
               tag == GUMBO_TAG_DIR) {
        c->list_depth++;
    } else if (tag == GUMBO_TAG_BLOCKQUOTE) {
        c->kind = BLOCK_QUOTE;
        c->level = 0;
    } else if (tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_LISTING || tag == GUMBO_TAG_XMP ||
               tag == GUMBO_TAG_PLAINTEXT) {
        c->kind = BLOCK_CODE;
        c->level = 0;
        c->pre = true;
    } else if (tag == GUMBO_TAG_ARTICLE || tag == GUMBO_TAG_MAIN) {
        c->in_article = true;
    } else if (tag == GUMBO_TAG_CAPTION) {
        c->kind = BLOCK_PARAGRAPH;
        c->level = 0;
    } else if (tag == GUMBO_TAG_TABLE && !is_layout_table(w, node)) {
        buf_reset(&w->table);
        buf_reset(&w->row);
        w->n_cells = 0;
    } else if ((tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) && node->parent != NULL &&
               !c->pre) {
        /* A cell of a data table (the cells of a layout table are read like divs). */
        GumboNode *table = node->parent;
        while (table != NULL && !(table->type == GUMBO_NODE_ELEMENT &&
                                  table->v.element.tag == GUMBO_TAG_TABLE))
            table = table->parent;
        c->cell = table != NULL && !is_layout_table(w, table);
    }
    return rc;
}

static frugal_status leave_block(struct walk *w, GumboNode *node, const struct hctx *outer)
{
    GumboTag tag = node->v.element.tag;
    bool data_table = false;
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH)
        data_table = w->ctx.cell && !outer->cell;
    else if (tag == GUMBO_TAG_TR || tag == GUMBO_TAG_TABLE) {
        GumboNode *table = node;
        while (table != NULL && !(table->type == GUMBO_NODE_ELEMENT &&
                                  table->v.element.tag == GUMBO_TAG_TABLE))
            table = table->parent;
        data_table = table != NULL && !is_layout_table(w, table);
    }
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) {
        if (data_table)
            return cell_end(w);
    }
    frugal_status rc = flush_ctx(w);
    if (rc == FRUGAL_OK && data_table && tag == GUMBO_TAG_TR)
        rc = row_end(w);
    if (rc == FRUGAL_OK && data_table && tag == GUMBO_TAG_TABLE) {
        if (w->row.len > 0)
            rc = row_end(w);  /* cells outside any row (tag soup) */
        if (rc == FRUGAL_OK)
            rc = extracted_add_block(w->doc, BLOCK_TABLE, 0, w->table.ptr, w->table.len);
        buf_reset(&w->table);
    }
    return rc;
}

static frugal_status on_text(struct walk *w, const GumboNode *node)
{
    const char *s = node->v.text.text;
    size_t n = strlen(s);
    if (!w->ctx.pre)
        return put_collapsed(&w->p, s, n);
    frugal_status rc = FRUGAL_OK;
    if (w->p.space && w->p.text.len > 0)
        rc = buf_putc(&w->p.text, ' ');
    w->p.space = false;
    return rc == FRUGAL_OK ? buf_append(&w->p.text, s, n) : rc;
}

/* Handles the start of child; *descend says whether to walk into it. */
static frugal_status on_enter(struct walk *w, GumboNode *node, bool *descend)
{
    *descend = false;
    switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
    case GUMBO_NODE_CDATA: return on_text(w, node);
    case GUMBO_NODE_ELEMENT: break;
    default: return FRUGAL_OK;
    }
    const GumboElement *el = &node->v.element;
    if (dropped(w, el))
        return FRUGAL_OK;
    *descend = true;
    if (el->tag == GUMBO_TAG_BR) {
        if (w->ctx.cell) {
            w->p.space = true;
            return FRUGAL_OK;
        }
        w->p.space = false;
        return buf_putc(&w->p.text, '\n');
    }
    if (!is_block(el->tag))
        return FRUGAL_OK;
    if (w->ctx.cell) {
        w->p.space = true;
        return FRUGAL_OK;
    }
    return enter_block(w, node);
}

static frugal_status walk_tree(struct walk *w, GumboNode *root)
{
    size_t cap = 64;
    size_t n = 0;
    struct frame *stack = frugal_reallocarray(NULL, cap, sizeof *stack);
    frugal_status rc = FRUGAL_OK;
    if (stack == NULL)
        return FRUGAL_ENOMEM;
    struct frame first = {root, 0, w->ctx};
    stack[n++] = first;
    while (n > 0 && rc == FRUGAL_OK) {
        struct frame *top = &stack[n - 1];
        const GumboVector *kids = children_of(top->node);
        if (kids != NULL && top->next < kids->length) {
            GumboNode *child = kids->data[top->next++];
            struct hctx saved = w->ctx;
            bool descend = false;
            rc = on_enter(w, child, &descend);
            if (rc != FRUGAL_OK || !descend)
                continue;
            if (n == cap) {
                struct frame *s = frugal_reallocarray(stack, cap * 2, sizeof *s);
                if (s == NULL) {
                    rc = FRUGAL_ENOMEM;
                    break;
                }
                stack = s;
                cap *= 2;
            }
            struct frame f = {child, 0, saved};
            stack[n++] = f;
            continue;
        }
        GumboNode *node = top->node;
        if (node->type == GUMBO_NODE_ELEMENT && is_block(node->v.element.tag)) {
            if (!top->saved.cell)
                rc = leave_block(w, node, &top->saved);
            else
                w->p.space = true;
        }
        w->ctx = top->saved;
        n--;
    }
    if (rc == FRUGAL_OK)
        rc = flush_ctx(w);
    frugal_free(stack);
    return rc;
}

/* The text of the first <title> in the head, whitespace collapsed; NULL when none. */
static frugal_status find_title(GumboNode *root, char **title)
{
    *title = NULL;
    const GumboVector *top = children_of(root);
    for (unsigned i = 0; top != NULL && i < top->length; i++) {
        GumboNode *head = top->data[i];
        if (head->type != GUMBO_NODE_ELEMENT || head->v.element.tag != GUMBO_TAG_HEAD)
            continue;
        const GumboVector *kids = &head->v.element.children;
        for (unsigned j = 0; j < kids->length; j++) {
            GumboNode *t = kids->data[j];
            if (t->type != GUMBO_NODE_ELEMENT || t->v.element.tag != GUMBO_TAG_TITLE)
                continue;
            struct pending p = {{NULL, 0, 0, 0}, false};
            frugal_status rc = FRUGAL_OK;
            const GumboVector *tk = &t->v.element.children;
            for (unsigned k = 0; k < tk->length && rc == FRUGAL_OK; k++) {
                const GumboNode *kid = tk->data[k];
                if (kid->type == GUMBO_NODE_TEXT)
                    rc = put_collapsed(&p, kid->v.text.text, strlen(kid->v.text.text));
            }
            if (rc == FRUGAL_OK && p.text.len > 0)
                *title = buf_detach(&p.text);
            buf_release(&p.text);
            return rc;
        }
    }
    return FRUGAL_OK;
}

static void walk_release(struct walk *w)
{
    buf_release(&w->p.text);
    buf_release(&w->row);
    buf_release(&w->table);
    frugal_free(w->h1);
    w->h1 = NULL;
}

static frugal_status html_tree(GumboOutput *out, struct extracted *doc)
{
    struct walk w;
    memset(&w, 0, sizeof w);
    w.doc = doc;
    frugal_status rc = find_layout_tables(out->root, &w);
    for (int attempt = 0; rc == FRUGAL_OK && attempt < 2; attempt++) {
        rc = walk_tree(&w, out->root);
        if (rc != FRUGAL_OK || doc->n_blocks > 0 || !w.dropped_form)
            break;
        walk_release(&w);  /* nothing outside forms: read the forms too */
        w.keep_forms = true;
    }
    if (rc == FRUGAL_OK)
        rc = find_title(out->root, &doc->title);
    if (rc == FRUGAL_OK && doc->title == NULL) {
        doc->title = w.h1;
        w.h1 = NULL;
    }
    walk_release(&w);
    frugal_free(w.layout);
    return rc;
}

frugal_status extract_html(const char *data, size_t len, const struct extract_opts *opts,
                           struct extracted *doc, struct err *err)
{
    if (!html_tree_ok(data, len))
        return extract_status_err(err, html_strip(data, len, doc));
    GumboOptions options = kGumboDefaultOptions;
    options.max_errors = 0;  /* we never read the parse errors; don't keep them */
    GumboOutput *out = gumbo_parse_with_options(&options, data, len);
    if (out == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory parsing HTML");
    frugal_status rc = html_tree(out, doc);
    gumbo_destroy_output(&options, out);
    return extract_status_err(err, rc);
}
