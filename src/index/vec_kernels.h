/*
 * vec_kernels.h - distance kernels for the vector indexes: squared L2 and inner product between
 * a float32 query and a stored vector in float32, float16 or uint8 (scalar-quantized) form.
 *
 * Contract: vec_kernels_ref (vec_kernels_ref.c) is the truth, written for clarity; the AVX2 +
 * FMA + F16C table (vec_kernels_avx2.c, compiled with those flags) must agree with it up to
 * float rounding of a different summation order. vec_kernels_best() picks the table at run time
 * (__builtin_cpu_supports); callers keep the pointer. Every kernel takes any n >= 0 (no
 * alignment or length-multiple requirement) and never allocates; all are thread-safe.
 *
 * uint8 codes are per-dimension scalar quantization: x[d] ~ lo[d] + scale[d] * code[d]. The
 * kernels work on a query prepared once per search (see hnsw.c):
 *   l2_u8(r, scale, code) = sum_d (r[d] - scale[d] * code[d])^2   with r[d] = q[d] - lo[d]
 *   dot_u8(w, code)       = sum_d w[d] * code[d]                   with w[d] = q[d] * scale[d]
 * so that |q - x|^2 = l2_u8 and q.x = dot_u8 + sum_d q[d] * lo[d].
 *
 * The *_x4 kernels compute the same distance from one query to four stored vectors at once
 * (out[j] for x[j]); they read each query element once for all four and keep eight independent
 * accumulators in flight, which is what the graph search needs: it scores a node's unvisited
 * neighbours in groups of four.
 */
#ifndef FRUGAL_INDEX_VEC_KERNELS_H
#define FRUGAL_INDEX_VEC_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Distance metrics. Distances are "smaller is closer": squared L2 for VEC_METRIC_L2, 1 - q.x for
 * inner product and for cosine (where both sides are normalized to unit length first). */
enum vec_metric { VEC_METRIC_L2 = 0, VEC_METRIC_IP = 1, VEC_METRIC_COS = 2 };
/* How an index stores vectors: float32, IEEE float16, or uint8 per-dimension scalar codes. */
enum vec_storage { VEC_STORE_F32 = 0, VEC_STORE_F16 = 1, VEC_STORE_I8 = 2 };

/* One search result: the caller's id (a chunk id) and its distance to the query. */
struct vec_hit {
    int64_t id;
    float distance;
};

/* A search filter: accept(id, ctx) says whether id may be returned. Called from the searching
 * thread, possibly from several threads at once when searches run in parallel; must not call
 * back into the index. A bitset over ids is one accept() away. */
struct vec_filter {
    bool (*accept)(int64_t id, void *ctx);
    void *ctx; /* borrowed */
};

struct vec_kernels {
    const char *name; /* "ref" or "avx2" */
    float (*l2_f32)(const float *a, const float *b, size_t n);   /* sum (a-b)^2 */
    float (*dot_f32)(const float *a, const float *b, size_t n);  /* sum a*b */
    float (*l2_f16)(const float *q, const uint16_t *x, size_t n);  /* x: IEEE binary16 */
    float (*dot_f16)(const float *q, const uint16_t *x, size_t n);
    float (*l2_u8)(const float *r, const float *scale, const uint8_t *code, size_t n);
    float (*dot_u8)(const float *w, const uint8_t *code, size_t n);
    void (*l2_f32_x4)(const float *a, const float *const *x, size_t n, float *out);  /* x[4], out[4] */
    void (*dot_f32_x4)(const float *a, const float *const *x, size_t n, float *out);
    void (*l2_u8_x4)(const float *r, const float *scale, const uint8_t *const *code, size_t n,
                     float *out);
    void (*dot_u8_x4)(const float *w, const uint8_t *const *code, size_t n, float *out);
};

/* The scalar reference table. */
extern const struct vec_kernels vec_kernels_ref;
/* The AVX2/FMA/F16C table; only call it after vec_cpu_has_avx2() said yes. */
extern const struct vec_kernels vec_kernels_avx2;
/* True when this CPU runs the AVX2 table (AVX2 and FMA; every such CPU has F16C). */
int vec_cpu_has_avx2(void);
/* The fastest table this CPU runs; FRUGAL_VEC_KERNELS=ref in the environment forces the
 * reference (for A/B measurements). Never NULL. */
const struct vec_kernels *vec_kernels_best(void);

/* IEEE binary16 conversions (round to nearest even; exact for f16 -> f32). */
uint16_t vec_f32_to_f16(float f);
float vec_f16_to_f32(uint16_t h);

#endif
