#!/usr/bin/env bash
# OpenSSL 3 with the pkcs11 engine (libp11): S/MIME signing with the key by
# its pkcs11: URI, verified against the test CA, and decryption of a mail
# encrypted to the certificate.
#   openssl-engine.sh USER   a test-data user: alice (RSA), carol (EC)
source "$(dirname "$0")/lib.sh"
name=${1:?usage: openssl-engine.sh USER}
MT_TEST_NAME="openssl-engine-$name"
mt_setup
# Only the clients load the engine: the mailtoken tool itself never reads it.
write_openssl_engine_conf "$WORK/openssl.cnf"
with_engine() { OPENSSL_CONF="$WORK/openssl.cnf" "$@"; }
printf 'Subject: quarterly report\r\n\r\nThe numbers are in.\r\n' >"$WORK/mail.txt"

add_user "$name"
email=$(email_of_user "$name")
crt=$(users_file "$name.crt")

step "$name: openssl cms -sign with the key in the token, verified against the test CA"
with_engine engine_sign "$email" "$crt" "$WORK/mail.txt" "$WORK/$name-signed.eml"
openssl cms -verify -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/$name-signed.eml" \
    -out "$WORK/$name-verified.txt" 2>"$WORK/err.txt" ||
    { cat "$WORK/err.txt" >&2; die "the mail signed by $email does not verify against the test CA"; }
cmp "$WORK/mail.txt" "$WORK/$name-verified.txt" || die "verified content differs from the mail signed by $email"

step "$name: a mail encrypted to the certificate decrypts through the token"
openssl cms -encrypt -aes256 -in "$WORK/mail.txt" -out "$WORK/$name-enc.eml" "$crt"
with_engine engine_decrypt "$email" "$crt" "$WORK/$name-enc.eml" "$WORK/$name-dec.txt"
cmp "$WORK/mail.txt" "$WORK/$name-dec.txt" || die "decrypted mail for $email differs from the original"

step "$name: a wrong PIN does not sign, and counts as a failed login"
if with_engine client openssl cms -sign -engine pkcs11 -keyform engine -signer "$crt" \
    -inkey "$(obj_uri "$email" private);pin-value=wrong-pin-value" \
    -in "$WORK/mail.txt" -out "$WORK/bad.eml" </dev/null 2>"$WORK/err.txt"; then
    die "openssl cms -sign succeeded with a wrong PIN for $email"
fi
grep -q "PIN incorrect" "$WORK/err.txt" ||
    { cat "$WORK/err.txt" >&2; die "a wrong PIN failed for another reason than CKR_PIN_INCORRECT"; }
[ ! -s "$WORK/bad.eml" ] || die "a signed mail was written with a wrong PIN"
[ "$(token_counters | grep "^$email ")" = "$email 1" ] ||
    die "the failed login is not counted: $(token_counters)"
echo "PASS: $MT_TEST_NAME"
