#!/usr/bin/env bash
# 20 accounts with 20 different PINs: listing certificates and decrypting a
# mail for one account logs in to that account's token only.  A client that
# tried its PIN on the other tokens would raise their failed-PIN counters
# (and, repeated, lock the other users out).
source "$(dirname "$0")/lib.sh"
mt_setup
gen_bulk 20 4
add_p12_dir "$WORK/bulk" "$WORK/bulk.pass"
mapfile -t emails < <(bulk_emails)
[ "${#emails[@]}" -eq 20 ] || die "expected 20 bulk accounts, got ${#emails[@]}"
for email in "${emails[@]}"; do set_pin "$email"; done
target=${emails[6]}
pwfile=$(pin_file_of "$target")
nss_setup
printf 'Subject: for one account\r\n\r\nOnly this token should be asked.\r\n' >"$WORK/mail.txt"
openssl pkcs12 -in "$WORK/bulk/${target%%@*}.p12" -passin "file:$WORK/bulk.pass" -nokeys -clcerts |
    openssl x509 -out "$WORK/target.crt"
openssl cms -encrypt -aes256 -outform DER -in "$WORK/mail.txt" -out "$WORK/mail.env" "$WORK/target.crt"

assert_no_failed_logins() { # WHAT STDERR_FILE
    if grep -qi "incorrect password" "$2"; then
        cat "$2" >&2
        die "$1 tried $target's PIN on other tokens (NSS reported incorrect PINs)"
    fi
    token_counters >"$WORK/counters.txt"
    [ "$(wc -l <"$WORK/counters.txt")" -eq 20 ] || die "expected 20 tokens in the store"
    if awk '$2 != 0' "$WORK/counters.txt" | grep -q .; then
        awk '$2 != 0' "$WORK/counters.txt" >&2
        die "$1 tried a PIN on tokens other than $target (failed-PIN counters above)"
    fi
}

step "certutil -L -h all with $target's PIN file"
client certutil -L -d "$NSSDB" -h all -f "$pwfile" </dev/null >"$WORK/list.txt" 2>"$WORK/list.err"
for email in "${emails[@]}"; do
    grep -q "^$email:$email[[:space:]]" "$WORK/list.txt" ||
        { cat "$WORK/list.txt" >&2; die "certutil -L -h all does not list $email:$email"; }
done
assert_no_failed_logins "certutil -L -h all" "$WORK/list.err"

step "cmsutil -D decrypts a mail to $target with its PIN file"
nss_decode "$WORK/mail.env" "$WORK/mail.dec" "$pwfile"
cmp "$WORK/mail.txt" "$WORK/mail.dec" || die "the mail decrypted for $target differs from the original"
assert_no_failed_logins "cmsutil -D" "$WORK/mail.dec.err"

step "the counters are live: a wrong PIN on another token is counted"
other=${emails[12]}
if client certutil -K -d "$NSSDB" -h "$other" -f "$pwfile" </dev/null >/dev/null 2>&1; then
    die "certutil -K logged in to $other with $target's PIN"
fi
token_counters >"$WORK/counters.txt"
grep -qx "$other 1" "$WORK/counters.txt" || { cat "$WORK/counters.txt" >&2; die "$other's failed-PIN counter is not 1"; }
grep -qx "$target 0" "$WORK/counters.txt" || die "$target's counter changed"
echo "PASS: $MT_TEST_NAME"
