# The managed-store API's own curl commands (its documentation's, with the
# base URL, token and placeholders filled in) run its three scenarios and
# every error it lists against `mailtoken serve`; the store's rows and audit
# trail follow; then the PKCS#11 module signs with the uploaded key and the
# history key decrypts.
. "$(dirname "$0")/lib.sh"
: "${MT_MODULE:?MT_MODULE is not set}"
init_store
TOKEN=$(new_key write)
ADMIN=$(new_key admin)
WRITER=$(sql "SELECT id FROM api_keys WHERE scope = 'write'")
start_server
organizationId=$ORG

# --- Scenario 1: internal user signing -------------------------------------
# Upload P12 Certificate (with private key in BASE64 format)
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/certificates/upload/p12" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "certificateData": "'"$(p12_base64 bob)"'",
    "friendlyName": "John Doe Signing Certificate",
    "password": "'"$(p12_password bob)"'"
  }'
expect 201
bob=$(jq -r .id "$T/body")
body_is .certificateId "$bob"
body_is .friendlyName "John Doe Signing Certificate"
body_is .hasPrivateKey true
body_is .kind p12
body_is '.emails | join(",")' bob@example.org
header_has Location
[ "$(sql "SELECT has_key FROM certificates WHERE id = $bob")" = 1 ] || fail "bob's certificate row has no key"
[ "$(sql "SELECT count(*) FROM sealed_keys WHERE cert_id = $bob")" = 1 ] || fail "bob's key is not sealed"

# Create Internal Email Account (for signing/decrypting)
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "email": "bob@example.org",
    "primaryCertificateId": "'"$bob"'",
    "certificateHistory": ["'"$bob"'"]
  }'
expect 201
body_is .email bob@example.org
body_is .primaryCertificateId "$bob"
body_is '.certificateHistory | join(",")' "$bob"
body_is .internal true
body_is .organizationId "$(sql "SELECT id FROM organizations WHERE name = '$ORG'")"
[ "$(sql "SELECT primary_cert_id FROM accounts WHERE email = 'bob@example.org'")" = "$bob" ] ||
    fail "the account row does not have bob's certificate as primary"

# --- Scenario 2: encrypting to external recipients -------------------------
# Upload PEM Certificate (public key only)
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/certificates/upload/pem" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d "$(jq -n --rawfile pem "$TD/users/partner.crt" \
        '{certificateData: $pem, friendlyName: "External Partner Certificate"}')"
expect 201
partner=$(jq -r .id "$T/body")
body_is .hasPrivateKey false
body_is .kind pem

# Create External Email Account (for encryption/verification only)
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "email": "partner@partner.example",
    "primaryCertificateId": "'"$partner"'",
    "certificateHistory": ["'"$partner"'"]
  }'
expect 201
body_is .internal false
[ "$(sql "SELECT count(*) FROM sealed_keys WHERE cert_id = $partner")" = 0 ] || fail "a PEM has a key"

# --- Scenario 3: certificate renewal ---------------------------------------
upload_p12() { # upload_p12 USER FRIENDLY-NAME: the new certificate's id
    curl -X POST \
      "$BASE/v3/organizations/$organizationId/smime/certificates/upload/p12" \
      -H "Authorization: Bearer $TOKEN" \
      -H "Content-Type: application/json" \
      -d '{
        "certificateData": "'"$(p12_base64 "$1")"'",
        "friendlyName": "'"$2"'",
        "password": "'"$(p12_password "$1")"'"
      }'
    expect 201
    jq -r .id "$T/body"
}
old=$(upload_p12 alice-old "Alice 2025")
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "email": "alice@example.org",
    "primaryCertificateId": "'"$old"'",
    "certificateHistory": ["'"$old"'"]
  }'
