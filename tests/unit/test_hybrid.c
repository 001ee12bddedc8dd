/* test_hybrid.c - hybrid retrieval: RRF and convex fusion on hand-made lists (exact orders and
 * scores, ties, document-level fusion), the BM25/dense agreement measure, MMR on hand-made
 * vectors, and hybrid search end to end through the public API with a tiny deterministic
 * embedder (words hashed into 32 dimensions, the one of test_dense.c): documents found by
 * either side, the agreement the results report, filters on both sides, MMR removing a
 * near-duplicate, refusals. */
#define _GNU_SOURCE
#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include "base/alloc.h"
#include "query/hybrid.h"

#define HASH_DIM 32

static char g_dir[256];
static char g_db[300];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-hybrid-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- Fusion math on hand-made lists ---- */

static struct hybrid_cand *fuse(const struct hybrid_cand *a, size_t na,
                                const struct hybrid_cand *b, size_t nb,
                                const struct hybrid_opts *o, size_t *n)
{
    struct err e;
    err_clear(&e);
    struct hybrid_cand *out = NULL;
    assert_int_equal(hybrid_fuse(a, na, b, nb, o, &out, n, &e), FRUGAL_OK);
    return out;
}

static void test_rrf(void **state)
{
    const struct hybrid_cand bm25[] = {{1, 1, 9.0}, {2, 2, 5.0}, {3, 3, 1.0}};
    const struct hybrid_cand dense[] = {{3, 3, 0.9}, {4, 4, 0.8}};
    struct hybrid_opts o = {.fusion = HYBRID_RRF};
    size_t n = 0;
    struct hybrid_cand *f = fuse(bm25, 3, dense, 2, &o, &n);
    assert_int_equal(n, 4);
    /* chunk 3: rank 3 in BM25, 1 in dense; 2 and 4 tie at 1/62: lower chunk id first */
    const int64_t want[] = {3, 1, 2, 4};
    const double score[] = {1.0 / 63 + 1.0 / 61, 1.0 / 61, 1.0 / 62, 1.0 / 62};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f[i].chunk_id, want[i]);
        assert_true(fabs(f[i].score - score[i]) < 1e-12);
    }
    frugal_free(f);
    /* either side empty: the other side's ranks alone */
    f = fuse(NULL, 0, dense, 2, &o, &n);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].chunk_id, 3);
    assert_true(fabs(f[1].score - 1.0 / 62) < 1e-12);
    frugal_free(f);
    f = fuse(NULL, 0, NULL, 0, &o, &n);
    assert_null(f);
    assert_int_equal(n, 0);
}

static void test_convex(void **state)
{
    const struct hybrid_cand bm25[] = {{1, 1, 10.0}, {2, 2, 6.0}, {3, 3, 2.0}};
    const struct hybrid_cand dense[] = {{3, 3, 0.9}, {4, 4, 0.5}, {5, 5, 0.1}};
    struct hybrid_opts o = {.fusion = HYBRID_CONVEX, .alpha = 0.25};
    size_t n = 0;
    struct hybrid_cand *f = fuse(bm25, 3, dense, 3, &o, &n);
    assert_int_equal(n, 5);
    /* bm25' = 1, .5, 0 and dense' = 1, .5, 0: 0.75 * bm25' + 0.25 * dense' */
    const int64_t want[] = {1, 2, 3, 4, 5};
    const double score[] = {0.75, 0.375, 0.25, 0.125, 0.0};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f[i].chunk_id, want[i]);
        assert_true(fabs(f[i].score - score[i]) < 1e-12);
    }
    frugal_free(f);
    /* alpha 1: dense order alone on top, BM25-only entries at 0 after it */
    o.alpha = 1.0;
    f = fuse(bm25, 3, dense, 3, &o, &n);
    assert_int_equal(f[0].chunk_id, 3);
    assert_int_equal(f[1].chunk_id, 4);
    assert_true(fabs(f[0].score - 1.0) < 1e-12);
    frugal_free(f);
}

