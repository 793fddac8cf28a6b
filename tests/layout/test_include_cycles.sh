# layout.include-cycles: a planted cycle is found, then pkcs11/ and store/
# have none.  $1: the source tree.
SRC=${1:?usage: test_include_cycles.sh SOURCE_DIR}
CHECK="python3 $(dirname "$0")/include_cycles.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/mt-layout-XXXXXX")
trap 'rm -rf "$T"' EXIT
printf '#include "b.h"\n' >"$T/a.h"
printf '#include "c.h"\n' >"$T/b.h"
printf '#include "a.h"\n' >"$T/c.h"
printf '#include "a.h"\n' >"$T/a.c"
if $CHECK "$T" >"$T/out"; then echo "FAIL: a planted cycle was not found" >&2; exit 1; fi
grep -q "a.h -> b.h -> c.h -> a.h" "$T/out" || { echo "FAIL: cycle not named: $(cat "$T/out")" >&2; exit 1; }
$CHECK "$SRC/pkcs11" "$SRC/store/src" || { echo "FAIL: include cycle in the tree" >&2; exit 1; }
echo ok
