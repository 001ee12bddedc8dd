/* test_embed_kernels.c - every fast kernel table the CPU can run (AVX2, AVX-512) against the
 * scalar reference on random inputs: the packed float and int8 matrix products over shapes with
 * row, column and depth tails, column blocks and depth chunks, with and without bias, scale and
 * GELU; activation quantization (exact); and the thread pool. */
#include "testutil.h"

#include <math.h>

#include "base/alloc.h"
#include "embed/kernels.h"
#include "embed/threadpool.h"

static float frand(float lo, float hi) { return lo + (hi - lo) * (float)((double)rand() / RAND_MAX); }

/* The tables to test, besides the reference. */
static size_t fast_tables(const struct embed_kernels **out)
{
    size_t n = 0;

#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        out[n++] = embed_kernels_avx2();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni"))
        out[n++] = embed_kernels_avx512();
#endif
    if (n == 0)
        print_message("no fast kernel table on this CPU: nothing to compare\n");
    return n;
}

static const size_t shapes[][3] = {
    /* m, n, k */
    {1, 16, 8},   {5, 7, 3},     {12, 32, 32},  {13, 40, 33},  {32, 32, 32},  {37, 100, 300},
    {6, 1152, 384}, {25, 384, 1536}, {7, 16, 1100}, {128, 64, 128}, {3, 600, 20},
    {24, 16, 40},   {36, 80, 260},  {200, 48, 24},
};

static void check_gemm_f32(const struct embed_kernels *fast, size_t m, size_t n, size_t k,
                           bool bias_on, bool gelu, float scale)
{
    const struct embed_kernels *ref = embed_kernels_ref();
    size_t lda = k + 3;
    size_t ldc = n + 5;
    float *a = malloc(m * lda * sizeof(float));
    float *w = malloc(n * k * sizeof(float));
    float *bp = malloc(embed_packed_f32_size(n, k) * sizeof(float));
    float *bias = malloc(n * sizeof(float));
    float *c1 = malloc(m * ldc * sizeof(float));
    float *c2 = malloc(m * ldc * sizeof(float));
    struct embed_gemm_f32 g = {0};
    double worst = 0;

    for (size_t i = 0; i < m * lda; i++)
        a[i] = frand(-1, 1);
    for (size_t i = 0; i < n * k; i++)
        w[i] = frand(-1, 1);
    for (size_t i = 0; i < n; i++)
        bias[i] = frand(-1, 1);
    for (size_t i = 0; i < m * ldc; i++)
        c1[i] = c2[i] = 1234.5f; /* the gaps between rows must stay untouched */
    embed_pack_f32_nk(w, n, k, k, bp);
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = a;
    g.lda = lda;
    g.b = bp;
    g.bias = bias_on ? bias : NULL;
    g.scale = scale;
    g.gelu = gelu;
    g.c = c1;
    g.ldc = ldc;
    ref->gemm_f32(&g);
    g.c = c2;
    fast->gemm_f32(&g);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < ldc; j++) {
            float x = c1[i * ldc + j];
            float y = c2[i * ldc + j];
            double tol = 1e-5 * (1 + sqrt((double)k)) * (1 + fabs(x));

            if (j >= n) {
                assert_true(x == 1234.5f && y == 1234.5f);
                continue;
            }
            if (fabs(x - y) > tol)
                fail_msg("%s gemm_f32 m=%zu n=%zu k=%zu: C[%zu][%zu] %g vs ref %g", fast->name, m,
                         n, k, i, j, (double)y, (double)x);
            worst = fabs(x - y) > worst ? fabs(x - y) : worst;
        }
    }
    free(a);
    free(w);
    free(bp);
    free(bias);
    free(c1);
    free(c2);
}

static void test_gemm_f32(void **state)
{
    const struct embed_kernels *tables[4];
    size_t n_tables = fast_tables(tables);

    (void)state;
    srand(11);
    for (size_t t = 0; t < n_tables; t++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            check_gemm_f32(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], true, false, 1.0f);
            check_gemm_f32(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], false, false,
                           0.17677669f);
            check_gemm_f32(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], true, true, 1.0f);
        }
    }
}

