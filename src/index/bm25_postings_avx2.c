/*
 * bm25_postings_avx2.c - AVX2 decoding of the BM25 postings (compiled with -mavx2; called only
 * when bm25_postings_simd() says the CPU has it). Same results as bm25_unpack_ref and
 * bm25_undelta_ref, which tests/unit/test_bm25.c checks on random data.
 *
 * Unpacking: eight values per step, as two 4-lane 64-bit gathers of the 8 bytes holding each
 * value, a per-lane variable shift and a mask, then the low halves packed into one vector.
 * Delta decoding: an 8-lane inclusive prefix sum (two in-lane shifts, then the low lane's total
 * added to the high lane) plus the running carry. The tail (n % 8) goes through the reference.
 *
 * Threading: pure functions.
 */
#include <immintrin.h>

#include "index/bm25_postings.h"

void bm25_unpack_avx2(const uint8_t *in, unsigned bits, size_t n, uint32_t *out)
{
    if (bits == 0 || n < 8) {
        bm25_unpack_ref(in, bits, n, out);
        return;
    }
    const __m256i mask = _mm256_set1_epi64x(bits == 32 ? 0xffffffffll : ((1ll << bits) - 1));
    const __m256i seven = _mm256_set1_epi64x(7);
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32_t b0 = (uint32_t)(i * bits);
        __m128i bitpos_lo = _mm_setr_epi32((int)b0, (int)(b0 + bits), (int)(b0 + 2 * bits),
                                           (int)(b0 + 3 * bits));
        __m128i bitpos_hi = _mm_add_epi32(bitpos_lo, _mm_set1_epi32((int)(4 * bits)));
        __m256i lo = _mm256_i32gather_epi64((const long long *)(const void *)in,
                                            _mm_srli_epi32(bitpos_lo, 3), 1);
        __m256i hi = _mm256_i32gather_epi64((const long long *)(const void *)in,
                                            _mm_srli_epi32(bitpos_hi, 3), 1);
        lo = _mm256_and_si256(
            _mm256_srlv_epi64(lo, _mm256_and_si256(_mm256_cvtepu32_epi64(bitpos_lo), seven)),
            mask);
        hi = _mm256_and_si256(
            _mm256_srlv_epi64(hi, _mm256_and_si256(_mm256_cvtepu32_epi64(bitpos_hi), seven)),
            mask);
        __m128i a = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(lo, pick));
        __m128i b = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(hi, pick));
        _mm256_storeu_si256((__m256i *)(void *)(out + i), _mm256_set_m128i(b, a));
    }
    if (i < n) {
        /* the tail: values i.. start at bit i * bits, a whole number of bytes when i % 8 == 0 */
        bm25_unpack_ref(in + i * bits / 8, bits, n - i, out + i);
    }
}

void bm25_undelta_avx2(uint32_t prev, uint32_t *vals, size_t n)
{
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i last = _mm256_set1_epi32(7);
    const __m256i third = _mm256_set1_epi32(3);
    __m256i carry = _mm256_set1_epi32((int)prev);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(vals + i)),
                                     one);
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
        __m256i low_total = _mm256_permutevar8x32_epi32(x, third);
        x = _mm256_add_epi32(x, _mm256_blend_epi32(_mm256_setzero_si256(), low_total, 0xf0));
        x = _mm256_add_epi32(x, carry);
        _mm256_storeu_si256((__m256i *)(void *)(vals + i), x);
        carry = _mm256_permutevar8x32_epi32(x, last);
    }
    if (i < n)
        bm25_undelta_ref(i > 0 ? vals[i - 1] : prev, vals + i, n - i);
}
