#!/usr/bin/env bash
# GnuTLS p11tool against the module: tokens, certificates before login,
# export by pkcs11: URI, and signing with the key (RSA and EC) after login.
source "$(dirname "$0")/lib.sh"
mt_setup
add_user alice
add_user carol
ALICE=$(email_of_user alice)
CAROL=$(email_of_user carol)
p11() { client p11tool --provider "$MODULE" "$@"; }

step "every account is a token"
p11 --list-tokens >"$WORK/tokens.txt"
for email in "$ALICE" "$CAROL"; do
    grep -qx "[[:space:]]*Label: $email" "$WORK/tokens.txt" || die "p11tool --list-tokens does not show token $email"
done

step "certificates are listed without any PIN"
p11 --list-all-certs "pkcs11:" </dev/null >"$WORK/certs.txt"
for email in "$ALICE" "$CAROL"; do
    grep -q "URL: pkcs11:.*token=$(uri_escape "$email");.*object=$(uri_escape "$email");type=cert" "$WORK/certs.txt" ||
        die "p11tool --list-all-certs does not list the certificate of $email"
done

step "a certificate exported by its pkcs11: URI is the P12's certificate"
for name in alice carol; do
    email=$(email_of_user "$name")
    p11 --export "$(obj_uri "$email" cert)" >"$WORK/$name.pem"
    openssl x509 -in "$WORK/$name.pem" -outform DER -out "$WORK/$name-token.der"
    openssl pkcs12 -in "$(users_file "$name.p12")" -passin "file:$(users_file "$name.pass")" -nokeys -clcerts |
        openssl x509 -outform DER -out "$WORK/$name-p12.der"
    cmp "$WORK/$name-token.der" "$WORK/$name-p12.der" || die "exported certificate of $email differs from $name.p12's"
done

step "--test-sign with the private key (RSA, EC) and the account's PIN"
for email in "$ALICE" "$CAROL"; do
    GNUTLS_PIN=$(pin_of "$email") p11 --login --test-sign "$(obj_uri "$email" private)" >"$WORK/sign.txt" 2>&1 ||
        { cat "$WORK/sign.txt" >&2; die "p11tool --test-sign failed for $email"; }
    [ "$(grep -c '\.\.\. ok$' "$WORK/sign.txt")" -eq 3 ] ||
        { cat "$WORK/sign.txt" >&2; die "p11tool --test-sign for $email did not sign and verify against both keys"; }
done

step "a wrong PIN is refused"
if GNUTLS_PIN=wrong-pin-value p11 --login --test-sign "$(obj_uri "$ALICE" private)" >"$WORK/wrong.txt" 2>&1; then
    die "p11tool --test-sign succeeded with a wrong PIN"
fi
grep -qi "wrong pin" "$WORK/wrong.txt" || { cat "$WORK/wrong.txt" >&2; die "p11tool did not report a wrong PIN"; }
echo "PASS: $MT_TEST_NAME"
