# Decryption with the primary's and a history key (old mail still opens),
# RSA PKCS#1 v1.5 and OAEP; ECDH derivation matches openssl's.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 carol)"
alice_id=$(key_id "$(crt alice)")
old_id=$(key_id "$(crt alice-old)")
carol_id=$(key_id "$(crt carol)")
printf 'content key 0123456789abcdef\n' >"$WORK/plain"

decrypt() { # ID MECH IN [options]
    local id=$1 mech=$2 in=$3
    shift 3
    run p11 --token-label alice@example.org --login --pin "$PIN" --decrypt --id "$id" -m "$mech" -i "$in" -o "$WORK/dec" "$@"
    cmp "$WORK/dec" "$WORK/plain" || die "decrypted text differs ($mech, key $id)"
}

for who in alice alice-old; do
    id=$alice_id
    [ "$who" = alice-old ] && id=$old_id
    pubkey "$(crt "$who")" "$WORK/pub"
    run openssl pkeyutl -encrypt -pubin -inkey "$WORK/pub" -in "$WORK/plain" -out "$WORK/enc"
    decrypt "$id" RSA-PKCS "$WORK/enc"
    for h in sha1 sha256; do
        H=$(echo "$h" | tr a-z A-Z)
        run openssl pkeyutl -encrypt -pubin -inkey "$WORK/pub" -pkeyopt rsa_padding_mode:oaep \
            -pkeyopt rsa_oaep_md:"$h" -pkeyopt rsa_mgf1_md:"$h" -in "$WORK/plain" -out "$WORK/enc"
        decrypt "$id" RSA-PKCS-OAEP "$WORK/enc" --hash-algorithm "${H/SHA1/SHA-1}" --mgf "MGF1-$H"
    done
done

# garbage ciphertext is refused, not a crash
head -c 256 /dev/urandom >"$WORK/garbage"
fails p11 --token-label alice@example.org --login --pin "$PIN" --decrypt --id "$alice_id" -m RSA-PKCS -i "$WORK/garbage"
expect "CKR_ENCRYPTED_DATA_INVALID"

# ECDH: the shared secret equals openssl's
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/peer.key" 2>/dev/null
openssl pkey -in "$WORK/peer.key" -pubout -outform DER -out "$WORK/peer.der"
run p11 --token-label carol@example.org --login --pin "$PIN" --derive -m ECDH1-DERIVE --id "$carol_id" -i "$WORK/peer.der" -o "$WORK/z"
pubkey "$(crt carol)" "$WORK/carol.pub"
run openssl pkeyutl -derive -inkey "$WORK/peer.key" -peerkey "$WORK/carol.pub" -out "$WORK/z.expected"
cmp "$WORK/z" "$WORK/z.expected" || die "ECDH secret differs from openssl's"
echo "ok"
