# test_bm25.sh - the BM25 index file beside the database: built by the first search, same
# results as FTS5, caught up after ingest and delete, rebuilt when damaged, and rewritten by
# `frugal optimize` atomically: kill -9 in the middle leaves an index that searches correctly.
. "$TESTS_DIR/lib.sh"

"$PY" - <<'PY'
import os
words = "river stone cloud maple harbor lantern meadow copper violet thunder".split()
os.makedirs("docs", exist_ok=True)
for i in range(400):
    with open(f"docs/doc{i:04d}.txt", "w") as f:
        for p in range(3):
            f.write(" ".join(words[(i * 7 + p * 3 + j) % len(words)] for j in range(30 + i % 17)))
            f.write(f" uniq{i} para{p}.\n\n")
PY
fr ingest docs --json
expect_rc 0 "ingest 400 files"
IDX="$DB.bm25/1.idx"

ids() { # the chunk ids and scores of a search, one per line
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for h in d["hits"]:
    print(h["chunk_id"], "%.9g" % h["score"])' "$T/out"
}

fr search "maple harbor uniq17" -k 50 --json
expect_rc 0 "search with the BM25 index"
check "the first search wrote the index file" test -s "$IDX"
ids > ours.txt
FRUGAL_BM25_ENGINE=fts5 fr search "maple harbor uniq17" -k 50 --json
ids > fts5.txt
check "same hits and scores as FTS5" cmp -s ours.txt fts5.txt

fr delete --source "$T/docs/doc0017.txt"
fr search uniq17 --json
check "a deleted document is not found" jq_ok 'len(d["hits"]) == 0'
echo "copper thunder uniq9999" > docs/new.txt
fr ingest docs/new.txt
fr search uniq9999 --json
check "a new document is found before optimize" jq_ok 'd["hits"][0]["source"].endswith("new.txt")'

fr optimize
expect_rc 0 "optimize exits 0"
fr search "violet meadow" -k 100 --json
ids > ours.txt
FRUGAL_BM25_ENGINE=fts5 fr search "violet meadow" -k 100 --json
ids > fts5.txt
check "after optimize: same as FTS5" cmp -s ours.txt fts5.txt

# kill -9 during optimize, many times: the file is the old one or the new one, never half
for i in $(seq 1 15); do
    "$FRUGAL_BIN" --db "$DB" optimize >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((i % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
fr --verbose search "violet meadow" -k 100 --json
expect_rc 0 "search after kill -9 during optimize"
check "no rebuild was needed (the file is whole)" sh -c "! grep -q rebuilding '$T/err'"
ids > ours.txt
check "after kill -9 during optimize: same as FTS5" cmp -s ours.txt fts5.txt

printf 'garbage' > "$IDX"
fr --verbose search "violet meadow" -k 100 --json
expect_rc 0 "search with a damaged index file exits 0"
check "the damage is reported" err_has "rebuilding"
ids > ours.txt
check "rebuilt: same as FTS5" cmp -s ours.txt fts5.txt
fr optimize --collection nosuch
expect_rc 1 "optimize of a missing collection fails"
