# org show / export-recovery-key / unlock-so: the SO PIN locks after
# so_pin_max_failures wrong ones, for account reset-pin too (exit 6), and the
# recovery key file unlocks it; every step is in the audit trail.
. "$(dirname "$0")/lib.sh"
export MAILTOKEN_CONF=$T/mailtoken.conf
{ cat "$FAST_KDF_CONF"; printf 'so_pin_max_failures = 3\nso_pin_max_delay = 0\n'; } >"$MAILTOKEN_CONF"
init_store
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
WRONG=$(secret_file wrong-so 'not-the-so-pin')
NEW_SO=$(secret_file new-so 'new-so-secret-99')

run 0 --json org show
jq_is .name example
jq_is .soMaxFailures 3
jq_is .soLocked false
run 6 org export-recovery-key "$T/recovery.key" --so-pin-file "$WRONG"
err_has "incorrect SO PIN"
[ ! -e "$T/recovery.key" ] || fail "a wrong SO PIN wrote the recovery key"
run 0 org export-recovery-key "$T/recovery.key" --so-pin-file "$SO_PIN"
[ "$(stat -c %a "$T/recovery.key")" = 600 ] || fail "the recovery key file is not 0600"
run 4 org export-recovery-key "$T/recovery.key" --so-pin-file "$SO_PIN"
err_has "File exists"
run 0 org show
out_has "0 failed attempts of 3" # the right one reset the count

# three wrong SO PINs lock it: reset-pin says so with the PIN/auth exit code
for i in 1 2 3; do
    run 6 account reset-pin alice@example.org --so-pin-file "$WRONG" --new-pin-file "$USER_PIN"
    err_has "incorrect SO PIN"
done
run 6 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
err_has "locked after 3 failed attempts"
err_has "org unlock-so"
run 0 --json account show alice@example.org
jq_is '.token.pinSet' false
run 0 org show
out_has "locked after 3 failed attempts"
run 0 --json org show
jq_is .soLocked true

# unlocking needs this organisation's recovery key
run 2 org unlock-so
err_has "--recovery-key-file is required"
printf '%064d\n' 7 >"$T/other.key"
run 6 org unlock-so --recovery-key-file "$T/other.key"
err_has "not the recovery key"
run 0 --json org unlock-so --recovery-key-file "$T/recovery.key"
jq_is .soLocked false
jq_is .soFailedLogins 0
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"

# locked again, unlocked with a new SO PIN
for i in 1 2 3; do run 6 org export-recovery-key "$T/again.key" --so-pin-file "$WRONG"; done
run 0 org unlock-so --recovery-key-file "$T/recovery.key" --new-so-pin-file "$NEW_SO"
out_has "SO PIN unlocked and changed"
run 6 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN2"
err_has "incorrect SO PIN"
run 0 account reset-pin alice@example.org --so-pin-file "$NEW_SO" --new-pin-file "$USER_PIN2"

# the audit trail: each failure with its counter, the locks, the refusal, the unlocks
run 0 --json log --action org.so- --limit 0
jq_is '[.events[] | select(.action == "org.so-login-failed")] | length' 8
jq_is '[.events[] | select(.action == "org.so-locked")] | length' 2
jq_is '[.events[] | select(.action == "org.so-login-refused")] | length' 1
jq_is '[.events[] | select(.action == "org.so-unlock")] | length' 2
jq_is '[.events[] | select(.action == "org.so-unlock")][0].detail.soPinChanged' true
jq_is '[.events[] | select(.action == "org.so-locked")][0].detail.failedLogins' 3
jq_is '[.events[] | .actor] | unique | join(",")' "cli:$(id -un)"
grep -rqF -e "not-the-so-pin" -e "so-secret-1234" -e "new-so-secret" "$T/out" "$T/err" && fail "a PIN reached the output"
echo ok
