# pkcs11-tool -O: the object model of an account with a history and a chain.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 carol)" "$(crt partner)"
alice_id=$(key_id "$(crt alice)")
old_id=$(key_id "$(crt alice-old)")
carol_id=$(key_id "$(crt carol)")
old_end=$(date -u -d "$(openssl x509 -in "$(crt alice-old)" -noout -enddate | cut -d= -f2)" +%F)

# before login: profile, certificates, public keys, chain; no private key
run p11 --token-label alice@example.org -O
expect "profile_id:          CKP_PUBLIC_CERTIFICATES_TOKEN (4)"
expect_not "Private Key Object"
[ "$(grep -c 'Certificate Object' "$WORK/out")" = 4 ] || die "expected 2 certificates + 2 chain"
[ "$(grep -c 'Public Key Object' "$WORK/out")" = 2 ] || die "expected 2 public keys"
expect "ID:         $alice_id"
expect "ID:         $old_id"
expect "label:      alice@example.org (until $old_end)"
expect "label:      CN=mailtoken Test S/MIME CA,O=mailtoken Test"

# after login: the private keys, sensitive; only the primary's signs
run p11 --token-label alice@example.org --login --pin "$PIN" -O
[ "$(grep -c 'Private Key Object' "$WORK/out")" = 2 ] || die "expected 2 private keys"
expect "Access:     sensitive, always sensitive, never extractable"
grep -A3 "Private Key Object" "$WORK/out" | grep -A2 "ID:         $alice_id" | grep -q "Usage:      decrypt, sign, unwrap" ||
    die "the primary's key must sign"
grep -A3 "Private Key Object" "$WORK/out" | grep -A2 "ID:         $old_id" | grep -q "Usage:      decrypt, unwrap" ||
    die "a history key only decrypts"

# the certificate read back is the certificate imported
run p11 --token-label alice@example.org --read-object --type cert --id "$alice_id" -o "$WORK/alice.der"
openssl x509 -in "$(crt alice)" -outform DER -out "$WORK/expected.der"
cmp "$WORK/alice.der" "$WORK/expected.der" || die "certificate read back differs"

# EC: the public key carries EC_PARAMS and EC_POINT, CKA_ID is SHA-1 of the point
run p11 --token-label carol@example.org -O
expect "EC_POINT 256 bits"
expect "ID:         $carol_id"
# (the point itself is compared in the unit tests: pkcs11-tool 0.23 reading
# an EC public key trips over its own use-after-free under ASan)

# a PEM-only account: a certificate, no public key object
run p11 --token-label partner@partner.example -O
expect "Certificate Object"
expect_not "Public Key Object"
echo "ok"
