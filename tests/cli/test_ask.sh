# test_ask.sh - `frugal ask` as a user would: the answer, its route and reason, --json keys,
# citations that point at the cited sentence in the right document; and `frugal eval squad` on a
# tiny SQuAD file.
. "$TESTS_DIR/lib.sh"
unset FRUGAL_GEN_URL FRUGAL_GEN_MODEL

mkdir -p docs
cat > docs/penguins.md <<'MD'
# Birds of the South

Many birds live in cold places.

## Emperor penguins

Emperor penguins huddle together through the Antarctic winter to keep warm.
The males keep the egg on their feet for two months.
MD
printf 'Volcanoes erupt when magma rises through the crust. The largest eruption of 1815 was Tambora.\n\nBasalt cools quickly.\n' > docs/volcano.txt
printf 'Café owners in Vienna served coffee from 1685. The first coffee house opened near St. Stephen.\n' > docs/cafe.txt
fr ingest docs
expect_rc 0 "ingest three documents"

fr ask "How long do the males keep the egg on their feet?"
expect_rc 0 "ask exits 0"
check "the answer is the right sentence" out_has "The males keep the egg on their feet for two months."
check "the route is printed" out_has "route       extractive"
check "citations are printed with their source" out_has "penguins.md > Birds of the South > Emperor penguins"
check "timings are printed" grep -q '^timings ' "$T/out"

fr ask "When did the largest eruption happen?" --json
expect_rc 0 "ask --json exits 0"
check "the JSON has every answer key" jq_ok 'all(k in d for k in ("answer", "span", "route", "reason", "confidence", "citations", "timings_ms", "tokens", "cost"))'
check "route extractive, confidence in [0, 1]" jq_ok 'd["route"] == "extractive" and 0 <= d["confidence"] <= 1'
check "timings per stage" jq_ok 'all(k in d["timings_ms"] for k in ("retrieve", "extract", "total")) and d["timings_ms"]["total"] >= 0'
check "tokens 0 on the extractive route" jq_ok 'd["tokens"]["prompt"] == 0 and d["tokens"]["completion"] == 0'
check "the span is the year" jq_ok 'd["span"] == "1815"'
check "the first citation is the answer sentence in volcano.txt" \
    jq_ok 'd["citations"][0]["source"].endswith("volcano.txt") and d["citations"][0]["snippet"] == d["answer"]'
# the offsets slice the document's text (the file itself: plain text, already normalized)
check "citation offsets slice the document text" jq_ok \
    'open("docs/volcano.txt", encoding="utf-8").read()[d["citations"][0]["char_start"]:d["citations"][0]["char_end"]] == d["answer"]'

fr ask "When did the coffee house in Vienna serve coffee?" --json -k 2
expect_rc 0 "ask -k 2 exits 0"
check "offsets are in code points past non-ASCII text" jq_ok \
    'open("docs/cafe.txt", encoding="utf-8").read()[d["citations"][0]["char_start"]:d["citations"][0]["char_end"]] == d["citations"][0]["snippet"]'

fr ask "How long do penguins keep the egg?" --mode extractive --json
check "--mode extractive says so" jq_ok 'd["reason"].startswith("extractive answer requested")'
fr ask "zebra unicorn" --mode auto --threshold 1 --json
expect_rc 0 "a question that retrieves nothing exits 0"
check "and gets an empty answer" jq_ok 'd["answer"] == "" and d["confidence"] == 0 and d["citations"] == []'
fr ask "How long do penguins keep the egg?" --threshold 1 --json
check "below the threshold auto says the generator is unavailable" jq_ok '"generator unavailable" in d["reason"]'

fr ask "How long?" --mode generate
expect_rc 1 "--mode generate fails without a generator"
check "saying so" err_has "no generator configured"
fr ask
expect_rc 2 "ask without a question is a usage error"
fr ask "x" --mode fast
expect_rc 2 "an unknown mode is a usage error"
fr ask "x" --collection nope
expect_rc 1 "an unknown collection fails"

SQUAD="$TESTS_DIR/../data/squad/tiny.json"
frx eval squad "$SQUAD" --json
expect_rc 0 "eval squad exits 0"
check "eval squad JSON has its keys" jq_ok 'all(k in d for k in ("questions", "support", "f1", "cpu_share", "cpu_support", "context_support", "context_token_ratio", "threshold", "latency_ms_p50", "latency_ms_p99"))'
check "6 questions, shares in [0, 1]" jq_ok 'd["questions"] == 6 and all(0 <= d[k] <= 1 for k in ("support", "f1", "cpu_share", "cpu_support", "context_support"))'
check "the easy tiny set is mostly supported" jq_ok 'd["support"] >= 0.8'
check "the temporary database was removed" test -z "$(ls -A "$TMPDIR")"
frx eval squad "$SQUAD" --limit 2
expect_rc 0 "human eval squad exits 0"
check "prints the curve" grep -Eq '^ +0\.9 +[0-9.]+ +[0-9.]+$' "$T/out"
check "--limit 2 asks 2" grep -Eq '^questions +2$' "$T/out"
frx glove-convert --name tiny "$TESTS_DIR/../data/glove/tiny.json" "$T/tiny.fsv"
expect_rc 0 "the tiny word vectors convert"
frx eval squad "$SQUAD" --embedder "glove:$T/tiny.fsv" --json
expect_rc 0 "eval squad with word vectors exits 0"
check "with word vectors: 6 questions, still mostly supported" jq_ok \
    'd["questions"] == 6 and d["support"] >= 0.8 and 0 < d["context_token_ratio"] <= 1'
frx eval squad "$SQUAD" --embedder "glove:$T/none.fsv"
expect_rc 1 "eval squad with a missing vectors file exits 1"
check "naming the file" err_has "none.fsv"
frx eval squad "$SQUAD" --alpha 0.5
expect_rc 2 "--alpha with squad is a usage error"
frx eval squad "$T/nope.json"
expect_rc 1 "a missing file exits 1"
frx eval beir "$SQUAD" --limit 3
expect_rc 2 "--limit with beir is a usage error"
