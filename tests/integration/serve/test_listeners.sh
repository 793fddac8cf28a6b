# Where and how `mailtoken serve` listens: HTTPS with the configured
# certificate, plain HTTP only on a Unix socket or loopback (for a reverse
# proxy, whose X-Forwarded-For names the client), systemd's socket
# activation and notifications, bounded connections, idle time-outs, and
# clear refusals of a configuration that cannot work.
. "$(dirname "$0")/lib.sh"
init_store
KEY=$(new_key read)

# Configurations that cannot work are refused before anything listens.
serve_fails() { # CODE MESSAGE [serve options]
    local code=$1 message=$2
    shift 2
    run "$code" serve "$@"
    err_has "$message"
}
serve_fails 5 "plain HTTP listens only on a Unix socket or a loopback address" --plain-listen 0.0.0.0:0
serve_fails 5 "a Unix socket is for api_plain_listen" --listen "unix:$T/x.sock"
serve_fails 5 "'localhost' is not ADDRESS:PORT" --listen localhost
write_config "api_tls_cert = $T/tls.crt" # the key is missing
sed -i '/^api_tls_key/d' "$MAILTOKEN_CONF"
serve_fails 5 "HTTPS needs api_tls_cert and api_tls_key"
write_config
sed -i '/^api_listen/d' "$MAILTOKEN_CONF"
serve_fails 5 "nothing to listen on"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
chmod 600 "$T/other.key"
write_config
run 1 serve --tls-key "$T/other.key" # a key that is not the certificate's
err_has "cannot start the HTTPS listener"
MAILTOKEN_STORE=$T/none.db serve_fails 3 "no store here"

# HTTPS and, for a proxy, plain HTTP on a Unix socket (0660).
write_config "api_plain_listen = unix:$T/api.sock"
start_server
log_has "listening on http+unix:$T/api.sock"
[ "$(stat -c %a "$T/api.sock")" = 660 ] || fail "the plain socket is not 0660"
api GET /status
expect 200
curl --unix-socket "$T/api.sock" -X GET "http://localhost/v3/organizations/$ORG/smime/status" \
    -H "Authorization: Bearer $KEY" -H "X-Forwarded-For: 198.51.100.1, 203.0.113.7"
expect 200
log_has "203.0.113.7 GET /v3/organizations/example/smime/status 200"
# Only an address counts as one (it is what gets slowed down).
curl --unix-socket "$T/api.sock" -X GET "http://localhost/v3/organizations/$ORG/smime/status" \
    -H "Authorization: Bearer $KEY" -H "X-Forwarded-For: evil.example"
log_has "unix GET /v3/organizations/example/smime/status 200"
# No TLS 1.1, no plain HTTP on the HTTPS port.
command curl -sS --cacert "$T/tls.crt" --tls-max 1.1 "$API/status" -o /dev/null 2>/dev/null &&
    fail "TLS 1.1 was accepted"
command curl -sS "http://127.0.0.1:${BASE##*:}/v3/organizations/$ORG/smime/status" -o /dev/null 2>/dev/null &&
    fail "plain HTTP was answered on the HTTPS port"
stop_server
[ ! -e "$T/api.sock" ] || fail "the Unix socket was left behind"

# Bounded connections: with api_max_connections = 2, a third is turned away;
# idle connections are closed after api_timeout.
write_config "api_max_connections = 2" "api_timeout = 2"
start_server
hold() { # hold READY-FILE: a TLS connection kept idle; exit 0 when the server closes it
    python3 - "${BASE##*:}" "$T/tls.crt" "$1" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        open(sys.argv[3], "w").close()
        s.settimeout(20)
        try:
            sys.exit(0 if s.recv(1) == b"" else 1)
        except (ssl.SSLError, ConnectionError):
            sys.exit(0)
        except TimeoutError:
            sys.exit(1)
PY
}
hold "$T/held1" &
HOLD1=$!
hold "$T/held2" &
HOLD2=$!
for _ in $(seq 100); do [ -e "$T/held1" ] && [ -e "$T/held2" ] && break; sleep 0.05; done
[ -e "$T/held1" ] && [ -e "$T/held2" ] || fail "could not open two connections"
command curl -sS --cacert "$T/tls.crt" --max-time 5 "$API/status" -H "Authorization: Bearer $KEY" \
    -o /dev/null 2>/dev/null && fail "a third connection was served beside two open ones"
wait "$HOLD1" || fail "an idle connection was not closed after api_timeout"
wait "$HOLD2" || fail "an idle connection was not closed after api_timeout"
api GET /status
expect 200
stop_server

# systemd: socket activation (an HTTPS and a plain socket) and Type=notify.
mkdir "$T/sd"
python3 "$(dirname "$0")/activate.py" "$T/sd" "$MT_BIN" serve 2>"$T/server.log" &
ACTIVATOR=$!
for _ in $(seq 200); do [ -e "$T/sd/ready" ] && break; sleep 0.05; done
[ -e "$T/sd/ready" ] || fail "no READY=1 from the server: $(cat "$T/server.log")"
log_has "listening on https://127.0.0.1:$(cat "$T/sd/port")"
log_has "listening on http+unix:$T/sd/plain.sock"
[ "$(grep -c 'listening on' "$T/server.log")" = 2 ] || fail "the server opened its own sockets too"
BASE=https://localhost:$(cat "$T/sd/port")
API=$BASE/v3/organizations/$ORG/smime
api GET /status
expect 200
curl --unix-socket "$T/sd/plain.sock" -X GET "http://localhost/v3/organizations/$ORG/smime/status" \
    -H "Authorization: Bearer $KEY"
expect 200
kill -TERM "$(cat "$T/sd/pid")"
code=0
wait "$ACTIVATOR" || code=$?
[ "$code" = 0 ] || fail "the activated server exited $code: $(tail "$T/server.log")"
[ -e "$T/sd/stopping" ] || fail "no STOPPING=1 from the server"
[ -S "$T/sd/plain.sock" ] || fail "the server removed systemd's socket"

check_openapi
echo ok
