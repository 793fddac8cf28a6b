#!/usr/bin/env bash
# GnuTLS scans at most 48 slots of a module and lists nothing at all from a
# module with more.  With 60 accounts p11tool shows no token; the account
# filter ($MAILTOKEN_ACCOUNTS) brings the module back under the limit.
source "$(dirname "$0")/lib.sh"
mt_setup
gen_bulk 60 2
add_p12_dir "$WORK/bulk" "$WORK/bulk.pass"
[ "$(bulk_emails | wc -l)" -eq 60 ] || die "mt-gen-bulk did not write 60 P12 files"

# list_tokens [FILTER]: p11tool --list-tokens must exit 0 with nothing on
# stderr (a crash or an error is never "no token"); the labels it listed go
# to $WORK/listed.txt, sorted.
list_tokens() {
    local rc=0
    MAILTOKEN_ACCOUNTS=${1:-} client p11tool --provider "$MODULE" --list-tokens \
        >"$WORK/tokens.txt" 2>"$WORK/tokens.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/tokens.err" >&2; die "p11tool --list-tokens exit $rc (filter '${1:-}')"; }
    [ ! -s "$WORK/tokens.err" ] ||
        { cat "$WORK/tokens.err" >&2; die "p11tool --list-tokens wrote errors (filter '${1:-}')"; }
    sed -n 's/^[[:space:]]*Label: //p' "$WORK/tokens.txt" | sort >"$WORK/listed.txt"
}
expect_listed() { # WHAT EXPECTED-EMAILS
    printf '%s' "$2" | sed '/^$/d' | sort >"$WORK/expected.txt"
    diff -u "$WORK/expected.txt" "$WORK/listed.txt" || die "p11tool listed other tokens: $1"
}

step "60 accounts, no filter: p11tool lists no token (GnuTLS's 48-slot limit)"
list_tokens
expect_listed "60 slots" ""

step "the limit is the cause: 49 slots list nothing, 48 list all 48"
list_tokens "emails=user0000?@*,user0001?@*,user0002?@*,user0003?@*,user0004?@*"
[ "$(bulk_emails | grep -c '^user000[0-4][0-9]@')" -eq 49 ] || die "the filter should select 49 accounts"
expect_listed "49 slots" ""
list_tokens "emails=user0000?@*,user0001?@*,user0002?@*,user0003?@*,user0004[0-8]@*"
expect_listed "48 slots" "$(bulk_emails | grep '^user000[0-3][0-9]@\|^user0004[0-8]@')"

step "MAILTOKEN_ACCOUNTS selects 5 accounts: p11tool lists exactly those"
selected=$(bulk_emails | sed -n '3,7p')
list_tokens "emails=$(printf '%s\n' "$selected" | paste -sd, -)"
expect_listed "5 selected by email" "$selected"
echo "PASS: $MT_TEST_NAME"
