#!/usr/bin/env bash
# The mailtoken end-to-end demo (run by `./dev.sh demo` as `demo/demo.sh build`):
# onboard users from P12 files with the `mailtoken` tool, then use their
# certificates through the PKCS#11 module with real clients (GnuTLS p11tool,
# OpenSSL with the pkcs11 engine).  Everything happens in a fresh temp dir;
# the demo stops with a non-zero exit at the first step that fails.
#   usage: demo/demo.sh BUILD_DIR
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: demo/demo.sh BUILD_DIR}" && pwd)
MAILTOKEN="$BUILD/provision/mailtoken"
MODULE="$BUILD/pkcs11/mailtoken-pkcs11.so"
GEN_BULK="$BUILD/tests/tools/mt-gen-bulk"
STEP=0

trap 'echo "demo FAILED at step $STEP (line $LINENO): $BASH_COMMAND" >&2' ERR
for f in "$MAILTOKEN" "$MODULE" "$GEN_BULK"; do
    [ -e "$f" ] || { echo "demo: not built: $f (run ./dev.sh build)" >&2; exit 1; }
done

step() {
    STEP=$((STEP + 1))
    printf '\n\033[1m== %d. %s\033[0m\n' "$STEP" "$*"
}
show() { # prints the command, then runs it
    printf '$ %s\n' "$*"
    "$@"
}
mailtoken() { "$MAILTOKEN" "$@"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailtoken-demo-XXXXXX")
echo "demo directory: $WORK (kept for you to explore)"
cd "$WORK"
# A private world: store, configuration and client settings live in $WORK.
export HOME="$WORK/home" MAILTOKEN_STORE="$WORK/store.db" MAILTOKEN_CONF="$WORK/mailtoken.conf"
mkdir -p "$HOME" secrets
chmod 700 secrets
: >"$MAILTOKEN_CONF"
pin_file() { # EMAIL: the demo PIN of an account, in a 0600 file (no newline, for libp11)
    local f="$WORK/secrets/${1%%@*}.pin"
    [ -f "$f" ] || (umask 077; printf 'demo-pin-%s' "${1%%@*}" >"$f")
    printf '%s' "$f"
}

step "Test data: a test CA and S/MIME users as P12 files"
MT_BUILD_DIR="$BUILD" "$SRC/tests/data/gen-testdata.sh" "$WORK/testdata"
U="$WORK/testdata/users"
cut -f1-3 "$WORK/testdata/manifest.tsv" | head -8

step "Create the store and the organisation (SO PIN from a 0600 file)"
(umask 077; echo "demo-SO-pin-2026" >secrets/so.pin)
show mailtoken init --org "Example Org" --so-pin-file secrets/so.pin
ls -l store.db

step "Onboard users: one command per P12, the account comes from the certificate"
for name in alice-old bob carol dave; do
    show mailtoken cert import --account auto --password-file "$U/$name.pass" "$U/$name.p12"
done

step "Import a whole folder (progress on a terminal, then a summary)"
"$GEN_BULK" --out inbox --count 12 --keys 2 --password "inbox-Pass-1" --domain sales.example.org \
    --ca "$WORK/testdata/ca" >/dev/null
(umask 077; echo "inbox-Pass-1" >secrets/inbox.pass)
show mailtoken cert import --dir inbox --account auto --password-file secrets/inbox.pass

step "Set the users' PINs with the SO PIN"
for email in alice@example.org bob@example.org carol@example.org; do
    show mailtoken account reset-pin "$email" --so-pin-file secrets/so.pin --new-pin-file "$(pin_file "$email")"
done

step "Renewal: alice's new certificate becomes the primary, the old one stays in the history"
show mailtoken cert import --account auto --password-file "$U/alice.pass" "$U/alice.p12"
show mailtoken account show alice@example.org

step "What the store holds"
show mailtoken account list
show mailtoken status

step "Every account is a PKCS#11 token (GnuTLS p11tool)"
show env MAILTOKEN_ACCOUNTS='emails=*@example.org' p11tool --provider "$MODULE" --list-tokens
show p11tool --provider "$MODULE" --list-all-certs 'pkcs11:token=alice%40example.org'

step "alice signs a mail through the module (openssl cms + pkcs11 engine)"
# libp11's engine (libengine-pkcs11-openssl) loads the module named here.
export PKCS11_MODULE_PATH="$MODULE"
# The key by its RFC 7512 URI; libp11 reads the PIN from the file in pin-source.
KEY="pkcs11:token=alice%40example.org;object=alice%40example.org;type=private;pin-source=file:$(pin_file alice@example.org)"
printf 'Subject: demo\r\n\r\nHello from mailtoken.\r\n' >mail.txt
show openssl cms -sign -engine pkcs11 -keyform engine -inkey "$KEY" \
    -signer "$U/alice.crt" -md sha256 -in mail.txt -out signed.eml
show openssl cms -verify -CAfile "$WORK/testdata/ca/bundle.crt" -in signed.eml -out verified.txt
cmp mail.txt verified.txt
echo "signature verified against the test CA; content intact"

step "A mail encrypted to alice, decrypted through the module"
show openssl cms -encrypt -aes256 -in mail.txt -out encrypted.eml "$U/alice.crt"
show openssl cms -decrypt -engine pkcs11 -keyform engine -inkey "$KEY" \
    -recip "$U/alice.crt" -in encrypted.eml -out decrypted.txt
cmp mail.txt decrypted.txt
echo "decrypted through the token: content intact"

step "The managed-store API over HTTPS: an upload and an account made with curl"
# A self-signed certificate for the demo; in production, the host's own.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout secrets/api.key -out api.crt 2>/dev/null
show mailtoken api-key create --org "Example Org" --scope write --key-file secrets/api-token
"$MAILTOKEN" serve --listen 127.0.0.1:0 --tls-cert api.crt --tls-key secrets/api.key 2>serve.log &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' serve.log && break; sleep 0.05; done
cat serve.log
API="https://localhost:$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\)$|\1|p' serve.log)/v3/organizations/1/smime"
TOKEN=$(cat secrets/api-token)
api() { # prints the curl command (the key as $TOKEN), runs it, shows the JSON
    printf '$ curl'
    printf ' %q' "$@" | sed "s|$TOKEN|\$TOKEN|g"
    printf '\n'
    curl -sS --fail-with-body --cacert api.crt "$@" | tee api.out | jq .
}
jq -n --arg data "$(base64 -w0 "$U/judy.p12")" --arg pw "$(cat "$U/judy.pass")" \
    '{certificateData: $data, friendlyName: "Judy Signing Certificate", password: $pw}' >secrets/judy.json
api -X POST "$API/certificates/upload/p12" -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: application/json" -d @secrets/judy.json
JUDY=$(jq -r .id api.out)
api -X POST "$API/email-accounts" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d "{\"email\": \"judy@example.org\", \"primaryCertificateId\": \"$JUDY\", \"certificateHistory\": [\"$JUDY\"]}"
echo "the server's log, one line per request:"
grep ' key=' serve.log
kill "$SERVER"
wait "$SERVER"
show env MAILTOKEN_ACCOUNTS='emails=judy@*' p11tool --provider "$MODULE" --list-tokens
show p11tool --provider "$MODULE" --list-all-certs 'pkcs11:token=judy%40example.org'

step "The audit trail"
show mailtoken log --limit 15

printf '\n\033[1mdemo complete\033[0m: everything above ran in %s\n' "$WORK"
