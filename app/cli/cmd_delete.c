/*
 * cmd_delete.c - `frugal delete (--id N | --source PATH)...`: remove documents and their chunks.
 *
 * Targets are deleted in the order given, each in its own library call; the first one that
 * matches nothing stops the command with exit status 1 (those before it stay deleted, and the
 * message says how many). --source also removes the records of a JSONL file ("PATH#id") and
 * every document under a folder ("PATH/...").
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_ID = 0x200, OPT_SOURCE, OPT_JSON };

static const struct option delete_longopts[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"collection", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

void cmd_delete_help(FILE *out)
{
    fputs("Usage: frugal delete (--id N | --source PATH)... [options]\n"
          "\n"
          "Deletes documents with their chunks. Prints how many were deleted. A target that\n"
          "matches nothing is an error (exit status 1); targets before it stay deleted.\n"
          "\n"
          "Options:\n"
          "  --id N               the document with id N (see 'frugal documents'); repeatable\n"
          "  --source PATH        the documents whose source is PATH, the records of JSONL file\n"
          "                       PATH (PATH#id), or every document under folder PATH;\n"
          "                       repeatable. A relative PATH also matches its absolute form,\n"
          "                       as ingest records files by absolute path.\n"
          "  -c, --collection C   only in collection C (default: --id in any collection,\n"
          "                       --source in \"default\")\n"
          "  --json               print {\"deleted\": N}\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

/* The absolute form of a relative path: realpath() when it still exists, else the current
 * folder joined in front (the file may be gone already). NULL when out of memory. */
static char *absolute_path(const char *path)
{
    char *resolved = realpath(path, NULL);
    char *cwd;
    char *joined;
    size_t len;

    if (resolved != NULL)
        return resolved;
    cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        return NULL;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    len = strlen(cwd) + 1 + strlen(path) + 1;
    joined = malloc(len);
    if (joined != NULL)
        snprintf(joined, len, "%s/%s", cwd, path);
    free(cwd);
    return joined;
}

/* Deletes by source as given, then (nothing matched and the path is relative) by its absolute
 * form, since ingest records file paths as absolute paths. */
static frugal_status delete_source(frugal_db *db, const char *collection, const char *source,
                                   size_t *n)
{
    frugal_status st = frugal_document_delete_source(db, collection, source, n);
    char *abs;

    if (st != FRUGAL_OK || *n > 0 || source[0] == '/' || source[0] == '\0')
        return st;
    abs = absolute_path(source);
    if (abs != NULL && strcmp(abs, source) != 0)
        st = frugal_document_delete_source(db, collection, abs, n);
    free(abs);
    return st;
}

struct delete_target {
    bool is_id;
    int64_t id;
    const char *source; /* points into argv */
};

static int delete_all(struct cli *cli, const struct delete_target *targets, size_t n_targets,
                      const char *collection, bool json)
{
    frugal_db *db = cli_open_db(cli, false);
    size_t total = 0;
    int rc = CLI_EXIT_OK;

    if (db == NULL)
        return CLI_EXIT_FAIL;
    for (size_t i = 0; i < n_targets && rc == CLI_EXIT_OK; i++) {
        const struct delete_target *t = &targets[i];
        size_t n = 0;
        frugal_status st;

        if (t->is_id) {
            st = frugal_document_delete(db, collection, t->id);
            n = st == FRUGAL_OK ? 1 : 0;
        } else {
            st = delete_source(db, collection, t->source, &n);
        }
        if (st != FRUGAL_OK)
            rc = cli_fail(db, st);
        else if (n == 0)
            rc = cli_error("no document with source '%s' in collection '%s'", t->source,
                           collection != NULL ? collection : "default");
        total += n;
    }
    if (rc != CLI_EXIT_OK && total > 0)
        fprintf(stderr, "frugal: %zu document%s deleted before the failure\n", total,
                total == 1 ? " was" : "s were");
    if (rc == CLI_EXIT_OK && json) {
        cJSON *obj = cJSON_CreateObject();

        cJSON_AddNumberToObject(obj, "deleted", (double)total);
        rc = cli_print_json(obj);
    } else if (rc == CLI_EXIT_OK) {
        printf("deleted %zu document%s\n", total, total == 1 ? "" : "s");
    }
    frugal_close(db);
    return rc;
}

int cmd_delete(struct cli *cli, int argc, char **argv)
{
    struct delete_target *targets;
    size_t n_targets = 0;
    const char *collection = NULL;
    bool json = false;
    struct cli_parser p;
    int rc = -1;
    int c;

    targets = calloc((size_t)argc, sizeof(*targets));
    if (targets == NULL)
        return cli_error("out of memory");
    cli_parser_init(&p, cli, argc, argv, "c:", delete_longopts);
    while (rc < 0 && (c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_delete_help(stdout);
            rc = CLI_EXIT_OK;
            break;
        case CLI_OPT_ERROR:
            rc = CLI_EXIT_USAGE;
            break;
        case OPT_ID:
            targets[n_targets].is_id = true;
            if (!cli_parse_i64(optarg, 1, INT64_MAX, &targets[n_targets].id))
                rc = cli_usage(cli, "--id wants a document id (a positive number), got '%s'",
                               optarg);
            n_targets++;
            break;
        case OPT_SOURCE:
            targets[n_targets++].source = optarg;
            break;
        case 'c':
            collection = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        default:
            rc = cli_usage(cli, "unexpected option");
            break;
        }
    }
    if (rc < 0 && optind < argc)
        rc = cli_usage(cli, "unexpected argument '%s' (use --id N or --source PATH)",
                       argv[optind]);
    else if (rc < 0 && n_targets == 0)
        rc = cli_usage(cli, "nothing to delete: give --id N or --source PATH");
    if (rc < 0)
        rc = delete_all(cli, targets, n_targets, collection, json);
    free(targets);
    return rc;
}
