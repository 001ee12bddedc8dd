/*
 * vec_kernels_ref.c - the scalar reference distance kernels and the run-time dispatch.
 *
 * How: plain loops in the order a reader expects, accumulating in float (as the fast kernels do,
 * so that tests compare like with like); binary16 conversions by bit manipulation, handling
 * subnormals, infinities and NaN. vec_kernels_best() asks the CPU (__builtin_cpu_supports) for
 * AVX2 and FMA and returns the AVX2 table when both are there.
 *
 * Why: the reference is the truth that tests/unit/test_vec_kernels.c checks every fast kernel
 * against, and the fallback on CPUs without AVX2.
 *
 * Threading: everything here is pure and reentrant; the dispatch only reads CPU flags.
 */
#include "index/vec_kernels.h"

#include <stdlib.h>
#include <string.h>

static float ref_l2_f32(const float *a, const float *b, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        acc += d * d;
    }
    return acc;
}

static float ref_dot_f32(const float *a, const float *b, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

static float ref_l2_f16(const float *q, const uint16_t *x, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = q[i] - vec_f16_to_f32(x[i]);
        acc += d * d;
    }
    return acc;
}

static float ref_dot_f16(const float *q, const uint16_t *x, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += q[i] * vec_f16_to_f32(x[i]);
    return acc;
}

static float ref_l2_u8(const float *r, const float *scale, const uint8_t *code, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = r[i] - scale[i] * (float)code[i];
        acc += d * d;
    }
    return acc;
}

static float ref_dot_u8(const float *w, const uint8_t *code, size_t n)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += w[i] * (float)code[i];
    return acc;
}

/* The four-at-once kernels are, by definition, four calls of the single ones. */
static void ref_l2_f32_x4(const float *a, const float *const *x, size_t n, float *out)
{
    for (int j = 0; j < 4; j++)
        out[j] = ref_l2_f32(a, x[j], n);
}

static void ref_dot_f32_x4(const float *a, const float *const *x, size_t n, float *out)
{
    for (int j = 0; j < 4; j++)
        out[j] = ref_dot_f32(a, x[j], n);
}

static void ref_l2_u8_x4(const float *r, const float *scale, const uint8_t *const *code, size_t n,
                         float *out)
{
    for (int j = 0; j < 4; j++)
        out[j] = ref_l2_u8(r, scale, code[j], n);
}

static void ref_dot_u8_x4(const float *w, const uint8_t *const *code, size_t n, float *out)
{
    for (int j = 0; j < 4; j++)
        out[j] = ref_dot_u8(w, code[j], n);
}

const struct vec_kernels vec_kernels_ref = {
    "ref",         ref_l2_f32,     ref_dot_f32,   ref_l2_f16,   ref_dot_f16,   ref_l2_u8,
    ref_dot_u8,    ref_l2_f32_x4,  ref_dot_f32_x4, ref_l2_u8_x4, ref_dot_u8_x4,
};

int vec_cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const struct vec_kernels *vec_kernels_best(void)
{
    const char *force = getenv("FRUGAL_VEC_KERNELS");

    if (force != NULL && strcmp(force, "ref") == 0)
        return &vec_kernels_ref;
    return vec_cpu_has_avx2() ? &vec_kernels_avx2 : &vec_kernels_ref;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

float vec_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;

    if (exp == 0x1f) /* inf or NaN */
        return bits_f32(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return bits_f32(sign);
        /* subnormal: mant * 2^-24 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign != 0 ? -v : v;
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t vec_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t mant = u & 0x7fffffu;
    int e;

    if (exp == 0xff) /* inf or NaN (keep NaN a NaN) */
        return (uint16_t)(sign | 0x7c00u | (mant != 0 ? 0x200u : 0u));
    e = (int)exp - 127 + 15;
    if (e >= 0x1f)
        return (uint16_t)(sign | 0x7c00u); /* overflow to infinity */
    if (e <= 0) {
        /* subnormal or zero in binary16 */
        if (e < -10)
            return sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u) != 0))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u) != 0))
        half++; /* may carry into the exponent, up to infinity: correct rounding */
    return (uint16_t)(sign | half);
}
