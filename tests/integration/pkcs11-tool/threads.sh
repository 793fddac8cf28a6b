# pkcs11-tool's thread test: threads initialising (with and without OS
# locking), listing slots and reading token info while the main thread
# initialises too.  pkcs11-tool sleeps 30 s when its threads are still busy
# at its single check, so this test can take that long on a loaded machine.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice)" "$(p12 carol)"
run p11 --test-threads ILGISLT0 --test-threads INGISLT1 -L
expect "test_threads all threads have ended with CKR_OK"
echo "ok"
