# test_kill.sh - kill -9 in the middle of a large ingest leaves a sound database: integrity
# check ok, no document without its chunks, and a second ingest adds the rest. Still passes
# when the ingest happens to finish before the kill.
. "$TESTS_DIR/lib.sh"

N=3000
"$PY" - "$N" <<'PY'
import os, sys
n = int(sys.argv[1])
words = "river stone cloud maple harbor lantern meadow copper violet thunder".split()
for i in range(n):
    d = f"big/{i % 30:02d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/doc{i:05d}.txt", "w") as f:
        for p in range(4):
            f.write(" ".join(words[(i + p + j) % len(words)] for j in range(40)))
            f.write(f" uniqword{i} paragraph{p}.\n\n")
PY
check "generated $N files" test "$(find big -type f | wc -l)" = "$N"

"$FRUGAL_BIN" --db "$DB" ingest big >/dev/null 2>"$T/err.bg" &
pid=$!
# Wait until some documents are in (or the ingest ends), at most 20 s, then kill -9.
for _ in $(seq 1 400); do
    kill -0 "$pid" 2>/dev/null || break
    n=0
    [ -e "$DB" ] && n=$(sqlite3 -readonly "$DB" 'select count(*) from documents' 2>/dev/null)
    [ "${n:-0}" -gt 50 ] 2>/dev/null && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null && killed=yes || killed=no
wait "$pid" 2>/dev/null
echo "# killed: $killed, documents before the re-run: $(sql 'select count(*) from documents')"

check "integrity_check is ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
check "every document has its chunks" \
    test "$(sql 'select count(*) from documents d where not exists(select 1 from chunks c where c.document_id=d.id)')" = 0
check "no chunk without its document" \
    test "$(sql 'select count(*) from chunks c where not exists(select 1 from documents d where d.id=c.document_id)')" = 0
before=$(sql 'select count(*) from documents')

fr ingest big --json
expect_rc 0 "the re-run ingest exits 0"
check "the re-run adds the rest" \
    jq_ok "d['added'] == $N - $before and d['unchanged'] + d['updated'] == $before and d['failed'] == 0"
check "all $N documents are in" test "$(sql 'select count(*) from documents')" = "$N"
check "every document has its chunks after the re-run" \
    test "$(sql 'select count(*) from documents d where not exists(select 1 from chunks c where c.document_id=d.id)')" = 0
fr search uniqword1234 --json
check "a document is found" jq_ok 'd["hits"][0]["source"].endswith("doc01234.txt")'
