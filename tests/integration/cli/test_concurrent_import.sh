# Several CLIs import the same P12 at once (as from several hosts sharing a
# store on a server): one stores it, every other finds it already present,
# all succeed, and the store holds it once, with one account and one token.
. "$(dirname "$0")/lib.sh"
init_store
N=6
for round in 1 2 3; do
    for i in $(seq $N); do
        "$MT_BIN" --json cert import --account auto --password-file "$TD/users/alice.pass" \
            "$TD/users/alice.p12" >"$T/out.$round.$i" 2>"$T/err.$round.$i" &
    done
    codes=""
    for job in $(jobs -p); do
        code=0
        wait "$job" || code=$?
        codes+=" $code"
    done
    for i in $(seq $N); do
        [ -s "$T/out.$round.$i" ] || fail "round $round, import $i: no output: $(cat "$T/err.$round.$i")"
    done
    [ "$(echo $codes | tr ' ' '\n' | sort -u)" = 0 ] || fail "round $round: exit codes$codes: $(cat "$T"/err.$round.*)"
    imported=$(cat "$T"/out.$round.* | jq -r '.files[0].status' | grep -c '^imported$' || true)
    present=$(cat "$T"/out.$round.* | jq -r '.files[0].status' | grep -c '^present$' || true)
    want_imported=$([ "$round" = 1 ] && echo 1 || echo 0)
    [ "$imported" = "$want_imported" ] && [ $((imported + present)) = $N ] ||
        fail "round $round: $imported imported, $present present of $N"
done
run 0 --json cert list
jq_is .total 1
run 0 --json account list
jq_is '.accounts | length' 1
run 0 --json status
jq_is .counts.tokens 1
echo ok
