/* test_router.c - the router (src/answer/router.c) on synthetic inputs, and frugal_ask's routes
 * end to end against a loopback OpenAI-compatible server this test runs itself (a thread on
 * 127.0.0.1, scripted per request, pattern of test_generator.c): a confident question stays on
 * the CPU, an unconfident one is generated with its citations checked and mapped to chunks, a
 * generator failing with 500s opens its circuit and every question still gets an extractive
 * answer flagged "generator unavailable", then closes again once the server recovers and the
 * cool-down passes; mode overrides; the answer cache (exact hit, invalidation by re-ingestion
 * and deletion, TTL, LRU; near-duplicate hits by embedding cosine with a bag-of-words test
 * embedder: a reworded question hits, a threshold above its cosine or another collection does
 * not, re-ingesting the document drops it, the question is embedded once); the BM25/dense
 * disagreement raise and its reason; cost from a price table; budgets. Never leaves the
 * machine. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

#include "answer/cache.h"
#include "answer/generator.h"
#include "answer/router.h"
#include "base/buf.h"
#include "frugal_internal.h"
#include "loopback.h"
#include "store/store.h"

enum mode { M_OK, M_500 };

struct server {
    struct loopback lb;
    volatile enum mode mode;
    volatile int n_requests;
};

static struct server srv;
static char url[64];
static char g_dir[256];
static char g_db[300];

static void handle(int fd)
{
    char req[1 << 16];
    char *body;
    size_t content_length;
    if (!loopback_read_request(fd, req, sizeof(req), &body, &content_length))
        return;
    __atomic_add_fetch(&srv.n_requests, 1, __ATOMIC_SEQ_CST);
    if (srv.mode == M_500) {
        loopback_respond(fd, 500, "", "{\"error\":{\"message\":\"GPU on fire\"}}");
        return;
    }
    loopback_respond(fd, 200, "",
                     "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                     "\"message\":{\"role\":\"assistant\",\"content\":\"They erupt when magma "
                     "rises [1] [7].\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
                     "1000,\"completion_tokens\":500,\"total_tokens\":1500}}");
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/frugal-router-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/t.db", g_dir);
    memset(&srv, 0, sizeof(srv));
    if (loopback_start(&srv.lb, handle) != 0)
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.lb.port);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    loopback_stop(&srv.lb);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- The router on synthetic inputs ------------------------------------------------------ */

static void test_question_features(void **state)
{
    struct router_question q;
    (void)state;
    router_question_features("Why do volcanoes erupt?", &q);
    assert_true(q.explanation);
    assert_string_equal(q.qword, "why");
    router_question_features("What is the difference between basalt and granite?", &q);
    assert_true(q.comparison);
    router_question_features("Compare Paris and Rome", &q);
    assert_true(q.comparison);
    router_question_features("When was it built and who designed it?", &q);
    assert_true(q.multi_part);
    router_question_features("How many moons does Mars have?", &q);
    assert_false(router_question_complex(&q));
    assert_int_equal(q.n_words, 6);
    router_question_features("How does a volcano form?", &q);
    assert_true(q.explanation);
}