static void test_ties(void **state)
{
    /* one entry per list: max == min normalizes to 1; alpha .5 ties at .5: chunk 5 first */
    const struct hybrid_cand bm25[] = {{7, 7, 3.0}};
    const struct hybrid_cand dense[] = {{5, 5, 0.2}};
    struct hybrid_opts o = {.fusion = HYBRID_CONVEX, .alpha = 0.5};
    size_t n = 0;
    struct hybrid_cand *f = fuse(bm25, 1, dense, 1, &o, &n);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].chunk_id, 5);
    assert_int_equal(f[1].chunk_id, 7);
    assert_true(fabs(f[0].score - 0.5) < 1e-12 && fabs(f[1].score - 0.5) < 1e-12);
    frugal_free(f);
    /* equal scores within one list: ranks still follow list positions in RRF */
    const struct hybrid_cand same[] = {{9, 9, 1.0}, {8, 8, 1.0}};
    o.fusion = HYBRID_RRF;
    f = fuse(same, 2, NULL, 0, &o, &n);
    assert_int_equal(f[0].chunk_id, 9);
    assert_int_equal(f[1].chunk_id, 8);
    frugal_free(f);
}

static void test_by_document(void **state)
{
    /* best chunks per document: doc 2 is chunk 21 for BM25 (rank 2), chunk 22 for dense (rank 1) */
    const struct hybrid_cand bm25[] = {{11, 1, 8.0}, {21, 2, 4.0}};
    const struct hybrid_cand dense[] = {{22, 2, 0.7}, {31, 3, 0.6}};
    struct hybrid_opts o = {.fusion = HYBRID_RRF, .by_document = true};
    size_t n = 0;
    struct hybrid_cand *f = fuse(bm25, 2, dense, 2, &o, &n);
    assert_int_equal(n, 3);
    assert_int_equal(f[0].document_id, 2);
    assert_int_equal(f[0].chunk_id, 22); /* the dense side contributes more (1/61 > 1/62) */
    assert_true(fabs(f[0].score - (1.0 / 62 + 1.0 / 61)) < 1e-12);
    assert_int_equal(f[1].chunk_id, 11);
    assert_int_equal(f[2].chunk_id, 31);
    frugal_free(f);
    /* without grouping the same lists stay four chunks */
    o.by_document = false;
    f = fuse(bm25, 2, dense, 2, &o, &n);
    assert_int_equal(n, 4);
    frugal_free(f);
}

