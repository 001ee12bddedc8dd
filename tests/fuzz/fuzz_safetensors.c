/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors header parser (st_parse) on
 * arbitrary bytes. Invariants: a parse either fails with a message or every tensor's data lies
 * inside the input, its byte count equals elements * dtype size, and lookups by name find it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_file f;
    struct err err;

    if (st_parse(data, size, "fuzz.safetensors", &f, &err) != FRUGAL_OK) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < f.n_tensors; i++) {
        const struct st_tensor *t = &f.tensors[i];
        const uint8_t *p = t->data;

        if (p < data || p + t->n_bytes > data + size)
            abort();
        if (t->n_bytes != t->n_elems * st_dtype_size(t->dtype))
            abort();
        if (st_find(&f, t->name) == NULL)
            abort();
    }
    st_close(&f);
    return 0;
}
