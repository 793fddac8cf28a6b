# A writer of the store (its file, or its rows on a server) tampers with it: each way is refused with
# "store tampered" (exit 10), nothing is sealed, the refusal is an audit
# event, and `org verify` reports it.  Also: secrets in the environment are
# taken out of it and the tool leaves no core file; rows from before a store
# key file are named at every open until `org rewrap` tags them.
. "$(dirname "$0")/lib.sh"

sql() { store_sql "$1" || fail "SQL: $1"; }
count() { store_sql "SELECT count(*) FROM $1"; }
tampered_events() { count "events WHERE action = 'store.tampered'"; }
verify_reports() { # verify_reports WHAT TEXT: org verify exits 10 naming it
    run 10 --json org verify --so-pin-file "$SO_PIN"
    jq -e --arg w "$1" --arg t "$2" '.tampered and any(.findings[]; .what == $w and (.message | contains($t)))' \
        "$T/out" >/dev/null || fail "org verify does not report $1 '$2': $(cat "$T/out")"
}
new_key_hex() { openssl rand -hex 32; } # any 32 bytes stand for an attacker's X25519 key

init_store
old=$(import_user alice-old) # ids as the store gives them (a server's skip those rolled back)
run 0 account create alice@example.org --primary "$old"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 0 org verify --so-pin-file "$SO_PIN"
out_has "no mismatch"

# 1. alice's token key replaced: her next P12 is not sealed to it
good=$(sql "SELECT $(sql_hex public_key) FROM tokens WHERE email = 'alice@example.org'")
sql "UPDATE tokens SET public_key = $(sql_blob "$(new_key_hex)") WHERE email = 'alice@example.org'"
keys=$(count sealed_keys)
run 10 cert import $(pass_opt alice) "$TD/users/alice.p12"
err_has "store tampered: the public key of token"
err_has "is not the one recorded in"
[ "$(count sealed_keys)" = "$keys" ] || fail "a key was sealed to the replaced public key"
[ "$(tampered_events)" = 1 ] || fail "no store.tampered event"
verify_reports token-key "is not the one recorded in"
sql "UPDATE tokens SET public_key = $(sql_blob "$good") WHERE email = 'alice@example.org'"

# 2. the recovery key replaced: no new token's secret is sealed to it
good=$(sql "SELECT $(sql_hex recovery_pk) FROM organizations")
sql "UPDATE organizations SET recovery_pk = $(sql_blob "$(new_key_hex)")"
run 10 cert import $(pass_opt bob) "$TD/users/bob.p12"
err_has "store tampered: the recovery key of organisation"
[ "$(count tokens)" = 1 ] || fail "a token was made with the replaced recovery key"
[ "$(tampered_events)" = 2 ] || fail "no store.tampered event"
run 10 org verify --so-pin-file "$SO_PIN"
err_has "the recovery key of organisation \"example\""
sql "UPDATE organizations SET recovery_pk = $(sql_blob "$good")"

# 3. a sealed key moved to another certificate of hers
new=$(import_user alice)
sql "UPDATE sealed_keys SET sealed = (SELECT sealed FROM sealed_keys WHERE cert_id = $new) WHERE cert_id = $old"
verify_reports sealed-key "belongs to another public key than its certificate"

# 4. Argon2id limits and salt the store file may not dictate: refused before
#    any PIN is counted (set-pin checks the current PIN as a login does)
for edit in "pin_ops = 4294967295" "pin_mem = 1024" "pin_salt = $(sql_blob 00)"; do
    run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
    sql "UPDATE tokens SET $edit"
    events=$(tampered_events)
    run 10 account set-pin alice@example.org --pin-file "$USER_PIN" --new-pin-file "$USER_PIN2"
    err_has "store tampered: the PIN of token"
    [ "$(sql "SELECT failed_logins FROM tokens")" = 0 ] || fail "$edit: a failure was counted"
    [ "$(tampered_events)" -gt "$events" ] || fail "$edit: no store.tampered event"
    case $edit in pin_salt*) why="salt that is not 16 bytes" ;; *) why="outside the window" ;; esac
    verify_reports pin-kdf "$why"
