/*
 * stream.c - the SSE and AWS event-stream decoders (contract and formats in stream.h).
 *
 * How: SSE keeps the current line in a buf and splits on the three line endings, remembering a
 * trailing '\r' across pieces so that a "\r\n" split between two network reads is one line end.
 * The event stream keeps the bytes of the current message in a buf: once 12 bytes are there the
 * prelude is checked (lengths in range, prelude CRC), once total_length bytes are there the
 * message CRC is checked and the headers walked, then the callback gets the message and the
 * bytes are dropped. Both decoders are resumable at any byte boundary, which the fuzz targets
 * check by feeding random splits.
 *
 * Why here and not in the backends: these parsers see untrusted bytes from the network, so they
 * are small, separate and fuzzed (tests/fuzz/fuzz_sse.c, fuzz_eventstream.c).
 *
 * Threading: a decoder belongs to one request; no shared state.
 */
#include "answer/stream.h"

#include <string.h>
#include <zlib.h>

#include "base/alloc.h"

#define EVSTREAM_MAX_HEADERS (128 * 1024)

/* ---- SSE ------------------------------------------------------------------------------------- */

void sse_init(struct sse_decoder *d, size_t max_event)
{
    memset(d, 0, sizeof(*d));
    d->max_event = max_event;
    buf_init(&d->line, max_event);
    buf_init(&d->data, max_event + 1);
    buf_init(&d->type, 256);
}

void sse_release(struct sse_decoder *d)
{
    if (d == NULL)
        return;
    buf_release(&d->line);
    buf_release(&d->data);
    buf_release(&d->type);
}

static frugal_status dispatch(struct sse_decoder *d, sse_event_fn fn, void *ctx, struct err *err)
{
    frugal_status st = FRUGAL_OK;
    if (d->has_data) {
        size_t len = d->data.len;
        if (len > 0 && d->data.ptr[len - 1] == '\n')
            len--;
        if (d->data.ptr != NULL)
            d->data.ptr[len] = '\0';
        d->n_events++;
        st = fn(ctx, d->type.len > 0 ? d->type.ptr : "message",
                d->data.ptr != NULL ? d->data.ptr : "", len, err);
    }
    buf_reset(&d->data);
    buf_reset(&d->type);
    d->has_data = false;
    return st;
}

static frugal_status process_line(struct sse_decoder *d, sse_event_fn fn, void *ctx,
                                  struct err *err)
{
    const char *l = d->line.ptr != NULL ? d->line.ptr : "";
    size_t len = d->line.len;
    const char *colon;
    size_t flen;
    const char *v;
    size_t vlen;
    frugal_status st = FRUGAL_OK;

    if (len == 0)
        return dispatch(d, fn, ctx, err);
    if (l[0] == ':')
        return FRUGAL_OK;
    colon = memchr(l, ':', len);
    flen = colon != NULL ? (size_t)(colon - l) : len;
    v = colon != NULL ? colon + 1 : l + len;
    vlen = (size_t)(l + len - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(l, "data", 4) == 0) {
        st = buf_append(&d->data, v, vlen);
        if (st == FRUGAL_OK)
            st = buf_putc(&d->data, '\n');
        if (st == FRUGAL_ETOOBIG)
            return err_set(err, st, "SSE event %zu: data over %zu bytes", d->n_events + 1,
                           d->max_event);
        if (st != FRUGAL_OK)
            return err_set(err, st, "out of memory");
        d->has_data = true;
    } else if (flen == 5 && memcmp(l, "event", 5) == 0) {
        buf_reset(&d->type);
        if (buf_append(&d->type, v, vlen) != FRUGAL_OK)
            return err_set(err, FRUGAL_ETOOBIG, "SSE event %zu: event type over 256 bytes",
                           d->n_events + 1);
    }
    return FRUGAL_OK;
}

