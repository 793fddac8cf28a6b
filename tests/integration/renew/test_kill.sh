# Kill tests against one simulator ($3: sectigo|internetx).  Mode ($4):
#   states    killed with SIGKILL right after each state is stored, then at
#             random moments ($5 random kills);
#   requests  killed before each CA request of the run goes out and once its
#             answer has arrived, before anything of it is recorded (the
#             moment a duplicate order would be born).
# MT_RENEW_KILL_AT chooses the point.  Every time `renew resume` completes
# the renewal with exactly one order at the simulator and a consistent store.
. "$(dirname "$0")/lib.sh"
KIND=${3:?usage: test_kill.sh MAILTOKEN SIM sectigo|internetx states RANDOM-KILLS|requests}
MODE=${4:?usage: test_kill.sh MAILTOKEN SIM sectigo|internetx states RANDOM-KILLS|requests}
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

# killed POINT ARGS...: `mailtoken ARGS` under MT_RENEW_KILL_AT=POINT; sets
# code (137: killed) and request (the CA request named at a request kill).
killed() {
    local point=$1
    shift
    code=0
    # An inner shell reaps the killed process, so that no job notice is printed.
    MT_RENEW_KILL_AT=$point bash -c '"$@"; exit $?' renew "$MT_BIN" "$@" >/dev/null 2>"$T/err" ||
        code=$?
    request=$(sed -n "s/^MT_RENEW_KILL_AT=$point: //p" "$T/err")
}
killed_renew() { killed "$1" renew "$EMAIL" $(renew_args "$KIND") --revoke-old; }
expect_killed() { # WHAT
    [ "$code" = 137 ] || fail "$1: exit $code, expected 137 (SIGKILL): $(cat "$T/err")"
    case $1 in *send:* | *received:*) [ -n "$request" ] || fail "$1: the request is not named: $(cat "$T/err")" ;; esac
}

if [ "$MODE" = requests ]; then
    # The CA keeps the order pending for one poll, so that a waiting answer
    # is among the requests too.
    setup() { fresh_store; start_sim "$KIND" --pending-polls 1; add_profile "$KIND"; }
    if [ "$KIND" = sectigo ]; then order='POST .*/!AutoReplaceSMIME$'; else order='POST .*/v1/certificate$'; fi
    # Request n of the run, before it is sent and once answered, until a run
    # makes fewer than n requests (then it completes without a kill).
    n=0 order_n=
    while :; do
        n=$((n + 1))
        for phase in send received; do
            setup
            killed_renew "$phase:$n"
            [ "$code" = 0 ] && [ "$phase" = send ] && break 2
            expect_killed "kill at $phase:$n"
            finish_and_check "kill at $phase:$n ($request)"
            echo "ok: $KIND killed at $phase:$n ($request)"
            [[ ! $request =~ $order ]] || order_n=$n
        done
    done
    expect_done "the run with no kill"
    expect_orders 1 "the run with no kill"
    [ -n "$order_n" ] || fail "no kill around the order request"
    # The order's answer lost: `renew resume` looks the order up; it is killed
    # around each of its own requests, and the next resume still finds it.
    m=0
    while :; do
        m=$((m + 1))
        for phase in send received; do
            setup
            killed_renew "received:$order_n"
            expect_killed "kill at received:$order_n"
            killed "$phase:$m" renew resume --now
            [ "$code" = 137 ] || [ "$phase" = received ] || break 2
            expect_killed "answer to the order lost, resume killed at $phase:$m"
            finish_and_check "answer to the order lost, resume killed at $phase:$m ($request)"
            echo "ok: $KIND order answer lost, resume killed at $phase:$m ($request)"
        done
    done
    echo "PASS: $((n - 1)) requests in a run, $((m - 1)) in the resume after a lost order answer"
    exit 0
fi

[ "$MODE" = states ] || fail "unknown mode $MODE"
RANDOM_KILLS=${5:?usage: test_kill.sh MAILTOKEN SIM KIND states RANDOM-KILLS}
for state in $STATES; do
    setup
    killed_renew "$state"
    expect_killed "kill at $state"
    finish_and_check "kill at $state"
    echo "ok: $KIND killed after $state"
done

for n in $(seq "$RANDOM_KILLS"); do
    setup
    delay=$((RANDOM % 450))
    "$MT_BIN" renew "$EMAIL" $(renew_args "$KIND") --revoke-old >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' "$delay")"
    # The renewal may have ended before the kill: then there is nothing to kill.
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true # its exit status: killed or done, either is fine here
    finish_and_check "random kill $n after ${delay}ms"
    echo "ok: $KIND random kill $n after ${delay}ms"
done
echo "PASS"
