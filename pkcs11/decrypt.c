/* C_Decrypt*: RSA PKCS#1 v1.5 and OAEP with an opened private key. */
#include "calls.h"

#include "call.h"
#include "mech.h"
#include "operation.h"
#include "session.h"

#include <openssl/rsa.h>

CK_RV mt_rsa_decrypt(EVP_PKEY_CTX *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                     size_t *out_len)
{
    size_t k = (size_t)EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx));
    CK_RV rv = CKR_OK;
    *out = NULL;
    *out_len = 0;
    if (in_len != k)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (!(*out = OPENSSL_malloc(k)))
        return CKR_HOST_MEMORY;
    *out_len = k;
    if (EVP_PKEY_decrypt(ctx, *out, out_len, in, in_len) != 1) {
        OPENSSL_clear_free(*out, k);
        *out = NULL;
        *out_len = 0;
        rv = CKR_ENCRYPTED_DATA_INVALID;
    }
    return rv;
}

CK_RV mt_decrypt_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = mt_op_pkey_ctx(op, EVP_PKEY_decrypt_init, &ctx);
    if (rv == CKR_OK)
        rv = mt_rsa_decrypt(ctx, in, in_len, out, out_len);
    /* a padding error must not leave state behind that a next attempt could read */
    if (rv != CKR_OK)
        mt_op_pkey_ctx_failed(op);
    return rv;
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
