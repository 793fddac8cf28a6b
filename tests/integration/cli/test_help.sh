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
n=0

# Every subcommand has a help of its own (not its group's), first line included.
for c in $commands; do
    for s in $("$MT_BIN" "$c" --help | listed Subcommands); do
        "$MT_BIN" "$c" "$s" --help | head -n1 | grep -q "^Usage: mailtoken $c $s" ||
            fail "mailtoken $c $s --help is not its own: $("$MT_BIN" "$c" "$s" --help | head -n1)"
    done
done

# Every option mailtoken(1) shows for a command is in that command's --help.
: "${MT_SOURCE_DIR:?MT_SOURCE_DIR is not set}"
checked=0
while IFS= read -r synopsis; do
    group=$(echo "$synopsis" | awk '{print $2}')
    sub=
    IFS=$'\t' read -ra segments <<<"$(echo "$synopsis" | sed 's/ | /\t/g')"
    for i in "${!segments[@]}"; do
        seg=${segments[$i]}
        [ "$i" -eq 0 ] && seg=${seg#mailtoken $group}
        first=$(echo "$seg" | awk '{print $1}')
        case $first in [a-z]*) sub=$first ;; esac
        # shellcheck disable=SC2086
        help=$("$MT_BIN" $group $sub --help) || fail "mailtoken $group $sub --help failed"
        for opt in $(echo "$seg" | grep -o -- '--[a-z][a-z0-9-]*'); do
            [ "$opt" = "$sub" ] && continue
            grep -q -- "$opt" <<<"$help" || fail "mailtoken $group $sub --help lacks $opt (mailtoken(1): $synopsis)"
            checked=$((checked + 1))
        done
    done
done < <(grep '^\.SS "mailtoken ' "$MT_SOURCE_DIR/docs/mailtoken.1" | sed 's/^\.SS "//; s/"$//; s/\\-/-/g')
[ "$checked" -ge 40 ] || fail "only $checked options of mailtoken(1) checked"

# ca add --help names every profile option of docs/renewals.md.
ca_help=$("$MT_BIN" ca add --help)
n=0
for key in $(sed -n '/^| option | default | meaning |/,/^$/p' "$MT_SOURCE_DIR/docs/renewals.md" |
    grep -o '^| `[^|]*' | grep -o '`[a-zA-Z_.]*`' | tr -d '`'); do
    grep -q -- "$key" <<<"$ca_help" || fail "ca add --help lacks the option $key of docs/renewals.md"
    n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n options read from docs/renewals.md"
echo "cli.help: $checked options of mailtoken(1) and $n CA options in the helps"
