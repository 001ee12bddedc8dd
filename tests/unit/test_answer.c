/*
 * test_answer.c - unit tests of src/answer/extract.c and compress.c: the question types, the
 * sentence picked on small hand-made passages, number/date/name spans, citation offsets checked
 * by slicing the document text, the confidence's range and its growth with evidence, the
 * sentence features, table rows and list items as sentences, the answer kept to the top chunks,
 * the word-vector features (extract_wv.c, on the tiny GloVe file of tests/data/glove), the
 * compression budget and its expected-gain selection, and the token counter (rules, and against
 * BERT's WordPiece when the shared fixtures are there).
 */
#include "testutil.h"

#include <math.h>

#include "answer/compress.h"
#include "answer/extract.h"
#include "answer/extract_wv.h"
#include "embed/static_vectors.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "text/utf8.h"
#include "text/wordpiece.h"

static struct xans *new_xans(void)
{
    struct xans *x = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(xans_new(NULL, &x, &e), FRUGAL_OK);
    return x;
}

static struct xans_chunk chunk_of(const char *text, int64_t doc, int64_t char_start, double score)
{
    struct xans_chunk c = {.text = text, .len = strlen(text), .document_id = doc,
                           .chunk_id = doc * 10, .char_start = char_start, .score = score};
    return c;
}

/* Runs the extractor; returns the answer sentence as a new string (or NULL), span in *span. */
static char *answer_of(struct xans *x, const char *q, const struct xans_chunk *chunks, size_t n,
                       struct xans_result *r, char **span)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(xans_run(x, q, chunks, n, n, r, &e), FRUGAL_OK);
    if (r->best >= r->n_sentences)
        return NULL;
    const struct xans_sentence *s = &r->sentences[r->best];
    const char *t = chunks[s->chunk].text;
    if (span != NULL)
        *span = s->has_span ? frugal_strndup(t + s->span_start, s->span_end - s->span_start)
                            : NULL;
    return frugal_strndup(t + s->byte_start, s->byte_end - s->byte_start);
}

static void test_question_types(void **state)
{
    (void)state;
    assert_int_equal(xans_question_type("How many moons does Mars have?"), XANS_Q_NUMBER);
    assert_int_equal(xans_question_type("how much did it cost"), XANS_Q_NUMBER);
    assert_int_equal(xans_question_type("What percentage of voters agreed?"), XANS_Q_NUMBER);
    assert_int_equal(xans_question_type("When did the war end?"), XANS_Q_DATE);
    assert_int_equal(xans_question_type("In what year was it built?"), XANS_Q_DATE);
    assert_int_equal(xans_question_type("Which century saw the change?"), XANS_Q_DATE);
    assert_int_equal(xans_question_type("Who wrote Hamlet?"), XANS_Q_PERSON);
    assert_int_equal(xans_question_type("Where is the Louvre?"), XANS_Q_PLACE);
    assert_int_equal(xans_question_type("What is a lattice?"), XANS_Q_OTHER);
    assert_int_equal(xans_question_type(""), XANS_Q_OTHER);
}

static const char *const tower =
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was designed by the company "
    "of Gustave Eiffel. Construction finished in 1889 for the World's Fair. The tower is 330 "
    "metres tall.";

static void test_picks_sentence_and_spans(void **state)
{
    (void)state;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    struct xans_chunk c = chunk_of(tower, 1, 0, 5.0);
    char *span = NULL;

    char *a = answer_of(x, "When was construction of the tower finished?", &c, 1, &r, &span);
    assert_string_equal(a, "Construction finished in 1889 for the World's Fair.");
    assert_non_null(span);
    assert_string_equal(span, "1889");
    frugal_free(a);
    frugal_free(span);

    a = answer_of(x, "How tall is the tower?", &c, 1, &r, &span);
    assert_string_equal(a, "The tower is 330 metres tall.");
    assert_string_equal(span, "330");
    frugal_free(a);
    frugal_free(span);

    a = answer_of(x, "Whose company designed the tower?", &c, 1, &r, &span);
    assert_string_equal(a, "It was designed by the company of Gustave Eiffel.");
    assert_string_equal(span, "Gustave Eiffel");
    frugal_free(a);
    frugal_free(span);

    /* an untyped question: the sentence, no span */
    a = answer_of(x, "What material is the lattice made of?", &c, 1, &r, &span);
    assert_string_equal(a, "The Eiffel Tower is a wrought-iron lattice tower in Paris.");
    assert_null(span);
    frugal_free(a);

    /* nothing to match: no answer, not an error */
    a = answer_of(x, "the of and", &c, 1, &r, &span);
    assert_null(a);
    assert_true(r.confidence == 0.0);
    xans_result_release(&r);
    xans_free(x);
}

