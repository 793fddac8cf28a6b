# The simulators check requests as the real services do (ca-protocols.md §2,
# §4): method, login, unknown / missing / invalid arguments, key sizes,
# response formats, headers, rate limit, poll queue order; faults on demand.
SIM=${1:?usage: test-sim.sh PATH-TO-mt-ca-sim}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mt-sim.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

start() { # start KIND ARGS...
    [ -n "$PID" ] && kill "$PID" && wait "$PID" 2>/dev/null
    rm -f "$T/port"
    "$SIM" --kind "$1" --ca-dir "$MT_TESTDATA/ca" --port-file "$T/port" --cert-file "$T/srv.crt" \
        "${@:2}" &
    PID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    [ -s "$T/port" ] || fail "simulator $1 did not start"
    BASE=https://127.0.0.1:$(cat "$T/port")
}
# expect STATUS BODY-START CURL-ARGS...: the server answers HTTP STATUS with a
# body that starts with BODY-START (the body is left in $T/body).
expect() {
    local status=$1 want=$2 code fail_opt=()
    shift 2
    [[ $status == 2* ]] && fail_opt=(--fail-with-body)
    code=$(curl -sS "${fail_opt[@]}" -o "$T/body" -w '%{http_code}' --cacert "$T/srv.crt" "$@") ||
        fail "curl $*: exit $?: $(head -c 300 "$T/body")"
    [ "$code" = "$status" ] || fail "curl $*: HTTP $code, expected $status: $(head -c 300 "$T/body")"
    case "$(cat "$T/body")" in
    "$want"*) ;;
    *) fail "curl $*: got '$(head -c 300 "$T/body")', expected '$want...'" ;;
    esac
}

openssl req -new -newkey rsa:1024 -nodes -keyout "$T/small.key" -out "$T/small.csr" \
    -subj "/CN=x" 2>/dev/null || fail "openssl req (rsa 1024)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ok.key" \
    -out "$T/ok.csr" -subj "/CN=alice@example.org" 2>/dev/null || fail "openssl req (p-256)"

# ---- Sectigo
start sectigo --order 1000001:alice@example.org --pending-polls 1
R=$BASE/products/!AutoReplaceSMIME
C=$BASE/products/download/CollectSMIME
L=(-d loginName=apiuser -d loginPassword=apipass)
expect 200 "-17" "$R?loginName=apiuser"
expect 200 "-16" -d loginName=apiuser -d loginPassword=nope "$R"
expect 200 "-3" -d loginName=apiuser "$R"
expect 200 "-2" "${L[@]}" -d bogus=1 "$R"
expect 200 "-3" "${L[@]}" -d orderNumber=1000001 "$R"
expect 200 '{"errorCode":-4' "${L[@]}" -d responseFormat=2 -d orderNumber=1000001 -d csr=junk "$R"
expect 200 "errorCode=-13" "${L[@]}" -d responseFormat=1 -d orderNumber=1000001 \
    --data-urlencode "csr@$T/small.csr" "$R"
expect 200 "-4" "${L[@]}" -d orderNumber=999 --data-urlencode "csr@$T/ok.csr" "$R"
expect 200 '{"errorCode":0}' "${L[@]}" -d responseFormat=2 -d ORDERNUMBER=1000001 \
    --data-urlencode "csr@$T/ok.csr" "$R"
expect 200 '{"errorCode":-22' "${L[@]}" -d responseFormat=2 -d orderNumber=1000001 \
    --data-urlencode "csr@$T/ok.csr" "$R"
expect 200 "0" "${L[@]}" -d orderNumber=1000001 -d queryType=1 "$C"
expect 200 "2" "${L[@]}" -d orderNumber=1000001 -d queryType=1 "$C"
[ "$(head -1 "$T/body")" = 2 ] || fail "collect: $(head -3 "$T/body")"
tail -n +2 "$T/body" >"$T/chain.pem"
# Issuing CA first, the leaf last (clients must find the leaf by its key).
awk '/BEGIN/{n++} {print > "'"$T"'/part-" n ".pem"}' "$T/chain.pem"
leaf=$T/part-3.pem
[ -s "$leaf" ] || fail "collect returned $(grep -c BEGIN "$T/chain.pem") certificates, expected 3"
openssl verify -CAfile "$MT_TESTDATA/ca/root.crt" -untrusted "$MT_TESTDATA/ca/sub.crt" "$leaf" \
    >/dev/null || fail "issued certificate does not verify"
