# test_collections.sh - collections: create, list, tune, delete; isolation; documents; stats.
. "$TESTS_DIR/lib.sh"

fr collections create books --language english --k1 1.2 --b 0.75
expect_rc 0 "create a collection"
check "it says so" out_has "books"
fr collections create books
expect_rc 1 "creating it again exits 1"
check "with one 'frugal:' line" bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: " "$0"' "$T/err"
fr collections create 'bad name!'
expect_rc 1 "an invalid name exits 1"
fr collections create plain --language none --no-stopwords --title-weight 2
expect_rc 0 "create with --language none --no-stopwords"

fr collections --json
expect_rc 0 "collections --json lists"
check "default, books and plain are listed" \
    jq_ok '{"default", "books", "plain"} <= set(c["name"] for c in d["collections"])'
book() { jq_get "[c for c in d['collections'] if c['name'] == 'books'][0]['$1']"; }
check "books has k1 1.2 and b 0.75" test "$(book k1) $(book b)" = "1.2 0.75"
check "plain has no stopwords and title weight 2" \
    jq_ok '[(c["language"], c["stopwords"], c["title_weight"]) for c in d["collections"] if c["name"] == "plain"] == [("none", "", 2)]'

fr collections tune books --k1 1.5
expect_rc 0 "tune k1"
fr collections list --json
check "k1 changed, b kept" test "$(book k1) $(book b)" = "1.5 0.75"
fr collections tune nosuch --k1 1
expect_rc 1 "tuning a missing collection exits 1"

mkdir -p a b
printf 'The walrus basks on the ice.\n' > a/walrus.txt
printf 'The narwhal dives deep.\n' > b/narwhal.txt
fr ingest a
expect_rc 0 "ingest into default"
fr ingest b --collection books
expect_rc 0 "ingest into books"
fr search walrus --collection books --json
check "books does not see default's documents" jq_ok 'd["hits"] == []'
fr search narwhal --collection books --json
check "books finds its own" jq_ok 'len(d["hits"]) == 1'
fr search narwhal --json
check "default does not see books' documents" jq_ok 'd["hits"] == []'

fr collections
expect_rc 0 "the human list exits 0"
check "shows books with its document" grep -Eq '^books +1 +1 ' "$T/out"

fr documents --collection books --json
check "documents --collection books lists one" \
    jq_ok 'len(d["documents"]) == 1 and d["documents"][0]["collection"] == "books"'
fr documents --collection books
expect_rc 0 "the human documents list exits 0"
check "shows narwhal.txt" out_has "narwhal.txt"

printf 'One\n' > a/1.txt
printf 'Two\n' > a/2.txt
fr ingest a
fr documents --offset 1 --limit 1 --json
check "--offset 1 --limit 1 gives the second document" jq_ok 'len(d["documents"]) == 1'
second=$(jq_get 'd["documents"][0]["id"]')
fr documents --json
check "in id order" test "$(jq_get 'd["documents"][1]["id"]')" = "$second"

fr stats --json
expect_rc 0 "stats --json exits 0"
check "stats counts documents and chunks per collection" \
    jq_ok '{c["name"]: (c["documents"], c["chunks"]) for c in d["collections"]}["books"] == (1, 1) and d["documents"] == 4'
check "stats reports the file size" jq_ok 'd["file_bytes"] > 0'
fr stats
expect_rc 0 "stats exits 0"
check "stats shows the total" grep -Eq '^total +4 +4$' "$T/out"

fr collections delete books
expect_rc 0 "delete a collection"
fr collections --json
check "books is gone" jq_ok '"books" not in [c["name"] for c in d["collections"]]'
fr search narwhal --collection books
expect_rc 1 "searching a deleted collection exits 1"
check "no chunk of books left" test "$(sql 'select count(*) from chunks')" = 3
fr collections delete books
expect_rc 1 "deleting a missing collection exits 1"
