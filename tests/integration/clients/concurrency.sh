#!/usr/bin/env bash
# 8 threads of one client sign, verify, encrypt and decrypt across 4 tokens
# while the CLI imports 30 new accounts into the store: the threads progress
# during the import, no call fails, and the new accounts appear as slots
# without a restart.
#   concurrency.sh          the normal build's module
#   concurrency.sh tsan     module and client built with ThreadSanitizer:
#                           any data race reported fails the test
source "$(dirname "$0")/lib.sh"
[ "${1:-}" != tsan ] || MT_TEST_NAME=concurrency-tsan
mt_setup
STRESS="$MT_BUILD_DIR/tests/integration/clients/mt-client-stress"
if [ "${1:-}" = tsan ]; then
    STRESS="$STRESS-tsan"
    MODULE="$MT_BUILD_DIR/tests/integration/clients/mailtoken-pkcs11-tsan.so"
    export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
fi
[ -x "$STRESS" ] || die "not built: $STRESS"
[ -f "$MODULE" ] || die "not built: $MODULE"

step "4 accounts with PINs; 30 more waiting to be imported"
bulk_with_pins 4 4 "$WORK/pins.txt"
gen_bulk 30 2 "$WORK/new" new.example.net

step "8 threads through the module while the CLI imports"
(
    trap - ERR
    client "$STRESS" "$MODULE" "$WORK/pins.txt" 8 25 "$WORK/ready" "$WORK/stop" "$WORK/progress"
) >"$WORK/stress.out" 2>"$WORK/stress.err" &
stress_pid=$!
for _ in $(seq 600); do
    [ ! -e "$WORK/ready" ] && kill -0 "$stress_pid" 2>/dev/null || break
    sleep 0.1
done
[ -e "$WORK/ready" ] || { cat "$WORK/stress.err" >&2; die "mt-client-stress did not log in to the 4 tokens"; }
ops_done() { # the operations the threads have done so far
    local n
    n=$(cat "$WORK/progress" 2>/dev/null) || n=0 # not written yet: none
    echo "${n:-0}"
}
# The import starts once the threads are at work (8 operations done).
for _ in $(seq 600); do
    [ "$(ops_done)" -lt 8 ] && kill -0 "$stress_pid" || break
    sleep 0.1
done
ops_before=$(ops_done)
[ "$ops_before" -ge 8 ] || { cat "$WORK/stress.err" >&2; die "the threads did not get to work ($ops_before operations)"; }
add_p12_dir "$WORK/new" "$WORK/bulk.pass"
ops_after=$(ops_done)
touch "$WORK/stop"
stress_rc=0
wait "$stress_pid" || stress_rc=$?
cat "$WORK/stress.out"
if [ "$stress_rc" -ne 0 ] || grep -q "ThreadSanitizer" "$WORK/stress.err"; then
    cat "$WORK/stress.err" >&2
    die "mt-client-stress failed (exit $stress_rc)"
fi

step "every operation succeeded; the 30 imported accounts are slots now"
read -r ops before after < <(sed -n 's/^ops=\([0-9]*\) slots-before=\([0-9]*\) slots-after=\([0-9]*\)$/\1 \2 \3/p' "$WORK/stress.out")
[ "${ops:-0}" -ge 200 ] || die "expected at least 8 x 25 operations, got ${ops:-none}"
# The threads worked while the CLI imported (their count moved during it).
[ "$ops_after" -gt "$ops_before" ] ||
    die "no operation while the CLI imported ($ops_before before, $ops_after after): nothing overlapped"
echo "operations: $ops_before when the import started, $ops_after when it ended, $ops in all"
[ "$after" -eq $((before + 30)) ] ||
    die "the client saw $before slots before and $after after importing 30 accounts (expected $((before + 30)))"
echo "PASS: $MT_TEST_NAME"
