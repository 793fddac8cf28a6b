#!/usr/bin/env bash
# Runs a command against a PostgreSQL server of its own: Debian's
# PostgreSQL 15 (initdb + pg_ctl) in a temporary directory, on a free port of
# 127.0.0.1, as an unprivileged user (as root: the server runs as `nobody`
# through runuser; PostgreSQL refuses to run as root).  The command gets
#   MT_TEST_PG      a connection URI of the server's `postgres` database
#   MT_TEST_PG_BIN  the server's bin directory (pg_ctl, pg_basebackup, psql...)
#   MT_TEST_PG_DATA the data directory, MT_TEST_PG_AS the prefix that runs a
#                   server program as the server's user (empty when not root)
# and its exit status is this script's; the server is stopped and removed in
# every case.  Exit 77 (ctest's skip) only when no server can be had here,
# saying why.  With --standby, a streaming-replication standby of that server
# (pg_basebackup -R -X stream) runs too, on another free port:
#   MT_TEST_PG_STANDBY  a connection URI of the standby's `postgres` database
#   with-postgres.sh [--standby] COMMAND [ARGS...]
set -euo pipefail

standby=0
if [ "${1:-}" = --standby ]; then
  standby=1
  shift
fi

skip() { echo "SKIP: $*" >&2; exit 77; }

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || skip "no PostgreSQL server here (apt install postgresql)"

as=()
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  command -v runuser >/dev/null || skip "running as root and no runuser to start the server as nobody"
  owner=nobody
  as=(runuser -u nobody --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/mt-pg-XXXXXX")
chmod 755 "$dir"
data=$dir/data
server_up=0
standby_up=0
cleanup() {
  if [ "$standby_up" = 1 ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/standby" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ "$server_up" = 1 ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
[ "$owner" = "$(id -un)" ] || chown "$owner" "$dir"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! "${as[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  echo "FAIL: initdb failed" >&2
  exit 1
fi
# A server for tests: durable enough to survive a client's kill, not a crash
# of the machine.
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 250
wal_level = replica
max_wal_senders = 4
shared_buffers = 32MB
CONF
echo "host replication postgres 127.0.0.1/32 trust" >>"$data/pg_hba.conf"
start_server() { # DATA LOG: the server of DATA on a free port (in $port)
  local attempt
  for attempt in 1 2 3; do
    port=$(free_port)
    "${as[@]}" "$bin/pg_ctl" -D "$1" -o "-p $port" -l "$2" -w -t 30 start >/dev/null 2>&1 && return 0
  done
  cat "$2" >&2 || true
  return 1
}
# ctest kills a test that runs out of time with no chance to clean up: a
# watcher stops the servers once this script is gone, whatever ended it.
( trap '' HUP INT TERM
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  for d in "$dir/standby" "$data"; do
    [ ! -f "$d/postmaster.pid" ] || "${as[@]}" "$bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$dir" ) </dev/null >/dev/null 2>&1 &
start_server "$data" "$dir/server.log" || { echo "FAIL: the PostgreSQL server did not start" >&2; exit 1; }
server_up=1

if [ "$standby" = 1 ]; then
  primary_port=$port
  "${as[@]}" "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/standby" \
      -R -X stream --no-sync >"$dir/basebackup.log" 2>&1 ||
    { cat "$dir/basebackup.log" >&2; echo "FAIL: pg_basebackup of the test server failed" >&2; exit 1; }
  start_server "$dir/standby" "$dir/standby.log" ||
    { echo "FAIL: the standby server did not start" >&2; exit 1; }
  standby_up=1
  export MT_TEST_PG_STANDBY="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  port=$primary_port
fi

export MT_TEST_PG="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export MT_TEST_PG_BIN=$bin MT_TEST_PG_DATA=$data MT_TEST_PG_PORT=$port
export MT_TEST_PG_AS="${as[*]}"
set +e
"$@"
status=$?
set -e
exit $status
