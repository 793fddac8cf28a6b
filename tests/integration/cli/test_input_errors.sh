# Bad input off the API's paths: a malformed --passwords file, folders nested
# too deep, a locked PIN, bad CA profile options and broken CA credentials.
# Each is named, with its exit code, and the store does not move.
. "$(dirname "$0")/lib.sh"
{ cat "$FAST_KDF_CONF"; printf 'pin_max_failures = 3\n'; } >"$T/mailtoken.conf"
export MAILTOKEN_CONF=$T/mailtoken.conf
init_store

# --passwords: a line without a password, an unterminated quote.
mkdir "$T/in"
cp "$TD/users/alice.p12" "$TD/users/bob.p12" "$T/in/"
csv() { printf "$2" >"$T/$1"; chmod 600 "$T/$1"; echo "$T/$1"; }
fails_cleanly 5 "no-password.csv:2: expected \`file,password\`" cert import --dir "$T/in" \
    --passwords "$(csv no-password.csv 'alice.p12,alice-secret-1\nbob.p12\n')"
fails_cleanly 5 "quote.csv:1" cert import --dir "$T/in" \
    --passwords "$(csv quote.csv 'alice.p12,"alice-secret-1\n')"
fails_cleanly 1 "$T/none.csv" cert import --dir "$T/in" --passwords "$T/none.csv"

# Folders nested deeper than 64 levels, and a folder that links to itself.
deep=$T/deep
for _ in $(seq 70); do deep=$deep/d; done
mkdir -p "$deep"
cp "$TD/users/alice.p12" "$deep/"
fails_cleanly 5 "folders nested too deep" cert import --dir "$T/deep" --password-file "$TD/users/alice.pass"
mkdir -p "$T/loop/inner"
ln -s .. "$T/loop/inner/up"
fails_cleanly 5 "folders nested too deep" cert import --dir "$T/loop" --password-file "$TD/users/alice.pass"

# A locked PIN: 3 wrong ones lock the token (pin_max_failures = 3); then the
# right PIN is refused too, until the SO sets a new one.
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
for _ in 1 2 3; do
    run 6 account set-pin alice@example.org --pin-file "$USER_PIN2" --new-pin-file "$USER_PIN2"
done
export SNAPSHOT_SKIP='tokens|events|sqlite_sequence' # (the token keeps its failure counter, the log the refusal)
fails_cleanly 6 "PIN locked" account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
unset SNAPSHOT_SKIP
run 6 --json account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
jq_is .error pin-locked
run 0 --json account show alice@example.org
[ "$(jq .token.failedLogins "$T/out")" -ge 3 ] || fail "the failed PINs are not counted: $(cat "$T/out")"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 0 account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"

# ca add: options it does not know or values they do not take.
creds=$(secret_file creds "$(printf 'login = apiuser\npassword = apipass')")
fails_cleanly 5 "--option timout_ms: unknown option" ca add ca --kind sectigo \
    --url https://ca.example/products --credentials "$creds" --option timout_ms=5000
for bad in "timeout_ms=abc|'abc' is not a whole number" "timeout_ms=0|0 is not from 1" \
           "retry_max=-1|'-1' is not a whole number" "response_format=3|3 is not from 0 to 2" \
           "hash=md5|'md5' is not sha256" "key=rsa1024|'rsa1024' is not rsa2048" \
           "ca_bundle=$T/none.pem|$T/none.pem: cannot be read" "product=|a text value is required" "firstname=42|a text value is required"; do
    fails_cleanly 5 "--option ${bad%%=*}: ${bad#*|}" ca add ca --kind sectigo \
        --url https://ca.example/products --credentials "$creds" --option "${bad%%|*}"
done
fails_cleanly 2 "'noeq' is not KEY=VALUE" ca add ca --kind sectigo --url https://ca.example/products \
    --credentials "$creds" --option noeq
fails_cleanly 2 "--kind must be sectigo or internetx" ca add ca --kind digicert \
    --url https://ca.example/products --credentials "$creds"
fails_cleanly 2 "is not an https:// URL" ca add ca --kind sectigo --url http://ca.example/products \
    --credentials "$creds"
fails_cleanly 5 "contact_id" ca add ca --kind internetx --url https://ca.example/v1 --credentials "$creds"
chmod 644 "$creds"
fails_cleanly 5 "must be mode 0600 (it is 0644)" ca add ca --kind sectigo \
    --url https://ca.example/products --credentials "$creds"
chmod 600 "$creds"
fails_cleanly 1 "$T/missing-creds: No such file" ca add ca --kind sectigo \
    --url https://ca.example/products --credentials "$T/missing-creds"
fails_cleanly 5 "not a regular file" ca add ca --kind sectigo --url https://ca.example/products \
    --credentials "$T/in"
run 0 ca add ca --kind sectigo --url https://127.0.0.1:9/products --credentials "$creds" \
    --option timeout_ms=2000 --option order.alice@example.org=1000001 --option hash=sha384

# A credentials file broken after `ca add`: read when a request needs it, it
# is refused before anything is sent, naming the file and line (exit 6: the
# profile's credentials).
for broken in "login = apiuser|'password' is missing" "login apiuser|creds:1: expected key = value" \
              "login = apiuser\npassword = x\nuser = y|creds:3: unknown key 'user'"; do
    printf "${broken%%|*}\n" >"$creds"
    run 6 ca test ca
    err_has "$creds"
    err_has "${broken#*|}"
done
# A renewal stops on it before ordering; the primary stays.
run 0 --json account show alice@example.org
primary=$(jq -r .primaryCertificateId "$T/out")
run 6 renew alice@example.org --ca ca --key ec-p256
run 0 --json renew status alice@example.org --all
jq_is '.renewals[0].state' needs-attention
jq_is '.renewals[0].lastError | test("creds:3: unknown key")' true
run 0 --json account show alice@example.org
jq_is .primaryCertificateId "$primary"
grep -qF apiuser "$MAILTOKEN_STORE"* && fail "the CA login reached the store"
echo ok
