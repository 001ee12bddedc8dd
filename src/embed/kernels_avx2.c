/*
 * kernels_avx2.c - AVX2 + FMA + F16C versions of the encoder kernels (contract in kernels.h),
 * and the AVX2 and AVX-512 kernel tables.
 *
 * How: 8 floats per step, a scalar tail. exp is Cephes' expf on vectors (range reduction by
 * ln 2 in two parts, degree-5 polynomial, exponent bits by integer shift; about 1 ulp); erf is
 * the rational approximation Eigen and TensorFlow use for float (odd degree-13 over even degree-8
 * polynomial on x clamped to [-4, 4]; a few ulp). LayerNorm sums in float over 8 lanes, two
 * passes. The matrix products are register-tiled like kernels_avx512.c (which explains the
 * blocking) with narrower tiles: 6 rows x 16 columns in 12 ymm accumulators for float; for int8,
 * 4 x 16 int32 sums where vpmaddubsw multiplies |a| by b carrying a's sign (vpsignb), so no pair
 * sum can saturate int16 (2 * 127 * 127 < 32767), and vpmaddwd by ones widens pairs to int32:
 * exact. Activation quantization rounds with vcvtps2dq (to nearest even, like lrintf) and packs
 * with saturation (never reached: |x / scale| <= 127).
 *
 * Why: the products are about 90% of the encoder's time; after them, GELU and the attention
 * softmax cost the most: one erf per FFN activation (fused into the product's epilogue) and one
 * exp per attention score.
 *
 * Threading: pure functions; the copy buffers are on the stack. Only called after
 * embed_kernels_best() saw the CPU flags.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "embed/kernels.h"

static inline float hsum(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

static inline float hmax(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_max_ps(lo, hi);
    lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

static inline __m256 exp8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 fx;
    __m256 z;
    __m256 y;
    __m256i e;

    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365478515625f));
    fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    z = _mm256_mul_ps(x, x);
    y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, z, _mm256_add_ps(x, one));
    e = _mm256_cvttps_epi32(fx);
    e = _mm256_add_epi32(e, _mm256_set1_epi32(127));
    e = _mm256_slli_epi32(e, 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

EMBED_DEFINE_ERF(erf8, static inline, __m256, _mm256)

static void avx2_gelu(float *x, size_t n)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 rs2 = _mm256_set1_ps(0.70710678118654752f);
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf8(_mm256_mul_ps(v, rs2));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(v, half), _mm256_add_ps(one, e)));
    }
    for (; i < n; i++)
        x[i] = embed_gelu1(x[i]);
}

static void avx2_softmax(float *x, size_t n_rows, size_t n_cols, size_t ld)
{
    for (size_t r = 0; r < n_rows; r++) {
        float *row = x + r * ld;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        __m256 vsum = _mm256_setzero_ps();
        float max;
        float sum;
        float inv;
        size_t i = 0;

        for (; i + 8 <= n_cols; i += 8)
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + i));
        max = hmax(vmax);
        for (; i < n_cols; i++)
            max = row[i] > max ? row[i] : max;
        vmax = _mm256_set1_ps(max);
        for (i = 0; i + 8 <= n_cols; i += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmax));
            _mm256_storeu_ps(row + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        sum = hsum(vsum);
        for (; i < n_cols; i++) {
            row[i] = expf(row[i] - max);
            sum += row[i];
        }
        inv = 1.0f / sum;
        vsum = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= n_cols; i += 8)
            _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), vsum));
        for (; i < n_cols; i++)
            row[i] *= inv;
    }
}

static void avx2_layernorm(float *x, const float *residual, size_t n_rows, size_t dim,
                           const float *gamma, const float *beta, float eps)
{
    for (size_t r = 0; r < n_rows; r++) {
        float *row = x + r * dim;
        __m256 acc = _mm256_setzero_ps();
        __m256 vmean;
        __m256 vinv;
        float mean;
        float var;
        float inv;
        size_t i = 0;

        if (residual != NULL) {
            const float *res = residual + r * dim;
            for (i = 0; i + 8 <= dim; i += 8)
                _mm256_storeu_ps(row + i,
                                 _mm256_add_ps(_mm256_loadu_ps(row + i), _mm256_loadu_ps(res + i)));
            for (; i < dim; i++)
                row[i] += res[i];
        }
        for (i = 0; i + 8 <= dim; i += 8)
            acc = _mm256_add_ps(acc, _mm256_loadu_ps(row + i));
        mean = hsum(acc);
        for (; i < dim; i++)
            mean += row[i];
        mean /= (float)dim;
        vmean = _mm256_set1_ps(mean);
        acc = _mm256_setzero_ps();
        for (i = 0; i + 8 <= dim; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + i), vmean);
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        var = hsum(acc);
        for (; i < dim; i++)
            var += (row[i] - mean) * (row[i] - mean);
        var /= (float)dim;
        inv = 1.0f / sqrtf(var + eps);
        vinv = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= dim; i += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmean), vinv);
            _mm256_storeu_ps(row + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + i),
                                                      _mm256_loadu_ps(beta + i)));
        }
        for (; i < dim; i++)
            row[i] = ((row[i] - mean) * inv) * gamma[i] + beta[i];
    }
}

static void avx2_f16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i,
                         _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    for (; i < n; i++)
        dst[i] = _cvtsh_ss(src[i]);
}

static void avx2_bf16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; i++)
        dst[i] = embed_bf16_1(src[i]);
}

/* ---- Matrix products ---------------------------------------------------------------------- */