static void test_number_and_date_cues(void **state)
{
    (void)state;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    /* both sentences mention the colony; only one has a number, only one a date */
    struct xans_chunk c = chunk_of(
        "The colony was founded on 4 July 1776 by settlers. The colony grew to 2.5 million "
        "people. The colony is famous for its harbour.",
        1, 0, 3.0);
    char *span = NULL;
    char *a = answer_of(x, "How many people lived in the colony?", &c, 1, &r, &span);
    assert_string_equal(a, "The colony grew to 2.5 million people.");
    assert_string_equal(span, "2.5 million");
    frugal_free(a);
    frugal_free(span);
    a = answer_of(x, "When was the colony founded?", &c, 1, &r, &span);
    assert_string_equal(a, "The colony was founded on 4 July 1776 by settlers.");
    assert_string_equal(span, "4 July 1776");
    frugal_free(a);
    frugal_free(span);
    xans_result_release(&r);
    xans_free(x);
}

/* The code points [start, end) of s as a new string. */
static char *slice_chars(const char *s, int64_t start, int64_t end)
{
    size_t len = strlen(s);
    size_t at = 0;
    int64_t cp = 0;
    size_t b0 = len;
    size_t b1 = len;
    while (at <= len) {
        if (cp == start)
            b0 = at;
        if (cp == end) {
            b1 = at;
            break;
        }
        if (at == len)
            break;
        size_t adv = 1;
        utf8_decode(s + at, len - at, &adv);
        at += adv;
        cp++;
    }
    assert_true(b0 <= b1 && b1 <= len);
    return frugal_strndup(s + b0, b1 - b0);
}

static void test_citation_offsets(void **state)
{
    (void)state;
    /* a document whose second chunk starts after non-ASCII text; chunks overlap by a sentence */
    const char *doc = "Café culture began in Vienna. Élan vital is a phrase.\n\n"
                      "Élan vital is a phrase. The first coffee house in Vienna opened in 1685. "
                      "Tea came later.";
    const char *c0 = "Café culture began in Vienna. Élan vital is a phrase.";
    const char *c1 = strstr(doc, "Élan vital is a phrase. The");
    int64_t c1_start = (int64_t)utf8_count(doc, (size_t)(c1 - doc));
    struct xans_chunk chunks[2] = {chunk_of(c0, 7, 0, 2.0), chunk_of(c1, 7, c1_start, 1.5)};
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    char *a = answer_of(x, "When did the first coffee house in Vienna open?", chunks, 2, &r, NULL);
    assert_string_equal(a, "The first coffee house in Vienna opened in 1685.");
    const struct xans_sentence *s = &r.sentences[r.best];
    char *sl = slice_chars(doc, s->char_start, s->char_end);
    assert_string_equal(sl, a);
    /* the overlapping sentence is kept once, at its first occurrence */
    size_t elan = 0;
    for (size_t i = 0; i < r.n_sentences; i++) {
        char *t = slice_chars(doc, r.sentences[i].char_start, r.sentences[i].char_end);
        elan += strcmp(t, "Élan vital is a phrase.") == 0;
        frugal_free(t);
    }
    assert_int_equal(elan, 2); /* two distinct places in the document, both real */
    frugal_free(sl);
    frugal_free(a);
    xans_result_release(&r);
    xans_free(x);
}

