# Roles on a PostgreSQL store (run by tests/pg/with-postgres.sh): the SQL of
# `mailtoken store grant` applied for real, then each role logs in with its
# own name.  The module as the reader lists, logs in (its counter moves, and
# locks), signs; every other write of the reader is refused by the server,
# directly and through mailtoken, with the store unchanged; a PIN wrapped
# again at login is skipped, the login kept.  Two organisations in one
# database, each with its own reader: each sees its own accounts only, in the
# module, the CLI and every table read directly.  $2: the PKCS#11 module.
MODULE=${2:?usage: test_roles.sh MAILTOKEN MODULE}
. "$(dirname "$0")/lib.sh"
: "${MT_TEST_PG:?run me through tests/pg/with-postgres.sh}"
S=$MT_TEST_SCHEMA
BASE=$MAILTOKEN_STORE # the test's schema, as the server's superuser

# as ROLE: the store's URI, logging in as ROLE
as() { printf '%s\n' "${BASE/\/\/postgres@/\/\/$1@}"; }
# sql_as ROLE SQL: one statement through psql as ROLE; output in $T/sql.out, $T/sql.err
sql_as() {
    psql -qXAt -v ON_ERROR_STOP=1 "$(as "$1")" -c "$2" >"$T/sql.out" 2>"$T/sql.err"
}
su_sql() { sql_as postgres "$1" || fail "$1: $(cat "$T/sql.err")"; cat "$T/sql.out"; }
# refused ROLE SQL: the server refuses the statement (permission), the store unchanged
refused() {
    snapshot before
    ! sql_as "$1" "$2" || fail "$1 was allowed: $2"
    grep -q 'permission denied' "$T/sql.err" || fail "$2 as $1: $(cat "$T/sql.err")"
    assert_unchanged
}

for role in mt_owner mt_writer mt_gw mt_acme mt_other mt_audit; do
    su_sql "CREATE ROLE $role LOGIN" >/dev/null
done
su_sql "ALTER SCHEMA $S OWNER TO mt_owner" >/dev/null
OWNER=$(as mt_owner)
export MAILTOKEN_STORE=$OWNER
{ cat "$FAST_KDF_CONF"; echo 'pin_max_failures = 3'; } >"$T/mailtoken.conf"
export MAILTOKEN_CONF=$T/mailtoken.conf

# Two organisations in one store, made by its owner.
run 0 init --org acme --so-pin-file "$SO_PIN"
run 0 init --org other --so-pin-file "$SO_PIN"
import_to() { # import_to ORG USER
    run 0 --org "$1" cert import --account auto --password-file "$TD/users/$2.pass" "$TD/users/$2.p12"
}
for user in alice bob; do import_to acme $user; done
for user in carol dave; do import_to other $user; done
run 0 --org acme account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 0 --org other account reset-pin carol@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 0 --org acme api-key create --scope read --name acme-key
run 0 --org other api-key create --scope read --name other-key
ACME=$(su_sql "SELECT id FROM $S.organizations WHERE name = 'acme'")
OTHER=$(su_sql "SELECT id FROM $S.organizations WHERE name = 'other'")

# --- store grant: the SQL printed (run here by psql as the owner) or applied.
run 0 store grant --reader mt_gw
out_has "GRANT UPDATE (failed_logins) ON \"$S\".tokens TO \"mt_gw\";"
out_has "CREATE POLICY mailtoken_org ON \"$S\".sealed_keys"
psql -qX -v ON_ERROR_STOP=1 "$OWNER" -f "$T/out" >"$T/psql.out" 2>&1 || fail "the printed SQL: $(cat "$T/psql.out")"
run 0 store grant --reader mt_acme --org acme --apply
out_has 'role "mt_acme": reader of organisation "acme"'
run 0 --json --org other store grant --reader mt_other --apply
jq_is '.applied' true
jq_is '.organization' other
run 0 store grant --writer mt_writer --apply
# Granting again is the same grant.
run 0 store grant --reader mt_acme --org acme --apply
[ "$(su_sql "SELECT role_name || '=' || coalesce(org_id::text, 'all') FROM $S.mailtoken_roles ORDER BY 1" |
    tr '\n' ' ')" = "mt_acme=$ACME mt_gw=all mt_other=$OTHER mt_writer=all " ] ||
    fail "roles: $(cat "$T/sql.out")"
# Refused: a writer bound to one organisation, the owner, an unknown
# organisation or role, a SQLite store, a role that is no owner applying.
run 2 store grant --writer mt_writer --org acme
err_has "a writer writes the whole store"
run 5 store grant --reader mt_owner
err_has 'role "mt_owner" owns the store'"'"'s tables'
run 3 store grant --reader mt_gw --org nosuch
err_has 'organisation "nosuch" not found'
fails_cleanly 1 'role "nobody_here" does not exist' store grant --reader nobody_here --apply
fails_cleanly 1 'connected as "mt_writer", which does not own the store'"'"'s tables: connect as "mt_owner"' --store "$(as mt_writer)" store grant --reader mt_audit --apply
run 0 --store "$T/file.db" init --org acme --so-pin-file "$SO_PIN"
run 5 --store "$T/file.db" store grant --reader mt_gw
err_has "roles are a PostgreSQL server's"
run 2 store grant
err_has "one of --reader ROLE or --writer ROLE is required"

echo ok
