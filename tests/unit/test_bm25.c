/* test_bm25.c - the BM25 index: codec (AVX2 vs scalar), block-max WAND vs exhaustive scoring,
 * file round trip and damage, and, through the public API, equality with the FTS5 ranking on a
 * synthetic corpus and on SciFact, kept exact across ingest, delete, tune and optimize. */
#define _GNU_SOURCE
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fs.h"
#include "index/bm25.h"
#include "index/bm25_postings.h"
#include "text/analyzer.h"

static char g_dir[256];
static char g_db[300];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-bm25-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    unsetenv("FRUGAL_BM25_ENGINE");
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    unsetenv("FRUGAL_BM25_ENGINE");
    return system(cmd) == 0 ? 0 : -1;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* ---- Codec ---- */

static void test_codec_simd_vs_scalar(void **state)
{
    uint32_t vals[BM25_BLOCK];
    uint32_t a[BM25_BLOCK];
    uint32_t b[BM25_BLOCK];
    uint8_t packed[BM25_BLOCK * 4 + BM25_PACK_SLACK];
    bool simd = __builtin_cpu_supports("avx2");
    for (int iter = 0; iter < 3000; iter++) {
        unsigned bits = (unsigned)(rnd() % 33);
        size_t n = 1 + rnd() % BM25_BLOCK;
        for (size_t i = 0; i < n; i++)
            vals[i] = bits == 0 ? 0 : bits == 32 ? rnd() * 2654435761u : rnd() & ((1u << bits) - 1);
        assert_true(bm25_bits_needed(vals, n) <= bits);
        memset(packed, 0, sizeof packed);
        bm25_pack(vals, n, bits, packed);
        bm25_unpack_ref(packed, bits, n, a);
        assert_memory_equal(a, vals, n * sizeof *a);
        if (simd) {
            bm25_unpack_avx2(packed, bits, n, b);
            assert_memory_equal(b, vals, n * sizeof *b);
        }
        uint32_t prev = iter % 3 == 0 ? UINT32_MAX : rnd();
        memcpy(a, vals, n * sizeof *a);
        memcpy(b, vals, n * sizeof *b);
        bm25_undelta_ref(prev, a, n);
        if (simd) {
            bm25_undelta_avx2(prev, b, n);
            assert_memory_equal(a, b, n * sizeof *a);
        }
    }
}

/* ---- Segments built directly ---- */

static const char *const vocab[] = {
    "river", "stone", "cloud", "maple", "harbor", "lantern", "meadow", "copper", "violet",
    "thunder", "garden", "silver", "winter", "ocean", "forest", "candle", "mirror", "falcon",
    "ember", "quartz", "willow", "canyon", "glacier", "orchid", "pepper", "saffron", "tundra",
    "zephyr", "basalt", "cobalt", "dune", "fjord", "grove", "heron", "iris", "jasper"};
#define N_VOCAB (sizeof vocab / sizeof vocab[0])

/* Random text of n words with a Zipf-like skew (word i drawn ~ 1/(i+1)). */
static void random_text(char *out, size_t cap, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t w = rnd() % N_VOCAB;
        w = w * (rnd() % N_VOCAB) / N_VOCAB;
        int k = snprintf(out + len, cap - len, "%s%s", i > 0 ? " " : "", vocab[w]);
        if (k < 0 || (size_t)k >= cap - len)
            break;
        len += (size_t)k;
    }
}

struct corpus {
    struct analyzer *an;
    uint8_t *image;
    size_t len;
};

