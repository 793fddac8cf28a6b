# Module benchmark: mailtoken-pkcs11.so and SoftHSMv2 holding the same keys,
# against raw OpenSSL EVP in the same process.
#   run-bench.sh [--seconds S] [--short]
# Needs MT_MODULE, MT_PROVISION, MT_BENCH, MT_TESTDATA (ctest sets them).
seconds=2
[ "${1:-}" = --short ] && seconds=0.1
[ "${1:-}" = --seconds ] && seconds=$2
: "${MT_MODULE:?}" "${MT_PROVISION:?}" "${MT_BENCH:?}" "${MT_TESTDATA:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-p11bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
die() { echo "FAIL: $*" >&2; exit 1; }
users=$MT_TESTDATA/users

# mt-test-provision writes the cheapest Argon2id (tests/data/fast-kdf.conf)
cat "$(dirname "$0")/../../data/fast-kdf.conf" >"$WORK/mailtoken.conf"
export MAILTOKEN_STORE=$WORK/store.db MAILTOKEN_CONF=$WORK/mailtoken.conf
"$MT_PROVISION" --store "$MAILTOKEN_STORE" --so-pin so-secret-123 --pin user-pin-123 \
    "$users/alice.p12" "$users/carol.p12" || die "mt-test-provision"

mkdir "$WORK/softhsm"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$WORK/softhsm" >"$WORK/softhsm2.conf"
export SOFTHSM2_CONF=$WORK/softhsm2.conf
for u in alice carol; do
    softhsm2-util --init-token --free --label "$u" --so-pin 87654321 --pin 12345678 >/dev/null ||
        die "softhsm2-util --init-token $u"
    softhsm2-util --import "$users/$u.key" --token "$u" --label "$u" --id 01 --pin 12345678 >/dev/null ||
        die "softhsm2-util --import $u"
done
softhsm=$(find /usr/lib -name libsofthsm2.so -path '*softhsm*' | head -1)
[ -n "$softhsm" ] || die "libsofthsm2.so not found"

"$MT_BENCH" --seconds "$seconds" --key-dir "$users" \
    --module "mailtoken=$MT_MODULE:user-pin-123:alice@example.org:carol@example.org" \
    --module "SoftHSM=$softhsm:12345678:alice:carol" || die "pkcs11_bench"
