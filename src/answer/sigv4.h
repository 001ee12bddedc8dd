/*
 * sigv4.h - AWS Signature Version 4 (HMAC-SHA256) for one HTTP request, on OpenSSL.
 *
 * Contract:
 *  - The caller gives the request as it goes on the wire: method, path (already percent-encoded
 *    once, e.g. "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"), query string
 *    without '?', every header to be signed (host and x-amz-date among them; the signer signs
 *    exactly these, lowercased, values trimmed and inner runs of spaces folded), and the body.
 *  - Canonical URI: for every service but S3 (double_encode = true) the wire path is
 *    URI-encoded again, so '%' becomes "%25": a ':' in a Bedrock model id is signed as "%253A".
 *    This is what AWS and botocore do, and what libcurl 7.88's CURLOPT_AWS_SIGV4 gets wrong.
 *    Dot segments are not removed: callers build clean paths.
 *  - Canonical query: pairs split on '&' and '=', each side decoded then encoded per RFC 3986
 *    (unreserved kept), sorted by name then value.
 *  - amz_date is the request time "YYYYMMDDTHHMMSSZ" (must equal the x-amz-date header); its
 *    first 8 characters date the credential scope.
 *  - Output: the Authorization header value; optionally the canonical request and the string
 *    to sign (for tests and debugging).
 *
 * Threading: pure functions; any number of threads.
 */
#ifndef FRUGAL_ANSWER_SIGV4_H
#define FRUGAL_ANSWER_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct sigv4_header {
    const char *name;  /* borrowed; any case */
    const char *value; /* borrowed */
};

struct sigv4_request {
    const char *method;                  /* "POST" */
    const char *path;                    /* wire path, percent-encoded once; "" means "/" */
    const char *query;                   /* wire query without '?', NULL or "" for none */
    const struct sigv4_header *headers;  /* borrowed, n_headers of them */
    size_t n_headers;
    const void *body;                    /* borrowed, body_len bytes (NULL when 0) */
    size_t body_len;
};

struct sigv4_creds {
    const char *access_key;    /* borrowed */
    const char *secret_key;    /* borrowed */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "bedrock" */
};

/* Appends the Authorization header value to auth. canonical and string_to_sign may be NULL;
 * when given, they receive those intermediate texts (appended). FRUGAL_EINVAL for a malformed
 * amz_date or a missing field. */
frugal_status sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
                         const char *amz_date, bool double_encode, struct buf *auth,
                         struct buf *canonical, struct buf *string_to_sign, struct err *err);

/* Appends s (len bytes) percent-encoded per RFC 3986: unreserved characters kept, '/' kept when
 * keep_slash, everything else as %XX with uppercase hex. */
frugal_status sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash);

/* "YYYYMMDDTHHMMSSZ" for a Unix time (UTC). */
void sigv4_format_date(long long unix_seconds, char out[17]);

#endif
