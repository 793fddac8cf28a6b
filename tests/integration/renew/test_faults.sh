# Injected faults against one simulator (kind in $3): each ends in the right
# state with exactly one order and the primary unchanged until a checked
# certificate arrives.
. "$(dirname "$0")/lib.sh"
KIND=${3:?usage: test_faults.sh MAILTOKEN SIM sectigo|internetx}
# The calls made while waiting: Sectigo collects; InterNetX reads the job (or
# finds it in the poll queue) and then the certificate.
if [ "$KIND" = sectigo ]; then POLL=collect FETCH=collect; else POLL=job FETCH=info; fi

make_template

# case WHAT EXIT STATE MESSAGE SIM-ARGS -- FAULTS -- PROFILE-OPTIONS
case_() {
    local what=$1 code=$2 state=$3 message=$4
    shift 4
    local sim_args=() faults=() opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sim_args+=("$1"); shift; done
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do faults+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    opts=("$@")
    fresh_store
    start_sim "$KIND" "${sim_args[@]}"
    local f
    for f in "${faults[@]}"; do sim_fault "$f"; done
    add_profile "$KIND" "${opts[@]}"
    run "$code" renew "$EMAIL" $(renew_args "$KIND")
    local got
    got=$(renewal_field state)
    [ "$got" = "$state" ] || fail "$KIND $what: state $got, expected $state: $(cat "$T/renewal")"
    if [ -n "$message" ]; then
        jq -r .lastError "$T/renewal" | grep -qF -- "$message" ||
            fail "$KIND $what: message lacks '$message': $(jq -r .lastError "$T/renewal")"
    fi
    expect_orders 1 "$KIND $what"
    if [ "$state" = done ]; then expect_done "$KIND $what"; else expect_primary_unchanged "$KIND $what"; fi
    echo "ok: $KIND $what -> $state"
}

case_ "rate limit on the order (x2)" 0 done "" -- rate_limit,submit,2 --
case_ "HTTP 503 on the order" 0 done "" -- http500,submit,1 --
case_ "HTTP 503 while polling (x2)" 0 done "" -- http500,$POLL,2 --
case_ "rate limit while polling (x2)" 0 done "" -- rate_limit,$POLL,2 --
case_ "being issued for 3 polls" 0 done "" --pending-polls 3 -- --
case_ "answer slower than the client time-out" 0 done "" -- slow,submit,1,2500 -- --option timeout_ms=800
case_ "connection dropped after the order" 0 done "" -- drop,submit,1 --
case_ "malformed answer to the order" 0 done "" -- malformed,submit,1 --
case_ "malformed answer while polling" 0 done "" -- malformed,$POLL,1 --
case_ "certificate for another key" 9 needs-attention "another key" -- wrong_key,submit,1 --
case_ "certificate for another email" 9 needs-attention "names mallory@example.org" -- wrong_email,submit,1 --
case_ "certificate not for S/MIME" 9 needs-attention "does not allow emailProtection" -- no_smime,submit,1 --
case_ "issued, but no certificate in the answer" 9 needs-attention "not for the candidate key" \
    -- no_cert,$FETCH,1 --
case_ "CA down for good" 9 needs-attention "gave up after 3 attempts" -- http500,$FETCH,100 -- \
    --option max_attempts=3
if [ "$KIND" = sectigo ]; then
    case_ "new order number lost with the answer" 9 needs-attention "already replaced" \
        --new-order -- drop,submit,1 --
else
    case_ "unrelated poll messages and a lost order answer" 0 done "" -- unrelated,submit,1 drop,submit,1 --
fi
echo "PASS"
