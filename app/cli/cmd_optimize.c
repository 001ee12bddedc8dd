/*
 * cmd_optimize.c - `frugal optimize [--collection NAME]`: rewrites the BM25 index file of one
 * collection (or of all) from the database, folding in the changes searched from memory since
 * the file was written. The file is replaced atomically: killing the command leaves the old
 * index or the new one, both usable.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_COLLECTION = 0x200 };

static const struct option optimize_longopts[] = {
    {"collection", required_argument, NULL, OPT_COLLECTION},
    {NULL, 0, NULL, 0},
};

void cmd_optimize_help(FILE *out)
{
    fputs("Usage: frugal optimize [--collection NAME]\n"
          "\n"
          "Rewrites the BM25 index (PATH.bm25/<collection id>.idx beside the database) from the\n"
          "database, merging the changes made since it was last written. Searches keep working\n"
          "without it (recent changes are searched from memory); optimize keeps them fast.\n"
          "\n"
          "Options:\n"
          "  -c, --collection NAME  only this collection (default: every collection)\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

int cmd_optimize(struct cli *cli, int argc, char **argv)
{
    const char *collection = NULL;
    struct cli_parser p;
    frugal_status st;
    frugal_db *db;
    int rc;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", optimize_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        if (c == CLI_OPT_HELP) {
            cmd_optimize_help(stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'c' || c == OPT_COLLECTION) {
            collection = optarg;
            continue;
        }
        return c == CLI_OPT_ERROR ? CLI_EXIT_USAGE : cli_usage(cli, "unexpected option");
    }
    if (optind < argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    st = frugal_optimize(db, collection);
    rc = st != FRUGAL_OK ? cli_fail(db, st) : CLI_EXIT_OK;
    frugal_close(db);
    return rc;
}
