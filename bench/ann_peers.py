#!/usr/bin/env python3
"""ann_peers.py - hnswlib and FAISS IndexHNSWFlat for bench/ann.sh (SIFT10K, GloVe-100d angular).

Usage: ann_peers.py {hnswlib|faiss} BASE.fvecs QUERY.fvecs GT.ivecs M EF_CONSTRUCTION EF,EF,... [l2|cos]
One thread, k = 10. Metric l2 (default) or cos: hnswlib space "cosine", FAISS inner product on
the vectors normalized here (bench/glove_ann.py already writes them normalized). Prints one JSON object: build_s, bytes_per_vector (serialized index size /
n, the closest portable measure of memory), sweep [{ef, qps, recall}]. Each ef runs the queries
REPEAT (ANN_REPEAT, default 5) times and keeps the best time, as bench/ann.sh does for frugal.
"""
import json, os, sys, tempfile, time
import numpy as np

def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)

def main():
    lib, bp, qp, gp, m, efc, efs = sys.argv[1:8]
    m, efc = int(m), int(efc)
    metric = sys.argv[8] if len(sys.argv) > 8 else "l2"
    efs = [int(x) for x in efs.split(",")]
    base, query = read_vecs(bp, np.float32), read_vecs(qp, np.float32)
    if metric == "cos":
        base /= np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-30)
    gt = read_vecs(gp, np.int32)[:, :10]
    n, dim = base.shape
    k, repeat = 10, int(os.environ.get("ANN_REPEAT", "5"))
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "index")
    if lib == "hnswlib":
        import hnswlib
        idx = hnswlib.Index(space="cosine" if metric == "cos" else "l2", dim=dim)
        t0 = time.perf_counter()
        idx.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=42)
        idx.set_num_threads(1)
        idx.add_items(base, np.arange(n))
        build = time.perf_counter() - t0
        idx.save_index(path)
        def search(ef):
            idx.set_ef(ef)
            return idx.knn_query(query, k=k)[0]
    else:
        import faiss
        faiss.omp_set_num_threads(1)
        idx = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT if metric == "cos"
                                  else faiss.METRIC_L2)
        idx.hnsw.efConstruction = efc
        t0 = time.perf_counter()
        idx.add(base)
        build = time.perf_counter() - t0
        faiss.write_index(idx, path)
        def search(ef):
            idx.hnsw.efSearch = ef
            return idx.search(query, k)[1]
    size = os.path.getsize(path)
    os.unlink(path)
    os.rmdir(tmp)
    sweep = []
    for ef in efs:
        best = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = search(ef)
            dt = time.perf_counter() - t0
            best = dt if best is None or dt < best else best
        hits = sum(len(set(res[i]) & set(gt[i])) for i in range(len(query)))
        sweep.append({"ef": ef, "qps": len(query) / best, "recall": hits / (len(query) * k)})
    print(json.dumps({"build_s": build, "bytes_per_vector": size / n, "sweep": sweep}))

main()
