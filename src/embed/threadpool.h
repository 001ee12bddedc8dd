/*
 * threadpool.h - a fixed team of threads that share out the tasks of one parallel region at a
 * time, for the encoder's matrix products, attention heads and row-wise kernels.
 *
 * Contract: embed_pool_new(n) starts n - 1 worker threads (the caller is the n-th member).
 * embed_pool_run(pool, fn, arg, n_tasks) calls fn(arg, task, thread) exactly once for every
 * task in [0, n_tasks), each on some member (thread in [0, n): 0 is the caller, so per-thread
 * scratch indexed by `thread` is never shared), and returns when all of them have returned, so
 * everything they wrote is visible to the caller. Tasks are handed out one at a time in order,
 * so a member that is late (descheduled on a busy machine) takes fewer; the caller never waits
 * for a worker that has not started a task. A NULL pool runs the tasks in order on the caller.
 * Regions do not nest, and one pool serves one caller at a time.
 *
 * Threading: the pool's state is guarded by its mutex; workers sleep on a condition variable
 * between regions (no spinning: the machines we run on are often shared).
 */
#ifndef FRUGAL_EMBED_THREADPOOL_H
#define FRUGAL_EMBED_THREADPOOL_H

#include <stddef.h>

#include "base/err.h"

struct embed_pool;

typedef void (*embed_pool_fn)(void *arg, size_t task, int thread);

/* Starts n_threads - 1 workers (n_threads >= 2) into *out; FRUGAL_ENOMEM when memory or a
 * thread cannot be had. */
frugal_status embed_pool_new(int n_threads, struct embed_pool **out);
/* Stops and joins the workers; accepts NULL. */
void embed_pool_free(struct embed_pool *pool);
/* Threads in the pool, the caller included (1 for NULL). */
int embed_pool_size(const struct embed_pool *pool);
/* Runs one region (see above); fn and arg are borrowed for the call. */
void embed_pool_run(struct embed_pool *pool, embed_pool_fn fn, void *arg, size_t n_tasks);

#endif
