# The extensions (docs/api.md): DELETE of certificates and accounts with the
# command line's rules, an account's PKCS#11 URI, the status, the audit
# trail's filters and pages, and renewals through the CA simulator.
. "$(dirname "$0")/lib.sh"
init_store
KEY=$(new_key admin)
start_server
upload() { # upload USER: the certificate id
    api_json POST /certificates/upload/p12 \
        "{\"certificateData\": \"$(p12_base64 "$1")\", \"password\": \"$(p12_password "$1")\"}"
    expect 201
    jq -r .id "$T/body"
}
bob=$(upload bob)
alice=$(upload alice)
api_json POST /email-accounts "{\"email\": \"bob@example.org\", \"primaryCertificateId\": \"$bob\"}"
expect 201
api_json POST /email-accounts "{\"email\": \"alice@example.org\", \"primaryCertificateId\": \"$alice\"}"
expect 201
api_json POST /certificates/upload/pem "$(jq -n --rawfile pem "$TD/users/partner.crt" '{certificateData: $pem}')"
partner=$(jq -r .id "$T/body")
api_json POST /email-accounts "{\"email\": \"partner@partner.example\", \"primaryCertificateId\": \"$partner\"}"
expect 201

# Uploading a certificate that is there already changes nothing: 200, same id.
snapshot before
api_json POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 bob)\", \"password\": \"$(p12_password bob)\", \"friendlyName\": \"again\"}"
expect 200
body_is .id "$bob"
assert_unchanged
# A certificate by its SHA-256 fingerprint
fp=$(openssl x509 -in "$TD/users/bob.crt" -outform DER | sha256sum | cut -c1-64)
api GET "/certificates/$fp"
expect 200
body_is .id "$bob"
api GET "/certificates?kind=pem"
body_is '[.certificates[].id] | join(",")' "$partner"
api GET "/certificates?email=alice@example.org"
body_is '[.certificates[].id] | join(",")' "$alice"

# The primary of an internal account keeps a private key: a public-only
# certificate naming alice may join the history, not become the primary.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Alice Public" \
    -addext "subjectAltName=email:alice@example.org" -addext "basicConstraints=critical,CA:FALSE" \
    -keyout "$T/alice2.key" -out "$T/alice2.crt" 2>/dev/null # (a CA certificate would be an authority's)
api_json POST /certificates/upload/pem "$(jq -n --rawfile pem "$T/alice2.crt" '{certificateData: $pem}')"
expect 201
public=$(jq -r .id "$T/body")
api POST "/email-accounts/alice@example.org/certificates/$public/add-to-history"
expect 200
refused 400 "the primary of an internal account must have one" \
    POST "/email-accounts/alice@example.org/certificates/$public/set-primary"
# A certificate that does not name the account's email
refused 400 "does not name alice@example.org" POST "/email-accounts/alice@example.org/certificates/$bob/add-to-history"

# DELETE, with the command line's rules: a certificate in use is a conflict.
refused 409 "" DELETE "/certificates/$bob"
refused 404 "certificate 4242 not found" DELETE /certificates/4242
refused 400 "purge must be true or false" DELETE "/email-accounts/bob@example.org?purge=yes"
api DELETE /email-accounts/bob@example.org
expect 204
[ ! -s "$T/body" ] || fail "204 with a body: $(cat "$T/body")"
[ "$(sql "SELECT count(*) FROM accounts WHERE email = 'bob@example.org'")" = 0 ] || fail "bob's account is still there"
[ "$(sql "SELECT count(*) FROM certificates WHERE id = $bob")" = 1 ] || fail "bob's certificate went with the account"
refused 404 "account bob@example.org not found" DELETE /email-accounts/bob@example.org
api DELETE "/certificates/$bob"
expect 204
api GET "/certificates/$bob"
expect 404
api DELETE "/email-accounts/partner@partner.example?purge=true"
expect 204
[ "$(sql "SELECT count(*) FROM certificates WHERE id = $partner")" = 0 ] || fail "purge left the partner's certificate"

# The account's PKCS#11 URI, as `mailtoken uri` gives it
api GET /email-accounts/alice@example.org/uri
expect 200
run 0 uri alice@example.org
body_is .uri "$(cat "$T/out")"
body_is .token.label alice@example.org
api GET "/email-accounts/alice@example.org/uri?type=private"
expect 200
run 0 uri alice@example.org --type private
body_is .uri "$(cat "$T/out")"
refused 400 "type must be cert, private or public" GET "/email-accounts/alice@example.org/uri?type=key"
refused 404 "account nobody@example.org not found" GET /email-accounts/nobody@example.org/uri

# The status, as `mailtoken status` gives it (without the store's path)
api GET "/status?days=36500"
expect 200
run 0 --json status --days 36500
body_is .counts.accounts "$(jq -r .counts.accounts "$T/out")"
body_is .counts.certificates "$(jq -r .counts.certificates "$T/out")"
body_is .expiringSoon.total "$(jq -r .expiringSoon.total "$T/out")"
body_is '.store | has("path")' false
body_is .server.version "$("$MT_BIN" --version | cut -d' ' -f2)"
refused 400 "days must be a number" GET "/status?days=week"

