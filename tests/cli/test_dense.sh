# test_dense.sh - dense retrieval from the command line: `frugal init` / `collections create
# --embedder`, ingest storing vectors, `search --mode dense`, sync deleting them, the vector
# index file rebuilt when damaged, a mismatched embedder refused, and `eval beir --mode dense`.
# Embedders: GloVe-format vectors converted from tests/data/glove/tiny.json (16 words, dim 4:
# cat ~ kitten ~ dog, mat ~ rug) and the BERT fixture bert-tiny-mean from the shared fixtures.
. "$TESTS_DIR/lib.sh"

D=$TESTS_DIR/../data
F=${FRUGAL_SHARED:-$TESTS_DIR/../../../shared}/fixtures
frx glove-convert --name tiny "$D/glove/tiny.json" "$T/tiny.fsv"
expect_rc 0 "tiny vectors converted"

mkdir -p docs
echo "the cat sat on the kitten" > docs/pets.txt
echo "the mat on the mat" > docs/floor.txt
fr init --embedder "glove:$T/tiny.fsv"
expect_rc 0 "init gives the default collection an embedder"
check "and names it with its dimension" out_has "tiny:sif (dim 4)"
fr init --embedder "glove:$T/tiny.fsv"
expect_rc 0 "init again with the same spec is a no-op"
fr ingest docs
expect_rc 0 "ingest with an embedder"
check "one vector per chunk" test "$(sql 'SELECT count(*) FROM chunk_vectors')" = \
    "$(sql 'SELECT count(*) FROM chunks')"
check "vectors are dim float32" test "$(sql 'SELECT DISTINCT length(vector) FROM chunk_vectors')" = 16

fr search --mode dense --json rug
expect_rc 0 "search --mode dense"
check "rug finds the mat document first, scores are cosines" \
    jq_ok 'd["hits"][0]["source"].endswith("floor.txt") and -1 <= d["hits"][0]["score"] <= 1.0001'
fr search --mode dense --json dog
check "dog finds the cat document first" jq_ok 'd["hits"][0]["source"].endswith("pets.txt")'
fr search --mode sparse x
expect_rc 2 "an unknown mode is a usage error"

rm docs/floor.txt
fr sync docs
expect_rc 0 "sync after a file vanished"
check "its vectors are gone" test "$(sql 'SELECT count(*) FROM chunk_vectors')" = 1
fr search --mode dense --json rug
check "dense search no longer returns it" jq_ok 'len(d["hits"]) == 1 and d["hits"][0]["source"].endswith("pets.txt")'

# the vector index file (HNSW when the flat threshold is 0), damaged then rebuilt
export FRUGAL_DENSE_FLAT_MAX=0
echo "the rug and the mat" > docs/floor.txt
fr sync docs
fr search --mode dense --json rug
check "an HNSW index file is written" test -s "$DB.vec/1.hnsw"
printf 'garbage' | dd of="$DB.vec/1.hnsw" bs=1 seek=200 conv=notrunc 2>/dev/null
fr -v search --mode dense --json rug
expect_rc 0 "a corrupt index file does not fail the search"
check "it is rebuilt with a message" err_has "rebuilding the vector index"
check "with the right answer" jq_ok 'd["hits"][0]["source"].endswith("floor.txt")'
rm -f "$DB.vec/1.hnsw"
fr search --mode dense --json rug
check "a missing index file is rebuilt" test -s "$DB.vec/1.hnsw"
unset FRUGAL_DENSE_FLAT_MAX

# collections create --embedder, mismatches and refusals
fr collections create notes --embedder "glove:$T/tiny.fsv" --vector-type f16
expect_rc 0 "collections create --embedder --vector-type"
fr collections --json
check "list shows the embedder" jq_ok '[c for c in d["collections"] if c["name"] == "notes"][0]["embedder_dim"] == 4'
fr collections create bad --embedder nonsense
expect_rc 1 "an unknown spec fails"
check "saying which specs exist" err_has "glove:PATH"
fr collections create bad --embedder glove:/nowhere.fsv
expect_rc 1 "a missing vectors file fails at creation"
fr ingest -c plain docs
fr init -c plain --embedder "glove:$T/tiny.fsv"
expect_rc 1 "init refuses a collection that holds chunks without vectors"
check "with a message" err_has "chunks without vectors"
fr search -c plain --mode dense x
expect_rc 1 "dense search without an embedder fails"
check "saying how to get one" err_has "frugal init"
sqlite3 "$DB" "UPDATE collections SET embedder_dim = 5 WHERE name = 'default'"
fr search --mode dense rug
expect_rc 1 "a mismatched embedder is refused"
check "naming both" err_has "does not match"

# eval beir --mode dense with the BERT fixture
if [ -d "$F/bert-tiny-mean" ]; then
    frx eval beir "$TESTS_DIR/data/beir-tiny" --mode dense --embedder "model:$F/bert-tiny-mean" --json
    expect_rc 0 "eval beir --mode dense --embedder model:DIR"
    check "reports nDCG@10 for the judged queries" jq_ok 'd["queries"] == 3 and 0 <= d["ndcg@10"] <= 1'
    check "leaves no temporary folder" test -z "$(ls "$T/tmp")"
    frx eval beir "$TESTS_DIR/data/beir-tiny" --mode dense
    expect_rc 1 "eval --mode dense without an embedder fails"
else
    echo "ok - (skipped: no $F/bert-tiny-mean)"
fi
