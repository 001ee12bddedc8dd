/* test_encoder.c - the BERT runtime (src/embed) against the Hugging Face outputs in
 * ../shared/fixtures: ids, hidden rows, pooled embeddings and reranker logits; the kernels
 * against their reference; and model folders that must be refused, built at test time. */
#define _GNU_SOURCE /* mkdtemp */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "embed/bert.h"

static double max_diff(const float *got, const cJSON *want, size_t n)
{
    double md = 0;

    assert_int_equal((size_t)cJSON_GetArraySize(want), n);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - cJSON_GetArrayItem(want, (int)i)->valuedouble);
        md = d > md ? d : md;
    }
    return md;
}

static cJSON **read_lines(const char *model, size_t *n_out)
{
    char path[1024];
    struct buf data;
    struct err err;
    cJSON **lines = NULL;
    size_t n = 0;
    size_t pos = 0;

    snprintf(path, sizeof(path), "%s/fixtures/%s/expected.jsonl", test_shared_dir(), model);
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    while (pos < data.len) {
        char *nl = memchr(data.ptr + pos, '\n', data.len - pos);
        size_t end = nl ? (size_t)(nl - data.ptr) : data.len;
        cJSON *c;
        char *hit;

        while ((hit = memmem(data.ptr + pos, end - pos, "\\u0000", 6)) != NULL)
            hit[5] = '1'; /* cJSON stops at NUL; U+0001 is dropped alike (see test_wordpiece) */
        c = cJSON_ParseWithLength(data.ptr + pos, end - pos);
        pos = end + 1;
        if (c == NULL)
            continue;
        lines = realloc(lines, (n + 1) * sizeof(*lines));
        lines[n++] = c;
    }
    buf_release(&data);
    *n_out = n;
    return lines;
}

static void free_lines(cJSON **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(lines[i]);
    free(lines);
}

/* Checks one embedding fixture; returns the largest difference seen. */
static double check_embedder_threads(const char *name, bool int8, int n_threads)
{
    char dir[1024];
    struct bert_model *m = NULL;
    struct bert_opts opts;
    struct err err;
    size_t n;
    cJSON **lines = read_lines(name, &n);
    double worst = 0;
    double worst_cos = 1;
    const char **texts = calloc(n, sizeof(char *));
    float *batch;
    size_t h;

    snprintf(dir, sizeof(dir), "%s/fixtures/%s", test_shared_dir(), name);
    bert_default_opts(&opts);
    opts.int8 = int8;
    opts.n_threads = n_threads;
    opts.max_batch = 7; /* several batches of mixed lengths */
    if (bert_model_open(dir, &opts, &m, &err) != FRUGAL_OK)
        fail_msg("%s: %s", name, err.msg);
    h = bert_dim(m);
    batch = calloc(n * h, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        const char *text = cJSON_GetObjectItem(lines[i], "text")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(lines[i], "ids");
        struct wp_encoding enc;
        const float *hidden;
        float *pooled = calloc(h, sizeof(float));
        size_t len;

        texts[i] = text;
        wp_encoding_init(&enc);
        assert_int_equal(wp_encode(m->tok, text, strlen(text), m->max_seq, &enc), FRUGAL_OK);
        assert_int_equal(enc.n, (size_t)cJSON_GetArraySize(ids));
        for (size_t j = 0; j < enc.n; j++)
            assert_int_equal(enc.ids[j], cJSON_GetArrayItem(ids, (int)j)->valueint);
        len = enc.n;
        assert_int_equal(bert_forward(m, enc.ids, enc.type_ids, &len, 1, &hidden, &err),
                         FRUGAL_OK);
        bert_pool(m, hidden, len, pooled);
        if (int8) {
            const cJSON *want = cJSON_GetObjectItem(lines[i], "embedding");
            double dot = 0;
            double nw = 0;
            double ng = 0;
            for (size_t j = 0; j < h; j++) {
                double w = cJSON_GetArrayItem(want, (int)j)->valuedouble;
                dot += w * pooled[j];
                nw += w * w;
                ng += (double)pooled[j] * pooled[j];
            }
            dot /= sqrt(nw * ng);
            worst_cos = dot < worst_cos ? dot : worst_cos;
        } else {
            double d = max_diff(pooled, cJSON_GetObjectItem(lines[i], "embedding"), h);
            worst = d > worst ? d : worst;
            /* the f16/bf16/legacy variants hold embeddings only */
            if (cJSON_GetObjectItem(lines[i], "hidden_first_token") != NULL) {
                d = max_diff(hidden, cJSON_GetObjectItem(lines[i], "hidden_first_token"), h);
                worst = d > worst ? d : worst;
                d = max_diff(hidden + (len - 1) * h,
                             cJSON_GetObjectItem(lines[i], "hidden_last_token"), h);
                worst = d > worst ? d : worst;
            }
        }
        free(pooled);
        wp_encoding_release(&enc);
    }
    /* the same texts as batches of different lengths */
    if (!int8) {
        assert_int_equal(bert_embed(m, texts, n, batch, &err), FRUGAL_OK);
        for (size_t i = 0; i < n; i++) {
            double d = max_diff(batch + i * h, cJSON_GetObjectItem(lines[i], "embedding"), h);
            worst = d > worst ? d : worst;
        }
        print_message("%s (%s kernels, %d threads): max abs diff %.3g over %zu texts\n", name,
                      m->k->name, n_threads, worst, n);
        assert_true(worst < 1e-4);
    } else {
        print_message("%s int8 (%s kernels, %d threads): min cosine to float32 reference %.6f\n",
                      name, m->k->name, n_threads, worst_cos);
        assert_true(worst_cos >= 0.999);
    }
    free(batch);
    free(texts);
    free_lines(lines, n);
    bert_model_close(m);
    return worst;
}

