/*
 * cmd_documents.c - `frugal documents`: list the documents of a collection in id order, as a
 * table or as JSON, one page at a time with --offset and --limit.
 */
#include <string.h>

#include "cli.h"

enum { OPT_OFFSET = 0x200, OPT_LIMIT, OPT_JSON };

static const struct option documents_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

void cmd_documents_help(FILE *out)
{
    fputs("Usage: frugal documents [list] [options]\n"
          "\n"
          "Lists the documents of a collection in id order: id, chunks, size, source, title.\n"
          "\n"
          "Options:\n"
          "  -c, --collection C   the collection (default \"default\")\n"
          "  --offset N           skip the first N documents (default 0)\n"
          "  --limit N            list at most N documents (default 0: all)\n"
          "  --json               {\"documents\": [{id, collection, source, ext_id, title,\n"
          "                       content_hash, size, mtime, chunks, metadata}]}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

static cJSON *document_json(const frugal_document_info *d)
{
    cJSON *obj = cJSON_CreateObject();

    cJSON_AddNumberToObject(obj, "id", (double)d->id);
    cJSON_AddItemToObject(obj, "collection", cli_json_string_or_null(d->collection));
    cJSON_AddItemToObject(obj, "source", cli_json_string_or_null(d->source));
    cJSON_AddItemToObject(obj, "ext_id", cli_json_string_or_null(d->ext_id));
    cJSON_AddItemToObject(obj, "title", cli_json_string_or_null(d->title));
    cJSON_AddItemToObject(obj, "content_hash", cli_json_string_or_null(d->content_hash));
    cJSON_AddNumberToObject(obj, "size", (double)d->size);
    cJSON_AddNumberToObject(obj, "mtime", (double)d->mtime);
    cJSON_AddNumberToObject(obj, "chunks", (double)d->n_chunks);
    cJSON_AddItemToObject(obj, "metadata", cli_json_metadata(d->metadata_json));
    return obj;
}

static void print_table(const frugal_document_info *docs, size_t n)
{
    printf("%8s %7s %10s  %s\n", "ID", "CHUNKS", "SIZE", "SOURCE (TITLE)");
    for (size_t i = 0; i < n; i++) {
        const frugal_document_info *d = &docs[i];
        char size[32];

        cli_format_bytes(size, sizeof(size), d->size > 0 ? (uint64_t)d->size : 0);
        printf("%8lld %7lld %10s  %s", (long long)d->id, (long long)d->n_chunks, size,
               d->source != NULL ? d->source : "?");
        if (d->title != NULL && d->title[0] != '\0')
            printf(" (%s)", d->title);
        fputc('\n', stdout);
    }
}

static int list_documents(struct cli *cli, const char *collection, size_t offset, size_t limit,
                          bool json)
{
    frugal_document_info *docs = NULL;
    size_t n = 0;
    frugal_db *db = cli_open_db(cli, true);
    frugal_status st;
    int rc = CLI_EXIT_OK;

    if (db == NULL)
        return CLI_EXIT_FAIL;
    st = frugal_document_list(db, collection, offset, limit, &docs, &n);
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else if (json) {
        cJSON *obj = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(obj, "documents");

        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, document_json(&docs[i]));
        rc = cli_print_json(obj);
    } else {
        print_table(docs, n);
    }
    frugal_document_list_free(docs, n);
    frugal_close(db);
    return rc;
}

int cmd_documents(struct cli *cli, int argc, char **argv)
{
    const char *collection = NULL;
    size_t offset = 0;
    size_t limit = 0;
    bool json = false;
    struct cli_parser p;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", documents_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_documents_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'c':
            collection = optarg;
            break;
        case OPT_OFFSET:
            if (!cli_parse_size(optarg, SIZE_MAX, &offset))
                return cli_usage(cli, "--offset wants a number of at least 0, got '%s'", optarg);
            break;
        case OPT_LIMIT:
            if (!cli_parse_size(optarg, SIZE_MAX, &limit))
                return cli_usage(cli, "--limit wants a number of at least 0, got '%s'", optarg);
            break;
        case OPT_JSON:
            json = true;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind < argc && !(argc - optind == 1 && strcmp(argv[optind], "list") == 0))
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    return list_documents(cli, collection, offset, limit, json);
}
