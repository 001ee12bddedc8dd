/*
 * api_stream.c - streamed responses (Server-Sent Events) for POST /v1/ask and
 * POST /v1/chat/completions: a producer thread per request, a bounded byte queue, and the
 * libmicrohttpd content reader that drains it.
 *
 * How: api_reply_stream starts a thread that opens its own frugal_db with the server's
 * generators attached (server_open_db; handles are single-threaded, and the MHD worker must go
 * back to its other connections) and runs the
 * handler's producer, which writes SSE frames with api_stream_write / api_stream_event. The
 * frames go into a ring of STREAM_QUEUE bytes; a full ring blocks the producer (so a slow
 * client slows the generation instead of growing memory). send_response (server.c) makes the
 * response with MHD_create_response_from_callback(stream_read, stream_free). stream_read copies
 * what is queued; when the ring is empty and the producer is still working it suspends the
 * connection (MHD_suspend_connection, documented as safe from a content reader) and returns 0;
 * the producer resumes it after its next write or when it finishes. At the end it returns
 * END_OF_STREAM.
 *
 * Client disconnect: MHD destroys the response and calls stream_free, which marks the stream
 * cancelled and wakes the producer; every later write returns false, so the producer (and a
 * generation through on_delta) stops. A suspended connection is never freed by MHD (it cannot
 * see the disconnect while suspended), and the producer always resumes it before it ends, so
 * the connection pointer the producer holds is valid whenever it resumes.
 *
 * Ownership: the stream has two references, the producer thread's and the response's; the last
 * to let go frees it (the thread is detached). `streams_running` counts live producers so that
 * shutdown (server.c) waits for them before stopping the daemon.
 *
 * Threading: every field below `lock` is guarded by it; the lock is taken before MHD's own
 * locks (suspend, resume) and never the other way round.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "server.h"

#define STREAM_QUEUE (64 * 1024) /* bytes queued ahead of the client at most */

struct api_stream {
    struct MHD_Connection *conn;
    const struct server_config *cfg; /* borrowed: lives as long as the server */
    api_stream_fn fn;
    void *arg;
    void (*free_arg)(void *);
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    char ring[STREAM_QUEUE];
    size_t head, len;         /* queued bytes: ring[head .. head + len) modulo STREAM_QUEUE */
    bool finished;            /* the producer wrote its last byte */
    bool cancelled;           /* the client went away (stream_free ran) */
    bool suspended;           /* stream_read suspended the connection */
    int refs;
};

static atomic_int streams_running;

int api_streams_running(void)
{
    return atomic_load(&streams_running);
}

static void stream_unref(struct api_stream *st)
{
    pthread_mutex_lock(&st->lock);
    int left = --st->refs;
    pthread_mutex_unlock(&st->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->not_full);
    if (st->free_arg != NULL)
        st->free_arg(st->arg);
    free(st);
}

/* Under st->lock: lets MHD read again after the producer queued bytes or finished. */
static void wake_reader(struct api_stream *st)
{
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    }
}

bool api_stream_write(struct api_stream *st, const char *data, size_t len)
{
    pthread_mutex_lock(&st->lock);
    while (len > 0 && !st->cancelled) {
        while (st->len == STREAM_QUEUE && !st->cancelled)
            pthread_cond_wait(&st->not_full, &st->lock);
        if (st->cancelled)
            break;
        size_t tail = (st->head + st->len) % STREAM_QUEUE;
        size_t room = STREAM_QUEUE - st->len;
        size_t run = tail + room <= STREAM_QUEUE ? room : STREAM_QUEUE - tail;
        size_t n = len < run ? len : run;
        memcpy(st->ring + tail, data, n);
        st->len += n;
        data += n;
        len -= n;
        wake_reader(st);
    }
    bool ok = !st->cancelled;
    pthread_mutex_unlock(&st->lock);
    return ok;
}

bool api_stream_event(struct api_stream *st, const char *event, cJSON *data)
{
    char *text = data != NULL ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    if (text == NULL)
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    if (text == NULL)
        return false;
    char head[64];
    int n = event != NULL ? snprintf(head, sizeof head, "event: %s\ndata: ", event)
                          : snprintf(head, sizeof head, "data: ");
    /* cJSON_PrintUnformatted escapes newlines inside strings, so the data is one line. */
    bool ok = api_stream_write(st, head, (size_t)n) &&
              api_stream_write(st, text, strlen(text)) && api_stream_write(st, "\n\n", 2);
    free(text);
    return ok;
}

static void *stream_main(void *p)
{
    struct api_stream *st = p;
    frugal_db *db = server_open_db(st->cfg);
    if (db != NULL) {
        st->fn(st, db, st->arg);
    } else {
        cJSON *root = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(err, "code", "unavailable");
        cJSON_AddStringToObject(err, "message", "the database cannot be opened");
        api_stream_event(st, "error", root);
    }
    frugal_close(db);
    pthread_mutex_lock(&st->lock);
    st->finished = true;
    wake_reader(st);
    pthread_mutex_unlock(&st->lock);
    stream_unref(st);
    atomic_fetch_sub(&streams_running, 1);
    return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct api_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    size_t n = 0;
    while (n < max && st->len > 0) {
        size_t run = st->head + st->len <= STREAM_QUEUE ? st->len : STREAM_QUEUE - st->head;
        size_t take = max - n < run ? max - n : run;
        memcpy(buf + n, st->ring + st->head, take);
        st->head = (st->head + take) % STREAM_QUEUE;
        st->len -= take;
        n += take;
    }
    ssize_t ret = (ssize_t)n;
    if (n > 0) {
        pthread_cond_signal(&st->not_full);
    } else if (st->finished) {
        ret = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        st->suspended = true;
        MHD_suspend_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

static void stream_free(void *cls)
{
    struct api_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    st->cancelled = true;
    pthread_cond_signal(&st->not_full);
    pthread_mutex_unlock(&st->lock);
    stream_unref(st);
}

void api_reply_stream(struct request *rq, struct response *rs, api_stream_fn fn, void *arg,
                      void (*free_arg)(void *))
{
    struct api_stream *st = calloc(1, sizeof *st);
    if (st == NULL) {
        if (free_arg != NULL)
            free_arg(arg);
        api_reply_error(rs, 500, "internal", "out of memory");
        return;
    }
    st->conn = rq->conn;
    st->cfg = rq->cfg;
    st->fn = fn;
    st->arg = arg;
    st->free_arg = free_arg;
    st->refs = 2;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->not_full, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    atomic_fetch_add(&streams_running, 1);
    int err = pthread_create(&tid, &attr, stream_main, st);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        atomic_fetch_sub(&streams_running, 1);
        st->refs = 1;
        stream_unref(st);
        api_reply_error(rs, 503, "unavailable", "cannot start a thread for the stream");
        return;
    }
    free(rs->body);
    rs->body = NULL;
    rs->body_len = 0;
    rs->status = 200;
    rs->content_type = "text/event-stream; charset=utf-8";
    rs->cache_control = "no-cache";
    rs->stream = st;
}

struct MHD_Response *api_stream_response(struct api_stream *st)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (r == NULL)
        stream_free(st); /* cancels the producer and drops the response's reference */
    return r;
}
