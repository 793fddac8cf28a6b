# Sourced by the crypto shell tests: checks MT_TESTDATA, makes a fresh
# temporary directory $TMP (removed on exit) and defines fail and run.
: "${MT_TESTDATA:?MT_TESTDATA must be set}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# run CMD...: quiet unless it fails, then its output and the command line
run() { "$@" >"$TMP/run.out" 2>&1 || { cat "$TMP/run.out" >&2; fail "command failed: $*"; }; }