[ "$(openssl x509 -in "$leaf" -noout -pubkey)" = "$(openssl pkey -in "$T/ok.key" -pubout)" ] ||
    fail "issued certificate is not for the CSR's key"
openssl x509 -in "$leaf" -noout -ext subjectAltName | grep -q "email:alice@example.org" ||
    fail "issued certificate lacks the email"
expect 200 "" --data-urlencode "spec=rate_limit,submit,1" "$BASE/_control/fault"
expect 200 "-42" "${L[@]}" -d orderNumber=1000001 --data-urlencode "csr@$T/ok.csr" "$R"
expect 200 '{"orders":1,' "$BASE/_control/stats"

# ---- InterNetX
start internetx --login ixuser:ixpass --pending-polls 1 --max-rps 5
A=(-u ixuser:ixpass -H "X-Domainrobot-Context: 4" -H "Content-Type: application/json")
body() { jq -nc --rawfile csr "$T/ok.csr" --arg pw "${1:-Pickup2025abc}" \
    '{certificateType:"MAIL",product:"GLOBALSIGN_PERSONALSIGN_1",name:"alice@example.org",
      lifetime:{unit:"MONTH",period:12},software:"NOT_SET",adminContact:{id:100},
      technicalContact:{id:100},firstname:"Alice",lastname:"Example",password:$pw,hasCsr:true,
      csr:$csr}'; }
# is_status CODE: the InterNetX envelope in $T/body carries this status code.
is_status() { jq -e --arg c "$1" '.status.code == $c' "$T/body" >/dev/null || fail "expected status $1: $(cat "$T/body")"; }
expect 200 '{"stid"' "${A[@]}" "$BASE/v1/hello"
is_status S0000
expect 401 '{"stid"' -H "X-Domainrobot-Context: 4" "$BASE/v1/poll"
is_status E0002
expect 400 '{"stid"' -A "" "${A[@]}" "$BASE/v1/poll"
is_status E0001
sleep 1.1
expect 400 '{"stid"' "${A[@]}" -d "$(body bad-pw)" "$BASE/v1/certificate"
grep -q password "$T/body" || fail "bad pickup password: $(cat "$T/body")"
expect 200 '{"stid"' "${A[@]}" -H "X-Domainrobot-Ctid: c-1" -d "$(body)" "$BASE/v1/certificate"
jq -e '.status.code == "N400101" and .ctid == "c-1" and .data[0].status == "RUNNING"' "$T/body" \
    >/dev/null || fail "certificate create: $(cat "$T/body")"
job=$(jq -r '.data[0].id' "$T/body")
sleep 1.1
expect 200 '{"stid"' "${A[@]}" "$BASE/v1/job/$job"
jq -e '.data[0].job.status == "SUCCESS"' "$T/body" >/dev/null || fail "job: $(cat "$T/body")"
expect 200 '{"stid"' "${A[@]}" "$BASE/v1/poll"
jq -e '.data[0].ctid == "c-1"' "$T/body" >/dev/null || fail "poll: $(cat "$T/body")"
msg=$(jq -r '.data[0].id' "$T/body")
expect 404 '{"stid"' "${A[@]}" -X PUT "$BASE/v1/poll/1"
expect 200 '{"stid"' "${A[@]}" -X PUT "$BASE/v1/poll/$msg"
expect 200 '{"stid"' "${A[@]}" "$BASE/v1/poll"
jq -e '.data | length == 0' "$T/body" >/dev/null || fail "the confirmed message is still queued: $(cat "$T/body")"
start internetx --login ixuser:ixpass --max-rps 1
codes=""
for i in 1 2 3 4; do
    codes="$codes $(curl -sS -o /dev/null -w '%{http_code}' --cacert "$T/srv.crt" "${A[@]}" \
        "$BASE/v1/poll")"
done
case "$codes" in *429*) ;; *) fail "over 1 request per second: HTTP$codes" ;; esac
echo PASS
