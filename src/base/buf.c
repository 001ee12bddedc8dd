/* buf.c - growable byte buffer (see buf.h). Grows by doubling; overflow-checked. */
#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

void buf_init(struct buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    frugal_free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

frugal_status buf_reserve(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return FRUGAL_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (b->max != 0 && b->len + extra > b->max)
        return FRUGAL_ETOOBIG;
    if (need <= b->cap)
        return FRUGAL_OK;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = frugal_realloc(b->ptr, cap);
    if (p == NULL)
        return FRUGAL_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return FRUGAL_OK;
}

frugal_status buf_append(struct buf *b, const void *data, size_t len)
{
    frugal_status rc = buf_reserve(b, len);
    if (rc != FRUGAL_OK)
        return rc;
    if (len > 0)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return FRUGAL_OK;
}

frugal_status buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

frugal_status buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

frugal_status buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return FRUGAL_EINVAL;
    frugal_status rc = buf_reserve(b, (size_t)n);
    if (rc != FRUGAL_OK)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return FRUGAL_OK;
}

frugal_status buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    frugal_status rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(struct buf *b)
{
    if (b->ptr == NULL && buf_reserve(b, 0) != FRUGAL_OK)
        return NULL;
    b->ptr[b->len] = '\0';
    char *p = b->ptr;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
