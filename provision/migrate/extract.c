/* Taking a private key out of the source token, as PKCS#11 allows it:
 * wrapped under a session AES key (CKM_AES_KEY_WRAP_PAD) when the key is
 * extractable, else read in plain when it is neither sensitive nor
 * unextractable.  The key only ever lives in sodium_malloc memory here. */
#include "migrate.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEK_LEN 32

static bool get_bool(mt_mig_source *src, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                     bool fallback)
{
    CK_BBOOL value = CK_FALSE;
    CK_ATTRIBUTE attr = {type, &value, sizeof(value)};
    if (src->f->C_GetAttributeValue(src->session, obj, &attr, 1) != CKR_OK)
        return fallback;
    return value == CK_TRUE;
}

static char *reason_text(const char *fmt, const char *detail)
{
    char *text = NULL;
    return asprintf(&text, fmt, detail) < 0 ? NULL : text;
}

/* AES key unwrap with padding (RFC 5649) in memory. */
static mt_status unwrap_in_memory(const mt_secret *kek, const uint8_t *wrapped, size_t len,
                                  mt_secret **pkcs8)
{
    mt_secret *plain = NULL;
    mt_status st = MT_ERR_CRYPTO;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-WRAP-PAD", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out1 = 0, out2 = 0;
    if (!cipher || !ctx || len < 16 || mt_secret_new(len, &plain) != MT_OK)
        goto out;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex2(ctx, cipher, kek->data, NULL, NULL) != 1 ||
        EVP_DecryptUpdate(ctx, plain->data, &out1, wrapped, (int)len) != 1 ||
        EVP_DecryptFinal_ex(ctx, plain->data + out1, &out2) != 1)
        goto out;
    st = mt_secret_from(plain->data, (size_t)(out1 + out2), pkcs8);
out:
    mt_secret_free(plain);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return st;
}

/* A session AES-256 key made by the source; its value is read back so that
 * the wrapped key can be opened here.  It never touches the token's storage. */
static CK_RV make_kek(mt_mig_source *src, CK_OBJECT_HANDLE *kek, mt_secret *value)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = KEK_LEN;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},      {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE_LEN, &len, sizeof(len)},  {CKA_TOKEN, &no, sizeof(no)},
        {CKA_WRAP, &yes, sizeof(yes)},       {CKA_SENSITIVE, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
    };
    CK_RV rv = src->f->C_GenerateKey(src->session, &gen, tmpl, 7, kek);
    if (rv != CKR_OK)
        return rv;
    CK_ATTRIBUTE attr = {CKA_VALUE, value->data, KEK_LEN};
    rv = src->f->C_GetAttributeValue(src->session, *kek, &attr, 1);
    if (rv == CKR_OK && attr.ulValueLen != KEK_LEN)
        rv = CKR_KEY_SIZE_RANGE;
    if (rv != CKR_OK)
        src->f->C_DestroyObject(src->session, *kek);
    return rv;
}

static mt_status extract_wrapped(mt_mig_source *src, CK_OBJECT_HANDLE key, mt_secret **pkcs8,
                                 char **reason)
{
    mt_secret *kek_value = NULL;
    uint8_t *wrapped = NULL;
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
    CK_ULONG len = 0;
    mt_status st = mt_secret_new(KEK_LEN, &kek_value);
    if (st != MT_OK)
        goto out;
    CK_RV rv = make_kek(src, &kek, kek_value);
    if (rv != CKR_OK) {
        *reason = reason_text("the token cannot make an AES wrapping key (%s)",
                              p11_kit_strerror(rv));
        st = MT_ERR_UNSUPPORTED;
        goto out;
    }
    CK_MECHANISM wrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    rv = src->f->C_WrapKey(src->session, &wrap, kek, key, NULL, &len);
    if (rv == CKR_OK && !(wrapped = malloc(len ? len : 1)))
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = src->f->C_WrapKey(src->session, &wrap, kek, key, wrapped, &len);
    src->f->C_DestroyObject(src->session, kek);
    if (rv != CKR_OK) {
        *reason = reason_text("C_WrapKey with CKM_AES_KEY_WRAP_PAD failed (%s)",
                              p11_kit_strerror(rv));
        st = MT_ERR_UNSUPPORTED;
        goto out;
    }
    st = unwrap_in_memory(kek_value, wrapped, len, pkcs8);
    if (st != MT_OK)
        *reason = reason_text("%s", "the wrapped key did not unwrap");
out:
    free(wrapped);
    mt_secret_free(kek_value);
    return st;
}

/* ------------------------------------------- non-sensitive keys, in plain */

static BIGNUM *get_bn(mt_mig_source *src, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE attr = {type, NULL, 0};
    if (src->f->C_GetAttributeValue(src->session, obj, &attr, 1) != CKR_OK ||
        attr.ulValueLen == CK_UNAVAILABLE_INFORMATION || attr.ulValueLen == 0 ||
        attr.ulValueLen > 4096)
        return NULL;
    mt_secret *buf = NULL;
    BIGNUM *bn = NULL;
    if (mt_secret_new(attr.ulValueLen, &buf) != MT_OK)
        return NULL;
    attr.pValue = buf->data;
    if (src->f->C_GetAttributeValue(src->session, obj, &attr, 1) == CKR_OK &&
        (bn = BN_secure_new()) && !BN_bin2bn(buf->data, (int)attr.ulValueLen, bn)) {
        BN_clear_free(bn);
        bn = NULL;
    }
    mt_secret_free(buf);
    return bn;
}

