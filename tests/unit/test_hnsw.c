/* test_hnsw.c - the HNSW index (src/index/hnsw.c) against the exact flat index (flat.c): recall on
 * random data and on SIFT10K, after deletes, with filters, with int8/float16 storage; the file
 * format (vecfile.c) round trip and its corruption checks; parallel searches. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "base/alloc.h"
#include "index/flat.h"
#include "index/hnsw.h"
#include "index/hnsw_internal.h"
#include "index/vecfile.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define DIM 24
#define N_BASE (UNDER_ASAN ? 1500 : 4000)
#define N_QUERY 100
#define K 10

static float *base_vecs;
static float *query_vecs;

static uint64_t rng_state = 0x1234567ull;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float frand(void)
{
    return (float)((next_u64() >> 11) * (1.0 / 9007199254740992.0));
}

/* Clustered data (50 Gaussian-ish clusters), closer to real embeddings than uniform noise. */
static float *make_data(size_t n)
{
    float *v = malloc(n * DIM * sizeof(float));
    float centers[50][DIM];
    uint64_t saved = rng_state;
    rng_state = 99;
    for (int c = 0; c < 50; c++)
        for (int d = 0; d < DIM; d++)
            centers[c][d] = frand() * 4.0f;
    rng_state = saved;
    for (size_t i = 0; i < n; i++) {
        int c = (int)(next_u64() % 50);
        for (int d = 0; d < DIM; d++)
            v[i * DIM + d] = centers[c][d] + (frand() + frand() + frand() - 1.5f);
    }
    return v;
}

static int setup(void **state)
{
    (void)state;
    base_vecs = make_data(N_BASE);
    query_vecs = make_data(N_QUERY);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(base_vecs);
    free(query_vecs);
    return 0;
}

static struct hnsw *build(enum vec_metric metric, enum vec_storage storage, bool keep_f32,
                          unsigned threads)
{
    struct hnsw_params p;
    struct hnsw *h = NULL;
    struct err e;
    hnsw_default_params(&p, DIM);
    p.metric = metric;
    p.storage = storage;
    p.keep_f32 = keep_f32;
    assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add_batch(h, NULL, base_vecs, N_BASE, threads, &e), FRUGAL_OK);
    assert_int_equal(hnsw_count(h), N_BASE);
    return h;
}

static struct flat *build_flat(enum vec_metric metric)
{
    struct flat *f = NULL;
    struct err e;
    assert_int_equal(flat_new(DIM, metric, &f, &e), FRUGAL_OK);
    assert_int_equal(flat_add_batch(f, NULL, base_vecs, N_BASE, &e), FRUGAL_OK);
    return f;
}

/* recall@K of h against f over the queries, with an optional filter */
static double recall(struct hnsw *h, struct flat *f, const struct vec_filter *filt)
{
    struct vec_hit got[K], want[K];
    size_t n_got, n_want, hits = 0, total = 0;
    struct err e;
    for (int q = 0; q < N_QUERY; q++) {
        assert_int_equal(hnsw_search(h, query_vecs + q * DIM, K, 0, filt, got, &n_got, &e), FRUGAL_OK);
        assert_int_equal(flat_search(f, query_vecs + q * DIM, K, filt, want, &n_want, &e), FRUGAL_OK);
        assert_int_equal(n_got, n_want);
        for (size_t i = 0; i < n_want; i++)
            for (size_t j = 0; j < n_got; j++)
                hits += want[i].id == got[j].id;
        total += n_want;
    }
    return total == 0 ? 1.0 : (double)hits / (double)total;
}

static void test_recall_random(void **state)
{
    (void)state;
    static const enum vec_metric metrics[] = {VEC_METRIC_L2, VEC_METRIC_COS, VEC_METRIC_IP};
    for (int m = 0; m < 3; m++) {
        struct hnsw *h = build(metrics[m], VEC_STORE_F32, false, m == 0 ? 1 : 2);
        struct flat *f = build_flat(metrics[m]);
        double r = recall(h, f, NULL);
        print_message("metric %d recall@10 %.4f\n", m, r);
        assert_true(r >= 0.95);
        hnsw_free(h);
        flat_free(f);
    }
}

static void test_quantized_recall(void **state)
{
    (void)state;
    struct flat *f = build_flat(VEC_METRIC_L2);
    struct hnsw *h8 = build(VEC_METRIC_L2, VEC_STORE_I8, true, 2);
    struct hnsw *h16 = build(VEC_METRIC_L2, VEC_STORE_F16, false, 2);
    struct hnsw *h32 = build(VEC_METRIC_L2, VEC_STORE_F32, false, 2);
    double r8 = recall(h8, f, NULL), r16 = recall(h16, f, NULL);
    size_t resc = 0, b8 = hnsw_memory_bytes(h8, &resc), b32 = hnsw_memory_bytes(h32, NULL);
    print_message("i8+rescore recall %.4f f16 recall %.4f bytes i8 %zu (+%zu f32) f32 %zu\n", r8,
                  r16, b8, resc, b32);
    assert_true(r8 >= 0.95);
    assert_true(r16 >= 0.95);
    assert_true(b8 < b32);
    assert_int_equal(resc, (size_t)N_BASE * DIM * sizeof(float));
    hnsw_free(h8);
    hnsw_free(h16);
    hnsw_free(h32);
    flat_free(f);
}

