# pkcs11-tool's thread test: two threads initialise (with and without OS
# locking), read the library info, list slots and read token info while the
# main thread initialises too and lists the slots.
#
# pkcs11-tool 0.23 starts the threads before the main thread's C_Initialize
# and checks once, when the main thread is done, whether they have ended;
# if not it sleeps 30 s before checking again.  The main thread's -L makes
# fewer module calls than each thread, so it always finished first and the
# test took 30 s.  Here the main thread then digests its input from a FIFO
# that is written only once both threads have reported their end: the check
# finds them done.
. "$(dirname "$0")/lib.sh"
provision "$(p12 alice)" "$(p12 carol)"
mkfifo "$WORK/input"
printf 'thread test input\n' >"$WORK/data"
p11 --test-threads ILGISLT0 --test-threads INGISLT1 -L --hash -m SHA256 \
    --input-file "$WORK/input" --output-file "$WORK/digest" >"$WORK/out" 2>&1 &
pid=$!
exec 3<>"$WORK/input" # holds the FIFO open: the main thread's open() returns at once
for _ in $(seq 600); do
    [ "$(grep -c '^Test thread [01] returning' "$WORK/out")" -lt 2 ] && kill -0 "$pid" || break
    sleep 0.05
done
cat "$WORK/data" >&3
exec 3>&-
code=0
wait "$pid" || code=$?
[ "$code" -eq 0 ] || { cat "$WORK/out" >&2; die "pkcs11-tool --test-threads exit $code"; }
expect "test_threads all threads have ended with CKR_OK"
expect_not "waiting for 30 seconds"
# Each thread and the main thread initialised: one of the three did it, the
# two others found the library initialised.
[ "$(grep -c 'C_Initialize *returned CKR_CRYPTOKI_ALREADY_INITIALIZED\|Main C_Initialize(NULL) rv:CKR_CRYPTOKI_ALREADY_INITIALIZED' "$WORK/out")" -eq 2 ] ||
    { cat "$WORK/out" >&2; die "expected exactly one C_Initialize to initialise the library"; }
# The main thread lists the slots while the test threads print token info
# into the same stdout: a thread's lines may fall between "Slot 1 (0x2): "
# and the description that completes it, so each half is checked alone.
grep -q '^Slot 1 (0x2): ' "$WORK/out" || { cat "$WORK/out" >&2; die "the main thread did not list slot 1"; }
grep -qE '(^Slot 1 \(0x2\): |^)mailtoken carol@example\.org$' "$WORK/out" ||
    { cat "$WORK/out" >&2; die "slot 1 is not described as carol's token"; }
cmp <(openssl dgst -sha256 -binary "$WORK/data") "$WORK/digest" || die "the module's SHA-256 differs from openssl's"
echo "ok"
