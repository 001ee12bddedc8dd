/*
 * encoder.c - the BERT forward pass, pooling, the cross-encoder head and the int8 path.
 *
 * How: a batch of sequences is packed without padding, (T = sum of lengths, H) row-major, so
 * that every per-token step (embeddings, the four linear layers per transformer layer, GELU,
 * residuals + LayerNorm) runs over real tokens only, and attention runs per sequence and head on
 * strided views into the fused (T, 3H) query/key/value matrix. Packing is exactly equivalent to
 * Hugging Face's padding mask: a masked score there gets float's minimum added and its softmax
 * weight is exactly 0.
 *
 * Every matrix product is one of the kernels' packed products (kernels.h: reference, AVX2,
 * AVX-512): a linear layer is one product over all T tokens against weights packed once at
 * load (bert_prepare), with the bias and, for the FFN's first layer, GELU applied in the
 * product's epilogue while the tile is in registers. Attention per (sequence, head) packs that
 * head's keys and values into per-thread scratch, then scores = scale * Q K^T (a product),
 * softmax (a kernel), context = P V (a product). Residual + LayerNorm is a row kernel.
 *
 * The int8 path (opt-in, bert_opts.int8) quantizes each linear weight row symmetrically to int8
 * once at load (scale = max|w| / 127), and each activation row dynamically at run time (the
 * quantize kernel, fused with the LayerNorm that produces the row where there is one); the
 * int8 x int8 products accumulate exactly in int32 and are rescaled by the two scales.
 * Attention, LayerNorm and GELU stay in float.
 *
 * Buffers live in the model's workspace, sized for the largest batch seen (tokens, longest
 * sequence, number of sequences) and grown only when a larger batch arrives: nothing is
 * allocated inside the layer loop.
 *
 * Why: one code path for every batch shape, no padding waste, our own products because the
 * system BLAS may not know the CPU (Debian's OpenBLAS 0.3.21 runs SSE3 kernels on 2023 Xeons)
 * and multiplies no int8, and fused epilogues that save a pass over (T, I) floats.
 *
 * Threading: a model runs one call at a time (its workspace is shared state). Within a call,
 * each step is a parallel region of the model's thread pool (threadpool.h, n_threads members,
 * the caller included) whose tasks the members claim one by one: a product is a grid of
 * 192-row x 128-column blocks of C (tasks read shared A and weights, write disjoint blocks),
 * attention is one task per (sequence, head) (scratch per member, each head writes its own
 * columns of ctx), row kernels take 64 rows per task. A region returns only when every task
 * has finished, which orders one step's writes before the next step's reads. With one thread
 * there is no pool and each step is one call on the whole matrix.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "embed/bert.h"

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* ---- Workspace ---------------------------------------------------------------------------- */

static frugal_status grow(void **p, size_t n, size_t size)
{
    void *q = frugal_reallocarray(*p, n ? n : 1, size);
    if (q == NULL)
        return FRUGAL_ENOMEM;
    *p = q;
    return FRUGAL_OK;
}

/* Floats of attention scratch one thread needs for sequences of up to len tokens. */
static size_t attn_floats(const struct bert_config *c, size_t len)
{
    size_t d = c->hidden / c->n_heads;
    size_t lp = round_up(len, EMBED_NR);

    return lp * d + round_up(d, EMBED_NR) * len + len * lp;
}

