# pkcs11-tool's own test suite and its fork test (threads: threads.sh).
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 bob)" "$(p12 carol)"
for token in alice@example.org bob@example.org carol@example.org; do
    run p11 --token-label "$token" --login --pin "$PIN" --test
    expect "No errors"
done
run p11 --token-label alice@example.org --login --pin "$PIN" --test
# The mechanisms carry no CKF_HW (a software token), so the self test skips
# its signature part: sign.sh signs with every mechanism family explicitly.
expect "all 4 digest functions seem to work"
expect "SHA1-RSA-PKCS: OK"
expect "RSA-PKCS-OAEP: mgf not set"
run p11 --test-fork -L
expect "Calling C_Initialize in forked child process"
echo "ok"
