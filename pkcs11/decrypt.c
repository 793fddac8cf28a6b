/* C_Decrypt*: RSA PKCS#1 v1.5 and OAEP with an opened private key. */
#include "module.h"

#include <openssl/rsa.h>

CK_RV mt_rsa_decrypt(const mt_mech *mech, const mt_mech_params *params, EVP_PKEY *pkey,
                     const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    EVP_PKEY_CTX *ctx = mt_pkey_ctx(pkey);
    size_t k = (size_t)EVP_PKEY_get_size(pkey);
    CK_RV rv = CKR_OK;
    *out = NULL;
    *out_len = 0;
    if (!ctx)
        return CKR_HOST_MEMORY;
    if (in_len != k)
        rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
    else if (EVP_PKEY_decrypt_init(ctx) != 1)
        rv = CKR_DEVICE_ERROR;
    else
        rv = mt_mech_setup_pkey_ctx(mech, params, ctx, true);
    if (rv == CKR_OK && !(*out = OPENSSL_malloc(k)))
        rv = CKR_HOST_MEMORY;
    *out_len = k;
    if (rv == CKR_OK && EVP_PKEY_decrypt(ctx, *out, out_len, in, in_len) != 1)
        rv = CKR_ENCRYPTED_DATA_INVALID;
    if (rv != CKR_OK) {
        OPENSSL_clear_free(*out, k);
        *out = NULL;
        *out_len = 0;
    }
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV mt_decrypt_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len)
{
    return mt_rsa_decrypt(op->mech, &op->params, op->key->pkey, in, in_len, out, out_len);
}

CK_RV mt_decrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                 CK_ULONG_PTR out_len)
{
    return mt_cipher_once(call->session, MT_OP_DECRYPT, mt_decrypt_compute, data, len, out,
                          out_len);
}

CK_RV mt_decrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len)
{
    return mt_cipher_update(call->session, MT_OP_DECRYPT, data, len, out, out_len);
}

CK_RV mt_decrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return mt_cipher_final(call->session, MT_OP_DECRYPT, mt_decrypt_compute, out, out_len);
}