/* Makes room for n_tokens packed tokens, sequences up to max_len and n_seqs sequences. */
static frugal_status ws_reserve(struct bert_model *m, size_t n_tokens, size_t max_len,
                                size_t n_seqs, struct err *err)
{
    struct bert_workspace *ws = &m->ws;
    size_t h = m->cfg.hidden;
    size_t inter = m->cfg.intermediate;
    size_t wide = round_up(inter > h ? inter : h, 4);
    frugal_status rc = FRUGAL_OK;

    if (n_tokens > ws->cap_tokens) {
        rc = grow((void **)&ws->x, n_tokens * h, sizeof(float));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->tmp, n_tokens * h, sizeof(float));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->qkv, n_tokens * 3 * h, sizeof(float));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->ctx, n_tokens * h, sizeof(float));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->ffn, n_tokens * inter, sizeof(float));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->ids, n_tokens, sizeof(int32_t));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->type_ids, n_tokens, sizeof(int32_t));
        if (rc == FRUGAL_OK && m->opts.int8) {
            rc = grow((void **)&ws->xq, n_tokens * wide, sizeof(int8_t));
            if (rc == FRUGAL_OK)
                rc = grow((void **)&ws->xs, n_tokens, sizeof(float));
        }
        if (rc != FRUGAL_OK) {
            /* Some buffers may be bigger than the others now: recompute on the next call. */
            ws->cap_tokens = 0;
            return err_set(err, rc, "encoder: out of memory for %zu tokens", n_tokens);
        }
        ws->cap_tokens = n_tokens;
    }
    if (max_len > ws->cap_len) {
        size_t per = attn_floats(&m->cfg, max_len);

        rc = grow((void **)&ws->attn, per * (size_t)embed_pool_size(ws->pool), sizeof(float));
        if (rc != FRUGAL_OK)
            return err_set(err, rc, "encoder: out of memory");
        ws->attn_stride = per;
        ws->cap_len = max_len;
    }
    if (n_seqs > ws->cap_seqs) {
        rc = grow((void **)&ws->lens, n_seqs, sizeof(size_t));
        if (rc == FRUGAL_OK)
            rc = grow((void **)&ws->offs, n_seqs, sizeof(size_t));
        if (rc != FRUGAL_OK)
            return err_set(err, rc, "encoder: out of memory");
        ws->cap_seqs = n_seqs;
    }
    return FRUGAL_OK;
}

void bert_workspace_release(struct bert_workspace *ws)
{
    embed_pool_free(ws->pool);
    frugal_free(ws->x);
    frugal_free(ws->tmp);
    frugal_free(ws->qkv);
    frugal_free(ws->ctx);
    frugal_free(ws->ffn);
    frugal_free(ws->attn);
    frugal_free(ws->xq);
    frugal_free(ws->xs);
    frugal_free(ws->ids);
    frugal_free(ws->type_ids);
    frugal_free(ws->lens);
    frugal_free(ws->offs);
    memset(ws, 0, sizeof(*ws));
}

/* ---- Weights ------------------------------------------------------------------------------- */

static frugal_status pack_f32(struct bert_model *m, const float *w, size_t rows, size_t cols,
                              float **out)
{
    float *p = frugal_reallocarray(NULL, embed_packed_f32_size(rows, cols), sizeof(float));

    if (bert_model_own(m, p) != FRUGAL_OK)
        return FRUGAL_ENOMEM;
    embed_pack_f32_nk(w, rows, cols, cols, p);
    *out = p;
    return FRUGAL_OK;
}

static frugal_status pack_i8(struct bert_model *m, const float *w, size_t rows, size_t cols,
                             int8_t **q_out, float **s_out, int32_t **sum_out)
{
    int8_t *q = frugal_reallocarray(NULL, rows * cols, 1);
    int8_t *packed;
    float *s;
    int32_t *sums;

    if (q == NULL)
        return FRUGAL_ENOMEM;
    packed = frugal_reallocarray(NULL, embed_packed_i8_size(rows, cols), 1);
    s = frugal_reallocarray(NULL, rows, sizeof(float));
    sums = frugal_reallocarray(NULL, rows, sizeof(int32_t));
    if (bert_model_own(m, packed) != FRUGAL_OK || bert_model_own(m, s) != FRUGAL_OK ||
        bert_model_own(m, sums) != FRUGAL_OK) {
        frugal_free(q);
        return FRUGAL_ENOMEM;
    }
    /* the same rule as activations: symmetric, round to nearest even */
    embed_kernels_ref()->quantize(w, rows, cols, cols, q, cols, s);
    embed_pack_i8(q, rows, cols, packed, sums);
    frugal_free(q);
    *q_out = packed;
    *s_out = s;
    *sum_out = sums;
    return FRUGAL_OK;
}

