# cert import of the files users bring, each made at test time by the real
# tool that makes it: NSS pk12util (BER P12, RSA and EC, AES and legacy, with
# chain; Thunderbird's own NSS when installed), Java keytool (a keystore of
# RSA and DSA entries), `openssl pkcs12 -legacy`, `openssl crl2pkcs7`, PEM
# keys of every kind, CA and email-less certificates, odd certificates.
# Each case asserts the outcome, message, exit code, warnings, the store's
# rows and the audit trail; every failure leaves the store as it was.
#   usage: test_import_real.sh MAILTOKEN MODULE SECTION
#   SECTION: nss | thunderbird | keytool | openssl | pem | odd | chains | dir
. "$(dirname "$0")/lib.sh"
MODULE=${2:?module}
SECTION=${3:?section}
F=$T/files
mkdir -p "$F"
PW=$(secret_file p12-pw 'import-secret-1')

# rows TABLE [WHERE]: number of rows.
rows() { sqlite3 "$MAILTOKEN_STORE" "SELECT count(*) FROM $1${2:+ WHERE $2}"; }
# rows_are TABLE WHERE COUNT
rows_are() {
    local got
    got=$(rows "$1" "$2")
    [ "$got" = "$3" ] || fail "$1 where ${2:-true}: $got rows, expected $3"
}
events() { rows events "action = '$1'"; }
fresh_store() {
    rm -f "$MAILTOKEN_STORE" "$MAILTOKEN_STORE"-*
    init_store
}
# warned REGEX: the JSON in $T/out has a warning matching REGEX.
warned() { jq_is "[.files[0].warnings[] | test(\"$1\")] | any" true; }
# The module signs with the key of TOKEN's primary and OpenSSL verifies it
# against CERT: sign_check TOKEN CERT MECHANISM [pkcs11-tool options]
sign_check() {
    local token=$1 cert=$2 mech=$3
    shift 3
    run 0 account reset-pin "$token" --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
    printf 'S/MIME content to sign\n' >"$T/data"
    openssl x509 -in "$cert" -noout -pubkey >"$T/sign.pub"
    client pkcs11-tool --module "$MODULE" --token-label "$token" --login \
        --pin "$(cat "$USER_PIN")" --sign -m "$mech" -i "$T/data" -o "$T/sig" "$@" \
        >"$T/p11.out" 2>&1 || fail "pkcs11-tool --sign for $token: $(cat "$T/p11.out")"
    openssl dgst -sha256 -verify "$T/sign.pub" -signature "$T/sig" "$T/data" >"$T/verify.out" 2>&1 ||
        fail "the module's signature for $token does not verify: $(cat "$T/verify.out")"
}
is_ber() { # the file starts with a SEQUENCE of indefinite length, as NSS writes
    [ "$(head -c 2 "$1" | od -An -tx1 | tr -d ' ')" = 3080 ] || fail "$1 is not BER: $(head -c 4 "$1" | od -An -tx1)"
}

# An NSS database holding alice (RSA-2048) and carol (EC P-256) with their
# chain, as a mail client keeps them; pk12util exports them as its backups do.
nss_db() {
    mkdir -p "$T/nssdb"
    certutil -N -d "sql:$T/nssdb" --empty-password
    pk12util -i "$TD/users/alice.p12" -d "sql:$T/nssdb" -w "$TD/users/alice.pass" >/dev/null
    pk12util -i "$TD/users/carol.p12" -d "sql:$T/nssdb" -w "$TD/users/carol.pass" >/dev/null
}
# nss_export OUT NICKNAME [pk12util options]: with $NSS_LIB as its NSS
nss_export() {
    local out=$1 nick=$2
    shift 2
    LD_LIBRARY_PATH=${NSS_LIB:-} pk12util -o "$out" -n "$nick" -d "sql:$T/nssdb" -w "$PW" "$@" \
        >"$T/pk12util.out" 2>&1 || fail "pk12util -o $out: $(cat "$T/pk12util.out")"
    is_ber "$out"
}
LEGACY_NSS=(-c "PKCS #12 V2 PBE With SHA-1 And 3KEY Triple DES-CBC"
            -C "PKCS #12 V2 PBE With SHA-1 And 40 Bit RC2 CBC")

