# lib.sh - helpers sourced by every tests/cli/test_*.sh (see run.sh).
#
# fr ARGS...      runs "$FRUGAL_BIN --db $DB ARGS..." with a time limit; its stdout goes to
#                 $T/out, its stderr to $T/err, its exit status to $RC.
# frx ARGS...     the same without --db.
# expect_rc N WHAT          "ok - WHAT" when $RC is N, else "not ok - WHAT" with diagnostics.
# check WHAT CMD...         "ok - WHAT" when CMD succeeds.
# out_has / err_has TEXT    fixed-string searches in $T/out / $T/err.
# jq_ok PYEXPR              true when the Python expression holds for d = the JSON on $T/out.
# sql QUERY                 one value from sqlite3 on $DB (plain tables only).
set -u
: "${FRUGAL_BIN:?run through tests/cli/run.sh}"
: "${T:?run through tests/cli/run.sh}"
DB="$T/test.db"
PY=/usr/bin/python3
RC=0

fr() {
    RC=0
    timeout 600 "$FRUGAL_BIN" --db "$DB" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

frx() {
    RC=0
    timeout 600 "$FRUGAL_BIN" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

diag() {
    echo "#   exit status $RC"
    head -c 1500 "$T/out" | sed 's/^/#   out: /'
    head -c 1500 "$T/err" | sed 's/^/#   err: /'
}

pass() { echo "ok - $1"; }

fail() {
    echo "not ok - $1"
    shift
    for l in "$@"; do echo "#   $l"; done
    diag
}

check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

expect_rc() {
    if [ "$RC" = "$1" ]; then pass "$2"; else fail "$2" "expected exit status $1"; fi
}

out_has() { grep -qF -- "$1" "$T/out"; }
err_has() { grep -qF -- "$1" "$T/err"; }
err_lines() { grep -c '' "$T/err"; }

jq_ok() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/out" "$1" 2>&1
}

# Prints a value computed from the JSON on $T/out.
jq_get() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
print(eval(sys.argv[2]))' "$T/out" "$1"
}

sql() { sqlite3 "$DB" "$1"; }
