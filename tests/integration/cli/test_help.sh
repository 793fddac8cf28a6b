# Every command and subcommand answers --help with its usage on stdout, exit 0,
# nothing on stderr, and runs nothing after it (no store is created).
# The commands are read from the tool's own listings, so new ones are covered.
. "$(dirname "$0")/lib.sh"

# names listed under "HEADING:" in a help text, one per line
listed() { awk -v h="$1:" '$0 == h {on = 1; next} on && /^  [a-z]/ {print $1; next} on {exit}'; }

check_help() { # check_help WORDS...
    run 0 "$@" --help
    [ -s "$T/out" ] || fail "mailtoken $* --help printed nothing"
    [ ! -s "$T/err" ] || fail "mailtoken $* --help wrote to stderr: $(cat "$T/err")"
    [ ! -e "$MAILTOKEN_STORE" ] || fail "mailtoken $* --help created the store"
}

commands=$("$MT_BIN" --help | listed Commands)
[ "$(echo "$commands" | wc -l)" -ge 8 ] || fail "mailtoken --help lists too few commands: $commands"
n=0
for c in $commands; do
    check_help "$c"
    n=$((n + 1))
    for s in $("$MT_BIN" "$c" --help | listed Subcommands); do
        check_help "$c" "$s"
        n=$((n + 1))
    done
done
echo "cli.help: $n commands and subcommands answer --help"
