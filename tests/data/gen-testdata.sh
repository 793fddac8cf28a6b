#!/usr/bin/env bash
# Generates the test data (test CA, S/MIME users as P12/PEM, bad inputs) into
# OUT, with OUT/manifest.tsv describing every user.  Idempotent: does nothing
# when OUT is complete and was made today (validity periods count from the
# day the data is made: a certificate that "expires in 30 days" must still
# do so when the tests run, so data older than a day is made again).  Needs `openssl` and the mt-craft-p12 tool (found
# beside the build's testdata dir, via $MT_BUILD_DIR or $MT_CRAFT_P12, or
# compiled on the spot).
#   usage: gen-testdata.sh OUT
set -euo pipefail

FORMAT_VERSION=1
OUT=${1:?usage: gen-testdata.sh OUT}
SRC=$(cd "$(dirname "$0")/../.." && pwd)

fail() { echo "gen-testdata.sh: $*" >&2; exit 1; }
run() { "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "failed: $*"; }; }

MAX_AGE_SECONDS=86400
# (a missing .version or .made reads as empty: the data is made again)
if [ -f "$OUT/manifest.tsv" ] && [ "$(cat "$OUT/.version" 2>/dev/null)" = "$FORMAT_VERSION" ] &&
   made=$(cat "$OUT/.made" 2>/dev/null) && [ "$(( $(date +%s) - made ))" -lt "$MAX_AGE_SECONDS" ]; then
  exit 0
fi

NOW=$(date +%s)
umask 022
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "$OUT.tmp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ca/db/new" "$WORK/users" "$WORK/bad"

find_craft_tool() {
  local c
  for c in "${MT_CRAFT_P12:-}" "${MT_BUILD_DIR:+$MT_BUILD_DIR/tests/tools/mt-craft-p12}" \
           "$(dirname "$OUT")/tests/tools/mt-craft-p12"; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return; fi
  done
  # Not built yet (script run by hand): compile it here.
  run cc -O1 -o "$WORK/mt-craft-p12" "$SRC/tests/tools/mt-craft-p12.c" "$SRC/tests/tools/tool_util.c" \
    $(pkg-config --cflags --libs openssl)
  echo "$WORK/mt-craft-p12"
}
CRAFT=$(find_craft_tool)

# ---------------------------------------------------------------- CA
cat > "$WORK/ca.cnf" <<'CNF'
[ ca ]
default_ca = testca
[ testca ]
dir = $ENV::CADB
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = yes
[ policy_any ]
organizationName = optional
commonName = supplied
emailAddress = optional
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ sub_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ user ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ENV::KU
extendedKeyUsage = $ENV::EKU
subjectAltName = email:$ENV::EMAIL
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ user_nosan ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ENV::KU
extendedKeyUsage = $ENV::EKU
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
export CADB="$WORK/ca/db" KU=digitalSignature EKU=emailProtection EMAIL=unused@example.org
touch "$CADB/index.txt"
openssl rand -hex 8 | sed 's/^./1/' > "$CADB/serial"

keygen() { # keygen SPEC OUT
  case $1 in
    rsa2048) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    rsa3072) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" ;;
    ec-p256) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
    ec-p384) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$2" ;;
    ed25519) run openssl genpkey -algorithm ED25519 -out "$2" ;;
    *) fail "unknown key type $1" ;;
  esac
  chmod 600 "$2"
}
stamp() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

CA="$WORK/ca"
keygen rsa2048 "$CA/root.key"
run openssl req -new -x509 -config "$WORK/ca.cnf" -key "$CA/root.key" -sha256 -days 7300 \
  -subj "/O=mailtoken Test/CN=mailtoken Test Root CA" -extensions root_ext -out "$CA/root.crt"
keygen rsa2048 "$CA/sub.key"
run openssl req -new -config "$WORK/ca.cnf" -key "$CA/sub.key" \
  -subj "/O=mailtoken Test/CN=mailtoken Test S\\/MIME CA" -out "$WORK/sub.csr"
run openssl ca -batch -notext -config "$WORK/ca.cnf" -cert "$CA/root.crt" -keyfile "$CA/root.key" \
  -startdate "$(stamp '-1 year')" -enddate "$(stamp '+10 years')" -extensions sub_ext \
  -preserveDN -in "$WORK/sub.csr" -out "$CA/sub.crt"
cat "$CA/sub.crt" "$CA/root.crt" > "$CA/bundle.crt"