static void test_delete_30_percent(void **state)
{
    (void)state;
    struct hnsw *h = build(VEC_METRIC_L2, VEC_STORE_F32, false, 2);
    struct flat *f = build_flat(VEC_METRIC_L2);
    struct err e;
    uint8_t *gone = calloc(N_BASE, 1);
    size_t n_del = 0;
    while (n_del < N_BASE * 3 / 10) {
        int64_t id = (int64_t)(next_u64() % N_BASE);
        if (gone[id])
            continue;
        gone[id] = 1;
        n_del++;
        assert_int_equal(hnsw_delete(h, id, &e), FRUGAL_OK);
        assert_int_equal(flat_delete(f, id, &e), FRUGAL_OK);
    }
    assert_int_equal(hnsw_delete(h, 0 + (gone[0] ? 0 : -1), &e), FRUGAL_ENOTFOUND);
    assert_int_equal(hnsw_count(h), N_BASE - n_del);
    double r = recall(h, f, NULL);
    print_message("recall after deleting 30%%: %.4f\n", r);
    assert_true(r >= 0.95);
    /* no deleted id comes back */
    for (int q = 0; q < N_QUERY; q++) {
        struct vec_hit got[K];
        size_t n;
        assert_int_equal(hnsw_search(h, query_vecs + q * DIM, K, 0, NULL, got, &n, &e), FRUGAL_OK);
        for (size_t i = 0; i < n; i++)
            assert_false(gone[got[i].id]);
    }
    /* update: a deleted id comes back with a new vector, an existing one moves */
    assert_int_equal(hnsw_update(h, 5, query_vecs, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 5, query_vecs, &e), FRUGAL_EEXIST);
    {
        struct vec_hit got[1];
        size_t n;
        assert_int_equal(hnsw_search(h, query_vecs, 1, 0, NULL, got, &n, &e), FRUGAL_OK);
        assert_int_equal(n, 1);
        assert_int_equal(got[0].id, 5);
        assert_true(got[0].distance < 1e-6f);
    }
    free(gone);
    hnsw_free(h);
    flat_free(f);
}

static bool accept_mod(int64_t id, void *ctx)
{
    int64_t mod = *(const int64_t *)ctx;
    return id % mod == 3;
}

static void test_filters(void **state)
{
    (void)state;
    struct hnsw *h = build(VEC_METRIC_L2, VEC_STORE_F32, false, 2);
    struct flat *f = build_flat(VEC_METRIC_L2);
    struct err e;
    static const int64_t mods[] = {3, 10, 100, 1000000};
    for (int t = 0; t < 4; t++) {
        int64_t mod = mods[t];
        struct vec_filter filt = {accept_mod, &mod};
        double r = recall(h, f, &filt);
        print_message("filter 1/%lld recall %.4f\n", (long long)mod, r);
        assert_true(r >= 0.95);
        for (int q = 0; q < 10; q++) {
            struct vec_hit got[K];
            size_t n;
            assert_int_equal(hnsw_search(h, query_vecs + q * DIM, K, 0, &filt, got, &n, &e), FRUGAL_OK);
            for (size_t i = 0; i < n; i++)
                assert_true(got[i].id % mod == 3);
            if (mod == 1000000)
                assert_int_equal(n, 1); /* only id 3 matches */
        }
    }
    hnsw_free(h);
    flat_free(f);
}

static char *tmp_path(const char *name)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/frugal-test-hnsw-%d-%s", dir != NULL ? dir : "/tmp",
             (int)getpid(), name);
    return path;
}

static void same_results(struct hnsw *a, struct hnsw *b)
{
    struct err e;
    for (int q = 0; q < N_QUERY; q++) {
        struct vec_hit ra[K], rb[K];
        size_t na, nb;
        assert_int_equal(hnsw_search(a, query_vecs + q * DIM, K, 0, NULL, ra, &na, &e), FRUGAL_OK);
        assert_int_equal(hnsw_search(b, query_vecs + q * DIM, K, 0, NULL, rb, &nb, &e), FRUGAL_OK);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_int_equal(ra[i].id, rb[i].id);
            assert_true(ra[i].distance == rb[i].distance);
        }
    }
}

static void test_file_round_trip(void **state)
{
    (void)state;
    static const enum vec_storage types[] = {VEC_STORE_F32, VEC_STORE_F16, VEC_STORE_I8};
    struct err e;
    for (int t = 0; t < 3; t++) {
        struct hnsw *h = build(t == 1 ? VEC_METRIC_COS : VEC_METRIC_L2, types[t], t == 2, 2);
        struct hnsw *g = NULL;
        char *path = tmp_path("rt.vec");
        assert_int_equal(hnsw_delete(h, 17, &e), FRUGAL_OK);
        hnsw_set_generation(h, 42 + (uint64_t)t);
        assert_int_equal(hnsw_save(h, path, &e), FRUGAL_OK);
        assert_int_equal(hnsw_load(path, &g, &e), FRUGAL_OK);
        assert_int_equal(hnsw_generation(g), 42 + (uint64_t)t);
        assert_int_equal(hnsw_count(g), hnsw_count(h));
        assert_false(hnsw_contains(g, 17));
        same_results(h, g);
        /* the loaded index takes adds and deletes */
        assert_int_equal(hnsw_add(g, 1000000, query_vecs, &e), FRUGAL_OK);
        assert_int_equal(hnsw_delete(g, 3, &e), FRUGAL_OK);
        unlink(path);
        hnsw_free(h);
        hnsw_free(g);
    }
    /* an empty index round-trips too */
    {
        struct hnsw_params p;
        struct hnsw *h = NULL, *g = NULL;
        hnsw_default_params(&p, 8);
        assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
        assert_int_equal(hnsw_save(h, tmp_path("empty.vec"), &e), FRUGAL_OK);
        assert_int_equal(hnsw_load(tmp_path("empty.vec"), &g, &e), FRUGAL_OK);
        assert_int_equal(hnsw_count(g), 0);
        unlink(tmp_path("empty.vec"));
        hnsw_free(h);
        hnsw_free(g);
    }
}

