/* mt_cert_parse on every generated user and every bad file. */
#include "testdata.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#define MAX_USERS 32

static td_user users[MAX_USERS];
static size_t n_users;

/* What `openssl x509` says about each user's certificate (computed once). */
typedef struct openssl_view {
    char serial[160];
    char sha256[160];
} openssl_view;
static openssl_view views[MAX_USERS];

static void openssl_field(const char *crt, const char *option, char *out, size_t size);

static int setup(void **state)
{
    (void)state;
    n_users = td_users(users, MAX_USERS);
    for (size_t i = 0; i < n_users; i++) {
        openssl_field(users[i].crt, "-serial", views[i].serial, sizeof(views[i].serial));
        openssl_field(users[i].crt, "-fingerprint -sha256", views[i].sha256,
                      sizeof(views[i].sha256));
    }
    return mt_library_init() == MT_OK ? 0 : -1;
}

static bool has_email(const mt_cert_info *info, const char *email)
{
    for (size_t i = 0; i < info->n_emails; i++)
        if (strcmp(info->emails[i], email) == 0)
            return true;
    return false;
}

/* Serial and SHA-256 as `openssl x509` prints them, lower-case, no colons. */
static void openssl_field(const char *crt, const char *option, char *out, size_t size)
{
    char command[512], line[256];
    snprintf(command, sizeof(command), "openssl x509 -in '%s' -noout %s", crt, option);
    td_command_line(command, line, sizeof(line));
    const char *value = strchr(line, '=');
    assert_non_null(value);
    size_t n = 0;
    for (const char *p = value + 1; *p && n + 1 < size; p++)
        if (*p != ':')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

static void check_key_spec(const mt_cert_info *info, const char *spec)
{
    if (strncmp(spec, "rsa", 3) == 0) {
        assert_int_equal(info->key_type, MT_KEY_RSA);
        assert_int_equal(info->key_bits, (unsigned)atoi(spec + 3));
        assert_null(info->curve);
    } else if (strcmp(spec, "ec-p256") == 0 || strcmp(spec, "ec-p384") == 0) {
        assert_int_equal(info->key_type, MT_KEY_EC);
        assert_string_equal(info->curve, strcmp(spec, "ec-p256") == 0 ? "P-256" : "P-384");
        assert_int_equal(info->key_bits, strcmp(spec, "ec-p256") == 0 ? 256 : 384);
    } else {
        assert_string_equal(spec, "ed25519");
        assert_int_equal(info->key_type, MT_KEY_ED25519);
    }
}

/* The exported PKCS#8 is the key of the certificate. */
static void check_pkcs8_matches(const mt_parsed_entry *entry)
{
    const unsigned char *p = entry->pkcs8->data;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)entry->pkcs8->len);
    assert_non_null(key);
    assert_ptr_equal(p, entry->pkcs8->data + entry->pkcs8->len);
    p = entry->cert->der;
    X509 *cert = d2i_X509(NULL, &p, (long)entry->cert->der_len);
    assert_non_null(cert);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void check_common_fields(const td_user *u, const mt_cert_info *info)
{
    char hex[65];
    const openssl_view *view = &views[u - users];
    assert_true(has_email(info, u->email));
    check_key_spec(info, u->key);
    /* openssl prints an even number of digits; serial_hex has no leading zero */
    const char *trimmed = view->serial;
    while (trimmed[0] == '0' && trimmed[1])
        trimmed++;
    assert_string_equal(info->serial_hex, trimmed);
    assert_int_equal(info->serial_der[0], 0x02);
    mt_fingerprint_hex(info->sha256, hex);
    assert_string_equal(hex, view->sha256);
    assert_non_null(strstr(info->issuer, "CN=mailtoken Test S/MIME CA"));
    assert_true(info->not_before < info->not_after);
    assert_false(info->is_ca);
    assert_false(info->self_signed);
    assert_true(info->spki_len > 0 && info->spki[0] == 0x30);
    assert_true(info->subject_der_len > 0 && info->issuer_der_len > 0);
}

