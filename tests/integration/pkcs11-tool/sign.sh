# Signatures of every mechanism family, checked by openssl against the
# user's certificate and by the module's own verify.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 carol)" "$(p12 dave)"
alice_id=$(key_id "$(crt alice)")
old_id=$(key_id "$(crt alice-old)")
carol_id=$(key_id "$(crt carol)")
dave_id=$(key_id "$(crt dave)")
printf 'S/MIME content to sign\n' >"$WORK/data"
pubkey "$(crt alice)" "$WORK/alice.pub"
pubkey "$(crt carol)" "$WORK/carol.pub"
pubkey "$(crt dave)" "$WORK/dave.pub"

sign() { # TOKEN ID MECH IN OUT [pkcs11-tool options]
    local token=$1 id=$2 mech=$3 in=$4 out=$5
    shift 5
    run p11 --token-label "$token" --login --pin "$PIN" --sign --id "$id" -m "$mech" -i "$in" -o "$out" "$@"
}

# RSA PKCS#1 v1.5, hash-and-sign, single and multi-part inside the module
for h in sha1 sha256 sha384 sha512; do
    H=$(echo "$h" | tr a-z A-Z)
    sign alice@example.org "$alice_id" "$H-RSA-PKCS" "$WORK/data" "$WORK/sig"
    run openssl dgst -"$h" -verify "$WORK/alice.pub" -signature "$WORK/sig" "$WORK/data"
    run p11 --token-label alice@example.org --verify --id "$alice_id" -m "$H-RSA-PKCS" -i "$WORK/data" --signature-file "$WORK/sig"
    expect "Signature is valid"
done

# RSA PKCS#1 v1.5 over a DigestInfo, as NSS and libp11 sign
openssl dgst -sha256 -binary "$WORK/data" >"$WORK/hash"
printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20' | cat - "$WORK/hash" >"$WORK/digestinfo"
sign alice@example.org "$alice_id" RSA-PKCS "$WORK/digestinfo" "$WORK/sig"
run openssl dgst -sha256 -verify "$WORK/alice.pub" -signature "$WORK/sig" "$WORK/data"

# PSS: hash-and-sign and over a precomputed hash, salt = hash length
sign alice@example.org "$alice_id" SHA256-RSA-PKCS-PSS "$WORK/data" "$WORK/sig"
run openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify "$WORK/alice.pub" -signature "$WORK/sig" "$WORK/data"
sign alice@example.org "$alice_id" RSA-PKCS-PSS "$WORK/hash" "$WORK/sig" --hash-algorithm SHA256
run openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify "$WORK/alice.pub" -signature "$WORK/sig" "$WORK/data"
sign alice@example.org "$alice_id" SHA512-RSA-PKCS-PSS "$WORK/data" "$WORK/sig"
run openssl dgst -sha512 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:64 -verify "$WORK/alice.pub" -signature "$WORK/sig" "$WORK/data"

# ECDSA P-256 and P-384, raw over a hash and hash-and-sign
sign carol@example.org "$carol_id" ECDSA-SHA256 "$WORK/data" "$WORK/sig" --signature-format openssl
run openssl dgst -sha256 -verify "$WORK/carol.pub" -signature "$WORK/sig" "$WORK/data"
sign carol@example.org "$carol_id" ECDSA "$WORK/hash" "$WORK/sig" --signature-format openssl
run openssl dgst -sha256 -verify "$WORK/carol.pub" -signature "$WORK/sig" "$WORK/data"
sign dave@example.org "$dave_id" ECDSA-SHA384 "$WORK/data" "$WORK/sig.raw"
run p11 --token-label dave@example.org --verify --id "$dave_id" -m ECDSA-SHA384 -i "$WORK/data" --signature-file "$WORK/sig.raw"
expect "Signature is valid"
[ "$(stat -c %s "$WORK/sig.raw")" = 96 ] || die "a P-384 signature is r||s, 96 bytes"
sign dave@example.org "$dave_id" ECDSA-SHA512 "$WORK/data" "$WORK/sig" --signature-format openssl
run openssl dgst -sha512 -verify "$WORK/dave.pub" -signature "$WORK/sig" "$WORK/data"

# a tampered signature is refused by the module
printf 'other content\n' >"$WORK/other"
sign alice@example.org "$alice_id" SHA256-RSA-PKCS "$WORK/data" "$WORK/sig"
# (pkcs11-tool 0.23 prints the verdict and exits 0 either way)
run p11 --token-label alice@example.org --verify --id "$alice_id" -m SHA256-RSA-PKCS -i "$WORK/other" --signature-file "$WORK/sig"
expect "Invalid signature"
expect_not "Signature is valid"

# only the primary's key signs; the history key is refused
fails p11 --token-label alice@example.org --login --pin "$PIN" --sign --id "$old_id" -m SHA256-RSA-PKCS -i "$WORK/data" -o "$WORK/sig"
expect "CKR_KEY_FUNCTION_NOT_PERMITTED"
# no key without login: the private key is not found before it, and is after
# it (pkcs11-tool then declines to read a private key's value itself)
fails p11 --token-label alice@example.org --read-object --type privkey --id "$alice_id" -o "$WORK/key"
expect "error: object not found"
run p11 --token-label alice@example.org --login --pin "$PIN" --read-object --type privkey --id "$alice_id" -o "$WORK/key"
expect "reading private keys not (yet) supported"
# nor with a wrong PIN
fails p11 --token-label alice@example.org --login --pin wrong-pin-123 --sign --id "$alice_id" -m SHA256-RSA-PKCS -i "$WORK/data" -o "$WORK/sig"
expect "C_Login failed: rv = CKR_PIN_INCORRECT"
echo "ok"
