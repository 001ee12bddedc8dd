#!/usr/bin/env bash
# run.sh - runs the black-box tests of the frugal command-line program.
#
# Usage: FRUGAL_BIN=/abs/path/to/frugal bash tests/cli/run.sh [NAME-PATTERN]
# Runs every tests/cli/test_*.sh (or those whose name contains NAME-PATTERN), each in a fresh
# temporary folder (its working directory, $T) with $FRUGAL_DB unset and $TMPDIR pointing inside
# it. A test prints "ok - what" / "not ok - what" lines (see lib.sh); this script numbers them
# ("ok 12 - search: ..."), passes "# ..." diagnostics through, counts a test script that exits
# nonzero as one more failure, and ends with "N passed, M failed". Exit status 1 when any check
# failed. Folders of tests with failures are kept for inspection.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FRUGAL_BIN:-}" ] || [ ! -x "$FRUGAL_BIN" ]; then
    echo "run.sh: set FRUGAL_BIN to the absolute path of the frugal binary" >&2
    exit 2
fi
export FRUGAL_BIN
unset FRUGAL_DB
pattern=${1:-}
n=0
passed=0
failed=0
for t in "$here"/test_*.sh; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    case "$name" in *"$pattern"*) ;; *) continue ;; esac
    dir=$(mktemp -d "${TMPDIR:-/tmp}/frugal-cli-$name.XXXXXX")
    mkdir -p "$dir/tmp"
    echo "# $name ($dir)"
    before=$failed
    status=0
    while IFS= read -r line; do
        case "$line" in
        "ok - "*)
            n=$((n + 1)); passed=$((passed + 1))
            echo "ok $n - $name: ${line#ok - }" ;;
        "not ok - "*)
            n=$((n + 1)); failed=$((failed + 1))
            echo "not ok $n - $name: ${line#not ok - }" ;;
        "__exit "*)
            status=${line#__exit } ;;
        *)
            echo "$line" ;;
        esac
    done < <(cd "$dir" && T="$dir" TMPDIR="$dir/tmp" TESTS_DIR="$here" bash "$t" 2>&1 < /dev/null;
             echo "__exit $?")
    if [ "$status" != 0 ]; then
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - $name: the test script exited with status $status"
    fi
    if [ "$failed" = "$before" ]; then
        rm -rf "$dir"
    else
        echo "# kept $dir"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