frugal_status bert_prepare(struct bert_model *m, struct err *err)
{
    size_t h = m->cfg.hidden;
    size_t inter = m->cfg.intermediate;
    frugal_status rc = FRUGAL_OK;

    for (size_t i = 0; i < m->cfg.n_layers && rc == FRUGAL_OK; i++) {
        struct bert_layer *l = &m->layers[i];

        if (m->opts.int8) {
            rc = pack_i8(m, l->qkv_w, 3 * h, h, &l->q_qkv, &l->s_qkv, &l->sum_qkv);
            if (rc == FRUGAL_OK)
                rc = pack_i8(m, l->attn_out_w, h, h, &l->q_attn_out, &l->s_attn_out,
                             &l->sum_attn_out);
            if (rc == FRUGAL_OK)
                rc = pack_i8(m, l->ffn_in_w, inter, h, &l->q_ffn_in, &l->s_ffn_in,
                             &l->sum_ffn_in);
            if (rc == FRUGAL_OK)
                rc = pack_i8(m, l->ffn_out_w, h, inter, &l->q_ffn_out, &l->s_ffn_out,
                             &l->sum_ffn_out);
        } else {
            rc = pack_f32(m, l->qkv_w, 3 * h, h, &l->p_qkv);
            if (rc == FRUGAL_OK)
                rc = pack_f32(m, l->attn_out_w, h, h, &l->p_attn_out);
            if (rc == FRUGAL_OK)
                rc = pack_f32(m, l->ffn_in_w, inter, h, &l->p_ffn_in);
            if (rc == FRUGAL_OK)
                rc = pack_f32(m, l->ffn_out_w, h, inter, &l->p_ffn_out);
        }
    }
    if (rc == FRUGAL_OK && m->opts.n_threads > 1)
        rc = embed_pool_new(m->opts.n_threads, &m->ws.pool);
    if (rc != FRUGAL_OK)
        return err_set(err, rc, "encoder: out of memory packing the weights");
    return FRUGAL_OK;
}

/* ---- Parallel steps ------------------------------------------------------------------------ */

#define TASK_ROWS 192   /* rows per product task (a multiple of every kernel's row tile) */
#define TASK_COLS 128   /* columns per product task (a multiple of 32) */
#define NORM_ROWS 64    /* rows per LayerNorm / quantization task */

/* One linear layer: out (T, N) = act(in (T, K) W^T + b), float or int8, as a grid of tasks of
 * row_block x col_block (the whole product when one thread runs it). */
struct linear_step {
    const struct embed_kernels *k;
    struct embed_gemm_f32 f;
    struct embed_gemm_i8 q;
    bool int8;
    size_t row_block;
    size_t col_block;
    size_t n_col_tasks;
};

static void linear_task(void *arg, size_t task, int thread)
{
    const struct linear_step *s = arg;
    size_t m = s->int8 ? s->q.m : s->f.m;
    size_t n = s->int8 ? s->q.n : s->f.n;
    size_t r0 = task / s->n_col_tasks * s->row_block;
    size_t c0 = task % s->n_col_tasks * s->col_block;
    size_t rows = m - r0 < s->row_block ? m - r0 : s->row_block;
    size_t cols = n - c0 < s->col_block ? n - c0 : s->col_block;

    (void)thread;
    if (s->int8) {
        struct embed_gemm_i8 g = s->q;

        g.m = rows;
        g.n = cols;
        g.a += r0 * g.lda;
        g.a_scale += r0;
        g.b += c0 * g.kp;
        g.b_sum += c0;
        g.b_scale += c0;
        g.bias = g.bias != NULL ? g.bias + c0 : NULL;
        g.c += r0 * g.ldc + c0;
        s->k->gemm_i8(&g);
    } else {
        struct embed_gemm_f32 g = s->f;

        g.m = rows;
        g.n = cols;
        g.a += r0 * g.lda;
        g.b += c0 * g.k;
        g.bias = g.bias != NULL ? g.bias + c0 : NULL;
        g.c += r0 * g.ldc + c0;
        s->k->gemm_f32(&g);
    }
}