static double check_embedder(const char *name, bool int8)
{
    return check_embedder_threads(name, int8, 1);
}

static void test_mean(void **state) { (void)state; check_embedder("bert-tiny-mean", false); }
static void test_cls(void **state) { (void)state; check_embedder("bert-tiny-cls", false); }
static void test_f16(void **state) { (void)state; check_embedder("bert-tiny-mean-f16", false); }
static void test_bf16(void **state) { (void)state; check_embedder("bert-tiny-mean-bf16", false); }
static void test_legacy(void **state)
{
    (void)state;
    check_embedder("bert-tiny-mean-legacy", false);
}
static void test_ref_kernels(void **state)
{
    (void)state;
    setenv("FRUGAL_KERNELS", "ref", 1);
    check_embedder("bert-tiny-mean", false);
    check_embedder("bert-tiny-cls", false);
    unsetenv("FRUGAL_KERNELS");
}
static void test_int8(void **state)
{
    (void)state;
    check_embedder("bert-tiny-mean", true);
    check_embedder("bert-tiny-cls", true);
}

/* The encoder's own threads: the same results from 2 and 3 of them (any split of the work). */
static void test_threads(void **state)
{
    (void)state;
    check_embedder_threads("bert-tiny-mean", false, 2);
    check_embedder_threads("bert-tiny-cls", false, 3);
    check_embedder_threads("bert-tiny-mean", true, 2);
}

/* Every table the CPU has: AVX2 even where AVX-512 would be picked. */
static void test_avx2_kernels(void **state)
{
    (void)state;
    setenv("FRUGAL_KERNELS", "avx2", 1);
    check_embedder("bert-tiny-mean", false);
    check_embedder("bert-tiny-mean", true);
    unsetenv("FRUGAL_KERNELS");
}

static void test_reranker(void **state)
{
    char dir[1024];
    struct bert_model *m = NULL;
    struct err err;
    size_t n;
    cJSON **lines = read_lines("bert-tiny-reranker", &n);
    double worst = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/fixtures/bert-tiny-reranker", test_shared_dir());
    if (bert_model_open(dir, NULL, &m, &err) != FRUGAL_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        const char *q = cJSON_GetObjectItem(lines[i], "query")->valuestring;
        const char *p = cJSON_GetObjectItem(lines[i], "passage")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(lines[i], "ids");
        const cJSON *types = cJSON_GetObjectItem(lines[i], "token_type_ids");
        struct wp_encoding enc;
        float score;

        wp_encoding_init(&enc);
        assert_int_equal(wp_encode_pair(m->tok, q, strlen(q), p, strlen(p), m->max_seq, &enc),
                         FRUGAL_OK);
        assert_int_equal(enc.n, (size_t)cJSON_GetArraySize(ids));
        for (size_t j = 0; j < enc.n; j++) {
            assert_int_equal(enc.ids[j], cJSON_GetArrayItem(ids, (int)j)->valueint);
            assert_int_equal(enc.type_ids[j], cJSON_GetArrayItem(types, (int)j)->valueint);
        }
        wp_encoding_release(&enc);
        assert_int_equal(bert_rerank(m, q, &p, 1, &score, &err), FRUGAL_OK);
        double d = fabs(score - cJSON_GetObjectItem(lines[i], "logit")->valuedouble);
        worst = d > worst ? d : worst;
    }
    print_message("bert-tiny-reranker: max abs logit diff %.3g over %zu pairs\n", worst, n);
    assert_true(worst < 1e-4);
    /* an embedder refuses to rerank */
    bert_model_close(m);
    free_lines(lines, n);
}

