# test_delete.sh - `frugal delete --id N` and `--source PATH`.
. "$TESTS_DIR/lib.sh"

mkdir -p d
printf 'The xylophone plays.\n' > d/x.txt
printf 'The yodel echoes.\n' > d/y.txt
printf 'The zither hums.\n' > d/z.txt
cat > d/recs.jsonl <<'JSONL'
{"_id": "1", "title": "One", "text": "The walrus naps."}
{"_id": "2", "title": "Two", "text": "The walrus swims."}
JSONL
fr ingest d
expect_rc 0 "ingest 5 documents"

fr documents --json
expect_rc 0 "documents --json exits 0"
check "documents lists 5" jq_ok 'len(d["documents"]) == 5'
x_id=$(jq_get '[x["id"] for x in d["documents"] if x["source"].endswith("x.txt")][0]')
y_src=$(jq_get '[x["source"] for x in d["documents"] if x["source"].endswith("y.txt")][0]')
jsonl_src=$(jq_get '[x["source"] for x in d["documents"] if x["ext_id"] == "1"][0].split("#")[0]')

fr delete --id "$x_id"
expect_rc 0 "delete --id exits 0"
check "it says one was deleted" grep -Eq '^deleted 1 document$' "$T/out"
fr search xylophone --json
check "the deleted document is no longer found" jq_ok 'd["hits"] == []'

fr delete --id "$x_id"
expect_rc 1 "deleting it again exits 1"
check "with one 'frugal:' line" bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: " "$0"' "$T/err"

fr delete --source "$y_src" --json
expect_rc 0 "delete --source exits 0"
check "--json says one was deleted" jq_ok 'd == {"deleted": 1}'

fr delete --source "$jsonl_src"
expect_rc 0 "delete --source of a JSONL file exits 0"
check "it deletes both records" grep -Eq '^deleted 2 documents$' "$T/out"
fr search walrus --json
check "the records are no longer found" jq_ok 'd["hits"] == []'

fr delete --source "$T/d/nothing-here.txt"
expect_rc 1 "delete --source of an unknown source exits 1"

fr delete --id 999999
expect_rc 1 "delete --id of an unknown id exits 1"

fr delete --id abc
expect_rc 2 "delete --id abc exits 2"

check "one document left" test "$(sql 'select count(*) from documents')" = 1
check "with its chunk only" test "$(sql 'select count(*) from chunks')" = 1

printf 'The xylophone again.\n' > d/x.txt
fr ingest d/x.txt
fr documents --json
x_id=$(jq_get '[x["id"] for x in d["documents"] if x["source"].endswith("x.txt")][0]')
fr delete --source d/z.txt --id "$x_id"
expect_rc 0 "--source (a relative path) and --id in one command"
check "deletes both" grep -Eq '^deleted 2 documents$' "$T/out"
check "no documents left" test "$(sql 'select count(*) from documents')" = 0
check "no chunks left" test "$(sql 'select count(*) from chunks')" = 0
