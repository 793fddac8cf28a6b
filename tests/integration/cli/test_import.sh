# cert import (every format, password source, bad file) and the cert commands.
. "$(dirname "$0")/lib.sh"
init_store

# A P12 with its chain: created, the chain reported; a second time: present.
run 0 cert import --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
out_has "created"
out_has "alice@example.org"
out_has "+2 chain"
out_has "chain: "
run 0 --json cert import --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
jq_is '.files[0].status' present
jq_is '.files[0].certificates[0].created' false
jq_is '.files[0].certificates[0].hasPrivateKey' true
jq_is '.files[0].certificates[0].chain | length' 2
jq_is '.summary.present' 1
alice=$(jq -r '.files[0].certificates[0].id' "$T/out")
run 0 --json cert list
jq_is '.total' 1

# Every user of the test data, by its manifest (password from its file or none).
tail -n +2 "$TD/manifest.tsv" | while IFS=$'\t' read -r name email key p12 password crt keypem chain notes; do
    if [ "$p12" = "-" ]; then
        run 0 --json cert import "$TD/$crt"
        jq_is '.files[0].certificates[0].hasPrivateKey' false
    else
        opts=()
        [ "$password" = "-" ] || opts=(--password-file "$TD/$password")
        run 0 --json cert import "${opts[@]}" "$TD/$p12"
        jq_is '.files[0].format' p12
        if [ "$key" = ed25519 ]; then # stored as a certificate only, and said so
            jq_is '.files[0].certificates[0].hasPrivateKey' false
            jq_is '.files[0].warnings[0] | test("ed25519")' true
        else
            jq_is '.files[0].certificates[0].hasPrivateKey' true
        fi
    fi
    jq_is ".files[0].certificates[0].emails | index(\"$email\") != null" true
done
run 0 --json cert list
count=$(jq '.total' "$T/out")
[ "$count" -ge 14 ] || fail "only $count certificates after importing every user"

# Passwords from a variable and a descriptor; the empty and absent password need none.
mt_fresh_store
init_store
ALICE_PW=$(cat "$TD/users/alice.pass") run 0 cert import --password-env ALICE_PW "$TD/users/alice.p12"
out_has created
run 0 cert import --password-fd 4 "$TD/users/bob.p12" 4<"$TD/users/bob.pass"
out_has created
MAILTOKEN_P12_PASSWORD=$(cat "$TD/users/carol.pass") run 0 cert import "$TD/users/carol.p12"
out_has created
run 0 cert import "$TD/users/heidi.p12"
out_has created
run 0 cert import "$TD/users/ivan.p12"
out_has created
# No password given for a P12 that needs one, and no terminal: named, nothing stored.
fails_cleanly 6 "dave.p12: the P12 needs a password" cert import "$TD/users/dave.p12"
# Wrong password.
wrong=$(secret_file wrong 'not-the-password')
fails_cleanly 6 "dave.p12" cert import --password-file "$wrong" "$TD/users/dave.p12"
grep -qF "not-the-password" "$T/err" "$T/out" && fail "the password appeared in the output"
# --json errors: stdout document, stderr line.
run 6 --json cert import --password-file "$wrong" "$TD/users/dave.p12"
jq_is '.files[0].status' failed
jq_is '.files[0].error.error' wrong-password
jq_is '.summary.failed' 1

# PEM and DER of the same certificate: the second one is already present.
run 0 --json cert import "$TD/users/partner.crt"
jq_is '.files[0].format' pem
jq_is '.files[0].status' imported
openssl x509 -in "$TD/users/partner.crt" -outform DER -out "$T/partner.der"
run 0 --json cert import "$T/partner.der"
jq_is '.files[0].format' der
jq_is '.files[0].status' present
# A certificate present without its key gains it from the P12.
run 0 cert import "$TD/users/judy.crt"
run 0 --json cert import --password-file "$TD/users/judy.pass" "$TD/users/judy.p12"
judy=$(jq -r '.files[0].certificates[0].id' "$T/out")
run 0 --json cert show "$judy"
jq_is .hasPrivateKey true

