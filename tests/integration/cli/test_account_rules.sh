# The rules around an account's keys: a signing account keeps a primary with a
# private key unless the administrator says --external; destroying keys needs
# consent (what goes is said, --yes without a terminal); a certificate leaves
# a history with remove-from-history, never the primary.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tty.sh"
init_store
alice=$(import_user alice)
public=$(import_pem "$TD/users/alice-old.crt") # alice's older certificate, public only

# --- set-primary / create: a public-only primary is refused in the API's words.
run 0 account create alice@example.org --primary "$alice" --history "$alice,$public"
fails_cleanly 5 "primaryCertificateId: certificate $public has no private key; the primary of an internal account must have one" \
    account set-primary alice@example.org "$public"
err_has "--external"
run 0 --json account show alice@example.org
jq_is .internal true
jq_is .primaryCertificateId "$alice"
# Said on purpose: the account becomes external, and says so.
run 0 --json account set-primary alice@example.org "$public" --external
jq_is .internal false
jq_is .primaryCertificateId "$public"
# Back to the key: nothing to refuse.
run 0 account set-primary alice@example.org "$alice"
out_has "primary set"
run 0 account set-primary alice@example.org "$alice"
out_has "unchanged (already the primary)"

run 0 account delete alice@example.org
fails_cleanly 5 "primaryCertificateId: certificate $public has no private key" \
    account create alice@example.org --primary "$public"
err_has "--external creates an external account"
run 0 --json account create alice@example.org --primary "$public" --history "$public,$alice" --external
jq_is .internal false
run 0 account delete alice@example.org
run 0 account create alice@example.org --primary "$alice"

# --- remove-from-history: in the store API, an audit event, never the primary.
run 0 account add-to-history alice@example.org "$public"
out_has "history updated"
run 0 account add-to-history alice@example.org "$public"
out_has "unchanged (already in the history)"
out_lacks "history updated"
fails_cleanly 5 "certificate $alice is the primary" account remove-from-history alice@example.org "$alice"
fails_cleanly 3 "certificate 9999 not found" account remove-from-history alice@example.org 9999
fails_cleanly 3 "account nobody@example.org not found" account remove-from-history nobody@example.org "$public"
run 0 --json account remove-from-history alice@example.org "$public"
jq_is '.certificateHistory | map(tostring) | join(",")' "$alice"
run 0 account remove-from-history alice@example.org "$public"
out_has "unchanged (not in the history)"
run 0 --json log --action account.remove-from-history
jq_is '.events | length' 1
jq_is '.events[0].subject' alice@example.org
jq_is '.events[0].detail.certificateId' "$public"
# What `cert delete` asked for is now possible: out of the history, then deleted.
run 0 cert delete "$public"
run 3 cert show "$public"

# --- consent before keys are destroyed.
bob=$(import_user bob)
run 0 account create bob@example.org --primary "$bob"
# Without a terminal and without --yes: refused, nothing deleted, what would go is said.
fails_cleanly 2 "destroys 1 private key" account delete bob@example.org --purge
err_has "#$bob bob@example.org"
err_has "mail encrypted to it will no longer open"
err_has "--yes"
# Without --purge no key goes: nothing to ask.
carol=$(import_user carol)
run 0 account create carol@example.org --primary "$carol"
run 0 account delete carol@example.org
run 0 cert show "$carol"
# cert delete of a certificate with a key: the same.
fails_cleanly 2 "destroys 1 private key, of #$carol carol@example.org" cert delete "$carol"
run 0 --json cert delete "$carol" --yes
jq_is .deleted "$carol"
# A public-only certificate takes no key with it: no question.
partner=$(import_pem "$TD/users/partner.crt")
run 0 cert delete "$partner"

# On a terminal: the question, and "no" deletes nothing.
on_tty purge "'$MT_BIN' account delete bob@example.org --purge"
wait_for purge "mail encrypted to it will no longer open"
answer purge "Type yes to go ahead: " no
tty_done 2 purge
grep -q "not confirmed: nothing deleted" "$T/purge.log" || fail "no refusal: $(cat -v "$T/purge.log")"
run 0 --json account show bob@example.org
# "yes" goes ahead, and the output says how many keys went.
on_tty purge2 "'$MT_BIN' account delete bob@example.org --purge"
answer purge2 "Type yes to go ahead: " yes
tty_done 0 purge2
grep -q "account bob@example.org deleted with 1 certificate (1 private key)" "$T/purge2.log" ||
    fail "purge on a terminal: $(cat -v "$T/purge2.log")"
run 3 cert show "$bob"
# --yes: no question; --json lists what went.
dave=$(import_user dave)
run 0 account create dave@example.org --primary "$dave"
run 0 --json account delete dave@example.org --purge --yes
jq_is '.certificates | map(tostring) | join(",")' "$dave"
echo ok
