/*
 * cli.h - what the parts of the `frugal` command-line program share.
 *
 * Contract: main.c parses the global options (--db, --quiet, --verbose), picks the verb and calls
 * its cmd_<verb>() with argv[0] being the verb's name. A verb parses its own options with
 * cli_parser (getopt_long underneath, options allowed before and after positional arguments,
 * the global options accepted there too), opens the database with cli_open_db, and returns one
 * of the exit codes below. Verbs print data on stdout and everything else on stderr; every
 * failure is one line "frugal: <message>" (cli_fail / cli_error). JSON exists only here, at
 * the edge, through cJSON.
 */
#ifndef FRUGAL_CLI_H
#define FRUGAL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "frugal.h"

/* Exit codes, documented in `frugal --help`. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,    /* the command failed; one line on stderr says why */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_PARTIAL = 3, /* ingest/sync ran, but at least one file failed */
};

struct cli {
    const char *db_path; /* --db, else $FRUGAL_DB, else "./frugal.db"; borrowed from argv/env */
    bool db_given;       /* --db was on the command line (eval uses a temporary db otherwise) */
    bool quiet;          /* no progress bar, no warnings */
    bool verbose;        /* per-file outcomes and info messages */
    bool stdout_tty;
    bool stderr_tty;
    const char *verb;    /* the verb being run, for messages */
};

/* One verb: its runner and its help text writer. */
struct cli_verb {
    const char *name;
    const char *summary; /* one line for `frugal --help` */
    int (*run)(struct cli *cli, int argc, char **argv);
    void (*help)(FILE *out);
};

int cmd_ingest(struct cli *cli, int argc, char **argv);
void cmd_ingest_help(FILE *out);
int cmd_sync(struct cli *cli, int argc, char **argv);
void cmd_sync_help(FILE *out);
int cmd_delete(struct cli *cli, int argc, char **argv);
void cmd_delete_help(FILE *out);
int cmd_search(struct cli *cli, int argc, char **argv);
void cmd_search_help(FILE *out);
int cmd_collections(struct cli *cli, int argc, char **argv);
void cmd_collections_help(FILE *out);
int cmd_documents(struct cli *cli, int argc, char **argv);
void cmd_documents_help(FILE *out);
int cmd_eval(struct cli *cli, int argc, char **argv);
void cmd_eval_help(FILE *out);
int cmd_stats(struct cli *cli, int argc, char **argv);
void cmd_stats_help(FILE *out);
int cmd_ann(struct cli *cli, int argc, char **argv);
void cmd_ann_help(FILE *out);
int cmd_init(struct cli *cli, int argc, char **argv);
void cmd_init_help(FILE *out);
int cmd_optimize(struct cli *cli, int argc, char **argv);
void cmd_optimize_help(FILE *out);
int cmd_serve(struct cli *cli, int argc, char **argv);
void cmd_serve_help(FILE *out);
int cmd_keys(struct cli *cli, int argc, char **argv);
void cmd_keys_help(FILE *out);

/* ---- Option parsing (output.c) ---------------------------------------------------------- */

#define CLI_MAX_OPTIONS 48

/* Values cli_parser_next returns besides the verb's own option values. */
enum {
    CLI_OPT_END = -1,      /* no more options; positional arguments are argv[optind..argc) */
    CLI_OPT_HELP = 0x1001, /* --help / -h: the verb should print its help and return 0 */
    CLI_OPT_ERROR = 0x1002 /* a usage error, already printed: return CLI_EXIT_USAGE */
};

struct cli_parser {
    struct cli *cli;
    int argc;
    char **argv;
    char shortopts[64];
    struct option longopts[CLI_MAX_OPTIONS];
};

/* Prepares to parse argv[1..argc) of a verb. `shortopts` is the getopt string of the verb's
 * short options without a leading ':' (may be ""); `longopts` (borrowed, may be NULL) ends with a
 * zero entry; their `flag` must be NULL. --db, -q/--quiet, -v/--verbose and -h/--help are
 * added (so verbs must not use -q, -v or -h themselves). */
void cli_parser_init(struct cli_parser *p, struct cli *cli, int argc, char **argv,
                     const char *shortopts, const struct option *longopts);
/* The next option of the verb (its `val`, with its argument in optarg), or a CLI_OPT_* value.
 * Global options are applied to p->cli and skipped. */
int cli_parser_next(struct cli_parser *p);

/* ---- Messages (output.c) ---------------------------------------------------------------- */

/* Prints "frugal: <message of the last failure on db>" (or the status' name when the handle has
 * no message) and returns CLI_EXIT_FAIL. db may be NULL. */
int cli_fail(const frugal_db *db, frugal_status status);
/* Prints "frugal: <formatted>" and returns CLI_EXIT_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "frugal <verb>: <formatted>" and a hint to the verb's help; returns CLI_EXIT_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs the log callback: errors always, warnings unless quiet, info with verbose. */
void cli_install_log(const struct cli *cli);

/* ---- Numbers (output.c): strict, whole-string parses; false on any junk or overflow ------- */

bool cli_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out);
bool cli_parse_size(const char *text, size_t max, size_t *out);
bool cli_parse_double(const char *text, double *out);
/* Byte counts with an optional K, M or G suffix (binary multiples; "KB"/"KiB" also accepted). */
bool cli_parse_bytes(const char *text, size_t *out);

/* ---- Database (output.c) ---------------------------------------------------------------- */

/* Opens cli->db_path. read_only verbs get a clear message when the database does not exist.
 * On failure prints the message, closes and returns NULL. */
frugal_db *cli_open_db(const struct cli *cli, bool read_only);

/* ---- Output (output.c) ------------------------------------------------------------------ */

/* Prints the JSON value (formatted, with a newline) on stdout and deletes it. Returns
 * CLI_EXIT_OK, or CLI_EXIT_FAIL when out of memory. */
int cli_print_json(cJSON *value);
/* A cJSON string, or null when s is NULL. */
cJSON *cli_json_string_or_null(const char *s);
/* Parses a metadata JSON object text into a cJSON value; NULL text gives {}, unparsable text is
 * kept as a string so that nothing is lost. */
cJSON *cli_json_metadata(const char *metadata_json);

/* "1.5 MiB" into buf. */
void cli_format_bytes(char *buf, size_t cap, uint64_t bytes);

/* The progress bar on stderr: "[=====>    ] 120/1173 files". Active only when stderr is a
 * terminal and not --quiet. */
struct cli_progress {
    bool active;
    bool drawn;     /* something is on the line now */
    const char *unit;
    long long last_ms;
};
void cli_progress_init(struct cli_progress *pg, const struct cli *cli, const char *unit);
void cli_progress_update(struct cli_progress *pg, size_t done, size_t total);
/* Erases the bar so that a message can be printed on a clean line. */
void cli_progress_clear(struct cli_progress *pg);
/* Erases the bar for good; call before pg goes out of scope. */
void cli_progress_end(struct cli_progress *pg);

/* Flushes stdout; reports a write error (disk full, closed pipe) as a failure. */
int cli_finish_stdout(int rc);

#endif
