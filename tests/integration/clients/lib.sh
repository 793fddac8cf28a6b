# Shared by the real-client tests: a fresh work dir, a store provisioned with
# the `mailtoken` CLI, and helpers to run Debian's clients against the module.
#
# Environment (set by ctest): MT_TESTDATA, MT_BUILD_DIR, MT_SOURCE_DIR, and
# under ASan MT_PRELOAD (the sanitizer runtime a client needs before it
# dlopens our module).
set -Eeuo pipefail

MT_TEST_NAME=$(basename "$0" .sh)

trap 'mt_on_error $? "$BASH_COMMAND" $LINENO' ERR
mt_on_error() {
    echo "FAIL: $MT_TEST_NAME: line $3: command failed with exit $1: $2" >&2
    [ -z "${WORK:-}" ] || echo "      (work dir kept: $WORK)" >&2
    MT_KEEP_WORK=1
}

die() {
    echo "FAIL: $MT_TEST_NAME: $*" >&2
    [ -z "${WORK:-}" ] || echo "      (work dir kept: $WORK)" >&2
    MT_KEEP_WORK=1
    exit 1
}

step() { printf '\n== %s: %s\n' "$MT_TEST_NAME" "$*"; }

need_env() {
    local v
    for v in "$@"; do
        [ -n "${!v:-}" ] || die "environment variable $v is not set (run through ctest)"
    done
}

# client CMD...: runs a client program against the module (the sanitizer
# runtime first under ASan; the client's own leaks are not checked).
. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"

# Fresh work dir with its own HOME, so no user configuration (p11-kit
# modules, NSS databases, mailtoken config) leaks in.
mt_setup() {
    need_env MT_TESTDATA MT_BUILD_DIR
    [ -f "$MT_TESTDATA/ca/bundle.crt" ] || die "no test data in $MT_TESTDATA (fixture testdata)"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-$MT_TEST_NAME-XXXXXX")
    MT_KEEP_WORK=0
    trap '[ "$MT_KEEP_WORK" = 1 ] || rm -rf "$WORK"' EXIT
    mkdir -p "$WORK/home" "$WORK/pins"
    chmod 700 "$WORK/pins"
    export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
    unset MAILTOKEN_ACCOUNTS
    SO_PIN_FILE="$WORK/pins/so.pin"
    (umask 077; printf 'so-pin-Secret-42' >"$SO_PIN_FILE")
    echo "$MT_TEST_NAME: work dir $WORK"
    MODULE="$MT_BUILD_DIR/pkcs11/mailtoken-pkcs11.so"
    MAILTOKEN="$MT_BUILD_DIR/provision/mailtoken"
    [ -f "$MODULE" ] || die "module not built: $MODULE"
    [ -x "$MAILTOKEN" ] || die "CLI not built: $MAILTOKEN"
    export MAILTOKEN_STORE="$WORK/store.db" MAILTOKEN_CONF="$WORK/mailtoken.conf"
    mt_pg_store || die "cannot make a schema on the test server"
    # The cheapest Argon2id: tests log in to many tokens.
    cat "$(dirname "${BASH_SOURCE[0]}")/../../data/fast-kdf.conf" >"$MAILTOKEN_CONF"
    mt_cli init --org "Example Org" --so-pin-file "$SO_PIN_FILE" >/dev/null
}

# The `mailtoken` CLI on the test's store.
mt_cli() { "$MAILTOKEN" "$@"; }

# A distinct user PIN per account (the policy wants 8+ characters, not only
# digits), in a 0600 file without newline: libp11's pin-source reads it whole.
pin_of() { printf 'pin-%s-2026' "${1%%@*}"; }
pin_file_of() {
    local f="$WORK/pins/${1/@/-at-}.pin"
    [ -f "$f" ] || (umask 077; printf '%s' "$(pin_of "$1")" >"$f")
    printf '%s' "$f"
}

