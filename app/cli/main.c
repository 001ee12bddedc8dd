/*
 * main.c - the `frugal` command-line program: global options, the verb table, help and version.
 *
 * `frugal [--db PATH] [--quiet] [--verbose] VERB [ARGS...]`. The global options are parsed up to
 * the verb (getopt with '+', so the verb's own options are left alone) and may be repeated after
 * it. Each verb lives in cmd_<verb>.c and returns the process exit status (see cli.h): 0 done,
 * 1 failed (one "frugal: ..." line on stderr), 2 usage error, 3 ingest/sync ran but some files
 * failed. The library never prints: we install its log callback here.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* cmd_embed.c: the embedding runtime's verbs */
int cmd_embed(struct cli *cli, int argc, char **argv);
void cmd_embed_help(FILE *out);
/* cmd_ask.c: answers */
int cmd_ask(struct cli *cli, int argc, char **argv);
void cmd_ask_help(FILE *out);
int cmd_rerank(struct cli *cli, int argc, char **argv);
void cmd_rerank_help(FILE *out);
int cmd_glove_convert(struct cli *cli, int argc, char **argv);
void cmd_glove_convert_help(FILE *out);
/* cmd_budget.c: cost limits of generated answers */
int cmd_budget(struct cli *cli, int argc, char **argv);
void cmd_budget_help(FILE *out);

static const struct cli_verb verbs[] = {
    {"init", "give a collection an embedder for dense search", cmd_init, cmd_init_help},
    {"ingest", "add or update files and folders", cmd_ingest, cmd_ingest_help},
    {"sync", "make a collection mirror a folder", cmd_sync, cmd_sync_help},
    {"search", "rank chunks against a query", cmd_search, cmd_search_help},
    {"ask", "answer a question from a collection, with citations", cmd_ask, cmd_ask_help},
    {"delete", "delete documents by id or source", cmd_delete, cmd_delete_help},
    {"documents", "list the documents of a collection", cmd_documents, cmd_documents_help},
    {"collections", "list, create, tune or delete collections", cmd_collections,
     cmd_collections_help},
    {"stats", "documents, chunks and size of the database", cmd_stats, cmd_stats_help},
    {"embed", "embed texts (BERT model folder, GloVe, remote server)", cmd_embed, cmd_embed_help},
    {"rerank", "score passages against a query with a cross-encoder", cmd_rerank,
     cmd_rerank_help},
    {"eval", "measure search or answer quality (BEIR, Cranfield, SQuAD)", cmd_eval, cmd_eval_help},
    {"ann", "benchmark the vector index on .fvecs files", cmd_ann, cmd_ann_help},
    {"optimize", "rewrite the BM25 index files from the database", cmd_optimize,
     cmd_optimize_help},
    {"serve", "serve the HTTP API (REST, OpenAI-compatible, metrics)", cmd_serve,
     cmd_serve_help},
    {"keys", "create, list or revoke API keys for `frugal serve`", cmd_keys, cmd_keys_help},
    {"budget", "set, list or clear what generated answers may cost", cmd_budget,
     cmd_budget_help},
    /* hidden (no summary): run by scripts/setup --glove */
    {"glove-convert", NULL, cmd_glove_convert, cmd_glove_convert_help},
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct cli_verb *find_verb(const char *name)
{
    for (size_t i = 0; i < N_VERBS; i++) {
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    }
    return NULL;
}

static void print_usage(FILE *out)
{
    fputs("Usage: frugal [--db PATH] [--quiet] [--verbose] VERB [ARGS...]\n"
          "       frugal help VERB | frugal VERB --help\n"
          "       frugal --version\n"
          "\n"
          "frugal indexes documents (text, Markdown, HTML, PDF, DOCX, JSONL) into a SQLite\n"
          "database and searches them with BM25 or, with an embedder, by dense vectors.\n"
          "\n"
          "Verbs:\n",
          out);
    for (size_t i = 0; i < N_VERBS; i++) {
        if (verbs[i].summary != NULL)
            fprintf(out, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
    }
    fputs("\n"
          "Global options (also accepted after the verb):\n"
          "  --db PATH     the database file (default: $FRUGAL_DB, else ./frugal.db)\n"
          "  -q, --quiet   no progress bar and no warnings; errors and results still print\n"
          "  -v, --verbose report every file's outcome and informational messages\n"
          "  -h, --help    this help\n"
          "  -V, --version the version\n"
          "\n"
          "Exit status: 0 done; 1 failed (one line 'frugal: ...' on stderr); 2 bad command\n"
          "line; 3 ingest or sync ran but at least one file failed.\n",
          out);
}

static int run_help(int argc, char **argv)
{
    const struct cli_verb *v;

    if (argc < 2) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0) {
        fputs("Usage: frugal help VERB\nPrints the help of VERB.\n", stdout);
        return CLI_EXIT_OK;
    }
    v = find_verb(argv[1]);
    if (v == NULL)
        return cli_usage(NULL, "unknown verb '%s'", argv[1]);
    v->help(stdout);
    return CLI_EXIT_OK;
}

/* Parses the options before the verb; returns -1 to go on, else an exit status. */
static int parse_globals(struct cli *cli, int argc, char **argv)
{
    enum { OPT_DB = 0x100 };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},   {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:qvhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            cli->db_path = optarg;
            cli->db_given = true;
            break;
        case 'q':
            cli->quiet = true;
            break;
        case 'v':
            cli->verbose = true;
            break;
        case 'h':
            print_usage(stdout);
            return CLI_EXIT_OK;
        case 'V':
            printf("frugal %s\n", frugal_version());
            return CLI_EXIT_OK;
        case ':':
            return cli_usage(NULL, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage(NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct cli cli;
    const struct cli_verb *verb;
    const char *env_db = getenv("FRUGAL_DB");
    int rc;

    memset(&cli, 0, sizeof(cli));
    cli.db_path = env_db != NULL && env_db[0] != '\0' ? env_db : "frugal.db";
    cli.stdout_tty = isatty(STDOUT_FILENO) == 1;
    cli.stderr_tty = isatty(STDERR_FILENO) == 1;

    rc = parse_globals(&cli, argc, argv);
    if (rc >= 0)
        return cli_finish_stdout(rc);
    if (optind >= argc) {
        fputs("frugal: no verb given\n", stderr);
        fputs("Try 'frugal --help'.\n", stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0) {
        cli.verb = "help";
        return cli_finish_stdout(run_help(argc - optind, argv + optind));
    }
    verb = find_verb(argv[optind]);
    if (verb == NULL)
        return cli_usage(NULL, "unknown verb '%s'", argv[optind]);
    cli.verb = verb->name;
    /* A verb may turn on --quiet/--verbose after its name: cli_parser_next installs the log
     * callback again when the verb's options are parsed; this first one covers the rest. */
    cli_install_log(&cli);
    rc = verb->run(&cli, argc - optind, argv + optind);
    return cli_finish_stdout(rc);
}