# import_nss FILE EMAIL: into a fresh store, with key and chain, its account made
import_nss() {
    fresh_store
    run 0 --json cert import --password-file "$PW" --account auto "$1"
    jq_is '.files[0].format' p12
    jq_is '.files[0].status' imported
    jq_is '.files[0].certificates[0].emails[0]' "$2"
    jq_is '.files[0].certificates[0].hasPrivateKey' true
    jq_is '.files[0].certificates[0].chainStored' 2
    jq_is '.files[0].warnings | length' 0
    rows_are certificates "" 1
    rows_are sealed_keys "" 1
    rows_are certificate_chain "" 2
    rows_are events "action = 'cert.import' AND detail LIKE '%\"privateKey\":true%'" 1
    rows_are accounts "email = '$2'" 1
}

section_nss() {
    nss_db
    nss_export "$F/alice-aes.p12" "Alice Example"
    nss_export "$F/carol-aes.p12" "Carol Example"
    nss_export "$F/alice-legacy.p12" "Alice Example" "${LEGACY_NSS[@]}"
    nss_export "$F/carol-legacy.p12" "Carol Example" "${LEGACY_NSS[@]}"
    import_nss "$F/alice-legacy.p12" alice@example.org
    import_nss "$F/carol-legacy.p12" carol@example.org
    sign_check carol@example.org "$TD/users/carol.crt" ECDSA-SHA256 --signature-format openssl
    import_nss "$F/carol-aes.p12" carol@example.org
    import_nss "$F/alice-aes.p12" alice@example.org
    sign_check alice@example.org "$TD/users/alice.crt" SHA256-RSA-PKCS
    # Wrong password, and a backup cut short: named as such, nothing stored.
    wrong=$(secret_file wrong 'not-the-password')
    fails_cleanly 6 "alice-aes.p12: wrong password" cert import --password-file "$wrong" "$F/alice-aes.p12"
    head -c 1500 "$F/alice-aes.p12" >"$F/cut.p12"
    fails_cleanly 5 "cut.p12: corrupt or truncated" cert import --password-file "$PW" "$F/cut.p12"
    head -c 3 "$F/alice-aes.p12" >"$F/tiny.p12"
    fails_cleanly 5 "tiny.p12: corrupt or truncated" cert import --password-file "$PW" "$F/tiny.p12"
}

section_thunderbird() {
    [ -f /usr/lib/thunderbird/libnss3.so ] || { echo "no Thunderbird (its NSS is in /usr/lib/thunderbird)"; exit 77; }
    command -v pk12util >/dev/null || fail "pk12util (libnss3-tools) is missing"
    nss_db
    NSS_LIB=/usr/lib/thunderbird nss_export "$F/alice-tb.p12" "Alice Example"
    NSS_LIB=/usr/lib/thunderbird nss_export "$F/carol-tb.p12" "Carol Example"
    import_nss "$F/carol-tb.p12" carol@example.org
    sign_check carol@example.org "$TD/users/carol.crt" ECDSA-SHA256 --signature-format openssl
    import_nss "$F/alice-tb.p12" alice@example.org
    sign_check alice@example.org "$TD/users/alice.crt" SHA256-RSA-PKCS
}

