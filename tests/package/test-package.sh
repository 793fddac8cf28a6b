#!/usr/bin/env bash
# The Debian packages as an administrator gets them: built from a clean copy of
# the tree by `./dev.sh package` (dpkg-buildpackage), hardened, exporting only
# the PKCS#11 entry points, shipping every unit of docs/systemd/, lintian-clean,
# then installed, used, upgraded, removed and purged in a fresh Debian 12
# chroot (in-chroot.sh, through tests/chroot/make-chroot.sh).
# Step times go to stdout and to $MT_BUILD_DIR/package/times.txt.
#   usage: test-package.sh   (MT_SOURCE_DIR, MT_BUILD_DIR, MT_TESTDATA set)
set -euo pipefail
SRC=${MT_SOURCE_DIR:?MT_SOURCE_DIR is not set}
BUILD=${MT_BUILD_DIR:?MT_BUILD_DIR is not set}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
OUT=$BUILD/package
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root: the packages are installed in a chroot"
for tool in dpkg-buildpackage dh lintian debootstrap readelf; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (./dev.sh deps installs it)"
done
rm -rf "$OUT"
mkdir -p "$OUT"
TIMES=$OUT/times.txt
: >"$TIMES"

step "build: ./dev.sh package (DEB_BUILD_OPTIONS=nocheck parallel=2: ./dev.sh test runs the tests)"
DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
    "$SRC/dev.sh" package "$OUT/debs" >"$OUT/build.log" 2>&1 ||
    { tail -n 40 "$OUT/build.log" >&2; fail "./dev.sh package failed (log: $OUT/build.log)"; }
TOOL_DEB=$(ls "$OUT"/debs/mailtoken_*.deb)
MODULE_DEB=$(ls "$OUT"/debs/mailtoken-pkcs11_*.deb)

step "inspect: version, exports, hardening, units"
cmake_version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
deb_version=$(dpkg-deb -f "$TOOL_DEB" Version)
[ "${deb_version%%-*}" = "$cmake_version" ] ||
    fail "debian/changelog says $deb_version, CMakeLists.txt says $cmake_version"
for deb in "$TOOL_DEB" "$MODULE_DEB"; do
    dpkg-deb -x "$deb" "$OUT/files"
done
F=$OUT/files
module=$F/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkcs11/mailtoken-pkcs11.so
[ -f "$module" ] || fail "the module is not at ${module#"$F"}"
exports=$(nm -D --defined-only "$module" | awk '{ print $3 }' | sort)
for sym in C_GetFunctionList C_GetInterfaceList C_GetInterface; do
    grep -qx "$sym" <<<"$exports" || fail "the module does not export $sym"
done
others=$(sed '/^C_/d' <<<"$exports")
[ -z "$others" ] || fail "the module exports more than C_*: $others"
for elf in "$F/usr/bin/mailtoken" "$module"; do
    name=${elf#"$F"}
    headers=$(readelf -lW "$elf")
    dynamic=$(readelf -dW "$elf")
    symbols=$(readelf --dyn-syms -W "$elf")
    grep -q GNU_RELRO <<<"$headers" || fail "$name: no RELRO (LDFLAGS not honoured?)"
    grep -Eq 'FLAGS.*(BIND_NOW|NOW)' <<<"$dynamic" || fail "$name: not linked with -z now"
    grep -q '__stack_chk_fail' <<<"$symbols" || fail "$name: no stack protector (CFLAGS not honoured?)"
    grep -Eq '__[a-z0-9_]+_chk@' <<<"$symbols" || fail "$name: no _FORTIFY_SOURCE checks"
done
[ "$(readelf -hW "$F/usr/bin/mailtoken" | awk '$1 == "Type:" { print $2 }')" = DYN ] &&
    grep -Eq 'FLAGS_1.*PIE' <<<"$(readelf -dW "$F/usr/bin/mailtoken")" ||
    fail "/usr/bin/mailtoken is not PIE"
# Every unit file of docs/systemd/ is shipped, system units and user units.
shopt -s nullglob
for unit in "$SRC"/docs/systemd/*.{service,socket,timer,path,target}; do
    [ -f "$F/lib/systemd/system/${unit##*/}" ] || fail "${unit#"$SRC/"} is not packaged in /lib/systemd/system"
done
for unit in "$SRC"/docs/systemd/user/*.{service,socket,timer,path,target}; do
    [ -f "$F/usr/lib/systemd/user/${unit##*/}" ] || fail "${unit#"$SRC/"} is not packaged in /usr/lib/systemd/user"
done
shopt -u nullglob
[ -z "$(find "$F" -name '*.a' -o -name '*.h' -o -name '*.pc')" ] ||
    fail "a package ships the store's static library, header or pkg-config file"

step "lintian"
lintian --fail-on error,warning "$OUT"/debs/*.changes >"$OUT/lintian.txt" 2>&1 ||
    { cat "$OUT/lintian.txt" >&2; fail "lintian reports errors or warnings"; }
if grep -E '^[EW]: ' "$OUT/lintian.txt"; then
    fail "lintian reports errors or warnings"
fi

step "chroot: fresh Debian 12 (debootstrap once, cached in $BUILD/chroot-cache), apt-get update"
export MT_TIMES=$TIMES MT_STEP_START=$STEP_START MT_STEP_NAME=$STEP_NAME
status=0
"$SRC/tests/chroot/make-chroot.sh" --cache "$BUILD/chroot-cache" \
    --include p11-kit,p11-kit-modules,opensc,systemd \
    -- bash "$HERE/in-chroot.sh" "$OUT/debs" || status=$?
[ "$status" -ne 77 ] || skip "no Debian 12 chroot can be made here (reason above)"
[ "$status" -eq 0 ] || fail "the packages failed in the chroot"
STEP_NAME= # ended by in-chroot.sh
echo "times (s):"
cat "$TIMES"
