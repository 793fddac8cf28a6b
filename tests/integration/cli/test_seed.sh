# The managed-store API's three scenarios, as an administrator runs them.
. "$(dirname "$0")/lib.sh"
init_store

# Scenario 1: internal user signing — upload a P12, create the account with it as primary.
run 0 --json cert import --friendly-name "Bob Signing Certificate" \
    --password-file "$TD/users/bob.pass" "$TD/users/bob.p12"
bob=$(jq -r '.files[0].certificates[0].id' "$T/out")
jq_is '.files[0].certificates[0].hasPrivateKey' true
run 0 --json account create bob@example.org --primary "$bob" --history "$bob"
jq_is .primaryCertificateId "$bob"
jq_is '.certificateHistory | map(tostring) | join(",")' "$bob"
jq_is .internal true
run 0 --json cert show "$bob"
jq_is .friendlyName "Bob Signing Certificate"
jq_is .kind p12
# Its token holds the key: the URI of the private key object resolves.
run 0 uri bob@example.org --type private
out_has "type=private"
out_has "token=bob%40example.org"

# Scenario 2: encrypting to an external recipient — upload a PEM, create the account.
run 0 --json cert import --friendly-name "External Partner Certificate" "$TD/users/partner.crt"
partner=$(jq -r '.files[0].certificates[0].id' "$T/out")
jq_is '.files[0].certificates[0].hasPrivateKey' false
run 0 --json account create partner@partner.example --primary "$partner" --external
jq_is .internal false
run 0 --json cert show "$partner"
jq_is .kind pem
# Public only: its token has a certificate and no key objects.
run 0 uri partner@partner.example --type cert
out_has "type=cert"
run 3 uri partner@partner.example --type private
err_has "no private key"

# Scenario 3: renewal — upload the new P12, add it to the history, make it primary;
# the old certificate stays in the history (old mail still decrypts and verifies).
old=$(import_user alice-old)
run 0 account create alice@example.org --primary "$old"
new=$(import_user alice)
run 0 --json account add-to-history alice@example.org "$new"
jq_is .primaryCertificateId "$old"
jq_is '.certificateHistory | map(tostring) | join(",")' "$old,$new"
run 0 --json account set-primary alice@example.org "$new"
jq_is .primaryCertificateId "$new"
jq_is '.certificateHistory | map(tostring) | join(",")' "$old,$new"
run 0 --json account show alice@example.org
jq_is '[.certificates[] | .hasPrivateKey] | all' true
# The audit trail has the renewal steps, newest first.
run 0 --json log --email alice@example.org --action account.
jq_is '.events | map(.action) | join(",")' "account.set-primary,account.add-to-history,account.create"

# Listing as the API does (limit/offset) shows all three accounts and four certificates.
run 0 --json account list --limit 20 --offset 0
jq_is '[.accounts[].email] | join(",")' "alice@example.org,bob@example.org,partner@partner.example"
run 0 --json cert list --limit 20 --offset 0
jq_is .total 4
echo ok
