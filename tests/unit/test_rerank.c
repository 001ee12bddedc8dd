/* test_rerank.c - cross-encoder reranking (src/query/rerank.c, frugal_reranker_* and
 * frugal_search's rerank step): the public handle's logits against the Hugging Face outputs of
 * ../shared/fixtures/bert-tiny-reranker, pairs scored one by one and in batches; a model
 * without the cross-encoder head refused; frugal_search reordering its top hits by logit, the
 * budget (0: none reranked, and said so; no limit: all), k kept after reranking a deeper list,
 * and the refusals. No timing asserts: budgets are only 0 or unlimited here. */
#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"

static char g_dir[256];
static char g_db[300];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-rerank-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void model_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/fixtures/%s", test_shared_dir(), name);
}

static bool have_fixture(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/bert-tiny-reranker/model.safetensors",
             test_shared_dir());
    return access(path, R_OK) == 0;
}

/* The fixture's (query, passage, logit) lines. */
struct pair {
    char *query;
    char *passage;
    double logit;
};

static size_t read_pairs(struct pair *out, size_t cap)
{
    char path[1024];
    struct buf data;
    struct err err;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/fixtures/bert-tiny-reranker/expected.jsonl",
             test_shared_dir());
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    for (size_t pos = 0; pos < data.len && n < cap;) {
        char *nl = memchr(data.ptr + pos, '\n', data.len - pos);
        size_t end = nl != NULL ? (size_t)(nl - data.ptr) : data.len;
        cJSON *c = cJSON_ParseWithLength(data.ptr + pos, end - pos);
        pos = end + 1;
        if (c == NULL)
            continue;
        out[n].query = strdup(cJSON_GetObjectItem(c, "query")->valuestring);
        out[n].passage = strdup(cJSON_GetObjectItem(c, "passage")->valuestring);
        out[n].logit = cJSON_GetObjectItem(c, "logit")->valuedouble;
        n++;
        cJSON_Delete(c);
    }
    buf_release(&data);
    return n;
}

static void test_logits(void **state)
{
    (void)state;
    if (!have_fixture())
        skip();
    char dir[1024];
    model_dir(dir, sizeof dir, "bert-tiny-reranker");
    frugal_reranker *r = NULL;
    if (frugal_reranker_open(dir, 1, &r) != FRUGAL_OK)
        fail_msg("open: %s", frugal_reranker_errmsg(r));
    struct pair pairs[64];
    size_t n = read_pairs(pairs, 64);
    assert_true(n >= 2);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        const char *p = pairs[i].passage;
        assert_int_equal(frugal_reranker_score(r, pairs[i].query, &p, 1, &s), FRUGAL_OK);
        double d = fabs((double)s - pairs[i].logit);
        worst = d > worst ? d : worst;
    }
    assert_true(worst < 1e-4);
    /* the pairs of one query in one call (batched), the same logits */
    const char *passages[64];
    float scores[64];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(pairs[i].query, pairs[0].query) == 0)
            passages[m++] = pairs[i].passage;
    assert_int_equal(frugal_reranker_score(r, pairs[0].query, passages, m, scores), FRUGAL_OK);
    for (size_t i = 0, j = 0; i < n; i++)
        if (strcmp(pairs[i].query, pairs[0].query) == 0)
            assert_true(fabs((double)scores[j++] - pairs[i].logit) < 1e-4);
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].query);
        free(pairs[i].passage);
    }
    assert_int_equal(frugal_reranker_score(r, "q", NULL, 1, scores), FRUGAL_EINVAL);
    frugal_reranker_free(r);
}

static void test_refused(void **state)
{
    (void)state;
    if (!have_fixture())
        skip();
    char dir[1024];
    frugal_reranker *r = NULL;
    /* an embedding model has no classifier head */
    model_dir(dir, sizeof dir, "bert-tiny-mean");
    assert_int_equal(frugal_reranker_open(dir, 1, &r), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_reranker_errmsg(r), "not a cross-encoder"));
    frugal_db *db = NULL;
    assert_int_equal(frugal_open(g_db, NULL, &db), FRUGAL_OK);
    assert_int_equal(frugal_use_reranker(db, r), FRUGAL_EINVAL);
    frugal_reranker_free(r);
    r = NULL;
    assert_int_not_equal(frugal_reranker_open("/nonexistent", 1, &r), FRUGAL_OK);
    assert_true(frugal_reranker_errmsg(r)[0] != '\0');
    frugal_reranker_free(r);
    frugal_reranker_free(NULL);
    /* asking for reranking with none attached */
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    assert_int_equal(sp.rerank_top_n, 0);
    assert_true(sp.rerank_budget_ms == FRUGAL_SEARCH_DEFAULT_RERANK_BUDGET_MS);
    sp.rerank_top_n = 5;
    frugal_results *res = NULL;
    assert_int_equal(frugal_search(db, "ocean", &sp, &res), FRUGAL_EINVAL);
    assert_non_null(strstr(frugal_errmsg(db), "no reranker"));
    assert_null(res);
    frugal_close(db);
}

