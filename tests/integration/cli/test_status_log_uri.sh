# status, log (every filter) and uri (RFC 7512, as the module presents tokens).
. "$(dirname "$0")/lib.sh"
init_store
alice=$(import_user alice --account auto)
frank=$(import_user frank --account auto)
partner=$(import_pem "$TD/users/partner.crt")

# status: path, organisation, counts, expiring soon (frank is expired), renewals.
run 0 status
out_has "store            $MAILTOKEN_STORE"
out_has "organisation     example"
out_has "accounts         2 (2 internal, 0 external)"
out_has "certificates     3 (2 with a private key)"
out_has "frank@example.org"
run 0 --json status
jq_is .store.path "$MAILTOKEN_STORE"
jq_is .organization.name example
jq_is .counts.accounts 2
jq_is .counts.internalAccounts 2
jq_is .counts.certificates 3
jq_is .counts.certificatesWithKey 2
jq_is '.expiringSoon.certificates | map(.id) | index('"$frank"') != null' true
jq_is '.expiringSoon.certificates | map(.id) | index('"$alice"') == null' true
jq_is .renewals.pending 0
jq_is '.lastEvent.id > 0' true
run 0 --json status --days 36500
[ "$(jq .expiringSoon.total "$T/out")" -ge 3 ] || fail "status --days: $(cat "$T/out")"
run 2 status --days -1

# log: newest first; filters by action prefix, subject, time, count.
run 0 --json log --limit 0
all=$(jq '.events | length' "$T/out")
[ "$all" -ge 5 ] || fail "only $all events"
jq_is '[.events[].id] == ([.events[].id] | sort | reverse)' true
jq_is '.events[0].actor | startswith("cli:")' true
run 0 --json log --action account.
jq_is '[.events[].action] | unique | join(",")' "account.create"
run 0 --json log --email frank@example.org --action account.
jq_is '.events | length' 1
jq_is '.events[0].subject' frank@example.org
run 0 --json log --limit 2
jq_is '.events | length' 2
run 0 --json log --since 1h --limit 0
jq_is '.events | length' "$all"
run 0 --json log --since 2100-01-01
jq_is '.events | length' 0
# --since DATE: the day of the oldest event (UTC), which holds them all even
# when the test runs across midnight; the day after holds none of them.
run 0 --json log --limit 0
first_day=$(jq -r '.events | map(.at) | min | .[0:10]' "$T/out")
last_day=$(jq -r '.events | map(.at) | max | .[0:10]' "$T/out")
run 0 --json log --since "$first_day" --limit 0
jq_is '.events | length' "$all"
run 0 --json log --since "$(date -u -d "$last_day + 1 day" +%Y-%m-%d)" --limit 0
jq_is '.events | length' 0
run 0 log
out_has "ACTION"
out_has "cert.import"

# uri: model, manufacturer, serial and label as the module shows them.
run 0 --json account show alice@example.org
label=$(jq -r .token.label "$T/out")
serial=$(jq -r .token.serial "$T/out")
[ ${#serial} -eq 16 ] || fail "serial '$serial'"
run 0 uri alice@example.org
uri=$(cat "$T/out")
expected="pkcs11:model=mailtoken%20token;manufacturer=mailtoken;serial=$serial;token=alice%40example.org"
[ "$uri" = "$expected" ] || fail "uri: $uri, expected $expected"
[ "$label" = alice@example.org ] || fail "label $label"
run 0 --json uri alice@example.org
jq_is .uri "$expected"
jq_is .token.manufacturer mailtoken
jq_is .token.model "mailtoken token"
# --type: id= (CKA_ID, 20 bytes), object= (the primary's label), type=.
for type in cert private public; do
    run 0 uri alice@example.org --type "$type"
    out_has "$expected;id="
    out_has ";object=alice%40example.org;type=$type"
    id=$(sed 's/.*;id=\([^;]*\);.*/\1/' "$T/out" | tr -d '%')
    [ ${#id} -eq 40 ] || fail "id= is not 20 bytes: $id"
done
# The id is SHA-1 of the RSA modulus, as NSS computes CKA_ID.
modulus_sha1=$(openssl x509 -in "$TD/users/alice.crt" -noout -modulus | cut -d= -f2 | xxd -r -p | sha1sum | cut -c1-40)
[ "$(echo "$id" | tr A-F a-f)" = "$modulus_sha1" ] || fail "id $id is not SHA-1 of the modulus ($modulus_sha1)"

# An email longer than a token label: UTF-8-safe truncation with a hash suffix.
bulk=$MT_BUILD_DIR/tests/tools/mt-gen-bulk
"$bulk" --out "$T/long" --count 1 --password pw --domain a-rather-long-subdomain.example.org --ca "$TD/ca" >/dev/null ||
    fail "mt-gen-bulk"
pw=$(secret_file pw pw)
run 0 --json cert import --account auto --password-file "$pw" "$T/long/user00001.p12"
email=$(jq -r '.files[0].accounts[0].email' "$T/out")
[ ${#email} -gt 32 ] || fail "test email $email is not longer than 32 bytes"
run 0 --json account show "$email"
label=$(jq -r .token.label "$T/out")
[ "$(printf %s "$label" | wc -c)" -le 32 ] || fail "label '$label' longer than 32 bytes"
[[ "$label" =~ ~[0-9a-f]{6}$ ]] || fail "label '$label' has no hash suffix"
run 0 uri "$email"
encoded=$(sed 's/.*;token=\([^;]*\).*/\1/' "$T/out")
token=$(printf '%b' "${encoded//%/\\x}") # percent-decoding
[ "$token" = "$label" ] || fail "uri token '$token', label '$label'"
echo ok
