/*
 * cmd_collections.c - `frugal collections [list|create|tune|delete]`: manage collections.
 *
 * A collection fixes its analyzer (language, stopwords) when it is created; its BM25 parameters
 * (k1, b, field weights) can be tuned later. `tune` starts from the collection's current values,
 * so only the options given change.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_LANGUAGE = 0x200,
    OPT_STOPWORDS,
    OPT_NO_STOPWORDS,
    OPT_K1,
    OPT_B,
    OPT_TITLE_WEIGHT,
    OPT_HEADING_WEIGHT,
    OPT_BODY_WEIGHT,
    OPT_JSON,
    OPT_EMBEDDER,
    OPT_VECTOR_TYPE,
};

static const struct option collections_longopts[] = {
    {"language", required_argument, NULL, OPT_LANGUAGE},
    {"stopwords", required_argument, NULL, OPT_STOPWORDS},
    {"no-stopwords", no_argument, NULL, OPT_NO_STOPWORDS},
    {"k1", required_argument, NULL, OPT_K1},
    {"b", required_argument, NULL, OPT_B},
    {"title-weight", required_argument, NULL, OPT_TITLE_WEIGHT},
    {"heading-weight", required_argument, NULL, OPT_HEADING_WEIGHT},
    {"body-weight", required_argument, NULL, OPT_BODY_WEIGHT},
    {"json", no_argument, NULL, OPT_JSON},
    {"embedder", required_argument, NULL, OPT_EMBEDDER},
    {"vector-type", required_argument, NULL, OPT_VECTOR_TYPE},
    {NULL, 0, NULL, 0},
};

void cmd_collections_help(FILE *out)
{
    fputs("Usage: frugal collections [list] [--json]\n"
          "       frugal collections create NAME [--language L] [--stopwords W | --no-stopwords]\n"
          "                                      [--embedder SPEC [--vector-type T]]\n"
          "                                      [BM25 options]\n"
          "       frugal collections tune NAME [BM25 options]\n"
          "       frugal collections delete NAME\n"
          "\n"
          "Lists, creates, tunes or deletes collections. Every document belongs to one\n"
          "collection; \"default\" always exists. Names are 1 to 128 letters, digits, '_', '-'\n"
          "or '.'. Deleting a collection deletes its documents.\n"
          "\n"
          "Options of create (fixed for the collection's life):\n"
          "  --language L         Snowball stemmer name (english, french, german, ...) or none\n"
          "                       (default english)\n"
          "  --stopwords W        stopwords separated by commas or spaces, instead of the\n"
          "                       language's list\n"
          "  --no-stopwords       keep every word\n"
          "  --embedder SPEC      compute a dense vector for every chunk at ingestion, with:\n"
          "                       glove (GloVe in $FRUGAL_DATA_DIR or ~/.local/share/frugal),\n"
          "                       glove:PATH (a .fsv file), model:DIR (a sentence-transformers\n"
          "                       folder) or remote:MODEL@URL (an OpenAI-compatible server)\n"
          "  --vector-type T      how the vector index stores them: f32 (default), f16 or i8\n"
          "BM25 options (create and tune; tune changes only those given):\n"
          "  --k1 X               term-frequency saturation (default 0.9)\n"
          "  --b X                length normalization, 0 to 1 (default 0.4)\n"
          "  --title-weight X     weight of document titles (default 1.0)\n"
          "  --heading-weight X   weight of heading paths (default 1.0)\n"
          "  --body-weight X      weight of chunk text (default 1.0)\n"
          "Other:\n"
          "  --json               list as {\"collections\": [{name, language, stopwords, k1, b,\n"
          "                       title_weight, heading_weight, body_weight, documents,\n"
          "                       chunks, embedder, embedder_name, embedder_dim,\n"
          "                       vector_type}]}; other actions print {\"ok\": true, ...}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

/* Which BM25 options were given, and their values. */
struct bm25_opts {
    bool has[5];     /* k1, b, title, heading, body */
    double value[5];
};

struct collections_opts {
    const char *language;
    const char *stopwords;
    bool stopwords_given;
    const char *embedder;
    const char *vector_type;
    struct bm25_opts bm25;
    bool json;
};

static void apply_bm25(const struct bm25_opts *o, frugal_collection_params *params)
{
    double *fields[5] = {&params->k1, &params->b, &params->title_weight, &params->heading_weight,
                         &params->body_weight};

    for (size_t i = 0; i < 5; i++) {
        if (o->has[i])
            *fields[i] = o->value[i];
    }
}

