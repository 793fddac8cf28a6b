#!/usr/bin/env bash
# Plants each bug of tests/mutants/mutants.txt in a copy of the tree, builds
# it and runs the tests that must catch it; fails when one survives.
#   tests/mutants/run.sh [--keep] [MUTANT...]   (default: every mutant)
# The copy and its build live in a temporary directory (kept with --keep).
# Run by hand or by a CI job; ./dev.sh test does not run it (it takes a few
# minutes: one build, then one incremental build and a few tests per mutant).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LIST=$SRC/tests/mutants/mutants.txt
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
KEEP=0
if [ "${1:-}" = --keep ]; then KEEP=1; shift; fi
ONLY=("$@")

fail() { echo "mutants: $*" >&2; exit 2; }

# ---- the list: NAME FILE SED TESTS WHY, one line each (fields tab-separated)
declare -a NAMES=() FILES=() SEDS=() TESTS=() WHYS=()
flush() {
    [ -n "${name:-}" ] || return 0
    [ -n "${file:-}" ] && [ -n "${sed:-}" ] && [ -n "${tests:-}" ] || fail "$LIST: mutant $name lacks file, sed or tests"
    NAMES+=("$name") FILES+=("$file") SEDS+=("$sed") TESTS+=("$tests") WHYS+=("${why:-}")
    name= file= sed= tests= why=
}
name= file= sed= tests= why=
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    '#'* | '') continue ;;
    mutant:*) flush; name=$(sed 's/^mutant:[[:space:]]*//' <<<"$line") ;;
    file:*) file=$(sed 's/^file:[[:space:]]*//' <<<"$line") ;;
    sed:*) sed=$(sed 's/^sed:[[:space:]]*//' <<<"$line") ;;
    tests:*) tests=$(sed 's/^tests:[[:space:]]*//' <<<"$line") ;;
    why:*) why=$(sed 's/^why:[[:space:]]*//' <<<"$line") ;;
    *) fail "$LIST: cannot read: $line" ;;
    esac
done <"$LIST"
flush
[ ${#NAMES[@]} -gt 0 ] || fail "$LIST lists no mutant"
for o in "${ONLY[@]}"; do
    printf '%s\n' "${NAMES[@]}" | grep -qxF "$o" || fail "no mutant named $o"
done
selected() { [ ${#ONLY[@]} -eq 0 ] || printf '%s\n' "${ONLY[@]}" | grep -qxF "$1"; }

# ---- a copy of the tree (tracked and new files, as they are now) and its build
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-mutants.XXXXXX")
if [ "$KEEP" = 1 ]; then echo "mutants: work dir $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
COPY=$WORK/src BUILD=$WORK/build
mkdir -p "$COPY"
(cd "$SRC" && git ls-files -co --exclude-standard -z) | (cd "$SRC" && xargs -0 cp --parents -t "$COPY")
echo "mutants: building the unchanged copy"
cmake -S "$COPY" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMT_WITH_BENCH=OFF >"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; fail "cmake failed"; }
build() { cmake --build "$BUILD" -j"$JOBS" >"$WORK/build.log" 2>&1; }
build || { tail -30 "$WORK/build.log" >&2; fail "the unchanged copy does not build"; }

regex() { # the ctest regex of a space-separated list of test names
    local t r=
    for t in $1; do r="$r${r:+|}$(sed 's/[.]/\\./g' <<<"$t")"; done
    echo "^($r)\$"
}
# runs the tests of $1; prints the ones that failed (none: all passed)
failing() {
    local out=$WORK/ctest.log
    ctest --test-dir "$BUILD" -j"$JOBS" -R "$(regex "$1")" >"$out" 2>&1 || true # the verdict is read below
    grep -q "tests passed" "$out" || { cat "$out" >&2; fail "ctest did not run: $1"; }
    local t
    for t in $1; do
        grep -qE "Test +#[0-9]+: $(sed 's/[.]/\\./g' <<<"$t") " "$out" || { cat "$out" >&2; fail "no test named $t"; }
    done
    sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (\(Failed\|Timeout\|Not Run\|Exception\)).*/\1/p' "$out" | tr '\n' ' '
}

all_tests=$(printf '%s\n' "${TESTS[@]}" | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "mutants: the tests pass on the unchanged copy: $all_tests"
bad=$(failing "$all_tests")
[ -z "$bad" ] || fail "these tests fail without any mutant: $bad"

# ---- each mutant: plant, build, test, restore
survived=0
report=()
for i in "${!NAMES[@]}"; do
    selected "${NAMES[$i]}" || continue
    target=$COPY/${FILES[$i]}
    [ -f "$target" ] || fail "${NAMES[$i]}: no file ${FILES[$i]}"
    cp "$target" "$WORK/original"
    sed -i -e "${SEDS[$i]}" "$target"
    changed=$(diff "$WORK/original" "$target" | grep -c '^[<>]' || true) # diff exits 1 on a difference
    if [ "$changed" -eq 0 ] || [ "$changed" -gt 2 ]; then
        cp "$WORK/original" "$target"
        fail "${NAMES[$i]}: the sed changed $changed lines of ${FILES[$i]}, not one: update the entry"
    fi
    echo "mutants: ${NAMES[$i]}: $(diff "$WORK/original" "$target" | sed -n 's/^< */was: /p; s/^> */now: /p' | tr '\n' ' ')"
    if ! build; then
        tail -20 "$WORK/build.log" >&2
        cp "$WORK/original" "$target"
        fail "${NAMES[$i]}: the mutant does not build: update the entry"
    fi
    caught=$(failing "${TESTS[$i]}")
    cp "$WORK/original" "$target"
    if [ -n "$caught" ]; then
        report+=("killed    ${NAMES[$i]}: by $caught")
    else
        report+=("SURVIVED  ${NAMES[$i]}: ${WHYS[$i]}; tests run: ${TESTS[$i]}")
        survived=$((survived + 1))
    fi
done
build || { tail -30 "$WORK/build.log" >&2; fail "the restored copy does not build"; }

echo
printf '%s\n' "${report[@]}"
if [ "$survived" -gt 0 ]; then
    echo "mutants: $survived of ${#report[@]} survived"
    exit 1
fi
echo "mutants: all ${#report[@]} killed"
