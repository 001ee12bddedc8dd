# test_version.sh - a database written by a newer frugal is refused by every verb.
. "$TESTS_DIR/lib.sh"

mkdir -p d
printf 'The kiwi is a bird.\n' > d/k.txt
fr ingest d
expect_rc 0 "ingest"
sqlite3 "$DB" 'PRAGMA user_version=99'
check "the database now says version 99" test "$(sql 'PRAGMA user_version')" = 99

while IFS= read -r line; do
    eval "set -- $line"
    fr "$@"
    if [ "$RC" = 1 ] && grep -qi "newer" "$T/err" && [ "$(err_lines)" = 1 ]; then
        pass "'$line' exits 1 saying 'newer' in one line"
    else
        fail "'$line' exits 1 saying 'newer' in one line"
    fi
done <<'LIST'
search kiwi
search kiwi --json
ingest d
sync d
documents
collections
collections create x
stats
delete --id 1
LIST
check "the database was left at version 99" test "$(sql 'PRAGMA user_version')" = 99
