# Every error case of the managed-store API (400, 404, 409) through the tool:
# the message names the field, the exit code says which, the store does not move.
. "$(dirname "$0")/lib.sh"
init_store
alice=$(import_user alice)
old=$(import_user alice-old)
bob=$(import_user bob)
partner=$(import_pem "$TD/users/partner.crt")
run 0 account create alice@example.org --primary "$alice"
run 0 --json status

# 400: validation
fails_cleanly 5 "primaryCertificateId must be present in certificateHistory" \
    account create bob@example.org --primary "$bob" --history "$alice"
fails_cleanly 5 "does not name bob@example.org" account create bob@example.org --primary "$alice"
fails_cleanly 5 "does not name bob@example.org" \
    account create bob@example.org --primary "$bob" --history "$bob,$alice"
fails_cleanly 5 "not a valid email address" account create not-an-email --primary "$bob"
fails_cleanly 5 "does not name alice@example.org" account add-to-history alice@example.org "$partner"
fails_cleanly 5 "neither an id nor a SHA-256 fingerprint" cert show xyz
fails_cleanly 5 "neither an id nor a SHA-256 fingerprint" account create bob@example.org --primary zz:zz
bad_utf8=$(printf 'caf\xe9')
fails_cleanly 5 "UTF-8" cert update "$alice" --friendly-name "$bad_utf8"
long=$(head -c 5000 /dev/zero | tr '\0' x)
fails_cleanly 5 "description" cert update "$alice" --description "$long"
fails_cleanly 5 "garbage.p12" cert import "$TD/bad/garbage.p12"
# The primary must be in the history: set-primary on a certificate not yet added.
fails_cleanly 5 "alice@example.org" account set-primary alice@example.org "$old"

# 404: not found
fails_cleanly 3 "certificate 9999 not found" cert show 9999
fails_cleanly 3 "certificate 9999 not found" cert update 9999 --friendly-name x
fails_cleanly 3 "certificate 9999 not found" cert export 9999
fails_cleanly 3 "certificate 9999 not found" cert delete 9999
fails_cleanly 3 "not found" cert show "$(printf '%064d' 0)"
fails_cleanly 3 "certificate 9999 not found" account create bob@example.org --primary 9999
fails_cleanly 3 "certificate 9999 not found" account create bob@example.org --primary "$bob" --history "$bob,9999"
fails_cleanly 3 "account nobody@example.org not found" account show nobody@example.org
fails_cleanly 3 "account nobody@example.org not found" account set-primary nobody@example.org "$bob"
fails_cleanly 3 "account nobody@example.org not found" account add-to-history nobody@example.org "$bob"
fails_cleanly 3 "account nobody@example.org not found" account delete nobody@example.org
fails_cleanly 3 "account nobody@example.org not found" \
    account reset-pin nobody@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
fails_cleanly 3 "account nobody@example.org not found" uri nobody@example.org
fails_cleanly 3 "certificate 9999 not found" account add-to-history alice@example.org 9999
fails_cleanly 3 "nowhere" --org nowhere account list

# 409: conflict
fails_cleanly 4 "account alice@example.org already exists" account create alice@example.org --primary "$alice"
fails_cleanly 4 "account alice@example.org already exists" account create ALICE@example.org --primary "$alice"
fails_cleanly 4 "is used by an account" cert delete "$alice"
fails_cleanly 4 'organisation "example" already exists' init --org example --so-pin-file "$SO_PIN"

# --json errors: an object on stdout with the status name and the exit code.
run 4 --json account create alice@example.org --primary "$alice"
jq_is .error conflict
jq_is .exit 4
jq_is '.message | test("already exists")' true
run 3 --json cert show 9999
jq_is .error not-found
run 5 --json account create bob@example.org --primary "$bob" --history "$alice"
jq_is .error invalid
jq_is '.message | endswith("primaryCertificateId must be present in certificateHistory")' true
echo ok