static void test_confidence(void **state)
{
    (void)state;
    double f[XANS_N_FEATURES] = {0};
    double lo = xans_confidence(f);
    assert_true(lo > 0.0 && lo < 1.0);
    for (size_t i = 0; i < XANS_N_FEATURES; i++)
        f[i] = 1.0;
    double hi = xans_confidence(f);
    assert_true(hi > 0.0 && hi < 1.0);

    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    /* strong evidence: one sentence matches every term, the other chunk scores far lower */
    struct xans_chunk strong[2] = {
        chunk_of("The Nile flows north into the Mediterranean Sea.", 1, 0, 10.0),
        chunk_of("Rivers carry sediment.", 2, 0, 1.0)};
    /* weak evidence: two chunks of equal score, each matching part of the question */
    struct xans_chunk weak[2] = {chunk_of("The Nile is long.", 1, 0, 5.0),
                                 chunk_of("Some seas are salty.", 2, 0, 5.0)};
    const char *q = "Into which sea does the Nile flow north?";
    char *a = answer_of(x, q, strong, 2, &r, NULL);
    double c_strong = r.confidence;
    frugal_free(a);
    a = answer_of(x, q, weak, 2, &r, NULL);
    double c_weak = r.confidence;
    frugal_free(a);
    assert_true(c_strong > 0.0 && c_strong < 1.0);
    assert_true(c_weak > 0.0 && c_weak < 1.0);
    assert_true(c_strong > c_weak);
    xans_result_release(&r);
    xans_free(x);
}

static void test_sentence_features(void **state)
{
    (void)state;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    struct xans_chunk c = chunk_of("The Red Cross was founded by Henry Dunant in 1863. Cross the "
                                   "red line and you are out. Founders meet every year.",
                                   1, 0, 2.0);
    char *a = answer_of(x, "Who founded the Red Cross?", &c, 1, &r, NULL);
    assert_string_equal(a, "The Red Cross was founded by Henry Dunant in 1863.");
    assert_int_equal(r.n_sentences, 3);
    /* the question's pair "red cross" is adjacent in the first sentence only ("cross the red"
     * has the words the other way round) */
    assert_true(r.sentences[0].sfeatures[XANS_S_BIGRAM] > 0.0);
    assert_true(r.sentences[1].sfeatures[XANS_S_BIGRAM] == 0.0);
    assert_true(r.sentences[0].sfeatures[XANS_S_NEW_NAME] == 1.0); /* Henry Dunant */
    assert_true(r.sentences[0].sfeatures[XANS_S_NEW_NUMBER] == 1.0);
    assert_true(r.sentences[1].sfeatures[XANS_S_NEW_NUMBER] == 0.0);
    assert_true(r.sentences[0].sfeatures[XANS_S_ENTITY] == 1.0); /* Red and Cross, capitalized */
    /* scores are chances, the softmax shares add up to one, the answer has the largest */
    double sum = 0.0;
    for (size_t i = 0; i < r.n_sentences; i++) {
        assert_true(r.sentences[i].score > 0.0 && r.sentences[i].score < 1.0);
        sum += r.sentences[i].features[XANS_F_PROB];
        if (i != r.best)
            assert_true(r.sentences[i].score <= r.sentences[r.best].score);
    }
    assert_true(fabs(sum - 1.0) < 1e-9);
    assert_true(r.sentences[r.best].features[XANS_F_CHUNK_PROB] > 0.999); /* one chunk */
    frugal_free(a);
    xans_result_release(&r);
    xans_free(x);
}

static void test_table_rows_and_list_items(void **state)
{
    (void)state;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    /* a table as the extractors write it: a row per line, cells joined by " | " */
    struct xans_chunk t = chunk_of("Command | Description\n"
                                   "VACUUM | garbage-collect and optionally analyze a database\n"
                                   "ANALYZE | collect statistics about a database\n"
                                   "CLUSTER | cluster a table according to an index",
                                   1, 0, 3.0);
    char *a = answer_of(x, "What does VACUUM do?", &t, 1, &r, NULL);
    assert_string_equal(a, "VACUUM | garbage-collect and optionally analyze a database");
    assert_int_equal(r.n_sentences, 4);
    frugal_free(a);
    /* list items, each on its own line */
    struct xans_chunk l = chunk_of("Options:\n- verbose prints every step\n"
                                   "- quiet prints nothing but errors\n"
                                   "2. full rewrites the whole table",
                                   1, 0, 3.0);
    a = answer_of(x, "What does the quiet option print?", &l, 1, &r, NULL);
    assert_string_equal(a, "- quiet prints nothing but errors");
    assert_int_equal(r.n_sentences, 4);
    frugal_free(a);
    /* every allocation that fails gives ENOMEM and an empty result (the table's split included) */
    for (long n = 0;; n++) {
        struct err e;
        err_clear(&e);
        alloc_fail_after(n);
        frugal_status rc = xans_run(x, "What does VACUUM do?", &t, 1, 1, &r, &e);
        alloc_fail_after(-1);
        if (rc == FRUGAL_OK) {
            assert_int_equal(r.n_sentences, 4);
            break;
        }
        assert_int_equal(rc, FRUGAL_ENOMEM);
        assert_int_equal(r.n_sentences, 0);
        assert_true(n < 50);
    }
    /* prose with a line break stays one sentence */
    struct xans_chunk p = chunk_of("The vault opens at\nnine in the morning.", 1, 0, 3.0);
    a = answer_of(x, "When does the vault open?", &p, 1, &r, NULL);
    assert_string_equal(a, "The vault opens at\nnine in the morning.");
    frugal_free(a);
    xans_result_release(&r);
    xans_free(x);
}

