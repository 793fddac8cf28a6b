# Load: 16 clients at once for 60 s (8 uploading P12 files, 8 reading
# accounts, each on its own keep-alive HTTPS connection) while pkcs11-tool
# signs through the module from the same store: no request fails, every
# signature verifies, and the store is consistent afterwards.
#   test_load.sh MAILTOKEN MT-GEN-BULK [SECONDS]
. "$(dirname "$0")/lib.sh"
GEN=${2:?usage: test_load.sh MAILTOKEN MT-GEN-BULK [SECONDS]}
SECONDS_OF_LOAD=${3:-60}
: "${MT_MODULE:?}" "${MT_API_LOAD:?}"
init_store
KEY=$(new_key write)
printf '%s\n' "$KEY" >"$T/key"
start_server

# 200 P12s to upload (20 keys), and the accounts the readers read.
"$GEN" --out "$T/p12" --count 200 --keys 20 --password load-password --ca "$TD/ca" >/dev/null ||
    fail "mt-gen-bulk"
printf 'load-password\n' >"$T/pw"
ls "$T"/p12/*.p12 >"$T/files"
readers=()
for user in alice bob carol dave; do
    api_json POST /certificates/upload/p12 \
        "{\"certificateData\": \"$(p12_base64 "$user")\", \"password\": \"$(p12_password "$user")\"}"
    expect 201
    api_json POST /email-accounts \
        "{\"email\": \"$user@example.org\", \"primaryCertificateId\": \"$(jq -r .id "$T/body")\"}"
    expect 201
    readers+=(--read "$user@example.org")
done
printf 'user-pin-2026' >"$T/pin"
run 0 account reset-pin bob@example.org --so-pin-file "$SO_PIN_FILE" --new-pin-file "$T/pin"
before=$(sql "SELECT count(*) FROM certificates")

# pkcs11-tool signs with bob's key, again and again, until the load ends.
printf 'signed under load\n' >"$T/data"
openssl x509 -in "$TD/users/bob.crt" -pubkey -noout >"$T/bob.pub"
bob_id=$(rsa_key_id "$TD/users/bob.crt")
(
    n=0
    while [ ! -e "$T/load-done" ]; do
        p11 --token-label bob@example.org --login --pin "$(cat "$T/pin")" --sign --id "$bob_id" \
            -m SHA256-RSA-PKCS -i "$T/data" -o "$T/sig" >"$T/p11.out" 2>&1 ||
            { echo "sign $n: $(cat "$T/p11.out")" >"$T/signer.failed"; exit 1; }
        openssl dgst -sha256 -verify "$T/bob.pub" -signature "$T/sig" "$T/data" >/dev/null ||
            { echo "signature $n does not verify" >"$T/signer.failed"; exit 1; }
        n=$((n + 1))
        echo "$n" >"$T/signatures"
    done
) &
SIGNER=$!

"$MT_API_LOAD" --url "$API" --key-file "$T/key" --cacert "$T/tls.crt" --clients 16 \
    --seconds "$SECONDS_OF_LOAD" --upload "$T/files" --password-file "$T/pw" "${readers[@]}" \
    >"$T/load.json" 2>"$T/load.err" || fail "requests failed under load: $(cat "$T/load.err" "$T/load.json")"
touch "$T/load-done"
wait "$SIGNER" || fail "signing through the module failed under load: $(cat "$T/signer.failed")"
cat "$T/load.json"
jq -e '.errors == 0 and .uploads > 0 and .reads > 0' "$T/load.json" >/dev/null ||
    fail "load: $(cat "$T/load.json")"
[ "$(cat "$T/signatures")" -gt 0 ] || fail "pkcs11-tool never signed"
echo "pkcs11-tool signed $(cat "$T/signatures") times during the load"

# The store is consistent: intact, every upload stored once with its key
# sealed to its token and audited, one log line per request.
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity_check failed"
[ -z "$(sql "PRAGMA foreign_key_check")" ] || fail "foreign keys broken: $(sql "PRAGMA foreign_key_check")"
uploaded=$(($(sql "SELECT count(*) FROM certificates") - before))
[ "$(jq .uploads "$T/load.json")" -ge 200 ] || fail "the 200 files were not all uploaded in the time"
[ "$uploaded" -eq 200 ] || fail "$uploaded certificates stored from the 200 files"
[ "$(sql "SELECT count(*) FROM certificates c WHERE has_key AND NOT EXISTS
          (SELECT 1 FROM sealed_keys k WHERE k.cert_id = c.id)")" = 0 ] || fail "a key without its sealed copy"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'cert.import'")" = "$(sql "SELECT count(*) FROM certificates")" ] ||
    fail "imports and audit events differ"
[ "$(sql "SELECT count(DISTINCT sha256) FROM certificates")" = "$(sql "SELECT count(*) FROM certificates")" ] ||
    fail "a certificate stored twice"
assert_secret_absent load-password
requests=$(jq .requests "$T/load.json")
logged=$(grep -c ' key=' "$T/server.log")
[ "$logged" -ge "$requests" ] || fail "$requests requests, $logged log lines"
check_openapi
stop_server
echo ok
