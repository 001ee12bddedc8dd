#!/usr/bin/env bash
# squad.sh - extractive answers on SQuAD v1.1 dev (2,067 paragraphs as the corpus, 10,570
# questions): answer support, span F1, the CPU share at the default confidence threshold and its
# support, the compressed context's support and token ratio, latency, and the coverage/support
# curve; plus the confidence model's fit/check halves (bench/squad_fit.py). The tables go into
# BENCHMARKS.md between the squad markers (appended when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FRUGAL_BIN:-bin/frugal}
SQUAD=${SQUAD:-../shared/data/squad-v1.1/dev-v1.1.derived.json.gz}
out=$(mktemp -d "${TMPDIR:-/tmp}/frugal-squad.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$BIN" -q eval squad "$SQUAD" --json --features "$out/features.tsv" > "$out/squad.json"
/usr/bin/python3 bench/squad_fit.py "$out/features.tsv" > "$out/fit.txt"
lscpu | sed -n 's/^Model name: *//p' | head -1 > "$out/cpu.txt"

/usr/bin/python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
d = json.loads((out / "squad.json").read_text())
fit = (out / "fit.txt").read_text()
cpu = (out / "cpu.txt").read_text().strip()
rows = [
    ("questions", "%d" % d["questions"]),
    ("support (answer sentence contains a gold answer)", "%.4f" % d["support"]),
    ("span support (short span, else the sentence)", "%.4f" % d["span_support"]),
    ("F1 (short span, else the sentence)", "%.4f" % d["f1"]),
    ("retrieval support (top-5 chunks whole contain a gold answer)", "%.4f" % d["retrieval_support"]),
    ("threshold (default)", "%.2f" % d["threshold"]),
    ("cpu_share (confidence >= threshold)", "%.4f" % d["cpu_share"]),
    ("cpu_support (support on that share)", "%.4f" % d["cpu_support"]),
    ("context_support (compressed context, 240-token budget)", "%.4f" % d["context_support"]),
    ("context_token_ratio (vs top-5 chunks whole)", "%.4f" % d["context_token_ratio"]),
    ("latency p50 / p99 per question (retrieve + extract)", "%.2f / %.2f ms" % (d["latency_ms_p50"], d["latency_ms_p99"])),
]
t = "SQuAD v1.1 dev, `frugal eval squad` (BM25 top 5 chunks, extractive route; %s):\n\n" % cpu
t += "| measure | value |\n|---|---|\n" + "".join("| %s | %s |\n" % r for r in rows)
t += ("\nGoals of issue 6: >= 60%% of questions on the CPU at >= 90%% support: %s (%.1f%% at %.1f%%); "
      "compressed context <= 25%% of the top-5 tokens at no loss of support: ratio %.3f, support %.4f vs %.4f "
      "for the top-5 chunks whole (%s).\n" % (
          "met" if d["cpu_share"] >= 0.6 and d["cpu_support"] >= 0.9 else "not met",
          100 * d["cpu_share"], 100 * d["cpu_support"], d["context_token_ratio"],
          d["context_support"], d["retrieval_support"],
          "met" if d["context_token_ratio"] <= 0.25 and d["context_support"] >= d["retrieval_support"] else "not met: support is lost"))
t += "\nCoverage against support as the confidence threshold moves:\n\n| threshold | coverage | support |\n|---|---|---|\n"
t += "".join("| %.1f | %.4f | %.4f |\n" % (p["threshold"], p["coverage"], p["support"]) for p in d["curve"])
t += "\nConfidence model (bench/squad_fit.py: fitted on half of the articles, checked on the other half):\n\n```\n" + fit + "```\n"
p = pathlib.Path("BENCHMARKS.md")
text = p.read_text()
begin, end = "<!-- squad:begin -->", "<!-- squad:end -->"
block = begin + "\n" + t + end
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n## Extractive answers (SQuAD v1.1)\n\n" + block + "\n"
p.write_text(text)
PY
echo "bench-squad: BENCHMARKS.md updated" >&2
