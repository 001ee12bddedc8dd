/* test_static_vectors.c - static word vectors (src/embed/static_vectors.c, static_convert.c,
 * static_embed.c) and the embedder glue (embedder.c): converting the wink JSON layout
 * (tests/data/glove/tiny.json and variants written here), the .fsv loader's checks (truncation,
 * bit flips, wrong version), lookup, float16/int8 rows, SIF and uniform weighting, common
 * direction removal, normalization, and allocation failures. No real GloVe needed. */
#include "testutil.h"

#include <math.h>
#include <unistd.h>
#include <zlib.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "embed/embedder.h"
#include "embed/static_vectors.h"

#define DIM 4
static const char *const words[] = {"the", ",",   ".",   "of",  "a",  "\"", "\\",     "cat",
                                    "dog", "sat", "mat", "on",  "£", "€", "kitten", "rug"};
#define N_WORDS (sizeof(words) / sizeof(words[0]))
static const float vecs[N_WORDS][DIM] = {
    {0.4f, -0.2f, 0.1f, 0.3f},    {0.1f, 0.1f, -0.1f, 0.2f},    {0.2f, 0.0f, 0.1f, 0.1f},
    {0.3f, -0.1f, 0.2f, 0.2f},    {0.35f, -0.15f, 0.05f, 0.25f}, {0.0f, 0.5f, 0.0f, -0.5f},
    {-0.5f, 0.0f, 0.5f, 0.0f},    {1.5f, 2.25f, -0.75f, 0.125f}, {1.25f, 2.0f, -1.0f, 0.5f},
    {-1.0f, 0.5f, 2.0f, 1.0f},    {-2.0f, -1.0f, 0.25f, 3.0f},  {0.5f, 0.5f, 0.5f, 0.5f},
    {3.0f, -3.0f, 1.0f, -1.0f},   {-3.0f, 3.0f, -1.0f, 1.0f},   {1.4f, 2.3f, -0.7f, 0.2f},
    {-1.9f, -1.1f, 0.3f, 2.8f},
};

