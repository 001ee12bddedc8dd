/*
 * fuzz_answer.c - libFuzzer target for the extractive answerer and the context compressor
 * (src/answer/extract.c, extract_wv.c, compress.c) on arbitrary retrieved text: the input is a
 * question (up to the first newline) and chunks (the rest, split at 0x1e bytes, at most 12,
 * scores falling with rank). Each input runs without word vectors and with a small in-memory
 * vector file (eight words in four dimensions, converted once at start-up), the answer drawn
 * from the first n_answer chunks (n_answer from the input's first byte).
 *
 * Invariants (a failure traps, so libFuzzer keeps the input): the run succeeds; sentences lie
 * within their chunk, in chunk order; scores are in (0, 1), finite; the answer, when there is
 * one, is a sentence of the first n_answer chunks and the confidence lies in (0, 1); the
 * word-vector coverage features lie in [0, 1] and the cosines in [-1, 1] (with rounding), and
 * are all 0 without vectors; both selections keep the answer and stay within the cap unless the
 * answer alone exceeds it; rendering succeeds and, for valid UTF-8 chunks, gives valid UTF-8.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer/compress.h"
#include "answer/extract.h"
#include "base/buf.h"
#include "embed/static_vectors.h"
#include "text/utf8.h"

#define FUZZ_MAX_INPUT 16384
#define FUZZ_MAX_CHUNKS 12

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            __builtin_trap();                                                                     \
    } while (0)

static const char tiny_vectors[] =
    "{\"dimensions\":4,\"words\":[\"the\",\"cat\",\"kitten\",\"dog\",\"mat\",\"rug\",\"sat\","
    "\"vault\"],\"vectors\":{"
    "\"the\":[0.4,-0.2,0.1,0.3,0.55,0],\"cat\":[1.5,2.25,-0.75,0.125,2.8,1],"
    "\"kitten\":[1.4,2.3,-0.7,0.2,2.8,2],\"dog\":[1.25,2.0,-1.0,0.5,2.6,3],"
    "\"mat\":[-2.0,-1.0,0.25,3.0,3.75,4],\"rug\":[-1.9,-1.1,0.3,2.8,3.6,5],"
    "\"sat\":[-1.0,0.5,2.0,1.0,2.5,6],\"vault\":[0.0,0.0,0.0,0.0,0.0,7]}}";

static struct sv_file *vectors;
static struct xans *plain;
static struct xans *with_vectors;

/* Converts the tiny vectors through temporary files (the converter reads and writes files). */
static void setup(void)
{
    char json[] = "/tmp/fuzz-answer-XXXXXX";
    int fd = mkstemp(json);
    CHECK(fd >= 0);
    CHECK(write(fd, tiny_vectors, sizeof tiny_vectors - 1) == (ssize_t)(sizeof tiny_vectors - 1));
    close(fd);
    char fsv[64];
    snprintf(fsv, sizeof fsv, "%s.fsv", json);
    struct err e;
    err_clear(&e);
    CHECK(sv_convert_wink(json, fsv, NULL, NULL, &e) == FRUGAL_OK);
    CHECK(sv_open(fsv, true, &vectors, &e) == FRUGAL_OK);
    remove(json);
    remove(fsv); /* the mapping stays valid */
    CHECK(xans_new(NULL, &plain, &e) == FRUGAL_OK);
    CHECK(xans_new(NULL, &with_vectors, &e) == FRUGAL_OK);
    CHECK(xans_set_vectors(with_vectors, vectors, &e) == FRUGAL_OK);
}

static void check_selection(const struct xans_chunk *chunks, size_t n, const struct xans_result *r,
                            size_t cap, double gain, bool valid)
{
    bool *sel = calloc(r->n_sentences + 1, sizeof *sel);
    CHECK(sel != NULL);
    size_t used = compress_select(chunks, r, cap, gain, sel);
    CHECK(sel[r->best]);
    size_t taken = 0;
    for (size_t i = 0; i < r->n_sentences; i++)
        taken += sel[i];
    CHECK(used <= cap || taken == 1);
    struct buf out;
    buf_init(&out, 0);
    CHECK(compress_render(chunks, n, r, sel, &out) == FRUGAL_OK);
    CHECK(!valid || utf8_valid(out.ptr != NULL ? out.ptr : "", out.len));
    buf_release(&out);
    free(sel);
}

