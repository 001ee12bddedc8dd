#!/usr/bin/env bash
# run.sh - black-box tests of `frugal serve` over loopback (127.0.0.1 only).
#
# Usage: FRUGAL_BIN=/abs/path/to/frugal bash tests/api/run.sh
# Starts the server on a free port (--port 0; the port is read from its "listening on" line)
# in a fresh temporary folder, drives it with curl and checks replies with python3: API keys
# and roles (401/403), tenant isolation between two collections (also through /v1/embeddings
# and /v1/models), raw and multipart uploads found by search, deletes, bad input (malformed
# JSON, wrong types, invalid UTF-8, a body over --max-body, "../" in names and paths, unknown
# routes and methods) with the server still serving afterwards, and a clean exit 0 on SIGTERM.
# Then a second server with --generator against a loopback scripted OpenAI-compatible generator
# (tests/data/gen/fake_chat.py): generated answers streamed as several delta events / chat
# chunks, tokens and cost in done, the answer cache, mode overrides, the generator killed ->
# extractive answers flagged "generator unavailable" while the server keeps serving, and
# /metrics parsed as Prometheus text (routes taken, stage histograms, cache, tokens, cost,
# generator health).
# Then hybrid search and cross-encoder reranking with a third server (serve --rerank; rerank.sh)
# and HTTPS (tls.sh).
# Also runs check_openapi.sh (every route in app/server/server.c is in docs/openapi.yaml).
# Prints "ok N - what" / "not ok N - what" and ends with "N passed, M failed"; exit 1 on any
# failure (the folder is then kept).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FRUGAL_BIN:-}" ] || [ ! -x "$FRUGAL_BIN" ]; then
    echo "run.sh: set FRUGAL_BIN to the absolute path of the frugal binary" >&2
    exit 2
fi
unset FRUGAL_DB
T=$(mktemp -d "${TMPDIR:-/tmp}/frugal-api.XXXXXX")
DB="$T/test.db"
PY=/usr/bin/python3
n=0
passed=0
failed=0
PID=

ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
notok() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
    echo "#   status $CODE"; head -c 600 "$T/body" 2>/dev/null | sed 's/^/#   body: /'; echo
}
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }

# req KEY METHOD PATH [curl args...]: CODE = status, body in $T/body, headers in $T/headers.
req() {
    local key=$1 method=$2 path=$3
    shift 3
    local auth=()
    [ -n "$key" ] && auth=(-H "Authorization: Bearer $key")
    CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 60 -X "$method" \
        "${auth[@]}" "$@" "$URL$path") || CODE=000
}
code_is() { [ "$CODE" = "$1" ]; }
expect() { # expect STATUS WHAT
    if [ "$CODE" = "$1" ]; then ok "$2"; else notok "$2 (expected $1)"; fi
}
# jq_ok PYEXPR: true when it holds for d = the JSON body.
jq_ok() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/body" "$1" 2>/dev/null
}
error_shape() { jq_ok 'isinstance(d["error"]["code"], str) and isinstance(d["error"]["message"], str)'; }

cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null; fi
    if [ -n "${GEN_PID:-}" ]; then kill "$GEN_PID" 2>/dev/null; fi
}
trap cleanup EXIT

# ---- keys (CLI) ----
mkdir -p "$T/root/sub" "$T/outside"
printf 'Photosynthesis turns sunlight into sugar in green leaves.\n' > "$T/root/sub/plants.txt"
printf 'The secret outside file mentions zeppelins.\n' > "$T/outside/secret.txt"
ADMIN=$("$FRUGAL_BIN" --db "$DB" keys create --role admin 2>/dev/null)
check "keys create prints a key fk_ + 32 characters" test "${#ADMIN}" = 35
WRITER_A=$("$FRUGAL_BIN" --db "$DB" keys create --role writer -c alpha 2>/dev/null)
READER_A=$("$FRUGAL_BIN" --db "$DB" keys create --role reader -c alpha 2>/dev/null)
WRITER_B=$("$FRUGAL_BIN" --db "$DB" keys create --role writer -c beta 2>/dev/null)
REVOKED=$("$FRUGAL_BIN" --db "$DB" keys create --role reader 2>/dev/null)
rid=$("$FRUGAL_BIN" --db "$DB" keys list --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["keys"][-1]["id"])')
"$FRUGAL_BIN" --db "$DB" keys revoke "$rid"
check "keys revoke exits 0" test $? = 0
check "the database holds hashes, never the key" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM api_keys WHERE hash = '$ADMIN'")" = 0
check "keys list shows the revoked key" sh -c "'$FRUGAL_BIN' --db '$DB' keys list | grep -q revoked"

# ---- start ----
"$FRUGAL_BIN" --db "$DB" serve --port 0 --threads 2 --max-body 1M --root "$T/root" \
    > "$T/server.out" 2> "$T/server.err" &