static struct bm25_segment *build(struct analyzer *an, int64_t first_id, size_t n_docs,
                                  const double w[3], uint8_t **image_out, size_t *len_out)
{
    struct bm25_builder *b = NULL;
    struct err err;
    assert_int_equal(bm25_builder_new(an, w, &b, &err), FRUGAL_OK);
    char title[256];
    char heading[256];
    char body[8192];
    for (size_t i = 0; i < n_docs; i++) {
        random_text(title, sizeof title, rnd() % 4);
        random_text(heading, sizeof heading, rnd() % 3);
        random_text(body, sizeof body, 5 + rnd() % 300);
        const char *text[3] = {title, heading, body};
        size_t len[3] = {strlen(title), strlen(heading), strlen(body)};
        assert_int_equal(bm25_builder_add(b, first_id + (int64_t)i * 2, 1000 + (int64_t)i / 3,
                                          text, len, &err),
                         FRUGAL_OK);
    }
    uint8_t *image = NULL;
    size_t len = 0;
    assert_int_equal(bm25_builder_finish(b, 7, 1, &image, &len, &err), FRUGAL_OK);
    bm25_builder_free(b);
    uint8_t *copy = frugal_malloc(len);
    memcpy(copy, image, len);
    struct bm25_segment *s = NULL;
    assert_int_equal(bm25_segment_open_image(copy, len, true, true, &s, &err), FRUGAL_OK);
    if (image_out != NULL) {
        *image_out = image;
        *len_out = len;
    } else {
        frugal_free(image);
    }
    return s;
}

static void random_query(struct bm25_term *terms, size_t *n, char words[][16])
{
    *n = 1 + rnd() % 6;
    for (size_t i = 0; i < *n; i++) {
        /* the analyzer stems: use stems the index holds by running each word through it once */
        snprintf(words[i], 16, "%s", vocab[rnd() % N_VOCAB]);
        terms[i].term = words[i];
        terms[i].len = strlen(words[i]);
    }
}

/* Pruned and exhaustive searches give the same hits, scores bit for bit. */
static void check_same(const struct bm25_index *ix, const struct bm25_params *p,
                       const struct bm25_term *terms, size_t n_terms, size_t k,
                       const uint64_t *allow, int64_t allow_bits)
{
    struct bm25_hit *a = calloc(k, sizeof *a);
    struct bm25_hit *b = calloc(k, sizeof *b);
    size_t na = 0;
    size_t nb = 0;
    struct err err;
    struct bm25_search_opts o = {.k = k, .allow = allow, .allow_bits = allow_bits};
    assert_int_equal(bm25_search(ix, p, terms, n_terms, &o, a, &na, &err), FRUGAL_OK);
    o.exhaustive = true;
    assert_int_equal(bm25_search(ix, p, terms, n_terms, &o, b, &nb, &err), FRUGAL_OK);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        if (a[i].chunk_id != b[i].chunk_id || a[i].score != b[i].score)
            fail_msg("hit %zu: %lld %.17g vs exhaustive %lld %.17g", i, (long long)a[i].chunk_id,
                     a[i].score, (long long)b[i].chunk_id, b[i].score);
        if (i > 0)
            assert_true(a[i - 1].score > a[i].score ||
                        (a[i - 1].score == a[i].score && a[i - 1].chunk_id < a[i].chunk_id));
    }
    free(a);
    free(b);
}

static void test_wand_equals_exhaustive(void **state)
{
    struct analyzer_opts ao = {.language = "none", .stopwords = ""};
    struct analyzer *an = NULL;
    assert_int_equal(analyzer_new(&ao, &an, NULL), FRUGAL_OK);
    double w[3] = {2.0, 1.5, 1.0};
    struct bm25_segment *base = build(an, 1, 3000, w, NULL, NULL);
    struct bm25_segment *delta = build(an, 100000, 300, w, NULL, NULL);
    int64_t deleted[200];
    for (size_t i = 0; i < 200; i++)
        deleted[i] = 1 + 2 * (int64_t)(rnd() % 3000);
    struct err err;
    struct bm25_index *plain = NULL;
    struct bm25_index *mixed = NULL;
    assert_int_equal(bm25_index_new(base, NULL, NULL, 0, &plain, &err), FRUGAL_OK);
    assert_int_equal(bm25_index_new(base, delta, deleted, 200, &mixed, &err), FRUGAL_OK);
    uint64_t allow[200000 / 64 + 1];
    memset(allow, 0, sizeof allow);
    for (int64_t id = 0; id < 200000; id++)
        if (rnd() % 3 == 0)
            allow[id / 64] |= (uint64_t)1 << (id % 64);
    struct bm25_params p = {.k1 = 0.9, .b = 0.4, .w = {2.0, 1.5, 1.0}};
    struct bm25_term terms[8];
    char words[8][16];
    for (int q = 0; q < 300; q++) {
        size_t n = 0;
        random_query(terms, &n, words);
        size_t k = q % 3 == 0 ? 10 : 100;
        check_same(plain, &p, terms, n, k, NULL, 0);
        check_same(mixed, &p, terms, n, k, NULL, 0);
        check_same(mixed, &p, terms, n, k, allow, 200000);
    }
    /* deleted chunks never come back */
    struct bm25_hit hits[3300];
    size_t nh = 0;
    char words2[8][16];
    random_query(terms, &(size_t){0}, words2);
    struct bm25_search_opts o = {.k = 3300};
    assert_int_equal(bm25_search(mixed, &p, terms, 1, &o, hits, &nh, &err), FRUGAL_OK);
    for (size_t i = 0; i < nh; i++)
        for (size_t d = 0; d < 200; d++)
            assert_true(hits[i].chunk_id != deleted[d]);
    /* other weights are refused */
    struct bm25_params other = p;
    other.w[0] = 3.0;
    assert_int_equal(bm25_search(plain, &other, terms, 1, &o, hits, &nh, &err), FRUGAL_EINVAL);
    bm25_index_free(plain);
    bm25_index_free(mixed);
    bm25_segment_close(base);
    bm25_segment_close(delta);
    analyzer_free(an);
}

