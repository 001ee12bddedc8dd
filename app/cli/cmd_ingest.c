/*
 * cmd_ingest.c - `frugal ingest PATH...` and `frugal sync DIR`: add files and folders to a
 * collection, or make a collection mirror a folder.
 *
 * Both verbs share their options and their report. Files that fail are reported one line each
 * on stderr ("frugal: FILE: reason") as the library calls on_file, and counted; the batch goes
 * on. With --verbose every outcome is reported. A progress bar is drawn on stderr when it is a
 * terminal. The summary goes to stdout, as text or (--json) one JSON object.
 *
 * Exit status: 0 when every file went in (or was unchanged/skipped), 3 when the batch ran but at
 * least one file failed, 1 when it could not run at all, 2 on a bad command line.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum {
    OPT_INCLUDE = 0x200,
    OPT_EXCLUDE,
    OPT_META,
    OPT_METADATA,
    OPT_CHUNK_TOKENS,
    OPT_CHUNK_OVERLAP,
    OPT_MAX_FILE_SIZE,
    OPT_PDF_TIMEOUT,
    OPT_JSON,
};

static const struct option ingest_longopts[] = {
    {"collection", required_argument, NULL, 'c'},
    {"include", required_argument, NULL, OPT_INCLUDE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"meta", required_argument, NULL, OPT_META},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"chunk-tokens", required_argument, NULL, OPT_CHUNK_TOKENS},
    {"chunk-overlap", required_argument, NULL, OPT_CHUNK_OVERLAP},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    {"pdf-timeout", required_argument, NULL, OPT_PDF_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char ingest_options_help[] =
    "Options:\n"
    "  -c, --collection C     the collection (default \"default\"; created when missing)\n"
    "  --include GLOB         only files whose name matches GLOB (repeatable; default: every\n"
    "                         supported format)\n"
    "  --exclude GLOB         leave out files whose name or path matches GLOB (repeatable)\n"
    "  --meta KEY=VALUE       add a string field to every document's metadata (repeatable)\n"
    "  --metadata JSON        a JSON object merged into every document's metadata\n"
    "                         (--meta fields override its keys)\n"
    "  --chunk-tokens N       target chunk size in words (default 200)\n"
    "  --chunk-overlap N      overlap between consecutive chunks in words, smaller than\n"
    "                         --chunk-tokens (default 40, or a fifth of a smaller size)\n"
    "  --max-file-size SIZE   larger files fail: bytes, or with a K, M or G suffix\n"
    "                         (default 64M)\n"
    "  --pdf-timeout S        time limit in seconds for reading one PDF (default 60)\n"
    "  --json                 print the summary as one JSON object with the keys added,\n"
    "                         updated, unchanged, deleted, failed, skipped, chunks_written\n"
    "                         and seconds\n"
    "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb; --verbose reports\n"
    "                         every file's outcome on stderr\n"
    "\n"
    "Each file that fails is reported on stderr as 'frugal: FILE: reason' and the others go\n"
    "on. A progress bar is drawn on stderr when it is a terminal (not with --quiet). The\n"
    "summary goes to stdout:\n"
    "  added 10, updated 0, unchanged 2, deleted 0, failed 1, skipped 0 (chunks written: 123)\n"
    "\n"
    "Exit status: 0 when the batch ran and no file failed; 3 when it ran but at least one file\n"
    "failed (see the summary and stderr); 1 when it could not run at all; 2 on a bad command\n"
    "line.\n";

void cmd_ingest_help(FILE *out)
{
    fputs("Usage: frugal ingest PATH... [options]\n"
          "\n"
          "Adds or updates files and folders (recursively) in a collection. Formats: text,\n"
          "Markdown, HTML, PDF, DOCX and JSONL (one document per line:\n"
          "{\"_id\", \"title\", \"text\", \"metadata\"}). A file whose content has not changed is\n"
          "left as it is; other files of unsupported formats are skipped.\n"
          "\n",
          out);
    fputs(ingest_options_help, out);
}

void cmd_sync_help(FILE *out)
{
    fputs("Usage: frugal sync DIR [options]\n"
          "\n"
          "Makes a collection mirror folder DIR: new files are added, changed files (by content)\n"
          "re-indexed, unchanged files left alone, and documents whose files vanished from\n"
          "under DIR deleted.\n"
          "\n",
          out);
    fputs(ingest_options_help, out);
}

struct ingest_opts {
    frugal_ingest_params params;
    const char **includes; /* point into argv */
    const char **excludes;
    cJSON *meta;           /* the metadata object, NULL when none given */
    bool json;
};

struct ingest_run {
    const struct cli *cli;
    struct cli_progress progress;
};

