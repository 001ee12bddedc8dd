/*
 * fuzz_api_json.c - libFuzzer target for the HTTP API's JSON edge (app/server/api_json.c):
 * the request-body parsers of /v1/search, /v1/ask, /v1/chat/completions, /v1/collections,
 * /ingest and /sync, /v1/embeddings, /v1/keys and /v1/budgets, and the document-name check.
 *
 * Every input goes to every parser; whatever they accept must hold the documented invariants
 * (k in range, filters with 1+ values, a known search or ask mode, rerank_top_n, rerank_budget_ms
 * and cache_similarity in range, at least one path or input, a budget limit >= 0 with a known
 * period), and release must free everything (ASan reports leaks). The seeds in
 * tests/fuzz/corpus/fuzz_api_json/ carry every field, so that mutations start from bodies each
 * parser accepts. The parsers are compiled into this target directly, since
 * app/ code is not part of libfrugal.a.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/server/api_json.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char msg[256];

    struct api_search_req s;
    if (api_parse_search(body, size, &s, msg, sizeof msg)) {
        assert(s.query != NULL && s.k >= 1 && s.k <= 10000);
        assert(s.mode == FRUGAL_SEARCH_BM25 || s.mode == FRUGAL_SEARCH_DENSE ||
               s.mode == FRUGAL_SEARCH_HYBRID);
        assert(s.rerank_top_n <= 10000 && s.rerank_budget_ms >= -1 &&
               s.rerank_budget_ms <= 600000);
        for (size_t i = 0; i < s.n_filters; i++)
            assert(s.filters[i].key != NULL && s.filters[i].n_values >= 1);
    }
    api_search_req_release(&s);

    struct api_ask_req a;
    if (api_parse_ask(body, size, &a, msg, sizeof msg)) {
        assert(a.question != NULL && a.k <= 100);
        assert(a.mode == FRUGAL_ASK_AUTO || a.mode == FRUGAL_ASK_EXTRACTIVE ||
               a.mode == FRUGAL_ASK_GENERATE);
        assert(a.cache_similarity >= 0 && a.cache_similarity <= 2);
        assert(a.rerank_top_n <= 10000 && a.rerank_budget_ms >= -1 &&
               a.rerank_budget_ms <= 600000);
    }
    api_ask_req_release(&a);

    struct api_chat_req ch;
    if (api_parse_chat(body, size, &ch, msg, sizeof msg)) {
        assert(ch.model != NULL && ch.question != NULL && ch.question[0] != '\0');
        assert(ch.cache_similarity >= 0 && ch.cache_similarity <= 2);
        assert(ch.rerank_top_n <= 10000 && ch.rerank_budget_ms >= -1 &&
               ch.rerank_budget_ms <= 600000);
    }
    api_chat_req_release(&ch);

    struct api_collection_req c;
    if (api_parse_collection(body, size, &c, msg, sizeof msg))
        assert(c.name != NULL);
    api_collection_req_release(&c);

    struct api_paths_req p;
    if (api_parse_paths(body, size, &p, msg, sizeof msg))
        assert(p.n_paths >= 1 && p.paths[0] != NULL);
    api_paths_req_release(&p);

    struct api_embeddings_req e;
    if (api_parse_embeddings(body, size, &e, msg, sizeof msg))
        assert(e.model != NULL && e.n_input >= 1);
    api_embeddings_req_release(&e);

    struct api_key_req k;
    if (api_parse_key(body, size, &k, msg, sizeof msg))
        assert(k.role <= FRUGAL_KEY_ADMIN);
    api_key_req_release(&k);

    struct api_budget_req b;
    if (api_parse_budget(body, size, &b, msg, sizeof msg)) {
        assert(b.limit >= 0 && b.limit <= API_MAX_BUDGET_LIMIT);
        assert(!b.has_period || b.period == FRUGAL_BUDGET_LIFETIME ||
               b.period == FRUGAL_BUDGET_DAILY || b.period == FRUGAL_BUDGET_MONTHLY);
    }

    char *name = malloc(size + 1);
    if (name != NULL) {
        memcpy(name, data, size);
        name[size] = '\0';
        if (api_name_ok(name))
            assert(name[0] != '/' && strstr(name, "/../") == NULL && strncmp(name, "../", 3) != 0);
        free(name);
    }
    return 0;
}