# A Java keystore with an RSA and a DSA entry: the RSA one is imported, the
# DSA one named as skipped (friendly name, subject, serial, algorithm), exit 7.
section_keytool() {
    command -v keytool >/dev/null || { echo "no keytool (Java)"; exit 77; }
    local ks=$F/mixed.p12 kpw='ks-secret-1'
    for entry in "rsa-user RSA 2048 Rita rita" "dsa-user DSA 2048 Dan dan"; do
        set -- $entry
        keytool -genkeypair -keystore "$ks" -storetype PKCS12 -storepass "$kpw" -alias "$1" \
            -keyalg "$2" -keysize "$3" -dname "CN=$4 Keystore,O=mailtoken Test" \
            -ext "san=email:$5@example.org" -validity 365 >"$T/keytool.out" 2>&1 ||
            fail "keytool: $(cat "$T/keytool.out")"
    done
    printf '%s\n' "$kpw" >"$F/mixed.pass"
    fresh_store
    run 7 --json cert import --password-file "$F/mixed.pass" --account auto "$ks"
    jq_is '.files[0].status' imported
    jq_is '.files[0].certificates | length' 1
    jq_is '.files[0].certificates[0].emails[0]' rita@example.org
    jq_is '.files[0].certificates[0].hasPrivateKey' true
    jq_is '.files[0].skipped | length' 1
    jq_is '.files[0].skipped[0].friendlyName' dsa-user
    jq_is '.files[0].skipped[0].subject' "CN=Dan Keystore,O=mailtoken Test"
    jq_is '.files[0].skipped[0].algorithm' DSA
    jq_is '.files[0].skipped[0].reason | test("DSA keys are not supported")' true
    # keytool prints the serial without the leading zero of a full byte
    serial=$(keytool -list -v -keystore "$ks" -storepass "$kpw" -alias dsa-user | sed -n 's/^Serial number: //p')
    jq_is '.files[0].skipped[0].serial | ltrimstr("0")' "$serial"
    serial=$(jq -r '.files[0].skipped[0].serial' "$T/out")
    jq_is '.files[0].skipped[0].fingerprint | length' 64
    jq_is '.summary.partial' 1
    jq_is '.summary.skippedEntries' 1
    rows_are certificates "" 1
    rows_are certificates "subject LIKE '%Dan%'" 0
    rows_are sealed_keys "" 1
    rows_are accounts "" 1
    # The human output names the skipped entry.
    run 7 cert import --password-file "$F/mixed.pass" "$ks"
    err_has "mixed.p12: skipped certificate \"CN=Dan Keystore,O=mailtoken Test\" (serial $serial) named \"dsa-user\": DSA keys are not supported"
    out_has "present"
    # Nothing at all this build can use: the file fails and says why.
    keytool -exportcert -keystore "$ks" -storepass "$kpw" -alias dsa-user -rfc -file "$F/dsa.crt" >/dev/null 2>&1
    fails_cleanly 5 "dsa.crt: nothing this build can import: certificate \"CN=Dan Keystore" cert import "$F/dsa.crt"
    err_has "DSA"
}

# openssl pkcs12 -legacy (RC2 + 3DES, SHA-1 MAC) with a chain, and without any key.
section_openssl() {
    fresh_store
    openssl pkcs12 -export -legacy -inkey "$TD/users/dave.key" -in "$TD/users/dave.crt" \
        -certfile "$TD/ca/bundle.crt" -name "Dave Legacy" -passout "file:$PW" -out "$F/dave-legacy.p12"
    run 0 --json cert import --password-file "$PW" "$F/dave-legacy.p12"
    jq_is '.files[0].certificates[0].hasPrivateKey' true
    jq_is '.files[0].certificates[0].chainStored' 2
    rows_are sealed_keys "" 1
    rows_are events "action = 'cert.import'" 1
    # A P12 with certificates only: imported without a key, and said so.
    openssl pkcs12 -export -nokeys -in "$TD/users/bob.crt" -passout "file:$PW" -out "$F/bob-nokey.p12"
    run 0 --json cert import --password-file "$PW" "$F/bob-nokey.p12"
    jq_is '.files[0].certificates[0].hasPrivateKey' false
    warned "imported without a private key: the PKCS#12 holds none"
    rows_are certificates "has_key = 0" 1
    # A DER certificate named .p12: a certificate, and the output says so.
    openssl x509 -in "$TD/users/erin.crt" -outform DER -out "$F/erin-der.p12"
    run 0 cert import "$F/erin-der.p12"
    err_has "erin-der.p12: DER certificate, no private key"
    out_has "created"
    run 0 --json cert import "$F/erin-der.p12"
    jq_is '.files[0].format' der
    warned "DER certificate, no private key"
    # PKCS#7 bundles as Windows exports chains: DER .p7b and PEM .p7c.
    openssl crl2pkcs7 -nocrl -certfile "$TD/users/frank.crt" -certfile "$TD/ca/bundle.crt" \
        -outform DER -out "$F/frank.p7b"
    run 0 --json cert import "$F/frank.p7b"
    jq_is '.files[0].format' pkcs7
    jq_is '.files[0].certificates | length' 1
    jq_is '.files[0].certificates[0].emails[0]' frank@example.org
    jq_is '.files[0].certificates[0].chainStored' 2
    warned "expired on"
    openssl crl2pkcs7 -nocrl -certfile "$TD/ca/bundle.crt" -out "$F/chain.p7c"
    run 0 --json cert import "$F/chain.p7c"
    jq_is '.files[0].format' pkcs7
    jq_is '[.files[0].certificates[].authority] | all' true
    jq_is '.files[0].certificates | length' 2
    rows_are events "action = 'cert.import'" 6
    printf 'garbage after a PKCS#7 header' | cat <(head -c 40 "$F/frank.p7b") - >"$F/broken.p7b"
    fails_cleanly 5 "broken.p7b: corrupt or truncated PKCS#7" cert import "$F/broken.p7b"
}

