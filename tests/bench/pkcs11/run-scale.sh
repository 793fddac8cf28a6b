# Scale benchmark: a store of N accounts (default 100000), then pkcs11_scale.
#   run-scale.sh [--accounts N] [--keep DIR] [--rounds N] [--server URI]
# With --server the same store is copied to a PostgreSQL server
# (`mailtoken store copy`) and pkcs11_scale measures both in one run, the
# server's results as ratios to SQLite's.
# Needs MT_MODULE, MT_PROVISION, MT_SCALE, MT_GEN_BULK, MT_TESTDATA (ctest sets
# them), and MT_CLI (the mailtoken program) with --server.
accounts=100000
keep=
rounds=1
server=
while [ $# -gt 0 ]; do
    case $1 in
        --accounts) accounts=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --server) server=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
: "${MT_MODULE:?}" "${MT_PROVISION:?}" "${MT_SCALE:?}" "${MT_GEN_BULK:?}" "${MT_TESTDATA:?}"
die() { echo "FAIL: $*" >&2; exit 1; }
if [ -n "$keep" ]; then
    WORK=$keep
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-p11scale-XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi
# mt-test-provision writes the cheapest Argon2id (tests/data/fast-kdf.conf)
cat "$(dirname "$0")/../../data/fast-kdf.conf" >"$WORK/mailtoken.conf"
export MAILTOKEN_STORE=$WORK/store.db MAILTOKEN_CONF=$WORK/mailtoken.conf
if [ ! -f "$MAILTOKEN_STORE" ]; then
    start=$(date +%s)
    # mt-gen-bulk numbers at most 99999 users per domain
    left=$accounts part=0
    while [ "$left" -gt 0 ]; do
        count=$(( left > 99999 ? 99999 : left ))
        # one PBKDF2 iteration: the files only carry the accounts in
        "$MT_GEN_BULK" --out "$WORK/p12-$part" --count "$count" --keys 8 --password bench --iterations 1 \
            --domain "bulk$part.example.org" --ca "$MT_TESTDATA/ca" >/dev/null || die "mt-gen-bulk"
        "$MT_PROVISION" --store "$MAILTOKEN_STORE" --so-pin so-secret-123 --pin - \
            --password bench "$WORK/p12-$part" || die "mt-test-provision"
        rm -rf "$WORK/p12-$part"
        left=$(( left - count )) part=$(( part + 1 ))
    done
    echo "store of $accounts accounts built in $(( $(date +%s) - start )) s" >&2
fi
stores=(--store "$MAILTOKEN_STORE")
if [ -n "$server" ]; then
    : "${MT_CLI:?}"
    start=$(date +%s%N)
    "$MT_CLI" store copy --from "$MAILTOKEN_STORE" --to "$server" >/dev/null || die "store copy"
    echo "store copied to the server in $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
    # what autovacuum does within a minute of a bulk load: statistics, visibility map
    "${MT_TEST_PG_BIN:+$MT_TEST_PG_BIN/}psql" -q -X "$server" -c "VACUUM ANALYZE" || die "VACUUM ANALYZE"
    stores+=(--store "$server")
fi
"$MT_SCALE" --module "$MT_MODULE" --lookups 2000 --rounds "$rounds" "${stores[@]}" || die "pkcs11_scale"
