# The module's call trace, for an administrator finding out what a client
# does: MAILTOKEN_DEBUG=1 (or calls:FILE, or the config's `debug`) writes one
# line per C_* call with its arguments' shape and return value, never a PIN;
# a config error reaches it with its file and line.  Off, not a word.
# $2: the module.
. "$(dirname "$0")/lib.sh"
MODULE=${2:?usage: test_module_trace.sh MAILTOKEN MODULE}
init_store
import_user alice --account auto >/dev/null
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN" >/dev/null
p11() { client pkcs11-tool --module "$MODULE" "$@"; }
calls() { grep -c '^mailtoken-pkcs11\[[0-9]*\]: C_[A-Za-z]*(.*) = CKR_' "$1" || true; }

# -L: a line per call, each a whole call; the slot listed once per token.
MAILTOKEN_DEBUG=1 p11 -L >"$T/out" 2>"$T/err" || fail "pkcs11-tool -L: $(cat "$T/err")"
out_has "token label        : alice@example.org"
grep -q ': C_Initialize(pInitArgs=NULL) = CKR_OK$' "$T/err" || fail "no C_Initialize line: $(cat "$T/err")"
grep -q ': C_GetSlotList(tokenPresent=0 pSlotList=NULL pulCount=1) = CKR_OK$' "$T/err" ||
    fail "no size query of the slot list: $(cat "$T/err")"
[ "$(grep -c ': C_GetTokenInfo(slotID=1 pInfo=set) = CKR_OK$' "$T/err")" = 1 ] ||
    fail "C_GetTokenInfo not traced once: $(cat "$T/err")"
grep -q ': C_Finalize(pReserved=NULL) = CKR_OK$' "$T/err" || fail "no C_Finalize line: $(cat "$T/err")"
[ "$(calls "$T/err")" = "$(wc -l <"$T/err")" ] || fail "a trace line that is not one call: $(cat "$T/err")"

# A login: the PIN's length, never the PIN; a failed call says what it returned.
pin=$(cat "$USER_PIN")
MAILTOKEN_DEBUG=1 p11 --login --pin "$pin" -O >"$T/out" 2>"$T/err" || fail "pkcs11-tool -O: $(cat "$T/err")"
grep -q ": C_Login(hSession=[0-9]* userType=1 pPin=set ulPinLen=${#pin}) = CKR_OK$" "$T/err" ||
    fail "no C_Login line: $(cat "$T/err")"
if grep -q -- "$pin" "$T/err"; then fail "the PIN is in the trace"; fi
MAILTOKEN_DEBUG=1 p11 --login --pin wrong-pin-123 -O >"$T/out" 2>"$T/err" && fail "a wrong PIN logged in"
grep -q ": C_Login(.*) = CKR_PIN_INCORRECT" "$T/err" || fail "no failed C_Login line: $(cat "$T/err")"

# To a file (0600), from the variable or from the config's `debug`.
MAILTOKEN_DEBUG=calls:$T/trace p11 -L >"$T/out" 2>"$T/err" || fail "pkcs11-tool -L: $(cat "$T/err")"
if grep -q "mailtoken-pkcs11" "$T/err"; then fail "calls:FILE also wrote to stderr: $(cat "$T/err")"; fi
[ "$(calls "$T/trace")" -ge 5 ] || fail "calls:FILE: $(cat "$T/trace")"
[ "$(stat -c %a "$T/trace")" = 600 ] || fail "the trace file is mode $(stat -c %a "$T/trace")"
printf 'debug = calls:%s\n' "$T/trace-conf" >"$T/debug.conf"
MAILTOKEN_CONF=$T/debug.conf p11 -L >"$T/out" 2>"$T/err" || fail "pkcs11-tool -L: $(cat "$T/err")"
grep -q ": C_GetTokenInfo(slotID=1 pInfo=set) = CKR_OK$" "$T/trace-conf" || fail "config debug: no trace"

# A bad key in the config: C_Initialize fails, the trace says where.
printf 'pin_min_length = 8\n# comment\nno_such_key = 1\n' >"$T/bad.conf"
MAILTOKEN_CONF=$T/bad.conf MAILTOKEN_DEBUG=1 p11 -L >"$T/out" 2>"$T/err" && fail "a bad config loaded"
grep -q "C_Initialize(pInitArgs=NULL) = CKR_GENERAL_ERROR: .*$T/bad.conf:3: unknown key \"no_such_key\"" "$T/err" ||
    fail "the config error is not in the trace with its line: $(cat "$T/err")"

# Off: nothing from the module.
unset MAILTOKEN_DEBUG
p11 -L >"$T/out" 2>"$T/err" || fail "pkcs11-tool -L: $(cat "$T/err")"
if grep -q "mailtoken" "$T/err"; then fail "the module wrote with no trace asked: $(cat "$T/err")"; fi
echo ok
