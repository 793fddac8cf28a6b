# Prompts in the right order, on a real terminal: what can be checked is
# checked before more is asked (the SO PIN or current PIN before the new PIN
# is typed twice, the PIN policy before the SO PIN is typed again), a wrong
# P12 password is asked again, and the reset-pin prompt names the account.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tty.sh"

# never_shown NAME TEXT: the terminal did not show TEXT.
never_shown() {
    if grep -qF -- "$2" "$T/$1.log"; then fail "the terminal showed '$2': $(cat -v "$T/$1.log")"; fi
}

# --- init: a SO PIN the policy refuses is refused at once, not after typing it twice.
on_tty init "'$MT_BIN' init --org example"
answer init "SO PIN: " short
tty_done 5 init
grep -q "SO PIN is shorter than so_pin_min_length" "$T/init.log" || fail "init: $(cat -v "$T/init.log")"
never_shown init "SO PIN (again)"
store_absent || fail "a refused SO PIN created the store"
init_store

# --- reset-pin: the SO PIN is checked before the new PIN is asked; the prompt says whose.
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
on_tty reset "'$MT_BIN' account reset-pin alice@example.org"
answer reset "SO PIN: " wrong-so-pin-1234
tty_done 6 reset
never_shown reset "new PIN"
on_tty reset2 "'$MT_BIN' account reset-pin alice@example.org"
answer reset2 "SO PIN: " so-secret-1234
answer reset2 "new PIN for alice@example.org: " user-secret-1234
answer reset2 "new PIN for alice@example.org (again): " user-secret-1234
tty_done 0 reset2
grep -q "account alice@example.org: user PIN set" "$T/reset2.log" || fail "reset-pin: $(cat -v "$T/reset2.log")"

# --- set-pin: a wrong current PIN ends it before the new PIN is asked (one failed login).
on_tty setpin "'$MT_BIN' account set-pin alice@example.org"
answer setpin "current PIN: " not-the-pin-1234
tty_done 6 setpin
never_shown setpin "new PIN"
run 0 --json account show alice@example.org
jq_is .token.failedLogins 1
# A new PIN the policy refuses: refused at the first entry.
on_tty setpin2 "'$MT_BIN' account set-pin alice@example.org"
answer setpin2 "current PIN: " user-secret-1234
answer setpin2 "new PIN for alice@example.org: " 1234
tty_done 5 setpin2
never_shown setpin2 "(again)"
on_tty setpin3 "'$MT_BIN' account set-pin alice@example.org"
answer setpin3 "current PIN: " user-secret-1234
answer setpin3 "new PIN for alice@example.org: " user-secret-5678
answer setpin3 "new PIN for alice@example.org (again): " user-secret-5678
tty_done 0 setpin3
run 0 account set-pin alice@example.org --pin-file "$USER_PIN2" --new-pin-file "$USER_PIN"

# --- a wrong P12 password at the prompt is asked again (three tries a file);
# one that does not open the next file is asked for that file.
mkdir "$T/p12"
cp "$TD/users/bob.p12" "$TD/users/carol.p12" "$T/p12/"
on_tty p12 "'$MT_BIN' cert import --dir '$T/p12'"
answer p12 "P12 password: " not-bobs-password
answer p12 "P12 password of $T/p12/bob.p12 (wrong, try again): " "$(cat "$TD/users/bob.pass")"
answer p12 "P12 password of $T/p12/carol.p12 (the last one does not open it): " "$(cat "$TD/users/carol.pass")"
tty_done 0 p12
grep -q "2 files: 2 imported, 0 already present, 0 failed" "$T/p12.log" || fail "p12: $(cat -v "$T/p12.log")"
# Three wrong tries: that file fails (wrong password), the others are not spoilt.
mkdir "$T/p12b"
cp "$TD/users/dave.p12" "$TD/users/partner.crt" "$T/p12b/"
on_tty p12b "'$MT_BIN' cert import --dir '$T/p12b'"
answer p12b "P12 password: " wrong-1
answer p12b "(wrong, try again): " wrong-2
wait_for p12b "(wrong, try again): " 2
printf '%s\n' wrong-3 >&7
tty_done 7 p12b
grep -q "2 files: 1 imported, 0 already present, 1 failed" "$T/p12b.log" || fail "p12b: $(cat -v "$T/p12b.log")"
[ "$(grep -o "try again" "$T/p12b.log" | wc -l)" -eq 2 ] || fail "asked more than three times: $(cat -v "$T/p12b.log")"
echo ok
