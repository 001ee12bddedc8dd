/*
 * cmd_ask.c - `frugal ask QUESTION`: answer a question from a collection and say how: the
 * answer, its route and reason, the confidence, the citations with their text, the timings, the
 * tokens and the cost; or all of it as one JSON object (--json).
 *
 * The answer comes from frugal_ask (frugal.h, Answers). Until a generator is configured the
 * route is always "extractive"; --mode generate fails with "no generator configured".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_MODE = 0x200, OPT_JSON, OPT_THRESHOLD, OPT_BUDGET };

static const struct option ask_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"mode", required_argument, NULL, OPT_MODE},
    {"json", no_argument, NULL, OPT_JSON},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"budget", required_argument, NULL, OPT_BUDGET},
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
          "  -k N                 chunks to retrieve (default 5, at most 100)\n"
          "  --mode M             auto (default), extractive or generate (needs a generator:\n"
          "                       none can be configured yet)\n"
          "  -c, --collection C   the collection (default \"default\")\n"
          "  --threshold X        confidence from which auto answers on the CPU (default 0.72)\n"
          "  --budget N           token budget of the compressed generator context (default\n"
          "                       240)\n"
          "  --json               one JSON object: {\"question\", \"answer\", \"span\", \"route\",\n"
          "                       \"reason\", \"confidence\", \"citations\": [{document_id,\n"
          "                       chunk_id, ordinal, source, ext_id, title, heading_path,\n"
          "                       char_start, char_end, snippet, score}], \"timings_ms\":\n"
          "                       {retrieve, extract, generate, total}, \"tokens\": {prompt,\n"
          "                       completion, context, context_full}, \"cost\": {cpu_ms, usd}}\n"
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
    return cli_print_json(obj);
}

static void print_human(const frugal_answer *a)
{
    if (a->text[0] == '\0')
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
    printf("timings     retrieve %.2f ms, extract %.2f ms, total %.2f ms\n",
           a->timings_ms.retrieve_ms, a->timings_ms.extract_ms, a->timings_ms.total_ms);
    printf("tokens      %zu generated; a generator would get %zu context tokens (top-5 chunks "
           "whole: %zu)\n",
           a->prompt_tokens + a->completion_tokens, a->context_tokens, a->context_tokens_full);
    printf("cost        %.2f ms CPU, $%.4f\n", a->cost_cpu_ms, a->cost_usd);
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
    bool json = false;
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
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "wants a question");
    char *question = join_args(argc, argv, optind);
    if (question == NULL)
        return cli_error("out of memory");
    frugal_db *db = cli_open_db(cli, true);
    if (db == NULL) {
        free(question);
        return CLI_EXIT_FAIL;
    }
    frugal_answer *a = NULL;
    frugal_status st = frugal_ask(db, question, &params, &a);
    int rc;
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else if (json) {
        rc = print_json(question, a);
    } else {
        print_human(a);
        rc = CLI_EXIT_OK;
    }
    frugal_answer_free(a);
    frugal_close(db);
    free(question);
    return rc;
}
