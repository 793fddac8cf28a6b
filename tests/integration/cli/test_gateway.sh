# Gateway mode from the tool: `init --store-key-file` and `org
# export-recovery-key` make the two key files the configuration names (0600,
# never overwritten), and a module given the recovery key logs in to a token
# without a PIN.  $2: the PKCS#11 module.
. "$(dirname "$0")/lib.sh"
MODULE=${2:?usage: test_gateway.sh MAILTOKEN MODULE}
mkdir -m 700 "$T/keys"

is_key_file() { # is_key_file FILE: 0600, 64 hex digits and a newline
    [ "$(stat -c %a "$1")" = 600 ] || fail "$1: mode $(stat -c %a "$1"), expected 600"
    grep -qxE '[0-9a-f]{64}' "$1" && [ "$(wc -c <"$1")" -eq 65 ] || fail "$1 is not 64 hex digits"
}

# --- the store key: made by init, mixed into the organisation's PIN keys.
run 0 --json init --org example --so-pin-file "$SO_PIN" --store-key-file "$T/keys/store.key"
jq_is .storeKeyFile "$T/keys/store.key"
is_key_file "$T/keys/store.key"
err_has "add \`store_key_file = $T/keys/store.key\` to the configuration"
{ cat "$FAST_KDF_CONF"; printf 'store_key_file = %s\n' "$T/keys/store.key"; } >"$T/gateway.conf"
export MAILTOKEN_CONF=$T/gateway.conf
alice=$(import_user alice --account auto)
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
# Without the key the same SO PIN opens nothing: the store file alone is not enough.
cat "$FAST_KDF_CONF" >"$T/no-key.conf"
MAILTOKEN_CONF=$T/no-key.conf run 1 account reset-pin alice@example.org --so-pin-file "$SO_PIN" \
    --new-pin-file "$USER_PIN2"
err_has "set with a store key file; configure store_key_file"
# An existing key file is used as it is; one the config does not name is refused.
cp "$T/keys/store.key" "$T/keys/before"
run 0 init --org second --so-pin-file "$SO_PIN" --store-key-file "$T/keys/store.key"
cmp -s "$T/keys/store.key" "$T/keys/before" || fail "init changed an existing store key file"
fails_cleanly 4 "names another store_key_file" init --org third --so-pin-file "$SO_PIN" \
    --store-key-file "$T/keys/other.key"
[ ! -e "$T/keys/other.key" ] || fail "a refused init left a key file"
# A failed init takes back the key file it made.
MAILTOKEN_CONF=/dev/null run 4 init --org example --so-pin-file "$SO_PIN" --store-key-file "$T/keys/new.key"
[ ! -e "$T/keys/new.key" ] || fail "a failed init left its new key file"

# --- the recovery key: the SO PIN is needed, the file is new, the log says it.
printf 'wrong-so-pin-1234\n' >"$T/wrong-so"
run 6 --org example org export-recovery-key --out "$T/keys/recovery.key" --so-pin-file "$T/wrong-so"
[ ! -e "$T/keys/recovery.key" ] || fail "a wrong SO PIN left a recovery key file"
run 0 --org example org export-recovery-key --out "$T/keys/recovery.key" --so-pin-file "$SO_PIN"
out_has "written to $T/keys/recovery.key (0600)"
is_key_file "$T/keys/recovery.key"
cp "$T/keys/recovery.key" "$T/keys/before"
run 4 --org example org export-recovery-key --out "$T/keys/recovery.key" --so-pin-file "$SO_PIN"
err_has "File exists"
cmp -s "$T/keys/recovery.key" "$T/keys/before" || fail "an existing recovery key file was overwritten"
run 2 --org example org export-recovery-key --so-pin-file "$SO_PIN"
err_has "--out FILE is required"
run 0 --json --org example log --action org.export-recovery-key
jq_is '.events | length' 1
jq_is '.events[0].detail.file' "$T/keys/recovery.key"

# --- a gateway: with the recovery key named, the module logs in without a PIN.
login_nopin() { client python3 "$(dirname "$0")/p11_login_nopin.py" "$MODULE" "$1"; }
rv=$(login_nopin alice@example.org) || fail "p11_login_nopin: $rv"
[ "$rv" != 0x0 ] || fail "a module without the recovery key logged in without a PIN"
printf 'recovery_key_file = %s\n' "$T/keys/recovery.key" >>"$T/gateway.conf"
rv=$(login_nopin alice@example.org) || fail "p11_login_nopin: $rv"
[ "$rv" = 0x0 ] || fail "the gateway did not log in without a PIN: $rv"
echo ok
