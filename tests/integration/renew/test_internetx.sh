# Renewals against the InterNetX simulator (certificate create with a CSR, jobs,
# the poll queue, certificate info): full renewal, poll messages, errors.
. "$(dirname "$0")/lib.sh"

make_template
start_sim internetx --pending-polls 2 --fault unrelated,submit,1

run 5 ca add ca --kind internetx --url "$SIM_URL" --credentials /dev/null
err_has "not a regular file"
printf 'login = ixuser\npassword = ixpass\n' >"$T/creds"
chmod 600 "$T/creds"
run 5 ca add ca --kind internetx --url "$SIM_URL" --credentials "$T/creds"
err_has "contact_id"
add_profile internetx
run 0 ca test ca
expect_orders 0 "ca test"

# --- Full renewal: job RUNNING for two polls, unrelated messages at the head
# of the poll queue (stored and confirmed too, or the queue never moves).
run 0 renew "$EMAIL" $(renew_args internetx)
expect_done "internetx renewal"
expect_orders 1 "internetx renewal"
[ "$(jq -r .orderRef "$T/renewal")" = 123456 ] || fail "job id: $(cat "$T/renewal")"
[ "$(jq -r .orderRef2 "$T/renewal")" = 150 ] || fail "certificate id: $(cat "$T/renewal")"
confirmed=$(sim_stat confirmed)
[ "$confirmed" -ge 2 ] || fail "only $confirmed poll messages confirmed"
stored=$(store_sql "SELECT count(*) FROM ca_messages")
[ "$stored" -ge "$confirmed" ] || fail "$confirmed messages confirmed but only $stored stored"
run 0 renew resume                          # drains the rest; nothing left to do
expect_orders 1 "resume after done"
store_lacks ixpass # the CA password

# --- The new key is sealed to alice's token and is the primary's key: the
# certificate InterNetX issued carries the CSR's key (checked at install).
run 0 --json cert show "$(primary)"
[ "$(jq -r '.keyType + " " + .curve' "$T/out")" = "ec P-256" ] ||
    fail "new primary is not the ec-p256 candidate key: $(cat "$T/out")"
[ "$(jq -r .hasPrivateKey "$T/out")" = true ] || fail "new primary has no sealed key"
[ "$(jq -r .chainLength "$T/out")" -ge 1 ] || fail "new primary has no chain"

# --- Wrong context or password: authentication stops the renewal (exit 6).
fresh_store
start_sim internetx --context 9
add_profile internetx
run 6 renew "$EMAIL" $(renew_args internetx)
[ "$(renewal_field state)" = needs-attention ] || fail "auth: $(cat "$T/renewal")"
jq -r .lastError "$T/renewal" | grep -q "HTTP 401" || fail "auth message: $(cat "$T/renewal")"
expect_orders 0 "auth failure"
expect_primary_unchanged "auth failure"

# --- A validation error (unknown contact) fails the renewal with the CA's text.
fresh_store
start_sim internetx --contact 200
add_profile internetx
run 9 renew "$EMAIL" $(renew_args internetx)
[ "$(renewal_field state)" = failed ] || fail "validation: $(cat "$T/renewal")"
jq -r .lastError "$T/renewal" | grep -q "adminContact" || fail "message: $(cat "$T/renewal")"
expect_orders 0 "validation error"
expect_primary_unchanged "validation error"

# --- The client keeps to the documented 3 requests per second by default.
fresh_store
start_sim internetx --max-rps 3
printf 'login = ixuser\npassword = ixpass\n' >"$T/creds"
chmod 600 "$T/creds"
run 0 ca add ca --kind internetx --url "$SIM_URL" --credentials "$T/creds" \
    --option "ca_bundle=$T/sim.crt" --option "trust_anchors=$TD/ca/root.crt" \
    --option poll_initial=0 --option retry_initial=0 --option contact_id=100
run 0 renew "$EMAIL" $(renew_args internetx)
expect_done "rate-limited client"
expect_orders 1 "rate-limited client"
echo "PASS"
