/*
 * model.c - loading a Hugging Face BERT model folder (the layout and rules are in bert.h).
 *
 * How: the JSON files are parsed with cJSON into struct bert_config and the pooling settings
 * (this is file-format parsing, like safetensors' header); model.safetensors is mapped and every
 * expected tensor is looked up under its name, then under "bert." + name, and checked for dtype
 * and shape against config.json. F32 tensors aligned to 4 bytes are used in place from the map;
 * F16/BF16 (and unaligned F32) are upcast once into owned float buffers. The query, key and value
 * projections of each layer are stacked into one (3H, H) matrix so that the encoder does one
 * matrix product for all three.
 *
 * Why: models are downloaded by users and must fail loudly and precisely when they do not match
 * what we can run, instead of producing wrong vectors.
 *
 * Threading: loading touches nothing global except the kernel choice (read-only).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/fs.h"
#include "embed/bert.h"

#define CONFIG_MAX_BYTES (4u << 20)
#define TOKENIZER_MAX_BYTES (64u << 20)

void bert_default_opts(struct bert_opts *opts)
{
    opts->n_threads = 1;
    opts->int8 = false;
    opts->max_batch = 32;
}

size_t bert_dim(const struct bert_model *m) { return m->cfg.hidden; }

frugal_status bert_model_own(struct bert_model *m, void *p)
{
    if (p == NULL)
        return FRUGAL_ENOMEM;
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **grown = frugal_reallocarray(m->owned, cap, sizeof(void *));
        if (grown == NULL) {
            frugal_free(p);
            return FRUGAL_ENOMEM;
        }
        m->owned = grown;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return FRUGAL_OK;
}

void bert_model_close(struct bert_model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_owned; i++)
        frugal_free(m->owned[i]);
    frugal_free(m->owned);
    frugal_free(m->layers);
    bert_workspace_release(&m->ws);
    wp_free(m->tok);
    st_close(&m->st);
    frugal_free(m);
}

/* ---- JSON files --------------------------------------------------------------------------- */

static frugal_status join(char *out, size_t cap, const char *dir, const char *name,
                          struct err *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return err_set(err, FRUGAL_EINVAL, "%s: path too long", dir);
    return FRUGAL_OK;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Parses dir/name into *out; FRUGAL_ENOTFOUND (with no message) when the file does not exist
 * and `optional`. */
static frugal_status read_json(const char *dir, const char *name, bool optional, cJSON **out,
                               struct err *err)
{
    char path[4096];
    struct buf data;
    frugal_status rc = join(path, sizeof(path), dir, name, err);

    *out = NULL;
    if (rc != FRUGAL_OK)
        return rc;
    if (optional && !file_exists(path))
        return FRUGAL_ENOTFOUND;
    buf_init(&data, 0);
    rc = fs_read_file(path, CONFIG_MAX_BYTES, &data, err);
    if (rc == FRUGAL_OK) {
        *out = cJSON_ParseWithLength(data.ptr ? data.ptr : "", data.len);
        if (*out == NULL || !cJSON_IsObject(*out)) {
            rc = err_set(err, FRUGAL_ECORRUPT, "%s: not a JSON object", path);
            if (*out != NULL && cJSON_IsArray(*out))
                rc = FRUGAL_OK; /* modules.json is an array */
            else {
                cJSON_Delete(*out);
                *out = NULL;
            }
        }
    }
    buf_release(&data);
    return rc;
}

/* A positive whole number at key, at most max; `def` when absent and def > 0. */
static frugal_status json_size(const cJSON *obj, const char *key, size_t def, size_t max,
                               size_t *out, struct err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL && def > 0) {
        *out = def;
        return FRUGAL_OK;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= (double)max) ||
        v->valuedouble != floor(v->valuedouble))
        return err_set(err, FRUGAL_ECORRUPT, "config.json: %s missing or not in [1, %zu]", key,
                       max);
    *out = (size_t)v->valuedouble;
    return FRUGAL_OK;
}