static void test_every_user_p12(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_users; i++) {
        const td_user *u = &users[i];
        mt_parsed *parsed = NULL;
        if (!u->p12[0])
            continue;
        mt_status st = td_parse(u->p12, u->password, &parsed);
        if (st != MT_OK)
            fail_msg("%s: %s", u->name, mt_errmsg());
        assert_int_equal(parsed->format, MT_FORMAT_P12);
        assert_int_equal(parsed->n_entries, 1);
        const mt_parsed_entry *entry = &parsed->entries[0];
        check_common_fields(u, entry->cert);
        assert_int_equal(entry->n_chain, u->chain[0] ? 2 : 0);
        if (u->chain[0]) {
            assert_string_equal(entry->chain[0]->subject, "CN=mailtoken Test S/MIME CA,O=mailtoken Test");
            assert_true(entry->chain[1]->self_signed && entry->chain[1]->is_ca);
        }
        assert_non_null(entry->friendly_name);
        /* the users the test data makes odd on purpose say why, in one warning */
        static const struct {
            const char *name, *warning;
        } odd[] = {{"ed", "not usable through PKCS#11"},
                   {"frank", "expired on"},
                   {"grace", "without emailProtection"}};
        const char *expected = NULL;
        for (size_t k = 0; k < sizeof(odd) / sizeof(*odd); k++)
            if (strcmp(u->name, odd[k].name) == 0)
                expected = odd[k].warning;
        assert_int_equal(parsed->n_warnings, expected ? 1 : 0);
        if (expected && !strstr(parsed->warnings[0], expected))
            fail_msg("%s: warning \"%s\" lacks \"%s\"", u->name, parsed->warnings[0], expected);
        if (strcmp(u->key, "ed25519") == 0) {
            assert_null(entry->pkcs8); /* certificate only */
        } else {
            assert_non_null(entry->pkcs8);
            check_pkcs8_matches(entry);
        }
        mt_parsed_free(parsed);
    }
}

static void test_every_user_pem(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_users; i++) {
        mt_parsed *parsed = NULL;
        assert_int_equal(td_parse(users[i].crt, NULL, &parsed), MT_OK);
        assert_int_equal(parsed->format, MT_FORMAT_PEM);
        assert_int_equal(parsed->n_entries, 1);
        assert_null(parsed->entries[0].pkcs8);
        check_common_fields(&users[i], parsed->entries[0].cert);
        mt_parsed_free(parsed);
    }
}

