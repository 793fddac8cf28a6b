#!/usr/bin/env bash
# A renewal (add-to-history + set-primary): mail encrypted to the old
# certificate still opens through the token, and signing uses the new key.
source "$(dirname "$0")/lib.sh"
mt_setup
email=$(email_of_user alice)
[ "$(email_of_user alice-old)" = "$email" ] || die "alice-old and alice must name the same email"
old_crt=$(users_file alice-old.crt)
new_crt=$(users_file alice.crt)
nick="$email:$email"
pwfile=$(pin_file_of "$email")
printf 'Subject: before the renewal\r\n\r\nSent to the old certificate.\r\n' >"$WORK/mail.txt"

step "alice-old is the primary; a mail is encrypted to it"
add_user alice-old
openssl cms -encrypt -aes256 -outform DER -in "$WORK/mail.txt" -out "$WORK/old.env" "$old_crt"

step "renewal: alice's new certificate added to the history and made primary"
mt_cli cert import --password-file "$(users_file alice.pass)" "$(users_file alice.p12)" >/dev/null
fp=$(openssl x509 -in "$new_crt" -noout -fingerprint -sha256 | cut -d= -f2)
mt_cli account add-to-history "$email" "$fp" >/dev/null
mt_cli account set-primary "$email" "$fp" >/dev/null
nss_setup

step "NSS decrypts the mail sent to the old certificate through the token"
nss_decode "$WORK/old.env" "$WORK/old.dec" "$pwfile"
cmp "$WORK/mail.txt" "$WORK/old.dec" || die "the mail to the old certificate did not decrypt to the original"

step "NSS signs with the account's certificate: the signer is the new certificate"
nss_sign "$nick" "$pwfile" "$WORK/mail.txt" "$WORK/new.sig"
openssl cms -verify -inform DER -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/new.sig" \
    -signer "$WORK/signer.pem" -out /dev/null 2>"$WORK/err.txt" ||
    { cat "$WORK/err.txt" >&2; die "the message signed after the renewal does not verify"; }
cmp <(openssl x509 -in "$WORK/signer.pem" -outform DER) <(openssl x509 -in "$new_crt" -outform DER) ||
    die "the signer certificate is not the new certificate"

step "OpenSSL's engine: the key labelled with the email is the new key"
write_openssl_engine_conf "$WORK/openssl.cnf"
OPENSSL_CONF="$WORK/openssl.cnf" engine_sign "$email" "$new_crt" "$WORK/mail.txt" "$WORK/engine.eml"
openssl cms -verify -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/engine.eml" -out /dev/null \
    2>"$WORK/err.txt" || { cat "$WORK/err.txt" >&2; die "the engine's signature with the new key does not verify"; }

step "the old certificate's key no longer signs"
client certutil -L -d "$NSSDB" -h "$email" </dev/null >"$WORK/list.txt"
sed -n "s/^\($email:.*[^[:space:]]\)[[:space:]]\{2,\}[a-zA-Z,]*\$/\1/p" "$WORK/list.txt" |
    grep -F "$nick (until " >"$WORK/old-nicks.txt" ||
    { cat "$WORK/list.txt" >&2; die "the old certificate is not listed in the token"; }
[ "$(wc -l <"$WORK/old-nicks.txt")" -eq 1 ] || die "one old certificate expected: $(cat "$WORK/old-nicks.txt")"
old_nick=$(cat "$WORK/old-nicks.txt")
client certutil -L -d "$NSSDB" -n "$old_nick" </dev/null >/dev/null || die "NSS does not find the certificate '$old_nick'"
if client cmsutil -S -d "$NSSDB" -N "$old_nick" -f "$pwfile" -i "$WORK/mail.txt" -o "$WORK/old.sig" \
    </dev/null 2>"$WORK/err.txt"; then
    die "NSS signed with the old certificate's key ($old_nick)"
fi
# The module's CKR_KEY_FUNCTION_NOT_PERMITTED has no NSS error of its own:
# NSS reports it as an unknown PKCS#11 error.  The PIN was right (no failed login).
grep -q "SEC_ERROR_UNKNOWN_PKCS11_ERROR" "$WORK/err.txt" ||
    { cat "$WORK/err.txt" >&2; die "signing with the old key failed for another reason than the module's refusal"; }
[ "$(token_counters | grep "^$email ")" = "$email 0" ] || die "a failed login was counted: $(token_counters)"
echo "PASS: $MT_TEST_NAME"