static void test_decide(void **state)
{
    struct router_config c;
    struct router_inputs in;
    struct router_decision d;
    struct gen_health h[2];
    const char *names[2] = {"openai:a", "openai:b"};
    (void)state;
    router_default_config(&c);
    assert_true(c.min_confidence == FRUGAL_ASK_DEFAULT_THRESHOLD);
    memset(&in, 0, sizeof in);
    memset(h, 0, sizeof h);
    in.mode = FRUGAL_ASK_AUTO;
    in.retrieved = true;
    in.agreement = -1;
    in.health = h;
    in.names = names;
    in.n_generators = 2;
    router_question_features("What is the capital of France?", &in.question);

    in.confidence = 0.9;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    in.confidence = 0.5;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    /* a complex question needs more confidence */
    in.confidence = 0.8;
    router_question_features("Why is Paris the capital?", &in.question);
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    assert_true(fabs(d.threshold - (c.min_confidence + c.complex_raise)) < 1e-9);
    /* BM25 and dense disagreeing raise the threshold, and the reason gives the figure */
    router_question_features("What is the capital of France?", &in.question);
    in.confidence = c.min_confidence + 0.03; /* above the threshold, below it once raised */
    in.agreement = 0.8;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    assert_null(strstr(d.reason, "agreement"));
    in.agreement = 0.2;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    assert_true(fabs(d.threshold - (c.min_confidence + c.disagree_raise)) < 1e-9);
    assert_non_null(strstr(d.reason, "BM25 and dense disagree (agreement 0.20 < 0.50)"));
    /* with a complex question both raises apply and both are named */
    router_question_features("Why is Paris the capital?", &in.question);
    in.confidence = 0.8;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    assert_non_null(strstr(d.reason, "explanation question, BM25 and dense disagree"));
    in.agreement = -1;
    /* one generator open, the other at capacity: unavailable */
    h[0].circuit = GEN_OPEN;
    h[1].capacity = 2;
    h[1].in_flight = 2;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    assert_non_null(strstr(d.reason, "generator unavailable: openai:a circuit open"));
    h[1].in_flight = 1; /* the second has room */
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    /* budget */
    in.has_budget = true;
    in.budget_left = 0.01;
    in.estimated_cost = 0.02;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    assert_non_null(strstr(d.reason, "generator unavailable: budget exhausted"));
    in.has_budget = false;
    /* overrides */
    in.mode = FRUGAL_ASK_EXTRACTIVE;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    in.mode = FRUGAL_ASK_GENERATE;
    in.confidence = 0.99;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_GENERATE);
    in.mode = FRUGAL_ASK_AUTO;
    in.n_generators = 0;
    in.confidence = 0.1;
    router_decide(&c, &in, &d);
    assert_int_equal(d.route, ROUTER_EXTRACTIVE);
    assert_non_null(strstr(d.reason, "generator unavailable: no generator configured"));
    in.retrieved = false;
    router_decide(&c, &in, &d);
    assert_string_equal(d.reason, "nothing retrieved for the question");
}

/* ---- frugal_ask end to end ----------------------------------------------------------------- */

static const char volcano[] =
    "Volcanoes erupt when magma rises through the crust. The largest eruption of 1815 was "
    "Tambora.\n\nBasalt cools quickly.\n";
static const char penguin[] =
    "Emperor penguins huddle together through the Antarctic winter. The males keep the egg on "
    "their feet for two months.\n";

static frugal_db *open_db(void)
{
    frugal_db *db = NULL;
    assert_int_equal(frugal_open(g_db, NULL, &db), FRUGAL_OK);
    assert_int_equal(frugal_ingest_buffer(db, "volcano.txt", volcano, strlen(volcano), NULL,
                                          NULL),
                     FRUGAL_OK);
    assert_int_equal(frugal_ingest_buffer(db, "penguin.txt", penguin, strlen(penguin), NULL,
                                          NULL),
                     FRUGAL_OK);
    return db;
}

static frugal_generator *open_gen(int failure_threshold, long cooldown_ms)
{
    frugal_generator_params gp;
    frugal_generator *g = NULL;
    frugal_generator_default_params(&gp);
    gp.max_retries = 0;
    gp.failure_threshold = failure_threshold;
    gp.cooldown_ms = cooldown_ms;
    gp.timeout_ms = 5000;
    char spec[128];
    snprintf(spec, sizeof spec, "openai:m@%s", url);
    assert_int_equal(frugal_generator_open(spec, &gp, &g), FRUGAL_OK);
    assert_string_equal(frugal_generator_name(g), "openai:m");
    return g;
}

/* Questions the tests want generated ask with threshold 1 (confidence is always below it), so
 * that they do not hang on the extractive model's exact output for a tiny corpus. */
#define LOW "\x01"

