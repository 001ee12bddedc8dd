/*
 * cmd_search.c - `frugal search QUERY`: rank the chunks of a collection with BM25 (or, with
 * --mode dense, by the cosine similarity of the collection's embeddings, or with --mode hybrid,
 * by a fusion of both) and print the hits, for people (numbered, with highlighted snippets) or
 * for programs (--json).
 *
 * The query is plain text, never a query language: quotes, AND, NEAR(, * and : are words or
 * nothing. Filters on metadata are repeatable; "key=v1,v2" is an IN list and the same key twice
 * means both must hold. Matched terms in snippets are bold when stdout is a terminal, else
 * between [ and ]. --rerank DIR reorders the top hits with a cross-encoder within a time
 * budget (frugal_use_reranker) and says how many it reranked.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_FILTER = 0x200,
    OPT_PER_DOCUMENT,
    OPT_JSON,
    OPT_MODE,
    OPT_FUSION,
    OPT_ALPHA,
    OPT_MMR,
    OPT_RERANK,
    OPT_RERANK_TOP,
    OPT_RERANK_BUDGET,
};

/* Hits reranked when --rerank is given without --rerank-top. */
#define SEARCH_DEFAULT_RERANK_TOP 20

static const struct option search_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"per-document", no_argument, NULL, OPT_PER_DOCUMENT},
    {"json", no_argument, NULL, OPT_JSON},
    {"mode", required_argument, NULL, OPT_MODE},
    {"fusion", required_argument, NULL, OPT_FUSION},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"mmr", required_argument, NULL, OPT_MMR},
    {"rerank", required_argument, NULL, OPT_RERANK},
    {"rerank-top", required_argument, NULL, OPT_RERANK_TOP},
    {"rerank-budget-ms", required_argument, NULL, OPT_RERANK_BUDGET},
    {NULL, 0, NULL, 0},
};

void cmd_search_help(FILE *out)
{
    fputs("Usage: frugal search QUERY... [options]\n"
          "\n"
          "Ranks the chunks of a collection against QUERY with BM25 (several arguments are\n"
          "joined with spaces). The query is plain text: quotes, AND, NEAR(, * or : have no\n"
          "special meaning.\n"
          "With --mode dense the query is embedded with the collection's embedder (see\n"
          "`frugal init --embedder`) and chunks rank by cosine similarity (the score, -1 to 1).\n"
          "--mode hybrid fuses the BM25 and dense candidates (100, or k when more, from each\n"
          "side): --fusion convex (default) scores (1 - alpha) * BM25 + alpha * cosine, each\n"
          "min-max normalized over its candidates (0 to 1); --fusion rrf scores\n"
          "1/(60 + BM25 rank) + 1/(60 + dense rank).\n"
          "\n"
          "Options:\n"
          "  -k N                 number of hits (default 10, at most 10000)\n"
          "  --mode M             bm25 (default), dense or hybrid\n"
          "  --fusion F           hybrid: convex (default) or rrf\n"
          "  --alpha X            hybrid, convex: weight of the dense side, 0 to 1 (default 0.02)\n"
          "  --mmr L              hybrid: diversify the hits by MMR with lambda L in (0, 1]\n"
          "                       (1: relevance only; lower: fewer near-duplicates)\n"
          "  -c, --collection C   the collection (default \"default\")\n"
          "  --filter KEY=VALUE   only documents whose metadata field KEY equals VALUE\n"
          "                       (an array field matches when an element does); repeatable:\n"
          "                       every filter must hold, also for the same KEY twice\n"
          "  --filter KEY=V1,V2   KEY equals one of the values (IN)\n"
          "  --per-document       one hit per document: its best chunk\n"
          "  --rerank DIR         rerank the top hits with the cross-encoder in DIR (a Hugging\n"
          "                       Face BertForSequenceClassification folder with one label)\n"
          "  --rerank-top N       hits to rerank (default 20; retrieval fetches max(k, N))\n"
          "  --rerank-budget-ms MS  time reranking may take (default 200; 0: none; -1: no\n"
          "                       limit); from the measured cost of a pair it reranks fewer\n"
          "                       when N would not fit, and says so\n"
          "  --json               one JSON object: {\"query\", \"took_ms\", \"hits\": [{rank, score,\n"
          "                       chunk_id, document_id, source, ext_id, title, heading_path,\n"
          "                       snippet, text, char_start, char_end, metadata, rerank_score\n"
          "                       (reranked hits)}], \"agreement\" (hybrid), \"reranked\" and\n"
          "                       \"rerank_note\" (with --rerank)}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n"
          "\n"
          "Each hit prints as '1. 12.345  source > heading path' with the snippet below it;\n"
          "matched terms are bold on a terminal, else between [ and ].\n",
          out);
}