PID=$!
PORT=
for _ in $(seq 1 200); do
    PORT=$(sed -n 's|^frugal: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/server.out")
    [ -n "$PORT" ] && break
    sleep 0.05
done
URL="http://127.0.0.1:$PORT"
CODE=000
for _ in $(seq 1 100); do
    req "" GET /healthz
    code_is 200 && break
    sleep 0.05
done
expect 200 "GET /healthz answers on 127.0.0.1"
check "responses carry X-Request-Id" grep -qi '^X-Request-Id: req-' "$T/headers"
req "" GET /readyz
expect 200 "GET /readyz: the store is open"

# ---- keys and roles ----
req "" GET /v1/collections
expect 401 "no key -> 401"
check "401 has the error shape" error_shape
req "fk_notakey" GET /v1/collections
expect 401 "unknown key -> 401"
req "$REVOKED" GET /v1/collections
expect 401 "revoked key -> 401"
req "$WRITER_A" POST /v1/collections -d '{"name":"alpha"}'
expect 403 "a writer cannot create collections"
req "$ADMIN" POST /v1/collections -d '{"name":"alpha","language":"english"}'
expect 201 "admin creates collection alpha"
req "$ADMIN" POST /v1/collections -d '{"name":"beta"}'
expect 201 "admin creates collection beta"
req "$ADMIN" POST /v1/collections -d '{"name":"beta"}'
expect 409 "creating it again -> 409"
req "$READER_A" POST "/v1/collections/alpha/documents?name=r.txt" --data-binary 'x'
expect 403 "a reader cannot upload"

# ---- uploads and search ----
req "$WRITER_A" POST "/v1/collections/alpha/documents?name=notes/whales.txt" \
    -H 'Content-Type: text/plain' -H 'X-Frugal-Metadata: {"team":"ocean"}' \
    --data-binary 'Blue whales are the largest animals ever known to have lived.'
expect 201 "raw upload -> 201"
check "the upload reports one added document" jq_ok 'd["added"] == 1 and d["files"][0]["outcome"] == "added"'
printf '# Comets\n\nComets are icy bodies that release gas near the sun.\n' > "$T/comets.md"
req "$WRITER_A" POST /v1/collections/alpha/documents -F "file=@$T/comets.md;filename=comets.md" \
    -F 'metadata={"team":"space"}'
expect 201 "multipart upload -> 201"
req "$WRITER_A" POST "/v1/collections/alpha/documents?name=notes/whales.txt" \
    --data-binary 'Blue whales are the largest animals ever known to have lived.'
check "uploading the same bytes again reports unchanged" jq_ok 'd["unchanged"] == 1'
req "$READER_A" POST /v1/search -d '{"query":"largest whales","collection":"alpha","k":5}'
expect 200 "search -> 200"
check "search finds the raw upload with a citation" \
    jq_ok 'd["hits"][0]["citation"]["source"] == "notes/whales.txt" and d["hits"][0]["citation"]["char_end"] > 0 and d["hits"][0]["score"] > 0'
req "$READER_A" POST /v1/search -d '{"query":"icy comets","collection":"alpha"}'
check "search finds the multipart upload" jq_ok 'd["hits"][0]["citation"]["source"] == "comets.md"'
req "$READER_A" POST /v1/search -d '{"query":"whales comets","collection":"alpha","filters":{"team":["space"]}}'
check "filters narrow the hits" jq_ok 'len(d["hits"]) == 1 and d["hits"][0]["citation"]["source"] == "comets.md"'
req "$READER_A" GET "/v1/collections/alpha/documents?limit=1"
check "documents list pages (limit 1 gives next_offset 1)" jq_ok 'len(d["documents"]) == 1 and d["next_offset"] == 1'
DOC=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["documents"][0]["id"])' "$T/body")
req "$READER_A" GET "/v1/collections/alpha/documents/$DOC"
check "documents get returns the document" jq_ok "d['id'] == $DOC and d['source'] == 'notes/whales.txt'"
check "documents get returns its extracted text, which hits' offsets point into" \
    jq_ok "d['text'].startswith('Blue whales are the largest animals')"
req "$READER_A" GET /v1/collections/alpha
check "collection get counts 2 documents" jq_ok 'd["documents"] == 2'

# ---- server-side ingest inside roots ----
req "$WRITER_A" POST /v1/collections/alpha/ingest -d '{"paths":["sub/plants.txt"]}'
expect 200 "ingest of a path inside --root -> 200"
check "ingest reports the file added" jq_ok 'd["added"] == 1'
req "$WRITER_A" POST /v1/collections/alpha/ingest -d "{\"paths\":[\"$T/root/../outside/secret.txt\"]}"
expect 400 "ingest of a path with .. -> 400"
req "$WRITER_A" POST /v1/collections/alpha/ingest -d "{\"path\":\"$T/outside/secret.txt\"}"
expect 400 "ingest of a path outside the roots -> 400"
ln -s "$T/outside" "$T/root/link"
req "$WRITER_A" POST /v1/collections/alpha/ingest -d '{"path":"link/secret.txt"}'
expect 400 "ingest through a symlink leading outside -> 400"
req "$WRITER_A" POST /v1/collections/alpha/sync -d '{"path":"sub"}'
expect 200 "sync of a folder inside --root -> 200"

# ---- tenant isolation ----
req "$WRITER_B" POST "/v1/collections/beta/documents?name=b.txt" \
    --data-binary 'Beta tenant confidential: the launch code is marmalade.'
