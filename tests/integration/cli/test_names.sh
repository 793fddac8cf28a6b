# Text from files never drives the terminal: a friendly name, a file name or
# a value in a message holding control characters shows escaped in human
# output (and exactly, escaped by JSON, with --json); names typed on the
# command line with control characters are refused.
. "$(dirname "$0")/lib.sh"
init_store

ESC=$'\e'
# no_raw_controls FILE...: not one control byte but newline and tab.
no_raw_controls() {
    local f
    for f in "$@"; do
        if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f"; then
            fail "$(basename "$f") holds raw control characters: $(cat -v "$f" | head -c 600)"
        fi
    done
}

# A P12 whose friendly name would set the window title, ring and clear the screen.
evil=$'Alice\e]0;owned\a\e[2J\e[31m'
openssl pkcs12 -export -inkey "$TD/users/alice.key" -in "$TD/users/alice.crt" -name "$evil" \
    -passout pass:evil-pass -out "$T/evil.p12" || fail "openssl pkcs12 -export"
printf 'evil-pass\n' >"$T/evil.pass"
run 0 --json cert import --password-file "$T/evil.pass" "$T/evil.p12"
id=$(jq -r '.files[0].certificates[0].id' "$T/out")
run 0 cert list
no_raw_controls "$T/out" "$T/err"
out_has 'Alice\x1b]0;owned\x07\x1b[2J\x1b[31m'
run 0 cert show "$id"
no_raw_controls "$T/out" "$T/err"
out_has 'Alice\x1b]0;owned\x07'
# JSON keeps the exact name (escaped the JSON way).
run 0 --json cert show "$id"
no_raw_controls "$T/out"
[ "$(jq -r .friendlyName "$T/out")" = "$evil" ] || fail "--json changed the friendly name"

# A file name with control characters, in the import lines and in an error.
cp "$TD/users/partner.crt" "$T/part${ESC}[8mner.crt"
run 0 cert import "$T/part${ESC}[8mner.crt"
no_raw_controls "$T/out" "$T/err"
out_has 'part\x1b[8mner.crt'
printf 'junk' >"$T/bad${ESC}[5m.pem"
run 5 cert import "$T/bad${ESC}[5m.pem"
no_raw_controls "$T/out" "$T/err"
err_has 'bad\x1b[5m.pem'
# What the user typed, echoed in an error.
run 5 cert show "x${ESC}[2Jy"
no_raw_controls "$T/err"
err_has 'x\x1b[2Jy'
# A C1 control (U+009B, CSI on 8-bit terminals) and a stray byte are escaped too.
run 5 cert show $'a\xc2\x9bb\xffc'
err_has 'a\u009bb\xffc'

# Names typed on the command line: refused with control characters, store unchanged.
fails_cleanly 5 "--friendly-name: control characters are not allowed (\x1b)" \
    cert update "$id" --friendly-name "a${ESC}[31mb"
fails_cleanly 5 "--description: control characters are not allowed (\x0a)" \
    cert update "$id" --description $'line one\nline two'
fails_cleanly 5 "--friendly-name: control characters are not allowed (\x07)" \
    cert import --friendly-name $'ding\a' "$TD/users/bob.crt"
fails_cleanly 5 "--org: control characters are not allowed" init --org $'new\rorg' --so-pin-file "$SO_PIN"
printf 'login = a\npassword = b\n' >"$T/creds"
chmod 600 "$T/creds"
fails_cleanly 5 "NAME: control characters are not allowed" \
    ca add $'ca\e[1m' --kind sectigo --url https://ca.example --credentials "$T/creds"
fails_cleanly 5 "--friendly-name: not valid UTF-8" cert update "$id" --friendly-name $'caf\xe9'
# Plain UTF-8 names are fine and shown as they are.
run 0 cert update "$id" --friendly-name "Alice Müller – 2025"
run 0 cert list
out_has "Alice Müller – 2025"
echo ok
