# test_hybrid.sh - hybrid retrieval from the command line: `search --mode hybrid` with RRF and
# convex fusion, --alpha and --mmr, their usage errors, the refusal without an embedder,
# `eval beir --mode hybrid`, and `ask` with the collection's word vectors. Embedders: GloVe-format vectors converted from
# tests/data/glove/tiny.json (16 words, dim 4: cat ~ kitten ~ dog, mat ~ rug) and the BERT
# fixture bert-tiny-mean from the shared fixtures.
. "$TESTS_DIR/lib.sh"

D=$TESTS_DIR/../data
F=${FRUGAL_SHARED:-$TESTS_DIR/../../../shared}/fixtures
frx glove-convert --name tiny "$D/glove/tiny.json" "$T/tiny.fsv"
expect_rc 0 "tiny vectors converted"

mkdir -p docs
echo "the cat sat on the kitten" > docs/pets.txt
echo "the mat on the mat" > docs/floor.txt
echo "a dog" > docs/dog.txt
fr init --embedder "glove:$T/tiny.fsv"
expect_rc 0 "init gives the default collection an embedder"
fr ingest docs
expect_rc 0 "ingest with an embedder"

fr search --mode bm25 --json rug
check "BM25 alone finds nothing for rug" jq_ok 'len(d["hits"]) == 0'
fr ask "Where is the rug?" --json
expect_rc 0 "ask in a collection with word vectors"
check "the extractive answer is the mat sentence (rug ~ mat)" \
    jq_ok 'd["route"] == "extractive" and d["answer"] == "the mat on the mat"'
fr search --mode hybrid --json rug
expect_rc 0 "search --mode hybrid (default fusion)"
check "the dense side alone still finds the mat document" \
    jq_ok 'd["hits"][0]["source"].endswith("floor.txt") and len(d["hits"]) == 3'
fr search --mode hybrid --fusion rrf --json kitten
expect_rc 0 "search --mode hybrid --fusion rrf"
check "kitten finds the cat document first, with an RRF score (1/61 + dense)" \
    jq_ok 'd["hits"][0]["source"].endswith("pets.txt") and 1/61 + 1/64 <= d["hits"][0]["score"] <= 2/61'
fr search --mode hybrid --fusion convex --alpha 0.5 --json kitten
expect_rc 0 "search --mode hybrid --fusion convex --alpha 0.5"
check "convex scores lie in [0, 1], the cat document first" \
    jq_ok 'd["hits"][0]["source"].endswith("pets.txt") and all(0 <= h["score"] <= 1 for h in d["hits"])'
fr search --mode hybrid --mmr 0.5 --per-document --json kitten
expect_rc 0 "search --mode hybrid --mmr 0.5 --per-document"
check "one hit per document" jq_ok 'len(d["hits"]) == 3'

fr search --mode hybrid --fusion bogus kitten
expect_rc 2 "an unknown fusion is a usage error"
fr search --mode hybrid --alpha 2 kitten
expect_rc 2 "an alpha above 1 is a usage error"
fr search --mode hybrid --mmr 0 kitten
expect_rc 2 "an MMR lambda of 0 is a usage error"

fr collections create plain
fr search --mode hybrid -c plain kitten
expect_rc 1 "hybrid search without an embedder fails"
check "saying why" err_has "no embedder"

# eval beir --mode hybrid with the BERT fixture
if [ -d "$F/bert-tiny-mean" ]; then
    for fusion in rrf convex; do
        frx eval beir "$TESTS_DIR/data/beir-tiny" --mode hybrid --fusion $fusion \
            --embedder "model:$F/bert-tiny-mean" --json
        expect_rc 0 "eval beir --mode hybrid --fusion $fusion"
        check "reports nDCG@10 for the judged queries" \
            jq_ok 'd["queries"] == 3 and 0 <= d["ndcg@10"] <= 1'
    done
    frx eval beir "$TESTS_DIR/data/beir-tiny" --mode hybrid
    expect_rc 1 "eval --mode hybrid without an embedder fails"
else
    echo "ok - (skipped: no $F/bert-tiny-mean)"
fi
