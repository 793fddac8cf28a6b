#!/usr/bin/env bash
# The privilege-separated mode, as docs/deployment.md sets it up: a service
# account owns the store; Debian's p11-kit server, running as that account,
# serves one desktop user their token; as that user, pkcs11-tool and NSS
# (cmsutil) sign and decrypt through p11-kit-client.so, cannot open the store
# directly, and guesses through the socket hit the lockout.  Runs as root:
# it creates the two users (and removes them, and the server, at the end).
source "$(dirname "$0")/../clients/lib.sh"
need_env MT_TESTDATA MT_BUILD_DIR
MODULE="$MT_BUILD_DIR/pkcs11/mailtoken-pkcs11.so"
MAILTOKEN="$MT_BUILD_DIR/provision/mailtoken"

skip() { echo "SKIP: $MT_TEST_NAME: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] ||
    skip "needs root: it creates a service account and a desktop user (useradd) and runs a process as each; an unprivileged user namespace maps one uid only, so it cannot stand in"
command -v useradd >/dev/null || skip "useradd is not installed (package passwd)"
CLIENT=$(find /usr/lib/*/pkcs11 /usr/lib/pkcs11 -name p11-kit-client.so 2>/dev/null | head -n1 || true)
[ -n "$CLIENT" ] || die "p11-kit-client.so is not installed (package p11-kit-modules)"
command -v p11-kit >/dev/null || die "p11-kit is not installed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mt-privsep-XXXXXX")
MT_KEEP_WORK=0
SVC=mt-svc-$$ USR=mt-user-$$
SERVER_PID=
# The server (SIGTERM ends it; its per-connection children end with their
# client, all of which this script waited for), then the two users.
cleanup() {
    local u i
    [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
    [ -z "$SERVER_PID" ] || wait "$SERVER_PID" 2>/dev/null || true
    for u in "$USR" "$SVC"; do
        id "$u" >/dev/null 2>&1 || continue
        for i in $(seq 50); do userdel "$u" 2>/dev/null && break; sleep 0.1; done
        ! id "$u" >/dev/null 2>&1 || echo "WARNING: $MT_TEST_NAME: could not remove user $u" >&2
    done
    [ "$MT_KEEP_WORK" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
if ! useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SVC" 2>"$WORK/useradd.err" ||
    ! useradd --no-create-home --home-dir "$WORK/home" --shell /bin/sh "$USR" 2>>"$WORK/useradd.err"; then
    skip "useradd failed: $(cat "$WORK/useradd.err")"
fi
echo "$MT_TEST_NAME: work dir $WORK, service account $SVC, desktop user $USR"
chmod 755 "$WORK"

as_svc() { setpriv --reuid="$SVC" --regid="$SVC" --init-groups -- "$@"; }
as_user() {
    setpriv --reuid="$USR" --regid="$USR" --init-groups -- \
        env HOME="$WORK/home" P11_KIT_SERVER_ADDRESS="unix:path=$SOCKET" "$@"
}

step "the service account owns the store, which only it can read"
mkdir -p "$WORK/srv/mailtoken" "$WORK/in" "$WORK/home" "$WORK/run/$USR" "$WORK/conf"
chown "$SVC:" "$WORK/srv/mailtoken" "$WORK/in" "$WORK/run/$USR"
chown "$USR:" "$WORK/home"
chmod 700 "$WORK/srv/mailtoken" "$WORK/in"
chmod 755 "$WORK/run/$USR"
for name in alice bob; do
    cp "$(users_file "$name.p12")" "$(users_file "$name.pass")" "$WORK/in/"
done
(umask 077; printf 'so-pin-Secret-42' >"$WORK/in/so.pin"; printf 'alice-pin-2026' >"$WORK/in/alice.pin")
chown -R "$SVC:" "$WORK/in"
export MAILTOKEN_STORE="$WORK/srv/mailtoken/store.db" MAILTOKEN_CONF="$WORK/mailtoken.conf" \
    XDG_DATA_HOME="$WORK/data"
cat "$(dirname "$0")/../../data/fast-kdf.conf" >"$MAILTOKEN_CONF"
chmod 644 "$MAILTOKEN_CONF"
as_svc "$MAILTOKEN" init --org "Example Org" --so-pin-file "$WORK/in/so.pin" >/dev/null
for name in alice bob; do
    as_svc "$MAILTOKEN" cert import --account auto --password-file "$WORK/in/$name.pass" "$WORK/in/$name.p12" >/dev/null
done
as_svc "$MAILTOKEN" account reset-pin alice@example.org --so-pin-file "$WORK/in/so.pin" \
    --new-pin-file "$WORK/in/alice.pin" >/dev/null
[ "$(stat -c '%U %a' "$MAILTOKEN_STORE")" = "$SVC 600" ] || die "the store is not $SVC's, mode 600: $(stat -c '%U %a' "$MAILTOKEN_STORE")"

step "mailtoken p11-server setup refuses a store others can read, then writes the user's config"
chmod 644 "$MAILTOKEN_STORE"
code=0
"$MAILTOKEN" p11-server setup "$USR" alice@example.org --conf-dir "$WORK/conf" 2>"$WORK/setup.err" >/dev/null || code=$?
[ "$code" = 5 ] || die "setup on a store readable by others exited $code, not 5"
grep -q "lets others read it" "$WORK/setup.err" || { cat "$WORK/setup.err" >&2; die "setup does not say why"; }
chmod 600 "$MAILTOKEN_STORE"
"$MAILTOKEN" --json p11-server setup "$USR" alice@example.org --conf-dir "$WORK/conf" --module "$MODULE" \
    >"$WORK/setup.json"
[ "$(jq -r .serviceUser "$WORK/setup.json")" = "$SVC" ] || die "setup does not name $SVC as the service account"
CONF="$WORK/conf/$USR.conf"
conf_value() { sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p" "$CONF"; }
TOKEN_URI=$(conf_value MAILTOKEN_TOKEN)
[ "$TOKEN_URI" = "$(as_svc "$MAILTOKEN" uri alice@example.org)" ] || die "the config's token URI is not \`mailtoken uri\`'s: $TOKEN_URI"
[ "$(conf_value MAILTOKEN_ACCOUNTS)" = "org=Example Org;emails=alice@example.org" ] || die "the config's account filter: $(conf_value MAILTOKEN_ACCOUNTS)"

step "p11-kit server runs as the service account and answers $USR only"
SOCKET="$WORK/run/$USR/pkcs11"
# what mailtoken-p11-server@.service runs (ExecStart, then ExecStartPost as
# root); setpriv and env exec, so $! is the server itself
setpriv --reuid="$SVC" --regid="$SVC" --init-groups -- env MAILTOKEN_STORE="$(conf_value MAILTOKEN_STORE)" MAILTOKEN_ACCOUNTS="$(conf_value MAILTOKEN_ACCOUNTS)" \
    p11-kit server --foreground --user "$USR" --provider "$(conf_value MAILTOKEN_MODULE)" \
    --name "$SOCKET" "$TOKEN_URI" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
"$MAILTOKEN" p11-server grant "$USR" "$SOCKET" --wait 20 >/dev/null ||
    { cat "$WORK/server.err" >&2; die "p11-server grant: no socket from the server"; }
[ "$(stat -c %U "$SOCKET")" = "$USR" ] || die "the socket is not $USR's"
ln -s "$MAILTOKEN_STORE" "$WORK/link"
code=0
"$MAILTOKEN" p11-server grant "$USR" "$WORK/link" --wait 0 2>/dev/null || code=$?
[ "$code" = 5 ] || die "p11-server grant followed a link (exit $code)"

step "as $USR: the store cannot be opened directly"
as_user sh -c "head -c 16 '$MAILTOKEN_STORE'" >/dev/null 2>&1 && die "$USR can read the store file"
code=0
as_user "$MAILTOKEN" account list >/dev/null 2>"$WORK/direct.err" || code=$?
[ "$code" != 0 ] || die "$USR can list the accounts with the mailtoken tool"
grep -qi "permission denied\|unable to open\|cannot" "$WORK/direct.err" || { cat "$WORK/direct.err" >&2; die "no clear error for $USR"; }
as_user pkcs11-tool --module "$MODULE" -L >"$WORK/direct.txt" 2>&1 || true
! grep -q "token label" "$WORK/direct.txt" || die "$USR sees tokens through the module directly"

step "as $USR through p11-kit-client.so: only alice's token"
as_user pkcs11-tool --module "$CLIENT" -L >"$WORK/list.txt" 2>&1 || { cat "$WORK/list.txt" >&2; die "pkcs11-tool -L through the socket failed"; }
[ "$(sed -n 's/^[[:space:]]*token label[[:space:]]*: //p' "$WORK/list.txt")" = alice@example.org ] ||
    { cat "$WORK/list.txt" >&2; die "the socket does not expose exactly alice's token"; }
P11_KIT_SERVER_ADDRESS="unix:path=$SOCKET" pkcs11-tool --module "$CLIENT" -L >"$WORK/root-list.txt" 2>&1 || true
! grep -q "token label" "$WORK/root-list.txt" || die "the server answered root, not only $USR"
grep -q "doesn't match expected" "$WORK/server.err" || { cat "$WORK/server.err" >&2; die "p11-kit server did not refuse root"; }

step "as $USR: pkcs11-tool signs and decrypts"
PIN=$(cat "$WORK/in/alice.pin")
printf 'signed through the p11-kit server\n' >"$WORK/data.txt"
openssl x509 -in "$(users_file alice.crt)" -noout -pubkey >"$WORK/alice.pub"
cp "$(users_file alice.crt)" "$WORK/alice.crt"
chmod 644 "$WORK"/data.txt "$WORK/alice.crt"
as_user pkcs11-tool --module "$CLIENT" --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
    --label alice@example.org -i "$WORK/data.txt" -o "$WORK/home/data.sig" >"$WORK/sign.txt" 2>&1 ||
    { cat "$WORK/sign.txt" >&2; die "pkcs11-tool --sign through the socket failed"; }
openssl dgst -sha256 -verify "$WORK/alice.pub" -signature "$WORK/home/data.sig" "$WORK/data.txt" >/dev/null ||
    die "the signature made through the socket does not verify"
printf 'sealed for alice\n' >"$WORK/secret.txt"
openssl pkeyutl -encrypt -pubin -inkey "$WORK/alice.pub" -in "$WORK/secret.txt" -out "$WORK/secret.bin"
chmod 644 "$WORK/secret.bin"
as_user pkcs11-tool --module "$CLIENT" --login --pin "$PIN" --decrypt -m RSA-PKCS \
    --label alice@example.org -i "$WORK/secret.bin" -o "$WORK/home/secret.out" >"$WORK/dec.txt" 2>&1 ||
    { cat "$WORK/dec.txt" >&2; die "pkcs11-tool --decrypt through the socket failed"; }
cmp "$WORK/secret.txt" "$WORK/home/secret.out" || die "pkcs11-tool decrypted something else"

step "as $USR: NSS (cmsutil) signs and decrypts S/MIME through the socket"
NSSDB="sql:$WORK/home/nssdb"
printf '%s' "$PIN" >"$WORK/home/pin.txt"
printf 'Subject: privsep\r\n\r\nSigned and sealed.\r\n' >"$WORK/mail.txt"
chmod 644 "$WORK/mail.txt"
cp "$MT_TESTDATA/ca/root.crt" "$WORK/root.crt" && chmod 644 "$WORK/root.crt"
chown "$USR:" "$WORK/home/pin.txt"
as_user mkdir "$WORK/home/nssdb"
as_user certutil -N -d "$NSSDB" --empty-password
as_user modutil -dbdir "$NSSDB" -add mailtoken -libfile "$CLIENT" -force >/dev/null
as_user certutil -A -d "$NSSDB" -n "Test Root CA" -t "C,C,C" -i "$WORK/root.crt"
NICK="alice@example.org:alice@example.org"
as_user cmsutil -S -d "$NSSDB" -N "$NICK" -f "$WORK/home/pin.txt" -G -P -i "$WORK/mail.txt" \
    -o "$WORK/home/mail.sig" </dev/null || die "cmsutil -S through the socket failed"
openssl cms -verify -inform DER -CAfile "$MT_TESTDATA/ca/bundle.crt" -in "$WORK/home/mail.sig" \
    -out "$WORK/verified.txt" 2>/dev/null || die "the message NSS signed through the socket does not verify"
cmp "$WORK/mail.txt" "$WORK/verified.txt" || die "the signed content differs"
openssl cms -encrypt -aes256 -outform DER -in "$WORK/mail.txt" -out "$WORK/mail.env" "$WORK/alice.crt"
chmod 644 "$WORK/mail.env"
as_user cmsutil -D -d "$NSSDB" -f "$WORK/home/pin.txt" -i "$WORK/mail.env" -o "$WORK/home/mail.dec" </dev/null ||
    die "cmsutil -D through the socket failed"
cmp "$WORK/mail.txt" "$WORK/home/mail.dec" || die "NSS decrypted something else"

step "as $USR: 16 parallel guesses through the socket: exactly 10 checked, then locked"
for i in $(seq 16); do
    as_user pkcs11-tool --module "$CLIENT" --login --pin "wrong-guess-$i" -O >"$WORK/guess-$i.txt" 2>&1 &
done
wait_guesses() { local pid; for pid in $(jobs -p); do [ "$pid" = "$SERVER_PID" ] || wait "$pid" || true; done; }
wait_guesses
incorrect=$(grep -l CKR_PIN_INCORRECT "$WORK"/guess-*.txt | wc -l)
locked=$(grep -l CKR_PIN_LOCKED "$WORK"/guess-*.txt | wc -l)
[ "$incorrect" = 10 ] && [ "$locked" = 6 ] ||
    { cat "$WORK"/guess-*.txt >&2; die "of 16 guesses $incorrect were checked and $locked refused (want 10 and 6)"; }
as_user pkcs11-tool --module "$CLIENT" --login --pin "$PIN" -O >"$WORK/right.txt" 2>&1 || true
grep -q CKR_PIN_LOCKED "$WORK/right.txt" || { cat "$WORK/right.txt" >&2; die "the right PIN still opens a locked token"; }
svc_uid=$(id -u "$SVC")
as_svc "$MAILTOKEN" --json log --action token. --limit 0 >"$WORK/log.json"
[ "$(jq '[.events[] | select(.action == "token.login-failed")] | length' "$WORK/log.json")" = 10 ] ||
    die "the audit trail does not hold the 10 failed logins"
jq -e --arg uid "$svc_uid" '[.events[] | select(.action == "token.locked" and (.actor | test("^pkcs11:pid=[0-9]+,uid=" + $uid + "$")))] | length == 1' \
    "$WORK/log.json" >/dev/null || die "the lock is not audited with the server process as actor"
echo "PASS: $MT_TEST_NAME"