static char tmpdir[256];
static char tiny_json[512];
static char f16_path[512];
static char i8_path[512];

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void read_all(const char *path, struct buf *out)
{
    struct err e;
    buf_init(out, 0);
    assert_int_equal(fs_read_file(path, 0, out, &e), FRUGAL_OK);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int setup_all(void **state)
{
    const char *base = getenv("TMPDIR");
    struct sv_convert_opts opts;
    struct err e;
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s/frugal-sv-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(tiny_json, sizeof(tiny_json), "%s/glove/tiny.json", test_data_dir());
    path_in_tmp(f16_path, sizeof(f16_path), "tiny-f16.fsv");
    path_in_tmp(i8_path, sizeof(i8_path), "tiny-i8.fsv");
    sv_convert_default_opts(&opts);
    opts.name = "tiny";
    if (sv_convert_wink(tiny_json, f16_path, &opts, NULL, &e) != FRUGAL_OK) {
        fprintf(stderr, "convert: %s\n", e.msg);
        return -1;
    }
    opts.row_type = SV_ROW_I8;
    if (sv_convert_wink(tiny_json, i8_path, &opts, NULL, &e) != FRUGAL_OK)
        return -1;
    return 0;
}

static int teardown_all(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_convert_and_lookup(void **state)
{
    struct sv_file *f;
    struct err e;
    float row[DIM];
    (void)state;

    assert_int_equal(sv_open(f16_path, true, &f, &e), FRUGAL_OK);
    assert_int_equal(f->dim, DIM);
    assert_int_equal(f->n_words, N_WORDS);
    assert_string_equal(f->name, "tiny");
    assert_int_equal(f->row_type, SV_ROW_F16);
    for (size_t r = 0; r < N_WORDS; r++) {
        size_t len;
        const char *w = sv_word(f, r, &len);
        assert_int_equal(len, strlen(words[r]));
        assert_memory_equal(w, words[r], len);
        assert_int_equal(sv_lookup(f, words[r], strlen(words[r])), (int64_t)r);
        sv_row(f, r, row);
        for (int i = 0; i < DIM; i++)
            assert_true(fabsf(row[i] - vecs[r][i]) <= 1e-3f * fmaxf(1.0f, fabsf(vecs[r][i])));
    }
    assert_int_equal(sv_lookup(f, "cats", 4), -1);
    assert_int_equal(sv_lookup(f, "ca", 2), -1);
    assert_int_equal(sv_lookup(f, "Cat", 3), -1);
    sv_close(f);

    assert_int_equal(sv_open(i8_path, true, &f, &e), FRUGAL_OK);
    assert_int_equal(f->row_type, SV_ROW_I8);
    for (size_t r = 0; r < N_WORDS; r++) {
        float max_abs = 0;
        sv_row(f, r, row);
        for (int i = 0; i < DIM; i++)
            max_abs = fmaxf(max_abs, fabsf(vecs[r][i]));
        for (int i = 0; i < DIM; i++)
            assert_true(fabsf(row[i] - vecs[r][i]) <= max_abs / 127.0f * 0.5f + 1e-6f);
    }
    sv_close(f);
}

/* Rewrites the header CRC after a deliberate change, so that the check behind it is reached. */
static void fix_header_crc(uint8_t *d)
{
    uint32_t c = (uint32_t)crc32_z(0, d, 124);
    memcpy(d + 124, &c, 4);
}

static frugal_status open_bytes(const void *data, size_t len, bool verify, struct err *e)
{
    struct sv_file *f = NULL;
    void *copy = malloc(len + 1);
    frugal_status rc;
    memcpy(copy, data, len);
    err_clear(e);
    rc = sv_open_mem(copy, len, verify, &f, e);
    if (rc == FRUGAL_OK)
        sv_close(f);
    else
        assert_null(f);
    free(copy);
    return rc;
}

static void test_loader_refuses_damage(void **state)
{
    struct buf b;
    struct err e;
    uint8_t *d;
    uint32_t v;
    char path[512];
    struct sv_file *f;
    (void)state;

    read_all(f16_path, &b);
    d = (uint8_t *)b.ptr;
    assert_int_equal(open_bytes(d, b.len, true, &e), FRUGAL_OK);

    /* truncation, at every length from 0 to the full size minus one (sampled) */
    for (size_t len = 0; len < b.len; len += (len < 200 ? 1 : 37)) {
        frugal_status rc = open_bytes(d, len, true, &e);
        assert_int_equal(rc, FRUGAL_ECORRUPT);
        assert_true(e.msg[0] != '\0');
    }
    assert_int_equal(open_bytes(d, b.len - 1, true, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "truncated"));

    /* every single bit flip is caught, with verify */
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            d[i] ^= (uint8_t)(1u << bit);
            if (open_bytes(d, b.len, true, &e) == FRUGAL_OK)
                fail_msg("flip of bit %d of byte %zu not detected", bit, i);
            d[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* a flipped row bit passes without verify (the CRC is skipped), never crashes */
    d[b.len - 1] ^= 1;
    assert_int_equal(open_bytes(d, b.len, false, &e), FRUGAL_OK);
    assert_int_equal(open_bytes(d, b.len, true, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "rows: checksum"));
    d[b.len - 1] ^= 1;

    /* wrong version */
    v = 2;
    memcpy(d + 8, &v, 4);
    fix_header_crc(d);
    assert_int_equal(open_bytes(d, b.len, true, &e), FRUGAL_EVERSION);
    assert_non_null(strstr(e.msg, "version 2"));
    v = SV_VERSION;
    memcpy(d + 8, &v, 4);
    fix_header_crc(d);

    /* a bad magic */
    d[0] = 'X';
    assert_int_equal(open_bytes(d, b.len, true, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "magic"));
    d[0] = 'F';

    /* dims out of range, with a valid header CRC */
    v = 0;
    memcpy(d + 16, &v, 4);
    fix_header_crc(d);
    assert_int_equal(open_bytes(d, b.len, false, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "dim"));
    v = DIM;
    memcpy(d + 16, &v, 4);
    fix_header_crc(d);

    /* a hash slot pointing past the words, with verify off: the structural check catches it */
    {
        uint64_t slots_off;
        memcpy(&slots_off, d + 72, 8);
        v = 999;
        memcpy(d + slots_off, &v, 4);
        assert_int_equal(open_bytes(d, b.len, false, &e), FRUGAL_ECORRUPT);
        assert_non_null(strstr(e.msg, "hash slot"));
    }

    /* from a path: the message names the file; a missing file is ENOTFOUND */
    path_in_tmp(path, sizeof(path), "short.fsv");
    write_bytes(path, b.ptr, 100);
    assert_int_equal(sv_open(path, true, &f, &e), FRUGAL_ECORRUPT);
    assert_non_null(strstr(e.msg, "short.fsv"));
    path_in_tmp(path, sizeof(path), "missing.fsv");
    assert_int_equal(sv_open(path, true, &f, &e), FRUGAL_ENOTFOUND);
    buf_release(&b);
}

/* Converts json text written to a temporary file; returns the status, message in e. */
static frugal_status convert_text(const char *json, struct err *e)
{
    char in[512];
    char out[512];
    frugal_status rc;
    path_in_tmp(in, sizeof(in), "case.json");
    path_in_tmp(out, sizeof(out), "case.fsv");
    write_text(in, json);
    unlink(out);
    err_clear(e);
    rc = sv_convert_wink(in, out, NULL, NULL, e);
    if (rc != FRUGAL_OK) {
        /* a failed conversion leaves nothing behind */
        assert_int_not_equal(access(out, F_OK), 0);
    }
    return rc;
}

static void test_converter_errors(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"dimensions\":2,\"words\":[\"a\",\"b\"],\"vectors\":{\"a\":[1,2,0,0]}}", "has no vector"},
        {"{\"dimensions\":2,\"wordIndex\":3,\"words\":[\"a\",\"b\"],"
         "\"vectors\":{\"a\":[1,2,0,1],\"b\":[1,2,0,1]}}", "rank"},
        {"{\"dimensions\":2,\"vectors\":{\"a\":[1,2]},\"words\":[\"a\"]}", "before"},
        {"{\"words\":[\"a\"],\"vectors\":{\"a\":[1,2]}}", "dimensions"},
        {"{\"dimensions\":2,\"words\":[\"a\",\"a\"],\"vectors\":{}}", "twice"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1]}}", "shorter"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,2],\"z\":[1,2]}}", "'z'"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,2],\"a\":[1,2]}}", "second"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,2]", "byte"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,nan]}}", "number"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,1e999]}}", "number"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,70000]}}", "float16"},
        {"{\"dimensions\":2,\"words\":[\"\"],\"vectors\":{}}", "empty word"},
        {"{\"dimensions\":2,\"words\":[\"\\ud800\"],\"vectors\":{}}", "surrogate"},
        {"{\"dimensions\":2,\"size\":5,\"words\":[\"a\"],\"vectors\":{\"a\":[1,2]}}", "size"},
        {"{\"dimensions\":2,\"words\":[\"a\"],\"vectors\":{\"a\":[1,2]}} x", "after"},
        {"[1,2]", "object"},
        {"", "object"},
    };
    struct err e;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        frugal_status rc = convert_text(cases[i].json, &e);
        if (rc == FRUGAL_OK || strstr(e.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)rc, e.msg,
                     cases[i].msg);
    }
    /* unknown keys of every JSON kind are skipped; key order otherwise free */
    assert_int_equal(convert_text("{\"x\":{\"y\":[true,false,null,\"s\\n\",-1.5e3,{}]},"
                                  "\"dimensions\":2,\"words\":[\"a\"],\"z\":[],"
                                  "\"vectors\":{\"a\":[1,2,1.5,0]},\"unkVector\":[0,0,-1]}",
                                  &e),
                     FRUGAL_OK);
    assert_int_equal(sv_convert_wink("/nonexistent/x.json", "/tmp/never.fsv", NULL, NULL, &e),
                     FRUGAL_ENOTFOUND);
}

