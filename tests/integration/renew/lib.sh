# Shared by the renewal tests: sourced with the mailtoken binary as $1 and the
# CA simulator as $2.  Each test runs in its own temporary directory.

MT_BIN=${1:?usage: test.sh PATH-TO-mailtoken PATH-TO-mt-ca-sim}
SIM_BIN=${2:?usage: test.sh PATH-TO-mailtoken PATH-TO-mt-ca-sim}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
TD=$MT_TESTDATA
T=$(mktemp -d "${TMPDIR:-/tmp}/mt-renew.XXXXXX")
SIM_PID=
# The simulator ends cleanly on SIGTERM: any other end (a crash, a leak found
# under ASan) fails the test.
stop_sim() {
    local code=0
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" || code=$?
        [ "$code" -ne 0 ] || wait "$SIM_PID" || code=$?
        SIM_PID=
        [ "$code" -eq 0 ] || fail "mt-ca-sim did not end cleanly (status $code): $(cat "$T/sim.log")"
    fi
}
trap 'stop_sim; rm -rf "$T"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"
mt_test_home
unset MT_RENEW_KILL_AT

EMAIL=alice@example.org

# The template store: organisation, alice's P12 imported, her account.
make_template() {
    printf 'so-secret-1234\n' >"$T/so-pin"
    run 0 init --org example --so-pin-file "$T/so-pin"
    run 0 cert import "$TD/users/alice.p12" --password-file "$TD/users/alice.pass" --account auto
    run 0 --json account show "$EMAIL"
    OLD_PRIMARY=$(jq -r .primaryCertificateId "$T/out")
    run 0 --json cert show "$OLD_PRIMARY"
    OLD_SERIAL=$(jq -r .serialNumber "$T/out")
    if [ -n "${MT_TEST_PG:-}" ]; then # kept as a SQLite file, copied into a new schema each time
        run 0 store copy --from "$MAILTOKEN_STORE" --to "$T/template.db"
    else
        cp "$MAILTOKEN_STORE" "$T/template.db"
    fi
}

fresh_store() {
    mt_fresh_store
    if [ -n "${MT_TEST_PG:-}" ]; then
        run 0 store copy --from "$T/template.db" --to "$MAILTOKEN_STORE"
    else
        cp "$T/template.db" "$MAILTOKEN_STORE"
    fi
}

# start_sim KIND [SIM OPTIONS...]: a simulator on a free port; sets SIM_URL.
start_sim() {
    local kind=$1
    shift
    stop_sim
    rm -f "$T/port"
    local args=(--kind "$kind" --ca-dir "$TD/ca" --port-file "$T/port" --cert-file "$T/sim.crt")
    if [ "$kind" = sectigo ]; then
        args+=(--order "1000001:$EMAIL:$OLD_SERIAL")
    else
        args+=(--login ixuser:ixpass --max-rps 1000)
    fi
    "$SIM_BIN" "${args[@]}" "$@" 2>"$T/sim.log" &
    SIM_PID=$!
    local i
    for i in $(seq 100); do
        [ -s "$T/port" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || fail "mt-ca-sim $kind exited: $(cat "$T/sim.log")"
        sleep 0.05
    done
    [ -s "$T/port" ] || fail "mt-ca-sim $kind wrote no port file"
    SIM_BASE=https://127.0.0.1:$(cat "$T/port")
    if [ "$kind" = sectigo ]; then SIM_URL=$SIM_BASE/products; else SIM_URL=$SIM_BASE/v1; fi
}

sim_stat() { # sim_stat FIELD (a number)
    local stats
    stats=$(curl -sS --fail --cacert "$T/sim.crt" "$SIM_BASE/_control/stats") ||
        fail "cannot read the simulator's stats"
    [[ $stats =~ \"$1\":([0-9]+) ]] || fail "no $1 in the simulator's stats: $stats"
    echo "${BASH_REMATCH[1]}"
}
sim_fault() { # sim_fault NAME,OP,COUNT[,ARG]
    curl -sS --fail --cacert "$T/sim.crt" --data-urlencode "spec=$1" "$SIM_BASE/_control/fault" \
        >/dev/null || fail "cannot inject fault $1"
}

# add_profile KIND [--option K=V]...: the CA profile "ca" for the running simulator.
add_profile() {
    local kind=$1
    shift
    if [ "$kind" = sectigo ]; then
        printf 'login = apiuser\npassword = apipass\n' >"$T/creds"
    else
        printf 'login = ixuser\npassword = ixpass\ncontext = 4\n' >"$T/creds"
    fi
    chmod 600 "$T/creds"
    local opts=(--option "ca_bundle=$T/sim.crt" --option "trust_anchors=$TD/ca/root.crt"
        --option poll_initial=0 --option retry_initial=0 --option rate_limit_initial=0
        --option timeout_ms=10000 --option max_rps=0)
    [ "$kind" = internetx ] && opts+=(--option contact_id=100)
    run 0 ca add ca --kind "$kind" --url "$SIM_URL" --credentials "$T/creds" "${opts[@]}" "$@"
}

# renew_args KIND: what `renew` needs besides the email.
renew_args() {
    if [ "$1" = sectigo ]; then echo --key ec-p256 --order-number 1000001; else echo --key ec-p256; fi
}

# The newest renewal of alice as JSON in $T/renewal.
last_renewal() {
    "$MT_BIN" --json renew status "$EMAIL" --all >"$T/status" 2>"$T/err" ||
        fail "renew status: $(cat "$T/err")"
    jq '.renewals | max_by(.id)' "$T/status" >"$T/renewal"
}
renewal_field() { last_renewal; jq -r ".$1" "$T/renewal"; }

primary() {
    "$MT_BIN" --json account show "$EMAIL" >"$T/acct" 2>"$T/err" || fail "account show: $(cat "$T/err")"
    jq -r .primaryCertificateId "$T/acct"
}

expect_done() { # the renewal finished: new primary, old one kept in the history
    local what=$1 verdict
    last_renewal
    primary >/dev/null
    # One jq run over both documents (this test runs many times).
    verdict=$(jq -rn --slurpfile r "$T/renewal" --slurpfile a "$T/acct" --argjson old "$OLD_PRIMARY" '
        $r[0] as $r | $a[0] as $a |
        if $r.state != "done" then "state \($r.state), expected done (\($r.lastError))"
        elif $a.primaryCertificateId != $r.newCertificateId then
            "primary \($a.primaryCertificateId), expected the new certificate \($r.newCertificateId)"
        elif $a.primaryCertificateId == $old then "primary unchanged"
        elif ($a.certificateHistory | length) != 2 or ($a.certificateHistory | index($old)) == null
        then "history \($a.certificateHistory)"
        else "ok" end') || fail "$what: cannot read the renewal or the account"
    [ "$verdict" = ok ] || fail "$what: $verdict"
}

expect_orders() { # expect_orders N WHAT
    local n
    n=$(sim_stat orders)
    [ "$n" = "$1" ] || fail "$2: $n orders at the simulator, expected $1"
}

expect_primary_unchanged() {
    local p
    p=$(primary)
    [ "$p" = "$OLD_PRIMARY" ] || fail "$1: primary changed to $p"
}
