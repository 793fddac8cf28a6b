# pkcs11-tool's own test suite, its thread and fork tests.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice-old)" "$(p12 alice)" "$(p12 bob)" "$(p12 carol)"
for token in alice@example.org bob@example.org carol@example.org; do
    run p11 --token-label "$token" --login --pin "$PIN" --test
    expect "No errors"
done
run p11 --token-label alice@example.org --login --pin "$PIN" --test
expect "all 4 signature functions seem to work"
expect "SHA256-RSA-PKCS: OK"
run p11 --test-threads IN -L
# threads initialising and listing while the main thread initialises too
# (pkcs11-tool waits 30 s when its threads are still busy: keep them short)
run p11 --test-threads ILGISLT0 -L
expect "test_threads all threads have ended with CKR_OK"
run p11 --test-fork -L
expect "Calling C_Initialize in forked child process"
echo "ok"