static frugal_status parse_config(const cJSON *root, struct bert_config *cfg, struct err *err)
{
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *arch = cJSON_GetArrayItem(archs, 0);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    const cJSON *mtype = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    frugal_status rc = FRUGAL_OK;

    if (cJSON_IsString(mtype) && strcmp(mtype->valuestring, "bert") != 0)
        return err_set(err, FRUGAL_EUNSUPPORTED,
                       "config.json: model_type '%.64s' is not supported (only 'bert')",
                       mtype->valuestring);
    if (arch == NULL || (cJSON_IsString(arch) && strcmp(arch->valuestring, "BertModel") == 0)) {
        cfg->arch = BERT_ARCH_MODEL;
    } else if (cJSON_IsString(arch) &&
               strcmp(arch->valuestring, "BertForSequenceClassification") == 0) {
        cfg->arch = BERT_ARCH_SEQ_CLS;
        if (labels != NULL && cJSON_GetArraySize(labels) != 1)
            return err_set(err, FRUGAL_EUNSUPPORTED,
                           "config.json: a cross-encoder with %d labels; only 1 is supported",
                           cJSON_GetArraySize(labels));
    } else {
        return err_set(err, FRUGAL_EUNSUPPORTED,
                       "config.json: architecture '%.64s' is not supported (expected BertModel "
                       "or BertForSequenceClassification)",
                       cJSON_IsString(arch) ? arch->valuestring : "?");
    }
    if (act != NULL && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0))
        return err_set(err, FRUGAL_EUNSUPPORTED, "config.json: hidden_act '%.32s' (expected gelu)",
                       cJSON_IsString(act) ? act->valuestring : "?");
    if (pos != NULL && (!cJSON_IsString(pos) || strcmp(pos->valuestring, "absolute") != 0))
        return err_set(err, FRUGAL_EUNSUPPORTED,
                       "config.json: position_embedding_type must be absolute");
    if (rc == FRUGAL_OK)
        rc = json_size(root, "vocab_size", 0, 10000000, &cfg->vocab_size, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "hidden_size", 0, 16384, &cfg->hidden, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "num_hidden_layers", 0, 256, &cfg->n_layers, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "num_attention_heads", 0, 1024, &cfg->n_heads, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "intermediate_size", 0, 65536, &cfg->intermediate, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "max_position_embeddings", 512, 65536, &cfg->max_positions, err);
    if (rc == FRUGAL_OK)
        rc = json_size(root, "type_vocab_size", 2, 1024, &cfg->type_vocab_size, err);
    if (rc != FRUGAL_OK)
        return rc;
    if (cfg->hidden % cfg->n_heads != 0)
        return err_set(err, FRUGAL_ECORRUPT,
                       "config.json: hidden_size %zu is not a multiple of num_attention_heads %zu",
                       cfg->hidden, cfg->n_heads);
    cfg->ln_eps = 1e-12f;
    if (eps != NULL) {
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble < 1))
            return err_set(err, FRUGAL_ECORRUPT, "config.json: bad layer_norm_eps");
        cfg->ln_eps = (float)eps->valuedouble;
    }
    return FRUGAL_OK;
}