static void test_compression(void **state)
{
    (void)state;
    static const char *const filler =
        "Filler sentence number %d talks about nothing in particular at some length here.";
    struct buf text;
    buf_init(&text, 0);
    for (int i = 0; i < 20; i++) {
        if (i == 13)
            assert_int_equal(buf_puts(&text, "The secret code of the vault is 4711. "), FRUGAL_OK);
        assert_int_equal(buf_printf(&text, filler, i), FRUGAL_OK);
        assert_int_equal(buf_putc(&text, ' '), FRUGAL_OK);
    }
    struct xans_chunk c = chunk_of(text.ptr, 1, 0, 4.0);
    c.len = text.len - 1;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    char *a = answer_of(x, "What is the secret code of the vault?", &c, 1, &r, NULL);
    assert_string_equal(a, "The secret code of the vault is 4711.");
    bool *sel = frugal_calloc(r.n_sentences, sizeof *sel);
    assert_non_null(sel);
    size_t whole = compress_tokens_whole(&c, 1, 5);
    for (size_t budget = 10; budget <= 80; budget += 35) {
        size_t used = compress_select(&c, &r, budget, 0.0, sel);
        assert_true(used <= budget);
        assert_true(sel[r.best]);
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(compress_render(&c, 1, &r, sel, &out), FRUGAL_OK);
        assert_non_null(strstr(out.ptr, "The secret code of the vault is 4711."));
        size_t tokens = compress_count_tokens(out.ptr, out.len);
        assert_true(tokens <= budget); /* separators are counted in the budget */
        assert_true(tokens < whole);
        buf_release(&out);
    }
    /* a budget below the best sentence still keeps it, alone */
    size_t used = compress_select(&c, &r, 1, 0.0, sel);
    assert_true(sel[r.best]);
    assert_int_equal(used, compress_count_tokens("The secret code of the vault is 4711.", 37));
    size_t n_sel = 0;
    for (size_t i = 0; i < r.n_sentences; i++)
        n_sel += sel[i];
    assert_int_equal(n_sel, 1);
    frugal_free(sel);
    frugal_free(a);
    xans_result_release(&r);
    xans_free(x);
    buf_release(&text);
}

/* A chunk of ten sentences of equal length with the scores given, best = the answer. */
static void adaptive_case(struct buf *text, struct xans_sentence *sents, const double *scores,
                          size_t best, struct xans_result *r)
{
    buf_reset(text);
    memset(sents, 0, 10 * sizeof *sents);
    for (size_t i = 0; i < 10; i++) {
        if (i > 0)
            assert_int_equal(buf_putc(text, ' '), FRUGAL_OK);
        sents[i].chunk = 0;
        sents[i].index = i;
        sents[i].byte_start = text->len;
        assert_int_equal(buf_printf(text, "Sentence %zu says something plain about the topic.", i),
                         FRUGAL_OK);
        sents[i].byte_end = text->len;
        sents[i].score = scores[i];
        sents[i].features[XANS_F_SCORE] = log(scores[i] / (1.0 - scores[i]));
    }
    memset(r, 0, sizeof *r);
    r->sentences = sents;
    r->n_sentences = 10;
    r->best = best;
}