/* Quantizes (T, K) float rows into the workspace (int8 path). */
struct quant_step {
    const struct embed_kernels *k;
    const float *x;
    size_t n_rows;
    size_t k_len;
    int8_t *q;
    size_t ldq;
    float *scales;
};

static void quant_rows(const struct quant_step *s, size_t r0, size_t r1)
{
    s->k->quantize(s->x + r0 * s->k_len, r1 - r0, s->k_len, s->k_len, s->q + r0 * s->ldq, s->ldq,
                   s->scales + r0);
}

static void quant_task(void *arg, size_t task, int thread)
{
    const struct quant_step *s = arg;
    size_t r0 = task * NORM_ROWS;
    size_t r1 = s->n_rows - r0 < NORM_ROWS ? s->n_rows : r0 + NORM_ROWS;

    (void)thread;
    quant_rows(s, r0, r1);
}

/* x = LayerNorm(x + residual), then (int8 path) quantize x for the next product. */
struct norm_step {
    const struct embed_kernels *k;
    float *x;
    const float *residual;
    size_t n_rows;
    size_t dim;
    const float *gamma;
    const float *beta;
    float eps;
    const struct quant_step *quant; /* NULL: float path */
};

static void norm_task(void *arg, size_t task, int thread)
{
    const struct norm_step *s = arg;
    size_t r0 = task * NORM_ROWS;
    size_t r1 = s->n_rows - r0 < NORM_ROWS ? s->n_rows : r0 + NORM_ROWS;

    (void)thread;
    s->k->layernorm(s->x + r0 * s->dim, s->residual ? s->residual + r0 * s->dim : NULL, r1 - r0,
                    s->dim, s->gamma, s->beta, s->eps);
    if (s->quant != NULL)
        quant_rows(s->quant, r0, r1);
}

/* ctx = softmax(Q K^T / sqrt(d)) V per (sequence, head) task, from the fused qkv (T, 3H). */
struct attn_step {
    const struct bert_model *m;
    const size_t *lens;
    const size_t *offs;       /* first token of each sequence */
};

static void attn_task(void *arg, size_t task, int thread)
{
    const struct attn_step *s = arg;
    const struct bert_model *m = s->m;
    const struct bert_workspace *ws = &m->ws;
    size_t seq = task / m->cfg.n_heads;
    size_t head = task % m->cfg.n_heads;
    size_t off = s->offs[seq];
    size_t len = s->lens[seq];
    size_t h = m->cfg.hidden;
    size_t d = h / m->cfg.n_heads;
    size_t lp = round_up(len, EMBED_NR);
    const float *q = ws->qkv + off * 3 * h + head * d;
    float *kp = ws->attn + (size_t)thread * ws->attn_stride;
    float *vp = kp + lp * d;
    float *scores = vp + round_up(d, EMBED_NR) * len;
    struct embed_gemm_f32 g = {0};

    embed_pack_f32_nk(q + h, len, d, 3 * h, kp);
    g.m = len;
    g.n = len;
    g.k = d;
    g.a = q;
    g.lda = 3 * h;
    g.b = kp;
    g.scale = 1.0f / sqrtf((float)d);
    g.c = scores;
    g.ldc = lp;
    m->k->gemm_f32(&g);
    m->k->softmax(scores, len, len, lp);
    embed_pack_f32_kn(q + 2 * h, len, d, 3 * h, vp);
    g.n = d;
    g.k = len;
    g.a = scores;
    g.lda = lp;
    g.b = vp;
    g.scale = 1.0f;
    g.c = ws->ctx + off * h + head * d;
    g.ldc = h;
    m->k->gemm_f32(&g);
}

/* ---- Forward ------------------------------------------------------------------------------- */

