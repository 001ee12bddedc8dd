# test_eval.sh - `frugal eval beir|cranfield` on tiny folders (tests/cli/data).
. "$TESTS_DIR/lib.sh"

BEIR="$TESTS_DIR/data/beir-tiny"
CRAN="$TESTS_DIR/data/cranfield-tiny"
KEYS='("ndcg@10", "recall@100", "mrr@10", "queries", "latency_ms_p50", "latency_ms_p99")'

frx eval beir "$BEIR" --json
expect_rc 0 "eval beir without --db exits 0"
check "the JSON has the six metric keys" jq_ok "all(k in d for k in $KEYS)"
check "and documents and ingest_seconds" jq_ok '"documents" in d and "ingest_seconds" in d'
check "3 judged queries, 8 documents" jq_ok 'd["queries"] == 3 and d["documents"] == 8'
check "metrics are in [0, 1] and the easy queries score well" \
    jq_ok 'all(0 <= d[k] <= 1 for k in ("ndcg@10", "recall@100", "mrr@10")) and d["ndcg@10"] > 0.8 and d["recall@100"] == 1'
check "latencies are sane" jq_ok '0 <= d["latency_ms_p50"] <= d["latency_ms_p99"]'
check "the temporary database was removed" test -z "$(ls -A "$TMPDIR")"
check "no database was made in the working folder" test ! -e frugal.db

FRUGAL_DB="$T/env.db" frx eval beir "$BEIR" --json
check "\$FRUGAL_DB is not used by eval" test ! -e "$T/env.db"

frx eval beir "$BEIR"
expect_rc 0 "human eval exits 0"
check "a small table with nDCG@10" grep -Eq '^nDCG@10 +[0-9.]+$' "$T/out"

fr eval beir "$BEIR" --json
expect_rc 0 "eval beir --db exits 0"
check "the documents stay in the eval collection" \
    test "$(sql "select count(*) from documents d join collections c on c.id = d.collection_id where c.name = 'eval'")" = 8
fr eval beir "$BEIR" --reuse --json
expect_rc 0 "eval --reuse exits 0"
check "--reuse skips ingestion" jq_ok 'd["ingest_seconds"] == 0 and d["documents"] == 8'

fr eval beir "$BEIR" --split dev --json
expect_rc 1 "a missing split exits 1"

frx eval beir "$T/no-such-dir" --json
expect_rc 1 "a missing folder exits 1"
check "with one 'frugal:' line" bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: " "$0"' "$T/err"
check "the temporary database was removed after the failure too" test -z "$(ls -A "$TMPDIR")"

frx eval cranfield "$CRAN" --json
expect_rc 0 "eval cranfield exits 0"
check "cranfield JSON has the six keys" jq_ok "all(k in d for k in $KEYS)"
check "2 queries" jq_ok 'd["queries"] == 2'

frx eval cranfield "$CRAN" --split test
expect_rc 2 "--split with cranfield exits 2"
