/*
 * bert.h - BERT-family models in C: loading a Hugging Face model folder (model.c) and running
 * the encoder, pooling and the cross-encoder head (encoder.c).
 *
 * A model folder is what the Hub ships: config.json (architectures BertModel or
 * BertForSequenceClassification with one label, hidden_act gelu, absolute positions),
 * model.safetensors (F32, F16 or BF16 weights; names with or without the "bert." prefix; extra
 * tensors such as embeddings.position_ids are ignored), vocab.txt and/or tokenizer.json,
 * tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars,
 * model_max_length), and for sentence-transformers: modules.json, the Pooling module's
 * config.json (mean, cls or max), a Normalize module, sentence_bert_config.json
 * (max_seq_length). Inputs are truncated to max_seq: the smallest of max_seq_length (else
 * model_max_length) and max_position_embeddings. Missing pooling information means mean pooling
 * without normalization (sentence-transformers' default for a plain transformers model).
 *
 * Errors name the file and the tensor and say what was expected, e.g. "model.safetensors: tensor
 * encoder.layer.1.attention.self.query.weight has shape [64,32], expected [64,64]".
 *
 * Threading: a bert_model owns one workspace, so one thread at a time may run it (open one
 * model per thread, or lock). Inside a call, the encoder spreads its work over `n_threads`
 * threads of its own (bert_opts.n_threads: the caller plus n_threads - 1 workers started by
 * bert_model_open and joined by bert_model_close).
 */
#ifndef FRUGAL_EMBED_BERT_H
#define FRUGAL_EMBED_BERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "embed/kernels.h"
#include "embed/safetensors.h"
#include "embed/threadpool.h"
#include "text/wordpiece.h"

enum bert_arch { BERT_ARCH_MODEL, BERT_ARCH_SEQ_CLS };
enum bert_pooling { BERT_POOL_MEAN, BERT_POOL_CLS, BERT_POOL_MAX };

struct bert_config {
    enum bert_arch arch;
    size_t vocab_size;
    size_t hidden;           /* H */
    size_t n_layers;
    size_t n_heads;
    size_t intermediate;     /* I, the FFN width */
    size_t max_positions;
    size_t type_vocab_size;
    float ln_eps;
};

/* One transformer layer's weights; each pointer either borrows the mapped file or is owned by
 * the model (bert_model.owned). Linear weights are PyTorch's (out, in) row-major. */
struct bert_layer {
    const float *qkv_w;      /* (3H, H): query, key, value rows stacked (always owned) */
    const float *qkv_b;      /* (3H) owned */
    const float *attn_out_w; /* (H, H) */
    const float *attn_out_b; /* (H) */
    const float *ln1_g;      /* (H) */
    const float *ln1_b;
    const float *ffn_in_w;   /* (I, H) */
    const float *ffn_in_b;   /* (I) */
    const float *ffn_out_w;  /* (H, I) */
    const float *ffn_out_b;  /* (H) */
    const float *ln2_g;      /* (H) */
    const float *ln2_b;
    /* The four linear layers packed for the matrix products (kernels.h), owned; float panels
     * by default, or with bert_opts.int8 int8 panels (per-output-row symmetric scales,
     * scale = max|w| / 127) and their column sums. The unused set is NULL. */
    float *p_qkv;            /* packed (3H, H) */
    float *p_attn_out;       /* packed (H, H) */
    float *p_ffn_in;         /* packed (I, H) */
    float *p_ffn_out;        /* packed (H, I) */
    int8_t *q_qkv;           /* packed int8 (3H, H) */
    float *s_qkv;            /* (3H) */
    int32_t *sum_qkv;        /* (3H) */
    int8_t *q_attn_out;      /* packed int8 (H, H) */
    float *s_attn_out;
    int32_t *sum_attn_out;
    int8_t *q_ffn_in;        /* packed int8 (I, H) */
    float *s_ffn_in;
    int32_t *sum_ffn_in;
    int8_t *q_ffn_out;       /* packed int8 (H, I) */
    float *s_ffn_out;
    int32_t *sum_ffn_out;
};

/* Buffers of one forward pass, sized for the largest batch seen (grown, never per layer), and
 * the encoder's threads. Managed by encoder.c; bert_workspace_release frees it all. */
