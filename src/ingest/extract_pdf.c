/*
 * extract_pdf.c - PDF text through pdftotext (poppler-utils) run as a child process.
 *
 * What: the PDF bytes go to a private temporary file (mkstemp, unlinked afterwards), then
 * `pdftotext -layout -enc UTF-8 FILE -` runs with its stdout and stderr on pipes. Its output
 * is split into pages at form feeds and each page into paragraphs at blank lines; -layout's
 * column spacing (runs of spaces) collapses to single spaces and lines lose their indentation.
 * PDFs carry no reliable headings, so every block is a paragraph; there is no title.
 *
 * How: fork + execvp (no shell, so no quoting issues with odd file names); a close-on-exec
 * pipe tells the parent whether exec itself failed (pdftotext missing -> EUNSUPPORTED). The
 * parent polls both pipes against a monotonic deadline (opts->pdf_timeout_s) and kills the
 * child with SIGKILL when it passes (-> ETIMEOUT). Output past PDF_MAX_OUTPUT kills the child
 * too (-> ETOOBIG). A nonzero exit is ECORRUPT with pdftotext's own error line.
 *
 * Why a child process: PDF parsers are large attack surfaces that can crash or loop; in a
 * child they cannot take the ingesting process down, and the time limit is enforceable.
 * Threads: reentrant; the child only calls dup2/open/execvp/write/_exit after fork, all safe
 * in a multi-threaded parent. If the embedding program ignores SIGCHLD, the exit status is
 * lost and a run that produced output is taken as a success.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "ingest/extract.h"

#define PDF_MAX_OUTPUT ((size_t)256 << 20)  /* bytes of text pdftotext may write */
#define PDF_MAX_STDERR 4096                 /* bytes of its stderr kept for the message */
#define PDF_TIMEOUT_DEFAULT 60

