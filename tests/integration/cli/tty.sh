# Shared by the CLI tests that type at the tool's prompts: sourced after lib.sh.
# `script` gives the tool a real pseudo-terminal.

# on_tty NAME COMMAND: runs COMMAND on a pty, its input from the fifo $T/NAME.in
# (write to fd 7), its terminal output in $T/NAME.log.
on_tty() {
    mkfifo "$T/$1.in"
    script -qfec "$2" "$T/$1.log" <"$T/$1.in" >/dev/null &
    TTY_PID=$!
    exec 7>"$T/$1.in"
}
# wait_for NAME TEXT [N]: until the terminal shows TEXT N times (default 1).
wait_for() {
    local i
    for i in $(seq 1 400); do
        [ "$(grep -o -F -- "$2" "$T/$1.log" 2>/dev/null | wc -l)" -ge "${3:-1}" ] && return 0
        sleep 0.05
    done
    fail "the terminal never showed '$2': $(cat -v "$T/$1.log")"
}
# answer NAME PROMPT TEXT: once the terminal shows PROMPT, types TEXT and Enter.
answer() {
    wait_for "$1" "$2"
    printf '%s\n' "$3" >&7
}
tty_done() { # tty_done CODE
    exec 7>&-
    local code=0
    wait "$TTY_PID" || code=$?
    [ "$code" -eq "$1" ] || fail "exit $code on the terminal, expected $1: $(cat -v "$T/$2.log")"
}
