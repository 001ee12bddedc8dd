/*
 * cost.c - price table, per-call cost and CPU time (contract and file format in cost.h).
 *
 * How: the table is a fixed array (a few lines in practice), parsed line by line with strtod
 * and checked strictly: three fields per backend line, two for cpu-hour, finite non-negative
 * numbers, nothing after them but a comment. Lookup is a linear scan: exact name first, then
 * "*". CPU time comes from CLOCK_THREAD_CPUTIME_ID, so a worker thread's answer is charged only
 * for its own work.
 *
 * Why: the router weighs an LLM call's money against a CPU answer's milliseconds; both must be
 * numbers it can read without I/O.
 *
 * Threading: tables are immutable once parsed; the clock functions touch only their argument.
 */
#include "answer/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cost_table_init(struct cost_table *t)
{
    memset(t, 0, sizeof(*t));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Reads a non-negative finite number at *p (advancing it); false when there is none. */
static bool read_price(const char **p, const char *end, double *out)
{
    char tmp[64];
    size_t n = 0;
    char *stop;
    while (*p < end && is_space(**p))
        (*p)++;
    while (*p + n < end && !is_space((*p)[n]) && (*p)[n] != '#' && n < sizeof(tmp) - 1)
        n++;
    if (n == 0 || n == sizeof(tmp) - 1)
        return false;
    memcpy(tmp, *p, n);
    tmp[n] = '\0';
    if (strspn(tmp, "0123456789.eE+-") != n)
        return false; /* no "inf", "nan", hex */
    *out = strtod(tmp, &stop);
    if (*stop != '\0' || !isfinite(*out) || *out < 0)
        return false;
    *p += n;
    return true;
}

static frugal_status parse_line(struct cost_table *t, const char *p, const char *end,
                                const char *origin, size_t line_no, struct err *err)
{
    const char *name;
    size_t name_len;
    double a;
    double b = 0;
    bool cpu;

    while (p < end && is_space(*p))
        p++;
    if (p == end || *p == '#')
        return FRUGAL_OK;
    name = p;
    while (p < end && !is_space(*p))
        p++;
    name_len = (size_t)(p - name);
    cpu = name_len == 8 && memcmp(name, "cpu-hour", 8) == 0;
    if (name_len >= sizeof(t->entries[0].backend))
        return err_set(err, FRUGAL_EINVAL, "%s:%zu: backend name over 127 bytes", origin,
                       line_no);
    if (!read_price(&p, end, &a) || (!cpu && !read_price(&p, end, &b)))
        return err_set(err, FRUGAL_EINVAL, cpu ? "%s:%zu: expected cpu-hour PRICE"
                       : "%s:%zu: expected BACKEND PROMPT_PER_1K COMPLETION_PER_1K", origin,
                       line_no);
    while (p < end && is_space(*p))
        p++;
    if (p < end && *p != '#')
        return err_set(err, FRUGAL_EINVAL, "%s:%zu: unexpected text after the prices", origin,
                       line_no);
    if (cpu) {
        t->cpu_hour = a;
        return FRUGAL_OK;
    }
    for (size_t i = 0; i < t->n_entries; i++)
        if (strlen(t->entries[i].backend) == name_len &&
            memcmp(t->entries[i].backend, name, name_len) == 0)
            return err_set(err, FRUGAL_EINVAL, "%s:%zu: backend '%.*s' priced twice", origin,
                           line_no, (int)name_len, name);
    if (t->n_entries == COST_MAX_ENTRIES)
        return err_set(err, FRUGAL_ETOOBIG, "%s:%zu: more than %d backends", origin, line_no,
                       COST_MAX_ENTRIES);
    memcpy(t->entries[t->n_entries].backend, name, name_len);
    t->entries[t->n_entries].backend[name_len] = '\0';
    t->entries[t->n_entries].prompt_per_1k = a;
    t->entries[t->n_entries].completion_per_1k = b;
    t->n_entries++;
    return FRUGAL_OK;
}

frugal_status cost_table_parse(struct cost_table *t, const char *text, size_t len,
                               const char *origin, struct err *err)
{
    const char *p = text;
    const char *end = text + len;
    size_t line_no = 0;
    cost_table_init(t);
    while (p < end) {
        const char *eol = p;
        frugal_status st;
        while (eol < end && *eol != '\n' && *eol != ';')
            eol++;
        line_no++;
        st = parse_line(t, p, eol, origin, line_no, err);
        if (st != FRUGAL_OK) {
            cost_table_init(t);
            return st;
        }
        p = eol < end ? eol + 1 : end;
    }
    return FRUGAL_OK;
}

frugal_status cost_table_from_env(struct cost_table *t, struct err *err)
{
    const char *v = getenv("FRUGAL_PRICES");
    cost_table_init(t);
    if (v == NULL)
        return FRUGAL_OK;
    return cost_table_parse(t, v, strlen(v), "FRUGAL_PRICES", err);
}

const struct cost_price *cost_lookup(const struct cost_table *t, const char *backend)
{
    const struct cost_price *any = NULL;
    if (backend == NULL)
        return NULL;
    for (size_t i = 0; i < t->n_entries; i++) {
        if (strcmp(t->entries[i].backend, backend) == 0)
            return &t->entries[i];
        if (strcmp(t->entries[i].backend, "*") == 0)
            any = &t->entries[i];
    }
    return any;
}

void cost_compute(const struct cost_table *t, const char *backend, uint32_t prompt_tokens,
                  uint32_t completion_tokens, double cpu_ms, struct cost_report *out)
{
    const struct cost_price *p = cost_lookup(t, backend);
    memset(out, 0, sizeof(*out));
    if (p != NULL) {
        out->priced = true;
        out->generator = (double)prompt_tokens / 1000.0 * p->prompt_per_1k +
                         (double)completion_tokens / 1000.0 * p->completion_per_1k;
    }
    if (cpu_ms > 0)
        out->cpu = cpu_ms / 3600000.0 * t->cpu_hour;
    out->total = out->generator + out->cpu;
}

void cost_cpu_start(struct cost_cpu_clock *c)
{
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c->start);
}

double cost_cpu_ms(const struct cost_cpu_clock *c)
{
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)(now.tv_sec - c->start.tv_sec) * 1000.0 +
           (double)(now.tv_nsec - c->start.tv_nsec) / 1e6;
}