frugal_status sse_feed(struct sse_decoder *d, const char *bytes, size_t n, sse_event_fn fn,
                       void *ctx, struct err *err)
{
    size_t i = 0;
    while (i < n) {
        const char *p = bytes + i;
        size_t rest = n - i;
        size_t k = 0;
        frugal_status st;
        if (d->last_cr && p[0] == '\n') {
            d->last_cr = false;
            i++;
            continue;
        }
        d->last_cr = false;
        while (k < rest && p[k] != '\n' && p[k] != '\r')
            k++;
        if (buf_append(&d->line, p, k) != FRUGAL_OK)
            return err_set(err, FRUGAL_ETOOBIG, "SSE event %zu: line over %zu bytes",
                           d->n_events + 1, d->max_event);
        i += k;
        if (k == rest)
            break; /* the line goes on in the next piece */
        d->last_cr = p[k] == '\r';
        i++;
        st = process_line(d, fn, ctx, err);
        buf_reset(&d->line);
        if (st != FRUGAL_OK)
            return st;
    }
    return FRUGAL_OK;
}

frugal_status sse_finish(struct sse_decoder *d, sse_event_fn fn, void *ctx, struct err *err)
{
    frugal_status st = FRUGAL_OK;
    if (d->line.len > 0) {
        st = process_line(d, fn, ctx, err);
        buf_reset(&d->line);
    }
    if (st == FRUGAL_OK)
        st = dispatch(d, fn, ctx, err);
    return st;
}

/* ---- AWS event stream ------------------------------------------------------------------------ */

void evstream_init(struct evstream_decoder *d, size_t max_message)
{
    memset(d, 0, sizeof(*d));
    d->max_message = max_message < 16 ? 16 : max_message;
    buf_init(&d->pending, d->max_message);
}

void evstream_release(struct evstream_decoder *d)
{
    if (d != NULL)
        buf_release(&d->pending);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint32_t crc(const void *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Walks the headers into m's fields; the strings are copied NUL-terminated into names (which the
 * caller sized to the headers' length plus slack). */
static frugal_status parse_headers(const unsigned char *h, size_t len, struct evstream_message *m,
                                   char *store, size_t n_msg, struct err *err)
{
    size_t i = 0;
    size_t used = 0;
    while (i < len) {
        size_t nlen = h[i++];
        const unsigned char *name;
        unsigned type;
        size_t vlen = 0;
        if (nlen == 0 || i + nlen + 1 > len)
            return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: header name past "
                           "the headers", n_msg);
        name = h + i;
        i += nlen;
        type = h[i++];
        switch (type) {
        case 0:
        case 1:
            vlen = 0;
            break;
        case 2:
            vlen = 1;
            break;
        case 3:
            vlen = 2;
            break;
        case 4:
            vlen = 4;
            break;
        case 5:
        case 8:
            vlen = 8;
            break;
        case 9:
            vlen = 16;
            break;
        case 6:
        case 7:
            if (i + 2 > len)
                return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: header value "
                               "length past the headers", n_msg);
            vlen = (size_t)h[i] << 8 | h[i + 1];
            i += 2;
            break;
        default:
            return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: header type %u "
                           "unknown", n_msg, type);
        }
        if (i + vlen > len)
            return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: header value past "
                           "the headers", n_msg);
        if (type == 7 && nlen > 1 && name[0] == ':') {
            const char **slot = NULL;
            if (nlen == 13 && memcmp(name, ":message-type", 13) == 0)
                slot = &m->message_type;
            else if (nlen == 11 && memcmp(name, ":event-type", 11) == 0)
                slot = &m->event_type;
            else if (nlen == 15 && memcmp(name, ":exception-type", 15) == 0)
                slot = &m->exception_type;
            else if (nlen == 11 && memcmp(name, ":error-code", 11) == 0)
                slot = &m->error_code;
            else if (nlen == 14 && memcmp(name, ":error-message", 14) == 0)
                slot = &m->error_message;
            if (slot != NULL) {
                memcpy(store + used, h + i, vlen);
                store[used + vlen] = '\0';
                *slot = store + used;
                used += vlen + 1;
            }
        }
        i += vlen;
    }
    return FRUGAL_OK;
}

static frugal_status deliver(struct evstream_decoder *d, const unsigned char *msg, size_t total,
                             size_t hlen, evstream_fn fn, void *ctx, struct err *err)
{
    struct evstream_message m = {"", "", "", "", "", NULL, 0};
    size_t n_msg = d->n_messages + 1;
    /* at most 5 copied values, each no longer than the headers, plus their NULs */
    char *store = frugal_malloc(hlen + 8);
    frugal_status st;

    if (store == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (be32(msg + total - 4) != crc(msg, total - 4)) {
        frugal_free(store);
        return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: message CRC mismatch",
                       n_msg);
    }
    st = parse_headers(msg + 12, hlen, &m, store, n_msg, err);
    if (st == FRUGAL_OK) {
        m.payload = (const char *)msg + 12 + hlen;
        m.payload_len = total - hlen - 16;
        d->n_messages++;
        st = fn(ctx, &m, err);
    }
    frugal_free(store);
    return st;
}

