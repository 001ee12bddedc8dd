/*
 * scarcity_bench.c - the GPU-scarcity simulation of bench/scarcity.sh: a stream of SQuAD v1.1
 * questions arriving at a fixed rate (Poisson, fixed seed) against a generator of fixed capacity
 * (tests/data/gen/fake_chat.py: 2 concurrent requests, ~1 s each, 429 beyond), answered by
 * frugal_ask either always through the generator ("always": a plain RAG pipeline, same
 * retrieval) or by the router ("router": mode auto).
 *
 * Usage: scarcity_bench DB SQUAD_JSON N_QUESTIONS SEED GEN_URL RATE always|router
 * Builds the collection "squad" in DB from every paragraph when it is empty, picks N questions
 * with the seed, runs them through WORKERS threads (one frugal_db each, one shared generator)
 * and prints one JSON object: questions, answered (route generate for "always"; any non-empty
 * answer for "router"), answered_per_s (over the span from the first arrival to the last
 * answer), p50/p99 latency from arrival to answer (answered questions), generated, prompt and
 * completion tokens, and support (answered and the text contains a gold answer, SQuAD
 * normalization, over all questions). The fake generator echoes the sources it was sent, so
 * the support of a generated answer is that of its context: an upper bound for a real LLM.
 *
 * Threading: WORKERS threads take questions from a shared index under a mutex; each waits until
 * its question's arrival time, so queueing behind busy workers counts in the latency.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "eval/squad.h"
#include "frugal.h"

#define WORKERS 48

struct job {
    const struct squad_question *q;
    double arrival_ms;   /* from the start */
    double latency_ms;
    bool answered;
    bool supported;
    bool generated;
    size_t prompt_tokens;
    size_t completion_tokens;
};

static struct {
    const char *db_path;
    frugal_generator *gen;
    bool always;
    struct job *jobs;
    size_t n_jobs;
    size_t next;
    pthread_mutex_t mu;
    struct timespec start;
} g;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - g.start.tv_sec) * 1e3 + (double)(t.tv_nsec - g.start.tv_nsec) / 1e6;
}

static bool supported(const char *text, const struct squad_question *q)
{
    struct buf nt;
    struct buf ng;
    bool ok = false;
    buf_init(&nt, 0);
    buf_init(&ng, 0);
    squad_normalize(text, strlen(text), &nt);
    for (size_t i = 0; i < q->n_answers && !ok && nt.ptr != NULL; i++) {
        squad_normalize(q->answers[i], strlen(q->answers[i]), &ng);
        ok = ng.ptr != NULL && ng.ptr[0] != '\0' && squad_contains(nt.ptr, ng.ptr);
    }
    buf_release(&nt);
    buf_release(&ng);
    return ok;
}

