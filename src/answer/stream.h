/*
 * stream.h - incremental decoders for the two streaming framings the generators receive:
 * Server-Sent Events (OpenAI-compatible servers) and the AWS event-stream binary framing
 * (Bedrock ConverseStream). Both take bytes in whatever pieces the network delivers and call back
 * once per complete event; neither knows HTTP or JSON.
 *
 * SSE (the WHATWG "text/event-stream" rules, the parts servers use): lines end in "\r\n", "\n" or
 * "\r"; "data:" lines append their value (one leading space dropped) plus "\n" to the event's
 * data; "event:" sets the event type; ":" lines are comments; "id:", "retry:" and unknown fields
 * are ignored; a blank line dispatches the event (data without its last "\n"; events with no data
 * line are not dispatched). A line or an event's data over max_event bytes is FRUGAL_ETOOBIG.
 *
 * AWS event stream, one message (all integers big-endian):
 *     u32 total_length     whole message, these 4 bytes and the trailing CRC included
 *     u32 headers_length
 *     u32 prelude_crc      CRC-32 (zlib) of the 8 bytes above
 *     headers              headers_length bytes: u8 name_len, name, u8 type, value
 *                          (type 0/1 bool true/false: no value; 2 byte: 1; 3 short: 2; 4 int: 4;
 *                           5 long: 8; 6 bytes and 7 string: u16 length + bytes; 8 timestamp: 8;
 *                           9 uuid: 16)
 *     payload              total_length - headers_length - 16 bytes
 *     u32 message_crc      CRC-32 of everything before it
 * Both CRCs are checked; lengths are bounded (total <= max_message, headers <= 128 KiB); a
 * violation is FRUGAL_ECORRUPT naming the message number and what was wrong. Headers the caller
 * sees: ":message-type", ":event-type", ":exception-type", ":error-code", ":error-message"
 * (string values only; other headers are skipped after being checked for length).
 *
 * Threading: a decoder is used by one thread at a time.
 */
#ifndef FRUGAL_ANSWER_STREAM_H
#define FRUGAL_ANSWER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* ---- Server-Sent Events ---------------------------------------------------------------------- */

/* One event: type ("message" unless an "event:" line said otherwise) and data, both borrowed
 * for the call, NUL-terminated. A non-OK return stops the decoder with that status. */
typedef frugal_status (*sse_event_fn)(void *ctx, const char *type, const char *data,
                                      size_t len, struct err *err);

struct sse_decoder {
    struct buf line;   /* the line being read */
    struct buf data;   /* the event's data so far */
    struct buf type;   /* the event's type, empty = "message" */
    bool has_data;     /* a data line was seen in this event */
    bool last_cr;      /* the previous byte ended a line with '\r' (skip a following '\n') */
    size_t max_event;  /* bytes, for a line and for an event's data */
    size_t n_events;   /* dispatched so far */
};

void sse_init(struct sse_decoder *d, size_t max_event);
void sse_release(struct sse_decoder *d);
frugal_status sse_feed(struct sse_decoder *d, const char *bytes, size_t n, sse_event_fn fn,
                       void *ctx, struct err *err);
/* End of input: an unterminated last line is processed and a pending event dispatched, as the
 * servers that omit the final blank line expect. */
frugal_status sse_finish(struct sse_decoder *d, sse_event_fn fn, void *ctx, struct err *err);

/* ---- AWS event stream ------------------------------------------------------------------------ */

struct evstream_message {
    const char *message_type;   /* ":message-type" ("event", "exception", "error") or "" */
    const char *event_type;     /* ":event-type" or "" */
    const char *exception_type; /* ":exception-type" or "" */
    const char *error_code;     /* ":error-code" or "" */
    const char *error_message;  /* ":error-message" or "" */
    const char *payload;        /* borrowed for the call; not NUL-terminated */
    size_t payload_len;
};

typedef frugal_status (*evstream_fn)(void *ctx, const struct evstream_message *m,
                                     struct err *err);

struct evstream_decoder {
    struct buf pending;  /* bytes of the message being assembled */
    size_t max_message;  /* bytes, the total_length bound */
    size_t n_messages;   /* delivered so far */
};

void evstream_init(struct evstream_decoder *d, size_t max_message);
void evstream_release(struct evstream_decoder *d);
frugal_status evstream_feed(struct evstream_decoder *d, const void *bytes, size_t n,
                            evstream_fn fn, void *ctx, struct err *err);
/* End of input: FRUGAL_ECORRUPT when a message was cut short. */
frugal_status evstream_finish(struct evstream_decoder *d, struct err *err);

/* Writes one message (for tests and fuzz seeds): string headers only (names and values
 * borrowed, n_headers pairs as name0, value0, name1, ...), the payload, both CRCs. */
frugal_status evstream_encode(struct buf *out, const char *const *headers, size_t n_headers,
                              const void *payload, size_t payload_len);

#endif
