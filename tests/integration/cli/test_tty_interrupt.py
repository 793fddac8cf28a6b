#!/usr/bin/env python3
"""Ctrl-C at a PIN prompt ends the tool and gives the terminal its echo back.

Runs `mailtoken init` on a real pseudo-terminal, checks that echo is off while
the SO PIN is asked, types Ctrl-C, and checks that the tool died of SIGINT with
the terminal's echo restored."""
import os
import pty
import shutil
import signal
import sys
import tempfile
import termios
import time


def fail(message):
    print("FAIL: cli.tty_interrupt: " + message, file=sys.stderr)
    sys.exit(1)


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="mt-tty-interrupt-")
    try:
        run(binary, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(binary, work):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["MAILTOKEN_STORE"] = os.path.join(work, "store.db")
        os.environ["MAILTOKEN_CONF"] = os.path.join(work, "mailtoken.conf")
        open(os.environ["MAILTOKEN_CONF"], "w").close()
        os.execv(binary, [binary, "init", "--org", "example"])
    shown = b""
    deadline = time.monotonic() + 20
    while b"SO PIN: " not in shown:
        if time.monotonic() > deadline:
            fail("no SO PIN prompt: %r" % shown)
        shown += os.read(fd, 1024)
    if echo_on(fd):
        fail("echo is on while the SO PIN is asked")
    os.write(fd, b"\x03")
    _, status = os.waitpid(pid, 0)
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT):
        fail("the tool did not end on Ctrl-C (status %d)" % status)
    if not echo_on(fd):
        fail("the terminal was left without echo after Ctrl-C")
    print("cli.tty_interrupt: echo off during the prompt, restored after Ctrl-C")


main()