static void *worker(void *arg)
{
    frugal_db *db = NULL;
    (void)arg;
    if (frugal_open(g.db_path, NULL, &db) != FRUGAL_OK ||
        frugal_use_generators(db, &g.gen, 1) != FRUGAL_OK) {
        fprintf(stderr, "open: %s\n", frugal_errmsg(db));
        exit(1);
    }
    for (;;) {
        pthread_mutex_lock(&g.mu);
        size_t i = g.next++;
        pthread_mutex_unlock(&g.mu);
        if (i >= g.n_jobs)
            break;
        struct job *j = &g.jobs[i];
        double wait = j->arrival_ms - now_ms();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1e3), (long)(fmod(wait, 1e3) * 1e6)};
            nanosleep(&ts, NULL);
        }
        frugal_ask_params p;
        frugal_ask_default_params(&p);
        p.collection = "squad";
        p.mode = g.always ? FRUGAL_ASK_GENERATE : FRUGAL_ASK_AUTO;
        p.no_cache = true;
        p.max_tokens = 64;
        frugal_answer *a = NULL;
        if (frugal_ask(db, j->q->question, &p, &a) == FRUGAL_OK) {
            j->generated = strcmp(a->route, "generate") == 0;
            j->answered = g.always ? j->generated : a->text[0] != '\0';
            j->supported = j->answered && supported(a->text, j->q);
            j->prompt_tokens = a->prompt_tokens;
            j->completion_tokens = a->completion_tokens;
        }
        j->latency_ms = now_ms() - j->arrival_ms;
        frugal_answer_free(a);
    }
    frugal_close(db);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static frugal_status build(const char *db_path, const struct squad_set *s)
{
    frugal_db *db = NULL;
    frugal_status rc = frugal_open(db_path, NULL, &db);
    frugal_collection_info *list = NULL;
    size_t n = 0;
    bool have = false;
    if (rc == FRUGAL_OK)
        rc = frugal_collection_list(db, &list, &n);
    for (size_t i = 0; rc == FRUGAL_OK && i < n; i++)
        have = have || (strcmp(list[i].name, "squad") == 0 && list[i].n_documents > 0);
    frugal_collection_list_free(list, n);
    if (rc == FRUGAL_OK && !have) {
        struct buf corpus;
        buf_init(&corpus, 0);
        for (size_t i = 0; i < s->n_paragraphs; i++) {
            char id[32];
            snprintf(id, sizeof id, "p%zu", i);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "_id", id);
            cJSON_AddStringToObject(o, "title", s->titles[s->paragraphs[i].article]);
            cJSON_AddStringToObject(o, "text", s->paragraphs[i].context);
            char *line = cJSON_PrintUnformatted(o);
            buf_puts(&corpus, line);
            buf_putc(&corpus, '\n');
            cJSON_free(line);
            cJSON_Delete(o);
        }
        frugal_collection_params cp;
        frugal_collection_default_params(&cp);
        rc = frugal_collection_create(db, "squad", &cp);
        frugal_ingest_params ip;
        frugal_ingest_default_params(&ip);
        ip.collection = "squad";
        ip.max_file_bytes = corpus.len + 1;
        if (rc == FRUGAL_OK)
            rc = frugal_ingest_buffer(db, "squad.jsonl", corpus.ptr, corpus.len, &ip, NULL);
        if (rc == FRUGAL_OK)
            rc = frugal_optimize(db, "squad");
        buf_release(&corpus);
    }
    if (rc != FRUGAL_OK)
        fprintf(stderr, "build: %s\n", frugal_errmsg(db));
    frugal_close(db);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: scarcity_bench DB SQUAD_JSON N SEED GEN_URL RATE always|router\n");
        return 2;
    }
    size_t n_q = strtoul(argv[3], NULL, 10);
    unsigned long seed = strtoul(argv[4], NULL, 10);
    double rate = strtod(argv[6], NULL);
    g.db_path = argv[1];
    g.always = strcmp(argv[7], "always") == 0;
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL)
        return 1;
    struct buf data;
    buf_init(&data, 0);
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&data, chunk, r);
    fclose(f);
    struct squad_set s;
    struct err e;
    squad_set_init(&s);
    if (squad_parse(data.ptr, data.len, &s, &e) != FRUGAL_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    buf_release(&data);
    if (build(g.db_path, &s) != FRUGAL_OK)
        return 1;
    frugal_generator_params gp;
    frugal_generator_default_params(&gp);
    gp.capacity = 2;
    gp.timeout_ms = 30000;
    if (frugal_generator_open_openai(argv[5], "sim", NULL, &gp, &g.gen) != FRUGAL_OK)
        return 1;
    if (n_q > s.n_questions)
        n_q = s.n_questions;
    g.jobs = calloc(n_q, sizeof *g.jobs);
    g.n_jobs = n_q;
    srand((unsigned)seed);
    double t = 0;
    for (size_t i = 0; i < n_q; i++) {
        /* a seeded pick (questions may repeat: as a real stream would) */
        size_t k = ((size_t)rand() * 7919u + (size_t)rand()) % s.n_questions;
        double u = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
        t += -log(u) / rate * 1e3;
        g.jobs[i].q = &s.questions[k];
        g.jobs[i].arrival_ms = t;
    }
    pthread_mutex_init(&g.mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &g.start);
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    double end = 0;
    size_t answered = 0;
    size_t generated = 0;
    size_t sup = 0;
    size_t pt = 0;
    size_t ct = 0;
    double *lat = calloc(n_q, sizeof *lat);
    for (size_t i = 0; i < n_q; i++) {
        const struct job *j = &g.jobs[i];
        if (j->arrival_ms + j->latency_ms > end)
            end = j->arrival_ms + j->latency_ms;
        if (j->answered)
            lat[answered++] = j->latency_ms;
        generated += j->generated;
        sup += j->supported;
        pt += j->prompt_tokens;
        ct += j->completion_tokens;
    }
    qsort(lat, answered, sizeof *lat, cmp_double);
    double span_s = (end - g.jobs[0].arrival_ms) / 1e3;
    printf("{\"policy\": \"%s\", \"rate\": %g, \"questions\": %zu, \"answered\": %zu, "
           "\"answered_per_s\": %.3f, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"generated\": %zu, "
           "\"prompt_tokens\": %zu, \"completion_tokens\": %zu, \"support\": %.4f}\n",
           argv[7], rate, n_q, answered, span_s > 0 ? (double)answered / span_s : 0.0,
           answered > 0 ? lat[answered / 2] : 0.0,
           answered > 0 ? lat[(size_t)((double)(answered - 1) * 0.99)] : 0.0, generated, pt, ct,
           (double)sup / (double)n_q);
    free(lat);
    free(g.jobs);
    frugal_generator_free(g.gen);
    squad_set_release(&s);
    return 0;
}
