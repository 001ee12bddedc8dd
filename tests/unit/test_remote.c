/* test_remote.c - the OpenAI-compatible embeddings client (src/embed/remote.c) and its embedder
 * glue, against a loopback HTTP server this test runs itself (a thread on 127.0.0.1, ephemeral
 * port): success, batching, items out of order, the dimension probe, configuration from the
 * environment, the API key header, 429 then success (Retry-After honoured), 500 forever (gives
 * up after max_retries), 400 with the server's message, malformed JSON, wrong dims, wrong count,
 * duplicate index, an oversized response, a refused connection, a timeout. Never leaves the
 * machine. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/buf.h"
#include "embed/embedder.h"
#include "embed/remote.h"
#include "loopback.h"

#define DIM 8

enum mode {
    M_OK,
    M_REVERSED,     /* items in reverse index order */
    M_429_ONCE,     /* first request: 429 with Retry-After: 1 */
    M_500,          /* always 500 */
    M_400,          /* 400 with an OpenAI-style error object */
    M_MALFORMED,    /* 200 with broken JSON */
    M_WRONG_DIM,    /* the last item one value short */
    M_WRONG_COUNT,  /* one item missing */
    M_DUP_INDEX,    /* two items with index 0 */
    M_NAN,          /* a string in place of the last number */
    M_BIG,          /* a 200 KB response */
    M_SLOW,         /* waits 3 s before answering */
};

struct server {
    struct loopback lb;
    volatile enum mode mode;
    volatile int n_requests;
    volatile size_t max_batch_seen;
    volatile int saw_auth;        /* "Authorization: Bearer sekrit" came */
    char last_model[64];
};

static struct server srv;

/* The embedding the fake server gives text t: v[j] = len(t) + j / 10 + t[0] / 1000. */
static float fake_value(const char *t, int j)
{
    return (float)strlen(t) + (float)j / 10.0f + (float)(unsigned char)t[0] / 1000.0f;
}

static void handle(int fd)
{
    char req[1 << 16];
    char *body;
    size_t content_length;
    cJSON *root;
    const cJSON *input;
    const cJSON *model;
    struct buf out;
    int n;
    int req_no;

    /* read the head, then the body by Content-Length */
    if (!loopback_read_request(fd, req, sizeof(req), &body, &content_length))
        return;
    req_no = ++srv.n_requests;
    if (strstr(req, "Authorization: Bearer sekrit\r\n") != NULL)
        srv.saw_auth = 1;
    if (strncmp(req, "POST /v1/embeddings ", 20) != 0) {
        loopback_respond(fd, 404, "", "{\"error\":{\"message\":\"no such route\"}}");
        return;
    }
    root = cJSON_ParseWithLength(body, content_length);
    input = cJSON_GetObjectItemCaseSensitive(root, "input");
    model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(model))
        snprintf(srv.last_model, sizeof(srv.last_model), "%s", model->valuestring);
    n = cJSON_GetArraySize(input);
    if ((size_t)n > srv.max_batch_seen)
        srv.max_batch_seen = (size_t)n;

    switch (srv.mode) {
    case M_429_ONCE:
        if (req_no == 1) {
            loopback_respond(fd, 429, "Retry-After: 1\r\n", "{\"error\":\"slow down\"}");
            goto out;
        }
        break;
    case M_500:
        loopback_respond(fd, 500, "", "{\"error\":{\"message\":\"model crashed\"}}");
        goto out;
    case M_400:
        loopback_respond(fd, 400, "",
                         "{\"error\":{\"message\":\"input too long\",\"type\":\"x\"}}");
        goto out;
    case M_MALFORMED:
        loopback_respond(fd, 200, "", "{\"data\": [ {\"index\": 0, \"embedding\": [1, 2,");
        goto out;
    case M_SLOW:
        sleep(3);
        break;
    default:
        break;
    }
    buf_init(&out, 0);
    buf_puts(&out, "{\"object\":\"list\",\"data\":[");
    for (int k = 0; k < n; k++) {
        int i = srv.mode == M_REVERSED ? n - 1 - k : k;
        const char *t = cJSON_GetArrayItem(input, i)->valuestring;
        int dim = srv.mode == M_WRONG_DIM && k == n - 1 ? DIM - 1 : DIM;
        if (srv.mode == M_WRONG_COUNT && k == n - 1 && n > 1)
            break;
        if (srv.mode == M_DUP_INDEX && k == 1)
            i = 0;
        buf_printf(&out, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":[", k ? "," : "",
                   i);
        for (int j = 0; j < dim; j++) {
            if (srv.mode == M_NAN && j == dim - 1)
                buf_puts(&out, ",\"NaN\"");
            else
                buf_printf(&out, "%s%.9g", j ? "," : "", (double)fake_value(t, j));
        }
        buf_puts(&out, "]}");
    }
    buf_puts(&out, "],\"model\":\"fake\",\"usage\":{\"prompt_tokens\":1,\"total_tokens\":1}");
    if (srv.mode == M_BIG) {
        buf_puts(&out, ",\"padding\":\"");
        for (int i = 0; i < 200000; i++)
            buf_putc(&out, 'x');
        buf_putc(&out, '"');
    }
    buf_putc(&out, '}');
    loopback_respond(fd, 200, "", out.ptr);
    buf_release(&out);
