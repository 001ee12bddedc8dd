/*
 * retry.h - when to try a failed request again and how long to wait first: the backoff and
 * Retry-After policy both HTTP clients (embed/remote.c, answer/gen_http.c) follow.
 *
 * Contract: a struct retry_state is set up per request with retry_init() and asked, after each
 * failed attempt that may succeed later, for the wait before the next one (retry_next). The wait
 * is the server's Retry-After when it sent one (seconds, capped at a day), else the current
 * backoff: backoff_ms first, doubled after every retry, never above max_backoff_ms; with jitter
 * the backoff wait is drawn from [b/2, b] so that many clients do not come back in step. Every
 * wait, Retry-After included, is capped at max_backoff_ms. retry_next says no once max_retries
 * retries have been granted. What counts as a failure that may succeed later is the caller's to
 * say; retry_http_status() gives the HTTP part (429 and 5xx). Nothing here knows about libcurl,
 * sockets or clocks other than the jitter seed and the sleep.
 *
 * Threading: a retry_state belongs to one request on one thread; there is no global state.
 */
#ifndef FRUGAL_BASE_RETRY_H
#define FRUGAL_BASE_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define RETRY_AFTER_MAX_S 86400 /* a Retry-After longer than a day is taken as a day */

struct retry_policy {
    int max_retries;      /* retries after the first attempt (>= 0) */
    long backoff_ms;      /* the first wait without Retry-After (>= 0), doubled per retry */
    long max_backoff_ms;  /* cap on any wait, Retry-After included (>= 0) */
    bool jitter;          /* draw each backoff wait from [b/2, b] instead of waiting b */
};

struct retry_state {
    struct retry_policy policy; /* copied */
    int retries;                /* retries granted so far */
    double backoff_ms;          /* the next wait before jitter */
    uint64_t rng;               /* xorshift64 state for the jitter, never 0 */
};

/* Sets r up for a new request under policy (copied). seed: the jitter's seed, 0 for one drawn
 * from the monotonic clock (tests pass a fixed one). */
void retry_init(struct retry_state *r, const struct retry_policy *policy, uint64_t seed);

/* After a failed attempt that may succeed later: returns false when the retries are spent, else
 * true with *wait_ms, the wait before the next attempt, and advances the backoff.
 * retry_after_s: the server's Retry-After in seconds, negative when it sent none. */
bool retry_next(struct retry_state *r, long long retry_after_s, double *wait_ms);

/* Whether an HTTP status may succeed when tried again later: 429 and 5xx. */
bool retry_http_status(long status);

/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after signals. */
void retry_sleep_ms(double ms);

#endif
