#!/usr/bin/env bash
# make bench-chunking: how the chunk size (with overlap = size / 5) moves BM25 quality and
# latency on SciFact and Cranfield; the table goes into BENCHMARKS.md between the chunking
# markers. This is the measurement behind the default of 200 words with 40 words of overlap.
set -euo pipefail
cd "$(dirname "$0")/.."
FRUGAL=${FRUGAL_BIN:-bin/frugal}
SHARED=${FRUGAL_SHARED:-../shared}
SIZES=${SIZES:-"100 150 200 300 400 512"}
out=$(mktemp)
trap 'rm -f "$out" "$out.md"' EXIT

field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print('%.4f %.4f %.2f %.2f' % (d['ndcg@10'], d['recall@100'], d['latency_ms_p50'], d['latency_ms_p99']))"; }
for n in $SIZES; do
  s=$("$FRUGAL" eval beir "$SHARED/data/scifact" --chunk-tokens "$n" --json | field)
  c=$("$FRUGAL" eval cranfield "$SHARED/data/cranfield" --chunk-tokens "$n" --json | field)
  echo "$n $s $c" >> "$out"
  echo "chunk $n: scifact $s | cranfield $c" >&2
done

{
  echo "## Chunk size: BM25 quality by chunk size"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores. Date: $(date -u +%F)."
  echo "Run by \`make bench-chunking\` (bench/chunking.sh). Overlap = size / 5; documents rank by their best chunk."
  echo
  echo "| chunk words | SciFact nDCG@10 | SciFact R@100 | SciFact p50 ms | Cranfield nDCG@10 | Cranfield R@100 | Cranfield p50 ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  while read -r n s_nd s_r s_p50 _ c_nd c_r c_p50 _; do
    echo "| $n | $s_nd | $s_r | $s_p50 | $c_nd | $c_r | $c_p50 |"
  done < "$out"
} > "$out.md"

/usr/bin/python3 - "$out.md" <<'PY'
import sys, pathlib
table = pathlib.Path(sys.argv[1]).read_text()
p = pathlib.Path("BENCHMARKS.md")
text = p.read_text() if p.exists() else "# frugal benchmarks\n"
begin, end = "<!-- chunking:begin -->", "<!-- chunking:end -->"
block = begin + "\n" + table + end
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
p.write_text(text)
PY
echo "bench-chunking: BENCHMARKS.md updated" >&2
