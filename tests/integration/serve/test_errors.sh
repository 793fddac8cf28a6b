# Bad input gets the right status and a message naming what is wrong, and
# leaves the store exactly as it was (sqlite3 .dump before and after);
# the P12 password of a refused upload is nowhere in the log or the store.
. "$(dirname "$0")/lib.sh"
init_store
KEY=$(new_key write)
start_server
api_json POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 bob)\", \"password\": \"$(p12_password bob)\"}"
expect 201
bob=$(jq -r .id "$T/body")
api_json POST /email-accounts "{\"email\": \"bob@example.org\", \"primaryCertificateId\": \"$bob\"}"
expect 201
body_is '.certificateHistory | join(",")' "$bob" # no history given: the primary alone

json() { refused "$1" "$2" "$3" "$4" -H "Content-Type: application/json" --data-binary "$5"; }

# Malformed JSON, and JSON that is not an object
json 400 "body: invalid JSON at line 1" POST /certificates/upload/p12 '{"certificateData": "abc", '
json 400 "body: invalid JSON" POST /email-accounts '{"email": "x@example.org",}'
json 400 "body: invalid JSON" POST /email-accounts '{"email": "a@example.org", "email": "b@example.org"}'
json 400 "body: must be a JSON object" POST /email-accounts '["bob@example.org"]'
json 400 "a JSON body is required" POST /email-accounts ''
# Wrong types
json 400 "certificateData must be a string" POST /certificates/upload/p12 '{"certificateData": 12}'
json 400 "password must be a string" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 alice)\", \"password\": [\"x\"]}"
json 400 "friendlyName must be a string" POST /certificates/upload/pem \
    "$(jq -n --rawfile pem "$TD/users/partner.crt" '{certificateData: $pem, friendlyName: 7}')"
json 400 "email must be a string" POST /email-accounts "{\"email\": 1, \"primaryCertificateId\": \"$bob\"}"
json 400 "primaryCertificateId must be a string" POST /email-accounts \
    "{\"email\": \"bob2@example.org\", \"primaryCertificateId\": $bob}"
json 400 "certificateHistory must be an array" POST /email-accounts \
    "{\"email\": \"bob2@example.org\", \"primaryCertificateId\": \"$bob\", \"certificateHistory\": \"$bob\"}"
json 400 "certificateHistory[0] must be a string" POST /email-accounts \
    "{\"email\": \"bob2@example.org\", \"primaryCertificateId\": \"$bob\", \"certificateHistory\": [$bob]}"
json 400 "friendlyName must be a string or null" PATCH "/certificates/$bob" '{"friendlyName": false}'
json 400 "give friendlyName or description" PATCH "/certificates/$bob" '{"name": "x"}'
# Missing fields
json 400 "certificateData is required" POST /certificates/upload/p12 '{"password": "x"}'
json 400 "certificateData is required" POST /certificates/upload/pem '{"certificateData": null}'
json 400 "email is required" POST /email-accounts "{\"primaryCertificateId\": \"$bob\"}"
json 400 "primaryCertificateId is required" POST /email-accounts '{"email": "bob2@example.org"}'
# certificateData that is no P12 (or no PEM), and a P12 the store refuses
json 400 "certificateData is not valid base64" POST /certificates/upload/p12 \
    '{"certificateData": "not base64 at all!", "password": "x"}'
json 400 "certificateData is not a PKCS#12 (P12) file" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(printf 'hello, world' | base64 -w0)\"}"
json 400 "certificateData is not a PKCS#12 (P12) file" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(base64 -w0 "$TD/users/partner.crt")\"}"
json 400 "certificateData: " POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(base64 -w0 "$TD/bad/truncated.p12")\", \"password\": \"$(cat "$TD/bad/truncated.pass")\"}"
json 400 "certificateData holds 3 certificates: upload one per request" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(base64 -w0 "$TD/bad/multikey.p12")\", \"password\": \"$(cat "$TD/bad/multikey.pass")\"}"
json 400 "email" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(base64 -w0 "$TD/bad/noemail.p12")\", \"password\": \"$(cat "$TD/bad/noemail.pass")\"}"
json 400 "certificateData is not PEM text" POST /certificates/upload/pem '{"certificateData": "MIIBIjANBgkq"}'
printf '{"certificateData": "%s"}' "$(base64 -w0 "$TD/bad/big.p12")" >"$T/big-p12.json"
json 413 "over the 4194304-byte limit" POST /certificates/upload/p12 @"$T/big-p12.json"
# A wrong P12 password: refused, and the password is kept nowhere.
WRONG=Wrong-P12-Password-5517
json 400 "certificateData: wrong password" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 alice)\", \"password\": \"$WRONG\"}"
json 400 "the P12 needs a password" POST /certificates/upload/p12 "{\"certificateData\": \"$(p12_base64 alice)\"}"
# A password the store never sees either: the upload fails on the next field.
LEAK=Leak-Check-Password-8812
json 400 "friendlyName must be a string" POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 alice)\", \"password\": \"$LEAK\", \"friendlyName\": {}}"
json 400 "body: invalid JSON" POST /certificates/upload/p12 "{\"password\": \"$LEAK\" \"certificateData\": 1}"
jq -r .message "$T/body" | grep -qF "$LEAK" && fail "the JSON error quotes the password"

