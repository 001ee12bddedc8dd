#!/usr/bin/env bash
# scarcity.sh - GPU scarcity, simulated: a loopback OpenAI-compatible generator with a fixed
# capacity (tests/data/gen/fake_chat.py: 2 concurrent requests, 1 s each, HTTP 429 beyond) under
# a stream of SQuAD v1.1 dev questions (N per run, fixed seed, Poisson arrivals) at several rates;
# "always generate" (frugal_ask mode generate: a plain RAG pipeline, same BM25 retrieval) against
# frugal's router (mode auto). bench/scarcity_bench.c drives one run; the table goes into
# BENCHMARKS.md between the scarcity markers (appended when missing).
# Environment: N (questions per run, default 60), RATES (default "1 2 4 8"), SEED (default 7),
# FRUGAL_BIN (a build's bin/frugal: the driver links that build's lib/libfrugal.a; default the
# top-level lib/).
set -euo pipefail
cd "$(dirname "$0")/.."
SQUAD=${SQUAD:-../shared/data/squad-v1.1/dev-v1.1.derived.json.gz}
N=${N:-60}
RATES=${RATES:-"1 2 4 8"}
SEED=${SEED:-7}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/frugal-scarcity.XXXXXX")
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

CFLAGS_B="-std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O2 -Iinclude -Isrc $(pkg-config --cflags libcjson)"
LIBFRUGAL=lib/libfrugal.a
if [ -n "${FRUGAL_BIN:-}" ] && [ -f "$(dirname "$(dirname "$FRUGAL_BIN")")/lib/libfrugal.a" ]; then
    LIBFRUGAL="$(dirname "$(dirname "$FRUGAL_BIN")")/lib/libfrugal.a"
fi
LIBS_B="$LIBFRUGAL $(make -s --no-print-directory print-libs)"
${CC:-cc} $CFLAGS_B -o "$tmp/scarcity_bench" bench/scarcity_bench.c $LIBS_B
gunzip -c "$SQUAD" > "$tmp/squad.json"

export no_proxy='*' NO_PROXY='*'
/usr/bin/python3 tests/data/gen/fake_chat.py "$tmp/port" --capacity 2 --delay 1 --echo &
server=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")"

: > "$tmp/runs.jsonl"
for rate in $RATES; do
    for policy in always router; do
        : > "$tmp/port.log"
        line=$("$tmp/scarcity_bench" "$tmp/db" "$tmp/squad.json" "$N" "$SEED" "$url" "$rate" "$policy")
        calls=$(grep -c '' "$tmp/port.log" || true)
        c429=$(grep -c '^429' "$tmp/port.log" || true)
        echo "$line" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["calls"]=int(sys.argv[1]); d["calls_429"]=int(sys.argv[2]); print(json.dumps(d))' "$calls" "$c429" | tee -a "$tmp/runs.jsonl"
    done
done
lscpu | sed -n 's/^Model name: *//p' | head -1 > "$tmp/cpu.txt"
echo "$(nproc) cores, $(date -u +%Y-%m-%d)" >> "$tmp/cpu.txt"
sed -n 's/^#define FRUGAL_ASK_DEFAULT_THRESHOLD *//p' include/frugal.h > "$tmp/threshold.txt"

/usr/bin/python3 - "$tmp" "$N" "$SEED" <<'PY'
import json, pathlib, sys
tmp = pathlib.Path(sys.argv[1]); n = sys.argv[2]; seed = sys.argv[3]
runs = [json.loads(l) for l in (tmp / "runs.jsonl").read_text().splitlines() if l.strip()]
cpu = ", ".join((tmp / "cpu.txt").read_text().split("\n")).strip(", ")
threshold = (tmp / "threshold.txt").read_text().strip()
t = ("GPU scarcity, simulated (`make bench-scarcity`): %s SQuAD v1.1 dev questions per run (seed %s, "
     "Poisson arrivals), BM25 retrieval (the answer from the top 5 chunks, the context from the top 10), a loopback OpenAI-compatible generator serving 2 requests at "
     "once, 1 s each, HTTP 429 beyond (the client retries twice honouring Retry-After); %s. "
     "\"always\" sends every question to the generator (frugal_ask mode generate, i.e. a plain RAG "
     "pipeline with the same retrieval; answered = generated); \"router\" is mode auto (CPU answer at "
     "confidence >= %s, the default; generated answers get the compressed context, "
     "src/answer/compress.c). Latency is "
     "from arrival to answer, over answered questions. Support = answered and containing a gold "
     "answer, over all questions; the fake generator echoes its context, so a generated answer's "
     "support is its context's (an upper bound for a real LLM). Timings are from a machine shared "
     "with other work (noisy).\n\n" % (n, seed, cpu, threshold))
t += "| rate (q/s) | policy | answered/s | p50 ms | p99 ms | answered | generator calls (429s) | generated | tokens (prompt+completion) | support |\n"
t += "|---|---|---|---|---|---|---|---|---|---|\n"
for r in runs:
    t += "| %g | %s | %.2f | %.0f | %.0f | %.1f%% | %d (%d) | %d | %d | %.3f |\n" % (
        r["rate"], r["policy"], r["answered_per_s"], r["p50_ms"], r["p99_ms"],
        100.0 * r["answered"] / r["questions"], r["calls"], r["calls_429"], r["generated"],
        r["prompt_tokens"] + r["completion_tokens"], r["support"])
bm = pathlib.Path("BENCHMARKS.md")
text = bm.read_text() if bm.exists() else "# Benchmarks\n"
begin, end = "<!-- scarcity:begin -->", "<!-- scarcity:end -->"
block = begin + "\n" + t + end
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n## GPU scarcity (router vs always generate)\n\n" + block + "\n"
bm.write_text(text)
print(t)
PY
