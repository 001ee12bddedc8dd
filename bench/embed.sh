#!/usr/bin/env bash
# make bench-embed: sentences/s of frugal's BERT runtime against a plain PyTorch BERT forward at
# the all-MiniLM-L6-v2 shape (random weights written to a temporary model folder by
# bench/torch_bert.py), 32 and 128 tokens, 1 and 2 threads, batches of 32, in one run; the
# table goes into BENCHMARKS.md between the embed markers. BENCH_SECONDS per measurement (default 3),
# best of BENCH_REPEAT runs (default 2; the machines are shared).
#
# Threads: torch.set_num_threads does not reach OpenBLAS, which torch calls for its matrix products
# and which otherwise starts one thread per core, so the PyTorch side runs with
# OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the same count. Debian's OpenBLAS 0.3.21 does not
# recognize recent Xeons and runs its SSE3 (Prescott) kernels; the extra "torch tuned" column runs
# PyTorch again with OPENBLAS_CORETYPE forced to the best kernels the CPU has (SkylakeX with
# AVX-512, else Haswell), i.e. what PyTorch does with a BLAS that knows the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
SECONDS_EACH=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-2}
if grep -qw avx512f /proc/cpuinfo; then TUNED_CORE=SkylakeX; else TUNED_CORE=Haswell; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CFLAGS_B="-std=c11 -O2 -Iinclude -Isrc $(pkg-config --cflags libcjson)"
LIBS_B="lib/libfrugal.a $(make -s --no-print-directory print-libs)"
# shellcheck disable=SC2086
cc $CFLAGS_B -o "$tmp/embed_bench" bench/embed_bench.c $LIBS_B
"$PY" bench/torch_bert.py write "$tmp/model"

# best_of CMD...: the largest number CMD prints over REPEAT runs
best_of() {
  local best=0 v
  for _ in $(seq "$REPEAT"); do
    v=$("$@")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "$best"
}

rows=$tmp/rows
for tok in 32 128; do
  for th in 1 2; do
    ours=$(best_of "$tmp/embed_bench" "$tmp/model" "$tok" "$th" "$SECONDS_EACH")
    ours8=$(best_of "$tmp/embed_bench" "$tmp/model" "$tok" "$th" "$SECONDS_EACH" int8)
    torch=$(OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th \
            best_of "$PY" bench/torch_bert.py bench "$tmp/model" "$tok" "$th" "$SECONDS_EACH")
    tuned=$(OPENBLAS_CORETYPE=$TUNED_CORE OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th \
            best_of "$PY" bench/torch_bert.py bench "$tmp/model" "$tok" "$th" "$SECONDS_EACH")
    echo "$tok $th $ours $ours8 $torch $tuned" >> "$rows"
    echo "tokens $tok threads $th: frugal f32 $ours, frugal int8 $ours8, torch $torch," \
         "torch tuned $tuned sentences/s" >&2
  done
done

torch_v=$("$PY" -c 'import torch; print(torch.__version__)')
{
  echo "## Embedding runtime: frugal vs PyTorch (all-MiniLM-L6-v2 shape)"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores. Date: $(date -u +%F)."
  echo "Run by \`make bench-embed\` (bench/embed.sh). Hidden 384, 6 layers, 12 heads, FFN 1536, random"
  echo "weights; batches of 32 sentences of exactly N tokens; sentences/s including tokenization, pooling"
  echo "and normalization (frugal) / the forward with pooling (PyTorch $torch_v, plain BERT equations,"
  echo "inference_mode). Same thread count on both sides (PyTorch's OpenBLAS included). Best of $REPEAT"
  echo "runs of ${SECONDS_EACH} s each. frugal: its own kernels ($(lscpu | grep -qw avx512_vnni && echo AVX-512 + VNNI || echo AVX2)); \"torch\": PyTorch as"
  echo "installed, whose OpenBLAS $(lscpu | grep -qw avx512f && echo 'runs SSE3 kernels on this CPU' || echo 'picks its kernels'); \"torch tuned\": the same with"
  echo "OPENBLAS_CORETYPE=$TUNED_CORE. Shared machine: other jobs ran at the same time, timings are noisy."
  echo
  echo "| tokens | threads | frugal f32 / torch | frugal int8 / torch | frugal f32 / torch tuned | frugal int8 / torch tuned | frugal f32 sent/s | frugal int8 sent/s | torch sent/s | torch tuned sent/s |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  while read -r tok th ours ours8 torch tuned; do
    r=$(awk -v a="$ours" -v b="$torch" 'BEGIN { printf "%.2fx", a / b }')
    r8=$(awk -v a="$ours8" -v b="$torch" 'BEGIN { printf "%.2fx", a / b }')
    rt=$(awk -v a="$ours" -v b="$tuned" 'BEGIN { printf "%.2fx", a / b }')
    rt8=$(awk -v a="$ours8" -v b="$tuned" 'BEGIN { printf "%.2fx", a / b }')
    echo "| $tok | $th | $r | $r8 | $rt | $rt8 | $ours | $ours8 | $torch | $tuned |"
  done < "$rows"
} > "$tmp/table.md"

"$PY" - "$tmp/table.md" <<'PY'
import sys, pathlib
table = pathlib.Path(sys.argv[1]).read_text()
p = pathlib.Path("BENCHMARKS.md")
text = p.read_text() if p.exists() else "# frugal benchmarks\n"
begin, end = "<!-- embed:begin -->", "<!-- embed:end -->"
block = begin + "\n" + table + end
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
p.write_text(text)
PY
cat "$tmp/table.md"
