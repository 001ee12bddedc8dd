/* loopback.h - a scripted HTTP server on 127.0.0.1 for the unit tests of HTTP clients
 * (test_generator.c, test_remote.c, test_router.c). Not a test of its own: each test includes it
 * and supplies the handler that reads one request and scripts the answer.
 *
 * How it works: loopback_start binds a listening socket to an ephemeral loopback port and starts a
 * thread that polls it every 50 ms, accepts one connection at a time, calls the handler with the
 * connected socket and closes it; loopback_stop sets the stop flag (atomically) and joins. It also
 * sets no_proxy so that libcurl never sends these requests through a proxy. Nothing leaves the
 * machine.
 *
 * Threading: the handler runs on the server thread; what it shares with the test (a mode, a request
 * count) is the test's business. Requests are served one after another, never concurrently.
 */
#ifndef FRUGAL_TEST_LOOPBACK_H
#define FRUGAL_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"

struct loopback {
    int fd;                 /* the listening socket */
    int port;               /* its ephemeral port, host order */
    pthread_t thread;
    int stop;               /* set (atomically) by loopback_stop */
    void (*handle)(int fd); /* serves one connection; the server closes fd afterwards */
};

/* Sends all of p, giving up silently when the peer has gone. */
static inline void loopback_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

/* Sends a complete JSON response; extra_headers is "" or whole lines, each ending in \r\n. */
static inline void loopback_respond(int fd, int status, const char *extra_headers,
                                    const char *body)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n%s\r\n%s", status, strlen(body), extra_headers, body);
    loopback_send_all(fd, b.ptr, b.len);
    buf_release(&b);
}

/* Reads one request into req (cap bytes, NUL-terminated): the head, then the body up to its
 * Content-Length or until req is full. *body points into req just past the blank line;
 * *content_length is the header's value (0 without one). Returns false when the peer closed or
 * failed first. */
static inline bool loopback_read_request(int fd, char *req, size_t cap, char **body,
                                         size_t *content_length)
{
    size_t len = 0;
    const char *cl;
    char *b;

    *content_length = 0;
    for (;;) {
        ssize_t r = recv(fd, req + len, cap - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        req[len] = '\0';
        b = strstr(req, "\r\n\r\n");
        if (b != NULL)
            break;
    }
    b += 4;
    cl = strstr(req, "Content-Length:");
    if (cl != NULL)
        *content_length = (size_t)strtoul(cl + 15, NULL, 10);
    while ((size_t)(req + len - b) < *content_length && len < cap - 1) {
        ssize_t r = recv(fd, req + len, cap - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        req[len] = '\0';
    }
    *body = b;
    return true;
}

static inline void *loopback_serve(void *arg)
{
    struct loopback *lb = arg;
    while (!__atomic_load_n(&lb->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {lb->fd, POLLIN, 0};
        int c;
        if (poll(&p, 1, 50) <= 0)
            continue;
        c = accept(lb->fd, NULL, NULL);
        if (c < 0)
            continue;
        lb->handle(c);
        close(c);
    }
    return NULL;
}

/* Starts serving on 127.0.0.1 at an ephemeral port (then in lb->port). Returns 0, or -1. */
static inline int loopback_start(struct loopback *lb, void (*handle)(int fd))
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;

    /* loopback only, never through a proxy */
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    memset(lb, 0, sizeof(*lb));
    lb->handle = handle;
    lb->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lb->fd < 0)
        return -1;
    setsockopt(lb->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lb->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lb->fd, 16) != 0 ||
        getsockname(lb->fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    lb->port = ntohs(a.sin_port);
    return pthread_create(&lb->thread, NULL, loopback_serve, lb) == 0 ? 0 : -1;
}

/* Stops the server thread, waits for it, closes the socket. */
static inline void loopback_stop(struct loopback *lb)
{
    __atomic_store_n(&lb->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(lb->thread, NULL);
    close(lb->fd);
}

#endif
