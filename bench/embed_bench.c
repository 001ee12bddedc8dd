/*
 * embed_bench.c - the frugal side of `make bench-embed` (built and run by bench/embed.sh).
 *
 * Usage: embed_bench DIR TOKENS THREADS SECONDS [int8]. Embeds batches of 32 texts that
 * tokenize to exactly TOKENS tokens ("w5 w6 ..." over the bench model's vocabulary) with
 * bert_embed (tokenization, forward, pooling, normalization) for SECONDS after one warm-up
 * batch, and prints sentences per second.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed/bert.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    enum { BATCH = 32 };
    struct bert_opts opts;
    struct bert_model *m = NULL;
    struct err err;
    const char *texts[BATCH];
    static char buf[BATCH][8192];
    float *out;
    int tokens;
    double seconds;
    double t0;
    long n = 0;

    if (argc < 5)
        return 2;
    tokens = (int)strtol(argv[2], NULL, 10);
    seconds = strtod(argv[4], NULL);
    bert_default_opts(&opts);
    opts.n_threads = (int)strtol(argv[3], NULL, 10);
    opts.int8 = argc > 5 && strcmp(argv[5], "int8") == 0;
    opts.max_batch = BATCH;
    if (bert_model_open(argv[1], &opts, &m, &err) != FRUGAL_OK) {
        fprintf(stderr, "embed_bench: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < BATCH; i++) {
        size_t pos = 0;
        for (int j = 0; j < tokens - 2 && pos + 16 < sizeof(buf[i]); j++)
            pos += (size_t)snprintf(buf[i] + pos, sizeof(buf[i]) - pos, "w%d ",
                                    (i * 7919 + j * 104729) % 30000);
        texts[i] = buf[i];
    }
    out = malloc(sizeof(float) * BATCH * bert_dim(m));
    if (bert_embed(m, texts, BATCH, out, &err) != FRUGAL_OK) {
        fprintf(stderr, "embed_bench: %s\n", err.msg);
        return 1;
    }
    t0 = now();
    while (now() - t0 < seconds) {
        bert_embed(m, texts, BATCH, out, &err);
        n += BATCH;
    }
    printf("%.1f\n", (double)n / (now() - t0));
    free(out);
    bert_model_close(m);
    return 0;
}
