# budget.sh - budgets over HTTP (/v1/budgets) and the server's asks respecting them; sourced by
# run.sh, whose check/ok/notok/expect/req/sse/jq_ok/sse_ok/prom_ok helpers, $T, $DB, $PY,
# $FRUGAL_BIN, $ADMIN, $READER_A, $here and $PID / $GEN_PID (killed by its cleanup) it uses.
# Collection alpha (comets.md, plants.txt) is asked with a price table ($FRUGAL_PRICES for the
# server) and the loopback scripted generator (tests/data/gen/fake_chat.py), --threshold 1 so
# that mode auto generates. Checks: GET/PUT/DELETE need an admin (401 without a key, 403 for a
# reader, 403 for key budgets with a collection-limited admin), 404 for an unknown collection or
# key, 400 for bad bodies and ids; a generated answer is charged to the collection's and the
# asking key's budgets (/v1/ask JSON and stream, chat completions); a key's budget of 0 binds
# that key only (another key still gets generated answers); once the collection's budget is
# spent /v1/ask, its stream and chat completions answer extractively with the reason
# "generator unavailable: budget of collection 'alpha' exhausted (...)"; the figures survive a
# restart; /metrics has a limit and a spent gauge per budget; DELETE lets generation resume.

bg_start() { # starts the server with the generator and the price table; sets PID and URL
    FRUGAL_PRICES='openai:m 0.5 1.5; cpu-hour 0' "$FRUGAL_BIN" --db "$DB" serve --port 0 \
        --threads 2 --generator "openai:m@$BG_GEN_URL" --threshold 1 \
        > "$T/bg.out" 2> "$T/bg.err" &
    PID=$!
    URL=
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's|^frugal: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/bg.out")
        [ -n "$port" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] && URL="http://127.0.0.1:$port"
}
bg_stop() {
    kill -TERM "$PID" 2>/dev/null
    local rc=0
    wait "$PID" || rc=$?
    PID=
    return "$rc"
}
# bg_budget SCOPE TARGET FIELD: prints the field of that budget from GET /v1/budgets ("none")
bg_budget() {
    req "$ADMIN" GET /v1/budgets
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
b = [b for b in d["budgets"] if b["scope"] == sys.argv[2] and b["target"] == sys.argv[3]]
print(repr(b[0][sys.argv[4]]) if b else "none")' "$T/body" "$1" "$2" "$3"
}

"$PY" "$here/../data/gen/fake_chat.py" "$T/bgen.port" &
GEN_PID=$!
for _ in $(seq 1 200); do [ -s "$T/bgen.port" ] && break; sleep 0.05; done
BG_GEN_URL="http://127.0.0.1:$(cat "$T/bgen.port")"
bg_start
check "budgets: the server with a generator and a price table starts" test -n "$URL"

# ---- who may ----
req "$ADMIN" GET /v1/budgets
expect 200 "budgets: GET /v1/budgets (admin) -> 200"
check "budgets: none yet" jq_ok 'd["budgets"] == []'
req "$ADMIN" POST /v1/keys -d '{"role":"reader","collections":["alpha"]}'
BG_K1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$T/body")
BG_K1_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
req "$ADMIN" POST /v1/keys -d '{"role":"reader","collections":["alpha"]}'
BG_K2=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$T/body")
BG_K2_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
req "$ADMIN" POST /v1/keys -d '{"role":"admin","collections":["alpha"]}'
BG_ADMIN_A=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$T/body")
req "" GET /v1/budgets
expect 401 "budgets: no key -> 401"
req "$BG_K1" GET /v1/budgets
expect 403 "budgets: a reader cannot list budgets"
req "$BG_K1" PUT /v1/budgets/collections/alpha -d '{"limit":10}'
expect 403 "budgets: a reader cannot PUT a budget"
check "budgets: 403 has the error shape" error_shape
req "$BG_K1" DELETE /v1/budgets/collections/alpha
expect 403 "budgets: a reader cannot DELETE a budget"
req "$BG_ADMIN_A" PUT "/v1/budgets/keys/$BG_K1_ID" -d '{"limit":10}'
expect 403 "budgets: an admin limited to collections cannot set key budgets"

# ---- bad input ----
req "$ADMIN" PUT /v1/budgets/collections/nope -d '{"limit":10}'
expect 404 "budgets: an unknown collection -> 404"
req "$ADMIN" PUT /v1/budgets/keys/99999 -d '{"limit":10}'
expect 404 "budgets: an unknown key -> 404"
req "$ADMIN" PUT /v1/budgets/keys/abc -d '{"limit":10}'
expect 400 "budgets: a key id that is not a number -> 400"
for body in '{"limit":-1}' '{"limit":"10"}' '{}' '{"limit":1,"period":"weekly"}' \
    '{"limit":1,"reset":"yes"}' '{"limit":1' '[1]'; do
    req "$ADMIN" PUT /v1/budgets/collections/alpha -d "$body"
    expect 400 "budgets: PUT $body -> 400"
