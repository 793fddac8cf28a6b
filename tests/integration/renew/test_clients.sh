# After a renewal through the CA simulator, real clients use the token: the
# OpenSSL pkcs11 engine signs with the new key (the signer is the new
# certificate), and NSS decrypts a mail encrypted to the old certificate.
# Renewals with --key rsa3072 and ec-p384 give keys the engine signs with.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../clients/lib.sh" # client, engine and NSS helpers
: "${MT_BUILD_DIR:?MT_BUILD_DIR is not set}"
WORK=$T
MODULE=$MT_BUILD_DIR/pkcs11/mailtoken-pkcs11.so
[ -f "$MODULE" ] || fail "module not built: $MODULE"
mkdir -p "$WORK/pins"
chmod 700 "$WORK/pins"
export MAILTOKEN_CONF=$T/mailtoken.conf
cat "$(dirname "$0")/../../data/fast-kdf.conf" >"$MAILTOKEN_CONF"

make_template
old_crt=$TD/users/alice.crt
printf 'Subject: before the renewal\r\n\r\nSent to the old certificate.\r\n' >"$T/mail.txt"
openssl cms -encrypt -aes256 -outform DER -in "$T/mail.txt" -out "$T/old.env" "$old_crt" ||
    fail "openssl cms -encrypt to the old certificate"

start_sim sectigo
add_profile sectigo
run 0 renew "$EMAIL" --order-number 1000001 # the key like the current one: rsa2048
expect_done "renewal before the client tests"
run 0 account reset-pin "$EMAIL" --so-pin-file "$T/so-pin" --new-pin-file "$(pin_file_of "$EMAIL")"
run 0 cert export "$(primary)" --no-chain --out "$T/new.crt"
cmp -s "$T/new.crt" "$old_crt" && fail "the exported primary is the old certificate"

# OpenSSL engine: the key the token offers under the email is the new key.
write_openssl_engine_conf "$T/openssl.cnf"
OPENSSL_CONF="$T/openssl.cnf" engine_sign "$EMAIL" "$T/new.crt" "$T/mail.txt" "$T/signed.eml"
openssl cms -verify -CAfile "$TD/ca/bundle.crt" -in "$T/signed.eml" -signer "$T/signer.pem" \
    -out "$T/verified.txt" 2>"$T/err" || fail "the signature with the new key: $(cat "$T/err")"
cmp -s "$T/mail.txt" "$T/verified.txt" || fail "the signed content differs"
cmp -s <(openssl x509 -in "$T/signer.pem" -outform DER) <(openssl x509 -in "$T/new.crt" -outform DER) ||
    fail "the signer is not the renewed certificate"

# NSS: the mail encrypted to the old certificate still opens through the token.
nss_setup
nss_decode "$T/old.env" "$T/old.dec" "$(pin_file_of "$EMAIL")"
cmp -s "$T/mail.txt" "$T/old.dec" || fail "the mail to the old certificate did not decrypt"

# The other key specs, end to end: renewed with --key, the new primary has
# that key, and the engine signs with it.
for spec in "rsa3072|rsa 3072" "ec-p384|ec 384 P-384"; do
    key=${spec%%|*} want=${spec#*|}
    fresh_store
    start_sim sectigo
    add_profile sectigo
    run 0 renew "$EMAIL" --order-number 1000001 --key "$key"
    expect_done "renewal with --key $key"
    run 0 --json cert show "$(primary)"
    got=$(jq -r '[.keyType, (.keyBits | tostring), (.curve // empty)] | join(" ")' "$T/out")
    [ "$got" = "$want" ] || fail "--key $key: the new primary's key is $got, expected $want"
    run 0 account reset-pin "$EMAIL" --so-pin-file "$T/so-pin" --new-pin-file "$(pin_file_of "$EMAIL")"
    run 0 cert export "$(primary)" --no-chain --out "$T/$key.crt"
    OPENSSL_CONF="$T/openssl.cnf" engine_sign "$EMAIL" "$T/$key.crt" "$T/mail.txt" "$T/$key.eml"
    openssl cms -verify -CAfile "$TD/ca/bundle.crt" -in "$T/$key.eml" -signer "$T/$key-signer.pem" \
        -out /dev/null 2>"$T/err" || fail "the signature with the $key key: $(cat "$T/err")"
    cmp -s <(openssl x509 -in "$T/$key-signer.pem" -outform DER) <(openssl x509 -in "$T/$key.crt" -outform DER) ||
        fail "--key $key: the signer is not the renewed certificate"
    echo "ok: renewed with --key $key, signed with the new key"
done
echo "PASS"