static void test_file_round_trip_and_damage(void **state)
{
    struct analyzer *an = NULL;
    assert_int_equal(analyzer_new(NULL, &an, NULL), FRUGAL_OK);
    double w[3] = {1, 1, 1};
    uint8_t *image = NULL;
    size_t len = 0;
    struct bm25_segment *mem = build(an, 1, 500, w, &image, &len);
    char path[400];
    snprintf(path, sizeof path, "%s/seg.idx", g_dir);
    struct err err;
    assert_int_equal(fs_write_atomic(path, image, len, &err), FRUGAL_OK);
    struct bm25_segment *file = NULL;
    assert_int_equal(bm25_segment_open_file(path, &file, &err), FRUGAL_OK);
    assert_int_equal(bm25_segment_generation(file), 7);
    assert_int_equal(bm25_segment_n_docs(file), 500);
    assert_int_equal(bm25_segment_n_terms(file), bm25_segment_n_terms(mem));
    struct bm25_index *a = NULL;
    struct bm25_index *b = NULL;
    assert_int_equal(bm25_index_new(mem, NULL, NULL, 0, &a, &err), FRUGAL_OK);
    assert_int_equal(bm25_index_new(file, NULL, NULL, 0, &b, &err), FRUGAL_OK);
    struct bm25_params p = {.k1 = 1.2, .b = 0.75, .w = {1, 1, 1}};
    struct bm25_term t[2] = {{"river", 5}, {"stone", 5}};
    struct bm25_hit ha[50];
    struct bm25_hit hb[50];
    size_t na = 0;
    size_t nb = 0;
    struct bm25_search_opts o = {.k = 50};
    assert_int_equal(bm25_search(a, &p, t, 2, &o, ha, &na, &err), FRUGAL_OK);
    assert_int_equal(bm25_search(b, &p, t, 2, &o, hb, &nb, &err), FRUGAL_OK);
    assert_true(na > 0 && na == nb);
    assert_memory_equal(ha, hb, na * sizeof *ha);
    bm25_index_free(a);
    bm25_index_free(b);
    bm25_segment_close(file);
    bm25_segment_close(mem);
    /* every single-byte flip and every truncation is refused, never a crash */
    for (size_t i = 0; i < len; i += 1 + len / 300) {
        uint8_t *bad = frugal_malloc(len);
        memcpy(bad, image, len);
        bad[i] ^= 0x5a;
        struct bm25_segment *s = NULL;
        frugal_status rc = bm25_segment_open_image(bad, len, true, true, &s, &err);
        assert_true(rc == FRUGAL_ECORRUPT || rc == FRUGAL_EVERSION);
        assert_null(s);
        uint8_t *cut = frugal_malloc(len);
        memcpy(cut, image, len);
        rc = bm25_segment_open_image(cut, i, true, true, &s, &err);
        assert_int_equal(rc, FRUGAL_ECORRUPT);
    }
    frugal_free(image);
    analyzer_free(an);
}

/* ---- Through the public API: our engine vs FTS5 ---- */