static size_t n_selected(const bool *sel, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += sel[i];
    return k;
}

static void test_adaptive_compression(void **state)
{
    (void)state;
    struct buf text;
    buf_init(&text, 0);
    struct xans_sentence sents[10];
    struct xans_result r;
    bool sel[10];
    const double gain = FRUGAL_ASK_DEFAULT_CONTEXT_GAIN;
    static const double confident[10] = {0.01, 0.01, 0.95, 0.01, 0.01,
                                         0.01, 0.01, 0.01, 0.01, 0.01};
    static const double flat[10] = {0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3};
    static const double three[10] = {0.01, 0.9, 0.01, 0.01, 0.9, 0.01, 0.01, 0.9, 0.01, 0.01};
    adaptive_case(&text, sents, confident, 2, &r);
    struct xans_chunk c = chunk_of(text.ptr, 1, 0, 1.0);
    size_t one = compress_count_tokens(text.ptr + sents[2].byte_start,
                                       sents[2].byte_end - sents[2].byte_start);
    /* confident: the others' softmax shares (~0.0005 each) over 11 tokens fall below the bound */
    size_t used = compress_select(&c, &r, 400, gain, sel);
    assert_true(sel[2]);
    assert_int_equal(n_selected(sel, 10), 1);
    assert_int_equal(used, one);
    /* the same scores with a fixed budget (gain 0) fill it */
    used = compress_select(&c, &r, 400, 0.0, sel);
    assert_int_equal(n_selected(sel, 10), 10);
    /* three likely sentences and seven unlikely ones: the three */
    adaptive_case(&text, sents, three, 4, &r);
    c = chunk_of(text.ptr, 1, 0, 1.0);
    used = compress_select(&c, &r, 400, gain, sel);
    assert_true(sel[1] && sel[4] && sel[7]);
    assert_int_equal(n_selected(sel, 10), 3);
    assert_int_equal(used, 3 * one + 2); /* one token per separator */
    /* a higher bound keeps the answer alone; a bound of 1 too */
    used = compress_select(&c, &r, 400, 0.05, sel);
    assert_int_equal(n_selected(sel, 10), 1);
    assert_true(sel[4]);
    /* flat: every sentence is as likely as any, each clears the bound */
    adaptive_case(&text, sents, flat, 2, &r);
    c = chunk_of(text.ptr, 1, 0, 1.0);
    size_t flat_used = compress_select(&c, &r, 400, gain, sel);
    assert_true(sel[2]);
    assert_int_equal(n_selected(sel, 10), 10);
    assert_int_equal(flat_used, 10 * one + 9);
    /* the cap holds */
    used = compress_select(&c, &r, 3 * one, gain, sel);
    assert_true(used <= 3 * one);
    assert_int_equal(n_selected(sel, 10), 2);
    assert_true(sel[2]);
    /* the answer sentence is kept even when scored low and over the cap */
    static const double low_best[10] = {0.6, 0.6, 0.6, 0.6, 0.6, 0.05, 0.6, 0.6, 0.6, 0.6};
    adaptive_case(&text, sents, low_best, 5, &r);
    c = chunk_of(text.ptr, 1, 0, 1.0);
    used = compress_select(&c, &r, 1, gain, sel);
    assert_true(sel[5]);
    assert_int_equal(n_selected(sel, 10), 1);
    assert_int_equal(used, one);
    used = compress_select(&c, &r, 400, gain, sel);
    assert_true(sel[5]);
    assert_int_equal(n_selected(sel, 10), 10);
    buf_release(&text);
}

/* The answer comes from the first n_answer chunks; the others are context candidates only. */
static void test_answer_from_top_chunks(void **state)
{
    (void)state;
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    struct xans_chunk ch[2] = {
        chunk_of("Bridges are built from steel and stone in many towns.", 1, 0, 5.0),
        chunk_of("The Golden Gate Bridge opened in 1937 in San Francisco.", 2, 0, 4.0),
    };
    struct err e;
    err_clear(&e);
    const char *q = "When did the Golden Gate Bridge open?";
    assert_int_equal(xans_run(x, q, ch, 2, 2, &r, &e), FRUGAL_OK);
    assert_int_equal(r.sentences[r.best].chunk, 1);
    assert_int_equal(xans_run(x, q, ch, 2, 0, &r, &e), FRUGAL_OK); /* 0: every chunk */
    assert_int_equal(r.sentences[r.best].chunk, 1);
    assert_int_equal(xans_run(x, q, ch, 2, 1, &r, &e), FRUGAL_OK);
    assert_int_equal(r.n_sentences, 2); /* both are still scored */
    assert_int_equal(r.sentences[r.best].chunk, 0);
    assert_true(r.sentences[1].score > r.sentences[0].score);
    xans_result_release(&r);
    xans_free(x);
}

