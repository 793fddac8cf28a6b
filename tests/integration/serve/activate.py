#!/usr/bin/env python3
"""Starts a command as systemd would with socket activation and Type=notify.

    activate.py DIR COMMAND...

Opens a TCP socket on 127.0.0.1 (any free port) as fd 3 (name "https") and a
Unix socket DIR/plain.sock as fd 4 (name "plain"), with LISTEN_FDS,
LISTEN_PID, LISTEN_FDNAMES and NOTIFY_SOCKET set; writes DIR/port and
DIR/pid, then DIR/ready on READY=1 and DIR/stopping on STOPPING=1 from the
notify socket; exits with the command's status.
"""
import os
import socket
import sys


def main():
    work, command = sys.argv[1], sys.argv[2:]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    plain = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    plain.bind(os.path.join(work, "plain.sock"))
    plain.listen(16)
    notify_path = os.path.join(work, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    with open(os.path.join(work, "port"), "w") as f:
        f.write(str(tcp.getsockname()[1]))
    pid = os.fork()
    if pid == 0:
        os.dup2(tcp.fileno(), 3)
        os.dup2(plain.fileno(), 4)
        for fd in (3, 4):
            os.set_inheritable(fd, True)
        env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID=str(os.getpid()),
                   LISTEN_FDNAMES="https:plain", NOTIFY_SOCKET=notify_path)
        os.execvpe(command[0], command, env)
    tcp.close()
    plain.close()
    with open(os.path.join(work, "pid"), "w") as f:
        f.write(str(pid))
    notify.settimeout(0.2)
    while True:
        try:
            message = notify.recv(4096).decode()
        except socket.timeout:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            continue
        for state in ("READY=1", "STOPPING=1"):
            if state in message.split("\n"):
                name = "ready" if state == "READY=1" else "stopping"
                open(os.path.join(work, name), "w").close()
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
