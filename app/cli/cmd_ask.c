/*
 * cmd_ask.c - `frugal ask QUESTION`: answer a question from a collection and say how: the
 * answer, its route and reason, the confidence, the citations with their text, the timings, the
 * tokens and the cost; or all of it as one JSON object (--json).
 *
 * The answer comes from frugal_ask (frugal.h, Answers). Generators come from --generator SPEC
 * (repeatable: an ordered failover list) or, without one, from $FRUGAL_GEN_URL and
 * $FRUGAL_GEN_MODEL when both are set; without any, the route is always "extractive" and
 * --mode generate fails with "no generator configured". --stream prints the generated text as
 * it arrives, then the rest of the report. --rerank DIR reorders the retrieved chunks with a
 * cross-encoder (within --rerank-budget-ms) before the extractor reads them.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_MODE = 0x200,
    OPT_JSON,
    OPT_THRESHOLD,
    OPT_BUDGET,
    OPT_GENERATOR,
    OPT_STREAM,
    OPT_NO_CACHE,
    OPT_RERANK,
    OPT_RERANK_TOP,
    OPT_RERANK_BUDGET,
};

/* Chunks reranked when --rerank is given without --rerank-top. */
#define ASK_DEFAULT_RERANK_TOP 20

#define ASK_MAX_GENS 8

static const struct option ask_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"mode", required_argument, NULL, OPT_MODE},
    {"json", no_argument, NULL, OPT_JSON},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"generator", required_argument, NULL, OPT_GENERATOR},
    {"stream", no_argument, NULL, OPT_STREAM},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"rerank", required_argument, NULL, OPT_RERANK},
    {"rerank-top", required_argument, NULL, OPT_RERANK_TOP},
    {"rerank-budget-ms", required_argument, NULL, OPT_RERANK_BUDGET},
    {NULL, 0, NULL, 0},
};

