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

# Every row of the store: a failed run must leave it exactly as it was
# (but the tables named in DUMP_SKIP='TABLE|TABLE', which may move).
dump() {
  sqlite3 "$MAILTOKEN_STORE" .dump | grep -Ev "^INSERT INTO \"?(${DUMP_SKIP:-no table})\"? " \
    >"$WORK/dump.$1" || fail "sqlite3 .dump"
}
expect_unchanged() { # expect_unchanged STATUS PATTERN command...: as expect, and wrote nothing
  dump before
  expect "$@"
  dump after
  cmp -s "$WORK/dump.before" "$WORK/dump.after" ||
    fail "the store changed: ${*:3}: $(diff "$WORK/dump.before" "$WORK/dump.after" | head -5)"
}

expect_unchanged 2 'give --from-module PATH and --token LABEL' "$MAILTOKEN" migrate --token source
expect_unchanged 3 'no token labelled "nosuch"' \
  "$MAILTOKEN" migrate --from-module "$SOFTHSM_MODULE" --token nosuch --pin-file "$WORK/user.pin"
expect_unchanged 1 "$WORK/none.so" \
  "$MAILTOKEN" migrate --from-module "$WORK/none.so" --token source --pin-file "$WORK/user.pin"
printf 'not-the-pin\n' >"$WORK/wrong.pin"
expect_unchanged 6 'wrong PIN' \
  "$MAILTOKEN" migrate --from-module "$SOFTHSM_MODULE" --token source --pin-file "$WORK/wrong.pin"
printf 'object,email\nshared\n' >"$WORK/bad.csv"
expect_unchanged 5 "bad.csv:2" migrate --map "$WORK/bad.csv"
# A map that cannot be read (I/O error, exit 1) is named; a directory opens,
# then fails to read (and root reads any file, whatever its mode).
mkdir "$WORK/map-dir.csv"
expect_unchanged 1 "map-dir.csv: cannot read it" migrate --map "$WORK/map-dir.csv"
expect_unchanged 1 "$WORK/missing.csv: No such file or directory" migrate --map "$WORK/missing.csv"

# A source token whose PIN is locked: mailtoken's own module as the source,
# its account locked by wrong PINs (pin_max_failures = 3 in this store).
printf 'pin_max_failures = 3\n' >>"$MAILTOKEN_CONF"
run openssl pkcs12 -export -in "$WORK/pki/dave.crt" -inkey "$WORK/pki/dave.key" -passout pass: \
  -out "$WORK/pki/locked.p12" >/dev/null
run "$MAILTOKEN" cert import --account auto "$WORK/pki/locked.p12" >/dev/null
run "$MAILTOKEN" account reset-pin dave@example.org --so-pin-file "$WORK/so.pin" \
  --new-pin-file "$WORK/user.pin" >/dev/null
for _ in 1 2 3; do
  expect 6 'incorrect PIN' "$MAILTOKEN" account set-pin dave@example.org --pin-file "$WORK/wrong.pin" \
    --new-pin-file "$WORK/user.pin"
done
# (the module records the refused login in the audit trail: that moves)
DUMP_SKIP='events|sqlite_sequence' expect_unchanged 6 'token "dave@example.org": PIN locked' \
  "$MAILTOKEN" migrate --from-module "$MT_MODULE" --token dave@example.org --pin-file "$WORK/user.pin"
run "$MAILTOKEN" --json account delete dave@example.org --purge --yes >/dev/null

# A map to an address the certificate does not name: that certificate is
# skipped.  The dry run says what the real run then does, and writes nothing.
printf 'dave,sales@example.org\n' >"$WORK/wrong.csv"
expect_unchanged 7 'does not name sales@example.org' migrate --map "$WORK/wrong.csv" --dry-run
printf 'object,email\nshared,sales@example.org\n' >"$WORK/map.csv"
dump before
set +e; migrate --map "$WORK/map.csv" --dry-run --json >"$WORK/plan.json"; rc=$?; set -e
[ "$rc" -eq 7 ] || fail "dry run: exit $rc, expected 7 (the malformed address fails)"
dump after
cmp -s "$WORK/dump.before" "$WORK/dump.after" || fail "the dry run changed the store"
jq -e '.dry_run == true and .summary.failed == 1 and .summary.accounts_new == 2 and
       ([.accounts[] | select(.error == null) | .email] | sort) == ["dave@example.org", "sales@example.org"]
       and all(.accounts[]; .action == "create")' "$WORK/plan.json" \
  >/dev/null || fail "dry run plan: $(cat "$WORK/plan.json")"

# The certificate naming a malformed address fails alone (exit 7); the rest goes in.
expect 7 'not-an-address' migrate --map "$WORK/map.csv"
run "$MAILTOKEN" --json account show sales@example.org | jq -e '.internal == true' >/dev/null ||
  fail "the mapped certificate did not go to sales@example.org with its key"
expect 3 'team@example.org' "$MAILTOKEN" account show team@example.org
run "$MAILTOKEN" --json account show dave@example.org | jq -e '.internal == true' >/dev/null ||
  fail "dave@example.org did not migrate"
[ "$(run "$MAILTOKEN" --json account list | jq -c '[.accounts[].email] | sort')" = \
  '["dave@example.org","sales@example.org"]' ] || fail "the run did not do what the dry run planned"
echo "migrate edge cases behave as documented"
