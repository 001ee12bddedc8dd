#!/usr/bin/python3
"""xapian_bm25.py - the Xapian BM25 baseline for `make bench-bm25`.

What: indexes a BEIR folder (corpus.jsonl[.gz], queries[.SPLIT].jsonl, qrels/SPLIT.tsv) or the
Cranfield collection (cran.all.1400, cran.qry, cranqrel) with Xapian, ranks the top 100
documents of every judged query, and prints one JSON object with the same keys as
`frugal eval ... --json`: ndcg@10, recall@100, mrr@10, queries, documents, latency_ms_p50,
latency_ms_p99, index_seconds, index_bytes.

How, chosen to match frugal's BM25 defaults so that the comparison is about the engine:
  - weighting: BM25Weight(k1=0.9, k2=0, k3=1, b=0.4, min_normlen=0.5) (Anserini's BEIR setting);
  - one Xapian document per record: title, then text (a position gap between them), no field
    weights; the record id is the document data;
  - English Snowball stemmer (Porter2, the one frugal uses) with STEM_SOME at index and query
    time: stemmed terms ("Z" prefix) are searched, except for capitalised query words, which
    Xapian keeps unstemmed by design;
  - stopwords: Lucene's 33 English stopwords (the list frugal's English analyzer defaults to),
    removed at index time (STOP_ALL, so they do not count in document lengths) and in queries;
  - queries: QueryParser with the default operator OR and flags=0, i.e. no boolean operators,
    no +/- and no quoted phrases, because frugal never reads a query as a query language.
    Xapian still turns hyphenated words ("anti-inflammatory") into phrase subqueries; that is
    Xapian's own behaviour and is left as is.
Metrics are computed here, independently of the C code, with pytrec_eval's (trec_eval's)
definitions: ranking by score descending (compared as C floats, as trec_eval stores them), ties
broken by document id descending (strcmp);
nDCG@10 with linear gains (the grade) and log2(rank + 1) discount, ideal DCG over the query's
judged documents; Recall@100 over documents with grade > 0; MRR@10 = 1 / rank of the first
relevant document within 10, else 0. Only queries with at least one judgement > 0 count.
Cranfield grades are Cleverdon's codes (1 = complete answer .. 4 = minimum interest,
-1 = no interest); the gain is 5 - code, and -1 (and 5) count as not relevant.
Latency: wall time per query (parse + search + reading the 100 ids), single-threaded, over the
judged queries in file order; p50/p99 are nearest-rank percentiles.

Scale mode (`xapian_bm25.py scale CORPUS.jsonl QUERIES.tsv`, used by bench/bm25_scale.sh): the
same index and query settings on bench/make_scale_corpus.py's corpus (but without positions unless
--positions: frugal's index has none), speed only: build time, size,
and p50/p99 of top-10 searches over every query (id TAB text), timed on a second pass after an
untimed first one that warms the page cache (frugal's driver does the same).

Why: a mature, independent BM25 engine on the same data and settings is the honest yardstick
for frugal's quality and speed. Runs with the system python (python3-xapian).
"""
import argparse
import gzip
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import time

import xapian

LUCENE_STOPWORDS = (
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with"
).split()


# ---- data loading ------------------------------------------------------------------------------

def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def first_existing(dirname, names):
    for name in names:
        path = os.path.join(dirname, name)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{dirname}: none of {', '.join(names)}")


def load_beir(dirname, split):
    corpus_path = first_existing(dirname, ["corpus.jsonl", "corpus.jsonl.gz"])
    queries_path = first_existing(dirname, [f"queries.{split}.jsonl", f"queries.{split}.jsonl.gz",
                                            "queries.jsonl", "queries.jsonl.gz"])
    docs = []
    for line in read_text(corpus_path).splitlines():
        if line.strip():
            rec = json.loads(line)
            docs.append((str(rec["_id"]), rec.get("title") or "", rec.get("text") or ""))
    queries = []
    for line in read_text(queries_path).splitlines():
        if line.strip():
            rec = json.loads(line)
            queries.append((str(rec["_id"]), rec.get("text") or ""))
    qrels = {}
    lines = read_text(os.path.join(dirname, "qrels", f"{split}.tsv")).splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        cols = line.split("\t")
        if i == 0 and cols[0] == "query-id":
            continue
        qrels.setdefault(cols[0], {})[cols[1]] = int(cols[2])
    return docs, queries, qrels


def smart_records(text):
    """Splits a SMART file into records: a list of (id, {tag: [lines]})."""
    records = []
    tag = None
    for line in text.splitlines():
        if line.startswith(".I ") or line.strip() == ".I":
            records.append((line[2:].strip(), {}))
            tag = None
        elif line.rstrip() in (".T", ".A", ".B", ".W"):
            tag = line.rstrip()[1]
            records[-1][1].setdefault(tag, [])
        elif tag is not None and line.strip():
            records[-1][1][tag].append(line.strip())
    return records


