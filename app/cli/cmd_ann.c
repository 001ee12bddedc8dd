/*
 * cmd_ann.c - `frugal ann`: build an HNSW index over a .fvecs file, search every query, and
 * report build seconds, queries per second, memory per vector and (with --gt) recall@k.
 *
 * How: the base vectors are read whole (.fvecs: per vector an int32 dimension then that many
 * float32s), indexed under their 0-based row numbers with hnsw_add_batch on --threads workers,
 * then the queries run one after another per thread (--threads splits them) and the wall time
 * gives QPS. --ef takes one value or a comma list (a sweep over one build). --out writes the k
 * ids per query as .ivecs; --json prints one object {build_s, qps, bytes_per_vector, recall?}
 * (with a list, also "sweep": [{ef, qps, recall}]) and "memory", the per-vector breakdown of
 * hnsw_memory. --flat runs the exact index instead. --rescore-on-disk (i8/f16 with rescoring)
 * saves the built index to a temporary file, drops that file from the page cache, and loads it
 * back with the float32 copy left in the mapped file (hnsw_load_ex), as a server would run it.
 *
 * This verb uses the index directly (src/index), not the public API: the vector index is not yet
 * part of frugal.h (it joins the store when embeddings land). Threading: worker threads only
 * call hnsw_search, which runs in parallel by design.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "index/flat.h"
#include "index/hnsw.h"

enum { OPT_BASE = 0x300, OPT_QUERY, OPT_METRIC, OPT_TYPE, OPT_M, OPT_EFC, OPT_EF, OPT_THREADS,
       OPT_GT, OPT_OUT, OPT_JSON, OPT_FLAT, OPT_NO_RESCORE, OPT_RESCORE_DISK, OPT_REPEAT,
       OPT_SPARSE_IDS, OPT_SINGLE_ADDS };

static const struct option ann_longopts[] = {
    {"base", required_argument, NULL, OPT_BASE},
    {"query", required_argument, NULL, OPT_QUERY},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"type", required_argument, NULL, OPT_TYPE},
    {"m", required_argument, NULL, OPT_M},
    {"ef-construction", required_argument, NULL, OPT_EFC},
    {"ef", required_argument, NULL, OPT_EF},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"gt", required_argument, NULL, OPT_GT},
    {"out", required_argument, NULL, OPT_OUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"flat", no_argument, NULL, OPT_FLAT},
    {"no-rescore", no_argument, NULL, OPT_NO_RESCORE},
    {"rescore-on-disk", no_argument, NULL, OPT_RESCORE_DISK},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"sparse-ids", no_argument, NULL, OPT_SPARSE_IDS},
    {"single-adds", no_argument, NULL, OPT_SINGLE_ADDS},
    {NULL, 0, NULL, 0},
};

void cmd_ann_help(FILE *out)
{
    fputs("Usage: frugal ann --base B.fvecs --query Q.fvecs [options]\n"
          "\n"
          "Builds an HNSW index over the base vectors, searches every query and prints the\n"
          "build time, queries per second, memory per vector and, with --gt, recall@k.\n"
          "\n"
          "Options:\n"
          "  --metric l2|ip|cos     distance (default l2; cos normalizes the vectors)\n"
          "  --type f32|f16|i8      vector storage (default f32); i8 is per-dimension scalar\n"
          "                         quantization, rescored with float32 unless --no-rescore\n"
          "  --rescore-on-disk      keep the float32 rescoring copy in the index file (mapped,\n"
          "                         read for the final candidates only) instead of in memory\n"
          "  --m N                  links per node (default 16; 2N on level 0)\n"
          "  --ef-construction N    candidates while building (default 200)\n"
          "  --ef N[,N...]          candidates while searching (default 64); a list sweeps\n"
          "  -k N                   neighbours per query (default 10)\n"
          "  --threads N            build and search threads (default 1)\n"
          "  --repeat N             run the queries N times per --ef, keep the best time\n"
          "                         (default 1; the first pass also goes to cold_qps)\n"
          "  --gt GT.ivecs          exact neighbours (0-based rows of the base file): recall@k\n"
          "  --out R.ivecs          write the k result rows per query (for the last --ef)\n"
          "  --flat                 exact scan instead of HNSW (ground truth, baseline)\n"
          "  --sparse-ids           index row i under id 2i (results mapped back): ids that do\n"
          "                         not follow the rows, so the index keeps an id table\n"
          "  --single-adds          build with one hnsw_add per row (after training int8 on all\n"
          "                         rows) instead of a batch: how an index grows by updates\n"
          "  --json                 one object: build_s, qps, bytes_per_vector, recall (with\n"
          "                         --gt); with an --ef list also sweep: [{ef, qps, recall}]\n"
          "  -q/--quiet, -v/--verbose, -h/--help as for every verb\n"
          "\n"
          "bytes_per_vector counts what the index keeps in memory to search: codes, links,\n"
          "ids and id table (none while the ids are the row numbers, as here without\n"
          "--sparse-ids), per-node metadata and int8 ranges; an i8 index's float32 rescoring\n"
          "copy is reported separately as rescore_bytes_per_vector (0 with --rescore-on-disk;\n"
          "memory.rescore_cached then says how much of the file rescoring pulled into the\n"
          "page cache), and so is memory.scratch, the working memory each searching thread\n"
          "keeps pooled (not index state).\n",
          out);
}

struct vecs {
    float *data; /* n x dim */
    int32_t *ids;
    size_t n;
    size_t dim;
};

