# Shared by the mailtoken CLI tests: sourced with the binary as $1.
# Each test runs in its own temporary directory and store.

MT_BIN=${1:?usage: test.sh PATH-TO-mailtoken}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
TD=$MT_TESTDATA
T=$(mktemp -d "${TMPDIR:-/tmp}/mailtoken-cli-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"
mt_test_home

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
