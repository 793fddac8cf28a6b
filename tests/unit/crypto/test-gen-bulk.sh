#!/usr/bin/env bash
# mt-gen-bulk writes P12 files that parse, name the right email, chain to the
# test CA and reuse the requested number of keys.
#   usage: test-gen-bulk.sh MT_GEN_BULK CRYPTO_KEYID_TOOL   (MT_TESTDATA set)
set -euo pipefail
GEN=${1:?usage: test-gen-bulk.sh MT_GEN_BULK CRYPTO_KEYID_TOOL}
KEYID=${2:?usage: test-gen-bulk.sh MT_GEN_BULK CRYPTO_KEYID_TOOL}
. "$(dirname "$0")/test-lib.sh"

"$GEN" --out "$TMP/p12" --count 6 --keys 2 --password bulk-pw --domain bulk.example \
  --ca "$MT_TESTDATA/ca" || fail "mt-gen-bulk --out $TMP/p12 --count 6 --keys 2 ..."
(umask 077; printf 'bulk-pw' > "$TMP/pass")
: > "$TMP/ids"
for i in 1 2 3 4 5 6; do
  f="$TMP/p12/user0000$i.p12"
  [ -f "$f" ] || fail "missing $f"
  out=$("$KEYID" "$f" "$TMP/pass") || fail "crypto-keyid $f"
  [ "${out#* }" = "user0000$i@bulk.example" ] || fail "$f names '${out#* }'"
  echo "${out%% *}" >> "$TMP/ids"
  openssl pkcs12 -in "$f" -passin pass:bulk-pw -nokeys -out "$TMP/certs.pem" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "openssl pkcs12 -in $f"; }
  openssl x509 -in "$TMP/certs.pem" -noout -subject | grep -q "user0000$i" ||
    fail "$f: first certificate is not user0000$i"
  openssl verify -CAfile "$MT_TESTDATA/ca/root.crt" -untrusted "$MT_TESTDATA/ca/sub.crt" \
    "$TMP/certs.pem" > /dev/null 2>&1 || fail "$f: does not chain to the test CA"
done
[ "$(sort -u "$TMP/ids" | wc -l)" -eq 2 ] || fail "expected 2 distinct keys, got $(sort -u "$TMP/ids" | wc -l)"
echo "PASS: mt-gen-bulk P12 files parse, name their email, chain to the CA, reuse 2 keys"
