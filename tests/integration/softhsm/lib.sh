# Shared by the softhsm tests: a throw-away SoftHSM, a test CA, S/MIME
# certificates, and the mailtoken store beside them.  Source it from a test
# running under `bash -euo pipefail`.

SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
MAILTOKEN=$MT_BUILD_DIR/provision/mailtoken
MT_MODULE=$MT_BUILD_DIR/pkcs11/mailtoken-pkcs11.so
P11DIFF=$MT_BUILD_DIR/softhsm-compat/p11diff
SOFTHSM_FILL=$MT_BUILD_DIR/tests/integration/softhsm/softhsm-fill

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs a command; on failure names it and shows its output.
run() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    fail "command failed: $*"
  fi
  printf '%s' "$out"
}

# Programs that load our module need the sanitizer runtime first; a
# third-party client's own leaks are not checked (MT_CLIENT_ASAN_OPTIONS).
with_module() { LD_PRELOAD=${MT_PRELOAD:-} "$@"; }
with_client() { ASAN_OPTIONS=${MT_CLIENT_ASAN_OPTIONS:-${ASAN_OPTIONS:-}} with_module "$@"; }

# setup_dirs: fresh work dir, SoftHSM config, mailtoken config and store.
setup_dirs() {
  # SoftHSM rewrites an object file once per attribute: on tmpfs that costs
  # microseconds, on a disk milliseconds (minutes for the 50 accounts).
  local base=${TMPDIR:-/tmp}
  [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
  WORK=$(mktemp -d "$base/softhsm-compat.XXXXXX")
  [ -n "${MT_KEEP_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/tokens" "$WORK/pki"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$WORK" >"$WORK/softhsm2.conf"
  export SOFTHSM2_CONF=$WORK/softhsm2.conf
  # Minimal Argon2id limits keep 50 PINs fast; the policy is exercised elsewhere.
  cat "$(dirname "${BASH_SOURCE[0]}")/../../data/fast-kdf.conf" >"$WORK/mailtoken.conf"
  export MAILTOKEN_CONF=$WORK/mailtoken.conf MAILTOKEN_STORE=$WORK/store.db XDG_DATA_HOME=$WORK/xdg-data
  umask 077
  printf 'user-pin-1234\n' >"$WORK/user.pin"
  printf 'so-pin-12345678\n' >"$WORK/so.pin"
}

# make_ca: an EC P-256 CA that `openssl ca` issues from (start dates can be set).
make_ca() {
  local d=$WORK/pki
  run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=mailtoken Test Migration CA" -days 3650 >/dev/null
  : >"$d/index.txt"
  cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $d
database = $d/index.txt
new_certs_dir = $d
serial = $d/serial
certificate = $d/ca.crt
private_key = $d/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[smime]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:\${ENV::MT_EMAIL}
CNF
  openssl rand -hex 8 >"$d/serial"
}

# issue NAME EMAIL KEYSPEC START END: PEM key and certificate in $WORK/pki.
# KEYSPEC: rsa2048 | ec-p256; START/END as YYYYMMDDHHMMSSZ.
issue() {
  local name=$1 email=$2 spec=$3 start=$4 end=$5 d=$WORK/pki newkey
  case $spec in
    rsa2048) newkey=(-newkey rsa:2048) ;;
    ec-p256) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    *) fail "issue: unknown key spec $spec" ;;
  esac
  run openssl req -new "${newkey[@]}" -nodes -keyout "$d/$name.key" -subj "/CN=$name" \
    -out "$d/$name.csr" >/dev/null
  MT_EMAIL=$email run openssl ca -batch -config "$d/ca.cnf" -extensions smime -notext \
    -startdate "$start" -enddate "$end" -in "$d/$name.csr" -out "$d/$name.crt" >/dev/null
}

# softhsm_fill TOKEN < manifest: certificates and keys in one session (see
# softhsm-fill.c); fills ID[label] with each CKA_ID and FP[label] with the
# certificate's SHA-256.
declare -A ID=() FP=()
softhsm_fill() {
  local out label id fp
  out=$(run "$SOFTHSM_FILL" "$SOFTHSM_MODULE" "$1" "$WORK/user.pin")
  while IFS=$'\t' read -r label id fp; do ID[$label]=$id FP[$label]=$fp; done <<<"$out"
}

# Date "YYYYMMDDHHMMSSZ" N days from now (negative: in the past).
days_from_now() { date -u -d "$1 days" +%Y%m%d%H%M%SZ; }

# softhsm_token LABEL: a fresh initialised token.
softhsm_token() {
  run softhsm2-util --init-token --free --label "$1" --so-pin "$(cat "$WORK/so.pin")" \
    --pin "$(cat "$WORK/user.pin")" >/dev/null
}

softhsm_tool() {
  local token=$1; shift
  run pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$token" --login \
    --pin "$(cat "$WORK/user.pin")" "$@"
}

# The label mailtoken gives a history certificate: "EMAIL (until YYYY-MM-DD)".
history_label() {
  local end
  end=$(openssl x509 -in "$WORK/pki/$2.crt" -noout -enddate | cut -d= -f2)
  printf '%s (until %s)' "$1" "$(date -u -d "$end" +%F)"
}

# mailtoken_init: the store with its organisation.
mailtoken_init() {
  run "$MAILTOKEN" init --so-pin-file "$WORK/so.pin" >/dev/null
}
