# Times on PostgreSQL (run by tests/pg/with-postgres.sh): every time column
# of the schema is a timestamptz holding the instant the tool shows (a
# certificate's validity as OpenSSL reads it, an API key's expiry as given,
# "never" as 1970-01-01 00:00:00 UTC); and a store of schema version 5, whose
# times were Unix seconds in bigint columns, is upgraded when the tool opens
# it, every time the tool shows unchanged.
. "$(dirname "$0")/lib.sh"
: "${MT_TEST_PG:?run me through tests/pg/with-postgres.sh}"
export PGTZ=UTC # psql's own session prints UTC
q() { psql -qAtX -v ON_ERROR_STOP=1 "$MAILTOKEN_STORE" -c "$1"; }
iso() { q "SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') $2"; }

TIME_COLUMNS='account_certificates.added_at
accounts.created_at
accounts.updated_at
api_keys.created_at
api_keys.expires_at
api_keys.revoked_at
ca_messages.received_at
ca_profiles.created_at
certificates.created_at
certificates.not_after
certificates.not_before
certificates.updated_at
events.at
organizations.created_at
organizations.so_next_attempt_at
organizations.updated_at
renewals.created_at
renewals.next_attempt_at
renewals.updated_at
tokens.created_at
tokens.updated_at'
columns_of_type() {
    q "SELECT table_name || '.' || column_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND data_type = '$1' ORDER BY 1"
}
schema_is() { # schema_is VERSION TYPE: the schema version, and the type of every time column
    [ "$(q "SELECT value FROM meta WHERE key = 'schema_version'")" = "$1" ] ||
        fail "schema version $(q "SELECT value FROM meta WHERE key = 'schema_version'"), expected $1"
    local typed
    typed=$(columns_of_type "$2" | grep -Fx -f <(printf '%s\n' "$TIME_COLUMNS") || true)
    [ "$typed" = "$TIME_COLUMNS" ] ||
        fail "time columns of type $2: $(diff <(printf '%s\n' "$TIME_COLUMNS") <(printf '%s\n' "$typed"))"
}

init_store
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
run 0 --json api-key create --scope read --name dated --expires 2031-02-03T04:05:06Z --key-file "$T/k1"
DATED=$(jq -r .id "$T/out")
run 0 --json api-key create --scope read --name forever --key-file "$T/k2"
FOREVER=$(jq -r .id "$T/out")
before=$(date +%s)
run 0 api-key revoke "$DATED"
after=$(date +%s)

schema_is 6 'timestamp with time zone'
[ "$(columns_of_type 'timestamp with time zone')" = "$TIME_COLUMNS" ] ||
    fail "timestamptz columns that are no times: $(columns_of_type 'timestamp with time zone')"