static void embed_tokens(struct bert_model *m, const int32_t *ids, const int32_t *type_ids,
                         const size_t *lens, size_t n_seq, float *x)
{
    size_t h = m->cfg.hidden;
    size_t t = 0;

    for (size_t s = 0; s < n_seq; s++) {
        for (size_t p = 0; p < lens[s]; p++, t++) {
            const float *we = m->word_emb + (size_t)ids[t] * h;
            const float *te = m->type_emb + (size_t)type_ids[t] * h;
            const float *pe = m->pos_emb + p * h;
            float *row = x + t * h;

            for (size_t i = 0; i < h; i++)
                row[i] = (we[i] + te[i]) + pe[i];
        }
    }
}

/* out (T, N) = act(in W^T + b); with int8, `in` was quantized into ws->xq (stride kp). */
static void linear(struct bert_model *m, const float *in, size_t n_tokens, size_t k_len,
                   const float *packed, const int8_t *qw, const float *sw, const int32_t *sums,
                   const float *b, size_t n_out, bool gelu, float *out)
{
    struct linear_step s;

    memset(&s, 0, sizeof(s));
    s.k = m->k;
    s.int8 = qw != NULL;
    if (s.int8) {
        s.q.m = n_tokens;
        s.q.n = n_out;
        s.q.kp = round_up(k_len, 4);
        s.q.a = m->ws.xq;
        s.q.lda = s.q.kp;
        s.q.a_scale = m->ws.xs;
        s.q.b = qw;
        s.q.b_sum = sums;
        s.q.b_scale = sw;
        s.q.bias = b;
        s.q.gelu = gelu;
        s.q.c = out;
        s.q.ldc = n_out;
    } else {
        s.f.m = n_tokens;
        s.f.n = n_out;
        s.f.k = k_len;
        s.f.a = in;
        s.f.lda = k_len;
        s.f.b = packed;
        s.f.bias = b;
        s.f.scale = 1.0f;
        s.f.gelu = gelu;
        s.f.c = out;
        s.f.ldc = n_out;
    }
    if (m->ws.pool == NULL) {
        s.row_block = n_tokens;
        s.col_block = n_out;
    } else {
        s.row_block = TASK_ROWS;
        s.col_block = TASK_COLS;
    }
    s.n_col_tasks = (n_out + s.col_block - 1) / s.col_block;
    embed_pool_run(m->ws.pool, linear_task, &s,
                   (n_tokens + s.row_block - 1) / s.row_block * s.n_col_tasks);
}

static void quantize(struct bert_model *m, const float *x, size_t n_rows, size_t k_len)
{
    struct quant_step q = {m->k, x, n_rows, k_len, m->ws.xq, round_up(k_len, 4), m->ws.xs};

    embed_pool_run(m->ws.pool, quant_task, &q, (n_rows + NORM_ROWS - 1) / NORM_ROWS);
}

static void norm(struct bert_model *m, float *x, const float *residual, size_t n_rows,
                 const float *gamma, const float *beta, bool quant)
{
    size_t h = m->cfg.hidden;
    struct quant_step q = {m->k, x, n_rows, h, m->ws.xq, round_up(h, 4), m->ws.xs};
    struct norm_step s = {m->k, x, residual, n_rows, h, gamma, beta, m->cfg.ln_eps,
                          quant ? &q : NULL};

    embed_pool_run(m->ws.pool, norm_task, &s, (n_rows + NORM_ROWS - 1) / NORM_ROWS);
}

frugal_status bert_forward(struct bert_model *m, const int32_t *ids, const int32_t *type_ids,
                           const size_t *lens, size_t n_seq, const float **hidden,
                           struct err *err)
{
    const struct bert_config *c = &m->cfg;
    struct bert_workspace *ws;
    size_t n_tokens = 0;
    size_t max_len = 0;
    size_t h = c->hidden;
    bool q8 = m->opts.int8;
    struct attn_step at;
    frugal_status rc;
    size_t *offs;
    float *x;
    float *tmp;