# PEM files with their private keys, every kind of block, clear and encrypted.
section_pem() {
    fresh_store
    cat "$TD/users/bob.crt" "$TD/users/bob.key" >"$F/bob-pkcs8.pem"
    { cat "$TD/users/alice.crt"; openssl rsa -in "$TD/users/alice.key" -traditional; } >"$F/alice-rsa.pem" 2>/dev/null
    { openssl ec -in "$TD/users/carol.key"; cat "$TD/users/carol.crt"; } >"$F/carol-ec.pem" 2>/dev/null
    { cat "$TD/users/dave.crt"; openssl pkcs8 -topk8 -in "$TD/users/dave.key" -v2 aes-256-cbc -passout "file:$PW"; } >"$F/dave-enc.pem"
    { cat "$TD/users/judy.crt"; openssl ec -in "$TD/users/judy.key" -aes256 -passout "file:$PW"; } >"$F/judy-enc.pem" 2>/dev/null
    run 0 --json cert import --account auto "$F/bob-pkcs8.pem" "$F/alice-rsa.pem" "$F/carol-ec.pem"
    jq_is '[.files[].certificates[0].hasPrivateKey] | all' true
    jq_is '[.files[].format] | unique | join(",")' pem
    rows_are sealed_keys "" 3
    sign_check alice@example.org "$TD/users/alice.crt" SHA256-RSA-PKCS
    # Encrypted keys: the P12 password options open them.
    fails_cleanly 6 "dave-enc.pem: the encrypted private key needs a password" cert import "$F/dave-enc.pem"
    wrong=$(secret_file wrong 'not-the-password')
    fails_cleanly 6 "judy-enc.pem: wrong password (the private key in PEM block 2 (EC PRIVATE KEY)" \
        cert import --password-file "$wrong" "$F/judy-enc.pem"
    run 0 --json cert import --password-file "$PW" "$F/dave-enc.pem" "$F/judy-enc.pem"
    jq_is '[.files[].certificates[0].hasPrivateKey] | all' true
    rows_are sealed_keys "" 5
    # A key of someone else: refused, the block named.
    cat "$TD/users/erin.crt" "$TD/users/bob.key" >"$F/mismatch.pem"
    fails_cleanly 5 "mismatch.pem: private key in PEM block 2 (PRIVATE KEY) does not match its certificate \"CN=Erin Example" \
        cert import "$F/mismatch.pem"
    cat "$TD/users/erin.crt" "$TD/users/erin.key" "$TD/users/grace.crt" "$TD/users/bob.key" >"$F/extra.pem"
    fails_cleanly 5 "extra.pem: private key in PEM block 4 (PRIVATE KEY) matches no certificate in the file" \
        cert import "$F/extra.pem"
    cp "$TD/users/erin.key" "$F/alone.key"
    fails_cleanly 5 "alone.key: a private key but no certificate" cert import "$F/alone.key"
}

# ca_issue NAME SUBJECT EXTENSIONS START END KEYFILE: a certificate of the test CA.
ca_issue() {
    local name=$1 subject=$2 ext=$3 start=$4 end=$5 key=$6
    mkdir -p "$T/ca/new"
    [ -f "$T/ca/index.txt" ] || { : >"$T/ca/index.txt"; openssl rand -hex 8 | sed 's/^./2/' >"$T/ca/serial"; }
    cat >"$T/ca/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $T/ca/index.txt
new_certs_dir = $T/ca/new
serial = $T/ca/serial
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
[p]
commonName = supplied
organizationName = optional
[x]
$(printf '%b' "$ext")
EOF
    openssl req -new -key "$key" -subj "$subject" -out "$T/ca/$name.csr" 2>/dev/null
    openssl ca -batch -notext -config "$T/ca/ca.cnf" -cert "$TD/ca/sub.crt" -keyfile "$TD/ca/sub.key" \
        -startdate "$(date -u -d "$start" +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "$end" +%Y%m%d%H%M%SZ)" \
        -extensions x -in "$T/ca/$name.csr" -out "$F/$name.crt" >"$T/ca.out" 2>&1 ||
        fail "openssl ca $name: $(cat "$T/ca.out")"
}
keygen() { openssl genpkey "$@" 2>/dev/null; }

