/* mt_cert_info_from_der: key IDs, CA fields, dup, malformed DER. */
#include "testdata.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_USERS 32

static td_user users[MAX_USERS];
static size_t n_users;

static int setup(void **state)
{
    (void)state;
    n_users = td_users(users, MAX_USERS);
    return 0;
}

static mt_cert_info *info_of(const char *pem_path)
{
    mt_parsed *parsed = NULL;
    assert_int_equal(mt_cert_parse_file(pem_path, NULL, &parsed), MT_OK);
    mt_cert_info *info = mt_cert_info_dup(parsed->entries[0].cert);
    assert_non_null(info);
    mt_parsed_free(parsed);
    return info;
}

static void hex(const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", data[i]);
}

/* SHA-1 of the public value computed by openssl's own tools. */
static void test_key_id_matches_openssl(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_users; i++) {
        const td_user *u = &users[i];
        char command[1024], expected[128], got[41];
        if (strncmp(u->key, "rsa", 3) == 0)
            snprintf(command, sizeof(command),
                     "openssl x509 -in '%s' -noout -modulus | cut -d= -f2 | xxd -r -p | "
                     "openssl sha1 -r | cut -d' ' -f1", u->crt);
        else /* EC: the uncompressed point ends the SPKI; Ed25519: the raw key does */
            snprintf(command, sizeof(command),
                     "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER | "
                     "tail -c %d | openssl sha1 -r | cut -d' ' -f1", u->crt,
                     strcmp(u->key, "ec-p256") == 0 ? 65 : strcmp(u->key, "ec-p384") == 0 ? 97 : 32);
        td_command_line(command, expected, sizeof(expected));
        mt_cert_info *info = info_of(u->crt);
        hex(info->key_id, MT_KEY_ID_LEN, got);
        if (strcmp(got, expected) != 0)
            fail_msg("%s: key_id %s, openssl %s", u->name, got, expected);
        mt_cert_info_free(info);
    }
}

static void test_ca_fields(void **state)
{
    (void)state;
    mt_parsed *parsed = NULL;
    assert_string_equal(users[0].name, "alice"); /* P12 with the chain sub + root */
    assert_int_equal(td_parse(users[0].p12, users[0].password, &parsed), MT_OK);
    assert_int_equal(parsed->entries[0].n_chain, 2);
    const mt_cert_info *sub = parsed->entries[0].chain[0];
    const mt_cert_info *root = parsed->entries[0].chain[1];
    assert_true(sub->is_ca);
    assert_false(sub->self_signed);
    assert_true(root->is_ca);
    assert_true(root->self_signed);
    assert_int_equal(root->key_usage, MT_KU_KEY_CERT_SIGN | MT_KU_CRL_SIGN);
    assert_int_equal(root->n_emails, 0);
    assert_string_equal(root->subject, root->issuer);
    assert_memory_equal(root->subject_der, root->issuer_der, root->subject_der_len);
    assert_memory_equal(sub->issuer_der, root->subject_der, root->subject_der_len);
    /* the algorithm, as messages name it */
    assert_string_equal(root->key_algorithm, "RSA");
    mt_parsed_free(parsed);
    for (size_t i = 0; i < n_users; i++) {
        mt_cert_info *info = info_of(users[i].crt);
        const char *want = strncmp(users[i].key, "rsa", 3) == 0  ? "RSA"
                           : strncmp(users[i].key, "ec-", 3) == 0 ? "EC"
                                                                   : "ED25519";
        if (strcmp(info->key_algorithm, want) != 0)
            fail_msg("%s: key_algorithm %s, expected %s", users[i].name, info->key_algorithm, want);
        mt_cert_info_free(info);
    }
}

static void test_dup_is_deep(void **state)
{
    (void)state;
    mt_cert_info *a = info_of(users[0].crt);
    mt_cert_info *b = mt_cert_info_dup(a);
    assert_non_null(b);
    assert_ptr_not_equal(a->der, b->der);
    assert_memory_equal(a->der, b->der, a->der_len);
    assert_string_equal(a->subject, b->subject);
    assert_memory_equal(a->sha256, b->sha256, 32);
    assert_memory_equal(a->key_id, b->key_id, MT_KEY_ID_LEN);
    assert_int_equal(a->n_emails, b->n_emails);
    mt_cert_info_free(a);
    assert_string_equal(b->emails[0], users[0].email); /* b survives a */
    mt_cert_info_free(b);
    assert_null(mt_cert_info_dup(NULL));
    mt_cert_info_free(NULL);
}

static void test_malformed_der(void **state)
{
    (void)state;
    mt_cert_info *info = NULL, *good = info_of(users[0].crt);
    static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(mt_cert_info_from_der(garbage, sizeof(garbage), &info), MT_ERR_INVALID);
    assert_null(info);
    assert_int_equal(mt_cert_info_from_der(good->der, good->der_len - 1, &info), MT_ERR_INVALID);
    uint8_t *longer = malloc(good->der_len + 1);
    memcpy(longer, good->der, good->der_len);
    longer[good->der_len] = 0;
    assert_int_equal(mt_cert_info_from_der(longer, good->der_len + 1, &info), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "trailing bytes"));
    assert_int_equal(mt_cert_info_from_der(longer, 0, &info), MT_ERR_INVALID);
    assert_int_equal(mt_cert_info_from_der(NULL, 10, &info), MT_ERR_INVALID);
    free(longer);
    mt_cert_info_free(good);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(mt_key_type_name(MT_KEY_RSA), "rsa");
    assert_string_equal(mt_key_type_name(MT_KEY_EC), "ec");
    assert_string_equal(mt_key_type_name(MT_KEY_ED25519), "ed25519");
    assert_string_equal(mt_key_type_name(MT_KEY_ED448), "ed448");
    assert_string_equal(mt_key_type_name(MT_KEY_X25519), "x25519");
    assert_string_equal(mt_key_type_name(MT_KEY_X448), "x448");
    assert_string_equal(mt_key_type_name(MT_KEY_NONE), "none");
    assert_string_equal(mt_key_type_name((mt_key_type)99), "other");
}

static void test_fingerprint_text(void **state)
{
    (void)state;
    uint8_t bytes[32], parsed[32];
    char text[65], colons[128];
    for (int i = 0; i < 32; i++)
        bytes[i] = (uint8_t)(i * 7 + 3);
    mt_fingerprint_hex(bytes, text);
    assert_int_equal(strlen(text), 64);
    assert_int_equal(mt_fingerprint_parse(text, parsed), MT_OK);
    assert_memory_equal(parsed, bytes, 32);
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (size_t)sprintf(colons + n, i ? ":%02X" : "%02X", bytes[i]);
    assert_int_equal(mt_fingerprint_parse(colons, parsed), MT_OK);
    assert_memory_equal(parsed, bytes, 32);
    assert_int_equal(mt_fingerprint_parse("abcd", parsed), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "abcd"));
    text[10] = 'g';
    assert_int_equal(mt_fingerprint_parse(text, parsed), MT_ERR_INVALID);
    strcat(colons, "00");
    assert_int_equal(mt_fingerprint_parse(colons, parsed), MT_ERR_INVALID);
    assert_int_equal(mt_fingerprint_parse(":ab", parsed), MT_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id_matches_openssl), cmocka_unit_test(test_ca_fields),
        cmocka_unit_test(test_dup_is_deep),            cmocka_unit_test(test_malformed_der),
        cmocka_unit_test(test_names),                  cmocka_unit_test(test_fingerprint_text),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
