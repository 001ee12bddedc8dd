/*
 * fuzz_squad.c - libFuzzer target for the SQuAD JSON parser (src/eval/squad.c) and the answer
 * normalization. Invariants: no crash, leak or hang; a success yields well-formed items (non-NULL
 * strings, paragraph and article indexes in range), a failure a message; normalizing twice
 * changes nothing.
 */
#include <stdint.h>
#include <string.h>

#include "eval/squad.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    struct squad_set s;
    struct err e;
    err_clear(&e);
    frugal_status rc = squad_parse((const char *)data, size, &s, &e);
    if (rc == FRUGAL_OK) {
        for (size_t i = 0; i < s.n_paragraphs; i++)
            CHECK(s.paragraphs[i].context != NULL && s.paragraphs[i].article < s.n_articles);
        for (size_t i = 0; i < s.n_questions; i++) {
            CHECK(s.questions[i].id != NULL && s.questions[i].question != NULL);
            CHECK(s.questions[i].paragraph < s.n_paragraphs);
            for (size_t j = 0; j < s.questions[i].n_answers; j++)
                CHECK(s.questions[i].answers[j] != NULL);
        }
    } else {
        CHECK(e.msg[0] != '\0');
    }
    squad_set_release(&s);
    struct buf a;
    struct buf b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    if (squad_normalize((const char *)data, size, &a) == FRUGAL_OK &&
        squad_normalize(a.ptr, a.len, &b) == FRUGAL_OK)
        CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
    buf_release(&a);
    buf_release(&b);
    return 0;
}
