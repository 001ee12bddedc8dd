# tls.sh - `frugal serve --tls-cert PEM --tls-key PEM` over loopback; sourced by run.sh, whose
# check/ok/notok/req helpers, $T, $DB, $FRUGAL_BIN, $ADMIN and $PID (killed by its cleanup) it
# uses. A throwaway self-signed certificate for 127.0.0.1 (EC P-256, valid 2 days) is made with
# the openssl CLI. Checks: the server says https, /healthz answers over HTTPS when curl trusts
# that certificate (--cacert) and a search works, curl refuses it without --cacert, plain HTTP
# to the TLS port gets no HTTP reply, SIGTERM still exits 0; a missing certificate file, a file
# that is not a certificate, a key that is not the certificate's, and --tls-cert without
# --tls-key each fail at start with a message naming the file or the option.

tls_start() { # tls_start ARGS...: starts the server, sets PID and TLS_URL (empty on failure)
    "$FRUGAL_BIN" --db "$DB" serve --port 0 --threads 2 "$@" > "$T/tls.out" 2> "$T/tls.err" &
    PID=$!
    TLS_URL=
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's|^frugal: listening on https://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/tls.out")
        [ -n "$port" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] && TLS_URL="https://127.0.0.1:$port"
}

# tls_fails WHAT NEEDLE ARGS...: the server exits nonzero at once, saying NEEDLE on stderr
tls_fails() {
    local what=$1 needle=$2 rc=0
    shift 2
    timeout 20 "$FRUGAL_BIN" --db "$DB" -q serve --port 0 "$@" > "$T/tls.out" 2> "$T/tls.err" || rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qF -- "$needle" "$T/tls.err"; then
        ok "$what"
    else
        notok "$what (exit $rc)"
        sed 's/^/#   stderr: /' "$T/tls.err"
    fi
}

if ! command -v openssl > /dev/null 2>&1; then
    notok "TLS: the openssl CLI is missing (scripts/setup installs it)"
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$T/tls.key" -out "$T/tls.crt" > "$T/openssl.out" 2>&1
    openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -out "$T/other.key" > /dev/null 2>&1
    check "TLS: openssl made a self-signed certificate" test -s "$T/tls.crt" -a -s "$T/tls.key"

    tls_start --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
    check "TLS: the server says it listens on https://127.0.0.1:PORT" test -n "$TLS_URL"
    CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --cacert "$T/tls.crt" \
        "$TLS_URL/healthz") || CODE=000
    expect 200 "TLS: GET /healthz over https with curl --cacert"
    check "TLS: /healthz says ok" jq_ok 'd["status"] == "ok"'
    CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --cacert "$T/tls.crt" \
        -H "Authorization: Bearer $ADMIN" "$TLS_URL/v1/collections") || CODE=000
    expect 200 "TLS: an authenticated API call works over https"
    rc=0
    curl -s -o /dev/null --max-time 20 "$TLS_URL/healthz" || rc=$?
    check "TLS: curl without --cacert refuses the self-signed certificate (exit 60)" test "$rc" = 60
    rc=0
    CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 \
        "http://${TLS_URL#https://}/healthz") || rc=$?
    check "TLS: plain http to the TLS port gets no HTTP reply" test "$rc" != 0 -a "$CODE" = 000
    CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --cacert "$T/tls.crt" \
        "$TLS_URL/healthz") || CODE=000
    expect 200 "TLS: the server still answers https after the plain-http attempt"
    rc=0
    kill -TERM "$PID"
    wait "$PID" || rc=$?
    PID=
    check "TLS: the server exits 0 on SIGTERM" test "$rc" = 0

    tls_fails "TLS: a missing certificate file fails at start, naming it" "$T/nope.crt" \
        --tls-cert "$T/nope.crt" --tls-key "$T/tls.key"
    printf 'not a certificate\n' > "$T/bad.crt"
    tls_fails "TLS: a file that is not a certificate fails at start, naming it" \
        "--tls-cert $T/bad.crt: not a PEM certificate" --tls-cert "$T/bad.crt" --tls-key "$T/tls.key"
    tls_fails "TLS: a key that is not the certificate's fails at start, naming it" \
        "--tls-key $T/other.key: not the private key" --tls-cert "$T/tls.crt" --tls-key "$T/other.key"
    tls_fails "TLS: --tls-cert without --tls-key is a usage error" "go together" \
        --tls-cert "$T/tls.crt"
fi
