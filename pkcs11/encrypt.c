/* C_Encrypt*: RSA PKCS#1 v1.5 and OAEP with a public key. */
#include "calls.h"

#include "call.h"
#include "mech.h"
#include "operation.h"
#include "session.h"

#include <openssl/rsa.h>

static CK_RV encrypt_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                             size_t *out_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t k = op->out_len, overhead = 11;
    if (op->mech->padding == RSA_PKCS1_OAEP_PADDING)
        overhead = 2 * (size_t)EVP_MD_get_size(op->params.md) + 2;
    if (in_len + overhead > k)
        return CKR_DATA_LEN_RANGE;
    CK_RV rv = mt_op_pkey_ctx(op, EVP_PKEY_encrypt_init, &ctx);
    if (rv == CKR_OK && !(*out = OPENSSL_malloc(k)))
        rv = CKR_HOST_MEMORY;
    *out_len = k;
    if (rv == CKR_OK && EVP_PKEY_encrypt(ctx, *out, out_len, in, in_len) != 1) {
        mt_op_pkey_ctx_failed(op);
        rv = CKR_FUNCTION_FAILED;
    }
    return rv;
}

CK_RV mt_encrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                 CK_ULONG_PTR out_len)
{
    return mt_cipher_once(call->session, MT_OP_ENCRYPT, encrypt_compute, data, len, out, out_len);
}

CK_RV mt_encrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len)
{
    return mt_cipher_update(call->session, MT_OP_ENCRYPT, data, len, out, out_len);
}

CK_RV mt_encrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return mt_cipher_final(call->session, MT_OP_ENCRYPT, encrypt_compute, out, out_len);
}
