# Renewals against the Sectigo simulator (!AutoReplaceSMIME, CollectSMIME,
# !autoRevokeCertificate): profiles, full renewals, errors, status, cancel.
. "$(dirname "$0")/lib.sh"

make_template
start_sim sectigo --pending-polls 2

# --- CA profiles: the credentials file must be 0600; `ca test` logs in only.
printf 'login = apiuser\npassword = apipass\n' >"$T/open-creds"
chmod 644 "$T/open-creds"
run 5 ca add ca --kind sectigo --url "$SIM_URL" --credentials "$T/open-creds"
err_has "must be mode 0600"
run 2 ca add ca --kind sectigo --url "http://127.0.0.1/products" --credentials "$T/open-creds"
err_has "not an https:// URL"
add_profile sectigo
run 0 ca list
out_has "ca"
run 0 --json ca show ca
[ "$(jq -r .kind "$T/out")" = sectigo ] || fail "ca show: kind"
grep -q apipass "$T/out" && fail "ca show printed the password"
run 0 ca test ca
expect_orders 0 "ca test"
# TLS verification is always on: a server the bundle does not vouch for is refused.
run 0 ca add untrusted --kind sectigo --url "$SIM_URL" --credentials "$T/creds" \
    --option "ca_bundle=$TD/ca/root.crt"
run 9 ca test untrusted
err_has "did not verify"
run 0 ca remove untrusted
printf 'login = apiuser\npassword = wrong\n' >"$T/creds"
run 6 ca test ca
err_has "Sectigo error -16"
printf 'login = apiuser\npassword = apipass\n' >"$T/creds"

# --- Full renewal (replaced in place), with --revoke-old: the new
# certificate becomes primary, the old one stays in the history and is revoked.
run 0 renew "$EMAIL" $(renew_args sectigo) --revoke-old
out_has "done"
expect_done "sectigo in-place renewal"
expect_orders 1 "sectigo in-place renewal"
[ "$(sim_stat revocations)" = 1 ] || fail "the old certificate was not revoked"
[ "$(jq -r .orderRef "$T/renewal")" = 1000001 ] || fail "order number: $(cat "$T/renewal")"
run 0 --json cert show "$(primary)"
jq -e '.emails | index("alice@example.org") != null' "$T/out" >/dev/null || fail "new cert emails"
run 0 --json log --action renewal. --email "$EMAIL" --limit 0
for s in key-ready csr-ready submit-intent submitted pending fetched installed revoke-pending done; do
    jq -e --arg a "renewal.$s" '[.events[].action] | index($a) != null' "$T/out" >/dev/null ||
        fail "audit trail lacks renewal.$s"
done
store_lacks apipass # the CA password
run 0 ca remove ca
run 3 ca show ca

# --- A renewal already under way is a conflict; cancel leaves the primary.
fresh_store
add_profile sectigo --option poll_initial=3600
run 8 renew "$EMAIL" $(renew_args sectigo)
[ "$(renewal_field state)" = pending ] || fail "renewal not pending: $(cat "$T/renewal")"
expect_primary_unchanged "pending renewal"
run 4 renew "$EMAIL" $(renew_args sectigo)
err_has "already pending"
run 0 renew status
out_has "pending"
run 8 renew resume                        # not due yet: nothing sent
run 8 renew resume --now                  # one poll: still being processed
[ "$(renewal_field state)" = pending ] || fail "renewal not pending after one poll"
run 0 renew cancel "$EMAIL"
err_has "may exist at the CA"
[ "$(renewal_field state)" = cancelled ] || fail "renewal not cancelled"
expect_primary_unchanged "cancelled renewal"
run 3 renew cancel "$EMAIL"

# --- New order numbers, the line response format, and the remembered order.
start_sim sectigo --new-order
fresh_store
add_profile sectigo --option response_format=0
run 0 renew "$EMAIL" $(renew_args sectigo)
expect_done "sectigo new-order renewal"
[ "$(jq -r .orderRef "$T/renewal")" = 2000001 ] || fail "new order number: $(cat "$T/renewal")"
run 0 renew "$EMAIL" --key ec-p256          # the next renewal replaces order 2000001
[ "$(renewal_field orderRef)" = 2000002 ] || fail "second renewal: $(cat "$T/renewal")"
expect_orders 2 "two renewals"

# --- No order number known: a clear error, nothing created.
fresh_store
add_profile sectigo
run 5 renew "$EMAIL" --key ec-p256
err_has "no Sectigo order number known"

# --- Wrong credentials: stop, exit 6, nothing ordered, primary unchanged.
start_sim sectigo
fresh_store
add_profile sectigo
printf 'login = apiuser\npassword = wrong\n' >"$T/creds"
run 6 renew "$EMAIL" $(renew_args sectigo)
[ "$(renewal_field state)" = needs-attention ] || fail "auth failure: $(cat "$T/renewal")"
jq -r .lastError "$T/renewal" | grep -q "login refused" || fail "auth message: $(cat "$T/renewal")"
expect_orders 0 "auth failure"
expect_primary_unchanged "auth failure"
run 9 renew resume                          # needs attention: reported, not retried
expect_orders 0 "resume after auth failure"
# --- renew --expiring: every signing account expiring soon, its order number
# from the profile option order.EMAIL.
start_sim sectigo
fresh_store
add_profile sectigo "--option" "order.$EMAIL=1000001"
run 0 renew --expiring 0                    # nothing expires today
[ "$(sim_stat orders)" = 0 ] || fail "renew --expiring 0 ordered"
run 0 renew --expiring 36500 --key ec-p256
expect_done "renew --expiring"
expect_orders 1 "renew --expiring"
echo "PASS"
