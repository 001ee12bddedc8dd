/*
 * retry.c - the backoff and Retry-After policy of the HTTP clients (contract in retry.h).
 *
 * How: a small state per request: retries granted, the current backoff (a double, so that
 * doubling a long never overflows) and an xorshift64 generator for the jitter, seeded from the
 * monotonic clock and a stack address unless the caller gives a seed. A Retry-After replaces the
 * backoff for that one wait; the backoff still doubles, as it would have without it.
 *
 * Why: the embedding client and the generator backends live in different layers (embed, answer)
 * but must agree on when and how long to wait; base is the one layer both may include, and a
 * policy without libcurl in it can be tested without a server or a clock.
 *
 * Threading: no global state; a retry_state belongs to one request on one thread.
 */
#include "base/retry.h"

#include <string.h>
#include <time.h>

static uint64_t clock_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
}

void retry_init(struct retry_state *r, const struct retry_policy *policy, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->policy = *policy;
    r->backoff_ms = (double)policy->backoff_ms;
    r->rng = seed != 0 ? seed : clock_seed();
    if (r->rng == 0)
        r->rng = 0x9e3779b97f4a7c15u; /* xorshift never leaves 0 */
}

bool retry_next(struct retry_state *r, long long retry_after_s, double *wait_ms)
{
    double max = (double)r->policy.max_backoff_ms;
    double wait;

    if (r->retries >= r->policy.max_retries)
        return false;
    r->retries++;
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    if (retry_after_s >= 0)
        wait = (double)(retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : retry_after_s) *
               1000.0;
    else if (r->policy.jitter)
        wait = r->backoff_ms / 2 + (double)(r->rng % 1000) / 1000.0 * r->backoff_ms / 2;
    else
        wait = r->backoff_ms;
    *wait_ms = wait > max ? max : wait;
    r->backoff_ms = r->backoff_ms * 2 > max ? max : r->backoff_ms * 2;
    return true;
}

bool retry_http_status(long status)
{
    return status == 429 || status >= 500;
}

void retry_sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0) {
    }
}
