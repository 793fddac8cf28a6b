/* C_GetAttributeValue exactly per the specification, and the attributes
 * clients rely on (NSS, libp11, pkcs11-provider, GnuTLS). */
#include "support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const users[] = {"alice-old", "alice", "carol", "partner"};
static CK_SESSION_HANDLE s;

static int setup(void **state)
{
    (void)state;
    test_load_module();
    test_make_store(users, sizeof(users) / sizeof(users[0]));
    test_init();
    s = test_session("alice@example.org", 1);
    return 0;
}

static size_t cert_der(const char *user, uint8_t **der)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    FILE *f = fopen(test_data(rel), "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    assert_true(len > 0);
    return (size_t)len;
}

static CK_ULONG get_ulong(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG value = 0;
    CK_ATTRIBUTE a = {type, &value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(s, o, &a, 1), CKR_OK);
    return value;
}

static CK_BBOOL get_bool(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL value = 0xff;
    CK_ATTRIBUTE a = {type, &value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(s, o, &a, 1), CKR_OK);
    return value;
}

static size_t get_bytes(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, uint8_t *buf, size_t size)
{
    CK_ATTRIBUTE a = {type, buf, size};
    assert_int_equal(p11->C_GetAttributeValue(s, o, &a, 1), CKR_OK);
    return a.ulValueLen;
}

