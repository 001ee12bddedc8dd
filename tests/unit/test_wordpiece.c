/* test_wordpiece.c - the WordPiece tokenizer (src/text/wordpiece.c) against Hugging Face's
 * output on the shared fixtures, plus pairs, truncation and malformed vocabularies. */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include <cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "text/wordpiece.h"

static struct wp_tokenizer *load_vocab(const char *rel)
{
    char path[1024];
    struct buf data;
    struct err err;
    struct wp_tokenizer *tok = NULL;

    snprintf(path, sizeof(path), "%s/%s", test_shared_dir(), rel);
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    assert_int_equal(wp_new_from_vocab(data.ptr, data.len, NULL, &tok, &err), FRUGAL_OK);
    buf_release(&data);
    return tok;
}

static void check_ids(const struct wp_encoding *enc, const cJSON *want, const char *text)
{
    size_t n = (size_t)cJSON_GetArraySize(want);

    if (enc->n != n)
        fail_msg("'%s': %zu ids, expected %zu", text, enc->n, n);
    for (size_t i = 0; i < n; i++) {
        int want_id = cJSON_GetArrayItem(want, (int)i)->valueint;
        if (enc->ids[i] != want_id)
            fail_msg("'%s': id %zu is %d, expected %d", text, i, enc->ids[i], want_id);
    }
}

static void test_cases_6k(void **state)
{
    char path[1024];
    struct buf data;
    struct err err;
    struct wp_encoding enc;
    struct wp_tokenizer *tok = load_vocab("fixtures/wordpiece-6k/vocab.txt");
    size_t pos = 0;
    int n_cases = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/fixtures/wordpiece-6k/cases.jsonl", test_shared_dir());
    buf_init(&data, 0);
    assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
    wp_encoding_init(&enc);
    while (pos < data.len) {
        char *nl = memchr(data.ptr + pos, '\n', data.len - pos);
        size_t end = nl ? (size_t)(nl - data.ptr) : data.len;
        cJSON *c;
        const cJSON *text;
        char *hit;

        /* cJSON ends strings at an escaped NUL: U+0001 is dropped exactly like U+0000 (both
         * are Cc); test_nul covers the real NUL. */
        while ((hit = memmem(data.ptr + pos, end - pos, "\\u0000", 6)) != NULL)
            hit[5] = '1';
        c = cJSON_ParseWithLength(data.ptr + pos, end - pos);

        pos = end + 1;
        if (c == NULL)
            continue;
        text = cJSON_GetObjectItem(c, "text");
        assert_non_null(text);
        assert_int_equal(wp_encode(tok, text->valuestring, strlen(text->valuestring), 0, &enc),
                         FRUGAL_OK);
        check_ids(&enc, cJSON_GetObjectItem(c, "ids"), text->valuestring);
        assert_int_equal(wp_encode(tok, text->valuestring, strlen(text->valuestring), 128, &enc),
                         FRUGAL_OK);
        check_ids(&enc, cJSON_GetObjectItem(c, "ids_max128"), text->valuestring);
        cJSON_Delete(c);
        n_cases++;
    }
    assert_int_equal(n_cases, 27);
    wp_encoding_release(&enc);
    buf_release(&data);
    wp_free(tok);
}