    for (size_t s = 0; s < n_seq; s++) {
        if (lens[s] == 0 || lens[s] > c->max_positions)
            return err_set(err, FRUGAL_EINVAL, "encoder: sequence %zu has %zu tokens (1..%zu)", s,
                           lens[s], c->max_positions);
        n_tokens += lens[s];
        max_len = lens[s] > max_len ? lens[s] : max_len;
    }
    for (size_t t = 0; t < n_tokens; t++) {
        if (ids[t] < 0 || (size_t)ids[t] >= c->vocab_size || type_ids[t] < 0 ||
            (size_t)type_ids[t] >= c->type_vocab_size)
            return err_set(err, FRUGAL_EINVAL, "encoder: token %zu: id or type out of range", t);
    }
    rc = ws_reserve(m, n_tokens, max_len, n_seq, err);
    if (rc != FRUGAL_OK)
        return rc;
    offs = m->ws.offs;
    for (size_t s = 0, off = 0; s < n_seq; off += lens[s], s++)
        offs[s] = off;
    ws = &m->ws;
    x = ws->x;
    tmp = ws->tmp;
    embed_tokens(m, ids, type_ids, lens, n_seq, x);
    norm(m, x, NULL, n_tokens, m->emb_ln_g, m->emb_ln_b, q8);
    for (size_t i = 0; i < c->n_layers; i++) {
        const struct bert_layer *l = &m->layers[i];
        float *swap;

        linear(m, x, n_tokens, h, l->p_qkv, l->q_qkv, l->s_qkv, l->sum_qkv, l->qkv_b, 3 * h,
               false, ws->qkv);
        at.m = m;
        at.lens = lens;
        at.offs = offs;
        embed_pool_run(ws->pool, attn_task, &at, n_seq * c->n_heads);
        if (q8)
            quantize(m, ws->ctx, n_tokens, h);
        linear(m, ws->ctx, n_tokens, h, l->p_attn_out, l->q_attn_out, l->s_attn_out,
               l->sum_attn_out, l->attn_out_b, h, false, tmp);
        norm(m, tmp, x, n_tokens, l->ln1_g, l->ln1_b, q8);
        swap = x;
        x = tmp;
        tmp = swap;
        linear(m, x, n_tokens, h, l->p_ffn_in, l->q_ffn_in, l->s_ffn_in, l->sum_ffn_in,
               l->ffn_in_b, c->intermediate, true, ws->ffn);
        if (q8)
            quantize(m, ws->ffn, n_tokens, c->intermediate);
        linear(m, ws->ffn, n_tokens, c->intermediate, l->p_ffn_out, l->q_ffn_out, l->s_ffn_out,
               l->sum_ffn_out, l->ffn_out_b, h, false, tmp);
        norm(m, tmp, x, n_tokens, l->ln2_g, l->ln2_b, q8 && i + 1 < c->n_layers);
        swap = x;
        x = tmp;
        tmp = swap;
    }
    *hidden = x;
    return FRUGAL_OK;
}

/* ---- Pooling and heads --------------------------------------------------------------------- */

void bert_pool(const struct bert_model *m, const float *rows, size_t len, float *out)
{
    size_t h = m->cfg.hidden;

    if (m->pooling == BERT_POOL_CLS) {
        memcpy(out, rows, h * sizeof(float));
    } else if (m->pooling == BERT_POOL_MAX) {
        memcpy(out, rows, h * sizeof(float));
        for (size_t t = 1; t < len; t++) {
            for (size_t i = 0; i < h; i++)
                out[i] = rows[t * h + i] > out[i] ? rows[t * h + i] : out[i];
        }
    } else {
        for (size_t i = 0; i < h; i++) {
            float sum = 0;
            for (size_t t = 0; t < len; t++)
                sum += rows[t * h + i];
            out[i] = sum / (float)len;
        }
    }
    if (m->normalize) {
        double norm = 0;
        float inv;

        for (size_t i = 0; i < h; i++)
            norm += (double)out[i] * out[i];
        norm = sqrt(norm);
        inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (size_t i = 0; i < h; i++)
            out[i] *= inv;
    }
}

