# Bulk import of a folder: 1,000 P12s and 10 broken files.  Every good file is
# imported, every broken one named with its reason, exit 7 (partial).
. "$(dirname "$0")/lib.sh"
: "${MT_CLI_BULK:?MT_CLI_BULK is not set}"
init_store
pw=$(secret_file bulk-pw bulk-password)

# FOLDER/good -> the generated P12s (recursion follows it), FOLDER/broken/ the bad ones.
mkdir -p "$T/in/broken/deeper"
ln -s "$MT_CLI_BULK" "$T/in/good"
for f in empty.p12 truncated.p12 garbage.p12 mismatch.p12 noemail.p12 noemail.crt big.p12 pbmac1.p12; do
    cp "$TD/bad/$f" "$T/in/broken/"
done
cp "$TD/users/alice.p12" "$T/in/broken/deeper/wrong-password.p12"
echo "not a certificate" >"$T/in/broken/notes.pem"
echo "ignored: not a certificate file name" >"$T/in/README.txt"
# Per-file passwords (CSV, relative path or base name, quoting); the rest use --password-file.
{
    echo "file,password"
    for f in truncated mismatch noemail pbmac1; do
        printf 'broken/%s.p12,"%s"\n' "$f" "$(sed 's/"/""/g' "$TD/bad/$f.pass")"
    done
} >"$T/passwords.csv"
chmod 600 "$T/passwords.csv"
broken=(empty.p12 truncated.p12 garbage.p12 mismatch.p12 noemail.p12 noemail.crt big.p12 pbmac1.p12
        deeper/wrong-password.p12 notes.pem)

start=$(date +%s.%N)
run 7 --json cert import --dir "$T/in/" --passwords "$T/passwords.csv" --password-file "$pw"
end=$(date +%s.%N)
jq_is .summary.files 1010
jq_is .summary.imported 1000
jq_is .summary.present 0
jq_is .summary.failed 10
jq_is .summary.skipped 1
for f in "${broken[@]}"; do
    jq_is "[.files[] | select(.file == \"$T/in/broken/$f\") | .status] | join(\",\")" failed
    err_has "mailtoken: $T/in/broken/$f: "
done
[ "$(grep -c '^mailtoken: ' "$T/err")" -eq 10 ] || fail "not 10 errors: $(cat "$T/err")"
# The reasons, per file.
reason() { jq -r ".files[] | select(.file == \"$T/in/broken/$1\") | .error.message" "$T/out"; }
[[ "$(reason big.p12)" == *limit* ]] || fail "big.p12: $(reason big.p12)"
[[ "$(reason pbmac1.p12)" == *PBMAC1* ]] || fail "pbmac1.p12: $(reason pbmac1.p12)"
[[ "$(reason mismatch.p12)" == *"does not match"* ]] || fail "mismatch.p12: $(reason mismatch.p12)"
[[ "$(reason noemail.crt)" == *"no email"* ]] || fail "noemail.crt: $(reason noemail.crt)"
jq_is ".files[] | select(.file == \"$T/in/broken/deeper/wrong-password.p12\") | .error.error" wrong-password
run 0 --json status
jq_is .counts.certificates 1000
jq_is .counts.certificatesWithKey 1000
rate=$(echo "$start $end" | awk '{ printf "%.0f", 1010 / ($2 - $1) }')
echo "bulk import: 1010 files at $rate files/s (including process start)"

# Table output: a summary naming every failure (5 good files again, the 10 broken).
mkdir "$T/again"
ln -s "$T/in/broken" "$T/again/broken"
for n in 00001 00002 00003 00004 00005; do ln -s "$MT_CLI_BULK/user$n.p12" "$T/again/"; done
run 7 cert import --dir "$T/again" --passwords "$T/passwords.csv" --password-file "$pw" --jobs 1
out_has "15 files: 0 imported, 5 already present, 10 failed"
for f in "${broken[@]}"; do out_has "  failed: $T/again/broken/$f: "; done
run 0 --json status
jq_is .counts.certificates 1000
echo ok
