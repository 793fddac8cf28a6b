# Mail for the Thunderbird tests (sourced after lib.sh): three accounts,
# each with a primary and a history certificate of the same kind (EC P-256,
# EC P-384, RSA), and mail encrypted to each certificate the ways senders
# do it: OpenSSL (RFC 5753 with its SHA-1 KDF default, with SHA-2 KDFs and
# with cofactor Diffie-Hellman; RSA with PKCS#1 v1.5 and OAEP, AES or 3DES
# content) and Thunderbird's own NSS (cmsutil -E).
#
# MAILS lists "FILE EMAIL MARKER": FILE.der (CMS) and FILE.eml (S/MIME mail)
# hold a text containing MARKER, to be opened by EMAIL's token.

TB_LIB=/usr/lib/thunderbird

# cmsutil of Debian's NSS tools on Thunderbird's NSS libraries (newer than
# the system's 3.87, which cannot open ECDH mail).
tb_cmsutil() { LD_LIBRARY_PATH="$TB_LIB" client cmsutil "$@"; }

need_thunderbird_nss() {
    [ -f "$TB_LIB/libnss3.so" ] && [ -f "$TB_LIB/libsmime3.so" ] ||
        die "Thunderbird's NSS is not in $TB_LIB (Debian package thunderbird, installed by ./dev.sh deps)"
}

# NAME EMAIL KEYSPEC: a certificate the test data lacks, from its CA.
issue_user() {
    bash "$MT_SOURCE_DIR/tests/tools/issue-user.sh" "$MT_TESTDATA/ca" "$WORK/issued" "$@" ||
        die "could not issue $1"
}

# OLD NEW: OLD's account gets NEW as primary, OLD stays in the history.
renew_account() { # OLD_P12 OLD_PASS NEW_P12 NEW_PASS NEW_CRT
    mt_cli cert import --account auto --password-file "$2" "$1" >/dev/null
    mt_cli cert import --password-file "$4" "$3" >/dev/null
    local email fp
    email=$(openssl x509 -in "$5" -noout -ext subjectAltName | sed -n 's/.*email:\([^, ]*\).*/\1/p')
    fp=$(openssl x509 -in "$5" -noout -fingerprint -sha256 | cut -d= -f2)
    mt_cli account add-to-history "$email" "$fp" >/dev/null
    mt_cli account set-primary "$email" "$fp" >/dev/null
    set_pin "$email"
}

setup_mail_accounts() {
    issue_user carol-old carol@example.org ec-p256
    issue_user dave-old dave@example.org ec-p384
    local u
    for u in carol dave; do
        renew_account "$WORK/issued/$u-old.p12" "$WORK/issued/$u-old.pass" \
            "$(users_file "$u.p12")" "$(users_file "$u.pass")" "$(users_file "$u.crt")"
    done
    renew_account "$(users_file alice-old.p12)" "$(users_file alice-old.pass)" \
        "$(users_file alice.p12)" "$(users_file alice.pass)" "$(users_file alice.crt)"
    CERTS=(carol:"$(users_file carol.crt)" carol-old:"$WORK/issued/carol-old.crt"
           dave:"$(users_file dave.crt)" dave-old:"$WORK/issued/dave-old.crt"
           alice:"$(users_file alice.crt)" alice-old:"$(users_file alice-old.crt)")
}

# The sender's NSS database: the recipients' certificates, no keys.
sender_db() {
    SENDER_DB="sql:$WORK/sender-db"
    mkdir -p "$WORK/sender-db"
    certutil -N -d "$SENDER_DB" --empty-password
    local entry
    for entry in "${CERTS[@]}"; do
        certutil -A -d "$SENDER_DB" -n "${entry%%:*}" -t ",," -i "${entry#*:}"
    done
}

# DER FILE.der -> FILE.eml, an S/MIME mail as a client sends it.
der_to_eml() { # FILE EMAIL
    {
        printf 'From: sender@example.net\r\nTo: %s\r\nSubject: encrypted %s\r\n' "$2" "$(basename "$1")"
        printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
        printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
        base64 -w 76 "$1.der" | sed 's/$/\r/'
    } >"$1.eml"
}

# One mail: NAME CERT EMAIL SENDER [CIPHER [-keyopt...]]; SENDER is
# openssl, or the certificate's nickname in the sender's NSS database.
encrypt_mail() {
    local name=$1 cert=$2 email=$3 sender=$4 marker
    shift 4
    marker="Mail-$name-$RANDOM$RANDOM"
    printf 'Content-Type: text/plain\r\n\r\nHello, this is %s.\r\n' "$marker" >"$WORK/mails/$name.txt"
    if [ "$sender" = openssl ]; then
        # the cipher first; -keyopt applies to the -recip before it
        openssl cms -encrypt "$1" -outform DER -in "$WORK/mails/$name.txt" \
            -out "$WORK/mails/$name.der" -recip "$cert" "${@:2}" ||
            die "openssl cms -encrypt $* to $cert failed"
    else # the certificate by its nickname in the sender's database
        tb_cmsutil -E -d "$SENDER_DB" -r "$sender" -i "$WORK/mails/$name.txt" \
            -o "$WORK/mails/$name.der" </dev/null || die "cmsutil -E to $sender ($email) failed"
    fi
    der_to_eml "$WORK/mails/$name" "$email"
    MAILS+=("$WORK/mails/$name $email $marker")
}

# Every account's primary and history certificate, each way.
write_mails() {
    mkdir -p "$WORK/mails"
    MAILS=()
    sender_db
    local entry name cert email
    for entry in "${CERTS[@]}"; do
        name=${entry%%:*} cert=${entry#*:}
        email=$(openssl x509 -in "$cert" -noout -ext subjectAltName | sed -n 's/.*email:\([^, ]*\).*/\1/p')
        case $name in
        alice*)
            encrypt_mail "$name-pkcs1" "$cert" "$email" openssl -aes256
            encrypt_mail "$name-3des" "$cert" "$email" openssl -des3
            encrypt_mail "$name-oaep" "$cert" "$email" openssl -aes128 -keyopt rsa_padding_mode:oaep
            encrypt_mail "$name-oaep256" "$cert" "$email" openssl -aes256 -keyopt rsa_padding_mode:oaep \
                -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
            ;;
        *)
            encrypt_mail "$name-sha1kdf" "$cert" "$email" openssl -aes128
            encrypt_mail "$name-sha256kdf" "$cert" "$email" openssl -aes256 -keyopt ecdh_kdf_md:sha256
            encrypt_mail "$name-sha512kdf" "$cert" "$email" openssl -aes192 -keyopt ecdh_kdf_md:sha512
            encrypt_mail "$name-cofactor" "$cert" "$email" openssl -aes256 -keyopt ecdh_cofactor_mode:1 \
                -keyopt ecdh_kdf_md:sha384
            ;;
        esac
        encrypt_mail "$name-nss" "$cert" "$email" "$name"
    done
}