static bool push_bns(mt_mig_source *src, CK_OBJECT_HANDLE key, OSSL_PARAM_BLD *bld,
                     const CK_ATTRIBUTE_TYPE *types, const char *const *names, size_t n,
                     BIGNUM **bns)
{
    for (size_t i = 0; i < n; i++)
        if (!(bns[i] = get_bn(src, key, types[i])) ||
            !OSSL_PARAM_BLD_push_BN(bld, names[i], bns[i]))
            return false;
    return true;
}

/* Curve name from CKA_EC_PARAMS (a DER OID). */
static bool push_curve(mt_mig_source *src, CK_OBJECT_HANDLE key, OSSL_PARAM_BLD *bld)
{
    unsigned char der[64];
    CK_ATTRIBUTE attr = {CKA_EC_PARAMS, der, sizeof(der)};
    if (src->f->C_GetAttributeValue(src->session, key, &attr, 1) != CKR_OK)
        return false;
    const unsigned char *p = der;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)attr.ulValueLen);
    const char *name = oid ? OBJ_nid2sn(OBJ_obj2nid(oid)) : NULL;
    ASN1_OBJECT_free(oid);
    return name && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, name, 0);
}

static mt_status extract_plain(mt_mig_source *src, CK_OBJECT_HANDLE key, mt_secret **pkcs8)
{
    static const CK_ATTRIBUTE_TYPE rsa_types[] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT};
    static const char *const rsa_names[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    static const CK_ATTRIBUTE_TYPE ec_types[] = {CKA_VALUE};
    static const char *const ec_names[] = {OSSL_PKEY_PARAM_PRIV_KEY};
    BIGNUM *bns[8] = {0};
    CK_KEY_TYPE type = (CK_KEY_TYPE)-1;
    CK_ATTRIBUTE attr = {CKA_KEY_TYPE, &type, sizeof(type)};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    unsigned char *der = NULL;
    int der_len = 0;
    mt_status st = MT_ERR_UNSUPPORTED;
    if (!bld || src->f->C_GetAttributeValue(src->session, key, &attr, 1) != CKR_OK)
        goto out;
    bool ok = type == CKK_RSA ? push_bns(src, key, bld, rsa_types, rsa_names, 8, bns)
              : type == CKK_EC
                  ? push_curve(src, key, bld) && push_bns(src, key, bld, ec_types, ec_names, 1, bns)
                  : false;
    if (!ok || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type == CKK_RSA ? "RSA" : "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1 ||
        !(p8 = EVP_PKEY2PKCS8(pkey)) || (der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
        goto out;
    st = mt_secret_from(der, (size_t)der_len, pkcs8);
out:
    if (der)
        OPENSSL_clear_free(der, (size_t)der_len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* secure BNs put it in the secure heap */
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(bns[i]);
    return st;
}

mt_status mt_mig_extract_key(mt_mig_source *src, CK_OBJECT_HANDLE key, mt_secret **pkcs8,
                             char **reason)
{
    *pkcs8 = NULL;
    *reason = NULL;
    bool extractable = get_bool(src, key, CKA_EXTRACTABLE, false);
    bool sensitive = get_bool(src, key, CKA_SENSITIVE, true);
    if (!extractable) {
        *reason = reason_text("%s", "CKA_EXTRACTABLE is false: the token never lets it out");
        return MT_ERR_UNSUPPORTED;
    }
    mt_status st = extract_wrapped(src, key, pkcs8, reason);
    if (st != MT_OK && !sensitive && extract_plain(src, key, pkcs8) == MT_OK) {
        free(*reason);
        *reason = NULL;
        st = MT_OK;
    }
    return st;
}

bool mt_mig_key_matches(const mt_secret *pkcs8, const mt_cert_info *cert)
{
    const unsigned char *p = pkcs8->data;
    unsigned char *spki = NULL;
    EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)pkcs8->len);
    int len = pkey ? i2d_PUBKEY(pkey, &spki) : -1;
    bool same = len > 0 && (size_t)len == cert->spki_len &&
                !memcmp(spki, cert->spki, cert->spki_len);
    OPENSSL_free(spki);
    EVP_PKEY_free(pkey);
    return same;
}

void mt_mig_extract_keys(mt_mig_source *src, bool dry_run)
{
    for (size_t i = 0; i < src->n_items; i++) {
        mt_mig_item *item = &src->items[i];
        if (!item->key_handle)
            continue;
        if (dry_run) {
            bool out = get_bool(src, item->key_handle, CKA_EXTRACTABLE, false);
            item->key_state = out ? MT_MIG_KEY_EXTRACTABLE : MT_MIG_KEY_NOT_EXTRACTABLE;
            if (!out)
                item->key_reason =
                    reason_text("%s", "CKA_EXTRACTABLE is false: the token never lets it out");
            continue;
        }
        /* Certificates sharing one key object: take it out once. */
        for (size_t k = 0; k < i && !item->pkcs8; k++)
            if (src->items[k].key_handle == item->key_handle && src->items[k].pkcs8)
                mt_secret_from(src->items[k].pkcs8->data, src->items[k].pkcs8->len, &item->pkcs8);
        if (!item->pkcs8 &&
            mt_mig_extract_key(src, item->key_handle, &item->pkcs8, &item->key_reason) != MT_OK) {
            item->key_state = MT_MIG_KEY_NOT_EXTRACTABLE;
            continue;
        }
        if (!mt_mig_key_matches(item->pkcs8, item->cert)) {
            mt_secret_free(item->pkcs8);
            item->pkcs8 = NULL;
            item->key_state = MT_MIG_KEY_NOT_EXTRACTABLE;
            free(item->key_reason);
            item->key_reason = reason_text("%s", "the key with this CKA_ID does not match the "
                                                 "certificate's public key");
            continue;
        }
        item->key_state = MT_MIG_KEY_EXTRACTED;
    }
}