# The audit trail: filters and pages
api GET "/audit?action=account.&limit=2"
expect 200
body_is '[.events[].action] | join(",")' "account.delete,account.delete"
total=$(jq -r .total "$T/body")
[ "$total" = "$(sql "SELECT count(*) FROM events WHERE action LIKE 'account.%'")" ] || fail "audit total $total"
api GET "/audit?action=account.&limit=2&offset=$((total - 1))"
body_is '[.events[].action] | join(",")' "account.create"
api GET "/audit?email=alice@example.org&since=1d"
body_is '[.events[].subject] | unique | join(",")' "alice@example.org"
api GET "/audit?since=2099-01-01"
body_is .total 0
refused 400 "since must be" GET "/audit?since=yesterday"

# Renewals through the CA (the Sectigo simulator), as `mailtoken renew` does them
: "${MT_CA_SIM:?MT_CA_SIM is not set}"
serial=$(openssl x509 -in "$TD/users/alice.crt" -noout -serial | cut -d= -f2 | tr A-F a-f)
"$MT_CA_SIM" --kind sectigo --ca-dir "$TD/ca" --port-file "$T/sim.port" --cert-file "$T/sim.crt" \
    --order "1000001:alice@example.org:$serial" 2>"$T/sim.log" &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null; stop_server_quietly; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/sim.port" ] && break; sleep 0.05; done
[ -s "$T/sim.port" ] || fail "the CA simulator wrote no port: $(cat "$T/sim.log")"
printf 'login = apiuser\npassword = apipass\n' >"$T/creds"
chmod 600 "$T/creds"
run 0 ca add ca --kind sectigo --url "https://127.0.0.1:$(cat "$T/sim.port")/products" \
    --credentials "$T/creds" --option "ca_bundle=$T/sim.crt" --option "trust_anchors=$TD/ca/root.crt" \
    --option poll_initial=0 --option retry_initial=0 --option timeout_ms=10000 --option max_rps=0
refused 400 "rsa1024" POST /email-accounts/alice@example.org/renew \
    -H "Content-Type: application/json" -d '{"key": "rsa1024", "orderNumber": "1000001"}'
refused 404 "account nobody@example.org not found" POST /email-accounts/nobody@example.org/renew
api_json POST /email-accounts/alice@example.org/renew '{"key": "ec-p256", "orderNumber": "1000001"}'
expect 201
body_is .state done
body_is .oldCertificateId "$alice"
renewed=$(jq -r .newCertificateId "$T/body")
api GET /email-accounts/alice@example.org
body_is .primaryCertificateId "$renewed"
body_is '.certificateHistory | index("'"$alice"'") != null' true
api GET "/renewals?all=true&email=alice@example.org"
expect 200
body_is '[.renewals[].state] | join(",")' done
body_is .total 1
api GET /renewals
body_is .total 0 # none under way
api GET "/audit?action=renewal.done"
body_is '.events[0].actor' "api:key-$(sql "SELECT id FROM api_keys")"

# What an upload could not use is said, as `cert import` says it: warnings,
# and the entries of the file that were skipped (a Java keystore's DSA entry
# beside the RSA one that is stored).
api_json POST /certificates/upload/pem "$(jq -n --rawfile pem "$TD/bad/noemail.crt" '{certificateData: $pem}')"
expect 201
body_is '.warnings[0] | test("names no email address: it cannot belong to an account")' true
body_is '.skipped | length' 0
kpw=ks-secret-1
for entry in "rsa-user RSA Rita rita" "dsa-user DSA Dan dan"; do
    set -- $entry
    keytool -genkeypair -keystore "$T/mixed.p12" -storetype PKCS12 -storepass "$kpw" -alias "$1" \
        -keyalg "$2" -keysize 2048 -dname "CN=$3 Keystore,O=mailtoken Test" \
        -ext "san=email:$4@example.org" -validity 365 >"$T/keytool.out" 2>&1 ||
        fail "keytool: $(cat "$T/keytool.out")"
done
api_json POST /certificates/upload/p12 "{\"certificateData\": \"$(base64 -w0 "$T/mixed.p12")\", \"password\": \"$kpw\"}"
expect 201
body_is '.emails | join(",")' rita@example.org
body_is .hasPrivateKey true
body_is '.skipped | length' 1
body_is '.skipped[0].friendlyName' dsa-user
body_is '.skipped[0].subject' "CN=Dan Keystore,O=mailtoken Test"
body_is '.skipped[0].algorithm' DSA
body_is '.skipped[0].reason | test("DSA keys are not supported")' true
body_is '.skipped[0].serialNumber | test("^[0-9a-f]+$")' true

check_openapi
stop_server
echo ok