# ---------------------------------------------------------------- users
# issue NAME EMAIL KEYSPEC SUBJECT EXTSECTION START END
issue() {
  local name=$1 email=$2 spec=$3 subject=$4 section=$5 start=$6 end=$7
  local key="$WORK/users/$name.key"
  [ -f "$key" ] || keygen "$spec" "$key"
  case $spec in
    rsa*) KU="digitalSignature, nonRepudiation, keyEncipherment" ;;
    ec-*) KU="digitalSignature, nonRepudiation, keyAgreement" ;;
    *) KU="digitalSignature, nonRepudiation" ;;
  esac
  EMAIL=$email
  export KU EMAIL
  run openssl req -new -config "$WORK/ca.cnf" -key "$key" -subj "$subject" -out "$WORK/$name.csr"
  run openssl ca -batch -notext -config "$WORK/ca.cnf" -cert "$CA/sub.crt" -keyfile "$CA/sub.key" \
    -startdate "$(stamp "$start")" -enddate "$(stamp "$end")" -extensions "$section" \
    -preserveDN -in "$WORK/$name.csr" -out "$WORK/users/$name.crt"
}

# p12 NAME PASSWORD|- FRIENDLY MODE(aes|legacy|nomac) CHAIN(yes|no)
p12() {
  local name=$1 password=$2 friendly=$3 mode=$4 chain=$5 pass_arg args=()
  if [ "$password" = "-" ]; then
    pass_arg="pass:"
  else
    printf '%s' "$password" > "$WORK/users/$name.pass"
    chmod 600 "$WORK/users/$name.pass"
    pass_arg="file:$WORK/users/$name.pass"
    [ -n "$password" ] || pass_arg="pass:"
  fi
  [ "$chain" = yes ] && args+=(-certfile "$CA/bundle.crt")
  case $mode in
    aes) ;;
    legacy) args+=(-legacy) ;;
    nomac) args+=(-keypbe NONE -certpbe NONE -nomac) ;;
  esac
  run openssl pkcs12 -export -inkey "$WORK/users/$name.key" -in "$WORK/users/$name.crt" \
    -name "$friendly" -passout "$pass_arg" "${args[@]}" -out "$WORK/users/$name.p12"
}

MANIFEST="$WORK/manifest.tsv"
printf 'name\temail\tkey\tp12\tpassword\tcrt\tkeypem\tchain\tnotes\n' > "$MANIFEST"
# user NAME EMAIL KEYSPEC P12(yes|no) PASSWORD|- CHAIN(yes|no) NOTES
manifest() {
  local name=$1 email=$2 spec=$3 has_p12=$4 password=$5 chain=$6 notes=$7
  local p12col=- passcol=- keycol=- chaincol=-
  [ "$has_p12" = yes ] && p12col="users/$name.p12"
  [ -f "$WORK/users/$name.pass" ] && passcol="users/$name.pass"
  [ "$has_p12" = yes ] && keycol="users/$name.key"
  [ "$chain" = yes ] && chaincol="ca/bundle.crt"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$email" "$spec" "$p12col" "$passcol" \
    "users/$name.crt" "$keycol" "$chaincol" "$notes" >> "$MANIFEST"
}

# NAME EMAIL KEY PASSWORD|- P12MODE CHAIN START END SECTION EKU NOTES
while IFS='|' read -r name email spec password mode chain start end section eku notes; do
  [ -n "$name" ] || continue
  EKU=$eku
  export EKU
  cn=${name^}
  subject="/O=mailtoken Test/CN=$cn Example"
  [ "$section" = user_nosan ] && subject="$subject/emailAddress=$email"
  issue "$name" "$email" "$spec" "$subject" "$section" "$start" "$end"
  if [ "$mode" = pem ]; then
    rm -f "$WORK/users/$name.key"
    manifest "$name" "$email" "$spec" no - no "$notes"
  else
    p12 "$name" "$password" "$cn Example" "$mode" "$chain"
    manifest "$name" "$email" "$spec" yes "$password" "$chain" "$notes"
  fi
