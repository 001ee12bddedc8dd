/*
 * fuzz_eval.c - libFuzzer target for the evaluation input parsers and gzip: the first byte picks
 * the parser (BEIR qrels, Cranfield qrels, BEIR queries JSONL, cran.qry, cran.all.1400, gunzip),
 * the rest is its input. Invariants: no crash, leak or hang; a success yields well-formed items
 * (non-NULL ids, grades in range), a failure a message.
 */
#include <stdint.h>
#include <string.h>

#include "base/fs.h"
#include "eval/eval.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct err e;
    err_clear(&e);
    frugal_status rc = FRUGAL_OK;
    switch (data[0] % 6) {
    case 0:
    case 1: {
        struct eval_qrels q;
        eval_qrels_init(&q);
        rc = data[0] % 6 == 0 ? eval_qrels_parse_beir(in, len, &q, &e)
                              : eval_qrels_parse_cranfield(in, len, &q, &e);
        if (rc == FRUGAL_OK) {
            for (size_t i = 0; i < q.n; i++)
                CHECK(q.items[i].query_id != NULL && q.items[i].doc_id != NULL);
        }
        eval_qrels_release(&q);
        break;
    }
    case 2:
    case 3: {
        struct eval_queries q;
        eval_queries_init(&q);
        rc = data[0] % 6 == 2 ? eval_queries_parse_jsonl(in, len, &q, &e)
                              : eval_queries_parse_cranfield(in, len, &q, &e);
        if (rc == FRUGAL_OK) {
            for (size_t i = 0; i < q.n; i++)
                CHECK(q.items[i].id != NULL && q.items[i].text != NULL);
        }
        eval_queries_release(&q);
        break;
    }
    case 4: {
        struct buf out;
        buf_init(&out, 0);
        size_t n_docs = 0;
        rc = eval_cranfield_docs_to_jsonl(in, len, &out, &n_docs, &e);
        buf_release(&out);
        break;
    }
    default: {
        struct buf out;
        buf_init(&out, 0);
        rc = fs_gunzip(in, len, 8u << 20, &out, &e);
        CHECK(rc != FRUGAL_OK || out.len <= (8u << 20));
        buf_release(&out);
        break;
    }
    }
    CHECK(rc == FRUGAL_OK || rc == FRUGAL_ENOMEM || e.msg[0] != '\0');
    return 0;
}
