#!/usr/bin/env bash
# SoftHSMv2 and mailtoken's module holding the same certificates and keys
# (alice: RSA with an older certificate in her history; carol: EC P-256)
# answer every scenario alike, except for the differences listed in
# softhsm-compat/EXPECTED-DIFFERENCES.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_dirs
make_ca
mailtoken_init
issue alice-old alice@example.org rsa2048 "$(days_from_now -200)" "$(days_from_now 30)"
issue alice alice@example.org rsa2048 "$(days_from_now -1)" "$(days_from_now 400)"
issue carol carol@example.org ec-p256 "$(days_from_now -1)" "$(days_from_now 400)"

# mailtoken: the P12 files imported as accounts with history, PINs set by the SO.
for name in alice-old alice carol; do
  run openssl pkcs12 -export -in "$WORK/pki/$name.crt" -inkey "$WORK/pki/$name.key" \
    -passout pass: -out "$WORK/pki/$name.p12" >/dev/null
  run "$MAILTOKEN" cert import --account auto "$WORK/pki/$name.p12" >/dev/null
done
for email in alice@example.org carol@example.org; do
  run "$MAILTOKEN" account reset-pin "$email" --so-pin-file "$WORK/so.pin" \
    --new-pin-file "$WORK/user.pin" >/dev/null
done

# SoftHSM: one token per account, objects labelled as mailtoken labels them
# (the primary by the email, a history certificate with its validity end).
softhsm_token alice@example.org
softhsm_token carol@example.org
printf '%s\t%s\t%s\t0\n' "$(history_label alice@example.org alice-old)" \
  "$WORK/pki/alice-old.crt" "$WORK/pki/alice-old.key" \
  alice@example.org "$WORK/pki/alice.crt" "$WORK/pki/alice.key" | softhsm_fill alice@example.org
printf 'carol@example.org\t%s\t%s\t0\n' "$WORK/pki/carol.crt" "$WORK/pki/carol.key" |
  softhsm_fill carol@example.org

set +e
out=$(with_module "$P11DIFF" --reference "$SOFTHSM_MODULE" --reference-pin-file "$WORK/user.pin" \
  --candidate "$MT_MODULE" --candidate-pin-file "$WORK/user.pin" \
  --token alice@example.org --token carol@example.org --expected "$MT_P11DIFF_EXPECTED" \
  --dump "$WORK/dump.tsv")
rc=$?
set -e
echo "$out"
[ $rc -eq 0 ] || fail "p11diff found differences not in EXPECTED-DIFFERENCES.md (exit $rc)"
# Both modules really went through the operations.
for what in 'sign.rsa_pkcs.digestinfo/openssl_verify	verified' \
            'sign.ecdsa.hash/openssl_verify	verified' \
            'decrypt.rsa_pkcs	CKR_OK plaintext-matches'; do
  [ "$(grep -cF "$what" "$WORK/dump.tsv")" -ge 2 ] || fail "not verified on both modules: $what"
done
