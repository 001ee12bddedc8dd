/*
 * fuzz_sse.c - libFuzzer target for the SSE decoder (src/answer/stream.c): arbitrary bytes fed
 * whole and again in two pieces split at a point taken from the first byte. Both feeds must give
 * the same events (same count, same bytes) and the same status; no crash, leak or read past the
 * input.
 */
#include <stdint.h>
#include <string.h>

#include "answer/stream.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

static frugal_status on_event(void *ctx, const char *type, const char *data, size_t len,
                              struct err *err)
{
    struct buf *all = ctx;
    (void)err;
    CHECK(data[len] == '\0');
    if (buf_puts(all, type) != FRUGAL_OK || buf_append(all, data, len) != FRUGAL_OK ||
        buf_putc(all, 0) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    return FRUGAL_OK;
}

static frugal_status run(const uint8_t *data, size_t size, size_t cut, struct buf *all)
{
    struct sse_decoder d;
    struct err e;
    frugal_status st;
    sse_init(&d, 4096);
    st = sse_feed(&d, (const char *)data, cut, on_event, all, &e);
    if (st == FRUGAL_OK)
        st = sse_feed(&d, (const char *)data + cut, size - cut, on_event, all, &e);
    if (st == FRUGAL_OK)
        st = sse_finish(&d, on_event, all, &e);
    sse_release(&d);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf a;
    struct buf b;
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    frugal_status sa;
    frugal_status sb;
    buf_init(&a, 0);
    buf_init(&b, 0);
    sa = run(data, size, size, &a);
    sb = run(data, size, cut, &b);
    CHECK(sa == sb);
    CHECK(a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0));
    buf_release(&a);
    buf_release(&b);
    return 0;
}
