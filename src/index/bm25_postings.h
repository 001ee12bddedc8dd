/*
 * bm25_postings.h - the integer codec of the BM25 postings (src/index/bm25.c): fixed-size
 * blocks of up to BM25_BLOCK unsigned 32-bit values bit-packed LSB first, and the delta decoding
 * of document numbers.
 *
 * Packing: value i of a block occupies bits [i*bits, (i+1)*bits) of the byte string, little
 * endian (bit 0 of byte 0 first); bits is 0..32 (0: every value is 0, nothing stored). A block
 * of n values takes ceil(n * bits / 8) bytes. Readers load 8 bytes at a time: the buffer must
 * have BM25_PACK_SLACK readable bytes past the end of the last block.
 *
 * Document numbers are stored as gaps minus one: d_i = doc_i - doc_{i-1} - 1 (doc_{-1} = the
 * previous block's last document, or UINT32_MAX before the first block, so that the first gap
 * is the document number itself under 32-bit wrap-around).
 *
 * Decoding has a scalar reference (bm25_unpack_ref, bm25_undelta_ref) and an AVX2 version
 * (bm25_postings_avx2.c) picked once at run time by bm25_unpack / bm25_undelta; tests compare
 * them on random data.
 */
#ifndef FRUGAL_INDEX_BM25_POSTINGS_H
#define FRUGAL_INDEX_BM25_POSTINGS_H

#include <stddef.h>
#include <stdint.h>

#define BM25_BLOCK 128
#define BM25_PACK_SLACK 8

/* Bits needed for the largest of vals[0..n) (0 when all are 0). */
unsigned bm25_bits_needed(const uint32_t *vals, size_t n);
/* Bytes a block of n values of `bits` bits takes. */
size_t bm25_packed_size(size_t n, unsigned bits);
/* Packs vals[0..n) into out (bm25_packed_size(n, bits) bytes, zeroed by the caller). Every
 * value must fit in bits. */
void bm25_pack(const uint32_t *vals, size_t n, unsigned bits, uint8_t *out);

/* out[0..n) = the n values packed at in (n <= BM25_BLOCK, bits <= 32). */
void bm25_unpack(const uint8_t *in, unsigned bits, size_t n, uint32_t *out);
void bm25_unpack_ref(const uint8_t *in, unsigned bits, size_t n, uint32_t *out);
void bm25_unpack_avx2(const uint8_t *in, unsigned bits, size_t n, uint32_t *out);

/* In place: vals[i] = prev + (sum over j <= i of vals[j] + 1), 32-bit wrap-around. */
void bm25_undelta(uint32_t prev, uint32_t *vals, size_t n);
void bm25_undelta_ref(uint32_t prev, uint32_t *vals, size_t n);
void bm25_undelta_avx2(uint32_t prev, uint32_t *vals, size_t n);

/* True when the AVX2 versions are in use (the CPU has AVX2 and FRUGAL_NO_SIMD is unset). */
int bm25_postings_simd(void);

#endif
