#!/usr/bin/env bash
# bm25.sh - `make bench-bm25`: BM25 quality and latency of frugal against Xapian on SciFact
# (BEIR) and Cranfield, written into BENCHMARKS.md between <!-- bm25:begin --> and
# <!-- bm25:end --> (the file and the markers are created when missing; nothing else changes).
#
# How: `bin/frugal eval {beir,cranfield} DIR --json` (a temporary database, removed afterwards)
# and bench/xapian_bm25.py on the same folders, both with k1 = 0.9, b = 0.4, the English
# Snowball stemmer and Lucene's 33 English stopwords; each prints one JSON object with
# ndcg@10, recall@100, mrr@10, queries, documents, latency_ms_p50, latency_ms_p99 and the index
# build time. Metrics follow pytrec_eval in both (written twice, independently: src/eval/eval.c
# and the Python script). Latency is per query, single-threaded, search only.
# Data: ${FRUGAL_SHARED:-../shared}/data/{scifact,cranfield}. Needs /usr/bin/python3 with
# python3-xapian. FRUGAL_BIN overrides the binary (default bin/frugal).
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${FRUGAL_SHARED:-../shared}
frugal=${FRUGAL_BIN:-bin/frugal}
python=${PYTHON:-/usr/bin/python3}
out=BENCHMARKS.md

[ -x "$frugal" ] || { echo "bm25.sh: $frugal not built (run make)" >&2; exit 1; }
"$python" -c 'import xapian' 2>/dev/null ||
    { echo "bm25.sh: $python cannot import xapian (apt-get install python3-xapian)" >&2; exit 1; }
for d in scifact cranfield; do
    [ -d "$shared/data/$d" ] || { echo "bm25.sh: no $shared/data/$d" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/frugal-bench-bm25-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

run() { # name, then the command; its JSON goes to $tmp/name.json
    local name=$1
    shift
    echo "== $name" >&2
    "$@" >"$tmp/$name.json"
    cat "$tmp/$name.json" >&2
}
run scifact-frugal "$frugal" --quiet eval beir "$shared/data/scifact" --json
run scifact-xapian "$python" bench/xapian_bm25.py beir "$shared/data/scifact"
run cranfield-frugal "$frugal" --quiet eval cranfield "$shared/data/cranfield" --json
run cranfield-xapian "$python" bench/xapian_bm25.py cranfield "$shared/data/cranfield"

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
cores=$(nproc)
xapian_version=$("$python" -c 'import xapian; print(xapian.version_string())')
frugal_version=$("$frugal" --version 2>/dev/null | head -n 1 || true)

"$python" - "$tmp" "$out" "$cpu" "$cores" "$(date -u +%Y-%m-%d)" "$frugal_version" \
    "$xapian_version" <<'EOF'
import json, os, sys

tmp, out, cpu, cores, date, frugal_version, xapian_version = sys.argv[1:8]
res = {}
for ds in ("scifact", "cranfield"):
    for eng in ("frugal", "xapian"):
        with open(os.path.join(tmp, f"{ds}-{eng}.json")) as f:
            res[ds, eng] = json.load(f)

def ratio(a, b):
    return f"{a / b:.3f}" if b else "n/a"

names = {"scifact": "SciFact (BEIR test)", "cranfield": "Cranfield"}
lines = [
    "## BM25: frugal vs Xapian",
    "",
    f"Machine: {cpu}, {cores} cores. Date: {date}. {frugal_version or 'frugal'}; "
    f"Xapian {xapian_version}. Run by `make bench-bm25` (bench/bm25.sh).",
    "",
    "| ratio frugal / Xapian | " + " | ".join(names[d] for d in ("scifact", "cranfield")) + " |",
    "|---|---|---|",
]
for label, key in (("nDCG@10 (above 1: frugal ranks better)", "ndcg@10"),
                   ("p50 latency (above 1: frugal slower)", "latency_ms_p50"),
                   ("p99 latency (above 1: frugal slower)", "latency_ms_p99")):
    cells = [ratio(res[d, "frugal"][key], res[d, "xapian"][key]) for d in ("scifact", "cranfield")]
    lines.append(f"| {label} | " + " | ".join(cells) + " |")
lines += [
    "",
    "| dataset | engine | queries | docs | nDCG@10 | Recall@100 | MRR@10 | p50 ms | p99 ms "
    "| index build s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for d in ("scifact", "cranfield"):
    for eng, label in (("frugal", "frugal"), ("xapian", "Xapian")):
        r = res[d, eng]
        build = r.get("ingest_seconds", r.get("index_seconds", 0.0))
        lines.append(
            f"| {names[d]} | {label} | {r['queries']} | {r.get('documents', '')} "
            f"| {r['ndcg@10']:.4f} | {r['recall@100']:.4f} | {r['mrr@10']:.4f} "
            f"| {r['latency_ms_p50']:.2f} | {r['latency_ms_p99']:.2f} | {build:.1f} |")
lines += [
    "",
    "Both engines: BM25 k1 = 0.9, b = 0.4; English Snowball (Porter2) stemming; Lucene's 33",
    "English stopwords; title and text of a record searched together; top 100 per query.",
    "frugal ranks documents by their best chunk (default chunking, `group_by_document`);",
    "Xapian indexes each record as one document (BM25Weight(0.9, 0, 1, 0.4, 0.5), STEM_SOME,",
    "QueryParser with default OR and no operators). Metrics as pytrec_eval: linear graded",
    "gains, ties by document id descending, means over the judged queries. Cranfield grades",
    "are Cleverdon's codes 1 (best) .. 4, used as gain 5 - code; -1 is not relevant.",
    "Latency: wall time of each search call (frugal: frugal_search with its SQLite FTS5",
    "index; Xapian: parse + get_mset + reading the ids), single-threaded, nearest-rank",
    "percentiles. Index build: ingesting the corpus (frugal: extraction, chunking, SQLite",
    "writes) or building the Xapian database, in seconds.",
    "Reference point: Pyserini's flat BM25 scores 0.679 nDCG@10 on SciFact.",
]
block = "\n".join(lines)

begin, end = "<!-- bm25:begin -->", "<!-- bm25:end -->"
text = open(out).read() if os.path.exists(out) else "# frugal benchmarks\n"
if begin in text and end in text and text.index(begin) < text.index(end):
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
else:
    head, tail = text.rstrip("\n") + "\n\n", "\n"
text = head + begin + "\n" + block + "\n" + end + tail
with open(out + ".tmp", "w") as f:
    f.write(text)
os.replace(out + ".tmp", out)
print(f"bm25.sh: wrote the BM25 table into {out}", file=sys.stderr)
EOF
