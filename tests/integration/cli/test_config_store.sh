# The configuration and the store file, when they are not what they should
# be: errors say "config:" or name the store, and a command that fails never
# changes what it found.
. "$(dirname "$0")/lib.sh"

# --- a config that is a directory is an error, like a missing one.
mkdir "$T/conf.d"
run 1 --config "$T/conf.d" status
err_has "mailtoken: config: $T/conf.d: Is a directory"
MAILTOKEN_CONF=$T/conf.d run 1 status
err_has "mailtoken: config: $T/conf.d: Is a directory"
run 1 --config "$T/missing.conf" status
err_has "mailtoken: config: $T/missing.conf: No such file or directory"
# Every config error says config, not store.
printf 'pin_min_length = 8\nbogus = 1\n' >"$T/bad.conf"
run 5 --config "$T/bad.conf" status
err_has "mailtoken: config: $T/bad.conf:2: unknown key \"bogus\""
if grep -q "store" "$T/err"; then fail "a config error blames the store: $(cat "$T/err")"; fi
run 5 --config "$T/bad.conf" init --so-pin-file "$SO_PIN"
err_has "mailtoken: config: $T/bad.conf:2"
[ ! -e "$MAILTOKEN_STORE" ] || fail "init with a bad config created the store"
# A NUL byte: not text (and not "line too long").
printf 'pin_min_length = 8\nstr\0ict = true\n' >"$T/nul.conf"
run 5 --config "$T/nul.conf" status
err_has "mailtoken: config: $T/nul.conf:2: not text (a NUL byte)"
head -c 5000 /dev/zero | tr '\0' '#' >"$T/long.conf"
run 5 --config "$T/long.conf" status
err_has "line too long"

# --- no store yet: the message says what makes one.
run 3 status
err_has "$MAILTOKEN_STORE: no store here: create one with \`mailtoken init\`"
run 3 cert list
err_has "create one with \`mailtoken init\`"

# --- a zero-byte store file: not a store, and no command turns it into one
# except init.
: >"$MAILTOKEN_STORE"
chmod 600 "$MAILTOKEN_STORE"
for cmd in "status" "cert list" "account list" "log" "cert import $TD/users/partner.crt" \
    "account create bob@example.org --primary 1"; do
    # shellcheck disable=SC2086
    run 5 $cmd
    err_has "$MAILTOKEN_STORE: not a mailtoken store (empty file)"
    [ ! -s "$MAILTOKEN_STORE" ] || fail "'mailtoken $cmd' changed the empty file"
    [ ! -e "$MAILTOKEN_STORE-wal" ] || fail "'mailtoken $cmd' made a write-ahead log"
done
# A SQLite database of something else is not a store either, even for init.
rm -f "$MAILTOKEN_STORE"
sqlite3 "$MAILTOKEN_STORE" 'CREATE TABLE mine (x); INSERT INTO mine VALUES (42);'
chmod 600 "$MAILTOKEN_STORE"
cp "$MAILTOKEN_STORE" "$T/other.db"
run 5 status
err_has "not a mailtoken store (a SQLite database of something else)"
run 5 init --so-pin-file "$SO_PIN"
err_has "not a mailtoken store"
cmp -s "$MAILTOKEN_STORE" "$T/other.db" || fail "a failed init changed someone else's database"
# init makes a store of an empty file (that is what it is for).
rm -f "$MAILTOKEN_STORE"
: >"$MAILTOKEN_STORE"
chmod 600 "$MAILTOKEN_STORE"
init_store
run 0 --json status
jq_is .organization.name example

# --- a store readable by others: the tool warns, in words that fit a store
# shared with mail clients on purpose (docs/thunderbird.md).
chmod 640 "$MAILTOKEN_STORE"
run 0 status
err_has "mailtoken: warning: $MAILTOKEN_STORE is readable by others (mode 640)"
err_has "fine for a store shared with its users' mail clients"
chmod 600 "$MAILTOKEN_STORE"
run 0 status
[ ! -s "$T/err" ] || fail "a 0600 store gave a warning: $(cat "$T/err")"
echo ok
