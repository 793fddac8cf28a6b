# store copy: a SQLite store into a PostgreSQL server and back (run by
# tests/pg/with-postgres.sh): the same accounts on both sides, sealed keys that
# still sign through the module on the server, a second run that copies
# nothing, only the new rows after an import, times (timestamptz on the
# server) back as the same Unix seconds with the same digests, and a
# destination holding another store's rows refused with nothing written.
MODULE=${2:?usage: test_store_copy.sh MAILTOKEN MODULE}
. "$(dirname "$0")/lib.sh"
: "${MT_TEST_PG:?run me through tests/pg/with-postgres.sh}"
SERVER=$MAILTOKEN_STORE   # lib.sh made the test's server schema the store
FILE=$T/store.db
export MAILTOKEN_STORE=$FILE
init_store
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
run 0 cert import --account auto --password-file "$TD/users/carol.pass" "$TD/users/carol.p12"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"

copied() { jq -r "[.tables[] | select(.name == \"$1\") | .copied] | first" "$T/out"; }
run 0 --json store copy --from "$FILE" --to "$SERVER"
[ "$(copied accounts)" = 2 ] || fail "accounts copied: $(copied accounts)"
[ "$(copied sealed_keys)" = 2 ] || fail "sealed keys copied: $(copied sealed_keys)"
run 0 --json account list
cp "$T/out" "$T/accounts.file"
run 0 --json --store "$SERVER" account list
cmp -s "$T/out" "$T/accounts.file" || fail "the server lists other accounts: $(diff "$T/out" "$T/accounts.file")"

# Idempotent: nothing new, nothing copied, still verified.
run 0 --json store copy --from "$FILE" --to "$SERVER"
[ "$(jq '[.tables[].copied] | add' "$T/out")" = 0 ] || fail "a second copy copied rows again"

# The module on the server: alice's sealed key, opened with her PIN, signs.
printf 'S/MIME content to sign\n' >"$T/data"
openssl x509 -in "$TD/users/alice.crt" -noout -pubkey >"$T/alice.pub"
MAILTOKEN_STORE=$SERVER client pkcs11-tool --module "$MODULE" --token-label alice@example.org --login \
    --pin "$(cat "$USER_PIN")" --sign -m SHA256-RSA-PKCS -i "$T/data" -o "$T/sig" >"$T/p11.out" 2>&1 ||
    fail "pkcs11-tool --sign on the server's copy: $(cat "$T/p11.out")"
openssl dgst -sha256 -verify "$T/alice.pub" -signature "$T/sig" "$T/data" >/dev/null ||
    fail "the signature made from the server's copy does not verify"

# A later import: only its rows are copied.
run 0 cert import --account auto --password-file "$TD/users/bob.pass" "$TD/users/bob.p12"
run 0 --json store copy --from "$FILE" --to "$SERVER"
[ "$(copied accounts)" = 1 ] || fail "after one more import, accounts copied: $(copied accounts)"
digests() { jq -c '[.tables[] | {name, rows, digest}]' "$T/out"; }
digests >"$T/digests.file"

# And back into a new SQLite file: the same accounts again.
run 0 --json store copy --from "$SERVER" --to "$T/back.db"
# the server's rows digest as the file's did: its timestamptz values are the same seconds
digests | cmp -s - "$T/digests.file" || fail "digests on the server differ from the file's: $(digests)"
times() {
    sqlite3 "$1" "SELECT id, not_before, not_after, created_at, updated_at FROM certificates ORDER BY id;
                  SELECT id, created_at, updated_at, so_next_attempt_at FROM organizations;
                  SELECT id, at FROM events ORDER BY id; SELECT typeof(at) FROM events LIMIT 1"
}
[ "$(times "$T/back.db")" = "$(times "$FILE")" ] ||
    fail "times copied back differ: $(diff <(times "$FILE") <(times "$T/back.db"))"
run 0 --json --store "$T/back.db" account list
cp "$T/out" "$T/accounts.back"
run 0 --json account list
cmp -s "$T/out" "$T/accounts.back" || fail "the copy back lists other accounts"

# Another store's rows in the destination: refused (exit 4), nothing written.
OTHER=$T/other.db
run 0 --store "$OTHER" init --org other --so-pin-file "$SO_PIN"
snapshot before
run 4 store copy --from "$OTHER" --to "$SERVER"
err_has "differs after the copy"
assert_unchanged
echo ok
