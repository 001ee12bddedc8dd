/*
 * cmd_eval.c - `frugal eval beir DIR` and `frugal eval cranfield DIR`: ingest a judged test
 * collection, run its queries and print nDCG@10, recall@100, MRR@10 and search latency.
 * `frugal eval squad FILE`: ingest SQuAD paragraphs, answer every question extractively and
 * print answer support, token F1, the CPU share at the threshold, the compressed context's
 * support and token ratio, and the coverage/support curve.
 *
 * Without --db on the command line ($FRUGAL_DB does not count: an evaluation should not fill the
 * user's everyday database by accident) the work happens in a temporary database in a fresh
 * folder under $TMPDIR (else /tmp), removed afterwards, also when the command is interrupted by
 * SIGINT, SIGTERM or SIGHUP: the handler only calls unlink and rmdir, which are
 * async-signal-safe, then re-raises the signal.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_SPLIT = 0x200, OPT_REUSE, OPT_JSON, OPT_CHUNK_TOKENS, OPT_CHUNK_OVERLAP, OPT_MODE,
       OPT_EMBEDDER, OPT_LIMIT, OPT_FEATURES, OPT_THRESHOLD, OPT_BUDGET, OPT_FUSION,
       OPT_ALPHA, OPT_CONTEXT_CHUNKS };

static const struct option eval_longopts[] = {
    {"split", required_argument, NULL, OPT_SPLIT},
    {"collection", required_argument, NULL, 'c'},
    {"reuse", no_argument, NULL, OPT_REUSE},
    {"json", no_argument, NULL, OPT_JSON},
    {"chunk-tokens", required_argument, NULL, OPT_CHUNK_TOKENS},
    {"chunk-overlap", required_argument, NULL, OPT_CHUNK_OVERLAP},
    {"mode", required_argument, NULL, OPT_MODE},
    {"embedder", required_argument, NULL, OPT_EMBEDDER},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"context-chunks", required_argument, NULL, OPT_CONTEXT_CHUNKS},
    {"fusion", required_argument, NULL, OPT_FUSION},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {NULL, 0, NULL, 0},
};

void cmd_eval_help(FILE *out)
{
    fputs("Usage: frugal eval beir DIR [--split S] [--collection C] [--reuse] [--chunk-tokens N]\n"
          "                        [--chunk-overlap N] [--mode bm25|dense|hybrid]\n"
          "                        [--embedder SPEC] [--fusion rrf|convex] [--alpha X] [--json]\n"
          "       frugal eval cranfield DIR [--collection C] [--reuse] [--chunk-tokens N]\n"
          "                        [--chunk-overlap N] [--json]\n"
          "       frugal eval squad FILE [--limit N] [--threshold X] [--budget N] [--features F]\n"
          "                       [--context-chunks N] [--embedder SPEC]\n"
          "                        [--collection C] [--reuse] [--json]\n"
          "\n"
          "Ingests a judged test collection, runs its queries (BM25, or dense retrieval with\n"
          "--mode dense, or both fused with --mode hybrid) and prints nDCG@10,\n"
          "recall@100 and MRR@10 (as pytrec_eval) and the search latency per query.\n"
          "  beir       DIR holds corpus.jsonl[.gz], queries.jsonl or queries.SPLIT.jsonl and\n"
          "             qrels/SPLIT.tsv\n"
          "  cranfield  DIR holds cran.all.1400, cran.qry and cranqrel (SMART format)\n"
          "  squad      FILE is SQuAD v1.1 JSON (gzipped or not): every paragraph becomes a\n"
          "             document, every question is answered extractively (as `frugal ask`)\n"
          "             and scored: support (the answer sentence contains a gold answer after\n"
          "             SQuAD normalization), token F1 of the short span, the share answered on\n"
          "             the CPU at the threshold and its support, the compressed context's\n"
          "             support and its tokens over the top-5 chunks', and the curve of\n"
          "             coverage against support at thresholds 0.0 .. 0.9\n"
          "\n"
          "Without --db on the command line the evaluation runs in a temporary database under\n"
          "$TMPDIR (else /tmp) that is removed afterwards; $FRUGAL_DB is not used. With --db the\n"
          "documents stay in that database, in the collection named by --collection.\n"
          "\n"
          "Options:\n"
          "  --split S            the BEIR qrels split (default test)\n"
          "  -c, --collection C   the collection to ingest into (default eval)\n"
          "  --reuse              skip ingestion when the collection already holds documents\n"
          "                       (useful with --db)\n"
          "  --chunk-tokens N     chunk the corpus into windows of N words (default as ingest)\n"
          "  --chunk-overlap N    overlap in words with --chunk-tokens (default N / 5)\n"
          "  --mode M             bm25 (default), dense or hybrid (as `frugal search`)\n"
          "  --fusion F           hybrid: convex (default) or rrf\n"
          "  --alpha X            hybrid, convex: weight of the dense side (default 0.02)\n"
          "  --embedder SPEC      the collection's embedder, given when it is created: glove,\n"
          "                       glove:PATH, model:DIR or remote:MODEL@URL (dense and\n"
          "                       hybrid need one)\n"
          "  --json               one JSON object with the keys \"ndcg@10\", \"recall@100\",\n"
          "                       \"mrr@10\", \"queries\", \"latency_ms_p50\", \"latency_ms_p99\",\n"
          "                       \"documents\" and \"ingest_seconds\"; for squad \"questions\",\n"
          "                       \"support\", \"f1\", \"cpu_share\", \"cpu_support\",\n"
          "                       \"context_support\", \"context_token_ratio\", \"threshold\",\n"
          "                       \"latency_ms_p50\", \"latency_ms_p99\" and more (\"curve\")\n"
          "squad only:\n"
          "  --limit N            ask only the first N questions\n"
          "  --threshold X        the CPU confidence threshold (default 0.68)\n"
          "  --budget N           most tokens of the compressed context (default 600; below it\n"
          "                       the sentences' expected gain per token decides)\n"
          "  --features F         write one TSV line of answer features per question to F\n"
          "                       (for bench/squad_fit.py)\n"
          "  --context-chunks N   draw the compressed context from the top N chunks (default\n"
          "                       10; the answer comes from the top 5); with --features the\n"
          "                       sentences of those chunks are listed in F.sentences\n"
          "  --embedder SPEC      as for beir; with glove the sentence score adds word-vector\n"
          "                       features and retrieval is hybrid, as `frugal ask` does for\n"
          "                       such a collection\n"
          "  --db PATH, -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

/* The temporary database, for the signal handler: fixed buffers, filled before it is set. */
enum { TMP_PATH_MAX = 4096 };
static char tmp_dir[TMP_PATH_MAX];
static char tmp_files[4][TMP_PATH_MAX + 32]; /* db, -wal, -shm, -journal */
static volatile sig_atomic_t tmp_armed;

