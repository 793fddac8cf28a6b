/* mt_cert_parse on every generated user and every bad file. */
#include "testdata.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        if (strcmp(u->key, "ed25519") == 0) {
            assert_null(entry->pkcs8); /* certificate only, with a warning */
            assert_int_equal(parsed->n_warnings, 1);
            assert_non_null(strstr(parsed->warnings[0], "not usable for signing"));
        } else {
            assert_non_null(entry->pkcs8);
            check_pkcs8_matches(entry);
            assert_int_equal(parsed->n_warnings, 0);
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
        {"bad/truncated.p12", MT_ERR_INVALID, "truncated or corrupt"},
        {"bad/garbage.p12", MT_ERR_INVALID, "not a PKCS#12, PEM or DER"},
        {"bad/mismatch.p12", MT_ERR_INVALID, "does not match its certificate"},
        {"bad/noemail.crt", MT_ERR_INVALID, "names no email address"},
        {"bad/noemail.p12", MT_ERR_INVALID, "names no email address"},
        {"bad/big.p12", MT_ERR_TOO_LARGE, "over the 4194304-byte limit"},
        {"bad/badname.p12", MT_ERR_INVALID, "friendly name is not valid UTF-8"},
        {"bad/pbmac1.p12", MT_ERR_UNSUPPORTED, "PBMAC1"},
        {"ca/bundle.crt", MT_ERR_INVALID, "no end-entity certificate"},
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
    assert_int_equal(parsed->n_entries, 2);
    assert_string_equal(parsed->entries[0].cert->emails[0], "alice@example.org");
    assert_string_equal(parsed->entries[0].friendly_name, "first");
    assert_string_equal(parsed->entries[1].cert->emails[0], "carol@example.org");
    assert_string_equal(parsed->entries[1].friendly_name, "second");
    for (size_t i = 0; i < 2; i++) {
        assert_non_null(parsed->entries[i].pkcs8);
        check_pkcs8_matches(&parsed->entries[i]);
    }
    /* the orphan key and bob's key-less certificate are named in warnings */
    assert_int_equal(parsed->n_warnings, 2);
    assert_non_null(strstr(parsed->warnings[0], "\"orphan key\" matches no certificate"));
    assert_non_null(strstr(parsed->warnings[1], "CN=Bob Example"));
    assert_non_null(strstr(parsed->warnings[1], "has no private key"));
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

    /* a private key in a PEM file is not imported: skipped with a warning */
    snprintf(command, sizeof(command), "cat '%s' '%s' > %s/with-key.pem && echo ok",
             td_user_named(users, n_users, "carol")->crt,
             td_path("users/carol.key"), dir);
    td_command_line(command, line, sizeof(line));
    assert_string_equal(line, "ok");
    snprintf(command, sizeof(command), "%s/with-key.pem", dir);
    assert_int_equal(mt_cert_parse_file(command, NULL, &parsed), MT_OK);
    assert_int_equal(parsed->n_entries, 1);
    assert_null(parsed->entries[0].pkcs8);
    assert_int_equal(parsed->n_warnings, 1);
    assert_non_null(strstr(parsed->warnings[0], "PEM block \"PRIVATE KEY\" ignored"));
    mt_parsed_free(parsed);

    snprintf(command, sizeof(command), "rm -rf '%s' && echo ok", dir);
    td_command_line(command, line, sizeof(line));
}

static void test_ca_certificate_fields(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    /* A lone CA certificate parses; it fails only for want of an email. */
    assert_int_equal(td_parse(td_path("ca/root.crt"), NULL, &parsed), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "names no email address"));
}

static void test_detect_format(void **state)
{
    (void)state;
    static const uint8_t p12_start[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03};
    static const uint8_t der_start[] = {0x30, 0x82, 0x01, 0x00, 0x30, 0x82};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_user_p12),     cmocka_unit_test(test_every_user_pem),
        cmocka_unit_test(test_field_details),      cmocka_unit_test(test_empty_and_no_password),
        cmocka_unit_test(test_wrong_password),     cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_armoured_p12),       cmocka_unit_test(test_multikey),
        cmocka_unit_test(test_pem_bundle_and_der), cmocka_unit_test(test_ca_certificate_fields),
        cmocka_unit_test(test_detect_format),      cmocka_unit_test(test_parse_arguments),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
