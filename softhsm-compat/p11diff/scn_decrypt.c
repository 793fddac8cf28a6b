/* Decryption (RSA PKCS#1 v1.5 and OAEP) and ECDH derivation: the module's
 * result is compared with what OpenSSL computes from the certificate. */
#include "keyops.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char plain[] = "content-encryption key of an S/MIME message";
static unsigned char oaep_label[] = "mt";

typedef struct decrypt_case {
    const char *name;
    CK_MECHANISM_TYPE mech;
    int padding;              /* OpenSSL padding for the encryption */
    const EVP_MD *(*md)(void); /* OAEP hash, NULL otherwise */
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    bool label;
} decrypt_case;

static const decrypt_case decrypt_cases[] = {
    { "rsa_pkcs", CKM_RSA_PKCS, RSA_PKCS1_PADDING, NULL, { 0 }, false },
    { "rsa_pkcs_oaep.sha1", CKM_RSA_PKCS_OAEP, RSA_PKCS1_OAEP_PADDING, EVP_sha1,
      { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 }, false },
    { "rsa_pkcs_oaep.sha256_label", CKM_RSA_PKCS_OAEP, RSA_PKCS1_OAEP_PADDING, EVP_sha256,
      { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 }, true },
};

static size_t openssl_encrypt(EVP_PKEY *key, const decrypt_case *c, unsigned char *out,
                              size_t out_len)
{
    size_t len = out_len;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    bool ok = pctx && EVP_PKEY_encrypt_init(pctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pctx, c->padding) == 1;
    if (ok && c->md)
        ok = EVP_PKEY_CTX_set_rsa_oaep_md(pctx, c->md()) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, c->md()) == 1;
    if (ok && c->label) {
        unsigned char *copy = OPENSSL_memdup(oaep_label, 2);
        ok = copy && EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, copy, 2) == 1;
        if (!ok)
            OPENSSL_free(copy);
    }
    ok = ok && EVP_PKEY_encrypt(pctx, out, &len, plain, sizeof(plain)) == 1;
    EVP_PKEY_CTX_free(pctx);
    return ok ? len : 0;
}

static void run_decrypt_case(p11d_ctx *ctx, const p11d_key *key, const decrypt_case *c)
{
    char name[96];
    unsigned char cipher[1024], out[1024];
    size_t cipher_len = openssl_encrypt(key->cert_key, c, cipher, sizeof(cipher));
    if (!cipher_len)
        return;
    CK_RSA_PKCS_OAEP_PARAMS oaep = c->oaep;
    if (c->label) {
        oaep.pSourceData = oaep_label;
        oaep.ulSourceDataLen = 2;
    }
    CK_MECHANISM mech = { c->mech, c->md ? &oaep : NULL, c->md ? sizeof(oaep) : 0 };
    CK_RV rv = ctx->f->C_DecryptInit(key->session, &mech, key->priv->handle);
    snprintf(name, sizeof(name), "decrypt.%s.init", c->name);
    p11d_note_rv(ctx->log, name, rv);
    if (rv != CKR_OK)
        return;
    CK_ULONG size = 0;
    rv = ctx->f->C_Decrypt(key->session, cipher, cipher_len, NULL, &size);
    snprintf(name, sizeof(name), "decrypt.%s.size_query", c->name);
    p11d_note(ctx->log, name, "%s %s", p11d_rv_name(rv, (char[32]){ 0 }),
              size >= sizeof(plain) ? "enough" : "too-small");
    CK_ULONG out_len = sizeof(out);
    rv = ctx->f->C_Decrypt(key->session, cipher, cipher_len, out, &out_len);
    snprintf(name, sizeof(name), "decrypt.%s", c->name);
    p11d_note(ctx->log, name, "%s %s", p11d_rv_name(rv, (char[32]){ 0 }),
              rv == CKR_OK && out_len == sizeof(plain) && memcmp(out, plain, out_len) == 0
                  ? "plaintext-matches"
                  : "no-plaintext");
}

