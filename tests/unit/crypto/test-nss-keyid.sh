#!/usr/bin/env bash
# CKA_ID as NSS computes it: import P12 files with pk12util into a fresh NSS
# database, read the key IDs with `certutil -K`, and compare them byte for
# byte with mt_cert_info.key_id.
#   usage: test-nss-keyid.sh CRYPTO_KEYID_TOOL   (MT_TESTDATA set)
set -euo pipefail
KEYID=${1:?usage: test-nss-keyid.sh CRYPTO_KEYID_TOOL}
. "$(dirname "$0")/test-lib.sh"

mkdir "$TMP/nss"
run certutil -N -d "sql:$TMP/nss" --empty-password
: > "$TMP/ours"
for user in alice bob carol dave; do
  p12="$MT_TESTDATA/users/$user.p12"
  pass="$MT_TESTDATA/users/$user.pass"
  run pk12util -i "$p12" -d "sql:$TMP/nss" -w "$pass"
  "$KEYID" "$p12" "$pass" | cut -d' ' -f1 >> "$TMP/ours" || fail "crypto-keyid $p12"
done
certutil -K -d "sql:$TMP/nss" > "$TMP/certutil.out" 2>&1 || {
  cat "$TMP/certutil.out" >&2; fail "certutil -K -d sql:$TMP/nss"; }
# lines like "< 0> rsa      3214...6e   Alice Example": the 40 hex digits are CKA_ID
# (no line found leaves the file empty: the count below says so)
grep '^<' "$TMP/certutil.out" | grep -oE '\b[0-9a-f]{40}\b' | sort > "$TMP/nss-ids" || true
sort "$TMP/ours" > "$TMP/our-ids"
[ "$(wc -l < "$TMP/nss-ids")" -eq 4 ] || { cat "$TMP/certutil.out" >&2; fail "NSS lists $(wc -l < "$TMP/nss-ids") keys, expected 4"; }
if ! diff -u "$TMP/nss-ids" "$TMP/our-ids"; then
  fail "key IDs differ from NSS (left: certutil -K, right: mt_cert_info.key_id)"
fi
echo "PASS: key IDs of RSA-2048, RSA-3072, P-256 and P-384 equal NSS's"
