/*
 * threadpool.c - the encoder's team of threads (contract in threadpool.h).
 *
 * How: a region is published under the mutex as (fn, arg, n_tasks) with a new generation
 * number; the caller and the workers woken on `start` claim tasks one by one from a counter
 * under the mutex, run them unlocked, and count them done; the caller, once no task is left to
 * claim, waits on `done` until every claimed task has finished. A worker that wakes late finds
 * no task left (or a newer generation) and goes back to sleep without touching the region's
 * arguments, which may be gone by then. Workers are created once, when the model is opened with
 * more than one thread, and live until the model is closed.
 *
 * Why: OpenBLAS threads only its own calls; the encoder needs the same threads for attention,
 * LayerNorm and quantization too. Static shares would make every region as slow as its slowest
 * member, and on a shared machine a worker is often descheduled for milliseconds; claiming
 * tasks lets the members that run do the work. A task costs one lock round trip, against
 * hundreds of microseconds of work per task.
 *
 * Threading: every field after creation is read and written under `mu`; fn and arg are copied
 * under `mu` together with the claim of a task of the current generation. pthread mutex and
 * condition variables give the happens-before edges from the caller's writes to the tasks'
 * reads and from the tasks' writes back to the caller.
 */
#include "embed/threadpool.h"

#include <pthread.h>
#include <stdbool.h>

#include "base/alloc.h"

struct worker {
    struct embed_pool *pool;
    int index;
};

struct embed_pool {
    pthread_mutex_t mu;
    pthread_cond_t start;     /* a new generation, or stop */
    pthread_cond_t done;      /* n_done reached n_tasks */
    pthread_t *threads;       /* (n_threads - 1) workers */
    struct worker *workers;   /* (n_threads - 1) */
    int n_threads;            /* the caller included */
    int n_started;            /* workers actually running */
    unsigned long generation; /* regions published so far */
    bool stop;
    embed_pool_fn fn;         /* the current region */
    void *arg;
    size_t n_tasks;
    size_t next_task;         /* next task to claim */
    size_t n_done;            /* tasks finished */
};

/* Claims and runs tasks of generation gen until none is left; called and returns with mu held. */
static void run_tasks(struct embed_pool *pool, unsigned long gen, int thread)
{
    while (pool->generation == gen && pool->next_task < pool->n_tasks) {
        size_t task = pool->next_task++;
        embed_pool_fn fn = pool->fn;
        void *arg = pool->arg;

        pthread_mutex_unlock(&pool->mu);
        fn(arg, task, thread);
        pthread_mutex_lock(&pool->mu);
        if (++pool->n_done == pool->n_tasks)
            pthread_cond_signal(&pool->done);
    }
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct embed_pool *pool = w->pool;
    unsigned long seen = 0;

    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->start, &pool->mu);
        if (pool->stop)
            break;
        seen = pool->generation;
        run_tasks(pool, seen, w->index);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

frugal_status embed_pool_new(int n_threads, struct embed_pool **out)
{
    struct embed_pool *pool = frugal_calloc(1, sizeof(*pool));

    *out = NULL;
    if (pool == NULL)
        return FRUGAL_ENOMEM;
    pool->n_threads = n_threads < 2 ? 2 : n_threads;
    pool->threads = frugal_calloc((size_t)pool->n_threads - 1, sizeof(pthread_t));
    pool->workers = frugal_calloc((size_t)pool->n_threads - 1, sizeof(struct worker));
    if (pool->threads == NULL || pool->workers == NULL) {
        frugal_free(pool->threads);
        frugal_free(pool->workers);
        frugal_free(pool);
        return FRUGAL_ENOMEM;
    }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (int i = 0; i < pool->n_threads - 1; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].index = i + 1;
        if (pthread_create(&pool->threads[i], NULL, worker_main, &pool->workers[i]) != 0) {
            embed_pool_free(pool);
            return FRUGAL_ENOMEM;
        }
        pool->n_started++;
    }
    *out = pool;
    return FRUGAL_OK;
}

void embed_pool_free(struct embed_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->n_started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->start);
    pthread_mutex_destroy(&pool->mu);
    frugal_free(pool->threads);
    frugal_free(pool->workers);
    frugal_free(pool);
}

int embed_pool_size(const struct embed_pool *pool) { return pool != NULL ? pool->n_threads : 1; }

void embed_pool_run(struct embed_pool *pool, embed_pool_fn fn, void *arg, size_t n_tasks)
{
    unsigned long gen;

    if (pool == NULL || n_tasks <= 1) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(arg, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->arg = arg;
    pool->n_tasks = n_tasks;
    pool->next_task = 0;
    pool->n_done = 0;
    gen = ++pool->generation;
    pthread_cond_broadcast(&pool->start);
    run_tasks(pool, gen, 0);
    while (pool->n_done < pool->n_tasks)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
