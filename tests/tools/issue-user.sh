#!/usr/bin/env bash
# Issues an S/MIME certificate from the test data's CA for the keys the
# generated users lack (P-521, a second EC key of one account for its
# history), as a P12 with its password beside it:
#   issue-user.sh CADIR OUTDIR NAME EMAIL KEYSPEC
# writes OUTDIR/NAME.key, NAME.crt, NAME.p12 and NAME.pass (the password);
# KEYSPEC is ec-p256, ec-p384, ec-p521 or rsa2048.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: issue-user.sh CADIR OUTDIR NAME EMAIL KEYSPEC" >&2; exit 2; }
ca=$1 out=$2 name=$3 email=$4 spec=$5
fail() { echo "issue-user.sh: $*" >&2; exit 1; }
[ -f "$ca/sub.crt" ] && [ -f "$ca/sub.key" ] || fail "$ca: no sub.crt and sub.key (test data CA)"
mkdir -p "$out"
case $spec in
  ec-p256) keyopt=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) usage=keyAgreement ;;
  ec-p384) keyopt=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384) usage=keyAgreement ;;
  ec-p521) keyopt=(-algorithm EC -pkeyopt ec_paramgen_curve:P-521) usage=keyAgreement ;;
  rsa2048) keyopt=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) usage=keyEncipherment ;;
  *) fail "unknown key type $spec" ;;
esac
umask 077
openssl genpkey "${keyopt[@]}" -out "$out/$name.key" 2>/dev/null
openssl req -new -key "$out/$name.key" -subj "/O=mailtoken Test/CN=${name^} Example" \
  -out "$out/$name.csr" 2>/dev/null
cat >"$out/$name.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, $usage
extendedKeyUsage = emailProtection
subjectAltName = email:$email
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
openssl x509 -req -in "$out/$name.csr" -CA "$ca/sub.crt" -CAkey "$ca/sub.key" -CAcreateserial \
  -CAserial "$out/$name.srl" -days 365 -sha256 -extfile "$out/$name.ext" -out "$out/$name.crt" \
  2>/dev/null || fail "could not issue $name"
printf '%s-secret' "$name" >"$out/$name.pass"
openssl pkcs12 -export -inkey "$out/$name.key" -in "$out/$name.crt" -certfile "$ca/sub.crt" \
  -name "${name^} Example" -passout "file:$out/$name.pass" -out "$out/$name.p12"
rm -f "$out/$name.csr" "$out/$name.ext" "$out/$name.srl"