# RFC 7512 percent-encoding of the characters that appear in our emails and labels.
uri_escape() { local s=${1//%/%25}; s=${s//@/%40}; s=${s// /%20}; s=${s//;/%3B}; printf '%s' "$s"; }
# pkcs11: URI of the account's primary object of TYPE (labelled with the email).
obj_uri() { # EMAIL TYPE
    printf 'pkcs11:token=%s;object=%s;type=%s' "$(uri_escape "$1")" "$(uri_escape "$1")" "$2"
}

users_file() { printf '%s/users/%s' "$MT_TESTDATA" "$1"; }
email_of_user() { # NAME -> the email of a test-data user (alice-old -> alice@...)
    awk -F'\t' -v n="$1" 'NR > 1 && $1 == n { print $2; found = 1 } END { exit !found }' \
        "$MT_TESTDATA/manifest.tsv" || die "user $1 not in $MT_TESTDATA/manifest.tsv"
}

# Imports a test-data user's P12 (its account created or updated by the
# certificate) and sets the account's PIN with the SO PIN.
add_user() { # NAME
    mt_cli cert import --account auto --password-file "$(users_file "$1.pass")" \
        "$(users_file "$1.p12")" >/dev/null
    set_pin "$(email_of_user "$1")"
}

# Every P12 of DIR (one password), accounts created from the certificates.
add_p12_dir() { # DIR PASSFILE
    mt_cli cert import --dir "$1" --account auto --password-file "$2" >/dev/null
}

set_pin() { # EMAIL: the account's PIN, set with the SO PIN
    mt_cli account reset-pin "$1" --so-pin-file "$SO_PIN_FILE" --new-pin-file "$(pin_file_of "$1")" >/dev/null
}

# P12s for COUNT accounts userNNNNN@DOMAIN in DIR (default $WORK/bulk and
# $BULK_DOMAIN), password in $WORK/bulk.pass.
BULK_DOMAIN=bulk.example.net
gen_bulk() { # COUNT KEYS [DIR [DOMAIN]]
    local gen="$MT_BUILD_DIR/tests/tools/mt-gen-bulk"
    [ -x "$gen" ] || die "not built: $gen"
    [ -f "$WORK/bulk.pass" ] || (umask 077; printf 'bulk-Pass-1\n' >"$WORK/bulk.pass")
    "$gen" --out "${3:-$WORK/bulk}" --count "$1" --keys "$2" --password bulk-Pass-1 \
        --domain "${4:-$BULK_DOMAIN}" --ca "$MT_TESTDATA/ca" >/dev/null
}
bulk_emails() { local p; for p in "$WORK"/bulk/*.p12; do printf '%s@%s\n' "$(basename "$p" .p12)" "$BULK_DOMAIN"; done; }
# COUNT bulk accounts imported, each with its PIN; "EMAIL PIN" lines in FILE.
bulk_with_pins() { # COUNT KEYS FILE
    local email
    gen_bulk "$1" "$2"
    add_p12_dir "$WORK/bulk" "$WORK/bulk.pass"
    : >"$3"
    for email in $(bulk_emails); do
        set_pin "$email"
        printf '%s %s\n' "$email" "$(pin_of "$email")" >>"$3"
    done
}

# "EMAIL FAILED_LOGINS" for every token of the store, read through the store's API.
token_counters() {
    "$MT_BUILD_DIR/tests/integration/clients/mt-token-counters" "$MAILTOKEN_STORE"
}

# ------------------------------------------------------- OpenSSL + engine
# An openssl.cnf loading libp11's pkcs11 engine with our module.
write_openssl_engine_conf() { # FILE
    local engine
    engine=$(find /usr/lib/*/engines-3 -name pkcs11.so 2>/dev/null | head -n1)
    [ -n "$engine" ] || die "libengine-pkcs11-openssl is not installed (no engines-3/pkcs11.so)"
    cat >"$1" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine
MODULE_PATH = $MODULE
init = 0
EOF
}

# The account's primary key by URI, with its PIN file (pin-source) for the engine.
engine_key_uri() { printf '%s;pin-source=file:%s' "$(obj_uri "$1" private)" "$(pin_file_of "$1")"; }

engine_sign() { # EMAIL CERT IN OUT: S/MIME signed mail, key in the token
    client openssl cms -sign -engine pkcs11 -keyform engine -inkey "$(engine_key_uri "$1")" \
        -signer "$2" -md sha256 -in "$3" -out "$4" </dev/null 2>"$WORK/openssl-err.txt" ||
        { cat "$WORK/openssl-err.txt" >&2; die "openssl cms -sign through the module failed for $1"; }
}

engine_decrypt() { # EMAIL CERT IN OUT
    client openssl cms -decrypt -engine pkcs11 -keyform engine -inkey "$(engine_key_uri "$1")" \
        -recip "$2" -in "$3" -out "$4" </dev/null 2>"$WORK/openssl-err.txt" ||
        { cat "$WORK/openssl-err.txt" >&2; die "openssl cms -decrypt through the module failed for $1"; }
}

# ------------------------------------------------------------------- NSS
# A fresh NSS database with the module added the way a user would (modutil)
# and the test CA trusted for S/MIME.  Extra args go to modutil -add (-string).
nss_setup() {
    NSSDB="sql:$WORK/nssdb"
    mkdir -p "$WORK/nssdb"
    certutil -N -d "$NSSDB" --empty-password
    client modutil -dbdir "$NSSDB" -add mailtoken -libfile "$MODULE" -force "$@" >/dev/null ||
        die "modutil -add mailtoken -libfile $MODULE failed"
    client certutil -A -d "$NSSDB" -n "Test Root CA" -t "C,C,C" -i "$MT_TESTDATA/ca/root.crt"
    client certutil -A -d "$NSSDB" -n "Test S/MIME CA" -t ",," -i "$MT_TESTDATA/ca/sub.crt"
}

nss_sign() { # NICKNAME PWFILE IN OUT
    client cmsutil -S -d "$NSSDB" -N "$1" -f "$2" -G -P -i "$3" -o "$4" </dev/null ||
        die "cmsutil -S with $1 failed"
}

# Decodes a CMS message with cmsutil -D (an enveloped one is decrypted with
# the key in the token, PIN from PWFILE); NSS's header (-h 1) goes to
# OUT.hdr, its messages to OUT.err.
nss_decode() { # IN OUT [PWFILE]
    local pw=()
    [ $# -lt 3 ] || pw=(-f "$3")
    client cmsutil -D -d "$NSSDB" "${pw[@]}" -h 1 -i "$1" -o "$2.hdr" </dev/null 2>"$2.err" &&
        client cmsutil -D -d "$NSSDB" "${pw[@]}" -i "$1" -o "$2" </dev/null 2>>"$2.err" ||
        { cat "$2.err" >&2; die "cmsutil -D of $1 failed"; }
}

# A signed message: its content to OUT, and its one signature must verify.
nss_verify() { # IN OUT
    nss_decode "$1" "$2"
    grep -q 'signer0.status=GoodSignature' "$2.hdr" ||
        { cat "$2.hdr" >&2; die "cmsutil -D: the signature in $1 does not verify"; }
}
