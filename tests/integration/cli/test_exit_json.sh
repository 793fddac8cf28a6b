# Exit codes and --json as documented, for every command: a missing file is
# exit 1 whichever option names it; text that is not UTF-8 is bad input (5);
# an import where every file failed has a documented code; --json prints
# exactly one JSON document; --quiet keeps the summary; options that exclude
# each other are usage errors; a pipe works as a secret file.
. "$(dirname "$0")/lib.sh"
init_store
alice=$(import_user alice)
run 0 account create alice@example.org --primary "$alice"
NOPE=$T/no-such-file

# --- a missing file: exit 1, the file named, whichever option reads it.
missing_file() { # missing_file ARGS...: exit 1, naming $NOPE
    run 1 "$@"
    err_has "$NOPE: No such file or directory"
}
missing_file init --org other --so-pin-file "$NOPE"
missing_file account reset-pin alice@example.org --so-pin-file "$NOPE" --new-pin-file "$USER_PIN"
missing_file account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$NOPE"
missing_file account set-pin alice@example.org --pin-file "$NOPE" --new-pin-file "$USER_PIN"
missing_file cert import --password-file "$NOPE" "$TD/users/bob.p12"
missing_file cert import --passwords "$NOPE" "$TD/users/bob.p12"
missing_file cert import "$NOPE"
missing_file cert import --dir "$NOPE"
missing_file --config "$NOPE" status
missing_file ca add ca --kind sectigo --url https://ca.example --credentials "$NOPE"
missing_file migrate --from-module "$NOPE" --token x --pin-file "$USER_PIN"
missing_file migrate --from-module "$MT_BIN" --token x --map "$NOPE" --pin-file "$USER_PIN"
missing_file org export-recovery-key --out "$T/rk" --so-pin-file "$NOPE"

# --- text that is not UTF-8: bad input, as for every other field.
run 5 log --email $'caf\xe9@example.org'
err_has "--email: not valid UTF-8"
run 5 log --action $'cert.\xff'
err_has "--action: not valid UTF-8"

# --- every file failed: the code they share, else 5 (documented).
mkdir "$T/allbad" "$T/allpw" "$T/mixed"
cp "$TD/bad/garbage.p12" "$TD/bad/truncated.p12" "$T/allbad/"
cp "$TD/users/bob.p12" "$TD/users/carol.p12" "$T/allpw/"
cp "$TD/bad/garbage.p12" "$TD/users/dave.p12" "$T/mixed/"
run 5 cert import --dir "$T/allbad"
run 6 cert import --dir "$T/allpw" --password-file "$USER_PIN"
run 5 cert import --dir "$T/mixed" --password-file "$USER_PIN"
out_has "2 files: 0 imported, 0 already present, 2 failed"
run 0 cert import --help
out_has "5 when the"
grep -q "reasons differ" "$MT_SOURCE_DIR/docs/mailtoken.1" || fail "mailtoken(1) does not document the mixed case"

# --- --quiet: no line per file, the summary stays.
mkdir "$T/two"
cp "$TD/users/partner.crt" "$TD/users/bob.crt" "$T/two/"
run 0 --quiet cert import --dir "$T/two"
out_has "2 files: 2 imported, 0 already present, 0 failed"
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "--quiet printed more than the summary: $(cat "$T/out")"

# --- options that exclude each other: usage errors (2), nothing imported.
fails_cleanly 2 "give FILE... or --dir FOLDER, not both" cert import --dir "$T/two" "$TD/users/dave.crt"
fails_cleanly 2 "--all-files goes with --dir" cert import --all-files "$TD/users/dave.crt"
fails_cleanly 2 "--order-number goes with one EMAIL" renew --expiring 30 --order-number 7

# --- a pipe as the secret file (bash process substitution, as for --password-fd).
run 0 --json cert import --password-file <(cat "$TD/users/judy.pass") "$TD/users/judy.p12"
jq_is '.files[0].status' imported
run 0 account reset-pin alice@example.org --so-pin-file <(cat "$SO_PIN") --new-pin-file <(echo user-secret-1234)
run 0 account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"

# --- --json: exactly one JSON document on stdout, for every command, success or not.
printf 'login = a\npassword = b\n' >"$T/creds"
chmod 600 "$T/creds"
one_json() { # one_json CODE ARGS...
    local code=$1
    shift
    run "$code" --json "$@"
    jq -e -s 'length == 1' "$T/out" >/dev/null 2>&1 ||
        fail "mailtoken --json $*: not one JSON document: $(head -c 800 "$T/out")"
}
one_json 0 status
one_json 0 cert list
one_json 0 cert show "$alice"
one_json 0 cert export "$alice"
jq -r .pem "$T/out" | openssl x509 -noout || fail "cert export --json: no PEM certificate in .pem"
jq_is .certificates 3
one_json 0 cert export "$alice" --out "$T/alice.pem"
jq_is .file "$T/alice.pem"
one_json 0 cert update "$alice" --description "x"
one_json 0 account list
one_json 0 account show alice@example.org
one_json 0 uri alice@example.org
one_json 0 log --limit 3
one_json 0 ca add ca --kind sectigo --url https://ca.example --credentials "$T/creds"
one_json 0 ca list
jq_is .total 1
jq_is '.profiles[0].name' ca
one_json 0 ca show ca
one_json 0 renew status
one_json 0 ca remove ca
jq_is .removed ca
one_json 0 ca list
jq_is '.profiles | length' 0
one_json 0 cert import "$TD/users/erin.crt"
one_json 0 org export-recovery-key --out "$T/recovery.key" --so-pin-file "$SO_PIN"
one_json 4 init --org example --so-pin-file "$SO_PIN"
one_json 3 cert show 9999
one_json 3 account show nobody@example.org
one_json 2 cert list --kind nonsense
one_json 5 cert import "$TD/bad/garbage.p12"
one_json 1 cert import "$NOPE"
one_json 3 ca show nope
one_json 2 account delete alice@example.org --purge
echo ok
