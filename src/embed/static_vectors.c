/*
 * static_vectors.c - the .fsv word vector file: open, check, look up, decode (format in
 * static_vectors.h).
 *
 * How: the file is memory-mapped read-only and every field the readers trust is checked once on
 * open: header CRC, sizes against the file's length, the canonical section layout, word offsets
 * (monotone, 1..255 bytes each), hash slots (each < n_words + 1), int8 scales finite; with
 * `verify`, the section CRCs and float16 rows free of infinities and NaNs. After that lookups
 * are a hash and one or two probes, and a row decode is a float16 -> float32 conversion
 * (F16C through embed_kernels when the CPU has it) or an int8 scale.
 *
 * Why this format: GloVe's JSON takes 300 MB and 11 s to parse; the .fsv is 68 MB (float16) or
 * 35 MB (int8), opens in milliseconds and is shared by every process through the page cache.
 * Rows keep the source's frequency order so that a word's rank (SIF weights) is its row.
 *
 * Threading: an sv_file is immutable after open; any number of threads may read it.
 */
#include "embed/static_vectors.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

#include "base/alloc.h"
#include "embed/kernels.h"

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t crc(const void *data, size_t len)
{
    uLong c = crc32_z(0L, Z_NULL, 0);
    return (uint32_t)crc32_z(c, (const Bytef *)data, (z_size_t)len);
}

uint64_t sv_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t align64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

static bool f16_finite(uint16_t h)
{
    return (h & 0x7c00u) != 0x7c00u;
}

/* Checks the header and the structure; fills f. */
static frugal_status check(struct sv_file *f, bool verify, struct err *err)
{
    const uint8_t *d = f->data;
    uint64_t n_words;
    uint64_t n_slots;
    uint64_t str_size;
    uint64_t total;
    uint64_t off_sec[4];
    size_t want[4];
    size_t sec_len[4];
    uint32_t version;
    uint32_t row_type;

    if (f->size < SV_HEADER_SIZE)
        return err_set(err, FRUGAL_ECORRUPT, "file too short for a header (%zu bytes, need %d)",
                       f->size, SV_HEADER_SIZE);
    if (memcmp(d, SV_MAGIC, 8) != 0)
        return err_set(err, FRUGAL_ECORRUPT, "not a frugal word vector file (bad magic)");
    version = rd32(d + 8);
    if (version != SV_VERSION)
        return err_set(err, FRUGAL_EVERSION, "format version %u, this build reads version %d",
                       version, SV_VERSION);
    if (rd32(d + 124) != crc(d, 124))
        return err_set(err, FRUGAL_ECORRUPT, "header checksum mismatch");
    if (rd32(d + 12) != SV_HEADER_SIZE)
        return err_set(err, FRUGAL_ECORRUPT, "header size %u, expected %d", rd32(d + 12),
                       SV_HEADER_SIZE);
    total = rd64(d + 48);
    if (total != f->size)
        return err_set(err, FRUGAL_ECORRUPT, "file has %zu bytes, header says %llu (truncated?)",
                       f->size, (unsigned long long)total);
    f->dim = rd32(d + 16);
    if (f->dim < 1 || f->dim > SV_MAX_DIM)
        return err_set(err, FRUGAL_ECORRUPT, "dim %zu out of range 1..%d", f->dim, SV_MAX_DIM);
    row_type = rd32(d + 20);
    if (row_type == SV_ROW_F16)
        f->row_bytes = 2 * f->dim;
    else if (row_type == SV_ROW_I8)
        f->row_bytes = (4 + f->dim + 3) & ~(size_t)3;
    else
        return err_set(err, FRUGAL_ECORRUPT, "unknown row type %u", row_type);
    f->row_type = (enum sv_row_type)row_type;
    n_words = rd64(d + 24);
    n_slots = rd64(d + 32);
    str_size = rd64(d + 40);
    if (n_words < 1 || n_words > SV_MAX_WORDS)
        return err_set(err, FRUGAL_ECORRUPT, "word count %llu out of range 1..%u",
                       (unsigned long long)n_words, SV_MAX_WORDS);
    if (n_slots <= n_words || n_slots > 4 * (uint64_t)SV_MAX_WORDS || (n_slots & (n_slots - 1)))
        return err_set(err, FRUGAL_ECORRUPT, "hash table size %llu is not a power of two above "
                       "the word count", (unsigned long long)n_slots);
    if (str_size < n_words || str_size > n_words * SV_MAX_WORD || str_size > UINT32_MAX)
        return err_set(err, FRUGAL_ECORRUPT, "strings size %llu does not fit %llu words",
                       (unsigned long long)str_size, (unsigned long long)n_words);
    f->n_words = (size_t)n_words;
    f->n_slots = (size_t)n_slots;
    sec_len[0] = (f->n_words + 1) * 4;
    sec_len[1] = (size_t)str_size;
    sec_len[2] = f->n_slots * 4;
    sec_len[3] = f->n_words * f->row_bytes;
    want[0] = SV_HEADER_SIZE;
    for (int i = 1; i < 4; i++)
        want[i] = align64(want[i - 1] + sec_len[i - 1]);
    for (int i = 0; i < 4; i++) {
        off_sec[i] = rd64(d + 56 + 8 * i);
        if (off_sec[i] != want[i])
            return err_set(err, FRUGAL_ECORRUPT, "section %d at offset %llu, expected %zu", i,
                           (unsigned long long)off_sec[i], want[i]);
    }
    if (want[3] + sec_len[3] != f->size)
        return err_set(err, FRUGAL_ECORRUPT, "sections end at %zu, file has %zu bytes",
                       want[3] + sec_len[3], f->size);
    for (int i = 1; i < 4; i++) {
        for (size_t p = want[i - 1] + sec_len[i - 1]; p < want[i]; p++) {
            if (d[p] != 0)
                return err_set(err, FRUGAL_ECORRUPT, "padding before section %d is not zero", i);
        }
    }
    if (verify) {
        static const char *names[4] = {"word offsets", "strings", "hash table", "rows"};
        for (int i = 0; i < 4; i++) {
            if (rd32(d + 88 + 4 * i) != crc(d + want[i], sec_len[i]))
                return err_set(err, FRUGAL_ECORRUPT, "%s: checksum mismatch", names[i]);
        }
    }
    memcpy(f->name, d + 104, SV_NAME_MAX);
    f->name[SV_NAME_MAX] = '\0';
    for (size_t i = 0; f->name[i] != '\0'; i++) {
        if (f->name[i] < 0x20 || f->name[i] > 0x7e)
            return err_set(err, FRUGAL_ECORRUPT, "model name is not printable ASCII");
    }
    f->offsets = d + want[0];
    f->strings = (const char *)(d + want[1]);
    f->slots = d + want[2];
    f->rows = d + want[3];

    if (rd32(f->offsets) != 0 || rd32(f->offsets + 4 * f->n_words) != str_size)
        return err_set(err, FRUGAL_ECORRUPT, "word offsets do not span the strings");
    for (size_t r = 0; r < f->n_words; r++) {
        uint32_t a = rd32(f->offsets + 4 * r);
        uint32_t b = rd32(f->offsets + 4 * r + 4);
        if (b <= a || b - a > SV_MAX_WORD)
            return err_set(err, FRUGAL_ECORRUPT, "word %zu has a bad length", r);
    }
    for (size_t s = 0; s < f->n_slots; s++) {
        if (rd32(f->slots + 4 * s) > f->n_words)
            return err_set(err, FRUGAL_ECORRUPT, "hash slot %zu points past the words", s);
    }
    if (f->row_type == SV_ROW_I8) {
        for (size_t r = 0; r < f->n_words; r++) {
            float scale;
            memcpy(&scale, f->rows + r * f->row_bytes, sizeof(scale));
            if (!isfinite(scale))
                return err_set(err, FRUGAL_ECORRUPT, "row %zu has a non-finite scale", r);
        }
    } else if (verify) {
        const uint16_t *h = (const uint16_t *)(const void *)f->rows;
        for (size_t i = 0; i < f->n_words * f->dim; i++) {
            if (!f16_finite(h[i]))
                return err_set(err, FRUGAL_ECORRUPT, "row %zu has a non-finite value",
                               i / f->dim);
        }
    }
    return FRUGAL_OK;
}

