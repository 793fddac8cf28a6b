# Shared by the package test's scripts: failures, skips and step times.
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Each step's time in seconds goes to stdout and to $TIMES; a step may begin in
# one script and end in another ($MT_STEP_NAME, $MT_STEP_START).
TIMES=${MT_TIMES:-/dev/null}
STEP_NAME=${MT_STEP_NAME:-}
STEP_START=${MT_STEP_START:-}
step_done() {
    [ -n "$STEP_NAME" ] || return 0
    local took
    took=$(awk -v a="$STEP_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    printf '%7s  %s\n' "$took" "$STEP_NAME" | tee -a "$TIMES"
    STEP_NAME=
}
step() {
    step_done
    STEP_NAME=$1
    STEP_START=$(date +%s.%N)
    echo "== $1"
}
