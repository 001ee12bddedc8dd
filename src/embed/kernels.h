/*
 * kernels.h - the encoder's kernels: matrix products on pre-packed operands, activation
 * quantization and the element-wise steps, as a scalar reference, an AVX2 version and an
 * AVX-512 version of the matrix products.
 *
 * Contract: every kernel of a fast table computes what the same kernel of embed_kernels_ref()
 * computes, to float rounding (tests/unit/test_embed_kernels.c checks them on random inputs:
 * GELU within 1e-6, the float products within 1e-5 relative, quantization and the int32 sums of
 * the int8 product exactly). embed_kernels_best() picks AVX-512 when the CPU has AVX-512 F, BW,
 * VL, DQ and VNNI, else AVX2 when it has AVX2 and FMA (__builtin_cpu_supports), else the
 * reference; the environment variable FRUGAL_KERNELS=ref (or =avx2) caps the choice.
 *
 * Packed operands. A matrix product here is C (m, n) = epilogue(A (m, k) B (k, n)) where A is
 * row-major and B was packed once by embed_pack_f32_nk() (from PyTorch's (out, in) weights,
 * i.e. B^T) or embed_pack_f32_kn() (from a row-major (k, n) matrix): panels of EMBED_NR = 16
 * columns, panel p holding B[kk][16p + j] at [p * k * 16 + kk * 16 + j], columns past n zero.
 * The int8 layout (embed_pack_i8) groups 4 consecutive k: panel p holds B[4g + t][16p + j] at
 * [p * kp * 16 + (g * 16 + j) * 4 + t], kp = k rounded up to 4, padding zero; b_sum[j] is
 * column j's sum (the VNNI kernel feeds activations as unsigned bytes, a + 128, and subtracts
 * 128 * b_sum). Activation rows of the int8 product are int8 with kp columns (zeros after k),
 * one float scale per row (embed_kernels.quantize).
 *
 * Threading: kernels are pure functions of their arguments; callers split n over threads
 * (panel pairs: columns in multiples of 32) or rows, and give each thread its own output.
 */
#ifndef FRUGAL_EMBED_KERNELS_H
#define FRUGAL_EMBED_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMBED_NR 16 /* columns per packed panel */

/* C = act(scale * A B + bias) on float operands. */
struct embed_gemm_f32 {
    size_t m;               /* rows of A and C */
    size_t n;               /* columns of C */
    size_t k;               /* depth */
    const float *a;         /* (m, k), row stride lda */
    size_t lda;
    const float *b;         /* packed panels for these n columns (embed_pack_f32_*) */
    const float *bias;      /* (n) or NULL */
    float scale;            /* multiplies A B before the bias */
    bool gelu;              /* exact-erf GELU after the bias */
    float *c;               /* (m, n), row stride ldc */
    size_t ldc;
};

/* C = act((float)(A B) * a_scale[i] * b_scale[j] + bias[j]) on int8 operands, int32 sums. */
struct embed_gemm_i8 {
    size_t m;
    size_t n;
    size_t kp;              /* depth, a multiple of 4 */
    const int8_t *a;        /* (m, kp) quantized activations, row stride lda */
    size_t lda;
    const float *a_scale;   /* (m) */
    const int8_t *b;        /* packed panels (embed_pack_i8) */
    const int32_t *b_sum;   /* (n) column sums */
    const float *b_scale;   /* (n) */
    const float *bias;      /* (n) or NULL */
    bool gelu;
    float *c;
    size_t ldc;
};

struct embed_kernels {
    const char *name; /* "ref", "avx2" or "avx512" */
    /* x = LayerNorm(x + residual) * gamma + beta, row by row. x: (n_rows, dim) row-major;
     * residual: (n_rows, dim) or NULL; gamma, beta: (dim). */
    void (*layernorm)(float *x, const float *residual, size_t n_rows, size_t dim,
                      const float *gamma, const float *beta, float eps);
    /* x = x * 0.5 * (1 + erf(x / sqrt(2))), in place over n values. */
    void (*gelu)(float *x, size_t n);
    /* Softmax of each row of x: (n_rows, n_cols) with row stride ld. */
    void (*softmax)(float *x, size_t n_rows, size_t n_cols, size_t ld);
    /* IEEE half / bfloat16 to float. */
    void (*f16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, size_t n);
    /* The matrix products above. */
    void (*gemm_f32)(const struct embed_gemm_f32 *g);
    void (*gemm_i8)(const struct embed_gemm_i8 *g);
    /* Symmetric per-row quantization: scales[r] = max|x_r| / 127 (1 when the row is zero),
     * q[r][c] = round-to-nearest-even(x[r][c] / scales[r]) for c < k, 0 for k <= c < ldq.
     * x: (n_rows, k) with row stride ldx; q: row stride ldq >= k. */
    void (*quantize)(const float *x, size_t n_rows, size_t k, size_t ldx, int8_t *q, size_t ldq,
                     float *scales);
};

const struct embed_kernels *embed_kernels_ref(void);
const struct embed_kernels *embed_kernels_avx2(void);
const struct embed_kernels *embed_kernels_avx512(void);
const struct embed_kernels *embed_kernels_best(void);

/* Floats embed_pack_f32_* writes for n columns of depth k. */
size_t embed_packed_f32_size(size_t n, size_t k);
/* Packs w (n, k) with row stride ldw (B^T: PyTorch's Linear weight) into out. */
void embed_pack_f32_nk(const float *w, size_t n, size_t k, size_t ldw, float *out);
/* Packs b (k, n) with row stride ldb into out. */
void embed_pack_f32_kn(const float *b, size_t k, size_t n, size_t ldb, float *out);
/* Bytes embed_pack_i8 writes for n columns of depth k. */
size_t embed_packed_i8_size(size_t n, size_t k);
/* Packs q (n, k) int8 rows (B^T) into out and their sums into sums (n). */
void embed_pack_i8(const int8_t *q, size_t n, size_t k, int8_t *out, int32_t *sums);

/* The AVX-512 matrix products (kernels_avx512.c), for the AVX-512 table. */
void embed_gemm_f32_avx512(const struct embed_gemm_f32 *g);
void embed_gemm_i8_avx512(const struct embed_gemm_i8 *g);

#endif
