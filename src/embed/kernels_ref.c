/*
 * kernels_ref.c - the scalar reference kernels of the BERT encoder (contract in kernels.h), the
 * packing of matrix-product operands, and the run-time choice of a kernel table.
 *
 * How: plain loops in the order the PyTorch operators compute them; LayerNorm accumulates its
 * mean and variance in double (two passes) and GELU calls libm's erff, so this file is the
 * numerical truth the fast kernels are tested against. The reference matrix products walk the
 * same packed panels as the fast ones, one output row at a time against a 16-column panel, each
 * sum accumulated over k in order (which compilers vectorize over the 16 columns); the int8
 * product sums exactly in int32. Packing is layout only, shared by every table, and so is the
 * walk over row blocks of the fast products (embed_gemm_*_by_rows).
 *
 * Why: a plain version keeps every fast kernel honest and runs on any x86-64 or other CPU.
 *
 * Threading: all kernels are pure; the dispatch reads the CPU flags and the environment on each
 * call and has no state.
 */
#include "embed/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void ref_layernorm(float *x, const float *residual, size_t n_rows, size_t dim,
                          const float *gamma, const float *beta, float eps)
{
    for (size_t r = 0; r < n_rows; r++) {
        float *row = x + r * dim;
        double mean = 0;
        double var = 0;
        float inv;

        if (residual != NULL) {
            for (size_t i = 0; i < dim; i++)
                row[i] += residual[r * dim + i];
        }
        for (size_t i = 0; i < dim; i++)
            mean += row[i];
        mean /= (double)dim;
        for (size_t i = 0; i < dim; i++)
            var += ((double)row[i] - mean) * ((double)row[i] - mean);
        var /= (double)dim;
        inv = (float)(1.0 / sqrt(var + (double)eps));
        for (size_t i = 0; i < dim; i++)
            row[i] = ((row[i] - (float)mean) * inv) * gamma[i] + beta[i];
    }
}

static void ref_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = embed_gelu1(x[i]);
}

static void ref_softmax(float *x, size_t n_rows, size_t n_cols, size_t ld)
{
    for (size_t r = 0; r < n_rows; r++) {
        float *row = x + r * ld;
        float max = row[0];
        float sum = 0;
        float inv;

        for (size_t i = 1; i < n_cols; i++)
            max = row[i] > max ? row[i] : max;
        for (size_t i = 0; i < n_cols; i++) {
            row[i] = expf(row[i] - max);
            sum += row[i];
        }
        inv = 1.0f / sum;
        for (size_t i = 0; i < n_cols; i++)
            row[i] *= inv;
    }
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    uint32_t bits;
    float f;

    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24 */
        f = (float)mant * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7F800000u | (mant << 13);
    else
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    memcpy(&f, &bits, 4);
    return f;
}

static void ref_f16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = half_to_float(src[i]);
}

static void ref_bf16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = embed_bf16_1(src[i]);
}

static void ref_gemm_f32(const struct embed_gemm_f32 *g)
{
    for (size_t j0 = 0; j0 < g->n; j0 += EMBED_NR) {
        const float *panel = g->b + j0 * g->k;
        size_t nj = g->n - j0 < EMBED_NR ? g->n - j0 : EMBED_NR;

        for (size_t i = 0; i < g->m; i++) {
            const float *a = g->a + i * g->lda;
            float *c = g->c + i * g->ldc + j0;
            float acc[EMBED_NR] = {0};

            for (size_t kk = 0; kk < g->k; kk++) {
                for (size_t j = 0; j < EMBED_NR; j++)
                    acc[j] += a[kk] * panel[kk * EMBED_NR + j];
            }
            for (size_t j = 0; j < nj; j++) {
                float v = acc[j] * g->scale;

                if (g->bias != NULL)
                    v += g->bias[j0 + j];
                c[j] = g->gelu ? embed_gelu1(v) : v;
            }
        }
    }
}

static void ref_gemm_i8(const struct embed_gemm_i8 *g)
{
    for (size_t j0 = 0; j0 < g->n; j0 += EMBED_NR) {
        const int8_t *panel = g->b + j0 * g->kp;
        size_t nj = g->n - j0 < EMBED_NR ? g->n - j0 : EMBED_NR;

        for (size_t i = 0; i < g->m; i++) {
            const int8_t *a = g->a + i * g->lda;
            float *c = g->c + i * g->ldc + j0;
            int32_t acc[EMBED_NR] = {0};

            for (size_t grp = 0; grp < g->kp / 4; grp++) {
                for (size_t j = 0; j < EMBED_NR; j++) {
                    const int8_t *w = panel + (grp * EMBED_NR + j) * 4;
                    for (size_t t = 0; t < 4; t++)
                        acc[j] += (int32_t)a[grp * 4 + t] * (int32_t)w[t];
                }
            }
            for (size_t j = 0; j < nj; j++) {
                float v = (float)acc[j] * g->a_scale[i] * g->b_scale[j0 + j];

                if (g->bias != NULL)
                    v += g->bias[j0 + j];
                c[j] = g->gelu ? embed_gelu1(v) : v;
            }
        }
    }
}

