/*
 * bm25_postings.c - the scalar reference codec of the BM25 postings and the run-time choice of
 * the AVX2 version (see bm25_postings.h for the layout).
 *
 * How: unpacking value i loads the 8 bytes that start at byte (i * bits) / 8 and shifts by
 * (i * bits) % 8; since bits <= 32 and the shift < 8, the value lies inside those 64 bits. That
 * one load per value is what the AVX2 version does with gathers, eight values at a time.
 * Why this layout: it is the simplest one that a scalar loop and a SIMD loop read alike, so the
 * reference stays obviously right; the block's per-block maximum impact (bm25.c) lets the query
 * skip most blocks without decoding them at all, which matters more than decoding speed.
 *
 * Threading: pure functions. The dispatch choice is made once (a benign race: every thread
 * computes the same answer and stores it with a relaxed atomic).
 */
#include "index/bm25_postings.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

unsigned bm25_bits_needed(const uint32_t *vals, size_t n)
{
    uint32_t all = 0;
    for (size_t i = 0; i < n; i++)
        all |= vals[i];
    unsigned bits = 0;
    while (bits < 32 && (all >> bits) != 0)
        bits++;
    return bits;
}

size_t bm25_packed_size(size_t n, unsigned bits)
{
    return (n * bits + 7) / 8;
}

void bm25_pack(const uint32_t *vals, size_t n, unsigned bits, uint8_t *out)
{
    if (bits == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = vals[i];
        size_t bit = i * bits;
        size_t byte = bit / 8;
        v <<= bit % 8;
        for (size_t j = 0; v != 0; j++, v >>= 8)
            out[byte + j] |= (uint8_t)(v & 0xff);
    }
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v); /* little endian: x86-64 only (bm25.h) */
    return v;
}

void bm25_unpack_ref(const uint8_t *in, unsigned bits, size_t n, uint32_t *out)
{
    if (bits == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    uint64_t mask = bits == 32 ? 0xffffffffu : (((uint64_t)1 << bits) - 1);
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * bits;
        out[i] = (uint32_t)((load64(in + bit / 8) >> (bit % 8)) & mask);
    }
}

void bm25_undelta_ref(uint32_t prev, uint32_t *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        prev = prev + vals[i] + 1u;
        vals[i] = prev;
    }
}

static atomic_int simd_choice = -1; /* -1 unknown, 0 scalar, 1 AVX2 */

int bm25_postings_simd(void)
{
    int c = atomic_load_explicit(&simd_choice, memory_order_relaxed);
    if (c < 0) {
        const char *off = getenv("FRUGAL_NO_SIMD");
        __builtin_cpu_init();
        c = (off == NULL || off[0] == '\0') && __builtin_cpu_supports("avx2") ? 1 : 0;
        atomic_store_explicit(&simd_choice, c, memory_order_relaxed);
    }
    return c;
}

void bm25_unpack(const uint8_t *in, unsigned bits, size_t n, uint32_t *out)
{
    if (bm25_postings_simd())
        bm25_unpack_avx2(in, bits, n, out);
    else
        bm25_unpack_ref(in, bits, n, out);
}

void bm25_undelta(uint32_t prev, uint32_t *vals, size_t n)
{
    if (bm25_postings_simd())
        bm25_undelta_avx2(prev, vals, n);
    else
        bm25_undelta_ref(prev, vals, n);
}