static void test_field_details(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(td_user_named(users, n_users, "alice")->crt, NULL, &parsed), MT_OK);
    const mt_cert_info *alice = parsed->entries[0].cert;
    assert_int_equal(alice->n_emails, 1);
    assert_true(alice->has_key_usage);
    assert_int_equal(alice->key_usage, MT_KU_DIGITAL_SIGNATURE | MT_KU_NON_REPUDIATION |
                                           MT_KU_KEY_ENCIPHERMENT);
    assert_true(alice->email_protection);
    assert_string_equal(alice->subject, "CN=Alice Example,O=mailtoken Test");
    mt_parsed_free(parsed);

    assert_int_equal(td_parse(td_user_named(users, n_users, "grace")->crt, NULL, &parsed), MT_OK);
    assert_false(parsed->entries[0].cert->email_protection);
    mt_parsed_free(parsed);

    assert_int_equal(td_parse(td_user_named(users, n_users, "frank")->crt, NULL, &parsed), MT_OK);
    assert_true(parsed->entries[0].cert->not_after < (int64_t)time(NULL));
    mt_parsed_free(parsed);

    /* oscar: no subjectAltName, the address comes from the subject */
    assert_int_equal(td_parse(td_user_named(users, n_users, "oscar")->crt, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->entries[0].cert->n_emails, 1);
    assert_string_equal(parsed->entries[0].cert->emails[0], "oscar@example.org");
    mt_parsed_free(parsed);

    assert_int_equal(td_parse(td_user_named(users, n_users, "carol")->crt, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->entries[0].cert->key_usage,
                     MT_KU_DIGITAL_SIGNATURE | MT_KU_NON_REPUDIATION | MT_KU_KEY_AGREEMENT);
    mt_parsed_free(parsed);
}

static void test_empty_and_no_password(void **state)
{
    (void)state;
    static const char *const names[] = {"heidi", "ivan"};
    mt_parsed *parsed = NULL;
    for (size_t i = 0; i < 2; i++) {
        const char *p12 = td_user_named(users, n_users, names[i])->p12;
        assert_int_equal(mt_cert_parse_file(p12, NULL, &parsed), MT_OK);
        assert_non_null(parsed->entries[0].pkcs8);
        mt_parsed_free(parsed);
        mt_secret *empty = NULL;
        assert_int_equal(mt_secret_from("", 0, &empty), MT_OK);
        assert_int_equal(mt_cert_parse_file(p12, empty, &parsed), MT_OK);
        assert_non_null(parsed->entries[0].pkcs8);
        mt_parsed_free(parsed);
        mt_secret_free(empty);
    }
    /* heidi's file is protected: a real password is wrong */
    mt_secret *wrong = NULL;
    assert_int_equal(mt_secret_from("nope", 4, &wrong), MT_OK);
    assert_int_equal(mt_cert_parse_file(td_user_named(users, n_users, "heidi")->p12, wrong, &parsed),
                     MT_ERR_PASSWORD);
    mt_secret_free(wrong);
}

static void test_wrong_password(void **state)
{
    (void)state;
    static const char *const names[] = {"alice", "erin", "carol"};
    for (size_t i = 0; i < 3; i++) {
        const td_user *u = td_user_named(users, n_users, names[i]);
        mt_secret *wrong = NULL;
        mt_parsed *parsed = NULL;
        assert_int_equal(mt_secret_from("not-the-password", 16, &wrong), MT_OK);
        assert_int_equal(mt_cert_parse_file(u->p12, wrong, &parsed), MT_ERR_PASSWORD);
        assert_null(parsed);
        assert_non_null(strstr(mt_errmsg(), u->p12));
        assert_non_null(strstr(mt_errmsg(), "wrong password"));
        assert_null(strstr(mt_errmsg(), "not-the-password"));
        assert_int_equal(mt_cert_parse_file(u->p12, NULL, &parsed), MT_ERR_PASSWORD);
        mt_secret_free(wrong);
    }
}

typedef struct bad_case {
    const char *file;
    mt_status status;
    const char *message; /* a part of the message after the file name */
} bad_case;

static void test_bad_files(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"bad/empty.p12", MT_ERR_INVALID, "empty file"},
        {"bad/truncated.p12", MT_ERR_INVALID, "corrupt or truncated"},
        {"bad/garbage.p12", MT_ERR_INVALID, "not a PKCS#12, PEM, PKCS#7 or DER"},
        {"bad/mismatch.p12", MT_ERR_INVALID, "does not match its certificate"},
        {"bad/big.p12", MT_ERR_TOO_LARGE, "over the 4194304-byte limit"},
        {"bad/badname.p12", MT_ERR_INVALID, "friendly name is not valid UTF-8"},
        {"bad/pbmac1.p12", MT_ERR_UNSUPPORTED, "PBMAC1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[4096], pass[4096];
        snprintf(path, sizeof(path), "%s", td_path(cases[i].file));
        snprintf(pass, sizeof(pass), "%.*s.pass", (int)(strlen(path) - 4), path);
        mt_parsed *parsed = NULL;
        mt_status st = td_parse(path, pass, &parsed);
        if (st != cases[i].status || !strstr(mt_errmsg(), path) ||
            !strstr(mt_errmsg(), cases[i].message))
            fail_msg("%s: got %s \"%s\"", cases[i].file, mt_status_name(st), mt_errmsg());
        assert_null(parsed);
        assert_null(strstr(mt_errmsg(), "wrong password"));
    }
}

