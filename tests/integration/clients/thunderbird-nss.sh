#!/usr/bin/env bash
# The NSS Thunderbird bundles (/usr/lib/thunderbird, newer than Debian's
# 3.87) opens mail through the module the way Thunderbird does: to EC P-256
# and P-384 accounts (ECDH key agreement, the key-encryption key derived in
# the token and used there by another session) and to RSA accounts (PKCS#1
# v1.5, OAEP), for the primary and the history certificate, as OpenSSL and
# NSS encrypt it.  It signs with EC and RSA primaries; a history certificate
# does not sign.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mail-fixtures.sh"
need_thunderbird_nss
mt_setup
setup_mail_accounts
nss_setup
write_mails

step "every mail opens through the token, with its account's PIN"
for mail in "${MAILS[@]}"; do
    read -r file email marker <<<"$mail"
    rm -f "$file.out"
    tb_cmsutil -D -d "$NSSDB" -f "$(pin_file_of "$email")" -i "$file.der" -o "$file.out" \
        </dev/null 2>"$file.err" || { cat "$file.err" >&2; die "cmsutil -D of $(basename "$file") ($email) failed"; }
    grep -q "$marker" "$file.out" || die "$(basename "$file") did not decrypt to its text"
    echo "  $(basename "$file"): opened"
done

step "no token was asked with another account's PIN"
token_counters >"$WORK/counters.txt"
if awk '$2 != 0' "$WORK/counters.txt" | grep -q .; then
    cat "$WORK/counters.txt" >&2
    die "failed-PIN counters went up"
fi

step "the primaries sign (EC and RSA), verified by OpenSSL"
for email in carol@example.org dave@example.org alice@example.org; do
    tb_cmsutil -S -d "$NSSDB" -N "$email:$email" -f "$(pin_file_of "$email")" -G -P \
        -i "$WORK/mails/carol-nss.txt" -o "$WORK/signed.der" </dev/null ||
        die "cmsutil -S as $email failed"
    openssl cms -verify -inform DER -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/signed.der" \
        -out /dev/null 2>"$WORK/verify.err" || { cat "$WORK/verify.err" >&2; die "$email's signature does not verify"; }
done

step "a history certificate does not sign: the error a user sees"
old_nick=$(client certutil -L -d "$NSSDB" -h "carol@example.org" </dev/null |
    sed -n 's/^\(carol@example.org:.*[^[:space:]]\)[[:space:]]\{2,\}[a-zA-Z,]*$/\1/p' |
    grep -vx "carol@example.org:carol@example.org" | head -n1 || true)
[ -n "$old_nick" ] || die "carol's history certificate is not listed"
if tb_cmsutil -S -d "$NSSDB" -N "$old_nick" -f "$(pin_file_of carol@example.org)" \
    -i "$WORK/mails/carol-nss.txt" -o "$WORK/old.der" </dev/null 2>"$WORK/old.err"; then
    die "NSS signed with carol's history certificate"
fi
cat "$WORK/old.err"
echo "PASS: $MT_TEST_NAME"
