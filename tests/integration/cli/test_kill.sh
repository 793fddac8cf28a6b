# kill -9 in the middle of a bulk import leaves a consistent store; running the
# same command again completes it with no duplicates.
. "$(dirname "$0")/lib.sh"
: "${MT_CLI_BULK:?MT_CLI_BULK is not set}"
init_store
pw=$(secret_file bulk-pw bulk-password)
count() { mt --json status | jq -r ".counts.$1"; }

"$MT_BIN" --quiet cert import --account auto --dir "$MT_CLI_BULK" --password-file "$pw" \
    >"$T/first.out" 2>"$T/first.err" &
pid=$!
n=0
for _ in $(seq 1 3000); do
    # status may find the store locked by the import's write: then ask again
    n=$(count certificates 2>/dev/null) || n=0
    [ "$n" -ge 100 ] && break
    kill -0 "$pid" || break
    sleep 0.02
done
[ "$n" -ge 100 ] || fail "the import did not get to 100 certificates ($n)"
kill -9 "$pid" || fail "the import ended before it could be killed ($n imported)"
code=0
wait "$pid" || code=$?
[ "$code" -eq 137 ] || fail "import exit $code after kill -9, expected 137"

# Consistent: SQLite intact, every imported certificate has its account (one
# transaction per file), nothing half-written.
[ "$(sqlite3 "$MAILTOKEN_STORE" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
[ "$(sqlite3 "$MAILTOKEN_STORE" 'PRAGMA foreign_key_check' | wc -l)" -eq 0 ] || fail "foreign keys"
certs=$(count certificates)
accounts=$(count accounts)
# The kill landed mid-import: after the $n seen before it, before the end.
[ "$certs" -ge "$n" ] && [ "$certs" -lt 1000 ] || fail "$certs certificates after the kill ($n before it)"
[ "$certs" -eq "$accounts" ] || fail "$certs certificates but $accounts accounts after the kill"
[ "$(count certificatesWithKey)" -eq "$certs" ] || fail "a certificate lost its key"

# The same command again: completes, reports what was there, duplicates nothing.
run 0 --json --quiet cert import --account auto --dir "$MT_CLI_BULK" --password-file "$pw"
jq_is .summary.present "$certs"
jq_is .summary.imported "$((1000 - certs))"
jq_is .summary.failed 0
[ "$(count certificates)" -eq 1000 ] || fail "$(count certificates) certificates after the rerun"
[ "$(count accounts)" -eq 1000 ] || fail "$(count accounts) accounts after the rerun"
[ "$(count tokens)" -eq 1000 ] || fail "$(count tokens) tokens after the rerun"
run 0 --json cert list
jq_is '[.certificates[].fingerprint] | unique | length' 1000
run 0 --json account list
jq_is '[.accounts[] | select(.certificateHistory | length != 1)] | length' 0
echo "killed after $certs of 1000 ($n seen before the kill); rerun completed"
echo ok