expect 201 "tenant B uploads to beta"
req "$ADMIN" GET /v1/collections/beta/documents
BETA_DOC=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["documents"][0]["id"])' "$T/body")
req "$READER_A" POST /v1/search -d '{"query":"marmalade","collection":"beta"}'
expect 403 "key for alpha cannot search beta"
req "$READER_A" POST /v1/search -d '{"query":"marmalade launch code"}'
expect 403 "key for alpha cannot search the default collection"
req "$READER_A" POST /v1/search -d '{"query":"marmalade launch code","collection":"alpha"}'
check "searching alpha never returns beta's documents" jq_ok 'len(d["hits"]) == 0'
req "$READER_A" GET /v1/collections/beta/documents
expect 403 "key for alpha cannot list beta's documents"
req "$READER_A" GET "/v1/collections/beta/documents/$BETA_DOC"
expect 403 "key for alpha cannot get beta's document"
req "$WRITER_A" DELETE "/v1/collections/beta/documents/$BETA_DOC"
expect 403 "key for alpha cannot delete in beta"
req "$WRITER_A" DELETE "/v1/collections/alpha/documents/$BETA_DOC"
expect 404 "beta's document id through alpha's path -> 404"
req "$WRITER_A" POST "/v1/collections/beta/documents?name=x.txt" --data-binary 'intrusion'
expect 403 "key for alpha cannot upload to beta"
req "$READER_A" GET /v1/collections/beta
expect 403 "key for alpha cannot get beta"
req "$READER_A" GET /v1/collections
check "the collection list shows only alpha" jq_ok '[c["name"] for c in d["collections"]] == ["alpha"]'
req "$READER_A" GET /v1/models
check "/v1/models lists only alpha" jq_ok '[m["id"] for m in d["data"]] == ["alpha"]'
req "$READER_A" POST /v1/embeddings -d '{"model":"beta","input":"hello"}'
expect 403 "/v1/embeddings with another tenant's collection -> 403"
req "$READER_A" POST /v1/embeddings -d '{"model":"glove:/etc/passwd","input":"hello"}'
expect 403 "/v1/embeddings with an embedder spec needs an unrestricted admin"
req "$READER_A" POST /v1/embeddings -d '{"model":"alpha","input":["hello"]}'
expect 400 "/v1/embeddings on a collection without an embedder -> 400"
req "$ADMIN" POST /v1/search -d '{"query":"marmalade","collection":"beta"}'
check "beta's document is still there" jq_ok 'len(d["hits"]) == 1'
req "$WRITER_A" GET /v1/keys
expect 403 "only admins manage keys"
req "$ADMIN" POST /v1/keys -d '{"role":"reader","collections":["beta"]}'
expect 201 "admin creates a key over HTTP"
NEWKEY=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$T/body")
req "$NEWKEY" POST /v1/search -d '{"query":"marmalade","collection":"beta"}'
check "the new key searches beta" jq_ok 'len(d["hits"]) == 1'
# Every worker has checked keys by now (its key statements are prepared and cached): a key
# revoked from another process must be refused at once by all of them.
LATE=$("$FRUGAL_BIN" --db "$DB" keys create --role reader -c beta 2>/dev/null)
for _ in 1 2 3 4; do req "$LATE" GET /v1/collections/beta; done
expect 200 "a key created while the server runs works at once"
late_id=$("$FRUGAL_BIN" --db "$DB" keys list --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["keys"][-1]["id"])')
"$FRUGAL_BIN" --db "$DB" keys revoke "$late_id"
late_codes=
for _ in 1 2 3 4; do req "$LATE" GET /v1/collections/beta; late_codes="$late_codes$CODE "; done
check "a key revoked while the server runs is refused by every worker at once (401)" \
    test "$late_codes" = "401 401 401 401 "

# ---- delete ----
req "$WRITER_A" DELETE "/v1/collections/alpha/documents/$DOC"
expect 200 "delete a document -> 200"
check "delete reports deleted 1" jq_ok 'd["deleted"] == 1'
req "$READER_A" POST /v1/search -d '{"query":"largest whales","collection":"alpha"}'
check "search no longer finds the deleted document" \
    jq_ok 'all(h["citation"]["source"] != "notes/whales.txt" for h in d["hits"])'
req "$WRITER_A" DELETE "/v1/collections/alpha/documents/$DOC"
expect 404 "deleting it again -> 404"

# ---- bad input ----
req "$READER_A" POST /v1/search -d '{"query": "x",'
expect 400 "malformed JSON -> 400"
check "400 has the error shape" error_shape
req "$READER_A" POST /v1/search -d '{"query": 5}'
expect 400 "wrong type -> 400"
req "$READER_A" POST /v1/search -d '{"query": "x", "k": "ten"}'
expect 400 "k as a string -> 400"
req "$READER_A" POST /v1/search -d '[1,2]'
expect 400 "a JSON array instead of an object -> 400"
printf '{"query": "caf\xe9"}' > "$T/bad_utf8.json"
req "$READER_A" POST /v1/search --data-binary "@$T/bad_utf8.json"
expect 400 "invalid UTF-8 -> 400"
head -c 2097152 /dev/zero | tr '\0' 'a' > "$T/huge.txt"
req "$WRITER_A" POST "/v1/collections/alpha/documents?name=huge.txt" --data-binary "@$T/huge.txt"
expect 413 "a body over --max-body -> 413"
req "$WRITER_A" POST "/v1/collections/alpha/documents?name=../escape.txt" --data-binary 'x'
expect 400 "../ in a document name -> 400"
req "$WRITER_A" POST "/v1/collections/alpha/documents?name=/etc/passwd" --data-binary 'x'
expect 400 "an absolute document name -> 400"
req "$WRITER_A" POST /v1/collections/alpha/documents -F "file=@$T/comets.md;filename=../../x.md"
expect 400 "../ in a multipart file name -> 400"
req "$READER_A" GET /v1/nothing-here
expect 404 "unknown route -> 404"
req "$READER_A" DELETE /v1/search
expect 405 "wrong method -> 405"
check "405 names the allowed method" grep -qi '^Allow: POST' "$T/headers"
req "$READER_A" GET "/v1/collections/alpha/documents?limit=abc"
expect 400 "a bad limit -> 400"
req "$READER_A" POST /v1/ask -d '{"question":"What do comets release near the sun?","collection":"alpha"}'
expect 200 "/v1/ask answers"
check "the answer cites comets.md with a route and timings" \
    jq_ok 'd["citations"][0]["source"] == "comets.md" and "gas" in d["answer"] and d["route"] and d["timings_ms"]["total"] >= 0'
