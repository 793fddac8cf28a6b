# Which accounts a client sees: $MAILTOKEN_ACCOUNTS and the config narrow
# the slot list; slot ids do not depend on the filter.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice)" "$(p12 bob)" "$(p12 carol)" "$(crt partner)"
run p11 -L
bob_slot=$(grep -B1 "token label        : bob@example.org" "$WORK/out" | awk '/^Slot/{print $3}')

MAILTOKEN_ACCOUNTS="emails=bob@*" run p11 -L
[ "$(grep -c 'token label' "$WORK/out")" = 1 ] || die "emails=bob@* must show one token"
expect "token label        : bob@example.org"
grep -q "^Slot 0 $bob_slot" "$WORK/out" || die "bob's slot id must not change with the filter"

MAILTOKEN_ACCOUNTS="kind=external" run p11 -L
[ "$(grep -c 'token label' "$WORK/out")" = 1 ] || die "kind=external must show the PEM-only account"
expect "partner@partner.example"

MAILTOKEN_ACCOUNTS="kind=internal;emails=*@example.org" run p11 -L
[ "$(grep -c 'token label' "$WORK/out")" = 3 ] || die "internal @example.org accounts: 3"

echo "accounts = emails=alice@*,carol@*" >>"$MAILTOKEN_CONF" # after the fast-kdf lines of lib.sh
run p11 -L
[ "$(grep -c 'token label' "$WORK/out")" = 2 ] || die "the config filter must leave 2 tokens"
MAILTOKEN_ACCOUNTS="emails=carol@*" run p11 -L
[ "$(grep -c 'token label' "$WORK/out")" = 1 ] || die "config and environment filters intersect"
expect "carol@example.org"
MAILTOKEN_ACCOUNTS="emails=bob@*" fails p11 -L
expect "No slots"
echo "ok"