/* Pooling and normalization from modules.json and the Pooling module's config. */
static frugal_status parse_modules(struct bert_model *m, const char *dir, struct err *err)
{
    cJSON *modules = NULL;
    cJSON *pool = NULL;
    const cJSON *mod;
    char pool_rel[1024] = "";
    frugal_status rc = read_json(dir, "modules.json", true, &modules, err);

    m->pooling = BERT_POOL_MEAN;
    m->normalize = false;
    if (rc == FRUGAL_ENOTFOUND)
        return FRUGAL_OK;
    if (rc != FRUGAL_OK)
        return rc;
    cJSON_ArrayForEach(mod, modules)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(mod, "type");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(mod, "path");

        if (!cJSON_IsString(type))
            continue;
        if (strstr(type->valuestring, "Normalize") != NULL)
            m->normalize = true;
        if (strstr(type->valuestring, "Pooling") != NULL && cJSON_IsString(path))
            snprintf(pool_rel, sizeof(pool_rel), "%s/config.json", path->valuestring);
    }
    cJSON_Delete(modules);
    if (pool_rel[0] == '\0')
        return FRUGAL_OK;
    rc = read_json(dir, pool_rel, false, &pool, err);
    if (rc == FRUGAL_OK) {
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pool, "pooling_mode");
        int n_modes = 0;

        if (cJSON_IsString(mode)) {
            n_modes = 1;
            if (strcmp(mode->valuestring, "mean") == 0)
                m->pooling = BERT_POOL_MEAN;
            else if (strcmp(mode->valuestring, "cls") == 0)
                m->pooling = BERT_POOL_CLS;
            else if (strcmp(mode->valuestring, "max") == 0)
                m->pooling = BERT_POOL_MAX;
            else
                n_modes = 2;
        } else {
            static const struct {
                const char *key;
                int mode; /* -1: unsupported */
            } keys[] = {{"pooling_mode_mean_tokens", BERT_POOL_MEAN},
                        {"pooling_mode_cls_token", BERT_POOL_CLS},
                        {"pooling_mode_max_tokens", BERT_POOL_MAX},
                        {"pooling_mode_mean_sqrt_len_tokens", -1},
                        {"pooling_mode_weightedmean_tokens", -1},
                        {"pooling_mode_lasttoken", -1}};
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pool, keys[i].key))) {
                    n_modes += keys[i].mode < 0 ? 2 : 1;
                    if (keys[i].mode >= 0)
                        m->pooling = (enum bert_pooling)keys[i].mode;
                }
            }
        }
        if (n_modes != 1)
            rc = err_set(err, FRUGAL_EUNSUPPORTED,
                         "%s: pooling must be exactly one of mean, cls or max", pool_rel);
    }
    cJSON_Delete(pool);
    return rc;
}

