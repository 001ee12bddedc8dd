/*
 * cmd_stats.c - `frugal stats`: documents and chunks per collection, and the size of the
 * database on disk (the main file plus its write-ahead log).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { OPT_JSON = 0x200 };

static const struct option stats_longopts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

void cmd_stats_help(FILE *out)
{
    fputs("Usage: frugal stats [--json]\n"
          "\n"
          "Prints the documents and chunks of every collection and the size of the database\n"
          "file (and of its write-ahead log, PATH-wal).\n"
          "\n"
          "Options:\n"
          "  --json    {\"database\", \"file_bytes\", \"wal_bytes\", \"documents\", \"chunks\",\n"
          "            \"collections\": [{name, documents, chunks}]}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* The size of PATH-wal, 0 when there is none. */
static uint64_t wal_size(const char *db_path)
{
    size_t len = strlen(db_path);
    char *wal = malloc(len + 5);
    uint64_t size;

    if (wal == NULL)
        return 0;
    memcpy(wal, db_path, len);
    memcpy(wal + len, "-wal", 5);
    size = file_size(wal);
    free(wal);
    return size;
}

static int print_stats(const struct cli *cli, const frugal_collection_info *list, size_t n,
                       bool json)
{
    uint64_t bytes = file_size(cli->db_path);
    uint64_t wal = wal_size(cli->db_path);
    int64_t docs = 0;
    int64_t chunks = 0;
    char size[32];

    for (size_t i = 0; i < n; i++) {
        docs += list[i].n_documents;
        chunks += list[i].n_chunks;
    }
    if (json) {
        cJSON *obj = cJSON_CreateObject();
        cJSON *arr;

        cJSON_AddStringToObject(obj, "database", cli->db_path);
        cJSON_AddNumberToObject(obj, "file_bytes", (double)bytes);
        cJSON_AddNumberToObject(obj, "wal_bytes", (double)wal);
        cJSON_AddNumberToObject(obj, "documents", (double)docs);
        cJSON_AddNumberToObject(obj, "chunks", (double)chunks);
        arr = cJSON_AddArrayToObject(obj, "collections");
        for (size_t i = 0; i < n; i++) {
            cJSON *c = cJSON_CreateObject();

            cJSON_AddStringToObject(c, "name", list[i].name);
            cJSON_AddNumberToObject(c, "documents", (double)list[i].n_documents);
            cJSON_AddNumberToObject(c, "chunks", (double)list[i].n_chunks);
            cJSON_AddItemToArray(arr, c);
        }
        return cli_print_json(obj);
    }
    cli_format_bytes(size, sizeof(size), bytes);
    printf("database  %s\nfile      %s (%llu bytes)\n", cli->db_path, size,
           (unsigned long long)bytes);
    if (wal > 0) {
        cli_format_bytes(size, sizeof(size), wal);
        printf("wal       %s (%llu bytes)\n", size, (unsigned long long)wal);
    }
    printf("\n%-20s %10s %10s\n", "COLLECTION", "DOCUMENTS", "CHUNKS");
    for (size_t i = 0; i < n; i++)
        printf("%-20s %10lld %10lld\n", list[i].name, (long long)list[i].n_documents,
               (long long)list[i].n_chunks);
    printf("%-20s %10lld %10lld\n", "total", (long long)docs, (long long)chunks);
    return CLI_EXIT_OK;
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
    frugal_collection_info *list = NULL;
    size_t n = 0;
    bool json = false;
    struct cli_parser p;
    frugal_status st;
    frugal_db *db;
    int rc;
    int c;

    cli_parser_init(&p, cli, argc, argv, "", stats_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        if (c == CLI_OPT_HELP) {
            cmd_stats_help(stdout);
            return CLI_EXIT_OK;
        }
        if (c != OPT_JSON)
            return c == CLI_OPT_ERROR ? CLI_EXIT_USAGE : cli_usage(cli, "unexpected option");
        json = true;
    }
    if (optind < argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    db = cli_open_db(cli, true);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    st = frugal_collection_list(db, &list, &n);
    if (st != FRUGAL_OK)
        rc = cli_fail(db, st);
    else
        rc = print_stats(cli, list, n, json);
    frugal_collection_list_free(list, n);
    frugal_close(db);
    return rc;
}