/* The (k, n) packing gives the same product as the (n, k) packing of the transpose. */
static void test_pack_kn(void **state)
{
    enum { K = 37, N = 21 };
    static float b[K * N], bt[N * K], p1[48 * K], p2[48 * K];

    (void)state;
    for (size_t i = 0; i < K * N; i++)
        b[i] = frand(-1, 1);
    for (size_t kk = 0; kk < K; kk++)
        for (size_t j = 0; j < N; j++)
            bt[j * K + kk] = b[kk * N + j];
    assert_true(embed_packed_f32_size(N, K) <= 48 * K);
    embed_pack_f32_kn(b, K, N, N, p1);
    embed_pack_f32_nk(bt, N, K, K, p2);
    assert_memory_equal(p1, p2, embed_packed_f32_size(N, K) * sizeof(float));
}

static void check_gemm_i8(const struct embed_kernels *fast, size_t m, size_t n, size_t k, bool gelu)
{
    const struct embed_kernels *ref = embed_kernels_ref();
    size_t kp = (k + 3) / 4 * 4;
    float *x = malloc(m * k * sizeof(float));
    float *w = malloc(n * k * sizeof(float));
    int8_t *xq1 = malloc(m * kp);
    int8_t *xq2 = malloc(m * kp);
    float *xs1 = malloc(m * sizeof(float));
    float *xs2 = malloc(m * sizeof(float));
    int8_t *wq = malloc(n * k);
    float *ws = malloc(n * sizeof(float));
    int8_t *bp = malloc(embed_packed_i8_size(n, k));
    int32_t *sums = malloc(n * sizeof(int32_t));
    float *bias = malloc(n * sizeof(float));
    float *c1 = malloc(m * n * sizeof(float));
    float *c2 = malloc(m * n * sizeof(float));
    struct embed_gemm_i8 g = {0};

    for (size_t i = 0; i < m * k; i++)
        x[i] = frand(-3, 3);
    for (size_t i = 0; i < n * k; i++)
        w[i] = frand(-1, 1);
    for (size_t i = 0; i < n; i++)
        bias[i] = frand(-1, 1);
    if (m > 2)
        memset(x + k, 0, k * sizeof(float)); /* a zero row: scale 1 */
    ref->quantize(x, m, k, k, xq1, kp, xs1);
    fast->quantize(x, m, k, k, xq2, kp, xs2);
    assert_memory_equal(xq1, xq2, m * kp);
    assert_memory_equal(xs1, xs2, m * sizeof(float));
    /* extremes of both operands: the sums must not saturate anywhere */
    for (size_t i = 0; i < m * kp && m > 3; i += 7)
        xq1[i] = (int8_t)(i % 2 ? 127 : -127);
    ref->quantize(w, n, k, k, wq, k, ws);
    for (size_t i = 0; i < n * k; i += 5)
        wq[i] = (int8_t)(i % 3 ? 127 : -127);
    embed_pack_i8(wq, n, k, bp, sums);
    g.m = m;
    g.n = n;
    g.kp = kp;
    g.a = xq1;
    g.lda = kp;
    g.a_scale = xs1;
    g.b = bp;
    g.b_sum = sums;
    g.b_scale = ws;
    g.bias = bias;
    g.gelu = gelu;
    g.c = c1;
    g.ldc = n;
    ref->gemm_i8(&g);
    g.c = c2;
    fast->gemm_i8(&g);
    for (size_t i = 0; i < m * n; i++) {
        /* exact int32 sums and the same float steps: equal, except GELU's erf */
        if (gelu ? fabsf(c1[i] - c2[i]) > 1e-6f * (1 + fabsf(c1[i])) : c1[i] != c2[i])
            fail_msg("%s gemm_i8 m=%zu n=%zu k=%zu: C[%zu] %.9g vs ref %.9g", fast->name, m, n, k,
                     i, (double)c2[i], (double)c1[i]);
    }
    free(x);
    free(w);
    free(xq1);
    free(xq2);
    free(xs1);
    free(xs2);
    free(wq);
    free(ws);
    free(bp);
    free(sums);
    free(bias);
    free(c1);
    free(c2);
}

