# test_embed.sh - `frugal embed` and `frugal rerank` on the shared fixture models.
. "$TESTS_DIR/lib.sh"

F=${FRUGAL_SHARED:-$TESTS_DIR/../../../shared}/fixtures

frx embed --model "$F/bert-tiny-mean" --json "Hello, world!" "The quick brown fox jumps over the lazy dog."
expect_rc 0 "embed --json runs"
check "two JSON lines of dim 64" test "$(grep -c '"dim": 64' "$T/out")" = 2
check "embeddings match the fixture within 1e-4" "$PY" -c '
import json, sys
got = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
want = [json.loads(l)["embedding"] for l in open(sys.argv[2])][:2]
sys.exit(0 if all(abs(a - b) < 1e-4 for g, w in zip(got, want) for a, b in zip(g, w)) else 1)' \
    "$T/out" "$F/bert-tiny-mean/expected.jsonl"

frx embed --model "$F/bert-tiny-cls" "Hello, world!"
expect_rc 0 "embed plain runs"
check "one line of 48 numbers" test "$(wc -w < "$T/out")" = 48

frx rerank --model "$F/bert-tiny-reranker" --json "what is rag" \
    "Retrieval-augmented generation (RAG) combines a retriever with a generator." \
    "The quick brown fox jumps over the lazy dog."
expect_rc 0 "rerank --json runs"
check "scores match the fixture logits within 1e-4" "$PY" -c '
import json, sys
got = [json.loads(l)["score"] for l in open(sys.argv[1])]
want = [json.loads(l)["logit"] for l in open(sys.argv[2])][:2]
sys.exit(0 if len(got) == 2 and all(abs(a - b) < 1e-4 for a, b in zip(got, want)) else 1)' \
    "$T/out" "$F/bert-tiny-reranker/expected.jsonl"

frx embed "text"
expect_rc 2 "embed without --model is a usage error"
frx rerank --model "$F/bert-tiny-reranker" "only a query"
expect_rc 2 "rerank without a passage is a usage error"
frx embed --model "$T/nowhere" "text"
expect_rc 1 "a missing folder fails"
check "one line naming the file" test "$(err_lines)" = 1
mkdir -p bad
cp -r "$F/bert-tiny-mean/"*.json "$F/bert-tiny-mean/vocab.txt" "$F/bert-tiny-mean/1_Pooling" bad/
head -c 1000 "$F/bert-tiny-mean/model.safetensors" > bad/model.safetensors
frx embed --model bad "text"
expect_rc 1 "a truncated model.safetensors fails"
check "the message names model.safetensors" err_has "model.safetensors"
frx rerank --model "$F/bert-tiny-mean" "q" "p"
expect_rc 1 "an embedder refuses to rerank"
