# test_help.sh - help, version and usage errors of every verb.
. "$TESTS_DIR/lib.sh"

frx --help
expect_rc 0 "frugal --help exits 0"
check "frugal --help lists every verb" \
    bash -c 'for v in ingest sync search delete documents collections stats eval; do
                 grep -q "^  $v " "$0" || exit 1; done' "$T/out"
check "frugal --help documents exit status 3" out_has "3 ingest or sync ran"

frx --version
expect_rc 0 "frugal --version exits 0"
check "frugal --version prints the version" out_has "frugal 0.1.0"

# verb|options its help must mention
while IFS='|' read -r verb opts; do
    frx "$verb" --help
    expect_rc 0 "$verb --help exits 0"
    missing=""
    for o in $opts; do out_has "$o" || missing="$missing $o"; done
    check "$verb --help mentions its options${missing:+ (missing:$missing)}" test -z "$missing"
    cp "$T/out" "$T/help1"
    frx help "$verb"
    expect_rc 0 "help $verb exits 0"
    check "help $verb equals $verb --help" cmp -s "$T/out" "$T/help1"
done <<'LIST'
ingest|--collection --include --exclude --meta --metadata --chunk-tokens --chunk-overlap --max-file-size --pdf-timeout --json --verbose Exit
sync|DIR --collection --include --exclude --meta --metadata --chunk-tokens --chunk-overlap --max-file-size --pdf-timeout --json Exit
search|-k --collection --filter KEY=V1,V2 --per-document --json
delete|--id --source --collection
documents|--collection --offset --limit --json
collections|list create tune delete --language --stopwords --no-stopwords --k1 --b --title-weight --heading-weight --body-weight --json
eval|beir cranfield --split --collection --reuse --json TMPDIR ndcg@10 recall@100 mrr@10 latency_ms_p50 latency_ms_p99
stats|--json
LIST

check "help did not create a database" test ! -e frugal.db

frx frobnicate
expect_rc 2 "unknown verb exits 2"
check "unknown verb is named on stderr with a hint" \
    bash -c 'grep -q "frobnicate" "$0" && grep -q "frugal --help" "$0"' "$T/err"

frx help frobnicate
expect_rc 2 "help of an unknown verb exits 2"

frx
expect_rc 2 "no verb exits 2"

frx --bogus search x
expect_rc 2 "unknown global option exits 2"

fr search penguins --bogus
expect_rc 2 "unknown option after the query exits 2"
check "unknown option is named, with a hint to the verb's help" \
    bash -c 'grep -q -- "--bogus" "$0" && grep -q "frugal help search" "$0"' "$T/err"

fr search penguins -k
expect_rc 2 "option without its value exits 2"

for bad in abc 10x "" 0 -3 10001 " 5" 1e2; do
    fr search penguins -k "$bad"
    expect_rc 2 "-k '$bad' is refused"
done
fr ingest . --chunk-tokens 12abc
expect_rc 2 "--chunk-tokens 12abc is refused"
fr ingest . --max-file-size 12Q
expect_rc 2 "--max-file-size 12Q is refused"
fr ingest . --metadata '[1,2]'
expect_rc 2 "--metadata that is not an object is refused"
fr ingest . --meta novalue
expect_rc 2 "--meta without = is refused"
fr search penguins --filter novalue
expect_rc 2 "--filter without = is refused"
fr collections tune default
expect_rc 2 "collections tune without options exits 2"
fr collections create x --stopwords a --no-stopwords
expect_rc 2 "--stopwords with --no-stopwords exits 2"
fr collections frob
expect_rc 2 "unknown collections action exits 2"
fr eval trec .
expect_rc 2 "unknown eval kind exits 2"
fr delete
expect_rc 2 "delete without targets exits 2"
fr sync
expect_rc 2 "sync without a folder exits 2"
fr ingest
expect_rc 2 "ingest without paths exits 2"
check "usage errors did not create a database" test ! -e "$DB"

fr search penguins
expect_rc 1 "search on a missing database exits 1"
check "the missing database is one 'frugal:' line" \
    bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: .*no such database" "$0"' "$T/err"
check "search on a missing database does not create it" test ! -e "$DB"