struct search_opts {
    frugal_search_params params;
    frugal_filter *filters; /* values and keys owned (strndup) */
    size_t n_filters;
    bool json;
    const char *rerank_dir; /* --rerank, borrowed from argv */
};

static void free_filters(struct search_opts *o)
{
    for (size_t i = 0; i < o->n_filters; i++) {
        for (size_t j = 0; j < o->filters[i].n_values; j++)
            free((char *)o->filters[i].values[j]);
        free((void *)o->filters[i].values);
        free((char *)o->filters[i].key);
    }
    free(o->filters);
}

/* Adds "KEY=V1,V2,..." as a filter; false when it is not of that shape or memory ran out. */
static bool add_filter(struct search_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    frugal_filter *f = &o->filters[o->n_filters];
    const char *p;
    const char **values;
    size_t n = 1;

    if (eq == NULL || eq == arg)
        return false;
    for (p = eq + 1; *p != '\0'; p++)
        n += *p == ',';
    values = calloc(n, sizeof(*values));
    f->key = strndup(arg, (size_t)(eq - arg));
    f->values = values;
    o->n_filters++; /* from here on free_filters cleans up */
    if (values == NULL || f->key == NULL)
        return false;
    p = eq + 1;
    for (size_t i = 0; i < n; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        values[i] = strndup(p, len);
        if (values[i] == NULL)
            return false;
        f->n_values = i + 1;
        p += len + 1;
    }
    return true;
}

/* Prints text indented by four spaces, blank lines dropped so that a snippet stays compact. */
static void print_indented(const char *text)
{
    fputs("    ", stdout);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p != '\n') {
            fputc(*p, stdout);
            continue;
        }
        while (p[1] == '\n')
            p++;
        if (p[1] != '\0')
            fputs("\n    ", stdout);
    }
    fputc('\n', stdout);
}

static int print_human(const frugal_results *res)
{
    for (size_t i = 0; i < res->n_hits; i++) {
        const frugal_hit *h = &res->hits[i];
        const char *body = h->snippet != NULL ? h->snippet : h->text;

        printf("%zu. %.3f  %s", i + 1, h->score, h->source != NULL ? h->source : "?");
        if (h->heading_path != NULL && h->heading_path[0] != '\0')
            printf(" \u203a %s", h->heading_path);
        fputc('\n', stdout);
        if (body != NULL && body[0] != '\0')
            print_indented(body);
        fputc('\n', stdout);
    }
    printf("%zu hit%s in %.1f ms", res->n_hits, res->n_hits == 1 ? "" : "s", res->elapsed_ms);
    if (res->reranked > 0)
        printf(", the first %zu reranked", res->reranked);
    fputc('\n', stdout);
    if (res->rerank_note != NULL)
        printf("%s\n", res->rerank_note);
    return CLI_EXIT_OK;
}