/* Reads .fvecs (is_int false) or .ivecs. */
static int read_vecs(const char *path, bool is_int, struct vecs *v)
{
    FILE *fp = fopen(path, "rb");
    long len;
    int32_t d;
    size_t row;
    void *data;

    memset(v, 0, sizeof(*v));
    if (fp == NULL)
        return cli_error("%s: %s", path, strerror(errno));
    if (fread(&d, 4, 1, fp) != 1 || d <= 0 || d > 65536 || fseek(fp, 0, SEEK_END) != 0 ||
        (len = ftell(fp)) < 0) {
        fclose(fp);
        return cli_error("%s: not a %s file", path, is_int ? ".ivecs" : ".fvecs");
    }
    row = 4 + 4 * (size_t)d;
    if ((size_t)len % row != 0) {
        fclose(fp);
        return cli_error("%s: size %ld is not a multiple of the row size %zu", path, len, row);
    }
    v->n = (size_t)len / row;
    v->dim = (size_t)d;
    data = malloc(v->n * v->dim * 4 + 1);
    if (data == NULL) {
        fclose(fp);
        return cli_error("%s: out of memory", path);
    }
    fseek(fp, 0, SEEK_SET);
    for (size_t i = 0; i < v->n; i++) {
        int32_t di;
        if (fread(&di, 4, 1, fp) != 1 || di != d ||
            fread((char *)data + i * v->dim * 4, 4, v->dim, fp) != v->dim) {
            free(data);
            fclose(fp);
            return cli_error("%s: row %zu is damaged", path, i);
        }
    }
    fclose(fp);
    if (is_int)
        v->ids = data;
    else
        v->data = data;
    return CLI_EXIT_OK;
}

struct ann_opts {
    const char *base, *query, *gt, *out;
    struct hnsw_params params;
    uint32_t efs[32];
    size_t n_efs;
    size_t k;
    unsigned threads;
    unsigned repeat;
    bool json, flat, no_rescore, rescore_on_disk, sparse_ids, single_adds;
};

struct run {
    struct hnsw *h;
    struct flat *f;
    const struct vecs *q;
    size_t k;
    uint32_t ef;
    int64_t *result; /* q->n x k, -1 padded */
    int64_t id_step; /* row i is id i * id_step */
    size_t first, step;
    frugal_status rc;
};