static const char *outcome_name(frugal_file_outcome outcome)
{
    switch (outcome) {
    case FRUGAL_FILE_ADDED: return "added";
    case FRUGAL_FILE_UPDATED: return "updated";
    case FRUGAL_FILE_UNCHANGED: return "unchanged";
    case FRUGAL_FILE_DELETED: return "deleted";
    case FRUGAL_FILE_FAILED: return "failed";
    case FRUGAL_FILE_SKIPPED: return "skipped";
    }
    return "?";
}

static void on_file(void *ctx, const char *source, frugal_file_outcome outcome, const char *reason)
{
    struct ingest_run *run = ctx;

    if (outcome != FRUGAL_FILE_FAILED && !run->cli->verbose)
        return;
    cli_progress_clear(&run->progress);
    if (outcome == FRUGAL_FILE_FAILED)
        fprintf(stderr, "frugal: %s: %s\n", source, reason != NULL ? reason : "failed");
    else if (reason != NULL)
        fprintf(stderr, "%-9s %s: %s\n", outcome_name(outcome), source, reason);
    else
        fprintf(stderr, "%-9s %s\n", outcome_name(outcome), source);
}

static void on_progress(void *ctx, size_t done, size_t total)
{
    struct ingest_run *run = ctx;

    cli_progress_update(&run->progress, done, total);
}

/* Adds "KEY=VALUE" to the metadata object; false on a bad argument. */
static bool add_meta(struct ingest_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key;

    if (eq == NULL || eq == arg)
        return false;
    if (o->meta == NULL)
        o->meta = cJSON_CreateObject();
    key = strndup(arg, (size_t)(eq - arg));
    if (o->meta == NULL || key == NULL) {
        free(key);
        return false;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o->meta, key);
    cJSON_AddItemToObject(o->meta, key, cJSON_CreateString(eq + 1));
    free(key);
    return true;
}

/* Merges the JSON object text into the metadata (its keys do not override --meta ones). */
static bool add_metadata_json(struct ingest_opts *o, const char *text)
{
    cJSON *obj = cJSON_Parse(text);
    cJSON *item;

    if (obj == NULL || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return false;
    }
    if (o->meta == NULL) {
        o->meta = obj;
        return true;
    }
    while ((item = obj->child) != NULL) {
        cJSON_DetachItemViaPointer(obj, item);
        if (cJSON_GetObjectItemCaseSensitive(o->meta, item->string) != NULL)
            cJSON_Delete(item);
        else
            cJSON_AddItemToObject(o->meta, item->string, item);
    }
    cJSON_Delete(obj);
    return true;
}

/* Parses the options into o; positional arguments are then argv[optind..argc). Returns -1 to go
 * on, or an exit status. */