done <<'USERS'
alice|alice@example.org|rsa2048|alice-secret-1|aes|yes|-1 day|+2 years|user|emailProtection, clientAuth|AES-256 P12 with chain sub+root
alice-old|alice@example.org|rsa2048|alice-old-secret|aes|yes|-2 years|+30 days|user|emailProtection|older certificate of alice, expires sooner (history)
bob|bob@example.org|rsa3072|bob-secret-22|aes|yes|-1 day|+2 years|user|emailProtection|RSA-3072
carol|carol@example.org|ec-p256|carol-secret-3|aes|yes|-1 day|+2 years|user|emailProtection|EC P-256
dave|dave@example.org|ec-p384|dave-secret-44|aes|yes|-1 day|+2 years|user|emailProtection|EC P-384
erin|erin@example.org|rsa2048|erin-secret-5|legacy|yes|-1 day|+2 years|user|emailProtection|legacy P12: RC2-40 certificates, 3DES key, SHA-1 MAC
frank|frank@example.org|rsa2048|frank-secret-6|aes|yes|-3 years|-1 year|user|emailProtection|expired
grace|grace@example.org|rsa2048|grace-secret-7|aes|yes|-1 day|+2 years|user|clientAuth|EKU without emailProtection
heidi|heidi@example.org|rsa2048||aes|yes|-1 day|+2 years|user|emailProtection|empty password
ivan|ivan@example.org|rsa2048|-|nomac|yes|-1 day|+2 years|user|emailProtection|no password, no MAC, key unencrypted
judy|judy@example.org|ec-p256|judy-secret-8|aes|no|-1 day|+2 years|user|emailProtection|P12 without chain
ed|ed@example.org|ed25519|ed-secret-99|aes|yes|-1 day|+2 years|user|emailProtection|Ed25519: certificate only through PKCS#11
oscar|oscar@example.org|rsa2048|oscar-secret-0|aes|yes|-1 day|+2 years|user_nosan|emailProtection|email only in subject emailAddress, no SAN
partner|partner@partner.example|rsa2048|-|pem|no|-1 day|+2 years|user|emailProtection|external partner: PEM only
USERS

# ---------------------------------------------------------------- bad inputs
BAD="$WORK/bad"
U="$WORK/users"
copy_pass() { cp "$U/$1.pass" "$BAD/$2.pass"; chmod 600 "$BAD/$2.pass"; }
: > "$BAD/empty.p12"
head -c "$(( $(stat -c %s "$U/alice.p12") / 2 ))" "$U/alice.p12" > "$BAD/truncated.p12"
copy_pass alice truncated
{ printf 'GARBAGE\n'; head -c 2040 /dev/urandom; } > "$BAD/garbage.p12"
run "$CRAFT" mismatch "$BAD/mismatch.p12" "$U/alice.pass" "$U/bob.key" "$U/alice.crt"
copy_pass alice mismatch
# noemail: no SAN, no emailAddress
EKU=emailProtection
export EKU
issue noemail nobody@example.org rsa2048 "/O=mailtoken Test/CN=No Email" user_nosan "-1 day" "+1 year"
mv "$U/noemail.crt" "$BAD/noemail.crt"
printf 'noemail-secret' > "$BAD/noemail.pass"
chmod 600 "$BAD/noemail.pass"
run openssl pkcs12 -export -inkey "$U/noemail.key" -in "$BAD/noemail.crt" \
  -passout "file:$BAD/noemail.pass" -out "$BAD/noemail.p12"
rm -f "$U/noemail.key"
{ echo "-----BEGIN PKCS12-----"; base64 -w 64 "$U/alice.p12"; echo "-----END PKCS12-----"; } \
  > "$BAD/armoured.p12"
copy_pass alice armoured
run "$CRAFT" multikey "$BAD/multikey.p12" "$U/alice.pass" "$U/alice.key" "$U/alice.crt" \
  "$U/carol.key" "$U/carol.crt" "$U/dave.key" "$U/bob.crt"
copy_pass alice multikey
head -c $(( 4 * 1024 * 1024 + 1 )) /dev/zero > "$BAD/big.p12"
run "$CRAFT" badname "$BAD/badname.p12" "$U/alice.pass" "$U/alice.key" "$U/alice.crt"
copy_pass alice badname
run "$CRAFT" pbmac1 "$BAD/pbmac1.p12" "$U/alice.pass" "$U/alice.key" "$U/alice.crt"
copy_pass alice pbmac1

# ---------------------------------------------------------------- publish
rm -rf "$WORK/ca/db" "$WORK"/*.csr "$WORK/ca.cnf" "$WORK/last.err" "$WORK/mt-craft-p12"
chmod 600 "$CA/root.key" "$CA/sub.key"
echo "$FORMAT_VERSION" > "$WORK/.version"
echo "$NOW" > "$WORK/.made"
rm -rf "$OUT"
mv "$WORK" "$OUT"
trap - EXIT
