#!/usr/bin/env bash
# Bash completion, as a user pressing Tab sees it: commands, subcommands and
# options come from the tool's --help (so a new one completes without editing
# the script), option values complete as files or folders.
#   usage: test-completion.sh MAILTOKEN COMPLETION_SCRIPT
set -euo pipefail
PROG=${1:?usage: test-completion.sh MAILTOKEN COMPLETION_SCRIPT}
SCRIPT=${2:?usage: test-completion.sh MAILTOKEN COMPLETION_SCRIPT}
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. "$SCRIPT"
[ "$(complete -p mailtoken)" = "complete -F _mailtoken mailtoken" ] ||
    fail "the script does not register _mailtoken for mailtoken"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/import" "$WORK/imports"
touch "$WORK/import.csv" "$WORK/import/alice.p12"
cd "$WORK"

# expect "WORDS ON THE LINE" "EXPECTED COMPLETIONS": the last word is the one completed.
expect() {
    local got
    read -r -a COMP_WORDS <<<"$1"
    [[ $1 == *' ' ]] && COMP_WORDS+=("")
    COMP_WORDS[0]=$PROG
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _mailtoken || fail "_mailtoken failed on \"$1\""
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
    [ "$got" = "$2" ] || fail "\"$1<Tab>\" completes to \"$got\", expected \"$2\""
}

commands=$("$PROG" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' | sort | paste -sd' ')
[ -n "$commands" ] || fail "no commands in mailtoken --help"
expect "mailtoken " "$commands"
expect "mailtoken ce" "cert"
expect "mailtoken --store s.db --org example ce" "cert"
expect "mailtoken cert " "delete export import list show update"
expect "mailtoken cert import --passw" "--password-env --password-fd --password-file --passwords"
expect "mailtoken renew " "cancel resume status"
expect "mailtoken renew alice@example.org " ""
expect "mailtoken account reset-pin --so" "--so-pin-file"
expect "mailtoken --con" "--config"
# Option values: a folder for --dir, a file for --passwords and --store.
expect "mailtoken cert import --dir im" "import imports"
expect "mailtoken cert import --passwords import." "import.csv"
expect "mailtoken --store import/" "import/alice.p12"
# Arguments that are files.
expect "mailtoken cert import import/a" "import/alice.p12"
echo "ok: mailtoken completes commands, subcommands, options and their values"
