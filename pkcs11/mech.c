/* THE mechanism table: what C_GetMechanismList/Info report and what every
 * *Init accepts, with each mechanism's parameter check and EVP setup. */
#include "mech.h"

#include "attr.h"
#include "crypto.h"
#include "object.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN 1024
#define RSA_MAX 16384
#define EC_MIN 256
#define EC_MAX 521

static CK_RV no_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
static CK_RV pss_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
static CK_RV oaep_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
static CK_RV ecdh_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
static CK_RV iv_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);

/* No CKF_HW: a software token, the work is done in this process. */
#define RSA_SIGN (CKF_SIGN | CKF_VERIFY)
#define RSA_ALL (CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP)
#define EC_SIGN (CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define EC_DERIVE (CKF_DERIVE | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define AES_ALL (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)
#define AES_MIN 16
#define AES_MAX 32

/* Rows by family: {type, key type, flags, sizes, padding, digest, params, AES mode}. */
#define RSA(type, flags, padding, digest, params)                                              \
    {type, CKK_RSA, flags, RSA_MIN, RSA_MAX, padding, digest, params, MT_AES_NONE}
#define EC(type, flags, digest, params)                                                        \
    {type, CKK_EC, flags, EC_MIN, EC_MAX, 0, digest, params, MT_AES_NONE}
#define DIGEST(type, digest) {type, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, digest, no_params, MT_AES_NONE}
#define AES(type, mode) {type, CKK_AES, AES_ALL, AES_MIN, AES_MAX, 0, NULL, iv_params, mode}
#define PKCS1 RSA_PKCS1_PADDING
#define PSS RSA_PKCS1_PSS_PADDING

static const mt_mech mechs[] = {
    RSA(CKM_RSA_PKCS, RSA_ALL, PKCS1, NULL, no_params),
    RSA(CKM_RSA_PKCS_PSS, RSA_SIGN, PSS, NULL, pss_params),
    RSA(CKM_RSA_PKCS_OAEP, CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP, RSA_PKCS1_OAEP_PADDING, NULL,
        oaep_params),
    RSA(CKM_SHA1_RSA_PKCS, RSA_SIGN, PKCS1, "SHA1", no_params),
    RSA(CKM_SHA224_RSA_PKCS, RSA_SIGN, PKCS1, "SHA224", no_params),
    RSA(CKM_SHA256_RSA_PKCS, RSA_SIGN, PKCS1, "SHA256", no_params),
    RSA(CKM_SHA384_RSA_PKCS, RSA_SIGN, PKCS1, "SHA384", no_params),
    RSA(CKM_SHA512_RSA_PKCS, RSA_SIGN, PKCS1, "SHA512", no_params),
    RSA(CKM_SHA1_RSA_PKCS_PSS, RSA_SIGN, PSS, "SHA1", pss_params),
    RSA(CKM_SHA224_RSA_PKCS_PSS, RSA_SIGN, PSS, "SHA224", pss_params),
    RSA(CKM_SHA256_RSA_PKCS_PSS, RSA_SIGN, PSS, "SHA256", pss_params),
    RSA(CKM_SHA384_RSA_PKCS_PSS, RSA_SIGN, PSS, "SHA384", pss_params),
    RSA(CKM_SHA512_RSA_PKCS_PSS, RSA_SIGN, PSS, "SHA512", pss_params),
    EC(CKM_ECDSA, EC_SIGN, NULL, no_params),
    EC(CKM_ECDSA_SHA1, EC_SIGN, "SHA1", no_params),
    EC(CKM_ECDSA_SHA224, EC_SIGN, "SHA224", no_params),
    EC(CKM_ECDSA_SHA256, EC_SIGN, "SHA256", no_params),
    EC(CKM_ECDSA_SHA384, EC_SIGN, "SHA384", no_params),
    EC(CKM_ECDSA_SHA512, EC_SIGN, "SHA512", no_params),
    EC(CKM_ECDH1_DERIVE, EC_DERIVE, NULL, ecdh_params),
    EC(CKM_ECDH1_COFACTOR_DERIVE, EC_DERIVE, NULL, ecdh_params),
    DIGEST(CKM_SHA_1, "SHA1"),
    DIGEST(CKM_SHA224, "SHA224"),
    DIGEST(CKM_SHA256, "SHA256"),
    DIGEST(CKM_SHA384, "SHA384"),
    DIGEST(CKM_SHA512, "SHA512"),
    AES(CKM_AES_ECB, MT_AES_ECB),
    AES(CKM_AES_CBC, MT_AES_CBC),
    AES(CKM_AES_CBC_PAD, MT_AES_CBC_PAD),
    AES(CKM_AES_KEY_WRAP, MT_AES_KW),
    /* RFC 5649 under its PKCS#11 2.40 name (as SoftHSM has it) and its 3.0 one */
    AES(CKM_AES_KEY_WRAP_PAD, MT_AES_KWP),
    AES(CKM_AES_KEY_WRAP_KWP, MT_AES_KWP),
};

