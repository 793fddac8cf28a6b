# The PostgreSQL server stopped with `pg_ctl stop -m immediate` at random
# moments while one module instance keeps signing with a logged-in token
# (mt-kill-sign): no signing error while it is down, keys never used since the
# login open then, a login is refused with CKR_DEVICE_ERROR, and once the
# server is back the same process sees the accounts imported since.
#   kill_server.sh MODULE MT-TEST-PROVISION MAILTOKEN MT-KILL-SIGN  (under with-postgres.sh)
: "${MT_TEST_PG:?run under tests/pg/with-postgres.sh}" "${MT_TESTDATA:?}"
MODULE=$1 PROVISION=$2 MT_BIN=$3 KILL_SIGN=$4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-kill-server-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/../mailtoken-run.sh"
cat "$FAST_KDF_CONF" >"$WORK/mailtoken.conf"
export MAILTOKEN_STORE=$WORK/unused MAILTOKEN_CONF=$WORK/mailtoken.conf
mt_pg_store || fail "cannot make a schema on the test server"
unset MAILTOKEN_ACCOUNTS
TD=$MT_TESTDATA
ROUNDS=3

# A server stopped with -m immediate loses what it acknowledged without
# writing it (the test server's synchronous_commit = off): here commits wait.
psql -qX -v ON_ERROR_STOP=1 "$MT_TEST_PG" -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "SELECT pg_reload_conf()" >/dev/null || fail "cannot make the server's commits durable"

# alice: a history key (decrypt only) and a primary; carol: the other token.
# (in WORK: the tool keeps its record of known keys beside a store URI's name)
cd "$WORK"
"$PROVISION" --store "$MAILTOKEN_STORE" --so-pin so-secret-123 --pin user-pin-123 \
    "$TD/users/alice-old.p12" "$TD/users/alice.p12" "$TD/users/carol.p12" >"$WORK/out" 2>&1 ||
    { cat "$WORK/out" >&2; fail "provisioning failed"; }

# The control mt-kill-sign runs: stop / start the server, import the round's account.
cat >"$WORK/ctl" <<CTL
#!/bin/bash
set -euo pipefail
pg_ctl() { $MT_TEST_PG_AS "$MT_TEST_PG_BIN/pg_ctl" -D "$MT_TEST_PG_DATA" "\$@" >/dev/null; }
case \$1 in
stop) pg_ctl -m immediate -w stop ;;
start) pg_ctl -o "-p $MT_TEST_PG_PORT" -l "$(dirname "$MT_TEST_PG_DATA")/server.log" -w -t 60 start ;;
import)
    users=(erin frank grace heidi ivan)
    user=\${users[\$2 - 1]}
    "$MT_BIN" --quiet cert import --account auto --password-file "$TD/users/\$user.pass" \
        "$TD/users/\$user.p12" >&2
    echo "\$user@example.org" ;;
esac
CTL
chmod 700 "$WORK/ctl"
export MT_KILL_CTL=$WORK/ctl

# (our own program: built with the sanitizers when the module is, no preload)
"$KILL_SIGN" "$MODULE" alice@example.org user-pin-123 carol@example.org user-pin-123 \
    "$ROUNDS" >"$WORK/result" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "mt-kill-sign failed"; }
cat "$WORK/result"
grep -q "^rounds=$ROUNDS " "$WORK/result" || fail "not every round ran"
# every round opened alice's two keys first while the server was down
grep -q "first-opens-down=$((2 * ROUNDS))\$" "$WORK/result" || fail "the keys did not open while down"
echo ok
