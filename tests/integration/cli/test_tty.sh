# On a terminal: PINs and passwords are asked without echo (twice for a new
# PIN), a P12 password is asked once for a folder, and bulk import shows
# progress.  `script` gives the tool a real pseudo-terminal.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/tty.sh"

# init: the SO PIN twice, never echoed.
on_tty init "'$MT_BIN' init --org example"
answer init "SO PIN: " so-secret-1234
answer init "SO PIN (again): " so-secret-1234
tty_done 0 init
grep -q "organisation \"example\" created" "$T/init.log" || fail "init on a terminal: $(cat -v "$T/init.log")"
grep -q "so-secret" "$T/init.log" && fail "the SO PIN was echoed"

# Two different entries: refused, nothing created.
on_tty init2 "'$MT_BIN' init --org second"
answer init2 "SO PIN: " so-secret-1234
answer init2 "SO PIN (again): " so-secret-9999
tty_done 5 init2
grep -q "the two entries differ" "$T/init2.log" || fail "mismatch: $(cat -v "$T/init2.log")"
run 3 --org second status

# A folder of P12s with one password: asked once, then progress and a summary.
"$MT_BUILD_DIR/tests/tools/mt-gen-bulk" --out "$T/p12" --count 30 --keys 2 --password tty-pass-1 \
    --ca "$TD/ca" >/dev/null || fail "mt-gen-bulk"
on_tty bulk "'$MT_BIN' cert import --account auto --dir '$T/p12'"
answer bulk "P12 password: " tty-pass-1
tty_done 0 bulk
grep -c "P12 password: " "$T/bulk.log" | grep -qx 1 || fail "asked more than once: $(cat -v "$T/bulk.log")"
grep -q "tty-pass-1" "$T/bulk.log" && fail "the password was echoed"
grep -q "30/30 .*/s  ETA 0:00" "$T/bulk.log" || fail "no progress line: $(cat -v "$T/bulk.log")"
grep -q "30 files: 30 imported, 0 already present, 0 failed" "$T/bulk.log" || fail "no summary"
run 0 --json status
jq_is .counts.accounts 30

# PINs for an account: SO PIN, then the new PIN twice.
on_tty pin "'$MT_BIN' account reset-pin user00001@example.org"
answer pin "SO PIN: " so-secret-1234
answer pin "new PIN for user00001@example.org: " user-secret-1234
answer pin "new PIN for user00001@example.org (again): " user-secret-1234
tty_done 0 pin
grep -q "user PIN set" "$T/pin.log" || fail "reset-pin: $(cat -v "$T/pin.log")"
grep -q "secret" "$T/pin.log" && fail "a PIN was echoed"
run 0 account set-pin user00001@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
echo ok