static struct static_embedder *open_se(const char *path, enum static_weighting w,
                                       const float *common)
{
    struct static_opts o;
    struct static_embedder *se;
    struct err e;
    static_default_opts(&o);
    o.weighting = w;
    o.common = common;
    assert_int_equal(static_embedder_open(path, &o, &se, &e), FRUGAL_OK);
    return se;
}

static void expect_unit_sum(const float *got, const size_t *rows, const float *weights, size_t n)
{
    double want[DIM] = {0};
    double norm = 0;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < DIM; i++)
            want[i] += weights[k] * vecs[rows[k]][i];
    for (int i = 0; i < DIM; i++)
        norm += want[i] * want[i];
    norm = sqrt(norm);
    for (int i = 0; i < DIM; i++)
        assert_true(fabs(got[i] - want[i] / norm) < 2e-3);
}

static void test_sentence_vectors(void **state)
{
    struct static_embedder *se;
    float out[DIM];
    float common[DIM] = {1, 1, 0, 0};
    double norm = 0;
    double dot = 0;
    (void)state;

    /* uniform: the normalized sum of the known words; case folded, unknown words ignored */
    se = open_se(f16_path, STATIC_WEIGHT_UNIFORM, NULL);
    {
        const char *t = "The CAT sat, zzzunknown!";
        size_t rows[] = {0, 7, 9, 1};
        float w[] = {1, 1, 1, 1};
        assert_int_equal(static_embed(se, t, strlen(t), out), FRUGAL_OK);
        /* the analyzer drops punctuation: "," is not a word */
        expect_unit_sum(out, rows, w, 3);
        assert_int_equal(se->n_found, 3);
    }
    /* no known word: the zero vector */
    assert_int_equal(static_embed(se, "qwerty xyzzy", 12, out), FRUGAL_OK);
    for (int i = 0; i < DIM; i++)
        assert_true(out[i] == 0.0f);
    assert_int_equal(static_embed(se, "", 0, out), FRUGAL_OK);
    static_embedder_free(se);

    /* SIF: a / (a + p(r)), p(r) = 1 / ((r + 1) H_n) */
    se = open_se(f16_path, STATIC_WEIGHT_SIF, NULL);
    {
        double h = 0;
        size_t rows[] = {0, 7};
        float w[2];
        for (size_t r = 1; r <= N_WORDS; r++)
            h += 1.0 / (double)r;
        for (int k = 0; k < 2; k++) {
            double p = 1.0 / ((double)(rows[k] + 1) * h);
            w[k] = (float)(1e-5 / (1e-5 + p));
            assert_true(fabsf(se->weights[rows[k]] - w[k]) < 1e-6f);
        }
        assert_int_equal(static_embed(se, "the cat", 7, out), FRUGAL_OK);
        expect_unit_sum(out, rows, w, 2);
        /* rarer words weigh more */
        for (size_t r = 1; r < N_WORDS; r++)
            assert_true(se->weights[r] > se->weights[r - 1]);
    }
    static_embedder_free(se);

    /* common direction removed: orthogonal to it, unit length */
    se = open_se(i8_path, STATIC_WEIGHT_UNIFORM, common);
    assert_int_equal(static_embed(se, "cat dog kitten", 14, out), FRUGAL_OK);
    for (int i = 0; i < DIM; i++) {
        norm += (double)out[i] * out[i];
        dot += (double)out[i] * common[i];
    }
    assert_true(fabs(norm - 1.0) < 1e-5);
    assert_true(fabs(dot) < 1e-5);
    static_embedder_free(se);
}