def cranfield_relevance(code):
    return 5 - code if 1 <= code <= 4 else 0


def load_cranfield(dirname):
    docs = []
    for rid, fields in smart_records(read_text(os.path.join(dirname, "cran.all.1400"))):
        docs.append((rid, " ".join(fields.get("T", [])), " ".join(fields.get("W", []))))
    queries = []
    recs = smart_records(read_text(os.path.join(dirname, "cran.qry")))
    for number, (_, fields) in enumerate(recs, start=1):  # cranqrel numbers queries 1..225
        queries.append((str(number), " ".join(fields.get("W", []))))
    qrels = {}
    for line in read_text(os.path.join(dirname, "cranqrel")).splitlines():
        cols = line.split()
        if cols:
            qrels.setdefault(cols[0], {})[cols[1]] = cranfield_relevance(int(cols[2]))
    return docs, queries, qrels


# ---- metrics (trec_eval definitions) ----------------------------------------------------------

def ndcg_at(ranked_ids, judged, k):
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked_ids[:k]))
    ideal = sorted((max(g, 0) for g in judged.values()), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked_ids, judged, k):
    n_rel = sum(1 for g in judged.values() if g > 0)
    hit = sum(1 for d in ranked_ids[:k] if judged.get(d, 0) > 0)
    return hit / n_rel if n_rel else 0.0


def mrr_at(ranked_ids, judged, k):
    for i, d in enumerate(ranked_ids[:k]):
        if judged.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(s)))
    return s[min(rank, len(s)) - 1]


def as_float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def trec_order(scored):
    """scored: [(doc_id, score)] -> ids by score desc, ties by doc_id desc (byte order).
    trec_eval holds scores as C floats, so they are compared at float precision."""
    ordered = sorted(scored, key=lambda t: t[0].encode("utf-8"), reverse=True)
    ordered.sort(key=lambda t: as_float32(t[1]), reverse=True)  # stable: keeps id order in ties
    return [d for d, _ in ordered]


# ---- Xapian ------------------------------------------------------------------------------------

def make_stopper():
    stopper = xapian.SimpleStopper()
    for w in LUCENE_STOPWORDS:
        stopper.add(w)
    return stopper


def build_index(path, docs, positions=True):
    db = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OVERWRITE)
    stemmer = xapian.Stem("english")
    stopper = make_stopper()
    tg = xapian.TermGenerator()
    tg.set_stemmer(stemmer)
    tg.set_stemming_strategy(xapian.TermGenerator.STEM_SOME)
    tg.set_stopper(stopper)
    tg.set_stopper_strategy(xapian.TermGenerator.STOP_ALL)
    for doc_id, title, text in docs:
        doc = xapian.Document()
        tg.set_document(doc)
        if not positions:  # the scale mode: frequencies only, like frugal's index
            if title:
                tg.index_text_without_positions(title)
            tg.index_text_without_positions(text)
        else:
            if title:
                tg.index_text(title)
                tg.increase_termpos()
            tg.index_text(text)
        doc.set_data(doc_id)
        db.add_document(doc)
    db.commit()
    db.close()


def run(docs, queries, qrels, k=100):
    tmp = tempfile.mkdtemp(prefix="xapian-bm25-")
    try:
        t0 = time.perf_counter()
        build_index(os.path.join(tmp, "db"), docs)
        index_seconds = time.perf_counter() - t0
        index_bytes = sum(os.path.getsize(os.path.join(r, f))
                          for r, _, fs in os.walk(os.path.join(tmp, "db")) for f in fs)

        db = xapian.Database(os.path.join(tmp, "db"))
        qp = xapian.QueryParser()
        qp.set_database(db)
        qp.set_stemmer(xapian.Stem("english"))
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        stopper = make_stopper()
        qp.set_stopper(stopper)
        qp.set_default_op(xapian.Query.OP_OR)
        enquire = xapian.Enquire(db)
        enquire.set_weighting_scheme(xapian.BM25Weight(0.9, 0, 1, 0.4, 0.5))

        ndcg = recall = mrr = 0.0
        latencies = []
        n = 0
        for qid, text in queries:
            judged = qrels.get(qid)
            if not judged or not any(g > 0 for g in judged.values()):
                continue
            t = time.perf_counter()
            enquire.set_query(qp.parse_query(text, 0))
            mset = enquire.get_mset(0, k)
            scored = [(m.document.get_data().decode("utf-8"), m.weight) for m in mset]
            latencies.append((time.perf_counter() - t) * 1000.0)
            ranked = trec_order(scored)
            ndcg += ndcg_at(ranked, judged, 10)
            recall += recall_at(ranked, judged, 100)
            mrr += mrr_at(ranked, judged, 10)
            n += 1
        n_docs = db.get_doccount()
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "ndcg@10": ndcg / n if n else 0.0,
        "recall@100": recall / n if n else 0.0,
        "mrr@10": mrr / n if n else 0.0,
        "queries": n,
        "documents": n_docs,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p99": percentile(latencies, 99),
        "index_seconds": index_seconds,
        "index_bytes": index_bytes,
    }