static void test_armoured_p12(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(td_path("bad/armoured.p12"), td_path("bad/armoured.pass"), &parsed),
                     MT_OK);
    assert_int_equal(parsed->format, MT_FORMAT_P12);
    assert_int_equal(parsed->n_entries, 1);
    assert_string_equal(parsed->entries[0].cert->emails[0], "alice@example.org");
    assert_non_null(parsed->entries[0].pkcs8);
    assert_int_equal(parsed->entries[0].n_chain, 2);
    mt_parsed_free(parsed);
}

static void test_multikey(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(td_path("bad/multikey.p12"), td_path("bad/multikey.pass"), &parsed),
                     MT_OK);
    assert_int_equal(parsed->n_entries, 3);
    assert_string_equal(parsed->entries[0].cert->emails[0], "alice@example.org");
    assert_string_equal(parsed->entries[0].friendly_name, "first");
    assert_string_equal(parsed->entries[1].cert->emails[0], "carol@example.org");
    assert_string_equal(parsed->entries[1].friendly_name, "second");
    for (size_t i = 0; i < 2; i++) {
        assert_non_null(parsed->entries[i].pkcs8);
        check_pkcs8_matches(&parsed->entries[i]);
    }
    /* bob's certificate came without its key: imported public-only, said so */
    assert_string_equal(parsed->entries[2].cert->emails[0], "bob@example.org");
    assert_null(parsed->entries[2].pkcs8);
    assert_int_equal(parsed->n_warnings, 2);
    assert_non_null(strstr(parsed->warnings[0], "\"orphan key\" matches no certificate"));
    assert_non_null(strstr(parsed->warnings[1], "CN=Bob Example"));
    assert_non_null(strstr(parsed->warnings[1], "holds none for it"));
    assert_int_equal(parsed->n_skipped, 0);
    mt_parsed_free(parsed);
}

