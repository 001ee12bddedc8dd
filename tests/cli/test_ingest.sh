# test_ingest.sh - ingesting a folder of mixed files, with failures, as a user would.
. "$TESTS_DIR/lib.sh"

mkdir -p docs/sub
cat > docs/guide.md <<'MD'
# Installation Guide

Some introduction to the zeppelin toolkit.

## Requirements

The zeppelin module needs a working flux capacitor.

## Steps

Run the quasar command twice.
MD
printf 'Plain notes about marmalade and toast.\n\nSecond paragraph about copper kettles.\n' \
    > docs/notes.txt
cat > docs/sub/page.html <<'HTML'
<!doctype html>
<html><head><title>Volcano Page</title><script>var s = "scriptonlyword";</script></head>
<body><nav>navonlyword</nav><h1>Volcanoes</h1><p>Magma chambers erupt basalt lava.</p></body></html>
HTML
cat > docs/records.jsonl <<'JSONL'
{"_id": "r1", "title": "Orchid care", "text": "Water the orchid weekly.", "metadata": {"lang": "en"}}
{"_id": "r2", "title": "Cactus care", "text": "Water the cactus monthly.", "metadata": {"lang": "en"}}

{"_id": "r3", "title": "Fern care", "text": "Keep the fern moist.", "metadata": {"lang": "fr"}}
JSONL
printf 'caf\xe9 ol\xe9 espresso \xff\xfe bytes\n' > docs/latin1.txt
: > docs/empty.txt
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00' > docs/blob.bin
head -c 4096 /dev/zero >> docs/blob.bin

fr ingest docs "$T/nope.md" --json
expect_rc 3 "ingest with failed files exits 3"
check "the summary is JSON with every key" \
    jq_ok 'all(k in d for k in ("added","updated","unchanged","deleted","failed","skipped","chunks_written"))'
check "added: md, txt, html, 3 JSONL records, latin1 txt" jq_ok 'd["added"] == 7'
check "failed: the empty file and the missing path" jq_ok 'd["failed"] == 2'
check "skipped: the binary file" jq_ok 'd["skipped"] == 1'
check "nothing updated, unchanged or deleted" \
    jq_ok 'd["updated"] == 0 and d["unchanged"] == 0 and d["deleted"] == 0'
check "chunks were written" jq_ok 'd["chunks_written"] >= 7'
check "the missing path is one 'frugal: FILE: reason' line" \
    bash -c '[ "$(grep -c "^frugal: .*nope\.md: ." "$0")" = 1 ]' "$T/err"
check "the empty file is one 'frugal: FILE: reason' line" \
    bash -c '[ "$(grep -c "^frugal: .*empty\.txt: ." "$0")" = 1 ]' "$T/err"
check "stderr has just the two failure lines" test "$(err_lines)" = 2
check "no progress bar when stderr is not a terminal" \
    bash -c '! grep -q "$(printf "\r")" "$0" && ! grep -q "/[0-9]* files" "$0"' "$T/err"

fr ingest docs "$T/nope.md"
expect_rc 3 "a second ingest exits 3 again"
check "a second ingest leaves everything unchanged (text summary)" grep -Eq \
    '^added 0, updated 0, unchanged 7, deleted 0, failed 2, skipped 1 \(chunks written: 0\)$' "$T/out"

fr ingest docs/guide.md docs/notes.txt
expect_rc 0 "an ingest without failures exits 0"
check "plain summary line" grep -Eq '^added 0, updated 0, unchanged 2, deleted 0, failed 0, skipped 0' "$T/out"

fr search espresso --json
expect_rc 0 "the invalid UTF-8 file is searchable"
check "its text holds U+FFFD where the bytes were invalid" \
    jq_ok 'd["hits"][0]["source"].endswith("latin1.txt") and "\ufffd" in d["hits"][0]["text"]'

fr search scriptonlyword navonlyword --json
check "HTML script and nav text is not indexed" jq_ok 'len(d["hits"]) == 0'
fr search basalt --json
check "HTML body text is indexed, title kept" \
    jq_ok 'd["hits"][0]["source"].endswith("page.html") and d["hits"][0]["title"] == "Volcano Page"'

fr search flux capacitor --json
check "a Markdown hit carries its heading path" \
    jq_ok 'd["hits"][0]["source"].endswith("guide.md") and "Requirements" in d["hits"][0]["heading_path"]'

fr search fern --json
check "a JSONL record is a document with its _id and metadata" \
    jq_ok 'd["hits"][0]["ext_id"] == "r3" and d["hits"][0]["metadata"].get("lang") == "fr" and d["hits"][0]["title"] == "Fern care"'

fr documents --json
check "documents lists the 7 documents" jq_ok 'len(d["documents"]) == 7'

# --verbose reports every outcome; --quiet keeps failures only.
mkdir -p more
printf 'Zebras have stripes.\n' > more/zebra.txt
fr --verbose ingest more docs/guide.md
expect_rc 0 "verbose ingest exits 0"
check "--verbose reports the added file" grep -Eq '^added +.*zebra\.txt' "$T/err"
check "--verbose reports the unchanged file" grep -Eq '^unchanged +.*guide\.md' "$T/err"
fr ingest docs --quiet
check "--quiet still reports failed files" err_has "empty.txt"

# Options go before or after the paths; --include / --exclude filter files.
mkdir -p mix
printf 'Alpha yak\n' > mix/a.txt
printf '# Beta yak\n' > mix/b.md
printf 'Gamma yak\n' > mix/c.txt
fr ingest --collection mix mix --include '*.txt' --exclude 'c.*' --json
expect_rc 0 "ingest with --include and --exclude exits 0"
check "only a.txt went in" jq_ok 'd["added"] == 1'
fr search yak --collection mix --json
check "the collection holds just a.txt" \
    jq_ok 'len(d["hits"]) == 1 and d["hits"][0]["source"].endswith("a.txt")'

# --max-file-size
head -c 3000 /dev/zero | tr '\0' 'x' > big.txt
fr ingest big.txt --max-file-size 1K --collection sizes
expect_rc 3 "a file over --max-file-size fails (exit 3)"
check "and is reported" err_has "big.txt"
fr ingest big.txt --max-file-size 1M --collection sizes
expect_rc 0 "under --max-file-size it goes in"

# On a terminal (script(1) gives one): a progress bar, bold highlights; none with --quiet.
if command -v script >/dev/null 2>&1; then
    mkdir -p tty
    for i in $(seq 1 20); do printf 'Teletype line %d.\n' "$i" > "tty/t$i.txt"; done
    script -qec "$FRUGAL_BIN --db $DB ingest tty --collection tty" /dev/null > "$T/tty.out" 2>&1
    check "a progress bar on a terminal" grep -q '\] 20/20 files' "$T/tty.out"
    printf 'Teletype again.\n' > tty/t1.txt
    script -qec "$FRUGAL_BIN --db $DB ingest tty --collection tty --quiet" /dev/null > "$T/tty.out" 2>&1
    check "no progress bar with --quiet" bash -c '! grep -q "files" "$0" && grep -q "^added 0, updated 1, " "$0"' "$T/tty.out"
    script -qec "$FRUGAL_BIN --db $DB search teletype --collection tty -k 1" /dev/null > "$T/tty.out" 2>&1
    check "matched terms are bold on a terminal" grep -q "$(printf '\033\\[1m')" "$T/tty.out"
else
    echo "# script(1) not found: terminal checks skipped"
fi
