# test_rerank.sh - cross-encoder reranking from the command line: `search --rerank DIR` with
# --rerank-top and --rerank-budget-ms (0: none reranked, and the output says so; -1: no
# limit), -k kept after reranking a deeper list, `ask --rerank`, and the usage errors and
# refusals. Model: the shared fixture bert-tiny-reranker (random weights: the order it gives
# says nothing about relevance, only that the reranker's order is what comes back).
. "$TESTS_DIR/lib.sh"

F=${FRUGAL_SHARED:-$TESTS_DIR/../../../shared}/fixtures
R=$F/bert-tiny-reranker
if [ ! -d "$R" ]; then
    echo "ok - (skipped: no $R)"
    exit 0
fi

mkdir -p docs
echo "Ocean tides rise and fall twice a day with the moon." > docs/tides.txt
echo "The ocean is salty; whales and coral live in the ocean." > docs/whales.txt
echo "A reef of coral grows slowly in warm ocean water." > docs/reef.txt
echo "Tide pools hold small crabs when the ocean tide is low." > docs/pools.txt
echo "Rockets burn fuel to reach orbit." > docs/rockets.txt
fr ingest docs
expect_rc 0 "ingest"

fr search --json ocean
expect_rc 0 "search without reranking"
check "no rerank fields without --rerank" \
    jq_ok '"reranked" not in d and all("rerank_score" not in h for h in d["hits"])'

fr search --json --rerank "$R" --rerank-budget-ms -1 ocean
expect_rc 0 "search --rerank (no time limit)"
check "every hit reranked, by the reranker's logit, no note" \
    jq_ok '(d["reranked"] == len(d["hits"]) == 4 and d["rerank_note"] is None and
           all(d["hits"][i]["rerank_score"] >= d["hits"][i + 1]["rerank_score"] for i in range(3)))'

fr search --json --rerank "$R" --rerank-top 2 --rerank-budget-ms -1 ocean
expect_rc 0 "search --rerank-top 2"
check "two reranked, the other two after them without a rerank score" \
    jq_ok '(d["reranked"] == 2 and len(d["hits"]) == 4 and
           "rerank_score" in d["hits"][1] and "rerank_score" not in d["hits"][2])'

fr search --json --rerank "$R" -k 1 --rerank-top 4 --rerank-budget-ms -1 ocean
expect_rc 0 "search -k 1 --rerank-top 4"
check "one hit kept: the best of the four by logit" \
    jq_ok 'len(d["hits"]) == 1 and d["reranked"] == 1'

fr search --json --rerank "$R" --rerank-budget-ms 0 ocean
expect_rc 0 "search --rerank-budget-ms 0"
check "a budget of 0 reranks none and says so" \
    jq_ok 'd["reranked"] == 0 and d["rerank_note"] == "rerank budget 0 ms: none of 4 hits reranked"'
fr search --rerank "$R" --rerank-budget-ms 0 ocean
expect_rc 0 "search --rerank-budget-ms 0, for people"
check "the note is printed" out_has "none of 4 hits reranked"

fr ask --json --rerank "$R" --rerank-budget-ms -1 "what lives in the ocean"
expect_rc 0 "ask --rerank"
check "an answer comes back" jq_ok 'd["route"] == "extractive" and len(d["answer"]) > 0'

fr search --rerank-top 3 ocean
expect_rc 2 "--rerank-top without --rerank is a usage error"
fr search --rerank "$R" --rerank-budget-ms -5 ocean
expect_rc 2 "a budget below -1 is a usage error"
fr search --rerank "$F/bert-tiny-mean" ocean
expect_rc 1 "an embedding model is refused as a reranker"
check "saying why" err_has "not a cross-encoder"
fr search --rerank "$T/nowhere" ocean
expect_rc 1 "a missing folder is refused"