#define F32_MR 6     /* rows per register tile: 6 x 16 floats in 12 accumulators */
#define F32_KC 256   /* depth per packed A chunk (6 KiB) */
#define I8_MR 4      /* rows per int8 register tile: 4 x 16 int32 in 8 accumulators */
#define I8_KC 1024   /* depth in bytes per packed A chunk */
_Static_assert(EMBED_M_BLOCK % F32_MR == 0 && EMBED_M_BLOCK % I8_MR == 0, "whole tiles per block");

/* A partial panel (nj < 16 columns) goes through full-width copies: rows x nj floats from src
 * (row stride ld_src) to dst (row stride ld_dst). */
static void copy_cols(float *dst, size_t ld_dst, const float *src, size_t ld_src, size_t rows,
                      size_t nj)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * ld_dst, src + r * ld_src, nj * sizeof(float));
}

/* nj values of src zero-padded to 16 in out; NULL when src is NULL (no bias). */
static const float *pad16(float *out, const float *src, size_t nj)
{
    if (src == NULL)
        return NULL;
    memset(out, 0, 16 * sizeof(float));
    memcpy(out, src, nj * sizeof(float));
    return out;
}

static inline __m256 epilogue8(__m256 v, __m256 scale, const float *bias, bool gelu)
{
    v = _mm256_mul_ps(v, scale);
    if (bias != NULL)
        v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    if (gelu) {
        __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
        v = _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5f)),
                          _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    return v;
}

/* One 6 x 16 tile over a depth chunk: c (rows, 16) holds the partial sums of earlier chunks
 * unless `first`; the epilogue runs on the `last` chunk. ap: (kc, 6) packed rows. */
static void f32_tile(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                     size_t rows, bool first, bool last, const struct embed_gemm_f32 *g,
                     const float *bias)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m256 acc[12];

    for (size_t kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_loadu_ps(bp + kk * 16);
        __m256 b1 = _mm256_loadu_ps(bp + kk * 16 + 8);
        const float *a = ap + kk * F32_MR;
        __m256 x;

        x = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11, acc[4] = c20, acc[5] = c21;
    acc[6] = c30, acc[7] = c31, acc[8] = c40, acc[9] = c41, acc[10] = c50, acc[11] = c51;
    for (size_t r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        __m256 v0 = acc[2 * r];
        __m256 v1 = acc[2 * r + 1];

        if (!first) {
            v0 = _mm256_add_ps(_mm256_loadu_ps(row), v0);
            v1 = _mm256_add_ps(_mm256_loadu_ps(row + 8), v1);
        }
        if (last) {
            __m256 scale = _mm256_set1_ps(g->scale);
            v0 = epilogue8(v0, scale, bias, g->gelu);
            v1 = epilogue8(v1, scale, bias != NULL ? bias + 8 : NULL, g->gelu);
        }
        _mm256_storeu_ps(row, v0);
        _mm256_storeu_ps(row + 8, v1);
    }
}

static void gemm_f32_block(const struct embed_gemm_f32 *g)
{
    float ap[F32_KC * F32_MR];
    float tail[F32_MR * 16];
    float bias_tail[16];
    size_t nb = embed_col_block(g->k < F32_KC ? g->k : F32_KC, sizeof(float));

    memset(tail, 0, sizeof(tail));

    for (size_t n0 = 0; n0 < g->n; n0 += nb) {
        size_t n1 = g->n - n0 < nb ? g->n : n0 + nb;

        for (size_t k0 = 0; k0 < g->k; k0 += F32_KC) {
            size_t kc = g->k - k0 < F32_KC ? g->k - k0 : F32_KC;
            bool first = k0 == 0;
            bool last = k0 + kc == g->k;

            for (size_t i0 = 0; i0 < g->m; i0 += F32_MR) {
                size_t rows = g->m - i0 < F32_MR ? g->m - i0 : F32_MR;

                embed_pack_a_f32(ap, g->a + i0 * g->lda + k0, g->lda, rows, F32_MR, kc);
                for (size_t j0 = n0; j0 < n1; j0 += 16) {
                    const float *bp = g->b + j0 * g->k + k0 * 16;
                    float *c = g->c + i0 * g->ldc + j0;
                    size_t nj = n1 - j0 < 16 ? n1 - j0 : 16;

                    if (nj == 16) {
                        f32_tile(kc, ap, bp, c, g->ldc, rows, first, last, g,
                                 g->bias != NULL ? g->bias + j0 : NULL);
                        continue;
                    }
                    copy_cols(tail, 16, c, g->ldc, rows, nj);
                    f32_tile(kc, ap, bp, tail, 16, rows, first, last, g,
                             pad16(bias_tail, g->bias != NULL ? g->bias + j0 : NULL, nj));
                    copy_cols(c, g->ldc, tail, 16, rows, nj);
                }
            }
        }
    }
}