frugal_status evstream_feed(struct evstream_decoder *d, const void *bytes, size_t n,
                            evstream_fn fn, void *ctx, struct err *err)
{
    const unsigned char *in = bytes;
    while (n > 0) {
        const unsigned char *p;
        uint32_t total;
        uint32_t hlen;
        size_t want;
        size_t take;
        frugal_status st;

        /* first the prelude, then the rest of the message */
        want = 12;
        if (d->pending.len >= 12)
            want = be32((const unsigned char *)d->pending.ptr);
        take = want - d->pending.len < n ? want - d->pending.len : n;
        if (buf_append(&d->pending, in, take) != FRUGAL_OK)
            return err_set(err, FRUGAL_ENOMEM, "out of memory");
        in += take;
        n -= take;
        if (d->pending.len < want)
            break;
        p = (const unsigned char *)d->pending.ptr;
        total = be32(p);
        hlen = be32(p + 4);
        if (want == 12) {
            if (be32(p + 8) != crc(p, 8))
                return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: prelude CRC "
                               "mismatch", d->n_messages + 1);
            if (total < 16 || total > d->max_message || hlen > EVSTREAM_MAX_HEADERS ||
                (size_t)hlen + 16 > total)
                return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu: bad lengths "
                               "(total %u, headers %u, limit %zu)", d->n_messages + 1, total,
                               hlen, d->max_message);
            if (total > 12)
                continue;
        }
        st = deliver(d, p, total, hlen, fn, ctx, err);
        buf_reset(&d->pending);
        if (st != FRUGAL_OK)
            return st;
    }
    return FRUGAL_OK;
}

frugal_status evstream_finish(struct evstream_decoder *d, struct err *err)
{
    if (d->pending.len > 0)
        return err_set(err, FRUGAL_ECORRUPT, "event-stream message %zu cut short after %zu "
                       "bytes", d->n_messages + 1, d->pending.len);
    return FRUGAL_OK;
}

static frugal_status put_be32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return buf_append(b, x, 4);
}

frugal_status evstream_encode(struct buf *out, const char *const *headers, size_t n_headers,
                              const void *payload, size_t payload_len)
{
    size_t start = out->len;
    size_t hlen = 0;
    frugal_status st;

    for (size_t i = 0; i < n_headers; i++) {
        size_t nl = strlen(headers[2 * i]);
        size_t vl = strlen(headers[2 * i + 1]);
        if (nl == 0 || nl > 255 || vl > 65535)
            return FRUGAL_EINVAL;
        hlen += 1 + nl + 1 + 2 + vl;
    }
    st = put_be32(out, (uint32_t)(hlen + payload_len + 16));
    if (st == FRUGAL_OK)
        st = put_be32(out, (uint32_t)hlen);
    if (st == FRUGAL_OK)
        st = put_be32(out, crc(out->ptr + start, 8));
    for (size_t i = 0; i < n_headers && st == FRUGAL_OK; i++) {
        size_t nl = strlen(headers[2 * i]);
        size_t vl = strlen(headers[2 * i + 1]);
        unsigned char pre[1] = {(unsigned char)nl};
        unsigned char mid[3] = {7, (unsigned char)(vl >> 8), (unsigned char)vl};
        st = buf_append(out, pre, 1);
        if (st == FRUGAL_OK)
            st = buf_append(out, headers[2 * i], nl);
        if (st == FRUGAL_OK)
            st = buf_append(out, mid, 3);
        if (st == FRUGAL_OK)
            st = buf_append(out, headers[2 * i + 1], vl);
    }
    if (st == FRUGAL_OK && payload_len > 0)
        st = buf_append(out, payload, payload_len);
    if (st == FRUGAL_OK)
        st = put_be32(out, crc(out->ptr + start, out->len - start));
    return st;
}