frugal_status sv_open_mem(const void *data, size_t len, bool verify, struct sv_file **out,
                          struct err *err)
{
    struct sv_file *f;
    frugal_status rc;

    *out = NULL;
    if (((uintptr_t)data & 7) != 0)
        return err_set(err, FRUGAL_EINVAL, "vector data must be 8-byte aligned");
    f = frugal_calloc(1, sizeof(*f));
    if (f == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    f->data = data;
    f->size = len;
    rc = check(f, verify, err);
    if (rc != FRUGAL_OK) {
        frugal_free(f);
        return rc;
    }
    *out = f;
    return FRUGAL_OK;
}

frugal_status sv_open(const char *path, bool verify, struct sv_file **out, struct err *err)
{
    struct fs_map map = {0};
    frugal_status rc;

    *out = NULL;
    rc = fs_map_open(path, &map, err);
    if (rc != FRUGAL_OK)
        return rc;
    rc = sv_open_mem(map.ptr != NULL ? map.ptr : "", map.len, verify, out, err);
    if (rc != FRUGAL_OK) {
        fs_map_close(&map);
        return err_prefix(err, "%s", path);
    }
    (*out)->map = map;
    return FRUGAL_OK;
}

void sv_close(struct sv_file *f)
{
    if (f == NULL)
        return;
    fs_map_close(&f->map);
    frugal_free(f);
}

const char *sv_word(const struct sv_file *f, size_t r, size_t *len)
{
    uint32_t a = rd32(f->offsets + 4 * r);
    *len = rd32(f->offsets + 4 * r + 4) - a;
    return f->strings + a;
}

int64_t sv_lookup(const struct sv_file *f, const char *word, size_t len)
{
    size_t mask = f->n_slots - 1;
    size_t s = (size_t)sv_hash(word, len) & mask;

    /* bounded by n_slots: a damaged table without an empty slot cannot loop forever */
    for (size_t probes = 0; probes < f->n_slots; probes++) {
        uint32_t v = rd32(f->slots + 4 * s);
        size_t wlen;
        const char *w;
        if (v == 0)
            return -1;
        w = sv_word(f, v - 1, &wlen);
        if (wlen == len && memcmp(w, word, len) == 0)
            return (int64_t)(v - 1);
        s = (s + 1) & mask;
    }
    return -1;
}

void sv_row(const struct sv_file *f, size_t r, float *out)
{
    const uint8_t *p = f->rows + r * f->row_bytes;

    if (f->row_type == SV_ROW_F16) {
        embed_kernels_best()->f16_to_f32((const uint16_t *)(const void *)p, out, f->dim);
    } else {
        float scale;
        const int8_t *q = (const int8_t *)(p + 4);
        memcpy(&scale, p, sizeof(scale));
        for (size_t i = 0; i < f->dim; i++)
            out[i] = scale * (float)q[i];
    }
}
