/*
 * bm25_bench.c - the frugal side of `make bench-bm25-scale` (built and run by bench/bm25_scale.sh).
 *
 * Usage: bm25_bench DB QUERIES.tsv [K [TOP_OUT]]
 *
 * Opens the database DB read-only, reads the queries (one per line: id TAB text), runs every
 * query once untimed (warms the page cache and loads the BM25 index file, as Xapian's side does),
 * then times frugal_search for each query, single-threaded, top K (default 10), snippets off,
 * default collection, no grouping. The ranking engine is the library's choice:
 * FRUGAL_BM25_ENGINE unset = frugal's own BM25 index, =fts5 = SQLite FTS5. Prints one JSON object:
 * queries, latency_ms_p50, latency_ms_p99 (nearest rank), latency_ms_mean, and the mean hits per
 * query. With TOP_OUT, writes each query's ranked ext ids (id TAB ids separated by spaces) there,
 * so the script can check that the engines agree.
 *
 * Latency is the wall time of the frugal_search call: analysis, ranking and reading the K hits'
 * rows from SQLite (what an application waits for), not frugal_results_free.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frugal.h"

struct query {
    char *id;   /* owned */
    char *text; /* owned */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted[0..n), as bench/xapian_bm25.py computes it. */
static double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Reads path into *out (malloc'd array of *n queries). 0 on success. */
static int read_queries(const char *path, struct query **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "bm25_bench: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct query *qs = NULL;
    size_t count = 0;
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *tab = strchr(line, '\t');
        if (len == 0 || tab == NULL)
            continue;
        if (count == cap) {
            size_t grown = cap > 0 ? 2 * cap : 256;
            struct query *q = realloc(qs, grown * sizeof *q);
            if (q == NULL) {
                rc = 1;
                break;
            }
            qs = q;
            cap = grown;
        }
        qs[count].id = dup_range(line, (size_t)(tab - line));
        qs[count].text = dup_range(tab + 1, strlen(tab + 1));
        if (qs[count].id == NULL || qs[count].text == NULL) {
            free(qs[count].id);
            free(qs[count].text);
            rc = 1;
            break;
        }
        count++;
    }
    free(line);
    fclose(f);
    *out = qs;
    *n = count;
    if (rc != 0)
        fprintf(stderr, "bm25_bench: out of memory\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bm25_bench DB QUERIES.tsv [K [TOP_OUT]]\n");
        return 2;
    }
    size_t k = 10;
    if (argc > 3) {
        char *end = NULL;
        long v = strtol(argv[3], &end, 10);
        if (end == argv[3] || *end != '\0' || v < 1 || v > 10000) {
            fprintf(stderr, "bm25_bench: bad K %s\n", argv[3]);
            return 2;
        }
        k = (size_t)v;
    }
    const char *top_path = argc > 4 ? argv[4] : NULL;
    struct query *qs = NULL;
    size_t n = 0;
    int rc = read_queries(argv[2], &qs, &n);
    double *lat = rc == 0 ? calloc(n > 0 ? n : 1, sizeof *lat) : NULL;
    if (rc == 0 && lat == NULL) {
        fprintf(stderr, "bm25_bench: out of memory\n");
        rc = 1;
    }
    frugal_db *db = NULL;
    frugal_open_params op;
    frugal_open_default_params(&op);
    op.read_only = true;
    if (rc == 0 && frugal_open(argv[1], &op, &db) != FRUGAL_OK) {
        fprintf(stderr, "bm25_bench: %s: %s\n", argv[1], frugal_errmsg(db));
        rc = 1;
    }
    frugal_search_params sp;
    frugal_search_default_params(&sp);
    sp.k = k;
    sp.snippets = false;
    FILE *top = NULL;
    if (rc == 0 && top_path != NULL) {
        top = fopen(top_path, "w");
        if (top == NULL) {
            fprintf(stderr, "bm25_bench: %s: %s\n", top_path, strerror(errno));
            rc = 1;
        }
    }
    size_t total_hits = 0;
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        for (size_t i = 0; rc == 0 && i < n; i++) {
            frugal_results *res = NULL;
            double t0 = now_ms();
            frugal_status st = frugal_search(db, qs[i].text, &sp, &res);
            double t1 = now_ms();
            if (st != FRUGAL_OK) {
                fprintf(stderr, "bm25_bench: query %s: %s\n", qs[i].id, frugal_errmsg(db));
                rc = 1;
                break;
            }
            if (pass == 1) {
                lat[i] = t1 - t0;
                total_hits += res->n_hits;
                if (top != NULL) {
                    fprintf(top, "%s\t", qs[i].id);
                    for (size_t h = 0; h < res->n_hits; h++)
                        fprintf(top, "%s%s", h > 0 ? " " : "",
                                res->hits[h].ext_id != NULL ? res->hits[h].ext_id : "?");
                    fputc('\n', top);
                }
            }
            frugal_results_free(res);
        }
    }
    if (top != NULL && fclose(top) != 0 && rc == 0) {
        fprintf(stderr, "bm25_bench: %s: %s\n", top_path, strerror(errno));
        rc = 1;
    }
    if (rc == 0) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += lat[i];
        qsort(lat, n, sizeof *lat, cmp_double);
        printf("{\"queries\": %zu, \"latency_ms_p50\": %.4f, \"latency_ms_p99\": %.4f, "
               "\"latency_ms_mean\": %.4f, \"hits_per_query\": %.3f}\n",
               n, percentile(lat, n, 50.0), percentile(lat, n, 99.0),
               n > 0 ? sum / (double)n : 0.0, n > 0 ? (double)total_hits / (double)n : 0.0);
    }
    frugal_close(db);
    for (size_t i = 0; i < n; i++) {
        free(qs[i].id);
        free(qs[i].text);
    }
    free(qs);
    free(lat);
    return rc;
}
