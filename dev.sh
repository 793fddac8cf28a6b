#!/usr/bin/env bash
# mailtoken developer entry point.
#   ./dev.sh demo    install what is needed, build, run the end-to-end demo
#   ./dev.sh test    install what is needed, build, run every test (plus ASan+UBSan)
#   ./dev.sh build   install what is needed and build into ./build
#   ./dev.sh deps    install the Debian packages only
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential cmake pkg-config git
  libssl-dev openssl libsqlite3-dev sqlite3 libsodium-dev libp11-kit-dev p11-kit p11-kit-modules
  libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libcmocka-dev
  softhsm2 opensc gnutls-bin libnss3-tools libengine-pkcs11-openssl
  jq curl xxd python3 passwd
  default-jre-headless      # keytool: Java keystores for cert import tests
  clang libclang-rt-14-dev  # libFuzzer (tests/fuzz/pkcs11)
  thunderbird               # headless Thunderbird test; its own NSS for cmsutil
  python3-yaml              # the OpenAPI document's check (serve tests)
)
JOBS=$(nproc 2>/dev/null || echo 2)

log() { printf '==> %s\n' "$*" >&2; }

deps() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
}

run_tests() { # run_tests DIR [ctest args...]
  local dir=$1; shift
  ctest --test-dir "$dir" --output-on-failure -j"$JOBS" "$@"
}

case "${1:-help}" in
  deps) deps ;;
  build) deps; build build ;;
  test)
    deps
    log "build"
    build build
    log "tests"
    run_tests build
    log "build with AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -DMT_SANITIZE=address,undefined -DMT_WITH_BENCH=OFF
    log "tests under ASan+UBSan"
    run_tests build-asan -LE 'nosan'
    ;;
  demo)
    deps
    build build
    exec ./demo/demo.sh build
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    [ "${1:-help}" = help ] || exit 2
    ;;
esac
