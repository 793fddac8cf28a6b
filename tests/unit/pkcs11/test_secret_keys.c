/* Session secret keys as NSS uses them to open mail: ECDH derivation with
 * the KDFs of RFC 5753/8418 on P-256, P-384 and P-521 (checked against
 * OpenSSL), the derived key unwrapping the content key in another session,
 * RSA unwrapping into a session key; the AES mechanisms against OpenSSL and
 * the RFC 3394/5649 test vectors; the template rules and the keys' life. */
#include "support.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *p521_user;
static char p521_key[320];

static int setup(void **state)
{
    (void)state;
    test_load_module();
    p521_user = test_issue_user("pat", "pat@example.org", "ec-p521");
    snprintf(p521_key, sizeof(p521_key), "%.*s.key", (int)(strlen(p521_user) - 4), p521_user);
    const char *const users[] = {"alice", "carol", "dave", p521_user};
    test_make_store(users, 4);
    test_init();
    return 0;
}

static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
static CK_KEY_TYPE aes_type = CKK_AES, generic_type = CKK_GENERIC_SECRET;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static CK_OBJECT_HANDLE primary_key(CK_SESSION_HANDLE s)
{
    uint8_t id[20];
    size_t id_len = test_primary_id(s, id);
    CK_OBJECT_HANDLE h = test_find(s, CKO_PRIVATE_KEY, id, id_len);
    assert_int_not_equal(h, CK_INVALID_HANDLE);
    return h;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(key);
    return key;
}

/* An ephemeral key of the same curve, its point, and the shared secret as
 * OpenSSL computes it with the account's private key. */
typedef struct agreement {
    uint8_t point[133], z[66];
    size_t point_len, z_len;
} agreement;

static void agree(EVP_PKEY *mine, agreement *a)
{
    char group[32];
    size_t len = 0;
    assert_int_equal(EVP_PKEY_get_group_name(mine, group, sizeof(group), &len), 1);
    EVP_PKEY *peer = EVP_EC_gen(group);
    unsigned char *encoded = NULL;
    a->point_len = EVP_PKEY_get1_encoded_public_key(peer, &encoded);
    assert_true(a->point_len > 0 && a->point_len <= sizeof(a->point));
    memcpy(a->point, encoded, a->point_len);
    OPENSSL_free(encoded);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
    a->z_len = sizeof(a->z);
    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, a->z, &a->z_len), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
}

static void x963(const char *md, const uint8_t *z, size_t z_len, const uint8_t *shared,
                 size_t shared_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared, shared_len),
        OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(ctx, out, out_len, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void kdfs_on_every_curve(void **state)
{
    (void)state;
    static const struct {
        CK_ULONG kdf;
        const char *md;
    } kdfs[] = {{CKD_SHA1_KDF, "SHA1"},     {CKD_SHA224_KDF, "SHA224"}, {CKD_SHA256_KDF, "SHA256"},
                {CKD_SHA384_KDF, "SHA384"}, {CKD_SHA512_KDF, "SHA512"}};
    char carol_key[1024], dave_key[1024];
    snprintf(carol_key, sizeof(carol_key), "%s", test_data("users/carol.key"));
    snprintf(dave_key, sizeof(dave_key), "%s", test_data("users/dave.key"));
    const struct {
        const char *email, *key;
        size_t z_len;
    } curves[] = {{"carol@example.org", carol_key, 32},
                  {"dave@example.org", dave_key, 48},
                  {"pat@example.org", p521_key, 66}};
    /* an ECC-CMS-SharedInfo for AES-128 key wrap, as NSS sends it */
    static const uint8_t shared[] = {0x30, 0x15, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
                                     0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x05, 0xa2,
                                     0x06, 0x04, 0x04, 0x00, 0x00, 0x00, 0x80};
    for (size_t c = 0; c < 3; c++) {
        CK_SESSION_HANDLE s = test_session(curves[c].email, 1);
        CK_OBJECT_HANDLE priv = primary_key(s);
        EVP_PKEY *mine = read_key(curves[c].key);
        agreement a;
        agree(mine, &a);
        assert_int_equal(a.z_len, curves[c].z_len);
        uint8_t value[128], want[64];
        CK_ULONG want_len = 32;
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                               {CKA_SENSITIVE, &no, 1},
                               {CKA_EXTRACTABLE, &yes, 1},
                               {CKA_VALUE_LEN, &want_len, sizeof(want_len)}};
        CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
        CK_OBJECT_HANDLE key = 0;
        /* no KDF: the shared secret itself */
        CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, a.point_len, a.point};
        CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
        assert_int_equal(p11->C_DeriveKey(s, &m, priv, tmpl, 3, &key), CKR_OK);
        assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OK);
        assert_int_equal(v.ulValueLen, a.z_len);
        assert_memory_equal(value, a.z, a.z_len);
        for (size_t k = 0; k < sizeof(kdfs) / sizeof(kdfs[0]); k++) {
            CK_ECDH1_DERIVE_PARAMS pk = {kdfs[k].kdf, sizeof(shared), (CK_BYTE_PTR)shared,
                                         a.point_len, a.point};
            CK_MECHANISM mk = {CKM_ECDH1_DERIVE, &pk, sizeof(pk)};
            assert_int_equal(p11->C_DeriveKey(s, &mk, priv, tmpl, 4, &key), CKR_OK);
            v.ulValueLen = sizeof(value);
            assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OK);
            assert_int_equal(v.ulValueLen, 32);
            x963(kdfs[k].md, a.z, a.z_len, shared, sizeof(shared), want, 32);
            assert_memory_equal(value, want, 32);
            assert_int_equal(p11->C_DestroyObject(s, key), CKR_OK);
            /* cofactor DH: the same on these prime-order curves */
            mk.mechanism = CKM_ECDH1_COFACTOR_DERIVE;
            assert_int_equal(p11->C_DeriveKey(s, &mk, priv, tmpl, 4, &key), CKR_OK);
            v.ulValueLen = sizeof(value);
            assert_int_equal(p11->C_GetAttributeValue(s, key, &v, 1), CKR_OK);
            assert_memory_equal(value, want, 32);
            mk.mechanism = CKM_ECDH1_DERIVE;
            /* a KDF needs to be told the length */
            assert_int_equal(p11->C_DeriveKey(s, &mk, priv, tmpl, 3, &key), CKR_TEMPLATE_INCOMPLETE);
        }
        EVP_PKEY_free(mine);
        assert_int_equal(p11->C_CloseSession(s), CKR_OK);
    }
}

