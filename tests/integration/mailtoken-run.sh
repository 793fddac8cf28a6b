# Helpers for shell tests that drive the `mailtoken` binary: sourced after the
# test has set MT_BIN (the binary) and T (its temporary directory).

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
