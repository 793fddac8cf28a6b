# Shared by the mailtoken CLI tests: sourced with the binary as $1.
# Each test runs in its own temporary directory and store.

MT_BIN=${1:?usage: test.sh PATH-TO-mailtoken}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
TD=$MT_TESTDATA
T=$(mktemp -d "${TMPDIR:-/tmp}/mailtoken-cli-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share
mkdir -p "$HOME"
unset MAILTOKEN_CONF MAILTOKEN_SO_PIN MAILTOKEN_PIN MAILTOKEN_NEW_PIN MAILTOKEN_P12_PASSWORD
export MAILTOKEN_STORE=$T/store.db
umask 077

. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"

mt() { "$MT_BIN" "$@"; }

# Secrets live in 0600 files, never on the command line.
secret_file() { # secret_file NAME VALUE
    printf '%s\n' "$2" >"$T/$1"
    chmod 600 "$T/$1"
    echo "$T/$1"
}
SO_PIN=$(secret_file so-pin 'so-secret-1234')
USER_PIN=$(secret_file user-pin 'user-secret-1234')
USER_PIN2=$(secret_file user-pin2 'user-secret-5678')

init_store() { run 0 init --org example --so-pin-file "$SO_PIN"; }

# The password file of a test-data user ("" when the P12 has none).
pass_opt() { # pass_opt NAME -> options for `cert import`
    if [ -f "$TD/users/$1.pass" ]; then
        printf '%s\n' --password-file "$TD/users/$1.pass"
    fi
}
import_user() { # import_user NAME [more options]: imports users/NAME.p12, prints its id
    local name=$1
    shift
    # shellcheck disable=SC2046
    run 0 --json cert import $(pass_opt "$name") "$@" "$TD/users/$name.p12"
    jq -r '.files[0].certificates[0].id' "$T/out"
}
import_pem() { # import_pem FILE: prints the id
    run 0 --json cert import "$1"
    jq -r '.files[0].certificates[0].id' "$T/out"
}

# The state of the store: every row of every table (sqlite3 .dump: stricter
# than any listing).  After a failed command it must not move.
# SNAPSHOT_SKIP='TABLE|TABLE...' leaves out those tables' rows (a wrong PIN
# moves its failure counter and is an audit event, by design).
snapshot() {
    sqlite3 "$MAILTOKEN_STORE" .dump | grep -Ev "^INSERT INTO \"?(${SNAPSHOT_SKIP:-no table})\"? " \
        >"$T/snapshot.$1" || fail "snapshot $1: sqlite3 .dump failed"
    grep -q '^INSERT INTO' "$T/snapshot.$1" || fail "snapshot $1: an empty store?"
}
# unchanged ARGS...: runs after `snapshot before`, checks nothing changed.
assert_unchanged() {
    snapshot after
    cmp -s "$T/snapshot.before" "$T/snapshot.after" ||
        fail "store changed by a failed command: $(diff "$T/snapshot.before" "$T/snapshot.after" | head -20)"
}
# fails_cleanly CODE TEXT ARGS...: exit CODE, TEXT on stderr, store unchanged.
fails_cleanly() {
    local code=$1 text=$2
    shift 2
    snapshot before
    run "$code" "$@"
    err_has "$text"
    grep -q '^mailtoken' "$T/err" || fail "error does not start with 'mailtoken': $(cat "$T/err")"
    assert_unchanged
}