# A certificate's validity: OpenSSL's reading, the tool's, the server's.
openssl_time() {
    date -u -d "$(openssl x509 -in "$TD/users/alice.crt" -noout "-$1" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}
run 0 --json cert list
for pair in startdate:not_before:notBefore enddate:not_after:notAfter; do
    IFS=: read -r option column field <<<"$pair"
    want=$(openssl_time "$option")
    shown=$(jq -r ".certificates[0].$field" "$T/out")
    stored=$(iso "$column" "FROM certificates WHERE id = $(jq -r '.certificates[0].id' "$T/out")")
    [ "$want" = "$shown" ] && [ "$want" = "$stored" ] ||
        fail "$column: OpenSSL $want, the tool $shown, the server $stored"
done

# API keys: an expiry as given, "never" as the epoch (null to the tool), a
# revocation at the moment it happened.
run 0 --json api-key list --all
key() { jq -r ".apiKeys[] | select(.id == $1) | .$2" "$T/out"; }
[ "$(key "$DATED" expiresAt)" = 2031-02-03T04:05:06Z ] || fail "expiresAt shown: $(key "$DATED" expiresAt)"
[ "$(iso expires_at "FROM api_keys WHERE id = $DATED")" = 2031-02-03T04:05:06Z ] ||
    fail "expires_at stored: $(q "SELECT expires_at FROM api_keys WHERE id = $DATED")"
[ "$(key "$FOREVER" expiresAt)" = null ] && [ "$(key "$FOREVER" revokedAt)" = null ] ||
    fail "a key that never expires, never revoked, shows $(key "$FOREVER" expiresAt) $(key "$FOREVER" revokedAt)"
[ "$(q "SELECT expires_at = 'epoch' AND revoked_at = 'epoch' FROM api_keys WHERE id = $FOREVER")" = t ] ||
    fail "never is not the epoch: $(q "SELECT expires_at, revoked_at FROM api_keys WHERE id = $FOREVER")"
revoked=$(q "SELECT extract(epoch FROM revoked_at)::bigint FROM api_keys WHERE id = $DATED")
[ "$revoked" -ge "$before" ] && [ "$revoked" -le "$after" ] || fail "revoked at $revoked, not in [$before, $after]"
[ "$(key "$DATED" revokedAt)" = "$(iso revoked_at "FROM api_keys WHERE id = $DATED")" ] ||
    fail "revokedAt shown $(key "$DATED" revokedAt)"
# the listing without --all leaves the revoked key out (revoked_at compared with "never")
run 0 --json api-key list
[ "$(jq -c '[.apiKeys[].id]' "$T/out")" = "[$FOREVER]" ] || fail "api-key list: $(jq -c '[.apiKeys[].id]' "$T/out")"

# The audit trail: the newest event's time, as stored.
run 0 --json log --limit 1
[ "$(jq -r '.events[0].at' "$T/out")" = "$(iso at 'FROM events ORDER BY id DESC LIMIT 1')" ] ||
    fail "log shows $(jq -r '.events[0].at' "$T/out")"

# What the tool shows, before and after an upgrade from version 5 (the
# rows that were there then: the upgrading command adds a key and an event).
LAST_EVENT=$(q "SELECT max(id) FROM events")
shown() {
    { run 0 --json cert list && cat "$T/out"
      run 0 --json account list && cat "$T/out"
      run 0 --json api-key list --all && jq '.apiKeys |= map(select(.name != "later"))' "$T/out"
      run 0 --json log && jq ".events |= map(select(.id <= $LAST_EVENT))" "$T/out"; } >"$1"
}
shown "$T/shown.6"

# Version 5 as the tool made it: Unix seconds in bigint columns, 0 for never.
downgrade=
while IFS=. read -r table column; do
    default=
    case $column in so_next_attempt_at | next_attempt_at | expires_at | revoked_at) default=", ALTER COLUMN $column SET DEFAULT 0" ;; esac
    downgrade+="ALTER TABLE $table ALTER COLUMN $column DROP DEFAULT, ALTER COLUMN $column TYPE bigint"
    downgrade+=" USING extract(epoch FROM $column)::bigint$default;"
done <<<"$TIME_COLUMNS"
q "$downgrade UPDATE meta SET value = 5 WHERE key = 'schema_version'"
schema_is 5 bigint
[ "$(q "SELECT expires_at FROM api_keys WHERE id = $FOREVER")" = 0 ] || fail "version 5's never is not 0"

# read-only, the tool leaves it alone; the first read-write command upgrades it
run 1 status
err_has "schema version 5 needs upgrading"
schema_is 5 bigint
run 0 --json api-key create --scope read --name later --key-file "$T/k3"
LATER=$(jq -r .id "$T/out")
run 0 --json status
[ "$(jq -r .store.schemaVersion "$T/out")" = 6 ] || fail "status shows schema version $(jq -r .store.schemaVersion "$T/out")"
schema_is 6 'timestamp with time zone'
shown "$T/shown.upgraded"
cmp -s "$T/shown.6" "$T/shown.upgraded" ||
    fail "the upgrade changed what the tool shows: $(diff "$T/shown.6" "$T/shown.upgraded")"
[ "$(q "SELECT column_default FROM information_schema.columns WHERE table_schema = current_schema()
        AND table_name = 'organizations' AND column_name = 'so_next_attempt_at'")" = "to_timestamp((0)::double precision)" ] ||
    fail "so_next_attempt_at's default after the upgrade is not the epoch"
# the key made by the upgrading command never expires: the epoch, as before
[ "$(q "SELECT expires_at = 'epoch' AND revoked_at = 'epoch' FROM api_keys WHERE id = $LATER")" = t ] ||
    fail "a key made at the upgrade has another never: $(q "SELECT expires_at, revoked_at FROM api_keys WHERE id = $LATER")"
echo ok