done
req "$ADMIN" GET /v1/budgets
check "budgets: bad bodies set nothing" jq_ok 'd["budgets"] == []'
req "$ADMIN" PATCH /v1/budgets/collections/alpha -d '{"limit":1}'
expect 405 "budgets: another method -> 405"

# ---- set, ask, charge ----
req "$ADMIN" PUT /v1/budgets/collections/alpha -d '{"limit":10}'
expect 200 "budgets: admin sets alpha's budget"
check "budgets: PUT answers the budget (lifetime, nothing spent)" \
    jq_ok 'd["scope"] == "collection" and d["target"] == "alpha" and d["limit"] == 10 and d["spent"] == 0 and d["left"] == 10 and d["period"] == "lifetime"'
req "$ADMIN" PUT "/v1/budgets/keys/$BG_K1_ID" -d '{"limit":10,"period":"monthly"}'
expect 200 "budgets: admin sets a monthly budget for key 1"
check "budgets: the key budget names the key" \
    jq_ok "d['scope'] == 'key' and d['key_id'] == $BG_K1_ID and d['period'] == 'monthly'"
req "$BG_K1" POST /v1/ask -d '{"question":"What do comets release near the sun, budget one?","collection":"alpha"}'
check "budgets: within the budgets the answer is generated, with a cost" \
    jq_ok 'd["route"] == "generate" and d["cost"]["usd"] > 0'
bg_cost=$("$PY" -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["cost"]["usd"]))' "$T/body")
check "budgets: GET shows the answer charged to alpha (spent > 0)" \
    test "$(bg_budget collection alpha spent)" = "$bg_cost"
check "budgets: left = limit - spent" jq_ok \
    "[b for b in d['budgets'] if b['target'] == 'alpha'][0]['left'] == 10 - $bg_cost"
check "budgets: and to the asking key (api_key_id)" \
    test "$(bg_budget key "$BG_K1_ID" spent)" = "$bg_cost"
check "budgets: the list has alpha's (lifetime), then key 1's (monthly)" \
    jq_ok '[b["period"] for b in d["budgets"]] == ["lifetime", "monthly"]'
k1_before=$(bg_budget key "$BG_K1_ID" spent)
sse "$BG_K1" /v1/ask '{"question":"Which icy bodies release gas, budget two?","collection":"alpha","stream":true}'
check "budgets: a streamed generated answer" sse_ok 'ev[-1][1]["route"] == "generate"'
k1_after=$(bg_budget key "$BG_K1_ID" spent)
check "budgets: the streamed answer is charged to the key too" \
    "$PY" -c "import sys; sys.exit(0 if $k1_after > $k1_before else 1)"
sse "$BG_K1" /v1/chat/completions '{"model":"alpha","stream":true,"messages":[{"role":"user","content":"What are comets made of, budget three?"}]}'
check "budgets: a streamed generated chat completion" sse_ok 'ev[-2][1]["route"] == "generate"'
k1_chat=$(bg_budget key "$BG_K1_ID" spent)
check "budgets: a streamed chat completion is charged to the key" \
    "$PY" -c "import sys; sys.exit(0 if $k1_chat > $k1_after else 1)"
req "$BG_K1" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"user","content":"Where do leaves get sugar, budget four?"}]}'
check "budgets: a generated chat completion" jq_ok 'd["route"] == "generate"'
check "budgets: a chat completion is charged to the key" \
    "$PY" -c "import sys; sys.exit(0 if $(bg_budget key "$BG_K1_ID" spent) > $k1_chat else 1)"

# ---- a key's budget binds that key only ----
req "$ADMIN" PUT "/v1/budgets/keys/$BG_K2_ID" -d '{"limit":0}'
expect 200 "budgets: key 2 gets a budget of 0"
req "$BG_K2" POST /v1/ask -d '{"question":"What does photosynthesis make, budget five?","collection":"alpha"}'
check "budgets: key 2 gets an extractive answer, its budget as the reason" \
    jq_ok "d['route'] == 'extractive' and d['reason'].startswith('generator unavailable: budget of key $BG_K2_ID exhausted') and d['answer'] != ''"
sse "$BG_K2" /v1/ask '{"question":"What does photosynthesis turn sunlight into, budget six?","collection":"alpha","stream":true}'
check "budgets: streamed too" \
    sse_ok "ev[0][1]['route'] == 'extractive' and ev[0][1]['reason'].startswith('generator unavailable: budget of key $BG_K2_ID')"
req "$BG_K2" POST /v1/chat/completions -d '{"model":"alpha","messages":[{"role":"user","content":"What turns sunlight into sugar, budget seven?"}]}'
check "budgets: and through chat completions" \
    jq_ok "d['route'] == 'extractive' and 'budget of key $BG_K2_ID' in d['reason']"
req "$BG_K1" POST /v1/ask -d '{"question":"What turns sunlight into sugar in leaves, budget eight?","collection":"alpha"}'
check "budgets: key 1 still gets generated answers" jq_ok 'd["route"] == "generate"'
check "budgets: key 2's budget was charged nothing" test "$(bg_budget key "$BG_K2_ID" spent)" = 0