static void test_kernels(void **state)
{
    const struct embed_kernels *r = embed_kernels_ref();
    const struct embed_kernels *a = embed_kernels_best();
    enum { N = 1000, D = 77 };
    static float x1[N], x2[N], res[N], g[D], b[D];
    static uint16_t h[N];

    (void)state;
    srand(7);
    for (int i = 0; i < N; i++) {
        x1[i] = x2[i] = (float)((double)rand() / RAND_MAX) * 16 - 8;
        res[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        h[i] = (uint16_t)rand();
    }
    for (int i = 0; i < D; i++) {
        g[i] = (float)((double)rand() / RAND_MAX);
        b[i] = (float)((double)rand() / RAND_MAX);
    }
    r->gelu(x1, N);
    a->gelu(x2, N);
    for (int i = 0; i < N; i++)
        assert_true(fabsf(x1[i] - x2[i]) < 1e-5f * (1 + fabsf(x1[i])));
    r->layernorm(x1, res, N / D, D, g, b, 1e-12f);
    a->layernorm(x2, res, N / D, D, g, b, 1e-12f);
    for (int i = 0; i < N / D * D; i++)
        assert_true(fabsf(x1[i] - x2[i]) < 1e-4f);
    r->softmax(x1, 10, 99, 100);
    a->softmax(x2, 10, 99, 100);
    for (int i = 0; i < 1000; i++)
        assert_true(fabsf(x1[i] - x2[i]) < 1e-5f * (1 + fabsf(x1[i])));
    r->f16_to_f32(h, x1, N);
    a->f16_to_f32(h, x2, N);
    for (int i = 0; i < N; i++)
        assert_true(memcmp(&x1[i], &x2[i], 4) == 0 || (isnan(x1[i]) && isnan(x2[i])));
    r->bf16_to_f32(h, x1, N);
    a->bf16_to_f32(h, x2, N);
    assert_memory_equal(x1, x2, sizeof(x1));
}

/* ---- Refused folders ------------------------------------------------------------------------ */

static char tmp_dir[256];

static void copy_file(const char *from_dir, const char *name)
{
    char from[1024];
    char to[1024];
    struct buf data;
    struct err err;

    snprintf(from, sizeof(from), "%s/%s", from_dir, name);
    snprintf(to, sizeof(to), "%s/%s", tmp_dir, name);
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(from, 0, &data, &err), FRUGAL_OK);
    assert_int_equal(fs_write_atomic(to, data.ptr, data.len, &err), FRUGAL_OK);
    buf_release(&data);
}

static void write_file(const char *name, const void *data, size_t len)
{
    char to[1024];
    struct err err;

    snprintf(to, sizeof(to), "%s/%s", tmp_dir, name);
    assert_int_equal(fs_write_atomic(to, data, len, &err), FRUGAL_OK);
}

/* Sets up a copy of bert-tiny-mean whose safetensors header went through edit(). */
static void make_folder(void (*edit)(cJSON *header), const char *config_from, const char *config_to)
{
    char src[900];
    char path[1024];
    struct buf data;
    struct buf out;
    struct err err;
    uint64_t n = 0;
    cJSON *hdr;
    char *text;

    snprintf(src, sizeof(src), "%s/fixtures/bert-tiny-mean", test_shared_dir());
    snprintf(path, sizeof(path), "%s/1_Pooling", tmp_dir);
    mkdir(path, 0755);
    copy_file(src, "modules.json");
    copy_file(src, "1_Pooling/config.json");
    copy_file(src, "vocab.txt");
    copy_file(src, "tokenizer_config.json");
    snprintf(path, sizeof(path), "%s/config.json", src);
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    if (config_from != NULL) {
        char *at = strstr(data.ptr, config_from);
        struct buf edited;
        assert_non_null(at);
        buf_init(&edited, 0);
        buf_append(&edited, data.ptr, (size_t)(at - data.ptr));
        buf_puts(&edited, config_to);
        buf_puts(&edited, at + strlen(config_from));
        write_file("config.json", edited.ptr, edited.len);
        buf_release(&edited);
    } else {
        write_file("config.json", data.ptr, data.len);
    }
    buf_reset(&data);
    snprintf(path, sizeof(path), "%s/model.safetensors", src);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | (unsigned char)data.ptr[i];
    hdr = cJSON_ParseWithLength(data.ptr + 8, n);
    if (edit != NULL)
        edit(hdr);
    text = cJSON_PrintUnformatted(hdr);
    buf_init(&out, 0);
    {
        uint64_t len = strlen(text);
        unsigned char le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)(len >> (8 * i));
        buf_append(&out, le, 8);
        buf_append(&out, text, len);
        buf_append(&out, data.ptr + 8 + n, data.len - 8 - n);
    }
    write_file("model.safetensors", out.ptr, out.len);
    free(text);
    cJSON_Delete(hdr);
    buf_release(&out);
    buf_release(&data);
}

