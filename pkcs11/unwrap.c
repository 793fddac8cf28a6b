/* C_UnwrapKey with RSA (PKCS#1 v1.5, OAEP): how NSS opens the content key of
 * an S/MIME message.  The key becomes a session secret key object. */
#include "module.h"

CK_RV mt_unwrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_BYTE_PTR wrapped,
                    CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                    CK_OBJECT_HANDLE_PTR out)
{
    const mt_mech *mech = NULL;
    mt_mech_params params;
    mt_key *opened = NULL;
    uint8_t *value = NULL;
    size_t value_len = 0;
    mt_object *object = NULL;
    if (!out || !wrapped || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_use(call->session, m, CKF_UNWRAP, CKA_UNWRAP, key, &mech, &params, &opened);
    if (rv != CKR_OK)
        return rv;
    mt_unlock();
    EVP_PKEY_CTX *ctx = NULL;
    rv = mt_pkey_ctx_for(opened->pkey, EVP_PKEY_decrypt_init, mech, &params, &ctx);
    if (rv == CKR_OK)
        rv = mt_rsa_decrypt(ctx, wrapped, wrapped_len, &value, &value_len);
    EVP_PKEY_CTX_free(ctx);
    mt_lock();
    if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
        rv = CKR_WRAPPED_KEY_LEN_RANGE;
    else if (rv == CKR_ENCRYPTED_DATA_INVALID)
        rv = CKR_WRAPPED_KEY_INVALID;
    if (rv == CKR_OK)
        rv = mt_secret_key_from_template(tmpl, count, value, value_len, &object);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, object, out);
    if (rv != CKR_OK)
        mt_object_free(object);
    OPENSSL_clear_free(value, value_len);
    mt_mech_params_clear(&params);
    mt_key_unref(opened);
    return rv;
}
