# test_budget.sh - `frugal budget set|list|clear` and `frugal ask` respecting a stored budget:
# with the loopback OpenAI-compatible chat server (tests/data/gen/fake_chat.py) and a price table
# in $FRUGAL_PRICES, a generated answer's cost is charged to the collection's budget in the
# database; once the limit is reached the next asks (auto or --mode generate) are extractive,
# reason "generator unavailable: budget of collection 'default' exhausted (...)", and the
# server is not called; raising the limit or clearing the budget lets generation resume. Also:
# key budgets need an existing key, usage errors, --json, the schema version.
. "$TESTS_DIR/lib.sh"
D=$TESTS_DIR/../data

mkdir -p docs
printf 'Volcanoes erupt when magma rises through the crust. The largest eruption of 1815 was Tambora.\n\nBasalt cools quickly.\n' > docs/volcano.txt
fr ingest docs
expect_rc 0 "ingest a document"
check "the database is at schema version 6" test "$(sql 'PRAGMA user_version')" = 6

fr budget list
expect_rc 0 "list with no budgets exits 0"
check "and prints the header only" test "$(grep -c '' "$T/out")" = 1

fr budget set --collection default 10
expect_rc 0 "set a collection budget"
check "set prints the budget" out_has "collection default"
fr budget list --json
check "list --json has it, nothing spent" jq_ok \
    'd["budgets"] == [dict(d["budgets"][0], scope="collection", collection="default", key_id=None, period="lifetime", limit=10, spent=0, left=10)]'

"$PY" "$D/gen/fake_chat.py" port &
server=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)
export no_proxy='*' NO_PROXY='*'
unset FRUGAL_GEN_URL FRUGAL_GEN_MODEL FRUGAL_GEN_API_KEY OPENAI_API_KEY
export FRUGAL_PRICES='openai:m 0.5 1.5; cpu-hour 0'
GEN="openai:m@http://127.0.0.1:$port"

fr ask "Why do volcanoes erupt?" --threshold 1 --no-cache --generator "$GEN" --json
expect_rc 0 "ask within the budget exits 0"
check "it is generated" jq_ok 'd["route"] == "generate" and d["cost"]["usd"] > 0'
cost=$(jq_get 'repr(d["cost"]["usd"])')
fr budget list --json
check "the answer's cost is charged to the budget in the database" jq_ok \
    "abs(d['budgets'][0]['spent'] - $cost) < 1e-9 and abs(d['budgets'][0]['left'] - (10 - $cost)) < 1e-9"

# the limit becomes what was spent: nothing left
fr budget set -c default "$cost"
expect_rc 0 "lower the limit to what was spent"
fr ask "Why do volcanoes erupt?" --threshold 1 --no-cache --generator "$GEN" --json
expect_rc 0 "ask past the budget exits 0"
check "the answer is extractive, with the budget as the reason" jq_ok \
    'd["route"] == "extractive" and d["reason"].startswith("generator unavailable: budget of collection \x27default\x27 exhausted (spent ") and d["answer"] != ""'
fr ask "Why do volcanoes erupt?" --mode generate --no-cache --generator "$GEN" --json
check "--mode generate does not lift the budget" jq_ok \
    'd["route"] == "extractive" and "budget of collection" in d["reason"] and "generation requested" in d["reason"]'
check "the server got one request in all" test "$(grep -c 200 port.log)" = 1

fr budget set -c default 10
fr ask "Why do volcanoes erupt?" --threshold 1 --no-cache --generator "$GEN" --json
check "raising the limit lets generation resume" jq_ok 'd["route"] == "generate"'
fr budget list --json
check "spent kept counting across the raise" jq_ok "d['budgets'][0]['spent'] > $cost"
fr budget set -c default 10 --reset --period daily --json
expect_rc 0 "set --reset --period daily"
check "starts again from 0, daily" jq_ok \
    'd["budgets"][0]["spent"] == 0 and d["budgets"][0]["period"] == "daily"'

fr budget clear -c default
expect_rc 0 "clear the collection budget"
fr budget clear -c default
expect_rc 1 "clearing it again fails"
check "saying there is none" err_has "no budget for collection default"

# key budgets
fr budget set --key 42 1
expect_rc 1 "a budget for an unknown key fails"
check "naming the key" err_has "no key with id 42"
fr keys create --role reader --json
kid=$(jq_get 'd["id"]')
fr budget set --key "$kid" 0.5 --period monthly
expect_rc 0 "a budget for an existing key"
fr budget list
check "list shows the key's budget" out_has "key        $kid"
check "monthly" out_has "monthly"
fr budget clear --key "$kid"
expect_rc 0 "clear the key budget"

# usage errors
fr budget set 1
expect_rc 2 "set without a scope is a usage error"
fr budget set -c default --key 1 1
expect_rc 2 "set with both scopes is a usage error"
fr budget set -c default abc
expect_rc 2 "a non-numeric amount is a usage error"
fr budget set -c default 1 --period weekly
expect_rc 2 "an unknown period is a usage error"
fr budget frobnicate
expect_rc 2 "an unknown action is a usage error"
fr budget --help
expect_rc 0 "--help exits 0"
check "--help describes the verbs" out_has "frugal budget set (-c COLLECTION | --key ID) AMOUNT"

kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
true