struct bert_workspace {
    size_t cap_tokens;       /* rows the token buffers hold */
    size_t cap_len;          /* longest sequence the attention scratch holds */
    float *x;                /* (T, H) hidden states, row-major, sequences packed */
    float *tmp;              /* (T, H) */
    float *qkv;              /* (T, 3H) */
    float *ctx;              /* (T, H) attention output before its projection */
    float *ffn;              /* (T, I) */
    float *attn;             /* (n_threads, attn_stride): packed K, packed V and scores */
    size_t attn_stride;      /* floats of attention scratch per thread */
    int8_t *xq;              /* (T, max(H, I) rounded up to 4) quantized activations (int8) */
    float *xs;               /* (T) their scales */
    int32_t *ids;            /* (T) packed token ids */
    int32_t *type_ids;       /* (T) */
    size_t *lens;            /* (cap_seqs) */
    size_t *offs;            /* (cap_seqs) first token of each sequence */
    size_t cap_seqs;
    struct embed_pool *pool; /* n_threads - 1 workers, or NULL for one thread */
};

struct bert_opts {
    int n_threads;           /* threads per call, the caller included; 0 = 1 */
    bool int8;               /* dynamic int8 quantization of the linear layers */
    size_t max_batch;        /* sequences per forward pass in bert_embed (0 = 32) */
};
void bert_default_opts(struct bert_opts *opts);

struct bert_model {
    struct bert_config cfg;
    struct bert_opts opts;
    enum bert_pooling pooling;
    bool normalize;
    size_t max_seq;          /* tokens per input, specials included */
    struct wp_tokenizer *tok;
    struct st_file st;
    const struct embed_kernels *k;
    const float *word_emb;   /* (V, H) */
    const float *pos_emb;    /* (P, H) */
    const float *type_emb;   /* (TV, H) */
    const float *emb_ln_g;   /* (H) */
    const float *emb_ln_b;
    struct bert_layer *layers; /* (n_layers) owned */
    const float *pooler_w;   /* (H, H) or NULL */
    const float *pooler_b;
    const float *cls_w;      /* (1, H) classifier, BERT_ARCH_SEQ_CLS only */
    const float *cls_b;      /* (1) */
    void **owned;            /* (n_owned) buffers the model frees */
    size_t n_owned;
    size_t cap_owned;
    struct bert_workspace ws;
};

/* model.c */
frugal_status bert_model_open(const char *dir, const struct bert_opts *opts,
                              struct bert_model **out, struct err *err);
void bert_model_close(struct bert_model *m);
size_t bert_dim(const struct bert_model *m);
/* Tracks p (frugal_malloc'ed) as owned by m; frees it and fails when out of memory. */
frugal_status bert_model_own(struct bert_model *m, void *p);
/* encoder.c, for model.c */
/* Packs the linear weights for the matrix products (quantized with bert_opts.int8) and starts
 * the worker threads; called by bert_model_open once the weights are loaded. */
frugal_status bert_prepare(struct bert_model *m, struct err *err);
/* Frees the workspace and joins the workers (the packed weights are owned by the model). */
void bert_workspace_release(struct bert_workspace *ws);

/* encoder.c */
/* Runs the encoder over n_seq packed sequences: ids and type_ids hold lens[0] tokens, then
 * lens[1], ... (all borrowed). *hidden points to the last hidden states, (sum lens, H)
 * row-major, owned by the model's workspace and valid until the next call. */
frugal_status bert_forward(struct bert_model *m, const int32_t *ids, const int32_t *type_ids,
                           const size_t *lens, size_t n_seq, const float **hidden,
                           struct err *err);
/* Pools one sequence's hidden rows (len, H) into out (H) as the model says, normalized if the
 * model has a Normalize module. */
void bert_pool(const struct bert_model *m, const float *rows, size_t len, float *out);
/* Embeds n texts (borrowed, NUL-terminated) into out: (n, bert_dim) row-major. */
frugal_status bert_embed(struct bert_model *m, const char *const *texts, size_t n, float *out,
                         struct err *err);
/* Scores n (query, passage) pairs with a cross-encoder: scores[i] is the raw logit. */
frugal_status bert_rerank(struct bert_model *m, const char *query, const char *const *passages,
                          size_t n, float *scores, struct err *err);

#endif
