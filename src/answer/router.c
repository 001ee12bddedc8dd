/*
 * router.c - the per-question routing decision (router.h): extractive on the CPU when the
 * extractive answer is confident enough or no generator can take the question, else generate.
 *
 * How: question features are read off the lowercased text with a handful of cue phrases (no
 * model); the effective threshold starts at the SQuAD-fitted min_confidence and is raised for
 * complex questions and for retrievals where BM25 and dense disagree. Generator availability
 * comes from the health snapshots (gen_health) the caller passes: a generator is usable when
 * its circuit is not open, it is under its capacity (when one is configured) and its recent
 * p95 latency is within max_p95_ms. The first reason that rules generation out is reported.
 * A budget (read from the store by the caller, ask.c) rules it out when nothing is left or less
 * than the estimated cost of one generation; it binds a caller's GENERATE override too.
 *
 * Why pure: the policy is the part most worth testing and tuning; with no I/O it is tested on
 * synthetic inputs and reused by the benchmarks.
 *
 * Threading: pure functions; no state.
 */
#include "answer/router.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *router_route_name(enum router_route r)
{
    switch (r) {
    case ROUTER_CACHE:
        return "cache";
    case ROUTER_GENERATE:
        return "generate";
    case ROUTER_EXTRACTIVE:
        break;
    }
    return "extractive";
}

void router_default_config(struct router_config *c)
{
    c->min_confidence = FRUGAL_ASK_DEFAULT_THRESHOLD;
    c->complex_raise = 0.15;
    c->disagree_raise = 0.05;
    c->min_agreement = 0.5;
    c->max_p95_ms = 60000.0;
}

/* Lowercased copy of q with single spaces, padded with a space at both ends. */
static void fold(const char *q, char *out, size_t cap)
{
    size_t n = 0;
    bool space = true;
    out[n++] = ' ';
    for (const char *p = q; *p != '\0' && n + 2 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            if (!space)
                out[n++] = ' ';
            space = true;
            continue;
        }
        out[n++] = (char)tolower(c);
        space = false;
    }
    if (!space)
        out[n++] = ' ';
    out[n] = '\0';
}

static bool has(const char *text, const char *cue)
{
    return strstr(text, cue) != NULL;
}

void router_question_features(const char *question, struct router_question *out)
{
    static const char *const qwords[] = {"what", "which", "who",  "whom", "whose", "when",
                                         "where", "why",  "how",  "is",   "are",   "does",
                                         "do",    "can",  "explain"};
    char q[1024];
    memset(out, 0, sizeof *out);
    fold(question != NULL ? question : "", q, sizeof q);
    for (const char *p = q; *p != '\0'; p++)
        if (p[0] == ' ' && p[1] != '\0' && p[1] != ' ')
            out->n_words++;
    out->comparison = has(q, " compare") || has(q, " difference between ") ||
                      has(q, " differences between ") || has(q, " vs ") ||
                      has(q, " vs. ") || has(q, " versus ") || has(q, " better than ") ||
                      has(q, " pros and cons ");
    out->explanation = strncmp(q, " why ", 5) == 0 || strncmp(q, " how does ", 10) == 0 ||
                       strncmp(q, " how do ", 8) == 0 || strncmp(q, " how did ", 9) == 0 ||
                       strncmp(q, " how is ", 8) == 0 || strncmp(q, " how can ", 9) == 0 ||
                       strncmp(q, " how would ", 11) == 0 || strncmp(q, " explain ", 9) == 0 ||
                       has(q, " why ") || has(q, " explain ");
    size_t n_marks = 0;
    for (const char *p = q; *p != '\0'; p++)
        n_marks += *p == '?';
    const char *and = strstr(q, " and ");
    bool and_clause = false;
    if (and != NULL) {
        /* " and " followed by a question word or an auxiliary starts a second question */
        static const char *const starts[] = {"what ", "which ", "who ", "when ", "where ",
                                             "why ",  "how ",   "is ",  "are ",  "does ",
                                             "do ",   "did ",   "can "};
        for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
            and_clause = and_clause || strncmp(and + 5, starts[i], strlen(starts[i])) == 0;
    }
    out->multi_part = n_marks > 1 || and_clause;
    for (const char *p = q; *p != '\0' && out->qword[0] == '\0'; p++) {
        if (*p != ' ')
            continue;
        for (size_t i = 0; i < sizeof qwords / sizeof qwords[0]; i++) {
            size_t len = strlen(qwords[i]);
            if (strncmp(p + 1, qwords[i], len) == 0 && (p[1 + len] == ' ' || p[1 + len] == '?')) {
                snprintf(out->qword, sizeof out->qword, "%s", qwords[i]);
                break;
            }
        }
    }
}

bool router_question_complex(const struct router_question *q)
{
    return q->comparison || q->explanation || q->multi_part;
}

