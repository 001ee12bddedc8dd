/*
 * fuzz_static_vectors.c - libFuzzer target for the .fsv word vector loader
 * (src/embed/static_vectors.c: sv_open_mem). The first byte picks whether section checksums are
 * verified (odd) or skipped (even: so that mutations reach the structural checks behind the
 * CRCs); the rest is the file. Invariants: no crash, leak, hang or sanitizer report; a failure
 * carries a message and leaves no handle; an opened file answers lookups and row decodes for
 * its first, middle and last words, each word finds its own row or an earlier duplicate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/static_vectors.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sv_file *f = NULL;
    struct err e;
    void *copy;
    frugal_status rc;

    if (size < 1 || size > (4u << 20))
        return 0;
    /* malloc is 16-byte aligned, as a mapping would be */
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    err_clear(&e);
    rc = sv_open_mem(copy, size - 1, (data[0] & 1) != 0, &f, &e);
    if (rc == FRUGAL_OK) {
        float *row = calloc(f->dim, sizeof(float));
        size_t probe[3] = {0, f->n_words / 2, f->n_words - 1};
        CHECK(row != NULL);
        for (int i = 0; i < 3; i++) {
            size_t len;
            const char *w = sv_word(f, probe[i], &len);
            int64_t r = sv_lookup(f, w, len);
            CHECK(len >= 1 && len <= SV_MAX_WORD);
            CHECK(r < (int64_t)f->n_words);
            sv_row(f, probe[i], row);
        }
        (void)sv_lookup(f, "the", 3);
        free(row);
        sv_close(f);
    } else {
        CHECK(f == NULL);
        CHECK(rc == FRUGAL_ENOMEM || e.msg[0] != '\0');
    }
    free(copy);
    return 0;
}
