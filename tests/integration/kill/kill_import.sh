# kill -9 of `mailtoken cert import --dir` (200 P12s) at random moments,
# round after round, with the store on a PostgreSQL server: after each kill
# nothing is duplicated or half-imported (every certificate with its account,
# token and key; `org verify` clean), and running the import once more
# completes it, reporting what was there as present.
#   kill_import.sh MAILTOKEN  (under with-postgres.sh, MT_CLI_BULK set)
: "${MT_TEST_PG:?run under tests/pg/with-postgres.sh}" "${MT_CLI_BULK:?MT_CLI_BULK is not set}"
. "$(dirname "$0")/../cli/lib.sh"
init_store
pw=$(secret_file bulk-pw bulk-password)
TOTAL=200
ROUNDS=4
# a folder of the first TOTAL generated P12s (the whole 1,000 take too long)
mkdir "$T/in"
mapfile -t files < <(find "$MT_CLI_BULK" -name '*.p12' | sort)
ln -s "${files[@]:0:TOTAL}" "$T/in/"
[ "$(find "$T/in" -name '*.p12' | wc -l)" -eq "$TOTAL" ] || fail "fewer than $TOTAL P12s in $MT_CLI_BULK"
count() { mt --json status | jq -r ".counts.$1"; }

# The store as a kill may leave it: whole files only, each certificate once.
consistent() {
    certs=$(count certificates)
    local accounts tokens keys
    accounts=$(count accounts) tokens=$(count tokens) keys=$(count certificatesWithKey)
    [ "$certs" -eq "$accounts" ] || fail "$1: $certs certificates but $accounts accounts"
    [ "$tokens" -eq "$accounts" ] || fail "$1: $accounts accounts but $tokens tokens"
    [ "$keys" -eq "$certs" ] || fail "$1: $certs certificates but $keys with their key"
    run 0 --json cert list
    jq_is '[.certificates[].fingerprint] | unique | length' "$certs"
    run 0 --json account list
    jq_is '[.accounts[] | select(.certificateHistory | length != 1)] | length' 0
        run 0 org verify --so-pin-file "$SO_PIN"
}

before=0
for round in $(seq "$ROUNDS"); do
    # the import takes up where the last one was killed; the kill comes after
    # a random number of new certificates, at a random point of a file
    "$MT_BIN" --quiet cert import --account auto --dir "$T/in" --password-file "$pw" \
        >"$T/import.out" 2>"$T/import.err" &
    pid=$!
    target=$((before + 5 + RANDOM % 30))
    n=$before
    for _ in $(seq 1 3000); do
        n=$(count certificates 2>/dev/null) || n=$before
        [ "$n" -ge "$target" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    [ "$n" -ge "$target" ] || fail "round $round: the import did not get to $target certificates ($n)"
    sleep "0.0$((RANDOM % 10))"
    kill -9 "$pid" || fail "round $round: the import ended before it could be killed"
    code=0
    wait "$pid" || code=$?
    [ "$code" -eq 137 ] || fail "round $round: import exit $code after kill -9, expected 137"
    consistent "round $round"
    [ "$certs" -ge "$n" ] && [ "$certs" -lt "$TOTAL" ] ||
        fail "round $round: $certs certificates after the kill ($n seen before it)"
    echo "round $round: killed after $certs certificates"
    before=$certs
done

# Once more to the end: what was there is present, the rest imported, once.
run 0 --json --quiet cert import --account auto --dir "$T/in" --password-file "$pw"
jq_is .summary.present "$before"
jq_is .summary.imported "$((TOTAL - before))"
jq_is .summary.failed 0
consistent "after the rerun"
[ "$certs" -eq "$TOTAL" ] || fail "$certs certificates after the rerun"
echo ok
