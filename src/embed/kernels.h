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

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EMBED_NR 16 /* columns per packed panel */

/* ---- What the kernel tables share (the blocking of the products, the erf, scalar tails) ---- */

/* The fast products walk C in blocks of EMBED_M_BLOCK rows (C's block and A's chunk stay in L2
 * next to B's block) and B in blocks of columns of about EMBED_B_BLOCK_BYTES packed bytes. */
#define EMBED_M_BLOCK 192                /* a multiple of every register tile's rows */
#define EMBED_B_BLOCK_BYTES (512u << 10)

/* Columns per block of packed B for depth k of elem-byte values: a multiple of 32 in [32, 512]. */
static inline size_t embed_col_block(size_t k, size_t elem)
{
    size_t nb = EMBED_B_BLOCK_BYTES / (k * elem + 1) / 32 * 32;
    return nb < 32 ? 32 : nb > 512 ? 512 : nb;
}

/* Copies a row tile of A for a register tile: rows (<= mr) rows of a (row stride lda), kc
 * values each, k-major into ap[kk * mr + r] (so that a tile step reads mr consecutive values),
 * zeros for the rows past `rows`. */
static inline void embed_pack_a_f32(float *ap, const float *a, size_t lda, size_t rows, size_t mr,
                                    size_t kc)
{
    for (size_t r = 0; r < mr; r++) {
        const float *row = a + r * lda;
        for (size_t kk = 0; kk < kc; kk++)
            ap[kk * mr + r] = r < rows ? row[kk] : 0.0f;
    }
}

/* The same for int8 rows, kc bytes (a multiple of 4) as kc / 4 groups of 4 in one int32 each:
 * ap[grp * mr + r], xor flip (0x80808080 turns signed bytes into a + 128 for vpdpbusd; 0 keeps
 * them); missing rows are zero bytes before the flip. */
static inline void embed_pack_a_i8(int32_t *ap, const int8_t *a, size_t lda, size_t rows,
                                   size_t mr, size_t kc, uint32_t flip)
{
    for (size_t r = 0; r < mr; r++) {
        const int8_t *row = a + r * lda;
        for (size_t grp = 0; grp < kc / 4; grp++) {
            uint32_t v = 0;
            if (r < rows)
                memcpy(&v, row + grp * 4, 4);
            ap[grp * mr + r] = (int32_t)(v ^ flip);
        }
    }
}

/* erf for the vector kernels: the rational approximation Eigen and TensorFlow use for float,
 * erf(x) = x P(x^2) / Q(x^2) on x clamped to [-EMBED_ERF_CLAMP, EMBED_ERF_CLAMP] (a few ulp);
 * coefficients from the highest degree down, as initializers of a static const float array. */
#define EMBED_ERF_CLAMP 4.0f
#define EMBED_ERF_P                                                                             \
    {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f,                    \
     -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,                   \
     -1.60960333262415e-02f}
#define EMBED_ERF_Q                                                                             \
    {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,                   \
     -7.37332916720468e-03f, -1.42647390514189e-02f}

/* Defines `qual vec name(vec x)`: that erf on one vector, with the intrinsics whose names start
 * with pfx (_mm256 for __m256, _mm512 for __m512), so that every width runs the same sequence
 * of FMAs (Horner's rule, unrolled: the coefficients become constants). */
#define EMBED_DEFINE_ERF(name, qual, vec, pfx)                                                 \
    qual vec name(vec x)                                                                        \
    {                                                                                           \
        static const float pc[] = EMBED_ERF_P;                                                  \
        static const float qc[] = EMBED_ERF_Q;                                                  \
        vec x2;                                                                                 \
        vec p;                                                                                  \
        vec q;                                                                                  \
                                                                                                \
        x = pfx##_min_ps(x, pfx##_set1_ps(EMBED_ERF_CLAMP));                                    \
        x = pfx##_max_ps(x, pfx##_set1_ps(-EMBED_ERF_CLAMP));                                   \
        x2 = pfx##_mul_ps(x, x);                                                                \
        p = pfx##_set1_ps(pc[0]);                                                               \
        _Pragma("GCC unroll 8") for (size_t i = 1; i < sizeof(pc) / sizeof(pc[0]); i++)         \
            p = pfx##_fmadd_ps(p, x2, pfx##_set1_ps(pc[i]));                                    \
        p = pfx##_mul_ps(p, x);                                                                 \
        q = pfx##_set1_ps(qc[0]);                                                               \
        _Pragma("GCC unroll 8") for (size_t i = 1; i < sizeof(qc) / sizeof(qc[0]); i++)         \
            q = pfx##_fmadd_ps(q, x2, pfx##_set1_ps(qc[i]));                                    \
        return pfx##_div_ps(p, q);                                                              \
    }

/* GELU of one value with libm's erff: the reference, and the scalar tails of the fast kernels. */
static inline float embed_gelu1(float x)
{
    return x * 0.5f * (1.0f + erff(x * 0.70710678118654752f));
}

/* One bfloat16 value to float (the top half of its bits). */
static inline float embed_bf16_1(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

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

/* Runs block (one of a table's products) over g's rows in blocks of EMBED_M_BLOCK. */
void embed_gemm_f32_by_rows(const struct embed_gemm_f32 *g,
                            void (*block)(const struct embed_gemm_f32 *g));
void embed_gemm_i8_by_rows(const struct embed_gemm_i8 *g,
                           void (*block)(const struct embed_gemm_i8 *g));

/* The AVX-512 matrix products (kernels_avx512.c), for the AVX-512 table. */
void embed_gemm_f32_avx512(const struct embed_gemm_f32 *g);
void embed_gemm_i8_avx512(const struct embed_gemm_i8 *g);

#endif
