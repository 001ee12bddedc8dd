# test_ann.sh - `frugal ann` on a tiny generated .fvecs set: exact recall, --out, --json keys, memory
# of row-number ids against --sparse-ids.
. "$TESTS_DIR/lib.sh"

"$PY" - <<'PY'
import random, struct
random.seed(7)
dim, nb, nq, k = 8, 200, 20, 5
base = [[random.uniform(-1, 1) for _ in range(dim)] for _ in range(nb)]
query = [[random.uniform(-1, 1) for _ in range(dim)] for _ in range(nq)]
def fw(path, rows, fmt):
    with open(path, "wb") as f:
        for r in rows:
            f.write(struct.pack("<i", len(r)) + struct.pack("<%d%s" % (len(r), fmt), *r))
fw("base.fvecs", base, "f")
fw("query.fvecs", query, "f")
gt = []
for q in query:
    d = sorted(range(nb), key=lambda i: (sum((a - b) ** 2 for a, b in zip(q, base[i])), i))
    gt.append(d[:k])
fw("gt.ivecs", gt, "i")
PY

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --out r.ivecs
expect_rc 0 "ann builds and searches"
check "prints recall 1.0000 on tiny data" out_has "recall@5 1.0000"
check "--out wrote 20 rows of 5 ids" test "$(stat -c %s r.ivecs)" = $((20 * 24))

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --type i8 --threads 2
expect_rc 0 "ann --json --type i8"
check "--json has build_s, qps, bytes_per_vector, recall" \
    jq_ok 'all(k in d for k in ("build_s", "qps", "bytes_per_vector", "recall")) and d["recall"] >= 0.95'

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --type i8 --rescore-on-disk \
    --ef 8,16 --repeat 3
expect_rc 0 "ann --rescore-on-disk --repeat"
check "rescoring from the mapped file: none in memory, all on disk, same recall" \
    jq_ok 'd["rescore_bytes_per_vector"] == 0 and d["memory"]["rescore_on_disk"] == 32 and d["memory"]["codes"] == 8 and d["recall"] >= 0.95 and d["cold_qps"] > 0 and len(d["sweep"]) == 2'

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --flat --metric l2
expect_rc 0 "ann --flat"
check "flat is exact" jq_ok 'd["recall"] == 1.0'

frx ann --base base.fvecs
expect_rc 2 "ann without --query is a usage error"
frx ann --base missing.fvecs --query query.fvecs
expect_rc 1 "ann on a missing file fails"
check "one line names the file" err_has "missing.fvecs"

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --type i8
expect_rc 0 "ann --type i8 (ids = row numbers)"
cp out dense.json
frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --type i8 --sparse-ids
expect_rc 0 "ann --sparse-ids"
check "row-number ids cost no memory; other ids keep a table; the same recall" \
    "$PY" -c 'import json; d = json.load(open("dense.json")); s = json.load(open("out"))
assert d["memory"]["ids"] == 0 and s["memory"]["ids"] >= 8, (d["memory"], s["memory"])
assert s["bytes_per_vector"] > d["bytes_per_vector"] and s["recall"] == d["recall"]'

frx ann --base base.fvecs --query query.fvecs --gt gt.ivecs -k 5 --json --type i8 --single-adds
expect_rc 0 "ann --single-adds"
# (links within 10%: the batch codes its links for exactly 200 slots, single adds for 256)
check "an index grown by single adds keeps its links packed: the memory of the batch build" \
    "$PY" -c 'import json; d = json.load(open("dense.json")); s = json.load(open("out"))
dm, sm = d["memory"], s["memory"]
assert all(sm[k] == dm[k] for k in ("codes", "ids", "node_meta", "rescore")), (dm, sm)
assert dm["links"] <= sm["links"] <= 1.1 * dm["links"] and s["recall"] >= 0.95, (dm, sm)'