static bool any_bm25(const struct bm25_opts *o)
{
    for (size_t i = 0; i < 5; i++) {
        if (o->has[i])
            return true;
    }
    return false;
}

static cJSON *collection_json(const frugal_collection_info *c)
{
    cJSON *obj = cJSON_CreateObject();

    cJSON_AddStringToObject(obj, "name", c->name);
    cJSON_AddItemToObject(obj, "language", cli_json_string_or_null(c->language));
    cJSON_AddItemToObject(obj, "stopwords", cli_json_string_or_null(c->stopwords));
    cJSON_AddNumberToObject(obj, "k1", c->k1);
    cJSON_AddNumberToObject(obj, "b", c->b);
    cJSON_AddNumberToObject(obj, "title_weight", c->title_weight);
    cJSON_AddNumberToObject(obj, "heading_weight", c->heading_weight);
    cJSON_AddNumberToObject(obj, "body_weight", c->body_weight);
    cJSON_AddNumberToObject(obj, "documents", (double)c->n_documents);
    cJSON_AddNumberToObject(obj, "chunks", (double)c->n_chunks);
    cJSON_AddItemToObject(obj, "embedder", cli_json_string_or_null(c->embedder));
    cJSON_AddItemToObject(obj, "embedder_name", cli_json_string_or_null(c->embedder_name));
    cJSON_AddNumberToObject(obj, "embedder_dim", (double)c->embedder_dim);
    cJSON_AddItemToObject(obj, "vector_type", cli_json_string_or_null(c->vector_type));
    return obj;
}

static int list_collections(struct cli *cli, bool json)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_db *db = cli_open_db(cli, true);
    frugal_status st;
    int rc = CLI_EXIT_OK;

    if (db == NULL)
        return CLI_EXIT_FAIL;
    st = frugal_collection_list(db, &list, &n);
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else if (json) {
        cJSON *obj = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(obj, "collections");

        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, collection_json(&list[i]));
        rc = cli_print_json(obj);
    } else {
        printf("%-20s %10s %10s  %-10s %-5s %-5s %-20s %s\n", "NAME", "DOCUMENTS", "CHUNKS",
               "LANGUAGE", "K1", "B", "EMBEDDER", "STOPWORDS");
        for (size_t i = 0; i < n; i++) {
            const frugal_collection_info *c = &list[i];

            printf("%-20s %10lld %10lld  %-10s %-5g %-5g %-20s %s\n", c->name,
                   (long long)c->n_documents, (long long)c->n_chunks,
                   c->language != NULL ? c->language : "-", c->k1, c->b,
                   c->embedder != NULL ? c->embedder : "-",
                   c->stopwords == NULL ? "(language default)"
                   : c->stopwords[0] == '\0' ? "(none)" : c->stopwords);
        }
    }
    frugal_collection_list_free(list, n);
    frugal_close(db);
    return rc;
}

/* Fills params with the current values of collection `name`. */
static frugal_status current_params(frugal_db *db, const char *name,
                                    frugal_collection_params *params, bool *found)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    frugal_status st = frugal_collection_list(db, &list, &n);

    *found = false;
    for (size_t i = 0; st == FRUGAL_OK && i < n; i++) {
        if (strcmp(list[i].name, name) == 0) {
            params->k1 = list[i].k1;
            params->b = list[i].b;
            params->title_weight = list[i].title_weight;
            params->heading_weight = list[i].heading_weight;
            params->body_weight = list[i].body_weight;
            *found = true;
        }
    }
    frugal_collection_list_free(list, n);
    return st;
}

static int print_done(bool json, const char *action, const char *name)
{
    cJSON *obj;

    if (!json) {
        printf("%s collection %s\n", action, name);
        return CLI_EXIT_OK;
    }
    obj = cJSON_CreateObject();
    cJSON_AddTrueToObject(obj, "ok");
    cJSON_AddStringToObject(obj, "action", action);
    cJSON_AddStringToObject(obj, "name", name);
    return cli_print_json(obj);
}

