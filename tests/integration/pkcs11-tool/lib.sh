# Shared by the pkcs11-tool tests: a fresh store per test, provisioned through
# the store API, and pkcs11-tool loading the module (with the sanitizer
# runtime preloaded under ASan).
: "${MT_MODULE:?MT_MODULE is not set}" "${MT_PROVISION:?}" "${MT_TESTDATA:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-p11tool-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cat "$(dirname "${BASH_SOURCE[0]}")/../../data/fast-kdf.conf" >"$WORK/mailtoken.conf"
export MAILTOKEN_STORE=$WORK/store.db MAILTOKEN_CONF=$WORK/mailtoken.conf
. "$(dirname "${BASH_SOURCE[0]}")/../mailtoken-run.sh"
mt_pg_store || { echo "FAIL: cannot make a schema on the test server" >&2; exit 1; }
unset MAILTOKEN_ACCOUNTS
SO_PIN=so-secret-123
PIN=user-pin-123
TD=$MT_TESTDATA

die() {
    echo "FAIL: $*" >&2
    exit 1
}

# run CMD...: output to $WORK/out, dies naming the command when it fails
run() {
    "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; die "command failed: $*"; }
}

# fails CMD...: the command must fail; its output goes to $WORK/out
fails() {
    if "$@" >"$WORK/out" 2>&1; then
        cat "$WORK/out" >&2
        die "command should have failed: $*"
    fi
}

p11() { client pkcs11-tool --module "$MT_MODULE" "$@"; }

provision() {
    run "$MT_PROVISION" --store "$MAILTOKEN_STORE" --so-pin "$SO_PIN" --pin "$PIN" "$@"
}

# expect TEXT: $WORK/out contains TEXT
expect() {
    grep -qF -- "$1" "$WORK/out" || { cat "$WORK/out" >&2; die "expected '$1' in the output"; }
}

expect_not() {
    if grep -qF -- "$1" "$WORK/out"; then
        cat "$WORK/out" >&2
        die "did not expect '$1' in the output"
    fi
}

p12() { echo "$TD/users/$1.p12"; }
crt() { echo "$TD/users/$1.crt"; }

# CKA_ID as NSS computes it: SHA-1 of the RSA modulus or of the EC point.
key_id() {
    local cert=$1
    if openssl x509 -in "$cert" -noout -text | grep -q "rsaEncryption"; then
        openssl x509 -in "$cert" -noout -modulus | cut -d= -f2 | xxd -r -p | sha1sum | cut -c1-40
    else
        # the uncompressed point (1 + 2 * field bytes) ends the SubjectPublicKeyInfo
        local bits der
        bits=$(openssl x509 -in "$cert" -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p')
        der=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')
        echo "${der: -$(((1 + 2 * ((bits + 7) / 8)) * 2))}" | xxd -r -p | sha1sum | cut -c1-40
    fi
}

pubkey() { openssl x509 -in "$1" -pubkey -noout >"$2"; }