void cmd_ask_help(FILE *out)
{
    fputs("Usage: frugal ask QUESTION... [options]\n"
          "\n"
          "Answers QUESTION (several arguments are joined with spaces) from the chunks of a\n"
          "collection and says how: the route (extractive: the best sentence of the retrieved\n"
          "chunks, found on the CPU), the reason for it, a confidence from 0 to 1, the\n"
          "citations with their text and character offsets, the time of each stage, the\n"
          "tokens a generator would be sent and the cost.\n"
          "\n"
          "Options:\n"
          "  -k N                 chunks the answer comes from (default 5, at most 100); a\n"
          "                       generator's context comes from the top max(N, 10)\n"
          "  --mode M             auto (default: the router decides), extractive or generate\n"
          "  --generator SPEC     openai:MODEL@URL or bedrock:MODEL@REGION; repeat for a\n"
          "                       failover list (default: $FRUGAL_GEN_URL + $FRUGAL_GEN_MODEL\n"
          "                       when both are set; key from $FRUGAL_GEN_API_KEY)\n"
          "  --stream             print the generated text as it arrives\n"
          "  --no-cache           neither read nor write the answer cache\n"
          "  -c, --collection C   the collection (default \"default\")\n"
          "  --threshold X        confidence from which auto answers on the CPU (default 0.68)\n"
          "  --budget N           most tokens of the compressed generator context (default\n"
          "                       600; below it each sentence of the top 10 chunks is sent\n"
          "                       when its chance of holding the answer per token is high\n"
          "                       enough)\n"
          "  --rerank DIR         rerank the retrieved chunks with the cross-encoder in DIR\n"
          "                       before extraction (as `frugal search --rerank`)\n"
          "  --rerank-top N       chunks to rerank (default 20), then k are kept\n"
          "  --rerank-budget-ms MS  time reranking may take (default 200; 0: none; -1: no\n"
          "                       limit)\n"
          "  --json               one JSON object: {\"question\", \"answer\", \"span\", \"route\",\n"
          "                       \"reason\", \"confidence\", \"citations\": [{document_id,\n"
          "                       chunk_id, ordinal, source, ext_id, title, heading_path,\n"
          "                       char_start, char_end, snippet, score}], \"timings_ms\":\n"
          "                       {cache, retrieve, extract, generate, total}, \"tokens\": {prompt,\n"
          "                       completion, context, context_full}, \"cost\": {cpu_ms, usd},\n"
          "                       \"generator\", \"citations_removed\"}\n"
          "  Prices: $FRUGAL_PRICES, e.g. \"openai:m 0.5 1.5; cpu-hour 0.04\" (per 1k tokens)\n"
          "  Budgets: a spent cost budget (`frugal budget`) makes answers extractive\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

static int print_json(const char *question, const frugal_answer *a)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *cites = cJSON_CreateArray();
    cJSON *t = cJSON_CreateObject();
    cJSON *tok = cJSON_CreateObject();
    cJSON *cost = cJSON_CreateObject();

    cJSON_AddStringToObject(obj, "question", question);
    cJSON_AddStringToObject(obj, "answer", a->text);
    cJSON_AddItemToObject(obj, "span", cli_json_string_or_null(a->span));
    cJSON_AddStringToObject(obj, "route", a->route);
    cJSON_AddStringToObject(obj, "reason", a->reason);
    cJSON_AddNumberToObject(obj, "confidence", a->confidence);
    for (size_t i = 0; i < a->n_citations; i++) {
        const frugal_citation *c = &a->citations[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "document_id", (double)c->document_id);
        cJSON_AddNumberToObject(o, "chunk_id", (double)c->chunk_id);
        cJSON_AddNumberToObject(o, "ordinal", c->ordinal);
        cJSON_AddStringToObject(o, "source", c->source);
        cJSON_AddItemToObject(o, "ext_id", cli_json_string_or_null(c->ext_id));
        cJSON_AddItemToObject(o, "title", cli_json_string_or_null(c->title));
        cJSON_AddStringToObject(o, "heading_path", c->heading_path);
        cJSON_AddNumberToObject(o, "char_start", (double)c->char_start);
        cJSON_AddNumberToObject(o, "char_end", (double)c->char_end);
        cJSON_AddStringToObject(o, "snippet", c->snippet);
        cJSON_AddNumberToObject(o, "score", c->score);
        cJSON_AddItemToArray(cites, o);
    }
    cJSON_AddItemToObject(obj, "citations", cites);
    cJSON_AddNumberToObject(t, "cache", a->timings_ms.cache_ms);
    cJSON_AddNumberToObject(t, "retrieve", a->timings_ms.retrieve_ms);
    cJSON_AddNumberToObject(t, "extract", a->timings_ms.extract_ms);
    cJSON_AddNumberToObject(t, "generate", a->timings_ms.generate_ms);
    cJSON_AddNumberToObject(t, "total", a->timings_ms.total_ms);
    cJSON_AddItemToObject(obj, "timings_ms", t);
    cJSON_AddNumberToObject(tok, "prompt", (double)a->prompt_tokens);
    cJSON_AddNumberToObject(tok, "completion", (double)a->completion_tokens);
    cJSON_AddNumberToObject(tok, "context", (double)a->context_tokens);
    cJSON_AddNumberToObject(tok, "context_full", (double)a->context_tokens_full);
    cJSON_AddItemToObject(obj, "tokens", tok);
    cJSON_AddNumberToObject(cost, "cpu_ms", a->cost_cpu_ms);
    cJSON_AddNumberToObject(cost, "usd", a->cost_usd);
    cJSON_AddItemToObject(obj, "cost", cost);
    cJSON_AddItemToObject(obj, "generator", cli_json_string_or_null(a->generator));
    cJSON_AddNumberToObject(obj, "citations_removed", (double)a->citations_removed);
    return cli_print_json(obj);
}

static void print_human(const frugal_answer *a, bool streamed)
{
    if (streamed && strcmp(a->route, "generate") == 0)
        printf("\n");
    else if (a->text[0] == '\0')
        printf("(no answer)\n");
    else
        printf("%s\n", a->text);
    if (a->span != NULL)
        printf("  answer: %s\n", a->span);
    printf("\nroute       %s (%s)\n", a->route, a->reason);
    printf("confidence  %.2f\n", a->confidence);
    if (a->n_citations > 0)
        printf("citations\n");
    for (size_t i = 0; i < a->n_citations; i++) {
        const frugal_citation *c = &a->citations[i];
        printf("  [%zu] %s", i + 1, c->source);
        if (c->heading_path[0] != '\0')
            printf(" > %s", c->heading_path);
        printf("  (document %lld, chunk %lld, chars %lld-%lld)\n", (long long)c->document_id,
               (long long)c->chunk_id, (long long)c->char_start, (long long)c->char_end);
        printf("      %s\n", c->snippet);
    }
    if (a->generator != NULL)
        printf("generator   %s\n", a->generator);
    printf("timings     retrieve %.2f ms, extract %.2f ms, generate %.2f ms, total %.2f ms\n",
           a->timings_ms.retrieve_ms, a->timings_ms.extract_ms, a->timings_ms.generate_ms,
           a->timings_ms.total_ms);
    printf("tokens      %zu generated; a generator would get %zu context tokens (top-5 chunks "
           "whole: %zu)\n",
           a->prompt_tokens + a->completion_tokens, a->context_tokens, a->context_tokens_full);
    printf("cost        %.2f ms CPU, %.6f (price table)\n", a->cost_cpu_ms, a->cost_usd);
}

static int print_delta(void *ctx, const char *text, size_t len)
{
    bool *any = ctx;
    *any = true;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* Opens the generators of specs[0..n) or, with none, the one of $FRUGAL_GEN_URL +
 * $FRUGAL_GEN_MODEL; *n_out may be 0. Returns a CLI exit code. */
static int open_generators(struct cli *cli, const char *const *specs, size_t n,
                           frugal_generator **gens, size_t *n_out)
{
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        frugal_status st = frugal_generator_open(specs[i], NULL, &gens[i]);
        if (st != FRUGAL_OK) {
            for (size_t j = 0; j < i; j++)
                frugal_generator_free(gens[j]);
            fprintf(stderr, "frugal: --generator %s: %s (want openai:MODEL@URL or "
                            "bedrock:MODEL@REGION)\n", specs[i], frugal_strerror(st));
            return CLI_EXIT_USAGE;
        }
    }
    *n_out = n;
    const char *url = getenv("FRUGAL_GEN_URL");
    const char *model = getenv("FRUGAL_GEN_MODEL");
    if (n == 0 && url != NULL && url[0] != '\0' && model != NULL && model[0] != '\0') {
        frugal_status st = frugal_generator_open_openai(url, model, NULL, NULL, &gens[0]);
        if (st != FRUGAL_OK)
            return cli_error("FRUGAL_GEN_URL/FRUGAL_GEN_MODEL: cannot open the generator");
        *n_out = 1;
    }
    (void)cli;
    return CLI_EXIT_OK;
}

/* The positional arguments joined with spaces, owned (free), or NULL when out of memory. */
static char *join_args(int argc, char **argv, int first)
{
    size_t len = 1;
    for (int i = first; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    size_t at = 0;
    for (int i = first; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (at > 0)
            s[at++] = ' ';
        memcpy(s + at, argv[i], n);
        at += n;
        s[at] = '\0';
    }
    return s;
}

int cmd_ask(struct cli *cli, int argc, char **argv)
{
    frugal_ask_params params;
    const char *specs[ASK_MAX_GENS];
    size_t n_specs = 0;
    frugal_generator *gens[ASK_MAX_GENS];
    size_t n_gens = 0;
    bool stream = false;
    bool streamed = false;
    bool json = false;
    const char *rerank_dir = NULL;
    frugal_reranker *reranker = NULL;
    int64_t n = 0;
    double x = 0.0;
    struct cli_parser p;
    int c;

    frugal_ask_default_params(&params);
    cli_parser_init(&p, cli, argc, argv, "c:k:", ask_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_ask_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'c':
            params.collection = optarg;
            break;
        case 'k':
            if (!cli_parse_i64(optarg, 1, 100, &n))
                return cli_usage(cli, "-k wants a number from 1 to 100");
            params.k = (size_t)n;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "auto") == 0)
                params.mode = FRUGAL_ASK_AUTO;
            else if (strcmp(optarg, "extractive") == 0)
                params.mode = FRUGAL_ASK_EXTRACTIVE;
            else if (strcmp(optarg, "generate") == 0)
                params.mode = FRUGAL_ASK_GENERATE;
            else
                return cli_usage(cli, "--mode wants auto, extractive or generate");
            break;
        case OPT_THRESHOLD:
            if (!cli_parse_double(optarg, &x) || x < 0.0 || x > 1.0)
                return cli_usage(cli, "--threshold wants a number from 0 to 1");
            params.min_confidence = x;
            break;
        case OPT_BUDGET:
            if (!cli_parse_i64(optarg, 1, 1000000, &n))
                return cli_usage(cli, "--budget wants a number from 1 to 1000000");
            params.context_budget_tokens = (size_t)n;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_GENERATOR:
            if (n_specs == ASK_MAX_GENS)
                return cli_usage(cli, "at most 8 --generator options");
            specs[n_specs++] = optarg;
            break;
        case OPT_STREAM:
            stream = true;
            break;
        case OPT_NO_CACHE:
            params.no_cache = true;
            break;
        case OPT_RERANK:
            rerank_dir = optarg;
            break;
        case OPT_RERANK_TOP:
            if (!cli_parse_i64(optarg, 1, 10000, &n))
                return cli_usage(cli, "--rerank-top wants a number from 1 to 10000");
            params.rerank_top_n = (size_t)n;
            break;
        case OPT_RERANK_BUDGET:
            if (!cli_parse_double(optarg, &x) || x < -1.0)
                return cli_usage(cli, "--rerank-budget-ms wants milliseconds (-1: no limit)");
            params.rerank_budget_ms = x;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "wants a question");
    if (params.rerank_top_n > 0 && rerank_dir == NULL)
        return cli_usage(cli, "--rerank-top needs --rerank DIR");
    if (rerank_dir != NULL && params.rerank_top_n == 0)
        params.rerank_top_n = ASK_DEFAULT_RERANK_TOP;
    int rc = open_generators(cli, specs, n_specs, gens, &n_gens);
    if (rc != CLI_EXIT_OK)
        return rc;
    char *question = join_args(argc, argv, optind);
    /* writable only to keep generated answers in the cache */
    bool read_only = n_gens == 0 || params.no_cache;
    frugal_db *db = question != NULL ? cli_open_db(cli, read_only) : NULL;
    if (question == NULL)
        rc = cli_error("out of memory");
    else if (db == NULL)
        rc = CLI_EXIT_FAIL;
    frugal_status st = FRUGAL_OK;
    if (db != NULL && n_gens > 0) {
        st = frugal_use_generators(db, gens, n_gens);
        if (st != FRUGAL_OK)
            rc = cli_fail(db, st);
    }
    if (db != NULL && st == FRUGAL_OK && rerank_dir != NULL) {
        st = frugal_reranker_open(rerank_dir, 0, &reranker);
        if (st == FRUGAL_OK)
            st = frugal_use_reranker(db, reranker);
        if (st != FRUGAL_OK)
            rc = cli_error("--rerank: %s", frugal_reranker_errmsg(reranker)[0] != '\0'
                                               ? frugal_reranker_errmsg(reranker)
                                               : frugal_errmsg(db));
    }
    if (stream && !json) {
        params.on_delta = print_delta;
        params.delta_ctx = &streamed;
    }
    frugal_answer *a = NULL;
    if (db != NULL && st == FRUGAL_OK) {
        st = frugal_ask(db, question, &params, &a);
        if (st != FRUGAL_OK) {
            rc = cli_fail(db, st);
        } else if (json) {
            rc = print_json(question, a);
        } else {
            print_human(a, streamed);
            rc = CLI_EXIT_OK;
        }
    }
    frugal_answer_free(a);
    frugal_close(db);
    frugal_reranker_free(reranker);
    for (size_t i = 0; i < n_gens; i++)
        frugal_generator_free(gens[i]);
    free(question);
    return rc;
}