# Certificates that are odd in one way each: imported, with the warning.
section_odd() {
    fresh_store
    local san="subjectAltName = email:odd@example.org\n"
    keygen -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key"
    ca_issue future "/CN=Future Example" "$san" "+10 days" "+1 year" "$T/rsa.key"
    ca_issue nosign "/CN=No Usage Example" "${san}keyUsage = critical, cRLSign\n" "-1 day" "+1 year" "$T/rsa.key"
    ca_issue noeku "/CN=Server Example" "${san}extendedKeyUsage = serverAuth\n" "-1 day" "+1 year" "$T/rsa.key"
    keygen -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/rsa1024.key"
    ca_issue weak "/CN=Weak Example" "$san" "-1 day" "+1 year" "$T/rsa1024.key"
    check_warning() { # FILE REGEX
        run 0 --json cert import "$F/$1"
        jq_is '.files[0].status' imported
        warned "$2"
        run 0 cert import "$F/$1"
        err_has "mailtoken: warning: $F/$1: certificate \""
    }
    check_warning future.crt "is not yet valid .from [0-9]{4}-"
    check_warning nosign.crt "key usage that allows neither signing nor encryption"
    check_warning noeku.crt "extended key usage without emailProtection"
    check_warning weak.crt "RSA-1024 key, shorter than 2048 bits"
    run 0 --json cert import "$TD/users/frank.crt"
    warned "expired on [0-9]{4}-[0-9]{2}-[0-9]{2}"
    # A CA certificate with a key and an email: an end-entity, with a warning.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca-ee.key" -subj "/CN=Self CA" -days 30 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "subjectAltName=email:selfca@example.org" \
        -out "$F/self-ca.crt" 2>/dev/null
    openssl pkcs12 -export -inkey "$T/ca-ee.key" -in "$F/self-ca.crt" -passout "file:$PW" -out "$F/self-ca.p12"
    run 0 --json cert import --password-file "$PW" "$F/self-ca.p12"
    jq_is '.files[0].certificates[0].hasPrivateKey' true
    jq_is '.files[0].certificates[0].authority' false
    warned "is a CA certificate .basicConstraints cA. imported as an end-entity"
    # No email: stored, never an account's; a P12 key of such a certificate is not kept.
    before=$(rows accounts)
    run 0 --json cert import --account auto "$TD/bad/noemail.crt"
    noemail=$(jq -r '.files[0].certificates[0].id' "$T/out")
    warned "names no email address: it cannot belong to an account"
    jq_is '.files[0].accounts | length' 0
    rows_are accounts "" "$before"
    fails_cleanly 5 "does not name nobody@example.org" account create nobody@example.org --primary "$noemail" --external
    run 0 --json cert import --password-file "$TD/bad/noemail.pass" "$TD/bad/noemail.p12"
    jq_is '.files[0].status' present
    jq_is '.files[0].certificates[0].hasPrivateKey' false
    warned "its private key was not stored"
    rows_are sealed_keys "cert_id = $noemail" 0
    # EdDSA and X25519/X448 certificates: certificates only, with the warning.
    keygen -algorithm ED448 -out "$T/ed448.key"
    ca_issue ed448 "/CN=Ed448 Example" "$san" "-1 day" "+1 year" "$T/ed448.key"
    openssl pkcs12 -export -inkey "$T/ed448.key" -in "$F/ed448.crt" -passout "file:$PW" -out "$F/ed448.p12"
    run 0 --json cert import --password-file "$PW" "$F/ed448.p12"
    jq_is '.files[0].certificates[0].hasPrivateKey' false
    jq_is '.files[0].certificates[0].keyType' ed448
    warned "ed448 keys are not usable through PKCS#11 yet"
    for curve in X25519 X448; do
        keygen -algorithm "$curve" -out "$T/$curve.key"
        openssl pkey -in "$T/$curve.key" -pubout -out "$T/$curve.pub"
        openssl req -new -key "$T/rsa.key" -subj "/CN=$curve Example" -out "$T/$curve.csr"
        printf '[x]\nsubjectAltName = email:%s@example.org\nkeyUsage = critical, keyAgreement\n' "$curve" >"$T/$curve.ext"
        openssl x509 -req -in "$T/$curve.csr" -force_pubkey "$T/$curve.pub" -CA "$TD/ca/sub.crt" \
            -CAkey "$TD/ca/sub.key" -CAcreateserial -days 30 -extfile "$T/$curve.ext" -extensions x \
            -out "$F/$curve.crt" 2>/dev/null
        openssl pkcs12 -export -inkey "$T/$curve.key" -in "$F/$curve.crt" -passout "file:$PW" -out "$F/$curve.p12"
        run 0 --json cert import --password-file "$PW" "$F/$curve.p12"
        lc=$(echo "$curve" | tr A-Z a-z)
        jq_is '.files[0].certificates[0].keyType' "$lc"
        jq_is '.files[0].certificates[0].hasPrivateKey' false
        warned "$lc keys are not usable through PKCS#11 yet"
        rows_are certificates "key_type = '$lc'" 1
    done
    # Two certificates of one subject: messages say which (serial, fingerprint).
    keygen -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/twin.key"
    for n in 1 2; do
        openssl req -x509 -key "$T/twin.key" -subj "/CN=Twin Device" -days "$n" -out "$F/twin$n.crt" 2>/dev/null
    done
    cat "$F/twin1.crt" "$F/twin2.crt" >"$F/twins.pem"
    run 0 --json cert import "$F/twins.pem"
    jq_is '[.files[0].warnings[] | select(test("Twin Device.*serial [0-9a-f]+, SHA-256 [0-9a-f]{16}"))] | length' 2
}

