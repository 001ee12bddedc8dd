/*
 * fuzz_wordpiece.c - libFuzzer target for the WordPiece tokenizer: a small vocabulary built from
 * the first line of the input (space-separated tokens, plus the special tokens), then single
 * and pair encoding of the rest with truncation. Invariants: every id is in the vocabulary,
 * encodings start with [CLS] and end with [SEP], truncation respects max_len, pair type ids
 * are 0 then 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "text/wordpiece.h"

static struct wp_tokenizer *fixed;

static void check(const struct wp_tokenizer *tok, const struct wp_encoding *enc, size_t max_len)
{
    if (enc->n < 2 || enc->ids[0] != wp_cls_id(tok) || enc->ids[enc->n - 1] != wp_sep_id(tok))
        abort();
    if (max_len > 0 && enc->n > max_len)
        abort();
    for (size_t i = 0; i < enc->n; i++) {
        if (enc->ids[i] < 0 || (size_t)enc->ids[i] >= wp_vocab_size(tok))
            abort();
        if (i > 0 && enc->type_ids[i] < enc->type_ids[i - 1])
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct wp_encoding enc;
    struct err err;
    size_t half = size / 2;

    if (fixed == NULL) {
        static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nab\n##a\n##b\n"
                                    "the\n##s\n.\n,\n\xc3\xa9\n##\xc3\xa9\n\xe4\xb8\xad\n1\n##1\n";
        if (wp_new_from_vocab(vocab, sizeof(vocab) - 1, NULL, &fixed, &err) != FRUGAL_OK)
            abort();
    }
    wp_encoding_init(&enc);
    if (wp_encode(fixed, text, size, 0, &enc) == FRUGAL_OK)
        check(fixed, &enc, 0);
    if (wp_encode(fixed, text, size, 5, &enc) == FRUGAL_OK)
        check(fixed, &enc, 5);
    if (wp_encode_pair(fixed, text, half, text + half, size - half, 7, &enc) == FRUGAL_OK)
        check(fixed, &enc, 7);
    wp_encoding_release(&enc);
    return 0;
}
