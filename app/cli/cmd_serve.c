/*
 * cmd_serve.c - `frugal serve`: parses the server's options and runs app/server (server.c)
 * until SIGTERM or SIGINT.
 *
 * The database is opened once here to fail early (a missing or foreign file, a newer schema)
 * and migrated forward, before any worker thread opens its own handle. --root folders are
 * resolved with realpath here, so the server compares requested paths against canonical
 * prefixes only.
 *
 * Threading: the main thread only parses and then waits in server_run for a signal.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../server/server.h"
#include "cli.h"

enum {
    OPT_HOST = 0x200,
    OPT_PORT,
    OPT_THREADS,
    OPT_MAX_BODY,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_INFLIGHT,
    OPT_TIMEOUT,
    OPT_ROOT
};

#define MAX_ROOTS 32

static const struct option serve_longopts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"root", required_argument, NULL, OPT_ROOT},
    {NULL, 0, NULL, 0},
};

void cmd_serve_help(FILE *out)
{
    fputs("Usage: frugal serve [options]\n"
          "\n"
          "Serves the database over HTTP: the REST API, OpenAI-compatible /v1/embeddings and\n"
          "/v1/models, /healthz, /readyz and /metrics (see docs/http-api.md). Requests under\n"
          "/v1 need 'Authorization: Bearer KEY' with a key from `frugal keys create`.\n"
          "Stops on SIGTERM or SIGINT after finishing the requests in progress.\n"
          "\n"
          "Options:\n"
          "  --host ADDR            IPv4 address to bind (default 127.0.0.1)\n"
          "  --port N               port (default 8080; 0 picks a free one); the address is\n"
          "                         printed as 'frugal: listening on http://HOST:PORT'\n"
          "  --threads N            worker threads, each with its own database handle\n"
          "                         (default 4)\n"
          "  --max-body BYTES       largest request body, K/M/G suffixes (default 64M)\n"
          "  --max-connections N    open connections accepted (default 256)\n"
          "  --max-inflight N       requests in progress before 503 + Retry-After (default 64)\n"
          "  --timeout S            close connections idle this long: slow clients (default 30)\n"
          "  --root DIR             a folder that /ingest and /sync may read (repeatable;\n"
          "                         without one they are refused)\n"
          "  --db PATH, -q/--quiet (no request log), -v/--verbose, -h/--help as for every verb\n",
          out);
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
    struct server_config cfg = {
        .db_path = cli->db_path,
        .host = "127.0.0.1",
        .port = 8080,
        .threads = 4,
        .max_body = 64u << 20,
        .max_connections = 256,
        .max_inflight = 64,
        .timeout_s = 30,
    };
    char *roots[MAX_ROOTS];
    size_t n_roots = 0;
    struct cli_parser p;
    int64_t v = 0;
    int c;
    int rc = CLI_EXIT_OK;

    cli_parser_init(&p, cli, argc, argv, "", serve_longopts);
    while (rc == CLI_EXIT_OK && (c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_serve_help(stdout);
            rc = -1;
            break;
        case CLI_OPT_ERROR:
            rc = CLI_EXIT_USAGE;
            break;
        case OPT_HOST:
            cfg.host = optarg;
            break;
        case OPT_PORT:
            if (!cli_parse_i64(optarg, 0, 65535, &v))
                rc = cli_usage(cli, "--port wants 0 to 65535, got '%s'", optarg);
            cfg.port = (int)v;
            break;
        case OPT_THREADS:
            if (!cli_parse_i64(optarg, 1, 256, &v))
                rc = cli_usage(cli, "--threads wants 1 to 256, got '%s'", optarg);
            cfg.threads = (int)v;
            break;
        case OPT_MAX_BODY:
            if (!cli_parse_bytes(optarg, &cfg.max_body) || cfg.max_body == 0)
                rc = cli_usage(cli, "--max-body wants a size such as 64M, got '%s'", optarg);
            break;
        case OPT_MAX_CONNECTIONS:
            if (!cli_parse_i64(optarg, 1, 100000, &v))
                rc = cli_usage(cli, "--max-connections wants 1 to 100000, got '%s'", optarg);
            cfg.max_connections = (int)v;
            break;
        case OPT_MAX_INFLIGHT:
            if (!cli_parse_i64(optarg, 1, 100000, &v))
                rc = cli_usage(cli, "--max-inflight wants 1 to 100000, got '%s'", optarg);
            cfg.max_inflight = (int)v;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_i64(optarg, 1, 86400, &v))
                rc = cli_usage(cli, "--timeout wants 1 to 86400 seconds, got '%s'", optarg);
            cfg.timeout_s = (int)v;
            break;
        case OPT_ROOT:
            if (n_roots == MAX_ROOTS) {
                rc = cli_usage(cli, "at most %d --root folders", MAX_ROOTS);
                break;
            }
            roots[n_roots] = realpath(optarg, NULL);
            if (roots[n_roots] == NULL)
                rc = cli_error("--root %s: no such folder", optarg);
            else
                n_roots++;
            break;
        default:
            rc = cli_usage(cli, "unexpected option");
            break;
        }
    }
    if (rc == CLI_EXIT_OK && optind < argc)
        rc = cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (rc == CLI_EXIT_OK) {
        cfg.roots = (const char *const *)roots;
        cfg.n_roots = n_roots;
        cfg.quiet = cli->quiet;
        rc = server_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < n_roots; i++)
        free(roots[i]);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