# Chains: a certificate stored from a PEM gains the chain (and key) of its P12;
# a CA certificate completes the chains of the certificates it issued, before
# or after them.
section_chains() {
    fresh_store
    alice=$(import_pem "$TD/users/alice.crt")
    rows_are certificate_chain "cert_id = $alice" 0
    run 0 --json cert import --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
    jq_is '.files[0].status' imported
    jq_is '.files[0].certificates[0].created' false
    jq_is '.files[0].certificates[0].keyAdded' true
    jq_is '.files[0].certificates[0].chainAdded' true
    jq_is '.files[0].certificates[0].chainStored' 2
    rows_are certificate_chain "cert_id = $alice" 2
    rows_are events "action = 'cert.chain' AND subject = '$alice'" 1
    rows_are events "action = 'cert.add-key' AND subject = '$alice'" 1
    run 0 cert export "$alice" --out "$T/alice-export.pem"
    [ "$(grep -c 'BEGIN CERTIFICATE' "$T/alice-export.pem")" = 3 ] || fail "export: not cert + 2 chain"
    # Again: nothing more to add.
    run 0 --json cert import --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
    jq_is '.files[0].status' present
    rows_are events "action = 'cert.chain'" 1
    # A CA file after the certificates it issued: their chains grow.
    fresh_store
    bob=$(import_pem "$TD/users/bob.crt")
    run 0 --json cert import "$TD/ca/sub.crt"
    jq_is '.files[0].certificates[0].authority' true
    jq_is '.files[0].certificates[0].chainsExtended' 1
    warned "stored as an authority certificate"
    rows_are certificate_chain "cert_id = $bob" 1
    run 0 --json cert import "$TD/ca/root.crt"
    jq_is '.files[0].certificates[0].chainsExtended' 2
    rows_are certificate_chain "cert_id = $bob" 2
    # ... and before: a new certificate's chain is completed from them.
    run 0 --json cert import --account auto "$TD/users/carol.crt"
    jq_is '.files[0].certificates[0].chainStored' 2
    jq_is '.files[0].certificates[0].chainFromStore' 2
    jq_is '.files[0].accounts | length' 1
    # CA certificates never become accounts, even with --account auto.
    rows_are accounts "" 1
    run 0 --json cert list
    jq_is '.total' 4
    # ... not even one whose subject names an email, as old CAs did.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/mailca.key" -days 30 \
        -subj "/CN=Mail CA/emailAddress=ca@example.org" -out "$F/mailca.crt" 2>/dev/null
    run 0 --json cert import --account auto "$F/mailca.crt"
    mailca=$(jq -r '.files[0].certificates[0].id' "$T/out")
    jq_is '.files[0].certificates[0].authority' true
    jq_is '.files[0].accounts | length' 0
    rows_are certificate_emails "cert_id = $mailca" 0
    fails_cleanly 5 "does not name ca@example.org" account create ca@example.org --primary "$mailca" --external
}