struct child {
    pid_t pid;
    int out_fd;
    int err_fd;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static frugal_status write_temp(const char *data, size_t len, char *path, size_t cap,
                                struct err *err)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    int n = snprintf(path, cap, "%s/frugal-pdf-XXXXXX", dir);
    if (n < 0 || (size_t)n >= cap)
        return err_set(err, FRUGAL_EIO, "temporary directory path too long");
    int fd = mkstemp(path);
    if (fd < 0)
        return err_set(err, FRUGAL_EIO, "cannot create a temporary file in %s: %s", dir,
                       strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(fd, data + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = errno;
            close(fd);
            unlink(path);
            return err_set(err, FRUGAL_EIO, "cannot write a temporary file: %s", strerror(e));
        }
        done += (size_t)k;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return err_set(err, FRUGAL_EIO, "cannot write a temporary file: %s", strerror(e));
    }
    return FRUGAL_OK;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

static bool cloexec_pipe(int p[2])
{
    p[0] = p[1] = -1;
    if (pipe(p) != 0)
        return false;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    return true;
}

/* Runs pdftotext on path; on success *c holds the child and the read ends of its pipes. */
static frugal_status spawn(const char *path, struct child *c, struct err *err)
{
    int out[2] = {-1, -1};
    int errp[2] = {-1, -1};
    int execp[2] = {-1, -1};
    frugal_status rc = FRUGAL_OK;
    if (!cloexec_pipe(out) || !cloexec_pipe(errp) || !cloexec_pipe(execp)) {
        rc = err_set(err, FRUGAL_EIO, "cannot create a pipe: %s", strerror(errno));
        goto out_close;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = err_set(err, FRUGAL_EIO, "cannot start pdftotext: %s", strerror(errno));
        goto out_close;
    }
    if (pid == 0) {
        char *argv[] = {"pdftotext", "-layout", "-enc", "UTF-8", (char *)path, "-", NULL};
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        execvp("pdftotext", argv);
        int e = errno;
        ssize_t ignored = write(execp[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    close(execp[1]);
    out[1] = errp[1] = execp[1] = -1;
    int exec_errno = 0;
    ssize_t k;
    do
        k = read(execp[0], &exec_errno, sizeof exec_errno);
    while (k < 0 && errno == EINTR);
    if (k == (ssize_t)sizeof exec_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (exec_errno == ENOENT)
            rc = err_set(err, FRUGAL_EUNSUPPORTED, "pdftotext not found (install poppler-utils)");
        else
            rc = err_set(err, FRUGAL_EIO, "cannot run pdftotext: %s", strerror(exec_errno));
        goto out_close;
    }
    c->pid = pid;
    c->out_fd = out[0];
    c->err_fd = errp[0];
    out[0] = errp[0] = -1;
out_close:
    close_pair(out);
    close_pair(errp);
    close_pair(execp);
    return rc;
}

/* Reads both pipes until EOF or the deadline. Returns ETIMEOUT, ETOOBIG, EIO or OK. */
static frugal_status drain(struct child *c, long long deadline, struct buf *out,
                           struct buf *errtext)
{
    struct pollfd pfd[2] = {{c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
    int n_open = 2;
    char chunk[65536];
    while (n_open > 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return FRUGAL_ETIMEOUT;
        int r = poll(pfd, 2, left > 1000000 ? 1000000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return FRUGAL_EIO;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            ssize_t k = read(pfd[i].fd, chunk, sizeof chunk);
            if (k < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (k <= 0) {
                pfd[i].fd = -1;
                n_open--;
                continue;
            }
            if (i == 0) {
                if (buf_append(out, chunk, (size_t)k) != FRUGAL_OK)
                    return out->len + (size_t)k > PDF_MAX_OUTPUT ? FRUGAL_ETOOBIG
                                                                 : FRUGAL_ENOMEM;
            } else if (errtext->len < PDF_MAX_STDERR) {
                size_t room = PDF_MAX_STDERR - errtext->len;
                if (buf_append(errtext, chunk, (size_t)k < room ? (size_t)k : room) != FRUGAL_OK)
                    return FRUGAL_ENOMEM;
            }
        }
    }
    return FRUGAL_OK;
}

/* Waits for the child until the deadline; kills it then. *status = -1 when unknown. */
static frugal_status reap(pid_t pid, long long deadline, bool kill_now, int *status)
{
    *status = -1;
    for (;;) {
        if (kill_now || now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return kill_now ? FRUGAL_OK : FRUGAL_ETIMEOUT;
        }
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return FRUGAL_OK;
        if (r < 0 && errno != EINTR) {
            *status = -1;  /* SIGCHLD ignored: the status is gone */
            return FRUGAL_OK;
        }
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
}

/* The line of pdftotext's stderr that best says what went wrong. */
static void error_line(const struct buf *e, char *line, size_t cap)
{
    const char *s = e->ptr != NULL ? e->ptr : "";
    const char *pick = strstr(s, "Error");
    if (pick != NULL)
        while (pick > s && pick[-1] != '\n')
            pick--;
    else
        pick = s + strspn(s, "\n\r \t");
    size_t n = strcspn(pick, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(line, pick, n);
    line[n] = '\0';
}

/* Appends page[0..len) with lines trimmed and space runs collapsed, then its paragraphs. */
static frugal_status add_page(struct extracted *doc, const char *page, size_t len,
                              struct buf *tmp)
{
    buf_reset(tmp);
    frugal_status rc = FRUGAL_OK;
    bool line_start = true;
    bool space = false;
    for (size_t i = 0; i < len && rc == FRUGAL_OK; i++) {
        char ch = page[i];
        if (ch == '\n') {
            rc = buf_putc(tmp, '\n');
            line_start = true;
            space = false;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            space = !line_start;
        } else {
            if (space)
                rc = buf_putc(tmp, ' ');
            if (rc == FRUGAL_OK)
                rc = buf_putc(tmp, ch);
            line_start = false;
            space = false;
        }
    }
    if (rc == FRUGAL_OK && tmp->len > 0)
        rc = extract_add_paragraphs(doc, BLOCK_PARAGRAPH, tmp->ptr, tmp->len);
    return rc;
}

static frugal_status add_pages(struct extracted *doc, const struct buf *text)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    frugal_status rc = FRUGAL_OK;
    size_t i = 0;
    while (i < text->len && rc == FRUGAL_OK) {
        const char *ff = memchr(text->ptr + i, '\f', text->len - i);
        size_t end = ff == NULL ? text->len : (size_t)(ff - text->ptr);
        rc = add_page(doc, text->ptr + i, end - i, &tmp);
        i = end + 1;
    }
    buf_release(&tmp);
    return rc;
}

static frugal_status run_status(int status, const struct buf *errtext, int timeout_s,
                                struct err *err)
{
    char line[256];
    error_line(errtext, line, sizeof line);
    if (status == -1)
        return FRUGAL_OK;
    if (WIFSIGNALED(status))
        return err_set(err, FRUGAL_ECORRUPT, "pdftotext crashed (signal %d)%s%s",
                       WTERMSIG(status), line[0] != '\0' ? ": " : "", line);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return err_set(err, FRUGAL_ECORRUPT, "pdftotext failed (exit %d): %s",
                       WEXITSTATUS(status), line[0] != '\0' ? line : "no message");
    return FRUGAL_OK;
}

frugal_status extract_pdf(const char *data, size_t len, const struct extract_opts *opts,
                          struct extracted *doc, struct err *err)
{
    size_t head = len < 1024 ? len : 1024;
    bool magic = false;
    for (size_t i = 0; i + 5 <= head && !magic; i++)
        magic = memcmp(data + i, "%PDF-", 5) == 0;
    if (!magic)
        return err_set(err, FRUGAL_ECORRUPT, "not a PDF (no %%PDF- header)");
    int timeout_s = opts->pdf_timeout_s > 0 ? opts->pdf_timeout_s : PDF_TIMEOUT_DEFAULT;
    char path[4096];
    frugal_status rc = write_temp(data, len, path, sizeof path, err);
    if (rc != FRUGAL_OK)
        return rc;
    struct child c = {-1, -1, -1};
    struct buf out;
    struct buf errtext;
    buf_init(&out, PDF_MAX_OUTPUT);
    buf_init(&errtext, 0);
    long long deadline = now_ms() + (long long)timeout_s * 1000;
    rc = spawn(path, &c, err);
    if (rc != FRUGAL_OK)
        goto out_unlink;
    frugal_status drained = drain(&c, deadline, &out, &errtext);
    close(c.out_fd);
    close(c.err_fd);
    int status;
    rc = reap(c.pid, deadline, drained != FRUGAL_OK, &status);
    if (drained == FRUGAL_ETIMEOUT || rc == FRUGAL_ETIMEOUT)
        rc = err_set(err, FRUGAL_ETIMEOUT, "pdftotext did not finish within %d s", timeout_s);
    else if (drained == FRUGAL_ETOOBIG)
        rc = err_set(err, FRUGAL_ETOOBIG, "pdftotext wrote more than %zu MiB of text",
                     PDF_MAX_OUTPUT >> 20);
    else if (drained != FRUGAL_OK)
        rc = err_set(err, drained, "reading pdftotext output: %s", frugal_strerror(drained));
    else
        rc = run_status(status, &errtext, timeout_s, err);
    if (rc == FRUGAL_OK)
        rc = extract_status_err(err, add_pages(doc, &out));
    if (rc == FRUGAL_OK && doc->n_blocks == 0)
        rc = err_set(err, FRUGAL_EEMPTY, "no text in the PDF (scanned pages without a text "
                                         "layer?)");
out_unlink:
    unlink(path);
    buf_release(&out);
    buf_release(&errtext);
    return rc;
}