/* The ids llama.cpp's bert-bge cases expect (no [CLS]/[SEP]). */
static void test_cases_bert_base(void **state)
{
    char path[1024];
    struct buf inp;
    struct buf out;
    struct err err;
    struct wp_encoding enc;
    struct wp_tokenizer *tok = load_vocab("fixtures/bert-base-uncased-vocab/vocab.txt");
    static const char delim[] = "\n__ggml_vocab_test__\n";
    size_t ipos = 0;
    size_t opos = 0;
    int n_cases = 0;

    (void)state;
    assert_int_equal(wp_vocab_size(tok), 30522);
    buf_init(&inp, 0);
    buf_init(&out, 0);
    snprintf(path, sizeof(path), "%s/fixtures/bert-base-uncased-vocab/cases.inp",
             test_shared_dir());
    assert_int_equal(fs_read_file(path, 0, &inp, &err), FRUGAL_OK);
    snprintf(path, sizeof(path), "%s/fixtures/bert-base-uncased-vocab/cases.out",
             test_shared_dir());
    assert_int_equal(fs_read_file(path, 0, &out, &err), FRUGAL_OK);
    wp_encoding_init(&enc);
    while (ipos < inp.len) {
        const char *d = strstr(inp.ptr + ipos, delim);
        size_t end = d ? (size_t)(d - inp.ptr) : inp.len;
        char *onl = memchr(out.ptr + opos, '\n', out.len - opos);
        size_t oend = onl ? (size_t)(onl - out.ptr) : out.len;
        char *line = frugal_strndup(out.ptr + opos, oend - opos);
        char *p = line;
        size_t k = 0;

        assert_true(opos < out.len || d == NULL);
        enc.n = 0;
        assert_int_equal(wp_tokenize(tok, inp.ptr + ipos, end - ipos, 0, &enc), FRUGAL_OK);
        while (*p != '\0') {
            char *stop;
            long id;

            while (*p == ' ')
                p++;
            if (*p == '\0')
                break;
            id = strtol(p, &stop, 10);
            p = stop;
            if (k >= enc.n || enc.ids[k] != id)
                fail_msg("case %d ('%.*s'): token %zu is %d, expected %ld", n_cases,
                         (int)(end - ipos), inp.ptr + ipos, k, k < enc.n ? enc.ids[k] : -1,
                         id);
            k++;
        }
        if (k != enc.n)
            fail_msg("case %d: %zu ids, expected %zu", n_cases, enc.n, k);
        frugal_free(line);
        n_cases++;
        ipos = d ? end + strlen(delim) : inp.len;
        opos = oend + 1;
    }
    assert_int_equal(n_cases, 46);
    wp_encoding_release(&enc);
    buf_release(&inp);
    buf_release(&out);
    wp_free(tok);
}

static void test_pair_and_truncation(void **state)
{
    struct wp_tokenizer *tok = load_vocab("fixtures/wordpiece-6k/vocab.txt");
    struct wp_encoding enc;
    const char *q = "what is rag";
    const char *p = "Retrieval-augmented generation (RAG) combines a retriever with a generator.";
    static const int32_t want[] = {2,   3776, 819,  980,  628,  3,   4156, 1067, 17,
                                   3542, 794, 4093, 12,   980,  628, 13,   3378, 786,
                                   43,  4156, 993,  940,  43,   2308, 18,   3};
    size_t n_want = sizeof(want) / sizeof(want[0]);

    (void)state;
    wp_encoding_init(&enc);
    assert_int_equal(wp_encode_pair(tok, q, strlen(q), p, strlen(p), 512, &enc), FRUGAL_OK);
    assert_int_equal(enc.n, n_want);
    for (size_t i = 0; i < n_want; i++) {
        assert_int_equal(enc.ids[i], want[i]);
        assert_int_equal(enc.type_ids[i], i < 6 ? 0 : 1);
    }
    /* longest-first: budget 12 - 3 = 9 with 4 + 20 tokens -> 4 + 5 */
    assert_int_equal(wp_encode_pair(tok, q, strlen(q), p, strlen(p), 12, &enc), FRUGAL_OK);
    assert_int_equal(enc.n, 12);
    assert_int_equal(enc.ids[5], 3);
    assert_int_equal(enc.ids[11], 3);
    assert_int_equal(enc.ids[6], 4156);
    /* budget 7 with 4 + 20: the shorter side cannot keep 4 -> 3 + 4 */
    assert_int_equal(wp_encode_pair(tok, q, strlen(q), p, strlen(p), 10, &enc), FRUGAL_OK);
    assert_int_equal(enc.n, 10);
    assert_int_equal(enc.ids[4], 3);
    /* both long: budget 7 -> 3 + 4 (the second gets the odd token on a tie) */
    assert_int_equal(wp_encode_pair(tok, p, strlen(p), p, strlen(p), 10, &enc), FRUGAL_OK);
    assert_int_equal(enc.n, 10);
    assert_int_equal(enc.ids[4], 3);
    assert_int_equal(enc.type_ids[5], 1);
    /* literal special tokens are kept whole */
    assert_int_equal(wp_encode(tok, "a [SEP] b", 9, 0, &enc), FRUGAL_OK);
    assert_int_equal(enc.n, 5);
    assert_int_equal(enc.ids[2], 3);
    wp_encoding_release(&enc);
    wp_free(tok);
}

