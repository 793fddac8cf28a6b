#!/usr/bin/env bash
# p11diff against itself: SoftHSM compared with SoftHSM holding the same
# objects agrees on every observation (no false differences), and a token
# that differs in one certificate is caught and named (the runner can fail).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_dirs
make_ca
now=$(days_from_now -1) later=$(days_from_now 400)
issue alice alice@example.org rsa2048 "$now" "$later"
issue carol carol@example.org ec-p256 "$now" "$later"
issue other alice@example.org rsa2048 "$now" "$later"
fill() { # fill DIR: a SoftHSM token directory with alice's and carol's tokens
  mkdir -p "$1/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$1" >"$1/softhsm2.conf"
  SOFTHSM2_CONF=$1/softhsm2.conf softhsm_token alice@example.org
  SOFTHSM2_CONF=$1/softhsm2.conf softhsm_token carol@example.org
  printf 'alice@example.org\t%s\t%s\t0\n' "$WORK/pki/$2.crt" "$WORK/pki/$2.key" |
    SOFTHSM2_CONF=$1/softhsm2.conf softhsm_fill alice@example.org
  printf 'carol@example.org\t%s\t%s\t0\n' "$WORK/pki/carol.crt" "$WORK/pki/carol.key" |
    SOFTHSM2_CONF=$1/softhsm2.conf softhsm_fill carol@example.org
}
fill "$WORK/a" alice
fill "$WORK/b" alice
fill "$WORK/c" other

p11diff() {
  "$P11DIFF" --reference "$SOFTHSM_MODULE" --reference-pin-file "$WORK/user.pin" \
    --reference-env "SOFTHSM2_CONF=$WORK/a/softhsm2.conf" \
    --candidate "$SOFTHSM_MODULE" --candidate-pin-file "$WORK/user.pin" \
    --token alice@example.org --token carol@example.org --expected /dev/null "$@"
}

out=$(p11diff --candidate-env "SOFTHSM2_CONF=$WORK/b/softhsm2.conf" --dump "$WORK/dump.tsv") ||
  { echo "$out" >&2; fail "SoftHSM differs from itself"; }
grep -q 'p11diff: [0-9]* observations agree, 0 differences accepted, 0 unexpected differences' <<<"$out" ||
  fail "no summary: $out"
# The scenarios really ran: signatures verified, decryption and ECDH matched.
for what in 'sign.rsa_pkcs.digestinfo/openssl_verify	verified' \
            'sign.ecdsa.hash/openssl_verify	verified' \
            'decrypt.rsa_pkcs	CKR_OK plaintext-matches' \
            'derive.ecdh1.raw_point.value	CKR_OK secret-matches' \
            'C_Login.wrong_pin	CKR_PIN_INCORRECT'; do
  grep -qF "$what" "$WORK/dump.tsv" || fail "scenario result missing: $what"
done

set +e; out=$(p11diff --candidate-env "SOFTHSM2_CONF=$WORK/c/softhsm2.conf"); rc=$?; set -e
[ $rc -eq 1 ] || { echo "$out" >&2; fail "a different certificate was not reported (exit $rc)"; }
grep -q '^DIFF .*obj\[cert:alice@example.org\]/CKA_VALUE' <<<"$out" ||
  fail "the difference is not named: $out"
echo "p11diff: no false differences; a real one is caught"
