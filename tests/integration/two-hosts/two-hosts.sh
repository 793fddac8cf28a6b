#!/usr/bin/env bash
# "Two hosts" on one PostgreSQL store: the CLI imports 1,000 P12s (a process
# and a connection of its own) while another process uses the module: 4
# threads sign with accounts that existed before, a watcher calls
# C_GetSlotList over and over.  No call fails, the threads sign during the
# import, and the module, never restarted, shows every new account as a
# token, logs in to new ones and signs; a wrong PIN on a new one is counted
# on the primary.  Run by tests/pg/with-postgres.sh:
#   two-hosts.sh            the module reads from the primary
#   two-hosts.sh standby    (with-postgres.sh --standby) the module and the
#                           CLI read from a standby made by pg_basebackup;
#                           what they write (the CLI's commands, the module's
#                           PIN counters and login events) goes to the primary
#                           through $MAILTOKEN_STORE_PRIMARY
#   two-hosts.sh MODE COUNT  COUNT accounts imported instead of 1,000
source "$(dirname "$0")/../clients/lib.sh"
mode=${1:-primary}
[ "$mode" = primary ] || MT_TEST_NAME=two-hosts-standby
need_env MT_TEST_PG
[ "$mode" = primary ] || need_env MT_TEST_PG_STANDBY
mt_setup
STRESS="$MT_BUILD_DIR/tests/integration/clients/mt-client-stress"
[ -x "$STRESS" ] || die "not built: $STRESS"
NEW=${2:-1000}

# The module's store and the CLI's: the primary, or the same schema on the
# standby with the primary for writes; the module's connections named, to
# see where they go.
primary_store=$MAILTOKEN_STORE
module_env=(env "MAILTOKEN_STORE=$MAILTOKEN_STORE&application_name=module")
if [ "$mode" = standby ]; then
    standby_store="$MT_TEST_PG_STANDBY&options=-csearch_path%3D$MT_TEST_SCHEMA"
    module_env=(env "MAILTOKEN_STORE=$standby_store&application_name=module-reads"
                "MAILTOKEN_STORE_PRIMARY=$primary_store&application_name=module-writes")
    export MAILTOKEN_STORE=$standby_store MAILTOKEN_STORE_PRIMARY=$primary_store