static int print_json(const char *query, const frugal_results *res, bool reranking)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *hits = cJSON_AddArrayToObject(obj, "hits");

    cJSON_AddStringToObject(obj, "query", query);
    cJSON_AddNumberToObject(obj, "took_ms", res->elapsed_ms);
    for (size_t i = 0; i < res->n_hits; i++) {
        const frugal_hit *h = &res->hits[i];
        cJSON *hit = cJSON_CreateObject();

        cJSON_AddNumberToObject(hit, "rank", (double)(i + 1));
        cJSON_AddNumberToObject(hit, "score", h->score);
        cJSON_AddNumberToObject(hit, "chunk_id", (double)h->chunk_id);
        cJSON_AddNumberToObject(hit, "document_id", (double)h->document_id);
        cJSON_AddItemToObject(hit, "source", cli_json_string_or_null(h->source));
        cJSON_AddItemToObject(hit, "ext_id", cli_json_string_or_null(h->ext_id));
        cJSON_AddItemToObject(hit, "title", cli_json_string_or_null(h->title));
        cJSON_AddItemToObject(hit, "heading_path", cli_json_string_or_null(h->heading_path));
        cJSON_AddItemToObject(hit, "snippet", cli_json_string_or_null(h->snippet));
        cJSON_AddItemToObject(hit, "text", cli_json_string_or_null(h->text));
        cJSON_AddNumberToObject(hit, "char_start", (double)h->char_start);
        cJSON_AddNumberToObject(hit, "char_end", (double)h->char_end);
        cJSON_AddItemToObject(hit, "metadata", cli_json_metadata(h->metadata_json));
        if (i < res->reranked)
            cJSON_AddNumberToObject(hit, "rerank_score", h->rerank_score);
        cJSON_AddItemToArray(hits, hit);
    }
    if (res->agreement >= 0.0)
        cJSON_AddNumberToObject(obj, "agreement", res->agreement);
    if (reranking) {
        cJSON_AddNumberToObject(obj, "reranked", (double)res->reranked);
        cJSON_AddItemToObject(obj, "rerank_note", cli_json_string_or_null(res->rerank_note));
    }
    return cli_print_json(obj);
}

/* The positional arguments joined with spaces; NULL when out of memory. */
static char *join_args(char **args, int n)
{
    size_t len = 1;
    char *query;
    char *p;

    for (int i = 0; i < n; i++)
        len += strlen(args[i]) + 1;
    query = malloc(len);
    if (query == NULL)
        return NULL;
    p = query;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(args[i]);

        if (i > 0)
            *p++ = ' ';
        memcpy(p, args[i], l);
        p += l;
    }
    *p = '\0';
    return query;
}