static const char *const docs[] = {
    "Ocean tides rise and fall twice a day with the moon.",
    "The ocean is salty; whales and coral live in the ocean.",
    "Rockets burn fuel to reach orbit around the planet.",
    "A reef of coral grows slowly in warm ocean water.",
    "Tide pools hold small crabs when the ocean tide is low.",
    "Galaxies hold billions of stars and some ocean worlds.",
};

static frugal_results *search(frugal_db *db, size_t k, size_t top_n, double budget_ms)
{
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.k = k;
    sp.rerank_top_n = top_n;
    sp.rerank_budget_ms = budget_ms;
    frugal_results *res = NULL;
    if (frugal_search(db, "ocean tide", &sp, &res) != FRUGAL_OK)
        fail_msg("search: %s", frugal_errmsg(db));
    return res;
}

static void test_search_rerank(void **state)
{
    (void)state;
    if (!have_fixture())
        skip();
    char dir[1024];
    model_dir(dir, sizeof dir, "bert-tiny-reranker");
    frugal_reranker *r = NULL;
    if (frugal_reranker_open(dir, 1, &r) != FRUGAL_OK)
        fail_msg("open: %s", frugal_reranker_errmsg(r));
    frugal_db *db = NULL;
    assert_int_equal(frugal_open(g_db, NULL, &db), FRUGAL_OK);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%zu.txt", i);
        assert_int_equal(frugal_ingest_buffer(db, name, docs[i], strlen(docs[i]), NULL, NULL),
                         FRUGAL_OK);
    }
    frugal_results *plain = search(db, 10, 0, -1);
    size_t n = plain->n_hits;
    assert_true(n >= 4);
    assert_int_equal(plain->reranked, 0);
    assert_null(plain->rerank_note);
    assert_int_equal(frugal_use_reranker(db, r), FRUGAL_OK);

    /* no limit: the top 4 reranked, by logit, each the reranker's score of its text */
    frugal_results *res = search(db, 10, 4, -1);
    assert_int_equal(res->n_hits, n);
    assert_int_equal(res->reranked, 4);
    assert_null(res->rerank_note);
    for (size_t i = 0; i < 4; i++) {
        float s = 0;
        const char *t = res->hits[i].text;
        assert_int_equal(frugal_reranker_score(r, "ocean tide", &t, 1, &s), FRUGAL_OK);
        assert_true(fabs((double)s - res->hits[i].rerank_score) < 1e-5);
        if (i > 0)
            assert_true(res->hits[i - 1].rerank_score >= res->hits[i].rerank_score);
        /* the reranked are the retrieval's top 4, in another order */
        bool found = false;
        for (size_t j = 0; j < 4; j++)
            found = found || res->hits[i].chunk_id == plain->hits[j].chunk_id;
        assert_true(found);
    }
    /* the rest keep their retrieval order and scores */
    for (size_t i = 4; i < n; i++) {
        assert_int_equal(res->hits[i].chunk_id, plain->hits[i].chunk_id);
        assert_true(res->hits[i].rerank_score == 0.0);
    }
    frugal_results_free(res);

    /* a budget of 0 reranks none and says so; the order is the retrieval's */
    res = search(db, 10, 4, 0);
    assert_int_equal(res->reranked, 0);
    assert_non_null(res->rerank_note);
    assert_string_equal(res->rerank_note, "rerank budget 0 ms: none of 4 hits reranked");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(res->hits[i].chunk_id, plain->hits[i].chunk_id);
    frugal_results_free(res);

    /* reranking deeper than k: all n looked at, 2 kept, the best two by logit */
    frugal_results *all = search(db, 10, 10, -1);
    assert_int_equal(all->reranked, n);
    res = search(db, 2, 10, -1);
    assert_int_equal(res->n_hits, 2);
    assert_int_equal(res->reranked, 2);
    assert_int_equal(res->hits[0].chunk_id, all->hits[0].chunk_id);
    assert_int_equal(res->hits[1].chunk_id, all->hits[1].chunk_id);
    frugal_results_free(res);
    frugal_results_free(all);
    frugal_results_free(plain);

    /* detached: asking again is refused */
    assert_int_equal(frugal_use_reranker(db, NULL), FRUGAL_OK);
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.rerank_top_n = 3;
    assert_int_equal(frugal_search(db, "ocean", &sp, &res), FRUGAL_EINVAL);
    frugal_close(db);
    frugal_reranker_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_rerank, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