static float cosine(const float *a, const float *b)
{
    float d = 0;
    for (int i = 0; i < DIM; i++)
        d += a[i] * b[i];
    return d;
}

static void test_embedder_static(void **state)
{
    struct embedder *e;
    struct err err;
    struct static_opts o;
    const char *texts[] = {"the cat sat on the mat", "a kitten sat on a rug",
                           "the dog sat on the mat", "£ €"};
    float out[4 * DIM];
    char *p;
    (void)state;

    assert_int_equal(embedder_open_static(f16_path, NULL, &e, &err), FRUGAL_OK);
    assert_int_equal(embedder_dim(e), DIM);
    assert_string_equal(embedder_name(e), "tiny:sif");
    assert_int_equal(embedder_embed(e, texts, 4, out, &err), FRUGAL_OK);
    assert_true(cosine(out, out + 2 * DIM) > 0.9f);
    assert_true(fabsf(cosine(out, out) - 1.0f) < 1e-5f);
    /* currency signs are not words to the analyzer: no word, the zero vector */
    for (int i = 0; i < DIM; i++)
        assert_true(out[3 * DIM + i] == 0.0f);
    assert_int_equal(embedder_embed(e, texts, 0, out, &err), FRUGAL_OK);
    embedder_free(e);

    static_default_opts(&o);
    o.weighting = STATIC_WEIGHT_UNIFORM;
    assert_int_equal(embedder_open_static(i8_path, &o, &e, &err), FRUGAL_OK);
    assert_string_equal(embedder_name(e), "tiny:uniform");
    embedder_free(e);

    o.weighting = STATIC_WEIGHT_CUSTOM; /* without weights */
    assert_int_equal(embedder_open_static(i8_path, &o, &e, &err), FRUGAL_EINVAL);
    assert_null(e);

    /* the default path: $FRUGAL_DATA_DIR/glove-6b-100d.fsv; missing says how to install */
    setenv("FRUGAL_DATA_DIR", tmpdir, 1);
    p = embedder_default_vectors_path();
    assert_non_null(p);
    assert_non_null(strstr(p, "/glove-6b-100d.fsv"));
    frugal_free(p);
    assert_int_equal(embedder_open_static(NULL, NULL, &e, &err), FRUGAL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "scripts/setup --glove"));
    unsetenv("FRUGAL_DATA_DIR");
}

