/* C_DeriveKey: ECDH1 with the token's EC keys.  The other party's point comes
 * raw (04||X||Y) or DER-wrapped; the result is a session secret key shaped by
 * the template, so NSS can carry on with it (X9.63 KDF or none). */
#include "module.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <string.h>

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

/* The point as it is, or unwrapped from a DER OCTET STRING: a raw
 * uncompressed point has exactly 1 + 2 * field bytes. */
static void public_point(const CK_ECDH1_DERIVE_PARAMS *p, size_t field_bytes,
                         const uint8_t **point, size_t *len)
{
    const uint8_t *data = p->pPublicData;
    size_t n = p->ulPublicDataLen;
    *point = data;
    *len = n;
    if (n == 1 + 2 * field_bytes || n < 3 || data[0] != 0x04)
        return;
    size_t header = 2, body = data[1];
    if (data[1] == 0x81) {
        header = 3;
        body = data[2];
    }
    if (header + body == n) {
        *point = data + header;
        *len = body;
    }
}

/* Curves of prime order (cofactor 1): a point on one of them that is not
 * the identity has the group's order, so the partial validation of SP
 * 800-56A (5.6.2.3.4) is complete, and the full check OpenSSL makes by
 * default (a multiplication by the order, the cost of the key agreement
 * itself) adds nothing.  Any other curve gets the full check. */
static const char *const prime_order_curves[] = {
    "prime256v1", "secp384r1", "secp521r1", "secp256k1",
    "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1",
};

static bool prime_order(const EVP_PKEY *peer)
{
    char name[64];
    size_t len = 0;
    if (EVP_PKEY_get_group_name(peer, name, sizeof(name), &len) != 1)
        return false;
    for (size_t i = 0; i < sizeof(prime_order_curves) / sizeof(prime_order_curves[0]); i++)
        if (strcmp(name, prime_order_curves[i]) == 0)
            return true;
    return false;
}

/* The peer's point was decoded onto the curve; what is left to check. */
static bool set_checked_peer(EVP_PKEY_CTX *ctx, EVP_PKEY *peer)
{
    if (!prime_order(peer))
        return EVP_PKEY_derive_set_peer(ctx, peer) == 1;
    EVP_PKEY_CTX *check = mt_pkey_ctx(peer);
    ERR_set_mark();
    int quick = check ? EVP_PKEY_public_check_quick(check) : 0;
    ERR_pop_to_mark();
    EVP_PKEY_CTX_free(check);
    /* -2: a host ENGINE took the context over (crypto.c), and its methods
     * know only the full check */
    if (quick == -2)
        return EVP_PKEY_derive_set_peer(ctx, peer) == 1;
    return quick == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1;
}

static CK_RV ecdh(EVP_PKEY *pkey, const CK_ECDH1_DERIVE_PARAMS *p, uint8_t **secret, size_t *len)
{
    const uint8_t *point;
    size_t point_len;
    EVP_PKEY *peer = EVP_PKEY_new();
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = CKR_MECHANISM_PARAM_INVALID;
    public_point(p, ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8, &point, &point_len);
    if (!peer || EVP_PKEY_copy_parameters(peer, pkey) != 1 ||
        EVP_PKEY_set1_encoded_public_key(peer, point, point_len) != 1)
        goto out;
    ctx = mt_pkey_ctx(pkey);
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || !set_checked_peer(ctx, peer) ||
        EVP_PKEY_derive(ctx, NULL, len) != 1)
        goto out;
    rv = CKR_HOST_MEMORY;
    if (!(*secret = OPENSSL_malloc(*len)))
        goto out;
    rv = EVP_PKEY_derive(ctx, *secret, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return rv;
}

static CK_RV x963(const char *digest, const uint8_t *z, size_t z_len,
                  const CK_ECDH1_DERIVE_PARAMS *p, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(mt_g.libctx, "X963KDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[4], *q = params;
    CK_RV rv = CKR_FUNCTION_FAILED;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
    if (p->ulSharedDataLen)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, p->pSharedData,
                                                 p->ulSharedDataLen);
    *q = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1)
        rv = CKR_OK;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rv;
}

static CK_RV check_params(const CK_ECDH1_DERIVE_PARAMS *p, const char **digest)
{
    *digest = NULL;
    if (!p->pPublicData || p->ulPublicDataLen == 0 || p->ulPublicDataLen > 1024)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSharedDataLen && !p->pSharedData)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->kdf == CKD_NULL)
        return p->ulSharedDataLen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
    *digest = kdf_digest(p->kdf);
    return *digest ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
}

/* Called locked; the key agreement runs with the module lock released. */
CK_RV mt_derive_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
    const mt_mech *mech = NULL;
    mt_mech_params params;
    mt_key *key = NULL;
    uint8_t *z = NULL, *derived = NULL;
    size_t z_len = 0;
    CK_ULONG value_len = 0;
    bool found = false;
    const char *digest = NULL;
    mt_object *object = NULL;
    if (!out || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_use(call->session, m, CKF_DERIVE, CKA_DERIVE, base, &mech, &params, &key);
    if (rv != CKR_OK)
        return rv;
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    rv = check_params(p, &digest);
    if (rv == CKR_OK)
        rv = mt_tmpl_ulong(tmpl, count, CKA_VALUE_LEN, &value_len, &found);
    if (rv != CKR_OK)
        goto out;
    mt_unlock();
    rv = ecdh(key->pkey, p, &z, &z_len);
    if (rv == CKR_OK && digest) {
        if (!found || value_len == 0 || value_len > 1024) {
            rv = CKR_TEMPLATE_INCOMPLETE;
        } else if (!(derived = OPENSSL_malloc(value_len))) {
            rv = CKR_HOST_MEMORY;
        } else {
            rv = x963(digest, z, z_len, p, derived, value_len);
        }
    }
    mt_lock();
    if (rv != CKR_OK)
        goto out;
    rv = derived ? mt_secret_key_from_template(tmpl, count, derived, value_len, &object)
                 : mt_secret_key_from_template(tmpl, count, z, z_len, &object);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, object, out);
    if (rv != CKR_OK)
        mt_object_free(object);
out:
    OPENSSL_clear_free(z, z_len);
    OPENSSL_clear_free(derived, value_len);
    mt_mech_params_clear(&params);
    mt_key_unref(key);
    (void)mech;
    return rv;
}
