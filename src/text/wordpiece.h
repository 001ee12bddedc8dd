/*
 * wordpiece.h - BERT's WordPiece tokenizer, exactly as Hugging Face's BertTokenizer (the Rust
 * `tokenizers` BertNormalizer + BertPreTokenizer + WordPiece model) does it.
 *
 * Contract, in order:
 *  1. Special tokens written literally in the text ("[CLS]", "[SEP]", "[PAD]", "[MASK]",
 *     "[UNK]", case-sensitive, when the vocabulary has them) are matched first and kept whole,
 *     as HF's added-token matcher does (its special tokens are not normalized).
 *  2. Clean text: drop U+0000, U+FFFD and "other" characters (Unicode C*: Cc, Cf, Cs, Co, Cn)
 *     except tab, CR and LF; map every White_Space character to ' '. Invalid UTF-8 bytes count
 *     as U+FFFD (dropped).
 *  3. CJK ideographs (the eight BERT ranges) get a space either side.
 *  4. When strip_accents (by default: when lowercase): NFD, then drop Mn (nonspacing marks).
 *  5. When lowercase: per-character Unicode lowercase (U+0130 -> "i" U+0307, no final sigma).
 *  6. Split on whitespace; every punctuation character (ASCII punctuation or Unicode P*) is a
 *     word of its own.
 *  7. Each word: longer than 100 characters -> [UNK]; else greedy longest-match-first with
 *     "##" continuations; if some position matches nothing, the whole word is [UNK].
 * Encoding adds [CLS] ... [SEP] (pairs: [CLS] a [SEP] b [SEP], token_type_ids 0 then 1) and
 * truncates to max_len: singles keep the first max_len - 2 tokens; pairs remove one token at a
 * time from the longer side (from the second on a tie), HF's longest_first.
 *
 * Threading: a wp_tokenizer is read-only after wp_new_*: any number of threads may encode with
 * one tokenizer at once (each call uses its own scratch memory).
 */
#ifndef FRUGAL_TEXT_WORDPIECE_H
#define FRUGAL_TEXT_WORDPIECE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define WP_MAX_WORD_CHARS 100

struct wp_tokenizer;

struct wp_opts {
    bool lowercase;        /* do_lower_case (default true) */
    int strip_accents;     /* -1: follow lowercase (HF's null; default), 0: no, 1: yes */
    bool chinese_chars;    /* tokenize_chinese_chars (default true) */
};

void wp_default_opts(struct wp_opts *opts);

/* Builds a tokenizer from vocab.txt content (one token per line, id = line number, "\n" or
 * "\r\n"). data is borrowed. Fails with ECORRUPT when [UNK] is missing or a token repeats. */
frugal_status wp_new_from_vocab(const char *data, size_t len, const struct wp_opts *opts,
                                struct wp_tokenizer **out, struct err *err);
/* Builds a tokenizer from the "model": {"vocab": {token: id}} of a tokenizer.json. */
frugal_status wp_new_from_tokenizer_json(const char *data, size_t len, const struct wp_opts *opts,
                                         struct wp_tokenizer **out, struct err *err);
void wp_free(struct wp_tokenizer *tok);

/* The id of a token, or -1. */
int32_t wp_token_id(const struct wp_tokenizer *tok, const char *token, size_t len);
/* The token of an id (borrowed, NUL-terminated), or NULL. */
const char *wp_token(const struct wp_tokenizer *tok, int32_t id);
size_t wp_vocab_size(const struct wp_tokenizer *tok);
int32_t wp_cls_id(const struct wp_tokenizer *tok);
int32_t wp_sep_id(const struct wp_tokenizer *tok);
int32_t wp_pad_id(const struct wp_tokenizer *tok);

/* Token ids of a text, or a pair; owned by the caller's struct (wp_encoding_release). */
struct wp_encoding {
    int32_t *ids;       /* (n) */
    int32_t *type_ids;  /* (n) 0 for the first segment, 1 for the second */
    size_t n;
    size_t cap;
};
void wp_encoding_init(struct wp_encoding *enc);
void wp_encoding_release(struct wp_encoding *enc);

/* Appends the ids of text[0..len) without special tokens to enc (type id `type`). */
frugal_status wp_tokenize(const struct wp_tokenizer *tok, const char *text, size_t len,
                          int32_t type, struct wp_encoding *enc);
/* enc = [CLS] text [SEP], truncated to max_len (>= 2; 0 = no limit). enc is reset first. */
frugal_status wp_encode(const struct wp_tokenizer *tok, const char *text, size_t len,
                        size_t max_len, struct wp_encoding *enc);
/* enc = [CLS] a [SEP] b [SEP] with token_type_ids, longest-first truncation to max_len (>= 3;
 * 0 = no limit). enc is reset first. */
frugal_status wp_encode_pair(const struct wp_tokenizer *tok, const char *a, size_t a_len,
                             const char *b, size_t b_len, size_t max_len,
                             struct wp_encoding *enc);

#endif