/* Whether the budget rules a generation out (nothing left, or less than one costs); why[]. */
static bool budget_exhausted(const struct router_inputs *in, char *why, size_t cap)
{
    if (!in->has_budget || (in->budget_left > 0.0 && in->budget_left >= in->estimated_cost))
        return false;
    if (in->budget_name != NULL)
        snprintf(why, cap, "budget of %.64s exhausted (spent %.4g of %.4g, a generation costs "
                 "about %.4g)",
                 in->budget_name, in->budget_spent, in->budget_limit, in->estimated_cost);
    else
        snprintf(why, cap, "budget exhausted (%.4g left, a generation costs about %.4g)",
                 in->budget_left, in->estimated_cost);
    return true;
}

/* Why no generator can take the question now, into why[]; false when one can. */
static bool unavailable(const struct router_config *c, const struct router_inputs *in,
                        char *why, size_t cap)
{
    if (in->n_generators == 0) {
        snprintf(why, cap, "no generator configured");
        return true;
    }
    if (budget_exhausted(in, why, cap))
        return true;
    const char *first_reason = NULL;
    size_t first = 0;
    for (size_t i = 0; i < in->n_generators; i++) {
        const struct gen_health *h = &in->health[i];
        const char *r = NULL;
        if (h->circuit == GEN_OPEN)
            r = "circuit open";
        else if (h->capacity > 0 && h->in_flight >= h->capacity)
            r = "at capacity";
        else if (c->max_p95_ms > 0 && h->p95_ms > c->max_p95_ms)
            r = "too slow";
        if (r == NULL)
            return false;
        if (first_reason == NULL) {
            first_reason = r;
            first = i;
        }
    }
    const struct gen_health *h = &in->health[first];
    const char *name = in->names != NULL && in->names[first] != NULL ? in->names[first] : "";
    if (strcmp(first_reason, "at capacity") == 0)
        snprintf(why, cap, "%s at capacity (%d/%d in flight)", name, h->in_flight,
                 h->capacity);
    else if (strcmp(first_reason, "too slow") == 0)
        snprintf(why, cap, "%s too slow (p95 %.0f ms)", name, h->p95_ms);
    else
        snprintf(why, cap, "%s circuit open", name);
    return true;
}

void router_decide(const struct router_config *config, const struct router_inputs *in,
                   struct router_decision *out)
{
    struct router_config defaults;
    if (config == NULL) {
        router_default_config(&defaults);
        config = &defaults;
    }
    double t = config->min_confidence;
    char extra[96];
    extra[0] = '\0';
    if (router_question_complex(&in->question)) {
        t += config->complex_raise;
        snprintf(extra, sizeof extra, "%s",
                 in->question.comparison    ? ", comparison question"
                 : in->question.explanation ? ", explanation question"
                                            : ", multi-part question");
    }
    if (in->agreement >= 0.0 && in->agreement < config->min_agreement) {
        /* the figure goes into the reason: it moved the threshold */
        size_t used = strlen(extra);
        t += config->disagree_raise;
        snprintf(extra + used, sizeof extra - used,
                 ", BM25 and dense disagree (agreement %.2f < %.2f)", in->agreement,
                 config->min_agreement);
    }
    if (t > config->min_confidence && t > 0.99) /* raises never make the CPU path impossible */
        t = config->min_confidence > 0.99 ? config->min_confidence : 0.99;
    out->threshold = t;
    out->route = ROUTER_EXTRACTIVE;
    if (in->mode == FRUGAL_ASK_EXTRACTIVE) {
        snprintf(out->reason, sizeof out->reason,
                 "extractive answer requested (confidence %.2f)", in->confidence);
        return;
    }
    if (!in->retrieved) {
        snprintf(out->reason, sizeof out->reason, "nothing retrieved for the question");
        return;
    }
    char why[192];
    if (in->mode == FRUGAL_ASK_GENERATE && budget_exhausted(in, why, sizeof why)) {
        snprintf(out->reason, sizeof out->reason,
                 "generator unavailable: %s (generation requested, confidence %.2f)", why,
                 in->confidence);
        return;
    }
    if (in->mode == FRUGAL_ASK_GENERATE) {
        out->route = ROUTER_GENERATE;
        snprintf(out->reason, sizeof out->reason,
                 "generation requested (confidence %.2f)", in->confidence);
        return;
    }
    if (in->confidence >= t) {
        snprintf(out->reason, sizeof out->reason, "confidence %.3f >= threshold %.2f%s",
                 in->confidence, t, extra);
        return;
    }
    if (unavailable(config, in, why, sizeof why)) {
        snprintf(out->reason, sizeof out->reason,
                 "generator unavailable: %s (confidence %.3f < threshold %.2f)", why,
                 in->confidence, t);
        return;
    }
    out->route = ROUTER_GENERATE;
    snprintf(out->reason, sizeof out->reason, "confidence %.3f < threshold %.2f%s",
             in->confidence, t, extra);
}
