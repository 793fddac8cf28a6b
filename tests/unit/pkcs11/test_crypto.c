/* Signatures, verification, decryption, unwrapping, derivation and digests:
 * results checked with OpenSSL against the users' own certificates and keys;
 * mechanism and length errors answered with the right CKR_*. */
#include "support.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const users[] = {"alice-old", "alice", "carol", "dave"};
static CK_SESSION_HANDLE s, ec;
static CK_OBJECT_HANDLE rsa_priv, rsa_pub, rsa_cert, old_priv, ec_priv, ec_pub;
static EVP_PKEY *alice_pub, *carol_pub;
static const uint8_t msg[] = "S/MIME signed content";

static int setup(void **state)
{
    (void)state;
    uint8_t id[20];
    test_load_module();
    test_make_store(users, sizeof(users) / sizeof(users[0]));
    test_init();
    s = test_session("alice@example.org", 1);
    test_primary_id(s, id);
    rsa_priv = test_find(s, CKO_PRIVATE_KEY, id, 20);
    rsa_pub = test_find(s, CKO_PUBLIC_KEY, id, 20);
    rsa_cert = test_find(s, CKO_CERTIFICATE, id, 20);
    CK_OBJECT_HANDLE keys[2];
    CK_ULONG klass = CKO_PRIVATE_KEY, n = 0;
    CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
    assert_int_equal(p11->C_FindObjectsInit(s, &t, 1), CKR_OK);
    assert_int_equal(p11->C_FindObjects(s, keys, 2, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(n, 2);
    old_priv = keys[0] == rsa_priv ? keys[1] : keys[0];
    ec = test_session("carol@example.org", 1);
    test_primary_id(ec, id);
    ec_priv = test_find(ec, CKO_PRIVATE_KEY, id, 20);
    ec_pub = test_find(ec, CKO_PUBLIC_KEY, id, 20);
    alice_pub = test_cert_pubkey("alice");
    carol_pub = test_cert_pubkey("carol");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(alice_pub);
    EVP_PKEY_free(carol_pub);
    p11->C_Finalize(NULL);
    test_remove_store();
    return 0;
}

static int evp_verify(EVP_PKEY *key, const char *md, int padding, int salt, const uint8_t *sig,
                      size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_get_digestbyname(md), NULL, key) == 1;
    if (ok && padding) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1;
        if (ok && padding == RSA_PKCS1_PSS_PADDING)
            ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1;
    }
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void sign_init_errors(void **state)
{
    (void)state;
    CK_MECHANISM sha256 = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_MECHANISM aes = {CKM_AES_CBC, NULL, 0};
    CK_MECHANISM with_param = {CKM_SHA256_RSA_PKCS, (void *)msg, 4};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA384, CKG_MGF1_SHA384, 48};
    CK_MECHANISM pss_wrong_hash = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    CK_MECHANISM pss_short = {CKM_SHA384_RSA_PKCS_PSS, &pss, sizeof(pss) - 1};
    CK_RSA_PKCS_PSS_PARAMS bad_mgf = {CKM_SHA256, 0, 32};
    CK_MECHANISM pss_bad_mgf = {CKM_RSA_PKCS_PSS, &bad_mgf, sizeof(bad_mgf)};
    assert_int_equal(p11->C_SignInit(s, NULL, rsa_priv), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_SignInit(s, &aes, rsa_priv), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_SignInit(s, &ecdsa, rsa_priv), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_cert), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p11->C_SignInit(s, &sha256, 0xbad), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_pub), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_SignInit(s, &sha256, old_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p11->C_SignInit(s, &with_param, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p11->C_SignInit(s, &pss_wrong_hash, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p11->C_SignInit(s, &pss_short, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p11->C_SignInit(s, &pss_bad_mgf, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM oaep_for_sign = {CKM_RSA_PKCS_OAEP, NULL, 0};
    assert_int_equal(p11->C_SignInit(s, &oaep_for_sign, rsa_priv), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, 4, NULL, &(CK_ULONG){0}),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR)msg, 4), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_priv), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11_3->C_SessionCancel(s, CKF_SIGN), CKR_OK);
    assert_int_equal(p11->C_SignFinal(s, NULL, &(CK_ULONG){0}), CKR_OPERATION_NOT_INITIALIZED);
    /* before login the key is there but not usable */
    CK_SESSION_HANDLE other = test_session("dave@example.org", 0);
    uint8_t id[20];
    test_primary_id(other, id);
    assert_int_equal(p11->C_SignInit(other, &ecdsa, 0x7ffff), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p11->C_CloseSession(other), CKR_OK);
}