out:
    cJSON_Delete(root);
}

static int start_server(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    return loopback_start(&srv.lb, handle);
}

static int stop_server(void **state)
{
    (void)state;
    loopback_stop(&srv.lb);
    return 0;
}

static char url[64];

static void reset(enum mode m)
{
    srv.mode = m;
    srv.n_requests = 0;
    srv.max_batch_seen = 0;
    srv.saw_auth = 0;
    srv.last_model[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.lb.port);
}

static void opts_for_test(struct remote_opts *o)
{
    remote_default_opts(o);
    o->base_url = url;
    o->model = "fake-model";
    o->api_key = "sekrit";
    o->dim = DIM;
    o->backoff_ms = 1;
    o->timeout_ms = 10000;
}

static const char *texts[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                              "hotel", "india", "juliett"};
#define N_TEXTS 10

static void check_rows(const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < DIM; j++)
            assert_true(fabsf(out[i * DIM + j] - fake_value(texts[i], j)) < 1e-5f);
}

static void test_success_and_batching(void **state)
{
    struct remote_opts o;
    struct remote_client *rc;
    struct err e;
    float out[N_TEXTS * DIM];
    (void)state;

    reset(M_OK);
    opts_for_test(&o);
    o.max_batch = 3;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(srv.n_requests, 0); /* dim given: no probe */
    assert_int_equal(remote_embed(rc, texts, N_TEXTS, out, &e), FRUGAL_OK);
    check_rows(out, N_TEXTS);
    assert_int_equal(srv.n_requests, 4);
    assert_int_equal(srv.max_batch_seen, 3);
    assert_int_equal(remote_requests(rc), 4);
    assert_true(srv.saw_auth);
    assert_string_equal(srv.last_model, "fake-model");
    remote_close(rc);

    /* items in reverse order are placed by their index */
    reset(M_REVERSED);
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, N_TEXTS, out, &e), FRUGAL_OK);
    check_rows(out, N_TEXTS);
    remote_close(rc);
}

static void test_probe_env_and_embedder(void **state)
{
    struct embedder *emb;
    struct err e;
    float out[N_TEXTS * DIM];
    char base[80];
    (void)state;

    reset(M_OK);
    /* everything from the environment; a base ending in /v1 is used as OpenAI's clients do */
    snprintf(base, sizeof(base), "%s/v1/", url);
    setenv("FRUGAL_EMBED_URL", base, 1);
    setenv("FRUGAL_EMBED_MODEL", "env-model", 1);
    unsetenv("FRUGAL_EMBED_API_KEY");
    setenv("OPENAI_API_KEY", "sekrit", 1);
    assert_int_equal(embedder_open_remote(NULL, &emb, &e), FRUGAL_OK);
    assert_int_equal(srv.n_requests, 1); /* the probe */
    assert_int_equal(embedder_dim(emb), DIM);
    assert_string_equal(embedder_name(emb), "remote:env-model");
    assert_string_equal(srv.last_model, "env-model");
    assert_true(srv.saw_auth);
    assert_int_equal(embedder_embed(emb, texts, N_TEXTS, out, &e), FRUGAL_OK);
    check_rows(out, N_TEXTS);
    embedder_free(emb);

    /* no URL, no model, a bad scheme: clear errors, no request */
    unsetenv("FRUGAL_EMBED_URL");
    assert_int_equal(embedder_open_remote(NULL, &emb, &e), FRUGAL_EINVAL);
    assert_non_null(strstr(e.msg, "FRUGAL_EMBED_URL"));
    setenv("FRUGAL_EMBED_URL", "ftp://x", 1);
    assert_int_equal(embedder_open_remote(NULL, &emb, &e), FRUGAL_EINVAL);
    setenv("FRUGAL_EMBED_URL", base, 1);
    unsetenv("FRUGAL_EMBED_MODEL");
    assert_int_equal(embedder_open_remote(NULL, &emb, &e), FRUGAL_EINVAL);
    assert_non_null(strstr(e.msg, "FRUGAL_EMBED_MODEL"));
    unsetenv("FRUGAL_EMBED_URL");
    unsetenv("OPENAI_API_KEY");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_retries(void **state)
{
    struct remote_opts o;
    struct remote_client *rc;
    struct err e;
    float out[N_TEXTS * DIM];
    double t0;
    (void)state;

    /* 429 with Retry-After: 1, then success; the wait is the server's, not the 1 ms backoff */
    reset(M_429_ONCE);
    opts_for_test(&o);
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    t0 = now_s();
    assert_int_equal(remote_embed(rc, texts, 2, out, &e), FRUGAL_OK);
    assert_true(now_s() - t0 >= 0.9);
    assert_int_equal(srv.n_requests, 2);
    check_rows(out, 2);
    remote_close(rc);

    /* 500 forever: 1 + max_retries attempts, then the last error */
    reset(M_500);
    o.max_retries = 3;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, 2, out, &e), FRUGAL_EIO);
    assert_int_equal(srv.n_requests, 4);
    assert_non_null(strstr(e.msg, "gave up after 4 attempts"));
    assert_non_null(strstr(e.msg, "HTTP 500"));
    assert_non_null(strstr(e.msg, "model crashed"));
    assert_null(strstr(e.msg, "sekrit"));
    remote_close(rc);

    /* 400: no retry, the server's message */
    reset(M_400);
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, 2, out, &e), FRUGAL_EIO);
    assert_int_equal(srv.n_requests, 1);
    assert_non_null(strstr(e.msg, "HTTP 400: input too long"));
    remote_close(rc);
}