/* Hash mechanisms and MGF1 functions the PSS and OAEP parameters name. */
static const struct {
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    const char *name;
} hashes[] = {
    {CKM_SHA_1, CKG_MGF1_SHA1, "SHA1"},       {CKM_SHA224, CKG_MGF1_SHA224, "SHA224"},
    {CKM_SHA256, CKG_MGF1_SHA256, "SHA256"}, {CKM_SHA384, CKG_MGF1_SHA384, "SHA384"},
    {CKM_SHA512, CKG_MGF1_SHA512, "SHA512"},
};

size_t mt_mech_count(void)
{
    return sizeof(mechs) / sizeof(mechs[0]);
}

const mt_mech *mt_mech_at(size_t i)
{
    return i < mt_mech_count() ? &mechs[i] : NULL;
}

const mt_mech *mt_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < mt_mech_count(); i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

void mt_mech_params_clear(mt_mech_params *params)
{
    free(params->label);
    memset(params, 0, sizeof(*params));
}

static const EVP_MD *hash_md(CK_MECHANISM_TYPE hash)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (hashes[i].hash == hash)
            return mt_md(hashes[i].name);
    return NULL;
}

static const EVP_MD *mgf_md(CK_RSA_PKCS_MGF_TYPE mgf)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (hashes[i].mgf == mgf)
            return mt_md(hashes[i].name);
    return NULL;
}

static CK_RV no_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out)
{
    if (m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (mech->digest && !(out->md = mt_md(mech->digest)))
        return CKR_MECHANISM_INVALID;
    return CKR_OK;
}

/* Any salt length that fits the key is accepted (checked again at signing). */
static CK_RV pss_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out)
{
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    out->md = hash_md(p->hashAlg);
    out->mgf1_md = mgf_md(p->mgf);
    if (!out->md || !out->mgf1_md || p->sLen > 0x7fffffffUL)
        return CKR_MECHANISM_PARAM_INVALID;
    /* a hash-and-sign mechanism must name its own hash */
    if (mech->digest && EVP_MD_get_type(out->md) != EVP_MD_get_type(mt_md(mech->digest)))
        return CKR_MECHANISM_PARAM_INVALID;
    out->salt_len = (int)p->sLen;
    return CKR_OK;
}

static CK_RV oaep_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out)
{
    (void)mech;
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_OAEP_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    out->md = hash_md(p->hashAlg);
    out->mgf1_md = mgf_md(p->mgf);
    if (!out->md || !out->mgf1_md)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->source == 0 && (p->pSourceData || p->ulSourceDataLen))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSourceDataLen > 0) {
        if (!p->pSourceData || p->ulSourceDataLen > 65536)
            return CKR_MECHANISM_PARAM_INVALID;
        out->label = malloc(p->ulSourceDataLen);
        if (!out->label)
            return CKR_HOST_MEMORY;
        memcpy(out->label, p->pSourceData, p->ulSourceDataLen);
        out->label_len = p->ulSourceDataLen;
    }
    return CKR_OK;
}