req "$READER_A" POST /v1/ask -d '{"question":"marmalade launch code","collection":"beta"}'
expect 403 "key for alpha cannot ask about beta"
req "$READER_A" POST /v1/ask -d '{"question":"marmalade launch code","collection":"alpha"}'
check "asking alpha never cites beta's documents" \
    jq_ok 'all(c["source"] != "b.txt" for c in d["citations"]) and "marmalade" not in d["answer"]'
# ---- streamed answers (Server-Sent Events) ----
# sse_ok PYEXPR: true when it holds for ev = [(event, data as JSON or text), ...] parsed from the
# SSE body in $T/body.
sse_ok() {
    "$PY" -c '
import json, sys
ev = []
for block in open(sys.argv[1], encoding="utf-8").read().replace("\r\n", "\n").split("\n\n"):
    name, data = "message", []
    for line in block.split("\n"):
        if line.startswith("event:"): name = line[6:].strip()
        elif line.startswith("data:"): data.append(line[5:].lstrip(" "))
    if data:
        text = "\n".join(data)
        try: value = json.loads(text)
        except ValueError: value = text
        ev.append((name, value))
names = [e[0] for e in ev]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/body" "$1" 2>/dev/null
}
sse() { # sse KEY PATH JSON: streamed POST with curl -N
    CODE=$(curl -s -N -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 60 -X POST \
        -H "Authorization: Bearer $1" -H 'Accept: text/event-stream' -d "$3" "$URL$2") || CODE=000
}
sse "$READER_A" /v1/ask '{"question":"What do comets release near the sun?","collection":"alpha","stream":true}'
expect 200 "/v1/ask with stream: true -> 200"
check "the stream is text/event-stream" grep -qi '^Content-Type: text/event-stream' "$T/headers"
check "events come as route, delta..., citations, done" \
    sse_ok 'names[0] == "route" and names[-2:] == ["citations", "done"] and set(names[1:-2]) == {"delta"}'
check "route carries route, reason and confidence" \
    sse_ok 'ev[0][1]["route"] == "extractive" and ev[0][1]["reason"] and 0 <= ev[0][1]["confidence"] <= 1'
check "the deltas spell the answer, which mentions gas" \
    sse_ok '"gas" in "".join(v["text"] for n, v in ev if n == "delta") and "".join(v["text"] for n, v in ev if n == "delta") == ev[-1][1]["answer"]'
check "citations cite comets.md with offsets" \
    sse_ok 'ev[-2][1]["citations"][0]["source"] == "comets.md" and ev[-2][1]["citations"][0]["char_end"] > 0'
check "done carries timings, tokens and cost" \
    sse_ok 'ev[-1][1]["timings_ms"]["total"] >= 0 and "prompt_tokens" in ev[-1][1]["usage"] and "usd" in ev[-1][1]["cost"]'
sse "$READER_A" /v1/ask '{"question":"marmalade launch code","collection":"beta","stream":true}'
expect 403 "a streamed ask about another tenant's collection -> 403 (JSON, before any event)"
sse "$READER_A" /v1/ask '{"question":"x","collection":"alpha","mode":"generate","stream":true}'
check "a streamed failure after the start is an error event" \
    sse_ok 'names == ["error"] and ev[0][1]["error"]["code"] == "not_implemented"'
hangups=()
for i in 1 2 3 4 5 6; do # clients that hang up mid-stream must not hurt the server
    curl -s -N --max-time 0.01 -X POST -H "Authorization: Bearer $READER_A" \
        -d '{"question":"What do comets release?","collection":"alpha","stream":true}' \
        "$URL/v1/ask" > /dev/null 2>&1 &
    hangups+=($!)
done
wait "${hangups[@]}"
req "$READER_A" POST /v1/ask -d '{"question":"What do comets release near the sun?","collection":"alpha"}'
check "the server still answers after clients hung up mid-stream" jq_ok '"gas" in d["answer"]'

# ---- OpenAI-compatible chat completions ----
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What do comets release near the sun?"}]}'
expect 200 "/v1/chat/completions answers"
check "a chat.completion whose content cites [1] and lists comets.md" \
    jq_ok 'd["object"] == "chat.completion" and d["choices"][0]["message"]["role"] == "assistant" and "gas" in d["choices"][0]["message"]["content"] and "[1]" in d["choices"][0]["message"]["content"] and "comets.md" in d["choices"][0]["message"]["content"] and d["choices"][0]["finish_reason"] == "stop"'