# --dir: every certificate file by its name, every other file named as skipped;
# --all-files tries every file by its content.
section_dir() {
    fresh_store
    local d=$T/in
    mkdir -p "$d/sub" "$d/.git"
    cp "$TD/users/alice.p12" "$d/alice.p12"
    cp "$TD/users/bob.p12" "$d/bob.pfx"
    cp "$TD/users/carol.p12" "$d/sub/carol.pkcs12"
    openssl crl2pkcs7 -nocrl -certfile "$TD/ca/bundle.crt" -outform DER -out "$d/chain.p7b"
    cp "$TD/users/partner.crt" "$d/partner.pem"
    cp "$TD/users/frank.crt" "$d/frank.crt"
    cp "$TD/users/grace.crt" "$d/grace.cer"
    openssl x509 -in "$TD/users/heidi.crt" -outform DER -out "$d/heidi.der"
    cp "$TD/users/ivan.crt" "$d/ivan.crt"
    cp "$TD/users/ivan.key" "$d/ivan.key"
    cp "$TD/users/judy.key" "$d/lonely.key"
    echo "notes" >"$d/README.txt"
    cp "$TD/users/oscar.crt" "$d/oscar.backup"
    echo "x" >"$d/.hidden"
    echo "x" >"$d/.git/config"
    {
        echo "file,password"
        for f in alice.p12:alice bob.pfx:bob sub/carol.pkcs12:carol; do
            printf '%s,%s\n' "${f%%:*}" "$(cat "$TD/users/${f##*:}.pass")"
        done
    } >"$T/passwords.csv"
    run 0 --json cert import --dir "$d" --passwords "$T/passwords.csv"
    jq_is '.summary.files' 9
    jq_is '.summary.failed' 0
    jq_is '.summary.skipped' 5
    jq_is '[.summary.skippedFiles[].file | ltrimstr("'"$d"'/")] | join(",")' ".git,.hidden,README.txt,lonely.key,oscar.backup"
    jq_is '.summary.skippedFiles[] | select(.file | endswith("README.txt")) | .reason | test("not a certificate file name \\(.p12 .pfx .pkcs12 .p7b .p7c .pem .crt .cer .der .key\\); --all-files")' true
    jq_is '.summary.skippedFiles[] | select(.file | endswith("lonely.key")) | .reason | test("no certificate file of the same name")' true
    jq_is '.summary.skippedFiles[] | select(.file | endswith(".git")) | .reason' "hidden folder"
    jq_is '.files[] | select(.file | endswith("ivan.crt")) | .keyFile' "$d/ivan.key"
    jq_is '.files[] | select(.file | endswith("ivan.crt")) | .certificates[0].hasPrivateKey' true
    jq_is '[.files[].format] | sort | unique | join(",")' "der,p12,pem,pkcs7"
    rows_are sealed_keys "" 4
    # The table names them too.
    run 0 cert import --dir "$d" --passwords "$T/passwords.csv"
    out_has "9 files: 0 imported, 9 already present, 0 failed (5 other files skipped)"
    out_has "  skipped: $d/lonely.key: a private key with no certificate file"
    out_has "  skipped: $d/README.txt: not a certificate file name"
    # --all-files: by content; what is no certificate file is skipped, not failed.
    run 0 --json cert import --dir "$d" --passwords "$T/passwords.csv" --all-files
    jq_is '.files[] | select(.file | endswith("oscar.backup")) | .status' imported
    jq_is '.files[] | select(.file | endswith("README.txt")) | .status' skipped
    jq_is '.summary.failed' 0
    rows_are certificates "subject LIKE '%Oscar%'" 1
    # A file named on the command line is never passed by: it fails.
    fails_cleanly 5 "README.txt: not a PKCS#12, PEM, PKCS#7 or DER certificate file" \
        cert import "$d/README.txt"
    fails_cleanly 2 "--all-files goes with --dir" cert import --all-files "$d/README.txt"
}

"section_$SECTION"
echo ok