/* The tokenizer (vocab.txt, else tokenizer.json) and the input length limit. */
static frugal_status load_tokenizer(struct bert_model *m, const char *dir, struct err *err)
{
    struct wp_opts wo;
    cJSON *tc = NULL;
    cJSON *sb = NULL;
    char path[4096];
    struct buf data;
    frugal_status rc = read_json(dir, "tokenizer_config.json", true, &tc, err);
    size_t max_seq = m->cfg.max_positions;

    wp_default_opts(&wo);
    if (rc == FRUGAL_OK) {
        const cJSON *lc = cJSON_GetObjectItemCaseSensitive(tc, "do_lower_case");
        const cJSON *sa = cJSON_GetObjectItemCaseSensitive(tc, "strip_accents");
        const cJSON *cc = cJSON_GetObjectItemCaseSensitive(tc, "tokenize_chinese_chars");
        const cJSON *ml = cJSON_GetObjectItemCaseSensitive(tc, "model_max_length");

        if (cJSON_IsBool(lc))
            wo.lowercase = cJSON_IsTrue(lc);
        if (cJSON_IsBool(sa))
            wo.strip_accents = cJSON_IsTrue(sa) ? 1 : 0;
        if (cJSON_IsBool(cc))
            wo.chinese_chars = cJSON_IsTrue(cc);
        if (cJSON_IsNumber(ml) && ml->valuedouble >= 2 && ml->valuedouble < (double)max_seq)
            max_seq = (size_t)ml->valuedouble;
    } else if (rc != FRUGAL_ENOTFOUND) {
        return rc;
    }
    cJSON_Delete(tc);
    rc = read_json(dir, "sentence_bert_config.json", true, &sb, err);
    if (rc == FRUGAL_OK) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(sb, "max_seq_length");
        const cJSON *lc = cJSON_GetObjectItemCaseSensitive(sb, "do_lower_case");

        if (cJSON_IsNumber(ms) && ms->valuedouble >= 2 &&
            ms->valuedouble <= (double)m->cfg.max_positions)
            max_seq = (size_t)ms->valuedouble;
        if (cJSON_IsTrue(lc))
            wo.lowercase = true;
    } else if (rc != FRUGAL_ENOTFOUND) {
        return rc;
    }
    cJSON_Delete(sb);
    m->max_seq = max_seq;

    buf_init(&data, 0);
    rc = join(path, sizeof(path), dir, "vocab.txt", err);
    if (rc == FRUGAL_OK && file_exists(path)) {
        rc = fs_read_file(path, TOKENIZER_MAX_BYTES, &data, err);
        if (rc == FRUGAL_OK)
            rc = wp_new_from_vocab(data.ptr ? data.ptr : "", data.len, &wo, &m->tok, err);
    } else if (rc == FRUGAL_OK) {
        rc = join(path, sizeof(path), dir, "tokenizer.json", err);
        if (rc == FRUGAL_OK && !file_exists(path))
            rc = err_set(err, FRUGAL_ENOTFOUND, "%s: no vocab.txt nor tokenizer.json", dir);
        if (rc == FRUGAL_OK)
            rc = fs_read_file(path, TOKENIZER_MAX_BYTES, &data, err);
        if (rc == FRUGAL_OK)
            rc = wp_new_from_tokenizer_json(data.ptr ? data.ptr : "", data.len, &wo, &m->tok,
                                            err);
    }
    if (rc != FRUGAL_OK && rc != FRUGAL_ENOMEM)
        err_prefix(err, "%s", dir);
    buf_release(&data);
    if (rc == FRUGAL_OK && wp_vocab_size(m->tok) > m->cfg.vocab_size)
        rc = err_set(err, FRUGAL_ECORRUPT,
                     "%s: the vocabulary has %zu tokens, config.json's vocab_size is %zu", dir,
                     wp_vocab_size(m->tok), m->cfg.vocab_size);
    return rc;
}

/* ---- Tensors ------------------------------------------------------------------------------ */

