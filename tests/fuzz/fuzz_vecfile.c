/*
 * fuzz_vecfile.c - libFuzzer target for the vector index loader (src/index/vecfile.c and
 * hnsw_load_mem in src/index/hnsw_file.c). The first byte picks whether checksums are verified
 * (odd) or skipped (even: so that mutations reach the structural checks behind the CRCs); the
 * rest is the file. Invariants: no crash, leak, hang or sanitizer report; a failure carries a
 * message; a loaded index answers a search without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/hnsw.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hnsw *h = NULL;
    struct err e;
    void *copy;
    frugal_status rc;

    if (size < 1 || size > (4u << 20))
        return 0;
    /* an 8-byte aligned copy, as a mapping would be */
    copy = malloc(size - 1 + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    err_clear(&e);
    rc = hnsw_load_mem(copy, size - 1, (data[0] & 1) != 0, &h, &e);
    if (rc == FRUGAL_OK) {
        const struct hnsw_params *p = hnsw_get_params(h);
        float *q = calloc(p->dim, sizeof(float));
        struct vec_hit hits[4];
        size_t n = 0;
        if (q != NULL) {
            CHECK(hnsw_search(h, q, 4, 16, NULL, hits, &n, &e) == FRUGAL_OK);
            CHECK(n <= 4);
            free(q);
        }
        hnsw_free(h);
    } else {
        CHECK(h == NULL);
        CHECK(rc == FRUGAL_ENOMEM || e.msg[0] != '\0');
    }
    free(copy);
    return 0;
}
