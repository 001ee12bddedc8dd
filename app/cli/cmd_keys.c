/*
 * cmd_keys.c - `frugal keys create|list|revoke`: the API keys `frugal serve` accepts.
 *
 * `create` prints the new key on stdout, alone on its line (or in --json), and nowhere else:
 * the database keeps only its SHA-256, so this is the one chance to copy it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_ROLE = 0x200, OPT_JSON };

#define MAX_KEY_COLLECTIONS 256

static const struct option keys_longopts[] = {
    {"role", required_argument, NULL, OPT_ROLE},
    {"collection", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char *const role_names[] = {"reader", "writer", "admin"};

void cmd_keys_help(FILE *out)
{
    fputs("Usage: frugal keys create --role admin|writer|reader [-c COLLECTION]... [--json]\n"
          "       frugal keys list [--json]\n"
          "       frugal keys revoke ID\n"
          "\n"
          "API keys for `frugal serve` (clients send 'Authorization: Bearer KEY').\n"
          "create prints a new key once; only its SHA-256 is stored. Roles: reader searches,\n"
          "gets and lists; writer also uploads, ingests and deletes documents; admin also\n"
          "manages collections and keys. -c/--collection (repeatable) limits the key to those\n"
          "collections; without it the key may use every collection.\n"
          "\n"
          "Options:\n"
          "  --role R             reader, writer or admin (create)\n"
          "  -c, --collection C   limit the key to collection C (repeatable)\n"
          "  --json               JSON output\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

static int key_create(struct cli *cli, int role, const char *const *colls, size_t n, bool json)
{
    frugal_db *db = cli_open_db(cli, false);
    char *key = NULL;
    int64_t id = 0;
    int rc = CLI_EXIT_OK;
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_status st = frugal_key_create(db, (frugal_key_role)role, colls, n, &key, &id);
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "role", role_names[role]);
        cJSON *arr = cJSON_AddArrayToObject(o, "collections");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(colls[i]));
        rc = cli_print_json(o);
    } else {
        printf("%s\n", key);
        if (!cli->quiet)
            fprintf(stderr, "frugal: created key %lld (%s); it is shown only this once\n",
                    (long long)id, role_names[role]);
    }
    frugal_free(key);
    frugal_close(db);
    return rc;
}

static int key_list(struct cli *cli, bool json)
{
    frugal_db *db = cli_open_db(cli, false);
    frugal_key_info *keys = NULL;
    size_t n = 0;
    int rc = CLI_EXIT_OK;
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_status st = frugal_key_list(db, &keys, &n);
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "keys");
        for (size_t i = 0; i < n; i++) {
            cJSON *k = cJSON_CreateObject();
            cJSON_AddNumberToObject(k, "id", (double)keys[i].id);
            cJSON_AddStringToObject(k, "role", role_names[keys[i].role]);
            cJSON *c = cJSON_AddArrayToObject(k, "collections");
            for (size_t j = 0; j < keys[i].n_collections; j++)
                cJSON_AddItemToArray(c, cJSON_CreateString(keys[i].collections[j]));
            cJSON_AddNumberToObject(k, "created_at", (double)keys[i].created_at);
            if (keys[i].revoked_at != 0)
                cJSON_AddNumberToObject(k, "revoked_at", (double)keys[i].revoked_at);
            else
                cJSON_AddNullToObject(k, "revoked_at");
            cJSON_AddItemToArray(arr, k);
        }
        rc = cli_print_json(o);
    } else {
        printf("%6s %-7s %-8s %s\n", "ID", "ROLE", "STATE", "COLLECTIONS");
        for (size_t i = 0; i < n; i++) {
            printf("%6lld %-7s %-8s ", (long long)keys[i].id, role_names[keys[i].role],
                   keys[i].revoked_at != 0 ? "revoked" : "valid");
            if (keys[i].n_collections == 0)
                fputs("(all)", stdout);
            for (size_t j = 0; j < keys[i].n_collections; j++)
                printf("%s%s", j > 0 ? "," : "", keys[i].collections[j]);
            fputc('\n', stdout);
        }
    }
    frugal_key_list_free(keys, n);
    frugal_close(db);
    return rc;
}

static int key_revoke(struct cli *cli, const char *arg)
{
    int64_t id = 0;
    if (!cli_parse_i64(arg, 1, INT64_MAX, &id))
        return cli_usage(cli, "revoke wants a key id, got '%s'", arg);
    frugal_db *db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    frugal_status st = frugal_key_revoke(db, id);
    int rc = st == FRUGAL_OK ? CLI_EXIT_OK : cli_fail(db, st);
    frugal_close(db);
    return rc;
}

int cmd_keys(struct cli *cli, int argc, char **argv)
{
    const char *colls[MAX_KEY_COLLECTIONS];
    size_t n_colls = 0;
    int role = -1;
    bool json = false;
    struct cli_parser p;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", keys_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_keys_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_ROLE:
            for (int i = 0; i < 3; i++) {
                if (strcmp(optarg, role_names[i]) == 0)
                    role = i;
            }
            if (role < 0)
                return cli_usage(cli, "--role wants admin, writer or reader, got '%s'", optarg);
            break;
        case 'c':
            if (n_colls == MAX_KEY_COLLECTIONS)
                return cli_usage(cli, "at most %d collections", MAX_KEY_COLLECTIONS);
            colls[n_colls++] = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "say create, list or revoke");
    const char *action = argv[optind];
    int n_args = argc - optind - 1;
    if (strcmp(action, "create") == 0) {
        if (n_args != 0)
            return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (role < 0)
            return cli_usage(cli, "create needs --role admin, writer or reader");
        return key_create(cli, role, colls, n_colls, json);
    }
    if (strcmp(action, "list") == 0) {
        if (n_args != 0)
            return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        return key_list(cli, json);
    }
    if (strcmp(action, "revoke") == 0) {
        if (n_args != 1)
            return cli_usage(cli, "revoke takes one key id");
        return key_revoke(cli, argv[optind + 1]);
    }
    return cli_usage(cli, "unknown action '%s' (create, list or revoke)", action);
}
