# pkcs11-tool -L: one token per account, labels, flags, stable slot ids.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 bob)" "$(p12 carol)" "$(crt partner)"
run p11 -L
expect "token label        : alice@example.org"
expect "token label        : bob@example.org"
expect "token label        : carol@example.org"
expect "token label        : partner@partner.example"
expect "token manufacturer : mailtoken"
expect "token model        : mailtoken token"
[ "$(grep -c 'token label' "$WORK/out")" = 4 ] || die "expected 4 tokens"
# internal accounts need a login; the PEM-only partner does not
grep -A4 "partner@partner.example" "$WORK/out" | grep "token flags" | grep -vq "login required" ||
    die "partner's token must not require login"
grep -A4 "token label        : bob@example.org" "$WORK/out" | grep -q "login required, rng, token initialized, PIN initialized, readonly" ||
    die "bob's token flags"
# serial numbers are 16 hex digits, unique
[ "$(grep 'serial num' "$WORK/out" | awk '{print $4}' | grep -cE '^[0-9a-f]{16}$')" = 4 ] ||
    die "serial numbers must be 16 hex digits"
[ "$(grep 'serial num' "$WORK/out" | sort -u | wc -l)" = 4 ] || die "serials must be unique"
first=$(grep '^Slot' "$WORK/out")
# the same store gives the same slot ids in another process
run p11 -L
[ "$(grep '^Slot' "$WORK/out")" = "$first" ] || die "slot ids changed between runs"
# a wrong PIN is refused and counted, the right one still works
fails p11 --token-label bob@example.org --login --pin wrong-pin-999 -O
expect "CKR_PIN_INCORRECT"
run p11 --token-label bob@example.org -L
run p11 --token-label bob@example.org --login --pin "$PIN" -O
expect "Private Key Object"
echo "ok"