# A body of 10 MiB (over api_max_body): 413 before it is read, with or
# without Content-Length.
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'A' | sed 's/^/{"certificateData": "/; s/$/"}/' >"$T/big.json"
refused 413 "over the 6291456-byte limit" POST /certificates/upload/p12 \
    -H "Content-Type: application/json" --data-binary @"$T/big.json"
refused 413 "over the 6291456-byte limit" POST /certificates/upload/p12 \
    -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @"$T/big.json"
# A wrong content type
refused 415 "Content-Type must be application/json, not text/plain" POST /email-accounts \
    -H "Content-Type: text/plain" -d "{\"email\": \"bob2@example.org\", \"primaryCertificateId\": \"$bob\"}"
refused 415 "not missing" POST /email-accounts -d "x=1" -H "Content-Type:"

# Paths with '..' or percent-encoded tricks (curl --path-as-is sends them as written)
path_refused() { # STATUS MESSAGE PATH [curl options]
    snapshot before
    curl --path-as-is -X "${4:-GET}" "$BASE$3" -H "Authorization: Bearer $KEY"
    expect "$1" "$2"
    assert_unchanged
}
path_refused 400 "'.' and '..' segments are not allowed" /v3/organizations/example/smime/email-accounts/../certificates
path_refused 400 "'.' and '..' segments are not allowed" /v3/organizations/example/smime/email-accounts/%2e%2E/certificates
path_refused 400 "'.' and '..' segments are not allowed" /v3/organizations/example/smime/./status
path_refused 400 "an encoded '/' is not allowed" /v3/organizations/example/smime/email-accounts/..%2F..%2Fstatus
path_refused 400 "an encoded '/' is not allowed" "/v3/organizations/example%2Fsmime%2Fstatus/smime/status"
path_refused 400 "invalid percent-encoding" /v3/organizations/example/smime/email-accounts/bob%zz
path_refused 400 "invalid percent-encoding" /v3/organizations/example/smime/email-accounts/bob%4
path_refused 400 "control character (NUL)" /v3/organizations/example/smime/email-accounts/bob%00@example.org
path_refused 404 "certificate %2e%2e not found" /v3/organizations/example/smime/certificates/%252e%252e
path_refused 404 "no such resource" /v3/organizations/example/smime/certificates/
path_refused 404 "no such resource" /v3/organizations/example/smime//certificates
path_refused 404 "no such resource" /v3/organizations/example/certificates
path_refused 405 "DELETE is not allowed here; allowed: GET" /v3/organizations/example/smime/status DELETE
header_has Allow
# An email with control characters, in the path and in a body
path_refused 400 "email: contains a control character" "/v3/organizations/example/smime/email-accounts/bob%0A@example.org"
path_refused 400 "email: contains a control character" \
    "/v3/organizations/example/smime/email-accounts/bob%1B@example.org/certificates/$bob/set-primary" POST
json 400 "email is not a valid email address" POST /email-accounts \
    "{\"email\": \"bob\\u0007@example.org\", \"primaryCertificateId\": \"$bob\"}"
json 400 "email is not a valid email address" POST /email-accounts \
    "{\"email\": \"bob\\n@example.org\", \"primaryCertificateId\": \"$bob\"}"
# Query parameters
refused 400 "limit must be a number from 1 to 1000" GET "/certificates?limit=0"
refused 400 "limit must be a number from 1 to 1000" GET "/email-accounts?limit=abc"
refused 400 "offset must be a number" GET "/email-accounts?offset=-1"
refused 400 "kind must be p12 or pem" GET "/certificates?kind=der"

# Not one answer was a 500, and no refused password reached the log or the store.
! grep -q '" 500 \| 500 [0-9.]*ms' "$T/server.log" || fail "the server answered 500: $(grep ' 500 ' "$T/server.log")"
for secret in "$WRONG" "$LEAK" "$(p12_password alice)" "$(p12_password bob)" \
    "$(cat "$TD/bad/multikey.pass")"; do
    assert_secret_absent "$secret"
done
check_openapi
stop_server
echo ok