/* Checked in full by C_DeriveKey; here only the shape. */
static CK_RV ecdh_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out)
{
    (void)mech;
    (void)out;
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_ECDH1_DERIVE_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

/* The IV of CBC (16 bytes, required), the initial value of a key wrap
 * (8 bytes, 4 with padding, optional). */
static CK_RV iv_params(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out)
{
    size_t want = mech->aes == MT_AES_KW ? 8 : mech->aes == MT_AES_KWP ? 4 : 16;
    bool optional = mech->aes == MT_AES_KW || mech->aes == MT_AES_KWP;
    if (mech->aes == MT_AES_ECB || (optional && !m->pParameter && m->ulParameterLen == 0))
        return m->ulParameterLen == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    if (!m->pParameter || m->ulParameterLen != want)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(out->iv, m->pParameter, want);
    out->iv_len = want;
    return CKR_OK;
}

/* An empty CKA_ALLOWED_MECHANISMS (or none) allows every mechanism. */
static bool mechanism_allowed(const mt_object *key, CK_MECHANISM_TYPE type)
{
    const mt_attr *allowed = mt_attr_find(&key->attrs, CKA_ALLOWED_MECHANISMS);
    size_t n = allowed ? allowed->len / sizeof(CK_MECHANISM_TYPE) : 0;
    for (size_t i = 0; i < n; i++) {
        CK_MECHANISM_TYPE t;
        memcpy(&t, allowed->value + i * sizeof(t), sizeof(t));
        if (t == type)
            return true;
    }
    return n == 0;
}

CK_RV mt_mech_resolve(const CK_MECHANISM *m, CK_FLAGS flag, const mt_object *key,
                      const mt_mech **mech, mt_mech_params *params)
{
    memset(params, 0, sizeof(*params));
    if (!m)
        return CKR_ARGUMENTS_BAD;
    const mt_mech *found = mt_mech_find(m->mechanism);
    if (!found || !(found->flags & flag))
        return CKR_MECHANISM_INVALID;
    if (key) {
        /* secret keys are measured in bytes, as the table has them */
        size_t size = key->klass == CKO_SECRET_KEY ? key->value_len : key->key_bits;
        if (key->key_type != found->key_type)
            return CKR_KEY_TYPE_INCONSISTENT;
        if (size < found->min_bits || size > found->max_bits ||
            (found->aes && !mt_aes_key_len_ok(size)))
            return CKR_KEY_SIZE_RANGE;
        if (!mechanism_allowed(key, found->type))
            return CKR_MECHANISM_INVALID;
    }
    CK_RV rv = found->check_params(found, m, params);
    if (rv != CKR_OK) {
        mt_mech_params_clear(params);
        return rv;
    }
    *mech = found;
    return CKR_OK;
}

CK_RV mt_mech_setup_pkey_ctx(const mt_mech *mech, const mt_mech_params *params,
                             EVP_PKEY_CTX *ctx, bool with_md)
{
    if (mech->key_type != CKK_RSA)
        return CKR_OK;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, mech->padding) <= 0)
        return CKR_DEVICE_ERROR;
    if (with_md && params->md && mech->padding != RSA_PKCS1_OAEP_PADDING &&
        EVP_PKEY_CTX_set_signature_md(ctx, params->md) <= 0)
        return CKR_DEVICE_ERROR;
    if (mech->padding == RSA_PKCS1_PSS_PADDING) {
        if (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, params->salt_len) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, params->mgf1_md) <= 0)
            return CKR_MECHANISM_PARAM_INVALID;
    }
    if (mech->padding == RSA_PKCS1_OAEP_PADDING) {
        if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, params->md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, params->mgf1_md) <= 0)
            return CKR_MECHANISM_PARAM_INVALID;
        if (params->label_len) {
            void *label = OPENSSL_memdup(params->label, params->label_len);
            if (!label || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)params->label_len) <= 0) {
                OPENSSL_free(label);
                return CKR_HOST_MEMORY;
            }
        }
    }
    return CKR_OK;
}

CK_RV mt_mech_allowed(CK_KEY_TYPE key_type, CK_FLAGS flags, mt_attr_list *attrs)
{
    CK_MECHANISM_TYPE list[sizeof(mechs) / sizeof(mechs[0])];
    size_t n = 0;
    for (size_t i = 0; i < mt_mech_count(); i++)
        if (mechs[i].key_type == key_type && (mechs[i].flags & flags))
            list[n++] = mechs[i].type;
    return mt_attr_add(attrs, CKA_ALLOWED_MECHANISMS, list, n * sizeof(list[0]));
}