static void expect_refused(frugal_status want, const char *words1, const char *words2)
{
    struct bert_model *m = NULL;
    struct err err;
    frugal_status rc = bert_model_open(tmp_dir, NULL, &m, &err);

    if (rc != want || strstr(err.msg, words1) == NULL ||
        (words2 != NULL && strstr(err.msg, words2) == NULL))
        fail_msg("status %d, message '%s'; expected %d with '%s' and '%s'", rc,
                 rc ? err.msg : "", want, words1, words2 ? words2 : "");
    assert_null(m);
}

static void edit_missing(cJSON *h) { cJSON_DeleteItemFromObject(h, "encoder.layer.1.output.dense.bias"); }
static void edit_dtype(cJSON *h)
{
    cJSON *t = cJSON_GetObjectItem(h, "encoder.layer.0.output.LayerNorm.weight");
    cJSON_ReplaceItemInObject(t, "dtype", cJSON_CreateString("I32"));
}
static void edit_offsets(cJSON *h)
{
    cJSON *t = cJSON_GetObjectItem(h, "embeddings.LayerNorm.bias");
    cJSON_ReplaceItemInObject(t, "data_offsets", cJSON_Parse("[0, 99999999]"));
}

static void test_refused(void **state)
{
    char path[1024];
    struct err err;
    struct buf data;

    (void)state;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/frugal-test-encoder.XXXXXX");
    assert_non_null(mkdtemp(tmp_dir));

    make_folder(NULL, NULL, NULL);
    {
        struct bert_model *m = NULL;
        assert_int_equal(bert_model_open(tmp_dir, NULL, &m, &err), FRUGAL_OK);
        float s;
        const char *p = "x";
        assert_int_equal(bert_rerank(m, "q", &p, 1, &s, &err), FRUGAL_EINVAL);
        bert_model_close(m);
    }
    make_folder(edit_missing, NULL, NULL);
    expect_refused(FRUGAL_ECORRUPT, "encoder.layer.1.output.dense.bias missing", "[64]");
    make_folder(edit_dtype, NULL, NULL);
    expect_refused(FRUGAL_EUNSUPPORTED, "encoder.layer.0.output.LayerNorm.weight has dtype I32",
                   NULL);
    make_folder(edit_offsets, NULL, NULL);
    expect_refused(FRUGAL_ECORRUPT, "model.safetensors", "embeddings.LayerNorm.bias");
    make_folder(NULL, "\"intermediate_size\": 128", "\"intermediate_size\": 256");
    expect_refused(FRUGAL_ECORRUPT,
                   "tensor encoder.layer.0.intermediate.dense.weight has shape [128,64]",
                   "expected [256,64]");
    make_folder(NULL, "\"BertModel\"", "\"GPT2Model\"");
    expect_refused(FRUGAL_EUNSUPPORTED, "GPT2Model", "config.json");
    make_folder(NULL, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"");
    expect_refused(FRUGAL_EUNSUPPORTED, "hidden_act", NULL);

    /* corrupt header length, truncated file, empty file */
    make_folder(NULL, NULL, NULL);
    snprintf(path, sizeof(path), "%s/model.safetensors", tmp_dir);
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    write_file("model.safetensors", data.ptr, data.len / 2);
    expect_refused(FRUGAL_ECORRUPT, "model.safetensors", NULL);
    data.ptr[7] = 0x7f;
    write_file("model.safetensors", data.ptr, data.len);
    expect_refused(FRUGAL_ECORRUPT, "header length", NULL);
    write_file("model.safetensors", "", 0);
    expect_refused(FRUGAL_ECORRUPT, "too short", NULL);
    buf_release(&data);

    {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_alloc_failures(void **state)
{
    char dir[1024];
    struct err err;
    const char *texts[2] = {"Hello, world!", "Café déjà vu"};
    float out[128];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/fixtures/bert-tiny-mean", test_shared_dir());
    for (long n = 0; n < 400; n += 3) {
        struct bert_model *m = NULL;
        struct bert_opts opts;
        frugal_status rc;

        bert_default_opts(&opts);
        opts.n_threads = 1 + (int)(n % 2); /* the pool's allocations too */
        opts.int8 = n % 5 == 0;
        alloc_fail_after(n);
        rc = bert_model_open(dir, &opts, &m, &err);
        if (rc == FRUGAL_OK)
            rc = bert_embed(m, texts, 2, out, &err);
        alloc_fail_after(-1);
        assert_true(rc == FRUGAL_OK || rc == FRUGAL_ENOMEM);
        bert_model_close(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),     cmocka_unit_test(test_mean),
        cmocka_unit_test(test_cls),         cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_ref_kernels), cmocka_unit_test(test_reranker),
        cmocka_unit_test(test_int8),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_avx2_kernels), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
