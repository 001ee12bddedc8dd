# rerank.sh - hybrid search and cross-encoder reranking over HTTP (`frugal serve --rerank DIR`);
# sourced by run.sh, whose check/ok/notok/req/sse/jq_ok/sse_ok helpers, $T, $DB, $FRUGAL_BIN,
# $ADMIN, $URL and $PID (killed by its cleanup) it uses. A collection "sea" with a GloVe-format
# embedder (tests/data/glove/tiny.json converted: cat ~ kitten ~ dog, mat ~ rug) gets its
# documents uploaded over HTTP. Checks: "mode": "hybrid" with "agreement" (null in bm25 mode),
# reranking with the shared fixture bert-tiny-reranker (random weights: only the order it gives
# is checked, not relevance): every hit reranked with a rerank_score, rerank_top_n 2 reranks
# two, a budget of 0 reranks none and says so in rerank_note; /v1/ask (JSON and stream) and
# /v1/chat/completions with rerank_top_n and cache_similarity; wrong types and ranges -> 400;
# --rerank with an embedding model or a missing folder fails at start naming the folder.

RR_FIXTURES=${FRUGAL_SHARED:-$here/../../../shared}/fixtures
RR_MODEL=$RR_FIXTURES/bert-tiny-reranker

rr_start() { # rr_start ARGS...: starts the server, sets PID and URL (empty on failure)
    "$FRUGAL_BIN" --db "$DB" serve --port 0 --threads 2 "$@" > "$T/rr.out" 2> "$T/rr.err" &
    PID=$!
    URL=
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's|^frugal: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/rr.out")
        [ -n "$port" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] && URL="http://127.0.0.1:$port"
}

# rr_fails WHAT NEEDLE ARGS...: the server exits 1 at once, saying NEEDLE on stderr
rr_fails() {
    local what=$1 needle=$2 rc=0
    shift 2
    timeout 20 "$FRUGAL_BIN" --db "$DB" -q serve --port 0 "$@" > "$T/rr.out" 2> "$T/rr.err" || rc=$?
    if [ "$rc" = 1 ] && grep -qF -- "$needle" "$T/rr.err"; then
        ok "$what"
    else
        CODE=-; notok "$what (exit $rc)"
        sed 's/^/#   stderr: /' "$T/rr.err"
    fi
}

if [ ! -d "$RR_MODEL" ]; then
    echo "# skipped: hybrid search and reranking over HTTP (no $RR_MODEL)"