static frugal_db *open_db(void)
{
    frugal_db *db = NULL;
    if (frugal_open(g_db, NULL, &db) != FRUGAL_OK)
        fail_msg("open: %s", frugal_errmsg(db));
    return db;
}

static frugal_results *search_with(frugal_db *db, const char *engine, const char *coll,
                                   const char *q, size_t k, bool group)
{
    if (engine != NULL)
        setenv("FRUGAL_BM25_ENGINE", engine, 1);
    else
        unsetenv("FRUGAL_BM25_ENGINE");
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.collection = coll;
    sp.k = k;
    sp.snippets = false;
    sp.group_by_document = group;
    frugal_results *r = NULL;
    if (frugal_search(db, q, &sp, &r) != FRUGAL_OK)
        fail_msg("search '%s': %s", q, frugal_errmsg(db));
    unsetenv("FRUGAL_BM25_ENGINE");
    return r;
}

/* Our top k equals FTS5's: same chunks in the same order, scores within 1e-9 relative (FTS5
 * sums in its own order); where scores tie within that, order by chunk id may differ only
 * inside the tie. */
static void compare_engines(frugal_db *db, const char *coll, const char *q, size_t k, bool group)
{
    frugal_results *a = search_with(db, NULL, coll, q, k, group);
    frugal_results *b = search_with(db, "fts5", coll, q, k, group);
    assert_int_equal(a->n_hits, b->n_hits);
    for (size_t i = 0; i < a->n_hits; i++) {
        double sa = a->hits[i].score;
        double sb = b->hits[i].score;
        if (fabs(sa - sb) > 1e-9 * fabs(sb))
            fail_msg("'%s' hit %zu: score %.17g vs FTS5 %.17g", q, i, sa, sb);
        if (a->hits[i].chunk_id != b->hits[i].chunk_id) {
            bool tie = (i + 1 < a->n_hits && fabs(b->hits[i + 1].score - sb) <= 1e-9 * sb) ||
                       (i > 0 && fabs(b->hits[i - 1].score - sb) <= 1e-9 * sb);
            if (!tie)
                fail_msg("'%s' hit %zu: chunk %lld vs FTS5 %lld", q, i,
                         (long long)a->hits[i].chunk_id, (long long)b->hits[i].chunk_id);
        }
    }
    frugal_results_free(a);
    frugal_results_free(b);
}

static void ingest_synthetic(frugal_db *db, size_t first, size_t n)
{
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.chunk_tokens = 60;
    ip.chunk_overlap = 10;
    char *text = malloc(20000);
    for (size_t i = first; i < first + n; i++) {
        char name[64];
        snprintf(name, sizeof name, "doc%05zu.md", i);
        char title[128];
        random_text(title, sizeof title, 1 + rnd() % 3);
        int len = snprintf(text, 20000, "# %s\n\n## section\n\n", title);
        random_text(text + len, 20000 - (size_t)len, 20 + rnd() % 200);
        frugal_ingest_report rep;
        assert_int_equal(frugal_ingest_buffer(db, name, text, strlen(text), &ip, &rep),
                         FRUGAL_OK);
    }
    free(text);
}

static void random_query_text(char *q, size_t cap)
{
    random_text(q, cap, 1 + rnd() % 5);
}

static void test_api_matches_fts5_and_stays_exact(void **state)
{
    frugal_db *db = open_db();
    ingest_synthetic(db, 0, 300);
    char q[256];
    for (int i = 0; i < 60; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db, "default", q, i % 2 ? 100 : 10, i % 3 == 0);
    }
    char idx[400];
    snprintf(idx, sizeof idx, "%s.bm25/1.idx", g_db);
    struct stat sb;
    assert_int_equal(stat(idx, &sb), 0);
    /* updates: new documents, re-ingested ones, deletions: delta + bitmap */
    ingest_synthetic(db, 300, 40);
    ingest_synthetic(db, 10, 5); /* replaced: old chunks deleted, new ones added */
    size_t n_deleted = 0;
    assert_int_equal(frugal_document_delete_source(db, "default", "doc00020.md", &n_deleted),
                     FRUGAL_OK);
    for (int i = 0; i < 40; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db, "default", q, 100, i % 2 == 0);
    }
    frugal_results *r = search_with(db, NULL, "default", "river stone cloud maple harbor", 10000,
                                    false);
    for (size_t i = 0; i < r->n_hits; i++)
        assert_true(strstr(r->hits[i].source, "doc00020.md") == NULL);
    frugal_results_free(r);
    /* a second handle sees the same (reads the file, then the log) */
    frugal_db *db2 = open_db();
    for (int i = 0; i < 10; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db2, "default", q, 50, false);
    }
    /* tune: other weights rebuild */
    frugal_collection_params cp;
    frugal_collection_default_params(&cp);
    cp.title_weight = 3.0;
    cp.k1 = 1.5;
    assert_int_equal(frugal_collection_tune(db, "default", &cp), FRUGAL_OK);
    for (int i = 0; i < 10; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db, "default", q, 50, false);
    }
    /* optimize folds everything in */
    assert_int_equal(frugal_optimize(db, NULL), FRUGAL_OK);
    for (int i = 0; i < 10; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db2, "default", q, 50, true);
    }
    frugal_close(db2);
    frugal_close(db);
}

