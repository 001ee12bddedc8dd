/*
 * vec_kernels_avx2.c - AVX2 + FMA + F16C versions of the distance kernels (see vec_kernels.h).
 *
 * How: 8 floats per vector register; f32 kernels run two independent accumulators over 16
 * floats per iteration to hide FMA latency; binary16 is widened with vcvtph2ps, uint8 codes
 * with vpmovzxbd + vcvtdq2ps. Tails shorter than 8 go through a scalar loop. Unaligned loads
 * throughout: stored vectors sit at arbitrary offsets inside graph nodes. The four-at-once
 * kernels load each query register once for four vectors and run two accumulators per vector
 * (eight FMA chains, enough to cover the FMA latency, where one vector's two chains are not).
 *
 * Why: distance evaluation is nearly all of an HNSW search's time; this file is compiled with
 * -mavx2 -mfma -mf16c (Makefile rule for *_avx2.c) and only reached after vec_cpu_has_avx2().
 *
 * Threading: pure functions, reentrant.
 */
#include "index/vec_kernels.h"

#include <immintrin.h>

static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static float avx2_l2_f32(const float *a, const float *b, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    }
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {
        float d = a[i] - b[i];
        acc += d * d;
    }
    return acc;
}

static float avx2_dot_f32(const float *a, const float *b, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

static inline __m256 load_f16x8(const uint16_t *x)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)x));
}

static inline float f16_scalar(uint16_t h)
{
    return _cvtsh_ss(h);
}

static float avx2_l2_f16(const float *q, const uint16_t *x, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_f16x8(x + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), load_f16x8(x + i + 8));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_f16x8(x + i));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    }
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {
        float d = q[i] - f16_scalar(x[i]);
        acc += d * d;
    }
    return acc;
}

static float avx2_dot_f16(const float *q, const uint16_t *x, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_f16x8(x + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load_f16x8(x + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_f16x8(x + i), acc0);
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++)
        acc += q[i] * f16_scalar(x[i]);
    return acc;
}

static inline __m256 load_u8x8(const uint8_t *c)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)c);
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
}

static float avx2_l2_u8(const float *r, const float *scale, const uint8_t *code, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i), load_u8x8(code + i),
                                     _mm256_loadu_ps(r + i));
        __m256 d1 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i + 8), load_u8x8(code + i + 8),
                                     _mm256_loadu_ps(r + i + 8));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d0 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i), load_u8x8(code + i),
                                     _mm256_loadu_ps(r + i));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    }
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {
        float d = r[i] - scale[i] * (float)code[i];
        acc += d * d;
    }
    return acc;
}

static float avx2_dot_u8(const float *w, const uint8_t *code, size_t n)
{
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    size_t i = 0;
    float acc;

    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), load_u8x8(code + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), load_u8x8(code + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), load_u8x8(code + i), acc0);
    acc = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++)
        acc += w[i] * (float)code[i];
    return acc;
}

/* Four horizontal sums at once: out[j] = sum of the lanes of vj. */
static inline void hsum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3, float *out)
{
    __m256 ab = _mm256_hadd_ps(v0, v1); /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    __m256 cd = _mm256_hadd_ps(v2, v3);
    __m256 abcd = _mm256_hadd_ps(ab, cd); /* a0123 b0123 c0123 d0123 | the 4567 halves */
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
    _mm_storeu_ps(out, s);
}

/* The four-at-once kernels share one shape, written once: per 16 elements, two query-side
 * registers (Q0, Q1) and, for each of the four vectors, STEP(acc, qreg, vector pointer, offset)
 * folds 8 elements into one of its two accumulators. Spelled out per vector so that the 8
 * accumulators stay in registers (an array of them would be spilled at -O2). */