expect 201
# 1. Upload new P12 certificate
new=$(upload_p12 alice "Alice 2026")
# 2. Add new certificate to account history
email=alice@example.org certificateId=$new
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts/$email/certificates/$certificateId/add-to-history" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is .primaryCertificateId "$old"
body_is '.certificateHistory | join(",")' "$old,$new"
# 3. Set new certificate as primary
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts/$email/certificates/$certificateId/set-primary" \
  -H "Authorization: Bearer $TOKEN"
expect 200
# 4. Old certificate remains in history for historical verification
body_is .primaryCertificateId "$new"
body_is '.certificateHistory | join(",")' "$old,$new"
[ "$(sql "SELECT ac.cert_id FROM account_certificates ac JOIN accounts a ON a.id = ac.account_id
          WHERE a.email = '$email' ORDER BY ac.rowid" | paste -sd,)" = "$old,$new" ] ||
    fail "the history rows are not old,new"

# --- Common API operations ---------------------------------------------------
# List Email Accounts
curl -X GET \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts?limit=20&offset=0" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is '[.accounts[].email] | join(",")' "alice@example.org,bob@example.org,partner@partner.example"
body_is '[.limit, .offset, .total] | map(tostring) | join(",")' "20,0,3"
curl -X GET "$BASE/v3/organizations/$organizationId/smime/email-accounts?limit=1&offset=1" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is '[.accounts[].email] | join(",")' "bob@example.org"
body_is .total 3
# Get Specific Email Account
curl -X GET \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts/$email" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is .primaryCertificateId "$new"
# List Certificates
curl -X GET \
  "$BASE/v3/organizations/$organizationId/smime/certificates?limit=20&offset=0" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is .total 4
body_is '[.certificates[].id] | join(",")' "$bob,$partner,$old,$new"
# Get Certificate Details
certificateId=$bob
curl -X GET \
  "$BASE/v3/organizations/$organizationId/smime/certificates/$certificateId" \
  -H "Authorization: Bearer $TOKEN"
expect 200
body_is .subject "CN=Bob Example,O=mailtoken Test"
body_is .fingerprint "$(openssl x509 -in "$TD/users/bob.crt" -outform DER | sha256sum | cut -c1-64)"
# Update Certificate Information
curl -X PATCH \
  "$BASE/v3/organizations/$organizationId/smime/certificates/$certificateId" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "friendlyName": "Updated Certificate Name",
    "description": "Updated description"
  }'
expect 200
body_is .friendlyName "Updated Certificate Name"
body_is .description "Updated description"
[ "$(sql "SELECT friendly_name || '|' || description FROM certificates WHERE id = $bob")" = \
  "Updated Certificate Name|Updated description" ] || fail "the certificate row was not updated"
# The organisation by id works as by name.
curl -X GET "$BASE/v3/organizations/1/smime/certificates/$bob" -H "Authorization: Bearer $TOKEN"
expect 200

# --- Error handling: every case the documentation lists --------------------
# 400: Bad Request (validation errors)
snapshot before
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "email": "carol@example.org",
    "primaryCertificateId": "'"$bob"'",
    "certificateHistory": ["'"$partner"'"]
  }'
expect 400 "primaryCertificateId must be present in certificateHistory"
body_is .error "Validation failed"
assert_unchanged
# 404: Not Found
curl -X GET "$BASE/v3/organizations/$organizationId/smime/email-accounts/nobody@example.org" \
  -H "Authorization: Bearer $TOKEN"
expect 404 "account nobody@example.org not found"
body_is .error "Not Found"
curl -X GET "$BASE/v3/organizations/$organizationId/smime/certificates/9999" \
  -H "Authorization: Bearer $TOKEN"
expect 404 "certificate 9999 not found"
snapshot before
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts/$email/certificates/9999/set-primary" \
  -H "Authorization: Bearer $TOKEN"
expect 404 "certificate 9999 not found"
assert_unchanged
# 409: Conflict (duplicate email account)
snapshot before
curl -X POST \
  "$BASE/v3/organizations/$organizationId/smime/email-accounts" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "email": "bob@example.org",
    "primaryCertificateId": "'"$bob"'",
    "certificateHistory": ["'"$bob"'"]
  }'