static int parse_options(struct cli *cli, int argc, char **argv, struct ingest_opts *o)
{
    struct cli_parser p;
    const char *metadata_text = NULL;
    bool overlap_given = false;
    int64_t n = 0;
    int c;

    cli_parser_init(&p, cli, argc, argv, "c:", ingest_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            if (strcmp(cli->verb, "sync") == 0)
                cmd_sync_help(stdout);
            else
                cmd_ingest_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'c':
            o->params.collection = optarg;
            break;
        case OPT_INCLUDE:
            o->includes[o->params.n_include++] = optarg;
            break;
        case OPT_EXCLUDE:
            o->excludes[o->params.n_exclude++] = optarg;
            break;
        case OPT_META:
            if (!add_meta(o, optarg))
                return cli_usage(cli, "--meta wants KEY=VALUE, got '%s'", optarg);
            break;
        case OPT_METADATA:
            metadata_text = optarg;
            break;
        case OPT_CHUNK_TOKENS:
            if (!cli_parse_i64(optarg, 1, 100000, &n))
                return cli_usage(cli, "--chunk-tokens wants a number from 1 to 100000");
            o->params.chunk_tokens = (size_t)n;
            break;
        case OPT_CHUNK_OVERLAP:
            if (!cli_parse_i64(optarg, 0, 100000, &n))
                return cli_usage(cli, "--chunk-overlap wants a number from 0 to 100000");
            o->params.chunk_overlap = (size_t)n;
            overlap_given = true;
            break;
        case OPT_MAX_FILE_SIZE:
            if (!cli_parse_bytes(optarg, &o->params.max_file_bytes) ||
                o->params.max_file_bytes == 0)
                return cli_usage(cli, "--max-file-size wants a size such as 1048576, 512K, 64M "
                                      "or 1G, got '%s'", optarg);
            break;
        case OPT_PDF_TIMEOUT:
            if (!cli_parse_i64(optarg, 1, 86400, &n))
                return cli_usage(cli, "--pdf-timeout wants seconds from 1 to 86400");
            o->params.pdf_timeout_s = (int)n;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (metadata_text != NULL && !add_metadata_json(o, metadata_text))
        return cli_usage(cli, "--metadata wants a JSON object, got '%s'", metadata_text);
    if (!overlap_given && o->params.chunk_overlap >= o->params.chunk_tokens)
        o->params.chunk_overlap = o->params.chunk_tokens / 5; /* small chunks, same ratio */
    if (o->params.chunk_overlap >= o->params.chunk_tokens)
        return cli_usage(cli, "--chunk-overlap (%zu) must be smaller than --chunk-tokens (%zu)",
                         o->params.chunk_overlap, o->params.chunk_tokens);
    return -1;
}

static int print_report(const struct ingest_opts *o, const frugal_ingest_report *r,
                        double seconds)
{
    cJSON *obj;

    if (!o->json) {
        printf("added %zu, updated %zu, unchanged %zu, deleted %zu, failed %zu, skipped %zu "
               "(chunks written: %zu)\n",
               r->added, r->updated, r->unchanged, r->deleted, r->failed, r->skipped,
               r->chunks_written);
        return CLI_EXIT_OK;
    }
    obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "added", (double)r->added);
    cJSON_AddNumberToObject(obj, "updated", (double)r->updated);
    cJSON_AddNumberToObject(obj, "unchanged", (double)r->unchanged);
    cJSON_AddNumberToObject(obj, "deleted", (double)r->deleted);
    cJSON_AddNumberToObject(obj, "failed", (double)r->failed);
    cJSON_AddNumberToObject(obj, "skipped", (double)r->skipped);
    cJSON_AddNumberToObject(obj, "chunks_written", (double)r->chunks_written);
    cJSON_AddNumberToObject(obj, "seconds", seconds);
    return cli_print_json(obj);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs ingest (is_sync false) or sync over the positional arguments. */
static int run_batch(struct cli *cli, struct ingest_opts *o, char **paths, int n_paths,
                     bool is_sync)
{
    struct ingest_run run = {.cli = cli};
    frugal_ingest_report report;
    struct timespec t0;
    frugal_db *db;
    char *meta_text = NULL;
    frugal_status st;
    int rc;

    if (o->meta != NULL) {
        meta_text = cJSON_PrintUnformatted(o->meta);
        if (meta_text == NULL)
            return cli_error("out of memory");
        o->params.metadata_json = meta_text;
    }
    db = cli_open_db(cli, false);
    if (db == NULL) {
        cJSON_free(meta_text);
        return CLI_EXIT_FAIL;
    }
    cli_progress_init(&run.progress, cli, "files");
    o->params.include = o->includes;
    o->params.exclude = o->excludes;
    o->params.on_file = on_file;
    o->params.on_progress = on_progress;
    o->params.ctx = &run;
    memset(&report, 0, sizeof(report));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (is_sync)
        st = frugal_sync(db, paths[0], &o->params, &report);
    else
        st = frugal_ingest(db, (const char *const *)paths, (size_t)n_paths, &o->params, &report);
    cli_progress_end(&run.progress);
    if (st != FRUGAL_OK) {
        rc = cli_fail(db, st);
    } else {
        rc = print_report(o, &report, seconds_since(&t0));
        if (rc == CLI_EXIT_OK && report.failed > 0)
            rc = CLI_EXIT_PARTIAL;
    }
    frugal_close(db);
    cJSON_free(meta_text);
    return rc;
}

static int run_verb(struct cli *cli, int argc, char **argv, bool is_sync)
{
    struct ingest_opts o;
    int rc;

    memset(&o, 0, sizeof(o));
    frugal_ingest_default_params(&o.params);
    /* Each --include/--exclude takes at least one argv slot: argc bounds their numbers. */
    o.includes = calloc((size_t)argc, sizeof(*o.includes));
    o.excludes = calloc((size_t)argc, sizeof(*o.excludes));
    if (o.includes == NULL || o.excludes == NULL) {
        rc = cli_error("out of memory");
        goto out_free;
    }
    rc = parse_options(cli, argc, argv, &o);
    if (rc >= 0)
        goto out_free;
    if (is_sync && argc - optind != 1)
        rc = cli_usage(cli, "sync wants exactly one folder, got %d arguments", argc - optind);
    else if (!is_sync && argc - optind < 1)
        rc = cli_usage(cli, "no file or folder given");
    else
        rc = run_batch(cli, &o, argv + optind, argc - optind, is_sync);
out_free:
    cJSON_Delete(o.meta);
    free(o.includes);
    free(o.excludes);
    return rc;
}

int cmd_ingest(struct cli *cli, int argc, char **argv)
{
    return run_verb(cli, argc, argv, false);
}

int cmd_sync(struct cli *cli, int argc, char **argv)
{
    return run_verb(cli, argc, argv, true);
}
