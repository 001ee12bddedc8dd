/*
 * fuzz_eventstream.c - libFuzzer target for the AWS event-stream decoder (src/answer/stream.c):
 * arbitrary bytes fed whole and again in two pieces (split point from the first byte). Both feeds
 * must deliver the same messages and end with the same status; every delivered message must lie
 * inside the input; no crash or leak. Messages are found only past both CRC checks, so the seeds
 * (well-formed frames) matter.
 */
#include <stdint.h>
#include <string.h>

#include "answer/stream.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

static frugal_status on_msg(void *ctx, const struct evstream_message *m, struct err *err)
{
    struct buf *all = ctx;
    (void)err;
    CHECK(m->message_type != NULL && m->event_type != NULL && m->exception_type != NULL);
    if (buf_puts(all, m->message_type) != FRUGAL_OK || buf_puts(all, m->event_type) != FRUGAL_OK ||
        buf_append(all, m->payload, m->payload_len) != FRUGAL_OK || buf_putc(all, 0) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    return FRUGAL_OK;
}

static frugal_status run(const uint8_t *data, size_t size, size_t cut, struct buf *all)
{
    struct evstream_decoder d;
    struct err e;
    frugal_status st;
    evstream_init(&d, 1 << 16);
    st = evstream_feed(&d, data, cut, on_msg, all, &e);
    if (st == FRUGAL_OK)
        st = evstream_feed(&d, data + cut, size - cut, on_msg, all, &e);
    if (st == FRUGAL_OK)
        st = evstream_finish(&d, &e);
    evstream_release(&d);
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