static void *run_queries(void *arg)
{
    struct run *r = arg;
    struct vec_hit hits[1024];
    struct err e;

    for (size_t i = r->first; i < r->q->n; i += r->step) {
        size_t n = 0;
        const float *qv = r->q->data + i * r->q->dim;
        frugal_status rc = r->h != NULL ? hnsw_search(r->h, qv, r->k, r->ef, NULL, hits, &n, &e)
                                        : flat_search(r->f, qv, r->k, NULL, hits, &n, &e);
        if (rc != FRUGAL_OK) {
            r->rc = rc;
            return NULL;
        }
        for (size_t j = 0; j < r->k; j++)
            r->result[i * r->k + j] = j < n ? hits[j].id / r->id_step : -1;
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_options(struct cli *cli, int argc, char **argv, struct ann_opts *o)
{
    struct cli_parser p;
    int64_t v;
    int c;

    cli_parser_init(&p, cli, argc, argv, "k:", ann_longopts);
    while ((c = cli_parser_next(&p)) != CLI_OPT_END) {
        switch (c) {
        case CLI_OPT_HELP:
            cmd_ann_help(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_BASE: o->base = optarg; break;
        case OPT_QUERY: o->query = optarg; break;
        case OPT_GT: o->gt = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_JSON: o->json = true; break;
        case OPT_FLAT: o->flat = true; break;
        case OPT_NO_RESCORE: o->no_rescore = true; break;
        case OPT_RESCORE_DISK: o->rescore_on_disk = true; break;
        case OPT_SPARSE_IDS: o->sparse_ids = true; break;
        case OPT_SINGLE_ADDS: o->single_adds = true; break;
        case OPT_METRIC:
            if (strcmp(optarg, "l2") == 0) o->params.metric = VEC_METRIC_L2;
            else if (strcmp(optarg, "ip") == 0) o->params.metric = VEC_METRIC_IP;
            else if (strcmp(optarg, "cos") == 0) o->params.metric = VEC_METRIC_COS;
            else return cli_usage(cli, "--metric must be l2, ip or cos");
            break;
        case OPT_TYPE:
            if (strcmp(optarg, "f32") == 0) o->params.storage = VEC_STORE_F32;
            else if (strcmp(optarg, "f16") == 0) o->params.storage = VEC_STORE_F16;
            else if (strcmp(optarg, "i8") == 0) o->params.storage = VEC_STORE_I8;
            else return cli_usage(cli, "--type must be f32, f16 or i8");
            break;
        case OPT_M:
            if (!cli_parse_i64(optarg, 2, 256, &v)) return cli_usage(cli, "--m takes 2..256");
            o->params.m = (uint32_t)v;
            break;
        case OPT_EFC:
            if (!cli_parse_i64(optarg, 1, 100000, &v))
                return cli_usage(cli, "--ef-construction takes 1..100000");
            o->params.ef_construction = (uint32_t)v;
            break;
        case OPT_EF: {
            char *list = optarg;
            o->n_efs = 0;
            while (list != NULL && o->n_efs < 32) {
                char *comma = strchr(list, ',');
                char num[32];
                size_t len = comma != NULL ? (size_t)(comma - list) : strlen(list);
                if (len == 0 || len >= sizeof(num)) return cli_usage(cli, "bad --ef list");
                memcpy(num, list, len);
                num[len] = '\0';
                if (!cli_parse_i64(num, 1, 100000, &v)) return cli_usage(cli, "--ef takes 1..100000");
                o->efs[o->n_efs++] = (uint32_t)v;
                list = comma != NULL ? comma + 1 : NULL;
            }
            break;
        }
        case 'k':
            if (!cli_parse_i64(optarg, 1, 1024, &v)) return cli_usage(cli, "-k takes 1..1024");
            o->k = (size_t)v;
            break;
        case OPT_REPEAT:
            if (!cli_parse_i64(optarg, 1, 1000, &v)) return cli_usage(cli, "--repeat takes 1..1000");
            o->repeat = (unsigned)v;
            break;
        case OPT_THREADS:
            if (!cli_parse_i64(optarg, 1, 64, &v)) return cli_usage(cli, "--threads takes 1..64");
            o->threads = (unsigned)v;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (o->base == NULL || o->query == NULL)
        return cli_usage(cli, "--base and --query are required");
    return -1;
}

/* Saves h and loads it back with the rescoring copy left in the mapped file, then drops the file
 * from the page cache; *h is replaced. */
static int reload_on_disk(struct hnsw **h)
{
    char path[512];
    const char *dir = getenv("TMPDIR");
    struct hnsw *g = NULL;
    struct err e;
    int fd;

    snprintf(path, sizeof(path), "%s/frugal-ann-%ld.vec", dir != NULL ? dir : "/tmp",
             (long)getpid());
    if (hnsw_save(*h, path, &e) != FRUGAL_OK)
        return cli_error("%s", e.msg);
    if (hnsw_load_ex(path, HNSW_RESCORE_ON_DISK, &g, &e) != FRUGAL_OK) {
        unlink(path);
        return cli_error("%s", e.msg);
    }
    /* the load read every page (checksums): drop them, so that the queries start cold */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* clean after the fsync: droppable */
        close(fd);
    }
    unlink(path); /* the mapping keeps it until hnsw_free */
    hnsw_free(*h);
    *h = g;
    return CLI_EXIT_OK;
}

static void add_memory_json(cJSON *obj, const struct hnsw_memory *m, size_t n)
{
    cJSON *mem = cJSON_AddObjectToObject(obj, "memory");
    double dn = (double)n;
    cJSON_AddNumberToObject(mem, "codes", (double)m->codes / dn);
    cJSON_AddNumberToObject(mem, "links", (double)m->links / dn);
    cJSON_AddNumberToObject(mem, "ids", (double)m->ids / dn);
    cJSON_AddNumberToObject(mem, "node_meta", (double)m->node_meta / dn);
    cJSON_AddNumberToObject(mem, "rescore", (double)m->rescore / dn);
    cJSON_AddNumberToObject(mem, "rescore_on_disk", (double)m->rescore_on_disk / dn);
    cJSON_AddNumberToObject(mem, "rescore_cached", (double)m->rescore_cached / dn);
    cJSON_AddNumberToObject(mem, "scratch", (double)m->scratch / dn);
}

/* One pass of every query at ef on o->threads threads; *dt_out = its wall time. */
static int run_pass(struct hnsw *h, struct flat *f, const struct vecs *query,
                    const struct ann_opts *o, uint32_t ef, int64_t *res, double *dt_out)
{
    struct run runs[64];
    pthread_t tids[64];
    bool started[64] = {false};
    double t0 = now_s();

    for (unsigned t = 0; t < o->threads; t++) {
        int64_t id_step = o->sparse_ids && h != NULL ? 2 : 1;
        runs[t] = (struct run){h, f, query, o->k, ef, res, id_step, t, o->threads, FRUGAL_OK};
        if (t > 0)
            started[t] = pthread_create(&tids[t], NULL, run_queries, &runs[t]) == 0;
    }
    run_queries(&runs[0]);
    for (unsigned t = 1; t < o->threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            run_queries(&runs[t]); /* no thread: its share runs here */
    }
    *dt_out = now_s() - t0;
    for (unsigned t = 0; t < o->threads; t++) {
        if (runs[t].rc != FRUGAL_OK)
            return cli_error("search failed: %s", frugal_strerror(runs[t].rc));
    }
    return CLI_EXIT_OK;
}

static double recall_at_k(const struct vecs *gt, const int64_t *res, size_t nq, size_t k)
{
    size_t hits = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < k && a < gt->dim; a++)
            for (size_t b = 0; b < k; b++)
                hits += res[i * k + b] == gt->ids[i * gt->dim + a];
    return (double)hits / (double)(nq * (k < gt->dim ? k : gt->dim));
}

static int write_ivecs(const char *path, const int64_t *res, size_t nq, size_t k)
{
    FILE *fp = fopen(path, "wb");
    int32_t d = (int32_t)k;
    if (fp == NULL)
        return cli_error("%s: %s", path, strerror(errno));
    for (size_t i = 0; i < nq; i++) {
        fwrite(&d, 4, 1, fp);
        for (size_t j = 0; j < k; j++) {
            int32_t id = (int32_t)res[i * k + j];
            fwrite(&id, 4, 1, fp);
        }
    }
    if (fclose(fp) != 0)
        return cli_error("%s: write failed", path);
    return CLI_EXIT_OK;
}

int cmd_ann(struct cli *cli, int argc, char **argv)
{
    struct ann_opts o;
    struct vecs base, query, gt;
    struct err e;
    struct hnsw *h = NULL;
    struct flat *f = NULL;
    int64_t *res = NULL;
    int64_t *ids = NULL; /* --sparse-ids: 2i for row i */
    double build_s, t0;
    size_t bytes = 0, rescore_bytes = 0;
    struct hnsw_memory mem;
    double qps[32], rec[32], cold_qps = 0.0;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&gt, 0, sizeof(gt));
    memset(&query, 0, sizeof(query));
    hnsw_default_params(&o.params, 1);
    o.k = 10;
    o.threads = 1;
    o.repeat = 1;
    rc = parse_options(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.n_efs == 0)
        o.efs[o.n_efs++] = 64;
    rc = read_vecs(o.base, false, &base);
    if (rc == CLI_EXIT_OK)
        rc = read_vecs(o.query, false, &query);
    if (rc == CLI_EXIT_OK && o.gt != NULL)
        rc = read_vecs(o.gt, true, &gt);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (query.dim != base.dim || (o.gt != NULL && gt.n < query.n)) {
        rc = cli_error("--query has dimension %zu and %zu rows, --base dimension %zu, --gt %zu rows",
                       query.dim, query.n, base.dim, gt.n);
        goto out;
    }
    o.params.dim = (uint32_t)base.dim;
    o.params.keep_f32 = o.params.storage == VEC_STORE_I8 && !o.no_rescore;
    t0 = now_s();
    if (o.flat) {
        if (flat_new((uint32_t)base.dim, o.params.metric, &f, &e) != FRUGAL_OK ||
            flat_add_batch(f, NULL, base.data, base.n, &e) != FRUGAL_OK) {
            rc = cli_error("%s", e.msg);
            goto out;
        }
        bytes = flat_memory_bytes(f);
    } else {
        if (o.sparse_ids) {
            ids = malloc(base.n * sizeof(*ids) + 1);
            if (ids == NULL) {
                rc = cli_error("out of memory");
                goto out;
            }
            for (size_t i = 0; i < base.n; i++)
                ids[i] = 2 * (int64_t)i;
        }
        frugal_status hrc = hnsw_new(&o.params, &h, &e);
        if (hrc == FRUGAL_OK && !o.single_adds)
            hrc = hnsw_add_batch(h, ids, base.data, base.n, o.threads, &e);
        if (hrc == FRUGAL_OK && o.single_adds)
            hrc = hnsw_train(h, base.data, base.n, &e);
        for (size_t i = 0; hrc == FRUGAL_OK && o.single_adds && i < base.n; i++)
            hrc = hnsw_add(h, ids != NULL ? ids[i] : (int64_t)i, base.data + i * base.dim, &e);
        if (hrc != FRUGAL_OK) {
            rc = cli_error("%s", e.msg);
            goto out;
        }
    }
    build_s = now_s() - t0;
    if (h != NULL && o.rescore_on_disk && o.params.keep_f32 &&
        (rc = reload_on_disk(&h)) != CLI_EXIT_OK)
        goto out;
    res = malloc(query.n * o.k * sizeof(*res) + 1);
    if (res == NULL) {
        rc = cli_error("out of memory");
        goto out;
    }
    for (size_t x = 0; x < o.n_efs; x++) {
        double best = 0.0;
        for (unsigned r = 0; r < o.repeat; r++) {
            double dt;
            if ((rc = run_pass(h, f, &query, &o, o.efs[x], res, &dt)) != CLI_EXIT_OK)
                goto out;
            if (r == 0 || dt < best)
                best = dt;
            if (x == 0 && r == 0)
                cold_qps = dt > 0 ? (double)query.n / dt : 0.0;
        }
        qps[x] = best > 0 ? (double)query.n / best : 0.0;
        rec[x] = o.gt != NULL ? recall_at_k(&gt, res, query.n, o.k) : -1.0;
    }
    memset(&mem, 0, sizeof(mem));
    if (h != NULL) { /* after the queries: rescore_cached shows what rescoring read */
        bytes = hnsw_memory_bytes(h, &rescore_bytes);
        hnsw_memory(h, &mem);
    }
    if (o.out != NULL && (rc = write_ivecs(o.out, res, query.n, o.k)) != CLI_EXIT_OK)
        goto out;
    if (o.json) {
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddNumberToObject(obj, "build_s", build_s);
        cJSON_AddNumberToObject(obj, "qps", qps[0]);
        cJSON_AddNumberToObject(obj, "bytes_per_vector", (double)bytes / (double)base.n);
        if (o.gt != NULL)
            cJSON_AddNumberToObject(obj, "recall", rec[0]);
        cJSON_AddNumberToObject(obj, "rescore_bytes_per_vector",
                                (double)rescore_bytes / (double)base.n);
        cJSON_AddNumberToObject(obj, "n_base", (double)base.n);
        cJSON_AddNumberToObject(obj, "n_query", (double)query.n);
        cJSON_AddNumberToObject(obj, "cold_qps", cold_qps);
        if (h != NULL)
            add_memory_json(obj, &mem, base.n);
        if (o.n_efs > 1) {
            cJSON *sweep = cJSON_AddArrayToObject(obj, "sweep");
            for (size_t x = 0; x < o.n_efs; x++) {
                cJSON *it = cJSON_CreateObject();
                cJSON_AddNumberToObject(it, "ef", o.efs[x]);
                cJSON_AddNumberToObject(it, "qps", qps[x]);
                if (o.gt != NULL)
                    cJSON_AddNumberToObject(it, "recall", rec[x]);
                cJSON_AddItemToArray(sweep, it);
            }
        }
        rc = cli_print_json(obj);
    } else {
        printf("build: %.3f s for %zu vectors (%u thread%s)\n", build_s, base.n, o.threads,
               o.threads == 1 ? "" : "s");
        printf("memory: %.1f bytes/vector", (double)bytes / (double)base.n);
        if (rescore_bytes > 0)
            printf(" (+%.1f float32 for rescoring)", (double)rescore_bytes / (double)base.n);
        if (mem.rescore_on_disk > 0)
            printf(" (float32 rescoring on disk: %.1f, of which %.1f in the page cache)",
                   (double)mem.rescore_on_disk / (double)base.n,
                   (double)mem.rescore_cached / (double)base.n);
        fputc('\n', stdout);
        for (size_t x = 0; x < o.n_efs; x++) {
            printf("ef %u: %.0f queries/s", o.flat ? 0 : o.efs[x], qps[x]);
            if (o.gt != NULL)
                printf(", recall@%zu %.4f", o.k, rec[x]);
            fputc('\n', stdout);
        }
        rc = CLI_EXIT_OK;
    }
out:
    free(res);
    free(ids);
    hnsw_free(h);
    flat_free(f);
    free(base.data);
    free(query.data);
    free(gt.ids);
    return rc;
}
