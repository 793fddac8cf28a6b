/* PKCS#11 ECDSA signatures are r||s, each the size of the field; OpenSSL's are DER. */
#include "crypto.h"

#include <openssl/ec.h>

CK_RV mt_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len, uint8_t *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    CK_RV rv = CKR_DEVICE_ERROR;
    if (!sig)
        return rv;
    const BIGNUM *r = ECDSA_SIG_get0_r(sig), *s = ECDSA_SIG_get0_s(sig);
    if (BN_bn2binpad(r, raw, (int)field_len) == (int)field_len &&
        BN_bn2binpad(s, raw + field_len, (int)field_len) == (int)field_len)
        rv = CKR_OK;
    ECDSA_SIG_free(sig);
    return rv;
}

CK_RV mt_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der, size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(raw_len / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL);
    CK_RV rv = CKR_HOST_MEMORY;
    unsigned char *out = NULL;
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
        goto out;
    r = s = NULL; /* owned by sig */
    int len = i2d_ECDSA_SIG(sig, &out);
    if (len <= 0)
        goto out;
    *der = out;
    *der_len = (size_t)len;
    rv = CKR_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rv;
}