else
    "$FRUGAL_BIN" glove-convert --name tiny "$here/../data/glove/tiny.json" "$T/tiny.fsv" \
        > /dev/null 2>&1
    check "rerank: tiny GloVe vectors converted" test -s "$T/tiny.fsv"
    rr_start --rerank "$RR_MODEL"
    check "rerank: serve --rerank starts" test -n "$URL"
    req "$ADMIN" POST /v1/collections -d "{\"name\":\"sea\",\"embedder\":\"glove:$T/tiny.fsv\"}"
    expect 201 "rerank: admin creates collection sea with an embedder"
    for doc in "pets:the cat sat on the kitten" "floor:the mat on the mat" \
        "dog:a dog sat on the mat" "rug:the cat sat on the rug"; do
        req "$ADMIN" POST "/v1/collections/sea/documents?name=${doc%%:*}.txt" \
            -H 'Content-Type: text/plain' --data-binary "${doc#*:}"
    done
    req "$ADMIN" GET /v1/collections/sea
    check "rerank: four documents uploaded into sea" jq_ok 'd["documents"] == 4'

    # ---- hybrid ----
    req "$ADMIN" POST /v1/search -d '{"query":"rug","collection":"sea","mode":"hybrid"}'
    expect 200 "hybrid: mode hybrid -> 200"
    check "hybrid: the reply says hybrid, with an agreement in [0, 1]" \
        jq_ok 'd["mode"] == "hybrid" and 0 <= d["agreement"] <= 1 and len(d["hits"]) >= 2'
    check "hybrid: the dense side finds the mat documents for rug (BM25 alone finds one)" \
        jq_ok 'any(h["citation"]["source"] == "floor.txt" for h in d["hits"])'
    check "hybrid: without rerank_top_n, reranked 0, rerank_note null, no rerank_score" \
        jq_ok 'd["reranked"] == 0 and d["rerank_note"] is None and all("rerank_score" not in h for h in d["hits"])'
    req "$ADMIN" POST /v1/search -d '{"query":"rug","collection":"sea"}'
    check "hybrid: agreement is null in bm25 mode" \
        jq_ok 'd["mode"] == "bm25" and d["agreement"] is None and len(d["hits"]) == 1'

    # ---- reranking ----
    req "$ADMIN" POST /v1/search \
        -d '{"query":"cat sat","collection":"sea","mode":"hybrid","rerank_top_n":10,"rerank_budget_ms":-1}'
    expect 200 "rerank: rerank_top_n 10 without a time limit -> 200"
    check "rerank: every hit reranked, ordered by rerank_score, no note" \
        jq_ok 'len(d["hits"]) >= 3 and d["reranked"] == len(d["hits"]) and d["rerank_note"] is None and all(d["hits"][i]["rerank_score"] >= d["hits"][i + 1]["rerank_score"] for i in range(len(d["hits"]) - 1))'
    req "$ADMIN" POST /v1/search \
        -d '{"query":"cat sat","collection":"sea","rerank_top_n":2,"rerank_budget_ms":-1}'
    check "rerank: rerank_top_n 2 reranks two; later hits carry no rerank_score" \
        jq_ok 'd["reranked"] == 2 and len(d["hits"]) >= 3 and "rerank_score" in d["hits"][1] and "rerank_score" not in d["hits"][2]'
    req "$ADMIN" POST /v1/search \
        -d '{"query":"cat sat","collection":"sea","k":1,"rerank_top_n":4,"rerank_budget_ms":-1}'
    check "rerank: k 1 after reranking four keeps the best by logit" \
        jq_ok 'len(d["hits"]) == 1 and d["reranked"] == 1'
    req "$ADMIN" POST /v1/search \
        -d '{"query":"cat sat","collection":"sea","rerank_top_n":10,"rerank_budget_ms":0}'
    expect 200 "rerank: a budget of 0 ms -> 200"
    check "rerank: a budget of 0 reranks none and says so" \
        jq_ok 'd["reranked"] == 0 and "none of" in d["rerank_note"] and "reranked" in d["rerank_note"] and all("rerank_score" not in h for h in d["hits"])'
    req "$ADMIN" POST /v1/ask \
        -d '{"question":"what sat on the rug","collection":"sea","rerank_top_n":5,"rerank_budget_ms":-1,"cache_similarity":0.99}'
    expect 200 "rerank: /v1/ask with rerank_top_n and cache_similarity -> 200"
    check "rerank: /v1/ask answers from sea" jq_ok 'len(d["answer"]) > 0 and len(d["citations"]) > 0'
    sse "$ADMIN" /v1/ask \
        '{"question":"what sat on the rug","collection":"sea","stream":true,"rerank_top_n":5,"rerank_budget_ms":-1}'
    check "rerank: a streamed /v1/ask with rerank_top_n ends with done" \
        sse_ok 'names[0] == "route" and names[-1] == "done"'
    req "$ADMIN" POST /v1/chat/completions \
        -d '{"model":"sea","rerank_top_n":5,"rerank_budget_ms":-1,"cache_similarity":1.5,"messages":[{"role":"user","content":"what sat on the rug"}]}'
    expect 200 "rerank: /v1/chat/completions with rerank_top_n and cache_similarity -> 200"
    check "rerank: the chat completion lists sources" jq_ok 'len(d["sources"]) > 0'

    # ---- bad input ----
    for body in '{"query":"cat","collection":"sea","rerank_top_n":"3"}' \
        '{"query":"cat","collection":"sea","rerank_top_n":2.5}' \
        '{"query":"cat","collection":"sea","rerank_top_n":-1}' \
        '{"query":"cat","collection":"sea","rerank_top_n":10001}' \
        '{"query":"cat","collection":"sea","rerank_top_n":true}'; do
        req "$ADMIN" POST /v1/search -d "$body"
        check "rerank: a bad rerank_top_n -> 400 naming the field ($body)" \
            sh -c "test $CODE = 400 && grep -q 'rerank_top_n' '$T/body'"
    done
    for body in '{"query":"cat","collection":"sea","rerank_budget_ms":"fast"}' \
        '{"query":"cat","collection":"sea","rerank_budget_ms":-5}'; do
        req "$ADMIN" POST /v1/search -d "$body"
        check "rerank: a bad rerank_budget_ms -> 400 naming the field ($body)" \
            sh -c "test $CODE = 400 && grep -q 'rerank_budget_ms' '$T/body'"
    done
    req "$ADMIN" POST /v1/search -d '{"query":"cat","collection":"sea","mode":"fuzzy"}'
    check "rerank: an unknown mode -> 400 listing hybrid" \
        sh -c "test $CODE = 400 && grep -q 'hybrid' '$T/body'"
    req "$ADMIN" POST /v1/ask -d '{"question":"cat","collection":"sea","cache_similarity":"high"}'
    check "rerank: /v1/ask with a string cache_similarity -> 400 naming it" \
        sh -c "test $CODE = 400 && grep -q 'cache_similarity' '$T/body'"
    req "$ADMIN" POST /v1/ask -d '{"question":"cat","collection":"sea","cache_similarity":3}'
    expect 400 "rerank: /v1/ask with cache_similarity 3 -> 400"
    req "$ADMIN" POST /v1/ask -d '{"question":"cat","collection":"sea","rerank_top_n":[5]}'
    expect 400 "rerank: /v1/ask with an array rerank_top_n -> 400"
    req "$ADMIN" POST /v1/chat/completions \
        -d '{"model":"sea","rerank_budget_ms":"x","messages":[{"role":"user","content":"cat"}]}'
    expect 400 "rerank: /v1/chat/completions with a string rerank_budget_ms -> 400"
    req "" GET /healthz
    expect 200 "rerank: the server keeps serving after bad input"
    rc=0
    kill -TERM "$PID"
    wait "$PID" || rc=$?
    PID=
    check "rerank: the server with a reranker exits 0 on SIGTERM" test "$rc" = 0

    rr_fails "rerank: --rerank with an embedding model fails at start, naming the folder" \
        "--rerank $RR_FIXTURES/bert-tiny-mean: " --rerank "$RR_FIXTURES/bert-tiny-mean"
    check "rerank: ... and saying it is not a cross-encoder" grep -q 'not a cross-encoder' "$T/rr.err"
    rr_fails "rerank: --rerank with a missing folder fails at start, naming it" \
        "--rerank $T/nowhere: " --rerank "$T/nowhere"
fi
