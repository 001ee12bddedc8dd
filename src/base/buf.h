/*
 * buf.h - a growable byte buffer with an optional maximum size.
 *
 * The contents are always NUL-terminated (ptr[len] == 0) once anything was appended, so a buf
 * holding text can be passed as a C string. Appending past `max` (0 = no limit) fails with
 * FRUGAL_ETOOBIG and leaves the buffer as it was.
 */
#ifndef FRUGAL_BASE_BUF_H
#define FRUGAL_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "frugal.h"

struct buf {
    char *ptr;   /* owned; NULL until the first append */
    size_t len;  /* bytes used, excluding the terminating NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* largest allowed len, 0 = unlimited */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);          /* frees the storage; the buf is empty again */
void buf_reset(struct buf *b);            /* len = 0, keeps the storage */
frugal_status buf_reserve(struct buf *b, size_t extra);
frugal_status buf_append(struct buf *b, const void *data, size_t len);
frugal_status buf_puts(struct buf *b, const char *s);
frugal_status buf_putc(struct buf *b, char c);
frugal_status buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
frugal_status buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hands the storage to the caller (never NULL on success: an empty buf gives ""). The buf is
 * empty afterwards. Returns NULL only when out of memory. */
char *buf_detach(struct buf *b);

#endif