static void run(struct xans *x, bool has_vectors, const char *question,
                const struct xans_chunk *chunks, size_t n, size_t n_answer, bool valid)
{
    struct xans_result r;
    struct err e;
    err_clear(&e);
    xans_result_init(&r);
    CHECK(xans_run(x, question, chunks, n, n_answer, &r, &e) == FRUGAL_OK);
    for (size_t i = 0; i < r.n_sentences; i++) {
        const struct xans_sentence *s = &r.sentences[i];
        CHECK(s->chunk < n && (i == 0 || s->chunk >= r.sentences[i - 1].chunk));
        CHECK(s->byte_start < s->byte_end && s->byte_end <= chunks[s->chunk].len);
        CHECK(isfinite(s->score) && s->score > 0.0 && s->score < 1.0);
        const double *f = s->sfeatures;
        for (int k = XANS_S_WV_SOFT; k <= XANS_S_WV_CHUNK_COSINE; k++) {
            CHECK(isfinite(f[k]));
            CHECK(has_vectors || f[k] == 0.0);
        }
        CHECK(f[XANS_S_WV_SOFT] >= 0.0 && f[XANS_S_WV_SOFT] <= 1.0 + 1e-9);
        CHECK(f[XANS_S_WV_EXTRA] >= 0.0 && f[XANS_S_WV_EXTRA] <= f[XANS_S_WV_SOFT] + 1e-9);
        CHECK(f[XANS_S_WV_HIGH] >= 0.0 && f[XANS_S_WV_HIGH] <= 1.0 + 1e-9);
        CHECK(fabs(f[XANS_S_WV_COSINE]) <= 1.0 + 1e-6);
        CHECK(f[XANS_S_WV_CHUNK_SOFT] >= f[XANS_S_WV_SOFT] - 1e-12);
    }
    if (r.best < r.n_sentences) {
        CHECK(r.sentences[r.best].chunk < n_answer);
        CHECK(r.confidence > 0.0 && r.confidence < 1.0);
        check_selection(chunks, n, &r, FRUGAL_ASK_DEFAULT_BUDGET, FRUGAL_ASK_DEFAULT_CONTEXT_GAIN,
                        valid);
        check_selection(chunks, n, &r, 50, 0.0, valid);
    } else {
        CHECK(r.best == r.n_sentences);
    }
    xans_result_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    if (plain == NULL)
        setup();
    /* one NUL-terminated copy: the question ends at the first newline, chunks at 0x1e */
    char *text = malloc(size);
    CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = strlen(text);
    char *nl = memchr(text, '\n', len);
    const char *body = "";
    if (nl != NULL) {
        *nl = '\0';
        body = nl + 1;
    }
    struct xans_chunk chunks[FUZZ_MAX_CHUNKS];
    size_t n = 0;
    bool valid = true;
    for (const char *p = body; n < FUZZ_MAX_CHUNKS;) {
        const char *end = strchr(p, 0x1e);
        size_t clen = end != NULL ? (size_t)(end - p) : strlen(p);
        chunks[n] = (struct xans_chunk){.text = p, .len = clen, .document_id = 1 + (int64_t)n % 3,
                                        .chunk_id = 10 + (int64_t)n, .char_start = 0,
                                        .score = 10.0 / (1.0 + (double)n)};
        valid = valid && utf8_valid(p, clen);
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    size_t n_answer = 1 + data[0] % n;
    run(plain, false, text, chunks, n, n_answer, valid);
    run(with_vectors, true, text, chunks, n, n_answer, valid);
    free(text);
    return 0;
}
