#!/usr/bin/env bash
# Bulk-import benchmark: the same RSA-2048 P12s into mailtoken (one command,
# `mailtoken cert import --dir`) and into SoftHSMv2 (softhsm2-util --import for
# each key, pkcs11-tool --write-object for each certificate), in the same run.
#
#   bench_import.sh [--count N] [--keys K] [--jobs J] [--check]
#
# Environment: MT_BUILD_DIR (build tree), MT_TESTDATA (generated test data, for
# its CA).  --check: a short run that asserts only that everything was imported.
set -euo pipefail

count=1000 keys=20 jobs="" check=false
while [ $# -gt 0 ]; do
    case $1 in
    --count) count=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --check) check=true; shift ;;
    *) echo "usage: $0 [--count N] [--keys K] [--jobs J] [--check]" >&2; exit 2 ;;
    esac
done
: "${MT_BUILD_DIR:?MT_BUILD_DIR is not set}" "${MT_TESTDATA:?MT_TESTDATA is not set}"
MT=$MT_BUILD_DIR/provision/mailtoken
GEN=$MT_BUILD_DIR/tests/tools/mt-gen-bulk
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
T=$(mktemp -d "${TMPDIR:-/tmp}/mailtoken-bench-import.XXXXXX")
trap 'rm -rf "$T"' EXIT
umask 077

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }

"$GEN" --out "$T/p12" --count "$count" --keys "$keys" --password bench-password \
    --ca "$MT_TESTDATA/ca" >/dev/null || fail "mt-gen-bulk"
printf 'bench-password\n' >"$T/pw"

# Keys and certificates out of the same P12s for SoftHSM (not timed: it
# cannot read a P12 itself).
mkdir -p "$T/pem"
for f in "$T"/p12/*.p12; do
    b=$(basename "$f" .p12)
    openssl pkcs12 -in "$f" -passin file:"$T/pw" -nocerts -nodes 2>/dev/null |
        openssl pkey -out "$T/pem/$b.key" || fail "openssl pkey $b"
    openssl pkcs12 -in "$f" -passin file:"$T/pw" -clcerts -nokeys 2>/dev/null |
        openssl x509 -outform DER -out "$T/pem/$b.der" || fail "openssl x509 $b"
done

# mailtoken: one command for the folder.
# The SO PIN is set once and never measured: the cheapest Argon2id; the
# record of known keys in the bench's home.
export MAILTOKEN_STORE=$T/store.db HOME=$T XDG_DATA_HOME=$T/data MAILTOKEN_CONF=$T/mailtoken.conf
cat "$(dirname "$0")/../../data/fast-kdf.conf" >"$MAILTOKEN_CONF"
printf 'bench-so-pin-1\n' >"$T/so"
"$MT" --quiet init --org bench --so-pin-file "$T/so" || fail "mailtoken init"
job_opt=()
[ -n "$jobs" ] && job_opt=(--jobs "$jobs")
t0=$(now)
"$MT" --quiet cert import --dir "$T/p12" --password-file "$T/pw" "${job_opt[@]}" ||
    fail "mailtoken cert import"
t1=$(now)
imported=$("$MT" --json status | jq .counts.certificatesWithKey)
[ "$imported" -eq "$count" ] || fail "mailtoken imported $imported of $count"

# SoftHSMv2: a token, then every key and certificate.
mkdir -p "$T/softhsm"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/softhsm" >"$T/softhsm2.conf"
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin 12345678 --so-pin 87654321 >/dev/null ||
    fail "softhsm2-util --init-token"
t2=$(now)
i=0
for f in "$T"/pem/*.key; do
    b=$(basename "$f" .key)
    id=$(printf '%08x' "$i")
    softhsm2-util --import "$f" --token bench --label "$b" --id "$id" --pin 12345678 >/dev/null ||
        fail "softhsm2-util --import $b"
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label bench --login --pin 12345678 \
        --write-object "$T/pem/$b.der" --type cert --id "$id" --label "$b" >/dev/null 2>&1 ||
        fail "pkcs11-tool --write-object $b"
    i=$((i + 1))
done
t3=$(now)
objects=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label bench --login --pin 12345678 \
    --list-objects 2>/dev/null | grep -c '^Private Key Object\|^Certificate Object')
[ "$objects" -eq $((2 * count)) ] || fail "SoftHSM holds $objects objects, expected $((2 * count))"

mt_rate=$(rate "$count" "$t0" "$t1")
hsm_rate=$(rate "$count" "$t2" "$t3")
if $check; then
    echo "ok: $count P12s into mailtoken and SoftHSM"
    exit 0
fi
printf 'P12 files: %d RSA-2048 (%d distinct keys), %d CPUs\n' "$count" "$keys" "$(nproc)"
printf 'mailtoken cert import --dir : %8.2f s  %8s P12/s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$mt_rate"
printf 'SoftHSMv2 (softhsm2-util + pkcs11-tool): %8.2f s  %8s P12/s\n' "$(awk -v a="$t2" -v b="$t3" 'BEGIN{print b-a}')" "$hsm_rate"
printf 'ratio: %.1fx\n' "$(awk -v a="$mt_rate" -v b="$hsm_rate" 'BEGIN{print a/b}')"