# ---- scale mode: speed only, on bench/make_scale_corpus.py's corpus ------------------------------

def iter_scale_docs(corpus_path):
    with open(corpus_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                yield str(rec["_id"]), rec.get("title") or "", rec.get("text") or ""


def read_queries_tsv(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                qid, _, text = line.partition("\t")
                out.append((qid, text))
    return out


def run_scale(corpus_path, queries_path, k=10, db_dir=None, top_out=None, positions=False,
              subset_path=None):
    """Builds the index of corpus_path (JSONL), then times top-k searches of every query of
    queries_path (id TAB text): the same settings as run(), without judgements, and by default
    without positional information (frugal's index holds none; Xapian then runs the phrase
    subqueries it makes of hyphenated words as AND)."""
    tmp = tempfile.mkdtemp(prefix="xapian-bm25-scale-", dir=db_dir)
    try:
        path = os.path.join(tmp, "db")
        t0 = time.perf_counter()
        build_index(path, iter_scale_docs(corpus_path), positions)
        index_seconds = time.perf_counter() - t0
        index_bytes = sum(os.path.getsize(os.path.join(r, f))
                          for r, _, fs in os.walk(path) for f in fs)
        db = xapian.Database(path)
        qp = xapian.QueryParser()
        qp.set_database(db)
        qp.set_stemmer(xapian.Stem("english"))
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        stopper = make_stopper()
        qp.set_stopper(stopper)
        qp.set_default_op(xapian.Query.OP_OR)
        enquire = xapian.Enquire(db)
        enquire.set_weighting_scheme(xapian.BM25Weight(0.9, 0, 1, 0.4, 0.5))
        def timed(queries):
            latencies = []
            tops = []
            for _ in range(2):  # the first pass warms the page cache; the second is timed
                latencies = []
                tops = []
                for qid, text in queries:
                    t = time.perf_counter()
                    enquire.set_query(qp.parse_query(text, 0))
                    mset = enquire.get_mset(0, k)
                    ids = [m.document.get_data().decode("utf-8") for m in mset]
                    latencies.append((time.perf_counter() - t) * 1000.0)
                    tops.append((qid, ids))
            return latencies, tops

        latencies, tops = timed(read_queries_tsv(queries_path))
        sub_latencies = timed(read_queries_tsv(subset_path))[0] if subset_path else []
        n_docs = db.get_doccount()
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if top_out:
        with open(top_out, "w", encoding="utf-8") as f:
            for qid, ids in tops:
                f.write(qid + "\t" + " ".join(ids) + "\n")
    return {
        "queries": len(latencies),
        "documents": n_docs,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p99": percentile(latencies, 99),
        "latency_ms_mean": sum(latencies) / len(latencies) if latencies else 0.0,
        "subset_queries": len(sub_latencies),
        "subset_latency_ms_p50": percentile(sub_latencies, 50),
        "subset_latency_ms_p99": percentile(sub_latencies, 99),
        "index_seconds": index_seconds,
        "index_bytes": index_bytes,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["beir", "cranfield", "scale"])
    ap.add_argument("dir", help="beir/cranfield: the data folder; scale: corpus.jsonl")
    ap.add_argument("queries", nargs="?", help="scale: queries.tsv (id TAB text)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--k", type=int, default=10, help="scale: hits per query")
    ap.add_argument("--tmp", help="scale: where to build the database (default $TMPDIR)")
    ap.add_argument("--top", help="scale: write each query's ranked ids here")
    ap.add_argument("--positions", action="store_true", help="scale: index positions too")
    ap.add_argument("--subset", help="scale: a second query file, timed separately (subset_*)")
    args = ap.parse_args()
    if args.kind == "scale":
        if not args.queries:
            ap.error("scale needs CORPUS.jsonl and QUERIES.tsv")
        json.dump(run_scale(args.dir, args.queries, args.k, args.tmp, args.top, args.positions,
                            args.subset), sys.stdout)
        sys.stdout.write("\n")
        return
    if args.kind == "beir":
        data = load_beir(args.dir, args.split)
    else:
        data = load_cranfield(args.dir)
    json.dump(run(*data), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
