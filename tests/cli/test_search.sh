# test_search.sh - search as a user would: ranking, output formats, filters, odd queries, CJK.
. "$TESTS_DIR/lib.sh"

mkdir -p docs
cat > docs/penguins.md <<'MD'
# Birds of the South

Many birds live in cold places.

## Emperor penguins

Emperor penguins huddle together through the Antarctic winter to keep warm.
The males keep the egg on their feet for two months.
MD
printf 'Volcanoes erupt when magma rises through the crust.\n\nBasalt cools quickly.\n' > docs/volcano.txt
cat > docs/bread.html <<'HTML'
<html><head><title>Baking bread</title></head>
<body><h1>Sourdough</h1><p>Knead the dough and let the sourdough starter rise overnight.</p></body></html>
HTML
cat > docs/plants.jsonl <<'JSONL'
{"_id": "p1", "title": "Orchid", "text": "The orchid grows in the greenhouse.", "metadata": {"lang": "en", "year": 2020, "tags": ["indoor", "flower"]}}
{"_id": "p2", "title": "Orchidee", "text": "Une orchid dans la serre.", "metadata": {"lang": "fr", "year": 2021, "tags": ["indoor"]}}
{"_id": "p3", "title": "Orchidee de", "text": "Eine orchid im Gewaechshaus.", "metadata": {"lang": "de", "year": 2020, "tags": ["outdoor"]}}
JSONL
printf '東京は日本の首都です。東京タワーは有名な観光地です。\n' > docs/tokyo.txt
printf '北京是中国的首都。长城很有名。\n' > docs/beijing.txt

fr ingest docs
expect_rc 0 "ingest the search corpus"

fr search emperor penguins --json
expect_rc 0 "search --json exits 0"
check "the penguin document ranks first" jq_ok 'd["hits"][0]["source"].endswith("penguins.md")'
check "the JSON has query, took_ms and hits" \
    jq_ok 'd["query"] == "emperor penguins" and d["took_ms"] >= 0 and isinstance(d["hits"], list)'
check "a hit has every field" \
    jq_ok 'all(k in d["hits"][0] for k in ("rank","score","chunk_id","document_id","source","ext_id","title","heading_path","snippet","text","char_start","char_end","metadata"))'
check "ranks count from 1, scores fall" \
    jq_ok '[h["rank"] for h in d["hits"]] == list(range(1, len(d["hits"]) + 1)) and all(d["hits"][i]["score"] >= d["hits"][i+1]["score"] for i in range(len(d["hits"]) - 1))'
check "metadata is a JSON object" jq_ok 'isinstance(d["hits"][0]["metadata"], dict)'
check "the heading path names the section" jq_ok '"Emperor penguins" in d["hits"][0]["heading_path"]'
check "the snippet highlights with [ ] when piped" jq_ok '"[" in d["hits"][0]["snippet"] and "]" in d["hits"][0]["snippet"]'
check "char offsets are a range" jq_ok '0 <= d["hits"][0]["char_start"] < d["hits"][0]["char_end"]'

fr search emperor penguins
expect_rc 0 "human search exits 0"
check "a human hit line reads '1. SCORE  source › heading'" \
    grep -Eq '^1\. [0-9]+\.[0-9]{3}  .*penguins\.md › .*Emperor penguins' "$T/out"
check "the snippet is indented below, highlighted with [ ]" grep -Eq '^    .*\[[Pp]enguins\]' "$T/out"
check "no ANSI escapes when stdout is not a terminal" bash -c '! grep -q "$(printf "\033")" "$0"' "$T/out"
check "the total time closes the output" grep -Eq '^[0-9]+ hits? in [0-9.]+ ms$' "$T/out"

fr search penguins -k 1 --json
check "-k 1 gives one hit" jq_ok 'len(d["hits"]) == 1'
fr search -k 1 --json penguins
check "options may come before the query" jq_ok 'len(d["hits"]) == 1'

fr search zzzyzzx --json
expect_rc 0 "a query that matches nothing exits 0"
check "with no hits" jq_ok 'd["hits"] == []'

