/*
 * cmd_budget.c - `frugal budget set|list|clear`: the limits on what generated answers may cost,
 * per collection or per API key, kept in the database (frugal.h, Budgets) so that `frugal ask`,
 * `frugal serve` and every other process on the database respect the same figures.
 *
 * Amounts are in the currency of the price table ($FRUGAL_PRICES); without a price table
 * generations cost 0 and only a limit of 0 stops them.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_KEY = 0x200, OPT_PERIOD, OPT_RESET, OPT_JSON };

static const struct option budget_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, OPT_KEY},
    {"period", required_argument, NULL, OPT_PERIOD},
    {"reset", no_argument, NULL, OPT_RESET},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char *const scope_names[] = {"collection", "key"};
static const char *const period_names[] = {"lifetime", "daily", "monthly"};

void cmd_budget_help(FILE *out)
{
    fputs("Usage: frugal budget set (-c COLLECTION | --key ID) AMOUNT [--period P] [--reset]\n"
          "       frugal budget list [--json]\n"
          "       frugal budget clear (-c COLLECTION | --key ID)\n"
          "\n"
          "Limits what generated answers may cost, per collection or per API key (an id from\n"
          "`frugal keys list`), in the currency of the price table ($FRUGAL_PRICES, e.g.\n"
          "\"openai:m 0.5 1.5\" per 1k prompt and completion tokens). Budgets are stored in the\n"
          "database: `frugal ask`, `frugal serve` and every other process on it share them, and\n"
          "they survive restarts. Once a budget is spent (or has less left than one generation\n"
          "would cost) answers are extractive, with a reason such as \"generator unavailable:\n"
          "budget of collection 'docs' exhausted (spent 0.98 of 1, ...)\". After each generated\n"
          "answer its generator cost is added to the collection's budget and, for `frugal serve`,\n"
          "to the key's. Setting a new AMOUNT keeps what was spent unless --reset is given or\n"
          "the period changes.\n"
          "\n"
          "Options:\n"
          "  -c, --collection C   the budget of collection C\n"
          "  --key ID             the budget of API key ID\n"
          "  --period P           lifetime (default), daily or monthly (UTC; what was spent\n"
          "                       starts again from 0 with each day or month)\n"
          "  --reset              set: start again from 0 spent\n"
          "  --json               JSON output (set and list): {\"budgets\": [{scope, collection,\n"
          "                       key_id, period, limit, spent, left, period_start,\n"
          "                       updated_at}]}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

static cJSON *budget_json(const frugal_budget *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scope", scope_names[b->scope]);
    if (b->scope == FRUGAL_BUDGET_COLLECTION) {
        cJSON_AddStringToObject(o, "collection", b->collection);
        cJSON_AddNullToObject(o, "key_id");
    } else {
        cJSON_AddNullToObject(o, "collection");
        cJSON_AddNumberToObject(o, "key_id", (double)b->key_id);
    }
    cJSON_AddStringToObject(o, "period", period_names[b->period]);
    cJSON_AddNumberToObject(o, "limit", b->limit);
    cJSON_AddNumberToObject(o, "spent", b->spent);
    cJSON_AddNumberToObject(o, "left", b->left);
    cJSON_AddNumberToObject(o, "period_start", (double)b->period_start);
    cJSON_AddNumberToObject(o, "updated_at", (double)b->updated_at);
    return o;
}

static int print_budgets(const frugal_budget *list, size_t n, bool json)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "budgets");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, budget_json(&list[i]));
        return cli_print_json(o);
    }
    printf("%-10s %-24s %-8s %12s %12s %12s\n", "SCOPE", "NAME", "PERIOD", "LIMIT", "SPENT",
           "LEFT");
    for (size_t i = 0; i < n; i++) {
        const frugal_budget *b = &list[i];
        char name[160];
        if (b->scope == FRUGAL_BUDGET_COLLECTION)
            snprintf(name, sizeof name, "%s", b->collection);
        else
            snprintf(name, sizeof name, "%lld", (long long)b->key_id);
        printf("%-10s %-24s %-8s %12.6g %12.6g %12.6g\n", scope_names[b->scope], name,
               period_names[b->period], b->limit, b->spent, b->left);
    }
    return CLI_EXIT_OK;
}

struct budget_args {
    const char *collection; /* -c */
    int64_t key_id;         /* --key; 0 = none */
    int period;             /* -1 = not given */
    bool reset;
    bool json;
};

