/*
 * output.c - what every verb of the command-line program shares: option parsing with the global
 * options mixed in, strict number parsing, error and log messages, opening the database, JSON
 * printing and the progress bar.
 *
 * Option parsing is getopt_long with permutation (so options may follow positional arguments)
 * and opterr off: we print our own one-line usage errors and exit 2. Each verb builds a
 * cli_parser, which appends --db, --quiet, --verbose and --help to the verb's own table, so
 * `frugal search foo --db x.db` works as well as `frugal --db x.db search foo`.
 *
 * The progress bar is drawn on stderr only when it is a terminal and --quiet is off; messages
 * printed while a bar is on screen (log lines, per-file failures) erase it first. The program
 * is single-threaded, so one static pointer to the bar in use is enough.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_DB = 0x1101, OPT_QUIET, OPT_VERBOSE };

static struct cli_progress *active_progress; /* the bar on screen, if any */

/* ---- Option parsing -------------------------------------------------------------------- */

void cli_parser_init(struct cli_parser *p, struct cli *cli, int argc, char **argv,
                     const char *shortopts, const struct option *longopts)
{
    static const struct option globals[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t n = 0;

    memset(p, 0, sizeof(*p));
    p->cli = cli;
    p->argc = argc;
    p->argv = argv;
    /* ':' first: a missing argument returns ':' instead of '?', so we can say which. */
    snprintf(p->shortopts, sizeof(p->shortopts), ":%shqv", shortopts != NULL ? shortopts : "");
    for (size_t i = 0; longopts != NULL && longopts[i].name != NULL; i++) {
        if (n + 1 < CLI_MAX_OPTIONS - 4)
            p->longopts[n++] = longopts[i];
    }
    for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
        p->longopts[n++] = globals[i];
    optind = 0; /* glibc: full re-initialization, including the permutation state */
    opterr = 0;
}

int cli_parser_next(struct cli_parser *p)
{
    for (;;) {
        int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
        const char *arg = p->argv[optind - 1 > 0 ? optind - 1 : 0];

        switch (c) {
        case -1:
            cli_install_log(p->cli); /* --quiet/--verbose may have come after the verb */
            return CLI_OPT_END;
        case 'h':
            return CLI_OPT_HELP;
        case OPT_DB:
            p->cli->db_path = optarg;
            p->cli->db_given = true;
            continue;
        case OPT_QUIET:
        case 'q':
            p->cli->quiet = true;
            continue;
        case OPT_VERBOSE:
        case 'v':
            p->cli->verbose = true;
            continue;
        case ':':
            cli_usage(p->cli, "option '%s' needs a value", arg);
            return CLI_OPT_ERROR;
        case '?':
            if (optopt != 0 && optopt < 0x100 && arg[0] == '-' && arg[1] != '-')
                cli_usage(p->cli, "unknown option '-%c'", optopt);
            else
                cli_usage(p->cli, "unknown or ambiguous option '%s'", arg);
            return CLI_OPT_ERROR;
        default:
            return c;
        }
    }
}

/* ---- Messages -------------------------------------------------------------------------- */

int cli_fail(const frugal_db *db, frugal_status status)
{
    const char *msg = db != NULL ? frugal_errmsg(db) : NULL;

    if (msg == NULL || msg[0] == '\0')
        msg = frugal_strerror(status);
    cli_progress_clear(active_progress);
    fflush(stdout);
    fprintf(stderr, "frugal: %s\n", msg);
    return CLI_EXIT_FAIL;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;

    cli_progress_clear(active_progress);
    fflush(stdout);
    fputs("frugal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    const char *verb = cli != NULL && cli->verb != NULL ? cli->verb : NULL;

    if (verb != NULL)
        fprintf(stderr, "frugal %s: ", verb);
    else
        fputs("frugal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (verb != NULL)
        fprintf(stderr, "Try 'frugal help %s'.\n", verb);
    else
        fputs("Try 'frugal --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

static void log_to_stderr(void *ctx, frugal_log_level level, const char *message)
{
    (void)ctx;
    cli_progress_clear(active_progress);
    if (level >= FRUGAL_LOG_ERROR)
        fprintf(stderr, "frugal: error: %s\n", message);
    else if (level == FRUGAL_LOG_WARN)
        fprintf(stderr, "frugal: warning: %s\n", message);
    else
        fprintf(stderr, "frugal: %s\n", message);
}

void cli_install_log(const struct cli *cli)
{
    frugal_log_level min = FRUGAL_LOG_WARN;

    if (cli->quiet)
        min = FRUGAL_LOG_ERROR;
    else if (cli->verbose)
        min = FRUGAL_LOG_INFO;
    frugal_set_log(log_to_stderr, NULL, min);
}

/* ---- Numbers --------------------------------------------------------------------------- */

bool cli_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (text == NULL || !(isdigit((unsigned char)text[0]) || text[0] == '-' || text[0] == '+'))
        return false; /* strtoll would skip leading space */
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

bool cli_parse_size(const char *text, size_t max, size_t *out)
{
    int64_t v = 0;
    int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;

    if (!cli_parse_i64(text, 0, limit, &v))
        return false;
    *out = (size_t)v;
    return true;
}

bool cli_parse_double(const char *text, double *out)
{
    char *end = NULL;
    double v;

    if (text == NULL || !(isdigit((unsigned char)text[0]) || text[0] == '-' || text[0] == '+' ||
                          text[0] == '.'))
        return false;
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool cli_parse_bytes(const char *text, size_t *out)
{
    char *end = NULL;
    unsigned long long v;
    unsigned long long mult = 1;

    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return false;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: break;
    }
    if (mult > 1 && (strcmp(end, "B") == 0 || strcmp(end, "iB") == 0))
        end += strlen(end);
    if (*end != '\0' || v > (unsigned long long)SIZE_MAX / mult)
        return false;
    *out = (size_t)(v * mult);
    return true;
}

/* ---- Database -------------------------------------------------------------------------- */

frugal_db *cli_open_db(const struct cli *cli, bool read_only)
{
    frugal_open_params params;
    frugal_db *db = NULL;
    frugal_status rc;
    struct stat st;

    if (read_only && stat(cli->db_path, &st) != 0 && errno == ENOENT) {
        cli_error("%s: no such database (create one with 'frugal ingest')", cli->db_path);
        return NULL;
    }
    frugal_open_default_params(&params);
    params.read_only = read_only;
    rc = frugal_open(cli->db_path, &params, &db);
    if (rc != FRUGAL_OK) {
        cli_fail(db, rc);
        frugal_close(db);
        return NULL;
    }
    return db;
}

/* ---- Output ---------------------------------------------------------------------------- */

int cli_print_json(cJSON *value)
{
    char *text = value != NULL ? cJSON_Print(value) : NULL;

    cJSON_Delete(value);
    if (text == NULL)
        return cli_error("out of memory");
    fputs(text, stdout);
    fputc('\n', stdout);
    cJSON_free(text);
    return CLI_EXIT_OK;
}

cJSON *cli_json_string_or_null(const char *s)
{
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *cli_json_metadata(const char *metadata_json)
{
    cJSON *v;

    if (metadata_json == NULL || metadata_json[0] == '\0')
        return cJSON_CreateObject();
    v = cJSON_Parse(metadata_json);
    if (v == NULL)
        return cJSON_CreateString(metadata_json);
    return v;
}

void cli_format_bytes(char *buf, size_t cap, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_init(struct cli_progress *pg, const struct cli *cli, const char *unit)
{
    memset(pg, 0, sizeof(*pg));
    pg->active = cli->stderr_tty && !cli->quiet;
    pg->unit = unit;
    pg->last_ms = -1000;
    active_progress = pg->active ? pg : NULL;
}

void cli_progress_update(struct cli_progress *pg, size_t done, size_t total)
{
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    long long t;
    size_t fill;

    if (pg == NULL || !pg->active)
        return;
    t = now_ms();
    if (t - pg->last_ms < 100 && done != total)
        return; /* at most ten redraws a second */
    pg->last_ms = t;
    if (total == 0) {
        fprintf(stderr, "\r\033[Kcounting %s... %zu", pg->unit, done);
        pg->drawn = true;
        return;
    }
    fill = done >= total ? WIDTH : (size_t)((double)done / (double)total * WIDTH);
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : ' ';
    if (fill > 0 && fill < WIDTH)
        bar[fill - 1] = '>';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", bar, done, total, pg->unit);
    pg->drawn = true;
}

void cli_progress_clear(struct cli_progress *pg)
{
    if (pg == NULL || !pg->active || !pg->drawn)
        return;
    fputs("\r\033[K", stderr);
    pg->drawn = false;
}

void cli_progress_end(struct cli_progress *pg)
{
    cli_progress_clear(pg);
    if (active_progress == pg)
        active_progress = NULL;
}

int cli_finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "frugal: writing the output: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    return rc;
}
