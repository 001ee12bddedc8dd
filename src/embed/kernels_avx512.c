/*
 * kernels_avx512.c - the encoder's matrix products with AVX-512 (float) and AVX-512 VNNI
 * (int8), for the "avx512" kernel table (contract and packed layouts in kernels.h).
 *
 * How: the classic register-tiled product. B arrives packed in 16-column panels (once, at model
 * load, or per attention head); A is copied per 12-row tile and depth chunk into a small
 * k-major buffer so that each step broadcasts 12 consecutive values. A tile is 12 rows x 32
 * columns (two panels) held in 24 zmm accumulators: per step of k, two panel loads, 12
 * broadcasts and 24 FMAs (float) or 24 vpdpbusd over 4 k at once (int8). Columns are walked in
 * blocks of about 512 KiB of packed B, so the block stays in L2 while every row tile passes
 * over it; depth is chunked (256 floats, 1024 bytes) so that the A tile stays in L1. Partial
 * sums of earlier chunks wait in C (int32 bits for the int8 product) and the epilogue (scale,
 * bias, GELU; for int8 the two scales) runs once on the last chunk. Tails of rows are computed
 * on zero-padded rows and not stored; tails of columns use masked loads and stores.
 *
 * The int8 product: vpdpbusd multiplies unsigned by signed bytes, so activations are fed as
 * a + 128 (a xor 0x80 at the copy) and 128 * column sum is subtracted at the end; every sum is
 * exact in int32 (|sum| <= 255 * 127 * k), so the result equals the reference bit for bit
 * before the float epilogue.
 *
 * Why: this is where the encoder spends about 90% of its time; OpenBLAS 0.3.21 (Debian 12)
 * does not recognize recent Xeons and falls back to SSE3 kernels, and no BLAS multiplies int8.
 * The file is compiled for baseline x86-64; each function carries its own target attribute
 * and is only reached through embed_kernels_best()'s CPU check.
 *
 * Threading: pure functions of their arguments; the small copy buffers are on the stack.
 */
#include <immintrin.h>
#include <string.h>

#include "embed/kernels.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

#define MR 12                      /* rows per register tile */
#define F32_KC 256                 /* depth per copied A chunk (floats) */
#define I8_KC 1024                 /* depth per copied A chunk (bytes) */
_Static_assert(EMBED_M_BLOCK % MR == 0, "whole tiles per row block");

static __mmask16 cols_mask(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/* erf as in kernels_avx2.c (kernels.h) on 16 lanes. */
EMBED_DEFINE_ERF(erf16, INLINE, __m512, _mm512)

/* v + bias, then GELU when asked; bias may be NULL; lanes outside mask are don't-care. */
INLINE __m512 finish(__m512 v, const float *bias, __mmask16 mask, bool gelu)
{
    if (bias != NULL)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias));
    if (gelu) {
        __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
        v = _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)),
                          _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    return v;
}

/* ---- float ------------------------------------------------------------------------------- */

#define F32_ROW(r)                                                                              \
    do {                                                                                        \
        __m512 x = _mm512_set1_ps(a[(r) * a_row]);                                              \
        c##r##a = _mm512_fmadd_ps(x, b0, c##r##a);                                              \
        if (np == 2)                                                                            \
            c##r##b = _mm512_fmadd_ps(x, b1, c##r##b);                                          \
    } while (0)
#define F32_OUT(r) (acc[2 * (r)] = c##r##a, acc[2 * (r) + 1] = c##r##b)

/* Sums of a 12 x (16 * np) tile over one depth chunk into acc (24 vectors). Row r's value at
 * depth kk is ap[r * a_row + kk * a_depth]: the packed copy (1, MR) or A itself (lda, 1). */
INLINE void f32_tile(const int np, size_t kc, const float *ap, size_t a_row, size_t a_depth,
                     const float *bp0, const float *bp1, __m512 *acc)
{
    __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m512 c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    __m512 c6a = c0a, c6b = c0a, c7a = c0a, c7b = c0a, c8a = c0a, c8b = c0a;
    __m512 c9a = c0a, c9b = c0a, c10a = c0a, c10b = c0a, c11a = c0a, c11b = c0a;

    for (size_t kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_loadu_ps(bp0 + kk * 16);
        __m512 b1 = np == 2 ? _mm512_loadu_ps(bp1 + kk * 16) : b0;
        const float *a = ap + kk * a_depth;

        F32_ROW(0);
        F32_ROW(1);
        F32_ROW(2);
        F32_ROW(3);
        F32_ROW(4);
        F32_ROW(5);
        F32_ROW(6);
        F32_ROW(7);
        F32_ROW(8);
        F32_ROW(9);
        F32_ROW(10);
        F32_ROW(11);
    }
    F32_OUT(0), F32_OUT(1), F32_OUT(2), F32_OUT(3), F32_OUT(4), F32_OUT(5);
    F32_OUT(6), F32_OUT(7), F32_OUT(8), F32_OUT(9), F32_OUT(10), F32_OUT(11);
}