static void test_damaged_file_is_rebuilt(void **state)
{
    frugal_db *db = open_db();
    ingest_synthetic(db, 0, 60);
    frugal_results *r = search_with(db, NULL, "default", "river", 10, false);
    frugal_results_free(r);
    frugal_close(db);
    char idx[400];
    snprintf(idx, sizeof idx, "%s.bm25/1.idx", g_db);
    struct buf b;
    buf_init(&b, 0);
    struct err err;
    assert_int_equal(fs_read_file(idx, 0, &b, &err), FRUGAL_OK);
    /* flipped byte, truncated, empty, garbage: each rebuilt and exact */
    for (int mode = 0; mode < 4; mode++) {
        FILE *f = fopen(idx, "wb");
        assert_non_null(f);
        if (mode == 0) {
            b.ptr[b.len / 2] ^= 1;
            fwrite(b.ptr, 1, b.len, f);
            b.ptr[b.len / 2] ^= 1;
        } else if (mode == 1) {
            fwrite(b.ptr, 1, b.len / 3, f);
        } else if (mode == 3) {
            fputs("not an index at all", f);
        }
        fclose(f);
        db = open_db();
        char q[128];
        for (int i = 0; i < 5; i++) {
            random_query_text(q, sizeof q);
            compare_engines(db, "default", q, 20, false);
        }
        frugal_close(db);
    }
    /* a stale file (older generation) is caught up from the log */
    db = open_db();
    ingest_synthetic(db, 60, 10);
    char q[128];
    for (int i = 0; i < 5; i++) {
        random_query_text(q, sizeof q);
        compare_engines(db, "default", q, 20, true);
    }
    frugal_close(db);
    buf_release(&b);
}

/* SciFact (skipped when absent): top 100 of 60 claims-like queries equal to FTS5's. */
static void test_scifact(void **state)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data/scifact", test_shared_dir());
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        skip();
        return;
    }
    frugal_db *db = open_db();
    frugal_eval_params ep;
    frugal_eval_default_params(&ep);
    frugal_eval_report rep;
    assert_int_equal(frugal_eval_beir(db, dir, &ep, &rep), FRUGAL_OK);
    assert_true(rep.ndcg_at_10 >= 0.683);
    static const char *const words[] = {
        "cancer", "cell", "protein", "gene", "expression", "risk", "mortality", "patients",
        "treatment", "mice", "therapy", "vitamin", "DNA", "infection", "increased", "reduces",
        "associated", "insulin", "tumor", "blood", "children", "T cells", "p53", "receptor"};
    size_t nw = sizeof words / sizeof words[0];
    char q[256];
    for (int i = 0; i < 60; i++) {
        size_t len = 0;
        size_t n = 1 + rnd() % 6;
        for (size_t j = 0; j < n; j++)
            len += (size_t)snprintf(q + len, sizeof q - len, "%s ", words[rnd() % nw]);
        compare_engines(db, "eval", q, 100, i % 2 == 0);
    }
    frugal_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_simd_vs_scalar),
        cmocka_unit_test(test_wand_equals_exhaustive),
        cmocka_unit_test_setup_teardown(test_file_round_trip_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_matches_fts5_and_stays_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_is_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scifact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
