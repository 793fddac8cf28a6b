/* C_UnwrapKey: with a private RSA key (PKCS#1 v1.5, OAEP), how NSS opens
 * the content key of a mail encrypted to an RSA certificate, or with a
 * session AES key (the key wraps, ECB, CBC, CBC_PAD), how it opens one sent
 * to an EC certificate after deriving the key-encryption key.  The key
 * becomes a session secret key object shaped by the template. */
#include "calls.h"

#include "attr.h"
#include "call.h"
#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "operation.h"
#include "secret_key.h"
#include "token.h"

/* The key errors of an operation, in C_UnwrapKey's words. */
static CK_RV unwrapping_rv(CK_RV rv)
{
    switch (rv) {
    case CKR_KEY_HANDLE_INVALID: return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
    case CKR_KEY_TYPE_INCONSISTENT: return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    case CKR_KEY_SIZE_RANGE: return CKR_UNWRAPPING_KEY_SIZE_RANGE;
    case CKR_ENCRYPTED_DATA_LEN_RANGE: return CKR_WRAPPED_KEY_LEN_RANGE;
    case CKR_ENCRYPTED_DATA_INVALID: return CKR_WRAPPED_KEY_INVALID;
    default: return rv;
    }
}

/* RSA runs with the module lock released. */
static CK_RV unwrap_rsa(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key,
                        const uint8_t *in, size_t in_len, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG count, mt_secret_tmpl *t, uint8_t **value, size_t *len)
{
    const mt_mech *mech = NULL;
    mt_mech_params params;
    mt_key *opened = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = mt_key_use(call->session, m, CKF_UNWRAP, CKA_UNWRAP, key, &mech, &params, &opened);
    if (rv != CKR_OK)
        return rv;
    rv = mt_secret_tmpl_read(call->session, tmpl, count, MT_KEY_UNWRAPPED, t);
    if (rv != CKR_OK)
        goto out;
    mt_call_release(call);
    rv = mt_pkey_ctx_for(opened->pkey, EVP_PKEY_decrypt_init, mech, &params, &ctx);
    if (rv == CKR_OK)
        rv = mt_rsa_decrypt(ctx, in, in_len, value, len);
    EVP_PKEY_CTX_free(ctx);
    CK_RV back = mt_call_retake(call);
    if (rv == CKR_OK)
        rv = back;
out:
    mt_mech_params_clear(&params);
    mt_key_unref(opened);
    return rv;
}

static CK_RV unwrap_aes(mt_call *call, CK_MECHANISM_PTR m, mt_object *kek, const uint8_t *in,
                        size_t in_len, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                        mt_secret_tmpl *t, const mt_mech **mech, uint8_t **value, size_t *len)
{
    mt_mech_params params;
    if (!mt_attr_bool(&kek->attrs, CKA_UNWRAP))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    CK_RV rv = mt_mech_resolve(m, CKF_UNWRAP, kek, mech, &params);
    if (rv == CKR_OK)
        rv = mt_secret_tmpl_read(call->session, tmpl, count, MT_KEY_UNWRAPPED, t);
    if (rv == CKR_OK)
        rv = mt_aes_run(*mech, &params, kek, false, in, in_len, value, len);
    mt_mech_params_clear(&params);
    return rv;
}

CK_RV mt_unwrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_BYTE_PTR wrapped,
                    CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                    CK_OBJECT_HANDLE_PTR out)
{
    const mt_mech *mech = NULL;
    mt_secret_tmpl t;
    mt_object *kek = NULL, *object = NULL;
    uint8_t *value = NULL;
    size_t value_len = 0, len = 0;
    if (!m || !out || !wrapped || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_object(call->session, key, &kek);
    if (rv == CKR_OK && kek->klass == CKO_SECRET_KEY)
        rv = unwrap_aes(call, m, kek, wrapped, wrapped_len, tmpl, count, &t, &mech, &value,
                        &value_len);
    else if (rv == CKR_OK)
        rv = unwrap_rsa(call, m, key, wrapped, wrapped_len, tmpl, count, &t, &value, &value_len);
    rv = unwrapping_rv(rv);
    if (rv == CKR_OK && (rv = mt_secret_tmpl_length(&t, value_len, &len)) == CKR_TEMPLATE_INCOMPLETE)
        rv = CKR_WRAPPED_KEY_INVALID; /* not a key of the type the template names */
    /* only a mode without padding of its own leaves bytes to cut off */
    if (rv == CKR_OK && len != value_len && (!mech || mech->aes == MT_AES_CBC_PAD ||
                                             mech->aes == MT_AES_KW || mech->aes == MT_AES_KWP))
        rv = CKR_TEMPLATE_INCONSISTENT;
    if (rv == CKR_OK)
        rv = mt_secret_key_new(&t, NULL, value, len, &object);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, object, out);
    if (rv != CKR_OK)
        mt_object_free(object);
    OPENSSL_clear_free(value, value_len);
    return rv;
}