static int parse_options(struct cli *cli, int argc, char **argv, struct search_opts *o)
{
    struct cli_parser p;
    int64_t k = 0;
    int c;

    cli_parser_init(&p, cli, argc, argv, "k:c:", search_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_search_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'k':
            if (!cli_parse_i64(optarg, 1, 10000, &k))
                return cli_usage(cli, "-k wants a number from 1 to 10000, got '%s'", optarg);
            o->params.k = (size_t)k;
            break;
        case 'c':
            o->params.collection = optarg;
            break;
        case OPT_FILTER:
            if (!add_filter(o, optarg))
                return cli_usage(cli, "--filter wants KEY=VALUE or KEY=V1,V2, got '%s'", optarg);
            break;
        case OPT_PER_DOCUMENT:
            o->params.group_by_document = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "bm25") == 0)
                o->params.mode = FRUGAL_SEARCH_BM25;
            else if (strcmp(optarg, "dense") == 0)
                o->params.mode = FRUGAL_SEARCH_DENSE;
            else if (strcmp(optarg, "hybrid") == 0)
                o->params.mode = FRUGAL_SEARCH_HYBRID;
            else
                return cli_usage(cli, "--mode wants bm25, dense or hybrid, got '%s'", optarg);
            break;
        case OPT_FUSION:
            if (strcmp(optarg, "rrf") == 0)
                o->params.fusion = FRUGAL_FUSION_RRF;
            else if (strcmp(optarg, "convex") == 0)
                o->params.fusion = FRUGAL_FUSION_CONVEX;
            else
                return cli_usage(cli, "--fusion wants rrf or convex, got '%s'", optarg);
            break;
        case OPT_ALPHA:
            if (!cli_parse_double(optarg, &o->params.alpha) || o->params.alpha < 0.0 ||
                o->params.alpha > 1.0)
                return cli_usage(cli, "--alpha wants a number from 0 to 1, got '%s'", optarg);
            break;
        case OPT_MMR:
            if (!cli_parse_double(optarg, &o->params.mmr_lambda) ||
                o->params.mmr_lambda <= 0.0 || o->params.mmr_lambda > 1.0)
                return cli_usage(cli, "--mmr wants a number above 0, at most 1, got '%s'",
                                 optarg);
            break;
        case OPT_RERANK:
            o->rerank_dir = optarg;
            break;
        case OPT_RERANK_TOP:
            if (!cli_parse_i64(optarg, 1, 10000, &k))
                return cli_usage(cli, "--rerank-top wants a number from 1 to 10000, got '%s'",
                                 optarg);
            o->params.rerank_top_n = (size_t)k;
            break;
        case OPT_RERANK_BUDGET:
            if (!cli_parse_double(optarg, &o->params.rerank_budget_ms) ||
                o->params.rerank_budget_ms < -1.0)
                return cli_usage(cli, "--rerank-budget-ms wants milliseconds (-1: no limit), "
                                      "got '%s'",
                                 optarg);
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "no query given");
    if (o->params.rerank_top_n > 0 && o->rerank_dir == NULL)
        return cli_usage(cli, "--rerank-top needs --rerank DIR");
    if (o->rerank_dir != NULL && o->params.rerank_top_n == 0)
        o->params.rerank_top_n = SEARCH_DEFAULT_RERANK_TOP;
    return -1;
}

static int run_search(struct cli *cli, struct search_opts *o, const char *query)
{
    frugal_results *res = NULL;
    frugal_status st;
    frugal_db *db;
    int rc;

    db = cli_open_db(cli, true);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_reranker *reranker = NULL;
    if (o->rerank_dir != NULL) {
        st = frugal_reranker_open(o->rerank_dir, 0, &reranker);
        if (st == FRUGAL_OK)
            st = frugal_use_reranker(db, reranker);
        if (st != FRUGAL_OK) {
            rc = cli_error("--rerank: %s",
                           frugal_reranker_errmsg(reranker)[0] != '\0'
                               ? frugal_reranker_errmsg(reranker)
                               : frugal_errmsg(db));
            frugal_close(db);
            frugal_reranker_free(reranker);
            return rc;
        }
    }
    o->params.filters = o->filters;
    o->params.n_filters = o->n_filters;
    if (cli->stdout_tty && !o->json) {
        o->params.highlight_open = "\033[1m";
        o->params.highlight_close = "\033[0m";
    }
    st = frugal_search(db, query, &o->params, &res);
    if (st != FRUGAL_OK)
        rc = cli_fail(db, st);
    else if (o->json)
        rc = print_json(query, res, o->rerank_dir != NULL);
    else
        rc = print_human(res);
    frugal_results_free(res);
    frugal_close(db);
    frugal_reranker_free(reranker);
    return rc;
}

int cmd_search(struct cli *cli, int argc, char **argv)
{
    struct search_opts o;
    char *query = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    frugal_search_default_params(&o.params);
    o.filters = calloc((size_t)argc, sizeof(*o.filters)); /* one argv slot per --filter at least */
    if (o.filters == NULL)
        return cli_error("out of memory");
    rc = parse_options(cli, argc, argv, &o);
    if (rc < 0) {
        query = join_args(argv + optind, argc - optind);
        rc = query != NULL ? run_search(cli, &o, query) : cli_error("out of memory");
    }
    free(query);
    free_filters(&o);
    return rc;
}
