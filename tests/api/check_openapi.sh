#!/usr/bin/env bash
# check_openapi.sh - fails when a route of the server's route table (app/server/server.c,
# lines like {"GET", "/v1/collections", ...}) is missing from docs/openapi.yaml (path and
# method), or when the OpenAPI file documents a path the server does not serve.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$root/app/server/server.c" "$root/docs/openapi.yaml" <<'PY'
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()
routes = set(re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "(/[^"]*)"', src))
doc = {}
path = None
for line in open(sys.argv[2], encoding="utf-8"):
    m = re.match(r'^  (/\S*):\s*$', line)
    if m:
        path = m.group(1)
        doc.setdefault(path, set())
        continue
    if re.match(r'^\S', line):
        path = None
    m = re.match(r'^    (get|post|put|patch|delete):\s*$', line)
    if m and path is not None:
        doc[path].add(m.group(1).upper())
bad = 0
for method, p in sorted(routes):
    if method not in doc.get(p, set()):
        print(f"missing from openapi.yaml: {method} {p}")
        bad = 1
served = {p for _, p in routes}
for p in sorted(doc):
    if p not in served:
        print(f"openapi.yaml documents {p}, which the server does not serve")
        bad = 1
if not routes:
    print("no routes found in server.c")
    bad = 1
print(f"{len(routes)} routes checked")
sys.exit(bad)
PY
