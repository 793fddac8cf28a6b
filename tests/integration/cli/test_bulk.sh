# Bulk import of a folder: 1,000 P12s, 8 broken files and 2 certificates
# without an email.  Every good file is imported, every broken one named with
# its reason, every skipped one named too, exit 7 (partial).
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
broken=(empty.p12 truncated.p12 garbage.p12 mismatch.p12 big.p12 pbmac1.p12
        deeper/wrong-password.p12 notes.pem)

start=$(date +%s.%N)
run 7 --json cert import --dir "$T/in/" --passwords "$T/passwords.csv" --password-file "$pw"
end=$(date +%s.%N)
jq_is .summary.files 1010
jq_is .summary.imported 1001
jq_is .summary.present 1
jq_is .summary.failed 8
jq_is .summary.skipped 1
jq_is '.summary.skippedFiles[0].file' "$T/in/README.txt"
jq_is '.summary.skippedFiles[0].reason | test("not a certificate file name .*--all-files")' true
for f in "${broken[@]}"; do
    jq_is "[.files[] | select(.file == \"$T/in/broken/$f\") | .status] | join(\",\")" failed
    err_has "mailtoken: $T/in/broken/$f: "
done
[ "$(grep -c '^mailtoken: /' "$T/err")" -eq 8 ] || fail "not 8 errors: $(cat "$T/err")"
# The reasons, per file.
reason() { jq -r ".files[] | select(.file == \"$T/in/broken/$1\") | .error.message" "$T/out"; }
[[ "$(reason big.p12)" == *limit* ]] || fail "big.p12: $(reason big.p12)"
[[ "$(reason pbmac1.p12)" == *PBMAC1* ]] || fail "pbmac1.p12: $(reason pbmac1.p12)"
[[ "$(reason mismatch.p12)" == *"does not match"* ]] || fail "mismatch.p12: $(reason mismatch.p12)"
# Without an email: imported, with the warning that says why no account can use them.
for f in noemail.crt noemail.p12; do
    jq_is ".files[] | select(.file == \"$T/in/broken/$f\") | .warnings | map(test(\"names no email\")) | any" true
done
jq_is ".files[] | select(.file == \"$T/in/broken/deeper/wrong-password.p12\") | .error.error" wrong-password
run 0 --json status
jq_is .counts.certificates 1001
jq_is .counts.certificatesWithKey 1000
rate=$(echo "$start $end" | awk '{ printf "%.0f", 1010 / ($2 - $1) }')
echo "bulk import: 1010 files at $rate files/s (including process start)"

# Table output: a summary naming every failure (5 good files again, the 10 broken).
mkdir "$T/again"
ln -s "$T/in/broken" "$T/again/broken"
for n in 00001 00002 00003 00004 00005; do ln -s "$MT_CLI_BULK/user$n.p12" "$T/again/"; done
run 7 cert import --dir "$T/again" --passwords "$T/passwords.csv" --password-file "$pw" --jobs 1
out_has "15 files: 0 imported, 7 already present, 8 failed"
for f in "${broken[@]}"; do out_has "  failed: $T/again/broken/$f: "; done
run 0 --json status
jq_is .counts.certificates 1001
echo ok