check "it carries the sources with heading path, offsets and snippet" \
    jq_ok 'd["sources"][0]["source"] == "comets.md" and d["sources"][0]["index"] == 1 and "heading_path" in d["sources"][0] and d["sources"][0]["char_end"] > d["sources"][0]["char_start"] and d["sources"][0]["snippet"]'
sse "$READER_A" /v1/chat/completions '{"model":"alpha","stream":true,"messages":[{"role":"user","content":"What do comets release near the sun?"}]}'
expect 200 "streamed /v1/chat/completions -> 200"
check "chunks: role first, content, a stop chunk with sources, then [DONE]" \
    sse_ok 'all(n == "message" for n in names) and ev[-1][1] == "[DONE]" and ev[0][1]["object"] == "chat.completion.chunk" and ev[0][1]["choices"][0]["delta"]["role"] == "assistant" and ev[-2][1]["choices"][0]["finish_reason"] == "stop" and ev[-2][1]["sources"][0]["source"] == "comets.md" and "gas" in "".join(v["choices"][0]["delta"].get("content", "") for v in [e[1] for e in ev[:-1]]) and "[1]" in "".join(v["choices"][0]["delta"].get("content", "") for v in [e[1] for e in ev[:-1]])'
req "$READER_A" POST /v1/chat/completions -d '{"model":"beta","messages":[{"role":"user","content":"marmalade launch code"}]}'
expect 403 "/v1/chat/completions with another tenant's collection -> 403"
req "$READER_A" POST /v1/chat/completions -d '{"model":"frugal","messages":[{"role":"user","content":"marmalade launch code"}]}'
expect 403 "/v1/chat/completions with model frugal (the default collection) needs that collection"
sse "$READER_A" /v1/chat/completions '{"model":"beta","stream":true,"messages":[{"role":"user","content":"marmalade"}]}'
expect 403 "a streamed chat with another tenant's collection -> 403"
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"user","content":"marmalade launch code"}]}'
check "chat about alpha never cites beta's documents" \
    jq_ok 'all(s["source"] != "b.txt" for s in d["sources"]) and "marmalade" not in d["choices"][0]["message"]["content"]'
req "$ADMIN" POST /v1/chat/completions -d '{"model":"nope","messages":[{"role":"user","content":"x"}]}'
expect 404 "/v1/chat/completions with an unknown collection -> 404"
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","mode":"generate","messages":[{"role":"user","content":"What are comets?"}]}'
expect 501 "/v1/chat/completions with mode generate and no generator -> 501"
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","messages":[]}'
expect 400 "/v1/chat/completions without a user message -> 400"
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"user","content":5}]}'
expect 400 "/v1/chat/completions with a wrong content type -> 400"

# ---- the stock openai npm client ----
if [ -n "${OPENAI_TEST:-}" ] && command -v node > /dev/null; then
    if FRUGAL_URL="$URL" FRUGAL_KEY="$READER_A" FRUGAL_OTHER_KEY="$WRITER_B" \
        FRUGAL_COLLECTION=alpha FRUGAL_OTHER_COLLECTION=beta FRUGAL_EXPECT_SOURCE=comets.md \
        node "$OPENAI_TEST" > "$T/openai.out" 2>&1; then
        ok "the stock openai npm client works ($(tail -1 "$T/openai.out"))"
    else
        CODE=-; notok "the stock openai npm client works"
        sed 's/^/#   /' "$T/openai.out"
    fi
else
    echo "# skipped: the openai npm client test (set OPENAI_TEST; make test-api does)"
fi
req "$READER_A" POST /v1/ask -d '{"question":["x"]}'
expect 400 "/v1/ask with a wrong type -> 400"
req "$READER_A" POST /v1/search -d '{"query":"icy comets","collection":"alpha","rerank_top_n":3}'
check "search with rerank_top_n on a server without --rerank -> 400 saying so" \
    sh -c "test $CODE = 400 && grep -q -- '--rerank MODEL_DIR' '$T/body'"
req "$READER_A" POST /v1/ask -d '{"question":"What are comets?","collection":"alpha","rerank_top_n":3}'
expect 400 "/v1/ask with rerank_top_n on a server without --rerank -> 400"
sse "$READER_A" /v1/ask '{"question":"What are comets?","collection":"alpha","rerank_top_n":3,"stream":true}'
expect 400 "a streamed /v1/ask with rerank_top_n without --rerank -> 400 (JSON, before any event)"
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","rerank_top_n":3,"messages":[{"role":"user","content":"What are comets?"}]}'
expect 400 "/v1/chat/completions with rerank_top_n without --rerank -> 400"
req "$READER_A" POST /v1/search -d '{"query":"icy comets","collection":"alpha","rerank_top_n":0}'
check "rerank_top_n 0 (off) is fine without --rerank: reranked 0" jq_ok 'd["reranked"] == 0 and d["hits"]'
req "$READER_A" POST /v1/search -d '{"query":"icy comets","collection":"alpha","mode":"hybrid"}'
check "hybrid search on a collection without an embedder -> 400 saying why" \
    sh -c "test $CODE = 400 && grep -q 'embedder' '$T/body'"