static frugal_budget_scope scope_of(const struct budget_args *a)
{
    return a->key_id > 0 ? FRUGAL_BUDGET_KEY : FRUGAL_BUDGET_COLLECTION;
}

static int budget_set(struct cli *cli, const struct budget_args *a, const char *amount_text)
{
    double amount = 0.0;
    if (!cli_parse_double(amount_text, &amount) || amount < 0.0)
        return cli_usage(cli, "AMOUNT wants a number >= 0, got '%s'", amount_text);
    frugal_db *db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_budget b;
    frugal_budget_period period = a->period >= 0 ? (frugal_budget_period)a->period
                                                 : FRUGAL_BUDGET_LIFETIME;
    frugal_status st = frugal_budget_set(db, scope_of(a), a->collection, a->key_id, amount,
                                         period, a->reset);
    if (st == FRUGAL_OK)
        st = frugal_budget_get(db, scope_of(a), a->collection, a->key_id, &b);
    int rc = st == FRUGAL_OK ? print_budgets(&b, 1, a->json) : cli_fail(db, st);
    frugal_close(db);
    return rc;
}

static int budget_list(struct cli *cli, bool json)
{
    frugal_db *db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_budget *list = NULL;
    size_t n = 0;
    frugal_status st = frugal_budget_list(db, &list, &n);
    int rc = st == FRUGAL_OK ? print_budgets(list, n, json) : cli_fail(db, st);
    frugal_free(list);
    frugal_close(db);
    return rc;
}

static int budget_clear(struct cli *cli, const struct budget_args *a)
{
    frugal_db *db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_status st = frugal_budget_clear(db, scope_of(a), a->collection, a->key_id);
    int rc = st == FRUGAL_OK ? CLI_EXIT_OK : cli_fail(db, st);
    frugal_close(db);
    return rc;
}

int cmd_budget(struct cli *cli, int argc, char **argv)
{
    struct budget_args a = {.period = -1};
    struct cli_parser p;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", budget_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_budget_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'c':
            a.collection = optarg;
            break;
        case OPT_KEY:
            if (!cli_parse_i64(optarg, 1, INT64_MAX, &a.key_id))
                return cli_usage(cli, "--key wants a key id, got '%s'", optarg);
            break;
        case OPT_PERIOD:
            for (int i = 0; i < 3; i++) {
                if (strcmp(optarg, period_names[i]) == 0)
                    a.period = i;
            }
            if (a.period < 0)
                return cli_usage(cli, "--period wants lifetime, daily or monthly, got '%s'",
                                 optarg);
            break;
        case OPT_RESET:
            a.reset = true;
            break;
        case OPT_JSON:
            a.json = true;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "say set, list or clear");
    const char *action = argv[optind];
    int n_args = argc - optind - 1;
    bool is_set = strcmp(action, "set") == 0;
    bool is_clear = strcmp(action, "clear") == 0;
    if (strcmp(action, "list") == 0) {
        if (n_args != 0)
            return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (a.collection != NULL || a.key_id > 0 || a.period >= 0 || a.reset)
            return cli_usage(cli, "list takes only --json");
        return budget_list(cli, a.json);
    }
    if (!is_set && !is_clear)
        return cli_usage(cli, "unknown action '%s' (set, list or clear)", action);
    if ((a.collection != NULL) == (a.key_id > 0))
        return cli_usage(cli, "%s needs one of --collection C or --key ID", action);
    if (is_clear) {
        if (n_args != 0)
            return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (a.period >= 0 || a.reset || a.json)
            return cli_usage(cli, "clear takes only --collection or --key");
        return budget_clear(cli, &a);
    }
    if (n_args != 1)
        return cli_usage(cli, "set takes one AMOUNT");
    return budget_set(cli, &a, argv[optind + 1]);
}
