# pkcs11-tool -M: the mechanism list with its key sizes and flags (no "hw":
# a software token).
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice)"
run p11 --token-label alice@example.org -M
for m in "RSA-PKCS, keySize={1024,16384}, encrypt, decrypt, sign, verify, unwrap" \
         "RSA-PKCS-PSS, keySize={1024,16384}, sign, verify" \
         "RSA-PKCS-OAEP, keySize={1024,16384}, encrypt, decrypt, unwrap" \
         "SHA256-RSA-PKCS-PSS" "SHA512-RSA-PKCS" "SHA224-RSA-PKCS" \
         "ECDSA, keySize={256,521}, sign, verify" "ECDSA-SHA384" "ECDSA-SHA512" \
         "ECDH1-DERIVE, keySize={256,521}, derive" "SHA-1, digest" "SHA256, digest" "SHA512, digest"; do
    expect "$m"
done
expect_not ", hw"
echo "ok"
