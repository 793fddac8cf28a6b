/* The key derivation functions of ECDH1 derivation: ANSI X9.63 with SHA-1
 * or SHA-2, over the shared secret and the caller's shared data, as CMS
 * (RFC 5753, RFC 8418) asks: the shared data is the DER ECC-CMS-SharedInfo. */
#include "crypto.h"

#include "state.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

static const struct {
    CK_ULONG kdf;
    const char *digest;
} kdfs[] = {
    {CKD_SHA1_KDF, "SHA1"},     {CKD_SHA224_KDF, "SHA224"}, {CKD_SHA256_KDF, "SHA256"},
    {CKD_SHA384_KDF, "SHA384"}, {CKD_SHA512_KDF, "SHA512"},
};

static const char *kdf_digest(CK_ULONG kdf)
{
    for (size_t i = 0; i < sizeof(kdfs) / sizeof(kdfs[0]); i++)
        if (kdfs[i].kdf == kdf)
            return kdfs[i].digest;
    return NULL;
}

bool mt_kdf_known(CK_ULONG kdf)
{
    return kdf_digest(kdf) != NULL;
}

CK_RV mt_kdf_x963(CK_ULONG kdf, const uint8_t *z, size_t z_len, const uint8_t *shared,
                  size_t shared_len, uint8_t *out, size_t out_len)
{
    const char *digest = kdf_digest(kdf);
    EVP_KDF_CTX *ctx = digest && mt_g.x963 ? EVP_KDF_CTX_new(mt_g.x963) : NULL;
    OSSL_PARAM params[4], *q = params;
    CK_RV rv = CKR_FUNCTION_FAILED;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
    if (shared_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared, shared_len);
    *q = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1)
        rv = CKR_OK;
    EVP_KDF_CTX_free(ctx);
    return rv;
}
