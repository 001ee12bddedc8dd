/*
 * fuzz_bm25_load.c - libFuzzer target for the BM25 index loader: arbitrary bytes as an index
 * image, opened without the checksum check (so the fuzzer reaches the structural checks), then,
 * when accepted, searched for every term of its dictionary. Must never crash nor read outside
 * the image: the loader's checks and the per-block decode check are what keep it in bounds.
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "index/bm25.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *image = frugal_malloc(size > 0 ? size : 1);
    if (image == NULL)
        return 0;
    memcpy(image, data, size);
    struct err err;
    struct bm25_segment *s = NULL;
    if (bm25_segment_open_image(image, size, true, false, &s, &err) != FRUGAL_OK)
        return 0;
    struct bm25_index *ix = NULL;
    int64_t deleted[2] = {0, 1};
    if (bm25_index_new(s, NULL, deleted, 2, &ix, &err) == FRUGAL_OK) {
        struct bm25_params p = {.k1 = 0.9, .b = 0.4};
        bm25_segment_weights(s, p.w);
        struct bm25_hit hits[10];
        size_t n_terms = bm25_segment_n_terms(s);
        for (size_t i = 0; i < n_terms && i < 64; i++) {
            struct bm25_term t[2];
            t[0].term = bm25_segment_term(s, i, &t[0].len);
            t[1].term = bm25_segment_term(s, (i * 7) % n_terms, &t[1].len);
            size_t n = 0;
            struct bm25_search_opts o = {.k = 10};
            bm25_search(ix, &p, t, 2, &o, hits, &n, &err);
            o.exhaustive = true;
            bm25_search(ix, &p, t, 1, &o, hits, &n, &err);
        }
        bm25_index_free(ix);
    }
    bm25_segment_close(s);
    return 0;
}