# Filters: equality, IN, AND on the same key, arrays, numbers.
ids() { jq_get 'sorted(h["ext_id"] for h in d["hits"])'; }
fr search orchid --json --filter lang=en
check "--filter lang=en" test "$(ids)" = "['p1']"
fr search orchid --json --filter lang=en,fr
check "--filter lang=en,fr is IN" test "$(ids)" = "['p1', 'p2']"
fr search orchid --json --filter lang=en,fr --filter year=2020
check "two filters must both hold" test "$(ids)" = "['p1']"
fr search orchid --json --filter lang=en --filter lang=fr
check "the same key twice is AND" test "$(ids)" = "[]"
fr search orchid --json --filter tags=indoor
check "an array field matches an element" test "$(ids)" = "['p1', 'p2']"
fr search orchid --json --filter nosuchkey=1
check "a filter on a missing key matches nothing" test "$(ids)" = "[]"
fr search orchid --json
check "without filters all three records" test "$(ids)" = "['p1', 'p2', 'p3']"

# Text that would be FTS5 syntax is plain text.
for q in '"' '"unbalanced quote' 'penguins AND' 'AND' 'OR NOT' 'NEAR(penguins' 'pen*' '*' \
         'title:penguins' ':' '(((' ')' '^penguins' '-penguins' 'penguins"' "'" '{' 'NEAR' \
         'a:b:c' '""' 'the of and'; do
    fr search --json -- "$q"
    if [ "$RC" = 0 ] && jq_ok 'isinstance(d["hits"], list)' >/dev/null; then
        pass "query '$q' exits 0 with JSON"
    else
        fail "query '$q' exits 0 with JSON"
    fi
done
fr search --json 'title:penguins'
check "a field-looking query still finds the words" jq_ok 'd["hits"][0]["source"].endswith("penguins.md")'

# CJK
fr search 東京 --json
expect_rc 0 "a CJK query exits 0"
check "a Japanese query finds the Japanese document first" jq_ok 'd["hits"][0]["source"].endswith("tokyo.txt")'
fr search 长城 --json
check "a Chinese query finds the Chinese document first" jq_ok 'd["hits"][0]["source"].endswith("beijing.txt")'

# --per-document: one hit per document.
mkdir -p long
for i in $(seq 1 30); do
    printf 'Paragraph %d tells of the old lighthouse keeper and the storm number %d.\n\n' "$i" "$i"
done > long/lighthouse.txt
printf 'A lighthouse stands on the cape.\n' > long/cape.txt
fr ingest long --collection long --chunk-tokens 20 --chunk-overlap 0
expect_rc 0 "ingest with small chunks"
fr search lighthouse --collection long -k 20 --json
check "without --per-document a document gives several hits" \
    jq_ok 'len(d["hits"]) > len(set(h["document_id"] for h in d["hits"]))'
fr search lighthouse --collection long -k 20 --per-document --json
check "--per-document gives one hit per document" \
    jq_ok 'len(d["hits"]) == 2 and len(set(h["document_id"] for h in d["hits"])) == 2'

# Metadata given at ingest time, filtered at search time.
mkdir -p tagged
printf 'The quokka smiles.\n' > tagged/quokka.txt
fr ingest tagged --collection tagged --meta team=search --meta team=ranking \
    --metadata '{"year": "2024", "team": "ignored"}'
expect_rc 0 "ingest with --meta and --metadata"
fr search quokka --collection tagged --json
check "--meta and --metadata end up in the metadata (last --meta wins)" \
    jq_ok 'd["hits"][0]["metadata"].get("team") == "ranking" and d["hits"][0]["metadata"].get("year") == "2024"'
fr search quokka --collection tagged --filter team=ranking --json
check "and can be filtered on" jq_ok 'len(d["hits"]) == 1'

fr search penguins --collection nosuchcollection
expect_rc 1 "search in a missing collection exits 1"
check "with one 'frugal:' line" bash -c '[ "$(grep -c "" "$0")" = 1 ] && grep -q "^frugal: " "$0"' "$T/err"
