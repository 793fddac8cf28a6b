/* THE mechanism table: what C_GetMechanismList/Info report and what every
 * *Init accepts, with each mechanism's parameter check and EVP setup. */
#include "module.h"

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

/* No CKF_HW: a software token, the work is done in this process. */
#define RSA_SIGN (CKF_SIGN | CKF_VERIFY)
#define RSA_ALL (CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP)
#define EC_SIGN (CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define EC_DERIVE (CKF_DERIVE | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

static const mt_mech mechs[] = {
    {CKM_RSA_PKCS, CKK_RSA, RSA_ALL, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, NULL, no_params},
    {CKM_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, NULL, pss_params},
    {CKM_RSA_PKCS_OAEP, CKK_RSA, CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP, RSA_MIN, RSA_MAX,
     RSA_PKCS1_OAEP_PADDING, NULL, oaep_params},
    {CKM_SHA1_RSA_PKCS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, "SHA1", no_params},
    {CKM_SHA224_RSA_PKCS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, "SHA224", no_params},
    {CKM_SHA256_RSA_PKCS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, "SHA256", no_params},
    {CKM_SHA384_RSA_PKCS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, "SHA384", no_params},
    {CKM_SHA512_RSA_PKCS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PADDING, "SHA512", no_params},
    {CKM_SHA1_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, "SHA1", pss_params},
    {CKM_SHA224_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, "SHA224", pss_params},
    {CKM_SHA256_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, "SHA256", pss_params},
    {CKM_SHA384_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, "SHA384", pss_params},
    {CKM_SHA512_RSA_PKCS_PSS, CKK_RSA, RSA_SIGN, RSA_MIN, RSA_MAX, RSA_PKCS1_PSS_PADDING, "SHA512", pss_params},
    {CKM_ECDSA, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, NULL, no_params},
    {CKM_ECDSA_SHA1, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, "SHA1", no_params},
    {CKM_ECDSA_SHA224, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, "SHA224", no_params},
    {CKM_ECDSA_SHA256, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, "SHA256", no_params},
    {CKM_ECDSA_SHA384, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, "SHA384", no_params},
    {CKM_ECDSA_SHA512, CKK_EC, EC_SIGN, EC_MIN, EC_MAX, 0, "SHA512", no_params},
    {CKM_ECDH1_DERIVE, CKK_EC, EC_DERIVE, EC_MIN, EC_MAX, 0, NULL, ecdh_params},
    {CKM_SHA_1, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, "SHA1", no_params},
    {CKM_SHA224, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, "SHA224", no_params},
    {CKM_SHA256, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, "SHA256", no_params},
    {CKM_SHA384, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, "SHA384", no_params},
    {CKM_SHA512, MT_NO_KEY, CKF_DIGEST, 0, 0, 0, "SHA512", no_params},
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
        if (key->key_type != found->key_type)
            return CKR_KEY_TYPE_INCONSISTENT;
        if (key->key_bits < found->min_bits || key->key_bits > found->max_bits)
            return CKR_KEY_SIZE_RANGE;
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