static frugal_answer *ask(frugal_db *db, const char *q, frugal_ask_mode mode, bool no_cache)
{
    frugal_ask_params p;
    frugal_answer *a = NULL;
    frugal_ask_default_params(&p);
    if (q[0] == LOW[0]) {
        q++;
        p.min_confidence = 1.0;
    }
    p.mode = mode;
    p.no_cache = no_cache;
    frugal_status rc = frugal_ask(db, q, &p, &a);
    if (rc != FRUGAL_OK)
        fail_msg("ask: %s", frugal_errmsg(db));
    return a;
}

static void test_routes_and_cost(void **state)
{
    (void)state;
    setenv("FRUGAL_PRICES", "openai:m 0.5 1.5; cpu-hour 0", 1);
    frugal_db *db = open_db();
    frugal_generator *g = open_gen(3, 30000);
    frugal_answer *a = NULL;
    frugal_ask_params p;
    frugal_ask_default_params(&p);
    p.mode = FRUGAL_ASK_GENERATE;
    assert_int_equal(frugal_ask(db, "Why do volcanoes erupt?", &p, &a), FRUGAL_EUNSUPPORTED);
    assert_int_equal(frugal_use_generators(db, &g, 1), FRUGAL_OK);
    srv.mode = M_OK;
    srv.n_requests = 0;

    /* confident: the CPU answers, the server is not called */
    a = ask(db, "How long do the males keep the egg on their feet?", FRUGAL_ASK_AUTO, false);
    assert_string_equal(a->route, "extractive");
    assert_true(a->confidence >= FRUGAL_ASK_DEFAULT_THRESHOLD);
    assert_int_equal(srv.n_requests, 0);
    assert_true(a->cost_usd == 0.0);
    frugal_answer_free(a);

    /* an explanation question below the raised threshold: generated */
    a = ask(db, LOW "Why do volcanoes erupt?", FRUGAL_ASK_AUTO, false);
    assert_string_equal(a->route, "generate");
    assert_int_equal(srv.n_requests, 1);
    assert_string_equal(a->text, "They erupt when magma rises [1].");
    assert_int_equal(a->citations_removed, 1);
    assert_int_equal(a->n_citations, 1);
    assert_string_equal(a->citations[0].source, "volcano.txt");
    assert_non_null(strstr(a->citations[0].snippet, "magma rises"));
    assert_int_equal(a->prompt_tokens, 1000);
    assert_int_equal(a->completion_tokens, 500);
    assert_string_equal(a->generator, "openai:m");
    /* 1000 * 0.5 / 1000 + 500 * 1.5 / 1000 */
    assert_true(a->cost_usd > 1.2499 && a->cost_usd < 1.2501);
    assert_true(a->timings_ms.generate_ms > 0);
    frugal_answer_free(a);

    /* the same question again, differently spelled: from the cache, no call */
    a = ask(db, "  why do VOLCANOES erupt ", FRUGAL_ASK_AUTO, false);
    assert_string_equal(a->route, "cache");
    assert_int_equal(srv.n_requests, 1);
    assert_string_equal(a->text, "They erupt when magma rises [1].");
    assert_int_equal(a->n_citations, 1);
    assert_true(a->cost_usd == 0.0);
    frugal_answer_free(a);

    /* mode extractive skips cache and generator */
    a = ask(db, "Why do volcanoes erupt?", FRUGAL_ASK_EXTRACTIVE, false);
    assert_string_equal(a->route, "extractive");
    frugal_answer_free(a);
    /* mode generate on a confident question */
    a = ask(db, "How long do the males keep the egg on their feet?", FRUGAL_ASK_GENERATE, true);
    assert_string_equal(a->route, "generate");
    assert_int_equal(srv.n_requests, 2);
    frugal_answer_free(a);

    /* budget: 2 units allowed, each generation costs 1.25 (estimate with 512 tokens ~ 0.9) */
    assert_int_equal(frugal_set_budget(db, "default", 1.0), FRUGAL_OK);
    a = ask(db, LOW "Why is basalt cooling?", FRUGAL_ASK_AUTO, true);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    a = ask(db, LOW "Why is basalt cooling?", FRUGAL_ASK_AUTO, true);
    assert_string_equal(a->route, "extractive");
    assert_non_null(strstr(a->reason, "generator unavailable: budget of collection 'default' "
                                      "exhausted (spent 1.25 of 1, "));
    frugal_answer_free(a);
    /* the budget is in the database: a second handle sees it spent, and a forced generation
     * does not lift it */
    {
        frugal_db *db2 = NULL;
        frugal_budget b;
        assert_int_equal(frugal_open(g_db, NULL, &db2), FRUGAL_OK);
        assert_int_equal(frugal_use_generators(db2, &g, 1), FRUGAL_OK);
        assert_int_equal(frugal_budget_get(db2, FRUGAL_BUDGET_COLLECTION, "default", 0, &b),
                         FRUGAL_OK);
        assert_true(b.limit == 1.0 && b.spent > 1.2499 && b.spent < 1.2501 && b.left < 0);
        a = ask(db2, LOW "Why is basalt cooling?", FRUGAL_ASK_GENERATE, true);
        assert_string_equal(a->route, "extractive");
        assert_non_null(strstr(a->reason, "budget of collection 'default' exhausted"));
        assert_non_null(strstr(a->reason, "generation requested"));
        frugal_answer_free(a);
        /* raising the limit keeps what was spent */
        assert_int_equal(frugal_set_budget(db2, "default", 3.0), FRUGAL_OK);
        a = ask(db, LOW "Why is basalt cooling?", FRUGAL_ASK_AUTO, true);
        assert_string_equal(a->route, "generate");
        frugal_answer_free(a);
        assert_int_equal(frugal_budget_get(db2, FRUGAL_BUDGET_COLLECTION, "default", 0, &b),
                         FRUGAL_OK);
        assert_true(b.spent > 2.4999 && b.spent < 2.5001);
        frugal_close(db2);
    }
    assert_int_equal(frugal_set_budget(db, "default", -1), FRUGAL_OK);
    assert_int_equal(frugal_set_budget(db, "default", -1), FRUGAL_OK); /* none: no error */
    /* a key's budget binds the answers asked with that key only, and is charged for them */
    {
        char *key = NULL;
        int64_t id = 0;
        char want[96];
        frugal_ask_params kp;
        frugal_budget b;
        assert_int_equal(frugal_key_create(db, FRUGAL_KEY_READER, NULL, 0, &key, &id),
                         FRUGAL_OK);
        frugal_free(key);
        assert_int_equal(frugal_budget_set(db, FRUGAL_BUDGET_KEY, NULL, id, 0.0,
                                           FRUGAL_BUDGET_DAILY, false),
                         FRUGAL_OK);
        frugal_ask_default_params(&kp);
        kp.min_confidence = 1.0;
        kp.no_cache = true;
        kp.api_key_id = id;
        assert_int_equal(frugal_ask(db, "Why is basalt cooling?", &kp, &a), FRUGAL_OK);
        assert_string_equal(a->route, "extractive");
        snprintf(want, sizeof want, "generator unavailable: budget of key %lld exhausted (spent 0 "
                 "of 0, ", (long long)id);
        assert_non_null(strstr(a->reason, want));
        frugal_answer_free(a);
        kp.api_key_id = 0;
        assert_int_equal(frugal_ask(db, "Why is basalt cooling?", &kp, &a), FRUGAL_OK);
        assert_string_equal(a->route, "generate");
        frugal_answer_free(a);
        assert_int_equal(frugal_budget_set(db, FRUGAL_BUDGET_KEY, NULL, id, 10.0,
                                           FRUGAL_BUDGET_DAILY, false),
                         FRUGAL_OK);
        kp.api_key_id = id;
        assert_int_equal(frugal_ask(db, "Why is basalt cooling?", &kp, &a), FRUGAL_OK);
        assert_string_equal(a->route, "generate");
        frugal_answer_free(a);
        assert_int_equal(frugal_budget_get(db, FRUGAL_BUDGET_KEY, NULL, id, &b), FRUGAL_OK);
        assert_true(b.spent > 1.2499 && b.spent < 1.2501);
        assert_int_equal(frugal_budget_clear(db, FRUGAL_BUDGET_KEY, NULL, id), FRUGAL_OK);
    }

    frugal_close(db);
    frugal_generator_free(g);
    unsetenv("FRUGAL_PRICES");
}