/* int8 keeps its level-0 links Elias-Fano coded (params.compact_links): the packed index answers
 * as well as an unpacked one, its links take under half the bytes, it round-trips through a file
 * (saved as uint32 lists, coded again on load), and they stay coded through single deletes and
 * adds (a delete's tombstone is reused by the next add, so the slot count does not move). */
static void test_compact_links(void **state)
{
    (void)state;
    struct err e;
    struct hnsw_params p;
    struct hnsw *hp = build(VEC_METRIC_L2, VEC_STORE_I8, true, 2);
    struct hnsw *hu = NULL, *g = NULL;
    struct flat *f = build_flat(VEC_METRIC_L2);
    struct hnsw_memory mp, mu, mg;
    char *path = tmp_path("compact.vec");

    p = *hnsw_get_params(hp);
    assert_true(p.compact_links);
    p.compact_links = false;
    assert_int_equal(hnsw_new(&p, &hu, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add_batch(hu, NULL, base_vecs, N_BASE, 2, &e), FRUGAL_OK);
    hnsw_memory(hp, &mp);
    hnsw_memory(hu, &mu);
    print_message("links packed %zu unpacked %zu recall %.4f\n", mp.links, mu.links,
                  recall(hp, f, NULL));
    assert_true(mp.links * 2 < mu.links);
    assert_true(recall(hp, f, NULL) >= 0.95);
    assert_int_equal(hnsw_save(hp, path, &e), FRUGAL_OK);
    assert_int_equal(hnsw_load(path, &g, &e), FRUGAL_OK);
    same_results(hp, g);
    hnsw_memory(g, &mg);
    assert_int_equal(mg.links, mp.links);
    /* a delete and an add keep the lists packed, in the same slots */
    assert_int_equal(hnsw_delete(g, 5, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(g, 1000000, query_vecs, &e), FRUGAL_OK);
    assert_false(hnsw_contains(g, 5));
    assert_true(hnsw_contains(g, 1000000));
    hnsw_memory(g, &mg);
    assert_int_equal(mg.links, mp.links);
    assert_int_equal(hnsw_add_batch(g, (const int64_t[]){2000000}, query_vecs + DIM, 1, 1, &e),
                     FRUGAL_OK);
    hnsw_memory(g, &mg);
    assert_true(mg.links * 2 < mu.links);
    assert_true(recall(g, f, NULL) >= 0.95);
    unlink(path);
    hnsw_free(hp);
    hnsw_free(hu);
    hnsw_free(g);
    flat_free(f);
}

/* Sorts a[0..n) (insertion sort: short lists). */
static void sort_ids(uint32_t *a, uint32_t n)
{
    for (uint32_t x = 1; x < n; x++)
        for (uint32_t y = x; y > 0 && a[y - 1] > a[y]; y--) {
            uint32_t t = a[y];
            a[y] = a[y - 1];
            a[y - 1] = t;
        }
}

/* node's list at level in h is the multiset `want` ([count][ids]). */
static void same_list(const struct hnsw *h, uint32_t node, int level, const uint32_t *want)
{
    uint32_t buf[1 + 256], a[256], b[256];
    const uint32_t *got = hnsw_links_get(h, node, level, buf);

    assert_int_equal(got[0], want[0]);
    memcpy(a, want + 1, want[0] * sizeof(uint32_t));
    memcpy(b, got + 1, got[0] * sizeof(uint32_t));
    sort_ids(a, want[0]); /* coded lists come back sorted */
    assert_memory_equal(a, b, want[0] * sizeof(uint32_t));
}

/* A random list of at most max_c ids below cap ([count][ids]); now and then with the largest. */
static void random_list(uint32_t *l, size_t max_c, size_t cap, size_t i)
{
    l[0] = (uint32_t)(next_u64() % (max_c + 1));
    if (l[0] > cap)
        l[0] = (uint32_t)cap;
    for (uint32_t j = 1; j <= l[0]; j++)
        l[j] = (uint32_t)(next_u64() % cap);
    if (i % 7 == 0 && l[0] > 0)
        l[1] = (uint32_t)cap - 1; /* the largest id */
}

/* The Elias-Fano coding of the link lists (hnsw_links.c), white-box: random lists of every
 * length 0..m0 on level 0, 0..m on the upper levels of every fifth node, with ids anywhere below
 * the slot capacity, come back as the same multiset, before and after the capacity grows (every
 * list recoded for the larger universe, the upper pool rebuilt at its new stride), for M from 2
 * to 127 (m0 above the first universe of 64 slots included); the first capacity is exactly
 * what was asked for (no power of two), as for a first batch or a load. */
static void test_link_coding(void **state)
{
    (void)state;
    static const uint32_t ms[] = {2, 16, 64, 127};
    static const size_t caps[] = {100, 165, 1000, 70000}; /* the last one 5000 above M = 16 */
    struct err e;

    for (size_t mi = 0; mi < 4; mi++) {
        struct hnsw_params p;
        struct hnsw *h = NULL;
        uint32_t *want = NULL;
        uint32_t *want_up = NULL; /* per slot, levels 1..2 of [count][m ids] */
        size_t n = 0;

        hnsw_default_params(&p, 4);
        p.storage = VEC_STORE_I8;
        p.m = ms[mi];
        assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
        for (size_t ci = 0; ci < 4; ci++) {
            size_t m0 = 2 * (size_t)p.m;
            size_t cap = ci == 3 && p.m > 16 ? 5000 : caps[ci];
            size_t up = 2 * (1 + (size_t)p.m);
            assert_int_equal(hnsw_reserve(h, cap), FRUGAL_OK);
            assert_non_null(h->packed0);
            if (ci == 0)
                assert_int_equal(h->cap, cap);
            /* lists already there survive the recoding; new ones fill the new slots */
            want = realloc(want, h->cap * (1 + m0) * sizeof(uint32_t));
            want_up = realloc(want_up, h->cap * up * sizeof(uint32_t));
            for (size_t i = n; i < h->cap; i++) {
                uint32_t *l = want + i * (1 + m0);
                random_list(l, m0, h->cap, i);
                h->node_bits[i] = (uint8_t)(i % 5 == 0 ? 1 + i % 2 : 0);
                h->n = i + 1;
                hnsw_links_put(h, (uint32_t)i, 0, l);
                if (node_level(h, i) > 0)
                    assert_int_equal(hnsw_upper_add(h, (uint32_t)i, node_level(h, i)),
                                     FRUGAL_OK);
                for (int lev = 1; lev <= node_level(h, i); lev++) {
                    uint32_t *u = want_up + i * up + (size_t)(lev - 1) * (1 + p.m);
                    random_list(u, p.m, h->cap, i);
                    hnsw_links_put(h, (uint32_t)i, lev, u);
                }
            }
            n = h->n;
            for (size_t i = 0; i < n; i++) {
                same_list(h, (uint32_t)i, 0, want + i * (1 + m0));
                for (int lev = 1; lev <= node_level(h, i); lev++) {
                    const uint32_t *u = want_up + i * up + (size_t)(lev - 1) * (1 + p.m);
                    same_list(h, (uint32_t)i, lev, u);
                }
            }
        }
        h->n = 0; /* nothing else of these slots was set */
        free(want);
        free(want_up);
        hnsw_free(h);
    }
}

/* A parallel build leaves no node cut off: every node is reachable on level 0 from the entry
 * point, in 100 two-thread builds of 200 points (before insertions wrote all their own lists
 * before any reverse link and kept the reverse links others had added meanwhile, 1-2% of such
 * builds lost 5-20% of recall; timing-dependent, so a regression shows as a sometimes-failure). */
static void test_parallel_build_connected(void **state)
{
    (void)state;
    enum { N = 200 };
    struct err e;

    for (int b = 0; b < 100; b++) {
        struct hnsw_params p;
        struct hnsw *h = NULL;
        uint8_t seen[N] = {0};
        uint32_t stack[N];
        uint32_t buf[1 + 64];
        size_t sp = 0;
        size_t reached = 1;

        hnsw_default_params(&p, 8);
        p.storage = b % 2 == 0 ? VEC_STORE_I8 : VEC_STORE_F32;
        assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
        assert_int_equal(hnsw_add_batch(h, NULL, base_vecs + (size_t)b * 8, N, 2, &e), FRUGAL_OK);
        stack[sp++] = h->entry;
        seen[h->entry] = 1;
        while (sp > 0) {
            const uint32_t *l = hnsw_links_get(h, stack[--sp], 0, buf);
            for (uint32_t j = 1; j <= l[0]; j++) {
                if (!seen[l[j]]) {
                    seen[l[j]] = 1;
                    reached++;
                    stack[sp++] = l[j];
                }
            }
        }
        if (reached != N)
            print_message("build %d: %zu of %d nodes reachable\n", b, reached, N);
        assert_int_equal(reached, N);
        hnsw_free(h);
    }
}

/* An index grown one add at a time keeps its level-0 lists packed all along (there is no batch
 * to repack them): the same links bytes as a batch-built twin within 10%, and recall. */
static void test_single_adds_stay_packed(void **state)
{
    (void)state;
    struct err e;
    struct hnsw_params p;
    struct hnsw *hs = NULL;
    struct hnsw *hb = build(VEC_METRIC_L2, VEC_STORE_I8, true, 1);
    struct flat *f = build_flat(VEC_METRIC_L2);
    struct hnsw_memory ms, mb;

    p = *hnsw_get_params(hb);
    assert_int_equal(hnsw_new(&p, &hs, &e), FRUGAL_OK);
    assert_int_equal(hnsw_train(hs, base_vecs, N_BASE, &e), FRUGAL_OK);
    for (int i = 0; i < N_BASE; i++)
        assert_int_equal(hnsw_add(hs, i, base_vecs + (size_t)i * DIM, &e), FRUGAL_OK);
    hnsw_memory(hs, &ms);
    hnsw_memory(hb, &mb);
    print_message("links after %d single adds %zu, batch-built %zu, recall %.4f\n", N_BASE,
                  ms.links, mb.links, recall(hs, f, NULL));
    assert_true(ms.links * 10 <= mb.links * 11);
    assert_true(recall(hs, f, NULL) >= 0.95);
    hnsw_free(hs);
    hnsw_free(hb);
    flat_free(f);
}

/* Churn: delete 30% of the points, add as many new ones under new ids. Adds reuse the
 * tombstones, so the slot count, the codes and the links stay where they were (the only growth:
 * the new ids no longer follow the slots, so the index now keeps an id per slot and the id
 * table: 16 bytes a vector, not the 30% of appending), and recall against the exact index over the same
 * live set stays >= 0.95; a save and load keeps it all. For float32 and for int8 with packed
 * links. */
static void test_churn_reuses_slots(void **state)
{
    (void)state;
    static const enum vec_storage types[] = {VEC_STORE_F32, VEC_STORE_I8};
    float *fresh = make_data(N_BASE * 3 / 10);
    struct err e;

    for (int t = 0; t < 2; t++) {
        struct hnsw *h = build(VEC_METRIC_L2, types[t], t == 1, 2);
        struct hnsw *g = NULL;
        struct flat *f = build_flat(VEC_METRIC_L2);
        uint8_t *gone = calloc(N_BASE, 1);
        size_t before = hnsw_memory_bytes(h, NULL);
        size_t after;
        struct hnsw_memory mb, ma;
        size_t n_del = 0;
        double r;

        while (n_del < N_BASE * 3 / 10) {
            int64_t id = (int64_t)(next_u64() % N_BASE);
            if (gone[id])
                continue;
            gone[id] = 1;
            n_del++;
            assert_int_equal(hnsw_delete(h, id, &e), FRUGAL_OK);
            assert_int_equal(flat_delete(f, id, &e), FRUGAL_OK);
        }
        hnsw_memory(h, &mb);
        for (size_t i = 0; i < n_del; i++) {
            int64_t id = N_BASE + (int64_t)i;
            assert_int_equal(hnsw_add(h, id, fresh + i * DIM, &e), FRUGAL_OK);
            assert_int_equal(flat_add(f, id, fresh + i * DIM, &e), FRUGAL_OK);
        }
        after = hnsw_memory_bytes(h, NULL);
        hnsw_memory(h, &ma);
        r = recall(h, f, NULL);
        print_message("%s churn 30%%: recall %.4f, bytes %zu -> %zu, tombstones %zu\n",
                      t == 0 ? "f32" : "i8", r, before, after, hnsw_deleted_count(h));
        assert_int_equal(hnsw_count(h), N_BASE);
        assert_int_equal(hnsw_deleted_count(h), 0);
        assert_int_equal(ma.codes, mb.codes);
        assert_int_equal(ma.links, mb.links);
        assert_true(ma.node_meta <= mb.node_meta);
        assert_true(after - before <= ma.ids - mb.ids); /* only the ids grew */
        assert_true(after * 10 < before * 13);           /* not + 30% */
        assert_true(r >= 0.95);
        for (int q = 0; q < N_QUERY; q++) { /* no deleted id comes back */
            struct vec_hit got[K];
            size_t n;
            assert_int_equal(hnsw_search(h, query_vecs + q * DIM, K, 0, NULL, got, &n, &e),
                             FRUGAL_OK);
            for (size_t i = 0; i < n; i++)
                assert_false(got[i].id < N_BASE && gone[got[i].id]);
        }
        assert_int_equal(hnsw_save(h, tmp_path("churn.vec"), &e), FRUGAL_OK);
        assert_int_equal(hnsw_load(tmp_path("churn.vec"), &g, &e), FRUGAL_OK);
        same_results(h, g);
        unlink(tmp_path("churn.vec"));
        free(gone);
        hnsw_free(h);
        hnsw_free(g);
        flat_free(f);
    }
    free(fresh);
}

/* Ids that follow the slots (base, base + 1, ...) cost nothing: no labels, no id table. They stay
 * so through deletes, updates and re-adds of the same ids and appends of the next id; any other
 * id spreads them into the table, with every lookup unchanged; a file keeps either kind. */
static void test_dense_ids(void **state)
{
    (void)state;
    enum { N = 300 };
    struct hnsw_params p;
    struct hnsw *h = NULL, *g = NULL, *x = NULL;
    struct hnsw_memory m;
    struct err e;
    int64_t ids[N];
    struct vec_hit got[K];
    size_t n;

    for (int i = 0; i < N; i++)
        ids[i] = 500 + i;
    hnsw_default_params(&p, DIM);
    assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add_batch(h, ids, base_vecs, N, 2, &e), FRUGAL_OK);
    hnsw_memory(h, &m);
    assert_int_equal(m.ids, 0);
    assert_false(hnsw_contains(h, 499));
    assert_true(hnsw_contains(h, 500));
    assert_true(hnsw_contains(h, 500 + N - 1));
    assert_false(hnsw_contains(h, 500 + N));
    assert_int_equal(hnsw_search(h, base_vecs + 7 * DIM, K, 0, NULL, got, &n, &e), FRUGAL_OK);
    assert_int_equal(got[0].id, 507);
    /* delete, update, re-add the same id, append the next: still dense */
    assert_int_equal(hnsw_delete(h, 510, &e), FRUGAL_OK);
    assert_false(hnsw_contains(h, 510));
    assert_int_equal(hnsw_update(h, 520, query_vecs, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 510, base_vecs + 10 * DIM, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 500 + N, query_vecs + DIM, &e), FRUGAL_OK);
    hnsw_memory(h, &m);
    assert_int_equal(m.ids, 0);
    assert_int_equal(hnsw_count(h), N + 1);
    assert_int_equal(hnsw_search(h, query_vecs, 1, 0, NULL, got, &n, &e), FRUGAL_OK);
    assert_int_equal(got[0].id, 520);
    /* a round trip keeps them dense */
    assert_int_equal(hnsw_save(h, tmp_path("dense.vec"), &e), FRUGAL_OK);
    assert_int_equal(hnsw_load(tmp_path("dense.vec"), &g, &e), FRUGAL_OK);
    hnsw_memory(g, &m);
    assert_int_equal(m.ids, 0);
    same_results(h, g);
    /* a delete then the next id: appended, so the ids stay dense (one tombstone is worth less
     * than an id table) */
    assert_int_equal(hnsw_delete(h, 600, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 500 + N + 1, query_vecs + 3 * DIM, &e), FRUGAL_OK);
    hnsw_memory(h, &m);
    assert_int_equal(m.ids, 0);
    assert_int_equal(hnsw_deleted_count(h), 1);
    /* an id out of the pattern spreads them (and takes the tombstone); every id still answers */
    assert_int_equal(hnsw_add(h, 7, query_vecs + 2 * DIM, &e), FRUGAL_OK);
    hnsw_memory(h, &m);
    assert_true(m.ids > 0);
    assert_int_equal(hnsw_deleted_count(h), 0);
    assert_false(hnsw_contains(h, 600));
    assert_true(hnsw_contains(h, 500 + N + 1));
    assert_true(hnsw_contains(h, 7));
    assert_true(hnsw_contains(h, 510));
    assert_true(hnsw_contains(h, 500 + N));
    assert_false(hnsw_contains(h, 499));
    assert_int_equal(hnsw_add(h, 510, query_vecs, &e), FRUGAL_EEXIST);
    assert_int_equal(hnsw_search(h, query_vecs + 2 * DIM, 1, 0, NULL, got, &n, &e), FRUGAL_OK);
    assert_int_equal(got[0].id, 7);
    /* ids that never were dense, through a file */
    for (int i = 0; i < N; i++)
        ids[i] = 1000 + 2 * i;
    assert_int_equal(hnsw_new(&p, &x, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add_batch(x, ids, base_vecs, N, 1, &e), FRUGAL_OK);
    assert_true(hnsw_contains(x, 1002));
    assert_false(hnsw_contains(x, 1001));
    hnsw_free(g);
    g = NULL;
    assert_int_equal(hnsw_save(x, tmp_path("dense.vec"), &e), FRUGAL_OK);
    assert_int_equal(hnsw_load(tmp_path("dense.vec"), &g, &e), FRUGAL_OK);
    hnsw_memory(g, &m);
    assert_true(m.ids > 0);
    assert_true(hnsw_contains(g, 1002));
    assert_int_equal(hnsw_search(g, base_vecs + 3 * DIM, 1, 0, NULL, got, &n, &e), FRUGAL_OK);
    assert_int_equal(got[0].id, 1006);
    unlink(tmp_path("dense.vec"));
    hnsw_free(h);
    hnsw_free(g);
    hnsw_free(x);
}

/* An int8 index loaded with its float32 rescoring copy left in the mapped file answers exactly
 * as the in-memory one, holds no rescoring bytes in memory, and copies them in on the first add. */
static void test_rescore_on_disk(void **state)
{
    (void)state;
    struct hnsw *h = build(VEC_METRIC_L2, VEC_STORE_I8, true, 2);
    struct hnsw *g = NULL;
    struct hnsw_memory mh, mg;
    struct err e;
    char *path = tmp_path("disk.vec");

    assert_int_equal(hnsw_save(h, path, &e), FRUGAL_OK);
    assert_int_equal(hnsw_load_ex(path, HNSW_RESCORE_ON_DISK, &g, &e), FRUGAL_OK);
    unlink(path); /* the mapping keeps the data */
    same_results(h, g);
    hnsw_memory(h, &mh);
    hnsw_memory(g, &mg);
    assert_int_equal(mh.rescore, (size_t)N_BASE * DIM * sizeof(float));
    assert_int_equal(mh.rescore_on_disk, 0);
    assert_int_equal(mg.rescore, 0);
    assert_int_equal(mg.rescore_on_disk, (size_t)N_BASE * DIM * sizeof(float));
    assert_true(mg.rescore_cached <= mg.rescore_on_disk + 8192);
    assert_int_equal(mg.codes + mg.links, mh.codes + mh.links);
    /* writes move the copy into memory; results stay the same */
    assert_int_equal(hnsw_delete(g, 11, &e), FRUGAL_OK);
    assert_int_equal(hnsw_delete(h, 11, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(g, 11, base_vecs + 11 * DIM, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 11, base_vecs + 11 * DIM, &e), FRUGAL_OK);
    hnsw_memory(g, &mg); /* (the add reused the deleted slot: still N_BASE slots) */
    assert_int_equal(mg.rescore, (size_t)N_BASE * DIM * sizeof(float));
    assert_int_equal(mg.rescore_on_disk, 0);
    same_results(h, g);
    hnsw_free(h);
    hnsw_free(g);
}

static void test_corrupt_files(void **state)
{
    (void)state;
    struct hnsw *h = build(VEC_METRIC_L2, VEC_STORE_I8, true, 2);
    struct hnsw *g = NULL;
    struct err e;
    char path[512];
    FILE *fp;
    long len;
    unsigned char *bytes;

    snprintf(path, sizeof(path), "%s", tmp_path("c.vec"));
    assert_int_equal(hnsw_save(h, path, &e), FRUGAL_OK);
    fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    bytes = malloc((size_t)len);
    assert_int_equal(fread(bytes, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    assert_int_equal(hnsw_load_mem(bytes, (size_t)len, true, &g, &e), FRUGAL_OK);
    hnsw_free(g);

    /* truncated anywhere */
    static const long cuts[] = {0, 7, 100, 127, 128, 300, 5000, -1, -64};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t n = cuts[i] >= 0 ? (size_t)cuts[i] : (size_t)(len + cuts[i]);
        assert_int_equal(hnsw_load_mem(bytes, n, true, &g, &e), FRUGAL_ECORRUPT);
        assert_null(g);
        assert_true(strstr(e.msg, "truncated") != NULL);
    }
    /* one bit flipped anywhere: header, table, every section */
    for (long pos = 0; pos < len; pos += len / 97 + 1) {
        bytes[pos] ^= 0x10;
        frugal_status rc = hnsw_load_mem(bytes, (size_t)len, true, &g, &e);
        bytes[pos] ^= 0x10;
        if (pos >= 8 && pos < 12) {
            assert_int_equal(rc, FRUGAL_EVERSION);
        } else if (rc == FRUGAL_OK) {
            /* only padding between sections is not checksummed */
            hnsw_free(g);
            g = NULL;
            continue;
        } else {
            assert_int_equal(rc, FRUGAL_ECORRUPT);
        }
        assert_null(g);
        assert_true(e.msg[0] != '\0');
    }
    /* another version, on disk: the old layout (version 1) and a future one */
    for (unsigned char v = 1; v <= 3; v += 2) {
        char want[32];
        bytes[8] = v;
        fp = fopen(path, "wb");
        fwrite(bytes, 1, (size_t)len, fp);
        fclose(fp);
        assert_int_equal(hnsw_load(path, &g, &e), FRUGAL_EVERSION);
        snprintf(want, sizeof(want), "version %u,", (unsigned)v);
        assert_true(strstr(e.msg, want) != NULL);
        assert_true(strstr(e.msg, "reads version 2") != NULL);
        assert_true(strstr(e.msg, path) != NULL);
        assert_null(g);
    }
    unlink(path);
    assert_int_equal(hnsw_load(path, &g, &e), FRUGAL_ENOTFOUND);
    free(bytes);
    hnsw_free(h);
}

static void test_sift10k(void **state)
{
    (void)state;
    char bp[1024], qp[1024], gp[1024];
    const char *dir = test_shared_dir();
    snprintf(bp, sizeof(bp), "%s/data/siftsmall/siftsmall_base.fvecs", dir);
    snprintf(qp, sizeof(qp), "%s/data/siftsmall/siftsmall_query.fvecs", dir);
    snprintf(gp, sizeof(gp), "%s/data/siftsmall/siftsmall_groundtruth.ivecs", dir);
    FILE *fb = fopen(bp, "rb"), *fq = fopen(qp, "rb"), *fg = fopen(gp, "rb");
    if (fb == NULL || fq == NULL || fg == NULL || UNDER_ASAN) {
        if (fb) fclose(fb);
        if (fq) fclose(fq);
        if (fg) fclose(fg);
        print_message("SIFT10K skipped (%s)\n", UNDER_ASAN ? "sanitizer build" : "no data");
        skip();
        return;
    }
    enum { NB = 10000, NQ = 100, D = 128, NG = 100 };
    float *b = malloc((size_t)NB * D * sizeof(float)), *q = malloc((size_t)NQ * D * sizeof(float));
    int32_t *gt = malloc((size_t)NQ * NG * sizeof(int32_t));
    int32_t d;
    for (int i = 0; i < NB; i++) {
        assert_int_equal(fread(&d, 4, 1, fb), 1);
        assert_int_equal(d, D);
        assert_int_equal(fread(b + (size_t)i * D, 4, D, fb), D);
    }
    for (int i = 0; i < NQ; i++) {
        assert_int_equal(fread(&d, 4, 1, fq), 1);
        assert_int_equal(fread(q + (size_t)i * D, 4, D, fq), D);
        assert_int_equal(fread(&d, 4, 1, fg), 1);
        assert_int_equal(d, NG);
        assert_int_equal(fread(gt + (size_t)i * NG, 4, NG, fg), NG);
    }
    fclose(fb);
    fclose(fq);
    fclose(fg);
    static const enum vec_storage types[] = {VEC_STORE_F32, VEC_STORE_I8};
    for (int t = 0; t < 2; t++) {
        struct hnsw_params p;
        struct hnsw *h = NULL;
        struct err e;
        size_t hits = 0;
        hnsw_default_params(&p, D);
        p.storage = types[t];
        p.keep_f32 = t == 1;
        assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
        assert_int_equal(hnsw_add_batch(h, NULL, b, NB, 2, &e), FRUGAL_OK);
        for (int i = 0; i < NQ; i++) {
            struct vec_hit got[K];
            size_t n;
            assert_int_equal(hnsw_search(h, q + (size_t)i * D, K, 0, NULL, got, &n, &e), FRUGAL_OK);
            for (int a = 0; a < K; a++)
                for (size_t c = 0; c < n; c++)
                    hits += gt[i * NG + a] == got[c].id;
        }
        double r = (double)hits / (NQ * K);
        print_message("SIFT10K %s recall@10 %.4f\n", t == 0 ? "f32" : "i8+rescore", r);
        assert_true(r >= 0.95);
        hnsw_free(h);
    }
    free(b);
    free(q);
    free(gt);
}

struct par_job {
    struct hnsw *h;
    int first;
    int64_t ids[N_QUERY];
};

static void *par_search(void *arg)
{
    struct par_job *j = arg;
    struct err e;
    for (int rep = 0; rep < 3; rep++) {
        for (int q = j->first; q < N_QUERY; q += 2) {
            struct vec_hit got[1];
            size_t n;
            if (hnsw_search(j->h, query_vecs + q * DIM, 1, 0, NULL, got, &n, &e) != FRUGAL_OK)
                j->ids[q] = -2;
            else
                j->ids[q] = n == 1 ? got[0].id : -1;
        }
    }
    return NULL;
}

static void test_parallel_searches(void **state)
{
    (void)state;
    struct hnsw *h = build(VEC_METRIC_L2, VEC_STORE_F32, false, 2);
    struct par_job jobs[2] = {{h, 0, {0}}, {h, 1, {0}}};
    pthread_t t;
    struct err e;
    assert_int_equal(pthread_create(&t, NULL, par_search, &jobs[1]), 0);
    par_search(&jobs[0]);
    pthread_join(t, NULL);
    for (int q = 0; q < N_QUERY; q++) {
        struct vec_hit got[1];
        size_t n;
        assert_int_equal(hnsw_search(h, query_vecs + q * DIM, 1, 0, NULL, got, &n, &e), FRUGAL_OK);
        assert_int_equal(jobs[q & 1].ids[q], got[0].id);
    }
    hnsw_free(h);
}

static void test_errors(void **state)
{
    (void)state;
    struct hnsw_params p;
    struct hnsw *h = NULL;
    struct err e;
    float v[4] = {1, 2, 3, 4};
    hnsw_default_params(&p, 0);
    assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_EINVAL);
    hnsw_default_params(&p, 4);
    p.storage = VEC_STORE_I8;
    assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 1, v, &e), FRUGAL_EINVAL); /* not trained */
    assert_int_equal(hnsw_train(h, v, 1, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 1, v, &e), FRUGAL_OK);
    assert_int_equal(hnsw_add(h, 1, v, &e), FRUGAL_EEXIST);
    assert_int_equal(hnsw_delete(h, 2, &e), FRUGAL_ENOTFOUND);
    assert_int_equal(hnsw_delete(h, 1, &e), FRUGAL_OK);
    {
        struct vec_hit got[3];
        size_t n = 9;
        assert_int_equal(hnsw_search(h, v, 3, 0, NULL, got, &n, &e), FRUGAL_OK);
        assert_int_equal(n, 0);
    }
    hnsw_free(h);
    hnsw_free(NULL);
    /* allocation failures leave the index usable */
    hnsw_default_params(&p, DIM);
    assert_int_equal(hnsw_new(&p, &h, &e), FRUGAL_OK);
    for (long fail = 0; fail < 60; fail++) {
        alloc_fail_after(fail);
        frugal_status rc = hnsw_add_batch(h, NULL, base_vecs, 200, 1, &e);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK)
            break;
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_int_equal(hnsw_count(h), 0);
    }
    assert_int_equal(hnsw_count(h), 200);
    hnsw_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_random),
        cmocka_unit_test(test_quantized_recall),
        cmocka_unit_test(test_delete_30_percent),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_compact_links),
        cmocka_unit_test(test_link_coding),
        cmocka_unit_test(test_parallel_build_connected),
        cmocka_unit_test(test_single_adds_stay_packed),
        cmocka_unit_test(test_churn_reuses_slots),
        cmocka_unit_test(test_dense_ids),
        cmocka_unit_test(test_rescore_on_disk),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_sift10k),
        cmocka_unit_test(test_parallel_searches),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
