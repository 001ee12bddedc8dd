/*
 * fuzz_api_json.c - libFuzzer target for the HTTP API's JSON edge (app/server/api_json.c):
 * the request-body parsers of /v1/search, /v1/ask, /v1/collections, /ingest and /sync,
 * /v1/embeddings and /v1/keys, and the document-name check.
 *
 * Every input goes to every parser; whatever they accept must hold the documented invariants
 * (k in range, filters with 1+ values, at least one path or input), and release must free
 * everything (ASan reports leaks). The parsers are compiled into this target directly, since
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
        for (size_t i = 0; i < s.n_filters; i++)
            assert(s.filters[i].key != NULL && s.filters[i].n_values >= 1);
    }
    api_search_req_release(&s);

    struct api_ask_req a;
    if (api_parse_ask(body, size, &a, msg, sizeof msg))
        assert(a.question != NULL && a.k <= 100);
    api_ask_req_release(&a);

    struct api_chat_req ch;
    if (api_parse_chat(body, size, &ch, msg, sizeof msg))
        assert(ch.model != NULL && ch.question != NULL && ch.question[0] != '\0');
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
