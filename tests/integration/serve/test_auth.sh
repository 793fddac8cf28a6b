# API keys: made with `mailtoken api-key`, kept as a hash, shown once; a
# missing, unknown, revoked or expired key gets 401, the wrong organisation
# or scope 403 (the store unchanged); changes are audited with the key's id
# as the actor; repeated failures from one address get 429.
. "$(dirname "$0")/lib.sh"
init_store
run 0 init --org other --so-pin-file "$SO_PIN_FILE"

# The CLI: scope required and checked, the key shown once (stdout or a 0600 file).
run 2 api-key create --org "$ORG"
err_has "--scope is required"
run 2 api-key create --org "$ORG" --scope root
err_has "scope must be read, write or admin"
run 2 api-key create --org "$ORG" --scope read --expires soon
err_has "--expires: 'soon'"
run 3 api-key create --org nosuch --scope read
run 0 api-key create --org "$ORG" --scope read --name "HR sync"
READ=$(cat "$T/out")
[[ $READ =~ ^mtk_[A-Za-z0-9_-]{43}$ ]] || fail "the key is not mtk_ and 43 characters: $READ"
err_has "shown once"
WRITE=$(new_key write)
ADMIN=$(new_key admin)
OTHER=$(ORG=other new_key admin)
run 0 --json api-key create --org "$ORG" --scope write --key-file "$T/revoked.key" --expires 30d
[ "$(stat -c %a "$T/revoked.key")" = 600 ] || fail "the key file is not 0600"
jq -e 'has("key") | not' "$T/out" >/dev/null || fail "--key-file and --json printed the key"
REVOKED=$(cat "$T/revoked.key")
revoked_id=$(jq -r .id "$T/out")
run 4 api-key create --org "$ORG" --scope read --key-file "$T/revoked.key"
err_has "already exists"
for key in "$READ" "$WRITE" "$ADMIN" "$REVOKED"; do
    assert_secret_absent "$key"
    assert_secret_absent "${key:12}"
done
run 0 --json api-key list --org "$ORG"
jq -e '[.apiKeys[].scope] == ["read", "write", "admin", "write"]' "$T/out" >/dev/null ||
    fail "api-key list: $(cat "$T/out")"
jq -e '.apiKeys[0].name == "HR sync" and .apiKeys[3].expiresAt != null' "$T/out" >/dev/null ||
    fail "api-key list: name or expiry missing"
read_id=$(jq -r '.apiKeys[0].id' "$T/out")
write_id=$(jq -r '.apiKeys[1].id' "$T/out")

start_server
KEY=$WRITE api_json POST /certificates/upload/p12 \
    "{\"certificateData\": \"$(p12_base64 bob)\", \"password\": \"$(p12_password bob)\"}"
expect 201
bob=$(jq -r .id "$T/body")

# 401: no key, another scheme, an unknown key
snapshot before
curl -X POST "$API/email-accounts" -H "Content-Type: application/json" \
    -d "{\"email\": \"bob@example.org\", \"primaryCertificateId\": \"$bob\"}"
expect 401 "an API key is required"
body_is .error Unauthorized
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" || fail "401 without WWW-Authenticate"
curl -X GET "$API/status" -H "Authorization: Basic dXNlcjpwYXNz"
expect 401 "must be: Bearer KEY"
KEY=mtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA api GET /status
expect 401 "unknown API key"
assert_unchanged

# 403: a read key on write endpoints, a write key on admin ones, another organisation
refused_as() { # KEY STATUS MESSAGE METHOD PATH [curl options]
    local key=$1
    shift
    KEY=$key refused "$@"
}
body='{"email": "bob@example.org", "primaryCertificateId": "'$bob'"}'
refused_as "$READ" 403 "this API key has the read scope; POST email-accounts needs write" \
    POST /email-accounts -H "Content-Type: application/json" -d "$body"
refused_as "$READ" 403 "needs write" POST /certificates/upload/p12 -H "Content-Type: application/json" \
    -d "{\"certificateData\": \"$(p12_base64 alice)\", \"password\": \"$(p12_password alice)\"}"
refused_as "$READ" 403 "needs write" PATCH "/certificates/$bob" -H "Content-Type: application/json" \
    -d '{"friendlyName": "x"}'
refused_as "$WRITE" 403 "this API key has the write scope; DELETE certificates/{certificateId} needs admin" \
    DELETE "/certificates/$bob"
refused_as "$WRITE" 403 "needs admin" GET /audit
refused_as "$OTHER" 403 "this API key is not valid for organization example" GET /status
curl -X GET "$BASE/v3/organizations/1/smime/status" -H "Authorization: Bearer $OTHER"
expect 403 "not valid for organization 1"
curl -X GET "$BASE/v3/organizations/nosuch/smime/status" -H "Authorization: Bearer $OTHER"
expect 403 "not valid for organization nosuch" # the same words whether it exists or not
KEY=$READ api GET "/certificates/$bob"
expect 200
KEY=$READ api GET /status
expect 200
body_is .organization.name "$ORG"
KEY=$WRITE api_json POST /email-accounts "$body"
expect 201

# Changes are audited with the key's id as the actor; reads change nothing.
KEY=$ADMIN api GET "/audit?limit=3"
expect 200
body_is '[.events[].action] | join(",")' "account.create,token.create,cert.import"
body_is '[.events[].actor] | unique | join(",")' "api:key-$write_id"
body_is .limit 3
[ "$(jq -r .total "$T/body")" -gt 3 ] || fail "audit total counts only the page"
KEY=$ADMIN api GET "/audit?limit=1&offset=2"
body_is '.events[0].action' cert.import
[ "$(sql "SELECT count(*) FROM events WHERE actor = 'api:key-$read_id'")" = 0 ] ||
    fail "a read key changed something"

# A revoked key is refused from its next request, with no restart.
KEY=$REVOKED api GET /status
expect 200
run 0 api-key revoke --org "$ORG" "$revoked_id"
out_has "API key $revoked_id revoked"
run 4 api-key revoke --org "$ORG" "$revoked_id"
err_has "already revoked"
run 3 api-key revoke --org other "$revoked_id"
KEY=$REVOKED refused 401 "API key $revoked_id was revoked at" GET /status
run 0 --json api-key list --org "$ORG"
jq -e 'all(.apiKeys[]; .id != '"$revoked_id"')' "$T/out" >/dev/null || fail "list shows the revoked key"
run 0 --json api-key list --org "$ORG" --all
jq -e 'any(.apiKeys[]; .id == '"$revoked_id"' and .revokedAt != null)' "$T/out" >/dev/null ||
    fail "list --all does not show the revoked key"
# An expired key (its date moved into the past behind the API's back: to the
# moment it was made)
sql "UPDATE api_keys SET expires_at = created_at WHERE id = $read_id"
KEY=$READ refused 401 "API key $read_id expired at" GET /status
check_openapi
stop_server

# Repeated failures from one address are slowed down: after api_auth_failures
# (3 here) a minute, 429 with Retry-After, even with a good key.
write_config "api_auth_failures = 3"
start_server
for i in 1 2 3; do
    KEY=mtk_BAD${i}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA api GET /status
    expect 401 "unknown API key"
done
KEY=$ADMIN api GET /status
expect 429 "too many failed authentications from 127.0.0.1: try again in"
retry=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$T/headers" | tr -d '\r')
[ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 20 ] || fail "Retry-After is '$retry', not 1..20 s"
log_has "GET /v3/organizations/example/smime/status 429 "
check_openapi
stop_server
echo ok
