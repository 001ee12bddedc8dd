#!/usr/bin/env python3
"""glove_ann.py - the GloVe-100d angular ANN dataset for bench/ann.sh, built from frugal's .fsv.

Usage: glove_ann.py FSV OUTDIR [NQ]

Reads the float16 rows of glove-6b-100d.fsv (format: docs/formats.md, "Static word vectors"),
normalizes them to unit length (cosine = inner product), holds out 10,000 rows as queries with a
fixed seed (numpy default_rng(20261127).permutation, the first 10,000) and writes into OUTDIR:
  base.fvecs   the other rows, in file (frequency) order
  query.fvecs  the 10,000 held-out rows, in permutation order
  gt.ivecs     exact top-100 by inner product (0-based rows of base.fvecs), numpy brute force in
               float32, chunked
Written once: when all three exist (with the expected sizes) nothing is recomputed. With NQ (<
10,000) also query-NQ.fvecs / gt-NQ.ivecs: the first NQ queries and their rows of gt.ivecs, the
fixed-seed subset bench/ann.sh uses to keep the run short. Prints the paths it would use.
Needs numpy (Debian python3-numpy; run with /usr/bin/python3 as bench/ann.sh does).
"""
import os, struct, sys, zlib
import numpy as np

N_QUERIES, GT_K, SEED = 10000, 100, 20261127


def read_fsv(path):
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 128 or buf[:8] != b"FRGLSTV\n":
        sys.exit(f"glove_ann.py: {path}: not a .fsv file")
    version, hsize, dim, rtype = struct.unpack_from("<4I", buf, 8)
    n_words, n_slots, strings_size, total = struct.unpack_from("<4Q", buf, 24)
    offs = struct.unpack_from("<4Q", buf, 56)
    crcs = struct.unpack_from("<4I", buf, 88)
    (hcrc,) = struct.unpack_from("<I", buf, 124)
    if version != 1 or hsize != 128 or zlib.crc32(buf[:124]) != hcrc:
        sys.exit(f"glove_ann.py: {path}: unsupported version {version} or damaged header")
    if total != len(buf):
        sys.exit(f"glove_ann.py: {path}: file size {len(buf)}, header says {total}")
    if rtype != 1:
        sys.exit(f"glove_ann.py: {path}: row type {rtype}, need 1 (float16; not the int8 file)")
    rows_off, rows_len = offs[3], n_words * dim * 2
    if zlib.crc32(buf[rows_off:rows_off + rows_len]) != crcs[3]:
        sys.exit(f"glove_ann.py: {path}: rows section CRC mismatch")
    rows = np.frombuffer(buf, dtype="<f2", count=n_words * dim, offset=rows_off)
    return rows.reshape(n_words, dim).astype(np.float32)


def write_vecs(path, a):
    a = np.ascontiguousarray(a)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = a.view(np.int32)
    tmp = path + ".tmp"
    out.tofile(tmp)
    os.replace(tmp, path)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def ground_truth(base, query, k, chunk=500):
    gt = np.empty((len(query), k), dtype=np.int32)
    for s in range(0, len(query), chunk):
        sims = query[s:s + chunk] @ base.T  # (chunk, n) float32
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        gt[s:s + chunk] = np.take_along_axis(part, order, axis=1)
        print(f"glove_ann.py: ground truth {min(s + chunk, len(query))}/{len(query)}",
              file=sys.stderr, flush=True)
    return gt


def main():
    fsv, outdir = sys.argv[1], sys.argv[2]
    nq = int(sys.argv[3]) if len(sys.argv) > 3 else N_QUERIES
    os.makedirs(outdir, exist_ok=True)
    bp, qp, gp = (os.path.join(outdir, f) for f in ("base.fvecs", "query.fvecs", "gt.ivecs"))
    have = all(os.path.exists(p) for p in (bp, qp, gp)) and \
        os.path.getsize(qp) == N_QUERIES * 101 * 4 and os.path.getsize(gp) == N_QUERIES * 101 * 4
    if not have:
        vecs = read_fsv(fsv)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # an all-zero row stays zero (none expected)
        vecs /= norms
        perm = np.random.default_rng(SEED).permutation(len(vecs))
        qidx = perm[:N_QUERIES]
        mask = np.ones(len(vecs), dtype=bool)
        mask[qidx] = False
        base, query = vecs[mask], vecs[qidx]
        print(f"glove_ann.py: {len(vecs)} words, dim {vecs.shape[1]}: {len(base)} base, "
              f"{len(query)} queries; exact top-{GT_K}", file=sys.stderr, flush=True)
        gt = ground_truth(base, query, GT_K)
        write_vecs(bp, base)
        write_vecs(qp, query)
        write_vecs(gp, gt.view(np.float32))
    if nq < N_QUERIES:
        sq, sg = os.path.join(outdir, f"query-{nq}.fvecs"), os.path.join(outdir, f"gt-{nq}.ivecs")
        if not (os.path.exists(sq) and os.path.exists(sg)) or not have:
            write_vecs(sq, read_vecs(qp, np.float32)[:nq])
            write_vecs(sg, read_vecs(gp, np.int32)[:nq].view(np.float32))
        qp, gp = sq, sg
    print(bp, qp, gp)


main()
