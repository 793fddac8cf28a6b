# `mailtoken renew` as an administrator sees it, against the Sectigo simulator:
# an external account is refused before anything is made, messages name the
# account once and never contradict themselves, and the audit trail holds one
# renewal.planned per renewal and retries summed up, not an event pair per try.
# Sourced helpers: ../renew/lib.sh (the binary as $1, the simulator as $2).
. "$(dirname "$0")/../renew/lib.sh"
make_template

# --- renew on an external account: refused, nothing ordered or stored.
start_sim sectigo
add_profile sectigo --option "order.$EMAIL=1000001"
run 0 --json cert import --account auto "$TD/users/partner.crt"
snapshot_db() { sqlite3 "$MAILTOKEN_STORE" .dump >"$T/db.$1"; }
snapshot_db before
run 5 renew partner@partner.example --order-number 1000001
err_has "an external account"
err_has "does not order certificates for it"
if grep -qF "partner@partner.example: partner@partner.example:" "$T/err"; then
    fail "the account is named twice: $(cat "$T/err")"
fi
snapshot_db after
cmp -s "$T/db.before" "$T/db.after" || fail "a refused renewal changed the store"
expect_orders 0 "external account"
# --expiring leaves external accounts alone as well.
run 0 --json renew --expiring 36500
jq_is '[.renewals[].email] | join(",")' "$EMAIL"

# --- two call limits on the order, then success: one renewal.planned,
# the retries in two events (the first failure, the count at the next step).
fresh_store
start_sim sectigo
sim_fault rate_limit,submit,2
add_profile sectigo
run 0 renew "$EMAIL" $(renew_args sectigo)
expect_done "two retries"
expect_orders 1 "two retries"
run 0 --json log --action renewal. --email "$EMAIL" --limit 0
jq_is '[.events[] | select(.action == "renewal.planned")] | length' 1
jq_is '[.events[] | select(.action == "renewal.retrying")] | length' 1
jq_is '[.events[] | select(.action == "renewal.submitted")][0].detail.failedBefore' 2
for s in key-ready csr-ready submit-intent submitted pending fetched installed done; do
    jq_is "[.events[] | select(.action == \"renewal.$s\")] | length" 1
done
jq_is '.events | length' 10

# --- a CA down for good: the renewal gives up and says so, without "will retry".
fresh_store
start_sim sectigo
sim_fault http500,collect,100
add_profile sectigo --option max_attempts=3
run 9 renew "$EMAIL" $(renew_args sectigo)
last=$(renewal_field lastError)
case $last in
"gave up after 3 attempts: "*) ;;
*) fail "give-up message: $last" ;;
esac
case $last in *"will retry"*) fail "a renewal that gave up says it will retry: $last" ;; esac
run 0 --json log --action renewal. --email "$EMAIL" --limit 0
jq_is '[.events[] | select(.action == "renewal.retrying")] | length' 1
jq_is '[.events[] | select(.action == "renewal.needs-attention")] | length' 1

# --- a renewal under way: the conflict names the account once.
fresh_store
start_sim sectigo
add_profile sectigo --option poll_initial=3600
run 8 renew "$EMAIL" $(renew_args sectigo)
run 4 renew "$EMAIL" $(renew_args sectigo)
err_has "mailtoken renew: $EMAIL: a renewal is already pending"
if grep -qF "$EMAIL: $EMAIL:" "$T/err"; then fail "the account is named twice: $(cat "$T/err")"; fi
# Conflicting options are usage errors, and each subcommand takes its own.
run 2 renew "$EMAIL" bob@example.org --order-number 1000001
err_has "--order-number goes with one EMAIL"
run 2 renew --expiring 30 --order-number 1000001
run 2 renew cancel "$EMAIL" --ca ca
run 2 renew status --now
run 0 renew cancel "$EMAIL"
echo "PASS"