static char tmp_bm25[TMP_PATH_MAX + 32]; /* eval.db.bm25: the BM25 index files */
static char tmp_vec[TMP_PATH_MAX + 32];  /* eval.db.vec: the vector index files */

static void remove_dir_files(const char *dir)
{
    /* opendir is not async-signal-safe; from the handler this is best effort */
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

static void remove_tmp(void)
{
    if (!tmp_armed)
        return;
    for (size_t i = 0; i < 4; i++)
        unlink(tmp_files[i]);
    remove_dir_files(tmp_bm25);
    remove_dir_files(tmp_vec);
    rmdir(tmp_dir);
}

static void on_signal(int sig)
{
    remove_tmp();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Makes the temporary folder and points cli->db_path into it. */
static int make_tmp_db(struct cli *cli)
{
    static const char *const suffixes[4] = {"", "-wal", "-shm", "-journal"};
    const char *base = getenv("TMPDIR");
    int n;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    n = snprintf(tmp_dir, sizeof(tmp_dir), "%s/frugal-eval-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof(tmp_dir) - 32)
        return cli_error("$TMPDIR is too long");
    if (mkdtemp(tmp_dir) == NULL)
        return cli_error("%s: cannot make a temporary folder", tmp_dir);
    for (size_t i = 0; i < 4; i++)
        snprintf(tmp_files[i], sizeof(tmp_files[i]), "%s/eval.db%s", tmp_dir, suffixes[i]);
    snprintf(tmp_bm25, sizeof(tmp_bm25), "%s/eval.db.bm25", tmp_dir);
    snprintf(tmp_vec, sizeof(tmp_vec), "%s/eval.db.vec", tmp_dir);
    tmp_armed = 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    cli->db_path = tmp_files[0];
    if (cli->verbose)
        fprintf(stderr, "frugal: evaluating in temporary database %s\n", tmp_files[0]);
    return CLI_EXIT_OK;
}

static void on_progress(void *ctx, size_t done, size_t total)
{
    cli_progress_update(ctx, done, total);
}

static int print_report(const frugal_eval_report *r, bool json)
{
    cJSON *obj;

    if (!json) {
        printf("queries         %zu\n", r->queries);
        printf("documents       %zu\n", r->documents);
        printf("nDCG@10         %.4f\n", r->ndcg_at_10);
        printf("recall@100      %.4f\n", r->recall_at_100);
        printf("MRR@10          %.4f\n", r->mrr_at_10);
        printf("latency p50     %.2f ms\n", r->latency_ms_p50);
        printf("latency p99     %.2f ms\n", r->latency_ms_p99);
        printf("ingest          %.1f s\n", r->ingest_seconds);
        return CLI_EXIT_OK;
    }
    obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "ndcg@10", r->ndcg_at_10);
    cJSON_AddNumberToObject(obj, "recall@100", r->recall_at_100);
    cJSON_AddNumberToObject(obj, "mrr@10", r->mrr_at_10);
    cJSON_AddNumberToObject(obj, "queries", (double)r->queries);
    cJSON_AddNumberToObject(obj, "latency_ms_p50", r->latency_ms_p50);
    cJSON_AddNumberToObject(obj, "latency_ms_p99", r->latency_ms_p99);
    cJSON_AddNumberToObject(obj, "documents", (double)r->documents);
    cJSON_AddNumberToObject(obj, "ingest_seconds", r->ingest_seconds);
    return cli_print_json(obj);
}

static int print_squad(const frugal_squad_report *r, bool json)
{
    if (!json) {
        printf("questions            %zu\n", r->questions);
        printf("documents            %zu\n", r->documents);
        printf("support              %.4f\n", r->support);
        printf("span support         %.4f\n", r->span_support);
        printf("f1                   %.4f\n", r->f1);
        printf("retrieval support    %.4f   (top-5 chunks whole)\n", r->retrieval_support);
        printf("threshold            %.2f\n", r->threshold);
        printf("cpu share            %.4f\n", r->cpu_share);
        printf("cpu support          %.4f\n", r->cpu_support);
        printf("context support      %.4f\n", r->context_support);
        printf("context token ratio  %.4f\n", r->context_token_ratio);
        printf("latency p50          %.2f ms\n", r->latency_ms_p50);
        printf("latency p99          %.2f ms\n", r->latency_ms_p99);
        printf("ingest               %.1f s\n", r->ingest_seconds);
        printf("\nthreshold  coverage  support\n");
        for (size_t i = 0; i < FRUGAL_SQUAD_CURVE; i++)
            printf("%9.1f  %8.4f  %7.4f\n", 0.1 * (double)i, r->curve_coverage[i],
                   r->curve_support[i]);
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON *curve = cJSON_CreateArray();
    cJSON_AddNumberToObject(obj, "questions", (double)r->questions);
    cJSON_AddNumberToObject(obj, "support", r->support);
    cJSON_AddNumberToObject(obj, "f1", r->f1);
    cJSON_AddNumberToObject(obj, "cpu_share", r->cpu_share);
    cJSON_AddNumberToObject(obj, "cpu_support", r->cpu_support);
    cJSON_AddNumberToObject(obj, "context_support", r->context_support);
    cJSON_AddNumberToObject(obj, "context_token_ratio", r->context_token_ratio);
    cJSON_AddNumberToObject(obj, "threshold", r->threshold);
    cJSON_AddNumberToObject(obj, "latency_ms_p50", r->latency_ms_p50);
    cJSON_AddNumberToObject(obj, "latency_ms_p99", r->latency_ms_p99);
    cJSON_AddNumberToObject(obj, "span_support", r->span_support);
    cJSON_AddNumberToObject(obj, "retrieval_support", r->retrieval_support);
    cJSON_AddNumberToObject(obj, "documents", (double)r->documents);
    cJSON_AddNumberToObject(obj, "ingest_seconds", r->ingest_seconds);
    for (size_t i = 0; i < FRUGAL_SQUAD_CURVE; i++) {
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddNumberToObject(pt, "threshold", 0.1 * (double)i);
        cJSON_AddNumberToObject(pt, "coverage", r->curve_coverage[i]);
        cJSON_AddNumberToObject(pt, "support", r->curve_support[i]);
        cJSON_AddItemToArray(curve, pt);
    }
    cJSON_AddItemToObject(obj, "curve", curve);
    return cli_print_json(obj);
}

static int run_squad(struct cli *cli, const char *file, frugal_squad_params *params, bool json)
{
    struct cli_progress progress;
    frugal_squad_report report;
    frugal_status st;
    frugal_db *db;
    int rc;

    db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    cli_progress_init(&progress, cli, "questions");
    params->on_progress = on_progress;
    params->ctx = &progress;
    st = frugal_eval_squad(db, file, params, &report);
    cli_progress_end(&progress);
    rc = st == FRUGAL_OK ? print_squad(&report, json) : cli_fail(db, st);
    frugal_close(db);
    return rc;
}

static int run_eval(struct cli *cli, bool beir, const char *dir, frugal_eval_params *params,
                    bool json)
{
    struct cli_progress progress;
    frugal_eval_report report;
    frugal_status st;
    frugal_db *db;
    int rc;

    db = cli_open_db(cli, false);
    if (db == NULL)
        return CLI_EXIT_FAIL;
    cli_progress_init(&progress, cli, "queries");
    params->on_progress = on_progress;
    params->ctx = &progress;
    memset(&report, 0, sizeof(report));
    if (beir)
        st = frugal_eval_beir(db, dir, params, &report);
    else
        st = frugal_eval_cranfield(db, dir, params, &report);
    cli_progress_end(&progress);
    rc = st == FRUGAL_OK ? print_report(&report, json) : cli_fail(db, st);
    frugal_close(db);
    return rc;
}

int cmd_eval(struct cli *cli, int argc, char **argv)
{
    frugal_eval_params params;
    frugal_squad_params squad;
    bool squad_kind;
    bool squad_only = false;
    bool retrieval_only = false;
    double x = 0.0;
    bool json = false;
    bool split_given = false;
    bool overlap_given = false;
    int64_t n = 0;
    struct cli_parser p;
    bool beir;
    int rc;
    int c;

    frugal_eval_default_params(&params);
    frugal_squad_default_params(&squad);
    cli_parser_init(&p, cli, argc, argv, "c:", eval_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_eval_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_SPLIT:
            params.split = optarg;
            split_given = true;
            break;
        case 'c':
            params.collection = optarg;
            squad.collection = optarg;
            break;
        case OPT_REUSE:
            params.reuse = true;
            squad.reuse = true;
            break;
        case OPT_LIMIT:
            if (!cli_parse_i64(optarg, 1, INT64_MAX, &n))
                return cli_usage(cli, "--limit wants a positive number");
            squad.limit = (size_t)n;
            squad_only = true;
            break;
        case OPT_FEATURES:
            squad.features_path = optarg;
            squad_only = true;
            break;
        case OPT_THRESHOLD:
            if (!cli_parse_double(optarg, &x) || x < 0.0 || x > 1.0)
                return cli_usage(cli, "--threshold wants a number from 0 to 1");
            squad.threshold = x;
            squad_only = true;
            break;
        case OPT_BUDGET:
            if (!cli_parse_i64(optarg, 1, 1000000, &n))
                return cli_usage(cli, "--budget wants a number from 1 to 1000000");
            squad.context_budget_tokens = (size_t)n;
            squad_only = true;
            break;
        case OPT_CONTEXT_CHUNKS:
            if (!cli_parse_i64(optarg, 1, 100, &n))
                return cli_usage(cli, "--context-chunks wants a number from 1 to 100");
            squad.context_chunks = (size_t)n;
            squad_only = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_CHUNK_TOKENS:
            if (!cli_parse_i64(optarg, 1, 100000, &n))
                return cli_usage(cli, "--chunk-tokens wants a number from 1 to 100000");
            params.chunk_tokens = (size_t)n;
            retrieval_only = true;
            if (!overlap_given)
                params.chunk_overlap = (size_t)n / 5;
            break;
        case OPT_CHUNK_OVERLAP:
            if (!cli_parse_i64(optarg, 0, 100000, &n))
                return cli_usage(cli, "--chunk-overlap wants a number from 0 to 100000");
            params.chunk_overlap = (size_t)n;
            overlap_given = true;
            retrieval_only = true;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "bm25") == 0)
                params.mode = FRUGAL_SEARCH_BM25;
            else if (strcmp(optarg, "dense") == 0)
                params.mode = FRUGAL_SEARCH_DENSE;
            else if (strcmp(optarg, "hybrid") == 0)
                params.mode = FRUGAL_SEARCH_HYBRID;
            else
                return cli_usage(cli, "--mode wants bm25, dense or hybrid, got '%s'", optarg);
            retrieval_only = true;
            break;
        case OPT_FUSION:
            if (strcmp(optarg, "rrf") == 0)
                params.fusion = FRUGAL_FUSION_RRF;
            else if (strcmp(optarg, "convex") == 0)
                params.fusion = FRUGAL_FUSION_CONVEX;
            else
                return cli_usage(cli, "--fusion wants rrf or convex, got '%s'", optarg);
            retrieval_only = true;
            break;
        case OPT_ALPHA:
            if (!cli_parse_double(optarg, &params.alpha) || params.alpha < 0.0 ||
                params.alpha > 1.0)
                return cli_usage(cli, "--alpha wants a number from 0 to 1, got '%s'", optarg);
            retrieval_only = true;
            break;
        case OPT_EMBEDDER:
            params.embedder = optarg;
            squad.embedder = optarg;
            break;
        default:
            return cli_usage(cli, "unexpected option");
        }
    }
    if (argc - optind != 2)
        return cli_usage(cli, "wants a kind (beir, cranfield or squad) and a folder or file");
    beir = strcmp(argv[optind], "beir") == 0;
    squad_kind = strcmp(argv[optind], "squad") == 0;
    if (!beir && !squad_kind && strcmp(argv[optind], "cranfield") != 0)
        return cli_usage(cli, "unknown kind '%s' (beir, cranfield or squad)", argv[optind]);
    if (!squad_kind && squad_only)
        return cli_usage(cli, "--limit, --threshold, --budget and --features apply to squad only");
    if (squad_kind && (split_given || retrieval_only))
        return cli_usage(cli,
                         "--split, --chunk-*, --mode, --fusion and --alpha do not apply to squad");
    if (!beir && split_given)
        return cli_usage(cli, "--split applies to beir only");
    if (!cli->db_given) {
        rc = make_tmp_db(cli);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (squad_kind)
        rc = run_squad(cli, argv[optind + 1], &squad, json);
    else
        rc = run_eval(cli, beir, argv[optind + 1], &params, json);
    remove_tmp();
    tmp_armed = 0;
    return rc;
}
