# On a PostgreSQL server, a module whose role may read the store but not
# update the PIN counters gets no uncounted guesses: every login is refused
# with CKR_DEVICE_ERROR, the right PIN too, and nothing moves; with
# pin_counter = best-effort the PIN is judged, uncounted.  (The SQLite
# counterpart, a store file the user cannot write: unit.pkcs11.lockout.)
. "$(dirname "$0")/lib.sh"
[ -n "${MT_TEST_PG:-}" ] || die "needs a PostgreSQL server (tests/pg/with-postgres.sh)"
provision "$(p12 bob)"
WRITER_STORE=$MAILTOKEN_STORE
reader=reader_$MT_TEST_SCHEMA
psql -qX -v ON_ERROR_STOP=1 "$MT_TEST_PG" >/dev/null <<SQL || die "cannot make the read-only role"
CREATE ROLE $reader LOGIN;
GRANT USAGE ON SCHEMA $MT_TEST_SCHEMA TO $reader;
GRANT SELECT ON ALL TABLES IN SCHEMA $MT_TEST_SCHEMA TO $reader;
SQL
READER_STORE=${WRITER_STORE/postgres@/$reader@}
counter() { psql -qtAX "$WRITER_STORE" -c "SELECT failed_logins FROM tokens WHERE email = 'bob@example.org'"; }
login() { # PIN: a login to bob's token, listing its private key
    p11 --token-label bob@example.org --login --pin "$1" --list-objects --type privkey
}

# The reader sees the token and its certificate.
export MAILTOKEN_STORE=$READER_STORE
run p11 --list-slots
expect "token label        : bob@example.org"
# ... but may not log in: neither a wrong PIN nor the right one is judged.
for pin in wrong-pin-000 "$PIN"; do
    fails login "$pin"
    expect "CKR_DEVICE_ERROR"
    expect_not "Private Key Object"
done
[ "$(counter)" = 0 ] || die "the counter moved: $(counter)"

# pin_counter = best-effort: judged, uncounted.
cp "$MAILTOKEN_CONF" "$WORK/strict.conf"
printf 'pin_counter = best-effort\n' >>"$MAILTOKEN_CONF"
fails login wrong-pin-000
expect "CKR_PIN_INCORRECT"
run login "$PIN"
expect "Private Key Object"
[ "$(counter)" = 0 ] || die "a best-effort guess was counted: $(counter)"

# The writer's role counts the same wrong PIN: the refusal above was the role's.
cp "$WORK/strict.conf" "$MAILTOKEN_CONF"
export MAILTOKEN_STORE=$WRITER_STORE
fails login wrong-pin-000
expect "CKR_PIN_INCORRECT"
[ "$(counter)" = 1 ] || die "the writer's wrong PIN was not counted: $(counter)"
echo ok
