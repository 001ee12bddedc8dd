/*
 * cmd_serve.c - `frugal serve`: parses the server's options and runs app/server (server.c)
 * until SIGTERM or SIGINT.
 *
 * --generator SPECs are opened here once (frugal_generator is thread-safe) and lent to the
 * server, which attaches the list to every worker's and stream producer's handle; they are
 * freed after server_run returns, when no handle uses them any more. --rerank DIR opens one
 * cross-encoder the same way (a folder that is not one fails here, naming it) and the server
 * attaches it to every handle; requests opt in with "rerank_top_n".
 *
 * --tls-cert/--tls-key are read and checked here (OpenSSL parses both and checks that the key
 * belongs to the certificate), so a wrong file fails at start with its name; the server gets
 * the PEM texts and hands them to libmicrohttpd's GnuTLS support.
 *
 * The database is opened once here to fail early (a missing or foreign file, a newer schema)
 * and migrated forward, before any worker thread opens its own handle. --root folders are
 * resolved with realpath here, so the server compares requested paths against canonical
 * prefixes only.
 *
 * Threading: the main thread only parses and then waits in server_run for a signal.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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
    OPT_ROOT,
    OPT_GENERATOR,
    OPT_GEN_CAPACITY,
    OPT_GEN_TIMEOUT,
    OPT_THRESHOLD,
    OPT_BUDGET,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_RERANK,
    OPT_RERANK_THREADS,
};

#define MAX_ROOTS 32
#define MAX_GENERATORS 8
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x) /* a macro's value as a string literal */

static const struct option serve_longopts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"root", required_argument, NULL, OPT_ROOT},
    {"generator", required_argument, NULL, OPT_GENERATOR},
    {"gen-capacity", required_argument, NULL, OPT_GEN_CAPACITY},
    {"gen-timeout", required_argument, NULL, OPT_GEN_TIMEOUT},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"rerank", required_argument, NULL, OPT_RERANK},
    {"rerank-threads", required_argument, NULL, OPT_RERANK_THREADS},
    {NULL, 0, NULL, 0},
};

#define MAX_PEM_BYTES (1u << 20)

/* Reads a PEM file (at most MAX_PEM_BYTES) into *out (malloc'd, NUL-terminated). */
static int read_pem(const char *option, const char *path, char **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return cli_error("%s %s: cannot read: %s", option, path, strerror(errno));
    char *text = malloc(MAX_PEM_BYTES + 1);
    size_t n = text != NULL ? fread(text, 1, MAX_PEM_BYTES + 1, fp) : 0;
    int failed = ferror(fp);
    fclose(fp);
    if (text == NULL)
        return cli_error("%s %s: out of memory", option, path);
    if (failed || n > MAX_PEM_BYTES) {
        free(text);
        return failed ? cli_error("%s %s: cannot read", option, path)
                      : cli_error("%s %s: over %u bytes: not a PEM file", option, path,
                                  MAX_PEM_BYTES);
    }
    text[n] = '\0';
    *out = text;
    return CLI_EXIT_OK;
}

/* A passphrase callback that has none: an encrypted key fails instead of prompting. */
static int no_passphrase(char *buf, int size, int rwflag, void *ctx)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ctx;
    return -1;
}

/* Reads --tls-cert and --tls-key into pem[0] and pem[1] and checks them with OpenSSL before the
 * server starts, so that a wrong file gets a message naming it (GnuTLS inside libmicrohttpd only
 * says that it refused "the certificate or key"). */
