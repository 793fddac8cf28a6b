/* C_DeriveKey: ECDH1 (and its cofactor form) with the token's EC keys.  The other party's point comes
 * raw (04||X||Y) or DER-wrapped; the result is a session secret key shaped by
 * the template (secret_key.c), so NSS can carry on with it (kdf.c or none). */
#include "calls.h"

#include "call.h"
#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "operation.h"
#include "secret_key.h"
#include "token.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <string.h>

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

/* Cofactor Diffie-Hellman (CKM_ECDH1_COFACTOR_DERIVE, the "cofactorDH"
 * schemes of RFC 5753) multiplies by the curve's cofactor: the same secret
 * on the prime-order curves, asked for all the same. */
static CK_RV ecdh(EVP_PKEY *pkey, const CK_ECDH1_DERIVE_PARAMS *p, bool cofactor, uint8_t **secret,
                  size_t *len)
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
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 ||
        (cofactor && EVP_PKEY_CTX_set_ecdh_cofactor_mode(ctx, 1) != 1) ||
        !set_checked_peer(ctx, peer) || EVP_PKEY_derive(ctx, NULL, len) != 1)
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

static CK_RV check_params(const CK_ECDH1_DERIVE_PARAMS *p)
{
    if (!p->pPublicData || p->ulPublicDataLen == 0 || p->ulPublicDataLen > 1024)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSharedDataLen && !p->pSharedData)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->kdf == CKD_NULL)
        return p->ulSharedDataLen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
    return mt_kdf_known(p->kdf) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
}

/* The key's bytes from the shared secret: through the KDF (as many as the
 * template asks for), or the secret itself, its rightmost bytes when the
 * template asks for fewer. */
static CK_RV key_material(const CK_ECDH1_DERIVE_PARAMS *p, const mt_secret_tmpl *t,
                          const uint8_t *z, size_t z_len, uint8_t **key, size_t *key_len)
{
    if (p->kdf == CKD_NULL) {
        CK_RV rv = mt_secret_tmpl_length(t, z_len, key_len);
        if (rv == CKR_OK && !(*key = OPENSSL_memdup(z + (z_len - *key_len), *key_len)))
            rv = CKR_HOST_MEMORY;
        return rv;
    }
    if (!t->has_len) /* a KDF makes any length: the template must say */
        return CKR_TEMPLATE_INCOMPLETE;
    *key_len = t->value_len;
    if (!(*key = OPENSSL_malloc(*key_len)))
        return CKR_HOST_MEMORY;
    return mt_kdf_x963(p->kdf, z, z_len, p->pSharedData, p->ulSharedDataLen, *key, *key_len);
}

/* The key agreement runs with the module lock released. */
CK_RV mt_derive_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
    const mt_mech *mech = NULL;
    mt_mech_params params;
    mt_secret_tmpl t;
    mt_key *key = NULL;
    mt_object *base_object = NULL, *object = NULL;
    uint8_t *z = NULL, *derived = NULL;
    size_t z_len = 0, derived_len = 0;
    if (!m || !out || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_use(call->session, m, CKF_DERIVE, CKA_DERIVE, base, &mech, &params, &key);
    if (rv != CKR_OK)
        return rv;
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    rv = check_params(p);
    if (rv == CKR_OK)
        rv = mt_secret_tmpl_read(call->session, tmpl, count, MT_KEY_DERIVED, &t);
    if (rv != CKR_OK)
        goto out;
    mt_call_release(call);
    rv = ecdh(key->pkey, p, mech->type == CKM_ECDH1_COFACTOR_DERIVE, &z, &z_len);
    if (rv == CKR_OK)
        rv = key_material(p, &t, z, z_len, &derived, &derived_len);
    CK_RV back = mt_call_retake(call);
    if (rv == CKR_OK)
        rv = back;
    /* the base key's attributes, found again: the objects may have been rebuilt */
    if (rv == CKR_OK && mt_object_get(call->session, base, &base_object) != CKR_OK)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK)
        rv = mt_secret_key_new(&t, base_object, derived, derived_len, &object);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, object, out);
    if (rv != CKR_OK)
        mt_object_free(object);
out:
    OPENSSL_clear_free(z, z_len);
    OPENSSL_clear_free(derived, derived_len);
    mt_mech_params_clear(&params);
    mt_key_unref(key);
    return rv;
}