done

# account rekey: a new token key, every key sealed to it again, the PIN gone
sql "UPDATE sealed_keys SET sealed = (SELECT sealed FROM sealed_keys WHERE cert_id = $old) WHERE cert_id = $old"
run 0 account reset-pin alice@example.org --so-pin-file "$SO_PIN" --new-pin-file "$USER_PIN"
run 10 account rekey alice@example.org --so-pin-file "$SO_PIN" # key 1 still holds key 2's seal
err_has "store tampered"
mt_fresh_store
init_store
alice=$(import_user alice)
run 0 --json account create alice@example.org --primary "$alice"
before=$(sql "SELECT $(sql_hex public_key) FROM tokens")
run 0 --json account rekey alice@example.org --so-pin-file "$SO_PIN"
jq_is .keys 1
jq_is .pinSet false
[ "$(sql "SELECT $(sql_hex public_key) FROM tokens")" != "$before" ] || fail "rekey kept the key"
run 0 org verify --so-pin-file "$SO_PIN"
out_has "no mismatch"

# org set-so-pin: the new SO PIN follows the SO PIN policy
short=$(secret_file short-so 'short-pin-1')
run 5 org set-so-pin --so-pin-file "$SO_PIN" --new-so-pin-file "$short"
err_has "so_pin_min_length (12 characters)"
NEW_SO=$(secret_file new-so 'another-so-secret-9')
run 0 org set-so-pin --so-pin-file "$SO_PIN" --new-so-pin-file "$NEW_SO"
run 0 org verify --so-pin-file "$NEW_SO"

# A store key file configured after the rows were written: every open says
# how many rows have no tag and what tags them, once; `org rewrap` does.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/store.key"
chmod 600 "$T/store.key"
printf 'store_key_file = %s\n' "$T/store.key" >>"$HOME/.config/mailtoken/mailtoken.conf"
run 0 status
err_has "mailtoken: warning: 2 rows of the store (1 token, 1 organisation) written before the store key file have no tag"
err_has "run \`mailtoken org rewrap\` (SO PIN) to tag them"
[ "$(grep -c "warning: .* no tag" "$T/err")" = 1 ] || fail "the warning is not said once: $(cat "$T/err")"
run 0 --json org rewrap --so-pin-file "$NEW_SO"
jq_is .adopted 2
run 0 status
[ ! -s "$T/err" ] || fail "a warning after org rewrap: $(cat "$T/err")"

# Secrets from the environment are taken out of it, and no core file: looked
# at while the tool waits for the new PIN on a pipe.
mkfifo "$T/new-pin"
MAILTOKEN_SO_PIN=$(cat "$NEW_SO") "$MT_BIN" account reset-pin alice@example.org \
    --new-pin-fd 3 3<"$T/new-pin" >"$T/out" 2>"$T/err" &
pid=$!
exec 4>"$T/new-pin"
# until it reads fd 3 (the read system call: 0 on x86-64, 63 on arm64)
case $(uname -m) in aarch64) read_nr=63 ;; *) read_nr=0 ;; esac
waiting=no
for _ in $(seq 600); do
    read -r nr fd _ <"/proc/$pid/syscall" 2>/dev/null || nr=
    if [ "$nr" = "$read_nr" ] && [ "$fd" = 0x3 ]; then waiting=yes; break; fi
    sleep 0.05
done
[ "$waiting" = yes ] || fail "reset-pin never came to read the new PIN on fd 3"
tr '\0' '\n' <"/proc/$pid/environ" >"$T/environ"
grep -q "^MAILTOKEN_SO_PIN=.*another" "$T/environ" && fail "the SO PIN is still in the environment"
grep -q "another-so-secret" "$T/environ" && fail "the SO PIN is still in the environment block"
grep -E '^Max core file size +0 +0 ' "/proc/$pid/limits" >/dev/null || fail "core files are allowed"
cat "$USER_PIN2" >&4
exec 4>&-
wait "$pid" || fail "reset-pin with the SO PIN from the environment: $(cat "$T/err")"
echo "ok"
