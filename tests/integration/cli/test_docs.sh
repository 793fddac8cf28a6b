# The documentation tells the truth: the README's first session runs as
# written (but `./dev.sh build`: this build is it), and the output shown in
# docs/cli.md is what the tool prints (ids, paths and counts aside).
. "$(dirname "$0")/lib.sh"
: "${MT_SOURCE_DIR:?MT_SOURCE_DIR is not set}" "${MT_BUILD_DIR:?MT_BUILD_DIR is not set}"

# block FILE HEADING: the first ``` block after the line HEADING.
block() {
    awk -v h="$2" '$0 == h {on = 1; next} on && /^```/ {if (inside) exit; inside = 1; next} inside' "$1"
}

# --- README: "A first session", in a fresh home, from a tree laid out as a clone.
block "$MT_SOURCE_DIR/README.md" "## A first session" >"$T/session.sh"
grep -q '^\./dev\.sh build$' "$T/session.sh" || fail "the README's first session changed: $(cat "$T/session.sh")"
sed -i 's|^\./dev\.sh build$|: built already|' "$T/session.sh"
mkdir "$T/clone"
ln -s "$MT_BUILD_DIR" "$T/clone/build"
ln -s "$MT_SOURCE_DIR/tests" "$T/clone/tests"
unset MAILTOKEN_STORE
(
    cd "$T/clone"
    # The prompts' answers, as a script gives them.
    export MAILTOKEN_SO_PIN=so-secret-1234 MAILTOKEN_NEW_PIN=alice-pin-1234
    export MAILTOKEN_P12_PASSWORD="$(cat "$TD/users/alice.pass")"
    # Under the sanitizer build the client needs the runtime before it loads the module.
    p11tool() { client command p11tool "$@"; }
    set -e
    # shellcheck disable=SC1090
    . "$T/session.sh"
) >"$T/session.out" 2>"$T/session.err" || fail "the README's first session failed: $(tail -20 "$T/session.err")"
grep -q "alice@example.org" "$T/session.out" || fail "the first session lists no alice: $(cat "$T/session.out")"
grep -q "Label: alice@example.org" "$T/session.out" || fail "p11tool shows no alice token: $(cat "$T/session.out")"
export MAILTOKEN_STORE=$T/store.db

# --- docs/cli.md: the onboarding output.  Ids become #N, runs of spaces one.
normalise() { sed -E 's/#[0-9]+/#N/g; s/ +/ /g; s/[^ ]*\/([^/ ]+\.p12)/\1/g'; }
block "$MT_SOURCE_DIR/docs/cli.md" "The output says what happened to each certificate and account:" |
    normalise >"$T/doc-onboarding"
[ -s "$T/doc-onboarding" ] || fail "docs/cli.md lost its onboarding example"
init_store
cp "$TD/users/alice.p12" "$T/alice.p12"
(cd "$T" && "$MT_BIN" cert import --account auto --password-file "$TD/users/alice.pass" alice.p12) |
    normalise >"$T/real-onboarding" || fail "the onboarding import failed"
diff -u "$T/doc-onboarding" "$T/real-onboarding" || fail "docs/cli.md shows another onboarding output"
# The lines it promises for a second import and for a newer certificate.
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$T/alice.p12"
grep -qF '`account  alice@example.org: unchanged`' "$MT_SOURCE_DIR/docs/cli.md" || fail "cli.md: unchanged"
out_has "account  alice@example.org: unchanged"
run 0 cert import --account auto --password-file "$TD/users/alice-old.pass" "$TD/users/alice-old.p12"
run 0 account delete alice@example.org
run 0 cert import --account auto --password-file "$TD/users/alice-old.pass" "$TD/users/alice-old.p12"
run 0 cert import --account auto --password-file "$TD/users/alice.pass" "$TD/users/alice.p12"
out_has "account  alice@example.org: new primary"

# --- docs/cli.md: the bulk summary, digits aside, and the shape of a failure line.
block "$MT_SOURCE_DIR/docs/cli.md" '- On a terminal a progress line shows `done/total`, rate and time left; a summary follows (it' \
    >"$T/doc-summary"
[ -s "$T/doc-summary" ] || fail "docs/cli.md lost its summary example"
mkdir -p "$T/bulk/broken"
cp "$TD/users/bob.p12" "$T/bulk/"
cp "$TD/users/carol.p12" "$T/bulk/broken/mismatch.p12"
echo "not a certificate" >"$T/bulk/README.txt"
run 7 --quiet cert import --dir "$T/bulk" --password-file "$TD/users/bob.pass"
digits() { sed -E 's/[0-9]+/N/g'; }
[ "$(head -n1 "$T/doc-summary" | digits)" = "$(head -n1 "$T/out" | digits)" ] ||
    fail "summary: docs/cli.md has '$(head -n1 "$T/doc-summary")', the tool '$(head -n1 "$T/out")'"
sed -n 2p "$T/doc-summary" | sed 's|/import/2025/|BULK/|' >"$T/doc-failed"
sed -n 2p "$T/out" | sed "s|$T/bulk/|BULK/|" >"$T/real-failed"
diff -u "$T/doc-failed" "$T/real-failed" || fail "docs/cli.md shows another failure line"

# --- --jobs: one default, said the same way in the help, the man page and docs/cli.md.
run 0 cert import --help
out_has "default: one per CPU,"
out_has "at most 8"
grep -q 'default: one per CPU, at most 8' "$MT_SOURCE_DIR/docs/mailtoken.1" || fail "mailtoken(1): --jobs"
grep -q 'default: one$' "$MT_SOURCE_DIR/docs/cli.md" && grep -q '^  per CPU, at most 8)' "$MT_SOURCE_DIR/docs/cli.md" ||
    fail "docs/cli.md: --jobs"

# --- `mailtoken uri`: p11tool without --provider needs the module registered, and GnuTLS
# programs need a filter beyond 48 accounts; said in the help, the man page and docs/cli.md.
run 0 uri --help
out_has "registered with p11-kit"
out_has "more than 48 accounts"
for doc in docs/cli.md docs/mailtoken.1; do
    grep -q "registered with p11-kit" "$MT_SOURCE_DIR/$doc" || fail "$doc: uri and p11-kit registration"
    grep -q "48" "$MT_SOURCE_DIR/$doc" || fail "$doc: uri and the 48-slot limit"
done
echo ok
