#!/usr/bin/env bash
# squad.sh - extractive answers on SQuAD v1.1 dev (2,067 paragraphs as the corpus, 10,570
# questions): answer support, span F1, the CPU share at the default confidence threshold and its
# support, the compressed context's support and token ratio, latency, and the coverage/support
# curve; plus the confidence model's and the sentence score's fit/check halves (bench/squad_fit.py,
# about three minutes for the sentence score), the adaptive context budget's tuning (fitting half)
# and the compressed context on each half and on the questions a generator would answer, and
# contexts drawn from the top 8 or 10 chunks (simulated, squad_fit.py --deep). The tables go into
# BENCHMARKS.md between the squad markers (appended when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FRUGAL_BIN:-bin/frugal}
SQUAD=${SQUAD:-../shared/data/squad-v1.1/dev-v1.1.derived.json.gz}
out=$(mktemp -d "${TMPDIR:-/tmp}/frugal-squad.XXXXXX")
trap 'rm -rf "$out"' EXIT

# a database of its own, so that the run neither reads nor clobbers ./frugal.db
"$BIN" --db "$out/squad.db" -q eval squad "$SQUAD" --json --features "$out/features.tsv" > "$out/squad.json"
/usr/bin/python3 bench/squad_fit.py "$out/features.tsv" > "$out/fit.txt"
/usr/bin/python3 bench/squad_fit.py --sentences "$out/features.tsv.sentences" > "$out/rank.txt"
/usr/bin/python3 bench/squad_fit.py --budget "$out/features.tsv.sentences" > "$out/budget.txt"
# the sentences of the top 10 chunks, for contexts drawn deeper than the top 5 (simulated)
"$BIN" --db "$out/squad.db" -q eval squad "$SQUAD" --reuse --features "$out/deep.tsv" --context-chunks 10 > /dev/null
/usr/bin/python3 bench/squad_fit.py --deep "$out/deep.tsv.sentences" "$out/deep.tsv.contexts" > "$out/deep.txt"
threshold=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threshold"])' "$out/squad.json")
/usr/bin/python3 bench/squad_fit.py --contexts "$out/features.tsv.contexts" "$threshold" > "$out/contexts.txt"
echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores shared with other work (timings are noisy), $(date -u +%Y-%m-%d)" > "$out/cpu.txt"

/usr/bin/python3 - "$out" <<'PY'
import json, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
d = json.loads((out / "squad.json").read_text())
fit = (out / "fit.txt").read_text()
rank = (out / "rank.txt").read_text()
budget = (out / "budget.txt").read_text()
contexts = (out / "contexts.txt").read_text()
deep = (out / "deep.txt").read_text()
header = pathlib.Path("include/frugal.h").read_text()
mass = re.search(r"#define FRUGAL_ASK_DEFAULT_CONTEXT_MASS (\S+)", header).group(1)
cap = re.search(r"#define FRUGAL_ASK_DEFAULT_BUDGET (\S+)", header).group(1)
gen = [l.split() for l in contexts.splitlines() if l.startswith("all generated")][0]
held = fit.strip().splitlines()[-1].split()  # threshold, fit coverage/support, check coverage/support
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
    ("context_support (compressed context: %s of the score mass, at most %s tokens)" % (mass, cap), "%.4f" % d["context_support"]),
    ("context_token_ratio (vs top-5 chunks whole)", "%.4f" % d["context_token_ratio"]),
    ("latency p50 / p99 per question (retrieve + extract)", "%.2f / %.2f ms" % (d["latency_ms_p50"], d["latency_ms_p99"])),
]
t = "SQuAD v1.1 dev, `frugal eval squad` (BM25 top 5 chunks, extractive route; %s):\n\n" % cpu
t += "| measure | value |\n|---|---|\n" + "".join("| %s | %s |\n" % r for r in rows)
t += ("\nGoals of issue 6: >= 60%% of questions on the CPU at >= 90%% support: %s (%.1f%% at %.1f%%); "
      "compressed context <= 25%% of the top-5 tokens at no loss of support (within 0.5 point): ratio %.3f, support %.4f vs %.4f "
      "for the top-5 chunks whole (%s); on the %s questions a generator would answer (confidence < %.2f): ratio %s, "
      "support %s vs %s (%s).\n" % (
          "met" if d["cpu_share"] >= 0.6 and d["cpu_support"] >= 0.9 else "not met",
          100 * d["cpu_share"], 100 * d["cpu_support"], d["context_token_ratio"],
          d["context_support"], d["retrieval_support"],
          "met" if d["context_token_ratio"] <= 0.25 and d["context_support"] >= d["retrieval_support"] - 0.005 else "not met: support is lost",
          gen[2], d["threshold"], gen[4], gen[3], gen[5],
          "met" if float(gen[4]) <= 0.25 and float(gen[3]) >= float(gen[5]) - 0.005 else "not met"))
