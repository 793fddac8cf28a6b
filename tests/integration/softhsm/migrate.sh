#!/usr/bin/env bash
# A SoftHSM token holding 50 accounts (10 with an older certificate beside the
# current one, 8 whose keys are not extractable) migrates into mailtoken: the
# same certificates, the newest as primary, and keys that work: each migrated
# key signs through mailtoken's module and the signature verifies with the
# public key read from SoftHSM.  A dry run writes nothing; a second run adds
# nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_dirs
make_ca
softhsm_token source
mailtoken_init

N=50
ago=$(days_from_now -200) soon=$(days_from_now 30) now=$(days_from_now -1) later=$(days_from_now 400)
declare -A kept=() rsa=()
manifest=$WORK/manifest.tsv
: >"$manifest"
for i in $(seq -w 1 $N); do
  email=user$i@example.org
  spec=ec-p256
  [ $((10#$i % 5)) -eq 0 ] && { spec=rsa2048; rsa[$email]=1; }
  extractable=1
  [ $((10#$i % 6)) -eq 0 ] && { extractable=0; kept[$email]=1; }
  if [ $((10#$i % 5)) -eq 1 ]; then # an older certificate with its own key
    issue "user$i-old" "$email" "$spec" "$ago" "$soon"
    printf 'user%s old\t%s\t%s\t1\n' "$i" "$WORK/pki/user$i-old.crt" "$WORK/pki/user$i-old.key" >>"$manifest"
  fi
  issue "user$i" "$email" "$spec" "$now" "$later"
  printf 'user%s\t%s\t%s\t%s\n' "$i" "$WORK/pki/user$i.crt" "$WORK/pki/user$i.key" "$extractable" >>"$manifest"
done
softhsm_fill source <"$manifest"
[ ${#ID[@]} -eq 60 ] || fail "SoftHSM holds ${#ID[@]} certificates, expected 60"
# An authority certificate and a key without certificate: reported, not accounts.
softhsm_tool source --write-object "$WORK/pki/ca.crt" --type cert --label "Test CA" >/dev/null
issue stray stray@example.org ec-p256 "$now" "$later"
softhsm_tool source --write-object "$WORK/pki/stray.key" --type privkey --id 0badc0de \
  --label stray --usage-sign --extractable >/dev/null

migrate() {
  "$MAILTOKEN" --json migrate --from-module "$SOFTHSM_MODULE" --token source \
    --pin-file "$WORK/user.pin" "$@"
}

# Dry run: the plan, nothing written, no key taken out.
set +e; plan=$(migrate --dry-run); rc=$?; set -e
[ $rc -eq 7 ] || fail "dry run exit $rc, expected 7 (keys stay in the token)"
[ "$(jq '.summary.accounts' <<<"$plan")" -eq $N ] || fail "dry run plans $(jq .summary.accounts <<<"$plan") accounts"
[ "$(jq '.summary.keys_kept' <<<"$plan")" -eq ${#kept[@]} ] || fail "dry run: kept keys"
[ "$(run "$MAILTOKEN" --json status | jq '.counts.accounts')" -eq 0 ] ||
  fail "the dry run wrote accounts"

set +e; out=$(migrate); rc=$?; set -e
[ $rc -eq 7 ] || { echo "$out" >&2; fail "migrate exit $rc, expected 7"; }
summary=$(jq -c .summary <<<"$out")
[ "$(jq .accounts_new <<<"$summary")" -eq $N ] || fail "accounts created: $summary"
[ "$(jq .certificates_new <<<"$summary")" -eq 60 ] || fail "certificates created: $summary"
[ "$(jq .keys_extracted <<<"$summary")" -eq $((60 - ${#kept[@]})) ] || fail "keys extracted: $summary"
[ "$(jq .keys_kept <<<"$summary")" -eq ${#kept[@]} ] || fail "keys kept: $summary"
# Each key that stayed is named by label and CKA_ID.
for email in "${!kept[@]}"; do
  n=${email%@*}; n=${n#user}
  jq -e --arg e "$email" --arg id "${ID[user$n]}" \
    '.accounts[] | select(.email == $e) | .certificates[] | select(.id == $id and .key == "not-extractable" and .key_label == "user'"$n"'")' \
    <<<"$out" >/dev/null || fail "$email: the kept key is not reported by label and id"
done
jq -e '.skipped[] | select(test("stray") and test("0badc0de"))' <<<"$out" >/dev/null ||
  fail "the key without certificate is not reported"

# Second run: nothing new.
set +e; again=$(migrate); rc=$?; set -e
[ $rc -eq 7 ] || fail "second run exit $rc"
[ "$(jq '.summary.accounts_new + .summary.certificates_new' <<<"$again")" -eq 0 ] ||
  fail "second run added: $(jq -c .summary <<<"$again")"

# Every account: the same certificates as SoftHSM, the newest primary, keys
# working: signed through mailtoken's module, verified with SoftHSM's public key.
certs=$(run "$MAILTOKEN" --json cert list)
accounts=$(run "$MAILTOKEN" --json account list)
[ "$(jq .total <<<"$accounts")" -eq $N ] || fail "$(jq .total <<<"$accounts") accounts, expected $N"
# email <tab> history fingerprints (oldest first) <tab> primary fingerprint <tab> internal
declare -A history=() primary=() internal=()
while IFS=$'\t' read -r email hist prim int; do
  history[$email]=$hist primary[$email]=$prim internal[$email]=$int
done < <(jq -r --argjson certs "$certs" '
  ($certs.certificates | map({key: (.id | tostring), value: .fingerprint}) | from_entries) as $fp
  | .accounts[] | [.email, ([.certificateHistory[] | $fp[tostring]] | join(" ")),
                   $fp[.primaryCertificateId | tostring], (.internal | tostring)] | @tsv' \
  <<<"$accounts")
printf 'sign me' >"$WORK/data"
openssl dgst -sha256 -binary "$WORK/data" >"$WORK/hash"
for i in $(seq -w 1 $N); do
  email=user$i@example.org
  expected=${FP[user$i]}
  [ -n "${FP[user$i old]:-}" ] && expected="${FP[user$i old]} $expected"
  [ "${history[$email]:-}" = "$expected" ] ||
    fail "$email: history ${history[$email]:-none}, expected $expected (oldest first)"
  [ "${primary[$email]}" = "${FP[user$i]}" ] || fail "$email: the primary is not the newest certificate"
  if [ -n "${kept[$email]:-}" ]; then
    [ "${internal[$email]}" = false ] || fail "$email: internal without its key"
    continue
  fi
  [ "${internal[$email]}" = true ] || fail "$email: the key did not arrive"
  run "$MAILTOKEN" account reset-pin "$email" --so-pin-file "$WORK/so.pin" \
    --new-pin-file "$WORK/user.pin" >/dev/null
  id=${ID[user$i]}
  mech=ECDSA input=$WORK/hash # raw ECDSA over the hash, as NSS signs
  [ -n "${rsa[$email]:-}" ] && mech=SHA256-RSA-PKCS input=$WORK/data
  with_client run pkcs11-tool --module "$MT_MODULE" --token-label "$email" --login \
    --pin "$(cat "$WORK/user.pin")" --sign --mechanism "$mech" --id "$id" \
    --signature-format openssl -i "$input" -o "$WORK/sig" >/dev/null
  softhsm_tool source --read-object --type pubkey --id "$id" -o "$WORK/pub.der" >/dev/null
  run openssl dgst -sha256 -verify "$WORK/pub.der" -keyform DER -signature "$WORK/sig" \
    "$WORK/data" >/dev/null
done
echo "migrated $N accounts from SoftHSM; $(( N - ${#kept[@]} )) keys sign through mailtoken"
