#!/usr/bin/env bash
# mailtoken migrate on the edges: a certificate naming two addresses placed
# with --map, a map line that breaks the store's rule, a bad map file, a
# wrong PIN, an unknown token and module, and usage errors, each with the
# documented exit status and a message naming the culprit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_dirs
make_ca
softhsm_token source
mailtoken_init
now=$(days_from_now -1) later=$(days_from_now 400)
# Two addresses in one certificate: the first would be chosen without a map.
issue shared "team@example.org,email:sales@example.org" ec-p256 "$now" "$later"
issue broken "not-an-address" ec-p256 "$now" "$later"
issue dave dave@example.org ec-p256 "$now" "$later"
for name in shared dave broken; do
  printf '%s\t%s\t%s\t1\n' "$name" "$WORK/pki/$name.crt" "$WORK/pki/$name.key"
done | softhsm_fill source

migrate() {
  "$MAILTOKEN" migrate --from-module "$SOFTHSM_MODULE" --token source \
    --pin-file "$WORK/user.pin" "$@"
}
expect() { # expect STATUS PATTERN command...: exit status and message
  local want=$1 pattern=$2 out rc
  shift 2
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [ "$rc" -eq "$want" ] || { echo "$out" >&2; fail "exit $rc, expected $want: $*"; }
  grep -qE -- "$pattern" <<<"$out" || { echo "$out" >&2; fail "no '$pattern' from: $*"; }
}

expect 2 'give --from-module PATH and --token LABEL' "$MAILTOKEN" migrate --token source
expect 3 'no token labelled "nosuch"' \
  "$MAILTOKEN" migrate --from-module "$SOFTHSM_MODULE" --token nosuch --pin-file "$WORK/user.pin"
expect 1 "$WORK/none.so" \
  "$MAILTOKEN" migrate --from-module "$WORK/none.so" --token source --pin-file "$WORK/user.pin"
printf 'not-the-pin\n' >"$WORK/wrong.pin"
expect 6 'wrong PIN' \
  "$MAILTOKEN" migrate --from-module "$SOFTHSM_MODULE" --token source --pin-file "$WORK/wrong.pin"
printf 'object,email\nshared\n' >"$WORK/bad.csv"
expect 5 "bad.csv:2" migrate --map "$WORK/bad.csv"
# A map to an address the certificate does not name: that certificate is skipped.
printf 'dave,sales@example.org\n' >"$WORK/wrong.csv"
expect 7 'does not name sales@example.org' migrate --map "$WORK/wrong.csv" --dry-run
[ "$(run "$MAILTOKEN" --json status | jq .counts.accounts)" -eq 0 ] || fail "a failed run wrote"

printf 'object,email\nshared,sales@example.org\n' >"$WORK/map.csv"
# The certificate naming a malformed address fails alone (exit 7); the rest goes in.
expect 7 'not-an-address' migrate --map "$WORK/map.csv"
run "$MAILTOKEN" --json account show sales@example.org | jq -e '.internal == true' >/dev/null ||
  fail "the mapped certificate did not go to sales@example.org with its key"
expect 3 'team@example.org' "$MAILTOKEN" account show team@example.org
run "$MAILTOKEN" --json account show dave@example.org | jq -e '.internal == true' >/dev/null ||
  fail "dave@example.org did not migrate"
echo "migrate edge cases behave as documented"
