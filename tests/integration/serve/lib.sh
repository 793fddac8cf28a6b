# Shared by the `mailtoken serve` tests: sourced with the mailtoken binary as
# $1.  Each test gets its own directory, store, TLS certificate and server on
# a free port; every response is recorded and checked against
# docs/openapi.yaml when the test ends (check_openapi).

MT_BIN=${1:?usage: test.sh PATH-TO-mailtoken}
: "${MT_TESTDATA:?MT_TESTDATA is not set}" "${MT_SOURCE_DIR:?MT_SOURCE_DIR is not set}"
TD=$MT_TESTDATA
T=$(mktemp -d "${TMPDIR:-/tmp}/mt-serve.XXXXXX")
SERVER_PID=
trap 'stop_server_quietly; rm -rf "$T"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"
mt_test_home
export MAILTOKEN_CONF=$T/mailtoken.conf

EXCHANGES=$T/exchanges.jsonl
: >"$EXCHANGES"
ORG=example
SO_PIN_FILE=$T/so.pin
printf 'so-secret-1234\n' >"$SO_PIN_FILE"

# The server's TLS certificate: self-signed for localhost and 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null || fail "openssl: cannot make the TLS certificate"

# Cheap Argon2id (the tests set PINs), the API on any free port.
write_config() { # write_config [EXTRA LINES...]
    {
        cat "$FAST_KDF_CONF"
        printf 'api_listen = 127.0.0.1:0\napi_tls_cert = %s\napi_tls_key = %s\n' "$T/tls.crt" "$T/tls.key"
        local line
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$MAILTOKEN_CONF"
}
write_config

init_store() { run 0 init --org "$ORG" --so-pin-file "$SO_PIN_FILE"; }

# new_key SCOPE [more api-key create options]: a key of $ORG; prints it.
new_key() {
    local scope=$1 file
    shift
    file=$T/key.$RANDOM$RANDOM
    run 0 api-key create --org "$ORG" --scope "$scope" --key-file "$file" "$@"
    cat "$file"
}

# start_server [serve options]: waits for it to listen; sets BASE and API.
start_server() {
    stop_server_quietly
    : >"$T/server.log"
    "$MT_BIN" serve "$@" 2>>"$T/server.log" & # (under ASan, its leaks count)
    SERVER_PID=$!
    local i port=
    for i in $(seq 200); do
        port=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/server.log" | head -n1)
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "mailtoken serve exited: $(cat "$T/server.log")"
        sleep 0.05
    done
    [ -n "$port" ] || fail "mailtoken serve did not listen: $(cat "$T/server.log")"
    BASE=https://localhost:$port
    API=$BASE/v3/organizations/$ORG/smime
}

# stop_server: SIGTERM; it must stop cleanly (exit 0).
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID"
    local code=0
    wait "$SERVER_PID" || code=$?
    SERVER_PID=
    [ "$code" -eq 0 ] || fail "mailtoken serve exited $code after SIGTERM: $(tail -20 "$T/server.log")"
    grep -q "stopping" "$T/server.log" || fail "mailtoken serve did not say it was stopping"
}
stop_server_quietly() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

# Real curl, as the managed-store API's documentation runs it, with the
# response captured: status in $STATUS, body in $T/body, headers in
# $T/headers; every exchange is recorded for check_openapi.
curl() {
    local method=GET args=("$@") i url=
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in
            -X) method=${args[i + 1]} ;;
            http*) url=${args[i]} ;;
        esac
    done
    STATUS=$(command curl -sS --cacert "$T/tls.crt" -o "$T/body" -D "$T/headers" \
        -w '%{http_code}' "$@") || { local cmd="$*"; fail "curl ${cmd:0:300}: transport failure"; }
    local path=${url#*://}
    path=/${path#*/}
    jq -cn --arg m "$method" --arg p "${path%%\?*}" --argjson s "$STATUS" \
        --rawfile b "$T/body" --rawfile h "$T/headers" \
        '{method: $m, path: $p, status: $s, body: $b,
          headers: ($h | split("\r\n") | map(select(test("^[A-Za-z-]+:"))
                    | capture("^(?<key>[^:]+):\\s*(?<value>.*)$")) | from_entries)}' >>"$EXCHANGES"
}

# api METHOD PATH [curl options]: PATH below $API, with $KEY.
api() {
    local method=$1 path=$2
    shift 2
    curl -X "$method" "$API$path" -H "Authorization: Bearer $KEY" "$@"
}
# api_json METHOD PATH JSON: with a JSON body.
api_json() {
    api "$1" "$2" -H "Content-Type: application/json" -d "$3"
}

# expect STATUS [MESSAGE-PART]: the last response's status (and, for an
# error, the body {"error", "message", "timestamp"} with the message part).
expect() {
    [ "$STATUS" = "$1" ] || fail "expected HTTP $1, got $STATUS: $(head -c 1500 "$T/body")"
    if [ "$1" -ge 400 ]; then
        jq -e 'keys == ["error", "message", "timestamp"]' "$T/body" >/dev/null ||
            fail "error body is not {error, message, timestamp}: $(cat "$T/body")"
        if [ $# -ge 2 ]; then
            jq -r .message "$T/body" | grep -qF -- "$2" ||
                fail "message lacks '$2': $(jq -r .message "$T/body")"
        fi
    fi
}
# body_is FILTER VALUE
body_is() {
    local got
    got=$(jq -r "$1" "$T/body") || fail "jq '$1' on: $(head -c 1500 "$T/body")"
    [ "$got" = "$2" ] || fail "jq '$1': got '$got', expected '$2'"
}
header_has() { grep -qi "^$1:" "$T/headers" || fail "no $1 header: $(cat "$T/headers")"; }

# sql QUERY: one answer of the store, beside the server (store_sql).
sql() { store_sql "$1"; }

# refused STATUS MESSAGE-PART METHOD PATH [curl options]: the status and
# message, the store unchanged.
refused() {
    local status=$1 message=$2
    shift 2
    snapshot before
    api "$@"
    expect "$status" "$message"
    assert_unchanged
}

# The secret appears nowhere: the server's log and the store's raw bytes.
assert_secret_absent() {
    ! grep -aqF -- "$1" "$T/server.log" || fail "the secret is in the server's log"
    store_lacks "$1"
}

# base64 of a P12 on one line, as the API takes it.
p12_base64() { base64 -w0 "$TD/users/$1.p12"; }
p12_password() { cat "$TD/users/$1.pass"; }

check_openapi() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/openapi_check.py" "$MT_SOURCE_DIR/docs/openapi.yaml" \
        "$EXCHANGES" || fail "responses that docs/openapi.yaml does not describe (above)"
}

# The request log: one line per request, with method, path, status, time, key.
log_has() { grep -qF -- "$1" "$T/server.log" || fail "server log lacks '$1': $(tail -5 "$T/server.log")"; }

# pkcs11-tool through the module.
p11() { client pkcs11-tool --module "$MT_MODULE" "$@"; }
# CKA_ID as the module sets it: SHA-1 of the RSA modulus.
rsa_key_id() { openssl x509 -in "$1" -noout -modulus | cut -d= -f2 | xxd -r -p | sha1sum | cut -c1-40; }
