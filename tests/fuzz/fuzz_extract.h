/*
 * fuzz_extract.h - what the extractor fuzz targets share: run extract_buffer on arbitrary bytes
 * and check the extractor contract.
 *
 * Invariants checked (a failure traps, so libFuzzer keeps the input): no crash, hang or leak;
 * every emitted block is non-empty, NUL-free up to its length and trimmed, headings have
 * levels 1..6; a title, when set, is non-empty; a failed record comes with a message; and a
 * failure of the whole input is one of the documented statuses and says why in err.
 */
#ifndef FRUGAL_FUZZ_EXTRACT_H
#define FRUGAL_FUZZ_EXTRACT_H

#include <stdint.h>
#include <string.h>

#include "ingest/extract.h"

#define FUZZ_MAX_INPUT (1 << 20)

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

static frugal_status check_doc(void *ctx, struct extracted *doc, frugal_status status,
                               const char *msg)
{
    if (doc == NULL) {
        CHECK(status != FRUGAL_OK && msg != NULL && msg[0] != '\0');
        return FRUGAL_OK;
    }
    CHECK(status == FRUGAL_OK);
    CHECK(doc->title == NULL || doc->title[0] != '\0');
    for (size_t i = 0; i < doc->n_blocks; i++) {
        const struct block *b = &doc->blocks[i];
        CHECK(b->text != NULL && b->len > 0 && strlen(b->text) == b->len);
        CHECK(b->text[b->len - 1] != ' ' && b->text[b->len - 1] != '\n');
        CHECK(b->kind == BLOCK_CODE || (b->text[0] != ' ' && b->text[0] != '\n'));
        CHECK(b->kind != BLOCK_HEADING || (b->level >= 1 && b->level <= 6));
    }
    return FRUGAL_OK;
}

/* Runs one extractor on the input and checks the invariants above. */
static inline int fuzz_extract(enum extract_format format, const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    struct extract_opts opts = {FUZZ_MAX_INPUT * 16, 60};
    struct err e;
    err_clear(&e);
    frugal_status rc = extract_buffer(format, (const char *)data, size, &opts, check_doc,
                                      NULL, &e);
    if (rc != FRUGAL_OK) {
        CHECK(e.code == rc && e.msg[0] != '\0');
        CHECK(rc == FRUGAL_ECORRUPT || rc == FRUGAL_EEMPTY || rc == FRUGAL_EUNSUPPORTED ||
              rc == FRUGAL_ETOOBIG);
    }
    return 0;
}

#endif
