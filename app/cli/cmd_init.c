/*
 * cmd_init.c - `frugal init [--collection C] --embedder SPEC [--vector-type T]`: make a
 * collection ready for dense retrieval.
 *
 * Create or configure: a missing collection is created with the embedder; an existing one gets
 * it when it holds no chunks yet, keeps it when it already has the same spec, and is refused
 * otherwise (vectors are computed at ingestion; a collection full of chunks without vectors
 * needs a new collection, or its documents deleted first). The embedder is opened once here, so
 * a bad spec or a missing model fails now rather than at the first ingest.
 */
#include <string.h>

#include "cli.h"

enum { OPT_EMBEDDER = 0x200, OPT_VECTOR_TYPE, OPT_JSON };

static const struct option init_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"embedder", required_argument, NULL, OPT_EMBEDDER},
    {"vector-type", required_argument, NULL, OPT_VECTOR_TYPE},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

void cmd_init_help(FILE *out)
{
    fputs("Usage: frugal init [--collection C] --embedder SPEC [--vector-type T] [--json]\n"
          "\n"
          "Gives collection C (default \"default\"; created when missing) an embedder, so that\n"
          "ingestion stores a dense vector for every chunk and `frugal search --mode dense`\n"
          "works. An existing collection accepts one only while it holds no chunks (or when it\n"
          "already has the same one).\n"
          "\n"
          "SPEC is one of:\n"
          "  glove               GloVe 6B 100d from $FRUGAL_DATA_DIR, else ~/.local/share/frugal\n"
          "                      (install with scripts/setup --glove)\n"
          "  glove:PATH          a .fsv vectors file\n"
          "  model:DIR           a sentence-transformers (BERT) folder from the Hugging Face Hub\n"
          "  remote:MODEL@URL    an OpenAI-compatible /v1/embeddings server (key from\n"
          "                      $FRUGAL_EMBED_API_KEY or $OPENAI_API_KEY)\n"
          "\n"
          "Options:\n"
          "  -c, --collection C   the collection (default \"default\")\n"
          "  --vector-type T      how the vector index stores vectors: f32 (default), f16, i8\n"
          "  --json               print {\"ok\": true, \"collection\", \"embedder\", \"dim\"}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
    const char *collection = "default";
    const char *embedder = NULL;
    const char *vector_type = NULL;
    bool json = false;
    struct cli_parser p;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", init_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_init_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'c':
            collection = optarg;
            break;
        case OPT_EMBEDDER:
            embedder = optarg;
            break;
        case OPT_VECTOR_TYPE:
            if (strcmp(optarg, "f32") != 0 && strcmp(optarg, "f16") != 0 &&
                strcmp(optarg, "i8") != 0)
                return cli_usage(cli, "--vector-type wants f32, f16 or i8, got '%s'", optarg);
            vector_type = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind < argc)
        return cli_usage(cli, "takes no arguments");
    if (embedder == NULL)
        return cli_usage(cli, "--embedder SPEC is required");

    frugal_db *db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_collection_params params;
    frugal_collection_default_params(&params);
    params.embedder = embedder;
    params.vector_type = vector_type;
    frugal_status st = frugal_collection_create(db, collection, &params);
    const char *action = "created";
    if (st == FRUGAL_EEXIST) {
        action = "configured";
        st = frugal_collection_set_embedder(db, collection, embedder, vector_type);
    }
    int rc = CLI_EXIT_OK;
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else {
        frugal_collection_info *list = NULL;
        size_t n = 0;
        const frugal_collection_info *info = NULL;
        st = frugal_collection_list(db, &list, &n);
        for (size_t i = 0; st == FRUGAL_OK && i < n; i++)
            if (strcmp(list[i].name, collection) == 0)
                info = &list[i];
        if (st != FRUGAL_OK) {
            rc = cli_fail(db, st);
        } else if (json) {
            cJSON *obj = cJSON_CreateObject();
            cJSON_AddTrueToObject(obj, "ok");
            cJSON_AddStringToObject(obj, "action", action);
            cJSON_AddStringToObject(obj, "collection", collection);
            cJSON_AddItemToObject(obj, "embedder", cli_json_string_or_null(
                                                       info != NULL ? info->embedder_name : NULL));
            cJSON_AddNumberToObject(obj, "dim", info != NULL ? (double)info->embedder_dim : 0);
            rc = cli_print_json(obj);
        } else {
            printf("%s collection %s with embedder %s (dim %lld)\n", action, collection,
                   info != NULL && info->embedder_name != NULL ? info->embedder_name : embedder,
                   info != NULL ? (long long)info->embedder_dim : 0LL);
        }
        frugal_collection_list_free(list, n);
    }
    frugal_close(db);
    return rc;
}