fi
# Waits until the standby has replayed what the primary has written so far.
standby_caught_up() {
    [ "$mode" = standby ] || return 0
    local lsn
    lsn=$(psql -qAtX "$MT_TEST_PG" -c "SELECT pg_current_wal_lsn()")
    for _ in $(seq 600); do
        [ "$(psql -qAtX "$MT_TEST_PG_STANDBY" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] &&
            return 0
        sleep 0.1
    done
    die "the standby did not replay the primary's WAL up to $lsn in a minute"
}
# The application names of the module's connections to a server.
connections_of_module() { # URI
    psql -qAtX "$1" -c "SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity
                        WHERE application_name LIKE 'module%'"
}

step "4 accounts with PINs; $NEW more waiting to be imported"
bulk_with_pins 4 4 "$WORK/pins.txt"
# 8 keys among the new accounts, one PBKDF2 iteration: quick to make and to open
"$MT_BUILD_DIR/tests/tools/mt-gen-bulk" --out "$WORK/new" --count $NEW --keys 8 --iterations 1 \
    --password bulk-Pass-1 --domain new.example.net --ca "$MT_TESTDATA/ca" >/dev/null
standby_caught_up

step "4 signing threads and a watcher in the module's process while the CLI imports"
(
    trap - ERR
    # each thread signs (and decrypts) about 50 times a second: the CLI gets the processors it needs
    client "${module_env[@]}" MT_STRESS_PAUSE_MS=20 "$STRESS" "$MODULE" "$WORK/pins.txt" 4 10 "$WORK/ready" "$WORK/stop" \
        "$WORK/progress" "$WORK/after-pins.txt"
) >"$WORK/stress.out" 2>"$WORK/stress.err" &
stress_pid=$!
stop_stress() { if kill -0 "$stress_pid" 2>/dev/null; then kill "$stress_pid"; fi; }
trap 'stop_stress; [ "$MT_KEEP_WORK" = 1 ] || rm -rf "$WORK"' EXIT
progress() { # LINE: 1 the operations done so far, 2 the watcher's last count
    local n
    n=$(sed -n "$1p" "$WORK/progress" 2>/dev/null) || n=0 # not written yet
    echo "${n:-0}"
}
for _ in $(seq 600); do
    [ "$(progress 1)" -lt 8 ] && kill -0 "$stress_pid" 2>/dev/null || break
    sleep 0.1
done
ops_before=$(progress 1)
[ "$ops_before" -ge 8 ] || { cat "$WORK/stress.err" >&2; die "the threads did not get to work ($ops_before operations)"; }
slots_before=$(progress 2)
[ "$slots_before" -eq 4 ] || die "the watcher sees $slots_before tokens before the import, expected 4"
if [ "$mode" = standby ]; then
    # the module reads on the standby; the primary it only writes to (its
    # logins' counters, on connections of their own that ended with them)
    [ "$(connections_of_module "$MT_TEST_PG_STANDBY")" = module-reads ] ||
        die "the module's connections to the standby: '$(connections_of_module "$MT_TEST_PG_STANDBY")', expected module-reads"
    [ -z "$(connections_of_module "$MT_TEST_PG")" ] ||
        die "the module reads from the primary: its connections there: $(connections_of_module "$MT_TEST_PG")"
fi
import_started=$SECONDS
mt_cli cert import --dir "$WORK/new" --account auto --password-file "$WORK/bulk.pass" >"$WORK/import.out"
ops_after=$(progress 1)
echo "the CLI imported $NEW accounts in $((SECONDS - import_started)) s (test at ${SECONDS} s)"
grep -q "^$NEW files: $NEW imported, 0 already present, 0 failed" "$WORK/import.out" ||
    { cat "$WORK/import.out" >&2; die "the import did not import $NEW files"; }

step "PINs for 4 of the new accounts; the module must see all $NEW without a restart"
: >"$WORK/after-pins.txt"
for n in 00001 $(printf %05d $((NEW / 2))) $(printf %05d "$NEW"); do
    set_pin "user$n@new.example.net"
    printf '%s %s\n' "user$n@new.example.net" "$(pin_of "user$n")" >>"$WORK/after-pins.txt"
done
wrong=user$(printf %05d $((NEW / 4)))@new.example.net
set_pin "$wrong"
printf '%s !%s\n' "$wrong" not-its-PIN-2026 >>"$WORK/after-pins.txt"
standby_caught_up
for _ in $(seq 600); do
    [ "$(progress 2)" -lt $((slots_before + NEW)) ] && kill -0 "$stress_pid" 2>/dev/null || break
    sleep 0.1
done
slots_seen=$(progress 2)
echo "the module saw them all at ${SECONDS} s"
touch "$WORK/stop"
stress_rc=0
wait "$stress_pid" || stress_rc=$?
cat "$WORK/stress.out"
[ "$stress_rc" -eq 0 ] || { cat "$WORK/stress.err" >&2; die "mt-client-stress failed (exit $stress_rc)"; }

step "0 errors; every new account a token; new tokens log in and sign"
[ "$slots_seen" -eq $((slots_before + NEW)) ] ||
    die "the watcher saw $slots_seen tokens, expected $((slots_before + NEW))"
read -r ops before after < <(sed -n 's/^ops=\([0-9]*\) slots-before=\([0-9]*\) slots-after=\([0-9]*\)$/\1 \2 \3/p' "$WORK/stress.out")
[ "${ops:-0}" -ge 40 ] || die "expected at least 4 x 10 operations, got ${ops:-none}"
[ "$ops_after" -gt "$ops_before" ] ||
    die "no signature while the CLI imported ($ops_before before, $ops_after after): nothing overlapped"
[ "$after" -eq $((before + NEW)) ] ||
    die "the module had $before tokens before and $after after importing $NEW accounts"
grep -q "after-logins=3 after-refused=1$" "$WORK/stress.out" ||
    die "expected 3 logins with new tokens and 1 wrong PIN refused"
# the wrong PIN was counted on the primary
counters=$(MAILTOKEN_STORE=$primary_store MAILTOKEN_STORE_PRIMARY='' token_counters)
grep -qx "$wrong 1" <<<"$counters" ||
    die "the wrong PIN is not counted on the primary: $(grep "$wrong" <<<"$counters")"
echo "operations: $ops_before when the import started, $ops_after when it ended, $ops in all"
echo "PASS: $MT_TEST_NAME"
