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
# refused ROLE SQL: the server refuses the statement (permission)
refused() {
    ! sql_as "$1" "$2" || fail "$1 was allowed: $2"
    grep -q 'permission denied' "$T/sql.err" || fail "$2 as $1: $(cat "$T/sql.err")"
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
for user in alice carol; do import_to acme $user; done # RSA and EC keys
for user in bob dave; do import_to other $user; done
run 0 --org acme account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 0 --org other account reset-pin bob@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
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
# A role with no grant finds no store, and is told why that may be.
run 5 --store "$(as mt_audit)" account list
err_has "or a schema this role may not use: mailtoken store grant"
# A table this build has no rule for is never left out silently.
su_sql "CREATE TABLE $S.extra (id bigint); ALTER TABLE $S.extra OWNER TO mt_owner" >/dev/null
run 1 store grant --reader mt_gw
err_has "table extra has no rule for roles in this build"
su_sql "DROP TABLE $S.extra" >/dev/null

# --- the module as the whole store's reader: it lists every token, logs in, signs.
p11() { client pkcs11-tool --module "$MODULE" "$@"; }
labels() { # labels ROLE: the token labels the module lists when it logs in as ROLE
    MAILTOKEN_STORE=$(as "$1") p11 -L >"$T/p11.out" 2>&1 || fail "pkcs11-tool -L as $1: $(cat "$T/p11.out")"
    sed -n 's/^ *token label *: *\([^ ]*\).*/\1/p' "$T/p11.out" | sort | tr '\n' ' '
}
# sign_as ROLE EMAIL PIN: the module as ROLE logs in to EMAIL's token and signs
sign_as() {
    printf 'S/MIME content to sign\n' >"$T/data"
    rm -f "$T/sig"
    MAILTOKEN_STORE=$(as "$1") p11 --token-label "$2" --login --pin "$3" --sign -m SHA256-RSA-PKCS \
        -i "$T/data" -o "$T/sig" >"$T/p11.out" 2>&1
}
signs() { # signs ROLE EMAIL USER: the signature verifies with USER's certificate
    sign_as "$1" "$2" "$(cat "$USER_PIN")" || fail "signing as $1: $(cat "$T/p11.out")"
    openssl x509 -in "$TD/users/$3.crt" -noout -pubkey >"$T/pub"
    openssl dgst -sha256 -verify "$T/pub" -signature "$T/sig" "$T/data" >/dev/null ||
        fail "the signature made as $1 does not verify"
}
failed() { su_sql "SELECT failed_logins FROM $S.tokens WHERE email = '$1'"; }
events() { su_sql "SELECT count(*) FROM $S.events WHERE action = '$1' AND subject = '$2'"; }

[ "$(labels mt_gw)" = "alice@example.org bob@example.org carol@example.org dave@example.org " ] ||
    fail "the whole store's reader lists: $(labels mt_gw)"
! sign_as mt_gw alice@example.org wrong-pin-1234 || fail "a wrong PIN signed"
grep -q CKR_PIN_INCORRECT "$T/p11.out" || fail "a wrong PIN: $(cat "$T/p11.out")"
[ "$(failed alice@example.org)" = 1 ] || fail "a wrong PIN as the reader: counter $(failed alice@example.org)"
[ "$(events token.login-failed alice@example.org)" = 1 ] || fail "no event of the wrong PIN"
signs mt_gw alice@example.org alice
[ "$(failed alice@example.org)" = 0 ] || fail "the right PIN left the counter at $(failed alice@example.org)"
for i in 1 2 3; do ! sign_as mt_gw alice@example.org wrong-pin-1234 || fail "a wrong PIN signed"; done
[ "$(failed alice@example.org)" = 3 ] || fail "3 wrong PINs: counter $(failed alice@example.org)"
[ "$(events token.locked alice@example.org)" = 1 ] || fail "no event of the lock"
! sign_as mt_gw alice@example.org "$(cat "$USER_PIN")" || fail "a locked token signed"
grep -q CKR_PIN_LOCKED "$T/p11.out" || fail "a locked token: $(cat "$T/p11.out")"
[ "$(failed alice@example.org)" = 3 ] || fail "a refused login moved the counter: $(failed alice@example.org)"
run 0 --org acme account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
signs mt_gw alice@example.org alice

# The SO PIN through the module (C_InitPIN: a read-write session): its counter
# and wait are the reader's to write; the new user PIN is not.
so_init_pin() { # so_init_pin ROLE EMAIL SO-PIN
    MAILTOKEN_STORE=$(as "$1") p11 --token-label "$2" --init-pin --login --login-type so --so-pin "$3" \
        --new-pin "$(cat "$USER_PIN2")" >"$T/p11.out" 2>&1
}
so_failed() { su_sql "SELECT so_failed_logins || ' ' || (so_next_attempt_at > 'epoch') FROM $S.organizations WHERE name = '$1'"; }
! so_init_pin mt_gw alice@example.org wrong-so-pin-1234 || fail "a wrong SO PIN set a PIN"
grep -q 'C_Login failed: rv = CKR_PIN_INCORRECT' "$T/p11.out" || fail "a wrong SO PIN: $(cat "$T/p11.out")"
[ "$(so_failed acme)" = "1 true" ] || fail "a wrong SO PIN as the reader: $(so_failed acme)"
[ "$(events org.so-login-failed acme)" = 1 ] || fail "no event of the wrong SO PIN"
SNAPSHOT_SKIP='organizations' snapshot before
! so_init_pin mt_gw alice@example.org "$(cat "$SO_PIN")" || fail "the reader set a user PIN"
grep -q 'C_InitPIN failed: rv = CKR_TOKEN_WRITE_PROTECTED' "$T/p11.out" || fail "C_InitPIN as the reader: $(cat "$T/p11.out")"
[ "$(so_failed acme)" = "0 false" ] || fail "the right SO PIN as the reader: $(so_failed acme)"
SNAPSHOT_SKIP='organizations' assert_unchanged

# Limits the config moved: the owner's module wraps the PIN again at login;
# the reader may not, so its login skips that and stands.
ops() { su_sql "SELECT pin_ops FROM $S.tokens WHERE email = '$1'"; }
{ cat "$T/mailtoken.conf"; echo 'kdf_opslimit = 2'; } >"$T/moved.conf"
MAILTOKEN_CONF=$T/moved.conf signs mt_gw alice@example.org alice
[ "$(ops alice@example.org)" = 1 ] || fail "the reader wrapped the PIN again"
MAILTOKEN_CONF=$T/moved.conf signs mt_owner bob@example.org bob
[ "$(ops bob@example.org)" = 2 ] || fail "the owner's login did not wrap the PIN again: $(ops bob@example.org)"

# --- the reader's other writes: refused by the server, the store unchanged.
snapshot before
refused mt_gw "INSERT INTO $S.accounts (org_id, email, token_id, primary_cert_id, created_at, updated_at)
    SELECT org_id, 'eve@example.org', token_id, primary_cert_id, now(), now() FROM $S.accounts LIMIT 1"
refused mt_gw "UPDATE $S.certificates SET friendly_name = 'changed'"
refused mt_gw "DELETE FROM $S.sealed_keys"
refused mt_gw "UPDATE $S.tokens SET max_failures = 1000"
refused mt_gw "UPDATE $S.tokens SET pin_wrapped = NULL"
refused mt_gw "UPDATE $S.meta SET value = value + 1"
refused mt_gw "SELECT count(*) FROM $S.api_keys"
refused mt_acme "UPDATE $S.mailtoken_roles SET org_id = NULL"
refused mt_acme "INSERT INTO $S.mailtoken_roles VALUES ('mt_acme2', NULL)"
assert_unchanged
# What acme's reader may write, it may not write for another organisation.
sql_as mt_acme "WITH u AS (UPDATE $S.tokens SET failed_logins = 5 RETURNING email)
    SELECT string_agg(email, ' ' ORDER BY email) FROM u" || fail "acme's reader counting: $(cat "$T/sql.err")"
[ "$(cat "$T/sql.out")" = "alice@example.org carol@example.org" ] || fail "acme's reader counted on: $(cat "$T/sql.out")"
[ "$(failed bob@example.org) $(failed dave@example.org)" = "0 0" ] || fail "acme's reader counted on other's tokens"
! sql_as mt_acme "INSERT INTO $S.events (at, org_id, actor, action, subject, detail)
    VALUES (now(), $OTHER, 'x', 'token.login-failed', 'bob@example.org', '{}')" ||
    fail "acme's reader wrote an event of another organisation"
grep -q 'violates row-level security policy' "$T/sql.err" || fail "another organisation's event: $(cat "$T/sql.err")"
su_sql "UPDATE $S.tokens SET failed_logins = 0" >/dev/null
GW=$(as mt_gw)
fails_cleanly 1 'permission denied for table certificates' --store "$GW" --org acme cert import \
    --account auto --password-file "$TD/users/erin.pass" "$TD/users/erin.p12"
carol_cert=$(su_sql "SELECT primary_cert_id FROM $S.accounts WHERE email = 'carol@example.org'")
fails_cleanly 1 'permission denied for table certificates' --store "$GW" --org acme cert update "$carol_cert" \
    --friendly-name changed
fails_cleanly 1 'permission denied for table' --store "$GW" --org acme account delete carol@example.org --purge --yes
{ cat "$T/mailtoken.conf"; echo 'pin_max_failures = 1000'; } >"$T/raised.conf"
MAILTOKEN_CONF=$T/raised.conf fails_cleanly 1 'permission denied for table tokens' --store "$GW" --org acme \
    account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN2"

# --- two organisations, a reader each: the module and the CLI see their own.
[ "$(labels mt_acme)" = "alice@example.org carol@example.org " ] || fail "acme's reader lists: $(labels mt_acme)"
[ "$(labels mt_other)" = "bob@example.org dave@example.org " ] || fail "other's reader lists: $(labels mt_other)"
run 0 --json --store "$(as mt_acme)" account list
[ "$(jq -r '[.accounts[].email] | join(" ")' "$T/out")" = "alice@example.org carol@example.org" ] ||
    fail "acme's reader: account list: $(cat "$T/out")"
run 0 --json --store "$(as mt_other)" account list
[ "$(jq -r '[.accounts[].email] | join(" ")' "$T/out")" = "bob@example.org dave@example.org" ] ||
    fail "other's reader: account list: $(cat "$T/out")"
! sign_as mt_acme bob@example.org "$(cat "$USER_PIN")" || fail "acme's reader signed with bob's key"
! sign_as mt_acme alice@example.org wrong-pin-1234 || fail "a wrong PIN signed"
[ "$(failed alice@example.org)" = 1 ] || fail "a wrong PIN as acme's reader: counter $(failed alice@example.org)"
signs mt_acme alice@example.org alice
[ "$(failed alice@example.org)" = 0 ] || fail "the right PIN as acme's reader left the counter"
signs mt_other bob@example.org bob

# Every table read directly: an organisation's role gets its organisation's
# rows and no other's.  The oracle says, per table, which rows are whose; a
# table it does not know (a new one in the schema) fails the test.
declare -A OWN=(
    [organizations]="id = %d" [tokens]="org_id = %d" [certificates]="org_id = %d"
    [accounts]="org_id = %d" [ca_profiles]="org_id = %d" [renewals]="org_id = %d"
    [ca_messages]="org_id = %d" [events]="org_id = %d" [api_keys]="org_id = %d"
    [certificate_emails]="cert_id IN (SELECT id FROM $S.certificates WHERE org_id = %d)"
    [certificate_chain]="cert_id IN (SELECT id FROM $S.certificates WHERE org_id = %d)"
    [sealed_keys]="cert_id IN (SELECT id FROM $S.certificates WHERE org_id = %d)"
    [account_certificates]="account_id IN (SELECT id FROM $S.accounts WHERE org_id = %d)"
    [chain_certificates]="id IN (SELECT l.chain_id FROM $S.certificate_chain l JOIN $S.certificates c
        ON c.id = l.cert_id WHERE c.org_id = %d)"
    [mailtoken_roles]="role_name = 'mt_audit' AND %d > 0"
)
# all_rows ROLE TABLE=WHERE...: "table|row" lines of every TABLE as ROLE reads it, sorted
all_rows() {
    local role=$1 sql="" table where
    shift
    for arg in "$@"; do
        table=${arg%%=*} where=${arg#*=}
        sql+="${sql:+ UNION ALL }SELECT '$table', t::text FROM $S.$table t${where:+ WHERE $where}"
    done
    sql_as "$role" "SELECT * FROM ($sql) r ORDER BY 1, 2" || fail "reading as $role: $(cat "$T/sql.err")"
    cat "$T/sql.out"
}
# a reader of acme allowed to read every table, to put every policy to the test
run 0 store grant --reader mt_audit --org acme --apply
su_sql "GRANT SELECT ON ALL TABLES IN SCHEMA $S TO mt_audit" >/dev/null
tables=() acme=() other=() module=()
for table in $(su_sql "SELECT tablename FROM pg_tables WHERE schemaname = '$S' AND tablename <> 'meta'
                       ORDER BY 1"); do # meta: the schema version and the generation, no one's
    [ -n "${OWN[$table]:-}" ] || fail "table $table: which organisation's rows does it hold?"
    tables+=("$table=")
    # shellcheck disable=SC2059
    acme+=("$table=$(printf "${OWN[$table]}" "$ACME")") other+=("$table=$(printf "${OWN[$table]}" "$OTHER")")
done
all_rows postgres "${acme[@]}" >"$T/acme.rows"
[ "$(all_rows postgres "${other[@]}" | cut -d'|' -f1 | sort -u | wc -l)" -ge 10 ] ||
    fail "the other organisation has rows in too few tables for this check"
all_rows mt_audit "${tables[@]}" >"$T/audit.rows"
cmp -s "$T/audit.rows" "$T/acme.rows" || fail "acme's role reads: $(diff "$T/acme.rows" "$T/audit.rows" | head -c 900)"
# acme's module: the tables it may read give the same rows; the others are refused
for table in "${tables[@]%=}"; do
    if [ "$(su_sql "SELECT has_table_privilege('mt_acme', '$S.$table', 'SELECT')")" = t ]; then
        module+=("$table=")
    else
        ! sql_as mt_acme "SELECT count(*) FROM $S.$table" && grep -q 'permission denied' "$T/sql.err" ||
            fail "$table as mt_acme: $(cat "$T/sql.out" "$T/sql.err")"
    fi
done
all_rows mt_acme "${module[@]}" | grep -v '^mailtoken_roles|' >"$T/module.rows"
grep -E "^($(printf '%s|' "${module[@]%=}")-)\\|" "$T/acme.rows" | grep -v '^mailtoken_roles|' >"$T/acme.module.rows"
cmp -s "$T/module.rows" "$T/acme.module.rows" ||
    fail "acme's module reads: $(diff "$T/acme.module.rows" "$T/module.rows" | head -c 900)"
[ "${#module[@]}" -ge 10 ] || fail "acme's module reads only ${module[*]}"

# The whole store's writer (not its owner) imports; acme's module sees it live.
run 0 --store "$(as mt_writer)" --org acme cert import --account auto --password-file "$TD/users/erin.pass" \
    "$TD/users/erin.p12"
[ "$(labels mt_acme)" = "alice@example.org carol@example.org erin@example.org " ] ||
    fail "after the writer's import, acme's reader lists: $(labels mt_acme)"

echo ok