static void get_attribute_rules(void **state)
{
    (void)state;
    uint8_t *der = NULL, buf[4096];
    size_t der_len = cert_der("alice", &der);
    uint8_t id[20];
    test_primary_id(s, id);
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, id, 20);
    CK_OBJECT_HANDLE priv = test_find(s, CKO_PRIVATE_KEY, id, 20);
    assert_int_not_equal(priv, CK_INVALID_HANDLE);
    /* size query, then the value */
    CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
    assert_int_equal(p11->C_GetAttributeValue(s, cert, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, der_len);
    a.pValue = buf;
    a.ulValueLen = der_len - 1;
    assert_int_equal(p11->C_GetAttributeValue(s, cert, &a, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    a.ulValueLen = sizeof(buf);
    assert_int_equal(p11->C_GetAttributeValue(s, cert, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, der_len);
    assert_memory_equal(buf, der, der_len);
    /* every attribute of a template is handled, errors and all */
    CK_ULONG klass = 0;
    uint8_t label[64];
    CK_ATTRIBUTE many[] = {{CKA_CLASS, &klass, sizeof(klass)},
                           {CKA_MODULUS, buf, sizeof(buf)}, /* not a certificate attribute */
                           {CKA_LABEL, label, sizeof(label)},
                           {CKA_SUBJECT, NULL, 0}};
    assert_int_equal(p11->C_GetAttributeValue(s, cert, many, 4), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(klass, CKO_CERTIFICATE);
    assert_int_equal(many[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(many[2].ulValueLen, strlen("alice@example.org"));
    assert_memory_equal(label, "alice@example.org", many[2].ulValueLen);
    assert_true(many[3].ulValueLen > 10 && many[3].ulValueLen != CK_UNAVAILABLE_INFORMATION);
    /* a private key never shows its secret parts */
    CK_ATTRIBUTE secret[] = {{CKA_PRIVATE_EXPONENT, buf, sizeof(buf)}, {CKA_MODULUS, buf, sizeof(buf)}};
    assert_int_equal(p11->C_GetAttributeValue(s, priv, secret, 2), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(secret[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(secret[1].ulValueLen, 256);
    CK_ATTRIBUTE value = {CKA_VALUE, NULL, 0};
    assert_int_equal(p11->C_GetAttributeValue(s, priv, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
    /* bad arguments and handles */
    assert_int_equal(p11->C_GetAttributeValue(s, cert, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetAttributeValue(s, 0, &a, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_GetAttributeValue(s, 0x7fffffff, &a, 1), CKR_OBJECT_HANDLE_INVALID);
    CK_ULONG size = 0;
    assert_int_equal(p11->C_GetObjectSize(s, cert, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetObjectSize(s, cert, &size), CKR_OK);
    free(der);
}

static void certificate_attributes(void **state)
{
    (void)state;
    uint8_t id[20], buf[4096], *der = NULL;
    size_t der_len = cert_der("alice", &der);
    test_primary_id(s, id);
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, id, 20);
    assert_int_equal(get_ulong(cert, CKA_CERTIFICATE_TYPE), CKC_X_509);
    assert_int_equal(get_ulong(cert, CKA_CERTIFICATE_CATEGORY), 1);
    assert_int_equal(get_bool(cert, CKA_TRUSTED), CK_FALSE);
    assert_int_equal(get_bool(cert, CKA_PRIVATE), CK_FALSE);
    assert_int_equal(get_bool(cert, CKA_TOKEN), CK_TRUE);
    assert_int_equal(get_bool(cert, CKA_MODIFIABLE), CK_FALSE);
    uint8_t sha1[20];
    SHA1(der, der_len, sha1);
    assert_int_equal(get_bytes(cert, CKA_CHECK_VALUE, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, sha1, 3);
    /* serial: the full DER INTEGER; issuer and serial find the certificate */
    size_t serial_len = get_bytes(cert, CKA_SERIAL_NUMBER, buf, sizeof(buf));
    assert_int_equal(buf[0], 0x02);
    uint8_t issuer[1024], serial[64];
    memcpy(serial, buf, serial_len);
    size_t issuer_len = get_bytes(cert, CKA_ISSUER, issuer, sizeof(issuer));
    CK_ATTRIBUTE by_is[] = {{CKA_ISSUER, issuer, issuer_len}, {CKA_SERIAL_NUMBER, serial, serial_len}};
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;
    assert_int_equal(p11->C_FindObjectsInit(s, by_is, 2), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, found, 4, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(found[0], cert);
    /* dates */
    CK_DATE end;
    assert_int_equal(get_bytes(cert, CKA_END_DATE, (uint8_t *)&end, sizeof(end)), sizeof(end));
    assert_true(end.year[0] == '2');
    /* certificate, public key and private key share CKA_ID and label */
    CK_OBJECT_HANDLE pub = test_find(s, CKO_PUBLIC_KEY, id, 20);
    CK_OBJECT_HANDLE priv = test_find(s, CKO_PRIVATE_KEY, id, 20);
    uint8_t l1[128], l2[128], l3[128];
    size_t n1 = get_bytes(cert, CKA_LABEL, l1, sizeof(l1));
    assert_int_equal(get_bytes(pub, CKA_LABEL, l2, sizeof(l2)), n1);
    assert_int_equal(get_bytes(priv, CKA_LABEL, l3, sizeof(l3)), n1);
    assert_memory_equal(l1, l2, n1);
    assert_memory_equal(l1, l3, n1);
    /* the chain: authority certificates */
    CK_ULONG cat = 2;
    CK_ATTRIBUTE by_cat = {CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat)};
    assert_int_equal(p11->C_FindObjectsInit(s, &by_cat, 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, found, 4, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(n, 2);
    free(der);
}

static void key_attributes(void **state)
{
    (void)state;
    uint8_t id[20], buf[4096], spki[1024];
    test_primary_id(s, id);
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, id, 20);
    CK_OBJECT_HANDLE pub = test_find(s, CKO_PUBLIC_KEY, id, 20);
    CK_OBJECT_HANDLE priv = test_find(s, CKO_PRIVATE_KEY, id, 20);
    size_t spki_len = get_bytes(cert, CKA_PUBLIC_KEY_INFO, spki, sizeof(spki));
    assert_int_equal(get_bytes(priv, CKA_PUBLIC_KEY_INFO, buf, sizeof(buf)), spki_len);
    assert_memory_equal(buf, spki, spki_len);
    assert_int_equal(get_ulong(priv, CKA_KEY_TYPE), CKK_RSA);
    assert_int_equal(get_bool(priv, CKA_SENSITIVE), CK_TRUE);
    assert_int_equal(get_bool(priv, CKA_EXTRACTABLE), CK_FALSE);
    assert_int_equal(get_bool(priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    assert_int_equal(get_bool(priv, CKA_ALWAYS_AUTHENTICATE), CK_FALSE);
    assert_int_equal(get_bool(priv, CKA_PRIVATE), CK_TRUE);
    assert_int_equal(get_bool(priv, CKA_SIGN), CK_TRUE);
    assert_int_equal(get_bool(priv, CKA_DECRYPT), CK_TRUE);
    assert_int_equal(get_bool(pub, CKA_PRIVATE), CK_FALSE);
    assert_int_equal(get_bool(pub, CKA_VERIFY), CK_TRUE);
    assert_int_equal(get_ulong(pub, CKA_MODULUS_BITS), 2048);
    /* the modulus on the private key (libp11, NSS) equals the public key's */
    uint8_t mod[512];
    size_t mod_len = get_bytes(pub, CKA_MODULUS, mod, sizeof(mod));
    assert_int_equal(get_bytes(priv, CKA_MODULUS, buf, sizeof(buf)), mod_len);
    assert_memory_equal(buf, mod, mod_len);
    /* CKA_ID: SHA-1 of the modulus, as NSS computes it */
    uint8_t sha1[20];
    SHA1(mod, mod_len, sha1);
    assert_memory_equal(sha1, id, 20);
    size_t n = get_bytes(priv, CKA_ALLOWED_MECHANISMS, buf, sizeof(buf)) / sizeof(CK_MECHANISM_TYPE);
    CK_MECHANISM_TYPE *mechs = (CK_MECHANISM_TYPE *)buf;
    int has_pkcs = 0, has_ecdsa = 0;
    for (size_t i = 0; i < n; i++) {
        has_pkcs |= mechs[i] == CKM_RSA_PKCS;
        has_ecdsa |= mechs[i] == CKM_ECDSA;
    }
    assert_true(has_pkcs);
    assert_false(has_ecdsa);
    /* a history key decrypts but never signs */
    CK_OBJECT_HANDLE keys[4];
    CK_ULONG klass = CKO_PRIVATE_KEY, count = 0;
    CK_ATTRIBUTE by_class = {CKA_CLASS, &klass, sizeof(klass)};
    assert_int_equal(p11->C_FindObjectsInit(s, &by_class, 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, keys, 4, &count), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(count, 2);
    CK_OBJECT_HANDLE old = keys[0] == priv ? keys[1] : keys[0];
    assert_int_equal(get_bool(old, CKA_SIGN), CK_FALSE);
    assert_int_equal(get_bool(old, CKA_DECRYPT), CK_TRUE);
    /* logged out, the private key handle is invalid */
    CK_SESSION_HANDLE other = test_session("carol@example.org", 0);
    CK_ATTRIBUTE a = {CKA_LABEL, buf, sizeof(buf)};
    assert_int_equal(p11->C_GetAttributeValue(other, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_CloseSession(other), CKR_OK);
}

static void ec_and_profile(void **state)
{
    (void)state;
    uint8_t id[20], buf[512];
    CK_SESSION_HANDLE c = test_session("carol@example.org", 0);
    CK_SESSION_HANDLE saved = s;
    s = c;
    test_primary_id(c, id);
    CK_OBJECT_HANDLE pub = test_find(c, CKO_PUBLIC_KEY, id, 20);
    static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    assert_int_equal(get_bytes(pub, CKA_EC_PARAMS, buf, sizeof(buf)), sizeof(p256));
    assert_memory_equal(buf, p256, sizeof(p256));
    size_t len = get_bytes(pub, CKA_EC_POINT, buf, sizeof(buf));
    assert_int_equal(len, 67); /* OCTET STRING of 04||X||Y */
    assert_int_equal(buf[0], 0x04);
    assert_int_equal(buf[1], 65);
    /* the point is the certificate's, as OpenSSL reads it */
    EVP_PKEY *cert_key = test_cert_pubkey("carol");
    unsigned char *point = NULL;
    assert_int_equal(EVP_PKEY_get1_encoded_public_key(cert_key, &point), 65);
    assert_memory_equal(buf + 2, point, 65);
    /* and CKA_ID is SHA-1 of that point, as NSS computes it */
    uint8_t sha1[20];
    SHA1(point, 65, sha1);
    assert_memory_equal(sha1, id, 20);
    OPENSSL_free(point);
    EVP_PKEY_free(cert_key);
    CK_OBJECT_HANDLE profile = test_find(c, CKO_PROFILE, NULL, 0);
    assert_int_not_equal(profile, CK_INVALID_HANDLE);
    assert_int_equal(get_ulong(profile, CKA_PROFILE_ID), CKP_PUBLIC_CERTIFICATES_TOKEN);
    assert_int_equal(get_bool(profile, CKA_PRIVATE), CK_FALSE);
    s = saved;
    assert_int_equal(p11->C_CloseSession(c), CKR_OK);
    /* a PEM-only account: certificate of another entity, no key objects */
    c = test_session("partner@partner.example", 0);
    s = c;
    CK_OBJECT_HANDLE cert = test_find(c, CKO_CERTIFICATE, NULL, 0);
    assert_int_equal(get_ulong(cert, CKA_CERTIFICATE_CATEGORY), 3);
    assert_int_equal(test_find(c, CKO_PUBLIC_KEY, NULL, 0), CK_INVALID_HANDLE);
    s = saved;
    assert_int_equal(p11->C_CloseSession(c), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_attribute_rules),
        cmocka_unit_test(certificate_attributes),
        cmocka_unit_test(key_attributes),
        cmocka_unit_test(ec_and_profile),
    };
    return cmocka_run_group_tests(tests, setup, test_teardown_module);
}