static void test_pem_bundle_and_der(void **state)
{
    (void)state;
    char command[1024];
    char dir[] = "/tmp/mt-crypto-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const td_user *dave = td_user_named(users, n_users, "dave");
    snprintf(command, sizeof(command),
             "cat '%s' '%s' '%s' > %s/bundle.pem && openssl x509 -in '%s' -outform DER -out "
             "%s/dave.der && echo ok",
             td_path("ca/root.crt"), dave->crt, td_path("ca/sub.crt"), dir, dave->crt, dir);
    char line[16];
    td_command_line(command, line, sizeof(line));
    assert_string_equal(line, "ok");

    mt_parsed *parsed = NULL;
    snprintf(command, sizeof(command), "%s/bundle.pem", dir);
    assert_int_equal(mt_cert_parse_file(command, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->n_entries, 1);
    assert_int_equal(parsed->entries[0].n_chain, 2);
    assert_true(strstr(parsed->entries[0].chain[0]->subject, "S/MIME CA") != NULL);
    assert_true(parsed->entries[0].chain[1]->self_signed);
    mt_parsed_free(parsed);

    snprintf(command, sizeof(command), "%s/dave.der", dir);
    assert_int_equal(mt_cert_parse_file(command, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->format, MT_FORMAT_DER);
    assert_int_equal(parsed->n_entries, 1);
    check_common_fields(dave, parsed->entries[0].cert);
    mt_parsed_free(parsed);

    /* a private key in a PEM file is paired with its certificate */
    snprintf(command, sizeof(command), "cat '%s' '%s' > %s/with-key.pem && echo ok",
             td_path("users/carol.key"), td_user_named(users, n_users, "carol")->crt, dir);
    td_command_line(command, line, sizeof(line));
    assert_string_equal(line, "ok");
    snprintf(command, sizeof(command), "%s/with-key.pem", dir);
    assert_int_equal(mt_cert_parse_file(command, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->format, MT_FORMAT_PEM);
    assert_int_equal(parsed->n_entries, 1);
    assert_non_null(parsed->entries[0].pkcs8);
    check_pkcs8_matches(&parsed->entries[0]);
    assert_int_equal(parsed->n_warnings, 0);
    mt_parsed_free(parsed);

    snprintf(command, sizeof(command), "rm -rf '%s' && echo ok", dir);
    td_command_line(command, line, sizeof(line));
}

static void test_ca_certificate_fields(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    /* CA certificates alone: authority entries, each with its chain in the file. */
    assert_int_equal(td_parse(td_path("ca/bundle.crt"), NULL, &parsed), MT_OK);
    assert_int_equal(parsed->n_entries, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(parsed->entries[i].authority);
        assert_true(parsed->entries[i].cert->is_ca);
        assert_null(parsed->entries[i].pkcs8);
        assert_non_null(strstr(parsed->warnings[i], "stored as an authority certificate"));
    }
    assert_int_equal(parsed->entries[0].n_chain, 1); /* the sub CA, issued by the root */
    assert_true(parsed->entries[1].cert->self_signed);
    mt_parsed_free(parsed);
}

/* A certificate without an email: an entry with a warning; its P12 key is
 * not kept (no token to seal it to). */
static void test_no_email(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(td_path("bad/noemail.crt"), NULL, &parsed), MT_OK);
    assert_int_equal(parsed->n_entries, 1);
    assert_int_equal(parsed->entries[0].cert->n_emails, 0);
    assert_false(parsed->entries[0].authority);
    assert_non_null(strstr(parsed->warnings[0], "names no email address"));
    mt_parsed_free(parsed);
    assert_int_equal(td_parse(td_path("bad/noemail.p12"), td_path("bad/noemail.pass"), &parsed),
                     MT_OK);
    assert_int_equal(parsed->n_entries, 1);
    assert_null(parsed->entries[0].pkcs8);
    assert_non_null(strstr(parsed->warnings[0], "its private key was not stored"));
    mt_parsed_free(parsed);
}

static void test_detect_format(void **state)
{
    (void)state;
    static const uint8_t p12_start[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03};
    static const uint8_t der_start[] = {0x30, 0x82, 0x01, 0x00, 0x30, 0x82};
    /* BER, as NSS writes PKCS#12: indefinite lengths */
    static const uint8_t ber_p12[] = {0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x80};
    static const uint8_t p7b[] = {0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86,
                                  0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0};
    static const char p7_pem[] = "-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n";
    assert_int_equal(mt_cert_detect_format(ber_p12, sizeof(ber_p12)), MT_FORMAT_P12);
    assert_int_equal(mt_cert_detect_format(ber_p12, 4), MT_FORMAT_P12); /* truncated */
    assert_int_equal(mt_cert_detect_format(p7b, sizeof(p7b)), MT_FORMAT_PKCS7);
    assert_int_equal(mt_cert_detect_format((const uint8_t *)p7_pem, strlen(p7_pem)),
                     MT_FORMAT_PKCS7);
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    static const char armoured[] = "-----BEGIN PKCS12-----\nMIIB\n-----END PKCS12-----\n";
    assert_int_equal(mt_cert_detect_format(p12_start, sizeof(p12_start)), MT_FORMAT_P12);
    assert_int_equal(mt_cert_detect_format(der_start, sizeof(der_start)), MT_FORMAT_DER);
    assert_int_equal(mt_cert_detect_format((const uint8_t *)pem, strlen(pem)), MT_FORMAT_PEM);
    assert_int_equal(mt_cert_detect_format((const uint8_t *)armoured, strlen(armoured)),
                     MT_FORMAT_P12);
    assert_int_equal(mt_cert_detect_format((const uint8_t *)"hello", 5), MT_FORMAT_UNKNOWN);
    assert_int_equal(mt_cert_detect_format(NULL, 0), MT_FORMAT_UNKNOWN);
}

static void test_parse_arguments(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_int_equal(mt_cert_parse((const uint8_t *)"x", 1, "x.p12", NULL, 3, &parsed),
                     MT_ERR_INVALID);
    assert_int_equal(mt_cert_parse((const uint8_t *)"x", 1, "x.p12", NULL, 0, NULL),
                     MT_ERR_INVALID);
    assert_int_equal(mt_cert_parse_file("/nonexistent/x.p12", NULL, &parsed), MT_ERR_IO);
    assert_non_null(strstr(mt_errmsg(), "/nonexistent/x.p12"));
    mt_parsed_free(NULL);
}

/* Writes the output of a shell command line into dir/name (fails the test otherwise). */
static const char *make_file(const char *dir, const char *name, const char *script)
{
    static char path[512];
    char command[4096], line[16];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(command, sizeof(command), "( %s ) > '%s' 2>/dev/null && echo ok", script, path);
    td_command_line(command, line, sizeof(line));
    if (strcmp(line, "ok") != 0)
        fail_msg("cannot make %s: %s", name, script);
    return path;
}

/* All four PEM key blocks, clear and encrypted, paired by public key. */
static void test_pem_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/mt-pemkeys-XXXXXX", script[2048], pw_file[600];
    assert_non_null(mkdtemp(dir));
    snprintf(pw_file, sizeof(pw_file), "%s/pw", dir);
    make_file(dir, "pw", "printf 'pem-secret-1'");
    assert_int_equal(chmod(pw_file, 0600), 0); /* a password file others may read is refused */
    static const struct {
        const char *user, *name, *convert;
        bool encrypted;
    } cases[] = {
        {"bob", "p8.pem", "cat KEY", false},
        {"alice", "rsa.pem", "openssl rsa -in KEY -traditional", false},
        {"carol", "ec.pem", "openssl ec -in KEY", false},
        {"dave", "enc-p8.pem", "openssl pkcs8 -topk8 -in KEY -v2 aes-256-cbc -passout file:PW",
         true},
        {"judy", "enc-ec.pem", "openssl ec -in KEY -aes256 -passout file:PW", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const td_user *u = td_user_named(users, n_users, cases[i].user);
        char convert[512], key[300];
        snprintf(key, sizeof(key), "users/%s.key", u->name);
        /* KEY and PW stand for the key file and the password file */
        const char *k = strstr(cases[i].convert, "KEY"), *p = strstr(cases[i].convert, "PW");
        int n = snprintf(convert, sizeof(convert), "%.*s'%s'%.*s", (int)(k - cases[i].convert),
                         cases[i].convert, td_path(key), p ? (int)(p - k - 3) : (int)strlen(k + 3),
                         k + 3);
        if (p)
            snprintf(convert + n, sizeof(convert) - (size_t)n, "'%s'", pw_file);
        snprintf(script, sizeof(script), "cat '%s'; %s", u->crt, convert);
        const char *path = make_file(dir, cases[i].name, script);
        mt_parsed *parsed = NULL;
        if (cases[i].encrypted) {
            /* no password: said to be needed; a wrong one: wrong password */
            assert_int_equal(mt_cert_parse_file(path, NULL, &parsed), MT_ERR_PASSWORD);
            assert_non_null(strstr(mt_errmsg(), "a password is needed"));
            assert_int_equal(td_parse(path, td_path("users/alice.pass"), &parsed), MT_ERR_PASSWORD);
            assert_non_null(strstr(mt_errmsg(), "wrong password"));
        }
        mt_status st = td_parse(path, cases[i].encrypted ? pw_file : NULL, &parsed);
        if (st != MT_OK)
            fail_msg("%s: %s", cases[i].name, mt_errmsg());
        assert_int_equal(parsed->n_entries, 1);
        assert_non_null(parsed->entries[0].pkcs8);
        check_pkcs8_matches(&parsed->entries[0]);
        mt_parsed_free(parsed);
    }
    /* a key of another certificate: named by its block */
    snprintf(script, sizeof(script), "cat '%s' '%s'", td_user_named(users, n_users, "alice")->crt,
             td_path("users/bob.key"));
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(make_file(dir, "mismatch.pem", script), NULL, &parsed),
                     MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "PEM block 2 (PRIVATE KEY) does not match"));
    /* a key with certificates of others: matches none of them */
    snprintf(script, sizeof(script), "cat '%s' '%s' '%s' '%s'", td_path("users/alice.key"),
             td_user_named(users, n_users, "alice")->crt, td_user_named(users, n_users, "bob")->crt,
             td_path("users/carol.key"));
    assert_int_equal(td_parse(make_file(dir, "extra.pem", script), NULL, &parsed), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "PEM block 4 (PRIVATE KEY) matches no certificate"));
    snprintf(script, sizeof(script), "rm -rf '%s' && echo ok", dir);
    char line[16];
    td_command_line(script, line, sizeof(line));
}