# Several files at once, one of them bad: the others are imported, exit 7.
run 7 --json cert import --password-file "$TD/users/erin.pass" "$TD/users/erin.p12" "$TD/bad/garbage.p12"
jq_is '.summary.imported' 1
jq_is '.summary.failed' 1
jq_is '.files[1].file' "$TD/bad/garbage.p12"

# Every broken file: its name and the reason, the right exit code, nothing stored.
bad() { # bad CODE FILE [options]
    local code=$1 file=$2
    shift 2
    local opts=()
    [ -f "$TD/bad/${file%.*}.pass" ] && opts=(--password-file "$TD/bad/${file%.*}.pass")
    fails_cleanly "$code" "$TD/bad/$file" cert import "${opts[@]}" "$@" "$TD/bad/$file"
}
bad 5 empty.p12
bad 5 truncated.p12
bad 5 garbage.p12
bad 5 mismatch.p12
bad 5 big.p12
err_has "limit"
bad 5 pbmac1.p12
err_has "PBMAC1"
bad 5 badname.p12
err_has "friendly name"
# Two key+certificate pairs and a certificate without its key: all imported,
# the orphan key and the key-less certificate named in warnings.
run 0 --json cert import --password-file "$TD/bad/multikey.pass" "$TD/bad/multikey.p12"
jq_is '.files[0].certificates | length' 3
jq_is '[.files[0].certificates[].hasPrivateKey] | map(tostring) | join(",")' true,true,false
jq_is '.files[0].warnings | length' 2
# PEM-armoured P12: detected by content.
run 0 --json cert import --password-file "$TD/bad/armoured.pass" "$TD/bad/armoured.p12"
jq_is '.files[0].format' p12
# --friendly-name, --description; update; show by id and by fingerprint.
run 0 --json cert import --friendly-name "Frank Old" --description "expired, kept" \
    --password-file "$TD/users/frank.pass" "$TD/users/frank.p12"
frank=$(jq -r '.files[0].certificates[0].id' "$T/out")
fp=$(jq -r '.files[0].certificates[0].fingerprint' "$T/out")
run 0 --json cert show "$frank"
jq_is .friendlyName "Frank Old"
jq_is .description "expired, kept"
jq_is .fingerprint "$fp"
colon_fp=$(echo "$fp" | sed 's/../&:/g; s/:$//' | tr a-f A-F)
run 0 --json cert show "$colon_fp"
jq_is .id "$frank"
run 0 cert show "$frank"
out_has "friendlyName     Frank Old"
run 0 --json cert update "$frank" --friendly-name "Frank" --description ""
jq_is .friendlyName Frank
jq_is .description null
run 2 cert update "$frank"
err_has "--friendly-name or --description"

# list filters and paging
run 0 --json cert list --email frank@example.org
jq_is '.certificates | map(.id) | join(",")' "$frank"
run 0 --json cert list --expiring 0
jq_is '[.certificates[].emails[0]] | index("frank@example.org") != null' true
run 0 --json cert list --kind pem
jq_is '[.certificates[] | .kind] | unique | join(",")' pem
run 0 --json cert list
total=$(jq .total "$T/out")
run 0 --json cert list --limit 2 --offset 1
jq_is '.certificates | length' 2
jq_is .total "$total"
run 0 cert list
out_has "NOT-AFTER"
out_has "frank@example.org"

# export: certificate and chain as PEM, never a key.
run 0 cert import --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
run 0 --json cert list --email alice@example.org --kind p12
alice=$(jq -r '.certificates[0].id' "$T/out")
run 0 cert export "$alice" --out "$T/alice-export.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/alice-export.pem")" = 3 ] || fail "export: not cert + 2 chain"
grep -q 'PRIVATE KEY' "$T/alice-export.pem" && fail "export wrote a private key"
a=$(openssl x509 -in "$T/alice-export.pem" -noout -fingerprint -sha256 | cut -d= -f2)
b=$(openssl x509 -in "$TD/users/alice.crt" -noout -fingerprint -sha256 | cut -d= -f2)
[ "$a" = "$b" ] || fail "exported certificate differs: $a vs $b"
run 0 cert export "$alice" --no-chain
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/out")" = 1 ] || fail "--no-chain"

# delete: an unused certificate goes; a second time: not found.
run 0 cert delete "$frank" --yes
run 3 cert show "$frank"
err_has "mailtoken: certificate $frank not found"
echo ok