static void expect_corrupt(enum mode m, size_t n, const char *needle)
{
    struct remote_opts o;
    struct remote_client *rc;
    struct err e;
    float out[N_TEXTS * DIM];
    frugal_status st;

    reset(m);
    opts_for_test(&o);
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    st = remote_embed(rc, texts, n, out, &e);
    if (st != FRUGAL_ECORRUPT || strstr(e.msg, needle) == NULL)
        fail_msg("mode %d: status %d, message '%s', expected '%s'", (int)m, (int)st, e.msg,
                 needle);
    assert_int_equal(srv.n_requests, 1); /* a bad answer is not retried */
    remote_close(rc);
}

static void test_validation(void **state)
{
    struct remote_opts o;
    struct remote_client *rc;
    struct err e;
    float out[N_TEXTS * DIM];
    (void)state;

    expect_corrupt(M_MALFORMED, 2, "not a JSON object");
    expect_corrupt(M_WRONG_DIM, 3, "data[2]: embedding has 7 values, expected 8");
    expect_corrupt(M_WRONG_COUNT, 3, "2 embeddings for 3 inputs");
    expect_corrupt(M_DUP_INDEX, 3, "index 0 given twice");
    expect_corrupt(M_NAN, 1, "not a finite number");

    /* a response over max_response */
    reset(M_BIG);
    opts_for_test(&o);
    o.max_response = 64 * 1024;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, 1, out, &e), FRUGAL_ETOOBIG);
    assert_non_null(strstr(e.msg, "larger than"));
    remote_close(rc);

    /* the probe learns the dim, a later answer with another dim is refused */
    reset(M_WRONG_DIM);
    opts_for_test(&o);
    o.dim = 0;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_dim(rc), DIM - 1); /* the probe's one item was the short one */
    assert_int_equal(remote_embed(rc, texts, 2, out, &e), FRUGAL_ECORRUPT);
    remote_close(rc);
}

static void test_transport_errors(void **state)
{
    struct remote_opts o;
    struct remote_client *rc;
    struct err e;
    float out[DIM];
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd;
    char dead[64];
    (void)state;

    /* a port nobody listens on: connection refused, retried, then given up */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
    opts_for_test(&o);
    o.base_url = dead;
    o.max_retries = 1;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, 1, out, &e), FRUGAL_EIO);
    assert_non_null(strstr(e.msg, "gave up after 2 attempts"));
    assert_int_equal(remote_requests(rc), 2);
    remote_close(rc);

    /* a server slower than the timeout */
    reset(M_SLOW);
    opts_for_test(&o);
    o.timeout_ms = 300;
    o.max_retries = 0;
    assert_int_equal(remote_open(&o, &rc, &e), FRUGAL_OK);
    assert_int_equal(remote_embed(rc, texts, 1, out, &e), FRUGAL_ETIMEOUT);
    remote_close(rc);
    remote_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_and_batching),
        cmocka_unit_test(test_probe_env_and_embedder),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_transport_errors),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
