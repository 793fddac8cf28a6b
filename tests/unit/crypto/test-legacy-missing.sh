#!/usr/bin/env bash
# Without OpenSSL's legacy provider a legacy (RC2-40 / 3DES) P12 is reported
# as unsupported, never as a wrong password; modern P12 files still parse.
#   usage: test-legacy-missing.sh CRYPTO_KEYID_TOOL   (MT_TESTDATA set)
set -euo pipefail
KEYID=${1:?usage: test-legacy-missing.sh CRYPTO_KEYID_TOOL}
. "$(dirname "$0")/test-lib.sh"
export OPENSSL_MODULES="$TMP/no-providers-here"

if OPENSSL_MODULES=$OPENSSL_MODULES "$KEYID" "$MT_TESTDATA/users/erin.p12" \
     "$MT_TESTDATA/users/erin.pass" > "$TMP/out" 2>&1; then
  fail "crypto-keyid erin.p12 succeeded without the legacy provider"
fi
grep -q "erin.p12: .*algorithm this OpenSSL cannot do" "$TMP/out" ||
  { cat "$TMP/out" >&2; fail "erin.p12: expected an 'unsupported algorithm' message"; }
if grep -qi "wrong password" "$TMP/out"; then
  cat "$TMP/out" >&2; fail "erin.p12: reported as a wrong password"
fi
"$KEYID" "$MT_TESTDATA/users/alice.p12" "$MT_TESTDATA/users/alice.pass" > "$TMP/alice" 2>&1 ||
  { cat "$TMP/alice" >&2; fail "crypto-keyid alice.p12 without the legacy provider"; }
grep -q " alice@example.org$" "$TMP/alice" || fail "alice.p12: no entry for alice@example.org"
echo "PASS: legacy P12 without the legacy provider is 'unsupported'; AES P12 still parses"