static void cipher(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                   const uint8_t *in, int in_len, uint8_t *out, int *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    int n = 0, m = 0;
    assert_non_null(c);
    assert_int_equal(EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, in_len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, out + n, &m), 1);
    *out_len = n + m;
    EVP_CIPHER_free(c);
    EVP_CIPHER_CTX_free(ctx);
}

static void bool_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool want)
{
    CK_BBOOL b = 2;
    CK_ATTRIBUTE a = {type, &b, 1};
    assert_int_equal(p11->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
    assert_int_equal(b, want ? CK_TRUE : CK_FALSE);
}

/* The key-encryption key derived in one session unwraps the content key in
 * another, which decrypts the content in a third, as NSS does with a mail
 * sent to an EC certificate (RFC 5753: X9.63 KDF, AES key wrap). */
static void nss_ecdh_path(void **state)
{
    (void)state;
    CK_SESSION_HANDLE derive_s = test_session("dave@example.org", 1);
    CK_SESSION_HANDLE unwrap_s = test_session("dave@example.org", 1);
    CK_SESSION_HANDLE decrypt_s = test_session("dave@example.org", 1);
    CK_OBJECT_HANDLE priv = primary_key(derive_s);
    EVP_PKEY *mine = read_key(test_data("users/dave.key"));
    agreement a;
    agree(mine, &a);
    /* the sender's side with OpenSSL: KEK, wrapped content key, content */
    uint8_t shared[23] = {0x30, 0x15}, kek[32], cek[32], iv[16], wrapped[40], content[64];
    uint8_t body[100];
    int wrapped_len = 0, content_len = 0;
    memset(body, 'm', sizeof(body));
    assert_int_equal(RAND_bytes(cek, sizeof(cek)), 1);
    assert_int_equal(RAND_bytes(iv, sizeof(iv)), 1);
    x963("SHA384", a.z, a.z_len, shared, sizeof(shared), kek, sizeof(kek));
    cipher("AES-256-WRAP", 1, kek, NULL, cek, sizeof(cek), wrapped, &wrapped_len);
    assert_int_equal(wrapped_len, 40);
    cipher("AES-256-CBC", 1, cek, iv, body, 64, content, &content_len);
    assert_int_equal(content_len, 80); /* OpenSSL pads: CBC without padding is the caller's */

    CK_ULONG kek_len = 32;
    CK_ATTRIBUTE kek_tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                               {CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                               {CKA_WRAP, &yes, 1},
                               {CKA_VALUE_LEN, &kek_len, sizeof(kek_len)}};
    CK_ECDH1_DERIVE_PARAMS p = {CKD_SHA384_KDF, sizeof(shared), shared, a.point_len, a.point};
    CK_MECHANISM derive = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_OBJECT_HANDLE kek_h = 0, cek_h = 0;
    assert_int_equal(p11->C_DeriveKey(derive_s, &derive, priv, kek_tmpl, 4, &kek_h), CKR_OK);
    /* secret by default: sensitive, never extractable, private */
    uint8_t value[64];
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    assert_int_equal(p11->C_GetAttributeValue(unwrap_s, kek_h, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    bool_attr(unwrap_s, kek_h, CKA_SENSITIVE, true);
    bool_attr(unwrap_s, kek_h, CKA_ALWAYS_SENSITIVE, true);
    bool_attr(unwrap_s, kek_h, CKA_EXTRACTABLE, false);
    bool_attr(unwrap_s, kek_h, CKA_NEVER_EXTRACTABLE, true);
    bool_attr(unwrap_s, kek_h, CKA_PRIVATE, true);
    bool_attr(unwrap_s, kek_h, CKA_TOKEN, false);
    bool_attr(unwrap_s, kek_h, CKA_LOCAL, false);

    CK_ATTRIBUTE cek_tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                               {CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                               {CKA_UNWRAP, &yes, 1}};
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    assert_int_equal(p11->C_UnwrapKey(unwrap_s, &kw, kek_h, wrapped, 40, cek_tmpl, 3, &cek_h), CKR_OK);
    CK_ULONG cek_len = 0;
    CK_ATTRIBUTE l = {CKA_VALUE_LEN, &cek_len, sizeof(cek_len)};
    assert_int_equal(p11->C_GetAttributeValue(decrypt_s, cek_h, &l, 1), CKR_OK);
    assert_int_equal(cek_len, 32);
    bool_attr(decrypt_s, cek_h, CKA_ALWAYS_SENSITIVE, false); /* it was outside once */
    bool_attr(decrypt_s, cek_h, CKA_NEVER_EXTRACTABLE, false);
    /* a corrupted wrapped key is refused */
    wrapped[3] ^= 1;
    CK_OBJECT_HANDLE bad = 0;
    assert_int_equal(p11->C_UnwrapKey(unwrap_s, &kw, kek_h, wrapped, 40, cek_tmpl, 3, &bad),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(p11->C_UnwrapKey(unwrap_s, &kw, kek_h, wrapped, 36, cek_tmpl, 3, &bad),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    /* NSS decrypts the content with CKM_AES_CBC in parts and unpads it itself */
    CK_MECHANISM cbc = {CKM_AES_CBC, iv, sizeof(iv)};
    uint8_t out[96];
    CK_ULONG total = 0;
    assert_int_equal(p11->C_DecryptInit(decrypt_s, &cbc, cek_h), CKR_OK);
    for (size_t off = 0; off < (size_t)content_len; off += 16) {
        CK_ULONG part = sizeof(out) - total;
        assert_int_equal(p11->C_DecryptUpdate(decrypt_s, content + off, 16, out + total, &part),
                         CKR_OK);
        total += part;
    }
    CK_ULONG last = sizeof(out) - total;
    assert_int_equal(p11->C_DecryptFinal(decrypt_s, out + total, &last), CKR_OK);
    assert_int_equal(total + last, 80);
    assert_memory_equal(out, body, 64);
    /* every session sees them; the derived key goes with its session */
    assert_int_equal(test_find(decrypt_s, CKO_SECRET_KEY, NULL, 0) != CK_INVALID_HANDLE, 1);
    assert_int_equal(p11->C_CloseSession(derive_s), CKR_OK);
    assert_int_equal(p11->C_GetAttributeValue(unwrap_s, kek_h, &l, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_GetAttributeValue(unwrap_s, cek_h, &l, 1), CKR_OK);
    /* a session of another token does not see them */
    CK_SESSION_HANDLE other = test_session("carol@example.org", 0);
    assert_int_equal(p11->C_GetAttributeValue(other, cek_h, &l, 1), CKR_OBJECT_HANDLE_INVALID);
    /* private session keys go at logout, public ones stay with their session */
    CK_ULONG aes_len = 16;
    uint8_t raw[16] = {1};
    CK_ATTRIBUTE public_tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                                  {CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                                  {CKA_PRIVATE, &no, 1},
                                  {CKA_VALUE, raw, sizeof(raw)}};
    CK_OBJECT_HANDLE public_h = 0;
    assert_int_equal(p11->C_CreateObject(unwrap_s, public_tmpl, 4, &public_h), CKR_OK);
    assert_int_equal(p11->C_Logout(decrypt_s), CKR_OK);
    assert_int_equal(p11->C_GetAttributeValue(unwrap_s, cek_h, &l, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p11->C_GetAttributeValue(decrypt_s, public_h, &l, 1), CKR_OK);
    assert_int_equal(cek_len, aes_len);
    /* any session of the token may destroy it */
    assert_int_equal(p11->C_DestroyObject(decrypt_s, public_h), CKR_OK);
    assert_int_equal(p11->C_DestroyObject(unwrap_s, public_h), CKR_OBJECT_HANDLE_INVALID);
    EVP_PKEY_free(mine);
    p11->C_CloseSession(unwrap_s);
    p11->C_CloseSession(decrypt_s);
    p11->C_CloseSession(other);
}

/* The content key of a mail to an RSA certificate, unwrapped into a
 * session AES key (PKCS#1 v1.5 and OAEP), decrypts in another session. */
static void rsa_unwrap_to_session_key(void **state)
{
    (void)state;
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    CK_SESSION_HANDLE s2 = test_session("alice@example.org", 1);
    CK_OBJECT_HANDLE priv = primary_key(s);
    EVP_PKEY *pub = test_cert_pubkey("alice");
    uint8_t cek[16], iv[16] = {0}, body[32], content[48], wrapped[256], out[48];
    int content_len = 0;
    memset(body, 'r', sizeof(body));
    assert_int_equal(RAND_bytes(cek, sizeof(cek)), 1);
    cipher("AES-128-CBC", 1, cek, iv, body, sizeof(body), content, &content_len);
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM mechs[] = {{CKM_RSA_PKCS, NULL, 0}, {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)}};
    int paddings[] = {RSA_PKCS1_PADDING, RSA_PKCS1_OAEP_PADDING};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
        size_t wrapped_len = sizeof(wrapped);
        assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, paddings[i]), 1);
        if (paddings[i] == RSA_PKCS1_OAEP_PADDING) {
            assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
            assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
        }
        assert_int_equal(EVP_PKEY_encrypt(ctx, wrapped, &wrapped_len, cek, sizeof(cek)), 1);
        EVP_PKEY_CTX_free(ctx);
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                               {CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                               {CKA_DECRYPT, &yes, 1}};
        CK_OBJECT_HANDLE key = 0;
        assert_int_equal(p11->C_UnwrapKey(s, &mechs[i], priv, wrapped, wrapped_len, tmpl, 3, &key),
                         CKR_OK);
        CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
        CK_ULONG out_len = sizeof(out);
        assert_int_equal(p11->C_DecryptInit(s2, &cbc, key), CKR_OK);
        assert_int_equal(p11->C_Decrypt(s2, content, content_len, out, &out_len), CKR_OK);
        assert_int_equal(out_len, sizeof(body));
        assert_memory_equal(out, body, sizeof(body));
        /* the template names a length the key does not have */
        CK_ULONG wrong = 32;
        CK_ATTRIBUTE with_len[] = {tmpl[0], tmpl[1], {CKA_VALUE_LEN, &wrong, sizeof(wrong)}};
        assert_int_equal(p11->C_UnwrapKey(s, &mechs[i], priv, wrapped, wrapped_len, with_len, 3, &key),
                         CKR_TEMPLATE_INCONSISTENT);
    }
    /* the public key is not an unwrapping key */
    uint8_t id[20];
    size_t id_len = test_primary_id(s, id);
    CK_OBJECT_HANDLE pub_h = test_find(s, CKO_PUBLIC_KEY, id, id_len);
    CK_ATTRIBUTE tmpl[] = {{CKA_KEY_TYPE, &aes_type, sizeof(aes_type)}};
    CK_OBJECT_HANDLE key = 0;
    assert_int_equal(p11->C_UnwrapKey(s, &mechs[0], pub_h, wrapped, 256, tmpl, 1, &key),
                     CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_UnwrapKey(s, &mechs[0], 0x7ff, wrapped, 256, tmpl, 1, &key),
                     CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    EVP_PKEY_free(pub);
    p11->C_CloseSession(s);
    p11->C_CloseSession(s2);
}

static CK_OBJECT_HANDLE make_key(CK_SESSION_HANDLE s, CK_KEY_TYPE type, const uint8_t *value,
                                 size_t len, bool extractable)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                        {CKA_KEY_TYPE, &type, sizeof(type)},
                        {CKA_VALUE, (void *)value, len},
                        {CKA_SENSITIVE, extractable ? &no : &yes, 1},
                        {CKA_EXTRACTABLE, extractable ? &yes : &no, 1}};
    CK_OBJECT_HANDLE h = 0;
    assert_int_equal(p11->C_CreateObject(s, t, 5, &h), CKR_OK);
    return h;
}

static int hex(const char *text, uint8_t *out)
{
    int n = 0;
    for (; text[0] && text[1]; text += 2)
        sscanf(text, "%2hhx", &out[n++]);
    return n;
}

/* RFC 3394 4.6 (256-bit KEK, 256-bit key) and RFC 5649 section 6. */
static void key_wrap_vectors(void **state)
{
    (void)state;
    static const struct {
        CK_MECHANISM_TYPE mech;
        const char *kek, *key, *wrapped;
    } vectors[] = {
        {CKM_AES_KEY_WRAP, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
         "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
         "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
        {CKM_AES_KEY_WRAP_PAD, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
         "c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
        {CKM_AES_KEY_WRAP_KWP, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "466f7250617369",
         "afbeb0f07dfbf5419200f2ccb50bb24f"},
    };
    CK_SESSION_HANDLE s = test_session("carol@example.org", 0);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t kek[32], key[32], want[48], out[64];
        int kek_len = hex(vectors[i].kek, kek), key_len = hex(vectors[i].key, key);
        int want_len = hex(vectors[i].wrapped, want);
        CK_OBJECT_HANDLE kek_h = make_key(s, CKK_AES, kek, kek_len, false);
        CK_MECHANISM m = {vectors[i].mech, NULL, 0};
        CK_ULONG out_len = 0;
        assert_int_equal(p11->C_EncryptInit(s, &m, kek_h), CKR_OK);
        assert_int_equal(p11->C_Encrypt(s, key, key_len, NULL, &out_len), CKR_OK);
        assert_int_equal(out_len, want_len);
        assert_int_equal(p11->C_Encrypt(s, key, key_len, out, &out_len), CKR_OK);
        assert_memory_equal(out, want, want_len);
        /* unwrapping gives the key back, and the key wraps the same way */
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                               {CKA_KEY_TYPE, &generic_type, sizeof(generic_type)},
                               {CKA_SENSITIVE, &no, 1},
                               {CKA_EXTRACTABLE, &yes, 1}};
        CK_OBJECT_HANDLE got = 0;
        assert_int_equal(p11->C_UnwrapKey(s, &m, kek_h, want, want_len, tmpl, 4, &got), CKR_OK);
        CK_ATTRIBUTE v = {CKA_VALUE, out, sizeof(out)};
        assert_int_equal(p11->C_GetAttributeValue(s, got, &v, 1), CKR_OK);
        assert_int_equal(v.ulValueLen, key_len);
        assert_memory_equal(out, key, key_len);
        out_len = 0;
        assert_int_equal(p11->C_WrapKey(s, &m, kek_h, got, NULL, &out_len), CKR_OK);
        assert_int_equal(out_len, want_len);
        out_len = 3;
        assert_int_equal(p11->C_WrapKey(s, &m, kek_h, got, out, &out_len), CKR_BUFFER_TOO_SMALL);
        assert_int_equal(p11->C_WrapKey(s, &m, kek_h, got, out, &out_len), CKR_OK);
        assert_memory_equal(out, want, want_len);
        /* multi-part: the input is collected, the output comes at the end */
        CK_ULONG part = sizeof(out), final_len = sizeof(out);
        assert_int_equal(p11->C_DecryptInit(s, &m, kek_h), CKR_OK);
        assert_int_equal(p11->C_DecryptUpdate(s, want, 8, out, &part), CKR_OK);
        assert_int_equal(part, 0);
        part = sizeof(out);
        assert_int_equal(p11->C_DecryptUpdate(s, want + 8, want_len - 8, out, &part), CKR_OK);
        assert_int_equal(p11->C_DecryptFinal(s, out, &final_len), CKR_OK);
        assert_int_equal(final_len, key_len);
        assert_memory_equal(out, key, key_len);
    }
    p11->C_CloseSession(s);
}

/* ECB, CBC and CBC_PAD, single- and multi-part in uneven pieces, against OpenSSL. */
static void aes_modes_against_openssl(void **state)
{
    (void)state;
    static const struct {
        CK_MECHANISM_TYPE mech;
        const char *name; /* %d: the key bits */
        bool iv, pad;
    } modes[] = {{CKM_AES_ECB, "AES-%d-ECB", false, false},
                 {CKM_AES_CBC, "AES-%d-CBC", true, false},
                 {CKM_AES_CBC_PAD, "AES-%d-CBC", true, true}};
    static const size_t pieces[] = {1, 7, 16, 33, 5, 2};
    CK_SESSION_HANDLE s = test_session("carol@example.org", 0);
    uint8_t plain[64], want[96], enc[96], dec[96], key[32], iv[16];
    assert_int_equal(RAND_bytes(plain, sizeof(plain)), 1);
    assert_int_equal(RAND_bytes(iv, sizeof(iv)), 1);
    for (size_t key_len = 16; key_len <= 32; key_len += 8) {
        assert_int_equal(RAND_bytes(key, (int)key_len), 1);
        CK_OBJECT_HANDLE h = make_key(s, CKK_AES, key, key_len, false);
        for (size_t i = 0; i < 3; i++) {
            char name[32];
            snprintf(name, sizeof(name), modes[i].name, (int)key_len * 8);
            int want_len = 0;
            EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
            EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
            int n = 0, m = 0;
            assert_int_equal(EVP_EncryptInit_ex2(ctx, c, key, modes[i].iv ? iv : NULL, NULL), 1);
            EVP_CIPHER_CTX_set_padding(ctx, modes[i].pad);
            assert_int_equal(EVP_EncryptUpdate(ctx, want, &n, plain, sizeof(plain)), 1);
            assert_int_equal(EVP_EncryptFinal_ex(ctx, want + n, &m), 1);
            want_len = n + m;
            EVP_CIPHER_free(c);
            EVP_CIPHER_CTX_free(ctx);
            CK_MECHANISM mech = {modes[i].mech, modes[i].iv ? iv : NULL, modes[i].iv ? 16 : 0};
            CK_ULONG len = sizeof(enc);
            assert_int_equal(p11->C_EncryptInit(s, &mech, h), CKR_OK);
            assert_int_equal(p11->C_Encrypt(s, plain, sizeof(plain), enc, &len), CKR_OK);
            assert_int_equal(len, want_len);
            assert_memory_equal(enc, want, want_len);
            /* multi-part decryption in uneven pieces */
            CK_ULONG total = 0;
            size_t off = 0;
            assert_int_equal(p11->C_DecryptInit(s, &mech, h), CKR_OK);
            for (size_t p = 0; off < len; p++) {
                size_t piece = pieces[p % 6];
                if (piece > len - off)
                    piece = len - off;
                CK_ULONG out = sizeof(dec) - total;
                assert_int_equal(p11->C_DecryptUpdate(s, enc + off, piece, dec + total, &out), CKR_OK);
                total += out;
                off += piece;
            }
            CK_ULONG last = sizeof(dec) - total;
            assert_int_equal(p11->C_DecryptFinal(s, dec + total, &last), CKR_OK);
            assert_int_equal(total + last, sizeof(plain));
            assert_memory_equal(dec, plain, sizeof(plain));
        }
        /* lengths that are not whole blocks, a padding that is not one */
        CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, pad = {CKM_AES_CBC_PAD, iv, 16};
        CK_ULONG len = sizeof(enc);
        assert_int_equal(p11->C_EncryptInit(s, &ecb, h), CKR_OK);
        assert_int_equal(p11->C_Encrypt(s, plain, 15, enc, &len), CKR_DATA_LEN_RANGE);
        assert_int_equal(p11->C_DecryptInit(s, &pad, h), CKR_OK);
        len = sizeof(dec);
        assert_int_equal(p11->C_Decrypt(s, enc, 17, dec, &len), CKR_ENCRYPTED_DATA_LEN_RANGE);
        uint8_t zeros[16] = {0};
        assert_int_equal(p11->C_DecryptInit(s, &ecb, h), CKR_OK);
        len = sizeof(dec);
        assert_int_equal(p11->C_Decrypt(s, zeros, 16, dec, &len), CKR_OK);
        assert_int_equal(p11->C_EncryptInit(s, &ecb, h), CKR_OK);
        uint8_t bad_block[16];
        memset(dec + 15, 0x11, 1); /* a pad byte of 17 */
        len = sizeof(bad_block);
        assert_int_equal(p11->C_Encrypt(s, dec, 16, bad_block, &len), CKR_OK);
        CK_MECHANISM pad0 = {CKM_AES_CBC_PAD, zeros, 16};
        assert_int_equal(p11->C_DecryptInit(s, &pad0, h), CKR_OK);
        len = sizeof(dec);
        assert_int_equal(p11->C_Decrypt(s, bad_block, 16, dec, &len), CKR_ENCRYPTED_DATA_INVALID);
        /* a CBC IV of the wrong size */
        CK_MECHANISM short_iv = {CKM_AES_CBC, iv, 8};
        assert_int_equal(p11->C_EncryptInit(s, &short_iv, h), CKR_MECHANISM_PARAM_INVALID);
    }
    p11->C_CloseSession(s);
}

/* The rules of a secret key's template, and what may change afterwards. */
static void template_rules(void **state)
{
    (void)state;
    CK_SESSION_HANDLE s = test_session("carol@example.org", 1);
    CK_OBJECT_HANDLE priv = primary_key(s);
    EVP_PKEY *mine = read_key(test_data("users/carol.key"));
    agreement a;
    agree(mine, &a);
    EVP_PKEY_free(mine);
    CK_ECDH1_DERIVE_PARAMS p = {CKD_SHA256_KDF, 0, NULL, a.point_len, a.point};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_ULONG len16 = 16, len20 = 20, local_v = 1;
    uint8_t value[16] = {0};
    CK_OBJECT_HANDLE h = 0;
    struct {
        CK_ATTRIBUTE extra;
        CK_RV rv;
    } cases[] = {
        {{CKA_VALUE, value, sizeof(value)}, CKR_TEMPLATE_INCONSISTENT},
        {{CKA_LOCAL, &yes, 1}, CKR_ATTRIBUTE_READ_ONLY},
        {{CKA_ALWAYS_SENSITIVE, &yes, 1}, CKR_ATTRIBUTE_READ_ONLY},
        {{CKA_NEVER_EXTRACTABLE, &yes, 1}, CKR_ATTRIBUTE_READ_ONLY},
        {{CKA_KEY_GEN_MECHANISM, &local_v, sizeof(local_v)}, CKR_ATTRIBUTE_READ_ONLY},
        {{CKA_TOKEN, &yes, 1}, CKR_TOKEN_WRITE_PROTECTED},
        {{CKA_TRUSTED, &yes, 1}, CKR_ATTRIBUTE_READ_ONLY},
        {{CKA_MODULUS, value, sizeof(value)}, CKR_ATTRIBUTE_TYPE_INVALID},
        {{CKA_SENSITIVE, value, 4}, CKR_ATTRIBUTE_VALUE_INVALID},
        {{CKA_CLASS, &local_v, sizeof(local_v)}, CKR_TEMPLATE_INCONSISTENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CK_ATTRIBUTE t[] = {{CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                            {CKA_VALUE_LEN, &len16, sizeof(len16)},
                            cases[i].extra};
        assert_int_equal(p11->C_DeriveKey(s, &m, priv, t, 3, &h), cases[i].rv);
    }
    CK_ATTRIBUTE odd_aes[] = {{CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                              {CKA_VALUE_LEN, &len20, sizeof(len20)}};
    assert_int_equal(p11->C_DeriveKey(s, &m, priv, odd_aes, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_KEY_TYPE des3 = CKK_DES3;
    CK_ATTRIBUTE other_type[] = {{CKA_KEY_TYPE, &des3, sizeof(des3)},
                                 {CKA_VALUE_LEN, &len16, sizeof(len16)}};
    assert_int_equal(p11->C_DeriveKey(s, &m, priv, other_type, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    /* the attributes an application may change, and in which direction */
    CK_ATTRIBUTE t[] = {{CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                        {CKA_VALUE_LEN, &len16, sizeof(len16)},
                        {CKA_SENSITIVE, &no, 1},
                        {CKA_EXTRACTABLE, &yes, 1},
                        {CKA_LABEL, "kek", 3}};
    assert_int_equal(p11->C_DeriveKey(s, &m, priv, t, 5, &h), CKR_OK);
    bool_attr(s, h, CKA_ALWAYS_SENSITIVE, false);
    bool_attr(s, h, CKA_NEVER_EXTRACTABLE, false);
    char label[16];
    CK_ATTRIBUTE l = {CKA_LABEL, label, sizeof(label)};
    assert_int_equal(p11->C_GetAttributeValue(s, h, &l, 1), CKR_OK);
    assert_int_equal(l.ulValueLen, 3);
    CK_ATTRIBUTE relabel = {CKA_LABEL, "content key", 11};
    assert_int_equal(p11->C_SetAttributeValue(s, h, &relabel, 1), CKR_OK);
    l.ulValueLen = sizeof(label);
    assert_int_equal(p11->C_GetAttributeValue(s, h, &l, 1), CKR_OK);
    assert_memory_equal(label, "content key", 11);
    CK_ATTRIBUTE sensitive_on = {CKA_SENSITIVE, &yes, 1}, sensitive_off = {CKA_SENSITIVE, &no, 1};
    CK_ATTRIBUTE value_attr = {CKA_VALUE, value, sizeof(value)};
    CK_ATTRIBUTE changes[] = {relabel, {CKA_VALUE, value, sizeof(value)}};
    /* all or nothing: the label stays when the value may not change */
    assert_int_equal(p11->C_SetAttributeValue(s, h, changes, 2), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p11->C_GetAttributeValue(s, h, &value_attr, 1), CKR_OK);
    /* a copy is a new session key, with a template of its own */
    CK_OBJECT_HANDLE copy = 0;
    CK_ATTRIBUTE copy_tmpl[] = {{CKA_LABEL, "copy", 4}, {CKA_TOKEN, &no, 1}};
    assert_int_equal(p11->C_CopyObject(s, h, copy_tmpl, 2, &copy), CKR_OK);
    assert_int_not_equal(copy, h);
    CK_ATTRIBUTE copy_token[] = {{CKA_TOKEN, &yes, 1}};
    assert_int_equal(p11->C_CopyObject(s, h, copy_token, 1, &copy), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_SetAttributeValue(s, h, &sensitive_on, 1), CKR_OK);
    value_attr.ulValueLen = sizeof(value);
    assert_int_equal(p11->C_GetAttributeValue(s, h, &value_attr, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(p11->C_SetAttributeValue(s, h, &sensitive_off, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE lock[] = {{CKA_MODIFIABLE, &no, 1}, {CKA_DESTROYABLE, &no, 1}};
    assert_int_equal(p11->C_CopyObject(s, h, lock, 2, &copy), CKR_OK);
    assert_int_equal(p11->C_SetAttributeValue(s, copy, &relabel, 1), CKR_ACTION_PROHIBITED);
    assert_int_equal(p11->C_DestroyObject(s, copy), CKR_ACTION_PROHIBITED);
    /* wrapping: only an extractable key, never a token key */
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_ULONG out_len = 64;
    uint8_t out[64];
    CK_OBJECT_HANDLE kek = make_key(s, CKK_AES, value, sizeof(value), false);
    CK_OBJECT_HANDLE loose = make_key(s, CKK_GENERIC_SECRET, value, sizeof(value), true);
    assert_int_equal(p11->C_WrapKey(s, &kw, kek, loose, out, &out_len), CKR_OK);
    assert_int_equal(out_len, 24);
    out_len = sizeof(out);
    assert_int_equal(p11->C_WrapKey(s, &kw, kek, kek, out, &out_len), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p11->C_WrapKey(s, &kw, kek, priv, out, &out_len), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p11->C_WrapKey(s, &kw, loose, loose, out, &out_len),
                     CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_WrapKey(s, &kw, 0x7ff, loose, out, &out_len),
                     CKR_WRAPPING_KEY_HANDLE_INVALID);
    CK_ATTRIBUTE no_wrap = {CKA_WRAP, &no, 1};
    assert_int_equal(p11->C_SetAttributeValue(s, kek, &no_wrap, 1), CKR_OK);
    assert_int_equal(p11->C_WrapKey(s, &kw, kek, loose, out, &out_len),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    /* a key allowed one mechanism only */
    CK_MECHANISM_TYPE only_ecb = CKM_AES_ECB;
    CK_ATTRIBUTE allowed[] = {{CKA_CLASS, &secret_class, sizeof(secret_class)},
                              {CKA_KEY_TYPE, &aes_type, sizeof(aes_type)},
                              {CKA_VALUE, value, sizeof(value)},
                              {CKA_ALLOWED_MECHANISMS, &only_ecb, sizeof(only_ecb)}};
    CK_OBJECT_HANDLE narrow = 0;
    uint8_t iv[16] = {0};
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, cbc = {CKM_AES_CBC, iv, 16};
    assert_int_equal(p11->C_CreateObject(s, allowed, 4, &narrow), CKR_OK);
    assert_int_equal(p11->C_EncryptInit(s, &cbc, narrow), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_EncryptInit(s, &ecb, narrow), CKR_OK);
    /* an AES key is no signing key, a generic secret no AES key */
    CK_MECHANISM sha = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(p11->C_SignInit(s, &sha, narrow), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_DecryptInit(s, &ecb, loose), CKR_KEY_TYPE_INCONSISTENT);
    p11->C_CloseSession(s);
}

/* Every mechanism listed answers C_GetMechanismInfo with what it does. */
static void mechanism_infos(void **state)
{
    (void)state;
    CK_SLOT_ID slot = test_slot("carol@example.org");
    CK_MECHANISM_TYPE list[64];
    CK_ULONG n = 64;
    bool seen_kw = false, seen_cbc = false;
    assert_int_equal(p11->C_GetMechanismList(slot, list, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_MECHANISM_INFO info;
        assert_int_equal(p11->C_GetMechanismInfo(slot, list[i], &info), CKR_OK);
        CK_FLAGS ops = CKF_ENCRYPT | CKF_DECRYPT | CKF_DIGEST | CKF_SIGN | CKF_VERIFY | CKF_WRAP |
                       CKF_UNWRAP | CKF_DERIVE;
        assert_true(info.flags & ops);
        assert_true(info.ulMinKeySize <= info.ulMaxKeySize);
        if (list[i] >= CKM_AES_ECB && list[i] <= CKM_AES_KEY_WRAP_KWP) { /* only AES between */
            assert_int_equal(info.ulMinKeySize, 16);
            assert_int_equal(info.ulMaxKeySize, 32);
            assert_int_equal(info.flags, CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP);
        }
        seen_kw |= list[i] == CKM_AES_KEY_WRAP;
        seen_cbc |= list[i] == CKM_AES_CBC;
    }
    assert_true(seen_kw && seen_cbc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kdfs_on_every_curve),
        cmocka_unit_test(nss_ecdh_path),
        cmocka_unit_test(rsa_unwrap_to_session_key),
        cmocka_unit_test(key_wrap_vectors),
        cmocka_unit_test(aes_modes_against_openssl),
        cmocka_unit_test(template_rules),
        cmocka_unit_test(mechanism_infos),
    };
    return cmocka_run_group_tests(tests, setup, test_teardown_module);
}