/* Tokenizes texts[first .. first + n) (or pairs with query) into the workspace. */
static frugal_status pack(struct bert_model *m, const char *query, const char *const *texts,
                          size_t n, size_t *n_tokens, struct err *err)
{
    struct wp_encoding enc;
    frugal_status rc = FRUGAL_OK;
    size_t total = 0;

    wp_encoding_init(&enc);
    for (size_t i = 0; i < n && rc == FRUGAL_OK; i++) {
        if (query != NULL)
            rc = wp_encode_pair(m->tok, query, strlen(query), texts[i], strlen(texts[i]),
                                m->max_seq, &enc);
        else
            rc = wp_encode(m->tok, texts[i], strlen(texts[i]), m->max_seq, &enc);
        if (rc != FRUGAL_OK) {
            rc = err_set(err, rc, "tokenizer: out of memory");
            break;
        }
        rc = ws_reserve(m, total + enc.n, enc.n, n, err);
        if (rc != FRUGAL_OK)
            break;
        memcpy(m->ws.ids + total, enc.ids, enc.n * sizeof(int32_t));
        memcpy(m->ws.type_ids + total, enc.type_ids, enc.n * sizeof(int32_t));
        m->ws.lens[i] = enc.n;
        total += enc.n;
    }
    wp_encoding_release(&enc);
    *n_tokens = total;
    return rc;
}

frugal_status bert_embed(struct bert_model *m, const char *const *texts, size_t n, float *out,
                         struct err *err)
{
    size_t h = m->cfg.hidden;

    for (size_t first = 0; first < n; first += m->opts.max_batch) {
        size_t count = n - first < m->opts.max_batch ? n - first : m->opts.max_batch;
        const float *hidden;
        size_t n_tokens;
        size_t off = 0;
        frugal_status rc = pack(m, NULL, texts + first, count, &n_tokens, err);

        if (rc == FRUGAL_OK)
            rc = bert_forward(m, m->ws.ids, m->ws.type_ids, m->ws.lens, count, &hidden, err);
        if (rc != FRUGAL_OK)
            return rc;
        for (size_t i = 0; i < count; i++) {
            bert_pool(m, hidden + off * h, m->ws.lens[i], out + (first + i) * h);
            off += m->ws.lens[i];
        }
    }
    return FRUGAL_OK;
}

frugal_status bert_rerank(struct bert_model *m, const char *query, const char *const *passages,
                          size_t n, float *scores, struct err *err)
{
    size_t h = m->cfg.hidden;

    if (m->cfg.arch != BERT_ARCH_SEQ_CLS || m->pooler_w == NULL)
        return err_set(err, FRUGAL_EINVAL,
                       "this model is not a cross-encoder (BertForSequenceClassification)");
    for (size_t first = 0; first < n; first += m->opts.max_batch) {
        size_t count = n - first < m->opts.max_batch ? n - first : m->opts.max_batch;
        const float *hidden;
        size_t n_tokens;
        size_t off = 0;
        frugal_status rc = pack(m, query, passages + first, count, &n_tokens, err);

        if (rc == FRUGAL_OK)
            rc = bert_forward(m, m->ws.ids, m->ws.type_ids, m->ws.lens, count, &hidden, err);
        if (rc != FRUGAL_OK)
            return rc;
        for (size_t i = 0; i < count; i++) {
            const float *cls = hidden + off * h;
            double logit = m->cls_b[0];

            /* pooled = tanh(W_p cls + b_p); logit = w_c . pooled + b_c */
            for (size_t o = 0; o < h; o++) {
                double acc = m->pooler_b[o];
                for (size_t j = 0; j < h; j++)
                    acc += (double)m->pooler_w[o * h + j] * cls[j];
                logit += (double)m->cls_w[o] * tanh(acc);
            }
            scores[first + i] = (float)logit;
            off += m->ws.lens[i];
        }
    }
    return FRUGAL_OK;
}
