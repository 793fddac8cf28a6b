# Kill tests against one simulator ($3: sectigo|internetx): the renewal is
# killed with SIGKILL right after each state is stored (MT_RENEW_KILL_AT) and
# at random moments ($4 random kills); every time `renew resume` completes it
# with exactly one order at the simulator and a consistent store.
. "$(dirname "$0")/lib.sh"
KIND=${3:?usage: test_kill.sh MAILTOKEN SIM sectigo|internetx RANDOM-KILLS}
RANDOM_KILLS=${4:?usage: test_kill.sh MAILTOKEN SIM sectigo|internetx RANDOM-KILLS}
STATES="planned key-ready csr-ready submit-intent submitted pending fetched installed revoke-pending done"

make_template

setup() {
    fresh_store
    start_sim "$KIND"
    add_profile "$KIND"
}

# Carries the renewal on after a kill and checks the result.
finish_and_check() {
    local what=$1 i code
    "$MT_BIN" --json renew status "$EMAIL" --all >"$T/status" 2>"$T/err" ||
        fail "$what: renew status: $(cat "$T/err")"
    if [ "$(jq '.renewals | length' "$T/status")" = 0 ]; then
        # Killed before the renewal was stored: nothing happened, start again.
        expect_orders 0 "$what (killed before the renewal existed)"
        run 0 renew "$EMAIL" $(renew_args "$KIND") --revoke-old
    fi
    for i in 1 2 3; do
        code=0
        "$MT_BIN" renew resume --now >"$T/out" 2>"$T/err" || code=$?
        [ "$code" = 0 ] && break
        [ "$code" = 8 ] || fail "$what: renew resume exit $code: $(cat "$T/out" "$T/err")"
    done
    [ "$code" = 0 ] || fail "$what: renew resume never completed"
    expect_done "$what"
    expect_orders 1 "$what"
    [ "$(sim_stat revocations)" -le 1 ] || fail "$what: old certificate revoked twice"
}

for state in $STATES; do
    setup
    code=0
    # An inner shell reaps the killed process, so that no job notice is printed.
    MT_RENEW_KILL_AT=$state bash -c '"$@"; exit $?' renew "$MT_BIN" renew "$EMAIL" \
        $(renew_args "$KIND") --revoke-old >/dev/null 2>"$T/err" || code=$?
    [ "$code" = 137 ] || fail "kill at $state: exit $code, expected 137 (SIGKILL): $(cat "$T/err")"
    finish_and_check "kill at $state"
    echo "ok: $KIND killed after $state"
done

for n in $(seq "$RANDOM_KILLS"); do
    setup
    delay=$((RANDOM % 450))
    "$MT_BIN" renew "$EMAIL" $(renew_args "$KIND") --revoke-old >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' "$delay")"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    finish_and_check "random kill $n after ${delay}ms"
    echo "ok: $KIND random kill $n after ${delay}ms"
done
echo "PASS"