expect 409 "account bob@example.org already exists"
body_is .error "Conflict"
assert_unchanged

# --- The audit trail: every change, by the key that made it ----------------
curl -X GET "$BASE/v3/organizations/$organizationId/smime/audit?email=$email&action=account." \
  -H "Authorization: Bearer $ADMIN"
expect 200
body_is '[.events[].action] | join(",")' "account.set-primary,account.add-to-history,account.create"
body_is '[.events[].actor] | unique | join(",")' "api:key-$WRITER"
[ "$(sql "SELECT count(*) FROM events WHERE action LIKE 'account.%' OR action = 'cert.import'")" = \
  "$(sql "SELECT count(*) FROM events WHERE (action LIKE 'account.%' OR action = 'cert.import')
          AND actor = 'api:key-$WRITER'")" ] || fail "a change is not attributed to the API key"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'cert.import'")" = 4 ] || fail "not 4 imports audited"
# One log line per request: method, path, status, time, key.
log_has "POST /v3/organizations/example/smime/email-accounts 201 "
grep -qE "POST /v3/organizations/example/smime/certificates/upload/p12 201 [0-9.]+ms key=$WRITER$" \
    "$T/server.log" || fail "no log line for the upload with the key id"
for user in alice alice-old bob; do
    assert_secret_absent "$(p12_password "$user")"
done

# --- The module uses what the API stored ------------------------------------
PIN=$T/pin
printf 'user-pin-2026' >"$PIN"
for who in bob@example.org alice@example.org; do
    run 0 account reset-pin "$who" --so-pin-file "$SO_PIN_FILE" --new-pin-file "$PIN"
done
printf 'signed through the token\n' >"$T/data"
p11 --token-label bob@example.org --login --pin "$(cat "$PIN")" --sign \
    --id "$(rsa_key_id "$TD/users/bob.crt")" -m SHA256-RSA-PKCS -i "$T/data" -o "$T/sig" \
    >"$T/p11.out" 2>&1 || fail "pkcs11-tool could not sign with bob's key: $(cat "$T/p11.out")"
openssl x509 -in "$TD/users/bob.crt" -pubkey -noout >"$T/bob.pub"
openssl dgst -sha256 -verify "$T/bob.pub" -signature "$T/sig" "$T/data" >/dev/null ||
    fail "the signature made with the uploaded key does not verify"
# Mail encrypted to alice's old certificate still opens with the history key.
printf 'content key 0123456789abcdef\n' >"$T/plain"
openssl x509 -in "$TD/users/alice-old.crt" -pubkey -noout >"$T/old.pub"
openssl pkeyutl -encrypt -pubin -inkey "$T/old.pub" -in "$T/plain" -out "$T/enc"
p11 --token-label alice@example.org --login --pin "$(cat "$PIN")" --decrypt \
    --id "$(rsa_key_id "$TD/users/alice-old.crt")" -m RSA-PKCS -i "$T/enc" -o "$T/dec" \
    >"$T/p11.out" 2>&1 || fail "pkcs11-tool could not decrypt with the history key: $(cat "$T/p11.out")"
cmp -s "$T/plain" "$T/dec" || fail "the history key decrypted to something else"
# And the new primary signs.
p11 --token-label alice@example.org --login --pin "$(cat "$PIN")" --sign \
    --id "$(rsa_key_id "$TD/users/alice.crt")" -m SHA256-RSA-PKCS -i "$T/data" -o "$T/sig" \
    >"$T/p11.out" 2>&1 || fail "pkcs11-tool could not sign with alice's new key: $(cat "$T/p11.out")"
openssl x509 -in "$TD/users/alice.crt" -pubkey -noout >"$T/alice.pub"
openssl dgst -sha256 -verify "$T/alice.pub" -signature "$T/sig" "$T/data" >/dev/null ||
    fail "the new primary's signature does not verify"

check_openapi
stop_server
echo ok
