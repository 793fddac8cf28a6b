/* Single-shot RSA encryption and decryption with the multi-part calls
 * collecting input: shared by encrypt.c and decrypt.c. */
#include "module.h"

#include <string.h>

static CK_RV run(mt_op *op, mt_cipher_fn compute, const uint8_t *in, size_t in_len,
                 CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    uint8_t *result = NULL;
    size_t result_len = 0;
    CK_RV rv;
    /* a size query needs no work when the answer is the key size */
    if (!out && op->out_len && compute != mt_decrypt_compute) {
        *out_len = op->out_len;
        return CKR_OK;
    }
    rv = compute(op, in, in_len, &result, &result_len);
    rv = mt_op_output(op, rv, result, result_len, out, out_len);
    OPENSSL_clear_free(result, result_len);
    return rv;
}

CK_RV mt_cipher_once(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR in,
                     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_op *op = mt_op_active(s, kind);
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || (!in && in_len > 0)) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return run(op, compute, in, in_len, out, out_len);
}

CK_RV mt_cipher_update(mt_session *s, mt_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
                       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_op *op = mt_op_active(s, kind);
    CK_RV rv;
    (void)out;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || (!in && in_len > 0))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = mt_op_collect(op, in, in_len);
    if (rv != CKR_OK) {
        mt_op_reset(op);
        return rv;
    }
    *out_len = 0; /* RSA gives its output at the end */
    return CKR_OK;
}

CK_RV mt_cipher_final(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len)
{
    mt_op *op = mt_op_active(s, kind);
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return run(op, compute, op->data, op->data_len, out, out_len);
}
