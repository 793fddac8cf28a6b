#!/usr/bin/env bash
# NSS (the library behind Thunderbird): the module added to a fresh database
# with modutil; certificates visible before login, keys after; S/MIME
# signing and verification with cmsutil (RSA and EC), encryption and
# decryption (RSA: the NSS of Debian 12, 3.87, can neither build nor open a
# CMS message for an EC recipient, with or without our module).
source "$(dirname "$0")/lib.sh"
mt_setup
add_user alice
add_user carol
nss_setup
printf 'Subject: NSS test\r\n\r\nSigned and sealed.\r\n' >"$WORK/mail.txt"

step "certutil -L -h all lists the accounts' certificates without any PIN"
client certutil -L -d "$NSSDB" -h all </dev/null >"$WORK/list.txt" 2>&1 ||
    { cat "$WORK/list.txt" >&2; die "certutil -L -h all failed (did it ask for a PIN?)"; }
for name in alice carol; do
    email=$(email_of_user "$name")
    grep -q "^$email:$email[[:space:]]" "$WORK/list.txt" ||
        { cat "$WORK/list.txt" >&2; die "certutil -L -h all does not list $email:$email"; }
done

for name in alice carol; do
    email=$(email_of_user "$name")
    nick="$email:$email"
    pwfile=$(pin_file_of "$email")

    step "$name: certutil -K lists the key after login, paired with its certificate"
    client certutil -K -d "$NSSDB" -h "$email" -f "$pwfile" </dev/null >"$WORK/keys.txt" 2>&1 ||
        { cat "$WORK/keys.txt" >&2; die "certutil -K -h $email failed"; }
    grep -Eq "^<[ 0-9]+> (rsa|ec) +[0-9a-f]{40} +($email:)?$email\$" "$WORK/keys.txt" ||
        { cat "$WORK/keys.txt" >&2; die "certutil -K does not list the key of $email under its certificate's name"; }
    ! grep -q "orphan" "$WORK/keys.txt" || { cat "$WORK/keys.txt" >&2; die "certutil -K: $email has a key without certificate"; }

    step "$name: cmsutil -S signs through the token, cmsutil -D verifies"
    nss_sign "$nick" "$pwfile" "$WORK/mail.txt" "$WORK/$name.sig"
    nss_verify "$WORK/$name.sig" "$WORK/$name-verified.txt"
    cmp "$WORK/mail.txt" "$WORK/$name-verified.txt" || die "content verified by cmsutil differs for $email"
    openssl cms -verify -inform DER -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/$name.sig" \
        -out /dev/null 2>"$WORK/err.txt" ||
        { cat "$WORK/err.txt" >&2; die "the message NSS signed for $email does not verify with openssl"; }

    [ "$name" = alice ] || continue
    step "$name: cmsutil -E encrypts to the certificate, cmsutil -D decrypts through the token"
    client cmsutil -E -d "$NSSDB" -r "$nick" -i "$WORK/mail.txt" -o "$WORK/$name.env" </dev/null ||
        die "cmsutil -E to $nick failed"
    nss_decode "$WORK/$name.env" "$WORK/$name-dec.txt" "$pwfile"
    cmp "$WORK/mail.txt" "$WORK/$name-dec.txt" || die "mail decrypted by NSS differs for $email"
done

step "module parameters (modutil -string) select the accounts NSS sees"
rm -rf "$WORK/nssdb"
nss_setup -string "emails=carol@*"
client certutil -L -d "$NSSDB" -h all </dev/null >"$WORK/filtered.txt"
grep -q "^$(email_of_user carol):" "$WORK/filtered.txt" || die "with emails=carol@* NSS does not list carol's certificate"
if grep -q "^$(email_of_user alice):" "$WORK/filtered.txt"; then
    die "with emails=carol@* NSS still lists alice's token"
fi
echo "PASS: $MT_TEST_NAME"