static void test_nul(void **state)
{
    struct wp_tokenizer *tok = load_vocab("fixtures/wordpiece-6k/vocab.txt");
    struct wp_encoding a;
    struct wp_encoding b;

    (void)state;
    wp_encoding_init(&a);
    wp_encoding_init(&b);
    assert_int_equal(wp_encode(tok, "control\0chars\xff\xfe here", 20, 0, &a), FRUGAL_OK);
    assert_int_equal(wp_encode(tok, "controlchars here", 17, 0, &b), FRUGAL_OK);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.ids, b.ids, a.n * sizeof(int32_t));
    wp_encoding_release(&a);
    wp_encoding_release(&b);
    wp_free(tok);
}

static void test_bad_vocab(void **state)
{
    struct wp_tokenizer *tok = NULL;
    struct err err;

    (void)state;
    assert_int_equal(wp_new_from_vocab("a\nb\n", 4, NULL, &tok, &err), FRUGAL_ECORRUPT);
    assert_null(tok);
    assert_int_equal(wp_new_from_vocab("[UNK]\n[CLS]\n[SEP]\n[CLS]\n", 24, NULL, &tok, &err),
                     FRUGAL_ECORRUPT);
    assert_int_equal(wp_new_from_vocab("", 0, NULL, &tok, &err), FRUGAL_ECORRUPT);
    assert_int_equal(wp_new_from_tokenizer_json("{", 1, NULL, &tok, &err), FRUGAL_ECORRUPT);
    assert_int_equal(wp_new_from_tokenizer_json("{\"model\":{\"vocab\":{\"a\":-1}}}", 29, NULL,
                                                &tok, &err),
                     FRUGAL_ECORRUPT);
    /* tokenizer.json and vocab.txt agree */
    {
        char path[1024];
        struct buf data;
        struct wp_tokenizer *a = load_vocab("fixtures/bert-tiny-mean/vocab.txt");

        snprintf(path, sizeof(path), "%s/fixtures/bert-tiny-mean/tokenizer.json",
                 test_shared_dir());
        buf_init(&data, 0);
        assert_int_equal(fs_read_file(path, 0, &data, &err), FRUGAL_OK);
        assert_int_equal(wp_new_from_tokenizer_json(data.ptr, data.len, NULL, &tok, &err),
                         FRUGAL_OK);
        assert_int_equal(wp_vocab_size(tok), wp_vocab_size(a));
        for (int32_t i = 0; i < (int32_t)wp_vocab_size(a); i++)
            assert_string_equal(wp_token(tok, i), wp_token(a, i));
        buf_release(&data);
        wp_free(tok);
        wp_free(a);
    }
}

static void test_alloc_failures(void **state)
{
    struct wp_tokenizer *tok = load_vocab("fixtures/wordpiece-6k/vocab.txt");
    struct wp_encoding enc;
    const char *t = "Café déjà vu — naïve 東京 résumé the the the the the the";

    (void)state;
    for (long n = 0; n < 40; n++) {
        wp_encoding_init(&enc);
        alloc_fail_after(n);
        frugal_status rc = wp_encode(tok, t, strlen(t), 0, &enc);
        alloc_fail_after(-1);
        assert_true(rc == FRUGAL_OK || rc == FRUGAL_ENOMEM);
        wp_encoding_release(&enc);
    }
    wp_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_6k),
        cmocka_unit_test(test_cases_bert_base),
        cmocka_unit_test(test_pair_and_truncation),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_bad_vocab),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
