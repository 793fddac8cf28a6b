# Helpers for shell tests that drive the `mailtoken` binary: sourced after the
# test has set MT_BIN (the binary) and T (its temporary directory).

# Test stores: the cheapest Argon2id (tests/data/fast-kdf.conf says why); a
# test that writes a config of its own starts it from $FAST_KDF_CONF.
FAST_KDF_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)/fast-kdf.conf"

# mt_pg_store: on a PostgreSQL server (tests/pg/with-postgres.sh sets
# MT_TEST_PG), a schema of the test's own becomes MAILTOKEN_STORE; otherwise
# the store stays the file already named.
mt_pg_store() {
    [ -n "${MT_TEST_PG:-}" ] || return 0
    MT_TEST_SCHEMA=t$$_${RANDOM}
    psql -qX -v ON_ERROR_STOP=1 "$MT_TEST_PG" -c "CREATE SCHEMA $MT_TEST_SCHEMA" >/dev/null || return 1
    export MAILTOKEN_STORE="$MT_TEST_PG&options=-csearch_path%3D$MT_TEST_SCHEMA"
}

# mt_fresh_store: the test starts again on an empty store: SQLite's files
# removed, or on a server a new schema of its own.
mt_fresh_store() {
    if [ -n "${MT_TEST_PG:-}" ]; then
        mt_pg_store || fail "cannot make a schema on the test server"
    else
        rm -f "$MAILTOKEN_STORE" "$MAILTOKEN_STORE-wal" "$MAILTOKEN_STORE-shm"
    fi
}

# store_sql QUERY: one answer of the store, beside the tool (sqlite3, or psql
# on the test's schema of a PostgreSQL server): SQL both dialects read.
store_sql() {
    if [ -n "${MT_TEST_PG:-}" ]; then
        psql -qtAX -v ON_ERROR_STOP=1 "$MAILTOKEN_STORE" -c "$1"
    else
        sqlite3 "$MAILTOKEN_STORE" "$1"
    fi
}

# sql_blob HEX: a blob literal in the store's dialect; sql_hex EXPR: a blob
# as uppercase hex digits (for store_sql).
sql_blob() { if [ -n "${MT_TEST_PG:-}" ]; then printf "'\\\\x%s'::bytea" "$1"; else printf "x'%s'" "$1"; fi; }
sql_hex() { if [ -n "${MT_TEST_PG:-}" ]; then printf "upper(encode(%s, 'hex'))" "$1"; else printf 'hex(%s)' "$1"; fi; }

# store_absent: no store was made: no file, or no table in the test's schema.
store_absent() {
    if [ -n "${MT_TEST_PG:-}" ]; then
        [ "$(psql -qtAX "$MT_TEST_PG" -c "SELECT count(*) FROM pg_tables WHERE schemaname = '$MT_TEST_SCHEMA'")" = 0 ]
    else
        [ ! -e "$MAILTOKEN_STORE" ]
    fi
}

# mt_test_home: the test's own home and store under $T, and none of the
# caller's mailtoken settings (config, secrets, account filter): the home's
# config (read while MAILTOKEN_CONF is unset) is $FAST_KDF_CONF, the record
# of known keys is under its XDG_DATA_HOME.
mt_test_home() {
    export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share MAILTOKEN_STORE=$T/store.db
    mt_pg_store || fail "cannot make a schema on the test server"
    unset MAILTOKEN_CONF MAILTOKEN_SO_PIN MAILTOKEN_PIN MAILTOKEN_NEW_PIN MAILTOKEN_P12_PASSWORD \
        MAILTOKEN_ACCOUNTS
    umask 077
    mkdir -p "$HOME/.config/mailtoken"
    cat "$FAST_KDF_CONF" >"$HOME/.config/mailtoken/mailtoken.conf"
}

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# run CODE ARGS...: runs mailtoken, checks its exit code; output in $T/out, $T/err
# (and appended to $MT_TRANSCRIPT when the test sets it).
run() {
    local want=$1 got=0
    shift
    "$MT_BIN" "$@" >"$T/out" 2>"$T/err" || got=$?
    [ -z "${MT_TRANSCRIPT:-}" ] || cat "$T/out" "$T/err" >>"$MT_TRANSCRIPT"
    if [ "$got" -ne "$want" ]; then
        printf 'stdout:\n%s\nstderr:\n%s\n' "$(head -c 3000 "$T/out")" "$(head -c 3000 "$T/err")" >&2
        fail "mailtoken $*: exit $got, expected $want"
    fi
}

