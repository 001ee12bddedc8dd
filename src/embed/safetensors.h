/*
 * safetensors.h - reading Hugging Face .safetensors files, memory-mapped and strictly checked.
 *
 * Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian u64 N, then N bytes
 * of UTF-8 JSON: an object whose keys are tensor names (plus an optional "__metadata__" object of
 * string values) and whose values are {"dtype": "F32"|"F16"|"BF16"|"I64"|..., "shape": [d0, ...],
 * "data_offsets": [begin, end]}, offsets relative to the byte after the header. The data follows.
 *
 * Checked on open (any failure is FRUGAL_ECORRUPT with a message naming the file and the tensor):
 * N fits the file and is at most ST_MAX_HEADER; the header is a JSON object; each tensor has a
 * known dtype, a shape of at most ST_MAX_DIMS non-negative integer dimensions, offsets with
 * begin <= end <= data size, and end - begin == product(shape) * dtype size (no overflow).
 * Tensors may not overlap the header (offsets are relative to the data) but the format does not
 * forbid aliasing between tensors, so neither do we.
 */
#ifndef FRUGAL_EMBED_SAFETENSORS_H
#define FRUGAL_EMBED_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fs.h"

#define ST_MAX_HEADER (100u << 20)
#define ST_MAX_DIMS 8

enum st_dtype {
    ST_F32,
    ST_F16,
    ST_BF16,
    ST_F64,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL,
};

struct st_tensor {
    char *name;                    /* owned, NUL-terminated */
    enum st_dtype dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    size_t n_elems;                /* product of shape */
    const void *data;              /* borrowed from the map; not necessarily aligned */
    size_t n_bytes;
};

struct st_file {
    char *path;                    /* owned copy, for messages */
    struct fs_map map;             /* empty when parsed from a caller's buffer */
    struct st_tensor *tensors;     /* (n_tensors) owned */
    size_t n_tensors;
};

/* Maps and validates the file. On failure f is left empty (st_close is still safe). */
frugal_status st_open(const char *path, struct st_file *f, struct err *err);
/* Validates data[0..len) (borrowed; must outlive f) under the name `path` (for messages). */
frugal_status st_parse(const void *data, size_t len, const char *path, struct st_file *f,
                       struct err *err);
void st_close(struct st_file *f);

/* The tensor called name, or NULL. */
const struct st_tensor *st_find(const struct st_file *f, const char *name);
const char *st_dtype_name(enum st_dtype dtype);
size_t st_dtype_size(enum st_dtype dtype);

#endif
