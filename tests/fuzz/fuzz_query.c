/*
 * fuzz_query.c - libFuzzer target for the search path: arbitrary bytes as a query (and as a
 * metadata filter value) against a small database. The query must never be taken as FTS5 syntax
 * nor fail: frugal_search returns FRUGAL_OK with hits sorted by score, or EINVAL only for the
 * documented argument limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frugal.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

static frugal_db *g_db;

static void setup_db(void)
{
    char path[] = "/tmp/frugal-fuzz-query-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    CHECK(frugal_open(path, NULL, &g_db) == FRUGAL_OK);
    const char *docs[] = {
        "# Title\n\nThe quick brown fox jumps over the lazy dog. \"Quoted\" AND NEAR(x y) text*.",
        "Café, naïve résumé; 数据库系统的设计; データベース; 3.14 e.g. Dr. Who",
        "column:value (parenthesis) ^caret -minus +plus {braces} [brackets]",
    };
    frugal_ingest_params ip;
    frugal_ingest_default_params(&ip);
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%zu.md", i);
        ip.metadata_json = i == 0 ? "{\"k\":\"v\",\"tags\":[\"a\",\"b\"]}" : "{\"k\":7}";
        CHECK(frugal_ingest_buffer(g_db, name, docs[i], strlen(docs[i]), &ip, NULL) ==
              FRUGAL_OK);
    }
    /* the database lives as long as the process; unlink it now, the open handle keeps it */
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    if (g_db == NULL)
        setup_db();
    char *q = malloc(size + 1);
    CHECK(q != NULL);
    memcpy(q, data, size);
    q[size] = '\0';
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.k = 5;
    sp.group_by_document = size > 0 && (data[0] & 1);
    const char *values[] = {q};
    frugal_filter f = {.key = size > 1 && (data[1] & 1) ? q : "k", .values = values, .n_values = 1};
    if (size > 0 && (data[0] & 2)) {
        sp.filters = &f;
        sp.n_filters = 1;
    }
    frugal_results *res = NULL;
    frugal_status rc = frugal_search(g_db, q, &sp, &res);
    CHECK(rc == FRUGAL_OK || rc == FRUGAL_EINVAL);
    if (rc == FRUGAL_EINVAL)
        CHECK(sp.n_filters == 1 && f.key == q);   /* only a bad filter key may be refused */
    if (rc == FRUGAL_OK) {
        for (size_t i = 1; i < res->n_hits; i++)
            CHECK(res->hits[i - 1].score >= res->hits[i].score);
    }
    frugal_results_free(res);
    free(q);
    return 0;
}