req "" GET /healthz
expect 200 "the server keeps serving after bad input"
req "$READER_A" POST /v1/search -d '{"query":"icy comets","collection":"alpha"}'
check "search still works after bad input" jq_ok 'd["hits"][0]["citation"]["source"] == "comets.md"'
req "" GET /metrics
expect 200 "GET /metrics -> 200"
check "metrics count requests by route and status" \
    grep -q 'frugal_http_requests_total{route="/v1/search",method="POST",status="200"}' "$T/body"
check "metrics have latency histograms" \
    grep -q 'frugal_http_request_duration_seconds_bucket{route="/v1/search",method="POST",le="+Inf"}' "$T/body"
check "metrics have the in-flight gauge" grep -q '^frugal_http_requests_in_flight ' "$T/body"

# ---- the web UI (embedded at build time; no key) ----
req "" GET /
expect 200 "GET / serves the web UI without a key"
check "the page is text/html with Cache-Control no-cache and an ETag" sh -c \
    "grep -qi '^Content-Type: text/html' '$T/headers' && grep -qi '^Cache-Control: no-cache' '$T/headers' && grep -qi '^ETag: \"' '$T/headers'"
check "the page loads the script and the style" sh -c "grep -q '/web/app.js' '$T/body' && grep -q '/web/style.css' '$T/body'"
req "" GET /web/app.js
check "GET /web/app.js is text/javascript" sh -c "test $CODE = 200 && grep -qi '^Content-Type: text/javascript' '$T/headers'"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$T/headers" | tr -d '\r')
req "" GET /web/app.js -H "If-None-Match: $ETAG"
expect 304 "a matching If-None-Match -> 304"
req "" GET /web/style.css
check "GET /web/style.css is text/css" sh -c "test $CODE = 200 && grep -qi '^Content-Type: text/css' '$T/headers'"
req "" GET /web/nothing.js
expect 404 "an unknown web file -> 404"
req "" GET /web/..%2Fserver.c
expect 404 "a web path with ../ -> 404"

# ---- admin deletes a collection ----
req "$ADMIN" DELETE /v1/collections/beta
expect 200 "admin deletes collection beta"
req "$NEWKEY" POST /v1/search -d '{"query":"marmalade","collection":"beta"}'
expect 404 "searching a deleted collection -> 404"

# ---- shutdown ----
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
check "SIGTERM stops the server with exit status 0" test "$rc" = 0
check "the server logged request ids" grep -q 'req-.* POST /v1/search 200' "$T/server.err"
check "the store is consistent after shutdown" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok

# ---- answers with a generator (frugal serve --generator) ----
# A loopback OpenAI-compatible chat server (tests/data/gen/fake_chat.py) streams its answer
# word by word: "According to the sources, <source 1's first words> [1] [9]." with usage
# {prompt_tokens: request bytes / 4, completion_tokens: 20}.
export no_proxy='*' NO_PROXY='*'
unset FRUGAL_GEN_API_KEY OPENAI_API_KEY
"$PY" "$here/../data/gen/fake_chat.py" "$T/gen.port" &
GEN_PID=$!
for _ in $(seq 1 200); do [ -s "$T/gen.port" ] && break; sleep 0.05; done
GEN_URL="http://127.0.0.1:$(cat "$T/gen.port")"
rc=0
"$FRUGAL_BIN" --db "$DB" serve --port 0 --generator nonsense > /dev/null 2> "$T/bad.err" || rc=$?
check "serve --generator with a malformed spec is a usage error naming the spec syntax" \
    sh -c "test $rc = 2 && grep -q 'openai:MODEL@URL' '$T/bad.err'"
rc=0
FRUGAL_PRICES='not a price table' "$FRUGAL_BIN" --db "$DB" serve --port 0 \
    --generator "openai:m@$GEN_URL" > /dev/null 2> "$T/bad.err" || rc=$?
check "serve refuses to start with a malformed \$FRUGAL_PRICES, naming it" \
    sh -c "test $rc = 1 && grep -q 'FRUGAL_PRICES' '$T/bad.err'"
FRUGAL_PRICES='openai:m 0.5 1.5; cpu-hour 0' "$FRUGAL_BIN" --db "$DB" serve --port 0 --threads 2 \
    --generator "openai:m@$GEN_URL" --gen-capacity 4 --threshold 1 \
    > "$T/server2.out" 2> "$T/server2.err" &
