#!/usr/bin/env bash
# A real Thunderbird (Debian's, headless, a fresh profile), driven over
# Marionette by thunderbird-marionette.py: the module loaded as a security
# device, encrypted mail to the EC P-256, EC P-384 and RSA accounts (primary
# and history certificates) opened by Thunderbird's message display, mail
# signed by its compose code with each account's primary key, a history
# certificate refused for signing; each token's PIN asked once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mail-fixtures.sh"
command -v thunderbird >/dev/null || die "thunderbird is not installed (Debian package, installed by ./dev.sh deps)"
need_thunderbird_nss
mt_setup
setup_mail_accounts
write_mails

TB_PID=
stop_thunderbird() {
    [ -n "$TB_PID" ] || return 0
    local i
    for i in $(seq 30); do kill -0 "$TB_PID" 2>/dev/null || break; sleep 1; done
    if kill -0 "$TB_PID" 2>/dev/null; then
        echo "thunderbird did not quit: stopping process group $TB_PID" >&2
        kill -- -"$TB_PID" 2>/dev/null || true
    fi
    TB_PID=
}
trap 'stop_thunderbird; [ "$MT_KEEP_WORK" = 1 ] || rm -rf "$WORK"' EXIT

step "a fresh Thunderbird profile, Marionette on a free port"
PROFILE="$WORK/tb-profile"
mkdir -p "$PROFILE"
cat >"$PROFILE/user.js" <<'EOF'
user_pref("marionette.port", 0);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.suppress_dialog_on_startup", true);
user_pref("mail.spotlight.firstRunDone", true);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
EOF
# its own process group, so that whatever it starts can be stopped with it
setsid thunderbird --headless --marionette -remote-allow-system-access --no-remote \
    --profile "$PROFILE" >"$WORK/thunderbird.log" 2>&1 &
TB_PID=$!
for _ in $(seq 120); do
    [ -s "$PROFILE/MarionetteActivePort" ] && break
    kill -0 "$TB_PID" 2>/dev/null || { tail -20 "$WORK/thunderbird.log" >&2; die "thunderbird exited at start-up"; }
    sleep 1
done
[ -s "$PROFILE/MarionetteActivePort" ] || { tail -20 "$WORK/thunderbird.log" >&2; die "thunderbird's Marionette did not start"; }
client_version=$(thunderbird --version 2>/dev/null || true)
echo "$client_version, Marionette on port $(cat "$PROFILE/MarionetteActivePort")"

step "Thunderbird opens every mail, signs with the primaries, refuses a history certificate"
der_b64() { openssl x509 -in "$1" -outform DER | base64 -w0; }
python3 - "$WORK/tb-config.json" <<EOF
import json, sys
mails = [dict(zip(("file", "email", "marker"), m.split(" "))) for m in """$(printf '%s\n' "${MAILS[@]}")""".splitlines() if m]
pins = {e: open(f).read() for e, f in [$(for e in carol@example.org dave@example.org alice@example.org; do printf '("%s", "%s"),' "$e" "$(pin_file_of "$e")"; done)]}
signers = [
    dict(name="carol", email="carol@example.org", cert_der_b64="$(der_b64 "$(users_file carol.crt)")", expect="sign"),
    dict(name="dave", email="dave@example.org", cert_der_b64="$(der_b64 "$(users_file dave.crt)")", expect="sign"),
    dict(name="alice", email="alice@example.org", cert_der_b64="$(der_b64 "$(users_file alice.crt)")", expect="sign"),
    dict(name="carol-old", email="carol@example.org", cert_der_b64="$(der_b64 "$WORK/issued/carol-old.crt")", expect="refuse"),
]
json.dump(dict(module="$MODULE", root_ca="$MT_TESTDATA/ca/root.crt", ca_bundle="$MT_TESTDATA/ca/bundle.crt",
               pins=pins, mails=mails, signers=signers, out_dir="$WORK"), open(sys.argv[1], "w"))
EOF
python3 "$(dirname "$0")/thunderbird-marionette.py" "$PROFILE/MarionetteActivePort" "$WORK/tb-config.json" ||
    { tail -30 "$WORK/thunderbird.log" >&2; die "Thunderbird did not do what a user needs (above)"; }
stop_thunderbird

step "no token was asked with another account's PIN"
token_counters >"$WORK/counters.txt"
if awk '$2 != 0' "$WORK/counters.txt" | grep -q .; then
    cat "$WORK/counters.txt" >&2
    die "failed-PIN counters went up"
fi
echo "PASS: $MT_TEST_NAME"