/* Re-encrypts the key bag of a P12 over bytes that do not decode, and signs
 * the result with the right password: the MAC verifies, the key is corrupt. */
static void corrupt_key_bag(const char *in, const char *password, const char *out)
{
    FILE *f = fopen(in, "rb");
    assert_non_null(f);
    PKCS12 *p12 = d2i_PKCS12_fp(f, NULL);
    fclose(f);
    assert_non_null(p12);
    STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
    assert_non_null(safes);
    bool done = false;
    for (int i = 0; i < sk_PKCS7_num(safes) && !done; i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        if (OBJ_obj2nid(p7->type) != NID_pkcs7_data)
            continue;
        STACK_OF(PKCS12_SAFEBAG) *bags = PKCS12_unpack_p7data(p7);
        for (int b = 0; bags && b < sk_PKCS12_SAFEBAG_num(bags); b++) {
            PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, b);
            if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag)
                continue;
            /* the first encrypted block: its plaintext (the key's DER header) turns to noise */
            const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
            const ASN1_OCTET_STRING *digest = NULL;
            X509_SIG_get0(sig, NULL, &digest);
            ((ASN1_OCTET_STRING *)digest)->data[0] ^= 0x41;
            done = true;
        }
        if (done) {
            PKCS7 *repacked = PKCS12_pack_p7data(bags);
            assert_non_null(repacked);
            assert_non_null(sk_PKCS7_set(safes, i, repacked));
            PKCS7_free(p7);
        }
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
    assert_true(done);
    assert_int_equal(PKCS12_pack_authsafes(p12, safes), 1);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    assert_int_equal(PKCS12_set_mac(p12, password, -1, NULL, 0, 2048, EVP_sha256()), 1);
    f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(i2d_PKCS12_fp(f, p12), 1);
    fclose(f);
    PKCS12_free(p12);
}