static void ref_quantize(const float *x, size_t n_rows, size_t k, size_t ldx, int8_t *q,
                         size_t ldq, float *scales)
{
    for (size_t r = 0; r < n_rows; r++) {
        const float *row = x + r * ldx;
        int8_t *out = q + r * ldq;
        float amax = 0;
        float s;
        float inv;

        for (size_t c = 0; c < k; c++)
            amax = fabsf(row[c]) > amax ? fabsf(row[c]) : amax;
        s = amax > 0 ? amax / 127.0f : 1.0f;
        inv = 1.0f / s;
        for (size_t c = 0; c < k; c++)
            out[c] = (int8_t)lrintf(row[c] * inv);
        memset(out + k, 0, ldq - k);
        scales[r] = s;
    }
}

/* ---- Row blocks of the fast products ------------------------------------------------------- */

void embed_gemm_f32_by_rows(const struct embed_gemm_f32 *g,
                            void (*block)(const struct embed_gemm_f32 *g))
{
    for (size_t i0 = 0; i0 < g->m; i0 += EMBED_M_BLOCK) {
        struct embed_gemm_f32 sub = *g;

        sub.m = g->m - i0 < EMBED_M_BLOCK ? g->m - i0 : EMBED_M_BLOCK;
        sub.a += i0 * g->lda;
        sub.c += i0 * g->ldc;
        block(&sub);
    }
}

void embed_gemm_i8_by_rows(const struct embed_gemm_i8 *g,
                           void (*block)(const struct embed_gemm_i8 *g))
{
    for (size_t i0 = 0; i0 < g->m; i0 += EMBED_M_BLOCK) {
        struct embed_gemm_i8 sub = *g;

        sub.m = g->m - i0 < EMBED_M_BLOCK ? g->m - i0 : EMBED_M_BLOCK;
        sub.a += i0 * g->lda;
        sub.a_scale += i0;
        sub.c += i0 * g->ldc;
        block(&sub);
    }
}

/* ---- Packing ------------------------------------------------------------------------------ */

size_t embed_packed_f32_size(size_t n, size_t k)
{
    return (n + EMBED_NR - 1) / EMBED_NR * EMBED_NR * k;
}

void embed_pack_f32_nk(const float *w, size_t n, size_t k, size_t ldw, float *out)
{
    for (size_t j0 = 0; j0 < n; j0 += EMBED_NR) {
        float *panel = out + j0 * k;

        for (size_t j = 0; j < EMBED_NR; j++) {
            const float *row = j0 + j < n ? w + (j0 + j) * ldw : NULL;
            for (size_t kk = 0; kk < k; kk++)
                panel[kk * EMBED_NR + j] = row != NULL ? row[kk] : 0.0f;
        }
    }
}

void embed_pack_f32_kn(const float *b, size_t k, size_t n, size_t ldb, float *out)
{
    for (size_t j0 = 0; j0 < n; j0 += EMBED_NR) {
        float *panel = out + j0 * k;
        size_t nj = n - j0 < EMBED_NR ? n - j0 : EMBED_NR;

        for (size_t kk = 0; kk < k; kk++) {
            memcpy(panel + kk * EMBED_NR, b + kk * ldb + j0, nj * sizeof(float));
            for (size_t j = nj; j < EMBED_NR; j++)
                panel[kk * EMBED_NR + j] = 0.0f;
        }
    }
}

size_t embed_packed_i8_size(size_t n, size_t k)
{
    return (n + EMBED_NR - 1) / EMBED_NR * EMBED_NR * ((k + 3) / 4 * 4);
}

void embed_pack_i8(const int8_t *q, size_t n, size_t k, int8_t *out, int32_t *sums)
{
    size_t kp = (k + 3) / 4 * 4;

    for (size_t j0 = 0; j0 < n; j0 += EMBED_NR) {
        int8_t *panel = out + j0 * kp;

        for (size_t j = 0; j < EMBED_NR; j++) {
            const int8_t *row = j0 + j < n ? q + (j0 + j) * k : NULL;
            int32_t sum = 0;

            for (size_t kk = 0; kk < kp; kk++) {
                int8_t v = row != NULL && kk < k ? row[kk] : 0;
                panel[((kk / 4) * EMBED_NR + j) * 4 + kk % 4] = v;
                sum += v;
            }
            if (row != NULL)
                sums[j0 + j] = sum;
        }
    }
}

static const struct embed_kernels ref_kernels = {
    .name = "ref",
    .layernorm = ref_layernorm,
    .gelu = ref_gelu,
    .softmax = ref_softmax,
    .f16_to_f32 = ref_f16_to_f32,
    .bf16_to_f32 = ref_bf16_to_f32,
    .gemm_f32 = ref_gemm_f32,
    .gemm_i8 = ref_gemm_i8,
    .quantize = ref_quantize,
};

const struct embed_kernels *embed_kernels_ref(void) { return &ref_kernels; }

const struct embed_kernels *embed_kernels_best(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const char *force = getenv("FRUGAL_KERNELS");

    if (force != NULL && strcmp(force, "ref") == 0)
        return &ref_kernels;
    __builtin_cpu_init();
    /* Every CPU with AVX2 and FMA also has F16C (Haswell, Zen); clang's builtin cannot test
     * "f16c" by name. */
    if (force == NULL || strcmp(force, "avx2") != 0) {
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vnni"))
            return embed_kernels_avx512();
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return embed_kernels_avx2();
#endif
    return &ref_kernels;
}