/* f32_tile for 12 full rows and two panels, broadcasting straight from A's rows (no copy). */
static TARGET void f32_tile_direct(size_t kc, const float *a0, size_t lda, const float *bp0,
                                   const float *bp1, __m512 *acc)
{
    f32_tile(2, kc, a0, lda, 1, bp0, bp1, acc);
}

static TARGET void f32_tile1(size_t kc, const float *ap, const float *bp0, __m512 *acc)
{
    f32_tile(1, kc, ap, 1, MR, bp0, bp0, acc);
}

static TARGET void f32_tile2(size_t kc, const float *ap, const float *bp0, const float *bp1,
                             __m512 *acc)
{
    f32_tile(2, kc, ap, 1, MR, bp0, bp1, acc);
}

static TARGET void gemm_f32_block(const struct embed_gemm_f32 *g)
{
    float ap[F32_KC * MR] __attribute__((aligned(64)));
    __m512 acc[2 * MR];
    size_t nb = embed_col_block(g->k < F32_KC ? g->k : F32_KC, sizeof(float));

    for (size_t n0 = 0; n0 < g->n; n0 += nb) {
        size_t n1 = g->n - n0 < nb ? g->n : n0 + nb;

        for (size_t k0 = 0; k0 < g->k; k0 += F32_KC) {
            size_t kc = g->k - k0 < F32_KC ? g->k - k0 : F32_KC;
            bool first = k0 == 0;
            bool last = k0 + kc == g->k;

            for (size_t i0 = 0; i0 < g->m; i0 += MR) {
                size_t rows = g->m - i0 < MR ? g->m - i0 : MR;

                /* full tiles broadcast straight from A; a tail of rows (or a lone panel at the
                 * end of the block) reads the zero-padded copy */
                bool direct = rows == MR;
                bool copy = !direct || (n1 - n0) % 32 != 0;

                if (copy)
                    embed_pack_a_f32(ap, g->a + i0 * g->lda + k0, g->lda, rows, MR, kc);
                for (size_t j0 = n0; j0 < n1; j0 += 32) {
                    const float *bp = g->b + j0 * g->k + k0 * 16;
                    size_t nj = n1 - j0 < 32 ? n1 - j0 : 32;
                    int np = nj > 16 ? 2 : 1;
                    __mmask16 m0 = cols_mask(nj);
                    __mmask16 m1 = cols_mask(nj > 16 ? nj - 16 : 0);
                    __m512 scale = _mm512_set1_ps(g->scale);

                    if (np == 2 && direct)
                        f32_tile_direct(kc, g->a + i0 * g->lda + k0, g->lda, bp, bp + 16 * g->k,
                                        acc);
                    else if (np == 2)
                        f32_tile2(kc, ap, bp, bp + 16 * g->k, acc);
                    else
                        f32_tile1(kc, ap, bp, acc);
                    for (size_t r = 0; r < rows; r++) {
                        float *c = g->c + (i0 + r) * g->ldc + j0;
                        __m512 v0 = acc[2 * r];
                        __m512 v1 = acc[2 * r + 1];

                        if (!first) {
                            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
                            if (np == 2)
                                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c + 16));
                        }
                        if (last) {
                            const float *bias = g->bias != NULL ? g->bias + j0 : NULL;
                            v0 = finish(_mm512_mul_ps(v0, scale), bias, m0, g->gelu);
                            if (np == 2)
                                v1 = finish(_mm512_mul_ps(v1, scale),
                                            bias != NULL ? bias + 16 : NULL, m1, g->gelu);
                        }
                        _mm512_mask_storeu_ps(c, m0, v0);
                        if (np == 2)
                            _mm512_mask_storeu_ps(c + 16, m1, v1);
                    }
                }
            }
        }
    }
}

void embed_gemm_f32_avx512(const struct embed_gemm_f32 *g)
{
    embed_gemm_f32_by_rows(g, gemm_f32_block);
}

/* ---- int8 -------------------------------------------------------------------------------- */

#define I8_ROW(r)                                                                               \
    do {                                                                                        \
        __m512i x = _mm512_set1_epi32(a[r]);                                                    \
        c##r##a = _mm512_dpbusd_epi32(c##r##a, x, b0);                                          \
        if (np == 2)                                                                            \
            c##r##b = _mm512_dpbusd_epi32(c##r##b, x, b1);                                      \
    } while (0)

