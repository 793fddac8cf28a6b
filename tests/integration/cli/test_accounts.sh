# account commands, --account auto, PINs, delete/purge.
. "$(dirname "$0")/lib.sh"
MT_TRANSCRIPT=$T/transcript # every command's output: no PIN may reach any of it
init_store

# --account auto: onboarding is one command; a newer certificate becomes primary.
run 0 --json cert import --account auto --password-file "$TD/users/alice-old.pass" "$TD/users/alice-old.p12"
old=$(jq -r '.files[0].certificates[0].id' "$T/out")
jq_is '.files[0].accounts[0].email' alice@example.org
jq_is '.files[0].accounts[0].created' true
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
out_has "account  alice@example.org: new primary"
run 0 --json account show alice@example.org
new=$(jq -r '.primaryCertificateId' "$T/out")
[ "$new" != "$old" ] || fail "the newer certificate did not become primary"
jq_is '.certificateHistory | map(tostring) | join(",")' "$old,$new"
jq_is .internal true
jq_is '.certificates | length' 2
jq_is '.token.pinSet' false
# The older one again: stays in the history, does not take the primary back.
run 0 --json cert import --account auto --password-file "$TD/users/alice-old.pass" "$TD/users/alice-old.p12"
jq_is '.files[0].status' present
jq_is '.files[0].accounts[0].madePrimary' false
run 0 --json account show alice@example.org
jq_is .primaryCertificateId "$new"
# A PEM certificate creates an external account.
run 0 --json cert import --account auto "$TD/users/partner.crt"
run 0 --json account show partner@partner.example
jq_is .internal false
# The subject emailAddress is enough.
run 0 --json cert import --account auto --password-file "$TD/users/oscar.pass" "$TD/users/oscar.p12"
jq_is '.files[0].accounts[0].email' oscar@example.org

# account create with --primary and --history by id and by fingerprint.
bob=$(import_user bob)
bob_fp=$(jq -r '.files[0].certificates[0].fingerprint' "$T/out")
run 0 --json account create bob@example.org --primary "$bob_fp"
jq_is .email bob@example.org
jq_is .primaryCertificateId "$bob"
jq_is '.certificateHistory | length' 1
carol=$(import_user carol)
run 0 account create Carol@Example.org --primary "$carol" --history "$carol"
out_has "account carol@example.org: created"

# list (table, JSON, paging) and show
run 0 account list
out_has "alice@example.org"
out_has "external"
run 0 --json account list
jq_is .total 5
run 0 --json account list --limit 2 --offset 1
jq_is '.accounts | length' 2
jq_is .offset 1
run 0 account show alice@example.org
out_has "internal"
out_has "user PIN         not set"

# set-primary back to the old certificate, then forward again; add-to-history is idempotent.
run 0 --json account set-primary alice@example.org "$old"
jq_is .primaryCertificateId "$old"
run 0 account set-primary alice@example.org "$new"
out_has "primary set"
export SNAPSHOT_SKIP=meta # (every commit counts in meta's generation)
snapshot before
run 0 --json account add-to-history alice@example.org "$old"
jq_is '.certificateHistory | length' 2
assert_unchanged
unset SNAPSHOT_SKIP

# PINs: the first with the SO PIN, then changed with the old one; never on the command line.
run 5 account reset-pin alice@example.org
err_has "SO PIN: not given: use --so-pin-file"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
out_has "user PIN set"
run 0 --json account show alice@example.org
jq_is '.token.pinSet' true
run 0 account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
out_has "user PIN changed"
# a wrong PIN changes nothing but its counter and the audit trail
WRONG_PIN_MOVES='tokens|events|sqlite_sequence' WRONG_SO_PIN_MOVES='organizations|events|sqlite_sequence'
SNAPSHOT_SKIP=$WRONG_PIN_MOVES fails_cleanly 6 "incorrect PIN" account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN"
run 0 --json account show alice@example.org
jq_is '.token.failedLogins' 1
run 0 --json log --action token.login-failed
jq_is '.events[0].subject' alice@example.org
jq_is '.events[0].detail.failedLogins' 1
jq_is '.events[0].actor' "cli:$(id -un)"
SNAPSHOT_SKIP=$WRONG_SO_PIN_MOVES fails_cleanly 6 "incorrect SO PIN" account reset-pin alice@example.org --so-pin-file "$USER_PIN" --new-pin-file "$USER_PIN"
run 0 --json org show
jq_is .soFailedLogins 1
short=$(secret_file short '1234')
fails_cleanly 5 "PIN" account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$short"
MY_PIN=user-secret-5678 MY_NEW=user-secret-9999 run 0 account set-pin alice@example.org --pin-env MY_PIN --new-pin-env MY_NEW
run 0 account set-pin alice@example.org --pin-fd 5 --new-pin-fd 6 5<<<"user-secret-9999" 6<"$USER_PIN"
run 0 --json account reset-pin bob@example.org --so-pin-fd 3 --new-pin-file "$USER_PIN" 3<"$SO_PIN"
jq_is .pinSet true
fails_cleanly 6 "no user PIN set yet" account set-pin carol@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
run 2 account set-pin alice@example.org --so-pin-file "$SO_PIN"
err_has "reset-pin"

# delete: the certificates stay; --purge removes the unused ones.
run 0 --json cert list
before=$(jq .total "$T/out")
run 0 account delete carol@example.org
out_has "deleted"
run 3 account show carol@example.org
run 0 --json cert list
jq_is .total "$before"
run 0 --json account delete bob@example.org --purge --yes
jq_is .purged true
run 3 cert show "$bob"
run 0 --json cert list
jq_is .total "$((before - 1))"
# A deleted account can be created again; its token number is kept.
run 0 account create carol@example.org --primary "$carol"
# ... but not the previous holder's PIN: the SO sets the next one.
run 0 cert import --account auto --password-file "$TD/users/bob.pass" "$TD/users/bob.p12"
fails_cleanly 6 "no user PIN set yet" account set-pin bob@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
run 0 --json account show bob@example.org
jq_is '.token.pinSet' false

# No PIN in the output of any command above, nor in what the store holds.
[ "$(grep -c "@example.org" "$MT_TRANSCRIPT")" -gt 20 ] || fail "the transcript misses the commands' output"
for secret in user-secret so-secret-1234; do
    ! grep -qF "$secret" "$MT_TRANSCRIPT" || fail "a PIN reached the output: $(grep -F "$secret" "$MT_TRANSCRIPT")"
    store_lacks "$secret"
done
echo ok