/* A toy embedder for the vtable's contract. */
struct toy {
    int calls;
    size_t max_seen;
    bool nan;
};
static frugal_status toy_embed(void *self, const char *const *texts, size_t n, float *out,
                               struct err *err)
{
    struct toy *t = self;
    (void)err;
    t->calls++;
    if (n > t->max_seen)
        t->max_seen = n;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (float)strlen(texts[i]);
        out[2 * i + 1] = t->nan ? NAN : 1.0f;
    }
    return FRUGAL_OK;
}
static size_t toy_dim(const void *self)
{
    (void)self;
    return 2;
}
static const char *toy_name(const void *self)
{
    (void)self;
    return "toy";
}
static size_t toy_batch(const void *self)
{
    (void)self;
    return 3;
}

static void test_vtable(void **state)
{
    static const struct embedder_vtable vt = {
        .embed = toy_embed, .dim = toy_dim, .name = toy_name, .max_batch = toy_batch};
    static const struct embedder_vtable no_name = {.embed = toy_embed, .dim = toy_dim};
    struct toy t = {0};
    struct embedder *e;
    struct err err;
    const char *texts[] = {"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"};
    const char *with_null[] = {"a", NULL};
    float out[7 * 2];
    (void)state;

    assert_int_equal(embedder_new(&no_name, &t, &e, &err), FRUGAL_EINVAL);
    assert_int_equal(embedder_new(&vt, &t, &e, &err), FRUGAL_OK);
    assert_int_equal(embedder_embed(e, texts, 7, out, &err), FRUGAL_OK);
    assert_int_equal(t.calls, 3);
    assert_int_equal(t.max_seen, 3);
    for (int i = 0; i < 7; i++)
        assert_true(out[2 * i] == (float)strlen(texts[i]));
    assert_int_equal(embedder_embed(e, with_null, 2, out, &err), FRUGAL_EINVAL);
    t.nan = true;
    assert_int_equal(embedder_embed(e, texts, 2, out, &err), FRUGAL_EINTERNAL);
    assert_non_null(strstr(err.msg, "toy"));
    embedder_free(e);
    embedder_free(NULL);
}

static void test_alloc_failures(void **state)
{
    char out[512];
    (void)state;
    path_in_tmp(out, sizeof(out), "oom.fsv");
    for (long n = 0; n < 200; n++) {
        struct embedder *e = NULL;
        struct err err;
        frugal_status rc;
        alloc_fail_after(n);
        rc = embedder_open_static(f16_path, NULL, &e, &err);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            embedder_free(e);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
    }
    for (long n = 0; n < 200; n++) {
        struct err err;
        frugal_status rc;
        alloc_fail_after(n);
        rc = sv_convert_wink(tiny_json, out, NULL, NULL, &err);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK)
            break;
        assert_int_equal(rc, FRUGAL_ENOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert_and_lookup),
        cmocka_unit_test(test_loader_refuses_damage),
        cmocka_unit_test(test_converter_errors),
        cmocka_unit_test(test_sentence_vectors),
        cmocka_unit_test(test_embedder_static),
        cmocka_unit_test(test_vtable),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