PID=$!
PORT=
for _ in $(seq 1 200); do
    PORT=$(sed -n 's|^frugal: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/server2.out")
    [ -n "$PORT" ] && break
    sleep 0.05
done
URL="http://127.0.0.1:$PORT"
req "" GET /healthz
expect 200 "serve --generator starts and answers"
sse "$READER_A" /v1/ask '{"question":"What do comets release near the sun?","collection":"alpha","mode":"generate","stream":true}'
expect 200 "a streamed generated answer -> 200"
check "route generate comes first, then several delta events (the generator's tokens), then citations and done" \
    sse_ok 'names[0] == "route" and ev[0][1]["route"] == "generate" and names.count("delta") >= 5 and names[1:-2] == ["delta"] * (len(names) - 3) and names[-2:] == ["citations", "done"]'
check "the deltas are the generator's text as it streamed it" \
    sse_ok '"".join(v["text"] for n, v in ev if n == "delta").startswith("According to the sources, ") and "Comets are icy bodies" in "".join(v["text"] for n, v in ev if n == "delta")'
check "done: the checked answer ([9] removed), route, reason and generator" \
    sse_ok 'ev[-1][1]["route"] == "generate" and ev[-1][1]["answer"].startswith("According to the sources") and "[9]" not in ev[-1][1]["answer"] and ev[-1][1]["reason"] and ev[-1][1]["generator"] == "openai:m"'
check "done: tokens from the generator's usage and the cost at the price table" \
    sse_ok 'ev[-1][1]["usage"]["prompt_tokens"] > 50 and ev[-1][1]["usage"]["completion_tokens"] == 20 and abs(ev[-1][1]["cost"]["usd"] - (ev[-1][1]["usage"]["prompt_tokens"] * 0.5 + 20 * 1.5) / 1000) < 1e-9'
check "done: a generate timing" sse_ok 'ev[-1][1]["timings_ms"]["generate"] > 0'
check "the generated answer cites comets.md" sse_ok 'ev[-2][1]["citations"][0]["source"] == "comets.md"'
req "$READER_A" POST /v1/ask -d '{"question":"What do comets release near the sun?","collection":"alpha"}'
check "the same question again comes from the answer cache" \
    jq_ok 'd["route"] == "cache" and d["answer"].startswith("According to the sources")'
req "$READER_A" POST /v1/ask -d '{"question":"What do comets release near the sun?","collection":"alpha","mode":"extractive"}'
check "mode extractive overrides the router: on the CPU, no tokens" \
    jq_ok 'd["route"] == "extractive" and d["usage"]["prompt_tokens"] == 0 and "gas" in d["answer"]'
req "$READER_A" POST /v1/ask -d '{"question":"Which icy bodies release gas?","collection":"alpha"}'
check "mode auto with serve --threshold 1: the router sends the question to the generator" \
    jq_ok 'd["route"] == "generate" and d["generator"] == "openai:m"'
req "$READER_A" POST /v1/ask -d '{"question":"Which icy bodies release gas near the sun?","collection":"alpha","min_confidence":0}'
check "a request's min_confidence overrides --threshold" jq_ok 'd["route"] == "extractive"'
req "$READER_A" POST /v1/ask -d '{"question":"What does photosynthesis turn sunlight into?","collection":"alpha","mode":"generate"}'
check "mode generate over JSON: a generated answer with tokens and cost" \
    jq_ok 'd["route"] == "generate" and d["answer"].startswith("According to the sources, Photosynthesis") and d["usage"]["completion_tokens"] == 20 and d["cost"]["usd"] > 0'
sse "$READER_A" /v1/chat/completions '{"model":"alpha","stream":true,"mode":"generate","messages":[{"role":"user","content":"What are comets made of?"}]}'
expect 200 "a streamed generated chat completion -> 200"
check "chat chunks stream the generator's tokens one by one, then sources, usage and [DONE]" \
    sse_ok 'ev[-1][1] == "[DONE]" and sum(1 for n, v in ev[:-2] if v["choices"][0]["delta"].get("content")) >= 6 and "".join(v["choices"][0]["delta"].get("content", "") for n, v in ev[:-1]).startswith("According to the sources") and ev[-2][1]["route"] == "generate" and ev[-2][1]["usage"]["completion_tokens"] == 20 and ev[-2][1]["sources"][0]["source"] == "comets.md"'
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","mode":"generate","messages":[{"role":"user","content":"Where do green leaves get sugar from?"}]}'
check "a generated chat completion (not streamed) with usage and route" \
    jq_ok 'd["choices"][0]["message"]["content"].startswith("According to the sources") and d["route"] == "generate" and d["usage"]["completion_tokens"] == 20'
if [ -n "${OPENAI_TEST:-}" ] && command -v node > /dev/null; then
    if FRUGAL_URL="$URL" FRUGAL_KEY="$READER_A" FRUGAL_OTHER_KEY="$WRITER_B" \
        FRUGAL_COLLECTION=alpha FRUGAL_OTHER_COLLECTION=beta FRUGAL_EXPECT_SOURCE=comets.md \
        FRUGAL_EXPECT_GENERATED=1 node "$OPENAI_TEST" > "$T/openai2.out" 2>&1; then
        ok "the stock openai npm client streams generated tokens ($(tail -1 "$T/openai2.out"))"
    else
        CODE=-; notok "the stock openai npm client streams generated tokens"
        sed 's/^/#   /' "$T/openai2.out"
    fi
else
    echo "# skipped: the openai npm client against the generator (set OPENAI_TEST)"
fi
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","mode":"sometimes","messages":[{"role":"user","content":"x"}]}'
expect 400 "a chat completion with an unknown mode -> 400"
kill "$GEN_PID" 2>/dev/null
wait "$GEN_PID" 2>/dev/null
req "$READER_A" POST /v1/ask -d '{"question":"Why do comets release gas?","collection":"alpha","mode":"generate"}'
expect 200 "with the generator killed, /v1/ask still answers"
check "extractively, flagged generator unavailable" \
    jq_ok 'd["route"] == "extractive" and d["reason"].startswith("generator unavailable: ") and "gas" in d["answer"]'
sse "$READER_A" /v1/ask '{"question":"Which bodies release gas near the sun?","collection":"alpha","mode":"generate","stream":true}'
check "streamed too: the extractive answer flagged generator unavailable" \
    sse_ok 'ev[0][1]["route"] == "extractive" and ev[0][1]["reason"].startswith("generator unavailable: ") and names[-1] == "done"'
req "$READER_A" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"user","content":"What do icy bodies release?"}]}'
check "chat completions keep answering with the generator gone" \
    jq_ok '"gas" in d["choices"][0]["message"]["content"] and d["route"] == "extractive"'