INLINE void i8_tile(const int np, size_t n_groups, const int32_t *ap, const int8_t *bp0,
                    const int8_t *bp1, __m512i *acc)
{
    __m512i c0a = _mm512_setzero_si512(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m512i c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    __m512i c6a = c0a, c6b = c0a, c7a = c0a, c7b = c0a, c8a = c0a, c8b = c0a;
    __m512i c9a = c0a, c9b = c0a, c10a = c0a, c10b = c0a, c11a = c0a, c11b = c0a;

    for (size_t grp = 0; grp < n_groups; grp++) {
        __m512i b0 = _mm512_loadu_si512(bp0 + grp * 64);
        __m512i b1 = np == 2 ? _mm512_loadu_si512(bp1 + grp * 64) : b0;
        const int32_t *a = ap + grp * MR;

        I8_ROW(0);
        I8_ROW(1);
        I8_ROW(2);
        I8_ROW(3);
        I8_ROW(4);
        I8_ROW(5);
        I8_ROW(6);
        I8_ROW(7);
        I8_ROW(8);
        I8_ROW(9);
        I8_ROW(10);
        I8_ROW(11);
    }
    F32_OUT(0), F32_OUT(1), F32_OUT(2), F32_OUT(3), F32_OUT(4), F32_OUT(5);
    F32_OUT(6), F32_OUT(7), F32_OUT(8), F32_OUT(9), F32_OUT(10), F32_OUT(11);
}

static TARGET void i8_tile1(size_t n_groups, const int32_t *ap, const int8_t *bp0, __m512i *acc)
{
    i8_tile(1, n_groups, ap, bp0, bp0, acc);
}

static TARGET void i8_tile2(size_t n_groups, const int32_t *ap, const int8_t *bp0,
                            const int8_t *bp1, __m512i *acc)
{
    i8_tile(2, n_groups, ap, bp0, bp1, acc);
}

/* The float result of one 16-column vector of int32 sums (already corrected). */
INLINE __m512 i8_finish(__m512i sum, float a_scale, const float *b_scale, const float *bias,
                        __mmask16 mask, bool gelu)
{
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(a_scale));
    v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, b_scale));
    return finish(v, bias, mask, gelu);
}

static TARGET void gemm_i8_block(const struct embed_gemm_i8 *g)
{
    int32_t ap[I8_KC / 4 * MR] __attribute__((aligned(64)));
    __m512i acc[2 * MR];
    size_t nb = embed_col_block(g->kp < I8_KC ? g->kp : I8_KC, 1);

    for (size_t n0 = 0; n0 < g->n; n0 += nb) {
        size_t n1 = g->n - n0 < nb ? g->n : n0 + nb;

        for (size_t k0 = 0; k0 < g->kp; k0 += I8_KC) {
            size_t kc = g->kp - k0 < I8_KC ? g->kp - k0 : I8_KC;
            bool first = k0 == 0;
            bool last = k0 + kc == g->kp;

            for (size_t i0 = 0; i0 < g->m; i0 += MR) {
                size_t rows = g->m - i0 < MR ? g->m - i0 : MR;

                /* rows past m are zeros, i.e. 0x80 once made unsigned; they are not stored */
                embed_pack_a_i8(ap, g->a + i0 * g->lda + k0, g->lda, rows, MR, kc, 0x80808080u);
                for (size_t j0 = n0; j0 < n1; j0 += 32) {
                    const int8_t *bp = g->b + j0 * g->kp + k0 * 16;
                    size_t nj = n1 - j0 < 32 ? n1 - j0 : 32;
                    int np = nj > 16 ? 2 : 1;
                    __mmask16 m0 = cols_mask(nj);
                    __mmask16 m1 = cols_mask(nj > 16 ? nj - 16 : 0);

                    if (np == 2)
                        i8_tile2(kc / 4, ap, bp, bp + 16 * g->kp, acc);
                    else
                        i8_tile1(kc / 4, ap, bp, acc);
                    for (size_t r = 0; r < rows; r++) {
                        float *c = g->c + (i0 + r) * g->ldc + j0;
                        __m512i v0 = acc[2 * r];
                        __m512i v1 = acc[2 * r + 1];

                        if (!first) {
                            v0 = _mm512_add_epi32(v0, _mm512_maskz_loadu_epi32(m0, c));
                            if (np == 2)
                                v1 = _mm512_add_epi32(v1, _mm512_maskz_loadu_epi32(m1, c + 16));
                        }
                        if (!last) {
                            _mm512_mask_storeu_epi32(c, m0, v0);
                            if (np == 2)
                                _mm512_mask_storeu_epi32(c + 16, m1, v1);
                            continue;
                        }
                        {
                            float s = g->a_scale[i0 + r];
                            const float *bias = g->bias != NULL ? g->bias + j0 : NULL;
                            __m512i corr = _mm512_slli_epi32(
                                _mm512_maskz_loadu_epi32(m0, g->b_sum + j0), 7);

                            v0 = _mm512_sub_epi32(v0, corr);
                            _mm512_mask_storeu_ps(c, m0,
                                                  i8_finish(v0, s, g->b_scale + j0, bias, m0,
                                                            g->gelu));
                            if (np == 2) {
                                corr = _mm512_slli_epi32(
                                    _mm512_maskz_loadu_epi32(m1, g->b_sum + j0 + 16), 7);
                                v1 = _mm512_sub_epi32(v1, corr);
                                _mm512_mask_storeu_ps(
                                    c + 16, m1,
                                    i8_finish(v1, s, g->b_scale + j0 + 16,
                                              bias != NULL ? bias + 16 : NULL, m1, g->gelu));
                            }
                        }
                    }
                }
            }
        }
    }
}

void embed_gemm_i8_avx512(const struct embed_gemm_i8 *g)
{
    embed_gemm_i8_by_rows(g, gemm_i8_block);
}