# out_has TEXT / err_has TEXT / out_lacks TEXT: fixed-string checks.
out_has() { grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1': $(head -c 2000 "$T/out")"; }
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(head -c 2000 "$T/err")"; }
out_lacks() { ! grep -qF -- "$1" "$T/out" || fail "stdout has '$1'"; }

# jq_is FILTER VALUE: the JSON in $T/out gives VALUE for FILTER.
jq_is() {
    local got
    got=$(jq -r "$1" "$T/out") || fail "jq '$1' failed on: $(head -c 2000 "$T/out")"
    [ "$got" = "$2" ] || fail "jq '$1': got '$got', expected '$2'"
}

# The state of the store: every row of every table (sqlite3 .dump: stricter
# than any listing).  After a failed command or a refused request it must not
# move.  SNAPSHOT_SKIP='TABLE|TABLE...' leaves out those tables' rows (a wrong
# PIN moves its failure counter and is an audit event, by design).
snapshot() {
    if [ -n "${MT_TEST_PG:-}" ]; then
        # rows only: pg_dump's other lines carry a fresh random key each time
        "$MT_TEST_PG_BIN/pg_dump" -a --inserts -n "$MT_TEST_SCHEMA" "$MT_TEST_PG" >"$T/dump.all" ||
            fail "snapshot $1: pg_dump failed"
        grep '^INSERT INTO' "$T/dump.all" >"$T/dump" || true # no rows: the check below says so
    else
        sqlite3 "$MAILTOKEN_STORE" .dump >"$T/dump" || fail "snapshot $1: sqlite3 .dump failed"
    fi
    grep -Ev "^INSERT INTO (\S+\.)?\"?(${SNAPSHOT_SKIP:-no table})\"? " "$T/dump" >"$T/snapshot.$1"
    grep -q '^INSERT INTO' "$T/snapshot.$1" || fail "snapshot $1: an empty store?"
}
# assert_unchanged: after `snapshot before`, nothing changed.
assert_unchanged() {
    snapshot after
    cmp -s "$T/snapshot.before" "$T/snapshot.after" ||
        fail "the store changed: $(diff "$T/snapshot.before" "$T/snapshot.after" | head -20)"
}

# store_lacks TEXT: TEXT is nowhere in the store's raw bytes: SQLite's file
# with its WAL and shared memory, or pg_dump of the test's schema on a server
# (where a bytea shows as hex: TEXT's hex is looked for too).
store_lacks() {
    local f
    if [ -n "${MT_TEST_PG:-}" ]; then
        "$MT_TEST_PG_BIN/pg_dump" -n "$MT_TEST_SCHEMA" "$MT_TEST_PG" >"$T/raw.dump" ||
            fail "pg_dump of $MT_TEST_SCHEMA failed"
        grep -q "^COPY $MT_TEST_SCHEMA\.organizations " "$T/raw.dump" || fail "pg_dump holds no store"
        ! grep -qiF -e "$1" -e "$(printf '%s' "$1" | xxd -p | tr -d '\n')" "$T/raw.dump" ||
            fail "the secret is in the store (pg_dump of $MT_TEST_SCHEMA)"
        return 0
    fi
    [ -f "$MAILTOKEN_STORE" ] || fail "no store at $MAILTOKEN_STORE to scan"
    for f in "$MAILTOKEN_STORE" "$MAILTOKEN_STORE-wal" "$MAILTOKEN_STORE-shm"; do
        [ -f "$f" ] || continue
        ! grep -aqF -- "$1" "$f" || fail "the secret is in $f"
    done
}

# client CMD...: a third-party client loading the module; under the
# sanitizers with their runtime preloaded, its own leaks not checked
# (MT_CLIENT_ASAN_OPTIONS), the module's code checked all the same.
client() {
    if [ -n "${MT_PRELOAD:-}" ]; then
        ASAN_OPTIONS=${MT_CLIENT_ASAN_OPTIONS:-${ASAN_OPTIONS:-}} \
            LD_PRELOAD="$MT_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
    else
        "$@"
    fi
}