req "" GET /healthz
expect 200 "the server keeps serving with the generator gone"

# prom_ok PYEXPR: parses $T/body as Prometheus text (exposition format 0.0.4: HELP/TYPE lines,
# samples "name{l="v",...} value", every sample's family typed, histogram buckets cumulative
# with +Inf == _count) and evaluates PYEXPR with v(name, **labels) = the sum of the matching
# samples; false on any format error.
prom_ok() {
    "$PY" -c '
import re, sys
types, samples = {}, []
sample_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$")
label_re = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"(,|$)")
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if not line: continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
        assert name not in types, "TYPE twice: " + line
        types[name] = kind; continue
    if line.startswith("#"): continue
    m = sample_re.match(line)
    assert m, "bad sample line: " + line
    labels, rest = {}, m.group(2) or ""
    while rest:
        lm = label_re.match(rest)
        assert lm, "bad labels: " + line
        labels[lm.group(1)] = lm.group(2); rest = rest[lm.end():]
    name = m.group(1)
    family = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types else name
    assert family in types, "untyped family: " + line
    samples.append((name, labels, float(m.group(3))))
for fam, kind in types.items():
    if kind != "histogram": continue
    series = {}
    for name, labels, value in samples:
        if name == fam + "_bucket":
            key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            series.setdefault(key, []).append((float(labels["le"]), value))
    for key, buckets in series.items():
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), "buckets not cumulative: %s %s" % (fam, key)
        assert buckets[-1][0] == float("inf"), "no +Inf bucket: %s" % fam
        total = [x for n, l, x in samples if n == fam + "_count" and tuple(sorted(l.items())) == key]
        assert total == [buckets[-1][1]], "+Inf != _count: %s %s" % (fam, key)
def v(name, **want):
    return sum(x for n, l, x in samples if n == name and all(l.get(k) == w for k, w in want.items()))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/body" "$1"
}
req "" GET /metrics
expect 200 "GET /metrics with a generator -> 200"
check "the metrics parse as Prometheus text (types, labels, cumulative histograms)" prom_ok 'True'
check "metrics: requests by route and status" \
    prom_ok 'v("frugal_http_requests_total", route="/v1/ask", method="POST", status="200") >= 6'
check "metrics: routes taken (generate, cache, extractive, unavailable)" \
    prom_ok 'v("frugal_answers_total", route="generate") >= 4 and v("frugal_answers_total", route="cache") >= 1 and v("frugal_answers_total", route="extractive") >= 1 and v("frugal_answers_total", route="unavailable") >= 2'
check "metrics: latency histograms per stage (retrieve, extract, generate, total)" \
    prom_ok 'all(v("frugal_answer_stage_seconds_count", stage=s) >= 4 for s in ("retrieve", "extract", "generate", "total")) and v("frugal_answer_stage_seconds_bucket", stage="total", le="+Inf") == v("frugal_answer_stage_seconds_count", stage="total")'
check "metrics: cache hits and misses" \
    prom_ok 'v("frugal_answer_cache_hits_total") >= 1 and v("frugal_answer_cache_misses_total") >= 4'
check "metrics: prompt and completion tokens, cost" \
    prom_ok 'v("frugal_answer_prompt_tokens_total") > 200 and v("frugal_answer_completion_tokens_total") >= 80 and v("frugal_answer_cost_total") > 0 and v("frugal_answer_cpu_seconds_total") > 0'
check "metrics: generator health (circuit state, in flight, capacity, p50/p95, error rate, calls)" \
    prom_ok 'v("frugal_generator_circuit", generator="openai:m", position="1") == 1 and v("frugal_generator_in_flight", generator="openai:m") == 0 and v("frugal_generator_capacity", generator="openai:m") == 4 and v("frugal_generator_latency_seconds", generator="openai:m", quantile="0.95") >= v("frugal_generator_latency_seconds", generator="openai:m", quantile="0.5") > 0 and 0 < v("frugal_generator_error_rate", generator="openai:m") <= 1 and v("frugal_generator_calls_total", generator="openai:m") >= 5 and v("frugal_generator_failures_total", generator="openai:m") >= 1'
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
check "the server with a generator stops cleanly on SIGTERM" test "$rc" = 0

. "$here/rerank.sh" # hybrid search and reranking with serve --rerank
. "$here/tls.sh" # HTTPS with --tls-cert/--tls-key
. "$here/budget.sh" # budgets over HTTP (/v1/budgets) with a generator and a price table

# ---- the OpenAPI file documents every route ----
if bash "$here/check_openapi.sh" > "$T/openapi.out" 2>&1; then
    ok "docs/openapi.yaml documents every route of app/server/server.c"
else
    notok "docs/openapi.yaml documents every route of app/server/server.c"
    sed 's/^/#   /' "$T/openapi.out"
fi

echo "$passed passed, $failed failed"
if [ "$failed" = 0 ]; then
    rm -rf "$T"
    exit 0
fi
echo "# kept $T"
exit 1
