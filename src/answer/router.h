/*
 * router.h - the decision frugal_ask makes per question: cache, extractive (CPU) or generate.
 *
 * Contract: router_decide is a pure function of its inputs (struct router_inputs) and the
 * thresholds (struct router_config); it writes the route and a one-line reason. Policy, in order:
 *   1. mode EXTRACTIVE -> extractive ("extractive answer requested").
 *   2. nothing retrieved -> extractive ("nothing retrieved for the question").
 *   3. mode GENERATE -> generate (the caller checked a generator exists; the breaker and
 *      failover still decide whether one answers, with the extractive answer as fallback),
 *      unless a budget is exhausted (as in 5: a budget is the operator's hard limit, which a
 *      caller's override does not lift).
 *   4. confidence >= the effective threshold -> extractive. The effective threshold is
 *      min_confidence (default 0.68, fitted on SQuAD v1.1: the lowest threshold at >= 90%
 *      support) plus complex_raise (default 0.15) for a question with comparison, explanation
 *      or multi-part cues, plus disagree_raise (default 0.05) when BM25 and dense retrieval
 *      disagree (agreement known and < min_agreement; agreement is frugal_results.agreement,
 *      the overlap of the two sides' top 5, query/hybrid.h; the reason then says
 *      "BM25 and dense disagree (agreement a < m)"); capped at 0.99. The
 *      raises are priors, not fitted, and SQuAD cannot fit them: its dev set has 399 complex
 *      questions by these cues (3.8%: 329 explanation, 45 comparison, 34 multi-part), and
 *      their extractive support against the confidence threshold follows that of all
 *      questions within about 3 points (measured 2026-11-27 with `frugal eval squad` on the
 *      complex subset: 0.95/0.94/0.94/0.97 at thresholds 0.1/0.2/0.3/0.4, against
 *      0.96/0.97/0.97/0.97 for all 10,570), so a fit there says "no raise". That is because
 *      every SQuAD answer, "why" included, is one span of one paragraph by construction,
 *      which is exactly what the raise doubts for real "why" and "compare" questions; fitting
 *      it needs judged multi-sentence answers (e.g. a long-form QA set), which we do not have.
 *      The disagreement raise has no data set at all yet (SQuAD collections have no
 *      embedder in the benchmarks).
 *   5. no generator, a budget exhausted (left <= 0, or left below the estimated cost of one
 *      generation; why = "budget of <budget_name> exhausted (spent S of L, a generation costs
 *      about E)"), every circuit open, every generator at capacity, or p95 latency of every
 *      generator over max_p95_ms -> extractive, reason
 *      "generator unavailable: <why> (confidence c < threshold t)".
 *   6. otherwise generate ("confidence c < threshold t").
 *
 * Threading: pure functions.
 */
#ifndef FRUGAL_ANSWER_ROUTER_H
#define FRUGAL_ANSWER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "answer/generator.h"
#include "frugal.h"

enum router_route { ROUTER_CACHE = 0, ROUTER_EXTRACTIVE = 1, ROUTER_GENERATE = 2 };
const char *router_route_name(enum router_route r); /* "cache", "extractive", "generate" */

struct router_config {
    double min_confidence;  /* default FRUGAL_ASK_DEFAULT_THRESHOLD (0.68) */
    double complex_raise;   /* added for complex questions (default 0.15) */
    double disagree_raise;  /* added when BM25 and dense disagree (default 0.05) */
    double min_agreement;   /* agreement below this is disagreement (default 0.5) */
    double max_p95_ms;      /* a generator slower than this is unavailable; 0 = no limit
                               (default 60000) */
};
void router_default_config(struct router_config *c);

/* Question features, from its text alone. */
struct router_question {
    size_t n_words;
    bool comparison;   /* "compare", "difference between", " vs ", "versus", "better than" */
    bool explanation;  /* starts with "why", "how does/do/did/is/can/would", "explain" */
    bool multi_part;   /* " and " joining two question clauses, or several '?' */
    char qword[16];    /* the first question word found ("what", "who", ...), "" when none */
};
void router_question_features(const char *question, struct router_question *out);
bool router_question_complex(const struct router_question *q);

struct router_inputs {
    frugal_ask_mode mode;
    bool retrieved;              /* at least one chunk and an extractive answer */
    double confidence;           /* extractive confidence */
    double retrieval_margin;     /* (top1 - top2) / top1 retrieval score, [0, 1] */
    double agreement;            /* BM25/dense agreement in [0, 1]; < 0 when unknown */
    struct router_question question;
    const struct gen_health *health; /* (n_generators) one per configured generator */
    const char *const *names;        /* (n_generators) their names */
    size_t n_generators;
    bool has_budget;             /* a budget applies (else the budget fields are ignored) */
    double budget_left;          /* what is left of it; may be negative once overspent */
    double budget_limit;         /* its limit and what it spent, for the reason */
    double budget_spent;
    const char *budget_name;     /* "collection 'docs'", "key 3" (NULL: "budget exhausted") */
    double estimated_cost;       /* of one generation at the price table */
};

struct router_decision {
    enum router_route route;
    double threshold;            /* the effective threshold */
    char reason[256];
};

void router_decide(const struct router_config *config, const struct router_inputs *in,
                   struct router_decision *out);

#endif