static void test_cache_invalidation(void **state)
{
    (void)state;
    frugal_db *db = open_db();
    frugal_generator *g = open_gen(3, 30000);
    assert_int_equal(frugal_use_generators(db, &g, 1), FRUGAL_OK);
    srv.mode = M_OK;
    srv.n_requests = 0;
    frugal_answer *a = ask(db, LOW "Why do volcanoes erupt?", FRUGAL_ASK_AUTO, false);
    assert_true(strcmp(a->route, "generate") == 0 || strcmp(a->route, "cache") == 0);
    frugal_answer_free(a);
    a = ask(db, "Why do volcanoes erupt?", FRUGAL_ASK_AUTO, false);
    assert_string_equal(a->route, "cache");
    frugal_answer_free(a);
    /* re-ingesting the document it used drops the entry */
    const char changed[] = "Volcanoes erupt when pressure builds up under the crust.\n";
    assert_int_equal(frugal_ingest_buffer(db, "volcano.txt", changed, strlen(changed), NULL, NULL),
                     FRUGAL_OK);
    a = ask(db, LOW "Why do volcanoes erupt?", FRUGAL_ASK_AUTO, false);
    assert_string_not_equal(a->route, "cache");
    frugal_answer_free(a);
    a = ask(db, "Why do penguins huddle?", FRUGAL_ASK_GENERATE, false);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    a = ask(db, "Why do penguins huddle?", FRUGAL_ASK_AUTO, false);
    assert_string_equal(a->route, "cache");
    frugal_answer_free(a);
    /* deleting it too */
    size_t n = 0;
    assert_int_equal(frugal_document_delete_source(db, NULL, "penguin.txt", &n), FRUGAL_OK);
    frugal_answer *b = NULL;
    frugal_ask_params p;
    frugal_ask_default_params(&p);
    assert_int_equal(frugal_ask(db, "Why do penguins huddle?", &p, &b), FRUGAL_OK);
    assert_string_not_equal(b->route, "cache");
    frugal_answer_free(b);
    frugal_close(db);
    frugal_generator_free(g);
}

