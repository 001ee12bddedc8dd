# test_ask_generate.sh - `frugal ask` with a generator: --mode generate against a loopback
# OpenAI-compatible chat server (tests/data/gen/fake_chat.py): route, tokens, cost from
# $FRUGAL_PRICES, citations checked ([9] removed) and mapped to the chunk; the answer cache (a
# second ask is a hit, re-ingesting the document drops it); --stream; the default generator from
# $FRUGAL_GEN_URL + $FRUGAL_GEN_MODEL; a generator that fails gives the extractive answer flagged
# "generator unavailable"; bad --generator specs.
. "$TESTS_DIR/lib.sh"
D=$TESTS_DIR/../data

mkdir -p docs
printf 'Volcanoes erupt when magma rises through the crust. The largest eruption of 1815 was Tambora.\n\nBasalt cools quickly.\n' > docs/volcano.txt
printf 'Emperor penguins huddle together through the Antarctic winter. The males keep the egg on their feet for two months.\n' > docs/penguins.txt
fr ingest docs
expect_rc 0 "ingest two documents"

"$PY" "$D/gen/fake_chat.py" port &
server=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)
export no_proxy='*' NO_PROXY='*'
unset FRUGAL_GEN_URL FRUGAL_GEN_MODEL FRUGAL_GEN_API_KEY OPENAI_API_KEY
export FRUGAL_PRICES='openai:m 0.5 1.5; cpu-hour 0'
GEN="openai:m@http://127.0.0.1:$port"

fr ask "Why do volcanoes erupt?" --mode generate --generator "$GEN" --json
expect_rc 0 "ask --mode generate exits 0"
check "route generate, generator named" jq_ok 'd["route"] == "generate" and d["generator"] == "openai:m"'
check "the answer is the generated text with [9] removed" jq_ok \
    'd["answer"].startswith("According to the sources, Volcanoes erupt") and "[1]" in d["answer"] and "[9]" not in d["answer"] and d["citations_removed"] == 1'
check "tokens from the server's usage" jq_ok 'd["tokens"]["prompt"] > 100 and d["tokens"]["completion"] == 20'
check "cost at the price table" jq_ok \
    'abs(d["cost"]["usd"] - (d["tokens"]["prompt"] * 0.5 + 20 * 1.5) / 1000) < 1e-9'
check "one citation: source 1, the volcano chunk" jq_ok \
    'len(d["citations"]) == 1 and d["citations"][0]["source"].endswith("volcano.txt") and "magma rises" in d["citations"][0]["snippet"]'
check "generate timing" jq_ok 'd["timings_ms"]["generate"] > 0'
check "the server got one request" test "$(grep -c 200 port.log)" = 1

fr ask "why do volcanoes erupt" --generator "$GEN" --json
check "the same question again comes from the cache" jq_ok 'd["route"] == "cache" and d["answer"].startswith("According")'
check "without calling the server" test "$(grep -c 200 port.log)" = 1

printf 'Volcanoes erupt when pressure builds under the crust.\n' > docs/volcano.txt
fr ingest docs
fr ask "Why do volcanoes erupt?" --mode generate --generator "$GEN" --json
check "re-ingesting the cited document drops the cached answer" jq_ok 'd["route"] == "generate" and "pressure" in d["answer"]'

FRUGAL_GEN_URL="http://127.0.0.1:$port" FRUGAL_GEN_MODEL=m fr ask "Why do penguins huddle?" --mode generate --stream --no-cache
expect_rc 0 "--stream with the generator from the environment exits 0"
check "the streamed text is printed" out_has "According to the sources, Emperor penguins"
check "then the route" out_has "route       generate"

fr ask "How long do the males keep the egg on their feet?" --mode extractive --generator "$GEN" --json
check "--mode extractive stays on the CPU" jq_ok 'd["route"] == "extractive" and d["tokens"]["prompt"] == 0'

fr ask "Why do penguins huddle?" --mode generate --no-cache --generator "openai:m@http://127.0.0.1:1" --json
expect_rc 0 "a generator that cannot be reached still answers"
check "extractively, flagged" jq_ok 'd["route"] == "extractive" and d["reason"].startswith("generator unavailable: ")'

fr ask "Why?" --generator "nonsense"
expect_rc 2 "a malformed --generator is a usage error"
check "saying what a spec looks like" err_has "openai:MODEL@URL"

kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
true
