#!/usr/bin/env bash
# Seeds of the fuzz targets made from the generated test data (they hold
# private keys, so they are made at test time, never committed), in each
# target's input format (tests/fuzz/fuzz.h): OUT/cert_parse, OUT/pem_keys,
# OUT/pkcs7.
#   usage: make-seeds.sh OUT      (needs $MT_TESTDATA and openssl)
set -euo pipefail
OUT=${1:?usage: make-seeds.sh OUT}
TD=${MT_TESTDATA:?MT_TESTDATA is not set}
PW=fuzz-seed-pw
rm -rf "$OUT"
mkdir -p "$OUT/cert_parse" "$OUT/pem_keys" "$OUT/pkcs7"
umask 077

# cert_parse: every user's P12 and PEM, the bad files, PEM files with keys.
cp "$TD"/users/*.p12 "$TD"/users/*.pass "$TD"/users/*.crt "$OUT/cert_parse/"
for f in "$TD"/bad/*; do
  [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$OUT/cert_parse/"
done
cp "$TD"/ca/*.crt "$OUT/cert_parse/"
printf '%s' "$PW" >"$OUT/cert_parse/dave-enc.pass"
{ cat "$TD/users/dave.crt"; openssl pkcs8 -topk8 -in "$TD/users/dave.key" -v2 aes-128-cbc -passout "pass:$PW"; } \
  >"$OUT/cert_parse/dave-enc.pem"
{ openssl rsa -in "$TD/users/bob.key" -traditional 2>/dev/null; cat "$TD/users/bob.crt" "$TD/ca/bundle.crt"; } \
  >"$OUT/cert_parse/bob-rsa.pem"

# pem_keys: SELECTOR || DER || PASSWORD || length
seed() { # seed NAME SELECTOR PASSWORD < DER
  { printf "\\x$1"; cat; printf '%s' "$2"; printf "\\x$(printf '%02x' ${#2})"; } >"$OUT/pem_keys/$3"
}
openssl pkey -in "$TD/users/bob.key" -outform DER | seed 00 "" bob-pkcs8
openssl pkey -in "$TD/users/carol.key" -outform DER | seed 00 "" carol-pkcs8
openssl pkcs8 -topk8 -in "$TD/users/dave.key" -v2 aes-128-cbc -passout "pass:$PW" -outform DER | seed 01 "$PW" dave-enc
openssl pkcs8 -topk8 -in "$TD/users/alice.key" -v1 PBE-SHA1-3DES -passout "pass:$PW" -outform DER | seed 01 "$PW" alice-enc-3des
openssl rsa -in "$TD/users/bob.key" -traditional -outform DER 2>/dev/null | seed 02 "" bob-rsa
openssl ec -in "$TD/users/carol.key" -outform DER 2>/dev/null | seed 03 "" carol-ec
# legacy PEM encryption: the IV from DEK-Info, then the encrypted DER
openssl rsa -in "$TD/users/alice.key" -traditional -aes128 -passout "pass:$PW" 2>/dev/null >"$OUT/legacy.pem"
{ sed -n 's/^DEK-Info: AES-128-CBC,//p' "$OUT/legacy.pem" | xxd -r -p
  sed '1,/^$/d; /^-----END/d' "$OUT/legacy.pem" | base64 -d; } | seed 12 "$PW" alice-legacy
rm -f "$OUT/legacy.pem"

# pkcs7: certificate bundles as Windows and openssl crl2pkcs7 make them.
openssl crl2pkcs7 -nocrl -certfile "$TD/ca/bundle.crt" -outform DER -out "$OUT/pkcs7/chain.p7b"
openssl crl2pkcs7 -nocrl -certfile "$TD/users/alice.crt" -certfile "$TD/ca/bundle.crt" \
  -outform DER -out "$OUT/pkcs7/alice.p7b"
echo "seeds in $OUT: $(find "$OUT" -type f | wc -l) files"