static void test_corrupt_behind_password(void **state)
{
    (void)state;
    char dir[] = "/tmp/mt-corrupt-XXXXXX", path[600], command[700], line[16];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/corrupt.p12", dir);
    const td_user *alice = td_user_named(users, n_users, "alice");
    mt_secret *pw = td_password(alice->password);
    corrupt_key_bag(alice->p12, (const char *)pw->data, path);
    mt_parsed *parsed = NULL;
    assert_int_equal(td_parse(path, alice->password, &parsed), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "corrupt or truncated"));
    assert_null(strstr(mt_errmsg(), "wrong password"));
    /* and a wrong password is still a wrong password */
    assert_int_equal(td_parse(path, td_path("users/bob.pass"), &parsed), MT_ERR_PASSWORD);
    mt_secret_free(pw);
    snprintf(command, sizeof(command), "rm -rf '%s' && echo ok", dir);
    td_command_line(command, line, sizeof(line));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_user_p12),     cmocka_unit_test(test_every_user_pem),
        cmocka_unit_test(test_field_details),      cmocka_unit_test(test_empty_and_no_password),
        cmocka_unit_test(test_wrong_password),     cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_armoured_p12),       cmocka_unit_test(test_multikey),
        cmocka_unit_test(test_pem_bundle_and_der), cmocka_unit_test(test_ca_certificate_fields),
        cmocka_unit_test(test_detect_format),      cmocka_unit_test(test_parse_arguments),
        cmocka_unit_test(test_no_email),           cmocka_unit_test(test_pem_keys),
        cmocka_unit_test(test_corrupt_behind_password),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