static void test_mmr_math(void **state)
{
    const struct hybrid_cand fused[] = {{1, 1, 1.0}, {2, 2, 0.9}, {3, 3, 0.5}};
    /* 1 and 2 are the same direction, 3 orthogonal */
    const float vecs[] = {1, 0, 2, 0, 0, 1};
    size_t order[3];
    size_t n = 0;
    struct err e;
    err_clear(&e);
    assert_int_equal(hybrid_mmr(fused, 3, vecs, 2, 0.5, 3, order, &n, &e), FRUGAL_OK);
    assert_int_equal(n, 3);
    /* step 2: chunk 2 = .5 * .8 - .5 * 1 = -.1, chunk 3 = .5 * 0 - 0 = 0 */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    assert_int_equal(hybrid_mmr(fused, 3, vecs, 2, 1.0, 2, order, &n, &e), FRUGAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(hybrid_depth(10), HYBRID_MIN_DEPTH);
    assert_int_equal(hybrid_depth(500), 500);
}

static void test_agreement_math(void **state)
{
    (void)state;
    struct hybrid_cand a[6] = {{1, 10, 9}, {2, 10, 8}, {3, 30, 7}, {4, 40, 6}, {5, 50, 5},
                               {6, 60, 4}};
    struct hybrid_cand b[6] = {{5, 50, 9}, {1, 10, 8}, {7, 70, 7}, {8, 80, 6}, {9, 90, 5},
                               {2, 10, 4}};
    /* top 5 chunks: {1..5} and {5, 1, 7, 8, 9} share 1 and 5; chunk 2 is 6th in b */
    assert_true(fabs(hybrid_agreement(a, 6, b, 6, false) - 0.4) < 1e-12);
    /* by document: a's top-5 documents {10, 30, 40, 50} (10 twice counts once) against
     * {50, 10, 70, 80, 90}: 2 of 4 */
    assert_true(fabs(hybrid_agreement(a, 6, b, 6, true) - 0.5) < 1e-12);
    assert_true(hybrid_agreement(a, 6, a, 6, false) == 1.0);
    /* the shorter list decides the denominator */
    assert_true(hybrid_agreement(b, 1, a, 6, false) == 1.0);
    assert_true(hybrid_agreement(b + 2, 3, a, 6, false) == 0.0);
    /* one side empty: no agreement; both: not measured */
    assert_true(hybrid_agreement(a, 6, b, 0, false) == 0.0);
    assert_true(hybrid_agreement(a, 0, b, 0, false) < 0.0);
}

/* ---- The test embedder (test_dense.c's): each ASCII word adds 1 to dim hash(word) % dim ---- */

static frugal_status hash_embed(void *self, const char *const *texts, size_t n, float *out,
                                char *errbuf, size_t errbuf_size)
{
    for (size_t i = 0; i < n; i++) {
        float *v = out + i * HASH_DIM;
        memset(v, 0, HASH_DIM * sizeof *v);
        const char *p = texts[i];
        while (*p != '\0') {
            while (*p != '\0' && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                p++;
            uint32_t x = 2166136261u;
            size_t len = 0;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
                x = (x ^ (uint32_t)(*p | 0x20)) * 16777619u;
                p++;
                len++;
            }
            if (len > 0)
                v[x % HASH_DIM] += 1.0f;
        }
        v[0] += 0.01f; /* never the zero vector */
    }
    return FRUGAL_OK;
}

static size_t hash_dim(const void *self)
{
    return HASH_DIM;
}

static const char *hash_name(const void *self)
{
    return "hash32";
}

static const frugal_embedder_vtable hash_vt = {
    .embed = hash_embed, .dim = hash_dim, .name = hash_name, .free = NULL, .max_batch = NULL};

static frugal_embedder *g_emb;

static frugal_db *open_hybrid(void)
{
    frugal_db *db = NULL;
    if (frugal_open(g_db, NULL, &db) != FRUGAL_OK)
        fail_msg("open: %s", frugal_errmsg(db));
    if (frugal_embedder_new(&hash_vt, NULL, &g_emb) != FRUGAL_OK)
        fail_msg("embedder: %s", frugal_embedder_errmsg(g_emb));
    frugal_collection_params cp;
    frugal_collection_default_params(&cp);
    cp.embedder = "custom:hash32";
    assert_int_equal(frugal_collection_create(db, "c", &cp), FRUGAL_OK);
    if (frugal_use_embedder(db, "c", g_emb) != FRUGAL_OK)
        fail_msg("use embedder: %s", frugal_errmsg(db));
    return db;
}

static void close_hybrid(frugal_db *db)
{
    frugal_close(db);
    frugal_embedder_free(g_emb);
    g_emb = NULL;
}

static void ingest(frugal_db *db, const char *name, const char *text, const char *meta)
{
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "c";
    ip.metadata_json = meta;
    frugal_ingest_report rep;
    if (frugal_ingest_buffer(db, name, text, strlen(text), &ip, &rep) != FRUGAL_OK)
        fail_msg("ingest: %s", frugal_errmsg(db));
    assert_int_equal(rep.failed, 0);
}

static frugal_results *search(frugal_db *db, const char *query, frugal_search_mode mode,
                              const frugal_search_params *base)
{
    frugal_search_params sp;
    if (base != NULL)
        sp = *base;
    else
        frugal_search_default_params(&sp);
    sp.collection = "c";
    sp.mode = mode;
    frugal_results *res = NULL;
    if (frugal_search(db, query, &sp, &res) != FRUGAL_OK)
        fail_msg("search: %s", frugal_errmsg(db));
    return res;
}

static bool has_source(const frugal_results *r, size_t top, const char *source)
{
    for (size_t i = 0; i < r->n_hits && i < top; i++)
        if (strcmp(r->hits[i].source, source) == 0)
            return true;
    return false;
}

static void test_either_side(void **state)
{
    frugal_db *db = open_hybrid();
    ingest(db, "sea.txt", "ocean wave tide coral reef whale", NULL);
    ingest(db, "space.txt", "planet orbit rocket comet galaxy star", NULL);
    ingest(db, "misc.txt", "the the the", NULL); /* only stopwords for BM25 */
    /* BM25 finds only sea.txt ("the" is a stopword); dense ranks misc.txt first */
    frugal_results *r = search(db, "whale the", FRUGAL_SEARCH_BM25, NULL);
    assert_int_equal(r->n_hits, 1);
    assert_string_equal(r->hits[0].source, "sea.txt");
    frugal_results_free(r);
    r = search(db, "whale the", FRUGAL_SEARCH_DENSE, NULL);
    assert_string_equal(r->hits[0].source, "misc.txt");
    frugal_results_free(r);
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    for (int fusion = 0; fusion < 2; fusion++) {
        sp.fusion = fusion == 0 ? FRUGAL_FUSION_RRF : FRUGAL_FUSION_CONVEX;
        sp.alpha = 0.5;
        r = search(db, "whale the", FRUGAL_SEARCH_HYBRID, &sp);
        assert_int_equal(r->n_hits, 3);
        assert_true(has_source(r, 2, "sea.txt"));
        assert_true(has_source(r, 2, "misc.txt"));
        assert_true(r->hits[0].score >= r->hits[1].score);
        assert_non_null(r->hits[0].text);
        frugal_results_free(r);
    }
    /* agreement: BM25's only hit (sea.txt's chunk) is in dense's top 5 (3 chunks in all) */
    r = search(db, "whale the", FRUGAL_SEARCH_HYBRID, &sp);
    assert_true(r->agreement == 1.0);
    frugal_results_free(r);
    r = search(db, "whale the", FRUGAL_SEARCH_BM25, NULL);
    assert_true(r->agreement < 0.0);
    frugal_results_free(r);
    /* grouped: one hit per document, same documents */
    sp.group_by_document = true;
    r = search(db, "whale the", FRUGAL_SEARCH_HYBRID, &sp);
    assert_int_equal(r->n_hits, 3);
    assert_true(has_source(r, 2, "sea.txt"));
    frugal_results_free(r);
    close_hybrid(db);
}

static void test_filters_both_sides(void **state)
{
    frugal_db *db = open_hybrid();
    ingest(db, "a.txt", "ocean wave", "{\"lang\":\"en\"}");
    ingest(db, "b.txt", "ocean tide", "{\"lang\":\"fr\"}");
    ingest(db, "c.txt", "rocket star", "{\"lang\":\"fr\"}");
    const char *fr[] = {"fr"};
    frugal_filter f = {.key = "lang", .values = fr, .n_values = 1};
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.filters = &f;
    sp.n_filters = 1;
    for (int fusion = 0; fusion < 2; fusion++) {
        sp.fusion = fusion == 0 ? FRUGAL_FUSION_RRF : FRUGAL_FUSION_CONVEX;
        /* a.txt is both sides' best match without the filter: it must not come back */
        frugal_results *r = search(db, "ocean wave", FRUGAL_SEARCH_HYBRID, &sp);
        assert_int_equal(r->n_hits, 2);
        assert_string_equal(r->hits[0].source, "b.txt");
        assert_false(has_source(r, 10, "a.txt"));
        frugal_results_free(r);
    }
    close_hybrid(db);
}

static void test_mmr_dedup(void **state)
{
    frugal_db *db = open_hybrid();
    ingest(db, "one.txt", "whale ocean whale ocean", NULL);
    ingest(db, "two.txt", "whale ocean whale ocean.", NULL);
    ingest(db, "reef.txt", "whale reef coral", NULL);
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.k = 2;
    frugal_results *r = search(db, "whale ocean", FRUGAL_SEARCH_HYBRID, &sp);
    assert_int_equal(r->n_hits, 2);
    assert_false(has_source(r, 2, "reef.txt")); /* the two near-duplicates */
    frugal_results_free(r);
    sp.mmr_lambda = 0.3;
    r = search(db, "whale ocean", FRUGAL_SEARCH_HYBRID, &sp);
    assert_int_equal(r->n_hits, 2);
    assert_true(has_source(r, 2, "reef.txt"));
    frugal_results_free(r);
    close_hybrid(db);
}

static void test_refusals(void **state)
{
    frugal_db *db = open_hybrid();
    ingest(db, "sea.txt", "ocean wave", NULL);
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    assert_int_equal(sp.mode, FRUGAL_SEARCH_BM25);
    assert_int_equal(sp.fusion, FRUGAL_SEARCH_DEFAULT_FUSION);
    assert_true(sp.mmr_lambda == 0.0);
    frugal_results *r = NULL;
    sp.mode = FRUGAL_SEARCH_HYBRID;
    /* "default" has no embedder */
    assert_int_equal(frugal_search(db, "ocean", &sp, &r), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "no embedder"));
    assert_non_null(strstr(frugal_errmsg(db), "hybrid"));
    sp.collection = "c";
    sp.alpha = 1.5;
    assert_int_equal(frugal_search(db, "ocean", &sp, &r), FRUGAL_EINVAL);
    sp.alpha = 0.5;
    sp.mmr_lambda = -1;
    assert_int_equal(frugal_search(db, "ocean", &sp, &r), FRUGAL_EINVAL);
    sp.mmr_lambda = 0;
    sp.fusion = (frugal_fusion)7;
    assert_int_equal(frugal_search(db, "ocean", &sp, &r), FRUGAL_EINVAL);
    assert_null(r);
    close_hybrid(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rrf),
        cmocka_unit_test(test_convex),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_by_document),
        cmocka_unit_test(test_mmr_math),
        cmocka_unit_test(test_agreement_math),
        cmocka_unit_test_setup_teardown(test_either_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmr_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