/* create, tune or delete collection `name`. */
static int change_collection(struct cli *cli, const char *action, const char *name,
                             const struct collections_opts *o)
{
    frugal_collection_params params;
    frugal_db *db = cli_open_db(cli, false);
    frugal_status st;
    bool found = false;
    int rc;

    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_collection_default_params(&params);
    if (strcmp(action, "create") == 0) {
        if (o->language != NULL)
            params.language = o->language;
        if (o->stopwords_given)
            params.stopwords = o->stopwords;
        params.embedder = o->embedder;
        params.vector_type = o->vector_type;
        apply_bm25(&o->bm25, &params);
        st = frugal_collection_create(db, name, &params);
    } else if (strcmp(action, "tune") == 0) {
        st = current_params(db, name, &params, &found);
        apply_bm25(&o->bm25, &params);
        if (st == FRUGAL_OK && found)
            st = frugal_collection_tune(db, name, &params);
    } else {
        st = frugal_collection_delete(db, name);
    }
    if (st != FRUGAL_OK)
        rc = cli_fail(db, st);
    else if (strcmp(action, "tune") == 0 && !found)
        rc = cli_error("no collection named '%s'", name);
    else
        rc = print_done(o->json, strcmp(action, "create") == 0 ? "created"
                                 : strcmp(action, "tune") == 0 ? "tuned" : "deleted", name);
    frugal_close(db);
    return rc;
}

static int parse_options(struct cli *cli, int argc, char **argv, struct collections_opts *o)
{
    static const char *const bm25_names[5] = {"--k1", "--b", "--title-weight",
                                              "--heading-weight", "--body-weight"};
    struct cli_parser p;
    int c;

    cli_parser_init(&p, cli, argc, argv, "", collections_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_collections_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_LANGUAGE:
            o->language = optarg;
            break;
        case OPT_STOPWORDS:
        case OPT_NO_STOPWORDS:
            if (o->stopwords_given)
                return cli_usage(cli, "give one of --stopwords or --no-stopwords, once");
            o->stopwords = c == OPT_STOPWORDS ? optarg : "";
            o->stopwords_given = true;
            break;
        case OPT_K1:
        case OPT_B:
        case OPT_TITLE_WEIGHT:
        case OPT_HEADING_WEIGHT:
        case OPT_BODY_WEIGHT: {
            size_t i = (size_t)(c - OPT_K1);

            if (!cli_parse_double(optarg, &o->bm25.value[i]) || o->bm25.value[i] < 0)
                return cli_usage(cli, "%s wants a number of at least 0, got '%s'", bm25_names[i],
                                 optarg);
            o->bm25.has[i] = true;
            break;
        }
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_EMBEDDER:
            o->embedder = optarg;
            break;
        case OPT_VECTOR_TYPE:
            if (strcmp(optarg, "f32") != 0 && strcmp(optarg, "f16") != 0 &&
                strcmp(optarg, "i8") != 0)
                return cli_usage(cli, "--vector-type wants f32, f16 or i8, got '%s'", optarg);
            o->vector_type = optarg;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    return -1;
}

int cmd_collections(struct cli *cli, int argc, char **argv)
{
    struct collections_opts o;
    const char *action;
    int n_args;
    int rc;

    memset(&o, 0, sizeof(o));
    rc = parse_options(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    n_args = argc - optind;
    action = n_args > 0 ? argv[optind] : "list";
    if (strcmp(action, "list") == 0) {
        if (n_args > 1)
            return cli_usage(cli, "list takes no argument");
        if (o.language != NULL || o.stopwords_given || any_bm25(&o.bm25) || o.embedder != NULL ||
            o.vector_type != NULL)
            return cli_usage(cli, "list takes only --json");
        return list_collections(cli, o.json);
    }
    if (strcmp(action, "create") != 0 && strcmp(action, "tune") != 0 &&
        strcmp(action, "delete") != 0)
        return cli_usage(cli, "unknown action '%s' (list, create, tune or delete)", action);
    if (n_args != 2)
        return cli_usage(cli, "%s wants one collection name", action);
    if (strcmp(action, "create") != 0 && (o.language != NULL || o.stopwords_given))
        return cli_usage(cli, "--language and --stopwords are fixed when a collection is "
                              "created");
    if (strcmp(action, "create") != 0 && (o.embedder != NULL || o.vector_type != NULL))
        return cli_usage(cli, "--embedder and --vector-type apply to create (or use frugal "
                              "init)");
    if (o.vector_type != NULL && o.embedder == NULL)
        return cli_usage(cli, "--vector-type needs --embedder");
    if (strcmp(action, "delete") == 0 && any_bm25(&o.bm25))
        return cli_usage(cli, "delete takes no BM25 option");
    if (strcmp(action, "tune") == 0 && !any_bm25(&o.bm25))
        return cli_usage(cli, "tune wants at least one of --k1, --b, --title-weight, "
                              "--heading-weight, --body-weight");
    return change_collection(cli, action, argv[optind + 1], &o);
}