static void avx2_gemm_f32(const struct embed_gemm_f32 *g)
{
    embed_gemm_f32_by_rows(g, gemm_f32_block);
}

/* s8 x s8 products of 4 consecutive k summed into int32 lanes, without VNNI: vpmaddubsw wants
 * one unsigned operand, so it gets |a| and b with a's sign; |a|, |b| <= 127 cannot saturate
 * the int16 pair sums (2 * 127 * 127 < 32767). */
static inline __m256i dot4(__m256i a, __m256i abs_a, __m256i b)
{
    __m256i p = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static inline __m256 epilogue_i8(__m256i acc, float a_scale, const float *b_scale,
                                 const float *bias, bool gelu)
{
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(a_scale));
    v = _mm256_mul_ps(v, _mm256_loadu_ps(b_scale));
    return epilogue8(v, _mm256_set1_ps(1.0f), bias, gelu);
}

/* One 4 x 16 int8 tile over a depth chunk; int32 partial sums wait in c's bytes between
 * chunks. ap: (kc / 4, 4) packed groups of 4 bytes. */
static void i8_tile(size_t n_groups, const int32_t *ap, const int8_t *bp, float *c, size_t ldc,
                    size_t rows, bool first, bool last, const struct embed_gemm_i8 *g,
                    size_t i0, const float *b_scale, const float *bias)
{
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m256i acc[8];

    for (size_t grp = 0; grp < n_groups; grp++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(const void *)(bp + grp * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(bp + grp * 64 + 32));
        const int32_t *a = ap + grp * I8_MR;
        __m256i x;
        __m256i ax;

        x = _mm256_set1_epi32(a[0]);
        ax = _mm256_abs_epi8(x);
        c00 = _mm256_add_epi32(c00, dot4(x, ax, b0));
        c01 = _mm256_add_epi32(c01, dot4(x, ax, b1));
        x = _mm256_set1_epi32(a[1]);
        ax = _mm256_abs_epi8(x);
        c10 = _mm256_add_epi32(c10, dot4(x, ax, b0));
        c11 = _mm256_add_epi32(c11, dot4(x, ax, b1));
        x = _mm256_set1_epi32(a[2]);
        ax = _mm256_abs_epi8(x);
        c20 = _mm256_add_epi32(c20, dot4(x, ax, b0));
        c21 = _mm256_add_epi32(c21, dot4(x, ax, b1));
        x = _mm256_set1_epi32(a[3]);
        ax = _mm256_abs_epi8(x);
        c30 = _mm256_add_epi32(c30, dot4(x, ax, b0));
        c31 = _mm256_add_epi32(c31, dot4(x, ax, b1));
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11;
    acc[4] = c20, acc[5] = c21, acc[6] = c30, acc[7] = c31;
    for (size_t r = 0; r < rows; r++) {
        __m256i *row = (__m256i *)(void *)(c + r * ldc);
        __m256i v0 = acc[2 * r];
        __m256i v1 = acc[2 * r + 1];

        if (!first) {
            v0 = _mm256_add_epi32(_mm256_loadu_si256(row), v0);
            v1 = _mm256_add_epi32(_mm256_loadu_si256(row + 1), v1);
        }
        if (last) {
            float s = g->a_scale[i0 + r];
            _mm256_storeu_ps((float *)(void *)row, epilogue_i8(v0, s, b_scale, bias, g->gelu));
            _mm256_storeu_ps((float *)(void *)(row + 1),
                             epilogue_i8(v1, s, b_scale + 8, bias != NULL ? bias + 8 : NULL,
                                         g->gelu));
        } else {
            _mm256_storeu_si256(row, v0);
            _mm256_storeu_si256(row + 1, v1);
        }
    }
}

static void gemm_i8_block(const struct embed_gemm_i8 *g)
{
    int32_t ap[I8_KC / 4 * I8_MR];
    float tail[I8_MR * 16];
    float bias_tail[16];
    float scale_tail[16];
    size_t nb = embed_col_block(g->kp < I8_KC ? g->kp : I8_KC, 1);

    memset(tail, 0, sizeof(tail));

    for (size_t n0 = 0; n0 < g->n; n0 += nb) {
        size_t n1 = g->n - n0 < nb ? g->n : n0 + nb;

        for (size_t k0 = 0; k0 < g->kp; k0 += I8_KC) {
            size_t kc = g->kp - k0 < I8_KC ? g->kp - k0 : I8_KC;
            bool first = k0 == 0;
            bool last = k0 + kc == g->kp;

            for (size_t i0 = 0; i0 < g->m; i0 += I8_MR) {
                size_t rows = g->m - i0 < I8_MR ? g->m - i0 : I8_MR;

                embed_pack_a_i8(ap, g->a + i0 * g->lda + k0, g->lda, rows, I8_MR, kc, 0);
                for (size_t j0 = n0; j0 < n1; j0 += 16) {
                    const int8_t *bp = g->b + j0 * g->kp + k0 * 16;
                    float *c = g->c + i0 * g->ldc + j0;
                    size_t nj = n1 - j0 < 16 ? n1 - j0 : 16;

                    if (nj == 16) {
                        i8_tile(kc / 4, ap, bp, c, g->ldc, rows, first, last, g, i0,
                                g->b_scale + j0, g->bias != NULL ? g->bias + j0 : NULL);
                        continue;
                    }
                    copy_cols(tail, 16, c, g->ldc, rows, nj);
                    i8_tile(kc / 4, ap, bp, tail, 16, rows, first, last, g, i0,
                            pad16(scale_tail, g->b_scale + j0, nj),
                            pad16(bias_tail, g->bias != NULL ? g->bias + j0 : NULL, nj));
                    copy_cols(c, g->ldc, tail, 16, rows, nj);
                }
            }
        }
    }
}

static void avx2_gemm_i8(const struct embed_gemm_i8 *g)
{
    embed_gemm_i8_by_rows(g, gemm_i8_block);
}

static void avx2_quantize(const float *x, size_t n_rows, size_t k, size_t ldx, int8_t *q,
                          size_t ldq, float *scales)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);

    for (size_t r = 0; r < n_rows; r++) {
        const float *row = x + r * ldx;
        int8_t *out = q + r * ldq;
        __m256 vmax = _mm256_setzero_ps();
        __m256 vinv;
        float amax;
        float s;
        float inv;
        size_t c = 0;

        for (; c + 8 <= k; c += 8)
            vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(row + c), abs_mask));
        amax = hmax(vmax);
        for (; c < k; c++)
            amax = fabsf(row[c]) > amax ? fabsf(row[c]) : amax;
        s = amax > 0 ? amax / 127.0f : 1.0f;
        inv = 1.0f / s;
        vinv = _mm256_set1_ps(inv);
        for (c = 0; c + 32 <= k; c += 32) {
            /* cvtps rounds to nearest even like lrintf; the packs saturate (never needed) */
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c), vinv));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c + 8), vinv));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c + 16), vinv));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c + 24), vinv));
            __m256i w01 = _mm256_packs_epi32(i0, i1);
            __m256i w23 = _mm256_packs_epi32(i2, i3);
            __m256i b = _mm256_packs_epi16(w01, w23);
            _mm256_storeu_si256((__m256i *)(void *)(out + c), _mm256_permutevar8x32_epi32(b, order));
        }
        for (; c < k; c++)
            out[c] = (int8_t)lrintf(row[c] * inv);
        memset(out + k, 0, ldq - k);
        scales[r] = s;
    }
}

static const struct embed_kernels avx2_kernels = {
    .name = "avx2",
    .layernorm = avx2_layernorm,
    .gelu = avx2_gelu,
    .softmax = avx2_softmax,
    .f16_to_f32 = avx2_f16_to_f32,
    .bf16_to_f32 = avx2_bf16_to_f32,
    .gemm_f32 = avx2_gemm_f32,
    .gemm_i8 = avx2_gemm_i8,
    .quantize = avx2_quantize,
};

/* The AVX-512 table: its own matrix products (kernels_avx512.c), the AVX2 rest. */
static const struct embed_kernels avx512_kernels = {
    .name = "avx512",
    .layernorm = avx2_layernorm,
    .gelu = avx2_gelu,
    .softmax = avx2_softmax,
    .f16_to_f32 = avx2_f16_to_f32,
    .bf16_to_f32 = avx2_bf16_to_f32,
    .gemm_f32 = embed_gemm_f32_avx512,
    .gemm_i8 = embed_gemm_i8_avx512,
    .quantize = avx2_quantize,
};

const struct embed_kernels *embed_kernels_avx2(void) { return &avx2_kernels; }
const struct embed_kernels *embed_kernels_avx512(void) { return &avx512_kernels; }