static void shape_text(char *out, size_t cap, const int64_t *dims, int n_dims)
{
    size_t pos = 0;

    out[0] = '\0';
    for (int i = 0; i < n_dims && pos < cap; i++) {
        int n = snprintf(out + pos, cap - pos, "%s%lld", i ? "," : "", (long long)dims[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* Finds name (or "bert." + name) with the given shape and a float dtype. */
static frugal_status find_tensor(const struct bert_model *m, const char *name, int n_dims,
                                 int64_t d0, int64_t d1, const struct st_tensor **out,
                                 struct err *err)
{
    char prefixed[512];
    const struct st_tensor *t = st_find(&m->st, name);
    int64_t want[2] = {d0, d1};
    char have_s[128];
    char want_s[128];
    bool same;

    if (t == NULL) {
        snprintf(prefixed, sizeof(prefixed), "bert.%s", name);
        t = st_find(&m->st, prefixed);
    }
    shape_text(want_s, sizeof(want_s), want, n_dims);
    if (t == NULL)
        return err_set(err, FRUGAL_ECORRUPT, "model.safetensors: tensor %s missing (expected [%s])",
                       name, want_s);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return err_set(err, FRUGAL_EUNSUPPORTED,
                       "model.safetensors: tensor %s has dtype %s, expected F32, F16 or BF16",
                       t->name, st_dtype_name(t->dtype));
    same = t->n_dims == n_dims;
    for (int i = 0; same && i < n_dims; i++)
        same = t->shape[i] == want[i];
    if (!same) {
        shape_text(have_s, sizeof(have_s), t->shape, t->n_dims);
        return err_set(err, FRUGAL_ECORRUPT,
                       "model.safetensors: tensor %s has shape [%s], expected [%s]", t->name,
                       have_s, want_s);
    }
    *out = t;
    return FRUGAL_OK;
}

static void convert(const struct bert_model *m, const struct st_tensor *t, float *dst)
{
    if (t->dtype == ST_F32)
        memcpy(dst, t->data, t->n_bytes);
    else if (t->dtype == ST_F16)
        m->k->f16_to_f32(t->data, dst, t->n_elems);
    else
        m->k->bf16_to_f32(t->data, dst, t->n_elems);
}

/* A float view of a tensor: in place when F32 and aligned, else an owned upcast copy. */
static frugal_status get(struct bert_model *m, const char *name, int n_dims, size_t d0, size_t d1,
                         const float **out, struct err *err)
{
    const struct st_tensor *t;
    float *copy;
    frugal_status rc = find_tensor(m, name, n_dims, (int64_t)d0, (int64_t)d1, &t, err);

    if (rc != FRUGAL_OK)
        return rc;
    if (t->dtype == ST_F32 && ((uintptr_t)t->data & 3u) == 0) {
        *out = t->data;
        return FRUGAL_OK;
    }
    copy = frugal_reallocarray(NULL, t->n_elems ? t->n_elems : 1, sizeof(float));
    if (bert_model_own(m, copy) != FRUGAL_OK)
        return err_set(err, FRUGAL_ENOMEM, "model.safetensors: out of memory");
    convert(m, t, copy);
    *out = copy;
    return FRUGAL_OK;
}

static frugal_status load_layer(struct bert_model *m, size_t i, struct err *err)
{
    struct bert_layer *l = &m->layers[i];
    size_t h = m->cfg.hidden;
    size_t inter = m->cfg.intermediate;
    static const char *const qkv[3] = {"query", "key", "value"};
    char name[256];
    float *w = frugal_reallocarray(NULL, 3 * h * h, sizeof(float));
    float *b;
    frugal_status rc = bert_model_own(m, w);

    if (rc != FRUGAL_OK)
        return err_set(err, rc, "out of memory");
    b = frugal_reallocarray(NULL, 3 * h, sizeof(float));
    rc = bert_model_own(m, b);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "out of memory");
    l->qkv_w = w;
    l->qkv_b = b;
    for (int j = 0; j < 3 && rc == FRUGAL_OK; j++) {
        const struct st_tensor *t;

        snprintf(name, sizeof(name), "encoder.layer.%zu.attention.self.%s.weight", i, qkv[j]);
        rc = find_tensor(m, name, 2, (int64_t)h, (int64_t)h, &t, err);
        if (rc == FRUGAL_OK)
            convert(m, t, w + (size_t)j * h * h);
        snprintf(name, sizeof(name), "encoder.layer.%zu.attention.self.%s.bias", i, qkv[j]);
        if (rc == FRUGAL_OK)
            rc = find_tensor(m, name, 1, (int64_t)h, 0, &t, err);
        if (rc == FRUGAL_OK)
            convert(m, t, b + (size_t)j * h);
    }
#define GET(field, suffix, nd, a, bb)                                                           \
    do {                                                                                        \
        if (rc == FRUGAL_OK) {                                                                  \
            snprintf(name, sizeof(name), "encoder.layer.%zu.%s", i, suffix);                    \
            rc = get(m, name, nd, a, bb, &l->field, err);                                       \
        }                                                                                       \
    } while (0)
    GET(attn_out_w, "attention.output.dense.weight", 2, h, h);
    GET(attn_out_b, "attention.output.dense.bias", 1, h, 0);
    GET(ln1_g, "attention.output.LayerNorm.weight", 1, h, 0);
    GET(ln1_b, "attention.output.LayerNorm.bias", 1, h, 0);
    GET(ffn_in_w, "intermediate.dense.weight", 2, inter, h);
    GET(ffn_in_b, "intermediate.dense.bias", 1, inter, 0);
    GET(ffn_out_w, "output.dense.weight", 2, h, inter);
    GET(ffn_out_b, "output.dense.bias", 1, h, 0);
    GET(ln2_g, "output.LayerNorm.weight", 1, h, 0);
    GET(ln2_b, "output.LayerNorm.bias", 1, h, 0);
#undef GET
    return rc;
}

static frugal_status load_weights(struct bert_model *m, struct err *err)
{
    const struct bert_config *c = &m->cfg;
    size_t h = c->hidden;
    frugal_status rc = get(m, "embeddings.word_embeddings.weight", 2, c->vocab_size, h,
                           &m->word_emb, err);

    if (rc == FRUGAL_OK)
        rc = get(m, "embeddings.position_embeddings.weight", 2, c->max_positions, h, &m->pos_emb,
                 err);
    if (rc == FRUGAL_OK)
        rc = get(m, "embeddings.token_type_embeddings.weight", 2, c->type_vocab_size, h,
                 &m->type_emb, err);
    if (rc == FRUGAL_OK)
        rc = get(m, "embeddings.LayerNorm.weight", 1, h, 0, &m->emb_ln_g, err);
    if (rc == FRUGAL_OK)
        rc = get(m, "embeddings.LayerNorm.bias", 1, h, 0, &m->emb_ln_b, err);
    if (rc == FRUGAL_OK) {
        m->layers = frugal_calloc(c->n_layers, sizeof(struct bert_layer));
        if (m->layers == NULL)
            rc = err_set(err, FRUGAL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n_layers && rc == FRUGAL_OK; i++)
        rc = load_layer(m, i, err);
    if (rc == FRUGAL_OK && (c->arch == BERT_ARCH_SEQ_CLS || st_find(&m->st, "pooler.dense.weight") ||
                            st_find(&m->st, "bert.pooler.dense.weight"))) {
        rc = get(m, "pooler.dense.weight", 2, h, h, &m->pooler_w, err);
        if (rc == FRUGAL_OK)
            rc = get(m, "pooler.dense.bias", 1, h, 0, &m->pooler_b, err);
    }
    if (rc == FRUGAL_OK && c->arch == BERT_ARCH_SEQ_CLS) {
        rc = get(m, "classifier.weight", 2, 1, h, &m->cls_w, err);
        if (rc == FRUGAL_OK)
            rc = get(m, "classifier.bias", 1, 1, 0, &m->cls_b, err);
    }
    return rc;
}

frugal_status bert_model_open(const char *dir, const struct bert_opts *opts,
                              struct bert_model **out, struct err *err)
{
    struct bert_model *m = frugal_calloc(1, sizeof(*m));
    cJSON *config = NULL;
    char path[4096];
    frugal_status rc;

    *out = NULL;
    if (m == NULL)
        return err_set(err, FRUGAL_ENOMEM, "out of memory");
    if (opts != NULL)
        m->opts = *opts;
    else
        bert_default_opts(&m->opts);
    if (m->opts.n_threads < 1)
        m->opts.n_threads = 1;
    if (m->opts.max_batch == 0)
        m->opts.max_batch = 32;
    m->k = embed_kernels_best();
    rc = read_json(dir, "config.json", false, &config, err);
    if (rc == FRUGAL_OK) {
        rc = parse_config(config, &m->cfg, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", dir);
    }
    cJSON_Delete(config);
    if (rc == FRUGAL_OK)
        rc = parse_modules(m, dir, err);
    if (rc == FRUGAL_OK)
        rc = load_tokenizer(m, dir, err);
    if (rc == FRUGAL_OK)
        rc = join(path, sizeof(path), dir, "model.safetensors", err);
    if (rc == FRUGAL_OK)
        rc = st_open(path, &m->st, err);
    if (rc == FRUGAL_OK) {
        rc = load_weights(m, err);
        if (rc != FRUGAL_OK)
            err_prefix(err, "%s", dir);
    }
    if (rc == FRUGAL_OK)
        rc = bert_prepare(m, err);
    if (rc != FRUGAL_OK) {
        bert_model_close(m);
        return rc;
    }
    *out = m;
    return FRUGAL_OK;
}
