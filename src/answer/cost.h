/*
 * cost.h - what an answer costs: a price table per generator backend (per 1,000 prompt and
 * completion tokens), the cost of one call, and CPU time accounting.
 *
 * Price table format (a file, or $FRUGAL_PRICES with ';' between entries):
 *     # comment
 *     BACKEND  PROMPT_PER_1K  COMPLETION_PER_1K
 *     cpu-hour PRICE                      optional: price of one CPU hour, for cpu_ms
 * BACKEND is the generator's name as configured ("openai:gpt-4o-mini",
 * "bedrock:anthropic.claude-3-haiku-20240307-v1:0", "local"); "*" matches any backend without
 * its own line. Prices are non-negative decimal numbers in one currency of the operator's
 * choosing (the table does not name it). At most COST_MAX_ENTRIES lines; names up to 127 bytes.
 * Errors name the line: "prices:3: expected BACKEND PROMPT_PER_1K COMPLETION_PER_1K".
 * Example:
 *     local                                          0        0
 *     openai:gpt-4o-mini                             0.00015  0.0006
 *     bedrock:anthropic.claude-3-haiku-20240307-v1:0 0.00025  0.00125
 *     cpu-hour                                       0.04
 *
 * Threading: a table is read-only after parsing; the CPU clock is per thread.
 */
#ifndef FRUGAL_ANSWER_COST_H
#define FRUGAL_ANSWER_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define COST_MAX_ENTRIES 256

struct cost_price {
    char backend[128];
    double prompt_per_1k;     /* per 1,000 prompt tokens */
    double completion_per_1k; /* per 1,000 completion tokens */
};

struct cost_table {
    struct cost_price entries[COST_MAX_ENTRIES];
    size_t n_entries;
    double cpu_hour;          /* price of one CPU hour; 0 = CPU time is free */
};

void cost_table_init(struct cost_table *t);
/* Parses text (len bytes) into t (replacing its contents). origin names the source in messages
 * ("prices", a file name). */
frugal_status cost_table_parse(struct cost_table *t, const char *text, size_t len,
                               const char *origin, struct err *err);
/* $FRUGAL_PRICES when set (FRUGAL_OK with an empty table otherwise). */
frugal_status cost_table_from_env(struct cost_table *t, struct err *err);

/* The price line for backend (exact name, else "*"), or NULL. */
const struct cost_price *cost_lookup(const struct cost_table *t, const char *backend);

struct cost_report {
    double generator;   /* tokens at the backend's prices */
    double cpu;         /* cpu_ms at the CPU-hour price */
    double total;
    bool priced;        /* the backend had a price line (else generator = 0) */
};
/* The cost of one answer: a generator call (backend may be NULL for none) plus cpu_ms. */
void cost_compute(const struct cost_table *t, const char *backend, uint32_t prompt_tokens,
                  uint32_t completion_tokens, double cpu_ms, struct cost_report *out);

/* Thread CPU time: start a clock, read the milliseconds spent since on this thread. */
struct cost_cpu_clock {
    struct timespec start;
};
void cost_cpu_start(struct cost_cpu_clock *c);
double cost_cpu_ms(const struct cost_cpu_clock *c);

#endif