static void decrypt_error_paths(p11d_ctx *ctx, const p11d_key *key)
{
    CK_SESSION_HANDLE s = key->session;
    unsigned char buf[512] = { 0 };
    CK_ULONG len = sizeof(buf);
    p11d_note_rv(ctx->log, "decrypt.not_initialized",
                 ctx->f->C_Decrypt(s, buf, 256, buf, &len));
    /* pkcs11-provider may send hash and MGF 0. */
    CK_RSA_PKCS_OAEP_PARAMS zero = { 0, 0, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM oaep_zero = { CKM_RSA_PKCS_OAEP, &zero, sizeof(zero) };
    CK_RV rv = ctx->f->C_DecryptInit(s, &oaep_zero, key->priv->handle);
    p11d_note_rv(ctx->log, "decrypt.oaep_zero_params", rv);
    CK_MECHANISM oaep_none = { CKM_RSA_PKCS_OAEP, NULL, 0 };
    if (rv == CKR_OK)
        ctx->f->C_Decrypt(s, buf, sizeof(buf), buf, &len);
    rv = ctx->f->C_DecryptInit(s, &oaep_none, key->priv->handle);
    p11d_note_rv(ctx->log, "decrypt.oaep_without_params", rv);
    if (rv == CKR_OK)
        ctx->f->C_Decrypt(s, buf, sizeof(buf), buf, &len);
    /* Ciphertext of the wrong length for the modulus. */
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
    rv = ctx->f->C_DecryptInit(s, &pkcs, key->priv->handle);
    if (rv == CKR_OK) {
        len = sizeof(buf);
        p11d_note_rv(ctx->log, "decrypt.wrong_length",
                     ctx->f->C_Decrypt(s, buf, 7, buf, &len));
        len = sizeof(buf);
        p11d_note_rv(ctx->log, "decrypt.after_error", ctx->f->C_Decrypt(s, buf, 7, buf, &len));
    }
}

/* ECDH with a fresh peer key on the same curve; the derived secret is read
 * back (CKA_SENSITIVE false) and compared with OpenSSL's. */
static void derive_case(p11d_ctx *ctx, const p11d_key *key, const char *name, bool der_point)
{
    char group[64];
    unsigned char point[160], expected[80], *value = NULL;
    size_t point_len = 0, expected_len = sizeof(expected);
    CK_ULONG value_len = 0;
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *dctx = NULL;
    if (!EVP_PKEY_get_utf8_string_param(key->cert_key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL) ||
        !(peer = EVP_EC_gen(group)) ||
        !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point + 2,
                                         sizeof(point) - 2, &point_len) ||
        !(dctx = EVP_PKEY_CTX_new(peer, NULL)) || EVP_PKEY_derive_init(dctx) != 1 ||
        EVP_PKEY_derive_set_peer(dctx, key->cert_key) != 1 ||
        EVP_PKEY_derive(dctx, expected, &expected_len) != 1)
        goto out;
    unsigned char *public_data = point + 2;
    if (der_point) { /* DER OCTET STRING around the point (short form: P-256/P-384) */
        point[0] = 0x04;
        point[1] = (unsigned char)point_len;
        public_data = point;
        point_len += 2;
    }
    CK_ECDH1_DERIVE_PARAMS params = { CKD_NULL, 0, NULL, point_len, public_data };
    CK_MECHANISM mech = { CKM_ECDH1_DERIVE, &params, sizeof(params) };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG secret_len = expected_len;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },     { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_VALUE_LEN, &secret_len, sizeof(secret_len) },
        { CKA_TOKEN, &no, sizeof(no) },       { CKA_SENSITIVE, &no, sizeof(no) },
        { CKA_EXTRACTABLE, &yes, sizeof(yes) },
    };
    CK_OBJECT_HANDLE derived = 0;
    CK_RV rv = ctx->f->C_DeriveKey(key->session, &mech, key->priv->handle, tmpl, 6, &derived);
    p11d_note_rv(ctx->log, name, rv);
    if (rv != CKR_OK)
        goto out;
    char value_key[96];
    snprintf(value_key, sizeof(value_key), "%s.value", name);
    rv = p11d_get_attr(ctx, key->session, derived, CKA_VALUE, &value, &value_len);
    p11d_note(ctx->log, value_key, "%s %s", p11d_rv_name(rv, (char[32]){ 0 }),
              rv == CKR_OK && value_len == expected_len && !memcmp(value, expected, value_len)
                  ? "secret-matches"
                  : "no-secret");
    ctx->f->C_DestroyObject(key->session, derived);
out:
    free(value);
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(peer);
}

static void derive_error_paths(p11d_ctx *ctx, const p11d_key *key)
{
    CK_OBJECT_HANDLE derived = 0;
    CK_MECHANISM none = { CKM_ECDH1_DERIVE, NULL, 0 };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) } };
    p11d_note_rv(ctx->log, "derive.ecdh1.without_params",
                 ctx->f->C_DeriveKey(key->session, &none, key->priv->handle, tmpl, 1, &derived));
    CK_ECDH1_DERIVE_PARAMS bad = { CKD_NULL, 0, NULL, 5, (unsigned char *)"\x04\x01\x02\x03\x04" };
    CK_MECHANISM bad_point = { CKM_ECDH1_DERIVE, &bad, sizeof(bad) };
    CK_RV rv = ctx->f->C_DeriveKey(key->session, &bad_point, key->priv->handle, tmpl, 1, &derived);
    p11d_note(ctx->log, "derive.ecdh1.bad_point", "%s",
              rv == CKR_OK ? "accepted" : "refused");
    if (rv == CKR_OK)
        ctx->f->C_DestroyObject(key->session, derived);
}

static void decrypt_key(p11d_ctx *ctx, const p11d_key *key)
{
    if (key->priv->key_type == CKK_RSA) {
        for (size_t i = 0; i < sizeof(decrypt_cases) / sizeof(decrypt_cases[0]); i++)
            run_decrypt_case(ctx, key, &decrypt_cases[i]);
        decrypt_error_paths(ctx, key);
    } else if (key->priv->key_type == CKK_EC) {
        derive_case(ctx, key, "derive.ecdh1.raw_point", false);
        derive_case(ctx, key, "derive.ecdh1.der_point", true);
        derive_error_paths(ctx, key);
    }
}

bool p11d_scn_decrypt(p11d_ctx *ctx)
{
    return p11d_for_each_key(ctx, decrypt_key);
}