/* A bag-of-words embedder (test_hybrid.c's): each ASCII word adds 1 to dim hash(word) % 32,
 * so that a question and its rewording with a word or two changed are cosine-close. */
static int n_embedded; /* texts words_embed was given */

static frugal_status words_embed(void *self, const char *const *texts, size_t n, float *out,
                                 char *errbuf, size_t errbuf_size)
{
    n_embedded += (int)n;
    for (size_t i = 0; i < n; i++) {
        float *v = out + i * 32;
        memset(v, 0, 32 * sizeof *v);
        for (const char *p = texts[i]; *p != '\0';) {
            uint32_t x = 2166136261u;
            size_t len = 0;
            for (; (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'; p++, len++)
                x = (x ^ (uint32_t)(*p | 0x20)) * 16777619u;
            if (len > 0)
                v[x % 32] += 1.0f;
            else
                p++;
        }
        v[0] += 0.01f;
    }
    return FRUGAL_OK;
}

static size_t words_dim(const void *self)
{
    return 32;
}

static const char *words_name(const void *self)
{
    return "words32";
}

static const frugal_embedder_vtable words_vt = {.embed = words_embed, .dim = words_dim,
                                                .name = words_name};

static frugal_answer *ask_in(frugal_db *db, const char *collection, const char *q,
                             double similarity)
{
    frugal_ask_params p;
    frugal_answer *a = NULL;
    frugal_ask_default_params(&p);
    p.collection = collection;
    p.min_confidence = 1.0; /* generate unless cached */
    if (similarity > 0)
        p.cache_similarity = similarity;
    if (frugal_ask(db, q, &p, &a) != FRUGAL_OK)
        fail_msg("ask: %s", frugal_errmsg(db));
    return a;
}

#define NEAR "why do the volcanoes erupt when magma rises through the crust"

static void test_cache_near_duplicate(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/near.db", g_dir);
    frugal_db *db = NULL;
    frugal_embedder *emb = NULL;
    assert_int_equal(frugal_open(path, NULL, &db), FRUGAL_OK);
    assert_int_equal(frugal_embedder_new(&words_vt, NULL, &emb), FRUGAL_OK);
    const char *names[2] = {"e1", "e2"};
    for (int c = 0; c < 2; c++) {
        frugal_collection_params cp;
        frugal_collection_default_params(&cp);
        cp.embedder = "custom:words32";
        assert_int_equal(frugal_collection_create(db, names[c], &cp), FRUGAL_OK);
        assert_int_equal(frugal_use_embedder(db, names[c], emb), FRUGAL_OK);
        frugal_ingest_params ip;
        frugal_ingest_default_params(&ip);
        ip.collection = names[c];
        assert_int_equal(frugal_ingest_buffer(db, "volcano.txt", volcano, strlen(volcano), &ip,
                                              NULL),
                         FRUGAL_OK);
        assert_int_equal(frugal_ingest_buffer(db, "penguin.txt", penguin, strlen(penguin), &ip,
                                              NULL),
                         FRUGAL_OK);
    }
    frugal_generator *g = open_gen(3, 30000);
    assert_int_equal(frugal_use_generators(db, &g, 1), FRUGAL_OK);
    srv.mode = M_OK;
    n_embedded = 0;
    frugal_answer *a =
        ask_in(db, "e1", "Why do volcanoes erupt when magma rises through the crust?", 0);
    assert_string_equal(a->route, "generate");
    /* embedded once: for the cache lookup, and the hybrid search reused it */
    assert_int_equal(n_embedded, 1);
    frugal_answer_free(a);
    int before = srv.n_requests;
    /* reworded: no exact hit, a near-duplicate one (one more "the": cosine 11/sqrt(130) =
     * 0.96 when no two words share a dimension) */
    a = ask_in(db, "e1", NEAR, 0);
    assert_string_equal(a->route, "cache");
    assert_non_null(strstr(a->reason, "near-duplicate cache hit (cosine 0."));
    assert_int_equal(srv.n_requests, before);
    assert_int_equal(a->prompt_tokens, 0);
    frugal_answer_free(a);
    /* a threshold above the pair's cosine, or > 1: a miss */
    a = ask_in(db, "e1", NEAR, 1.5);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    /* an unrelated question is not close enough */
    a = ask_in(db, "e1", "How long do the males keep the egg?", 0);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    /* never across collections: e2 has no entry for it */
    a = ask_in(db, "e2", NEAR, 0);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    /* changing the document the entry used drops it, near-duplicates included */
    a = ask_in(db, "e1", NEAR, 0);
    assert_string_equal(a->route, "cache");
    frugal_answer_free(a);
    const char changed[] = "Volcanoes erupt when pressure builds up under the crust.\n";
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    ip.collection = "e1";
    assert_int_equal(frugal_ingest_buffer(db, "volcano.txt", changed, strlen(changed), &ip, NULL),
                     FRUGAL_OK);
    a = ask_in(db, "e1", "why do volcanoes erupt, then", 0);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    frugal_close(db);
    frugal_generator_free(g);
    frugal_embedder_free(emb);
}

static void test_cache_ttl_lru(void **state)
{
    (void)state;
    frugal_db *db = open_db();
    struct store *st = db_store(db);
    struct err e;
    struct collection_row row;
    struct cache_opts o;
    err_clear(&e);
    memset(&row, 0, sizeof row);
    assert_int_equal(store_collection_get(st, "default", &row, &e), FRUGAL_OK);
    cache_default_opts(&o);
    o.max_entries = 2;
    o.ttl_s = 100;
    frugal_answer a;
    memset(&a, 0, sizeof a);
    a.text = "answer";
    a.reason = "why";
    int64_t doc = 1;
    char *k = cache_normalize("  Hello   World?! ");
    assert_string_equal(k, "hello world");
    frugal_free(k);
    o.now = 1000;
    assert_int_equal(cache_store(st, row.id, "q1", NULL, 0, &a, &doc, 1, &o, &e), FRUGAL_OK);
    o.now = 1001;
    assert_int_equal(cache_store(st, row.id, "q2", NULL, 0, &a, &doc, 1, &o, &e), FRUGAL_OK);
    /* q1 used at 1002: q2 is now the least recently used */
    frugal_answer *hit = NULL;
    o.now = 1002;
    assert_int_equal(cache_lookup(st, row.id, "q1", NULL, 0, &o, &hit, &e), FRUGAL_OK);
    assert_string_equal(hit->route, "cache");
    assert_string_equal(hit->text, "answer");
    frugal_answer_free(hit);
    o.now = 1003;
    assert_int_equal(cache_store(st, row.id, "q3", NULL, 0, &a, &doc, 1, &o, &e), FRUGAL_OK);
    int64_t count = 0;
    assert_int_equal(store_cache_count(st, row.id, &count, &e), FRUGAL_OK);
    assert_int_equal(count, 2);
    assert_int_equal(cache_lookup(st, row.id, "q2", NULL, 0, &o, &hit, &e), FRUGAL_ENOTFOUND);
    assert_int_equal(cache_lookup(st, row.id, "q1", NULL, 0, &o, &hit, &e), FRUGAL_OK);
    frugal_answer_free(hit);
    /* TTL: q1 was created at 1000 */
    o.now = 1101;
    assert_int_equal(cache_lookup(st, row.id, "q1", NULL, 0, &o, &hit, &e), FRUGAL_ENOTFOUND);
    assert_int_equal(cache_lookup(st, row.id, "q3", NULL, 0, &o, &hit, &e), FRUGAL_OK);
    frugal_answer_free(hit);
    assert_int_equal(store_cache_count(st, row.id, &count, &e), FRUGAL_OK);
    assert_int_equal(count, 1);
    collection_row_release(&row);
    frugal_close(db);
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_generator_killed_and_back(void **state)
{
    (void)state;
    frugal_db *db = open_db();
    frugal_generator *g = open_gen(2, 300);
    assert_int_equal(frugal_use_generators(db, &g, 1), FRUGAL_OK);
    srv.mode = M_500;
    srv.n_requests = 0;
    const char *qs[] = {LOW "Why do volcanoes erupt?", LOW "Why do penguins huddle?",
                        LOW "Why does basalt cool quickly?", LOW "How does Tambora compare?"};
    for (size_t i = 0; i < 4; i++) {
        frugal_answer *a = ask(db, qs[i], FRUGAL_ASK_AUTO, true);
        assert_string_equal(a->route, "extractive");
        assert_true(a->text[0] != '\0');
        assert_int_equal(strncmp(a->reason, "generator unavailable: ", 23), 0);
        if (i >= 2)
            assert_non_null(strstr(a->reason, "circuit open"));
        frugal_answer_free(a);
    }
    /* two failures opened the circuit: the later questions never reached the server */
    assert_int_equal(srv.n_requests, 2);
    struct gen_health h;
    gen_health(gen_of_public(g), &h);
    assert_int_equal(h.circuit, GEN_OPEN);
    /* the server returns; after the cool-down the next question probes and closes it */
    srv.mode = M_OK;
    nap_ms(350);
    frugal_answer *a = ask(db, LOW "Why do volcanoes erupt?", FRUGAL_ASK_AUTO, true);
    assert_string_equal(a->route, "generate");
    frugal_answer_free(a);
    gen_health(gen_of_public(g), &h);
    assert_int_equal(h.circuit, GEN_CLOSED);
    frugal_close(db);
    frugal_generator_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_question_features),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_routes_and_cost),
        cmocka_unit_test(test_cache_invalidation),
        cmocka_unit_test(test_cache_near_duplicate),
        cmocka_unit_test(test_cache_ttl_lru),
        cmocka_unit_test(test_generator_killed_and_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
