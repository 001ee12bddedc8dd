# test_sync.sh - `frugal sync DIR` mirrors a folder: added, updated, unchanged, deleted, and no
# stale chunk left behind.
. "$TESTS_DIR/lib.sh"

mkdir -p mirror/sub
printf 'The aardvark digs for termites at night.\n' > mirror/a.txt
printf 'The buffalo grazes on the plain.\n' > mirror/b.txt
printf 'The chameleon changes colour.\n' > mirror/sub/c.txt

fr sync mirror --json
expect_rc 0 "the first sync exits 0"
check "the first sync adds 3" jq_ok 'd["added"] == 3 and d["updated"] == 0 and d["deleted"] == 0'

fr sync mirror --json
check "a second sync leaves 3 unchanged" \
    jq_ok 'd["added"] == 0 and d["updated"] == 0 and d["unchanged"] == 3 and d["deleted"] == 0'

printf 'The dingo howls in the outback.\n' > mirror/d.txt
printf 'The anteater replaced what lived here.\n' > mirror/a.txt
rm mirror/sub/c.txt
fr sync --json mirror
expect_rc 0 "sync after changes exits 0"
check "one added, one updated, one unchanged, one deleted" \
    jq_ok 'd["added"] == 1 and d["updated"] == 1 and d["unchanged"] == 1 and d["deleted"] == 1 and d["failed"] == 0'

fr search chameleon --json
check "the deleted file's text is no longer found" jq_ok 'd["hits"] == []'
fr search aardvark termites --json
check "the updated file's old text is no longer found" jq_ok 'd["hits"] == []'
fr search anteater --json
check "the updated file's new text is found" \
    jq_ok 'len(d["hits"]) == 1 and d["hits"][0]["source"].endswith("a.txt")'
fr search dingo --json
check "the added file is found" jq_ok 'len(d["hits"]) == 1'

check "3 documents in the table" test "$(sql 'select count(*) from documents')" = 3
check "3 chunks, one per small file: no stale chunk" test "$(sql 'select count(*) from chunks')" = 3
check "no chunk without its document" \
    test "$(sql 'select count(*) from chunks c where not exists (select 1 from documents d where d.id = c.document_id)')" = 0

fr sync mirror --verbose
expect_rc 0 "a human sync exits 0"
check "the text summary" grep -Eq '^added 0, updated 0, unchanged 3, deleted 0, failed 0, skipped 0' "$T/out"

# Emptying the folder deletes everything it held.
rm mirror/*.txt
fr sync mirror --json
check "emptying the folder deletes its 3 documents" jq_ok 'd["deleted"] == 3'
check "no chunks left" test "$(sql 'select count(*) from chunks')" = 0

# Sync only touches its own folder and collection.
mkdir -p other
printf 'The ocelot prowls.\n' > other/o.txt
fr ingest other
fr sync mirror --json
check "sync of another folder leaves other documents alone" jq_ok 'd["deleted"] == 0'
fr search ocelot --json
check "the other document is still found" jq_ok 'len(d["hits"]) == 1'

fr sync "$T/no-such-folder"
expect_rc 1 "sync of a missing folder exits 1"
check "with one 'frugal:' line" bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: " "$0"' "$T/err"
fr sync mirror other
expect_rc 2 "sync with two folders exits 2"
