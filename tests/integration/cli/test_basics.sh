# Global options, --help everywhere, usage errors, init and the SO PIN sources.
. "$(dirname "$0")/lib.sh"

# --help and --version
run 0 --help
for c in init cert account status log uri; do out_has "  $c "; done
run 0 --version
out_has "mailtoken 0."
run 2
out_has "Usage: mailtoken"

# Every command and subcommand answers --help with its usage.
for c in init status log uri; do
    run 0 "$c" --help
    out_has "Usage: mailtoken $c"
done
for sub in import list show update export delete; do
    run 0 cert "$sub" --help
    out_has "Usage: mailtoken cert $sub"
done
for sub in create list show set-primary add-to-history set-pin reset-pin delete; do
    run 0 account "$sub" --help
    out_has "Usage: mailtoken account $sub"
done
run 0 cert --help
out_has "import"
run 0 account --help
out_has "reset-pin"

# Usage errors: exit 2, "mailtoken <cmd>: <what>", nothing created.
run 2 frobnicate
err_has "mailtoken: unknown command 'frobnicate'"
run 2 --bogus status
err_has "unknown option --bogus"
run 2 cert
err_has "mailtoken cert: a subcommand is required"
run 2 cert frob
err_has "unknown subcommand 'frob'"
run 2 cert list --limit abc
err_has "mailtoken cert list: --limit: 'abc' is not a number"
run 2 cert list --kind jpeg
err_has "--kind: 'jpeg'"
run 2 cert import
err_has "give FILE... or --dir FOLDER"
run 2 cert import --account someone x.p12
err_has "--account: 'someone'"
run 2 account create bob@example.org
err_has "--primary"
run 2 uri alice@example.org --type secret
err_has "--type: 'secret'"
run 2 log --since yesterday-ish
err_has "--since"
run 2 --json cert frob
jq_is .error usage
jq_is .exit 2
[ ! -e "$MAILTOKEN_STORE" ] || fail "a usage error created the store"

# No store yet: a clear error, no file created.
run 3 status
err_has "mailtoken: $MAILTOKEN_STORE: no store here"
[ ! -e "$MAILTOKEN_STORE" ] || fail "status created the store"

# init needs the SO PIN: never on the command line; no terminal here.
run 5 init --org example
err_has "SO PIN: not given: use --so-pin-file, --so-pin-env or --so-pin-fd"
[ ! -e "$MAILTOKEN_STORE" ] || fail "a failed init created the store"
short=$(secret_file short-pin '1234')
run 5 init --org example --so-pin-file "$short"
err_has "mailtoken: SO PIN is shorter than so_pin_min_length (12 characters)"
[ ! -e "$MAILTOKEN_STORE" ] || fail "a refused SO PIN created the store"
common=$(secret_file common-pin 'Password2024!')
run 5 init --org example --so-pin-file "$common"
err_has "SO PIN is a common password"
# a PIN file others may read is refused like a key file
loose=$(secret_file loose-pin 'so-secret-loose-1')
chmod 644 "$loose"
run 5 init --org example --so-pin-file "$loose"
err_has "loose-pin: must not be accessible by group or others (mode 0644); chmod 600 it"
[ ! -e "$MAILTOKEN_STORE" ] || fail "a refused SO PIN created the store"
run 1 init --org example --so-pin-file "$T/missing-file"
err_has "missing-file"

# init: from a file, 0600 store; JSON output; a second time: conflict.
run 0 --json init --org example --so-pin-file "$SO_PIN"
jq_is .organization.name example
jq_is .store "$MAILTOKEN_STORE"
[ "$(stat -c %a "$MAILTOKEN_STORE")" = 600 ] || fail "store mode $(stat -c %a "$MAILTOKEN_STORE")"
run 4 init --org example --so-pin-file "$SO_PIN"
err_has 'mailtoken: organisation "example" already exists'
run 0 status
out_has "organisation     example"

# SO PIN from a variable, a descriptor, and $MAILTOKEN_SO_PIN.
MY_SO_PIN=so-secret-env-1 run 0 init --org second --so-pin-env MY_SO_PIN
run 5 init --org third --so-pin-env UNSET_VARIABLE_X
err_has "UNSET_VARIABLE_X is not set"
run 0 init --org third --so-pin-fd 3 3<"$SO_PIN"
MAILTOKEN_SO_PIN=so-secret-env-2 run 0 init --org fourth
run 2 init --org fifth --so-pin-fd nope
err_has "--so-pin-fd"
# a descriptor that is not a number is a usage error wherever a secret is read
run 2 --org second cert import --password-fd 1x some.p12
err_has "--password-fd: not a file descriptor number"
run 2 --org second account set-pin someone@example.org --new-pin-fd -3
err_has "--new-pin-fd: not a file descriptor number"
run 2 migrate --from-module /nonexistent.so --token t --pin-fd many
err_has "--pin-fd: not a file descriptor number"

# Several organisations: --org is required, and selects.
run 5 cert list
err_has "--org"
run 0 --org second cert list
run 3 --org nowhere cert list
err_has 'mailtoken: organisation "nowhere" not found'

# Store given by --store and by the config file.
other=$T/other.db
run 0 --store "$other" init --org x --so-pin-file "$SO_PIN"
[ -f "$other" ] || fail "--store was not used"
{ cat "$FAST_KDF_CONF"; printf 'store = %s\n' "$T/conf.db"; } >"$T/mailtoken.conf"
( unset MAILTOKEN_STORE; "$MT_BIN" --config "$T/mailtoken.conf" init --org y --so-pin-file "$SO_PIN" >/dev/null ) ||
    fail "init with --config"
[ -f "$T/conf.db" ] || fail "the config's store was not used"
printf 'no_such_key = 1\n' >"$T/bad.conf"
run 5 --config "$T/bad.conf" status
err_has "bad.conf"
echo "ok"