/* The tiny vectors file, converted into a temporary folder; path filled, returns it. */
static char *tiny_vectors(char *dir, size_t dir_cap, char *path, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, dir_cap, "%s/frugal-wv-XXXXXX", base != NULL ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, cap, "%s/tiny.fsv", dir);
    char json[512];
    snprintf(json, sizeof json, "%s/glove/tiny.json", test_data_dir());
    struct sv_convert_opts opts;
    sv_convert_default_opts(&opts);
    opts.name = "tiny";
    struct err e;
    err_clear(&e);
    assert_int_equal(sv_convert_wink(json, path, &opts, NULL, &e), FRUGAL_OK);
    return path;
}

static void test_word_vector_features(void **state)
{
    (void)state;
    char dir[256];
    char path[512];
    tiny_vectors(dir, sizeof dir, path, sizeof path);
    struct sv_file *sv = NULL;
    struct xans_wv *w = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(sv_open(path, true, &sv, &e), FRUGAL_OK);
    assert_int_equal(xans_wv_new(sv, &w, &e), FRUGAL_OK);
    /* in the tiny file cat ~ kitten and mat ~ rug (cosine ~0.99), kitten and mat point apart */
    assert_int_equal(xans_wv_question(w, "Where is the kitten on the rug?"), FRUGAL_OK);
    static const char *const sents[3] = {"The cat sat on the mat.", "The kitten sat.",
                                         "Of the mat, the mat."};
    double f[3][XWV_N];
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(xans_wv_sentence(w, i, sents[i], strlen(sents[i])), FRUGAL_OK);
    xans_wv_pool(w, 3);
    for (size_t i = 0; i < 3; i++)
        xans_wv_features(w, i, f[i]);
    /* near words cover the question: softly, none of it as such */
    assert_true(f[0][XWV_SOFT] > 0.95 && f[0][XWV_SOFT] <= 1.0);
    assert_true(fabs(f[0][XWV_SOFT_EXTRA] - f[0][XWV_SOFT]) < 1e-12);
    assert_true(fabs(f[0][XWV_SOFT_HIGH] - 1.0) < 1e-12);
    /* "kitten" itself (df 1 of 3) and nothing near "rug": the share of kitten's idf */
    double idf_kitten = log(1.0 + 2.5 / 1.5);
    double idf_rug = log(1.0 + 3.5 / 0.5);
    double share = idf_kitten / (idf_kitten + idf_rug);
    assert_true(fabs(f[1][XWV_SOFT_HIGH] - share) < 1e-9);
    assert_true(f[1][XWV_SOFT] >= share && f[1][XWV_SOFT_EXTRA] < f[1][XWV_SOFT]);
    assert_true(fabs(f[1][XWV_SOFT] - f[1][XWV_SOFT_EXTRA] - share) < 1e-9);
    /* mat alone: rug only */
    assert_true(f[2][XWV_SOFT] < f[0][XWV_SOFT]);
    assert_true(f[0][XWV_COSINE] > f[2][XWV_COSINE]);
    assert_true(f[0][XWV_COSINE] <= 1.0 + 1e-9 && f[2][XWV_COSINE] >= -1.0 - 1e-9);
    /* a question of function words only: zeros */
    assert_int_equal(xans_wv_question(w, "What is the one of them?"), FRUGAL_OK);
    assert_int_equal(xans_wv_sentence(w, 0, sents[0], strlen(sents[0])), FRUGAL_OK);
    xans_wv_pool(w, 1);
    xans_wv_features(w, 0, f[0]);
    for (size_t k = 0; k < XWV_N; k++)
        assert_true(f[0][k] == 0.0);
    xans_wv_free(w);

    /* through the extractor: the features appear with vectors, and not without */
    struct xans *x = new_xans();
    struct xans_result r;
    xans_result_init(&r);
    struct xans_chunk c = chunk_of("The cat sat on the mat. The kitten sat.", 1, 0, 2.0);
    char *a = answer_of(x, "Where is the kitten on the rug?", &c, 1, &r, NULL);
    assert_true(r.n_sentences == 2 && r.sentences[0].sfeatures[XANS_S_WV_SOFT] == 0.0);
    frugal_free(a);
    assert_int_equal(xans_set_vectors(x, sv, &e), FRUGAL_OK);
    a = answer_of(x, "Where is the kitten on the rug?", &c, 1, &r, NULL);
    assert_true(r.sentences[0].sfeatures[XANS_S_WV_SOFT] > 0.95);
    assert_true(r.sentences[1].sfeatures[XANS_S_WV_CHUNK_SOFT] > 0.95); /* its chunk's best */
    frugal_free(a);
    /* dropped: the extractor goes on without them */
    assert_int_equal(xans_set_vectors(x, NULL, &e), FRUGAL_OK);
    a = answer_of(x, "Where is the kitten on the rug?", &c, 1, &r, NULL);
    assert_true(r.sentences[0].sfeatures[XANS_S_WV_SOFT] == 0.0);
    frugal_free(a);
    xans_result_release(&r);
    xans_free(x);
    sv_close(sv);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t count(const char *s)
{
    return compress_count_tokens(s, strlen(s));
}

static void test_token_counter(void **state)
{
    (void)state;
    assert_int_equal(count(""), 0);
    assert_int_equal(count("   "), 0);
    assert_int_equal(count("hello world"), 2);
    assert_int_equal(count("a, b."), 4);
    assert_int_equal(count("1234567"), 3);
    assert_int_equal(count("internationalization"), 4);
    assert_int_equal(count("one\n\n\ntwo"), 3);
    assert_int_equal(count("数据库"), 3);
    assert_true(count("naïveté") >= 2);

    /* against BERT's WordPiece on real prose, when the shared fixtures are there */
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures/bert-base-uncased-vocab/vocab.txt",
             test_shared_dir());
    struct buf vocab;
    struct err e;
    err_clear(&e);
    buf_init(&vocab, 0);
    if (fs_read_file(path, 0, &vocab, &e) != FRUGAL_OK) {
        buf_release(&vocab);
        return;
    }
    struct wp_tokenizer *tok = NULL;
    assert_int_equal(wp_new_from_vocab(vocab.ptr, vocab.len, NULL, &tok, &e), FRUGAL_OK);
    struct wp_encoding enc;
    wp_encoding_init(&enc);
    const char *prose[] = {
        tower,
        "A honey bee colony has one queen. Worker bees collect nectar from flowers. A strong "
        "colony holds about 60,000 bees in summer.",
        "The 1973 oil crisis began in October 1973 when the members of the Organization of Arab "
        "Petroleum Exporting Countries proclaimed an oil embargo. By the end of the embargo in "
        "March 1974, the price of oil had risen from US$3 per barrel to nearly $12 globally."};
    for (size_t i = 0; i < sizeof prose / sizeof prose[0]; i++) {
        enc.n = 0;
        assert_int_equal(wp_tokenize(tok, prose[i], strlen(prose[i]), 0, &enc), FRUGAL_OK);
        double ratio = (double)count(prose[i]) / (double)enc.n;
        if (ratio < 0.8 || ratio > 1.25)
            fail_msg("prose %zu: %zu approximate tokens vs %zu WordPiece", i, count(prose[i]),
                     enc.n);
    }
    wp_encoding_release(&enc);
    wp_free(tok);
    buf_release(&vocab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_question_types),
        cmocka_unit_test(test_picks_sentence_and_spans),
        cmocka_unit_test(test_number_and_date_cues),
        cmocka_unit_test(test_citation_offsets),
        cmocka_unit_test(test_confidence),
        cmocka_unit_test(test_sentence_features),
        cmocka_unit_test(test_table_rows_and_list_items),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_adaptive_compression),
        cmocka_unit_test(test_answer_from_top_chunks),
        cmocka_unit_test(test_word_vector_features),
        cmocka_unit_test(test_token_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