static void rsa_sign(void **state)
{
    (void)state;
    uint8_t sig[512];
    CK_ULONG len = 0;
    CK_MECHANISM sha256 = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_SignInit(s, &sha256, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    len = 255;
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 256);
    len = sizeof(sig);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len), CKR_OK);
    assert_int_equal(len, 256);
    assert_true(evp_verify(alice_pub, "SHA256", RSA_PKCS1_PADDING, 0, sig, len));
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len),
                     CKR_OPERATION_NOT_INITIALIZED);
    /* multi-part, verified single-part by the module and by OpenSSL */
    CK_MECHANISM sha512 = {CKM_SHA512_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_SignInit(s, &sha512, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR)msg, 5), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR)msg + 5, 0), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR)msg + 5, sizeof(msg) - 5), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_SignFinal(s, sig, &len), CKR_OK);
    assert_true(evp_verify(alice_pub, "SHA512", RSA_PKCS1_PADDING, 0, sig, len));
    assert_int_equal(p11->C_VerifyInit(s, &sha512, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(s, &sha512, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, len - 1),
                     CKR_SIGNATURE_LEN_RANGE);
    sig[10] ^= 1;
    assert_int_equal(p11->C_VerifyInit(s, &sha512, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_VerifyUpdate(s, (CK_BYTE_PTR)msg, sizeof(msg)), CKR_OK);
    assert_int_equal(p11->C_VerifyFinal(s, sig, len), CKR_SIGNATURE_INVALID);
    /* raw PKCS#1 v1.5: the input must leave room for the padding */
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    uint8_t big[250] = {0};
    assert_int_equal(p11->C_SignInit(s, &raw, rsa_priv), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_Sign(s, big, sizeof(big), sig, &len), CKR_DATA_LEN_RANGE);
    assert_int_equal(p11->C_SignInit(s, &raw, rsa_priv), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_Sign(s, big, 245, sig, &len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(s, &raw, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(s, big, 245, sig, len), CKR_OK);
}

static void rsa_pss_any_salt(void **state)
{
    (void)state;
    static const CK_ULONG salts[] = {0, 20, 32, 222};
    uint8_t sig[512], hash[32];
    unsigned hash_len = 0;
    EVP_Digest(msg, sizeof(msg), hash, &hash_len, EVP_sha256(), NULL);
    for (size_t i = 0; i < sizeof(salts) / sizeof(salts[0]); i++) {
        CK_RSA_PKCS_PSS_PARAMS p = {CKM_SHA256, CKG_MGF1_SHA256, salts[i]};
        CK_MECHANISM hashed = {CKM_SHA256_RSA_PKCS_PSS, &p, sizeof(p)};
        CK_MECHANISM raw = {CKM_RSA_PKCS_PSS, &p, sizeof(p)};
        CK_ULONG len = sizeof(sig);
        assert_int_equal(p11->C_SignInit(s, &hashed, rsa_priv), CKR_OK);
        assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len), CKR_OK);
        assert_true(evp_verify(alice_pub, "SHA256", RSA_PKCS1_PSS_PADDING, (int)salts[i], sig, len));
        len = sizeof(sig);
        assert_int_equal(p11->C_SignInit(s, &raw, rsa_priv), CKR_OK);
        assert_int_equal(p11->C_Sign(s, hash, hash_len, sig, &len), CKR_OK);
        assert_true(evp_verify(alice_pub, "SHA256", RSA_PKCS1_PSS_PADDING, (int)salts[i], sig, len));
        assert_int_equal(p11->C_VerifyInit(s, &raw, rsa_pub), CKR_OK);
        assert_int_equal(p11->C_Verify(s, hash, hash_len, sig, len), CKR_OK);
    }
    /* raw PSS takes exactly a hash; a salt beyond the key is refused */
    CK_RSA_PKCS_PSS_PARAMS p = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM raw = {CKM_RSA_PKCS_PSS, &p, sizeof(p)};
    CK_ULONG len = sizeof(sig);
    assert_int_equal(p11->C_SignInit(s, &raw, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_Sign(s, hash, 31, sig, &len), CKR_DATA_LEN_RANGE);
    CK_RSA_PKCS_PSS_PARAMS huge = {CKM_SHA256, CKG_MGF1_SHA256, 300};
    CK_MECHANISM too_salty = {CKM_SHA256_RSA_PKCS_PSS, &huge, sizeof(huge)};
    len = sizeof(sig);
    assert_int_equal(p11->C_SignInit(s, &too_salty, rsa_priv), CKR_OK);
    assert_int_not_equal(p11->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len), CKR_OK);
    assert_int_equal(p11->C_SignFinal(s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void ecdsa(void **state)
{
    (void)state;
    uint8_t sig[132], hash[32];
    unsigned hash_len = 0;
    CK_ULONG len = sizeof(sig);
    EVP_Digest(msg, sizeof(msg), hash, &hash_len, EVP_sha256(), NULL);
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0}, hashed = {CKM_ECDSA_SHA256, NULL, 0};
    assert_int_equal(p11->C_SignInit(ec, &raw, ec_priv), CKR_OK);
    assert_int_equal(p11->C_Sign(ec, hash, hash_len, NULL, &len), CKR_OK);
    assert_int_equal(len, 64);
    assert_int_equal(p11->C_Sign(ec, hash, hash_len, sig, &len), CKR_OK);
    assert_int_equal(len, 64);
    /* r||s to DER, checked by OpenSSL */
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    uint8_t *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    assert_true(evp_verify(carol_pub, "SHA256", 0, 0, der, (size_t)der_len));
    OPENSSL_free(der);
    assert_int_equal(p11->C_VerifyInit(ec, &hashed, ec_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(ec, (CK_BYTE_PTR)msg, sizeof(msg), sig, len), CKR_OK);
    /* multi-part hashed */
    assert_int_equal(p11->C_SignInit(ec, &hashed, ec_priv), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(ec, (CK_BYTE_PTR)msg, 3), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(ec, (CK_BYTE_PTR)msg + 3, sizeof(msg) - 3), CKR_OK);
    len = 10;
    assert_int_equal(p11->C_SignFinal(ec, sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 64);
    assert_int_equal(p11->C_SignFinal(ec, sig, &len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(ec, &raw, ec_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(ec, hash, hash_len, sig, len), CKR_OK);
    assert_int_equal(p11->C_SignInit(ec, &raw, ec_priv), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_Sign(ec, hash, 0, sig, &len), CKR_DATA_LEN_RANGE);
}

/* A session reuses its signing context; logging out must still end the
 * key's use at once, and a new login sign with the reopened key. */
static void sign_after_logout(void **state)
{
    (void)state;
    uint8_t sig[132], hash[32];
    unsigned hash_len = 0;
    CK_ULONG len = sizeof(sig);
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
    EVP_Digest(msg, sizeof(msg), hash, &hash_len, EVP_sha256(), NULL);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(p11->C_SignInit(ec, &raw, ec_priv), CKR_OK);
        len = sizeof(sig);
        assert_int_equal(p11->C_Sign(ec, hash, hash_len, sig, &len), CKR_OK);
        assert_int_equal(p11->C_VerifyInit(ec, &raw, ec_pub), CKR_OK);
        assert_int_equal(p11->C_Verify(ec, hash, hash_len, sig, len), CKR_OK);
    }
    assert_int_equal(p11->C_Logout(ec), CKR_OK);
    assert_int_equal(p11->C_SignInit(ec, &raw, ec_priv), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p11->C_Login(ec, CKU_USER, (CK_UTF8CHAR_PTR)TEST_PIN, strlen(TEST_PIN)),
                     CKR_OK);
    assert_int_equal(p11->C_SignInit(ec, &raw, ec_priv), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_Sign(ec, hash, hash_len, sig, &len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(ec, &raw, ec_pub), CKR_OK);
    assert_int_equal(p11->C_Verify(ec, hash, hash_len, sig, len), CKR_OK);
}

static void rsa_decrypt(void **state)
{
    (void)state;
    static const uint8_t plain[] = "content-encryption key";
    uint8_t label[] = "a label";
    uint8_t enc[256], dec[256];
    CK_ULONG enc_len = sizeof(enc), dec_len = sizeof(dec);
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, label, sizeof(label)};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    assert_int_equal(p11->C_EncryptInit(s, &m, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Encrypt(s, (CK_BYTE_PTR)plain, sizeof(plain), NULL, &enc_len), CKR_OK);
    assert_int_equal(enc_len, 256);
    assert_int_equal(p11->C_Encrypt(s, (CK_BYTE_PTR)plain, sizeof(plain), enc, &enc_len), CKR_OK);
    assert_int_equal(p11->C_DecryptInit(s, &m, rsa_priv), CKR_OK);
    assert_int_equal(p11->C_Decrypt(s, enc, enc_len, NULL, &dec_len), CKR_OK);
    assert_true(dec_len >= sizeof(plain));
    dec_len = 1;
    assert_int_equal(p11->C_Decrypt(s, enc, enc_len, dec, &dec_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(dec_len, sizeof(plain));
    assert_int_equal(p11->C_Decrypt(s, enc, enc_len, dec, &dec_len), CKR_OK);
    assert_memory_equal(dec, plain, sizeof(plain));
    /* another label: refused */
    label[0] = 'A';
    assert_int_equal(p11->C_DecryptInit(s, &m, rsa_priv), CKR_OK);
    dec_len = sizeof(dec);
    assert_int_equal(p11->C_Decrypt(s, enc, enc_len, dec, &dec_len), CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(p11->C_Decrypt(s, enc, enc_len, dec, &dec_len), CKR_OPERATION_NOT_INITIALIZED);
    /* hash and MGF 0 (as pkcs11-provider may send) */
    CK_RSA_PKCS_OAEP_PARAMS zero = {0, 0, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM mz = {CKM_RSA_PKCS_OAEP, &zero, sizeof(zero)};
    assert_int_equal(p11->C_DecryptInit(s, &mz, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM no_params = {CKM_RSA_PKCS_OAEP, NULL, 0};
    assert_int_equal(p11->C_DecryptInit(s, &no_params, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    /* PKCS#1 v1.5 with the history key, multi-part; wrong lengths */
    EVP_PKEY *old_pub = test_cert_pubkey("alice-old");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(old_pub, NULL);
    size_t out_len = sizeof(enc);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_encrypt(ctx, enc, &out_len, plain, sizeof(plain)), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(old_pub);
    CK_MECHANISM pkcs = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_DecryptInit(s, &pkcs, old_priv), CKR_OK);
    dec_len = sizeof(dec);
    assert_int_equal(p11->C_DecryptUpdate(s, enc, 100, dec, &dec_len), CKR_OK);
    assert_int_equal(dec_len, 0);
    dec_len = sizeof(dec);
    assert_int_equal(p11->C_DecryptUpdate(s, enc + 100, out_len - 100, dec, &dec_len), CKR_OK);
    dec_len = sizeof(dec);
    assert_int_equal(p11->C_DecryptFinal(s, dec, &dec_len), CKR_OK);
    assert_int_equal(dec_len, sizeof(plain));
    assert_memory_equal(dec, plain, sizeof(plain));
    assert_int_equal(p11->C_DecryptInit(s, &pkcs, old_priv), CKR_OK);
    dec_len = sizeof(dec);
    assert_int_equal(p11->C_Decrypt(s, enc, 255, dec, &dec_len), CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(p11->C_DecryptInit(s, &pkcs, rsa_pub), CKR_KEY_TYPE_INCONSISTENT);
    /* encrypting too much */
    uint8_t big[250] = {0};
    assert_int_equal(p11->C_EncryptInit(s, &pkcs, rsa_pub), CKR_OK);
    enc_len = sizeof(enc);
    assert_int_equal(p11->C_Encrypt(s, big, sizeof(big), enc, &enc_len), CKR_DATA_LEN_RANGE);
}

static void unwrap(void **state)
{
    (void)state;
    static const uint8_t aes[32] = "0123456789abcdef0123456789abcdef";
    uint8_t wrapped[256], value[64];
    CK_ULONG wrapped_len = sizeof(wrapped);
    CK_MECHANISM pkcs = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_EncryptInit(s, &pkcs, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Encrypt(s, (CK_BYTE_PTR)aes, sizeof(aes), wrapped, &wrapped_len), CKR_OK);
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)},
                           {CKA_DECRYPT, &yes, sizeof(yes)}, {CKA_SENSITIVE, &no, sizeof(no)},
                           {CKA_EXTRACTABLE, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE key = 0;
    assert_int_equal(p11->C_UnwrapKey(s, &pkcs, rsa_priv, wrapped, wrapped_len, tmpl, 5, NULL),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_UnwrapKey(s, &pkcs, rsa_priv, wrapped, wrapped_len - 1, tmpl, 5, &key),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    assert_int_equal(p11->C_UnwrapKey(s, &pkcs, rsa_priv, wrapped, wrapped_len, tmpl, 5, &key), CKR_OK);
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OK);
    assert_int_equal(v.ulValueLen, 32);
    assert_memory_equal(value, aes, 32);
    assert_int_equal(p11->C_DestroyObject(s, key), CKR_OK);
    assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OBJECT_HANDLE_INVALID);
    /* a sensitive session key keeps its value */
    CK_ATTRIBUTE sensitive[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)}};
    assert_int_equal(p11->C_UnwrapKey(s, &pkcs, rsa_priv, wrapped, wrapped_len, sensitive, 2, &key),
                     CKR_OK);
    v.ulValueLen = sizeof(value);
    assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    /* a token object cannot be made */
    CK_ATTRIBUTE token[] = {{CKA_KEY_TYPE, &type, sizeof(type)}, {CKA_TOKEN, &yes, sizeof(yes)}};
    assert_int_equal(p11->C_UnwrapKey(s, &pkcs, rsa_priv, wrapped, wrapped_len, token, 2, &key),
                     CKR_TOKEN_WRITE_PROTECTED);
}

/* What C_UnwrapKey and C_DeriveKey refuse: a wrapped key that does not
 * decrypt, templates that contradict the key made or lack what it needs,
 * malformed attribute values; and a session key's value cannot be changed. */
static void key_template_errors(void **state)
{
    (void)state;
    static const uint8_t aes[32] = "0123456789abcdef0123456789abcdef";
    uint8_t wrapped[256];
    CK_ULONG wrapped_len = sizeof(wrapped);
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    assert_int_equal(p11->C_EncryptInit(s, &m, rsa_pub), CKR_OK);
    assert_int_equal(p11->C_Encrypt(s, (CK_BYTE_PTR)aes, sizeof(aes), wrapped, &wrapped_len), CKR_OK);
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY, public = CKO_PUBLIC_KEY;
    CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
    CK_ULONG too_long = 64;
    CK_BBOOL yes = CK_TRUE;
    uint32_t short_bool = 1;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret, sizeof(secret)}, {CKA_KEY_TYPE, &generic, sizeof(generic)}};
    CK_ATTRIBUTE wrong_class[] = {{CKA_CLASS, &public, sizeof(public)}};
    CK_ATTRIBUTE longer[] = {{CKA_CLASS, &secret, sizeof(secret)}, {CKA_KEY_TYPE, &generic, sizeof(generic)},
                             {CKA_VALUE_LEN, &too_long, sizeof(too_long)}};
    CK_ATTRIBUTE bad_bool[] = {{CKA_SENSITIVE, &short_bool, sizeof(short_bool)}};
    CK_ATTRIBUTE bad_ulong[] = {{CKA_CLASS, &secret, 2}};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;

    wrapped[wrapped_len / 2] ^= 0x5a; /* OAEP decoding fails */
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, tmpl, 2, &key),
                     CKR_WRAPPED_KEY_INVALID);
    wrapped[wrapped_len / 2] ^= 0x5a;
    /* an unwrapped key's type is the template's to say */
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, tmpl, 1, &key),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, wrong_class, 1, &key),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, longer, 3, &key),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, bad_bool, 1, &key),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, bad_ulong, 1, &key),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(key, CK_INVALID_HANDLE);

    /* a session key made: sensitive unless the template says otherwise */
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, tmpl, 2, &key), CKR_OK);
    uint8_t other[32] = {0}, value[64];
    CK_ATTRIBUTE hidden = {CKA_VALUE, value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(s, key, &hidden, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(p11->C_DestroyObject(s, key), CKR_OK);
    /* its value and class are read-only */
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE readable[] = {{CKA_CLASS, &secret, sizeof(secret)}, {CKA_KEY_TYPE, &generic, sizeof(generic)},
                               {CKA_SENSITIVE, &no, sizeof(no)}, {CKA_EXTRACTABLE, &yes, sizeof(yes)}};
    assert_int_equal(p11->C_UnwrapKey(s, &m, rsa_priv, wrapped, wrapped_len, readable, 4, &key), CKR_OK);
    CK_ATTRIBUTE set_value = {CKA_VALUE, other, sizeof(other)};
    CK_ATTRIBUTE set_class = {CKA_CLASS, &public, sizeof(public)};
    assert_int_equal(p11->C_SetAttributeValue(s, key, &set_value, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p11->C_SetAttributeValue(s, key, &set_class, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OK);
    assert_int_equal(v.ulValueLen, sizeof(aes));
    assert_memory_equal(value, aes, sizeof(aes));
    assert_int_equal(p11->C_DestroyObject(s, key), CKR_OK);

    /* ECDH with a KDF makes a key of the length the template asks for: none given */
    EVP_PKEY *peer = EVP_EC_gen("P-256");
    unsigned char *point = NULL;
    assert_int_equal(EVP_PKEY_get1_encoded_public_key(peer, &point), 65);
    CK_ECDH1_DERIVE_PARAMS kdf = {CKD_SHA256_KDF, 0, NULL, 65, point};
    CK_MECHANISM derive = {CKM_ECDH1_DERIVE, &kdf, sizeof(kdf)};
    key = CK_INVALID_HANDLE;
    assert_int_equal(p11->C_DeriveKey(ec, &derive, ec_priv, tmpl, 1, &key), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(key, CK_INVALID_HANDLE);
    CK_ULONG want = 16;
    CK_ATTRIBUTE with_len_wrong_class[] = {{CKA_CLASS, &public, sizeof(public)},
                                           {CKA_VALUE_LEN, &want, sizeof(want)}};
    assert_int_equal(p11->C_DeriveKey(ec, &derive, ec_priv, with_len_wrong_class, 2, &key),
                     CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE bad_usage[] = {{CKA_VALUE_LEN, &want, sizeof(want)}, {CKA_DERIVE, &yes, 0}};
    assert_int_equal(p11->C_DeriveKey(ec, &derive, ec_priv, bad_usage, 2, &key),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(key, CK_INVALID_HANDLE);
    OPENSSL_free(point);
    EVP_PKEY_free(peer);
}

static EVP_PKEY *carol_key(void)
{
    FILE *f = fopen(test_data("users/carol.key"), "r");
    assert_non_null(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(key);
    return key;
}

static void ecdh_derive(void **state)
{
    (void)state;
    /* a peer key, and the secret OpenSSL computes with carol's key */
    EVP_PKEY *peer = EVP_EC_gen("P-256"), *mine = carol_key();
    uint8_t point[65], z[32], value[64];
    unsigned char *encoded = NULL;
    size_t point_len = EVP_PKEY_get1_encoded_public_key(peer, &encoded);
    assert_int_equal(point_len, 65);
    memcpy(point, encoded, 65);
    OPENSSL_free(encoded);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
    size_t z_len = sizeof(z);
    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, z, &z_len), 1);
    EVP_PKEY_CTX_free(ctx);

    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)},
                           {CKA_SENSITIVE, &no, 1}, {CKA_EXTRACTABLE, &yes, 1}};
    CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, sizeof(point), point};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_OBJECT_HANDLE key = 0;
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    assert_int_equal(p11->C_DeriveKey(ec, &m, ec_priv, tmpl, 4, &key), CKR_OK);
    assert_int_equal(p11->C_GetAttributeValue(ec, key, &v, 1), CKR_OK);
    assert_int_equal(v.ulValueLen, 32);
    assert_memory_equal(value, z, 32);
    /* the point DER-wrapped as an OCTET STRING works the same */
    uint8_t wrapped[67] = {0x04, 65};
    memcpy(wrapped + 2, point, 65);
    p.pPublicData = wrapped;
    p.ulPublicDataLen = sizeof(wrapped);
    assert_int_equal(p11->C_DeriveKey(ec, &m, ec_priv, tmpl, 4, &key), CKR_OK);
    v.ulValueLen = sizeof(value);
    assert_int_equal(p11->C_GetAttributeValue(ec, key, &v, 1), CKR_OK);
    assert_memory_equal(value, z, 32);
    /* X9.63 KDF with SHA-256 and shared data */
    uint8_t shared[] = "shared info", expected[16];
    CK_ULONG want = 16;
    CK_ATTRIBUTE with_len[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_VALUE_LEN, &want, sizeof(want)},
                               {CKA_SENSITIVE, &no, 1}, {CKA_EXTRACTABLE, &yes, 1}};
    CK_ECDH1_DERIVE_PARAMS pk = {CKD_SHA256_KDF, sizeof(shared), shared, sizeof(point), point};
    CK_MECHANISM mk = {CKM_ECDH1_DERIVE, &pk, sizeof(pk)};
    assert_int_equal(p11->C_DeriveKey(ec, &mk, ec_priv, with_len, 4, &key), CKR_OK);
    v.ulValueLen = sizeof(value);
    assert_int_equal(p11->C_GetAttributeValue(ec, key, &v, 1), CKR_OK);
    assert_int_equal(v.ulValueLen, 16);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, 32),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, shared, sizeof(shared)),
                           OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(kctx, expected, sizeof(expected), params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    assert_memory_equal(value, expected, 16);
    /* bad parameters */
    CK_ECDH1_DERIVE_PARAMS bad = {CKD_NULL, sizeof(shared), shared, sizeof(point), point};
    CK_MECHANISM mb = {CKM_ECDH1_DERIVE, &bad, sizeof(bad)};
    assert_int_equal(p11->C_DeriveKey(ec, &mb, ec_priv, tmpl, 4, &key), CKR_MECHANISM_PARAM_INVALID);
    p.pPublicData = point;
    p.ulPublicDataLen = sizeof(point);
    point[10] ^= 0x55; /* not on the curve */
    assert_int_equal(p11->C_DeriveKey(ec, &m, ec_priv, tmpl, 4, &key), CKR_MECHANISM_PARAM_INVALID);
    memset(point + 1, 0xff, 64); /* coordinates beyond the field */
    assert_int_equal(p11->C_DeriveKey(ec, &m, ec_priv, tmpl, 4, &key), CKR_MECHANISM_PARAM_INVALID);
    uint8_t identity[1] = {0x00}; /* the point at infinity */
    CK_ECDH1_DERIVE_PARAMS at_infinity = {CKD_NULL, 0, NULL, sizeof(identity), identity};
    CK_MECHANISM mi = {CKM_ECDH1_DERIVE, &at_infinity, sizeof(at_infinity)};
    assert_int_equal(p11->C_DeriveKey(ec, &mi, ec_priv, tmpl, 4, &key), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM short_params = {CKM_ECDH1_DERIVE, &p, sizeof(p) - 1};
    assert_int_equal(p11->C_DeriveKey(ec, &short_params, ec_priv, tmpl, 4, &key),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p11->C_DeriveKey(s, &m, rsa_priv, tmpl, 4, &key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
}

static void digest_and_random(void **state)
{
    (void)state;
    static const uint8_t abc_sha256[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t md[64];
    CK_ULONG len = 0;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0}, bad = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_DigestInit(s, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_DigestInit(s, &bad), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(p11->C_DigestInit(s, &m), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, NULL, &len), CKR_OK);
    assert_int_equal(len, 32);
    len = 31;
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, md, &len), CKR_BUFFER_TOO_SMALL);
    len = sizeof(md);
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, md, &len), CKR_OK);
    assert_memory_equal(md, abc_sha256, 32);
    assert_int_equal(p11->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "a", 1), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "bc", 2), CKR_OK);
    assert_int_equal(p11->C_DigestKey(s, rsa_priv), CKR_KEY_INDIGESTIBLE);
    assert_int_equal(p11->C_DigestFinal(s, md, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3), CKR_OK);
    len = sizeof(md);
    assert_int_equal(p11->C_DigestFinal(s, md, &len), CKR_OK);
    assert_memory_equal(md, abc_sha256, 32);
    /* random */
    uint8_t a[32] = {0}, b[32] = {0};
    assert_int_equal(p11->C_GenerateRandom(s, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GenerateRandom(s, a, 0), CKR_OK);
    assert_int_equal(p11->C_GenerateRandom(s, a, sizeof(a)), CKR_OK);
    assert_int_equal(p11->C_GenerateRandom(s, b, sizeof(b)), CKR_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(p11->C_SeedRandom(s, a, sizeof(a)), CKR_RANDOM_SEED_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sign_init_errors), cmocka_unit_test(rsa_sign),
        cmocka_unit_test(rsa_pss_any_salt), cmocka_unit_test(ecdsa),
        cmocka_unit_test(sign_after_logout),
        cmocka_unit_test(rsa_decrypt),      cmocka_unit_test(unwrap),
        cmocka_unit_test(key_template_errors),
        cmocka_unit_test(ecdh_derive),      cmocka_unit_test(digest_and_random),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
