#!/usr/bin/python3
"""torch_bert.py - the PyTorch side of `make bench-embed` (bench/embed.sh).

  torch_bert.py write DIR       writes a random-weight BERT model folder at the all-MiniLM-L6-v2
                                shape (hidden 384, 6 layers, 12 heads, FFN 1536, vocab 30522,
                                512 positions, mean pooling + Normalize) as the Hub lays it out
  torch_bert.py bench DIR TOKENS THREADS SECONDS
                                sentences/s of a plain-torch BERT forward (the same equations
                                as transformers' BertModel: embeddings + LayerNorm, MHA,
                                exact-erf GELU, post-LN residuals) plus mean pooling and
                                normalization on that folder's weights, batches of 32
                                sequences of TOKENS tokens, THREADS intra-op threads;
                                prints one number
"""
import json
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

H, L, NH, I, V, P = 384, 6, 12, 1536, 30522, 512
BATCH = 32


def names():
    out = {
        "embeddings.word_embeddings.weight": (V, H),
        "embeddings.position_embeddings.weight": (P, H),
        "embeddings.token_type_embeddings.weight": (2, H),
        "embeddings.LayerNorm.weight": (H,),
        "embeddings.LayerNorm.bias": (H,),
    }
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            out[p + f"attention.self.{n}.weight"] = (H, H)
            out[p + f"attention.self.{n}.bias"] = (H,)
        out[p + "attention.output.dense.weight"] = (H, H)
        out[p + "attention.output.dense.bias"] = (H,)
        out[p + "attention.output.LayerNorm.weight"] = (H,)
        out[p + "attention.output.LayerNorm.bias"] = (H,)
        out[p + "intermediate.dense.weight"] = (I, H)
        out[p + "intermediate.dense.bias"] = (I,)
        out[p + "output.dense.weight"] = (H, I)
        out[p + "output.dense.bias"] = (H,)
        out[p + "output.LayerNorm.weight"] = (H,)
        out[p + "output.LayerNorm.bias"] = (H,)
    return out


def write(d):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(d, "2_Normalize"), exist_ok=True)
    g = torch.Generator().manual_seed(0)
    header, blobs, off = {}, [], 0
    for name, shape in names().items():
        if "LayerNorm.weight" in name:
            t = torch.ones(shape)
        else:
            t = torch.randn(shape, generator=g) * 0.05
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
           "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": NH,
           "intermediate_size": I, "vocab_size": V, "max_position_embeddings": P,
           "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(d, "modules.json"), "w"))
    json.dump({"word_embedding_dimension": H, "pooling_mode_mean_tokens": True},
              open(os.path.join(d, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": 256, "do_lower_case": False},
              open(os.path.join(d, "sentence_bert_config.json"), "w"))
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
        for i in range(V - 5):
            f.write(f"w{i}\n")


def load(d):
    raw = open(os.path.join(d, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(t["shape"])
    return out


def forward(w, ids, mask):
    b, s = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][0]
    x = x + w["embeddings.position_embeddings.weight"][:s]
    x = F.layer_norm(x, (H,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], 1e-12)
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    d = H // NH
    for i in range(L):
        p = f"encoder.layer.{i}."

        def lin(t, n):
            return F.linear(t, w[p + n + ".weight"], w[p + n + ".bias"])

        q = lin(x, "attention.self.query").view(b, s, NH, d).transpose(1, 2)
        k = lin(x, "attention.self.key").view(b, s, NH, d).transpose(1, 2)
        v = lin(x, "attention.self.value").view(b, s, NH, d).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5 + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, s, H)
        x = F.layer_norm(lin(ctx, "attention.output.dense") + x, (H,),
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], 1e-12)
        f = F.gelu(lin(x, "intermediate.dense"))
        x = F.layer_norm(lin(f, "output.dense") + x, (H,),
                         w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], 1e-12)
    m = mask[:, :, None].float()
    pooled = (x * m).sum(1) / m.sum(1)
    return F.normalize(pooled, dim=-1)


def bench(d, tokens, threads, seconds):
    torch.set_num_threads(threads)
    w = load(d)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, V, (BATCH, tokens), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        forward(w, ids, mask)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            forward(w, ids, mask)
            n += BATCH
        el = time.perf_counter() - t0
    print(f"{n / el:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