t += ("\nHow (src/answer/extract.c): the sentence score is a conditional logit over 32 sentence features "
      "(coverage, BM25, neighbours, chunk rank, question bigrams, term density, answer-type candidates per "
      "question type, capitalized and focus terms, ...); the confidence a logistic regression over 22 "
      "features of the answer (its softmax share among the candidates, its chunk's share, margins, ...). "
      "Both are fitted by bench/squad_fit.py on half of the 48 articles (random.Random(13)) and checked on "
      "the other half; the default threshold is the lowest whose support is >= 90%% on the fitting half. "
      "Held out, on the check half, the default threshold %s answers %.1f%% of the questions on the CPU "
      "with %.1f%% support (fitting half: %.1f%% with %.1f%%); the table above is the whole set.\n" % (
          held[0], 100 * float(held[3]), 100 * float(held[4]), 100 * float(held[1]), 100 * float(held[2])))
t += ("\nThe compressed context keeps the answer sentence, then the best others by score (a little less "
      "for length) while they fit, then neighbours (src/answer/compress.c). Its budget adapts to the question: "
      "the tokens that the answer sentence and the next best ones take to gather %s of the summed scores of "
      "all candidate sentences, at most %s (frugal_ask_params.context_mass and context_budget_tokens): a "
      "confident extraction sends a sentence or two, a flat one several hundred tokens. Target and cap are "
      "the best on the fitting half at a ratio <= 0.25 (bench/squad_fit.py --budget, a simulation of "
      "compress_select; below). It still falls short of the top-5 chunks whole because the sentence "
      "score's recall is short of it: in score order the first sentence holding a gold answer comes "
      "within 400 tokens for fewer questions than the chunks hold one (last line of the sentence-score "
      "fit below), and no spending rule over the scores finds the rest.\n" % (mass, cap))
t += ("\nWhich questions the context goal is measured on: the issue asks for the tokens sent per generated "
      "answer against naive top-5 stuffing. Naive stuffing sends every question to the generator, and so "
      "does frugal_ask in mode generate, so the headline (the table, the goal line) is over all questions. "
      "In mode auto only the questions below the CPU threshold are generated; their figures are given "
      "beside (\"generated\" lines below): those are the doubtful questions, where the adaptive budget "
      "spends more, so their ratio is above the average and their support below it, the top-5 chunks' "
      "support too.\n")
t += "\nCoverage against support as the confidence threshold moves:\n\n| threshold | coverage | support |\n|---|---|---|\n"
t += "".join("| %.1f | %.4f | %.4f |\n" % (p["threshold"], p["coverage"], p["support"]) for p in d["curve"])
t += "\nConfidence model (bench/squad_fit.py: fitted on half of the articles, checked on the other half):\n\n```\n" + fit + "```\n"
t += "\nSentence score (bench/squad_fit.py --sentences: fitted on the same half):\n\n```\n" + rank + "```\n"
t += ("\nContext budget (bench/squad_fit.py --budget: adaptive target and cap tuned on the fitting half, the "
      "best five at a ratio <= 0.25, and fixed budgets for comparison; simulated):\n\n```\n" + budget + "```\n")
t += ("\nCompressed context as measured (bench/squad_fit.py --contexts: all questions, each half, and the "
      "questions a generator would answer, confidence < %.2f):\n\n```\n" % d["threshold"]) + contexts + "```\n"
t += ("\nContexts drawn from deeper chunks than the top five (bench/squad_fit.py --deep, from `frugal eval "
      "squad --context-chunks 10`; simulated): the ratio's denominator stays the top-5 chunks whole, so a "
      "context may pick sentences of the top 8 or 10 chunks. Besides the adaptive (mass) budget, an "
      "expected-gain budget: after the answer sentence, whose chance of holding the answer is the question's "
      "confidence, each next sentence is paid for while (the chance that none so far holds it) x (its score) "
      "/ sqrt(its tokens) >= lam. Deeper chunks and the gain budget each add support, but at a ratio <= 0.25 "
      "neither reaches the top-5 chunks whole on the check half; the gain budget on the top 10 chunks reaches "
      "it near a ratio of 0.30 (last lines). frugal_ask keeps the top-5 mass budget (the settings above):\n\n```\n"
      + deep + "```\n")
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