static int load_tls(const char *cert_path, const char *key_path, char *pem[2])
{
    int rc = read_pem("--tls-cert", cert_path, &pem[0]);
    if (rc == CLI_EXIT_OK)
        rc = read_pem("--tls-key", key_path, &pem[1]);
    if (rc != CLI_EXIT_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(pem[0], -1);
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    bio = BIO_new_mem_buf(pem[1], -1);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    if (cert == NULL)
        rc = cli_error("--tls-cert %s: not a PEM certificate (want '-----BEGIN CERTIFICATE-----')",
                       cert_path);
    else if (key == NULL)
        rc = cli_error("--tls-key %s: not an unencrypted PEM private key (want '-----BEGIN "
                       "PRIVATE KEY-----')",
                       key_path);
    else if (X509_check_private_key(cert, key) != 1)
        rc = cli_error("--tls-key %s: not the private key of the certificate in --tls-cert %s",
                       key_path, cert_path);
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

void cmd_serve_help(FILE *out)
{
    fputs("Usage: frugal serve [options]\n"
          "\n"
          "Serves the database over HTTP: the REST API, OpenAI-compatible /v1/embeddings and\n"
          "/v1/models, /healthz, /readyz and /metrics (see docs/http-api.md). Requests under\n"
          "/v1 need 'Authorization: Bearer KEY' with a key from `frugal keys create`.\n"
          "Stops on SIGTERM or SIGINT after finishing the requests in progress.\n"
          "Cost budgets per collection and per API key (`frugal budget`, /v1/budgets) bind asks.\n"
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
          "  --generator SPEC       an LLM generator for /v1/ask and /v1/chat/completions:\n"
          "                         openai:MODEL@URL or bedrock:MODEL@REGION, as for `frugal\n"
          "                         ask`; repeat for an ordered failover list (at most 8).\n"
          "                         Without one every answer is extractive. Key from\n"
          "                         $FRUGAL_GEN_API_KEY, prices from $FRUGAL_PRICES\n"
          "  --gen-capacity N       concurrent requests each generator serves well; the router\n"
          "                         sends none beyond (default 0: no limit)\n"
          "  --gen-timeout MS       a whole generator call, retries included (default 120000)\n"
          "  --threshold X          confidence from which the router answers on the CPU, for\n"
          "                         requests without min_confidence (default "
          STRINGIFY(FRUGAL_ASK_DEFAULT_THRESHOLD) ")\n"
          "  --budget N             most tokens of the compressed generator context (default\n"
          "                         " STRINGIFY(FRUGAL_ASK_DEFAULT_BUDGET) ")\n"
          "  --rerank DIR           a cross-encoder (a Hugging Face folder, as for `frugal search\n"
          "                         --rerank`) that /v1/search, /v1/ask and chat completions\n"
          "                         use when a request sets rerank_top_n; without one such\n"
          "                         requests get 400\n"
          "  --rerank-threads N     encoder threads per reranking batch (default 1); batches\n"
          "                         of concurrent requests run one at a time\n"
          "  --tls-cert PEM         serve HTTPS with this certificate (chain) file; the address\n"
          "                         is then printed as 'https://HOST:PORT'. Needs --tls-key\n"
          "  --tls-key PEM          the certificate's private key (unencrypted PEM)\n"
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
        .min_confidence = -1.0,
    };
    char *roots[MAX_ROOTS];
    size_t n_roots = 0;
    const char *gen_specs[MAX_GENERATORS];
    size_t n_gen_specs = 0;
    frugal_generator *gens[MAX_GENERATORS];
    size_t n_gens = 0;
    frugal_generator_params gen_params;
    frugal_generator_default_params(&gen_params);
    const char *tls_cert = NULL;
    const char *tls_key = NULL;
    char *tls_pem[2] = {NULL, NULL}; /* cert, key */
    const char *rerank_dir = NULL;
    int rerank_threads = 1;
    frugal_reranker *reranker = NULL;
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
        case OPT_GENERATOR:
            if (n_gen_specs == MAX_GENERATORS)
                rc = cli_usage(cli, "at most %d --generator options", MAX_GENERATORS);
            else
                gen_specs[n_gen_specs++] = optarg;
            break;
        case OPT_GEN_CAPACITY:
            if (!cli_parse_i64(optarg, 0, 100000, &v))
                rc = cli_usage(cli, "--gen-capacity wants 0 to 100000, got '%s'", optarg);
            gen_params.capacity = (int)v;
            break;
        case OPT_THRESHOLD:
            if (!cli_parse_double(optarg, &cfg.min_confidence) || cfg.min_confidence < 0.0 ||
                cfg.min_confidence > 1.0)
                rc = cli_usage(cli, "--threshold wants a number from 0 to 1, got '%s'", optarg);
            break;
        case OPT_BUDGET:
            if (!cli_parse_i64(optarg, 1, 1000000, &v))
                rc = cli_usage(cli, "--budget wants 1 to 1000000 tokens, got '%s'", optarg);
            cfg.context_budget_tokens = (size_t)v;
            break;
        case OPT_GEN_TIMEOUT:
            if (!cli_parse_i64(optarg, 1, 86400000, &v))
                rc = cli_usage(cli, "--gen-timeout wants 1 to 86400000 ms, got '%s'", optarg);
            gen_params.timeout_ms = (long)v;
            break;
        case OPT_TLS_CERT:
            tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            tls_key = optarg;
            break;
        case OPT_RERANK:
            rerank_dir = optarg;
            break;
        case OPT_RERANK_THREADS:
            if (!cli_parse_i64(optarg, 1, 256, &v))
                rc = cli_usage(cli, "--rerank-threads wants 1 to 256, got '%s'", optarg);
            rerank_threads = (int)v;
            break;
        default:
            rc = cli_usage(cli, "unexpected option");
            break;
        }
    }
    if (rc == CLI_EXIT_OK && optind < argc)
        rc = cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (rc == CLI_EXIT_OK && (tls_cert != NULL) != (tls_key != NULL))
        rc = cli_usage(cli, "--tls-cert and --tls-key go together");
    if (rc == CLI_EXIT_OK && rerank_dir != NULL) {
        frugal_status st = frugal_reranker_open(rerank_dir, rerank_threads, &reranker);
        if (st != FRUGAL_OK)
            rc = cli_error("--rerank %s: %s", rerank_dir,
                           frugal_reranker_errmsg(reranker)[0] != '\0'
                               ? frugal_reranker_errmsg(reranker)
                               : frugal_strerror(st));
    }
    if (rc == CLI_EXIT_OK && tls_cert != NULL) {
        rc = load_tls(tls_cert, tls_key, tls_pem);
        cfg.tls_cert_pem = tls_pem[0];
        cfg.tls_key_pem = tls_pem[1];
    }
    for (size_t i = 0; rc == CLI_EXIT_OK && i < n_gen_specs; i++) {
        frugal_status st = frugal_generator_open(gen_specs[i], &gen_params, &gens[i]);
        if (st != FRUGAL_OK)
            rc = cli_usage(cli, "--generator %s: %s (want openai:MODEL@URL or "
                                "bedrock:MODEL@REGION)", gen_specs[i], frugal_strerror(st));
        else
            n_gens++;
    }
    if (rc == CLI_EXIT_OK) {
        cfg.roots = (const char *const *)roots;
        cfg.n_roots = n_roots;
        cfg.quiet = cli->quiet;
        cfg.generators = gens;
        cfg.n_generators = n_gens;
        cfg.reranker = reranker;
        rc = server_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < n_roots; i++)
        free(roots[i]);
    free(tls_pem[0]);
    free(tls_pem[1]);
    for (size_t i = 0; i < n_gens; i++)
        frugal_generator_free(gens[i]);
    frugal_reranker_free(reranker);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