#define X4_BODY(LOADQ, STEP, TAIL)                                                                 \
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                                    \
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();                                    \
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();                                    \
    __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps();                                    \
    size_t i = 0;                                                                                  \
    for (; i + 16 <= n; i += 16) {                                                                 \
        LOADQ(0, i);                                                                               \
        LOADQ(1, i + 8);                                                                           \
        STEP(a0, 0, x0, i);                                                                        \
        STEP(a1, 1, x0, i + 8);                                                                    \
        STEP(b0, 0, x1, i);                                                                        \
        STEP(b1, 1, x1, i + 8);                                                                    \
        STEP(c0, 0, x2, i);                                                                        \
        STEP(c1, 1, x2, i + 8);                                                                    \
        STEP(d0, 0, x3, i);                                                                        \
        STEP(d1, 1, x3, i + 8);                                                                    \
    }                                                                                              \
    for (; i + 8 <= n; i += 8) {                                                                   \
        LOADQ(0, i);                                                                               \
        STEP(a0, 0, x0, i);                                                                        \
        STEP(b0, 0, x1, i);                                                                        \
        STEP(c0, 0, x2, i);                                                                        \
        STEP(d0, 0, x3, i);                                                                        \
    }                                                                                              \
    hsum4(_mm256_add_ps(a0, a1), _mm256_add_ps(b0, b1), _mm256_add_ps(c0, c1),                     \
          _mm256_add_ps(d0, d1), out);                                                             \
    for (; i < n; i++) {                                                                           \
        TAIL(0, x0);                                                                               \
        TAIL(1, x1);                                                                               \
        TAIL(2, x2);                                                                               \
        TAIL(3, x3);                                                                               \
    }

#define LOADQ_F32(k, at) __m256 q##k = _mm256_loadu_ps(a + (at))
#define STEP_L2_F32(acc, k, x, at)                                                                 \
    do {                                                                                           \
        __m256 df = _mm256_sub_ps(q##k, _mm256_loadu_ps((x) + (at)));                              \
        acc = _mm256_fmadd_ps(df, df, acc);                                                        \
    } while (0)
#define TAIL_L2_F32(j, x)                                                                          \
    do {                                                                                           \
        float df = a[i] - (x)[i];                                                                  \
        out[j] += df * df;                                                                         \
    } while (0)

static void avx2_l2_f32_x4(const float *a, const float *const *x, size_t n, float *out)
{
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    X4_BODY(LOADQ_F32, STEP_L2_F32, TAIL_L2_F32)
}

#define STEP_DOT_F32(acc, k, x, at) acc = _mm256_fmadd_ps(q##k, _mm256_loadu_ps((x) + (at)), acc)
#define TAIL_DOT_F32(j, x) out[j] += a[i] * (x)[i]

static void avx2_dot_f32_x4(const float *a, const float *const *x, size_t n, float *out)
{
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    X4_BODY(LOADQ_F32, STEP_DOT_F32, TAIL_DOT_F32)
}

#define LOADQ_L2_U8(k, at)                                                                         \
    __m256 q##k = _mm256_loadu_ps(r + (at));                                                       \
    __m256 s##k = _mm256_loadu_ps(scale + (at))
#define STEP_L2_U8(acc, k, x, at)                                                                  \
    do {                                                                                           \
        __m256 df = _mm256_fnmadd_ps(s##k, load_u8x8((x) + (at)), q##k);                           \
        acc = _mm256_fmadd_ps(df, df, acc);                                                        \
    } while (0)
#define TAIL_L2_U8(j, x)                                                                           \
    do {                                                                                           \
        float df = r[i] - scale[i] * (float)(x)[i];                                                \
        out[j] += df * df;                                                                         \
    } while (0)

static void avx2_l2_u8_x4(const float *r, const float *scale, const uint8_t *const *code, size_t n,
                          float *out)
{
    const uint8_t *x0 = code[0], *x1 = code[1], *x2 = code[2], *x3 = code[3];
    X4_BODY(LOADQ_L2_U8, STEP_L2_U8, TAIL_L2_U8)
}

#define LOADQ_DOT_U8(k, at) __m256 q##k = _mm256_loadu_ps(w + (at))
#define STEP_DOT_U8(acc, k, x, at) acc = _mm256_fmadd_ps(q##k, load_u8x8((x) + (at)), acc)
#define TAIL_DOT_U8(j, x) out[j] += w[i] * (float)(x)[i]

static void avx2_dot_u8_x4(const float *w, const uint8_t *const *code, size_t n, float *out)
{
    const uint8_t *x0 = code[0], *x1 = code[1], *x2 = code[2], *x3 = code[3];
    X4_BODY(LOADQ_DOT_U8, STEP_DOT_U8, TAIL_DOT_U8)
}

const struct vec_kernels vec_kernels_avx2 = {
    "avx2",         avx2_l2_f32,     avx2_dot_f32,   avx2_l2_f16,   avx2_dot_f16,   avx2_l2_u8,
    avx2_dot_u8,    avx2_l2_f32_x4,  avx2_dot_f32_x4, avx2_l2_u8_x4, avx2_dot_u8_x4,
};