static void test_gemm_i8(void **state)
{
    const struct embed_kernels *tables[4];
    size_t n_tables = fast_tables(tables);

    (void)state;
    srand(13);
    for (size_t t = 0; t < n_tables; t++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            check_gemm_i8(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], false);
            check_gemm_i8(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], true);
        }
        check_gemm_i8(tables[t], 9, 48, 2500, false); /* several depth chunks */
    }
}

static void test_quantize_ties(void **state)
{
    const struct embed_kernels *tables[4];
    size_t n_tables = fast_tables(tables);
    /* 127 / 254 * k lands on halves: round to even, like lrintf */
    float x[40];
    int8_t q1[40], q2[40];
    float s1, s2;

    (void)state;
    for (int i = 0; i < 40; i++)
        x[i] = (float)(i % 2 ? i : -i) * 0.5f;
    x[39] = 127.0f;
    embed_kernels_ref()->quantize(x, 1, 40, 40, q1, 40, &s1);
    assert_int_equal(q1[1], 0);  /* 0.5 -> 0 */
    assert_int_equal(q1[3], 2);  /* 1.5 -> 2 */
    for (size_t t = 0; t < n_tables; t++) {
        tables[t]->quantize(x, 1, 40, 40, q2, 40, &s2);
        assert_memory_equal(q1, q2, sizeof(q1));
        assert_true(s1 == s2);
    }
}

struct pool_probe {
    int hits[500];
    int threads_seen[8];
    long spins;
};

static void probe(void *arg, size_t task, int thread)
{
    struct pool_probe *p = arg;
    long spin = 0;

    p->hits[task]++;
    __atomic_fetch_add(&p->threads_seen[thread], 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 20000; i++)
        spin += i % 3;
    __atomic_fetch_add(&p->spins, spin, __ATOMIC_RELAXED);
}

static void test_pool(void **state)
{
    struct embed_pool *pool = NULL;
    struct pool_probe p;
    int total = 0;

    (void)state;
    memset(&p, 0, sizeof(p));
    embed_pool_run(NULL, probe, &p, 3);
    assert_int_equal(p.hits[0] + p.hits[1] + p.hits[2], 3);
    assert_int_equal(embed_pool_size(NULL), 1);
    assert_int_equal(embed_pool_new(3, &pool), FRUGAL_OK);
    assert_int_equal(embed_pool_size(pool), 3);
    memset(&p, 0, sizeof(p));
    for (int r = 0; r < 200; r++)
        embed_pool_run(pool, probe, &p, (size_t)r % 7 == 0 ? 0 : 1 + (size_t)r % 499);
    for (int r = 0; r < 200; r++) {
        int want = 0;
        for (int rr = 0; rr < 200; rr++)
            want += rr % 7 != 0 && r < 1 + rr % 499;
        assert_int_equal(p.hits[r], want);
    }
    for (int i = 0; i < 8; i++)
        total += i < 3 ? p.threads_seen[i] : 0;
    assert_int_equal(p.threads_seen[3], 0);
    assert_true(total > 0);
    embed_pool_free(pool);
    embed_pool_free(NULL);
    for (long n = 0; n < 4; n++) {
        frugal_status rc;

        alloc_fail_after(n);
        pool = NULL;
        rc = embed_pool_new(2, &pool);
        alloc_fail_after(-1);
        assert_true(rc == FRUGAL_OK || (rc == FRUGAL_ENOMEM && pool == NULL));
        embed_pool_free(pool);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_f32),      cmocka_unit_test(test_pack_kn),
        cmocka_unit_test(test_gemm_i8),       cmocka_unit_test(test_quantize_ties),
        cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
