# The module keeps out of its client's console: a store readable by others
# (a store shared with mail users, as docs/thunderbird.md sets one up) is not
# reported on the client's stderr but in the module's trace, MAILTOKEN_DEBUG
# (stderr or a file), in words that fit that set-up.  $2: the module.
. "$(dirname "$0")/lib.sh"
MODULE=${2:?usage: test_module_noise.sh MAILTOKEN MODULE}
init_store
import_user alice --account auto >/dev/null
chmod 640 "$MAILTOKEN_STORE"
list_tokens() { client p11tool --provider "$MODULE" --list-tokens; }

# A mail client: the tokens, not a word from the module.
unset MAILTOKEN_DEBUG
list_tokens >"$T/out" 2>"$T/err" || fail "p11tool: $(cat "$T/err")"
out_has "Label: alice@example.org"
if grep -qi "mailtoken\|readable" "$T/err"; then fail "the module wrote to the client's stderr: $(cat "$T/err")"; fi

# The trace in a file (made 0600): the warning, worded for a shared store.
MAILTOKEN_DEBUG=$T/trace list_tokens >"$T/out" 2>"$T/err" || fail "p11tool: $(cat "$T/err")"
if grep -qi "readable" "$T/err"; then fail "with a trace file, the warning still went to stderr"; fi
grep -q "warning: $MAILTOKEN_STORE is readable by others (mode 640)" "$T/trace" ||
    fail "no warning in the trace: $(cat "$T/trace")"
grep -q "fine for a store shared with its users' mail clients" "$T/trace" || fail "trace wording: $(cat "$T/trace")"
[ "$(stat -c %a "$T/trace")" = 600 ] || fail "the trace file is mode $(stat -c %a "$T/trace")"
# ... or on stderr when asked for.
MAILTOKEN_DEBUG=stderr list_tokens >"$T/out" 2>"$T/err" || fail "p11tool: $(cat "$T/err")"
grep -q "^mailtoken-pkcs11\[[0-9]*\]: warning: .*readable by others" "$T/err" || fail "MAILTOKEN_DEBUG=stderr: $(cat "$T/err")"
# The documentation of the shared set-up points to it.
grep -q "MAILTOKEN_DEBUG" "$MT_SOURCE_DIR/docs/thunderbird.md" || fail "docs/thunderbird.md does not mention MAILTOKEN_DEBUG"
# A 0600 store: nothing to say, even in the trace.
chmod 600 "$MAILTOKEN_STORE"
rm -f "$T/trace"
MAILTOKEN_DEBUG=$T/trace list_tokens >"$T/out" 2>"$T/err" || fail "p11tool: $(cat "$T/err")"
[ ! -s "$T/trace" ] || fail "a 0600 store left a trace: $(cat "$T/trace")"
echo ok
