# `mailtoken uri` against the real module: GnuTLS p11tool finds exactly the
# account's token and objects by the printed URIs.
. "$(dirname "$0")/lib.sh"
MODULE=${2:-$MT_BUILD_DIR/pkcs11/mailtoken-pkcs11.so}
[ -f "$MODULE" ] || fail "no module at $MODULE"
p11() { client p11tool --provider "$MODULE" "$@"; }

init_store
import_user alice --account auto >/dev/null
import_user bob --account auto >/dev/null
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"

token_uri=$(mt uri alice@example.org)
p11 --list-tokens >"$T/tokens" 2>&1 || fail "p11tool --list-tokens: $(cat "$T/tokens")"
grep -qF "$token_uri" "$T/tokens" || fail "p11tool does not show $token_uri: $(cat "$T/tokens")"

# The token URI selects alice's certificates only.
p11 --list-all-certs "$token_uri" >"$T/certs" 2>&1 || fail "p11tool --list-all-certs: $(cat "$T/certs")"
grep -q "Label: alice@example.org" "$T/certs" || fail "alice's certificate not listed: $(cat "$T/certs")"
grep -q "bob@example.org" "$T/certs" && fail "bob's certificate listed under alice's token"

# The certificate object's URI exports alice's certificate.
p11 --export "$(mt uri alice@example.org --type cert)" >"$T/alice.pem" 2>"$T/export.err" ||
    fail "p11tool --export: $(cat "$T/export.err")"
a=$(openssl x509 -in "$T/alice.pem" -noout -fingerprint -sha256)
b=$(openssl x509 -in "$TD/users/alice.crt" -noout -fingerprint -sha256)
[ "$a" = "$b" ] || fail "exported $a, expected $b"

# The private key's URI finds one key after login.
GNUTLS_PIN=$(cat "$USER_PIN") p11 --login --list-privkeys "$(mt uri alice@example.org --type private)" \
    >"$T/keys" 2>&1 || fail "p11tool --list-privkeys: $(cat "$T/keys")"
[ "$(grep -c 'Type: Private key' "$T/keys")" -eq 1 ] || fail "not one private key: $(cat "$T/keys")"
echo ok
