/*
 * safetensors.c - the .safetensors reader (format and checks in safetensors.h).
 *
 * How: the file is mapped read-only (fs_map_open); the JSON header is parsed with cJSON into a
 * flat array of tensor descriptors pointing into the map, each checked against the data size
 * before anyone can read through it. Lookup by name is a linear scan: models have a few hundred
 * tensors and are opened once.
 *
 * Why: strictness up front means the encoder can trust every pointer and length it is handed,
 * and a corrupt download fails with a message rather than a crash (tests/fuzz/fuzz_safetensors.c
 * runs st_parse on arbitrary bytes).
 *
 * Threading: an st_file is immutable after st_open and may be read from any number of threads.
 */
#include "embed/safetensors.h"

#include <string.h>

#include <cJSON.h>

#include "base/alloc.h"

static const struct {
    const char *name;
    enum st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4},  {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8},  {"I32", ST_I32, 4}, {"I16", ST_I16, 2},   {"I8", ST_I8, 1},
    {"U8", ST_U8, 1},    {"BOOL", ST_BOOL, 1},
};
#define N_DTYPES (sizeof(dtypes) / sizeof(dtypes[0]))

const char *st_dtype_name(enum st_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (dtypes[i].dtype == dtype)
            return dtypes[i].name;
    }
    return "?";
}

size_t st_dtype_size(enum st_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (dtypes[i].dtype == dtype)
            return dtypes[i].size;
    }
    return 0;
}

void st_close(struct st_file *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_tensors; i++)
        frugal_free(f->tensors[i].name);
    frugal_free(f->tensors);
    frugal_free(f->path);
    fs_map_close(&f->map);
    memset(f, 0, sizeof(*f));
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++) {
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    }
    return NULL;
}

/* A JSON number that is a whole number in [0, max]. */
static int json_u64(const cJSON *item, double max, uint64_t *out)
{
    double v;

    if (!cJSON_IsNumber(item))
        return 0;
    v = item->valuedouble;
    if (!(v >= 0 && v <= max) || v != (double)(uint64_t)v)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static frugal_status parse_tensor(const cJSON *item, const char *path, const uint8_t *data,
                                  size_t data_len, struct st_tensor *t, struct err *err)
{
    const char *name = item->string;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    const cJSON *dim;
    size_t elem_size = 0;
    uint64_t begin;
    uint64_t end;
    size_t n = 1;

    if (!cJSON_IsObject(item))
        return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: not an object", path, name);
    if (!cJSON_IsString(dtype))
        return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: no dtype", path, name);
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (strcmp(dtypes[i].name, dtype->valuestring) == 0) {
            t->dtype = dtypes[i].dtype;
            elem_size = dtypes[i].size;
        }
    }
    if (elem_size == 0)
        return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: unknown dtype %.32s", path, name,
                       dtype->valuestring);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > ST_MAX_DIMS)
        return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: bad shape", path, name);
    t->n_dims = 0;
    cJSON_ArrayForEach(dim, shape)
    {
        uint64_t d;

        if (!json_u64(dim, 9007199254740992.0, &d))
            return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: bad shape", path, name);
        if (d != 0 && n > SIZE_MAX / 16 / d)
            return err_set(err, FRUGAL_ECORRUPT, "%s: tensor %.200s: shape too large", path,
                           name);
        n *= (size_t)d;
        t->shape[t->n_dims++] = (int64_t)d;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_u64(cJSON_GetArrayItem(offs, 0), 1.8e19, &begin) ||
        !json_u64(cJSON_GetArrayItem(offs, 1), 1.8e19, &end) || begin > end || end > data_len)
        return err_set(err, FRUGAL_ECORRUPT,
                       "%s: tensor %.200s: data_offsets missing or outside the %zu data bytes",
                       path, name, data_len);
    if (end - begin != (uint64_t)n * elem_size)
        return err_set(err, FRUGAL_ECORRUPT,
                       "%s: tensor %.200s: %llu data bytes, expected %zu for its shape and dtype",
                       path, name, (unsigned long long)(end - begin), n * elem_size);
    t->n_elems = n;
    t->n_bytes = (size_t)(end - begin);
    t->data = data + begin;
    t->name = frugal_strdup(name);
    if (t->name == NULL)
        return err_set(err, FRUGAL_ENOMEM, "%s: out of memory", path);
    return FRUGAL_OK;
}

frugal_status st_parse(const void *data, size_t len, const char *path, struct st_file *f,
                       struct err *err)
{
    const uint8_t *bytes = data;
    uint64_t n_header = 0;
    cJSON *root;
    const cJSON *item;
    frugal_status rc = FRUGAL_OK;
    size_t n = 0;

    memset(f, 0, sizeof(*f));
    if (len < 8)
        return err_set(err, FRUGAL_ECORRUPT, "%s: too short for a safetensors file", path);
    for (int i = 7; i >= 0; i--)
        n_header = (n_header << 8) | bytes[i];
    if (n_header > len - 8 || n_header > ST_MAX_HEADER || n_header < 2)
        return err_set(err, FRUGAL_ECORRUPT,
                       "%s: safetensors header length %llu does not fit the file (%zu bytes)",
                       path, (unsigned long long)n_header, len);
    root = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)n_header);
    if (root == NULL || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(err, FRUGAL_ECORRUPT, "%s: safetensors header is not a JSON object", path);
    }
    f->tensors = frugal_calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(struct st_tensor));
    if (f->tensors == NULL)
        rc = err_set(err, FRUGAL_ENOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(item, root)
    {
        if (rc != FRUGAL_OK)
            break;
        if (strcmp(item->string, "__metadata__") == 0)
            continue;
        rc = parse_tensor(item, path, bytes + 8 + n_header, len - 8 - (size_t)n_header,
                          &f->tensors[n], err);
        if (f->tensors[n].name != NULL)
            n++;
    }
    f->n_tensors = n;
    cJSON_Delete(root);
    if (rc == FRUGAL_OK) {
        f->path = frugal_strdup(path);
        if (f->path == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "%s: out of memory", path);
    }
    if (rc != FRUGAL_OK)
        st_close(f);
    return rc;
}

frugal_status st_open(const char *path, struct st_file *f, struct err *err)
{
    struct fs_map map;
    frugal_status rc;

    memset(f, 0, sizeof(*f));
    rc = fs_map_open(path, &map, err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = st_parse(map.ptr, map.len, path, f, err);
    if (rc != FRUGAL_OK) {
        fs_map_close(&map);
        return rc;
    }
    f->map = map;
    return FRUGAL_OK;
}
