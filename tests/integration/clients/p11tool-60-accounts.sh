#!/usr/bin/env bash
# GnuTLS scans at most 48 slots of a module and lists nothing at all from a
# module with more.  With 60 accounts p11tool shows no token; the account
# filter ($MAILTOKEN_ACCOUNTS) brings the module back under the limit.
source "$(dirname "$0")/lib.sh"
mt_setup
gen_bulk 60 2
add_p12_dir "$WORK/bulk" "$WORK/bulk.pass"
[ "$(bulk_emails | wc -l)" -eq 60 ] || die "mt-gen-bulk did not write 60 P12 files"
count_tokens() { client p11tool --provider "$MODULE" --list-tokens | grep -c "^[[:space:]]*Label: " || true; }

step "60 accounts, no filter: p11tool lists no token (GnuTLS's 48-slot limit)"
n=$(count_tokens)
[ "$n" -eq 0 ] || die "expected p11tool to list no token from a 60-slot module, it listed $n"

step "MAILTOKEN_ACCOUNTS selects 5 accounts: p11tool lists exactly those"
selected=$(bulk_emails | sed -n '3,7p')
globs=$(printf '%s\n' "$selected" | paste -sd, -)
MAILTOKEN_ACCOUNTS="emails=$globs" client p11tool --provider "$MODULE" --list-tokens >"$WORK/tokens.txt"
sed -n 's/^[[:space:]]*Label: //p' "$WORK/tokens.txt" | sort >"$WORK/listed.txt"
printf '%s\n' "$selected" | sort >"$WORK/expected.txt"
diff -u "$WORK/expected.txt" "$WORK/listed.txt" || die "p11tool with MAILTOKEN_ACCOUNTS=emails=$globs listed other tokens"

step "a glob selecting 40 of the 60 accounts: p11tool lists the 40"
MAILTOKEN_ACCOUNTS="emails=user0000*@*,user0001*@*,user0002*@*,user0003*@*" \
    client p11tool --provider "$MODULE" --list-tokens >"$WORK/tokens40.txt"
n=$(grep -c "^[[:space:]]*Label: user000[0-3][0-9]@$BULK_DOMAIN\$" "$WORK/tokens40.txt" || true)
total=$(grep -c "^[[:space:]]*Label: " "$WORK/tokens40.txt" || true)
expected=$(bulk_emails | grep -c '^user000[0-3][0-9]@' || true)
[ "$n" -eq "$expected" ] && [ "$total" -eq "$expected" ] ||
    die "p11tool listed $total tokens ($n matching) for a filter selecting $expected accounts"
echo "PASS: $MT_TEST_NAME"