# ---- the collection's budget spent ----
spent=$(bg_budget collection alpha spent)
req "$ADMIN" PUT /v1/budgets/collections/alpha -d "{\"limit\":$spent}"
check "budgets: alpha's limit lowered to what was spent; spent kept" \
    jq_ok "d['limit'] == $spent and d['spent'] == $spent and abs(d['left']) < 1e-9"
req "$BG_K1" POST /v1/ask -d '{"question":"Why do comets release gas, budget nine?","collection":"alpha"}'
expect 200 "budgets: /v1/ask past alpha's budget -> 200"
check "budgets: extractive, reason generator unavailable: budget ... exhausted" \
    jq_ok 'd["route"] == "extractive" and d["reason"].startswith("generator unavailable: budget of collection \x27alpha\x27 exhausted (spent ") and "gas" in d["answer"]'
sse "$BG_K1" /v1/ask '{"question":"Which bodies release gas near the sun, budget ten?","collection":"alpha","stream":true}'
check "budgets: the stream is extractive too, with the reason in its route event" \
    sse_ok 'ev[0][1]["route"] == "extractive" and "budget of collection \x27alpha\x27 exhausted" in ev[0][1]["reason"] and names[-1] == "done"'
req "$BG_K1" POST /v1/chat/completions -d '{"model":"alpha","mode":"generate","messages":[{"role":"user","content":"What do icy comets release, budget eleven?"}]}'
check "budgets: chat completions with mode generate do not lift it" \
    jq_ok 'd["route"] == "extractive" and "budget of collection" in d["reason"]'
check "budgets: nothing more was charged" test "$(bg_budget collection alpha spent)" = "$spent"

# ---- metrics ----
req "" GET /metrics
check "budgets: /metrics has a limit and a spent gauge per budget" \
    prom_ok "v('frugal_budget_limit', scope='collection', target='alpha', period='lifetime') == $spent and v('frugal_budget_spent', scope='collection', target='alpha') == $spent and v('frugal_budget_limit', scope='key', target='$BG_K1_ID', period='monthly') == 10 and v('frugal_budget_limit', scope='key', target='$BG_K2_ID') == 0"

# ---- restart ----
req "$ADMIN" GET /v1/budgets
cp "$T/body" "$T/budgets.before"
bg_stop
check "budgets: the server stops cleanly" test $? = 0
bg_start
check "budgets: the server starts again" test -n "$URL"
req "$ADMIN" GET /v1/budgets
check "budgets: every budget survives the restart" \
    "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a == b and len(a["budgets"]) == 3 else 1)' \
    "$T/budgets.before" "$T/body"
req "$BG_K1" POST /v1/ask -d '{"question":"Why do comets release gas, budget twelve?","collection":"alpha"}'
check "budgets: after the restart alpha's spent budget still binds" \
    jq_ok 'd["route"] == "extractive" and "budget of collection \x27alpha\x27 exhausted" in d["reason"]'

# ---- reset, clear ----
req "$ADMIN" PUT /v1/budgets/collections/alpha -d '{"limit":5,"reset":true}'
check "budgets: reset starts again from 0 spent" jq_ok 'd["spent"] == 0 and d["limit"] == 5'
req "$ADMIN" PUT /v1/budgets/collections/alpha -d '{"limit":0,"period":"daily"}'
check "budgets: a new period starts from 0 with the new limit" \
    jq_ok 'd["period"] == "daily" and d["limit"] == 0 and d["spent"] == 0'
req "$ADMIN" PUT /v1/budgets/collections/alpha -d '{"limit":0}'
check "budgets: a PUT without a period keeps the budget's" jq_ok 'd["period"] == "daily"'
req "$ADMIN" DELETE /v1/budgets/collections/alpha
expect 200 "budgets: DELETE alpha's budget -> 200"
req "$ADMIN" DELETE /v1/budgets/collections/alpha
expect 404 "budgets: deleting it again -> 404"
req "$ADMIN" DELETE "/v1/budgets/keys/$BG_K2_ID"
expect 200 "budgets: DELETE key 2's budget -> 200"
req "$BG_K2" POST /v1/ask -d '{"question":"Why do comets release gas, budget thirteen?","collection":"alpha"}'
check "budgets: with its budgets gone key 2 gets generated answers again" \
    jq_ok 'd["route"] == "generate"'
req "$ADMIN" GET /v1/budgets
check "budgets: the key 1 budget is left" \
    jq_ok "[(b['scope'], b['target']) for b in d['budgets']] == [('key', '$BG_K1_ID')]"
req "$BG_ADMIN_A" GET /v1/budgets
check "budgets: an admin limited to collections does not see key budgets" \
    jq_ok 'd["budgets"] == []'
bg_stop
check "budgets: the server stops cleanly at the end" test $? = 0
kill "$GEN_PID" 2>/dev/null
wait "$GEN_PID" 2>/dev/null
GEN_PID=
