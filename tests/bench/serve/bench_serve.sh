#!/usr/bin/env bash
# `mailtoken serve` benchmark, in one run on one machine:
#   - P12 uploads per second over HTTPS (POST certificates/upload/p12, CLIENTS
#     keep-alive connections) against `mailtoken cert import --dir` of the same
#     files into a fresh store: the ratio (target >= 0.8);
#   - reads per second of GET email-accounts/{email} with keep-alive
#     (target >= 5,000/s on 2 cores).
#
#   bench_serve.sh [--count N] [--clients C] [--seconds S] [--check]
#
# Environment: MT_BUILD_DIR, MT_SOURCE_DIR, MT_TESTDATA (as ctest sets them).
# --check: a short run asserting only that everything was stored and read.
set -euo pipefail

count=1000 clients=4 seconds=10 check=false
while [ $# -gt 0 ]; do
    case $1 in
    --count) count=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --check) check=true; shift ;;
    *) echo "usage: $0 [--count N] [--clients C] [--seconds S] [--check]" >&2; exit 2 ;;
    esac
done
: "${MT_BUILD_DIR:?MT_BUILD_DIR is not set}" "${MT_SOURCE_DIR:?MT_SOURCE_DIR is not set}"
MT=$MT_BUILD_DIR/provision/mailtoken
LOAD=$MT_BUILD_DIR/tests/integration/serve/mt-api-load
GEN=$MT_BUILD_DIR/tests/tools/mt-gen-bulk
# The serve tests' helpers: store, keys, TLS certificate, server on a free port.
. "$MT_SOURCE_DIR/tests/integration/serve/lib.sh" "$MT"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }

"$GEN" --out "$T/p12" --count "$count" --keys $((count < 100 ? 2 : 20)) --password bench-password --ca "$TD/ca" >/dev/null ||
    fail "mt-gen-bulk"
printf 'bench-password\n' >"$T/pw"
ls "$T"/p12/*.p12 >"$T/files"

# Baseline: the command line imports the folder into its own store.
MAILTOKEN_STORE=$T/cli.db run 0 --quiet init --org "$ORG" --so-pin-file "$SO_PIN_FILE"
t0=$(now)
MAILTOKEN_STORE=$T/cli.db run 0 --quiet cert import --dir "$T/p12" --password-file "$T/pw"
t1=$(now)
cli_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
[ "$(sqlite3 "$T/cli.db" "SELECT count(*) FROM certificates")" = "$count" ] || fail "cert import stored too few"

# The API: the same files uploaded over HTTPS into a fresh store.
init_store
KEY=$(new_key write)
printf '%s\n' "$KEY" >"$T/key"
start_server
"$LOAD" --url "$API" --key-file "$T/key" --cacert "$T/tls.crt" --clients "$clients" \
    --upload "$T/files" --password-file "$T/pw" --once >"$T/upload.json" || fail "uploads failed"
jq -e --argjson n "$count" '.uploads == $n and .errors == 0' "$T/upload.json" >/dev/null ||
    fail "uploads: $(cat "$T/upload.json")"
[ "$(sql "SELECT count(*) FROM certificates")" = "$count" ] || fail "the API stored too few"
api_seconds=$(jq .seconds "$T/upload.json")

# Reads of one account, keep-alive.
api_json POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 alice)\", \"password\": \"$(p12_password alice)\"}"
expect 201
api_json POST /email-accounts "{\"email\": \"alice@example.org\", \"primaryCertificateId\": \"$(jq -r .id "$T/body")\"}"
expect 201
"$LOAD" --url "$API" --key-file "$T/key" --cacert "$T/tls.crt" --clients "$clients" \
    --seconds "$seconds" --read alice@example.org >"$T/read.json" || fail "reads failed"
jq -e '.reads > 0 and .errors == 0' "$T/read.json" >/dev/null || fail "reads: $(cat "$T/read.json")"
stop_server

if $check; then
    echo "bench_serve --check: $count uploads stored, $(jq .reads "$T/read.json") reads answered"
    exit 0
fi
cli_rate=$(rate "$count" "$cli_seconds")
api_rate=$(rate "$count" "$api_seconds")
read_rate=$(jq .perSecond "$T/read.json")
ratio=$(awk -v a="$api_rate" -v c="$cli_rate" 'BEGIN { printf "%.2f", a / c }')
cat <<EOF
files                 $count RSA-2048 P12s (AES-256, PBKDF2 2048), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)
cert import --dir     $cli_rate files/s
API uploads           $api_rate uploads/s over HTTPS ($clients keep-alive clients)
ratio API / CLI       $ratio (target >= 0.8)
API reads             $read_rate GET email-accounts/{email} per second ($clients clients, ${seconds} s; target >= 5000)
EOF
printf '{"files":%s,"cliPerSecond":%s,"apiUploadsPerSecond":%s,"ratio":%s,"readsPerSecond":%s}\n' \
    "$count" "$cli_rate" "$api_rate" "$ratio" "$read_rate"
